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

The matrix kernels work on :class:`Levels`: the ROI box's levels with a
border of zeros as wide as the largest offset (so that no neighbour needs a
bounds check) and the rank of each present level (matrices only hold the
grey levels present in the ROI, as pyradiomics' after it removes empty
ones). Each kernel makes one pass over the box for all offsets; large boxes
are split into chunks of rows processed in parallel, each chunk into its own
partial output, summed afterwards (threads: see
:mod:`radiomix.pyradiomics._filters_numba`).

The feature kernels compute pyradiomics' formulas per matrix (per offset for
GLCM and GLRLM), including its ``eps = numpy.spacing(1)`` guards; they are
compiled without fast-math so that exact cases stay exact (a single grey
level gives ``p = c / c = 1`` and a variance of exactly 0, as in NumPy).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from radiomix._numba import njit, njit_exact, njit_parallel, prange
from radiomix.errors import InputError
from radiomix.pyradiomics._filters_numba import chunk_count

EPS = float(np.spacing(1))
"""pyradiomics' guard against log(0) and division by 0 (``numpy.spacing(1)``, 2.2e-16)."""

WEIGHTING_NORMS = ("infinity", "euclidean", "manhattan", "no_weighting")


# ----------------------------------------------------------------------------------------------
# Inputs and neighbour offsets
# ----------------------------------------------------------------------------------------------

class Levels(NamedTuple):
    """The ROI box's levels, ready for the matrix kernels.

    Attributes
    ----------
    padded : ndarray of int32, shape (nz + 2 pz, ny + 2 py, nx + 2 px)
        Levels (0 outside the ROI) with ``pad`` zeros on each side.
    pad : ndarray of int64, shape (3,)
        Border width ``(pz, py, px)``.
    shape : tuple of int
        Shape ``(nz, ny, nx)`` of the box.
    grey_levels : ndarray of float64
        The levels present in the ROI, increasing (matrix rows).
    rank : ndarray of int64, shape (n_levels + 1,)
        Row of each level in the matrices (-1 for absent levels and 0).
    n_levels : int
        pyradiomics' ``Ng``, the highest level.
    n_voxels : int
        Number of ROI voxels.
    """

    padded: np.ndarray
    pad: np.ndarray
    shape: tuple
    grey_levels: np.ndarray
    rank: np.ndarray
    n_levels: int
    n_voxels: int

    @property
    def flat(self) -> np.ndarray:
        """``padded`` flattened (a view)."""
        return self.padded.reshape(-1)

    @property
    def n_present(self) -> int:
        """Number of grey levels present in the ROI (matrix side)."""
        return int(self.grey_levels.size)


def prepared_levels(levels: np.ndarray, n_levels: int, pad) -> Levels:
    """Check ``levels`` and pad them for the kernels.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        pyradiomics' bin indices ``1..n_levels`` inside the ROI, 0 outside
        (not modified).
    n_levels : int
        pyradiomics' ``Ng``: the highest level in the ROI.
    pad : sequence of 3 int
        Border of zeros ``(pz, py, px)``: at least the largest offset along each axis.

    Raises
    ------
    InputError
        Not a non-empty 3D integer array, levels outside ``0..n_levels``, or no ROI voxel.
    """
    levels = np.asarray(levels)
    if levels.ndim != 3 or not np.issubdtype(levels.dtype, np.integer) or levels.size == 0:
        raise InputError(f"levels must be a non-empty 3D (z, y, x) integer array, got shape {levels.shape} "
                         f"{levels.dtype}")
    if int(n_levels) != n_levels or n_levels < 1:
        raise InputError(f"n_levels must be an integer >= 1 (the highest level in the ROI), got {n_levels!r}")
    pad = np.asarray(pad, dtype=np.int64)
    padded, seen, low, high, n_voxels = _padded_levels(levels, int(n_levels), pad)
    if low < 0 or high > n_levels:
        raise InputError(f"levels must lie in 0..{n_levels} (0 outside the ROI), found {low}..{high}; "
                         "n_levels must be the highest level in the ROI")
    if high == 0:
        raise InputError("levels hold no ROI voxel (every level is 0); check the mask and the discretisation")
    seen[0] = False
    grey_levels = np.flatnonzero(seen)
    rank = np.full(int(n_levels) + 1, -1, dtype=np.int64)
    rank[grey_levels] = np.arange(grey_levels.size)
    return Levels(padded, pad, levels.shape, grey_levels.astype(np.float64), rank, int(n_levels), n_voxels)


@njit
def _padded_levels(levels, n_levels, pad):
    """Copy of ``levels`` (any integer type) as int32 inside a zero border, with the levels seen.

    Returns the padded array, a boolean per level ``0..n_levels`` (True when
    present), the smallest and largest value found and the number of ROI
    voxels (values above 0). When values lie outside ``0..n_levels`` (the
    caller rejects them) the other outputs are not computed.
    """
    nz, ny, nx = levels.shape
    padded = np.zeros((nz + 2 * pad[0], ny + 2 * pad[1], nx + 2 * pad[2]), dtype=np.int32)
    seen = np.zeros(n_levels + 1, dtype=np.bool_)
    flat = levels.ravel()
    low = flat[0]
    high = flat[0]
    for value in flat:
        low = min(low, value)
        high = max(high, value)
    if low < 0 or high > n_levels:
        return padded, seen, int(low), int(high), 0
    n_background = 0
    for value in flat:
        seen[value] = True
        n_background += value == 0
    for z in range(nz):
        for y in range(ny):
            padded[z + pad[0], y + pad[1], pad[2]:pad[2] + nx] = levels[z, y, :]
    return padded, seen, int(low), int(high), flat.size - n_background


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
    distances = sorted({int(d) for d in distances})
    if not distances or distances[0] < 1:
        raise InputError(f"distances must be integers >= 1, got {list(distances)}")
    wanted = set(distances)
    steps = range(distances[-1], -distances[-1] - 1, -1)
    angles = [offset for offset in itertools.product(steps, steps, steps)
              if max(abs(o) for o in offset) in wanted
              and all(abs(o) < n for o, n in zip(offset, size_zyx))
              and (force2d_dimension is None or offset[force2d_dimension] == 0)]
    if not angles:
        raise InputError(f"no neighbour offset at distances {distances} fits in an ROI box of size "
                         f"{tuple(size_zyx)} (pyradiomics fails too); use a smaller distance")
    if not bidirectional:
        angles = angles[: len(angles) // 2]
    return np.array(angles, dtype=np.int64)


def offsets_reach(angles: np.ndarray) -> np.ndarray:
    """Largest absolute offset along each axis (the padding the kernels need)."""
    return np.abs(angles).max(axis=0)


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
# Matrix kernels
# ----------------------------------------------------------------------------------------------
#
# Each matrix has a row kernel (``_<matrix>_rows``: box rows ``start..stop`` into given
# output arrays, flat indexing into the padded levels) and a parallel driver
# (``_<matrix>_parallel``: one chunk of rows per thread, each into its own partial output).
# The public function picks the driver from the amount of work (see _filters_numba).

def flat_offsets(angles: np.ndarray, levels: Levels) -> np.ndarray:
    """Offsets as steps in the flattened padded array."""
    _, size_y, size_x = levels.padded.shape
    return np.ascontiguousarray(angles[:, 0] * (size_y * size_x) + angles[:, 1] * size_x + angles[:, 2])


def _chunks(levels: Levels, angles: np.ndarray) -> int:
    """Number of row chunks (:func:`~radiomix.pyradiomics._filters_numba.chunk_count` of ROI voxels x offsets)."""
    return chunk_count(levels.n_voxels * angles.shape[0], levels.shape[0] * levels.shape[1])


@njit
def _row_start(row, shape, padded_shape, pad):
    """Flat index of the first voxel of box row ``row`` (z-major) in the padded array."""
    z = row // shape[1] + pad[0]
    y = row % shape[1] + pad[1]
    return (z * padded_shape[1] + y) * padded_shape[2] + pad[2]


def glcm_counts(levels: Levels, angles: np.ndarray) -> np.ndarray:
    """Co-occurrence counts of every offset in one pass over the ROI box.

    Parameters
    ----------
    levels : Levels
        Padded by at least the largest offset.
    angles : ndarray of int64, shape (n_angles, 3)
        Offsets ``m``.

    Returns
    -------
    ndarray of float64, shape (n_present, n_present, n_angles)
        ``[i, j, a]``: ROI voxels of level ``i`` whose neighbour at ``+m_a``
        is an ROI voxel of level ``j`` (not symmetrised).
    """
    offsets = flat_offsets(angles, levels)
    n_chunks = _chunks(levels, angles)
    args = (levels.flat, np.array(levels.shape), np.array(levels.padded.shape), levels.pad, levels.rank)
    if n_chunks == 1:
        counts = np.zeros((levels.n_present, levels.n_present, angles.shape[0]))
        _glcm_rows(*args, offsets, 0, levels.shape[0] * levels.shape[1], counts)
        return counts
    return _glcm_parallel(*args, offsets, levels.n_present, n_chunks)


@njit
def _glcm_rows(flat, shape, padded_shape, pad, rank, offsets, start, stop, counts):
    """Add the co-occurrences of ROI voxels in box rows ``start..stop`` to ``counts[i, j, a]``."""
    for row in range(start, stop):
        first = _row_start(row, shape, padded_shape, pad)
        for index in range(first, first + shape[2]):
            level = flat[index]
            if level == 0:
                continue
            i = rank[level]
            for a in range(offsets.size):
                neighbour = flat[np.uint64(index + offsets[a])]
                if neighbour > 0:
                    counts[i, rank[neighbour], a] += 1.0


@njit_parallel
def _glcm_parallel(flat, shape, padded_shape, pad, rank, offsets, n_present, n_chunks):
    """:func:`_glcm_rows` over all rows, one chunk of rows per thread."""
    n_rows = shape[0] * shape[1]
    partial = np.zeros((n_chunks, n_present, n_present, offsets.size))
    for chunk in prange(n_chunks):
        _glcm_rows(flat, shape, padded_shape, pad, rank, offsets, chunk * n_rows // n_chunks,
                   (chunk + 1) * n_rows // n_chunks, partial[chunk])
    return _sum_first_axis(partial)


@njit
def _sum_first_axis(partial):
    """Sum of the per-chunk partial outputs (first axis)."""
    total = partial[0].copy()
    for chunk in range(1, partial.shape[0]):
        total += partial[chunk]
    return total


def glrlm_counts(levels: Levels, angles: np.ndarray) -> np.ndarray:
    """Run-length counts of every offset in one pass over the ROI box.

    A run is a maximal sequence of ROI voxels of equal level along an offset;
    voxels outside the ROI or the box end runs. As in pyradiomics, an offset
    along which no line through the box holds two ROI voxels gives no runs
    at all (pyradiomics takes the ROI as flat in that direction).

    Parameters
    ----------
    levels : Levels
        Padded by at least 1 along every axis an offset moves along.
    angles : ndarray of int64, shape (n_angles, 3)
        Unit offsets (components in -1..1).

    Returns
    -------
    ndarray of float64, shape (n_present, max_run, n_angles)
        ``[i, j - 1, a]``: runs of level ``i`` and length ``j`` along offset
        ``a``; ``max_run`` is the largest side of the box.
    """
    offsets = flat_offsets(angles, levels)
    n_chunks = _chunks(levels, angles)
    max_run = max(levels.shape)
    args = (levels.flat, np.array(levels.shape), np.array(levels.padded.shape), levels.pad, levels.rank)
    if n_chunks == 1:
        counts = np.zeros(levels.n_present * max_run * angles.shape[0])
        _glrlm_rows(*args, offsets, max_run, 0, levels.shape[0] * levels.shape[1], counts)
    else:
        counts = _glrlm_parallel(*args, offsets, levels.n_present, max_run, n_chunks)
    counts = counts.reshape(levels.n_present, max_run, angles.shape[0])
    for a in range(angles.shape[0]):
        # runs of length >= 2 mean a line with two ROI voxels; else look for two on a line
        if not counts[:, 1:, a].any() and not _line_with_two_roi_voxels(*args[:4], angles[a], offsets[a]):
            counts[:, :, a] = 0.0
    return counts


@njit
def _glrlm_rows(flat, shape, padded_shape, pad, rank, offsets, max_run, start, stop, counts):
    """Add the runs starting in box rows ``start..stop`` to ``counts``.

    ``counts`` is the flattened (n_present, max_run, n_angles) matrix:
    element ``[i, j - 1, a]`` counts runs of level ``i`` and length ``j``
    along offset ``a`` (flat indexing, unsigned, for speed).
    """
    n_angles = offsets.size
    for row in range(start, stop):
        first = _row_start(row, shape, padded_shape, pad)
        for index in range(first, first + shape[2]):
            level = flat[index]
            if level == 0:
                continue
            base = rank[level] * max_run * n_angles
            for a in range(n_angles):
                step = offsets[a]
                if flat[np.uint64(index - step)] == level:
                    continue  # not the first voxel of its run
                following = np.uint64(index + step)
                extra = 0
                while flat[following] == level:
                    extra += 1
                    following = np.uint64(following + step)
                counts[np.uint64(base + extra * n_angles + a)] += 1.0


@njit
def _line_with_two_roi_voxels(flat, shape, padded_shape, pad, angle, step):
    """True when some line of the box along ``angle`` holds two ROI voxels (pyradiomics' test for a flat ROI)."""
    for z in range(shape[0]):
        for y in range(shape[1]):
            first = ((z + pad[0]) * padded_shape[1] + y + pad[1]) * padded_shape[2] + pad[2]
            for x in range(shape[2]):
                if flat[first + x] == 0:
                    continue
                zz, yy, xx = z + angle[0], y + angle[1], x + angle[2]
                ahead = first + x + step
                while 0 <= zz < shape[0] and 0 <= yy < shape[1] and 0 <= xx < shape[2]:
                    if flat[ahead] > 0:
                        return True
                    zz, yy, xx = zz + angle[0], yy + angle[1], xx + angle[2]
                    ahead += step
    return False


@njit_parallel
def _glrlm_parallel(flat, shape, padded_shape, pad, rank, offsets, n_present, max_run, n_chunks):
    """:func:`_glrlm_rows` over all rows, one chunk of rows per thread."""
    n_rows = shape[0] * shape[1]
    partial = np.zeros((n_chunks, n_present * max_run * offsets.size))
    for chunk in prange(n_chunks):
        _glrlm_rows(flat, shape, padded_shape, pad, rank, offsets, max_run, chunk * n_rows // n_chunks,
                    (chunk + 1) * n_rows // n_chunks, partial[chunk])
    counts = partial[0].copy()
    for chunk in range(1, n_chunks):
        counts += partial[chunk]
    return counts


def gldm_counts(levels: Levels, angles: np.ndarray, alpha: int) -> np.ndarray:
    """Dependence counts: ROI voxels by level and number of dependent neighbours.

    A neighbour (an ROI voxel at one of the offsets; ``angles`` lists both
    directions) depends on the centre when their levels differ by at most ``alpha``.

    Returns
    -------
    ndarray of float64, shape (n_present, n_angles + 1)
        ``[i, k]``: ROI voxels of level ``i`` with ``k`` dependent neighbours.
    """
    offsets = flat_offsets(angles, levels)
    n_chunks = _chunks(levels, angles)
    args = (levels.flat, np.array(levels.shape), np.array(levels.padded.shape), levels.pad, levels.rank)
    if n_chunks == 1:
        counts = np.zeros((levels.n_present, angles.shape[0] + 1))
        _gldm_rows(*args, offsets, alpha, 0, levels.shape[0] * levels.shape[1], counts)
        return counts
    return _gldm_parallel(*args, offsets, alpha, levels.n_present, n_chunks)


@njit
def _gldm_rows(flat, shape, padded_shape, pad, rank, offsets, alpha, start, stop, counts):
    """Add the ROI voxels of box rows ``start..stop`` to ``counts[i, dependent neighbours]``."""
    for row in range(start, stop):
        first = _row_start(row, shape, padded_shape, pad)
        for index in range(first, first + shape[2]):
            level = flat[index]
            if level == 0:
                continue
            dependent = 0
            for a in range(offsets.size):
                neighbour = flat[np.uint64(index + offsets[a])]
                dependent += (neighbour > 0) & (abs(neighbour - level) <= alpha)  # no branch
            counts[rank[level], dependent] += 1.0


@njit_parallel
def _gldm_parallel(flat, shape, padded_shape, pad, rank, offsets, alpha, n_present, n_chunks):
    """:func:`_gldm_rows` over all rows, one chunk of rows per thread."""
    n_rows = shape[0] * shape[1]
    partial = np.zeros((n_chunks, n_present, offsets.size + 1))
    for chunk in prange(n_chunks):
        _gldm_rows(flat, shape, padded_shape, pad, rank, offsets, alpha, chunk * n_rows // n_chunks,
                   (chunk + 1) * n_rows // n_chunks, partial[chunk])
    return _sum_first_axis(partial)


def ngtdm_sums(levels: Levels, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NGTDM columns: voxel count and summed absolute neighbourhood difference per level.

    For each ROI voxel the neighbourhood average is the mean level of the ROI
    voxels at the offsets (``angles`` lists both directions); a voxel
    without such a neighbour counts with a difference of 0 (pyradiomics).

    Returns
    -------
    counts : ndarray of float64, shape (n_present,)
        ROI voxels of each level.
    differences : ndarray of float64, shape (n_present,)
        Sum over those voxels of ``|level - neighbourhood average|``.
    """
    offsets = flat_offsets(angles, levels)
    n_chunks = _chunks(levels, angles)
    args = (levels.flat, np.array(levels.shape), np.array(levels.padded.shape), levels.pad, levels.rank)
    if n_chunks == 1:
        sums = np.zeros((2, levels.n_present))
        _ngtdm_rows(*args, offsets, 0, levels.shape[0] * levels.shape[1], sums)
    else:
        sums = _ngtdm_parallel(*args, offsets, levels.n_present, n_chunks)
    return sums[0], sums[1]


@njit
def _ngtdm_rows(flat, shape, padded_shape, pad, rank, offsets, start, stop, sums):
    """Add the ROI voxels of box rows ``start..stop`` to ``sums[0, i]`` (count) and ``sums[1, i]`` (difference)."""
    for row in range(start, stop):
        first = _row_start(row, shape, padded_shape, pad)
        for index in range(first, first + shape[2]):
            level = flat[index]
            if level == 0:
                continue
            n_neighbours = 0
            neighbour_sum = 0
            for a in range(offsets.size):
                neighbour = flat[np.uint64(index + offsets[a])]
                n_neighbours += neighbour > 0  # voxels outside the ROI are 0: no branch needed
                neighbour_sum += neighbour
            difference = 0.0
            if n_neighbours > 0:
                difference = abs(level - neighbour_sum / n_neighbours)
            sums[0, rank[level]] += 1.0
            sums[1, rank[level]] += difference


@njit_parallel
def _ngtdm_parallel(flat, shape, padded_shape, pad, rank, offsets, n_present, n_chunks):
    """:func:`_ngtdm_rows` over all rows, one chunk of rows per thread."""
    n_rows = shape[0] * shape[1]
    partial = np.zeros((n_chunks, 2, n_present))
    for chunk in prange(n_chunks):
        _ngtdm_rows(flat, shape, padded_shape, pad, rank, offsets, chunk * n_rows // n_chunks,
                    (chunk + 1) * n_rows // n_chunks, partial[chunk])
    return _sum_first_axis(partial)


# ----------------------------------------------------------------------------------------------
# Feature kernels
# ----------------------------------------------------------------------------------------------

GLCM_FEATURES = (
    "Autocorrelation", "ClusterProminence", "ClusterShade", "ClusterTendency", "Contrast", "Correlation",
    "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance", "Id", "Idm", "Idmn", "Idn", "Imc1",
    "Imc2", "InverseVariance", "JointAverage", "JointEnergy", "JointEntropy", "MaximumProbability",
    "SumAverage", "SumEntropy", "SumSquares",
)
"""Rows of :func:`glcm_angle_features`' output (MCC is computed apart, from eigenvalues)."""


@njit_exact
def glcm_angle_features(matrices, grey_levels, n_levels, eps):
    """pyradiomics' GLCM features of each offset's matrix.

    Parameters
    ----------
    matrices : ndarray of float64, shape (n, n, n_angles)
        Co-occurrence counts (symmetrised and/or weighted as configured)
        restricted to the present grey levels.
    grey_levels : ndarray of float64, shape (n,)
        Grey level of each row/column.
    n_levels : int
        pyradiomics' ``Ng`` (highest level): bounds of the sum and difference
        distributions, and the normaliser of Idmn and Idn.
    eps : float
        pyradiomics' ``numpy.spacing(1)``.

    Returns
    -------
    ndarray of float64, shape (len(GLCM_FEATURES), n_angles)
        Feature values per offset, rows in :data:`GLCM_FEATURES` order; NaN
        for an empty matrix (but InverseVariance 0 when ``Ng = 1``, an empty
        sum in pyradiomics) and where pyradiomics' formula gives NaN (Imc2 of
        a matrix whose HXY2 rounds below HXY).
    """
    n = matrices.shape[0]
    n_angles = matrices.shape[2]
    out = np.full((len(GLCM_FEATURES), n_angles), np.nan)
    p = np.empty((n, n))
    px = np.empty(n)
    py = np.empty(n)
    sum_dist = np.empty(2 * n_levels - 1)  # k = i + j = 2..2 Ng
    diff_dist = np.empty(n_levels)  # k = |i - j| = 0..Ng-1
    for a in range(n_angles):
        total = 0.0
        for i in range(n):
            for j in range(n):
                total += matrices[i, j, a]
        if total == 0.0:
            if n_levels == 1:
                out[15, a] = 0.0  # pyradiomics' InverseVariance sums over k = 1..Ng-1: nothing
            continue
        px[:] = 0.0
        py[:] = 0.0
        sum_dist[:] = 0.0
        diff_dist[:] = 0.0
        ux = 0.0
        uy = 0.0
        autocorrelation = 0.0
        contrast = 0.0
        energy = 0.0
        joint_entropy = 0.0
        maximum = 0.0
        for i in range(n):
            gi = grey_levels[i]
            for j in range(n):
                gj = grey_levels[j]
                value = matrices[i, j, a] / total
                p[i, j] = value
                px[i] += value
                py[j] += value
                ux += gi * value
                uy += gj * value
                autocorrelation += gi * gj * value
                contrast += (gi - gj) ** 2 * value
                energy += value * value
                if value > 0.0:
                    joint_entropy -= value * np.log2(value + eps)
                if value > maximum:
                    maximum = value
                sum_dist[int(gi + gj) - 2] += value
                diff_dist[int(abs(gi - gj))] += value
        prominence = 0.0
        shade = 0.0
        tendency = 0.0
        variance_x = 0.0
        variance_y = 0.0
        covariance = 0.0
        hxy1 = 0.0
        hxy2 = 0.0
        for i in range(n):
            gi = grey_levels[i]
            for j in range(n):
                gj = grey_levels[j]
                value = p[i, j]
                centred = gi + gj - ux - uy
                prominence += value * centred ** 4
                shade += value * centred ** 3
                tendency += value * centred ** 2
                variance_x += value * (gi - ux) ** 2
                variance_y += value * (gj - uy) ** 2
                covariance += value * (gi - ux) * (gj - uy)
                product = px[i] * py[j]
                if product > 0.0:
                    log_product = np.log2(product + eps)
                    hxy1 -= value * log_product
                    hxy2 -= product * log_product
        hx = 0.0
        hy = 0.0
        for i in range(n):
            hx -= px[i] * np.log2(px[i] + eps)
            hy -= py[i] * np.log2(py[i] + eps)
        sigma_product = np.sqrt(variance_x) * np.sqrt(variance_y)
        correlation = 1.0 if sigma_product == 0.0 else covariance / (sigma_product + eps)
        divisor = max(hx, hy)
        imc1 = 0.0 if divisor == 0.0 else (joint_entropy - hxy1) / divisor
        imc2 = 0.0 if hxy2 == joint_entropy else np.sqrt(1.0 - np.exp(-2.0 * (hxy2 - joint_entropy)))
        difference_average = 0.0
        difference_entropy = 0.0
        inverse_difference = 0.0
        inverse_difference_moment = 0.0
        idmn = 0.0
        idn = 0.0
        inverse_variance = 0.0
        for k in range(n_levels):
            value = diff_dist[k]
            difference_average += k * value
            difference_entropy -= value * np.log2(value + eps)
            inverse_difference += value / (1.0 + k)
            inverse_difference_moment += value / (1.0 + k * k)
            idmn += value / (1.0 + (k * k) / (n_levels * n_levels))
            idn += value / (1.0 + k / n_levels)
            if k > 0:
                inverse_variance += value / (k * k)
        difference_variance = 0.0
        for k in range(n_levels):
            difference_variance += diff_dist[k] * (k - difference_average) ** 2
        sum_average = 0.0
        sum_entropy = 0.0
        for k in range(2 * n_levels - 1):
            value = sum_dist[k]
            sum_average += (k + 2) * value
            sum_entropy -= value * np.log2(value + eps)
        out[0, a] = autocorrelation
        out[1, a] = prominence
        out[2, a] = shade
        out[3, a] = tendency
        out[4, a] = contrast
        out[5, a] = correlation
        out[6, a] = difference_average
        out[7, a] = difference_entropy
        out[8, a] = difference_variance
        out[9, a] = inverse_difference
        out[10, a] = inverse_difference_moment
        out[11, a] = idmn
        out[12, a] = idn
        out[13, a] = imc1
        out[14, a] = imc2
        out[15, a] = inverse_variance
        out[16, a] = ux
        out[17, a] = energy
        out[18, a] = joint_entropy
        out[19, a] = maximum
        out[20, a] = sum_average
        out[21, a] = sum_entropy
        out[22, a] = variance_x
    return out


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
    q = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            value = 0.0
            for k in range(n):
                value += weighted[i, k] * p[j, k]
            q[i, j] = value
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
def second_largest_eigenvalue(symmetric):
    """Second largest eigenvalue of a symmetric matrix (n >= 2; overwritten).

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
    written as the rank-2 update ``a - v w^T - w v^T``.
    """
    n = a.shape[0]
    diagonal = np.empty(n)
    off_diagonal = np.zeros(max(n - 1, 0))
    v = np.zeros(n)
    w = np.zeros(n)
    for k in range(n - 2):
        norm2 = 0.0
        for i in range(k + 1, n):
            norm2 += a[i, k] * a[i, k]
        diagonal[k] = a[k, k]
        if norm2 == 0.0:
            continue
        norm = np.sqrt(norm2)
        head = a[k + 1, k]
        alpha = -norm if head >= 0.0 else norm
        v[k + 1] = head - alpha
        for i in range(k + 2, n):
            v[i] = a[i, k]
        beta = 2.0 / (norm2 - head * head + v[k + 1] * v[k + 1])
        v_dot_p = 0.0
        for i in range(k + 1, n):
            value = 0.0
            for j in range(k + 1, n):
                value += a[i, j] * v[j]
            w[i] = beta * value
            v_dot_p += v[i] * w[i]
        half = 0.5 * beta * v_dot_p
        for i in range(k + 1, n):
            w[i] -= half * v[i]
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                a[i, j] -= v[i] * w[j] + w[i] * v[j]
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


EMPHASIS_FEATURES = (
    "ShortEmphasis", "LongEmphasis", "GrayLevelNonUniformity", "GrayLevelNonUniformityNormalized",
    "NonUniformity", "NonUniformityNormalized", "Percentage", "GrayLevelVariance", "Variance", "Entropy",
    "LowGrayLevelEmphasis", "HighGrayLevelEmphasis", "ShortLowGrayLevelEmphasis", "ShortHighGrayLevelEmphasis",
    "LongLowGrayLevelEmphasis", "LongHighGrayLevelEmphasis",
)
"""Rows of :func:`emphasis_features`, generic names for the GLRLM, GLSZM and GLDM features
(``Short``/``Long``: small/large run length, zone size or dependence count)."""


@njit_exact
def emphasis_features(matrices, row_values, column_values, eps):
    """pyradiomics' features of grey level x (run length | zone size | dependence) matrices.

    Parameters
    ----------
    matrices : ndarray of float64, shape (n_rows, n_columns, n_matrices)
        Counts (or weighted counts) by grey level (rows) and run length,
        zone size or dependence count (columns), one matrix per offset
        (GLRLM) or a single one.
    row_values : ndarray of float64, shape (n_rows,)
        Grey level of each row.
    column_values : ndarray of float64, shape (n_columns,)
        Run length / zone size / dependence count of each column (>= 1).
    eps : float
        pyradiomics' ``numpy.spacing(1)``.

    Returns
    -------
    ndarray of float64, shape (len(EMPHASIS_FEATURES), n_matrices)
        Feature values per matrix; NaN for a matrix without counts.
    """
    n_rows, n_columns, n_matrices = matrices.shape
    out = np.full((len(EMPHASIS_FEATURES), n_matrices), np.nan)
    row_sums = np.empty(n_rows)
    column_sums = np.empty(n_columns)
    for a in range(n_matrices):
        row_sums[:] = 0.0
        column_sums[:] = 0.0
        total = 0.0
        short_low = 0.0
        short_high = 0.0
        long_low = 0.0
        long_high = 0.0
        entropy_sum = 0.0
        for i in range(n_rows):
            g2 = row_values[i] * row_values[i]
            for j in range(n_columns):
                count = matrices[i, j, a]
                if count == 0.0:
                    continue
                c2 = column_values[j] * column_values[j]
                row_sums[i] += count
                column_sums[j] += count
                total += count
                short_low += count / (g2 * c2)
                short_high += count * g2 / c2
                long_low += count * c2 / g2
                long_high += count * g2 * c2
        if total == 0.0:
            continue
        for i in range(n_rows):
            for j in range(n_columns):
                probability = matrices[i, j, a] / total
                entropy_sum -= probability * np.log2(probability + eps)
        short = 0.0
        long = 0.0
        column_uniformity = 0.0
        n_units = 0.0
        column_mean = 0.0
        for j in range(n_columns):
            value = column_values[j]
            short += column_sums[j] / (value * value)
            long += column_sums[j] * value * value
            column_uniformity += column_sums[j] * column_sums[j]
            n_units += column_sums[j] * value
            column_mean += column_sums[j] / total * value
        column_variance = 0.0
        for j in range(n_columns):
            column_variance += column_sums[j] / total * (column_values[j] - column_mean) ** 2
        grey_uniformity = 0.0
        low = 0.0
        high = 0.0
        grey_mean = 0.0
        for i in range(n_rows):
            value = row_values[i]
            grey_uniformity += row_sums[i] * row_sums[i]
            low += row_sums[i] / (value * value)
            high += row_sums[i] * value * value
            grey_mean += row_sums[i] / total * value
        grey_variance = 0.0
        for i in range(n_rows):
            grey_variance += row_sums[i] / total * (row_values[i] - grey_mean) ** 2
        out[0, a] = short / total
        out[1, a] = long / total
        out[2, a] = grey_uniformity / total
        out[3, a] = grey_uniformity / (total * total)
        out[4, a] = column_uniformity / total
        out[5, a] = column_uniformity / (total * total)
        out[6, a] = total / n_units
        out[7, a] = grey_variance
        out[8, a] = column_variance
        out[9, a] = entropy_sum
        out[10, a] = low / total
        out[11, a] = high / total
        out[12, a] = short_low / total
        out[13, a] = short_high / total
        out[14, a] = long_low / total
        out[15, a] = long_high / total
    return out


def named_emphasis_features(values: np.ndarray, names: dict[str, str]) -> dict[str, float]:
    """pyradiomics' names for the rows of :func:`emphasis_features`, averaged over matrices.

    ``values`` has one column per matrix; NaN columns (empty matrices) are
    left out of the average, as pyradiomics' ``nanmean``.
    """
    means = nanmean_columns(values)
    return {names[generic]: float(means[row]) for row, generic in enumerate(EMPHASIS_FEATURES) if generic in names}


def nanmean_columns(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its non-NaN entries (NaN when there are none), without warnings."""
    finite = ~np.isnan(values)
    counts = finite.sum(axis=1)
    sums = np.where(finite, values, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


NGTDM_FEATURES = ("Busyness", "Coarseness", "Complexity", "Contrast", "Strength")
"""Entries of :func:`ngtdm_features`' output, pyradiomics' names."""


@njit_exact
def ngtdm_features(counts, differences, grey_levels):
    """pyradiomics' NGTDM features.

    Parameters
    ----------
    counts : ndarray of float64, shape (n,)
        ROI voxels ``n_i`` of each present grey level (all > 0).
    differences : ndarray of float64, shape (n,)
        ``s_i``: summed absolute neighbourhood differences of those voxels.
    grey_levels : ndarray of float64, shape (n,)
        The grey levels ``i``.

    Returns
    -------
    ndarray of float64, shape (5,)
        In :data:`NGTDM_FEATURES` order, with ``p_i = n_i / N``:
        Busyness ``sum p_i s_i / sum_ij |i p_i - j p_j|`` (0 when the
        denominator is 0); Coarseness ``1 / sum p_i s_i`` (1e6 when the sum
        is 0); Complexity ``sum_ij |i - j| (p_i s_i + p_j s_j) / (p_i + p_j) / N``;
        Contrast ``sum_ij p_i p_j (i - j)^2 sum s_i / (N Ng (Ng - 1))``
        (0 for one grey level); Strength ``sum_ij (p_i + p_j) (i - j)^2 / sum s_i``
        (0 when ``sum s_i`` is 0).
    """
    n = counts.size
    n_voxels = counts.sum()
    probability = counts / n_voxels
    weighted_sum = 0.0
    difference_sum = 0.0
    for i in range(n):
        weighted_sum += probability[i] * differences[i]
        difference_sum += differences[i]
    busyness_denominator = 0.0
    complexity = 0.0
    contrast_sum = 0.0
    strength_sum = 0.0
    for i in range(n):
        for j in range(n):
            step = grey_levels[i] - grey_levels[j]
            busyness_denominator += abs(grey_levels[i] * probability[i] - grey_levels[j] * probability[j])
            complexity += abs(step) * (probability[i] * differences[i] + probability[j] * differences[j]) / (
                probability[i] + probability[j])
            contrast_sum += probability[i] * probability[j] * step * step
            strength_sum += (probability[i] + probability[j]) * step * step
    out = np.empty(5)
    out[0] = weighted_sum / busyness_denominator if busyness_denominator != 0.0 else 0.0
    out[1] = 1.0 / weighted_sum if weighted_sum != 0.0 else 1e6
    out[2] = complexity / n_voxels
    out[3] = contrast_sum * difference_sum / n_voxels / (n * (n - 1)) if n > 1 else 0.0
    out[4] = strength_sum / difference_sum if difference_sum != 0.0 else 0.0
    return out
