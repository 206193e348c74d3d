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
from radiomix.features.texture import divided_by_count_powers, roi_box

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
    """Flood-fill kernel of :func:`label_zones` (explicit stack, no recursion).

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
    levels = np.ascontiguousarray(discretised, dtype=np.int32)
    if levels.ndim != 3:
        raise InputError(f"zone labelling needs a 3D (z, y, x) array, got {levels.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    if int(linkage_distance) < 1:
        raise SpecError(f"linkage_distance must be at least 1, got {linkage_distance}")
    return Zones(*_label_zones(levels, int(linkage_distance), bool(in_plane)))


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


def check_roi(roi: RoiImage) -> None:
    """Check the discretised array against the masks; raise :class:`InputError` naming the fix."""
    if roi.discretised.shape != roi.intensity_mask.shape or roi.morphological_mask.shape != roi.intensity_mask.shape:
        raise InputError("discretised array and masks differ in shape "
                         f"({roi.discretised.shape}, {roi.intensity_mask.shape}, "
                         f"{roi.morphological_mask.shape}); build them on one grid")
    inside = roi.discretised > 0
    if not np.array_equal(inside, roi.intensity_mask):
        raise InputError("discretised grey levels must be >= 1 exactly inside the intensity mask and 0 "
                         "outside; re-run the discretisation on this mask")
    if inside.any() and int(roi.discretised.max()) > roi.n_levels:
        raise InputError(f"grey level {int(roi.discretised.max())} exceeds n_levels={roi.n_levels}; "
                         "set n_levels to the number of discretisation bins")
    if np.any(roi.intensity_mask & ~roi.morphological_mask):
        raise InputError("the intensity mask has voxels outside the morphological mask; "
                         "re-segmentation may only remove voxels from the ROI")


ZoneColumn = Callable[[Zones, np.ndarray, bool], np.ndarray]
"""``(zones, morphological_mask, in_plane) -> column index (>= 1) of each zone``."""


def compute_zone_family(family: str, keys: tuple[str, ...], roi: RoiImage, linkage_distance: int,
                        dimensions: tuple[str, ...], zone_column: ZoneColumn) -> list[FeatureValue]:
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
    zone_column : callable
        Matrix column of each zone: its size, or its distance to the ROI edge.

    Returns
    -------
    list of FeatureValue
        One value per key and aggregation label, in the order of ``dimensions``.
    """
    unknown = [d for d in dimensions if d not in AGGREGATIONS_BY_DIMENSION[family]]
    if unknown:
        raise SpecError(f"texture dimension {unknown[0]!r} is not one of 2D, 2.5D, 3D")
    check_roi(roi)
    if not roi.intensity_mask.any():
        return [FeatureValue(key, label, float("nan"), STATUS_EMPTY_ROI)
                for dimension in dimensions for label in AGGREGATIONS_BY_DIMENSION[family][dimension]
                for key in keys]
    box = roi_box(roi.morphological_mask)
    levels = np.ascontiguousarray(roi.discretised[box], dtype=np.int32)
    morphological = np.ascontiguousarray(roi.morphological_mask[box])
    voxels_per_slice = np.count_nonzero(levels > 0, axis=(1, 2))
    zone_tables = {}
    values = []
    for dimension in dimensions:
        in_plane = dimension != "3D"
        if in_plane not in zone_tables:
            zones = label_zones(levels, linkage_distance, in_plane)
            zone_tables[in_plane] = (zones, zone_column(zones, morphological, in_plane))
        zones, column = zone_tables[in_plane]
        if dimension == "2D":
            occupied = np.flatnonzero(voxels_per_slice > 0)
            bounds = np.searchsorted(zones.first_slice, np.arange(levels.shape[0] + 1))
            result = _zone_features(zones.level, column.astype(np.int64), bounds[occupied], bounds[occupied + 1],
                                    voxels_per_slice[occupied].astype(np.float64), roi.n_levels).mean(axis=0)
        else:
            result = _zone_features(zones.level, column.astype(np.int64), np.zeros(1, np.int64),
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


def _zone_size(zones: Zones, morphological_mask: np.ndarray, in_plane: bool) -> np.ndarray:
    """GLSZM column of each zone: its size in voxels (the masks are not needed)."""
    return zones.size


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
    return compute_zone_family(FAMILY, keys, roi, settings.linkage_distance, tuple(dimensions), _zone_size)
