"""Helpers shared by the texture families: level checks, the ROI's box, present levels, and emitting values."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue


def checked_levels(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """``levels`` as a C-contiguous int32 3D array, or an InputError saying what to fix.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng`` of the discretisation.
    """
    levels = np.asarray(levels)
    if levels.ndim != 3:
        raise InputError(f"discretised levels must be a 3D (z, y, x) array, got {levels.ndim} dimensions")
    if not np.issubdtype(levels.dtype, np.integer):
        raise InputError(f"discretised levels must be integers (0 outside the ROI), got {levels.dtype}")
    if int(n_levels) != n_levels or n_levels < 1:
        raise InputError(f"number of grey levels must be an integer >= 1, got {n_levels!r}")
    if levels.size and (levels.min() < 0 or levels.max() > n_levels):
        raise InputError(
            f"discretised levels must lie in 0..{n_levels} (0 outside the ROI), "
            f"found {levels.min()}..{levels.max()}; check the discretisation or n_levels")
    return np.ascontiguousarray(levels, dtype=np.int32)


def smallest_level_type(n_levels: int) -> type:
    """The smallest unsigned integer type holding levels ``0..n_levels`` (uint8, uint16 or uint32).

    Kernels that gather neighbours of every voxel run faster on small level
    arrays, which stay in cache.
    """
    for candidate in (np.uint8, np.uint16):
        if n_levels <= np.iinfo(candidate).max:
            return candidate
    return np.uint32


@njit
def grow_box_to_row(row, z, y, low, high):
    """Grow the box ``[low, high)`` (z, y, x voxel indices) to hold the non-zero voxels of ``row``.

    ``row`` is row ``y`` of slice ``z`` and holds at least one non-zero voxel.
    """
    first = 0
    while row[first] == 0:
        first += 1
    last = row.shape[0] - 1
    while row[last] == 0:
        last -= 1
    low[0] = min(low[0], z)
    high[0] = max(high[0], z + 1)
    low[1] = min(low[1], y)
    high[1] = max(high[1], y + 1)
    low[2] = min(low[2], first)
    high[2] = max(high[2], last + 1)


@njit
def _non_zero_box(array):
    """Kernel of :func:`roi_box`: ``(low, high)`` of the non-zero voxels, ``low > high`` when there are none."""
    n_z, n_y, n_x = array.shape
    low = np.array([n_z, n_y, n_x], np.int64)
    high = np.zeros(3, np.int64)
    for z in range(n_z):
        for y in range(n_y):
            row = array[z, y]
            n_inside = 0
            for x in range(n_x):  # a count rather than a branch, so that the loop vectorises
                n_inside += row[x] != 0
            if n_inside == 0:
                continue
            grow_box_to_row(row, z, y, low, high)
    return low, high


def roi_box(inside: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Slices of the smallest box holding every non-zero voxel of a 3D array; None if there is none."""
    inside = np.asarray(inside)
    if inside.ndim != 3:
        raise InputError(f"the ROI box needs a 3D (z, y, x) array, got {inside.ndim} dimensions")
    low, high = _non_zero_box(inside)
    if low[0] >= high[0]:
        return None
    return tuple(slice(int(first), int(stop)) for first, stop in zip(low, high))


def roi_bounds(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last index of the ROI (levels > 0) along (z, y, x), as int64 arrays.

    Raises
    ------
    EmptyRoiError
        No voxel has a level above 0.
    """
    box = roi_box(levels)
    if box is None:
        raise EmptyRoiError("the discretised ROI holds no voxel (every level is 0); "
                            "check the mask label and the re-segmentation range")
    return (np.array([s.start for s in box], dtype=np.int64), np.array([s.stop for s in box], dtype=np.int64))


def cropped_to_roi(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Checked ``levels`` cropped to the ROI's box (texture matrices do not change)."""
    levels = checked_levels(levels, n_levels)
    low, high = roi_bounds(levels)
    return np.ascontiguousarray(levels[low[0]:high[0], low[1]:high[1], low[2]:high[2]])


class PresentLevels(NamedTuple):
    """Levels of an ROI box renumbered by rank among the grey levels present.

    Matrices counted from ``ranked`` with ``n_present`` levels have one row
    (and column) per grey level present in the ROI: the matrices of the ROI's
    own levels with the empty grey levels removed (pyradiomics' matrices).

    Attributes
    ----------
    levels : ndarray of int32, shape (nz, ny, nx)
        The checked levels ``1..n_levels``, 0 outside the ROI.
    ranked : ndarray of int32, same shape
        ``1 +`` the rank of each ROI voxel's level among the levels present, 0 outside.
    grey_levels : ndarray of float64, shape (n_present,)
        The grey levels present, increasing (row ``r`` of a ranked matrix is level ``grey_levels[r]``).
    n_levels : int
        Number of grey levels ``Ng`` of the discretisation.
    """

    levels: np.ndarray
    ranked: np.ndarray
    grey_levels: np.ndarray
    n_levels: int

    @property
    def n_present(self) -> int:
        """Number of grey levels present in the ROI."""
        return int(self.grey_levels.size)

    @property
    def rows(self) -> np.ndarray:
        """Row (``level - 1``) of each present grey level in a matrix of all ``n_levels`` levels."""
        return self.grey_levels.astype(np.int64) - 1


def present_levels(levels: np.ndarray, n_levels: int) -> PresentLevels:
    """``levels`` checked (:func:`checked_levels`) and ranked among the grey levels present.

    Raises
    ------
    InputError
        Invalid ``levels`` or ``n_levels``.
    EmptyRoiError
        No ROI voxel.
    """
    levels = checked_levels(levels, n_levels)
    present = np.bincount(levels.ravel(), minlength=int(n_levels) + 1) > 0
    present[0] = False
    if not present.any():
        raise EmptyRoiError("the discretised ROI holds no voxel (every level is 0); "
                            "check the mask label and the re-segmentation range")
    rank_of_level = (np.cumsum(present) * present).astype(np.int32)
    return PresentLevels(levels, rank_of_level[levels], np.flatnonzero(present).astype(np.float64), int(n_levels))


EMPHASIS_FEATURES = (
    "short_emphasis", "long_emphasis", "low_grey_level_emphasis", "high_grey_level_emphasis",
    "short_low_grey_level_emphasis", "short_high_grey_level_emphasis", "long_low_grey_level_emphasis",
    "long_high_grey_level_emphasis", "grey_level_non_uniformity", "grey_level_non_uniformity_normalised",
    "non_uniformity", "non_uniformity_normalised", "percentage", "grey_level_variance", "variance", "entropy",
    "energy",
)
"""Columns of :func:`emphasis_features`: the features shared by the GLRLM, GLSZM, GLDZM and NGLDM
(and pyradiomics' GLRLM, GLSZM and GLDM), ``short``/``long`` standing for a small/large run length,
zone size, zone distance or dependence count, in the IBSI GLRLM order (NGLDM: energy last)."""


def emphasis_features(matrices: np.ndarray, row_values: np.ndarray, column_values: np.ndarray,
                      eps: float = 0.0) -> np.ndarray:
    """The features of :data:`EMPHASIS_FEATURES` of a stack of grey level x (run | zone | dependence) matrices.

    With ``p_ij = c_ij / N_s`` (``N_s = sum c_ij``), grey levels ``i`` (row
    values) and run lengths, zone sizes, distances or dependences ``j``
    (column values): ``short = sum p_ij / j^2``, ``long = sum p_ij j^2``, the
    grey level emphases likewise with ``i``, the non-uniformities
    ``sum_i (sum_j c_ij)^2 / N_s`` (normalised: ``/ N_s^2``), ``percentage =
    N_s / sum c_ij j``, the variances ``sum p_ij (i - mu_i)^2`` and likewise
    for ``j``, ``entropy = -sum p_ij log2(p_ij + eps)`` and ``energy = sum p_ij^2``.

    Parameters
    ----------
    matrices : ndarray, shape (n_matrices, n_rows, n_columns)
        Counts (or weighted counts, >= 0).
    row_values : ndarray of float64, shape (n_rows,)
        Grey level of each row (IBSI: ``1..Ng``; pyradiomics: the levels present).
    column_values : ndarray of float64, shape (n_columns,)
        Run length, zone size, distance or dependence of each column (>= 1).
    eps : float
        Added to ``p`` inside the entropy's logarithm (pyradiomics' ``numpy.spacing(1)``; IBSI 0).

    Returns
    -------
    ndarray of float64, shape (n_matrices, len(EMPHASIS_FEATURES))
        NaN rows for matrices without counts.
    """
    return _emphasis_kernel(np.ascontiguousarray(matrices, dtype=np.float64),
                            np.ascontiguousarray(row_values, dtype=np.float64),
                            np.ascontiguousarray(column_values, dtype=np.float64), float(eps))


@njit_exact
def _emphasis_kernel(matrices, row_values, column_values, eps):
    """Kernel of :func:`emphasis_features`, compiled without fast-math (a single grey level gives
    ``p = c / c = 1`` and a variance of exactly 0)."""
    n_matrices, n_rows, n_columns = matrices.shape
    out = np.full((n_matrices, 17), np.nan)
    row_sums = np.empty(n_rows)
    column_sums = np.empty(n_columns)
    for m in range(n_matrices):
        matrix = matrices[m]
        row_sums[:] = 0.0
        column_sums[:] = 0.0
        total = 0.0
        short_low = 0.0
        short_high = 0.0
        long_low = 0.0
        long_high = 0.0
        for i in range(n_rows):
            g2 = row_values[i] * row_values[i]
            for j in range(n_columns):
                count = matrix[i, j]
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
        entropy = 0.0
        energy = 0.0
        for i in range(n_rows):
            for j in range(n_columns):
                if matrix[i, j] != 0.0:  # an empty cell adds -0.0
                    probability = matrix[i, j] / total
                    entropy -= probability * np.log2(probability + eps)
                    energy += probability * probability
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
        values = out[m]
        values[0] = short / total
        values[1] = long / total
        values[2] = low / total
        values[3] = high / total
        values[4] = short_low / total
        values[5] = short_high / total
        values[6] = long_low / total
        values[7] = long_high / total
        values[8] = grey_uniformity / total
        values[9] = grey_uniformity / (total * total)
        values[10] = column_uniformity / total
        values[11] = column_uniformity / (total * total)
        values[12] = total / n_units
        values[13] = grey_variance
        values[14] = column_variance
        values[15] = entropy
        values[16] = energy
    return out


def feature_values(family: str, keys: tuple[str, ...], by_dimension: dict[str, dict[str, tuple[float, str]]],
                   dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """One FeatureValue per aggregation label of each dimension and per key, in that order.

    ``by_dimension[d][key]`` is ``(value, status)`` for dimension ``d``; families
    with one label per dimension (GLSZM, GLDZM, NGTDM, NGLDM) use it directly.
    """
    return [FeatureValue(key, label, float(by_dimension[dimension][key][0]), by_dimension[dimension][key][1])
            for dimension in dimensions
            for label in AGGREGATIONS_BY_DIMENSION[family][dimension]
            for key in keys]
