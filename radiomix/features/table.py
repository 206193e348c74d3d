"""Turn family results into rows of the tidy feature table (DESIGN.md section 3)."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import pandas as pd

from radiomix.features import registry
from radiomix.features.base import FeatureValue

COLUMNS = ["feature", "family", "name", "ibsi_code", "aggregation", "image_type", "value", "unit", "status"]


def column_name(image_type: str, family: str, key: str, aggregation: str) -> str:
    """Self-describing column name, e.g. ``original_glcm_joint_maximum_3D_merged``."""
    parts = [image_type, family, key]
    if aggregation:
        parts.append(aggregation.replace(", ", "_").replace("-", "_").replace(" ", "_"))
    return "_".join(parts)


def tabulate(family: str, values: list[FeatureValue], image_type: str = "original") -> pd.DataFrame:
    """Rows of the tidy table for one family's values (columns :data:`COLUMNS`)."""
    return feature_table([(image_type, family, values)])


def feature_table(results: Iterable[tuple[str, str, list[FeatureValue]]]) -> pd.DataFrame:
    """The tidy table (columns :data:`COLUMNS`) of ``(image_type, family, values)`` of every family on every
    image, in that order; built column by column (the naming of each feature looked up once per process)."""
    columns = {column: [] for column in COLUMNS}
    features, families, names, codes = columns["feature"], columns["family"], columns["name"], columns["ibsi_code"]
    aggregations, image_types, numbers = columns["aggregation"], columns["image_type"], columns["value"]
    units, statuses = columns["unit"], columns["status"]
    for image_type, family, values in results:
        for item in values:
            feature, name, code, unit = _naming(image_type, family, item.key, item.aggregation)
            features.append(feature)
            families.append(family)
            names.append(name)
            codes.append(code)
            aggregations.append(item.aggregation)
            image_types.append(image_type)
            numbers.append(float(item.value))
            units.append(unit)
            statuses.append(item.status)
    if not features:
        return pd.DataFrame([], columns=COLUMNS)
    return pd.DataFrame(columns, columns=COLUMNS)


@functools.lru_cache(maxsize=8192)
def _naming(image_type: str, family: str, key: str, aggregation: str) -> tuple[str, str, str, str]:
    """``(feature column, name, ibsi_code, unit)`` of a feature value (:func:`column_name`, the registry)."""
    definition = registry.get(family, key)
    return column_name(image_type, family, key, aggregation), definition.name, definition.ibsi_code, definition.unit
