"""pyradiomics' marching-cubes mesh of a mask: volume, surface, diameters; voxel-position covariance.

The ``pyradiomics`` mesh convention of the morphology family
(:attr:`radiomix.spec.MorphologySettings.mesh`, used by
:mod:`radiomix.features.morphology`).

The ROI surface is pyradiomics' marching-cubes mesh of the mask (cropped to the
ROI bounding box and padded by one empty voxel): vertices sit halfway along
every grid edge joining an ROI voxel centre to a non-ROI voxel centre, in
physical coordinates ``index * spacing`` (z, y, x) of the padded crop. Each
2 x 2 x 2 cube of voxel centres is triangulated from the classic marching-cubes
table (Lorensen and Cline 1987, in the edge and corner numbering of
P. Bourke's public-domain table "Polygonising a scalar field", 1994). As in
pyradiomics, only the table's first 128 cases are used: a cube with its last
corner inside is triangulated as its complement, and its triangles count with
a negative sign in the volume (this can leave the mesh open at ambiguous faces,
so the volume is summed about the crop's origin exactly as pyradiomics does).

- volume ``V = sum_f a . (b x c) / 6`` over the triangles ``(a, b, c)``;
- surface ``A = sum_f |(a - c) x (b - c)| / 2``;
- diameters: the largest distance between two mesh vertices, overall and
  between vertices sharing their z (slice), y (column) or x (row) coordinate.

:func:`padded_mask` crops and pads the mask and :func:`padded_mesh` calls the
kernel :func:`_mesh_kernel`; the largest distances are found among the
vertices of the convex hulls (farthest pairs are hull vertices): per plane
with :func:`plane_diameters`, overall with :func:`farthest_pair_distance` on
the :func:`diameter_candidates`, the vertices that end their axis-parallel
lines (:func:`_line_ends`);
:func:`principal_eigenvalues` gives the eigenvalues of the population
covariance of the voxel positions (:func:`_covariance_kernel`).

The convex hull of either mesh (both have their vertices on the half-voxel
lattice): :func:`hull_candidates` keeps the line ends that are vertices of
their planes' 2D hulls, and :func:`lattice_hull_volume_and_area` builds their
3D hull with exact integer predicates (the morphology family's convex-hull
densities).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import EmptyRoiError, InputError

CUBE_CORNERS = np.array([(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0),
                         (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0)], dtype=np.int64)
"""Offsets (z, y, x) of the 8 corners of a marching cube, in Bourke's corner order."""

CUBE_EDGES = np.array([(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
                       (0, 4), (1, 5), (2, 6), (3, 7)], dtype=np.int64)
"""Corner pairs of the 12 cube edges, in Bourke's edge order."""

EDGE_MIDPOINTS = (CUBE_CORNERS[CUBE_EDGES[:, 0]] + CUBE_CORNERS[CUBE_EDGES[:, 1]]) / 2.0
"""Offset (z, y, x), in voxels, of the vertex on each cube edge (always its midpoint for a mask)."""

_TRIANGLES = (
    (), (0, 8, 3),
    (0, 1, 9), (1, 8, 3, 9, 8, 1),
    (1, 2, 10), (0, 8, 3, 1, 2, 10),
    (9, 2, 10, 0, 2, 9), (2, 8, 3, 2, 10, 8, 10, 9, 8),
    (3, 11, 2), (0, 11, 2, 8, 11, 0),
    (1, 9, 0, 2, 3, 11), (1, 11, 2, 1, 9, 11, 9, 8, 11),
    (3, 10, 1, 11, 10, 3), (0, 10, 1, 0, 8, 10, 8, 11, 10),
    (3, 9, 0, 3, 11, 9, 11, 10, 9), (9, 8, 10, 10, 8, 11),
    (4, 7, 8), (4, 3, 0, 7, 3, 4),
    (0, 1, 9, 8, 4, 7), (4, 1, 9, 4, 7, 1, 7, 3, 1),
    (1, 2, 10, 8, 4, 7), (3, 4, 7, 3, 0, 4, 1, 2, 10),
    (9, 2, 10, 9, 0, 2, 8, 4, 7), (2, 10, 9, 2, 9, 7, 2, 7, 3, 7, 9, 4),
    (8, 4, 7, 3, 11, 2), (11, 4, 7, 11, 2, 4, 2, 0, 4),
    (9, 0, 1, 8, 4, 7, 2, 3, 11), (4, 7, 11, 9, 4, 11, 9, 11, 2, 9, 2, 1),
    (3, 10, 1, 3, 11, 10, 7, 8, 4), (1, 11, 10, 1, 4, 11, 1, 0, 4, 7, 11, 4),
    (4, 7, 8, 9, 0, 11, 9, 11, 10, 11, 0, 3), (4, 7, 11, 4, 11, 9, 9, 11, 10),
    (9, 5, 4), (9, 5, 4, 0, 8, 3),
    (0, 5, 4, 1, 5, 0), (8, 5, 4, 8, 3, 5, 3, 1, 5),
    (1, 2, 10, 9, 5, 4), (3, 0, 8, 1, 2, 10, 4, 9, 5),
    (5, 2, 10, 5, 4, 2, 4, 0, 2), (2, 10, 5, 3, 2, 5, 3, 5, 4, 3, 4, 8),
    (9, 5, 4, 2, 3, 11), (0, 11, 2, 0, 8, 11, 4, 9, 5),
    (0, 5, 4, 0, 1, 5, 2, 3, 11), (2, 1, 5, 2, 5, 8, 2, 8, 11, 4, 8, 5),
    (10, 3, 11, 10, 1, 3, 9, 5, 4), (4, 9, 5, 0, 8, 1, 8, 10, 1, 8, 11, 10),
    (5, 4, 0, 5, 0, 11, 5, 11, 10, 11, 0, 3), (5, 4, 8, 5, 8, 10, 10, 8, 11),
    (9, 7, 8, 5, 7, 9), (9, 3, 0, 9, 5, 3, 5, 7, 3),
    (0, 7, 8, 0, 1, 7, 1, 5, 7), (1, 5, 3, 3, 5, 7),
    (9, 7, 8, 9, 5, 7, 10, 1, 2), (10, 1, 2, 9, 5, 0, 5, 3, 0, 5, 7, 3),
    (8, 0, 2, 8, 2, 5, 8, 5, 7, 10, 5, 2), (2, 10, 5, 2, 5, 3, 3, 5, 7),
    (7, 9, 5, 7, 8, 9, 3, 11, 2), (9, 5, 7, 9, 7, 2, 9, 2, 0, 2, 7, 11),
    (2, 3, 11, 0, 1, 8, 1, 7, 8, 1, 5, 7), (11, 2, 1, 11, 1, 7, 7, 1, 5),
    (9, 5, 8, 8, 5, 7, 10, 1, 3, 10, 3, 11), (5, 7, 0, 5, 0, 9, 7, 11, 0, 1, 0, 10, 11, 10, 0),
    (11, 10, 0, 11, 0, 3, 10, 5, 0, 8, 0, 7, 5, 7, 0), (11, 10, 5, 7, 11, 5),
    (10, 6, 5), (0, 8, 3, 5, 10, 6),
    (9, 0, 1, 5, 10, 6), (1, 8, 3, 1, 9, 8, 5, 10, 6),
    (1, 6, 5, 2, 6, 1), (1, 6, 5, 1, 2, 6, 3, 0, 8),
    (9, 6, 5, 9, 0, 6, 0, 2, 6), (5, 9, 8, 5, 8, 2, 5, 2, 6, 3, 2, 8),
    (2, 3, 11, 10, 6, 5), (11, 0, 8, 11, 2, 0, 10, 6, 5),
    (0, 1, 9, 2, 3, 11, 5, 10, 6), (5, 10, 6, 1, 9, 2, 9, 11, 2, 9, 8, 11),
    (6, 3, 11, 6, 5, 3, 5, 1, 3), (0, 8, 11, 0, 11, 5, 0, 5, 1, 5, 11, 6),
    (3, 11, 6, 0, 3, 6, 0, 6, 5, 0, 5, 9), (6, 5, 9, 6, 9, 11, 11, 9, 8),
    (5, 10, 6, 4, 7, 8), (4, 3, 0, 4, 7, 3, 6, 5, 10),
    (1, 9, 0, 5, 10, 6, 8, 4, 7), (10, 6, 5, 1, 9, 7, 1, 7, 3, 7, 9, 4),
    (6, 1, 2, 6, 5, 1, 4, 7, 8), (1, 2, 5, 5, 2, 6, 3, 0, 4, 3, 4, 7),
    (8, 4, 7, 9, 0, 5, 0, 6, 5, 0, 2, 6), (7, 3, 9, 7, 9, 4, 3, 2, 9, 5, 9, 6, 2, 6, 9),
    (3, 11, 2, 7, 8, 4, 10, 6, 5), (5, 10, 6, 4, 7, 2, 4, 2, 0, 2, 7, 11),
    (0, 1, 9, 4, 7, 8, 2, 3, 11, 5, 10, 6), (9, 2, 1, 9, 11, 2, 9, 4, 11, 7, 11, 4, 5, 10, 6),
    (8, 4, 7, 3, 11, 5, 3, 5, 1, 5, 11, 6), (5, 1, 11, 5, 11, 6, 1, 0, 11, 7, 11, 4, 0, 4, 11),
    (0, 5, 9, 0, 6, 5, 0, 3, 6, 11, 6, 3, 8, 4, 7), (6, 5, 9, 6, 9, 11, 4, 7, 9, 7, 11, 9),
    (10, 4, 9, 6, 4, 10), (4, 10, 6, 4, 9, 10, 0, 8, 3),
    (10, 0, 1, 10, 6, 0, 6, 4, 0), (8, 3, 1, 8, 1, 6, 8, 6, 4, 6, 1, 10),
    (1, 4, 9, 1, 2, 4, 2, 6, 4), (3, 0, 8, 1, 2, 9, 2, 4, 9, 2, 6, 4),
    (0, 2, 4, 4, 2, 6), (8, 3, 2, 8, 2, 4, 4, 2, 6),
    (10, 4, 9, 10, 6, 4, 11, 2, 3), (0, 8, 2, 2, 8, 11, 4, 9, 10, 4, 10, 6),
    (3, 11, 2, 0, 1, 6, 0, 6, 4, 6, 1, 10), (6, 4, 1, 6, 1, 10, 4, 8, 1, 2, 1, 11, 8, 11, 1),
    (9, 6, 4, 9, 3, 6, 9, 1, 3, 11, 6, 3), (8, 11, 1, 8, 1, 0, 11, 6, 1, 9, 1, 4, 6, 4, 1),
    (3, 11, 6, 3, 6, 0, 0, 6, 4), (6, 4, 8, 11, 6, 8),
    (7, 10, 6, 7, 8, 10, 8, 9, 10), (0, 7, 3, 0, 10, 7, 0, 9, 10, 6, 7, 10),
    (10, 6, 7, 1, 10, 7, 1, 7, 8, 1, 8, 0), (10, 6, 7, 10, 7, 1, 1, 7, 3),
    (1, 2, 6, 1, 6, 8, 1, 8, 9, 8, 6, 7), (2, 6, 9, 2, 9, 1, 6, 7, 9, 0, 9, 3, 7, 3, 9),
    (7, 8, 0, 7, 0, 6, 6, 0, 2), (7, 3, 2, 6, 7, 2),
    (2, 3, 11, 10, 6, 8, 10, 8, 9, 8, 6, 7), (2, 0, 7, 2, 7, 11, 0, 9, 7, 6, 7, 10, 9, 10, 7),
    (1, 8, 0, 1, 7, 8, 1, 10, 7, 6, 7, 10, 2, 3, 11), (11, 2, 1, 11, 1, 7, 10, 6, 1, 6, 7, 1),
    (8, 9, 6, 8, 6, 7, 9, 1, 6, 11, 6, 3, 1, 3, 6), (0, 9, 1, 11, 6, 7),
    (7, 8, 0, 7, 0, 6, 3, 11, 0, 11, 6, 0), (7, 11, 6),
)

TRIANGLE_TABLE = np.full((128, 16), -1, dtype=np.int64)
"""Edges of the triangles of each cube case 0-127 (three per triangle, -1 after the last)."""
for _case, _edges in enumerate(_TRIANGLES):
    TRIANGLE_TABLE[_case, :len(_edges)] = _edges

OWNED_EDGES = np.array([(6, 6), (4, 7), (3, 11)], dtype=np.int64)
"""(corner, edge) pairs: each cube stores the vertex of an edge incident to its
corner 7 when the other corner of that edge is inside (after the complement
flip corner 7 is outside), so every grid edge's vertex is stored exactly once."""


@njit
def _mesh_kernel(mask, spacing, triangles, midpoints, owned):
    """Surface area, signed volume sum and vertices of the marching-cubes mesh.

    ``mask`` is a uint8 (z, y, x) array of 0 and 1 padded with empty voxels on
    every side. Returns ``(area_mm2, six_times_volume_mm3, vertices (n, 3) in half voxels)``:
    the vertices' grid coordinates times 2 (integers; a vertex lies halfway
    along a grid edge).
    """
    nz, ny, nx = mask.shape
    vertices = np.empty((3 * (nz - 1) * (ny - 1) * (nx - 1), 3), dtype=np.int64)
    n_vertices = 0
    area = 0.0
    volume6 = 0.0
    a = np.empty(3)
    b = np.empty(3)
    c = np.empty(3)
    for iz in range(nz - 1):
        for iy in range(ny - 1):
            near = mask[iz, iy]
            near_up = mask[iz, iy + 1]
            far = mask[iz + 1, iy]
            far_up = mask[iz + 1, iy + 1]
            for ix in range(nx - 1):
                case = (np.int64(near[ix]) | (np.int64(near[ix + 1]) << 1) | (np.int64(near_up[ix + 1]) << 2)
                        | (np.int64(near_up[ix]) << 3) | (np.int64(far[ix]) << 4) | (np.int64(far[ix + 1]) << 5)
                        | (np.int64(far_up[ix + 1]) << 6) | (np.int64(far_up[ix]) << 7))
                if case == 0 or case == 255:
                    continue  # no surface in this cube
                sign = 1.0
                if case & 128:
                    case ^= 255
                    sign = -1.0
                for k in range(owned.shape[0]):
                    if case & (1 << owned[k, 0]):
                        edge = owned[k, 1]
                        vertices[n_vertices, 0] = int(2.0 * (iz + midpoints[edge, 0]))
                        vertices[n_vertices, 1] = int(2.0 * (iy + midpoints[edge, 1]))
                        vertices[n_vertices, 2] = int(2.0 * (ix + midpoints[edge, 2]))
                        n_vertices += 1
                t = 0
                while t < 5 and triangles[case, 3 * t] >= 0:
                    for d in range(3):
                        origin = (iz, iy, ix)[d]
                        a[d] = (origin + midpoints[triangles[case, 3 * t], d]) * spacing[d]
                        b[d] = (origin + midpoints[triangles[case, 3 * t + 1], d]) * spacing[d]
                        c[d] = (origin + midpoints[triangles[case, 3 * t + 2], d]) * spacing[d]
                    cross0 = a[1] * b[2] - b[1] * a[2]
                    cross1 = a[2] * b[0] - b[2] * a[0]
                    cross2 = a[0] * b[1] - b[0] * a[1]
                    volume6 += sign * (cross0 * c[0] + cross1 * c[1] + cross2 * c[2])
                    for d in range(3):
                        a[d] -= c[d]
                        b[d] -= c[d]
                    cross0 = a[1] * b[2] - b[1] * a[2]
                    cross1 = a[2] * b[0] - b[2] * a[0]
                    cross2 = a[0] * b[1] - b[0] * a[1]
                    area += 0.5 * np.sqrt(cross0 * cross0 + cross1 * cross1 + cross2 * cross2)
                    t += 1
    return area, volume6, vertices[:n_vertices].copy()


@njit
def _farthest_pair_kernel(points, starts, slack):
    """Largest squared distance between two points of the same group, over all groups.

    Group ``g`` is ``points[starts[g]:starts[g + 1]]`` (rows of ``d``
    coordinates). Within a group: ``c`` its centroid, ``R`` the largest
    distance to ``c`` (at point ``a``), ``L`` the largest distance to ``a``.
    The farthest pair ``(p, q)`` has ``|p - q| <= |p - c| + R``, so both its
    points lie at least ``L - R`` from ``c``: only those (``slack`` mm less,
    against rounding) are compared pairwise. Plain loops only (no slice
    assignment, no array expression): about 1 s less to compile.
    """
    n_points, n_dims = points.shape
    best = 0.0
    centre = np.empty(n_dims)
    radius = np.empty(n_points)
    candidates = np.empty(n_points, dtype=np.int64)
    for g in range(starts.shape[0] - 1):
        first, stop = starts[g], starts[g + 1]
        count = stop - first
        if count < 2:
            continue
        for d in range(n_dims):
            centre[d] = 0.0
        for i in range(first, stop):
            for d in range(n_dims):
                centre[d] += points[i, d]
        for d in range(n_dims):
            centre[d] /= count
        largest_radius = 0.0
        anchor = first
        for i in range(first, stop):
            squared = 0.0
            for d in range(n_dims):
                offset = points[i, d] - centre[d]
                squared += offset * offset
            radius[i] = np.sqrt(squared)
            if radius[i] > largest_radius:
                largest_radius = radius[i]
                anchor = i
        group_best = 0.0
        for i in range(first, stop):
            squared = 0.0
            for d in range(n_dims):
                difference = points[i, d] - points[anchor, d]
                squared += difference * difference
            if squared > group_best:
                group_best = squared
        threshold = np.sqrt(group_best) - largest_radius - slack
        n_candidates = 0
        for i in range(first, stop):
            if radius[i] >= threshold:
                candidates[n_candidates] = i
                n_candidates += 1
        for ii in range(n_candidates):
            i = candidates[ii]
            for jj in range(ii):
                j = candidates[jj]
                squared = 0.0
                for d in range(n_dims):
                    difference = points[i, d] - points[j, d]
                    squared += difference * difference
                if squared > group_best:
                    group_best = squared
        if group_best > best:
            best = group_best
    return best


def farthest_pair_distance(points: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Largest distance (mm) between two points (rows of ``points``), within groups of equal ``groups`` if given."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    if len(points) < 2:
        return 0.0
    if groups is None:
        starts = np.array([0, len(points)], dtype=np.int64)
    else:
        order = np.argsort(groups, kind="stable")
        points = points[order]
        ordered = groups[order]
        starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, [len(points)]))
    slack = 1e-9 * (1.0 + float(np.abs(points).max()))
    return float(np.sqrt(_farthest_pair_kernel(points, starts.astype(np.int64), slack)))


@njit
def _line_ends(grid, axes):
    """True for the points that are the first or the last of their line along each of ``axes``.

    ``grid`` holds non-negative integer coordinates (n, 3); the line of a
    point along axis ``a`` is the set of points sharing its other two
    coordinates. A point between two others on a line is no vertex of the
    points' convex hull, so it is in no farthest pair (a distance to a
    point of a segment is largest at an end of the segment).
    """
    n = grid.shape[0]
    size = np.zeros(3, dtype=np.int64)
    for i in range(n):
        for d in range(3):
            size[d] = max(size[d], grid[i, d] + 1)
    keep = np.empty(n, dtype=np.bool_)  # filled by loops, not np.ones / np.full: quicker to compile
    for i in range(n):
        keep[i] = True
    for axis in axes:
        first = (axis + 1) % 3
        second = (axis + 2) % 3
        n_lines = size[first] * size[second]
        low = np.empty(n_lines, dtype=np.int64)
        high = np.empty(n_lines, dtype=np.int64)
        for line in range(n_lines):
            low[line] = size[axis]
            high[line] = -1
        for i in range(n):
            line = grid[i, first] * size[second] + grid[i, second]
            low[line] = min(low[line], grid[i, axis])
            high[line] = max(high[line], grid[i, axis])
        for i in range(n):
            line = grid[i, first] * size[second] + grid[i, second]
            if grid[i, axis] != low[line] and grid[i, axis] != high[line]:
                keep[i] = False
    return keep


@njit
def _plane_farthest_pair(grid, spacing, axis, low, high, hull_u, hull_v):
    """Largest squared distance (mm^2) between two vertices in the same plane of constant ``grid[:, axis]``.

    In each plane the points' convex hull is built by Andrew's monotone
    chain from the lowest and highest point of each line along the plane's
    second axis (columns in increasing order: no sorting; a point between
    them is no hull vertex), then the hull vertices are compared pairwise.
    Positions are ``(grid * 0.5) * spacing``, as the mesh vertices'.
    ``low`` and ``high`` (int64, shape ``(size[axis], size[first])``, ``size``
    the grid's extent, ``first = (axis + 1) % 3``) hold ``size[second]`` and
    -1 on entry; ``hull_u`` and ``hull_v`` (``2 size[first] + 2``) are work
    space. Allocated by the caller (:func:`plane_diameters`): arrays
    allocated inside a kernel lengthen its first compilation.
    """
    first = (axis + 1) % 3
    second = (axis + 2) % 3
    n_columns = low.shape[1]
    for i in range(grid.shape[0]):
        plane = grid[i, axis]
        column = grid[i, first]
        low[plane, column] = min(low[plane, column], grid[i, second])
        high[plane, column] = max(high[plane, column], grid[i, second])
    best = 0.0
    for plane in range(low.shape[0]):
        n_hull = 0
        for chain in range(2):  # lower chain left to right, then upper chain right to left
            chain_start = n_hull
            for step in range(n_columns):
                column = step if chain == 0 else n_columns - 1 - step
                if high[plane, column] < 0:
                    continue
                row = low[plane, column] if chain == 0 else high[plane, column]
                while n_hull - chain_start >= 2:
                    # z component of (last - before) x (new - before), integers: exact; <= 0: no left turn
                    before_u = hull_u[n_hull - 2]
                    before_v = hull_v[n_hull - 2]
                    if ((hull_u[n_hull - 1] - before_u) * (row - before_v)
                            - (hull_v[n_hull - 1] - before_v) * (column - before_u)) > 0:
                        break
                    n_hull -= 1
                hull_u[n_hull] = column
                hull_v[n_hull] = row
                n_hull += 1
        for i in range(n_hull):
            for j in range(i):
                d_first = (hull_u[i] * 0.5) * spacing[first] - (hull_u[j] * 0.5) * spacing[first]
                d_second = (hull_v[i] * 0.5) * spacing[second] - (hull_v[j] * 0.5) * spacing[second]
                best = max(best, d_first * d_first + d_second * d_second)
    return best


def plane_diameters(grid: np.ndarray, spacing_zyx) -> np.ndarray:
    """Largest distances (mm) between two vertices with equal z (slice), equal y (column), equal x (row).

    ``grid`` holds the vertices in half voxels (non-negative integers, (n, 3));
    positions are ``(grid * 0.5) * spacing``. Each plane's farthest pair is a
    pair of its convex hull's vertices (:func:`_plane_farthest_pair`).
    """
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    if grid.shape[0] == 0:
        return np.zeros(3)
    grid = np.ascontiguousarray(grid, dtype=np.int64)
    size = grid.max(axis=0) + 1
    diameters = np.empty(3)
    for axis in range(3):
        first, second = (axis + 1) % 3, (axis + 2) % 3
        low = np.full((size[axis], size[first]), size[second], dtype=np.int64)
        high = np.full((size[axis], size[first]), -1, dtype=np.int64)
        hull = np.empty((2, 2 * size[first] + 2), dtype=np.int64)
        diameters[axis] = np.sqrt(_plane_farthest_pair(grid, spacing, axis, low, high, hull[0], hull[1]))
    return diameters


def diameter_candidates(vertices: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The vertices that end their axis-parallel lines along all three axes: a superset of the hull's vertices.

    ``vertices`` in mm and ``grid`` (the same vertices in half voxels), both (n, 3).
    """
    return vertices[_line_ends(grid, np.arange(3, dtype=np.int64))]


@njit
def _plane_hull_ends(grid, axis, low, high, keep_low, keep_high, hull_u, hull_v, keep):
    """Clear ``keep[i]`` for the points that are no vertex of the convex hull of their plane's points.

    The plane of point ``i`` is the set of points sharing ``grid[i, axis]``. In
    each plane the hull is built by Andrew's monotone chain from the lowest and
    highest point of each line along the plane's second axis (columns in
    increasing order: no sorting), as in :func:`_plane_farthest_pair`; a point
    on a hull edge between two vertices is dropped (no left turn, in exact
    integer arithmetic). A vertex of the points' 3D convex hull is a vertex of
    its plane's hull, so the kept points span the same 3D hull. ``low`` and
    ``high`` (int64, shape ``(size[axis], size[first])``) hold ``size[second]``
    and -1 on entry, ``keep_low`` and ``keep_high`` (bool, the same shape)
    False, ``hull_u`` and ``hull_v`` (``2 size[first] + 2``) are work space
    (allocated by the caller, :func:`_hull_candidate_mask`).
    """
    first = (axis + 1) % 3
    second = (axis + 2) % 3
    n_columns = low.shape[1]
    for i in range(grid.shape[0]):
        plane = grid[i, axis]
        column = grid[i, first]
        low[plane, column] = min(low[plane, column], grid[i, second])
        high[plane, column] = max(high[plane, column], grid[i, second])
    for plane in range(low.shape[0]):
        for chain in range(2):  # lower chain left to right, then upper chain right to left
            n_hull = 0
            for step in range(n_columns):
                column = step if chain == 0 else n_columns - 1 - step
                if high[plane, column] < 0:
                    continue
                row = low[plane, column] if chain == 0 else high[plane, column]
                while n_hull >= 2:
                    before_u = hull_u[n_hull - 2]
                    before_v = hull_v[n_hull - 2]
                    if ((hull_u[n_hull - 1] - before_u) * (row - before_v)
                            - (hull_v[n_hull - 1] - before_v) * (column - before_u)) > 0:
                        break
                    n_hull -= 1
                hull_u[n_hull] = column
                hull_v[n_hull] = row
                n_hull += 1
            for k in range(n_hull):
                if chain == 0:
                    keep_low[plane, hull_u[k]] = True
                else:
                    keep_high[plane, hull_u[k]] = True
    for i in range(grid.shape[0]):
        plane = grid[i, axis]
        column = grid[i, first]
        row = grid[i, second]
        if not ((row == low[plane, column] and keep_low[plane, column])
                or (row == high[plane, column] and keep_high[plane, column])):
            keep[i] = False


@njit
def _hull_candidate_mask(grid):
    """True for the ends of their axis-parallel lines (:func:`_line_ends`) that are vertices of their planes' hulls
    along every axis (:func:`_plane_hull_ends`); the work arrays are allocated here (one call)."""
    ends = _line_ends(grid, np.arange(3))
    n_ends = 0
    for i in range(grid.shape[0]):
        n_ends += ends[i]
    points = np.empty((n_ends, 3), dtype=np.int64)  # the line ends: the planes' hulls from fewer points
    size = np.zeros(3, dtype=np.int64)
    k = 0
    for i in range(grid.shape[0]):
        if ends[i]:
            for d in range(3):
                points[k, d] = grid[i, d]
                size[d] = max(size[d], grid[i, d] + 1)
            k += 1
    keep = np.empty(n_ends, dtype=np.bool_)
    for k in range(n_ends):
        keep[k] = True
    for axis in range(3):
        first = (axis + 1) % 3
        second = (axis + 2) % 3
        low = np.empty((size[axis], size[first]), dtype=np.int64)
        high = np.empty((size[axis], size[first]), dtype=np.int64)
        keep_low = np.empty((size[axis], size[first]), dtype=np.bool_)
        keep_high = np.empty((size[axis], size[first]), dtype=np.bool_)
        for plane in range(size[axis]):  # loops, not np.full: quicker to compile
            for column in range(size[first]):
                low[plane, column] = size[second]
                high[plane, column] = -1
                keep_low[plane, column] = False
                keep_high[plane, column] = False
        hull_u = np.empty(2 * size[first] + 2, dtype=np.int64)
        hull_v = np.empty(2 * size[first] + 2, dtype=np.int64)
        _plane_hull_ends(points, axis, low, high, keep_low, keep_high, hull_u, hull_v, keep)
    k = 0
    for i in range(grid.shape[0]):
        if ends[i]:
            ends[i] = keep[k]
            k += 1
    return ends


def hull_candidates(vertices: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A subset of ``vertices`` with the same convex hull: the line ends that are vertices of their planes' hulls.

    ``vertices`` in mm and ``grid`` (the same vertices in half voxels, non-negative), both (n, 3), in the
    order of ``vertices``. The ends of the axis-parallel lines (:func:`_line_ends`) that are vertices of the
    2D hull of their plane of constant z, of constant y and of constant x (:func:`_plane_hull_ends`): every
    vertex of the 3D hull is one. On the real PET's mesh at 2 mm: 228 of 3,458 vertices (156 hull vertices).
    Returns the chosen vertices and their grid rows.
    """
    if len(grid) == 0:
        return vertices, grid
    keep = _hull_candidate_mask(np.ascontiguousarray(grid, dtype=np.int64))
    return vertices[keep], grid[keep]


LATTICE_HULL_EXTENT = 2 ** 16
"""Coordinates of :func:`lattice_hull_volume_and_area` lie below this (its int64 determinants and sums stay exact)."""


@njit
def _orientation(points, a, b, c, p):
    """``(b - a) x (c - a) . (p - a)`` of integer points: exact; > 0 when ``p`` is in front of triangle ``abc``."""
    u0 = points[b, 0] - points[a, 0]
    u1 = points[b, 1] - points[a, 1]
    u2 = points[b, 2] - points[a, 2]
    v0 = points[c, 0] - points[a, 0]
    v1 = points[c, 1] - points[a, 1]
    v2 = points[c, 2] - points[a, 2]
    w0 = points[p, 0] - points[a, 0]
    w1 = points[p, 1] - points[a, 1]
    w2 = points[p, 2] - points[a, 2]
    return (u1 * v2 - u2 * v1) * w0 + (u2 * v0 - u0 * v2) * w1 + (u0 * v1 - u1 * v0) * w2


@njit
def _set_plane(points, a, b, c, normal, offsets, f):
    """``normal = (b - a) x (c - a)`` and ``offsets[f] = normal . a`` (exact integers)."""
    u0 = points[b, 0] - points[a, 0]
    u1 = points[b, 1] - points[a, 1]
    u2 = points[b, 2] - points[a, 2]
    v0 = points[c, 0] - points[a, 0]
    v1 = points[c, 1] - points[a, 1]
    v2 = points[c, 2] - points[a, 2]
    normal[0] = u1 * v2 - u2 * v1
    normal[1] = u2 * v0 - u0 * v2
    normal[2] = u0 * v1 - u1 * v0
    offsets[f] = normal[0] * points[a, 0] + normal[1] * points[a, 1] + normal[2] * points[a, 2]


@njit
def _lattice_hull_faces(points):
    """Outward triangles of the convex hull of integer points (n, 3), by incremental insertion; (0, 3) if flat.

    Every predicate is an exact integer determinant (:func:`_orientation`), so
    the hull is that of the points themselves, with no tolerance: a point is
    added when some face has it strictly in front; the faces it sees are
    replaced by triangles joining it to their horizon edges. Coplanar
    neighbouring triangles are kept (a flat face of the hull may be split).
    Coordinates must lie in ``[0, 2^16)`` (every determinant and sum exact in int64).
    """
    n = points.shape[0]
    # a first tetrahedron: two distinct points, a third off their line, a fourth off their plane
    second = -1
    for i in range(1, n):
        if points[i, 0] != points[0, 0] or points[i, 1] != points[0, 1] or points[i, 2] != points[0, 2]:
            second = i
            break
    third = -1
    if second >= 0:
        for i in range(1, n):
            u0 = points[second, 0] - points[0, 0]
            u1 = points[second, 1] - points[0, 1]
            u2 = points[second, 2] - points[0, 2]
            v0 = points[i, 0] - points[0, 0]
            v1 = points[i, 1] - points[0, 1]
            v2 = points[i, 2] - points[0, 2]
            if u1 * v2 - u2 * v1 != 0 or u2 * v0 - u0 * v2 != 0 or u0 * v1 - u1 * v0 != 0:
                third = i
                break
    fourth = -1
    if third >= 0:
        for i in range(1, n):
            if _orientation(points, 0, second, third, i) != 0:
                fourth = i
                break
    if fourth < 0:
        return np.empty((0, 3), dtype=np.int64)
    capacity = 8 * n + 16
    faces = np.empty((capacity, 3), dtype=np.int64)
    normals = np.empty((capacity, 3), dtype=np.int64)  # (b - a) x (c - a), and its product with a:
    offsets = np.empty(capacity, dtype=np.int64)  # p is in front of face f when normal . p > offset
    alive = np.zeros(capacity, dtype=np.bool_)
    free = np.empty(capacity, dtype=np.int64)  # a stack of reusable face slots
    n_free = 0
    n_faces = 0
    corners = (0, second, third, fourth)
    for f in range(4):  # each face of the tetrahedron, wound so that the fourth corner is behind it
        a = corners[(f + 1) % 4]
        b = corners[(f + 2) % 4]
        c = corners[(f + 3) % 4]
        if _orientation(points, a, b, c, corners[f]) > 0:
            b, c = c, b
        faces[n_faces, 0] = a
        faces[n_faces, 1] = b
        faces[n_faces, 2] = c
        _set_plane(points, a, b, c, normals[n_faces], offsets, n_faces)
        alive[n_faces] = True
        n_faces += 1
    visible = np.empty(capacity, dtype=np.int64)
    horizon = np.empty((3 * capacity, 2), dtype=np.int64)
    for p in range(1, n):
        if p == second or p == third or p == fourth:
            continue
        n_visible = 0
        p0 = points[p, 0]
        p1 = points[p, 1]
        p2 = points[p, 2]
        for f in range(n_faces):
            if alive[f] and normals[f, 0] * p0 + normals[f, 1] * p1 + normals[f, 2] * p2 > offsets[f]:
                visible[n_visible] = f
                n_visible += 1
        if n_visible == 0:
            continue  # inside the hull, or on its boundary
        n_horizon = 0
        for i in range(n_visible):  # an edge of a visible face whose reverse no visible face holds
            f = visible[i]
            for e in range(3):
                a = faces[f, e]
                b = faces[f, (e + 1) % 3]
                shared = False
                for j in range(n_visible):
                    g = visible[j]
                    for k in range(3):
                        if faces[g, k] == b and faces[g, (k + 1) % 3] == a:
                            shared = True
                if not shared:
                    horizon[n_horizon, 0] = a
                    horizon[n_horizon, 1] = b
                    n_horizon += 1
        for i in range(n_visible):
            alive[visible[i]] = False
            free[n_free] = visible[i]
            n_free += 1
        for i in range(n_horizon):
            if n_free > 0:
                n_free -= 1
                slot = free[n_free]
            else:
                slot = n_faces
                n_faces += 1
            faces[slot, 0] = horizon[i, 0]
            faces[slot, 1] = horizon[i, 1]
            faces[slot, 2] = p
            _set_plane(points, horizon[i, 0], horizon[i, 1], p, normals[slot], offsets, slot)
            alive[slot] = True
    n_alive = 0
    for f in range(n_faces):
        n_alive += alive[f]
    hull = np.empty((n_alive, 3), dtype=np.int64)
    k = 0
    for f in range(n_faces):
        if alive[f]:
            hull[k, 0] = faces[f, 0]
            hull[k, 1] = faces[f, 1]
            hull[k, 2] = faces[f, 2]
            k += 1
    return hull


@njit
def _lattice_hull_measures(points, faces, step):
    """Six times the volume (an exact integer, in grid units^3) and the area (``step`` per grid unit) of a hull."""
    volume6 = 0
    area = 0.0
    for f in range(faces.shape[0]):
        a = faces[f, 0]
        b = faces[f, 1]
        c = faces[f, 2]
        u0 = points[b, 0] - points[a, 0]
        u1 = points[b, 1] - points[a, 1]
        u2 = points[b, 2] - points[a, 2]
        v0 = points[c, 0] - points[a, 0]
        v1 = points[c, 1] - points[a, 1]
        v2 = points[c, 2] - points[a, 2]
        # signed tetrahedron about point 0 of the set: (a - o) . ((b - a) x (c - a)), exact
        volume6 += (u1 * v2 - u2 * v1) * (points[a, 0] - points[0, 0]) \
            + (u2 * v0 - u0 * v2) * (points[a, 1] - points[0, 1]) + (u0 * v1 - u1 * v0) * (points[a, 2] - points[0, 2])
        s0 = u0 * step[0]
        s1 = u1 * step[1]
        s2 = u2 * step[2]
        t0 = v0 * step[0]
        t1 = v1 * step[1]
        t2 = v2 * step[2]
        n0 = s1 * t2 - s2 * t1
        n1 = s2 * t0 - s0 * t2
        n2 = s0 * t1 - s1 * t0
        area += np.sqrt(n0 * n0 + n1 * n1 + n2 * n2) / 2.0
    return volume6, area


def lattice_hull_volume_and_area(grid: np.ndarray, step) -> tuple[float, float]:
    """Volume and surface area of the convex hull of points on a lattice.

    Parameters
    ----------
    grid : ndarray of int, shape (n, 3)
        Integer coordinates in ``[0, 2^16)`` (in the morphology family: mesh vertices in half voxels).
    step : sequence of 3 float
        Size of a grid unit per axis (mm; half the voxel size for half voxels).

    Returns
    -------
    volume, area : float
        The hull's volume is exact up to one rounding (an integer sum of
        determinants times ``prod(step) / 6``); the area is the sum of its
        triangles' areas. NaN for both when the points are coplanar.
    """
    points = np.ascontiguousarray(grid, dtype=np.int64)
    if len(points) < 4:
        return math.nan, math.nan
    if points.min() < 0 or points.max() >= LATTICE_HULL_EXTENT:
        raise InputError(f"lattice hull coordinates must lie in [0, {LATTICE_HULL_EXTENT}), got "
                         f"[{points.min()}, {points.max()}]")
    step = np.asarray(step, dtype=np.float64)
    faces = _lattice_hull_faces(points)
    if len(faces) == 0:
        return math.nan, math.nan
    volume6, area = _lattice_hull_measures(points, faces, step)
    return float(volume6) * float(step[0] * step[1] * step[2]) / 6.0, float(area)


@njit
def fill_voxel_positions(mask, step_z, step_y, step_x, positions):
    """``positions[:, k]``: the index of the k-th voxel of ``mask`` (C order) times the voxel size, per axis.

    The kernel of :func:`radiomix.features.surface.voxel_positions` (here, with the morphology family's
    other kernels).
    """
    k = 0
    for z in range(mask.shape[0]):
        for y in range(mask.shape[1]):
            for x in range(mask.shape[2]):
                if mask[z, y, x]:
                    positions[0, k] = z * step_z
                    positions[1, k] = y * step_y
                    positions[2, k] = x * step_x
                    k += 1


@njit_exact
def lewiner_vertices(index_vertices, low, spacing, vertices, half_indices):
    """Vertices in mm and in half voxels of scikit-image's Lewiner mesh, from its float32 voxel indices.

    ``vertices[i] = (index + low) * spacing`` in float64 (as NumPy computes it); ``half_indices[i]``
    the doubled index plus ``2 low`` where every doubled coordinate is whole and exactly one is odd
    (a grid-edge midpoint), with -1 in the first column elsewhere (the vertices inside some cubes of
    the ambiguous cases). The doubling is done in float32, where it is exact. The kernel of
    :func:`radiomix.features.surface.build_surface`.
    """
    two = np.float32(2.0)
    for i in range(index_vertices.shape[0]):
        odd = 0
        on_lattice = True
        for axis in range(3):
            index = index_vertices[i, axis]
            vertices[i, axis] = (np.float64(index) + np.float64(low[axis])) * spacing[axis]
            doubled = index * two
            whole = np.rint(doubled)
            if doubled != whole:
                on_lattice = False
            half = np.int64(whole) + 2 * low[axis]
            half_indices[i, axis] = half
            odd += half & 1
        if not (on_lattice and odd == 1):
            half_indices[i, 0] = -1


@njit
def mask_box(mask):
    """``[first_z, stop_z, first_y, stop_y, first_x, stop_x]`` of a 3D bool mask's bounding box (-1s when empty).

    One pass over the rows: each row's first and last voxel from its two ends (quicker than three
    projections with NumPy).
    """
    box = np.empty(6, dtype=np.int64)
    for d in range(6):
        box[d] = -1
    for z in range(mask.shape[0]):
        for y in range(mask.shape[1]):
            first = -1
            for x in range(mask.shape[2]):
                if mask[z, y, x]:
                    first = x
                    break
            if first < 0:
                continue
            last = first
            for x in range(mask.shape[2] - 1, first, -1):
                if mask[z, y, x]:
                    last = x
                    break
            if box[0] < 0:
                box[0] = z
                box[2] = y
                box[3] = y + 1
                box[4] = first
                box[5] = last + 1
            box[1] = z + 1
            box[2] = min(box[2], y)
            box[3] = max(box[3], y + 1)
            box[4] = min(box[4], first)
            box[5] = max(box[5], last + 1)
    return box


def padded_mask(mask: np.ndarray) -> np.ndarray:
    """The ROI mask cropped to its bounding box and padded by one empty voxel (uint8).

    Raises
    ------
    EmptyRoiError
        The mask holds no voxel.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"shape features need a 3D (z, y, x) mask, got {mask.ndim} dimensions")
    rows = mask.any(axis=2)
    if not rows.any():
        raise EmptyRoiError("the ROI holds no voxel: no shape features")
    z_range, y_range = np.flatnonzero(rows.any(axis=1)), np.flatnonzero(rows.any(axis=0))
    cropped = mask[z_range[0]:z_range[-1] + 1, y_range[0]:y_range[-1] + 1]
    x_range = np.flatnonzero(cropped.any(axis=(0, 1)))
    cropped = cropped[:, :, x_range[0]:x_range[-1] + 1]
    padded = np.zeros(tuple(n + 2 for n in cropped.shape), dtype=np.uint8)
    padded[1:-1, 1:-1, 1:-1] = cropped
    return padded


def padded_mesh(padded: np.ndarray, spacing: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Surface area (mm^2), volume (mm^3) and vertices (half voxels, int64 (n, 3)) of a cropped, padded mask.

    ``padded`` as :func:`padded_mask` makes it; ``spacing`` (z, y, x) in mm.
    """
    area, volume6, grid = _mesh_kernel(padded, spacing, TRIANGLE_TABLE, EDGE_MIDPOINTS, OWNED_EDGES)
    return float(area), float(volume6 / 6.0), grid


@njit
def _covariance_kernel(mask, spacing):
    """Population covariance (mm^2) of the physical positions ``index * spacing`` of a 3D mask's voxels.

    Exact integer sums of the indices and their products (row by row: the
    x sums of a row are vectorised), then the centred second moments in
    floating point. Returns a 3 x 3 array.
    """
    nz, ny, nx = mask.shape
    count = 0
    sums = np.zeros(3, dtype=np.int64)
    products = np.zeros((3, 3), dtype=np.int64)
    for iz in range(nz):
        for iy in range(ny):
            row = mask[iz, iy]
            n_row = 0
            x_sum = 0
            x_squares = 0
            for ix in range(nx):
                inside = np.int64(row[ix] != 0)
                n_row += inside
                x_sum += inside * ix
                x_squares += inside * ix * ix
            if n_row == 0:
                continue
            count += n_row
            sums[0] += n_row * iz
            sums[1] += n_row * iy
            sums[2] += x_sum
            products[0, 0] += n_row * iz * iz
            products[0, 1] += n_row * iz * iy
            products[0, 2] += x_sum * iz
            products[1, 1] += n_row * iy * iy
            products[1, 2] += x_sum * iy
            products[2, 2] += x_squares
    covariance = np.zeros((3, 3))
    for a in range(3):
        for b in range(a, 3):
            centred = products[a, b] - sums[a] * (sums[b] / count)
            covariance[a, b] = centred / count * spacing[a] * spacing[b]
            covariance[b, a] = covariance[a, b]
    return covariance


def principal_eigenvalues(mask: np.ndarray, spacing) -> np.ndarray:
    """Eigenvalues (ascending, mm^2) of the covariance of the ROI voxel centres' physical positions.

    ``mask`` is 3D (z, y, x) or 2D (rows, columns) with a matching ``spacing``.
    Population covariance (divided by the voxel count); eigenvalues in
    ``(-1e-10, 0)`` are machine error and set to 0, as in pyradiomics.
    """
    mask = np.asarray(mask, dtype=np.uint8)
    spacing = np.asarray(spacing, dtype=np.float64)
    planar = mask.ndim == 2
    if planar:
        mask, spacing = mask[None], np.concatenate(([1.0], spacing))
    covariance = _covariance_kernel(np.ascontiguousarray(mask), spacing)
    if planar:
        covariance = covariance[1:, 1:]
    eigenvalues = np.linalg.eigvals(covariance).real
    eigenvalues[(eigenvalues < 0) & (eigenvalues > -1e-10)] = 0.0
    return np.sort(eigenvalues)
