"""pyradiomics' GLCM class (``glcm``): features with pyradiomics' names and numbers.

The matrix is pyradiomics' ``RadiomicsGLCM`` matrix:

1. one co-occurrence matrix per neighbour offset (13 in 3D at distance 1; the
   offsets of every distance in ``distances``; in-plane offsets only with
   ``force2D``; offsets that do not fit in the ROI box are left out, see
   :func:`~radiomix.pyradiomics._texture_kernels.pyradiomics_angles`),
   counting ROI voxel pairs ``(v, v + m)`` by level;
2. grey levels absent from the ROI removed (rows and columns);
3. ``symmetricalGLCM``: each matrix plus its transpose;
4. ``weightingNorm``: the offset matrices summed into one, each weighted by
   ``exp(-d^2)`` with ``d`` the offset's length in mm under that norm;
5. offsets without any pair removed (when more than one), each matrix
   normalised to sum 1.

Features are computed per matrix by the IBSI engine's
:func:`radiomix.features.glcm.glcm_feature_values` and averaged over matrices
(pyradiomics' ``nanmean``). pyradiomics' conventions are its inputs and
parameters: the matrices are laid out on every level ``1..Ng`` (:func:`by_level`),
so that sums run over the grey levels ``i, j`` themselves and the sum and
difference distributions over ``k = 2..2 Ng`` and ``0..Ng-1``, ``Ng`` the
highest level (also the normaliser of Idn and Idmn); logarithms are
``log2(p + eps)`` with ``eps = numpy.spacing(1)``; Imc1/Imc2 come from
pyradiomics' ``HXY1``/``HXY2`` and Correlation's denominator is
``sigma_x sigma_y + eps`` (``pyradiomics_correlations``), with pyradiomics' values for a
single grey level (Correlation 1, Imc1 and Imc2 0).

Differences from the IBSI definitions are listed in
:mod:`radiomix.pyradiomics.mapping` (e.g. Correlation is 1 for a single grey
level, MCC is not in IBSI).
"""

from __future__ import annotations

import numpy as np

from radiomix.features.glcm import FEATURE_KEYS, glcm_feature_values, glcm_matrices
from radiomix.features.texture import PresentLevels
from radiomix.pyradiomics import _texture_kernels as kernels

IBSI_KEYS = {
    "Autocorrelation": "autocorrelation", "ClusterProminence": "cluster_prominence",
    "ClusterShade": "cluster_shade", "ClusterTendency": "cluster_tendency", "Contrast": "contrast",
    "Correlation": "correlation", "DifferenceAverage": "difference_average",
    "DifferenceEntropy": "difference_entropy", "DifferenceVariance": "difference_variance",
    "Id": "inverse_difference", "Idm": "inverse_difference_moment",
    "Idmn": "normalised_inverse_difference_moment", "Idn": "normalised_inverse_difference",
    "Imc1": "information_correlation_1", "Imc2": "information_correlation_2",
    "InverseVariance": "inverse_variance", "JointAverage": "joint_average",
    "JointEnergy": "angular_second_moment", "JointEntropy": "joint_entropy",
    "MaximumProbability": "joint_maximum", "SumAverage": "sum_average", "SumEntropy": "sum_entropy",
    "SumSquares": "joint_variance",
}
"""pyradiomics' GLCM feature name -> the key of :func:`radiomix.features.glcm.glcm_feature_values`' column
that computes it (MCC apart: it has no IBSI counterpart)."""

_COLUMNS = np.array([FEATURE_KEYS.index(key) for key in IBSI_KEYS.values()])

FEATURE_NAMES = tuple(sorted(tuple(IBSI_KEYS) + ("MCC",)))
"""The GLCM features this module computes (pyradiomics' names of its valued features)."""


def matrices(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx,
             settings) -> tuple[np.ndarray, np.ndarray]:
    """pyradiomics' GLCM (counts, before normalisation) and the grey level of each row.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x), or PresentLevels
        pyradiomics' bin indices inside the ROI (from 1), 0 outside; the ROI's
        bounding box (pyradiomics crops to it without padding). Or those
        levels already ranked (:func:`~radiomix.features.texture.present_levels`),
        shared by the classes of one image.
    n_levels : int
        pyradiomics' ``Ng``, the highest level in the ROI.
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm (used by ``weightingNorm``).
    settings : PyradiomicsSettings
        Reads ``distances``, ``symmetricalGLCM``, ``weightingNorm``,
        ``force2D`` and ``force2Ddimension``.

    Returns
    -------
    counts : ndarray of float64, shape (n, n, n_matrices)
        Steps 1-4 of the module docstring plus the removal of empty offsets
        (when more than one): one matrix per offset, or the single weighted
        sum; a view of an array stored matrix by matrix.
    grey_levels : ndarray of float64, shape (n,)
        The present grey levels (rows and columns).

    Notes
    -----
    The matrices are the IBSI engine's (:func:`radiomix.features.glcm.glcm_matrices`)
    of the ranked levels, along pyradiomics' offsets.
    """
    present, angles = kernels.levels_and_angles(levels, n_levels, settings.distances, False, settings)
    by_offset = glcm_matrices(present.ranked, present.n_present, angles,
                              bool(settings.symmetricalGLCM)).astype(np.float64)  # [a, i, j]
    if settings.weightingNorm is not None:
        distances_mm = kernels.angle_weights(angles, spacing_zyx, settings.weightingNorm)
        weights = distances_mm if settings.weightingNorm == "no_weighting" else np.exp(-distances_mm ** 2)
        by_offset = (by_offset * weights[:, None, None]).sum(axis=0, keepdims=True)
    elif by_offset.shape[0] > 1:
        by_offset = by_offset[by_offset.sum(axis=(1, 2)) > 0]
    return by_offset.transpose(1, 2, 0), present.grey_levels


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings,
             mcc: bool = True) -> dict[str, float]:
    """pyradiomics' GLCM features of ``levels``.

    Parameters
    ----------
    levels, n_levels, spacing_zyx, settings
        As for :func:`matrices`.
    mcc : bool
        Compute MCC (one eigenvalue problem per matrix, the costliest
        feature); False leaves it out of the result.

    Returns
    -------
    dict of str to float
        ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`
        (``Contrast``, ``JointEnergy``, ``MCC``, ...); NaN where pyradiomics
        gives NaN (no pair of neighbouring ROI voxels).
    """
    counts, grey_levels = matrices(levels, n_levels, spacing_zyx, settings)
    per_matrix = glcm_feature_values(by_level(counts, grey_levels, n_levels), n_levels, kernels.EPS,
                                     pyradiomics_correlations=True)[:, _COLUMNS]
    if int(n_levels) == 1:  # pyradiomics' InverseVariance sums over k = 1..Ng-1: nothing, even without pairs
        per_matrix[:, list(IBSI_KEYS).index("InverseVariance")] = 0.0
    means = kernels.nanmean_columns(per_matrix.T)
    values = {name: float(mean) for name, mean in zip(IBSI_KEYS, means)}
    if mcc:
        values["MCC"] = maximal_correlation_coefficient(counts)
    return dict(sorted(values.items()))


def by_level(counts: np.ndarray, grey_levels: np.ndarray, n_levels: int) -> np.ndarray:
    """The matrices of :func:`matrices` on every level ``1..n_levels``, absent levels as empty rows and columns.

    Parameters
    ----------
    counts : ndarray of float64, shape (n, n, n_matrices)
        Matrices over the present grey levels.
    grey_levels : ndarray of float64, shape (n,)
        The present grey levels (from 1).
    n_levels : int
        pyradiomics' ``Ng``, the highest level.

    Returns
    -------
    ndarray of float64, shape (n_matrices, n_levels, n_levels)
        Row and column ``i`` hold level ``i + 1``: the layout of the IBSI
        engine's matrices, on which pyradiomics' sums over the levels
        themselves (and its distributions over ``k = 0..Ng-1`` and
        ``2..2 Ng``) are :func:`~radiomix.features.glcm.glcm_feature_values`'.
    """
    rows = grey_levels.astype(np.int64) - 1
    full = np.zeros((counts.shape[2], int(n_levels), int(n_levels)))
    full[:, rows[:, None], rows[None, :]] = counts.transpose(2, 0, 1)
    return full


def maximal_correlation_coefficient(counts: np.ndarray) -> float:
    """pyradiomics' MCC: square root of the second largest eigenvalue of ``Q``, averaged over matrices.

    Parameters
    ----------
    counts : ndarray of float64, shape (n, n, n_matrices)
        GLCM counts (any scale).

    Returns
    -------
    float
        1 for a single grey level (pyradiomics' flat-region value); NaN for
        a single empty matrix (pyradiomics' eigenvalue solver fails on it).
        Without any matrix (every offset empty and removed): 1 for a single
        grey level, else NaN, as pyradiomics. A second eigenvalue that is 0
        within rounding (a GLCM of rank 1) counts as 0; pyradiomics gives 0
        too, except when every offset's eigenvalues come out real and that
        one rounds below 0: then its square root is NaN and left out.
    """
    n = counts.shape[0]
    non_empty = counts.sum(axis=(0, 1)) > 0
    if counts.shape[2] > 0 and not non_empty.all():
        return float("nan")
    if n < 2:
        return 1.0
    if counts.shape[2] == 0:
        return float("nan")
    second = kernels.mcc_second_eigenvalues(counts, kernels.EPS)
    return float(np.mean(np.sqrt(np.maximum(second, 0.0))))
