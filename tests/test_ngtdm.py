"""NGTDM: kernel against the naive reference, IBSI reference values, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import InputError
from radiomix.features import neighbourhood, ngtdm, registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, RoiImage
from radiomix.features.table import tabulate
from radiomix.spec import NgtdmSettings

from conftest import require_data
from ibsi_reference import misses, reference_rows
from naive_texture_neighbourhood import naive_ngtdm, naive_ngtdm_features

DIMENSIONS = ("2D", "2.5D", "3D")


def roi_from_levels(levels: np.ndarray, n_levels: int, spacing=(2.0, 1.0, 1.0)) -> RoiImage:
    """A RoiImage whose discretised grey levels are ``levels`` (0 outside the ROI)."""
    levels = np.asarray(levels, dtype=np.int32)
    inside = levels > 0
    return RoiImage(intensity=levels.astype(np.float64), morphological_mask=inside, intensity_mask=inside,
                    spacing=spacing, discretised=levels, n_levels=n_levels, bin_width=1.0, lower_bound=1.0,
                    resegmentation_range=(-np.inf, np.inf))


def values_by(results) -> dict[tuple[str, str], tuple[float, str]]:
    """``(key, aggregation) -> (value, status)``."""
    return {(item.key, item.aggregation): (item.value, item.status) for item in results}


def naive_by_dimension(levels: np.ndarray, n_levels: int, distance: int) -> dict[str, dict[str, float]]:
    """IBSI 2D (slice average), 2.5D (merged) and 3D features from the naive reference."""
    slice_counts, slice_sums = naive_ngtdm(levels, n_levels, distance, per_slice=True)
    counts, sums = naive_ngtdm(levels, n_levels, distance, per_slice=False)
    per_slice = [naive_ngtdm_features(slice_counts[z], slice_sums[z])
                 for z in range(levels.shape[0]) if slice_counts[z].sum() > 0]
    averaged = {key: (float(np.mean([f[key] for f in per_slice])) if per_slice else math.nan)
                for key in ngtdm.FEATURE_KEYS}
    return {"2D": averaged,
            "2.5D": naive_ngtdm_features(slice_counts.sum(axis=0), slice_sums.sum(axis=0)),
            "3D": naive_ngtdm_features(counts[0], sums[0])}


def assert_close(value: float, expected: float, context: str) -> None:
    if math.isnan(expected):
        assert math.isnan(value), context
    else:
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-9), context


# --- registry and output shape ---------------------------------------------------------------

def test_registry_declares_the_five_ibsi_features():
    codes = {d.key: d.ibsi_code for d in registry.definitions("ngtdm")}
    assert codes == {"coarseness": "QCDE", "contrast": "65HE", "busyness": "NQ30",
                     "complexity": "HDEZ", "strength": "1X9X"}


def test_compute_emits_one_value_per_feature_and_label(digital_phantom_roi):
    results = ngtdm.compute(digital_phantom_roi, NgtdmSettings(), DIMENSIONS)
    expected = {(key, label) for d in DIMENSIONS for label in AGGREGATIONS_BY_DIMENSION["ngtdm"][d]
                for key in ngtdm.FEATURE_KEYS}
    assert len(results) == len(expected)
    assert set(values_by(results)) == expected


# --- IBSI reference values -------------------------------------------------------------------

def test_digital_phantom_reference_values(digital_phantom_roi):
    table = tabulate("ngtdm", ngtdm.compute(digital_phantom_roi, NgtdmSettings(), DIMENSIONS))
    rows = reference_rows("digital_phantom", {"ngtdm"})
    assert len(rows) == 15
    assert misses(table, rows) == []


def ct_phantom_config_a_roi():
    """CT phantom, IBSI configuration A without interpolation (fixed bin size 25 HU from -500)."""
    import SimpleITK as sitk

    folder = require_data("ibsi/ct_phantom/nifti")
    image = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkFloat64)
    hu = np.rint(sitk.GetArrayFromImage(image))
    morphological = np.rint(sitk.GetArrayFromImage(mask)) == 1
    intensity_mask = morphological & (hu >= -500) & (hu <= 400)
    levels = np.where(intensity_mask, np.floor((hu + 500) / 25) + 1, 0).astype(np.int32)
    return RoiImage(intensity=hu, morphological_mask=morphological, intensity_mask=intensity_mask,
                    spacing=tuple(float(s) for s in reversed(image.GetSpacing())), discretised=levels,
                    n_levels=36, bin_width=25.0, lower_bound=-500.0, resegmentation_range=(-500.0, 400.0))


def test_ct_phantom_config_a_reference_values(ct_phantom_config_a_roi):
    table = tabulate("ngtdm", ngtdm.compute(ct_phantom_config_a_roi, NgtdmSettings(), ("2D", "2.5D")))
    rows = reference_rows("config_A", {"ngtdm"})
    assert len(rows) == 10
    assert misses(table, rows) == []


# --- a hand-worked example -------------------------------------------------------------------

def test_hand_worked_two_by_two_slice():
    # every pixel's neighbours are the three others: means 3, 8/3, 7/3, 2
    levels = np.array([[[1, 2], [3, 4]]], dtype=np.int32)
    counts, sums = ngtdm.ngtdm_matrix(levels, 4, 1, per_slice=True)
    np.testing.assert_array_equal(counts, [[1, 1, 1, 1]])
    np.testing.assert_allclose(sums, [[2.0, 2.0 / 3.0, 2.0 / 3.0, 2.0]])


# --- kernel against the naive reference ------------------------------------------------------

@st.composite
def level_volumes(draw, max_side=5, max_levels=5):
    """Small random volumes of grey levels 1..n (0 = outside the ROI), with their n."""
    n_levels = draw(st.integers(1, max_levels))
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, max_side), st.integers(1, max_side)))
    levels = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    return levels, n_levels


@settings(max_examples=40, deadline=None)
@given(volume=level_volumes(), distance=st.integers(1, 2), per_slice=st.booleans())
def test_kernel_matches_naive_reference(volume, distance, per_slice):
    levels, n_levels = volume
    counts, sums = ngtdm.ngtdm_matrix(levels, n_levels, distance, per_slice)
    naive_counts, naive_sums = naive_ngtdm(levels, n_levels, distance, per_slice)
    np.testing.assert_array_equal(counts, naive_counts)
    np.testing.assert_allclose(sums, naive_sums, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(volume=level_volumes())
def test_features_match_naive_reference_in_every_dimension(volume):
    levels, n_levels = volume
    got = values_by(ngtdm.compute(roi_from_levels(levels, n_levels), NgtdmSettings(), DIMENSIONS))
    expected = naive_by_dimension(levels, n_levels, 1)
    for dimension in DIMENSIONS:
        (label,) = AGGREGATIONS_BY_DIMENSION["ngtdm"][dimension]
        for key in ngtdm.FEATURE_KEYS:
            value, status = got[(key, label)]
            assert_close(value, expected[dimension][key], f"{key} [{label}]")
            assert bool(status) == math.isnan(value), f"{key} [{label}]: status {status!r}"


# --- edge cases ------------------------------------------------------------------------------

def test_one_voxel_has_no_valid_neighbourhood():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 2
    for item in ngtdm.compute(roi_from_levels(levels, 3), NgtdmSettings(), DIMENSIONS):
        assert math.isnan(item.value)
        assert item.status == ngtdm.NO_NEIGHBOURHOOD


def test_empty_roi_is_undefined():
    levels = np.zeros((2, 3, 3), dtype=np.int32)
    for item in ngtdm.compute(roi_from_levels(levels, 3), NgtdmSettings(), DIMENSIONS):
        assert math.isnan(item.value)
        assert item.status == neighbourhood.EMPTY_ROI


def test_constant_roi_follows_ibsi_conventions():
    levels = np.full((3, 4, 4), 2, dtype=np.int32)
    got = values_by(ngtdm.compute(roi_from_levels(levels, 4), NgtdmSettings(), DIMENSIONS))
    for dimension in DIMENSIONS:
        (label,) = AGGREGATIONS_BY_DIMENSION["ngtdm"][dimension]
        assert got[("coarseness", label)] == (ngtdm.COARSENESS_MAXIMUM, "")
        for key in ("contrast", "busyness", "complexity", "strength"):
            assert got[(key, label)] == (0.0, "")


def test_degenerate_busyness_denominator_is_nan_with_status():
    # levels 1 and 2 with p = 2/3 and 1/3: i * p_i is 2/3 for both
    counts = np.array([2, 1])
    sums = np.array([1.0, 1.0])
    features = ngtdm.ngtdm_features(counts, sums)
    value, status = features["busyness"]
    assert math.isnan(value) and status.startswith("undefined")
    assert all(not math.isnan(features[key][0]) for key in ngtdm.FEATURE_KEYS if key != "busyness")


def test_roi_touching_the_border_equals_the_padded_roi():
    rng = np.random.default_rng(7)
    levels = rng.integers(1, 5, size=(3, 5, 6)).astype(np.int32)
    padded = np.pad(levels, 2)
    assert ngtdm.compute(roi_from_levels(levels, 4), NgtdmSettings(), DIMENSIONS) == \
        ngtdm.compute(roi_from_levels(padded, 4), NgtdmSettings(), DIMENSIONS)
    np.testing.assert_array_equal(ngtdm.ngtdm_matrix(levels, 4)[0], naive_ngtdm(levels, 4, 1, False)[0])


def test_empty_and_isolated_slices_are_left_out_of_the_2d_average():
    rng = np.random.default_rng(3)
    levels = np.zeros((4, 5, 5), dtype=np.int32)
    levels[0] = rng.integers(1, 4, size=(5, 5))
    levels[2, 2, 2] = 3  # a slice whose only voxel has no in-plane neighbour
    levels[3] = rng.integers(1, 4, size=(5, 5))
    got = values_by(ngtdm.compute(roi_from_levels(levels, 3), NgtdmSettings(), ("2D",)))
    slice_counts, slice_sums = naive_ngtdm(levels, 3, 1, per_slice=True)
    assert slice_counts[1].sum() == 0 and slice_counts[2].sum() == 0
    for key in ngtdm.FEATURE_KEYS:
        expected = np.mean([naive_ngtdm_features(slice_counts[z], slice_sums[z])[key] for z in (0, 3)])
        assert got[(key, "2D")] == (pytest.approx(expected), "")


def test_spacing_does_not_change_the_features():
    rng = np.random.default_rng(11)
    levels = rng.integers(0, 5, size=(3, 6, 6)).astype(np.int32)
    isotropic = ngtdm.compute(roi_from_levels(levels, 4, (1.0, 1.0, 1.0)), NgtdmSettings(), DIMENSIONS)
    anisotropic = ngtdm.compute(roi_from_levels(levels, 4, (5.0, 0.7, 0.9)), NgtdmSettings(), DIMENSIONS)
    assert isotropic == anisotropic


# --- input validation ------------------------------------------------------------------------

@pytest.mark.parametrize("levels, n_levels, distance, message", [
    (np.ones((3, 3), dtype=np.int32), 2, 1, "3D"),
    (np.ones((1, 3, 3)), 2, 1, "integers"),
    (np.full((1, 3, 3), 5, dtype=np.int32), 4, 1, "0..4"),
    (np.ones((1, 3, 3), dtype=np.int32), 2, 0, "distance"),
])
def test_invalid_input_raises_input_error(levels, n_levels, distance, message):
    with pytest.raises(InputError, match=message):
        ngtdm.ngtdm_matrix(levels, n_levels, distance)


@settings(max_examples=40, deadline=None)
@given(volume=level_volumes(), distance=st.integers(1, 2), wide=st.booleans())
def test_one_pass_gives_in_plane_and_volume_matrices(volume, distance, wide):
    # one pass of the kernel for 2D/2.5D and 3D together, with the smallest or the widest types
    levels, n_levels = volume
    types = (np.uint32, np.uint32, np.uint64) if wide else (np.uint8, np.uint8, np.uint16)
    offsets, n_in_plane = neighbourhood.chebyshev_offsets(distance)
    _, _, slice_counts, slice_sums, volume_counts, volume_sums = neighbourhood._neighbourhood_counts(
        levels, n_levels, offsets, n_in_plane, 0.0, True, True, False, True, False, *types)
    for per_slice, counts, sums in ((True, slice_counts, slice_sums), (False, volume_counts, volume_sums)):
        naive_counts, naive_sums = naive_ngtdm(levels, n_levels, distance, per_slice)
        np.testing.assert_array_equal(counts, naive_counts)
        np.testing.assert_allclose(sums, naive_sums, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(volume=level_volumes(max_levels=2), distance=st.integers(1, 2), per_slice=st.booleans())
def test_levels_beyond_one_byte_match_the_reference(volume, distance, per_slice):
    # levels above 255 (uint16 copy, uint16 or uint32 sums): the same matrix as levels shifted down
    levels, n_levels = volume
    shift = 300
    high = np.where(levels > 0, levels + shift, 0)
    counts, sums = ngtdm.ngtdm_matrix(high, n_levels + shift, distance, per_slice)
    naive_counts, naive_sums = naive_ngtdm(high, n_levels + shift, distance, per_slice)
    np.testing.assert_array_equal(counts, naive_counts)
    np.testing.assert_allclose(sums, naive_sums, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(volume=level_volumes(), dimensions=st.sampled_from([("3D", "2.5D"), ("2.5D",), ("3D",), ("2D",)]))
def test_any_subset_of_dimensions_gives_the_values_of_all_dimensions(volume, dimensions):
    levels, n_levels = volume
    every = values_by(ngtdm.compute(roi_from_levels(levels, n_levels), NgtdmSettings(), DIMENSIONS))
    subset = values_by(ngtdm.compute(roi_from_levels(levels, n_levels), NgtdmSettings(), dimensions))
    assert {label for _, label in subset} == {AGGREGATIONS_BY_DIMENSION["ngtdm"][d][0] for d in dimensions}
    for item, (value, status) in subset.items():
        assert status == every[item][1]
        assert value == every[item][0] or (math.isnan(value) and math.isnan(every[item][0]))


def test_sum_types_widen_for_large_neighbourhoods():
    assert neighbourhood.smallest_unsigned_type(27) == np.uint8
    assert neighbourhood.smallest_unsigned_type(256) == np.uint16
    assert neighbourhood.smallest_unsigned_type(27 * 2427) == np.uint16
    assert neighbourhood.smallest_unsigned_type(27 * 2428) == np.uint32
    assert neighbourhood.smallest_unsigned_type(2 ** 32) == np.uint64


@settings(max_examples=30, deadline=None)
@given(volume=level_volumes(), distances=st.sampled_from([(1,), (1, 2)]), alpha=st.integers(0, 2),
       slice_axis=st.sampled_from([None, 0]), count_isolated=st.booleans())
def test_shared_pyradiomics_pass_gives_each_familys_own_values(volume, distances, alpha, slice_axis,
                                                              count_isolated):
    # the GLDM and NGTDM of pyradiomics' offsets from one neighbourhood pass, as from a pass each
    from radiomix.features import ngldm
    from radiomix.features.texture import box_present_levels
    from radiomix.spec import NgldmSettings

    levels, n_levels = volume
    levels = levels.copy()
    levels[0, 0, 0] = levels[-1, -1, -1] = 1  # an ROI box that some offset fits in
    assume(min(levels.shape[1:]) >= 2)
    present = box_present_levels(levels, n_levels)
    ngldm_settings = NgldmSettings(alpha=alpha, offsets="pyradiomics", distances=distances, slice_axis=slice_axis)
    ngtdm_settings = NgtdmSettings(offsets="pyradiomics", distances=distances, slice_axis=slice_axis,
                                   count_isolated_voxels=count_isolated)
    shared = neighbourhood.shared_pyradiomics_counts(present, ngldm_settings, ngtdm_settings)
    assert shared is not None
    for module, family_settings in ((ngldm, ngldm_settings), (ngtdm, ngtdm_settings)):
        alone = module.level_features(present, n_levels, (1.0, 1.0, 1.0), family_settings)
        together = module.level_features(present, n_levels, (1.0, 1.0, 1.0), family_settings, counted=shared)
        assert [(v.key, v.aggregation, v.status) for v in alone] == \
            [(v.key, v.aggregation, v.status) for v in together]
        np.testing.assert_array_equal([v.value for v in alone], [v.value for v in together])
    other = NgtdmSettings(offsets="pyradiomics", distances=(3,), slice_axis=slice_axis)
    assert neighbourhood.shared_pyradiomics_counts(present, ngldm_settings, other) is None
    assert neighbourhood.shared_pyradiomics_counts(present, None, ngtdm_settings) is None
