"""Registry of every feature radiomix computes, keyed by family and key.

The features are declared once, in the catalogue ``catalogue.csv`` next to this module
(one row per feature: ``family, key, name, ibsi_code, unit, description``, the
description holding the formula), read when this module is imported. Extraction,
the codebook and the completeness tests read the registry, never a second list;
it is complete whichever module a program imports first.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path

FAMILY_TITLES = {
    "morphology": "Morphological features",
    "local_intensity": "Local intensity features",
    "statistics": "Intensity-based statistical features",
    "histogram": "Intensity histogram features",
    "ivh": "Intensity-volume histogram features",
    "glcm": "Grey level co-occurrence based features",
    "glrlm": "Grey level run length based features",
    "glszm": "Grey level size zone based features",
    "gldzm": "Grey level distance zone based features",
    "ngtdm": "Neighbourhood grey tone difference based features",
    "ngldm": "Neighbouring grey level dependence based features",
}
"""Short family identifiers and the IBSI-1 manual's family titles."""

CATALOGUE = Path(__file__).with_name("catalogue.csv")
"""The feature catalogue read into the registry."""


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature of one family (a row of :data:`CATALOGUE`).

    Attributes
    ----------
    family : str
        Short family identifier, a key of :data:`FAMILY_TITLES`.
    key : str
        Snake-case identifier, unique within the family, used in column names.
    name : str
        The IBSI-1 manual's feature name (for the IVH fraction features it
        carries ``V10``, ``V90``, ``I10`` or ``I90``).
    ibsi_code : str
        Four-character IBSI identifier, empty for features outside IBSI.
    unit : str
        Unit of the value, e.g. ``mm``, ``mm^2``, ``I`` (intensity units),
        ``1`` (dimensionless), ``grey level``, ``voxel``.
    description : str
        The formula or rule, in words or plain notation.
    """

    family: str
    key: str
    name: str
    ibsi_code: str
    unit: str
    description: str


def _read_catalogue() -> dict[tuple[str, str], FeatureDefinition]:
    """The catalogue's definitions by ``(family, key)``, in catalogue order; a repeated pair is an error."""
    registry = {}
    with CATALOGUE.open(newline="", encoding="utf-8") as rows:
        reader = csv.DictReader(rows)
        if reader.fieldnames != [field.name for field in fields(FeatureDefinition)]:
            raise ValueError(f"{CATALOGUE}: columns {reader.fieldnames} differ from FeatureDefinition's")
        for row in reader:
            definition = FeatureDefinition(**row)
            if (definition.family, definition.key) in registry:
                raise ValueError(f"{CATALOGUE}: feature {definition.family}.{definition.key} is declared twice")
            registry[(definition.family, definition.key)] = definition
    return registry


_REGISTRY = _read_catalogue()


def get(family: str, key: str) -> FeatureDefinition:
    """The definition of ``family.key``; a KeyError names the family's keys."""
    try:
        return _REGISTRY[(family, key)]
    except KeyError:
        raise KeyError(f"no feature {key!r} in family {family!r}; known: {sorted(keys(family))}") from None


def definitions(family: str | None = None) -> list[FeatureDefinition]:
    """All definitions, or those of one family, in catalogue order."""
    return [d for d in _REGISTRY.values() if family is None or d.family == family]


def keys(family: str, ibsi: bool | None = None) -> tuple[str, ...]:
    """Keys of a family in catalogue order: all, or (``ibsi``) those with an IBSI code, or those without."""
    return tuple(d.key for d in definitions(family) if ibsi is None or bool(d.ibsi_code) == ibsi)
