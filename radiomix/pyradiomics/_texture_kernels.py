"""Numba kernels and shared helpers of radiomix's pyradiomics texture classes.

pyradiomics builds its texture matrices in a C extension (``_cmatrices``)
whose conventions these kernels follow:

- Neighbour offsets ("angles") come from :func:`pyradiomics_angles`: every
  ``(dz, dy, dx)`` whose largest absolute component (Chebyshev distance) is
  one of the requested distances, that fits in the array (``|offset| < size``
  along each axis) and that does not move along ``force2Ddimension`` when
  ``force2D`` is set; listed from ``(d, d, d)`` downwards. GLCM and GLRLM use
  one offset of each opposite pair (13 in 3D at distance 1), GLDM, NGTDM and
  the GLSZM's zone linkage use both.
- Voxels outside the array or outside the ROI (level 0) are never neighbours.

The matrices are counted by the IBSI engine's public matrix functions
(:func:`radiomix.features.glcm.glcm_matrices`,
:func:`radiomix.features.glrlm.glrlm_matrices`,
:func:`radiomix.features.neighbourhood.neighbourhood_matrices`,
:func:`radiomix.features.zones.label_zones`) with these offsets, from the
ROI box's levels ranked among the levels present (matrices only hold the
grey levels present in the ROI, as pyradiomics' after it removes empty
ones); one image's levels are ranked once and shared by its classes
(:func:`present`).

The features are the IBSI engine's formulas with pyradiomics' conventions as
parameters (its ``eps = numpy.spacing(1)`` guards, see the class modules);
only pyradiomics' MCC, which IBSI does not define, has its kernels here
(:func:`mcc_second_eigenvalues`).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from radiomix._numba import chunk_count, njit, njit_parallel, prange
from radiomix.errors import InputError
from radiomix.features.texture import EMPHASIS_FEATURES, PresentLevels, emphasis_features, present_levels

EPS = float(np.spacing(1))
"""pyradiomics' guard against log(0) and division by 0 (``numpy.spacing(1)``, 2.2e-16)."""

WEIGHTING_NORMS = ("infinity", "euclidean", "manhattan", "no_weighting")


# ----------------------------------------------------------------------------------------------
# Inputs and neighbour offsets
# ----------------------------------------------------------------------------------------------

def present(levels, n_levels: int) -> PresentLevels:
    """``levels`` ranked among the grey levels present (:func:`~radiomix.features.texture.present_levels`).

    Levels already ranked are returned as they are: one image's levels are
    ranked once and shared by its texture classes.
    """
    return levels if isinstance(levels, PresentLevels) else present_levels(levels, n_levels)


def levels_and_angles(levels, n_levels: int, distances, bidirectional: bool,
                      settings) -> tuple[PresentLevels, np.ndarray]:
    """:func:`present` levels and pyradiomics' offsets for their box (:func:`pyradiomics_angles`).

    ``settings`` gives ``force2D`` and ``force2Ddimension``.
    """
    ranked = present(levels, n_levels)
    return ranked, pyradiomics_angles(ranked.levels.shape, distances, bidirectional, force2d_axis(settings))


def pyradiomics_angles(size_zyx, distances, bidirectional: bool, force2d_dimension: int | None) -> np.ndarray:
    """pyradiomics' neighbour offsets for an array of shape ``size_zyx``.

    Parameters
    ----------
    size_zyx : sequence of 3 int
        Array shape (z, y, x) (the ROI box).
    distances : sequence of int
        Chebyshev distances (voxels, >= 1) whose offsets are kept.
    bidirectional : bool
        Keep both offsets of each opposite pair (GLDM, NGTDM, GLSZM), else
        only the one whose first non-zero component is positive (GLCM, GLRLM).
    force2d_dimension : int or None
        Axis along which no offset moves (``force2D``); None: 3D.

    Returns
    -------
    ndarray of int64, shape (n_angles, 3)
        ``(dz, dy, dx)`` offsets, in pyradiomics' order (from ``(d, d, d)``
        downwards, z varying slowest).

    Raises
    ------
    InputError
        A distance below 1, or no offset fits in the array.
    """
    distances = tuple(sorted({int(d) for d in distances}))
    if not distances or distances[0] < 1:
        raise InputError(f"distances must be integers >= 1, got {list(distances)}")
    # only whether each side exceeds the largest distance matters: clamp, so that boxes share the cache
    clamped = tuple(min(int(n), distances[-1] + 1) for n in size_zyx)
    angles = _angles(clamped, distances, bool(bidirectional), force2d_dimension)
    if angles.size == 0:
        raise InputError(f"no neighbour offset at distances {list(distances)} fits in an ROI box of size "
                         f"{tuple(size_zyx)} (pyradiomics fails too); use a smaller distance")
    return angles.copy()


@functools.lru_cache(maxsize=256)
def _angles(size_zyx: tuple, distances: tuple, bidirectional: bool, force2d_dimension: int | None) -> np.ndarray:
    """:func:`pyradiomics_angles` (distances sorted, unique and >= 1); empty when no offset fits."""
    wanted = set(distances)
    steps = range(distances[-1], -distances[-1] - 1, -1)
    angles = [offset for offset in itertools.product(steps, steps, steps)
              if max(abs(o) for o in offset) in wanted
              and all(abs(o) < n for o, n in zip(offset, size_zyx))
              and (force2d_dimension is None or offset[force2d_dimension] == 0)]
    if not bidirectional:
        angles = angles[: len(angles) // 2]
    return np.array(angles, dtype=np.int64).reshape(-1, 3)


def force2d_axis(settings) -> int | None:
    """The axis excluded from the offsets: ``force2Ddimension`` when ``force2D``, else None."""
    return int(settings.force2Ddimension) if settings.force2D else None


def angle_weights(angles: np.ndarray, spacing_zyx, norm: str) -> np.ndarray:
    """Length of each offset in mm under pyradiomics' ``weightingNorm`` (1 for ``no_weighting``).

    Parameters
    ----------
    angles : ndarray of int, shape (n_angles, 3)
        ``(dz, dy, dx)`` offsets (voxels).
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm.
    norm : {"infinity", "euclidean", "manhattan", "no_weighting"}
        Largest component, Euclidean length or sum of components of the
        offset in mm; ``no_weighting``: 1.

    Returns
    -------
    ndarray of float64, shape (n_angles,)
        The GLRLM weighs offset matrices by this length ``d``; the GLCM by
        ``exp(-d^2)`` (by 1 for ``no_weighting``).
    """
    if norm not in WEIGHTING_NORMS:
        raise InputError(f"weightingNorm must be one of {WEIGHTING_NORMS} or None, got {norm!r}")
    steps_mm = np.abs(angles) * np.asarray(spacing_zyx, dtype=np.float64)
    if norm == "infinity":
        return steps_mm.max(axis=1)
    if norm == "euclidean":
        return np.sqrt(np.sum(steps_mm ** 2, axis=1))
    if norm == "manhattan":
        return np.sum(steps_mm, axis=1)
    return np.ones(angles.shape[0])


# ----------------------------------------------------------------------------------------------
# MCC (pyradiomics only: not an IBSI feature) and the averaging of emphasis features
# ----------------------------------------------------------------------------------------------

def mcc_second_eigenvalues(matrices: np.ndarray, eps: float) -> np.ndarray:
    """Second largest eigenvalue of pyradiomics' MCC matrix ``Q`` of each GLCM.

    pyradiomics' ``Q_ij = sum_k p_ik p_jk / (px_i py_k + eps)`` (``p`` the
    normalised GLCM, ``px``/``py`` its marginals) is not symmetric. Its
    similarity transform ``S = Px^1/2 Q Px^-1/2`` has the same eigenvalues
    and departs from a symmetric matrix only through ``eps``; the eigenvalues
    of the symmetric part ``(S + S^T) / 2`` equal them to second order in
    ``eps / (px_i py_k)`` (a skew-symmetric perturbation moves no eigenvalue
    to first order). A level with ``px_i = 0`` gives a zero row and column
    (eigenvalue 0, as in ``Q``).

    Parameters
    ----------
    matrices : ndarray of float64, shape (n, n, n_matrices)
        GLCM counts (any scale), n >= 2, each matrix with a non-zero sum.
    eps : float
        pyradiomics' ``numpy.spacing(1)``.

    Returns
    -------
    ndarray of float64, shape (n_matrices,)
    """
    n, _, n_matrices = matrices.shape
    stacked = np.ascontiguousarray(matrices.transpose(2, 0, 1))
    if chunk_count(n ** 3 * n_matrices, n_matrices) == 1:
        return _mcc_serial(stacked, eps)
    return _mcc_parallel(stacked, eps)


@njit
def _mcc_serial(stacked, eps):
    """:func:`_mcc_eigenvalue` of each matrix, one after the other."""
    out = np.empty(stacked.shape[0])
    for index in range(stacked.shape[0]):
        out[index] = _mcc_eigenvalue(stacked[index], eps)
    return out


@njit_parallel
def _mcc_parallel(stacked, eps):
    """:func:`_mcc_eigenvalue` of each matrix, one matrix per thread."""
    out = np.empty(stacked.shape[0])
    for index in prange(stacked.shape[0]):
        out[index] = _mcc_eigenvalue(stacked[index], eps)
    return out


@njit
def _mcc_eigenvalue(counts, eps):
    """Second largest eigenvalue of the symmetrised ``Q`` of one GLCM (see :func:`mcc_second_eigenvalues`)."""
    n = counts.shape[0]
    total = counts.sum()
    p = counts / total
    px = np.zeros(n)
    py = np.zeros(n)
    for i in range(n):
        for j in range(n):
            px[i] += p[i, j]
            py[j] += p[i, j]
    weighted = np.empty((n, n))
    for i in range(n):
        for k in range(n):
            weighted[i, k] = p[i, k] / (px[i] * py[k] + eps)
    q = _row_products(weighted, p)
    symmetric = np.zeros((n, n))
    for i in range(n):
        if px[i] == 0.0:
            continue
        for j in range(i, n):
            if px[j] == 0.0:
                continue
            ratio = np.sqrt(px[i] / px[j])
            value = 0.5 * (ratio * q[i, j] + q[j, i] / ratio)
            symmetric[i, j] = value
            symmetric[j, i] = value
    return second_largest_eigenvalue(symmetric)


@njit
def _row_products(a, b):
    """``a @ b.T`` for square matrices: the dot products of rows, two rows of each at a time.

    Each pair of rows of ``b`` loaded serves two rows of ``a`` (four
    vectorised dot products in one loop); every dot product runs over ``k``
    as a single one would.
    """
    n = a.shape[0]
    out = np.empty((n, n))
    even = n - n % 2
    for i in range(0, even, 2):
        a0 = a[i]
        a1 = a[i + 1]
        for j in range(0, even, 2):
            b0 = b[j]
            b1 = b[j + 1]
            s00 = 0.0
            s01 = 0.0
            s10 = 0.0
            s11 = 0.0
            for k in range(n):
                s00 += a0[k] * b0[k]
                s01 += a0[k] * b1[k]
                s10 += a1[k] * b0[k]
                s11 += a1[k] * b1[k]
            out[i, j] = s00
            out[i, j + 1] = s01
            out[i + 1, j] = s10
            out[i + 1, j + 1] = s11
    for i in range(n):
        for j in range(even, n) if i < even else range(n):
            value = 0.0
            for k in range(n):
                value += a[i, k] * b[j, k]
            out[i, j] = value
    return out


@njit
def second_largest_eigenvalue(symmetric):
    """Second largest eigenvalue of a symmetric matrix (n >= 2; only its lower triangle is read; overwritten).

    Householder reduction to tridiagonal form, then bisection on the Sturm
    sequence count (no LAPACK call: OpenBLAS worker threads that spin after a
    call slow down the next numba parallel region on few cores). Accurate to
    about ``1e-15`` times the largest absolute eigenvalue.
    """
    diagonal, off_diagonal = _tridiagonal(symmetric)
    return _tridiagonal_eigenvalue(diagonal, off_diagonal, symmetric.shape[0] - 2)


@njit
def _tridiagonal(a):
    """Diagonal and sub-diagonal of a tridiagonal matrix similar to the symmetric ``a`` (overwritten).

    Each step ``k`` applies the reflection ``H = I - beta v v^T`` that maps
    column ``k`` below the diagonal onto its first entry, as ``a <- H a H``
    written as the rank-2 update ``a - v w^T - w v^T`` of the trailing block.
    Only the lower triangle is read and updated (row by row through views,
    so that the inner loops vectorise): the product ``a v`` takes from row
    ``i`` both ``sum_{j <= i} a_ij v_j`` for ``i`` and ``a_ij v_i`` for each
    ``j < i``.
    """
    n = a.shape[0]
    diagonal = np.empty(n)
    off_diagonal = np.zeros(max(n - 1, 0))
    v = np.zeros(n)
    w = np.zeros(n)
    for k in range(n - 2):
        m = k + 1
        norm2 = 0.0
        for i in range(m, n):
            norm2 += a[i, k] * a[i, k]
        diagonal[k] = a[k, k]
        if norm2 == 0.0:
            continue
        norm = np.sqrt(norm2)
        head = a[m, k]
        alpha = -norm if head >= 0.0 else norm
        v[m] = head - alpha
        for i in range(m + 1, n):
            v[i] = a[i, k]
        beta = 2.0 / (norm2 - head * head + v[m] * v[m])
        w[m:] = 0.0
        for i in range(m, n):
            row = a[i, m:i + 1]
            v_head = v[m:i + 1]
            w_head = w[m:i]
            v_i = v[i]
            value = 0.0
            for j in range(i - m):
                value += row[j] * v_head[j]
                w_head[j] += row[j] * v_i
            w[i] += value + row[i - m] * v_i
        v_dot_p = 0.0
        for i in range(m, n):
            w[i] *= beta
            v_dot_p += v[i] * w[i]
        half = 0.5 * beta * v_dot_p
        for i in range(m, n):
            w[i] -= half * v[i]
        for i in range(m, n):
            row = a[i, m:i + 1]
            v_head = v[m:i + 1]
            w_head = w[m:i + 1]
            v_i = v[i]
            w_i = w[i]
            for j in range(i - m + 1):
                row[j] -= v_i * w_head[j] + w_i * v_head[j]
        off_diagonal[k] = alpha
    if n >= 2:
        diagonal[n - 2] = a[n - 2, n - 2]
        off_diagonal[n - 2] = a[n - 1, n - 2]
    diagonal[n - 1] = a[n - 1, n - 1]
    return diagonal, off_diagonal


@njit
def _tridiagonal_eigenvalue(diagonal, off_diagonal, rank):
    """Eigenvalue number ``rank`` (0 = smallest) of a symmetric tridiagonal matrix, by bisection.

    The count of eigenvalues below ``x`` is the number of negative pivots of
    the LDL^T factorisation of ``T - x I`` (Sturm sequence).
    """
    n = diagonal.size
    low = np.inf
    high = -np.inf
    for i in range(n):
        radius = 0.0
        if i > 0:
            radius += abs(off_diagonal[i - 1])
        if i < n - 1:
            radius += abs(off_diagonal[i])
        low = min(low, diagonal[i] - radius)
        high = max(high, diagonal[i] + radius)
    scale = max(abs(low), abs(high))
    tolerance = 4.0 * np.finfo(np.float64).eps * max(scale, 1e-300)
    pivot_floor = np.finfo(np.float64).eps * max(scale, 1e-300)
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        if middle <= low or middle >= high:
            break
        below = 0
        pivot = 1.0
        for i in range(n):
            coupling = off_diagonal[i - 1] * off_diagonal[i - 1] if i > 0 else 0.0
            pivot = diagonal[i] - middle - coupling / pivot
            if abs(pivot) < pivot_floor:
                pivot = -pivot_floor
            if pivot < 0.0:
                below += 1
        if below > rank:
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)


def named_emphasis_features(matrices: np.ndarray, row_values: np.ndarray, column_values: np.ndarray,
                            names: dict[str, str]) -> dict[str, float]:
    """pyradiomics' GLRLM, GLSZM or GLDM features of a stack of matrices, averaged over matrices.

    Parameters
    ----------
    matrices : ndarray of float64, shape (n_matrices, n_rows, n_columns)
        Counts by grey level and run length, zone size or dependence.
    row_values, column_values : ndarray of float64
        Grey level of each row; run length, zone size or dependence of each column.
    names : dict
        Key of :data:`~radiomix.features.texture.EMPHASIS_FEATURES` -> pyradiomics name.

    Returns
    -------
    dict of str to float
        ``{pyradiomics name: value}`` of :func:`radiomix.features.texture.emphasis_features`
        with pyradiomics' ``eps`` in the entropy; matrices without counts
        (NaN) are left out of the average, as pyradiomics' ``nanmean``.
    """
    values = nanmean_columns(emphasis_features(matrices, row_values, column_values, EPS).T)
    return {names[key]: float(value) for key, value in zip(EMPHASIS_FEATURES, values) if key in names}


def nanmean_columns(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its non-NaN entries (NaN when there are none), without warnings."""
    finite = ~np.isnan(values)
    counts = finite.sum(axis=1)
    sums = np.where(finite, values, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
