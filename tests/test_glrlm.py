"""GLRLM family: kernel vs plain NumPy reference, features vs the manual's formulas, IBSI-1 values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import EmptyRoiError, InputError, SpecError
from radiomix.features import glcm, glrlm, registry, texture
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION
from radiomix.features.table import tabulate
from radiomix.features.texture import roi_box as texture_box
from radiomix.spec import GlrlmSettings

from ibsi_reference import misses, reference_rows
from naive_texture_cm_rlm import (
    AGGREGATION_LABELS,
    naive_aggregations,
    naive_glrlm,
    naive_glrlm_features,
    roi_from_levels,
)

ALL_DIMENSIONS = ("2D", "2.5D", "3D")
PROPERTY = settings(max_examples=30, deadline=None)


@st.composite
def volumes(draw, max_shape=(4, 5, 6), max_levels=4):
    """Small discretised volumes with at least one ROI voxel, sometimes with empty slices."""
    shape = tuple(draw(st.integers(1, m)) for m in max_shape)
    n_levels = draw(st.integers(1, max_levels))
    levels = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    if not levels.any():
        levels.flat[draw(st.integers(0, levels.size - 1))] = draw(st.integers(1, n_levels))
    if draw(st.booleans()):
        levels = np.insert(levels, draw(st.integers(0, shape[0])), 0, axis=0)
    return levels, n_levels


def assert_matrix_matches(kernel_matrix, levels, n_levels, offset):
    expected = naive_glrlm(levels, n_levels, tuple(int(c) for c in offset), max(levels.shape))
    width = kernel_matrix.shape[-1]
    assert not expected[:, width:].any(), "a run longer than the kernel's matrix"
    assert np.array_equal(kernel_matrix, expected[:, :width])


@PROPERTY
@given(volumes())
def test_matrices_match_the_reference(volume):
    levels, n_levels = volume
    per_slice = glrlm.glrlm_matrices_2d(levels, n_levels)
    assert per_slice.shape[:3] == (levels.shape[0], 4, n_levels)
    for d, offset in enumerate(glcm.direction_offsets("2D")):
        for z in range(levels.shape[0]):
            assert_matrix_matches(per_slice[z, d], levels[z:z + 1], n_levels, offset)
    volume_matrices = glrlm.glrlm_matrices_3d(levels, n_levels)
    assert volume_matrices.shape[:2] == (13, n_levels)
    for d, offset in enumerate(glcm.direction_offsets("3D")):
        assert_matrix_matches(volume_matrices[d], levels, n_levels, offset)


@PROPERTY
@given(st.tuples(st.integers(1, 4), st.integers(1, 6)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=st.integers(0, 5))))
def test_features_match_the_formulas(counts):
    values = glrlm.glrlm_features(counts)
    assert set(values) == set(glrlm.FEATURE_KEYS)
    if counts.sum() == 0:
        assert all(np.isnan(v) for v in values.values())
        return
    n_voxels = int(np.sum(counts * np.arange(1, counts.shape[1] + 1)))
    expected = naive_glrlm_features(counts, n_voxels)
    for key in glrlm.FEATURE_KEYS:
        np.testing.assert_allclose(values[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_run_percentage_counts_the_voxels_of_every_merged_matrix():
    # a 2 x 3 slice of one grey level: 2 runs along x, 3 along y, 4 along each diagonal
    levels = np.ones((1, 2, 3), dtype=np.int32)
    values = {(v.aggregation, v.key): v.value
              for v in glrlm.compute(roi_from_levels(levels, 1), GlrlmSettings(), ("2D", "2.5D"))}
    assert values["2D, averaged", "run_percentage"] == pytest.approx((2 / 6 + 4 / 6 + 3 / 6 + 4 / 6) / 4)
    # merged: N_v is summed over the 4 merged direction matrices
    assert values["2D, slice-merged", "run_percentage"] == pytest.approx(13 / (4 * 6))
    assert values["2.5D, merged", "run_percentage"] == pytest.approx(13 / (4 * 6))


def assert_matches_reference(values, expected):
    computed = {(v.aggregation, v.key): (v.value, v.status) for v in values}
    assert len(computed) == len(values)
    for label, features in expected.items():
        assert features, f"no runs in {label}"
        for key in glrlm.FEATURE_KEYS:
            value, status = computed[label, key]
            assert status == ""
            np.testing.assert_allclose(value, features[key], rtol=1e-9, atol=1e-12, err_msg=f"{label} {key}")


@PROPERTY
@given(volumes(), st.tuples(*[st.floats(0.3, 5.0)] * 3))
def test_every_aggregation_matches_the_reference(volume, spacing):
    levels, n_levels = volume
    values = glrlm.compute(roi_from_levels(levels, n_levels, spacing), GlrlmSettings(), ALL_DIMENSIONS)
    assert [v.aggregation for v in values[::16]] == list(AGGREGATION_LABELS)
    assert_matches_reference(values, naive_aggregations("glrlm", levels, n_levels))


def test_one_voxel():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 2
    values = glrlm.compute(roi_from_levels(levels, 3), GlrlmSettings(), ALL_DIMENSIONS)
    assert len(values) == 16 * 6
    by_key = {(v.aggregation, v.key): v.value for v in values}
    for label in AGGREGATION_LABELS:
        assert by_key[label, "run_percentage"] == 1.0
        assert by_key[label, "short_runs_emphasis"] == 1.0
        assert by_key[label, "high_grey_level_run_emphasis"] == 4.0
        assert by_key[label, "run_entropy"] == 0.0
    assert all(v.status == "" for v in values)


def test_constant_roi_touching_the_border():
    levels = np.full((2, 3, 4), 3, dtype=np.int32)
    values = {(v.aggregation, v.key): (v.value, v.status)
              for v in glrlm.compute(roi_from_levels(levels, 3), GlrlmSettings(), ALL_DIMENSIONS)}
    assert all(math.isfinite(value) and status == "" for value, status in values.values())
    # 3D, 0 degrees along x: 6 runs of 4 voxels
    assert glrlm.glrlm_matrices_3d(levels, 3)[0, 2, 3] == 6
    assert values["3D, merged", "grey_level_variance"] == (0.0, "")
    assert values["2D, averaged", "normalised_grey_level_non_uniformity"] == (1.0, "")


def test_margins_and_empty_slices_change_nothing():
    rng = np.random.default_rng(5)
    levels = rng.integers(0, 4, size=(3, 4, 5)).astype(np.int32)
    levels[0, 0, 0] = 1
    padded = np.zeros((5, 8, 9), dtype=np.int32)
    padded[1:4, 2:6, 3:8] = levels
    for dimensions, spread in ((ALL_DIMENSIONS, padded), (("2D", "2.5D"), np.insert(padded, 2, 0, axis=0))):
        first = glrlm.compute(roi_from_levels(levels, 3), GlrlmSettings(), dimensions)
        second = glrlm.compute(roi_from_levels(spread, 3), GlrlmSettings(), dimensions)
        assert len(first) == len(second)
        for a, b in zip(first, second):
            assert (a.key, a.aggregation, a.status) == (b.key, b.aggregation, b.status)
            np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_dimensions_select_aggregations():
    levels = np.arange(1, 9, dtype=np.int32).reshape((2, 2, 2))
    values = glrlm.compute(roi_from_levels(levels, 8), GlrlmSettings(), ("2.5D",))
    assert {v.aggregation for v in values} == {"2.5D, direction-merged", "2.5D, merged"}
    with pytest.raises(SpecError, match="texture.dimensions"):
        glrlm.compute(roi_from_levels(levels, 8), GlrlmSettings(), ("2.5",))


def test_invalid_input_is_refused():
    with pytest.raises(EmptyRoiError):
        glrlm.glrlm_matrices_2d(np.zeros((2, 2, 2), dtype=np.int32), 3)
    with pytest.raises(InputError, match="0..2"):
        glrlm.glrlm_matrices_3d(np.full((2, 2, 2), 3), 2)


def test_registry_names_and_codes_are_the_manuals():
    rows = reference_rows("digital_phantom", {"glrlm"})
    definitions = registry.definitions("glrlm")
    assert len(definitions) == 16
    assert {d.ibsi_code: d.name for d in definitions} == {row.ibsi_code: row.feature for row in rows}


def test_digital_phantom_reference_values(digital_phantom_roi):
    values = glrlm.compute(digital_phantom_roi, GlrlmSettings(), ALL_DIMENSIONS)
    rows = reference_rows("digital_phantom", {"glrlm"})
    assert len(rows) == 96
    assert misses(tabulate("glrlm", values), rows) == []


def test_ct_phantom_config_a_reference_values(ct_phantom_config_a_roi):
    values = glrlm.compute(ct_phantom_config_a_roi, GlrlmSettings(), ("2D", "2.5D"))
    rows = reference_rows("config_A", {"glrlm"})
    assert len(rows) == 64
    assert misses(tabulate("glrlm", values), rows) == []


@PROPERTY
@given(volumes())
def test_volume_matrices_reusing_the_slices_equal_the_direct_count(volume):
    levels, n_levels = volume
    cropped = levels[texture_box(levels)]
    per_slice = glrlm.glrlm_matrices_2d(cropped, n_levels)
    def count(offsets, slices):
        return glrlm._glrlm_matrices(cropped, n_levels, offsets, slices, cropped=True)

    assert np.array_equal(texture.volume_from_slices(per_slice, count),
                          glrlm.glrlm_matrices_3d(cropped, n_levels))


def test_normalised_non_uniformities_of_a_constant_roi_are_exactly_one():
    levels = np.full((3, 3, 3), 2, dtype=np.int32)
    values = glrlm.glrlm_features(glrlm.glrlm_matrices_3d(levels, 2)[0])  # 9 runs of 3 voxels along x
    assert values["normalised_grey_level_non_uniformity"] == 1.0
    assert values["normalised_run_length_non_uniformity"] == 1.0
    assert values["run_percentage"] == 9 / 27


@PROPERTY
@given(volumes(), st.sampled_from([("3D", "2.5D"), ("2.5D",), ("3D",), ("2D",), ("2.5D", "2D")]))
def test_any_subset_of_dimensions_gives_the_values_of_all_dimensions(volume, dimensions):
    # 2.5D is formed from the slice matrices, from the volume's in-plane matrices or counted alone
    levels, n_levels = volume
    roi = roi_from_levels(levels, n_levels)
    every = {(v.aggregation, v.key): v.value for v in glrlm.compute(roi, GlrlmSettings(), ALL_DIMENSIONS)}
    subset = glrlm.compute(roi, GlrlmSettings(), dimensions)
    assert [v.aggregation for v in subset[::16]] == [
        label for d in dimensions for label in AGGREGATIONS_BY_DIMENSION["glrlm"][d]]
    assert all(v.value == every[v.aggregation, v.key] for v in subset)


@settings(max_examples=25, deadline=None)
@given(volumes(max_levels=2))
def test_levels_beyond_one_byte_match_the_reference(volume):
    # levels above 255: the kernel counts on a uint16 copy
    levels, n_levels = volume
    shift = 300
    high = np.where(levels > 0, levels + shift, 0)
    volume_matrices = glrlm.glrlm_matrices_3d(high, n_levels + shift)
    for d, offset in enumerate(glcm.direction_offsets("3D")):
        assert_matrix_matches(volume_matrices[d], high, n_levels + shift, offset)


@PROPERTY
@given(volumes(max_shape=(3, 6, 7), max_levels=2), st.booleans())
def test_long_runs_and_every_direction_match_the_reference(volume, per_slice):
    # few levels: long runs in every direction, through the kernel's ring buffer of run positions
    levels, n_levels = volume
    padded = np.pad(levels, 1)
    offsets = glcm.direction_offsets("2D" if per_slice else "3D")
    max_run = max(levels.shape)
    counts = glrlm._run_length_kernel(padded.astype(np.uint8), n_levels,
                                      glrlm._direction_steps(offsets, padded.shape), per_slice, max_run)
    for d, offset in enumerate(offsets):
        for row in range(counts.shape[0]):
            part = levels[row:row + 1] if per_slice else levels
            expected = naive_glrlm(part, n_levels, tuple(int(c) for c in offset), max_run)
            assert np.array_equal(counts[row, d], expected)
