"""Grey level size zone matrix (GLSZM) features, IBSI-1 section "Grey level size zone based features".

A *zone* is a group of linked voxels of the intensity mask that share one
discretised grey level. Two voxels are linked when their Chebyshev distance is
at most the linkage distance (1: 26-connectivity in 3D, 8-connectivity within a
slice in 2D). Element ``s[i, j]`` of the GLSZM counts the zones of grey level
``i + 1`` holding ``j + 1`` voxels. ``2D``: zones within each slice (axis 0),
features per slice averaged over the slices that hold intensity-mask voxels;
``2.5D``: the slice matrices (and voxel counts) summed; ``3D``: zones in the volume.

Zones come from :mod:`radiomix.features.zones`. The features of a zone
family are shared with the grey level distance zone family
(:mod:`radiomix.features.gldzm`), whose matrix has the same rows and counts the
same zones by their distance to the ROI edge instead of their size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue, RoiImage
from radiomix.features.texture import PYRADIOMICS_EPS, PresentLevels, checked_dimensions, emphasis_features, roi_box
from radiomix.features.zones import Zones, zone_matrix, zones_by_connectivity
from radiomix.spec import ZoneSettings

FAMILY = "glszm"

STATUS_EMPTY_ROI = "undefined: no voxel in the intensity mask"
"""Status of every value of a ROI whose intensity mask holds no voxel."""

FEATURE_KEYS = registry.keys(FAMILY)
"""Registry keys of the 16 GLSZM features, in manual order (the columns of :func:`_zone_features`)."""


def _checked_zone_roi(roi: RoiImage) -> tuple[tuple[slice, slice, slice] | None, np.ndarray, int]:
    """The box of ``roi``'s morphological mask, its intensity mask (bool) and that mask's voxel count, checked.

    Raises
    ------
    InputError
        The arrays differ in shape or are not 3D; grey levels not ``>= 1`` exactly inside the intensity
        mask or above ``n_levels``; intensity-mask voxels outside the morphological mask.
    """
    discretised = np.asarray(roi.discretised)
    inside = np.asarray(roi.intensity_mask, dtype=bool)
    morphological = np.asarray(roi.morphological_mask, dtype=bool)
    if discretised.shape != inside.shape or morphological.shape != inside.shape:
        raise InputError("discretised array and masks differ in shape "
                         f"({discretised.shape}, {inside.shape}, {morphological.shape}); build them on one grid")
    if discretised.ndim != 3:
        raise InputError(f"zone families need 3D (z, y, x) arrays, got {discretised.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    if np.any((discretised > 0) != inside):
        raise InputError("discretised grey levels must be >= 1 exactly inside the intensity mask and 0 "
                         "outside; re-run the discretisation on this mask")
    n_inside = np.count_nonzero(inside)
    if n_inside and discretised.max() > roi.n_levels:
        raise InputError(f"grey level {int(discretised.max())} exceeds n_levels={roi.n_levels}; "
                         "set n_levels to the number of discretisation bins")
    if np.any(inside > morphological):
        raise InputError("the intensity mask has voxels outside the morphological mask; "
                         "re-segmentation may only remove voxels from the ROI")
    return roi_box(morphological), inside, n_inside


ZoneColumn = Callable[[Zones, np.ndarray, bool], np.ndarray]
"""``(zones, morphological_mask, in_plane) -> column index (>= 1) of each zone``."""


def compute_zone_family(family: str, keys: tuple[str, ...], roi: RoiImage, settings: ZoneSettings,
                        dimensions: tuple[str, ...], zone_column: ZoneColumn | None) -> list[FeatureValue]:
    """Features of a zone family (GLSZM or GLDZM, its registry ``keys``) for the aggregations of ``dimensions``.

    The arrays of ``roi`` are cropped to the morphological mask's box before
    labelling. ``settings``: ``linkage_distance`` (Chebyshev, voxels),
    ``slice_axis`` (of the 2D and 2.5D slices) and ``undefined_values`` (the
    entropy's guard). ``zone_column`` gives the matrix column of each
    labelled zone (its distance to the ROI edge); None for the zone size,
    which needs no labels. One value per key and aggregation label.
    """
    checked_dimensions(family, dimensions)
    if settings.slice_axis != 0:
        roi = _slices_along(roi, settings.slice_axis)
    linkage_distance = settings.linkage_distance
    eps = PYRADIOMICS_EPS if settings.undefined_values == "pyradiomics" else 0.0
    box, inside, n_inside = _checked_zone_roi(roi)
    if not n_inside:
        return [FeatureValue(key, label, float("nan"), STATUS_EMPTY_ROI)
                for dimension in dimensions for label in AGGREGATIONS_BY_DIMENSION[family][dimension]
                for key in keys]
    levels = np.ascontiguousarray(roi.discretised[box], dtype=np.int32)
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
            voxels_per_slice = np.count_nonzero(inside[box], axis=(1, 2))  # the box holds every ROI voxel
            occupied = np.flatnonzero(voxels_per_slice > 0)
            bounds = np.searchsorted(zones.first_slice, np.arange(levels.shape[0] + 1))
            result = _zone_features(zones.level, column, bounds[occupied], bounds[occupied + 1],
                                    voxels_per_slice[occupied].astype(np.float64), roi.n_levels, eps).mean(axis=0)
        else:
            result = _zone_features(zones.level, column, np.zeros(1, np.int64),
                                    np.array([zones.level.size], np.int64),
                                    np.array([float(n_inside)]), roi.n_levels, eps)[0]
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
    """GLSZM features of ``roi`` (zones of the intensity mask) for each of ``dimensions`` (:func:`compute_zone_family`).

    16 values per aggregation; NaN with a status for an empty intensity mask.
    """
    return compute_zone_family(FAMILY, FEATURE_KEYS, roi, settings, tuple(dimensions), None)
