"""Grey level size zone matrix (GLSZM) features, IBSI-1 section "Grey level size zone based features".

A *zone* is a group of linked voxels of the intensity mask that share one
discretised grey level. Two voxels are linked when their Chebyshev distance is
at most the linkage distance (1: 26-connectivity in 3D, 8-connectivity within a
slice in 2D). Element ``s[i, j]`` of the GLSZM counts the zones of grey level
``i + 1`` holding ``j + 1`` voxels.

Aggregation (labels of ``AGGREGATIONS_BY_DIMENSION["glszm"]``):

* ``2D``: zones within each slice (axis 0), features per slice, averaged over
  the slices that hold intensity-mask voxels;
* ``2.5D``: the slice matrices summed (and their voxel counts), features once;
* ``3D``: zones in the volume, features once.

The zone labelling and the matrix-to-features function are shared with the
grey level distance zone family (:mod:`radiomix.features.gldzm`), whose matrix
has the same rows and counts the same zones by their distance to the ROI edge
instead of their size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError, SpecError
from radiomix.features import registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue, RoiImage
from radiomix.features.texture import divided_by_count_powers, grow_box_to_row

FAMILY = "glszm"

STATUS_EMPTY_ROI = "undefined: no voxel in the intensity mask"
"""Status of every value of a ROI whose intensity mask holds no voxel."""

# Notation of the descriptions: s[i, j] is the number of zones of grey level i
# (1..Ng) and size j (1..Nz voxels), N_s the number of zones, N_v the number of
# intensity-mask voxels, s_i. = sum_j s[i, j], s_.j = sum_i s[i, j],
# p[i, j] = s[i, j] / N_s.
FEATURES = (
    ("small_zone_emphasis", "Small zone emphasis", "5QRC",
     "sum_j s_.j / j^2 / N_s"),
    ("large_zone_emphasis", "Large zone emphasis", "48P8",
     "sum_j j^2 s_.j / N_s"),
    ("low_grey_level_zone_emphasis", "Low grey level zone emphasis", "XMSY",
     "sum_i s_i. / i^2 / N_s"),
    ("high_grey_level_zone_emphasis", "High grey level zone emphasis", "5GN9",
     "sum_i i^2 s_i. / N_s"),
    ("small_zone_low_grey_level_emphasis", "Small zone low grey level emphasis", "5RAI",
     "sum_ij s[i, j] / (i^2 j^2) / N_s"),
    ("small_zone_high_grey_level_emphasis", "Small zone high grey level emphasis", "HW1V",
     "sum_ij i^2 s[i, j] / j^2 / N_s"),
    ("large_zone_low_grey_level_emphasis", "Large zone low grey level emphasis", "YH51",
     "sum_ij j^2 s[i, j] / i^2 / N_s"),
    ("large_zone_high_grey_level_emphasis", "Large zone high grey level emphasis", "J17V",
     "sum_ij i^2 j^2 s[i, j] / N_s"),
    ("grey_level_non_uniformity", "Grey level non-uniformity", "JNSA",
     "sum_i s_i.^2 / N_s"),
    ("normalised_grey_level_non_uniformity", "Normalised grey level non-uniformity", "Y1RO",
     "sum_i s_i.^2 / N_s^2"),
    ("zone_size_non_uniformity", "Zone size non-uniformity", "4JP3",
     "sum_j s_.j^2 / N_s"),
    ("normalised_zone_size_non_uniformity", "Normalised zone size non-uniformity", "VB3A",
     "sum_j s_.j^2 / N_s^2"),
    ("zone_percentage", "Zone percentage", "P30P",
     "N_s / N_v"),
    ("grey_level_variance", "Grey level variance", "BYLV",
     "sum_ij (i - mu)^2 p[i, j], mu = sum_ij i p[i, j]"),
    ("zone_size_variance", "Zone size variance", "3NSA",
     "sum_ij (j - mu)^2 p[i, j], mu = sum_ij j p[i, j]"),
    ("zone_size_entropy", "Zone size entropy", "GU8N",
     "-sum_ij p[i, j] log2 p[i, j] (over p > 0)"),
)
"""``(key, IBSI name, IBSI code, formula)``, in the order of :func:`zone_matrix_features`."""

for _key, _name, _code, _formula in FEATURES:
    registry.define(FAMILY, _key, _name, _code, "1", _formula)


class Zones(NamedTuple):
    """Zones of a discretised array, numbered in raster order of their first voxel.

    Attributes
    ----------
    labels : ndarray of int32
        Zone number ``1..n_zones`` of each voxel, 0 outside the ROI; same
        shape as the input.
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
    first = _zone_root(parent, first)
    second = _zone_root(parent, second)
    if first < second:
        parent[second] = first
    elif second < first:
        parent[first] = second


@njit
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
    p_x = n_x + 2
    plane = (n_y + 2) * p_x
    padded = np.zeros(n_z * plane, np.int32)
    n_roi = 0
    for z in range(n_z):
        for y in range(n_y):
            row = z * plane + (y + 1) * p_x + 1
            for x in range(n_x):
                level = max(levels[z, y, x], 0)
                padded[row + x] = level
                n_roi += level > 0
    provisional = np.empty(padded.size, np.int32)
    in_plane_parent = np.empty(n_roi, np.int64)
    volume_parent = np.empty(n_roi, np.int64)
    voxel_count = np.zeros(n_roi, np.int64)
    zone_slice = np.empty(n_roi, np.int32)
    zone_level = np.empty(n_roi, np.int32)
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
                    zone = provisional[above]
                elif padded[above + 1] == level:
                    zone = provisional[above + 1]
                    if padded[above - 1] == level:
                        _join(in_plane_parent, zone, provisional[above - 1])
                        _join(volume_parent, zone, provisional[above - 1])
                    elif padded[voxel - 1] == level:
                        _join(in_plane_parent, zone, provisional[voxel - 1])
                        _join(volume_parent, zone, provisional[voxel - 1])
                elif padded[above - 1] == level:
                    zone = provisional[above - 1]
                elif padded[voxel - 1] == level:
                    zone = provisional[voxel - 1]
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
                    ring_0 = below - p_x - 1
                    ring_1 = below - p_x
                    ring_2 = below - p_x + 1
                    ring_3 = below + 1
                    ring_4 = below + p_x + 1
                    ring_5 = below + p_x
                    ring_6 = below + p_x - 1
                    ring_7 = below - 1
                    match_0 = padded[ring_0] == level
                    match_1 = padded[ring_1] == level
                    match_2 = padded[ring_2] == level
                    match_3 = padded[ring_3] == level
                    match_4 = padded[ring_4] == level
                    match_5 = padded[ring_5] == level
                    match_6 = padded[ring_6] == level
                    match_7 = padded[ring_7] == level
                    if match_0 and not match_7:
                        _join(volume_parent, zone, provisional[ring_0])
                    if match_1 and not match_0:
                        _join(volume_parent, zone, provisional[ring_1])
                    if match_2 and not match_1:
                        _join(volume_parent, zone, provisional[ring_2])
                    if match_3 and not match_2:
                        _join(volume_parent, zone, provisional[ring_3])
                    if match_4 and not match_3:
                        _join(volume_parent, zone, provisional[ring_4])
                    if match_5 and not match_4:
                        _join(volume_parent, zone, provisional[ring_5])
                    if match_6 and not match_5:
                        _join(volume_parent, zone, provisional[ring_6])
                    if match_7 and not match_6:
                        _join(volume_parent, zone, provisional[ring_7])
                    if (match_0 and match_1 and match_2 and match_3 and match_4 and match_5 and match_6
                            and match_7):
                        _join(volume_parent, zone, provisional[ring_0])
    return (padded, provisional, in_plane_parent[:n_zones].copy(), volume_parent[:n_zones].copy(),
            voxel_count[:n_zones].copy(), zone_slice[:n_zones].copy(), zone_level[:n_zones].copy())


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


class ZoneTable(NamedTuple):
    """Zones without their voxels: the fields of :class:`Zones` but ``labels``."""

    level: np.ndarray
    size: np.ndarray
    first_slice: np.ndarray


def _checked_zone_input(discretised: np.ndarray, linkage_distance: int) -> np.ndarray:
    levels = np.ascontiguousarray(discretised, dtype=np.int32)
    if levels.ndim != 3:
        raise InputError(f"zone labelling needs a 3D (z, y, x) array, got {levels.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    if int(linkage_distance) < 1:
        raise SpecError(f"linkage_distance must be at least 1, got {linkage_distance}")
    return levels


def zones_by_connectivity(levels: np.ndarray, linkage_distance: int, in_plane: tuple[bool, ...],
                          with_labels: bool) -> dict[bool, Zones | ZoneTable]:
    """Zones of ``levels`` for each connectivity of ``in_plane``, labelling the array once.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``>= 1`` inside the ROI, ``0`` (or negative) outside.
    linkage_distance : int
        Largest Chebyshev distance (voxels) between linked voxels.
    in_plane : tuple of bool
        ``True``: zones within each slice (2D, 2.5D); ``False``: zones in
        the volume (3D).
    with_labels : bool
        Return :class:`Zones` (with each voxel's zone) rather than
        :class:`ZoneTable`.

    Returns
    -------
    dict
        ``in_plane`` flag -> zones, numbered as by :func:`label_zones`.

    Notes
    -----
    For linkage distance 1 the in-plane zones are found first; the volume's
    zones join them across slices. Larger distances flood-fill each
    connectivity.
    """
    levels = _checked_zone_input(levels, linkage_distance)
    if int(linkage_distance) != 1:
        labelled = {flag: Zones(*_label_zones(levels, int(linkage_distance), bool(flag))) for flag in in_plane}
        return labelled if with_labels else {flag: ZoneTable(*zones[1:]) for flag, zones in labelled.items()}
    n_z, n_y, n_x = levels.shape
    padded, provisional, in_plane_parent, volume_parent, voxel_count, zone_slice, zone_level = \
        _provisional_zones(levels, False in in_plane)
    forests = {True: in_plane_parent, False: volume_parent}
    result = {}
    for flag in in_plane:
        zone_of, *table = _number_zones(forests[flag], voxel_count, zone_slice, zone_level)
        if with_labels:
            result[flag] = Zones(_zone_labels(padded, provisional, zone_of, n_z, n_y, n_x), *table)
        else:
            result[flag] = ZoneTable(*table)
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


def zone_count_matrix(zone_level: np.ndarray, zone_column: np.ndarray, n_levels: int) -> np.ndarray:
    """Count zones by grey level (rows) and a positive integer property (columns).

    Parameters
    ----------
    zone_level : ndarray of int
        Grey level ``1..n_levels`` of each zone.
    zone_column : ndarray of int
        Size (GLSZM) or distance (GLDZM) of each zone, ``>= 1``.
    n_levels : int
        Number of grey levels ``Ng`` (rows).

    Returns
    -------
    ndarray of float64, shape (n_levels, max(zone_column))
        Element ``[i, j]``: number of zones of level ``i + 1`` with property
        ``j + 1``; shape ``(n_levels, 0)`` without zones.
    """
    n_columns = int(zone_column.max()) if zone_column.size else 0
    flat = (zone_level.astype(np.int64) - 1) * n_columns + (zone_column.astype(np.int64) - 1)
    counts = np.bincount(flat, minlength=n_levels * n_columns)
    return counts.reshape(n_levels, n_columns).astype(np.float64)


def compact_zone_matrix(zone_level: np.ndarray, zone_column: np.ndarray,
                        n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """The zone count matrix restricted to the columns that hold zones.

    A GLSZM of a large ROI has mostly empty columns (sizes no zone has); the
    features only need the others.

    Parameters
    ----------
    zone_level, zone_column, n_levels
        As for :func:`zone_count_matrix`.

    Returns
    -------
    counts : ndarray of float64, shape (n_levels, n_present)
        Zone counts by grey level and present column.
    column_values : ndarray of float64, shape (n_present,)
        Size or distance of each column, increasing.
    """
    column_values, column_index = np.unique(zone_column, return_inverse=True)
    flat = (zone_level.astype(np.int64) - 1) * column_values.size + column_index
    counts = np.bincount(flat, minlength=n_levels * column_values.size)
    return counts.reshape(n_levels, column_values.size).astype(np.float64), column_values.astype(np.float64)


def zone_matrix_features(matrix: np.ndarray, n_voxels: int, column_values: np.ndarray | None = None) -> np.ndarray:
    """The 16 IBSI zone-matrix features of a GLSZM or GLDZM.

    Parameters
    ----------
    matrix : ndarray, shape (Ng, Nj)
        Zone counts by grey level ``i = 1..Ng`` (rows) and zone size or
        distance (columns); at least one zone.
    n_voxels : int
        Number of intensity-mask voxels ``N_v`` the matrix was counted on.
    column_values : ndarray, shape (Nj,), optional
        Size or distance ``j`` of each column; default ``1..Nj`` (the full
        matrix of :func:`zone_count_matrix`), or the ``column_values`` of
        :func:`compact_zone_matrix`.

    Returns
    -------
    ndarray of float64, shape (16,)
        Values in the order of :data:`FEATURES` (and of
        :data:`radiomix.features.gldzm.FEATURES`).
    """
    counts = np.asarray(matrix, dtype=np.float64)
    n_zones = counts.sum()
    grey = np.arange(1, counts.shape[0] + 1, dtype=np.float64)
    if column_values is None:
        column = np.arange(1, counts.shape[1] + 1, dtype=np.float64)
    else:
        column = np.asarray(column_values, dtype=np.float64)
    grey_sq = grey * grey
    column_sq = column * column
    per_level = counts.sum(axis=1)
    per_column = counts.sum(axis=0)
    probability = counts / n_zones
    level_prob = per_level / n_zones
    column_prob = per_column / n_zones
    level_mean = grey @ level_prob
    column_mean = column @ column_prob
    positive = probability[probability > 0]
    return np.array([
        (per_column / column_sq).sum() / n_zones,
        (per_column * column_sq).sum() / n_zones,
        (per_level / grey_sq).sum() / n_zones,
        (per_level * grey_sq).sum() / n_zones,
        (1.0 / grey_sq) @ counts @ (1.0 / column_sq) / n_zones,
        grey_sq @ counts @ (1.0 / column_sq) / n_zones,
        (1.0 / grey_sq) @ counts @ column_sq / n_zones,
        grey_sq @ counts @ column_sq / n_zones,
        (per_level * per_level).sum() / n_zones,
        (per_level * per_level).sum() / (n_zones * n_zones),
        (per_column * per_column).sum() / n_zones,
        (per_column * per_column).sum() / (n_zones * n_zones),
        n_zones / n_voxels,
        ((grey - level_mean) ** 2) @ level_prob,
        ((column - column_mean) ** 2) @ column_prob,
        -(positive * np.log2(positive)).sum(),
    ])


@njit
def _roi_summary(discretised, intensity_mask, morphological_mask):
    """One pass over a ROI's arrays: what :func:`check_roi` checks, and what the zone families need.

    Returns
    -------
    mismatched : bool
        Some voxel has a level ``> 0`` outside the intensity mask, or ``<= 0``
        inside it.
    outside_morphological : bool
        Some intensity-mask voxel lies outside the morphological mask.
    largest_level : float
        Largest value of ``discretised`` (``-inf`` for an empty array).
    low, high : ndarray of int64, shape (3,)
        Bounding box of the morphological mask (``low > high`` when empty).
    voxels_per_slice : ndarray of int64, shape (nz,)
        Intensity-mask voxels of each slice.
    """
    n_z, n_y, n_x = discretised.shape
    n_mismatched = 0
    n_outside_morphological = 0
    largest_level = -np.inf
    low = np.array([n_z, n_y, n_x], np.int64)
    high = np.zeros(3, np.int64)
    voxels_per_slice = np.zeros(n_z, np.int64)
    for z in range(n_z):
        count = 0
        for y in range(n_y):
            levels = discretised[z, y]
            intensity_row = intensity_mask[z, y]
            morphological_row = morphological_mask[z, y]
            n_morphological = 0
            # counts and maxima rather than flags and branches, so that the loops vectorise
            for x in range(n_x):
                inside = np.int64(intensity_row[x])
                morphological = np.int64(morphological_row[x])
                n_mismatched += np.int64(levels[x] > 0) ^ inside
                n_outside_morphological += inside & (1 - morphological)
                count += inside
                n_morphological += morphological
            if n_x > 0:
                row_largest = levels[0]
                for x in range(n_x):
                    row_largest = max(row_largest, levels[x])
                largest_level = max(largest_level, float(row_largest))
            if n_morphological > 0:
                grow_box_to_row(morphological_row, z, y, low, high)
        voxels_per_slice[z] = count
    mismatched = n_mismatched > 0
    outside_morphological = n_outside_morphological > 0
    return mismatched, outside_morphological, largest_level, low, high, voxels_per_slice


def _checked_roi_summary(roi: RoiImage):
    """:func:`_roi_summary` of ``roi`` once its arrays are checked; raise :class:`InputError` naming the fix."""
    if roi.discretised.shape != roi.intensity_mask.shape or roi.morphological_mask.shape != roi.intensity_mask.shape:
        raise InputError("discretised array and masks differ in shape "
                         f"({roi.discretised.shape}, {roi.intensity_mask.shape}, "
                         f"{roi.morphological_mask.shape}); build them on one grid")
    if roi.discretised.ndim != 3:
        raise InputError(f"zone families need 3D (z, y, x) arrays, got {roi.discretised.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    summary = _roi_summary(np.asarray(roi.discretised), np.asarray(roi.intensity_mask, dtype=np.bool_),
                           np.asarray(roi.morphological_mask, dtype=np.bool_))
    mismatched, outside_morphological, largest_level, _, _, voxels_per_slice = summary
    if mismatched:
        raise InputError("discretised grey levels must be >= 1 exactly inside the intensity mask and 0 "
                         "outside; re-run the discretisation on this mask")
    if voxels_per_slice.any() and int(largest_level) > roi.n_levels:
        raise InputError(f"grey level {int(largest_level)} exceeds n_levels={roi.n_levels}; "
                         "set n_levels to the number of discretisation bins")
    if outside_morphological:
        raise InputError("the intensity mask has voxels outside the morphological mask; "
                         "re-segmentation may only remove voxels from the ROI")
    return summary


def check_roi(roi: RoiImage) -> None:
    """Check the discretised array against the masks; raise :class:`InputError` naming the fix."""
    _checked_roi_summary(roi)


ZoneColumn = Callable[[Zones, np.ndarray, bool], np.ndarray]
"""``(zones, morphological_mask, in_plane) -> column index (>= 1) of each zone``."""


def compute_zone_family(family: str, keys: tuple[str, ...], roi: RoiImage, linkage_distance: int,
                        dimensions: tuple[str, ...], zone_column: ZoneColumn | None) -> list[FeatureValue]:
    """Features of a zone family (GLSZM or GLDZM) for the aggregations asked for.

    Parameters
    ----------
    family : str
        ``"glszm"`` or ``"gldzm"`` (aggregation labels and registry keys).
    keys : tuple of str
        Registry keys in the order of :func:`zone_matrix_features`.
    roi : RoiImage
        Discretised ROI; the arrays are cropped to the bounding box of the
        morphological mask before labelling.
    linkage_distance : int
        Chebyshev linkage distance (voxels).
    dimensions : tuple of {"2D", "2.5D", "3D"}
        Aggregations to compute.
    zone_column : callable or None
        Matrix column of each zone from the labelled zones (its distance to
        the ROI edge); None for the zone size, which needs no labels.

    Returns
    -------
    list of FeatureValue
        One value per key and aggregation label, in the order of ``dimensions``.
    """
    unknown = [d for d in dimensions if d not in AGGREGATIONS_BY_DIMENSION[family]]
    if unknown:
        raise SpecError(f"texture dimension {unknown[0]!r} is not one of 2D, 2.5D, 3D")
    *_, low, high, voxels_per_slice = _checked_roi_summary(roi)
    if not voxels_per_slice.any():
        return [FeatureValue(key, label, float("nan"), STATUS_EMPTY_ROI)
                for dimension in dimensions for label in AGGREGATIONS_BY_DIMENSION[family][dimension]
                for key in keys]
    box = tuple(slice(int(first), int(stop)) for first, stop in zip(low, high))
    levels = np.ascontiguousarray(roi.discretised[box], dtype=np.int32)
    voxels_per_slice = voxels_per_slice[box[0]]
    connectivities = tuple(dict.fromkeys(dimension != "3D" for dimension in dimensions))
    zone_tables = zones_by_connectivity(levels, linkage_distance, connectivities, zone_column is not None)
    if zone_column is None:
        columns = {in_plane: zones.size for in_plane, zones in zone_tables.items()}
    else:
        morphological = np.ascontiguousarray(roi.morphological_mask[box])
        columns = {in_plane: zone_column(zones, morphological, in_plane).astype(np.int64)
                   for in_plane, zones in zone_tables.items()}
    values = []
    for dimension in dimensions:
        in_plane = dimension != "3D"
        zones, column = zone_tables[in_plane], columns[in_plane]
        if dimension == "2D":
            occupied = np.flatnonzero(voxels_per_slice > 0)
            bounds = np.searchsorted(zones.first_slice, np.arange(levels.shape[0] + 1))
            result = _zone_features(zones.level, column, bounds[occupied], bounds[occupied + 1],
                                    voxels_per_slice[occupied].astype(np.float64), roi.n_levels).mean(axis=0)
        else:
            result = _zone_features(zones.level, column, np.zeros(1, np.int64),
                                    np.array([zones.level.size], np.int64),
                                    np.array([float(voxels_per_slice.sum())]), roi.n_levels)[0]
        for label in AGGREGATIONS_BY_DIMENSION[family][dimension]:
            values.extend(FeatureValue(key, label, float(value)) for key, value in zip(keys, result))
    return values


@njit
def _zone_feature_sums(zone_level, zone_column, starts, stops, n_levels):
    """Sums behind the features of :func:`zone_matrix_features`, for groups of zones, without building matrices.

    Parameters
    ----------
    zone_level : ndarray of int32
        Grey level ``1..n_levels`` of each zone.
    zone_column : ndarray of int64
        Size or distance (``>= 1``) of each zone.
    starts, stops : ndarray of int64
        Group ``g`` is the zones ``starts[g]:stops[g]`` (one slice, or all); none empty.
    n_levels : int
        Number of grey levels ``Ng``.

    Returns
    -------
    sums : ndarray of float64, shape (n_groups, 16)
        Columns in the order of :data:`FEATURES`, before the division by a
        power of ``N_s`` (:data:`_POWERS_OF_N_S`); the entropy complete.
    n_zones : ndarray of float64, shape (n_groups,)
        ``N_s`` of each group.

    Notes
    -----
    Sums over matrix elements weighted by a function of ``i`` and ``j`` are
    sums over zones; the non-uniformities need the zone counts per level
    and per column, and the entropy the counts per ``(column, level)``
    element: the group's zones are bucketed by column (a counting sort),
    and each bucket's zones counted by level.
    """
    values = np.empty((starts.size, 16))
    zone_counts = np.empty(starts.size)
    per_level = np.zeros(n_levels)
    level_count = np.zeros(n_levels, np.int64)
    largest_column = 0
    for z in range(zone_column.size):
        largest_column = max(largest_column, zone_column[z])
    column_count = np.zeros(largest_column + 1, np.int64)
    bucket_start = np.empty(largest_column + 1, np.int64)
    by_column = np.empty(zone_column.size, np.int64)
    for g in range(starts.size):
        start = starts[g]
        stop = stops[g]
        n_zones = float(stop - start)
        per_level[:] = 0.0
        small = 0.0
        large = 0.0
        low = 0.0
        high = 0.0
        small_low = 0.0
        small_high = 0.0
        large_low = 0.0
        large_high = 0.0
        mean_level = 0.0
        mean_column = 0.0
        for z in range(start, stop):
            level = float(zone_level[z])
            column = float(zone_column[z])
            level_sq = level * level
            column_sq = column * column
            per_level[zone_level[z] - 1] += 1.0
            small += 1.0 / column_sq
            large += column_sq
            low += 1.0 / level_sq
            high += level_sq
            small_low += 1.0 / (level_sq * column_sq)
            small_high += level_sq / column_sq
            large_low += column_sq / level_sq
            large_high += level_sq * column_sq
            mean_level += level
            mean_column += column
        mean_level /= n_zones
        mean_column /= n_zones
        level_non_uniformity = 0.0
        level_variance = 0.0
        for i in range(n_levels):
            level_non_uniformity += per_level[i] * per_level[i]
            level_variance += (i + 1.0 - mean_level) ** 2 * per_level[i]
        column_variance = 0.0
        for z in range(start, stop):
            column_variance += (zone_column[z] - mean_column) ** 2
        # counting sort of the group's zones by column
        for z in range(start, stop):
            column_count[zone_column[z]] += 1
        column_non_uniformity = 0.0
        position = 0
        for z in range(start, stop):
            column = zone_column[z]
            if column_count[column] > 0:  # the first zone of its column: reserve the bucket
                column_non_uniformity += column_count[column] * column_count[column]
                bucket_start[column] = position
                position += column_count[column]
                column_count[column] = 0
        for z in range(start, stop):
            column = zone_column[z]
            by_column[bucket_start[column]] = z
            bucket_start[column] += 1
        # in each bucket (now ending at bucket_start), count the zones of each level
        entropy = 0.0
        bucket_begin = 0
        for k in range(stop - start):
            level = zone_level[by_column[k]] - 1
            level_count[level] += 1
            if k + 1 == stop - start or zone_column[by_column[k + 1]] != zone_column[by_column[k]]:
                for m in range(bucket_begin, k + 1):
                    level = zone_level[by_column[m]] - 1
                    if level_count[level] > 0:
                        p = level_count[level] / n_zones
                        entropy -= p * np.log2(p)
                        level_count[level] = 0
                bucket_begin = k + 1
        out = values[g]
        out[0] = small
        out[1] = large
        out[2] = low
        out[3] = high
        out[4] = small_low
        out[5] = small_high
        out[6] = large_low
        out[7] = large_high
        out[8] = level_non_uniformity
        out[9] = level_non_uniformity
        out[10] = column_non_uniformity
        out[11] = column_non_uniformity
        out[12] = n_zones
        out[13] = level_variance
        out[14] = column_variance
        out[15] = entropy
        zone_counts[g] = n_zones
    return values, zone_counts


_POWERS_OF_N_S = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 0, 1, 1, 0])
"""Power of ``N_s`` dividing each column of :func:`_zone_feature_sums`' sums."""


def _zone_features(zone_level: np.ndarray, zone_column: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                   n_voxels: np.ndarray, n_levels: int) -> np.ndarray:
    """Features (rows, :data:`FEATURES` order) of the zone groups ``starts[g]:stops[g]`` with ``n_voxels[g]`` voxels."""
    sums, n_zones = _zone_feature_sums(zone_level, zone_column, starts, stops, n_levels)
    values = divided_by_count_powers(sums, n_zones, _POWERS_OF_N_S)
    values[:, 12] = n_zones / n_voxels
    return values


def compute(roi: RoiImage, settings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLSZM features of ``roi`` for each of ``dimensions``.

    Parameters
    ----------
    roi : RoiImage
        Discretised ROI (zones come from the intensity mask).
    settings : radiomix.spec.ZoneSettings
        ``linkage_distance`` (Chebyshev, voxels).
    dimensions : tuple of {"2D", "2.5D", "3D"}
        Aggregations; labels from ``AGGREGATIONS_BY_DIMENSION["glszm"]``.

    Returns
    -------
    list of FeatureValue
        16 values per aggregation; NaN with a status for an empty intensity mask.
    """
    keys = tuple(key for key, *_ in FEATURES)
    return compute_zone_family(FAMILY, keys, roi, settings.linkage_distance, tuple(dimensions), None)
