"""Turn family results into rows of the tidy feature table (DESIGN.md section 3)."""

from __future__ import annotations

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
    return pd.DataFrame(feature_rows(family, values, image_type), columns=COLUMNS)


def feature_rows(family: str, values: list[FeatureValue], image_type: str = "original") -> list[dict]:
    """The rows of :func:`tabulate` as dicts keyed by :data:`COLUMNS` (to build one table of many families)."""
    rows = []
    for item in values:
        definition = registry.get(family, item.key)
        rows.append({
            "feature": column_name(image_type, family, item.key, item.aggregation),
            "family": family,
            "name": definition.name,
            "ibsi_code": definition.ibsi_code,
            "aggregation": item.aggregation,
            "image_type": image_type,
            "value": float(item.value),
            "unit": definition.unit,
            "status": item.status,
        })
    return rows
