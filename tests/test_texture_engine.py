"""Shared texture plumbing: present levels, the neighbourhood kernel for any offsets, zone matrices, groups.

The neighbourhood kernel is checked against a plain NumPy reference for arbitrary offset sets (per
slice and for the volume); the IBSI and pyradiomics neighbourhoods are checked in test_ngldm.py,
test_ngtdm.py and test_pyradiomics_texture.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import EmptyRoiError, InputError, SpecError
from radiomix.features import glcm, neighbourhood, texture, zones

PROPERTY = settings(max_examples=40, deadline=None)


@st.composite
def level_volumes(draw):
    """Small level volumes (0 outside the ROI) with at least one ROI voxel, and their Ng."""
    shape = draw(st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)))
    n_levels = draw(st.integers(1, 6))
    levels = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    levels.flat[draw(st.integers(0, levels.size - 1))] = draw(st.integers(1, n_levels))
    return levels, n_levels


@st.composite
def offset_sets(draw):
    """A set of distinct non-zero offsets within distance 2, in-plane ones first, and their number."""
    steps = st.integers(-2, 2)
    chosen = draw(st.lists(st.tuples(steps, steps, steps).filter(any), min_size=1, max_size=10, unique=True))
    chosen.sort(key=lambda offset: offset[0] != 0)
    return np.array(chosen, dtype=np.int64), sum(offset[0] == 0 for offset in chosen)


def naive_neighbourhood(levels, n_levels, offsets, alpha, count_isolated):
    """Dependence matrix and NGTDM columns of the volume, voxel by voxel."""
    dependence = np.zeros((n_levels, len(offsets) + 1), dtype=np.int64)
    counts = np.zeros(n_levels, dtype=np.int64)
    sums = np.zeros(n_levels)
    for centre in zip(*np.nonzero(levels)):
        level = int(levels[centre])
        neighbours = []
        for offset in offsets:
            other = tuple(np.add(centre, offset))
            if all(0 <= o < n for o, n in zip(other, levels.shape)) and levels[other] > 0:
                neighbours.append(int(levels[other]))
        dependence[level - 1, sum(abs(n - level) <= alpha for n in neighbours)] += 1
        if neighbours or count_isolated:
            counts[level - 1] += 1
        if neighbours:
            sums[level - 1] += abs(level - np.mean(neighbours))
    return dependence, counts, sums


@PROPERTY
@given(level_volumes(), offset_sets(), st.integers(0, 2), st.booleans())
def test_neighbourhood_kernel_equals_the_reference_for_any_offsets(volume, offset_set, alpha, count_isolated):
    levels, n_levels = volume
    offsets, n_in_plane = offset_set
    counted = neighbourhood.neighbourhood_matrices(levels, n_levels, offsets, n_in_plane, alpha=alpha,
                                                   per_slice=True, count_isolated=count_isolated)
    dependence, counts, sums = naive_neighbourhood(levels, n_levels, offsets, alpha, count_isolated)
    np.testing.assert_array_equal(counted.volume_dependence[0], dependence)
    np.testing.assert_array_equal(counted.volume_counts[0], counts)
    np.testing.assert_allclose(counted.volume_sums[0], sums, rtol=1e-12, atol=1e-12)
    for z in range(levels.shape[0]):  # per slice: the in-plane offsets only
        dependence, counts, sums = naive_neighbourhood(levels[z:z + 1], n_levels, offsets[:n_in_plane], alpha,
                                                       count_isolated)
        np.testing.assert_array_equal(counted.slice_dependence[z], dependence)
        np.testing.assert_array_equal(counted.slice_counts[z], counts)
        np.testing.assert_allclose(counted.slice_sums[z], sums, rtol=1e-12, atol=1e-12)


def test_chebyshev_offsets_are_the_cube_in_plane_first():
    offsets, n_in_plane = neighbourhood.chebyshev_offsets(2)
    assert len(offsets) == 124 and n_in_plane == 24
    assert not offsets[:n_in_plane, 0].any() and offsets[n_in_plane:, 0].all()
    assert len({tuple(o) for o in offsets}) == 124 and np.abs(offsets).max() == 2


@pytest.mark.parametrize("offsets, n_in_plane, message", [
    (np.zeros((1, 3), dtype=np.int64), 0, "other than"),
    (np.ones((2, 2), dtype=np.int64), 0, r"\(n, 3\)"),
    (np.array([[1, 0, 0]]), 1, "in-plane"),
])
def test_neighbourhood_offsets_are_checked(offsets, n_in_plane, message):
    with pytest.raises(InputError, match=message):
        neighbourhood.neighbourhood_matrices(np.ones((2, 2, 2), dtype=np.int32), 1, offsets, n_in_plane)


@PROPERTY
@given(level_volumes())
def test_present_levels_rank_the_levels_of_the_roi(volume):
    levels, n_levels = volume
    present = texture.present_levels(levels, n_levels)
    expected = np.unique(levels[levels > 0])
    np.testing.assert_array_equal(present.grey_levels, expected)
    np.testing.assert_array_equal(present.rows, expected - 1)
    ranks = np.searchsorted(expected, levels) + 1
    np.testing.assert_array_equal(present.ranked, np.where(levels > 0, ranks, 0))


def test_present_levels_of_an_empty_roi_are_an_error():
    with pytest.raises(EmptyRoiError, match="no voxel"):
        texture.present_levels(np.zeros((1, 2, 2), dtype=np.int32), 3)


def test_zone_matrix_counts_zones_by_level_and_the_columns_that_occur():
    counts, columns = zones.zone_matrix(np.array([1, 2, 2, 1, 2]), np.array([5, 1, 5, 5, 9]), 3)
    np.testing.assert_array_equal(columns, [1, 5, 9])
    np.testing.assert_array_equal(counts, [[0, 2, 0], [1, 1, 1], [0, 0, 0]])


def test_directional_groups_rejects_an_unknown_dimension():
    with pytest.raises(SpecError, match="'4D' is not one of"):
        texture.directional_groups("glcm", ("4D",), lambda offsets, per_slice: None)


@PROPERTY
@given(level_volumes(), st.booleans())
def test_glcm_matrices_of_any_offsets_equal_the_direction_matrices(volume, symmetric):
    levels, n_levels = volume
    offsets = texture.direction_offsets("3D", 2)
    np.testing.assert_array_equal(glcm.glcm_matrices(levels, n_levels, offsets, symmetric),
                                  glcm.glcm_matrices_3d(levels, n_levels, 2, symmetric))


@PROPERTY
@given(level_volumes(), st.booleans(), st.booleans())
def test_glcm_features_of_the_levels_present_equal_those_of_every_level(volume, symmetric, pyradiomics):
    """Matrices restricted to the levels present, with their grey levels, give the features of the
    matrices of every level 1..Ng bit for bit (pyradiomics' offset matrices are computed that way)."""
    levels, n_levels = volume
    full = glcm.glcm_matrices_3d(levels, n_levels, symmetric=symmetric)
    present = texture.present_levels(levels, n_levels)
    compact = full[:, present.rows[:, None], present.rows[None, :]]
    eps = texture.PYRADIOMICS_EPS if pyradiomics else 0.0
    expected = glcm.glcm_feature_values(full.astype(np.float64), n_levels, eps, pyradiomics)
    got = glcm.glcm_feature_values(compact, n_levels, eps, pyradiomics, present.grey_levels)
    np.testing.assert_array_equal(got, expected)


@PROPERTY
@given(arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 6)),
              elements=st.integers(0, 9)), st.sampled_from([0.0, texture.PYRADIOMICS_EPS]))
def test_emphasis_features_of_integer_counts_equal_those_of_their_float_values(counts, eps):
    rows, columns = np.arange(1.0, counts.shape[1] + 1), np.arange(1.0, counts.shape[2] + 1)
    np.testing.assert_array_equal(texture.emphasis_features(counts, rows, columns, eps),
                                  texture.emphasis_features(counts.astype(np.float64), rows, columns, eps))
