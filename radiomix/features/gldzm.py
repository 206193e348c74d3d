"""Grey level distance zone matrix (GLDZM) features, IBSI-1 section "Grey level distance zone based features".

Zones are those of the GLSZM (:func:`radiomix.features.zones.label_zones`, on
the intensity mask). The distance of a voxel to the ROI edge is its taxicab
(Manhattan) distance to the nearest voxel outside the *morphological* mask,
voxels beyond the array counting as outside: voxels on the edge are at
distance 1. This is the manual's iterative erosion with a 6-connected (3D) or
4-connected (in-plane, 2D) structuring element. A zone's distance is the
smallest distance of its voxels. Element ``d[i, j]`` of the GLDZM counts the
zones of grey level ``i + 1`` at distance ``j + 1``.

Aggregation as for the GLSZM: ``2D`` (in-plane zones and distances, features
per slice averaged), ``2.5D`` (slice matrices summed), ``3D`` (volume).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.glszm import compute_zone_family
from radiomix.features.zones import Zones

FAMILY = "gldzm"

FEATURE_KEYS = registry.keys(FAMILY)
"""Registry keys of the 16 GLDZM features, in the order of the GLSZM's (the columns of its zone features)."""


@njit
def _edge_distance(mask, in_plane):
    """Kernel of :func:`edge_distance_map`: exact taxicab distance by 1D sweeps per axis.

    The taxicab distance separates over axes, so a forward and a backward
    sweep along x, then y, then (3D) z give the distance to the nearest
    outside voxel; the sweeps start from the outside voxel beyond the array.
    """
    n_z, n_y, n_x = mask.shape
    distance = np.empty((n_z, n_y, n_x), np.int32)
    far = n_z + n_y + n_x + 1  # beyond any distance inside the array
    previous = np.empty(max(n_y, n_x, n_y * n_x), np.int32)
    for z in range(n_z):
        for y in range(n_y):
            for x in range(n_x):
                distance[z, y, x] = far if mask[z, y, x] else 0
        _sweep(distance[z].T, previous)  # along x, every row of the slice at once
        _sweep(distance[z], previous)
    if not in_plane:
        _sweep(distance.reshape((n_z, n_y * n_x)), previous)
    return distance


@njit
def _sweep(lines, previous):
    """Along axis 0 of a 2D array, forward then backward: each element at most 1 + the one before it.

    The element before the first is 0 (outside); every column is swept at once
    (vectorised); ``previous`` is scratch space of at least one element per column.
    """
    n_lines, n_columns = lines.shape
    for backward in (False, True):
        for j in range(n_columns):  # element by element: a slice assignment costs a compilation more
            previous[j] = 0
        for k in range(n_lines):
            line = lines[n_lines - 1 - k if backward else k]
            for j in range(n_columns):
                value = min(line[j], previous[j] + 1)
                previous[j] = value
                line[j] = value


def edge_distance_map(mask: np.ndarray, in_plane: bool = False) -> np.ndarray:
    """Taxicab distance (voxels) of each ROI voxel to the ROI edge.

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The ROI (IBSI: the morphological mask).
    in_plane : bool
        Measure within each slice (axis 0) only: 4-connected steps, for the
        2D and 2.5D aggregations; otherwise 6-connected steps in 3D.

    Returns
    -------
    ndarray of int32
        Number of face-connected steps from the voxel to the nearest voxel
        outside the ROI or beyond the array (1 on the edge), 0 outside.
    """
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    if mask.ndim != 3:
        raise InputError(f"the distance map needs a 3D (z, y, x) mask, got {mask.ndim} dimensions; "
                         "add a leading axis of length 1 for a single slice")
    return _edge_distance(mask, bool(in_plane))


@njit
def _zone_min_distance(labels, distance, n_zones):
    """Kernel of :func:`zone_distances`."""
    n_z, n_y, n_x = labels.shape
    result = np.empty(n_zones, np.int32)
    for zone in range(n_zones):
        result[zone] = 2_147_483_647  # the largest int32
    for z in range(n_z):
        for y in range(n_y):
            for x in range(n_x):
                zone = labels[z, y, x]
                if zone > 0 and distance[z, y, x] < result[zone - 1]:
                    result[zone - 1] = distance[z, y, x]
    return result


def zone_distances(zones: Zones, distance: np.ndarray) -> np.ndarray:
    """Distance of each zone to the ROI edge: the smallest distance of its voxels.

    Parameters
    ----------
    zones : Zones
        Result of :func:`radiomix.features.zones.label_zones`.
    distance : ndarray of int, same shape as ``zones.labels``
        Distance map (:func:`edge_distance_map`), >= 1 at every zone voxel.

    Returns
    -------
    ndarray of int32, shape (n_zones,)
    """
    if distance.shape != zones.labels.shape:
        raise InputError(f"distance map shape {distance.shape} differs from the zone labels' "
                         f"{zones.labels.shape}; compute both on the same grid")
    return _zone_min_distance(zones.labels, np.ascontiguousarray(distance, dtype=np.int32), zones.level.size)


def _zone_edge_distance(zones: Zones, morphological_mask: np.ndarray, in_plane: bool) -> np.ndarray:
    """GLDZM column of each zone: its distance to the edge of the morphological mask."""
    return zone_distances(zones, edge_distance_map(morphological_mask, in_plane))


def compute(roi: RoiImage, settings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLDZM features of ``roi`` for each of ``dimensions``, as :func:`radiomix.features.glszm.compute`.

    The zones' distances to the ROI edge come from the morphological mask of ``roi``.
    """
    return compute_zone_family(FAMILY, FEATURE_KEYS, roi, settings, tuple(dimensions), _zone_edge_distance)
