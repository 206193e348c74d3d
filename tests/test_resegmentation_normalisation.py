"""pyradiomics' resegmentation modes and whole-image normalisation as settings of the ordinary preprocessing."""

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from test_extract_filters import _case

import radiomix
from radiomix.errors import SpecError
from radiomix.preprocess.intensity import normalise_mr, normalise_whole_image
from radiomix.preprocess.resegmentation import range_thresholds, resegment, resegmentation_range
from radiomix.preprocess.settings import ResegmentationSettings
from radiomix.spec import load_spec

PROPERTY = settings(max_examples=30, deadline=None)


@PROPERTY
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([np.int16, np.float32, np.float64]),
       st.sampled_from(["absolute", "relative", "sigma"]),
       st.lists(st.floats(-3, 3), min_size=1, max_size=2))
def test_modes_keep_the_voxels_pyradiomics_keeps(seed, dtype, mode, bounds):
    imageoperations = pytest.importorskip("radiomics.imageoperations")
    rng = np.random.default_rng(seed)
    image = (rng.normal(0.5, 1, (4, 5, 6)) * (100 if mode == "absolute" else 1)).astype(dtype)
    if mode == "absolute":
        bounds = [100 * b for b in bounds]
    roi = rng.random(image.shape) < 0.6
    roi.flat[0] = True
    ordered = sorted(bounds)
    kept = resegment(image, roi, ResegmentationSettings((ordered[0], ordered[1] if len(ordered) == 2 else None),
                                                        range_mode=mode))
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    try:
        expected = sitk.GetArrayFromImage(imageoperations.resegmentMask(
            sitk.GetImageFromArray(image), mask, resegmentRange=bounds, resegmentMode=mode, label=1)) == 1
    except ValueError:  # pyradiomics refuses to keep fewer than 2 voxels
        assert kept.sum() <= 1
        return
    assert np.array_equal(kept, expected)


def test_sigma_mode_is_the_symmetric_outlier_filter():
    values = np.random.default_rng(1).normal(10, 3, 200)
    mask = np.ones(values.shape, bool)
    by_mode = resegment(values, mask, ResegmentationSettings((-2.0, 2.0), range_mode="sigma"))
    by_outliers = resegment(values, mask, ResegmentationSettings(outlier_sigma=2.0))
    assert np.array_equal(by_mode, by_outliers) and 0 < by_mode.sum() < 200


def test_relative_bounds_are_fractions_of_the_roi_maximum():
    values = np.array([1.0, 4.0, 5.0, 8.0, 10.0, 50.0])
    mask = values < 20  # the ROI maximum is 10
    assert range_thresholds(values[mask], ResegmentationSettings((0.4, 0.9), range_mode="relative")) == (4.0, 9.0)
    kept = resegment(values, mask, ResegmentationSettings((0.4, None), range_mode="relative"))
    assert kept.tolist() == [False, True, True, True, True, False]
    assert resegmentation_range(ResegmentationSettings((0.4, None), range_mode="relative")) == (-np.inf, np.inf)
    assert resegmentation_range(ResegmentationSettings((-5.0, None))) == (-5.0, np.inf)


def test_ordinary_spec_takes_the_modes(tmp_path):
    paths, array, roi = _case(tmp_path)
    spec = {"resegmentation": {"range": [0.5, None], "range_mode": "relative"}, "features": {"statistics": {}}}
    table = radiomix.extract_features(*paths, spec).set_index("name")["value"]
    values = array[roi]
    kept = values[values >= 0.5 * values.max()]
    assert table["Mean intensity"] == pytest.approx(kept.mean(), rel=1e-12)
    with pytest.raises(SpecError, match="did you mean 'range_mode'"):
        load_spec({"resegmentation": {"range": [0.5, None], "range_mod": "relative"}})
    with pytest.raises(SpecError, match="did you mean 'sigma'"):
        load_spec({"resegmentation": {"range": [-3, 3], "range_mode": "sigm"}})


def test_whole_image_normalisation_is_pyradiomics():
    rng = np.random.default_rng(2)
    array = rng.normal(300, 80, (5, 6, 7)).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.7, 0.9, 2.0))
    normalised = sitk.GetArrayFromImage(normalise_whole_image(image, 100.0, 2.0))
    reference = 100 * np.clip((array - array.mean()) / array.std(ddof=1), -2, 2)
    np.testing.assert_allclose(normalised, reference, rtol=1e-12, atol=1e-10)
    imageoperations = pytest.importorskip("radiomics.imageoperations")
    expected = imageoperations.normalizeImage(image, normalizeScale=100.0, removeOutliers=2.0)
    assert np.array_equal(normalised, sitk.GetArrayFromImage(expected))
    assert sitk.GetArrayFromImage(normalise_mr(image, "zscore", "image", scale=100.0, clip=2.0)).tolist() == \
        normalised.tolist()


def test_region_normalisation_clips_then_scales():
    array = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
    image = sitk.GetImageFromArray(array)
    result = sitk.GetArrayFromImage(normalise_mr(image, "percentile", "image", percentiles=(10, 90), scale=2.0,
                                                 clip=1.0))
    low, high = np.percentile(array, (10, 90))
    np.testing.assert_allclose(result, 2 * np.clip((array - low) / (high - low), -1, 1), rtol=1e-6)
    with pytest.raises(SpecError, match="normalisation_clip"):
        load_spec({"intensity": {"normalisation": "zscore", "normalisation_clip": -1}})
    spec = load_spec({"intensity": {"normalisation": "zscore", "normalisation_region": "image",
                                    "normalisation_scale": 100, "normalisation_clip": 3}})
    assert spec.intensity.normalisation_region == "image" and spec.intensity.normalisation_scale == 100.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_no_range_and_no_outlier_filter_keep_the_whole_mask(seed):
    rng = np.random.default_rng(seed)
    intensity = rng.normal(0.0, 100.0, size=(4, 5, 6))
    mask = rng.random(intensity.shape) < 0.5
    kept = resegment(intensity, mask, ResegmentationSettings())
    # the same voxels as an absolute range that excludes none of them, in a new array
    np.testing.assert_array_equal(kept, resegment(intensity, mask, ResegmentationSettings(range=(-1e300, 1e300))))
    np.testing.assert_array_equal(kept, mask)
    assert kept is not mask
