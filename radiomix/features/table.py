"""Turn family results into rows of the tidy feature table (DESIGN.md section 3)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import numpy as np
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
    image, in that order.

    The columns naming the features (:data:`NAMING_COLUMNS`) depend only on the rows' image types,
    families, keys and aggregations: their table is built once per process (:func:`naming_table`) and
    copied with each extraction's values and statuses (:func:`with_values`).
    """
    rows, values, statuses = [], [], []
    for image_type, family, family_values in results:
        for item in family_values:
            rows.append((image_type, family, item.key, item.aggregation))
            values.append(float(item.value))
            statuses.append(item.status)
    return with_values(_feature_naming_table(tuple(rows)), values, statuses)


NAMING_COLUMNS = ("feature", "family", "name", "ibsi_code", "aggregation", "image_type", "unit")
"""The columns of :data:`COLUMNS` that name a value (all but ``value`` and ``status``)."""


def naming_table(naming: dict[str, list]) -> pd.DataFrame:
    """A table of :data:`COLUMNS` with the :data:`NAMING_COLUMNS` given (lists of equal length), ``value``
    NaN and ``status`` empty: the template of :func:`with_values`."""
    count = len(naming["feature"])
    return pd.DataFrame({**naming, "value": [math.nan] * count, "status": [""] * count}, columns=COLUMNS)


def with_values(template: pd.DataFrame, values: list[float], statuses: list[str]) -> pd.DataFrame:
    """A copy of a :func:`naming_table` with its ``value`` and ``status`` columns (one item per row); the
    table ``pandas.DataFrame(rows, columns=COLUMNS)`` of the same rows gives, without inferring the
    naming columns' types again."""
    if not values:
        return pd.DataFrame([], columns=COLUMNS)
    table = template.copy()
    table["value"] = np.array(values, dtype=float)
    table["status"] = statuses
    return table


@functools.lru_cache(maxsize=64)
def _feature_naming_table(rows: tuple[tuple[str, str, str, str], ...]) -> pd.DataFrame:
    """The :func:`naming_table` of ``(image_type, family, key, aggregation)`` rows (copied by its users)."""
    naming = {column: [] for column in NAMING_COLUMNS}
    for image_type, family, key, aggregation in rows:
        definition = registry.get(family, key)
        for column, value in zip(NAMING_COLUMNS, (column_name(image_type, family, key, aggregation), family,
                                                  definition.name, definition.ibsi_code, aggregation, image_type,
                                                  definition.unit)):
            naming[column].append(value)
    return naming_table(naming)
