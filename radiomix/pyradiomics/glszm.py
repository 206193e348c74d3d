"""pyradiomics' GLSZM class (``glszm``): features with pyradiomics' names and numbers.

The matrix is pyradiomics' ``RadiomicsGLSZM`` matrix: zones are connected
sets of ROI voxels of equal level, linked through the 26 neighbours at
distance 1 (the 8 in-plane neighbours with ``force2D``, zones then lying in
one slice across ``force2Ddimension``; ``distances`` does not apply); the
matrix counts zones by level and size (voxels). It is the IBSI zone-size
matrix, found with radiomix's zone labelling
(:func:`radiomix.features.zones.label_zones`). There is one matrix, so no
averaging; entropies use ``log2(p + eps)``.
"""

from __future__ import annotations

import numpy as np

from radiomix.features.texture import PresentLevels
from radiomix.features.zones import label_zones, zone_matrix
from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {
    "short_emphasis": "SmallAreaEmphasis",
    "long_emphasis": "LargeAreaEmphasis",
    "grey_level_non_uniformity": "GrayLevelNonUniformity",
    "grey_level_non_uniformity_normalised": "GrayLevelNonUniformityNormalized",
    "non_uniformity": "SizeZoneNonUniformity",
    "non_uniformity_normalised": "SizeZoneNonUniformityNormalized",
    "percentage": "ZonePercentage",
    "grey_level_variance": "GrayLevelVariance",
    "variance": "ZoneVariance",
    "entropy": "ZoneEntropy",
    "low_grey_level_emphasis": "LowGrayLevelZoneEmphasis",
    "high_grey_level_emphasis": "HighGrayLevelZoneEmphasis",
    "short_low_grey_level_emphasis": "SmallAreaLowGrayLevelEmphasis",
    "short_high_grey_level_emphasis": "SmallAreaHighGrayLevelEmphasis",
    "long_low_grey_level_emphasis": "LargeAreaLowGrayLevelEmphasis",
    "long_high_grey_level_emphasis": "LargeAreaHighGrayLevelEmphasis",
}
"""Key of :data:`~radiomix.features.texture.EMPHASIS_FEATURES` -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The GLSZM features this module computes (pyradiomics' names)."""


def matrix(levels: np.ndarray | PresentLevels, n_levels: int,
           settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pyradiomics' GLSZM restricted to the zone sizes that occur.

    Parameters
    ----------
    levels, n_levels
        As for :func:`radiomix.features.glcm.level_features`.
    settings : PyradiomicsSettings
        Reads ``force2D`` and ``force2Ddimension``.

    Returns
    -------
    counts : ndarray of float64, shape (n_levels, n_sizes)
        Zones by level (row ``i - 1`` for level ``i``) and size.
    grey_levels : ndarray of float64, shape (n_levels,)
        ``1..n_levels``.
    sizes : ndarray of float64, shape (n_sizes,)
        The zone sizes that occur (voxels), increasing.
    """
    present = kernels.present(levels, n_levels)
    volume = present.levels
    if settings.force2D:
        volume = np.moveaxis(volume, int(settings.force2Ddimension), 0)
    zones = label_zones(volume, linkage_distance=1, in_plane=bool(settings.force2D))
    counts, sizes = zone_matrix(zones.level, zones.size, present.n_levels)
    return counts, np.arange(1, present.n_levels + 1, dtype=np.float64), sizes


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
    """pyradiomics' GLSZM features of ``levels``: ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`.

    ``levels``, ``n_levels`` and ``settings`` are those of :func:`matrix`; ``spacing_zyx`` (voxel
    size in mm) is not used: zones are counted in voxels.
    """
    counts, grey_levels, sizes = matrix(levels, n_levels, settings)
    return dict(sorted(kernels.named_emphasis_features(counts[None], grey_levels, sizes, NAMES).items()))
