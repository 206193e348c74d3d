"""Morphological features: IBSI references, kernels against NumPy references, shapes with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from radiomix.errors import EmptyRoiError, SpecError
from radiomix.features import geometry, morphology, registry, surface, table
from radiomix.features.base import RoiImage
from radiomix.spec import MorphologySettings, load_spec

from ibsi_reference import misses, reference_rows

FAST = settings(max_examples=30, deadline=None)
NO_REFERENCE_CODES = {"ZH1A", "IQYR", "SWZ1", "BRI8"}  # OMBB and MVEE: no IBSI consensus values
EVERY_IBSI_FEATURE = MorphologySettings(unreferenced_ibsi_features=morphology.UNREFERENCED_KEYS)


# ----------------------------------------------------------------- helpers


def make_roi(mask, spacing=(1.0, 1.0, 1.0), intensity=None, intensity_mask=None) -> RoiImage:
    """A RoiImage for morphology (discretisation fields are not used by this family)."""
    mask = np.asarray(mask, dtype=bool)
    intensity = np.ones(mask.shape) if intensity is None else np.asarray(intensity, dtype=np.float64)
    intensity_mask = mask.copy() if intensity_mask is None else np.asarray(intensity_mask, dtype=bool)
    return RoiImage(
        intensity=intensity, morphological_mask=mask, intensity_mask=intensity_mask,
        spacing=tuple(float(s) for s in spacing), discretised=intensity_mask.astype(np.int32),
        n_levels=1, bin_width=None, lower_bound=0.0, resegmentation_range=(-np.inf, np.inf))


def features(roi: RoiImage) -> dict[str, tuple[float, str]]:
    return {item.key: (item.value, item.status) for item in
            morphology.compute(roi, EVERY_IBSI_FEATURE, ("3D",))}


def cube_mask(n: int, margin: int = 1) -> np.ndarray:
    mask = np.zeros((n + 2 * margin,) * 3, dtype=bool)
    mask[margin:margin + n, margin:margin + n, margin:margin + n] = True
    return mask


@st.composite
def masks(draw, max_side=5):
    """A random non-empty 3D mask (possibly touching the border), spacing and intensities."""
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(3))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < draw(st.floats(0.2, 1.0))
    mask.flat[rng.integers(mask.size)] = True
    spacing = tuple(draw(st.sampled_from([0.5, 0.8, 1.0, 1.25, 2.0, 3.0])) for _ in range(3))
    intensity = rng.integers(-5, 6, size=shape).astype(np.float64)
    return mask, spacing, intensity


# ------------------------------------------------------ NumPy references


def naive_box_volume_about(points, normal):
    """Volume of the smallest box with an axis along ``normal``, by brute force over 2D hull edges."""
    normal = normal / np.linalg.norm(normal)
    basis = np.linalg.svd(np.eye(3) - np.outer(normal, normal))[0][:, :2]
    planar = points @ basis
    hull = ConvexHull(planar)
    height = np.ptp(points @ normal)
    best = np.inf
    ring = hull.vertices
    for a, b in zip(ring, np.roll(ring, -1)):
        direction = (planar[b] - planar[a]) / np.linalg.norm(planar[b] - planar[a])
        across = np.array([-direction[1], direction[0]])
        best = min(best, np.ptp(planar @ direction) * np.ptp(planar @ across))
    return height * best


def naive_khachiyan_weights(points, tolerance, max_iterations):
    """Khachiyan's iteration with away steps, written with whole-array NumPy operations."""
    n, d = points.shape
    lifted = np.hstack([points, np.ones((n, 1))])
    weights = np.full(n, 1.0 / n)
    for iteration in range(max_iterations):
        scatter = lifted.T @ (weights[:, None] * lifted)
        distances = np.einsum("ij,jk,ik->i", lifted, np.linalg.inv(scatter), lifted)
        farthest = int(np.argmax(distances))
        if distances[farthest] <= (1 + tolerance) * (d + 1):
            return weights, iteration
        support = np.flatnonzero(weights > 0)
        nearest = int(support[np.argmin(distances[support])])
        toward = distances[farthest] - (d + 1) >= (d + 1) - distances[nearest]
        chosen = farthest if toward else nearest
        step = (distances[chosen] - d - 1) / ((d + 1) * (distances[chosen] - 1))
        drop = not toward and step <= -weights[chosen] / (1 - weights[chosen])
        if drop:
            step = -weights[chosen] / (1 - weights[chosen])
        weights = (1 - step) * weights
        weights[chosen] += step
        if drop:
            weights[chosen] = 0.0
    return weights, max_iterations


def ellipsoid_volume(semi_axes):
    return 4.0 / 3.0 * math.pi * float(np.prod(semi_axes))


# ------------------------------------------------------- IBSI references


def test_registry_codes_match_reference_rows():
    ibsi = [d for d in registry.definitions("morphology") if d.ibsi_code]
    codes = {d.ibsi_code for d in ibsi}
    reference_codes = {row.ibsi_code for row in reference_rows("digital_phantom", {"morphology"})}
    assert len(codes) == len(ibsi) == 29
    assert [d.key for d in ibsi] == list(morphology.FEATURE_KEYS)
    assert {d.key for d in registry.definitions("morphology") if not d.ibsi_code} == set(morphology.NON_IBSI_KEYS)
    assert reference_codes <= codes
    assert codes - reference_codes == NO_REFERENCE_CODES


def test_digital_phantom_reference(digital_phantom_roi):
    values = morphology.compute(digital_phantom_roi, EVERY_IBSI_FEATURE, ("2D", "3D"))
    assert [v.key for v in values] == list(morphology.FEATURE_KEYS)
    assert all(v.aggregation == "" for v in values)
    rows = reference_rows("digital_phantom", {"morphology"})
    assert len(rows) == 25
    assert misses(table.tabulate("morphology", values), rows) == []


def test_ct_phantom_config_a_reference(ct_phantom_config_a_roi):
    # configuration A has no interpolation: morphology sees the NIfTI mask itself, and
    # re-segmentation to [-500, 400] HU changes only the intensity mask (shared fixture)
    values = morphology.compute(ct_phantom_config_a_roi, MorphologySettings(), ("2D", "2.5D"))
    rows = reference_rows("config_A", {"morphology"})
    assert len(rows) == 25
    assert misses(table.tabulate("morphology", values), rows) == []


# ------------------------------------- features without a reference: opt-in


def test_registry_codes_of_the_opt_in_features_are_those_without_reference():
    codes = {d.key: d.ibsi_code for d in registry.definitions("morphology")}
    assert {codes[key] for key in morphology.UNREFERENCED_KEYS} == NO_REFERENCE_CODES
    assert set(morphology.DEFAULT_KEYS) | set(morphology.UNREFERENCED_KEYS) == set(morphology.FEATURE_KEYS)


def test_box_and_ellipsoid_are_neither_computed_nor_listed_by_default(monkeypatch, digital_phantom_roi):
    def refuse(*args, **kwargs):
        raise AssertionError("computed without being asked for")

    monkeypatch.setattr(morphology, "oriented_minimum_bounding_box", refuse)
    monkeypatch.setattr(morphology, "minimum_volume_enclosing_ellipsoid", refuse)
    values = morphology.compute(digital_phantom_roi, MorphologySettings(), ("3D",))
    assert [v.key for v in values] == list(morphology.DEFAULT_KEYS)
    chosen = morphology.compute(digital_phantom_roi, MorphologySettings(
        ibsi_features=("volume_mesh", "volume_density_convex_hull")), ("3D",))
    assert [v.key for v in chosen] == ["volume_mesh", "volume_density_convex_hull"]


@pytest.mark.parametrize("settings", [
    MorphologySettings(unreferenced_ibsi_features=("area_density_mvee", "volume_density_ombb")),
    MorphologySettings(ibsi_features=("volume_mesh", "volume_density_ombb", "area_density_mvee")),
    MorphologySettings(ibsi_features=("volume_mesh", "volume_density_ombb"),
                       unreferenced_ibsi_features=("area_density_mvee",)),
])
def test_named_box_and_ellipsoid_densities_equal_those_of_every_feature(settings, digital_phantom_roi):
    every = {v.key: v.value for v in morphology.compute(digital_phantom_roi, EVERY_IBSI_FEATURE, ("3D",))}
    values = morphology.compute(digital_phantom_roi, settings, ("3D",))
    keys = [v.key for v in values]
    assert {"volume_density_ombb", "area_density_mvee"} <= set(keys)
    assert not {"area_density_ombb", "volume_density_mvee"} & set(keys)
    assert keys == [key for key in morphology.FEATURE_KEYS if key in keys]  # registry order
    for value in values:
        assert value.value == every[value.key]


def test_a_misspelled_opt_in_feature_is_a_spec_error_with_a_suggestion():
    with pytest.raises(SpecError, match="did you mean 'volume_density_ombb'"):
        load_spec({"features": {"morphology": {"unreferenced_ibsi_features": ["volume_density_obb"]}}})
    with pytest.raises(SpecError, match="did you mean 'unreferenced_ibsi_features'"):
        load_spec({"features": {"morphology": {"unreferenced_ibsi_feature": ["volume_density_ombb"]}}})
    spec = load_spec({"features": {"morphology": {"unreferenced_ibsi_features": ["area_density_mvee"]}}})
    assert spec.features.morphology.unreferenced_ibsi_features == ("area_density_mvee",)


# ----------------------------------------------- kernels vs references


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 40))
def test_planar_hull_matches_qhull(seed, n_points):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(2, n_points + 3))
    hull = geometry._planar_hull(u, v)
    assert set(hull) == set(ConvexHull(np.column_stack([u, v])).vertices)
    ring = np.column_stack([u[hull], v[hull]])
    edges = np.roll(ring, -1, axis=0) - ring
    assert np.all(edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
                  - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0] > 0)  # counter-clockwise


@FAST
@given(masks())
def test_box_kernel_matches_brute_force(case):
    mask, spacing, _ = case
    vertices, _ = surface.surface_mesh(mask, spacing)
    hull = ConvexHull(vertices)
    convex = geometry._hull_structure(hull)
    points = convex[0]
    normals = np.ascontiguousarray(hull.equations[:, :3])
    sides, axes = geometry._boxes_about_normals(convex, normals)
    expected = [naive_box_volume_about(points, normal) for normal in normals]
    np.testing.assert_allclose(np.prod(sides, axis=1), expected, rtol=1e-9)
    np.testing.assert_allclose(np.einsum("kij,klj->kil", axes, axes), np.broadcast_to(np.eye(3), axes.shape),
                               atol=1e-12)
    for k in range(len(normals)):  # the box spanned by the axes has exactly these sides
        np.testing.assert_allclose(np.ptp(points @ axes[k].T, axis=0), sides[k], rtol=1e-9, atol=1e-12)


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(4, 30))
def test_khachiyan_kernel_matches_numpy_iteration(seed, n_points):
    points = np.random.default_rng(seed).normal(size=(n_points, 3)) * [3.0, 2.0, 1.0]
    weights, iterations = geometry._khachiyan_weights(points, 1e-3, 500)
    expected_weights, expected_iterations = naive_khachiyan_weights(points, 1e-3, 500)
    assert iterations == expected_iterations
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-8, atol=1e-12)


# ------------------------------------------------- properties of compute()


@FAST
@given(masks())
def test_enclosing_shapes_are_ordered(case):
    mask, spacing, intensity = case
    values = features(make_roi(mask, spacing, intensity))
    for value, status in values.values():
        assert (math.isfinite(value) and status == "") or (math.isnan(value) and status.startswith("undefined"))
    volume = values["volume_mesh"][0]
    hull_volume = volume / values["volume_density_convex_hull"][0]
    ombb_volume = volume / values["volume_density_ombb"][0]
    aabb_volume = volume / values["volume_density_aabb"][0]
    mvee_volume = volume / values["volume_density_mvee"][0]
    assert volume > 0
    assert volume <= hull_volume * (1 + 1e-9)
    assert hull_volume <= ombb_volume * (1 + 1e-9)
    assert ombb_volume <= aabb_volume * (1 + 1e-9)
    assert hull_volume <= mvee_volume * (1 + 1e-9)
    vertices, _ = surface.surface_mesh(mask, spacing)
    sides = np.ptp(vertices, axis=0)
    assert max(sides) - 1e-9 <= values["maximum_3d_diameter"][0] <= np.linalg.norm(sides) + 1e-9


@FAST
@given(masks())
def test_values_do_not_depend_on_the_position_of_the_roi_in_the_array(case):
    mask, spacing, intensity = case  # the mask may touch the array border
    shifted = features(make_roi(np.pad(mask, ((2, 0), (0, 3), (1, 1))), spacing,
                                np.pad(intensity, ((2, 0), (0, 3), (1, 1)))))
    original = features(make_roi(mask, spacing, intensity))
    for key, (value, status) in original.items():
        assert shifted[key][1] == status
        if not status:  # OMBB and MVEE are iterative searches: equal up to their tolerances
            relative = 1e-4 if key.endswith(("_ombb", "_mvee")) else 1e-7
            assert shifted[key][0] == pytest.approx(value, rel=relative, abs=1e-9), key


@FAST
@given(masks())
def test_hull_of_the_line_ends_is_the_hull_of_the_mesh(case):
    mask, spacing, _ = case
    mesh = surface.build_surface(mask, spacing, "lewiner")
    every, extreme = ConvexHull(mesh.vertices), ConvexHull(mesh.extreme_vertices)
    np.testing.assert_array_equal(mesh.extreme_vertices[extreme.vertices], mesh.vertices[every.vertices])
    assert extreme.volume == pytest.approx(every.volume, rel=1e-13)
    assert extreme.area == pytest.approx(every.area, rel=1e-13)


@FAST
@given(masks(max_side=4))
def test_mvee_encloses_the_hull_vertices(case):
    mask, spacing, _ = case
    vertices, _ = surface.surface_mesh(mask, spacing)
    points = vertices[ConvexHull(vertices).vertices]
    semi_axes, centre, axes = geometry.minimum_volume_enclosing_ellipsoid(points)
    scaled = ((points - centre) @ axes.T) / semi_axes
    assert np.all((scaled ** 2).sum(axis=1) <= 1 + 1e-9)
    assert ellipsoid_volume(semi_axes) >= ConvexHull(points).volume * (1 - 1e-9)


# ------------------------------------------------ shapes with known answers


@pytest.mark.parametrize("n", [1, 2, 10])
def test_cube_mesh_volume_and_area(n):
    # Marching cubes bevels each edge (legs of 0.5 voxel) and cuts each corner:
    # V = n^3 - 12 (n - 1) / 8 - 8 (5/48), A = 6 (n - 1)^2 + 12 (n - 1) sqrt(2)/2 + 8 sqrt(3)/8
    spacing = (2.0, 0.5, 1.5)
    values = features(make_roi(cube_mask(n), spacing))
    voxel = np.prod(spacing)
    assert values["volume_voxel_counting"][0] == pytest.approx(n ** 3 * voxel)
    assert values["volume_mesh"][0] == pytest.approx((n ** 3 - 1.5 * (n - 1) - 5 / 6) * voxel)
    isotropic = features(make_roi(cube_mask(n)))
    assert isotropic["surface_area_mesh"][0] == pytest.approx(
        6 * (n - 1) ** 2 + 6 * math.sqrt(2) * (n - 1) + math.sqrt(3))


def test_cube_bounding_boxes_and_hull():
    values = features(make_roi(cube_mask(10)))
    volume, area = values["volume_mesh"][0], values["surface_area_mesh"][0]
    assert values["volume_voxel_counting"][0] == pytest.approx(1000.0)
    assert values["volume_density_aabb"][0] == pytest.approx(volume / 1000.0)  # box of 10 x 10 x 10 mm
    assert values["area_density_aabb"][0] == pytest.approx(area / 600.0)
    assert values["volume_density_ombb"][0] == pytest.approx(values["volume_density_aabb"][0])
    assert values["area_density_ombb"][0] == pytest.approx(values["area_density_aabb"][0])
    assert values["volume_density_convex_hull"][0] == pytest.approx(1.0)  # the mesh is convex
    assert values["area_density_convex_hull"][0] == pytest.approx(1.0)
    # farthest vertices: (-0.5, 0, 0) and (9.5, 9, 9), at 0.5 mm outside opposite corner voxel centres
    assert values["maximum_3d_diameter"][0] == pytest.approx(math.sqrt(10.0 ** 2 + 2 * 9.0 ** 2))
    assert values["elongation"][0] == pytest.approx(1.0)
    assert values["flatness"][0] == pytest.approx(1.0)
    assert values["centre_of_mass_shift"][0] == pytest.approx(0.0, abs=1e-12)
    assert values["integrated_intensity"][0] == pytest.approx(volume)


def test_sphere_is_nearly_spherical():
    z, y, x = np.mgrid[-20:21, -20:21, -20:21]
    radius = 15.0
    values = features(make_roi(z ** 2 + y ** 2 + x ** 2 <= radius ** 2))
    assert 0.9 < values["sphericity"][0] < 1.0
    assert values["asphericity"][0] == pytest.approx(1 / values["sphericity"][0] - 1)
    # a solid ball's coordinate variance is r^2 / 5
    for key in ("major_axis_length", "minor_axis_length", "least_axis_length"):
        assert values[key][0] == pytest.approx(4 * radius / math.sqrt(5), rel=0.01)
    assert values["maximum_3d_diameter"][0] == pytest.approx(2 * radius + 1, abs=0.5)


def test_voxel_ellipsoid_axes_and_enclosing_ellipsoids():
    semi_axes = np.array([8.0, 12.0, 18.0])  # (z, y, x) in voxels, 1 mm
    z, y, x = np.mgrid[-10:11, -14:15, -20:21]
    mask = (z / semi_axes[0]) ** 2 + (y / semi_axes[1]) ** 2 + (x / semi_axes[2]) ** 2 <= 1
    values = features(make_roi(mask))
    expected_lengths = 4 * np.sort(semi_axes)[::-1] / math.sqrt(5)  # AEE semi-axes 2 sqrt(a^2 / 5)
    observed = [values[k][0] for k in ("major_axis_length", "minor_axis_length", "least_axis_length")]
    np.testing.assert_allclose(observed, expected_lengths, rtol=0.01)
    vertices, _ = surface.surface_mesh(mask, (1.0, 1.0, 1.0))
    mvee_axes, centre, _ = geometry.minimum_volume_enclosing_ellipsoid(
        vertices[ConvexHull(vertices).vertices])
    reach = np.sort(semi_axes)[::-1]
    assert np.all(mvee_axes >= reach) and np.all(mvee_axes <= reach + 1.0)  # mesh reaches 0.5 voxel out
    np.testing.assert_allclose(centre - vertices.mean(axis=0), 0.0, atol=0.05)
    volume = values["volume_mesh"][0]
    assert values["volume_density_mvee"][0] == pytest.approx(
        volume / ellipsoid_volume(mvee_axes), rel=1e-3)


def test_mvee_recovers_an_exact_rotated_ellipsoid():
    rng = np.random.default_rng(3)
    semi_axes = np.array([7.0, 4.0, 2.5])
    directions = rng.normal(size=(400, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    rotation = Rotation.from_euler("zyx", [30, 50, -20], degrees=True).as_matrix()
    surface = (directions * semi_axes) @ rotation.T + [10.0, -3.0, 4.0]
    inside = 0.5 * (directions[:100] * semi_axes) @ rotation.T + [10.0, -3.0, 4.0]
    found, centre, axes = geometry.minimum_volume_enclosing_ellipsoid(np.vstack([surface, inside]))
    np.testing.assert_allclose(found, semi_axes, rtol=1e-6)
    np.testing.assert_allclose(centre, [10.0, -3.0, 4.0], atol=1e-5)
    np.testing.assert_allclose(np.abs(axes @ rotation), np.eye(3), atol=1e-5)


def test_ombb_recovers_an_exact_rotated_box():
    rng = np.random.default_rng(5)
    sides = np.array([9.0, 4.0, 2.0])
    corners = (np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T - 0.5) * sides
    interior = (rng.random((200, 3)) - 0.5) * sides
    rotation = Rotation.from_euler("xyz", [25, -40, 65], degrees=True).as_matrix()
    points = np.vstack([corners, interior]) @ rotation.T + 100.0
    found, axes = geometry.oriented_minimum_bounding_box(points)
    np.testing.assert_allclose(found, sides, rtol=1e-9)
    np.testing.assert_allclose(np.abs(axes @ rotation), np.eye(3), atol=1e-9)


def test_ombb_of_a_regular_tetrahedron_is_its_cube():
    # no face of the minimum box (the cube whose face diagonals are the edges) holds a tetrahedron
    # face: the best face-flush box has twice its volume
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    rotation = Rotation.from_euler("zxz", [17, 71, -33], degrees=True).as_matrix()
    found, _ = geometry.oriented_minimum_bounding_box(tetrahedron @ rotation.T)
    np.testing.assert_allclose(found, [2.0, 2.0, 2.0], rtol=1e-6)


def test_ombb_of_a_rotated_voxel_box_is_near_the_box():
    z, y, x = np.mgrid[0:8, -20:21, -20:21].astype(float)
    angle = math.radians(30)
    along = x * math.cos(angle) + y * math.sin(angle)
    across = -x * math.sin(angle) + y * math.cos(angle)
    mask = (np.abs(along) <= 12) & (np.abs(across) <= 5) & (z >= 2) & (z <= 5)
    values = features(make_roi(mask))
    volume = values["volume_mesh"][0]
    ombb_volume = volume / values["volume_density_ombb"][0]
    aabb_volume = volume / values["volume_density_aabb"][0]
    assert ombb_volume < 0.75 * aabb_volume
    assert ombb_volume == pytest.approx(25.0 * 11.0 * 4.0, rel=0.1)  # sides 24 x 10 x 3 plus a voxel


def test_ellipsoid_surface_area_series():
    from numpy.polynomial.legendre import legval

    assert geometry.ellipsoid_surface_area([3.0, 3.0, 3.0]) == pytest.approx(4 * math.pi * 9.0)
    a, b, c = 6.0, 4.0, 3.0
    alpha, beta = math.sqrt(1 - b ** 2 / a ** 2), math.sqrt(1 - c ** 2 / a ** 2)
    nu = np.arange(21)
    series = legval((alpha ** 2 + beta ** 2) / (2 * alpha * beta), (alpha * beta) ** nu / (1 - 4 * nu ** 2))
    assert geometry.ellipsoid_surface_area([c, a, b]) == pytest.approx(4 * math.pi * a * b * series, rel=1e-12)
    prolate = geometry.ellipsoid_surface_area([5.0, 2.0, 2.0])  # alpha = beta: no division by 0
    assert math.isfinite(prolate) and prolate > 4 * math.pi * 4.0


def test_centre_of_mass_shift_of_two_voxels():
    mask = np.zeros((1, 1, 2), dtype=bool)
    mask[0, 0, :] = True
    intensity = np.array([[[1.0, 3.0]]])
    values = features(make_roi(mask, (1.0, 1.0, 2.0), intensity))
    # geometric centre x = 1 mm; intensity-weighted (0 * 1 + 2 * 3) / 4 = 1.5 mm
    assert values["centre_of_mass_shift"][0] == pytest.approx(0.5)
    assert values["morans_i"][0] == pytest.approx(-1.0)
    assert values["gearys_c"][0] == pytest.approx(1.0)


# ------------------------------------------------------- undefined values


def test_one_voxel():
    values = features(make_roi(cube_mask(1), (2.0, 1.0, 1.0)))
    assert values["volume_voxel_counting"][0] == pytest.approx(2.0)
    assert values["volume_mesh"][0] == pytest.approx(2.0 / 6.0)  # an octahedron
    for key in ("major_axis_length", "elongation", "volume_density_aee", "area_density_aee"):
        assert math.isnan(values[key][0]) and values[key][1] == morphology.SINGLE_MORPHOLOGICAL_VOXEL
    for key in ("morans_i", "gearys_c"):
        assert math.isnan(values[key][0]) and values[key][1] == morphology.SINGLE_INTENSITY_VOXEL
    assert math.isfinite(values["volume_density_ombb"][0])
    assert math.isfinite(values["volume_density_mvee"][0])


def test_constant_intensity_and_flat_roi():
    mask = np.zeros((3, 5, 6), dtype=bool)
    mask[1, 1:4, 1:5] = True  # a single slice: coplanar voxel centres
    values = features(make_roi(mask, (3.0, 1.0, 1.0), np.full(mask.shape, 7.0)))
    assert values["least_axis_length"] == (0.0, "")
    assert values["flatness"] == (0.0, "")
    for key in ("volume_density_aee", "area_density_aee"):
        assert math.isnan(values[key][0]) and values[key][1] == morphology.FLAT_VOXEL_CENTRES
    for key in ("morans_i", "gearys_c"):
        assert math.isnan(values[key][0]) and values[key][1] == morphology.CONSTANT_INTENSITY
    assert values["integrated_intensity"][0] == pytest.approx(7.0 * values["volume_mesh"][0])


def test_empty_intensity_mask_and_zero_intensity_sum():
    mask = cube_mask(3)
    empty = features(make_roi(mask, intensity_mask=np.zeros_like(mask)))
    for key in ("centre_of_mass_shift", "integrated_intensity", "morans_i", "gearys_c"):
        assert math.isnan(empty[key][0]) and empty[key][1] == morphology.EMPTY_INTENSITY_MASK
    assert empty["volume_mesh"][1] == ""
    pair = cube_mask(2)
    intensity = np.where(np.indices(pair.shape)[2] == 1, 1.0, -1.0)  # four voxels +1, four -1
    zero_sum = features(make_roi(pair, intensity=intensity))
    assert zero_sum["centre_of_mass_shift"][1] == morphology.ZERO_INTENSITY_SUM


def test_empty_morphological_mask_is_an_error():
    with pytest.raises(EmptyRoiError, match="no voxel"):
        morphology.compute(make_roi(np.zeros((2, 2, 2), dtype=bool)), MorphologySettings(), ())


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 40), st.integers(1, 6))
def test_lexicographic_order_matches_numpy_lexsort(seed, n_points, n_values):
    # few distinct values: many ties in u, in v and in both
    rng = np.random.default_rng(seed)
    u, v = rng.integers(0, n_values, size=(2, n_points)).astype(np.float64)
    np.testing.assert_array_equal(geometry._lexicographic_order(u, v), np.lexsort((v, u)))


@FAST
@given(masks())
def test_convex_hull_densities_from_the_lattice_hull_equal_qhulls(case):
    mask, spacing, intensity = case
    roi = make_roi(mask, spacing, intensity)
    lattice = features(roi)
    limit = morphology.LATTICE_HULL_MAX_POINTS
    try:
        morphology.LATTICE_HULL_MAX_POINTS = -1  # every hull from qhull
        qhull = features(roi)
    finally:
        morphology.LATTICE_HULL_MAX_POINTS = limit
    mesh = surface.build_surface(mask, spacing, "lewiner")
    hull = ConvexHull(mesh.vertices)
    for key, (value, status) in lattice.items():
        assert qhull[key][1] == status
        if key.endswith("_convex_hull"):
            assert value == pytest.approx(qhull[key][0], rel=1e-12), key
        elif not status:
            assert value == qhull[key][0], key
    assert lattice["volume_density_convex_hull"][0] == pytest.approx(
        lattice["volume_mesh"][0] / hull.volume, rel=1e-12)
