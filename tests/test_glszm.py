"""GLSZM: zone labelling kernel, matrix, features, aggregation, IBSI reference values."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import InputError, SpecError
from radiomix.features import glszm, registry
from radiomix.features.base import RoiImage
from radiomix.features.table import tabulate
from radiomix.features.zones import Zones, _label_zones, label_zones, zones_by_connectivity
from radiomix.spec import ZoneSettings

from ibsi_reference import misses, reference_rows
from naive_texture_zones import (
    compact_zone_matrix,
    naive_family_values,
    naive_features,
    naive_matrix,
    naive_zones,
    scipy_zones,
    zone_count_matrix,
    zone_matrix_features,
)

DIMENSIONS = ("2D", "2.5D", "3D")


def make_roi(levels: np.ndarray, morphological_mask: np.ndarray | None = None, n_levels: int | None = None,
             spacing=(1.0, 1.0, 1.0)) -> RoiImage:
    """A RoiImage around a discretised array (0 outside the intensity mask)."""
    levels = np.asarray(levels, dtype=np.int32)
    inside = levels > 0
    morphological = inside.copy() if morphological_mask is None else (morphological_mask | inside)
    return RoiImage(intensity=levels.astype(float), morphological_mask=morphological, intensity_mask=inside,
                    spacing=spacing, discretised=levels,
                    n_levels=int(levels.max()) if n_levels is None else n_levels,
                    bin_width=1.0, lower_bound=1.0, resegmentation_range=(-np.inf, np.inf))


def zone_multiset(zones: Zones) -> Counter:
    """Zones of the kernel as a multiset of (level, voxel set), for comparison with the references."""
    found = Counter()
    for number in range(1, zones.level.size + 1):
        voxels = frozenset(tuple(int(c) for c in v) for v in np.argwhere(zones.labels == number))
        found[(int(zones.level[number - 1]), voxels)] += 1
    return found


def values_by_aggregation(values, aggregation):
    return [v.value for v in values if v.aggregation == aggregation]


level_volumes = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)).flatmap(
    lambda shape: arrays(np.int32, shape[:3], elements=st.integers(0, shape[3])))
"""Small random discretised volumes: 0 outside the ROI, levels 1..4 inside (possibly empty slices)."""


# ---------------------------------------------------------------- registry


def test_sixteen_features_with_ibsi_codes_are_registered():
    definitions = registry.definitions("glszm")
    assert len(definitions) == 16
    assert len({d.ibsi_code for d in definitions}) == 16
    assert all(len(d.ibsi_code) == 4 and d.description for d in definitions)


# ---------------------------------------------------------------- IBSI reference values


def test_digital_phantom_rows_are_reproduced(digital_phantom_roi):
    table = tabulate("glszm", glszm.compute(digital_phantom_roi, ZoneSettings(), DIMENSIONS))
    rows = reference_rows("digital_phantom", {"glszm"})
    assert len(rows) == 48
    assert misses(table, rows) == []


def test_ct_phantom_config_a_rows_are_reproduced(ct_phantom_config_a_roi):
    table = tabulate("glszm", glszm.compute(ct_phantom_config_a_roi, ZoneSettings(), ("2D", "2.5D")))
    rows = reference_rows("config_A", {"glszm"})
    assert len(rows) == 32
    assert misses(table, rows) == []


# ---------------------------------------------------------------- zone labelling kernel


@settings(max_examples=40, deadline=None)
@given(levels=level_volumes, linkage=st.integers(1, 2), in_plane=st.booleans())
def test_zones_match_union_find_reference(levels, linkage, in_plane):
    zones = label_zones(levels, linkage, in_plane)
    assert zone_multiset(zones) == Counter(naive_zones(levels, linkage, in_plane))
    assert np.array_equal(zones.size, np.bincount(zones.labels.ravel())[1:])
    assert np.all(np.diff(zones.first_slice) >= 0)


@settings(max_examples=30, deadline=None)
@given(levels=level_volumes, in_plane=st.booleans())
def test_zones_match_scipy_label_for_linkage_one(levels, in_plane):
    zones = label_zones(levels, 1, in_plane)
    assert zone_multiset(zones) == Counter(scipy_zones(levels, in_plane))


def test_diagonal_neighbours_are_linked_in_3d_but_not_across_slices_in_plane():
    levels = np.zeros((2, 2, 2), dtype=np.int32)
    levels[0, 0, 0] = levels[1, 1, 1] = 3
    assert label_zones(levels, 1, False).size.tolist() == [2]
    assert label_zones(levels, 1, True).size.tolist() == [1, 1]


def test_linkage_distance_two_bridges_a_gap():
    levels = np.array([[[1, 0, 1]]], dtype=np.int32)
    assert label_zones(levels, 1).size.tolist() == [1, 1]
    assert label_zones(levels, 2).size.tolist() == [2]


def test_labelling_rejects_bad_arguments():
    with pytest.raises(InputError, match="3D"):
        label_zones(np.ones((3, 3), dtype=np.int32))
    with pytest.raises(SpecError, match="linkage_distance"):
        label_zones(np.ones((1, 3, 3), dtype=np.int32), 0)


# ---------------------------------------------------------------- two-pass labelling (linkage distance 1)


signed_level_volumes = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3)).flatmap(
    lambda shape: arrays(np.int32, shape[:3], elements=st.integers(-1, shape[3])))
"""Small volumes whose voxels outside the ROI are 0 or negative; few levels, so zones are large and winding."""


def first_voxels(zones: Zones) -> list[int]:
    """Flat index of each zone's first voxel (raster order), by zone number."""
    flat = zones.labels.ravel()
    return [int(np.flatnonzero(flat == number)[0]) for number in range(1, zones.level.size + 1)]


@settings(max_examples=50, deadline=None)
@given(levels=signed_level_volumes)
def test_two_pass_zones_of_both_connectivities_match_scipy_and_the_flood_fill(levels):
    labelled = zones_by_connectivity(levels, 1, (True, False), True)
    tables = zones_by_connectivity(levels, 1, (False, True), False)
    plane = levels.shape[1] * levels.shape[2]
    for in_plane in (True, False):
        zones = labelled[in_plane]
        assert zone_multiset(zones) == Counter(scipy_zones(levels, in_plane))
        first = first_voxels(zones)
        assert first == sorted(first)  # numbered in raster order of their first voxel
        assert zones.first_slice.tolist() == [index // plane for index in first]
        assert np.array_equal(zones.size, np.bincount(zones.labels.ravel(), minlength=zones.level.size + 1)[1:])
        for field in ("level", "size", "first_slice"):
            assert np.array_equal(getattr(tables[in_plane], field), getattr(zones, field))
        flood_fill = _label_zones(np.ascontiguousarray(levels), 1, in_plane)
        assert all(np.array_equal(mine, theirs) for mine, theirs in zip(zones, flood_fill))


def test_zones_do_not_cross_an_empty_slice_and_join_diagonally_across_slices():
    levels = np.zeros((4, 3, 3), dtype=np.int32)
    levels[0, 0, 0] = levels[1, 1, 1] = levels[3, 1, 1] = 2  # slice 2 empty
    levels[1, 2, 2] = levels[0, 2, 0] = 1
    zones = label_zones(levels, 1, False)
    assert sorted(zip(zones.level.tolist(), zones.size.tolist())) == [(1, 1), (1, 1), (2, 1), (2, 2)]
    assert label_zones(levels, 1, True).size.tolist() == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("upper_slice, size", [
    ([[0, 0, 0], [0, 2, 0], [0, 0, 0]], 5),  # one voxel touching four separate corners diagonally
    ([[0, 0, 0], [2, 2, 2], [0, 0, 0]], 7),  # a row whose left end and right end reach different corners
])
def test_zones_joined_through_several_neighbours_in_the_slice_below(upper_slice, size):
    levels = np.array([[[2, 0, 2], [0, 0, 0], [2, 0, 2]], upper_slice], dtype=np.int32)
    assert label_zones(levels, 1, False).size.tolist() == [size]
    assert label_zones(levels, 1, True).size.tolist() == [1, 1, 1, 1, size - 4]


# ---------------------------------------------------------------- matrix and features


@settings(max_examples=30, deadline=None)
@given(levels=level_volumes)
def test_matrix_and_features_match_naive_definitions(levels):
    if not (levels > 0).any():
        return
    zones = label_zones(levels, 1, False)
    matrix = zone_count_matrix(zones.level, zones.size, 4)
    expected = naive_matrix(list(zip(zones.level.tolist(), zones.size.tolist())), 4)
    assert np.array_equal(matrix, expected)
    n_voxels = int((levels > 0).sum())
    np.testing.assert_allclose(zone_matrix_features(matrix, n_voxels), naive_features(expected, n_voxels),
                               rtol=1e-10, atol=1e-12)
    compact, columns = compact_zone_matrix(zones.level, zones.size, 4)
    np.testing.assert_allclose(zone_matrix_features(compact, n_voxels, columns),
                               naive_features(expected, n_voxels), rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(levels=level_volumes, linkage=st.integers(1, 2))
def test_compute_matches_naive_reference_for_every_aggregation(levels, linkage):
    if not (levels > 0).any():
        return
    values = glszm.compute(make_roi(levels, n_levels=4), ZoneSettings(linkage_distance=linkage), DIMENSIONS)
    assert len(values) == 48
    for dimension in DIMENSIONS:
        expected = naive_family_values("glszm", levels, levels > 0, 4, linkage, dimension)
        np.testing.assert_allclose(values_by_aggregation(values, dimension), expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- edge cases


def test_one_voxel_roi():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 2
    values = {(v.key, v.aggregation): v.value for v in glszm.compute(make_roi(levels), ZoneSettings(), DIMENSIONS)}
    for dimension in DIMENSIONS:
        assert values[("small_zone_emphasis", dimension)] == 1.0
        assert values[("zone_percentage", dimension)] == 1.0
        assert values[("high_grey_level_zone_emphasis", dimension)] == 4.0
        assert values[("zone_size_variance", dimension)] == 0.0
        assert values[("zone_size_entropy", dimension)] == 0.0


def test_constant_roi_touching_the_border_is_one_zone():
    levels = np.full((2, 3, 4), 5, dtype=np.int32)
    values = {(v.key, v.aggregation): v.value
              for v in glszm.compute(make_roi(levels, n_levels=8), ZoneSettings(), DIMENSIONS)}
    assert values[("large_zone_emphasis", "3D")] == 24.0**2
    assert values[("large_zone_emphasis", "2D")] == 12.0**2
    assert values[("zone_percentage", "2.5D")] == pytest.approx(2 / 24)
    assert values[("grey_level_variance", "3D")] == 0.0


def test_empty_slices_are_skipped_in_2d_and_do_not_count_in_2_5d():
    levels = np.zeros((4, 3, 3), dtype=np.int32)
    levels[0, 0, :] = [1, 1, 2]
    levels[3] = 1
    values = glszm.compute(make_roi(levels), ZoneSettings(), ("2D", "2.5D"))
    without_gap = glszm.compute(make_roi(levels[[0, 3]]), ZoneSettings(), ("2D", "2.5D"))
    assert [v.value for v in values] == [v.value for v in without_gap]
    slice_0 = naive_features(naive_matrix([(1, 2), (2, 1)], 2), 3)
    slice_3 = naive_features(naive_matrix([(1, 9)], 2), 9)
    np.testing.assert_allclose(values_by_aggregation(values, "2D"), np.mean([slice_0, slice_3], axis=0))


def test_morphological_mask_does_not_change_the_glszm():
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 4, size=(3, 6, 6)).astype(np.int32)
    bigger = np.ones(levels.shape, dtype=bool)
    plain = glszm.compute(make_roi(levels, n_levels=3), ZoneSettings(), DIMENSIONS)
    morph = glszm.compute(make_roi(levels, bigger, n_levels=3), ZoneSettings(), DIMENSIONS)
    assert [v.value for v in plain] == [v.value for v in morph]


def test_spacing_does_not_change_values():
    rng = np.random.default_rng(4)
    levels = rng.integers(1, 4, size=(3, 5, 5)).astype(np.int32)
    iso = glszm.compute(make_roi(levels), ZoneSettings(), DIMENSIONS)
    aniso = glszm.compute(make_roi(levels, spacing=(5.0, 0.7, 0.7)), ZoneSettings(), DIMENSIONS)
    assert [v.value for v in iso] == [v.value for v in aniso]


def test_empty_intensity_mask_gives_nan_with_status():
    levels = np.zeros((2, 3, 3), dtype=np.int32)
    roi = make_roi(levels, np.ones((2, 3, 3), dtype=bool), n_levels=4)
    values = glszm.compute(roi, ZoneSettings(), DIMENSIONS)
    assert len(values) == 48
    assert all(math.isnan(v.value) and v.status == glszm.STATUS_EMPTY_ROI for v in values)


def test_aggregation_labels_and_order():
    levels = np.ones((2, 2, 2), dtype=np.int32)
    values = glszm.compute(make_roi(levels), ZoneSettings(), ("3D", "2D"))
    assert [v.aggregation for v in values] == ["3D"] * 16 + ["2D"] * 16
    assert [v.key for v in values[:16]] == [d.key for d in registry.definitions("glszm")]
    assert all(v.status == "" for v in values)


def test_inconsistent_inputs_are_rejected():
    levels = np.ones((1, 2, 2), dtype=np.int32)
    good = make_roi(levels)
    with pytest.raises(InputError, match="exactly inside the intensity mask"):
        glszm.compute(RoiImage(**{**good.__dict__, "intensity_mask": np.zeros_like(good.intensity_mask)}),
                      ZoneSettings(), ("3D",))
    with pytest.raises(InputError, match="n_levels"):
        glszm.compute(RoiImage(**{**good.__dict__, "n_levels": 0}), ZoneSettings(), ("3D",))
    with pytest.raises(InputError, match="morphological mask"):
        glszm.compute(RoiImage(**{**good.__dict__, "morphological_mask": np.zeros_like(levels, dtype=bool)}),
                      ZoneSettings(), ("3D",))
    with pytest.raises(SpecError, match="dimension"):
        glszm.compute(good, ZoneSettings(), ("4D",))
    with pytest.raises(InputError, match="differ in shape"):
        glszm.compute(RoiImage(**{**good.__dict__, "morphological_mask": np.ones((1, 2, 3), dtype=bool)}),
                      ZoneSettings(), ("3D",))
    with pytest.raises(InputError, match="3D"):
        glszm.compute(make_roi(levels[0]), ZoneSettings(), ("3D",))


@settings(max_examples=30, deadline=None)
@given(levels=level_volumes, in_plane=st.booleans())
def test_zone_features_without_matrices_match_the_matrix_features(levels, in_plane):
    """The per-slice (or volume) features from zone lists equal those of each slice's compact matrix."""
    zones = label_zones(levels, 1, in_plane)
    if zones.level.size == 0:
        return
    n_levels = int(levels.max())
    bounds = np.searchsorted(zones.first_slice, np.arange(levels.shape[0] + 1))
    groups = ([(bounds[z], bounds[z + 1], z) for z in range(levels.shape[0]) if bounds[z + 1] > bounds[z]]
              if in_plane else [(0, zones.level.size, None)])
    starts = np.array([g[0] for g in groups], dtype=np.int64)
    stops = np.array([g[1] for g in groups], dtype=np.int64)
    n_voxels = np.array([np.count_nonzero(levels if z is None else levels[z]) for *_, z in groups], dtype=np.float64)
    got = glszm._zone_features(zones.level, zones.size, starts, stops, n_voxels, n_levels)
    for row, (start, stop, _) in enumerate(groups):
        counts, columns = compact_zone_matrix(zones.level[start:stop], zones.size[start:stop], n_levels)
        np.testing.assert_allclose(got[row], zone_matrix_features(counts, n_voxels[row], columns),
                                   rtol=1e-12, atol=1e-15)


def test_normalised_non_uniformities_and_percentage_of_a_constant_roi_are_exactly_one():
    levels = np.full((3, 3, 3), 2, dtype=np.int32)
    values = glszm.compute(make_roi(levels), ZoneSettings(), DIMENSIONS)
    for value in values:
        if value.key in ("normalised_grey_level_non_uniformity", "normalised_zone_size_non_uniformity"):
            assert value.value == 1.0, (value.key, value.aggregation)
