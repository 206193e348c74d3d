"""Cohort tables for statisticians: long, wide and the codebook of the wide columns.

The wide table has one row per patient and one column per modality x feature,
named ``<MODALITY>__<feature>``; it carries the manifest's ``patient_id`` only.
"""

from __future__ import annotations

import pandas as pd

from radiomix.features import registry

FAILURE_COLUMNS = ["patient_id", "modality", "stage", "error_type", "message"]
CODEBOOK_COLUMNS = ["column", "modality", "feature", "family", "name", "ibsi_code", "aggregation",
                    "image_type", "unit", "description"]


def wide_column(modality: str, feature: str) -> str:
    """The wide-table column of one modality's feature."""
    return f"{modality}__{feature}"


def to_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per patient, columns ``patient_id`` then ``<MODALITY>__<feature>`` in first-seen order."""
    columns = [wide_column(m, f) for m, f in long[["modality", "feature"]].drop_duplicates().itertuples(index=False)]
    keyed = long.assign(column=[wide_column(m, f) for m, f in zip(long["modality"], long["feature"])])
    wide = keyed.pivot(index="patient_id", columns="column", values="value")
    wide = wide.reindex(columns=columns)
    wide.columns.name = None
    return wide.reset_index()


def codebook(long: pd.DataFrame) -> pd.DataFrame:
    """One row per wide column: what it holds, its IBSI code, aggregation, image type, unit, description."""
    first = long.drop_duplicates(["modality", "feature"])
    rows = []
    for item in first.itertuples(index=False):
        description = _description(item.family, item.name)
        rows.append({"column": wide_column(item.modality, item.feature), "modality": item.modality,
                     "feature": item.feature, "family": item.family, "name": item.name,
                     "ibsi_code": item.ibsi_code, "aggregation": item.aggregation,
                     "image_type": item.image_type, "unit": item.unit, "description": description})
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def _description(family: str, name: str) -> str:
    """The registry's description of the feature called ``name`` in ``family``."""
    for definition in registry.definitions(family):
        if definition.name == name:
            return definition.description
    return ""
