"""pyradiomics' GLDM class (``gldm``): features with pyradiomics' names and numbers.

The matrix is pyradiomics' ``RadiomicsGLDM`` matrix: for each ROI voxel, the
number of its dependent neighbours, i.e. ROI voxels at one of the offsets
of ``distances`` (both directions; in-plane with ``force2D``; offsets that
do not fit in the ROI box are left out) whose level differs from the centre's
by at most ``gldm_a``; the matrix counts voxels by level and dependence
``j = 1 + dependent neighbours``. There is one matrix, so no averaging;
entropies use ``log2(p + eps)``. pyradiomics' deprecated
``DependencePercentage`` (always 1) and ``GrayLevelNonUniformityNormalized``
(firstorder Uniformity) have no value and are not computed.
"""

from __future__ import annotations

import numpy as np

from radiomix.features.neighbourhood import neighbourhood_matrices
from radiomix.features.texture import PresentLevels
from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {
    "short_emphasis": "SmallDependenceEmphasis",
    "long_emphasis": "LargeDependenceEmphasis",
    "grey_level_non_uniformity": "GrayLevelNonUniformity",
    "non_uniformity": "DependenceNonUniformity",
    "non_uniformity_normalised": "DependenceNonUniformityNormalized",
    "grey_level_variance": "GrayLevelVariance",
    "variance": "DependenceVariance",
    "entropy": "DependenceEntropy",
    "low_grey_level_emphasis": "LowGrayLevelEmphasis",
    "high_grey_level_emphasis": "HighGrayLevelEmphasis",
    "short_low_grey_level_emphasis": "SmallDependenceLowGrayLevelEmphasis",
    "short_high_grey_level_emphasis": "SmallDependenceHighGrayLevelEmphasis",
    "long_low_grey_level_emphasis": "LargeDependenceLowGrayLevelEmphasis",
    "long_high_grey_level_emphasis": "LargeDependenceHighGrayLevelEmphasis",
}
"""Key of :data:`~radiomix.features.texture.EMPHASIS_FEATURES` -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The GLDM features this module computes (pyradiomics' names)."""


def matrix(levels: np.ndarray | PresentLevels, n_levels: int, settings) -> tuple[np.ndarray, np.ndarray]:
    """pyradiomics' GLDM and the grey level of each row.

    Parameters
    ----------
    levels, n_levels
        As for :func:`radiomix.features.glcm.level_features`.
    settings : PyradiomicsSettings
        Reads ``distances``, ``gldm_a``, ``force2D`` and ``force2Ddimension``.

    Returns
    -------
    counts : ndarray of float64, shape (n, n_offsets + 1)
        Voxels by level and dependence (column ``j - 1`` for dependence ``j``).
    grey_levels : ndarray of float64, shape (n,)
        The present grey levels (rows).

    Notes
    -----
    The matrix is the IBSI NGLDM of the volume
    (:func:`radiomix.features.neighbourhood.neighbourhood_matrices`) for
    pyradiomics' offsets, restricted to the grey levels present.
    """
    present, angles = kernels.levels_and_angles(levels, n_levels, settings.distances, True, settings)
    counted = neighbourhood_matrices(present.levels, present.n_levels, angles, 0, alpha=int(settings.gldm_a),
                                     differences=False)
    return counted.volume_dependence[0][present.rows].astype(np.float64), present.grey_levels


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
    """pyradiomics' GLDM features of ``levels``: ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`.

    ``levels``, ``n_levels`` and ``settings`` are those of :func:`matrix`; ``spacing_zyx`` (voxel
    size in mm) is not used: dependences are counted in voxels.
    """
    counts, grey_levels = matrix(levels, n_levels, settings)
    dependence = np.arange(1, counts.shape[1] + 1, dtype=np.float64)
    return dict(sorted(kernels.named_emphasis_features(counts[None], grey_levels, dependence, NAMES).items()))
