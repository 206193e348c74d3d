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
from radiomix.features.zones import label_zones
from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {
    "ShortEmphasis": "SmallAreaEmphasis",
    "LongEmphasis": "LargeAreaEmphasis",
    "GrayLevelNonUniformity": "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized": "GrayLevelNonUniformityNormalized",
    "NonUniformity": "SizeZoneNonUniformity",
    "NonUniformityNormalized": "SizeZoneNonUniformityNormalized",
    "Percentage": "ZonePercentage",
    "GrayLevelVariance": "GrayLevelVariance",
    "Variance": "ZoneVariance",
    "Entropy": "ZoneEntropy",
    "LowGrayLevelEmphasis": "LowGrayLevelZoneEmphasis",
    "HighGrayLevelEmphasis": "HighGrayLevelZoneEmphasis",
    "ShortLowGrayLevelEmphasis": "SmallAreaLowGrayLevelEmphasis",
    "ShortHighGrayLevelEmphasis": "SmallAreaHighGrayLevelEmphasis",
    "LongLowGrayLevelEmphasis": "LargeAreaLowGrayLevelEmphasis",
    "LongHighGrayLevelEmphasis": "LargeAreaHighGrayLevelEmphasis",
}
"""Generic feature of :data:`~radiomix.pyradiomics._texture_kernels.EMPHASIS_FEATURES` -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The GLSZM features this module computes (pyradiomics' names)."""


def matrix(levels: np.ndarray | PresentLevels, n_levels: int,
           settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pyradiomics' GLSZM restricted to the zone sizes that occur.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x), or PresentLevels
        pyradiomics' bin indices inside the ROI (from 1), 0 outside; or those
        levels already ranked (:func:`~radiomix.features.texture.present_levels`).
    n_levels : int
        pyradiomics' ``Ng``, the highest level in the ROI.
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
    counts, sizes = zone_size_matrix(zones.level, zones.size, present.n_levels)
    return counts, np.arange(1, present.n_levels + 1, dtype=np.float64), sizes


def zone_size_matrix(zone_level: np.ndarray, zone_size: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Zones counted by level and size, restricted to the sizes that occur.

    Parameters
    ----------
    zone_level : ndarray of int
        Level ``1..n_levels`` of each zone.
    zone_size : ndarray of int
        Size of each zone (voxels, >= 1).
    n_levels : int
        Number of rows.

    Returns
    -------
    counts : ndarray of float64, shape (n_levels, n_sizes)
        Zones of level ``i + 1`` (row ``i``) and size ``sizes[j]`` (column ``j``).
    sizes : ndarray of float64, shape (n_sizes,)
        The sizes that occur, increasing.
    """
    zones_by_size = np.bincount(zone_size)
    sizes = np.flatnonzero(zones_by_size)
    column = np.zeros(zones_by_size.size, dtype=np.int64)
    column[sizes] = np.arange(sizes.size)
    flat = (zone_level.astype(np.int64) - 1) * sizes.size + column[zone_size]
    counts = np.bincount(flat, minlength=n_levels * sizes.size).reshape(n_levels, sizes.size)
    return counts.astype(np.float64), sizes.astype(np.float64)


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
    """pyradiomics' GLSZM features of ``levels``.

    Parameters
    ----------
    levels, n_levels, settings
        As for :func:`matrix`.
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm (not used: zones are counted in voxels).

    Returns
    -------
    dict of str to float
        ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`.
    """
    counts, grey_levels, sizes = matrix(levels, n_levels, settings)
    per_matrix = kernels.emphasis_features(counts[:, :, None], grey_levels, sizes, kernels.EPS)
    return dict(sorted(kernels.named_emphasis_features(per_matrix, NAMES).items()))
