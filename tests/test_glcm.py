"""GLCM family: kernel vs plain NumPy reference, features vs the manual's formulas, IBSI-1 values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import EmptyRoiError, InputError, SpecError
from radiomix.features import glcm, registry, texture
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION
from radiomix.features.table import tabulate
from radiomix.features.texture import roi_box as texture_box
from radiomix.features.texture import smallest_unsigned_type
from radiomix.spec import GlcmSettings

from ibsi_reference import misses, reference_rows
from naive_texture_cm_rlm import (
    AGGREGATION_LABELS,
    naive_aggregations,
    naive_directions,
    naive_glcm,
    naive_glcm_features,
    roi_from_levels,
)

ALL_DIMENSIONS = ("2D", "2.5D", "3D")
PROPERTY = settings(max_examples=30, deadline=None)


@st.composite
def volumes(draw, max_shape=(4, 5, 5), max_levels=5):
    """Small discretised volumes with at least one ROI voxel, sometimes with empty slices."""
    shape = tuple(draw(st.integers(1, m)) for m in max_shape)
    n_levels = draw(st.integers(1, max_levels))
    levels = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    if not levels.any():
        levels.flat[draw(st.integers(0, levels.size - 1))] = draw(st.integers(1, n_levels))
    if draw(st.booleans()):
        levels = np.insert(levels, draw(st.integers(0, shape[0])), 0, axis=0)
    return levels, n_levels


def by_label_and_key(values):
    return {(v.aggregation, v.key): (v.value, v.status) for v in values}


def test_directions_are_the_ibsi_neighbourhood():
    for dimension, count in (("2D", 4), ("3D", 13)):
        offsets = [tuple(int(c) for c in m) for m in glcm.direction_offsets(dimension)]
        assert len(offsets) == count
        assert set(offsets) == set(naive_directions(dimension))
    assert np.array_equal(glcm.direction_offsets("3D", 3), 3 * glcm.direction_offsets("3D"))


@PROPERTY
@given(volumes(), st.integers(1, 2), st.booleans())
def test_matrices_match_the_reference(volume, distance, symmetric):
    levels, n_levels = volume
    per_slice = glcm.glcm_matrices_2d(levels, n_levels, distance, symmetric)
    assert per_slice.shape == (levels.shape[0], 4, n_levels, n_levels)
    for d, offset in enumerate(glcm.direction_offsets("2D", distance)):
        for z in range(levels.shape[0]):
            expected = naive_glcm(levels[z:z + 1], n_levels, tuple(offset), symmetric)
            assert np.array_equal(per_slice[z, d], expected)
    volume_matrices = glcm.glcm_matrices_3d(levels, n_levels, distance, symmetric)
    assert volume_matrices.shape == (13, n_levels, n_levels)
    for d, offset in enumerate(glcm.direction_offsets("3D", distance)):
        assert np.array_equal(volume_matrices[d], naive_glcm(levels, n_levels, tuple(offset), symmetric))


@PROPERTY
@given(st.integers(1, 5).flatmap(lambda n: arrays(np.int64, (n, n), elements=st.integers(0, 6))),
       st.booleans())
def test_features_match_the_formulas(counts, symmetric):
    if symmetric:
        counts = counts + counts.T
    n_levels = counts.shape[0] + 1  # Ng of the normalised features need not be the matrix size
    values = glcm.glcm_features(counts, n_levels)
    assert set(values) == set(glcm.FEATURE_KEYS)
    if counts.sum() == 0:
        assert all(np.isnan(v) for v in values.values())
        return
    expected = naive_glcm_features(counts, n_levels)
    for key in glcm.FEATURE_KEYS:
        np.testing.assert_allclose(values[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


@PROPERTY
@given(st.integers(1, 5).flatmap(lambda n: arrays(np.int64, (n, n), elements=st.integers(0, 6))),
       st.booleans())
def test_features_of_probabilities_are_those_of_counts(counts, symmetric):
    if symmetric:
        counts = counts + counts.T
    if counts.sum() == 0:
        return
    from_counts = glcm.glcm_features(counts)
    from_probabilities = glcm.glcm_features(counts / counts.sum())
    for key in glcm.FEATURE_KEYS:
        np.testing.assert_allclose(from_probabilities[key], from_counts[key], rtol=1e-9, atol=1e-12, err_msg=key)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from([255, 256, 300]), st.booleans())
def test_matrices_of_many_grey_levels_match_the_reference(seed, n_levels, symmetric):
    """Levels beyond 255 go through the kernel's wider level type."""
    rng = np.random.default_rng(seed)
    levels = np.where(rng.random((3, 4, 4)) < 0.8, rng.integers(n_levels - 3, n_levels + 1, (3, 4, 4)), 0)
    levels = levels.astype(np.int32)
    if not levels.any():
        levels[0, 0, 0] = n_levels
    present = np.unique(levels[levels > 0])
    compact = np.searchsorted(present, levels) + 1
    compact[levels == 0] = 0  # the same volume on levels 1..len(present), for a small reference matrix
    volume = glcm.glcm_matrices_3d(levels, n_levels, 1, symmetric)
    rows = present - 1
    for d, offset in enumerate(glcm.direction_offsets("3D")):
        expected = naive_glcm(compact, present.size, tuple(offset), symmetric)
        assert np.array_equal(volume[d][np.ix_(rows, rows)], expected)
        assert volume[d].sum() == expected.sum()


@PROPERTY
@given(st.integers(2, 5).flatmap(lambda n: arrays(np.int64, (n, n), elements=st.integers(0, 6))),
       st.booleans())
def test_pyradiomics_dialect_changes_only_the_order_and_the_single_level_values(counts, symmetric):
    """``pyradiomics_correlations`` computes correlation and the information correlations as pyradiomics does.

    With ``eps = 0`` its values equal IBSI's within rounding, except where a marginal holds a
    single grey level (pyradiomics' Correlation 1 and Imc1/Imc2 0, IBSI's NaN).
    """
    if symmetric:
        counts = counts + counts.T
    if counts.sum() == 0:
        return
    ibsi = glcm.glcm_feature_values(counts[None], counts.shape[0])[0]
    centred = glcm.glcm_feature_values(counts[None], counts.shape[0], pyradiomics_correlations=True)[0]
    single_row = np.count_nonzero(counts.sum(axis=1)) < 2
    single_column = np.count_nonzero(counts.sum(axis=0)) < 2
    for index, key in enumerate(glcm.FEATURE_KEYS):
        if key == "correlation" and (single_row or single_column):
            assert centred[index] == 1.0 and np.isnan(ibsi[index])
        elif key == "information_correlation_1" and single_row and single_column:
            assert centred[index] == 0.0 and np.isnan(ibsi[index])
        else:
            np.testing.assert_allclose(centred[index], ibsi[index], rtol=1e-9, atol=1e-7, err_msg=key)


def test_smallest_unsigned_type_holds_the_levels():
    assert [smallest_unsigned_type(n) for n in (1, 255, 256, 65535, 65536, 2 ** 32)] == [
        np.uint8, np.uint8, np.uint16, np.uint16, np.uint32, np.uint64]


def test_features_of_a_stack_are_those_of_each_matrix():
    rng = np.random.default_rng(7)
    stack = rng.integers(0, 4, size=(2, 3, 5, 5))
    values = glcm.glcm_features(stack)
    for index in np.ndindex(2, 3):
        single = glcm.glcm_features(stack[index])
        for key in glcm.FEATURE_KEYS:
            np.testing.assert_allclose(values[key][index], single[key], rtol=1e-12, err_msg=key)


def assert_matches_reference(values, expected):
    computed = by_label_and_key(values)
    assert len(computed) == len(values)
    for label, features in expected.items():
        for key in glcm.FEATURE_KEYS:
            value, status = computed[label, key]
            if not features:
                assert math.isnan(value) and status == glcm.NO_PAIRS, (label, key)
            elif math.isnan(features[key]):
                assert math.isnan(value) and status == glcm.SINGLE_GREY_LEVEL, (label, key)
            else:
                assert status == ""
                np.testing.assert_allclose(value, features[key], rtol=1e-9, atol=1e-12, err_msg=f"{label} {key}")


@PROPERTY
@given(volumes(), st.integers(1, 2), st.booleans(),
       st.tuples(*[st.floats(0.3, 5.0)] * 3))
def test_every_aggregation_matches_the_reference(volume, distance, symmetric, spacing):
    levels, n_levels = volume
    values = glcm.compute(roi_from_levels(levels, n_levels, spacing), GlcmSettings(distance, symmetric),
                          ALL_DIMENSIONS)
    assert [v.aggregation for v in values[::25]] == list(AGGREGATION_LABELS)
    assert_matches_reference(values, naive_aggregations("glcm", levels, n_levels, distance, symmetric))


def test_one_voxel_has_no_pairs():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 2
    values = glcm.compute(roi_from_levels(levels, 3), GlcmSettings(), ALL_DIMENSIONS)
    assert len(values) == 25 * 6
    assert all(math.isnan(v.value) and v.status == glcm.NO_PAIRS for v in values)


def test_constant_roi_touching_the_border():
    levels = np.full((2, 3, 4), 3, dtype=np.int32)
    values = by_label_and_key(glcm.compute(roi_from_levels(levels, 4), GlcmSettings(), ALL_DIMENSIONS))
    for (_, key), (value, status) in values.items():
        if key in ("correlation", "information_correlation_1"):
            assert math.isnan(value) and status == glcm.SINGLE_GREY_LEVEL
        else:
            assert math.isfinite(value) and status == ""
    assert values["3D, merged", "joint_maximum"] == (1.0, "")
    assert values["2D, averaged", "joint_average"] == (3.0, "")
    assert values["3D, averaged", "contrast"] == (0.0, "")
    assert values["2.5D, merged", "information_correlation_2"] == (0.0, "")


def assert_same_values(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert (a.key, a.aggregation, a.status) == (b.key, b.aggregation, b.status)
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_margins_and_empty_slices_change_nothing():
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 5, size=(3, 4, 5)).astype(np.int32)
    padded = np.zeros((6, 7, 9), dtype=np.int32)
    padded[1:4, 2:6, 3:8] = levels
    plain = glcm.compute(roi_from_levels(levels, 4), GlcmSettings(), ALL_DIMENSIONS)
    assert_same_values(plain, glcm.compute(roi_from_levels(padded, 4), GlcmSettings(), ALL_DIMENSIONS))
    # an empty slice between ROI slices leaves the slice-wise aggregations unchanged
    split = np.insert(padded, 3, 0, axis=0)
    assert_same_values(glcm.compute(roi_from_levels(levels, 4), GlcmSettings(), ("2D", "2.5D")),
                       glcm.compute(roi_from_levels(split, 4), GlcmSettings(), ("2D", "2.5D")))
    assert not glcm.glcm_matrices_2d(split, 4)[[0, 3, 5, 6]].any()


def test_dimensions_select_aggregations():
    levels = np.arange(1, 9, dtype=np.int32).reshape((2, 2, 2))
    values = glcm.compute(roi_from_levels(levels, 8), GlcmSettings(), ("3D",))
    assert {v.aggregation for v in values} == {"3D, averaged", "3D, merged"}
    with pytest.raises(SpecError, match="texture.dimensions"):
        glcm.compute(roi_from_levels(levels, 8), GlcmSettings(), ("4D",))


def test_invalid_input_is_refused():
    levels = np.ones((2, 2, 2), dtype=np.int32)
    with pytest.raises(EmptyRoiError):
        glcm.glcm_matrices_3d(np.zeros((2, 2, 2), dtype=np.int32), 3)
    with pytest.raises(InputError, match="0..3"):
        glcm.glcm_matrices_3d(levels * 4, 3)
    with pytest.raises(InputError, match="integers"):
        glcm.glcm_matrices_3d(levels.astype(float), 3)
    with pytest.raises(InputError, match="3D"):
        glcm.glcm_matrices_2d(levels[0], 3)
    with pytest.raises(InputError, match="distance"):
        glcm.glcm_matrices_2d(levels, 3, distance=0)


def test_registry_names_and_codes_are_the_manuals():
    rows = reference_rows("digital_phantom", {"glcm"})
    manual = {row.ibsi_code: row.feature for row in rows}
    definitions = [d for d in registry.definitions("glcm") if d.ibsi_code]
    assert len(definitions) == 25
    assert {d.ibsi_code: d.name for d in definitions} == manual
    outside = [d.key for d in registry.definitions("glcm") if not d.ibsi_code]
    assert outside == [glcm.MCC_KEY]  # pyradiomics' MCC, computed only with non_ibsi_features


def test_digital_phantom_reference_values(digital_phantom_roi):
    values = glcm.compute(digital_phantom_roi, GlcmSettings(), ALL_DIMENSIONS)
    rows = reference_rows("digital_phantom", {"glcm"})
    assert len(rows) == 150
    assert misses(tabulate("glcm", values), rows) == []


def test_ct_phantom_config_a_reference_values(ct_phantom_config_a_roi):
    values = glcm.compute(ct_phantom_config_a_roi, GlcmSettings(), ("2D", "2.5D"))
    rows = reference_rows("config_A", {"glcm"})
    assert len(rows) == 100
    assert misses(tabulate("glcm", values), rows) == []


@PROPERTY
@given(volumes(), st.integers(1, 2), st.booleans())
def test_volume_matrices_reusing_the_slices_equal_the_direct_count(volume, distance, symmetric):
    levels, n_levels = volume
    cropped = levels[texture_box(levels)]
    per_slice = glcm.glcm_matrices_2d(cropped, n_levels, distance, symmetric)
    def count(offsets, slices):
        return glcm._glcm_matrices(cropped, n_levels, offsets, slices, symmetric, cropped=True)

    assert np.array_equal(texture.volume_from_slices(per_slice, count, distance),
                          glcm.glcm_matrices_3d(cropped, n_levels, distance, symmetric))


@pytest.mark.parametrize("counts", [np.ones((3, 3), dtype=np.int64),
                                    np.array([[0, 1, 0], [0, 22, 0], [0, 1, 0]]),
                                    np.outer([1, 2, 3], [4, 0, 5])])
def test_information_correlation_2_is_exactly_0_for_independent_rows_and_columns(counts):
    assert glcm.glcm_features(counts)["information_correlation_2"] == 0.0


@PROPERTY
@given(arrays(np.int32, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
              elements=st.integers(0, 2)))
def test_roi_box_is_the_bounding_box_of_the_non_zero_voxels(levels):
    hits = np.argwhere(levels != 0)
    expected = (tuple(slice(int(low), int(high) + 1) for low, high in zip(hits.min(axis=0), hits.max(axis=0)))
                if hits.size else None)
    assert texture_box(levels) == expected
    assert texture_box(levels != 0) == expected
    assert texture_box(levels.astype(np.float64)) == expected
    strided = np.repeat(levels != 0, 2, axis=2)[:, :, ::2]  # not C-contiguous
    assert texture_box(strided) == expected


@PROPERTY
@given(volumes(), st.integers(1, 2), st.booleans(),
       st.sampled_from([("3D", "2.5D"), ("2.5D",), ("3D",), ("2D",), ("2.5D", "2D")]))
def test_any_subset_of_dimensions_gives_the_values_of_all_dimensions(volume, distance, symmetric, dimensions):
    # 2.5D is formed from the slice matrices, from the volume's in-plane matrices or counted alone
    levels, n_levels = volume
    roi = roi_from_levels(levels, n_levels)
    every = by_label_and_key(glcm.compute(roi, GlcmSettings(distance, symmetric), ALL_DIMENSIONS))
    subset = glcm.compute(roi, GlcmSettings(distance, symmetric), dimensions)
    assert [v.aggregation for v in subset[::25]] == [
        label for d in dimensions for label in AGGREGATIONS_BY_DIMENSION["glcm"][d]]
    for v in subset:
        assert (v.value, v.status) == every[v.aggregation, v.key] or (
            math.isnan(v.value) and math.isnan(every[v.aggregation, v.key][0])
            and v.status == every[v.aggregation, v.key][1])


def test_in_plane_rows_of_volume_directions():
    volume = glcm.direction_offsets("3D")[texture.in_plane_rows_of_volume_directions()]
    assert np.array_equal(volume, glcm.direction_offsets("2D"))


def test_degenerate_matrix_conventions_by_hand():
    # slice 0 holds the pair (1, 2): p = [[0, .5], [.5, 0]], marginals .5/.5, mean 1.5, variance .25:
    # correlation (2 - 2.25) / .25 = -1; information correlation 1 (HXY 1 - HXY1 2) / HX 1 = -1;
    # inverse variance .5 + .5 = 1. Slice 1 holds (1, 1): one grey level, the correlations are 0/0,
    # inverse variance an empty sum. Other in-plane directions have no pairs.
    roi = roi_from_levels(np.array([[[1, 2]], [[1, 1]]], dtype=np.int32), 2)
    dimensions = ("2D", "2.5D", "3D")
    ours = by_label_and_key(glcm.compute(roi, GlcmSettings(), dimensions))
    mirp = by_label_and_key(glcm.compute(roi, GlcmSettings(degenerate_matrices="mirp"), dimensions))
    for key in ("correlation", "information_correlation_1"):
        assert ours[("2D, averaged", key)][0] == pytest.approx(-1.0)  # slice 1 left out
        assert mirp[("2D, averaged", key)][0] == pytest.approx(0.0)  # slice 1 counts 1: (-1 + 1) / 2
    assert ours[("2D, averaged", "inverse_variance")][0] == pytest.approx(0.5)  # (1 + 0) / 2
    assert mirp[("2D, averaged", "inverse_variance")][0] == pytest.approx(1.0)  # slice 1 left out
    # matrices merged over both slices are not degenerate: the conventions do not apply
    for label in ("2.5D, merged", "3D, merged"):
        for key in ("correlation", "information_correlation_1", "inverse_variance"):
            assert mirp[(label, key)] == ours[(label, key)] and math.isfinite(ours[(label, key)][0])
    constant = roi_from_levels(np.ones((1, 2, 2), dtype=np.int32), 1)
    ours = by_label_and_key(glcm.compute(constant, GlcmSettings(), ("3D",)))
    mirp = by_label_and_key(glcm.compute(constant, GlcmSettings(degenerate_matrices="mirp"), ("3D",)))
    assert math.isnan(ours[("3D, merged", "correlation")][0]) and ours[("3D, merged", "inverse_variance")][0] == 0
    assert mirp[("3D, merged", "correlation")][0] == 1.0
    assert mirp[("3D, merged", "inverse_variance")] == (pytest.approx(np.nan, nan_ok=True), glcm.NO_DIFFERENT_PAIRS)


@PROPERTY
@given(volumes(), st.integers(1, 2))
def test_mirp_convention_changes_only_the_three_open_features(volume, distance):
    levels, n_levels = volume
    roi = roi_from_levels(levels, n_levels)
    ours = by_label_and_key(glcm.compute(roi, GlcmSettings(distance), ALL_DIMENSIONS))
    mirp = by_label_and_key(glcm.compute(roi, GlcmSettings(distance, degenerate_matrices="mirp"), ALL_DIMENSIONS))
    open_features = ("correlation", "information_correlation_1", "inverse_variance")
    for (label, key), (value, status) in ours.items():
        if key not in open_features:
            assert mirp[(label, key)] == (value, status) or (math.isnan(value) and math.isnan(mirp[(label, key)][0]))
        elif status != glcm.NO_PAIRS and key != "inverse_variance":
            assert math.isfinite(mirp[(label, key)][0])  # 1 stands in wherever it was undefined
        elif key == "inverse_variance" and status != glcm.NO_PAIRS:
            assert math.isfinite(value)  # ours: an empty sum is 0
