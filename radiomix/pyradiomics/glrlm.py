"""pyradiomics' GLRLM class (``glrlm``): features with pyradiomics' names and numbers.

The matrix is pyradiomics' ``RadiomicsGLRLM`` matrix:

1. one run-length matrix per unit offset (13 in 3D, 4 in-plane with
   ``force2D``; offsets that do not fit in the ROI box are left out): runs
   of equal level along lines of the box, ended by voxels outside the ROI;
   ``distances`` does not apply;
2. an offset along which no line holds two ROI voxels is emptied
   (pyradiomics' test for a flat ROI);
3. ``weightingNorm``: the offset matrices summed into one, each weighted by
   the offset's length in mm under that norm (not ``exp(-d^2)`` as the GLCM);
4. offsets without runs removed (when more than one).

Features are computed per matrix with its run count ``Nr`` and averaged over
matrices (``nanmean``); entropies use ``log2(p + eps)``.
"""

from __future__ import annotations

import numpy as np

from radiomix.features.glrlm import glrlm_matrices
from radiomix.features.texture import PresentLevels, offset_lengths_mm
from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {
    "short_emphasis": "ShortRunEmphasis",
    "long_emphasis": "LongRunEmphasis",
    "grey_level_non_uniformity": "GrayLevelNonUniformity",
    "grey_level_non_uniformity_normalised": "GrayLevelNonUniformityNormalized",
    "non_uniformity": "RunLengthNonUniformity",
    "non_uniformity_normalised": "RunLengthNonUniformityNormalized",
    "percentage": "RunPercentage",
    "grey_level_variance": "GrayLevelVariance",
    "variance": "RunVariance",
    "entropy": "RunEntropy",
    "low_grey_level_emphasis": "LowGrayLevelRunEmphasis",
    "high_grey_level_emphasis": "HighGrayLevelRunEmphasis",
    "short_low_grey_level_emphasis": "ShortRunLowGrayLevelEmphasis",
    "short_high_grey_level_emphasis": "ShortRunHighGrayLevelEmphasis",
    "long_low_grey_level_emphasis": "LongRunLowGrayLevelEmphasis",
    "long_high_grey_level_emphasis": "LongRunHighGrayLevelEmphasis",
}
"""Key of :data:`~radiomix.features.texture.EMPHASIS_FEATURES` -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The GLRLM features this module computes (pyradiomics' names)."""


def matrices(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx,
             settings) -> tuple[np.ndarray, np.ndarray]:
    """pyradiomics' GLRLM (run counts) and the grey level of each row.

    Parameters
    ----------
    levels, n_levels
        As for :func:`radiomix.features.glcm.level_features`.
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm (used by ``weightingNorm``).
    settings : PyradiomicsSettings
        Reads ``weightingNorm``, ``force2D`` and ``force2Ddimension``.

    Returns
    -------
    counts : ndarray of float64, shape (n, max_run, n_matrices)
        Steps 1-4 of the module docstring; column ``j - 1`` counts runs of length ``j``.
    grey_levels : ndarray of float64, shape (n,)
        The present grey levels (rows).

    Notes
    -----
    The matrices are the IBSI engine's (:func:`radiomix.features.glrlm.glrlm_matrices`)
    of the ranked levels, along pyradiomics' offsets.
    """
    present, angles = kernels.levels_and_angles(levels, n_levels, (1,), False, settings)
    counts = offset_matrices(present, angles)
    if settings.weightingNorm is not None:
        weights = offset_lengths_mm(angles, spacing_zyx, settings.weightingNorm)
        counts = (counts * weights).sum(axis=2, keepdims=True)
    elif counts.shape[2] > 1:
        counts = counts[:, :, counts.sum(axis=(0, 1)) > 0]
    return counts, present.grey_levels


def offset_matrices(present: PresentLevels, angles: np.ndarray) -> np.ndarray:
    """Steps 1-2 of the module docstring: run counts ``[i, j - 1, a]`` of each offset ``a`` (float64).

    Counted by :func:`radiomix.features.glrlm.glrlm_matrices` from the ranked
    levels; an offset along which no line of the box holds two ROI voxels
    is emptied.
    """
    by_offset = glrlm_matrices(present.ranked, present.n_present, angles).astype(np.float64)  # [a, i, j - 1]
    # runs of length >= 2 mean a line with two ROI voxels; else look for two on a line
    roi = present.levels > 0
    for a in np.flatnonzero(~by_offset[:, :, 1:].any(axis=(1, 2))):
        if not _line_with_two_roi_voxels(roi, angles[a]):
            by_offset[a] = 0.0
    return by_offset.transpose(1, 2, 0)


def _line_with_two_roi_voxels(roi: np.ndarray, angle: np.ndarray) -> bool:
    """True when some line of the box along ``angle`` holds two ROI voxels (pyradiomics' test for a flat ROI).

    Checks the voxel pairs ``(v, v + k angle)`` for ``k = 1, 2, ...`` while the step fits in the box.
    """
    for k in range(1, max(roi.shape)):
        step = k * np.asarray(angle)
        if np.any(np.abs(step) >= roi.shape):
            break
        first = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(step, roi.shape))
        second = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(step, roi.shape))
        if np.any(roi[first] & roi[second]):
            return True
    return False


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
    """pyradiomics' GLRLM features of ``levels``.

    Parameters are those of :func:`matrices`.

    Returns
    -------
    dict of str to float
        ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`;
        NaN when no offset has a run (pyradiomics' values then; RunEntropy
        and RunVariance are 0 when that single matrix is a weighted sum or
        the only offset).
    """
    counts, grey_levels = matrices(levels, n_levels, spacing_zyx, settings)
    run_lengths = np.arange(1, counts.shape[1] + 1, dtype=np.float64)
    values = kernels.named_emphasis_features(counts.transpose(2, 0, 1), grey_levels, run_lengths, NAMES)
    if counts.shape[2] == 1 and not counts.any():
        # a single matrix without runs: pyradiomics removes every (empty) run-length column, so the
        # run-length variance and the entropy are empty sums (0); the other features divide by a
        # NaN run count
        values["RunEntropy"] = 0.0
        values["RunVariance"] = 0.0
    return dict(sorted(values.items()))
