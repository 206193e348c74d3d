"""Neighbourhood counting shared by the NGLDM and NGTDM families (IBSI and pyradiomics' GLDM and NGTDM).

Both matrices read, for every ROI voxel, the ROI voxels at a set of
neighbour offsets: the NGLDM counts those whose grey level lies within
``alpha`` of the centre's (its dependence, the centre included), the NGTDM
sums their levels (their mean level). IBSI's neighbourhood is the Chebyshev
cube around the centre (:func:`chebyshev_offsets`); pyradiomics' is the
union of the Chebyshev shells of its ``distances`` that fit in the ROI box.
One kernel, :func:`_neighbourhood_kernel`, counts either or both, per slice
(in-plane offsets) and for the volume (all offsets), in one pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue
from radiomix.features.texture import (
    PresentLevels,
    checked_dimensions,
    checked_levels,
    pyradiomics_offsets,
    roi_box,
    smallest_unsigned_type,
)

EMPTY_ROI = "undefined: empty ROI"
"""Status of every value of an ROI without voxels."""


class NeighbourhoodMatrices(NamedTuple):
    """Output of :func:`neighbourhood_matrices`; arrays without rows unless ``per_slice`` (``volume``), and
    zeros for what was not asked for (``dependences``, ``differences``).

    Attributes
    ----------
    slice_dependence : ndarray of int64, shape (nz or 0, n_levels, n_in_plane + 1)
        ``[z, i - 1, j - 1]``: ROI voxels of slice ``z`` with level ``i`` and
        in-plane dependence ``j`` (the centre included).
    volume_dependence : ndarray of int64, shape (1 or 0, n_levels, n_offsets + 1)
        The same over all offsets.
    slice_counts, volume_counts : ndarray of int64, shape (nz or 0, n_levels), (1 or 0, n_levels)
        NGTDM ``n_i``: ROI voxels of level ``i`` (column ``i - 1``) with at
        least one neighbour in the ROI (every ROI voxel with ``count_isolated``).
    slice_sums, volume_sums : ndarray of float64, same shapes
        NGTDM ``s_i``: sum over those voxels of ``|i - mean neighbour level|``
        (0 for a voxel without neighbours).
    """

    slice_dependence: np.ndarray
    volume_dependence: np.ndarray
    slice_counts: np.ndarray
    slice_sums: np.ndarray
    volume_counts: np.ndarray
    volume_sums: np.ndarray


def values_by_dimension(family: str, keys: tuple[str, ...], levels: np.ndarray, n_levels: int,
                        dimensions: tuple[str, ...], count: Callable, matrix_values: Callable,
                        undefined: str, no_matrix: str) -> list[FeatureValue]:
    """Values of a family with one aggregation label per dimension (NGTDM, NGLDM), counted on the ROI's box.

    ``2D``: the features of each slice matrix that holds voxels, averaged over
    those slices; ``2.5D``: the features of the slice matrices summed; ``3D``:
    those of the volume matrix.

    ``count(box_levels, per_slice, volume)`` gives the stacks of slice matrices (when ``per_slice``) and of
    the volume matrix (when ``volume``) from the checked levels of the ROI's box; ``matrix_values(stack)``
    the features (columns in the order of ``keys``) of matrices that hold voxels, NaN where undefined,
    whose status is ``undefined`` (``2D``: with the number of slices). ``no_matrix``: the status of every
    value when no matrix holds voxels; an ROI without voxels gives :data:`EMPTY_ROI`.
    """
    checked_dimensions(family, dimensions)
    levels = np.asarray(levels)
    box = roi_box(levels)
    if box is None:
        return [FeatureValue(key, AGGREGATIONS_BY_DIMENSION[family][dimension][0], np.nan, EMPTY_ROI)
                for dimension in dimensions for key in keys]
    slices, volume = count(checked_levels(levels[box], n_levels), "2D" in dimensions or "2.5D" in dimensions,
                           "3D" in dimensions)
    stacks = {"2D": slices, "2.5D": slices.sum(axis=0, keepdims=True), "3D": volume}
    results = []
    for dimension in dimensions:
        (label,) = AGGREGATIONS_BY_DIMENSION[family][dimension]
        stack = stacks[dimension]
        stack = stack[stack.sum(axis=tuple(range(1, stack.ndim))) > 0]
        if not len(stack):
            results += [FeatureValue(key, label, np.nan, no_matrix) for key in keys]
            continue
        values = matrix_values(stack)
        for key, mean, n_undefined in zip(keys, values.mean(axis=0).tolist(), np.isnan(values).sum(axis=0).tolist()):
            if not n_undefined:
                results.append(FeatureValue(key, label, mean))
            else:
                where = f" (in {n_undefined} of {len(stack)} slices)" if dimension == "2D" else ""
                results.append(FeatureValue(key, label, np.nan, undefined + where))
    return results


def chebyshev_offsets(distance: int) -> tuple[np.ndarray, int]:
    """IBSI's neighbourhood: every ``(dz, dy, dx)`` within Chebyshev ``distance``, the centre excepted.

    Returns
    -------
    offsets : ndarray of int64, shape ((2 distance + 1)^3 - 1, 3)
        The in-plane offsets (``dz = 0``) first.
    n_in_plane : int
        Number of in-plane offsets, ``(2 distance + 1)^2 - 1``.
    """
    steps = range(-int(distance), int(distance) + 1)
    offsets = [offset for offset in itertools.product(steps, steps, steps) if any(offset)]
    offsets.sort(key=lambda offset: offset[0] != 0)  # stable: in-plane first
    n_in_plane = (2 * int(distance) + 1) ** 2 - 1
    return np.array(offsets, dtype=np.int64), n_in_plane


def neighbourhood_matrices(levels: np.ndarray, n_levels: int, offsets: np.ndarray, n_in_plane: int, *,
                           alpha: float = 0.0, per_slice: bool = False, volume: bool = True,
                           dependences: bool = True, differences: bool = True,
                           count_isolated: bool = False) -> NeighbourhoodMatrices:
    """NGLDM dependences and NGTDM sums of checked ``levels`` for the neighbourhood ``offsets``.

    ``levels``: checked grey levels (:func:`radiomix.features.texture.checked_levels`);
    ``offsets``: neighbour ``(dz, dy, dx)`` offsets (voxels), none zero, the
    first ``n_in_plane`` in-plane (``dz = 0``, the neighbourhood of
    ``per_slice``: one matrix per slice; ``volume``: one matrix of all
    offsets). A neighbour depends on the centre when ``|level difference| <=
    alpha``. ``dependences`` and ``differences`` ask for the NGLDM and the
    NGTDM; with ``count_isolated`` the NGTDM ``n_i`` also counts voxels
    without any neighbour in the ROI (pyradiomics; IBSI leaves them out).
    """
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.ndim != 2 or offsets.shape[1] != 3 or not offsets.size or not np.abs(offsets).sum(axis=1).all():
        raise InputError(f"neighbour offsets must be a non-empty (n, 3) array of (dz, dy, dx) steps other than "
                         f"(0, 0, 0), got {offsets.tolist()}")
    if not 0 <= n_in_plane <= len(offsets) or offsets[:n_in_plane, 0].any():
        raise InputError(f"the first {n_in_plane} neighbour offsets must be in-plane (dz = 0)")
    n_neighbourhood = len(offsets) + 1
    count_type = smallest_unsigned_type(n_neighbourhood)
    # level sums in uint16 at least: one compiled variant serves every ROI of up to 2,427 levels (26
    # neighbours), where uint8 would compile another for ROIs of fewer than 10 levels only
    sum_type = smallest_unsigned_type(max(n_neighbourhood * int(n_levels), np.iinfo(np.uint16).max))
    return _neighbourhood_counts(levels, int(n_levels), offsets, int(n_in_plane), float(alpha), bool(per_slice),
                                 bool(volume), bool(dependences), bool(differences), bool(count_isolated),
                                 smallest_unsigned_type(int(n_levels)), count_type, sum_type)


def pyradiomics_counts(present: PresentLevels, distances, slice_axis: int | None, *, alpha: float = 0.0,
                       dependences: bool = True, differences: bool = True,
                       count_isolated: bool = False) -> NeighbourhoodMatrices:
    """:func:`neighbourhood_matrices` of ``present.levels`` (volume only) for pyradiomics' offsets.

    The offsets of :func:`~radiomix.features.texture.pyradiomics_offsets` at
    ``distances``, both directions, none along ``slice_axis``; other arguments
    as for :func:`neighbourhood_matrices`. Rows are the grey levels ``1..n_levels``
    (``present.rows`` selects those present).
    """
    offsets = pyradiomics_offsets(present.levels.shape, distances, True, slice_axis)
    return neighbourhood_matrices(present.levels, present.n_levels, offsets, 0, alpha=alpha,
                                  dependences=dependences, differences=differences, count_isolated=count_isolated)


def shared_pyradiomics_counts(present: PresentLevels, ngldm_settings, ngtdm_settings) -> NeighbourhoodMatrices | None:
    """One :func:`pyradiomics_counts` pass giving both the GLDM's dependences and the NGTDM's sums of an image.

    For the two families enabled with pyradiomics' offsets at the same
    ``distances`` and ``slice_axis`` (``ngldm_settings``, ``ngtdm_settings``:
    their settings, None when disabled); else None (each counts its own).
    """
    if (ngldm_settings is None or ngtdm_settings is None
            or ngldm_settings.offsets != "pyradiomics" or ngtdm_settings.offsets != "pyradiomics"
            or tuple(ngldm_settings.distances) != tuple(ngtdm_settings.distances)
            or ngldm_settings.slice_axis != ngtdm_settings.slice_axis):
        return None
    return pyradiomics_counts(present, ngldm_settings.distances, ngldm_settings.slice_axis,
                              alpha=ngldm_settings.alpha, count_isolated=ngtdm_settings.count_isolated_voxels)


def _neighbourhood_counts(levels, n_levels, offsets, n_in_plane, alpha, per_slice, volume, dependences, differences,
                          count_isolated, level_type, count_type, sum_type) -> NeighbourhoodMatrices:
    """:func:`neighbourhood_matrices` of checked arguments, with the kernel's types for levels, counts and sums.

    Allocates the outputs and the work arrays of :func:`_neighbourhood_kernel` (``level_type``: the padded
    levels; ``count_type``: the dependences and neighbour counts; ``sum_type``: the neighbour level sums).
    """
    # level differences are integers below n_levels: |difference| <= alpha
    # exactly when it is <= floor(alpha), capped so that a huge alpha fits an int
    tolerance = level_type(min(np.floor(alpha), n_levels))
    nz, ny, nx = levels.shape
    n_used = len(offsets) if volume else n_in_plane
    pads = np.abs(offsets[:n_used]).max(axis=0) if n_used else np.zeros(3, dtype=np.int64)
    pad_x = int(pads[2])
    padded = np.zeros((nz + 2 * int(pads[0])) * (ny + 2 * int(pads[1])) * (nx + 2 * pad_x) + 2 * pad_x,
                      level_type)
    n_centres = ny * (nx + 2 * pad_x)
    n_slice_rows = nz if per_slice else 0
    n_volume_rows = 1 if volume else 0
    matrices = NeighbourhoodMatrices(
        np.zeros((n_slice_rows, n_levels, n_in_plane + 1), dtype=np.int64),
        np.zeros((n_volume_rows, n_levels, len(offsets) + 1), dtype=np.int64),
        np.zeros((n_slice_rows, n_levels), dtype=np.int64), np.zeros((n_slice_rows, n_levels)),
        np.zeros((n_volume_rows, n_levels), dtype=np.int64), np.zeros((n_volume_rows, n_levels)))
    _neighbourhood_kernel(levels, n_levels, offsets, n_in_plane, tolerance, per_slice, volume, dependences,
                          differences, count_isolated, padded, pads.astype(np.int64), np.empty(n_centres, count_type),
                          np.empty(n_centres, count_type), np.empty(n_centres, sum_type), *matrices)
    return matrices


@njit
def _neighbourhood_kernel(levels, n_levels, offsets, n_in_plane, tolerance, per_slice, volume, dependences,
                          differences, count_isolated, padded, pads, dependence, n_neighbours, total,
                          slice_dependence, volume_dependence, slice_counts, slice_sums, volume_counts, volume_sums):
    """Dependences and neighbour sums of every ROI voxel, per slice and for the volume, in one pass.

    Works plane by plane: a slice's dependences, neighbour counts and level
    sums are accumulated one offset at a time, in long loops without
    branches over contiguous voxels that the compiler vectorises (the border
    columns of the padded slice are computed too, and never counted); the
    in-plane offsets come first, so one pass gives both neighbourhoods. The
    sums are integers, and ``|i W - sum|`` is exact, so the order of the
    additions changes nothing. Parameters and outputs (zeros on entry):
    :func:`neighbourhood_matrices`, which allocates every array; ``tolerance``:
    the largest level difference of a dependence, in the type of ``padded``. ``padded``
    (zeros, in the smallest unsigned type holding ``n_levels``) receives a
    flat copy of ``levels`` with a border of ``pads = (z, y, x)`` zeros (and
    ``pad_x`` more at both ends); ``dependence``, ``n_neighbours`` and
    ``total`` hold one padded slice of counts, in the smallest unsigned
    types holding the number of neighbours + 1 and their level sum (uint16 at
    least: fewer compiled variants); small types keep a slice in cache and
    fill more vector lanes. Allocations and slice assignments are left out of
    the kernel: each costs a compilation on first use.
    """
    nz, ny, nx = levels.shape
    n_offsets = offsets.shape[0]
    n_used = n_offsets if volume else n_in_plane
    pad_z, pad_y, pad_x = pads[0], pads[1], pads[2]
    # a flat copy with a border of zeros (outside the ROI: never a neighbour), so that the
    # neighbours of a slice's voxels are a contiguous range shifted by a constant; the
    # ``pad_x`` extra voxels at both ends hold the neighbours of the first and last border columns
    p_y = ny + 2 * pad_y
    p_x = nx + 2 * pad_x
    plane = p_y * p_x
    for z in range(nz):
        for y in range(ny):
            start = pad_x + ((z + pad_z) * p_y + y + pad_y) * p_x + pad_x
            for x in range(nx):
                padded[start + x] = levels[z, y, x]
    for z in range(nz):
        first_row, stop_row = _roi_rows(levels[z])
        if first_row >= stop_row:
            continue
        # the rows of the slice from its first to its last ROI voxel, border columns included
        n_centres = (stop_row - first_row) * p_x
        start = pad_x + ((z + pad_z) * p_y + pad_y + first_row) * p_x
        centre = padded[start:start + n_centres]
        for x in range(n_centres):
            dependence[x] = 1
            n_neighbours[x] = 0
            total[x] = 0
        for o in range(n_used):
            if o == n_in_plane and per_slice:  # the in-plane neighbourhood is complete
                _count_voxels(centre, dependence, total, n_neighbours, dependences, differences, count_isolated,
                              slice_dependence[z], slice_counts[z], slice_sums[z])
            first = start + offsets[o, 0] * plane + offsets[o, 1] * p_x + offsets[o, 2]
            neighbour = padded[first:first + n_centres]
            # branch-free loops over contiguous voxels (vectorised); outside the ROI (level 0) never depends
            if dependences and tolerance == 0:  # equal levels: compared in the levels' own type
                for x in range(n_centres):
                    level = neighbour[x]
                    dependence[x] += (level > 0) & (level == centre[x])
            elif dependences:
                for x in range(n_centres):
                    level = neighbour[x]
                    # unsigned levels: the difference as the larger minus the smaller
                    difference = max(level, centre[x]) - min(level, centre[x])
                    dependence[x] += (level > 0) & (difference <= tolerance)
            if differences:
                for x in range(n_centres):
                    total[x] += neighbour[x]
                for x in range(n_centres):
                    n_neighbours[x] += neighbour[x] > 0
        if per_slice and n_in_plane == n_used:
            _count_voxels(centre, dependence, total, n_neighbours, dependences, differences, count_isolated,
                          slice_dependence[z], slice_counts[z], slice_sums[z])
        if volume:
            _count_voxels(centre, dependence, total, n_neighbours, dependences, differences, count_isolated,
                          volume_dependence[0], volume_counts[0], volume_sums[0])


@njit
def _roi_rows(plane):
    """``(first, stop)``: the rows of a 2D array from its first to its last holding a non-zero value
    (``first >= stop`` when none does)."""
    first = plane.shape[0]
    stop = 0
    for y in range(plane.shape[0]):
        for x in range(plane.shape[1]):
            if plane[y, x] != 0:
                first = min(first, y)
                stop = y + 1
                break
    return first, stop


@njit
def _count_voxels(centre, dependence, total, n_neighbours, dependences, differences, count_isolated,
                  dependence_matrix, counts, sums):
    """Add the ROI voxels of a slice to the dependence matrix and (or) the NGTDM columns.

    ``dependence_matrix[level - 1, dependence - 1]`` counts the voxels by
    level and dependence; ``counts`` and ``sums`` are the NGTDM columns
    ``n_i`` and ``s_i``, from ``total`` and ``n_neighbours``, the level sums
    and counts of the ROI neighbours (the centre excluded); a voxel without
    neighbours counts only with ``count_isolated`` (with a difference of 0).
    """
    if dependences:
        for x in range(centre.size):
            level = centre[x]
            if level > 0:
                dependence_matrix[level - 1, dependence[x] - 1] += 1
    if not differences:
        return
    for x in range(centre.size):
        level = centre[x]
        if level == 0:
            continue
        neighbours = np.int64(n_neighbours[x])
        if neighbours > 0:
            counts[level - 1] += 1
            # |i - total / W| computed from the exact integer |i W - total|
            sums[level - 1] += abs(np.int64(level) * neighbours - np.int64(total[x])) / neighbours
        elif count_isolated:
            counts[level - 1] += 1
