"""Zones of a discretised array: connected voxels of one grey level, for the zone families.

A *zone* is a group of linked voxels of the ROI that share one discretised
grey level. Two voxels are linked when their Chebyshev distance is at most the
linkage distance (1: 26-connectivity in 3D, 8-connectivity within a slice for
in-plane zones). The grey level size zone family
(:mod:`radiomix.features.glszm`) counts zones by size, the grey level distance
zone family (:mod:`radiomix.features.gldzm`) by their distance to the ROI
edge (pyradiomics' GLSZM is the GLSZM family with its settings).

Linkage distance 1 is labelled by union-find over provisional zones (one
raster scan), larger distances by a flood fill; both number the zones in
raster order of their first voxel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError, SpecError


class Zones(NamedTuple):
    """Zones of a discretised array, numbered in raster order of their first voxel.

    Attributes
    ----------
    labels : ndarray of int32 or None
        Zone number ``1..n_zones`` of each voxel, 0 outside the ROI; same
        shape as the input (None when not asked for).
    level : ndarray of int32
        Grey level of each zone (``1..Ng``).
    size : ndarray of int64
        Number of voxels of each zone.
    first_slice : ndarray of int32
        Slice (axis 0 index) of the zone's first voxel in raster order;
        non-decreasing, and for in-plane zones the zone's only slice.
    """

    labels: np.ndarray
    level: np.ndarray
    size: np.ndarray
    first_slice: np.ndarray


@njit
def _label_zones(levels, linkage_distance, in_plane):
    """Flood-fill kernel of :func:`label_zones` for any linkage distance (explicit stack, no recursion).

    Works on a flat copy padded with ``linkage_distance`` zeros on each side,
    so that neighbours are flat-index offsets without bounds checks. A voxel
    is set to 0 in the copy when it joins a zone, so one load tells whether a
    neighbour is an unvisited voxel of the zone's level.
    """
    n_z, n_y, n_x = levels.shape
    pad_z = 0 if in_plane else linkage_distance
    pad = linkage_distance
    p_y = n_y + 2 * pad
    p_x = n_x + 2 * pad
    plane = p_y * p_x
    unvisited = np.zeros((n_z + 2 * pad_z) * plane, np.int32)
    n_roi = 0
    for z in range(n_z):
        for y in range(n_y):
            row = (z + pad_z) * plane + (y + pad) * p_x + pad
            for x in range(n_x):
                level = levels[z, y, x]
                if level > 0:
                    unvisited[row + x] = level
                    n_roi += 1

    n_offsets = (2 * pad_z + 1) * (2 * pad + 1) * (2 * pad + 1) - 1
    offsets = np.empty(n_offsets, np.int64)
    k = 0
    for dz in range(-pad_z, pad_z + 1):
        for dy in range(-pad, pad + 1):
            for dx in range(-pad, pad + 1):
                if dz != 0 or dy != 0 or dx != 0:
                    offsets[k] = dz * plane + dy * p_x + dx
                    k += 1

    padded_labels = np.zeros(unvisited.size, np.int32)
    zone_level = np.empty(n_roi, np.int32)
    zone_size = np.empty(n_roi, np.int64)
    zone_slice = np.empty(n_roi, np.int32)
    stack = np.empty(n_roi, np.int64)  # every voxel is pushed at most once
    n_zones = 0
    for z in range(n_z):
        for y in range(n_y):
            row = (z + pad_z) * plane + (y + pad) * p_x + pad
            for x in range(n_x):
                seed = row + x
                level = unvisited[seed]
                if level == 0:
                    continue
                n_zones += 1
                unvisited[seed] = 0
                stack[0] = seed
                top = 1
                size = 0
                while top > 0:
                    top -= 1
                    voxel = stack[top]
                    size += 1
                    padded_labels[voxel] = n_zones
                    for k in range(n_offsets):
                        neighbour = voxel + offsets[k]
                        if unvisited[neighbour] == level:
                            unvisited[neighbour] = 0
                            stack[top] = neighbour
                            top += 1
                zone_level[n_zones - 1] = level
                zone_size[n_zones - 1] = size
                zone_slice[n_zones - 1] = z

    labels = np.empty((n_z, n_y, n_x), np.int32)
    for z in range(n_z):
        for y in range(n_y):
            row = (z + pad_z) * plane + (y + pad) * p_x + pad
            for x in range(n_x):
                labels[z, y, x] = padded_labels[row + x]
    return labels, zone_level[:n_zones].copy(), zone_size[:n_zones].copy(), zone_slice[:n_zones].copy()


# Zones of linkage distance 1 by union-find over provisional zones (a two-pass
# labelling, with Wu et al.'s SAUF decision tree in the plane): a raster scan
# gives each ROI voxel the provisional zone of an earlier in-plane neighbour
# of its level, or a new one, and records which provisional zones meet in the
# plane and, for the 3D zones, across neighbouring slices. A provisional zone
# is numbered in raster order of its first voxel, and the root of a tree is
# always its smallest number, so numbering the roots in order numbers the
# zones in raster order of their first voxel, as the flood fill does.


@njit
def _zone_root(parent, zone):
    """Root of provisional zone ``zone`` in the union-find forest ``parent`` (path halving)."""
    while parent[zone] != zone:
        parent[zone] = parent[parent[zone]]
        zone = parent[zone]
    return zone


@njit
def _join(parent, first, second):
    """Merge the trees of two provisional zones under the smaller of their roots."""
    first = _zone_root(parent, np.int64(first))  # one compiled variant for any integer arguments
    second = _zone_root(parent, np.int64(second))
    if first < second:
        parent[second] = first
    elif second < first:
        parent[first] = second


def _provisional_zones(levels, volume):
    """Provisional zones of ``levels`` and the union-find forests joining them into zones.

    One raster scan gives each ROI voxel the provisional zone of an earlier
    in-plane neighbour of its level (or a new one) and joins the provisional
    zones that meet within the slice; with ``volume``, it also joins them
    with those of the voxel's neighbours of its level in the slice before.

    Parameters
    ----------
    levels : ndarray of int32, shape (nz, ny, nx)
        Grey levels, 0 (or less) outside the ROI.
    volume : bool
        Build the forest of the volume's (3D) zones as well.

    Returns
    -------
    padded : ndarray of int32, shape (nz * (ny + 2) * (nx + 2),)
        Levels with a border of zeros one voxel wide in y and x, flattened;
        0 outside the ROI.
    provisional : ndarray of int32, same shape as ``padded``
        Provisional zone of each ROI voxel (undefined elsewhere).
    in_plane_parent, volume_parent : ndarray of int64, shape (n_provisional,)
        Union-find forests of the in-plane and of the volume's zones (each
        tree one zone); ``volume_parent`` is meaningless without ``volume``.
    voxel_count, zone_slice, zone_level : ndarray, shape (n_provisional,)
        Voxels, slice and grey level of each provisional zone.

    Notes
    -----
    In the plane, of the neighbours scanned before a voxel, the one above
    (``y - 1``) touches the other three: when it shares the voxel's level,
    those of the three that share it too already belong to its zone.
    Otherwise the upper-right neighbour touches the voxel's left neighbour
    only through the upper-left one, so at most one pair of zones meets at
    each voxel.

    Across slices, once a voxel is processed every voxel of its level among
    its 9 neighbours in the slice before is in its zone. So when the
    voxel's left neighbour shares its level (and zone), only the neighbours
    at ``x + 1`` are new; when the neighbour right below shares the level,
    the others of that level touch it in-plane and are already in its zone;
    otherwise the 8 neighbours around it form a ring whose consecutive
    members touch, and one join per run of matching members suffices.
    """
    n_z, n_y, n_x = levels.shape
    n_roi = int(np.count_nonzero(levels > 0))
    padded = np.zeros(n_z * (n_y + 2) * (n_x + 2), np.int32)
    provisional = np.empty(padded.size, np.int32)
    forests = np.empty((2, n_roi), np.int64)
    voxel_count = np.zeros(n_roi, np.int64)
    zone_slice = np.empty(n_roi, np.int32)
    zone_level = np.empty(n_roi, np.int32)
    n_zones = _provisional_zones_kernel(levels, volume, padded, provisional, forests[0], forests[1], voxel_count,
                                        zone_slice, zone_level)
    return (padded, provisional, forests[0, :n_zones].copy(), forests[1, :n_zones].copy(),
            voxel_count[:n_zones].copy(), zone_slice[:n_zones].copy(), zone_level[:n_zones].copy())


@njit
def _provisional_zones_kernel(levels, volume, padded, provisional, in_plane_parent, volume_parent, voxel_count,
                              zone_slice, zone_level):
    """:func:`_provisional_zones` into its arrays, allocated by it (``padded`` zeros, ``voxel_count`` zeros,
    the others one entry per ROI voxel at least); returns the number of provisional zones.

    Allocations are left out of the kernel: each compiles on first use.
    """
    n_z, n_y, n_x = levels.shape
    p_x = n_x + 2
    plane = (n_y + 2) * p_x
    for z in range(n_z):
        for y in range(n_y):
            row = z * plane + (y + 1) * p_x + 1
            for x in range(n_x):
                level = levels[z, y, x]
                padded[row + x] = level if level > 0 else 0
    ring = np.empty(8, np.int64)  # flat offsets of the 8 in-plane neighbours, in ring order
    ring[0], ring[1], ring[2], ring[3] = -p_x - 1, -p_x, -p_x + 1, 1
    ring[4], ring[5], ring[6], ring[7] = p_x + 1, p_x, p_x - 1, -1
    n_zones = 0
    for z in range(n_z):
        for y in range(n_y):
            row = z * plane + (y + 1) * p_x + 1
            for voxel in range(row, row + n_x):
                level = padded[voxel]
                if level == 0:
                    continue
                above = voxel - p_x
                if padded[above] == level:
                    zone = np.int64(provisional[above])
                elif padded[above + 1] == level:
                    zone = np.int64(provisional[above + 1])
                    if padded[above - 1] == level:
                        _join(in_plane_parent, zone, provisional[above - 1])
                        _join(volume_parent, zone, provisional[above - 1])
                    elif padded[voxel - 1] == level:
                        _join(in_plane_parent, zone, provisional[voxel - 1])
                        _join(volume_parent, zone, provisional[voxel - 1])
                elif padded[above - 1] == level:
                    zone = np.int64(provisional[above - 1])
                elif padded[voxel - 1] == level:
                    zone = np.int64(provisional[voxel - 1])
                else:
                    zone = n_zones
                    in_plane_parent[zone] = zone
                    volume_parent[zone] = zone
                    zone_slice[zone] = z
                    zone_level[zone] = level
                    n_zones += 1
                provisional[voxel] = zone
                voxel_count[zone] += 1
                if z == 0 or not volume:
                    continue
                below = voxel - plane
                if padded[voxel - 1] == level:
                    right = below + 1
                    if padded[right] == level:
                        _join(volume_parent, zone, provisional[right])
                    else:
                        if padded[right - p_x] == level:
                            _join(volume_parent, zone, provisional[right - p_x])
                        if padded[right + p_x] == level:
                            _join(volume_parent, zone, provisional[right + p_x])
                elif padded[below] == level:
                    _join(volume_parent, zone, provisional[below])
                else:
                    # the 8 neighbours around ``below``, in ring order: one join per run of matching
                    # members (a loop rather than 8 unrolled joins: far less code to compile)
                    previous = padded[below + ring[7]] == level
                    n_matching = 0
                    for k in range(8):
                        member = below + ring[k]
                        matching = padded[member] == level
                        if matching and not previous:
                            _join(volume_parent, zone, provisional[member])
                        n_matching += matching
                        previous = matching
                    if n_matching == 8:
                        _join(volume_parent, zone, provisional[below + ring[0]])
    return n_zones


@njit
def _number_zones(parent, voxel_count, zone_slice, zone_level):
    """Zones of a union-find forest of provisional zones, numbered by their roots.

    ``parent`` is flattened in place (every entry set to its root; a root
    is smaller than the zones under it, so one pass in order suffices).

    Returns
    -------
    zone_of : ndarray of int32, shape (n_provisional,)
        Zone index (from 0) of each provisional zone.
    level, size, first_slice : ndarray
        Grey level, voxels and first slice of each zone (as in :class:`Zones`).
    """
    n_provisional = parent.size
    zone_of = np.empty(n_provisional, np.int32)
    level = np.empty(n_provisional, np.int32)
    size = np.zeros(n_provisional, np.int64)
    first_slice = np.empty(n_provisional, np.int32)
    n_zones = 0
    for zone in range(n_provisional):
        root = parent[parent[zone]]
        parent[zone] = root
        if root == zone:
            zone_of[zone] = n_zones
            level[n_zones] = zone_level[zone]
            first_slice[n_zones] = zone_slice[zone]
            n_zones += 1
        else:
            zone_of[zone] = zone_of[root]
        size[zone_of[zone]] += voxel_count[zone]
    return zone_of, level[:n_zones].copy(), size[:n_zones].copy(), first_slice[:n_zones].copy()


@njit
def _zone_labels(padded, provisional, zone_of, n_z, n_y, n_x):
    """Zone number (from 1) of each voxel, 0 outside the ROI, from the provisional zones."""
    p_x = n_x + 2
    plane = (n_y + 2) * p_x
    labels = np.zeros((n_z, n_y, n_x), np.int32)
    for z in range(n_z):
        for y in range(n_y):
            row = z * plane + (y + 1) * p_x + 1
            for x in range(n_x):
                if padded[row + x] > 0:
                    labels[z, y, x] = zone_of[provisional[row + x]] + 1
    return labels


def zones_by_connectivity(levels: np.ndarray, linkage_distance: int, in_plane: tuple[bool, ...],
                          with_labels: bool) -> dict[bool, Zones]:
    """Zones of ``levels`` for each connectivity of ``in_plane``, labelling the array once.

    Parameters as for :func:`label_zones`, with one flag of ``in_plane`` per
    connectivity asked for; returns ``in_plane`` flag -> :class:`Zones`
    (``labels`` None unless ``with_labels``). For linkage distance 1 the in-plane zones are found first; the volume's
    zones join them across slices. Larger distances flood-fill each
    connectivity.
    """
    levels = np.ascontiguousarray(levels, dtype=np.int32)
    if levels.ndim != 3:
        raise InputError(f"zone labelling needs a 3D (z, y, x) array, got {levels.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    if int(linkage_distance) < 1:
        raise SpecError(f"linkage_distance must be at least 1, got {linkage_distance}")
    if int(linkage_distance) != 1:
        labelled = {flag: Zones(*_label_zones(levels, int(linkage_distance), bool(flag))) for flag in in_plane}
        return labelled if with_labels else {flag: zones._replace(labels=None) for flag, zones in labelled.items()}
    n_z, n_y, n_x = levels.shape
    padded, provisional, in_plane_parent, volume_parent, voxel_count, zone_slice, zone_level = \
        _provisional_zones(levels, False in in_plane)
    forests = {True: in_plane_parent, False: volume_parent}
    result = {}
    for flag in in_plane:
        zone_of, *table = _number_zones(forests[flag], voxel_count, zone_slice, zone_level)
        result[flag] = Zones(_zone_labels(padded, provisional, zone_of, n_z, n_y, n_x) if with_labels else None, *table)
    return result


def label_zones(discretised: np.ndarray, linkage_distance: int = 1, in_plane: bool = False) -> Zones:
    """Connected zones of equal grey level.

    Parameters
    ----------
    discretised : ndarray of int, shape (z, y, x)
        Grey levels ``>= 1`` inside the ROI, ``0`` (or negative) outside.
    linkage_distance : int
        Largest Chebyshev distance (voxels) between linked voxels; 1 gives
        26-connectivity (8-connectivity in-plane).
    in_plane : bool
        Link voxels only within a slice (axis 0), for the 2D and 2.5D
        aggregations.

    Returns
    -------
    Zones
        Labels and per-zone grey level, size (voxels) and slice.
    """
    return zones_by_connectivity(discretised, linkage_distance, (bool(in_plane),), True)[bool(in_plane)]


def zone_matrix(zone_level: np.ndarray, zone_column: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Zones counted by grey level and column (size or distance), restricted to the columns that occur.

    ``zone_level``: level ``1..n_levels`` of each zone; ``zone_column``: its
    size or distance (>= 1). Returns ``counts`` (int64, ``(n_levels,
    n_columns)``: zones of level ``i + 1`` and column value ``columns[j]``)
    and ``columns``, the column values that occur, increasing.
    """
    zone_column = np.asarray(zone_column, dtype=np.int64)
    zones_by_column = np.bincount(zone_column)
    columns = np.flatnonzero(zones_by_column)
    column_index = np.zeros(zones_by_column.size, dtype=np.int64)
    column_index[columns] = np.arange(columns.size)
    flat = (np.asarray(zone_level, dtype=np.int64) - 1) * columns.size + column_index[zone_column]
    counts = np.bincount(flat, minlength=n_levels * columns.size).reshape(n_levels, columns.size)
    return counts, columns.astype(np.float64)
