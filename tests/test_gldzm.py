"""GLDZM: edge distance map, zone distances, features, aggregation, IBSI reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import InputError
from radiomix.features import gldzm, glszm, registry
from radiomix.features.base import RoiImage
from radiomix.features.table import tabulate
from radiomix.features.zones import label_zones
from radiomix.spec import ZoneSettings

from ibsi_reference import misses, reference_rows
from naive_texture_zones import (
    brute_force_edge_distance,
    erosion_edge_distance,
    naive_family_values,
    naive_features,
    naive_matrix,
    naive_zones,
)

DIMENSIONS = ("2D", "2.5D", "3D")

masks = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda shape: arrays(np.bool_, shape))
"""Small random masks (possibly empty, touching the border, with empty slices)."""

roi_volumes = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: st.tuples(arrays(np.int32, shape, elements=st.integers(0, 3)), arrays(np.bool_, shape)))
"""(levels 0..3, extra morphological voxels): the morphological mask is the ROI plus the extra voxels."""


def make_roi(levels: np.ndarray, morphological_mask: np.ndarray | None = None, n_levels: int = 3) -> RoiImage:
    levels = np.asarray(levels, dtype=np.int32)
    inside = levels > 0
    morphological = inside.copy() if morphological_mask is None else (morphological_mask | inside)
    return RoiImage(intensity=levels.astype(float), morphological_mask=morphological, intensity_mask=inside,
                    spacing=(2.0, 0.5, 0.5), discretised=levels, n_levels=n_levels, bin_width=1.0,
                    lower_bound=1.0, resegmentation_range=(-np.inf, np.inf))


def values_by_aggregation(values, aggregation):
    return [v.value for v in values if v.aggregation == aggregation]


# ---------------------------------------------------------------- registry and IBSI reference values


def test_sixteen_features_with_ibsi_codes_are_registered():
    definitions = registry.definitions("gldzm")
    assert len(definitions) == 16
    assert len({d.ibsi_code for d in definitions}) == 16


def test_digital_phantom_rows_are_reproduced(digital_phantom_roi):
    table = tabulate("gldzm", gldzm.compute(digital_phantom_roi, ZoneSettings(), DIMENSIONS))
    rows = reference_rows("digital_phantom", {"gldzm"})
    assert len(rows) == 48
    assert misses(table, rows) == []


def test_ct_phantom_config_a_rows_are_reproduced(ct_phantom_config_a_roi):
    roi = ct_phantom_config_a_roi
    assert (roi.morphological_mask & ~roi.intensity_mask).any()  # the distance map must use the larger mask
    table = tabulate("gldzm", gldzm.compute(roi, ZoneSettings(), ("2D", "2.5D")))
    rows = reference_rows("config_A", {"gldzm"})
    assert len(rows) == 32
    assert misses(table, rows) == []


# ---------------------------------------------------------------- distance map kernel


@settings(max_examples=50, deadline=None)
@given(mask=masks, in_plane=st.booleans())
def test_distance_map_matches_brute_force_and_the_manuals_erosion(mask, in_plane):
    distance = gldzm.edge_distance_map(mask, in_plane)
    assert distance.dtype == np.int32
    assert np.array_equal(distance, brute_force_edge_distance(mask, in_plane))
    assert np.array_equal(distance, erosion_edge_distance(mask, in_plane))


def test_distance_is_taxicab_not_chebyshev():
    """The centre of a 3x3 square with one corner removed is 2 steps from outside, not 1."""
    mask = np.zeros((1, 5, 5), dtype=bool)
    mask[0, 1:4, 1:4] = True
    mask[0, 1, 1] = False
    distance = gldzm.edge_distance_map(mask, in_plane=True)
    assert distance[0, 2, 2] == 2
    assert distance[0, 1, 2] == 1


def test_edge_voxels_are_at_distance_one_and_array_border_is_an_edge():
    cube = np.ones((3, 3, 3), dtype=bool)
    assert gldzm.edge_distance_map(cube)[1, 1, 1] == 2
    assert gldzm.edge_distance_map(cube)[0, 1, 1] == 1
    assert np.all(gldzm.edge_distance_map(np.ones((1, 5, 5), dtype=bool), in_plane=False) == 1)
    in_plane = gldzm.edge_distance_map(np.ones((1, 5, 5), dtype=bool), in_plane=True)
    assert in_plane[0, 2, 2] == 3


def test_distance_map_rejects_2d_arrays():
    with pytest.raises(InputError, match="3D"):
        gldzm.edge_distance_map(np.ones((3, 3), dtype=bool))


# ---------------------------------------------------------------- zone distances


@settings(max_examples=40, deadline=None)
@given(volume=roi_volumes, in_plane=st.booleans())
def test_zone_distance_is_the_minimum_over_its_voxels(volume, in_plane):
    levels, extra = volume
    morphological = extra | (levels > 0)
    zones = label_zones(levels, 1, in_plane)
    distance = gldzm.edge_distance_map(morphological, in_plane)
    found = sorted(zip(zones.level.tolist(), gldzm.zone_distances(zones, distance).tolist()))
    reference_distance = brute_force_edge_distance(morphological, in_plane)
    expected = sorted((level, min(int(reference_distance[v]) for v in voxels))
                      for level, voxels in naive_zones(levels, 1, in_plane))
    assert found == expected


def test_zone_distances_reject_mismatched_shapes():
    zones = label_zones(np.ones((1, 2, 2), dtype=np.int32))
    with pytest.raises(InputError, match="same grid"):
        gldzm.zone_distances(zones, np.ones((1, 3, 3), dtype=np.int32))


# ---------------------------------------------------------------- features and aggregation


@settings(max_examples=30, deadline=None)
@given(volume=roi_volumes, linkage=st.integers(1, 2))
def test_compute_matches_naive_reference_with_larger_morphological_mask(volume, linkage):
    levels, extra = volume
    if not (levels > 0).any():
        return
    morphological = extra | (levels > 0)
    values = gldzm.compute(make_roi(levels, morphological), ZoneSettings(linkage_distance=linkage), DIMENSIONS)
    assert len(values) == 48
    for dimension in DIMENSIONS:
        expected = naive_family_values("gldzm", levels, morphological, 3, linkage, dimension)
        np.testing.assert_allclose(values_by_aggregation(values, dimension), expected, rtol=1e-10, atol=1e-12)


def test_morphological_mask_sets_the_distances():
    levels = np.zeros((1, 5, 5), dtype=np.int32)
    levels[0, 2, 2] = 1
    alone = {v.key: v.value for v in gldzm.compute(make_roi(levels), ZoneSettings(), ("2D",))}
    surrounded = {v.key: v.value for v in gldzm.compute(make_roi(levels, np.ones((1, 5, 5), dtype=bool)),
                                                         ZoneSettings(), ("2D",))}
    assert alone["large_distance_emphasis"] == 1.0
    assert surrounded["large_distance_emphasis"] == 9.0


def test_one_voxel_roi():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 3
    values = gldzm.compute(make_roi(levels), ZoneSettings(), DIMENSIONS)
    for dimension in DIMENSIONS:
        by_key = {v.key: v.value for v in values if v.aggregation == dimension}
        assert by_key["small_distance_emphasis"] == 1.0
        assert by_key["high_grey_level_zone_emphasis"] == 9.0
        assert by_key["zone_distance_entropy"] == 0.0


def test_constant_roi_touching_the_border():
    levels = np.full((3, 5, 5), 2, dtype=np.int32)
    values = gldzm.compute(make_roi(levels), ZoneSettings(), DIMENSIONS)
    by_key = {(v.key, v.aggregation): v.value for v in values}
    for dimension in DIMENSIONS:
        assert by_key[("small_distance_emphasis", dimension)] == 1.0  # one zone, touching the edge
        assert by_key[("zone_distance_variance", dimension)] == 0.0
    assert by_key[("zone_percentage", "3D")] == pytest.approx(1 / 75)
    assert by_key[("zone_percentage", "2.5D")] == pytest.approx(3 / 75)


def test_empty_slices_are_skipped_in_2d():
    levels = np.zeros((3, 4, 4), dtype=np.int32)
    levels[0, 1:3, 1:3] = 1
    levels[2] = 2
    morphological = np.zeros(levels.shape, dtype=bool)
    morphological[0] = True
    values = gldzm.compute(make_roi(levels, morphological), ZoneSettings(), ("2D", "2.5D"))
    slice_0 = naive_features(naive_matrix([(1, 2)], 2), 4)
    slice_2 = naive_features(naive_matrix([(2, 1)], 2), 16)
    merged = naive_features(naive_matrix([(1, 2), (2, 1)], 2), 20)
    np.testing.assert_allclose(values_by_aggregation(values, "2D"), np.mean([slice_0, slice_2], axis=0))
    np.testing.assert_allclose(values_by_aggregation(values, "2.5D"), merged)


def test_empty_intensity_mask_gives_nan_with_status():
    roi = make_roi(np.zeros((2, 3, 3), dtype=np.int32), np.ones((2, 3, 3), dtype=bool))
    values = gldzm.compute(roi, ZoneSettings(), DIMENSIONS)
    assert len(values) == 48
    assert all(math.isnan(v.value) and v.status == glszm.STATUS_EMPTY_ROI for v in values)
