"""Cohort tables for statisticians: long, wide and the codebook of the wide columns.

The wide table has one row per patient and one column per modality x feature,
named ``<MODALITY>__<feature>``; it carries the manifest's ``patient_id`` only.

Units in the codebook: the feature registry writes intensity units as ``I``
(``I^2``, ``I*mm^3`` ...); the codebook replaces ``I`` by the modality's
intensity unit after preprocessing (:data:`DEFAULT_INTENSITY_UNITS`, or the
unit of each modality's spec, :func:`intensity_unit`). It also flags columns
that are constant over the cohort (``constant``) and columns identical to an
earlier one (``duplicate_of``); the model drops both inside its folds anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from radiomix.features import registry

FAILURE_COLUMNS = ["patient_id", "modality", "stage", "error_type", "message"]
CODEBOOK_COLUMNS = ["column", "modality", "feature", "family", "name", "ibsi_code", "aggregation",
                    "image_type", "unit", "description", "constant", "duplicate_of"]

DEFAULT_INTENSITY_UNITS = {"CT": "HU", "PET": "SUV", "MR": "z-score"}
"""Intensity unit of each modality with the shipped specs (``feature_specs/{ct,pet,mr}.yaml``): CT in
Hounsfield units, PET in body-weight SUV (g/ml), MR z-scored within the body (unitless standard deviations)."""
UNKNOWN_INTENSITY_UNIT = "I"
_INTENSITY_SYMBOL = re.compile(r"(?<![A-Za-z_])I(?![A-Za-z_0-9])")


def intensity_unit(spec) -> str:
    """The intensity unit of images prepared by a spec's ``intensity`` settings.

    ``HU`` (conversion ``hu``), ``SUV`` (``suv``), ``z-score`` (normalisation
    ``zscore``), ``percentile-scaled`` (``percentile``: the percentiles mapped
    to 0 and 1), else ``I`` (the image's own unit, unknown to radiomix).
    """
    intensity = spec.intensity
    if intensity.conversion == "hu":
        return "HU"
    if intensity.conversion == "suv":
        return "SUV"
    return {"zscore": "z-score", "percentile": "percentile-scaled"}.get(intensity.normalisation,
                                                                        UNKNOWN_INTENSITY_UNIT)


def unit_for_modality(unit: str, intensity: str) -> str:
    """A registry unit with its intensity symbol ``I`` replaced by ``intensity`` (``I^2`` -> ``HU^2``)."""
    if not isinstance(unit, str) or intensity == UNKNOWN_INTENSITY_UNIT:
        return unit
    return _INTENSITY_SYMBOL.sub(intensity, unit)


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


def codebook(long: pd.DataFrame, intensity_units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per wide column: what it holds, IBSI code, aggregation, image type, unit, description, flags.

    Parameters
    ----------
    long : DataFrame
        The long table (``patient_id, modality, feature, family, name,
        ibsi_code, aggregation, image_type, unit, value``).
    intensity_units : mapping of str to str, optional
        Modality -> intensity unit (see :func:`intensity_unit`); default
        :data:`DEFAULT_INTENSITY_UNITS` (other modalities keep ``I``).

    Returns
    -------
    DataFrame
        :data:`CODEBOOK_COLUMNS`; ``constant`` is True for a column with at most
        one distinct value over the patients, ``duplicate_of`` names the first
        earlier column with the same value for every patient (else empty).
    """
    units = {**DEFAULT_INTENSITY_UNITS, **(intensity_units or {})}
    first = long.drop_duplicates(["modality", "feature"])
    constant, duplicate_of = _column_flags(to_wide(long)) if len(long) else ({}, {})
    rows = []
    for item in first.itertuples(index=False):
        description = _description(item.family, item.name)
        column = wide_column(item.modality, item.feature)
        rows.append({"column": column, "modality": item.modality,
                     "feature": item.feature, "family": item.family, "name": item.name,
                     "ibsi_code": item.ibsi_code, "aggregation": item.aggregation,
                     "image_type": item.image_type,
                     "unit": unit_for_modality(item.unit, units.get(item.modality, UNKNOWN_INTENSITY_UNIT)),
                     "description": description, "constant": bool(constant.get(column, False)),
                     "duplicate_of": duplicate_of.get(column, "")})
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def _column_flags(wide: pd.DataFrame) -> tuple[dict, dict]:
    """Constant columns, and each column identical (missing values included) to an earlier one."""
    values = wide.drop(columns="patient_id")
    constant = {c: values[c].nunique(dropna=True) <= 1 for c in values.columns}
    first_seen: dict[tuple, str] = {}
    duplicate_of = {}
    for column in values.columns:
        key = tuple(values[column].to_numpy().round(12).tolist())
        key = tuple("nan" if v != v else v for v in key)  # NaN != NaN: make missing values comparable
        if key in first_seen:
            duplicate_of[column] = first_seen[key]
        else:
            first_seen[key] = column
    return constant, duplicate_of


def _description(family: str, name: str) -> str:
    """The registry's description of the feature called ``name`` in ``family``."""
    for definition in registry.definitions(family):
        if definition.name == name:
            return definition.description
    return ""
