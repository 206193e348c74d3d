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

Zones come from :mod:`radiomix.features.zones`. The features of a zone
family are shared with the grey level distance zone family
(:mod:`radiomix.features.gldzm`), whose matrix has the same rows and counts the
same zones by their distance to the ROI edge instead of their size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError, SpecError
from radiomix.features import registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue, RoiImage
from radiomix.features.texture import PYRADIOMICS_EPS, PresentLevels, emphasis_features, grow_box_to_row
from radiomix.features.zones import Zones, zone_matrix, zones_by_connectivity
from radiomix.spec import ZoneSettings

FAMILY = "glszm"

STATUS_EMPTY_ROI = "undefined: no voxel in the intensity mask"
"""Status of every value of a ROI whose intensity mask holds no voxel."""

FEATURE_KEYS = registry.keys(FAMILY)
"""Registry keys of the 16 GLSZM features, in manual order (the columns of :func:`_zone_features`)."""


@njit
def _roi_summary(discretised, intensity_mask, morphological_mask):
    """One pass over a ROI's arrays: what :func:`_checked_roi_summary` checks, and what the zone families need.

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
    low = np.empty(3, np.int64)  # filled element by element: np.array([...]) is one more compilation
    low[0], low[1], low[2] = n_z, n_y, n_x
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


ZoneColumn = Callable[[Zones, np.ndarray, bool], np.ndarray]
"""``(zones, morphological_mask, in_plane) -> column index (>= 1) of each zone``."""


def compute_zone_family(family: str, keys: tuple[str, ...], roi: RoiImage, settings: ZoneSettings,
                        dimensions: tuple[str, ...], zone_column: ZoneColumn | None) -> list[FeatureValue]:
    """Features of a zone family (GLSZM or GLDZM) for the aggregations asked for.

    Parameters
    ----------
    family : str
        ``"glszm"`` or ``"gldzm"`` (aggregation labels and registry keys).
    keys : tuple of str
        Registry keys in the order of :data:`FEATURE_KEYS`.
    roi : RoiImage
        Discretised ROI; the arrays are cropped to the bounding box of the
        morphological mask before labelling.
    settings : ZoneSettings
        ``linkage_distance`` (Chebyshev, voxels), ``slice_axis`` (the axis of
        the 2D / 2.5D slices) and ``undefined_values`` (the entropy's guard).
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
    if settings.slice_axis != 0:
        roi = _slices_along(roi, settings.slice_axis)
    linkage_distance = settings.linkage_distance
    eps = PYRADIOMICS_EPS if settings.undefined_values == "pyradiomics" else 0.0
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
                                    voxels_per_slice[occupied].astype(np.float64), roi.n_levels, eps).mean(axis=0)
        else:
            result = _zone_features(zones.level, column, np.zeros(1, np.int64),
                                    np.array([zones.level.size], np.int64),
                                    np.array([float(voxels_per_slice.sum())]), roi.n_levels, eps)[0]
        for label in AGGREGATIONS_BY_DIMENSION[family][dimension]:
            values.extend(FeatureValue(key, label, float(value)) for key, value in zip(keys, result))
    return values


def _zone_features(zone_level: np.ndarray, zone_column: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                   n_voxels: np.ndarray, n_levels: int, eps: float = 0.0) -> np.ndarray:
    """Features (rows in :data:`FEATURE_KEYS` order) of the zone groups ``starts[g]:stops[g]`` (``n_voxels[g]``).

    ``eps`` is added to ``p`` inside the entropy's logarithm (pyradiomics' guard; IBSI 0).

    Each group's matrix holds the columns (sizes or distances) that occur
    (:func:`~radiomix.features.zones.zone_matrix`), so it stays small.
    """
    grey_levels = np.arange(1.0, n_levels + 1)
    values = np.empty((starts.size, len(FEATURE_KEYS)))
    for group, (start, stop) in enumerate(zip(starts, stops)):
        counts, columns = zone_matrix(zone_level[start:stop], zone_column[start:stop], n_levels)
        values[group] = emphasis_features(counts[None], grey_levels, columns, eps)[0, :len(FEATURE_KEYS)]
    values[:, 12] = (stops - starts) / n_voxels
    return values


def _slices_along(roi: RoiImage, axis: int) -> RoiImage:
    """``roi`` with array axis ``axis`` moved first (the axis the zone families split into slices)."""
    def moved(array):
        return np.moveaxis(array, axis, 0)
    spacing = tuple(roi.spacing[i] for i in [axis] + [i for i in range(3) if i != axis])
    return dataclasses.replace(roi, intensity=moved(roi.intensity), morphological_mask=moved(roi.morphological_mask),
                               intensity_mask=moved(roi.intensity_mask), discretised=moved(roi.discretised),
                               spacing=spacing)


def level_features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings: ZoneSettings,
                   dimensions: tuple[str, ...] = ("3D",)) -> list[FeatureValue]:
    """:func:`compute` of discretised levels (``1..n_levels`` in the ROI, 0 outside; or
    :class:`~radiomix.features.texture.PresentLevels`), the ROI being the non-zero voxels."""
    levels = levels.levels if isinstance(levels, PresentLevels) else np.asarray(levels)
    inside = levels > 0
    roi = RoiImage(intensity=levels, morphological_mask=inside, intensity_mask=inside,
                   spacing=tuple(float(s) for s in spacing_zyx), discretised=levels, n_levels=int(n_levels),
                   bin_width=None, lower_bound=0.0, resegmentation_range=(-np.inf, np.inf))
    return compute(roi, settings, dimensions)


def compute(roi: RoiImage, settings: ZoneSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLSZM features of ``roi`` for each of ``dimensions``.

    Parameters
    ----------
    roi : RoiImage
        Discretised ROI (zones come from the intensity mask).
    settings : radiomix.spec.ZoneSettings
        ``linkage_distance`` (Chebyshev, voxels), ``slice_axis``, ``undefined_values``.
    dimensions : tuple of {"2D", "2.5D", "3D"}
        Aggregations; labels from ``AGGREGATIONS_BY_DIMENSION["glszm"]``.

    Returns
    -------
    list of FeatureValue
        16 values per aggregation; NaN with a status for an empty intensity mask.
    """
    return compute_zone_family(FAMILY, FEATURE_KEYS, roi, settings, tuple(dimensions), None)
