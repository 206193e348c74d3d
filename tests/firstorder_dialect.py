"""pyradiomics' firstorder class and the ordinary spec that reproduces it, for tests comparing the two chains."""

from __future__ import annotations

import pandas as pd

from radiomix.pyradiomics import mapping
from radiomix.pyradiomics.translation import ENTROPY_EPSILON

FIRSTORDER_SPEC = {
    "discretisation": {"method": "fixed_bin_size", "bin_width": 25, "bin_edges": "pyradiomics"},
    "features": {"statistics": {"kurtosis": "non_excess", "voxel_shift": 0,
                                "non_ibsi_features": ["total_energy", "standard_deviation"]},
                 "histogram": {"entropy_epsilon": ENTROPY_EPSILON}}}
"""Ordinary spec sections giving pyradiomics' firstorder values (bin width 25, no voxel shift)."""


def pyradiomics_firstorder(**setting) -> dict:
    """A pyradiomics parameter file: every firstorder feature, bin width 25, plus ``setting``."""
    return {"featureClass": {"firstorder": ["StandardDeviation"] + list(
        mapping.feature_names("firstorder", include_deprecated=False))},
        "setting": {"binWidth": 25, **setting}}


def firstorder_pairs(ordinary: pd.DataFrame, pyradiomics: pd.DataFrame) -> list[tuple[float, float]]:
    """``(ordinary value, pyradiomics value)`` of every firstorder feature, from the two tables."""
    ordinary = ordinary.set_index("feature")["value"]
    pyradiomics = pyradiomics.set_index("feature")["value"]
    assert len(pyradiomics) == len(mapping.FIRSTORDER_SOURCES)
    return [(ordinary[f"original_{family}_{key}"], pyradiomics[f"original_firstorder_{name}"])
            for name, (family, key) in mapping.FIRSTORDER_SOURCES.items()]
