"""The surface mesh's volume and area kernel against NumPy, and the mesh's orientation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.features import geometry, surface

FAST = settings(max_examples=30, deadline=None)


def numpy_volume_and_area(vertices, faces):
    """Signed volume about the centroid and area of a triangle mesh, with NumPy's cross products."""
    centred = vertices - vertices.mean(axis=0)
    a, b, c = centred[faces[:, 0]], centred[faces[:, 1]], centred[faces[:, 2]]
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    return volume, np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(3, 30), st.integers(1, 40))
def test_volume_and_area_kernel_is_numpys(seed, n_vertices, n_faces):
    rng = np.random.default_rng(seed)
    vertices = rng.normal(size=(n_vertices, 3)) * rng.uniform(0.5, 5.0, size=3) + rng.uniform(-50, 50, size=3)
    faces = rng.integers(0, n_vertices, size=(n_faces, 3))
    volume, area = geometry.mesh_volume_and_area(vertices, faces)
    expected_volume, expected_area = numpy_volume_and_area(vertices, faces)
    scale = np.abs(vertices - vertices.mean(axis=0)).max()
    assert volume == pytest.approx(expected_volume, rel=1e-12, abs=1e-12 * n_faces * scale ** 3)
    assert area == pytest.approx(expected_area, rel=1e-12, abs=1e-12 * n_faces * scale ** 2)


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.tuples(*(st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.0]) for _ in range(3))))
def test_mesh_is_wound_outwards_and_its_volume_and_area_are_numpys(seed, spacing):
    rng = np.random.default_rng(seed)
    mask = rng.random(tuple(rng.integers(1, 7, size=3))) < 0.6
    mask.flat[rng.integers(mask.size)] = True
    vertices, faces = surface.surface_mesh(mask, spacing)
    expected_volume, expected_area = numpy_volume_and_area(vertices, faces)
    assert expected_volume > 0.0  # outward winding
    built = surface.build_surface(mask, spacing, "lewiner")
    assert built.volume == pytest.approx(expected_volume, rel=1e-12)
    assert built.area == pytest.approx(expected_area, rel=1e-12)
    # the built volume is the negated sum over the triangles as marching cubes winds them
    assert surface.mesh_volume(vertices, faces) == pytest.approx(built.volume, rel=1e-14)
    assert surface.mesh_area(vertices, faces) == pytest.approx(built.area, rel=1e-14)


def test_a_single_voxel_mesh_is_an_octahedron_of_its_spacing():
    # marching cubes at 0.5 joins the midpoints of the voxel's six neighbour edges
    spacing = (2.0, 1.0, 3.0)
    built = surface.build_surface(np.ones((1, 1, 1), dtype=bool), spacing, "lewiner")
    assert built.volume == pytest.approx(np.prod(spacing) / 6.0, rel=1e-12)


@FAST
@given(st.integers(0, 2 ** 32 - 1),
       st.tuples(*(st.sampled_from([0.5, 0.7, 0.977, 1.3, 2.0, 3.0]) for _ in range(3))))
def test_mesh_of_the_bounding_box_is_the_whole_blocks_bit_for_bit(seed, spacing):
    # a ROI inside a block with margins (as extraction cuts it), anywhere, touching the block's border or not
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 9, size=3))
    mask = np.zeros(shape, dtype=bool)
    low = [int(rng.integers(0, n)) for n in shape]
    high = [int(rng.integers(first + 1, n + 1)) for first, n in zip(low, shape)]
    box = tuple(slice(first, last) for first, last in zip(low, high))
    mask[box] = rng.random(mask[box].shape) < rng.uniform(0.3, 1.0)
    mask[tuple(rng.integers(first, last) for first, last in zip(low, high))] = True
    # the whole padded block, as scikit-image meshes it
    expected, expected_faces, _, _ = surface.lewiner_marching_cubes(
        np.pad(mask, 1).astype(np.float32), level=0.5, spacing=spacing)
    vertices, faces, volume, area = surface._outward_mesh(mask, spacing)
    assert vertices.dtype == np.float64
    np.testing.assert_array_equal(vertices, np.asarray(expected, dtype=np.float64))
    expected_faces = np.asarray(expected_faces, dtype=np.int64)
    assert np.array_equal(faces, expected_faces) or np.array_equal(faces, expected_faces[:, ::-1])  # wound outwards
    assert volume > 0 and area > 0


@FAST
@given(st.integers(0, 2 ** 32 - 1),
       st.tuples(*(st.sampled_from([0.5, 0.7, 0.977, 1.3, 2.0, 3.0]) for _ in range(3))))
def test_edge_vertices_are_those_on_the_half_voxel_lattice_with_one_odd_index(seed, spacing):
    # NumPy reference: a vertex (mm) is at a grid-edge midpoint when it is (g / 2) * spacing for whole g with
    # exactly one odd coordinate; ambiguous cubes (checkerboards) also give Lewiner's cube-centre vertices
    rng = np.random.default_rng(seed)
    mask = rng.random(tuple(int(n) for n in rng.integers(2, 8, size=3))) < rng.uniform(0.3, 0.8)
    mask.flat[rng.integers(mask.size)] = True
    vertices, _, _, _, half_indices = surface._outward_mesh_and_grid(mask, spacing)
    spacing_array = np.asarray(spacing, dtype=np.float64)
    doubled = np.rint(vertices / spacing_array * 2.0).astype(np.int64)
    on_edges = ((doubled % 2).sum(axis=1) == 1) & np.all(vertices == (doubled * 0.5) * spacing_array, axis=1)
    np.testing.assert_array_equal(half_indices[:, 0] >= 0, on_edges)
    np.testing.assert_array_equal(half_indices[on_edges], doubled[on_edges])
    built = surface.build_surface(mask, spacing, "lewiner")
    np.testing.assert_array_equal(built.edge_vertices, vertices[on_edges])
    np.testing.assert_array_equal(built.grid, doubled[on_edges])


@FAST
@given(st.integers(0, 2 ** 32 - 1),
       st.tuples(*(st.sampled_from([0.5, 0.7, 0.977, 1.3, 2.0, 3.0]) for _ in range(3))))
def test_voxel_positions_are_argwheres_times_the_spacing_in_its_layout(seed, spacing):
    rng = np.random.default_rng(seed)
    mask = rng.random(tuple(int(n) for n in rng.integers(1, 9, size=3))) < rng.uniform(0.0, 1.0)
    positions = surface.voxel_positions(mask, spacing)
    expected = np.argwhere(mask) * np.asarray(spacing)
    np.testing.assert_array_equal(positions, expected)
    assert positions.flags["F_CONTIGUOUS"] == expected.flags["F_CONTIGUOUS"]  # NumPy's reductions read it alike
    if len(positions) > 1:
        np.testing.assert_array_equal(np.cov(positions, rowvar=False), np.cov(expected, rowvar=False))
