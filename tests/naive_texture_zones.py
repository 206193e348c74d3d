"""Plain NumPy references for the GLSZM and GLDZM families (no numba, loops are fine).

Each function restates an IBSI-1 definition as directly as possible, for the
property tests to compare the kernels of :mod:`radiomix.features.glszm` and
:mod:`radiomix.features.gldzm` against on small volumes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def naive_zones(levels: np.ndarray, linkage_distance: int, in_plane: bool) -> list[tuple[int, frozenset]]:
    """Zones as ``(grey level, frozenset of (z, y, x))``, by union-find over all voxel pairs.

    Two ROI voxels (level > 0) are linked when they share a level, their
    Chebyshev distance is at most ``linkage_distance`` and, with ``in_plane``,
    they lie in the same slice.
    """
    voxels = [tuple(int(c) for c in v) for v in np.argwhere(levels > 0)]
    parent = list(range(len(voxels)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, first in enumerate(voxels):
        for b in range(a + 1, len(voxels)):
            second = voxels[b]
            if levels[first] != levels[second]:
                continue
            if in_plane and first[0] != second[0]:
                continue
            if max(abs(p - q) for p, q in zip(first, second)) <= linkage_distance:
                parent[root(a)] = root(b)
    groups: dict[int, set] = {}
    for index, voxel in enumerate(voxels):
        groups.setdefault(root(index), set()).add(voxel)
    return [(int(levels[next(iter(group))]), frozenset(group)) for group in groups.values()]


def scipy_zones(levels: np.ndarray, in_plane: bool) -> list[tuple[int, frozenset]]:
    """Zones for linkage distance 1 with ``scipy.ndimage.label`` (full connectivity), per level."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if in_plane:
        structure[0] = structure[2] = False
    zones = []
    for level in np.unique(levels[levels > 0]):
        labelled, count = ndimage.label(levels == level, structure=structure)
        for number in range(1, count + 1):
            zones.append((int(level), frozenset(tuple(int(c) for c in v)
                                                for v in np.argwhere(labelled == number))))
    return zones


def brute_force_edge_distance(mask: np.ndarray, in_plane: bool) -> np.ndarray:
    """Taxicab distance of each ROI voxel to the nearest voxel outside the ROI.

    The mask is padded with one outside voxel on every side (in-plane: in y
    and x only, and only voxels of the same slice count), so voxels on the
    array border are at distance 1. Zero outside the ROI.
    """
    pad = ((0, 0), (1, 1), (1, 1)) if in_plane else ((1, 1), (1, 1), (1, 1))
    padded = np.pad(mask, pad, constant_values=False)
    outside = np.argwhere(~padded)
    distance = np.zeros(mask.shape, dtype=np.int64)
    for voxel in np.argwhere(mask):
        position = voxel + np.array([p[0] for p in pad])
        candidates = outside[outside[:, 0] == position[0]] if in_plane else outside
        distance[tuple(voxel)] = np.abs(candidates - position).sum(axis=1).min()
    return distance


def erosion_edge_distance(mask: np.ndarray, in_plane: bool) -> np.ndarray:
    """The manual's algorithm: erode with a 6- (or in-plane 4-) connected cross until empty,
    adding 1 to every voxel still in the ROI after each step (voxels start at 1)."""
    structure = ndimage.generate_binary_structure(3, 1)
    if in_plane:
        structure[0] = structure[2] = False
    distance = mask.astype(np.int64)
    current = mask.copy()
    while current.any():
        current = ndimage.binary_erosion(current, structure=structure, border_value=0)
        distance += current
    return distance


def naive_matrix(zones: list[tuple[int, int]], n_levels: int) -> np.ndarray:
    """Matrix of zone counts from ``(grey level, column value >= 1)`` pairs; columns 1..max."""
    n_columns = max(column for _, column in zones)
    matrix = np.zeros((n_levels, n_columns))
    for level, column in zones:
        matrix[level - 1, column - 1] += 1
    return matrix


def naive_features(matrix: np.ndarray, n_voxels: int) -> list[float]:
    """The 16 zone-matrix features by the manual's double sums, in the families' order."""
    n_g, n_j = matrix.shape
    n_s = matrix.sum()
    cells = [(i, j, matrix[i - 1, j - 1]) for i in range(1, n_g + 1) for j in range(1, n_j + 1)]
    row = [sum(matrix[i - 1, :]) for i in range(1, n_g + 1)]
    col = [sum(matrix[:, j - 1]) for j in range(1, n_j + 1)]
    mean_i = sum(i * m / n_s for i, j, m in cells)
    mean_j = sum(j * m / n_s for i, j, m in cells)
    return [
        sum(col[j - 1] / j**2 for j in range(1, n_j + 1)) / n_s,
        sum(j**2 * col[j - 1] for j in range(1, n_j + 1)) / n_s,
        sum(row[i - 1] / i**2 for i in range(1, n_g + 1)) / n_s,
        sum(i**2 * row[i - 1] for i in range(1, n_g + 1)) / n_s,
        sum(m / (i**2 * j**2) for i, j, m in cells) / n_s,
        sum(i**2 * m / j**2 for i, j, m in cells) / n_s,
        sum(j**2 * m / i**2 for i, j, m in cells) / n_s,
        sum(i**2 * j**2 * m for i, j, m in cells) / n_s,
        sum(r**2 for r in row) / n_s,
        sum(r**2 for r in row) / n_s**2,
        sum(c**2 for c in col) / n_s,
        sum(c**2 for c in col) / n_s**2,
        n_s / n_voxels,
        sum((i - mean_i) ** 2 * m / n_s for i, j, m in cells),
        sum((j - mean_j) ** 2 * m / n_s for i, j, m in cells),
        -sum(m / n_s * math.log2(m / n_s) for i, j, m in cells if m > 0),
    ]


def naive_family_values(family: str, levels: np.ndarray, morphological_mask: np.ndarray, n_levels: int,
                        linkage_distance: int, dimension: str) -> list[float]:
    """Feature values of one aggregation (``2D``, ``2.5D`` or ``3D``) from the naive pieces.

    ``family`` is ``glszm`` (column = zone size) or ``gldzm`` (column = the
    smallest brute-force edge distance over the zone's voxels).
    """
    in_plane = dimension != "3D"
    distance = brute_force_edge_distance(morphological_mask, in_plane)

    def column(voxels):
        if family == "glszm":
            return len(voxels)
        return min(int(distance[v]) for v in voxels)

    if dimension == "3D":
        zones = [(level, column(v)) for level, v in naive_zones(levels, linkage_distance, False)]
        return naive_features(naive_matrix(zones, n_levels), int((levels > 0).sum()))
    per_slice, merged, n_voxels = [], None, 0
    for z in range(levels.shape[0]):
        if not (levels[z] > 0).any():
            continue
        slice_levels = np.zeros_like(levels)
        slice_levels[z] = levels[z]
        zones = [(level, column(v)) for level, v in naive_zones(slice_levels, linkage_distance, True)]
        matrix = naive_matrix(zones, n_levels)
        per_slice.append(naive_features(matrix, int((levels[z] > 0).sum())))
        n_voxels += int((levels[z] > 0).sum())
        if merged is None:
            merged = matrix
        else:
            width = max(merged.shape[1], matrix.shape[1])
            merged = np.pad(merged, ((0, 0), (0, width - merged.shape[1]))) + \
                np.pad(matrix, ((0, 0), (0, width - matrix.shape[1])))
    if dimension == "2D":
        return list(np.mean(per_slice, axis=0))
    return naive_features(merged, n_voxels)


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
        Values in the order of :data:`radiomix.features.glszm.FEATURE_KEYS` (and
        of :data:`radiomix.features.gldzm.FEATURE_KEYS`).
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
