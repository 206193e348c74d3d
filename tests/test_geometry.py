"""Box kernels of radiomix.features.geometry against SciPy references on small random point sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.spatial import ConvexHull

from radiomix.features import geometry

FAST = settings(max_examples=30, deadline=None)


@st.composite
def clouds(draw):
    """A random 3D point set in general position (5 to 40 points, anisotropic) and a random unit direction."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    points = rng.normal(size=(draw(st.integers(5, 40)), 3)) * rng.uniform(0.5, 5.0, size=3)
    normal = rng.normal(size=3)
    return points, normal / np.linalg.norm(normal)


@st.composite
def lattice_hulls(draw):
    """Vertices of a random set of half-integer lattice points (many coplanar and collinear points)."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    points = rng.integers(0, draw(st.integers(2, 5)), size=(draw(st.integers(8, 40)), 3)) / 2.0
    points = np.unique(points, axis=0)
    if len(points) < 4 or np.linalg.matrix_rank(points - points.mean(axis=0)) < 3:
        points = np.vstack([points, np.eye(3) * 3.0, np.zeros((1, 3)) - 1.0])
    normal = rng.normal(size=3)
    return points, normal / np.linalg.norm(normal)


def projected_hull(points, normal):
    """Vertices (indices) of the 2D convex hull of ``points`` projected along ``normal`` (SciPy)."""
    planar = points @ geometry._tilting_basis(normal).T
    return set(ConvexHull(planar).vertices.tolist())


@FAST
@given(st.one_of(clouds(), lattice_hulls()))
def test_silhouette_holds_every_vertex_of_the_projected_hull(case):
    points, normal = case
    convex = geometry._hull_structure(ConvexHull(points))
    silhouette = geometry._silhouette_vertices(convex, normal, geometry.SILHOUETTE_MARGIN)
    assert np.all(np.diff(silhouette) > 0)
    assert projected_hull(convex[0], normal) <= set(silhouette.tolist())


@FAST
@given(st.one_of(clouds(), lattice_hulls()))
def test_box_from_the_silhouette_is_the_box_from_every_vertex(case):
    # the silhouette is only a shortcut: the box is the one found from all hull vertices
    points, normal = case
    convex = geometry._hull_structure(ConvexHull(points))
    every_vertex = (convex[0], np.zeros((0, 3)), np.zeros((0, 2), dtype=np.int64), np.zeros((0, 2), dtype=np.int64))
    for direction in (normal, np.array([0.0, 0.0, 1.0]), convex[1][0]):
        found, reference = np.empty(3), np.empty(3)
        geometry._box_about_normal(convex, np.ascontiguousarray(direction), found, np.empty((3, 3)))
        geometry._box_about_normal(every_vertex, np.ascontiguousarray(direction), reference, np.empty((3, 3)))
        np.testing.assert_allclose(found, reference, rtol=1e-13)


def test_hull_structure_lists_each_edge_once_between_its_two_faces():
    points = np.array([[0, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 4], [2, 3, 4]], dtype=np.float64)
    hull = ConvexHull(points)
    vertices, face_normals, edge_vertices, edge_faces = geometry._hull_structure(hull)
    assert len(edge_vertices) == 3 * len(hull.simplices) // 2  # closed triangulated surface
    assert len({tuple(sorted(edge)) for edge in edge_vertices.tolist()}) == len(edge_vertices)
    triangles = [set(vertices_of.tolist()) for vertices_of in np.searchsorted(hull.vertices, hull.simplices)]
    for (a, b), (f, g) in zip(edge_vertices, edge_faces):
        assert {a, b} <= triangles[f] and {a, b} <= triangles[g] and f != g
    np.testing.assert_allclose(np.linalg.norm(face_normals, axis=1), 1.0)
    np.testing.assert_array_equal(vertices, points[hull.vertices])


@FAST
@given(clouds(), st.integers(3, 80))
def test_refined_box_follows_scipy_nelder_mead(case, budget):
    points, normal = case
    convex = geometry._hull_structure(ConvexHull(points - points.mean(axis=0)))
    basis = geometry._tilting_basis(normal)
    sides, axes = np.empty(3), np.empty((3, 3))

    def volume(tilt):
        moved = normal + tilt @ basis
        geometry._box_about_normal(convex, moved / math.sqrt(moved @ moved), sides, axes)
        return float(sides[0] * sides[1] * sides[2])

    scale = volume(np.zeros(2))
    result = minimize(volume, np.zeros(2), method="Nelder-Mead",
                      options={"xatol": 1e-10, "fatol": 1e-12 * scale, "maxiter": budget, "maxfev": budget,
                               "initial_simplex": [[0.0, 0.0], [0.03, 0.0], [0.0, 0.03]]})
    volume(result.x)
    expected = sides.copy()
    found = np.empty(3)
    geometry._refined_box(convex, normal, basis, 0.03, 1e-10, 1e-12 * scale, budget, found, np.empty((3, 3)))
    np.testing.assert_allclose(found, expected, rtol=1e-12)


@FAST
@given(clouds(), st.integers(1, 8))
def test_maximum_diameter_is_the_largest_pairwise_distance(case, block_rows):
    points, _ = case
    expected = max(np.linalg.norm(a - b) for a in points for b in points)
    assert geometry.maximum_diameter(points, block_rows) == pytest.approx(expected, rel=1e-14)
