"""Grey level co-occurrence matrix (GLCM) features (IBSI-1 section "GLCM", LFYI).

For a direction vector ``m`` (multiplied by the Chebyshev distance ``delta``)
element ``(i, j)`` of the matrix ``M_m+`` counts the ROI voxels of grey level
``i`` whose neighbour at ``+m`` is an ROI voxel of grey level ``j``. The
symmetric GLCM of the manual is ``M_m = M_m+ + M_m+^T`` (pairs along ``+m``
and ``-m``); with ``symmetric: false`` the matrix is ``M_m+`` alone.

Directions are ``(dz, dy, dx)`` offsets (:func:`~radiomix.features.texture.direction_offsets`);
the six aggregations (2D, 2.5D, 3D; averaged or merged) are formed by
:func:`~radiomix.features.texture.directional_groups`.

Empty matrices (a slice without ROI voxels, or without a pair of neighbouring
ROI voxels along a direction) take no part in averages. A feature that is
undefined for a non-empty matrix (*correlation* and *information correlation
1* when the matrix holds a single grey level, as their denominators are then
0) is left out of the average as well; when no matrix of an aggregation
gives a value, the value is NaN and its ``status`` says why
(:data:`NO_PAIRS`, :data:`SINGLE_GREY_LEVEL`). *Inverse variance* of a
matrix without a pair of different grey levels is an empty sum, 0. With
``degenerate_matrices: mirp`` the two correlations of a single-grey-level
matrix are 1 and count in averages, and inverse variance without a pair of
different grey levels is NaN and left out (MIRP's conventions; docs/ibsi.md).

pyradiomics' conventions are settings (:class:`~radiomix.spec.GlcmSettings`):
``offsets: pyradiomics`` (its Chebyshev shells of offsets that fit the ROI's
box, :func:`pyradiomics_group`, with ``weighting_norm`` and ``slice_axis``),
``degenerate_matrices: pyradiomics`` (its ``eps`` guards and correlations), and
its maximal correlation coefficient as a feature outside IBSI
(:mod:`radiomix.features.mcc`, with ``non_ibsi_features``).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.mcc import maximal_correlation_coefficient
from radiomix.features.texture import (
    PYRADIOMICS_EPS,
    PresentLevels,
    counted_in_roi_box,
    cropped_to_roi,
    defined_means,
    direction_offsets,
    directional_groups,
    offset_lengths_mm,
    present_levels,
    pyradiomics_aggregation,
    pyradiomics_offsets,
)
from radiomix.spec import GlcmSettings

FAMILY = "glcm"

FEATURE_KEYS = registry.keys(FAMILY, ibsi=True)
"""Registry keys of the 25 GLCM features, in manual order."""

MCC_KEY = "maximal_correlation_coefficient"
"""Registry key of the GLCM feature outside IBSI (:mod:`radiomix.features.mcc`)."""

NO_PAIRS = "undefined: no pair of neighbouring ROI voxels"
"""Status when every matrix of an aggregation is empty."""

SINGLE_GREY_LEVEL = "undefined: single grey level"
"""Status of correlation and information correlation 1 when every matrix holds one grey level."""

NO_DIFFERENT_PAIRS = "undefined: no pair of different grey levels"
"""Status of inverse variance under MIRP's convention when no matrix has a pair of different grey levels."""

_SINGLE_LEVEL_UNDEFINED = (FEATURE_KEYS.index("correlation"), FEATURE_KEYS.index("information_correlation_1"))
"""Columns of the features undefined (0/0) for a matrix with a single grey level."""
_CONTRAST = FEATURE_KEYS.index("contrast")
_INVERSE_VARIANCE = FEATURE_KEYS.index("inverse_variance")

@njit
def _cooccurrence_kernel(padded, offsets, pad_z, pad, per_slice, n_levels):
    """Count level pairs ``(level(v), level(v + m))`` of ROI voxels, all directions in one pass.

    ``padded`` holds the levels (0 outside the ROI) with a border of zeros
    ``pad_z`` wide in z, the largest ``|dz|`` of ``offsets``, and ``pad`` in y
    and x, the largest ``|dy|, |dx|``, so every neighbour is a flat-index
    offset inside the array.
    Returns the counts as gathered, an int64 table of shape ``(nz or 1, n_levels + 1,
    n_directions, n_levels + 1)`` (one table per slice when ``per_slice``),
    ordered ``(first level, direction, second level)`` with a row and a
    column for level 0: a neighbour outside the ROI lands in column 0
    (discarded by :func:`_cooccurrence_counts`) instead of taking a branch,
    and the 13 counters of a voxel lie close together. The smallest integer
    type of ``padded`` that holds the levels keeps the volume in cache. The
    table is allocated here, although that costs about 0.1 s more of the
    first compilation: counting into a table passed in ran about 20% slower
    (3D directions of the CT phantom: 1.8 against 1.45 ms).
    """
    n_directions = offsets.shape[0]
    p_z, p_y, p_x = padded.shape
    n_z = p_z - 2 * pad_z
    table = np.zeros((n_z if per_slice else 1, n_levels + 1, n_directions, n_levels + 1), dtype=np.int64)
    flat = padded.ravel()
    flat_offsets = np.empty(n_directions, np.int64)
    for d in range(n_directions):
        flat_offsets[d] = (offsets[d, 0] * p_y + offsets[d, 1]) * p_x + offsets[d, 2]
    for z in range(n_z):
        slice_table = table[z if per_slice else 0]
        for y in range(pad, p_y - pad):
            start = ((z + pad_z) * p_y + y) * p_x
            for voxel in range(start + pad, start + p_x - pad):
                first = flat[voxel]
                if first == 0:
                    continue
                row = slice_table[first]
                for d in range(n_directions):
                    row[d, flat[voxel + flat_offsets[d]]] += 1
    return table


def _cooccurrence_counts(padded, n_levels, offsets, per_slice, symmetric):
    """:func:`_cooccurrence_kernel`'s counts as ``(table, direction, first level, second level)``, C-contiguous.

    Plus the transpose when ``symmetric``. Reordered in NumPy: inside the
    kernel the 4D transposes compiled for about 12 s on first use.
    """
    reach = np.abs(offsets).max(axis=0, initial=0)
    pad_z, pad = int(reach[0]), int(reach[1:].max())
    table = _cooccurrence_kernel(padded, offsets, pad_z, pad, per_slice, n_levels)
    counts = table[:, 1:, :, 1:].transpose(0, 2, 1, 3)
    return np.ascontiguousarray(counts + counts.transpose(0, 1, 3, 2) if symmetric else counts)


def glcm_matrices_2d(levels: np.ndarray, n_levels: int, distance: int = 1,
                     symmetric: bool = True) -> np.ndarray:
    """In-plane GLCMs of every slice (axis 0) and each of the 4 2D directions.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng`` (levels may be absent from the ROI).
    distance : int
        Chebyshev distance (voxels) between paired voxels.
    symmetric : bool
        Count pairs along ``+m`` and ``-m`` (IBSI), i.e. ``M + M^T``.

    Returns
    -------
    ndarray of int64, shape (nz, 4, n_levels, n_levels)
        Co-occurrence counts; directions in the order of
        ``direction_offsets("2D")``; slices without ROI voxels hold zeros.

    Raises
    ------
    InputError, EmptyRoiError
        Invalid ``levels``, ``n_levels`` or ``distance``; no ROI voxel.
    """
    return _glcm_matrices(levels, n_levels, direction_offsets("2D", distance), True, symmetric)


def glcm_matrices_3d(levels: np.ndarray, n_levels: int, distance: int = 1,
                     symmetric: bool = True) -> np.ndarray:
    """GLCMs of the volume for each of the 13 3D directions.

    Parameters are those of :func:`glcm_matrices_2d`.

    Returns
    -------
    ndarray of int64, shape (13, n_levels, n_levels)
        Co-occurrence counts; directions in the order of ``direction_offsets("3D")``.
    """
    return glcm_matrices(levels, n_levels, direction_offsets("3D", distance), symmetric)


def glcm_matrices(levels: np.ndarray, n_levels: int, offsets: np.ndarray, symmetric: bool = True) -> np.ndarray:
    """GLCMs of the volume for any neighbour offsets (e.g. pyradiomics' offsets of several distances).

    Parameters
    ----------
    levels, n_levels, symmetric
        As for :func:`glcm_matrices_2d`.
    offsets : ndarray of int, shape (n_offsets, 3)
        ``(dz, dy, dx)`` offsets ``m`` (voxels), not all zero.

    Returns
    -------
    ndarray of int64, shape (n_offsets, n_levels, n_levels)
        Row: level of ``v``, column: level of ``v + m`` (plus the transpose when ``symmetric``).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 2 or offsets.shape[1] != 3 or not offsets.size or not np.abs(offsets).sum(axis=1).all():
        raise InputError(f"GLCM offsets must be a non-empty (n, 3) array of (dz, dy, dx) steps other than "
                         f"(0, 0, 0), got {offsets.tolist()}")
    return _glcm_matrices(levels, n_levels, np.ascontiguousarray(offsets), False, symmetric)[0]


def _glcm_matrices(levels, n_levels, offsets, per_slice, symmetric, cropped=False):
    """Matrices of ``levels`` along ``offsets``, counted in the ROI's box (per slice: every slice).

    ``cropped``: the levels are already checked and cropped to the ROI's box (:func:`cropped_to_roi`).
    """
    pad = (int(np.abs(offsets[:, 0]).max()),) + (int(np.abs(offsets[:, 1:]).max()),) * 2
    return counted_in_roi_box(
        levels, n_levels, pad,
        lambda padded: _cooccurrence_counts(padded, int(n_levels), offsets, per_slice, bool(symmetric)),
        per_slice, cropped)


def glcm_features(matrices: np.ndarray, n_levels: int | None = None) -> dict[str, np.ndarray]:
    """The 25 IBSI GLCM features of one matrix or of a stack of matrices.

    Parameters
    ----------
    matrices : ndarray, shape (..., Ng, Ng)
        Co-occurrence counts (or probabilities); each trailing ``Ng x Ng``
        block is one matrix.
    n_levels : int, optional
        ``Ng`` used by the normalised inverse difference (moment); defaults
        to the matrix size.

    Returns
    -------
    dict
        Registry key -> ndarray of shape ``matrices.shape[:-2]``. Empty
        matrices give NaN for every feature; a matrix with a single grey level
        gives NaN for correlation (in its row or column marginal) and
        information correlation 1 (in both).

    Notes
    -----
    Sums that depend on ``|i - j|`` or ``i + j`` only are taken over the
    diagonal and cross-diagonal probabilities; correlation's numerator is the
    centred sum ``sum_ij (i - mu_i.)(j - mu_.j) p_ij`` (no cancellation when
    the means are large); ``HXY1`` and ``HXY2`` both equal ``HX + HY``, so the
    information correlations use the mutual information, summed directly
    (:func:`_glcm_feature_kernel`).
    """
    counts = np.asarray(matrices)
    n_grey = counts.shape[-1]
    n_levels = n_grey if n_levels is None else int(n_levels)
    values = glcm_feature_values(counts.reshape((-1, n_grey, n_grey)), n_levels)
    return {key: values[:, index].reshape(counts.shape[:-2]) for index, key in enumerate(FEATURE_KEYS)}


def glcm_feature_values(matrices: np.ndarray, n_levels: float, eps: float = 0.0,
                        pyradiomics_correlations: bool = False, grey_levels: np.ndarray | None = None) -> np.ndarray:
    """The 25 GLCM features of each matrix of a stack, in one of two dialects (IBSI's or pyradiomics').

    ``matrices``: counts (integers, or floats such as pyradiomics' weighted
    sums) or probabilities, shape ``(n_matrices, n, n)``, row and column
    ``i`` for grey level ``grey_levels[i]`` (increasing integers >= 1; default
    ``i + 1``: pyradiomics' matrices hold the levels present only); ``n_levels``: ``Ng`` of the normalised
    inverse difference (moment); ``eps`` is added to every probability inside
    a logarithm (pyradiomics' ``numpy.spacing(1)``; IBSI 0).
    ``pyradiomics_correlations``: pyradiomics' correlation (covariance over
    ``sigma_i. sigma_.j + eps``, 1 without spread) and information
    correlations (:func:`_pyradiomics_information_correlations`), else IBSI's
    (NaN for a single grey level). Returns float64 values of shape
    ``(n_matrices, 25)`` in :data:`FEATURE_KEYS` order, NaN rows for empty matrices.
    """
    stack = np.asarray(matrices)
    stack = np.ascontiguousarray(stack, dtype=np.int64 if np.issubdtype(stack.dtype, np.integer) else np.float64)
    n_matrices, n_grey = stack.shape[:2]
    levels = np.arange(1, n_grey + 1) if grey_levels is None else np.asarray(grey_levels).astype(np.int64)
    largest = int(levels[-1]) if n_grey else 0
    # per matrix: the marginal probabilities, and (total, HX, HY), for pyradiomics' correlations (a kernel of
    # their own, compiled only for them; called from the feature kernel they compiled with every IBSI extraction)
    marginals = np.empty((n_matrices if pyradiomics_correlations else 0, 2, n_grey))
    sums = np.zeros((n_matrices if pyradiomics_correlations else 0, 3))
    # output and work arrays allocated here: each new array shape or type allocated inside a kernel costs
    # 0.1-0.2 s of its first compilation
    values = np.full((n_matrices, 25), np.nan)
    count_sums = np.empty((4, max(2 * largest - 1, 0)), dtype=stack.dtype)
    probability_sums = np.empty((6, max(2 * largest - 1, 0)))
    _glcm_feature_kernel(stack, levels, float(n_levels), float(eps), bool(pyradiomics_correlations), marginals,
                         sums, values, count_sums, probability_sums)
    if pyradiomics_correlations:
        _pyradiomics_correlations_kernel(stack, levels, marginals, sums, float(eps), values,
                                         np.empty((n_grey, n_grey)))
    return values


@njit_exact
def _entropy_term(p, eps):
    """``-p log2(p + eps)`` (bits), 0 for ``p = 0``."""
    return -p * np.log2(p + eps) if p > 0 else 0.0


@njit_exact
def _quotient(numerator, denominator):
    """``numerator / denominator`` with NumPy's rules for a zero denominator (inf or NaN, no exception)."""
    if denominator != 0:
        return numerator / denominator
    if numerator == 0 or np.isnan(numerator):
        return np.nan
    return np.inf if numerator > 0 else -np.inf


@njit_exact
def _glcm_feature_kernel(matrices, levels, n_levels, eps, pyradiomics_correlations, marginals, sums, values,
                         count_sums, probability_sums):
    """Kernel of :func:`glcm_feature_values`: one row of 25 values per matrix into ``values`` (NaN on entry).

    Rows in :data:`FEATURE_KEYS` order; rows of empty matrices stay NaN.
    ``levels`` (int64): the grey level of each row and column, increasing.
    ``count_sums`` (4 rows, matrices' type) and ``probability_sums`` (6 rows,
    float64), each ``2 L - 1`` long (``L`` the largest level), are work space (their content is overwritten).

    A first pass over each matrix sums its rows, columns, diagonals
    (``|i - j|``) and cross-diagonals (``i + j``) as counts, divided by the
    total once; a second pass over its non-zero elements gives the joint
    maximum, entropy, second moment, autocorrelation, the covariance
    ``sum_ij (i - mu_i.)(j - mu_.j) p_ij`` of correlation and (IBSI order) the
    mutual information ``HX + HY - HXY = sum_ij p_ij log2(p_ij / (p_i. p_.j))``
    of the information correlations. The mutual information is summed
    directly, with the ratio formed from counts (``M_ij sum(M) / (M_i. M_.j)``),
    so that it is exactly 0 for a matrix whose rows are independent of its
    columns: information correlation 2, a square root of it, would magnify
    any rounding residue of the difference of entropies. ``pyradiomics_correlations``
    leaves those three NaN and writes ``marginals[m] = (p_i., p_.j)`` and
    ``sums[m] = (total, HX, HY)`` (zeros on entry) instead, for pyradiomics'
    correlation and information correlations (:func:`_pyradiomics_correlations_kernel`).

    The marginal sums are accumulated in the matrices' own type: integer
    additions for counts, exact like the float sums of integers they replace.
    Compiled without fast-math: a single grey level gives ``p = c / c = 1``
    and a variance of exactly 0.
    """
    n_matrices, n_grey, _ = matrices.shape
    n_differences = levels[n_grey - 1] if n_grey else 0  # |i - j| = 0..L-1 and i + j = 2..2L
    row_acc = count_sums[0]
    col_acc = count_sums[1]
    diff_acc = count_sums[2]
    sum_acc = count_sums[3]  # k = i + j = 2..2 Ng at index k - 2
    row_sum = probability_sums[0]
    col_sum = probability_sums[1]
    px = probability_sums[2]
    py = probability_sums[3]
    diff_sum = probability_sums[4]
    sum_sum = probability_sums[5]
    for m in range(n_matrices):
        matrix = matrices[m]
        for k in range(n_grey):  # element by element: slice assignments compile for seconds
            row_acc[k] = 0
            col_acc[k] = 0
        for k in range(n_differences):
            diff_acc[k] = 0
        for k in range(2 * n_differences - 1):
            sum_acc[k] = 0
        for i in range(n_grey):
            level_i = levels[i]
            for j in range(n_grey):
                count = matrix[i, j]
                row_acc[i] += count
                col_acc[j] += count
                diff_acc[abs(level_i - levels[j])] += count
                sum_acc[level_i + levels[j] - 2] += count
        for k in range(n_grey):
            row_sum[k] = row_acc[k]
            col_sum[k] = col_acc[k]
        total = 0.0
        for i in range(n_grey):
            total += row_sum[i]
        if total == 0:
            continue
        mu_row = mu_col = hx = hy = 0.0
        n_rows_used = n_cols_used = 0
        for i in range(n_grey):
            px[i] = row_sum[i] / total
            py[i] = col_sum[i] / total
            mu_row += float(levels[i]) * px[i]
            mu_col += float(levels[i]) * py[i]
            hx += _entropy_term(px[i], eps)
            hy += _entropy_term(py[i], eps)
            n_rows_used += px[i] > 0
            n_cols_used += py[i] > 0
        var_row = var_col = 0.0
        for i in range(n_grey):
            var_row += (float(levels[i]) - mu_row) ** 2 * px[i]
            var_col += (float(levels[i]) - mu_col) ** 2 * py[i]
        joint_max = joint_entropy = second_moment = autocorrelation = covariance = mutual_information = 0.0
        for i in range(n_grey):
            gi = float(levels[i])
            for j in range(n_grey):
                count = matrix[i, j]
                if count == 0:
                    continue
                gj = float(levels[j])
                p = count / total
                joint_max = max(joint_max, p)
                joint_entropy += _entropy_term(p, eps)
                second_moment += p * p
                autocorrelation += gi * gj * p
                covariance += p * (gi - mu_row) * (gj - mu_col)
                if not pyradiomics_correlations:
                    mutual_information += p * np.log2((count * total) / (row_sum[i] * col_sum[j]))
        for k in range(n_differences):
            diff_sum[k] = diff_acc[k] / total
        for k in range(2 * n_differences - 1):
            sum_sum[k] = sum_acc[k] / total
        diff_average = diff_entropy = contrast = inverse_variance = 0.0
        inverse_difference = normalised_inverse_difference = 0.0
        inverse_difference_moment = normalised_inverse_difference_moment = 0.0
        for k in range(n_differences):
            p = diff_sum[k]
            diff_average += k * p
            diff_entropy += _entropy_term(p, eps)
            contrast += k * k * p
            inverse_difference += p / (1.0 + k)
            normalised_inverse_difference += p / (1.0 + k / n_levels)
            inverse_difference_moment += p / (1.0 + k * k)
            normalised_inverse_difference_moment += p / (1.0 + (k / n_levels) ** 2)
            if k > 0:
                inverse_variance += p / (k * k)
        diff_variance = 0.0
        for k in range(n_differences):
            diff_variance += (k - diff_average) ** 2 * diff_sum[k]
        sum_average = sum_entropy = 0.0
        for k in range(2 * n_differences - 1):
            sum_average += (k + 2.0) * sum_sum[k]
            sum_entropy += _entropy_term(sum_sum[k], eps)
        cluster_tendency = cluster_shade = cluster_prominence = 0.0
        for k in range(2 * n_differences - 1):
            centred = k + 2.0 - sum_average
            cluster_tendency += centred ** 2 * sum_sum[k]
            cluster_shade += centred ** 3 * sum_sum[k]
            cluster_prominence += centred ** 4 * sum_sum[k]
        out = values[m]  # FEATURE_KEYS order; sum variance = cluster tendency, dissimilarity = difference average
        out[0] = joint_max
        out[1] = mu_row
        out[2] = var_row
        out[3] = joint_entropy
        out[4] = diff_average
        out[5] = diff_variance
        out[6] = diff_entropy
        out[7] = sum_average
        out[8] = cluster_tendency
        out[9] = sum_entropy
        out[10] = second_moment
        out[11] = contrast
        out[12] = diff_average
        out[13] = inverse_difference
        out[14] = normalised_inverse_difference
        out[15] = inverse_difference_moment
        out[16] = normalised_inverse_difference_moment
        out[17] = inverse_variance
        out[19] = autocorrelation
        out[20] = cluster_tendency
        out[21] = cluster_shade
        out[22] = cluster_prominence
        if pyradiomics_correlations:
            for i in range(n_grey):
                marginals[m, 0, i] = px[i]
                marginals[m, 1, i] = py[i]
            sums[m, 0] = total
            sums[m, 1] = hx
            sums[m, 2] = hy
        else:
            if n_rows_used >= 2 and n_cols_used >= 2:
                out[18] = _quotient(covariance, np.sqrt(var_row * var_col))
            if n_rows_used >= 2 or n_cols_used >= 2:
                out[23] = _quotient(-mutual_information, max(hx, hy))
            out[24] = np.sqrt(1.0 - np.exp(-2.0 * max(mutual_information, 0.0)))


@njit_exact
def _pyradiomics_correlations_kernel(matrices, levels, marginals, sums, eps, values, logs):
    """pyradiomics' correlation and information correlations (columns 18, 23, 24) of every non-empty matrix.

    From :func:`_glcm_feature_kernel`'s ``values`` (the joint entropy, column 3), ``marginals`` and ``sums``;
    ``logs``: work space of shape ``(n, n)`` (:func:`_pyradiomics_information_correlations`).
    """
    for m in range(matrices.shape[0]):
        total = sums[m, 0]
        if total == 0:  # an empty matrix: a row of NaN
            continue
        out = values[m]
        out[18] = _pyradiomics_correlation(matrices[m], levels, total, eps)
        _pyradiomics_information_correlations(matrices[m], total, out[3], sums[m, 1], sums[m, 2],
                                              marginals[m, 0], marginals[m, 1], eps, out, logs)


@njit_exact
def _pyradiomics_correlation(matrix, levels, total, eps):
    """pyradiomics' correlation of one matrix: ``cov / (sigma_x sigma_y + eps)``, 1 when ``sigma_x sigma_y`` is 0.

    Means, spreads and covariance are sums over the joint probabilities
    ``p_ij = matrix / total``, as pyradiomics sums them (not over the exact
    marginals): where one marginal holds a single level (possible in an
    asymmetric matrix), that spread is then a rounding residue rather than an
    exact 0, and the value follows pyradiomics' instead of its zero-spread rule.
    """
    n = matrix.shape[0]
    mean_row = mean_col = 0.0
    for i in range(n):
        for j in range(n):
            if matrix[i, j] != 0:
                p = matrix[i, j] / total
                mean_row += float(levels[i]) * p
                mean_col += float(levels[j]) * p
    var_row = var_col = covariance = 0.0
    for i in range(n):
        for j in range(n):
            if matrix[i, j] != 0:
                p = matrix[i, j] / total
                row_deviation = float(levels[i]) - mean_row
                col_deviation = float(levels[j]) - mean_col
                var_row += p * row_deviation ** 2
                var_col += p * col_deviation ** 2
                covariance += p * row_deviation * col_deviation
    sigma_product = np.sqrt(var_row) * np.sqrt(var_col)
    return 1.0 if sigma_product == 0.0 else covariance / (sigma_product + eps)


@njit_exact
def _pyradiomics_information_correlations(matrix, total, joint_entropy, hx, hy, px, py, eps, out, logs):
    """pyradiomics' Imc1 and Imc2 (columns 23 and 24 of :func:`_glcm_feature_kernel`'s row) into ``out``.

    From ``HXY1 = -sum_ij p_ij log2(p_i. p_.j + eps)`` and
    ``HXY2 = -sum_ij p_i. p_.j log2(p_i. p_.j + eps)`` over ``p_i. p_.j > 0``
    (``p_ij`` = ``matrix / total``) rather than the mutual information:
    ``eps`` inside the logarithm makes them differ from IBSI's near 0, where
    Imc2, a square root, magnifies any difference. Imc1 is 0 when
    ``max(HX, HY)`` is 0, Imc2 when ``HXY2 <= HXY``: ``HXY2 - HXY`` is a
    mutual information, never below 0 but for rounding on a matrix of
    independent rows and columns, where pyradiomics takes the square root of
    a negative number (NaN) and radiomix gives the exact value, 0.

    When ``px`` equals ``py`` (a symmetric matrix), ``p_i. p_.j`` is the same
    product for ``(i, j)`` and ``(j, i)``: its logarithm is taken once, kept in
    ``logs`` (work space, ``(n, n)``), the sums still added in row order.
    """
    n = matrix.shape[0]
    same_marginals = True
    for i in range(n):
        same_marginals &= px[i] == py[i]
    hxy1 = 0.0
    hxy2 = 0.0
    for i in range(n):
        for j in range(n):
            product = px[i] * py[j]
            if product > 0.0:
                if same_marginals and j < i:
                    log_product = logs[j, i]
                else:
                    log_product = np.log2(product + eps)
                    logs[i, j] = log_product
                hxy1 -= matrix[i, j] / total * log_product
                hxy2 -= product * log_product
    divisor = max(hx, hy)
    out[23] = 0.0 if divisor == 0.0 else (joint_entropy - hxy1) / divisor
    out[24] = 0.0 if hxy2 <= joint_entropy else np.sqrt(1.0 - np.exp(-2.0 * (hxy2 - joint_entropy)))


def compute(roi: RoiImage, settings: GlcmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLCM features of ``roi.discretised`` for the aggregations of ``dimensions``.

    ``roi`` gives ``discretised`` (levels ``1..n_levels``, 0 outside),
    ``n_levels`` and ``spacing`` (for ``weighting_norm``); ``settings``:
    ``distance``, ``symmetric``, ``offsets`` (with ``distances``,
    ``slice_axis``, ``weighting_norm``), ``degenerate_matrices`` and
    ``non_ibsi_features``. Each of ``dimensions`` (``2D``, ``2.5D``, ``3D``)
    adds its aggregations of :data:`~radiomix.features.base.AGGREGATIONS_BY_DIMENSION`
    (pyradiomics' offsets give one, :func:`pyradiomics_group`). Returns one
    FeatureValue per feature and aggregation, aggregation-major.
    """
    return level_features(roi.discretised, roi.n_levels, roi.spacing, settings, dimensions)


def level_features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings: GlcmSettings,
                   dimensions: tuple[str, ...] = ("3D",)) -> list[FeatureValue]:
    """:func:`compute` of discretised levels.

    ``levels``: grey levels ``1..n_levels`` inside the ROI, 0 outside, or those of the ROI's box already
    ranked (:class:`~radiomix.features.texture.PresentLevels`, shared by the texture families of one image);
    ``spacing_zyx``: voxel size (z, y, x) in mm; ``settings``, ``dimensions`` as for :func:`compute`.
    """
    present = levels if isinstance(levels, PresentLevels) else None
    levels = cropped_to_roi(levels, n_levels) if present is None else present.levels
    if present is None and (settings.offsets == "pyradiomics" or MCC_KEY in settings.non_ibsi_features):
        present = present_levels(levels, n_levels)
    if settings.offsets == "pyradiomics":  # matrices of the levels present
        groups, grey_levels, rows = pyradiomics_group(present, spacing_zyx, settings), present.grey_levels, None
    else:
        groups = directional_groups(FAMILY, dimensions, lambda offsets, per_slice: _glcm_matrices(
            levels, n_levels, offsets, per_slice, settings.symmetric, True), settings.distance)
        grey_levels, rows = None, None if present is None else present.rows
    results = _aggregate(groups, n_levels, settings.degenerate_matrices, grey_levels)
    if MCC_KEY in settings.non_ibsi_features:
        results += [FeatureValue(MCC_KEY, label, _mcc(stack, rows)) for label, stack in groups.items()]
    return results


def _mcc(stack: np.ndarray, rows: np.ndarray | None) -> float:
    """MCC of the matrices of one aggregation (:mod:`radiomix.features.mcc`) over the grey levels present.

    ``rows``: the rows of the levels present, None when the matrices hold those only.
    Empty matrices are left out when there are several, as pyradiomics leaves out empty offsets.
    """
    if stack.shape[0] > 1:
        stack = stack[stack.sum(axis=(1, 2)) > 0]
    if rows is not None:
        stack = stack[:, rows[:, None], rows[None, :]]
    return maximal_correlation_coefficient(stack.transpose(1, 2, 0).astype(np.float64))


def pyradiomics_group(present: PresentLevels, spacing_zyx, settings: GlcmSettings) -> dict[str, np.ndarray]:
    """The one aggregation of pyradiomics' offsets: label -> stack of matrices of the grey levels present.

    One matrix per offset of :func:`~radiomix.features.texture.pyradiomics_offsets`
    (``settings.distances`` in the ROI's box, not along ``settings.slice_axis``),
    counted over the whole ROI; offsets without any pair left out (when more
    than one): ``3D, averaged`` (``2.5D, direction-merged`` with a slice
    axis). With a ``weighting_norm``, the one sum of the offset matrices
    weighted by ``exp(-d^2)`` (``d`` in mm, :func:`~radiomix.features.texture.offset_lengths_mm`;
    weight 1 for ``no_weighting``): ``3D, merged`` (``2.5D, merged``).
    """
    offsets = pyradiomics_offsets(present.levels.shape, settings.distances, False, settings.slice_axis)
    by_offset = _glcm_matrices(present.ranked, present.n_present, offsets, False, settings.symmetric, True)[0]
    weights = None
    if settings.weighting_norm != "none":
        lengths_mm = offset_lengths_mm(offsets, spacing_zyx, settings.weighting_norm)
        weights = lengths_mm if settings.weighting_norm == "no_weighting" else np.exp(-lengths_mm ** 2)
    label, by_offset = pyradiomics_aggregation(by_offset, weights, settings.slice_axis)
    return {label: by_offset}


def _aggregate(groups: dict[str, np.ndarray], n_levels: int, convention: str = "radiomix",
               grey_levels: np.ndarray | None = None) -> list[FeatureValue]:
    """Features of the non-empty matrices of every group, averaged per group.

    ``grey_levels``: the level of each matrix row (:func:`glcm_feature_values`; default ``1..n``).

    Empty matrices give NaN for every feature, so a mean over the defined
    values leaves them out together with the features undefined for a
    single grey level. ``convention`` (``degenerate_matrices``) gives the
    values of degenerate matrices (module docstring) before averaging.
    """
    results = []
    for label, stack in groups.items():
        if convention == "pyradiomics":
            values = glcm_feature_values(stack, n_levels, PYRADIOMICS_EPS, True, grey_levels)
            if int(n_levels) == 1:  # pyradiomics' inverse variance sums over k = 1..Ng-1: nothing, even without pairs
                values[:, _INVERSE_VARIANCE] = 0.0
        else:
            values = glcm_feature_values(stack, n_levels, grey_levels=grey_levels)
            if convention == "mirp":
                _apply_mirp_convention(values)
        means, n_defined = defined_means(values)
        any_pairs = n_defined[0] > 0  # the joint maximum is defined for every non-empty matrix
        for index, key in enumerate(FEATURE_KEYS):
            if n_defined[index]:
                results.append(FeatureValue(key, label, float(means[index])))
            elif not any_pairs:
                results.append(FeatureValue(key, label, float("nan"), NO_PAIRS))
            else:
                status = NO_DIFFERENT_PAIRS if key == "inverse_variance" else SINGLE_GREY_LEVEL
                results.append(FeatureValue(key, label, float("nan"), status))
    return results


def _apply_mirp_convention(values: np.ndarray) -> None:
    """MIRP's values for degenerate matrices, in place on kernel output rows (see :func:`_aggregate`).

    Correlation and information correlation 1, undefined for a single grey
    level, become 1; inverse variance becomes NaN where no pair joins
    different grey levels (contrast 0).
    """
    non_empty = ~np.isnan(values[:, 0])  # the joint maximum is defined for every non-empty matrix
    for index in _SINGLE_LEVEL_UNDEFINED:
        values[non_empty & np.isnan(values[:, index]), index] = 1.0
    values[non_empty & (values[:, _CONTRAST] == 0), _INVERSE_VARIANCE] = np.nan
