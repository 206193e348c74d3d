"""Registry of every feature radiomix computes, keyed by family and key.

Each feature module declares its features once, at import, with
:func:`define`; the formula goes into ``description``. Extraction, the
codebook, and the completeness tests read the registry, never a second list.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

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


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature of one family.

    Attributes
    ----------
    family : str
        Short family identifier, a key of :data:`FAMILY_TITLES` (or a
        non-IBSI family such as ``gldm``).
    key : str
        Snake-case identifier, unique within the family, used in column names.
    name : str
        The IBSI-1 manual's feature name (for the IVH fraction features it
        carries ``V10``, ``V90``, ``I10`` or ``I90``).
    ibsi_code : str
        Four-character IBSI identifier, empty for non-IBSI features.
    unit : str
        Unit of the value, e.g. ``mm``, ``mm^2``, ``mm^3``, ``I`` (intensity
        units), ``I^2``, ``I*mm^3``, ``1`` (dimensionless), ``grey level``,
        ``grey level^2``, ``voxel``.
    description : str
        The formula or rule, in words or plain notation.
    """

    family: str
    key: str
    name: str
    ibsi_code: str
    unit: str
    description: str


_REGISTRY: dict[tuple[str, str], FeatureDefinition] = {}


def define(family: str, key: str, name: str, ibsi_code: str, unit: str,
           description: str) -> FeatureDefinition:
    """Declare a feature; declaring the same (family, key) twice is an error."""
    if (family, key) in _REGISTRY:
        raise ValueError(f"feature {family}.{key} is declared twice")
    definition = FeatureDefinition(family, key, name, ibsi_code, unit, description)
    _REGISTRY[(family, key)] = definition
    return definition


def define_table(family: str, rows, unit: str | None = None, notation: str = "") -> tuple[str, ...]:
    """Declare the features of ``rows``, in order, and return their keys.

    Parameters
    ----------
    family : str
        The family of every row.
    rows : sequence of tuple of str
        ``(key, name, ibsi_code, unit, formula)``, or ``(key, name, ibsi_code, formula)``
        when ``unit`` is given.
    unit : str, optional
        The unit of every row.
    notation : str
        The symbols the formulas use, appended to each formula after ``"; "``.
    """
    keys = []
    for key, name, ibsi_code, *rest in rows:
        row_unit, formula = rest if unit is None else (unit, *rest)
        description = f"{formula}; {notation}" if notation else formula
        keys.append(define(family, key, name, ibsi_code, row_unit, description).key)
    return tuple(keys)


def _declare(family: str | None) -> None:
    """Import the module of ``family`` (of every family when None) unless it is imported or being imported.

    So the registry is complete whichever module a program imported first; a family module that
    reads its own definitions while it is being imported finds itself in ``sys.modules`` and
    triggers nothing.
    """
    families = FAMILY_TITLES if family is None else (family,) if family in FAMILY_TITLES else ()
    for name in families:
        module = f"radiomix.features.{name}"
        if module not in sys.modules:
            importlib.import_module(module)


def get(family: str, key: str) -> FeatureDefinition:
    """The definition of ``family.key``; a KeyError names the family's keys."""
    _declare(family)
    try:
        return _REGISTRY[(family, key)]
    except KeyError:
        known = sorted(k for f, k in _REGISTRY if f == family)
        raise KeyError(f"no feature {key!r} in family {family!r}; known: {known}") from None


def definitions(family: str | None = None) -> list[FeatureDefinition]:
    """All definitions, or those of one family, in declaration order."""
    _declare(family)
    return [d for d in _REGISTRY.values() if family is None or d.family == family]
