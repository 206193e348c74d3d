"""pyradiomics' marching-cubes mesh (:mod:`radiomix.features.marching_cubes`), morphology's ``pyradiomics`` mesh.

- the mesh kernel against a plain NumPy marching cubes (one cube, one triangle at a time) and
  against the installed pyradiomics' C extension on random masks;
- the diameters (plane hulls, line-end candidates, the pruned farthest pair) against all pairs
  of mesh vertices;
- the covariance of voxel positions against NumPy and against exact rational arithmetic;
- pyradiomics' shape features from the morphology family (:func:`shape_values`).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial import ConvexHull

from radiomix.features import marching_cubes as mc
from radiomix.features import surface
from radiomix.pyradiomics.mapping import SHAPE_SOURCES
from radiomix.pyradiomics.translation import SHAPE_SETTINGS

PROPERTY = settings(max_examples=40, deadline=None)


def shape_values(mask: np.ndarray, spacing) -> tuple[dict, dict]:
    """pyradiomics' shape values by name, and their statuses: the morphology family's mesh and
    voxel-position features under the translation's shape settings."""
    results, _, _ = surface.shape_features(mask, spacing, SHAPE_SETTINGS)
    return ({name: results[key][0] for name, key in SHAPE_SOURCES.items()},
            {name: results[key][1] for name, key in SHAPE_SOURCES.items() if results[key][1]})


def mesh_coefficients(mask: np.ndarray, spacing) -> tuple[float, float, np.ndarray]:
    """Area, volume and diameters (slice, column, row, overall) of the family's pyradiomics mesh."""
    values, _, _ = surface.shape_features(mask, spacing, SHAPE_SETTINGS)
    diameters = [values[key][0] for key in (*surface.PLANE_DIAMETER_KEYS, "maximum_3d_diameter")]
    return values["surface_area_mesh"][0], values["volume_mesh"][0], np.array(diameters)


def naive_mesh(mask: np.ndarray, spacing) -> tuple[float, float, list]:
    """Marching cubes, one cube and one triangle at a time (NumPy, loops): area, volume, vertices."""
    padded = mc.padded_mask(mask).astype(bool)
    spacing = np.asarray(spacing, dtype=float)
    area = volume6 = 0.0
    vertices = []
    nz, ny, nx = padded.shape
    for iz in range(nz - 1):
        for iy in range(ny - 1):
            for ix in range(nx - 1):
                origin = np.array([iz, iy, ix])
                inside = [bool(padded[tuple(origin + corner)]) for corner in mc.CUBE_CORNERS]
                case = sum(1 << k for k, flag in enumerate(inside) if flag)
                sign = 1.0
                if case >= 128:
                    case, sign = 255 - case, -1.0
                for corner, edge in mc.OWNED_EDGES:
                    if case >> corner & 1:
                        vertices.append(tuple((origin + mc.EDGE_MIDPOINTS[edge]) * spacing))
                edges = [e for e in mc.TRIANGLE_TABLE[case] if e >= 0]
                for t in range(0, len(edges), 3):
                    a, b, c = ((origin + mc.EDGE_MIDPOINTS[e]) * spacing for e in edges[t:t + 3])
                    volume6 += sign * float(np.dot(np.cross(a, b), c))
                    area += 0.5 * float(np.linalg.norm(np.cross(a - c, b - c)))
    return area, volume6 / 6.0, vertices


def naive_diameters(vertices) -> np.ndarray:
    """Largest vertex distances with equal z, equal y, equal x, and overall (all pairs)."""
    best = np.zeros(4)
    for i, a in enumerate(vertices):
        for b in vertices[:i]:
            distance = math.dist(a, b)
            for axis in range(3):
                if a[axis] == b[axis]:
                    best[axis] = max(best[axis], distance)
            best[3] = max(best[3], distance)
    return best


def installed_cshape():
    """The installed pyradiomics' C shape extension (skips the test without pyradiomics)."""
    radiomics = pytest.importorskip("radiomics")
    return radiomics.cShape


@st.composite
def masks(draw, max_shape=(4, 5, 5)):
    """Small 3D masks with at least one voxel, touching the array border, sometimes a single voxel."""
    shape_ = tuple(draw(st.integers(1, m)) for m in max_shape)
    mask = draw(arrays(np.bool_, shape_))
    if not mask.any():
        mask.flat[draw(st.integers(0, mask.size - 1))] = True
    return mask


spacings = st.tuples(*[st.floats(0.3, 4.0) for _ in range(3)])


@PROPERTY
@given(masks(), spacings)
def test_mesh_kernel_matches_the_reference(mask, spacing):
    area, volume, diameters = mesh_coefficients(mask, spacing)
    naive_area, naive_volume, vertices = naive_mesh(mask, spacing)
    assert area == pytest.approx(naive_area, rel=1e-12)
    assert volume == pytest.approx(naive_volume, rel=1e-12, abs=1e-12)
    assert np.allclose(diameters, naive_diameters(vertices), rtol=1e-13, atol=0)


@PROPERTY
@given(masks(), spacings)
def test_mesh_matches_installed_pyradiomics(mask, spacing):
    c_shape = installed_cshape()
    expected_area, expected_volume, expected_diameters = c_shape.calculate_coefficients(
        mc.padded_mask(mask).astype(bool), np.asarray(spacing))
    area, volume, diameters = mesh_coefficients(mask, spacing)
    assert area == pytest.approx(expected_area, rel=1e-12)
    assert volume == pytest.approx(expected_volume, rel=1e-12, abs=1e-12)
    assert np.allclose(diameters, expected_diameters, rtol=1e-13, atol=0)


@PROPERTY
@given(arrays(np.float64, st.tuples(st.integers(0, 60), st.sampled_from([2, 3])),
              elements=st.floats(-50, 50)), st.booleans())
def test_farthest_pair_matches_all_pairs(points, grouped):
    groups = np.round(points[:, 0]) if grouped else None
    expected = 0.0
    for i in range(len(points)):
        for j in range(i):
            if groups is None or groups[i] == groups[j]:
                expected = max(expected, math.dist(points[i], points[j]))
    assert mc.farthest_pair_distance(points, groups) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_single_voxel_mesh_is_an_octahedron():
    area, volume, diameters = mesh_coefficients(np.ones((1, 1, 1), bool), (1.0, 1.0, 1.0))
    assert volume == pytest.approx(1.0 / 6.0) and area == pytest.approx(np.sqrt(3.0))
    assert np.allclose(diameters, 1.0)


def test_shape_features_follow_pyradiomics_formulas():
    mask = np.zeros((3, 6, 7), bool)
    mask[:, 1:5, 2:6] = True
    values, statuses = shape_values(mask, (2.0, 0.5, 0.8))
    assert not statuses
    assert values["VoxelVolume"] == pytest.approx(mask.sum() * 0.8)
    assert values["Sphericity"] == pytest.approx(1.0 / values["SphericalDisproportion"])
    assert values["Compactness2"] == pytest.approx(values["Sphericity"] ** 3)
    assert values["LeastAxisLength"] <= values["MinorAxisLength"] <= values["MajorAxisLength"]


@PROPERTY
@given(masks(), spacings)
def test_covariance_kernel_matches_the_reference(mask, spacing):
    positions = np.argwhere(mask) * np.asarray(spacing)
    expected = np.cov(positions.T, bias=True) if len(positions) > 1 else np.zeros((3, 3))
    covariance = mc._covariance_kernel(mask.astype(np.uint8), np.asarray(spacing, dtype=float))
    assert np.allclose(covariance, np.atleast_2d(expected), rtol=1e-10, atol=1e-10)


@st.composite
def blobs(draw, max_shape=(6, 11, 11)):
    """Masks of a few overlapping boxes (convex and non-convex shapes, holes, several slices)."""
    size = tuple(draw(st.integers(1, m)) for m in max_shape)
    mask = np.zeros(size, dtype=bool)
    for _ in range(draw(st.integers(1, 4))):
        lower = [draw(st.integers(0, n - 1)) for n in size]
        upper = [draw(st.integers(lo, n - 1)) for lo, n in zip(lower, size)]
        mask[tuple(slice(lo, hi + 1) for lo, hi in zip(lower, upper))] = True
    if draw(st.booleans()):
        mask &= draw(arrays(np.bool_, size, elements=st.booleans()))  # holes, scattered voxels
    if not mask.any():
        mask.flat[0] = True
    return mask


blob_spacings = st.tuples(*[st.sampled_from([0.4, 0.977, 1.0, 2.5, 6.5]) for _ in range(3)])


def all_pairs_diameters(vertices: np.ndarray) -> np.ndarray:
    """Largest distances with equal z, equal y, equal x, and overall, over every pair (NumPy)."""
    difference = vertices[:, None, :] - vertices[None, :, :]
    distance = np.sqrt(np.sum(difference ** 2, axis=2))
    return np.array([distance[difference[:, :, axis] == 0].max() for axis in range(3)] + [distance.max()])


@PROPERTY
@given(blobs(), blob_spacings)
def test_mesh_diameters_equal_all_pairs(mask, spacing):
    spacing = np.asarray(spacing)
    padded = mc.padded_mask(mask)
    _, _, grid = mc._mesh_kernel(padded, spacing, mc.TRIANGLE_TABLE, mc.EDGE_MIDPOINTS,
                                    mc.OWNED_EDGES)
    vertices = (grid * 0.5) * spacing
    expected = all_pairs_diameters(vertices)
    diameters = [*mc.plane_diameters(grid, spacing), mc.farthest_pair_distance(mc.diameter_candidates(vertices, grid))]
    np.testing.assert_allclose(diameters, expected, rtol=1e-14, atol=0)
    assert np.allclose(mesh_coefficients(mask, spacing)[2], expected, rtol=1e-14, atol=0)


@PROPERTY
@given(arrays(np.int64, st.tuples(st.integers(1, 40), st.just(3)), elements=st.integers(0, 6)),
       st.sampled_from([(0,), (1, 2), (0, 1, 2)]))
def test_line_ends_keep_only_the_ends_of_lines(grid, axes):
    keep = mc._line_ends(grid, np.array(axes, dtype=np.int64))
    for i, point in enumerate(grid):
        ends = []
        for axis in axes:
            others = [a for a in range(3) if a != axis]
            line = grid[np.all(grid[:, others] == point[others], axis=1), axis]
            ends.append(point[axis] in (line.min(), line.max()))
        assert keep[i] == all(ends)


@PROPERTY
@given(blobs(), blob_spacings)
def test_covariance_is_exact_to_rounding(mask, spacing):
    indices = np.argwhere(mask)
    n = len(indices)
    covariance = mc._covariance_kernel(mask.astype(np.uint8), np.asarray(spacing, dtype=float))
    for a, b in itertools.product(range(3), range(3)):
        centred = Fraction(int(n * np.sum(indices[:, a] * indices[:, b]) - indices[:, a].sum() * indices[:, b].sum()),
                           n * n)
        exact = float(centred * Fraction(spacing[a]) * Fraction(spacing[b]))
        assert covariance[a, b] == pytest.approx(exact, rel=1e-13, abs=1e-13 * max(spacing) ** 2)


def strict_plane_hull_vertices(points: list[tuple[int, int]]) -> set[int]:
    """Indices of the vertices of the 2D convex hull of distinct integer points (Andrew's chain, sorted; no
    point between two vertices on an edge)."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    if len(order) <= 2:
        return set(order)

    def turn(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    chains = []
    for sequence in (order, order[::-1]):
        chain = []
        for i in sequence:
            while len(chain) >= 2 and turn(points[chain[-2]], points[chain[-1]], points[i]) <= 0:
                chain.pop()
            chain.append(i)
        chains += chain
    return set(chains)


@PROPERTY
@given(arrays(np.int64, st.tuples(st.integers(1, 60), st.just(3)), elements=st.integers(0, 7)),
       st.integers(0, 2))
def test_plane_hull_ends_keep_the_vertices_of_each_planes_hull(grid, axis):
    grid = np.unique(grid, axis=0)  # distinct points, as a mesh's vertices
    first, second = (axis + 1) % 3, (axis + 2) % 3
    size = grid.max(axis=0) + 1
    keep = np.ones(len(grid), dtype=bool)
    flags = np.zeros((2, size[axis], size[first]), dtype=bool)
    hull = np.empty((2, 2 * size[first] + 2), dtype=np.int64)
    mc._plane_hull_ends(grid, axis, np.full((size[axis], size[first]), size[second]),
                        np.full((size[axis], size[first]), -1), flags[0], flags[1], hull[0], hull[1], keep)
    expected = np.zeros(len(grid), dtype=bool)
    for plane in np.unique(grid[:, axis]):
        members = np.flatnonzero(grid[:, axis] == plane)
        vertices = strict_plane_hull_vertices([(int(grid[i, first]), int(grid[i, second])) for i in members])
        expected[members[sorted(vertices)]] = True
    np.testing.assert_array_equal(keep, expected)


@PROPERTY
@given(blobs(), blob_spacings, st.sampled_from(["lewiner", "pyradiomics"]))
def test_hull_candidates_span_the_meshs_convex_hull(mask, spacing, mesh):
    from scipy.spatial import QhullError

    built = surface.build_surface(mask, spacing, mesh)
    candidates, candidate_grid = mc.hull_candidates(built.edge_vertices, built.grid)
    np.testing.assert_array_equal(candidates, (candidate_grid * 0.5) * np.asarray(spacing))
    try:
        expected = ConvexHull(built.vertices)
    except QhullError:  # a flat mesh (pyradiomics' of a single slice): no 3D hull either way
        return
    hull = ConvexHull(candidates)
    # every vertex of the whole mesh's hull is a candidate, and the candidates are mesh vertices in mesh order
    hull_vertices = {tuple(point) for point in built.vertices[expected.vertices]}
    assert hull_vertices <= {tuple(point) for point in candidates}
    order = [np.flatnonzero(np.all(built.vertices == point, axis=1))[0] for point in candidates]
    assert order == sorted(order)
    assert hull.volume == pytest.approx(expected.volume, rel=1e-12)
    assert hull.area == pytest.approx(expected.area, rel=1e-12)


@PROPERTY
@given(st.integers(0, 2 ** 32 - 1), st.integers(4, 80), st.integers(1, 40),
       st.tuples(*(st.sampled_from([0.25, 0.4885, 0.5, 1.0, 1.65]) for _ in range(3))))
def test_lattice_hull_volume_is_exact_and_its_area_is_scipys(seed, n_points, extent, step):
    # lattice points with many coplanar and collinear ones (small extents), duplicates, any order
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, extent + 1, size=(n_points, 3))
    grid[rng.integers(n_points)] = grid[0]
    volume, area = mc.lattice_hull_volume_and_area(grid, step)
    try:
        reference = ConvexHull(grid.astype(float))
    except Exception:  # coplanar points: no 3D hull
        assert math.isnan(volume) and math.isnan(area)
        return
    # six times the volume, exactly: |det| of the tetrahedra joining point 0 (in the hull) to each facet
    origin = [int(v) for v in grid[0]]
    volume6 = 0
    for simplex in reference.simplices:
        a, b, c = ([int(v) - o for v, o in zip(grid[i], origin)] for i in simplex)
        volume6 += abs(a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
                       + a[2] * (b[0] * c[1] - b[1] * c[0]))
    assert volume == pytest.approx(volume6 * step[0] * step[1] * step[2] / 6.0, rel=4e-16)
    assert area == pytest.approx(ConvexHull(grid * np.asarray(step)).area, rel=1e-12)


def test_lattice_hull_of_a_cube_and_of_flat_or_outside_points():
    cube = np.array([[i, j, k] for i in (0, 3) for j in (0, 3) for k in (0, 3)] + [[1, 1, 1], [0, 1, 2]])
    assert mc.lattice_hull_volume_and_area(cube, (1.0, 2.0, 0.5)) == (27.0, 2 * 9 * (2.0 + 0.5 + 1.0))
    flat = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1], [0, 5, 5], [0, 2, 3]])
    assert all(math.isnan(v) for v in mc.lattice_hull_volume_and_area(flat, (1.0, 1.0, 1.0)))
    with pytest.raises(mc.InputError, match="lattice hull"):
        mc.lattice_hull_volume_and_area(cube + mc.LATTICE_HULL_EXTENT, (1.0, 1.0, 1.0))


@PROPERTY
@given(arrays(np.bool_, st.tuples(*(st.integers(1, 7) for _ in range(3))), elements=st.booleans()), st.integers(0, 3))
def test_mask_box_is_numpys_projection_box(mask, sparsity):
    if sparsity:  # fewer voxels: single voxels, single rows
        mask = mask & (np.random.default_rng(sparsity).random(mask.shape) < 0.1)
    box = mc.mask_box(mask)
    if not mask.any():
        assert list(box) == [-1] * 6
        return
    for axis in range(3):
        present = np.flatnonzero(mask.any(axis=tuple(other for other in range(3) if other != axis)))
        assert (box[2 * axis], box[2 * axis + 1]) == (present[0], present[-1] + 1)
