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

from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {
    "ShortEmphasis": "ShortRunEmphasis",
    "LongEmphasis": "LongRunEmphasis",
    "GrayLevelNonUniformity": "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized": "GrayLevelNonUniformityNormalized",
    "NonUniformity": "RunLengthNonUniformity",
    "NonUniformityNormalized": "RunLengthNonUniformityNormalized",
    "Percentage": "RunPercentage",
    "GrayLevelVariance": "GrayLevelVariance",
    "Variance": "RunVariance",
    "Entropy": "RunEntropy",
    "LowGrayLevelEmphasis": "LowGrayLevelRunEmphasis",
    "HighGrayLevelEmphasis": "HighGrayLevelRunEmphasis",
    "ShortLowGrayLevelEmphasis": "ShortRunLowGrayLevelEmphasis",
    "ShortHighGrayLevelEmphasis": "ShortRunHighGrayLevelEmphasis",
    "LongLowGrayLevelEmphasis": "LongRunLowGrayLevelEmphasis",
    "LongHighGrayLevelEmphasis": "LongRunHighGrayLevelEmphasis",
}
"""Generic feature of :data:`~radiomix.pyradiomics._texture_kernels.EMPHASIS_FEATURES` -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The GLRLM features this module computes (pyradiomics' names)."""


def matrices(levels: np.ndarray | kernels.Levels, n_levels: int, spacing_zyx,
             settings) -> tuple[np.ndarray, np.ndarray]:
    """pyradiomics' GLRLM (run counts) and the grey level of each row.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x), or Levels
        pyradiomics' bin indices inside the ROI (from 1), 0 outside; the ROI's
        bounding box. Or those levels already prepared
        (:func:`~radiomix.pyradiomics._texture_kernels.levels_for`), shared by
        the classes of one image.
    n_levels : int
        pyradiomics' ``Ng``, the highest level in the ROI.
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
    """
    angles = kernels.pyradiomics_angles(kernels.box_shape(levels), (1,), False, kernels.force2d_axis(settings))
    prepared = kernels.levels_for(levels, n_levels, kernels.offsets_reach(angles))
    counts = kernels.glrlm_counts(prepared, angles)
    if settings.weightingNorm is not None:
        weights = kernels.angle_weights(angles, spacing_zyx, settings.weightingNorm)
        counts = (counts * weights).sum(axis=2, keepdims=True)
    elif counts.shape[2] > 1:
        counts = counts[:, :, counts.sum(axis=(0, 1)) > 0]
    return counts, prepared.grey_levels


def features(levels: np.ndarray | kernels.Levels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
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
    per_matrix = kernels.emphasis_features(counts, grey_levels, run_lengths, kernels.EPS)
    values = kernels.named_emphasis_features(per_matrix, NAMES)
    if counts.shape[2] == 1 and not counts.any():
        # a single matrix without runs: pyradiomics removes every (empty) run-length column, so the
        # run-length variance and the entropy are empty sums (0); the other features divide by a
        # NaN run count
        values["RunEntropy"] = 0.0
        values["RunVariance"] = 0.0
    return dict(sorted(values.items()))
