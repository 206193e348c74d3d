"""NGLDM: kernel against the naive reference, IBSI reference values, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import InputError
from radiomix.features import ngldm, registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, RoiImage
from radiomix.features.table import tabulate
from radiomix.spec import NgldmSettings

from conftest import require_data
from ibsi_reference import misses, reference_rows
from naive_texture_neighbourhood import naive_ngldm, naive_ngldm_features

DIMENSIONS = ("2D", "2.5D", "3D")

IBSI_CODES = {
    "low_dependence_emphasis": "SODN", "high_dependence_emphasis": "IMOQ",
    "low_grey_level_count_emphasis": "TL9H", "high_grey_level_count_emphasis": "OAE7",
    "low_dependence_low_grey_level_emphasis": "EQ3F", "low_dependence_high_grey_level_emphasis": "JA6D",
    "high_dependence_low_grey_level_emphasis": "NBZI", "high_dependence_high_grey_level_emphasis": "9QMG",
    "grey_level_non_uniformity": "FP8K", "normalised_grey_level_non_uniformity": "5SPA",
    "dependence_count_non_uniformity": "Z87G", "normalised_dependence_count_non_uniformity": "OKJI",
    "dependence_count_percentage": "6XV8", "grey_level_variance": "1PFV",
    "dependence_count_variance": "DNX2", "dependence_count_entropy": "FCBV", "dependence_count_energy": "CAS9",
}


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


def naive_by_dimension(levels: np.ndarray, n_levels: int, distance: int, alpha: float):
    """IBSI 2D (slice average), 2.5D (merged) and 3D features from the naive reference."""
    slices = naive_ngldm(levels, n_levels, distance, alpha, per_slice=True)
    volume = naive_ngldm(levels, n_levels, distance, alpha, per_slice=False)
    n_voxels = int(np.count_nonzero(levels))
    per_slice = [naive_ngldm_features(m, int(m.sum())) for m in slices if m.sum() > 0]
    return {"2D": {key: float(np.mean([f[key] for f in per_slice])) for key in ngldm.FEATURE_KEYS},
            "2.5D": naive_ngldm_features(slices.sum(axis=0), n_voxels),
            "3D": naive_ngldm_features(volume[0], n_voxels)}


# --- registry and output shape ---------------------------------------------------------------

def test_registry_declares_the_seventeen_ibsi_features():
    assert {d.key: d.ibsi_code for d in registry.definitions("ngldm")} == IBSI_CODES


def test_compute_emits_one_value_per_feature_and_label(digital_phantom_roi):
    results = ngldm.compute(digital_phantom_roi, NgldmSettings(), DIMENSIONS)
    expected = {(key, label) for d in DIMENSIONS for label in AGGREGATIONS_BY_DIMENSION["ngldm"][d]
                for key in ngldm.FEATURE_KEYS}
    assert len(results) == len(expected)
    assert set(values_by(results)) == expected


# --- IBSI reference values -------------------------------------------------------------------

def test_digital_phantom_reference_values(digital_phantom_roi):
    table = tabulate("ngldm", ngldm.compute(digital_phantom_roi, NgldmSettings(), DIMENSIONS))
    rows = reference_rows("digital_phantom", {"ngldm"})
    assert len(rows) == 51
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
    table = tabulate("ngldm", ngldm.compute(ct_phantom_config_a_roi, NgldmSettings(), ("2D", "2.5D")))
    rows = reference_rows("config_A", {"ngldm"})
    assert len(rows) == 34
    assert misses(table, rows) == []


# --- a hand-worked example -------------------------------------------------------------------

def test_hand_worked_two_by_two_slice():
    levels = np.array([[[1, 2], [3, 4]]], dtype=np.int32)
    # alpha 0: no neighbour shares a level, every dependence is 1 (the centre)
    np.testing.assert_array_equal(ngldm.ngldm_matrix(levels, 4, 1, 0.0, per_slice=True), [[[1], [1], [1], [1]]])
    # alpha 1: level 1 depends on 2; 2 on 1 and 3; 3 on 2 and 4; 4 on 3
    np.testing.assert_array_equal(ngldm.ngldm_matrix(levels, 4, 1, 1.0, per_slice=True),
                                  [[[0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0]]])


# --- kernel against the naive reference ------------------------------------------------------

@st.composite
def level_volumes(draw, max_side=5, max_levels=5):
    """Small random volumes of grey levels 1..n (0 = outside the ROI), with their n."""
    n_levels = draw(st.integers(1, max_levels))
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, max_side), st.integers(1, max_side)))
    levels = draw(arrays(np.int32, shape, elements=st.integers(0, n_levels)))
    return levels, n_levels


@settings(max_examples=40, deadline=None)
@given(volume=level_volumes(), distance=st.integers(1, 2), alpha=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
       per_slice=st.booleans())
def test_kernel_matches_naive_reference(volume, distance, alpha, per_slice):
    levels, n_levels = volume
    np.testing.assert_array_equal(ngldm.ngldm_matrix(levels, n_levels, distance, alpha, per_slice),
                                  naive_ngldm(levels, n_levels, distance, alpha, per_slice))


@settings(max_examples=30, deadline=None)
@given(volume=level_volumes(), alpha=st.sampled_from([0.0, 1.0]))
def test_features_match_naive_reference_in_every_dimension(volume, alpha):
    levels, n_levels = volume
    assume(levels.any())  # the empty ROI has its own test
    got = values_by(ngldm.compute(roi_from_levels(levels, n_levels), NgldmSettings(alpha=alpha), DIMENSIONS))
    expected = naive_by_dimension(levels, n_levels, 1, alpha)
    for dimension in DIMENSIONS:
        (label,) = AGGREGATIONS_BY_DIMENSION["ngldm"][dimension]
        for key in ngldm.FEATURE_KEYS:
            value, status = got[(key, label)]
            assert status == ""
            assert value == pytest.approx(expected[dimension][key], rel=1e-9, abs=1e-12), f"{key} [{label}]"


# --- edge cases ------------------------------------------------------------------------------

def test_one_voxel():
    levels = np.zeros((3, 3, 3), dtype=np.int32)
    levels[1, 1, 1] = 2
    got = values_by(ngldm.compute(roi_from_levels(levels, 3), NgldmSettings(), DIMENSIONS))
    for dimension in DIMENSIONS:
        (label,) = AGGREGATIONS_BY_DIMENSION["ngldm"][dimension]
        assert got[("low_dependence_emphasis", label)] == (1.0, "")
        assert got[("high_grey_level_count_emphasis", label)] == (4.0, "")
        assert got[("dependence_count_entropy", label)] == (0.0, "")
        assert got[("grey_level_variance", label)] == (0.0, "")


def test_empty_roi_is_undefined():
    levels = np.zeros((2, 3, 3), dtype=np.int32)
    for item in ngldm.compute(roi_from_levels(levels, 3), NgldmSettings(), DIMENSIONS):
        assert math.isnan(item.value)
        assert item.status == ngldm.EMPTY_ROI


def test_constant_roi_has_full_dependence():
    levels = np.full((3, 3, 3), 2, dtype=np.int32)
    volume = ngldm.ngldm_matrix(levels, 2, 1, 0.0)
    # the centre voxel sees all 27 voxels of the cube
    assert volume.shape == (1, 2, 27) and volume[0, 1, 26] == 1 and volume.sum() == 27
    got = values_by(ngldm.compute(roi_from_levels(levels, 2), NgldmSettings(), DIMENSIONS))
    for label in ("2D", "2.5D", "3D"):
        assert got[("grey_level_variance", label)] == (0.0, "")
        assert got[("normalised_grey_level_non_uniformity", label)] == (1.0, "")
        assert got[("dependence_count_percentage", label)] == (1.0, "")


def test_roi_touching_the_border_equals_the_padded_roi():
    rng = np.random.default_rng(5)
    levels = rng.integers(1, 4, size=(3, 5, 6)).astype(np.int32)
    padded = np.pad(levels, 2)
    assert ngldm.compute(roi_from_levels(levels, 3), NgldmSettings(), DIMENSIONS) == \
        ngldm.compute(roi_from_levels(padded, 3), NgldmSettings(), DIMENSIONS)
    np.testing.assert_array_equal(ngldm.ngldm_matrix(levels, 3), naive_ngldm(levels, 3, 1, 0.0, False))


def test_empty_slices_are_left_out_of_the_2d_average():
    rng = np.random.default_rng(9)
    levels = np.zeros((4, 5, 5), dtype=np.int32)
    levels[0] = rng.integers(1, 4, size=(5, 5))
    levels[2] = rng.integers(0, 4, size=(5, 5))
    got = values_by(ngldm.compute(roi_from_levels(levels, 3), NgldmSettings(), ("2D",)))
    slices = naive_ngldm(levels, 3, 1, 0.0, per_slice=True)
    for key in ngldm.FEATURE_KEYS:
        expected = np.mean([naive_ngldm_features(slices[z], int(slices[z].sum()))[key] for z in (0, 2)])
        assert got[(key, "2D")] == (pytest.approx(expected), "")


def test_spacing_does_not_change_the_features():
    rng = np.random.default_rng(13)
    levels = rng.integers(0, 5, size=(3, 6, 6)).astype(np.int32)
    isotropic = ngldm.compute(roi_from_levels(levels, 4, (1.0, 1.0, 1.0)), NgldmSettings(), DIMENSIONS)
    anisotropic = ngldm.compute(roi_from_levels(levels, 4, (5.0, 0.7, 0.9)), NgldmSettings(), DIMENSIONS)
    assert isotropic == anisotropic


# --- input validation ------------------------------------------------------------------------

@pytest.mark.parametrize("levels, n_levels, distance, alpha, message", [
    (np.ones((3, 3), dtype=np.int32), 2, 1, 0.0, "3D"),
    (np.ones((1, 3, 3)), 2, 1, 0.0, "integers"),
    (np.full((1, 3, 3), 5, dtype=np.int32), 4, 1, 0.0, "0..4"),
    (np.ones((1, 3, 3), dtype=np.int32), 2, 0, 0.0, "distance"),
    (np.ones((1, 3, 3), dtype=np.int32), 2, 1, -1.0, "alpha"),
])
def test_invalid_input_raises_input_error(levels, n_levels, distance, alpha, message):
    with pytest.raises(InputError, match=message):
        ngldm.ngldm_matrix(levels, n_levels, distance, alpha)


def test_normalised_non_uniformity_and_percentage_of_a_constant_roi_are_exactly_one():
    levels = np.full((3, 3, 3), 2, dtype=np.int32)
    features = ngldm.ngldm_features(ngldm.ngldm_matrix(levels, 2)[0], 27)
    assert features["normalised_grey_level_non_uniformity"] == (1.0, "")
    assert features["dependence_count_percentage"] == (1.0, "")


@settings(max_examples=40, deadline=None)
@given(volume=level_volumes(), distance=st.integers(1, 2), alpha=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_one_pass_gives_in_plane_and_volume_matrices(volume, distance, alpha):
    levels, n_levels = volume
    slices, volume_matrix = ngldm._counted(levels, n_levels, distance, alpha, True, True)
    for per_slice, matrix in ((True, slices), (False, volume_matrix)):
        expected = naive_ngldm(levels, n_levels, distance, alpha, per_slice)
        np.testing.assert_array_equal(matrix[:, :, :expected.shape[2]], expected)
        assert not matrix[:, :, expected.shape[2]:].any()


@settings(max_examples=25, deadline=None)
@given(volume=level_volumes(max_levels=3), distance=st.integers(1, 2), alpha=st.sampled_from([0.0, 1.0]),
       per_slice=st.booleans())
def test_levels_beyond_one_byte_match_the_reference(volume, distance, alpha, per_slice):
    # levels above 255 (uint16 copy), with equal levels (alpha 0) and a tolerance
    levels, n_levels = volume
    shift = 300
    high = np.where(levels > 0, levels + shift, 0)
    np.testing.assert_array_equal(ngldm.ngldm_matrix(high, n_levels + shift, distance, alpha, per_slice),
                                  naive_ngldm(high, n_levels + shift, distance, alpha, per_slice))


@settings(max_examples=30, deadline=None)
@given(volume=level_volumes(), dimensions=st.sampled_from([("3D", "2.5D"), ("2.5D",), ("3D",), ("2D",)]))
def test_any_subset_of_dimensions_gives_the_values_of_all_dimensions(volume, dimensions):
    levels, n_levels = volume
    assume(levels.any())
    every = values_by(ngldm.compute(roi_from_levels(levels, n_levels), NgldmSettings(), DIMENSIONS))
    subset = values_by(ngldm.compute(roi_from_levels(levels, n_levels), NgldmSettings(), dimensions))
    assert {label for _, label in subset} == {AGGREGATIONS_BY_DIMENSION["ngldm"][d][0] for d in dimensions}
    assert all(subset[item] == every[item] for item in subset)
