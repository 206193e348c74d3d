"""Helpers shared by the texture families: level checks, the ROI's box, present levels, and emitting values."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix._numba import njit
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


def divided_by_count_powers(sums: np.ndarray, count: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """``sums[m, k] / count[m] ** powers[k]``, divided by NumPy.

    Kernels return the sums of the features and the matrix totals, and the
    division is done here: the kernels' fast-math flags would turn several
    divisions by one total into multiplications by its rounded reciprocal,
    so that e.g. a normalised non-uniformity of 1 could come out as
    ``1 - 1e-16``.

    Parameters
    ----------
    sums : ndarray of float64, shape (n_matrices, n_features)
    count : ndarray of float64, shape (n_matrices,)
        Total of each matrix (> 0).
    powers : ndarray of int, shape (n_features,)
        Power of the total each feature is divided by (0: none).
    """
    return sums / count[:, None] ** powers[None, :]


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
