"""The ROI array and its extent found once per call (preprocess/roi.py) and the checks read on its box (extract)."""

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from radiomix.errors import NonFiniteIntensityError, RoiTooSmallError
from radiomix.extract import extract_features
from radiomix.preprocess.interpolation import roi_extent
from radiomix.preprocess.roi import extent_slices, image_arrays, image_arrays_with_extent, roi_and_extent

LABEL_TYPES = ("u1", "u2", "u4", "?", "i1", "i2", "f4")


@hypothesis_settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(LABEL_TYPES), shape=st.tuples(*[st.integers(1, 6)] * 3),
       density=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_roi_and_extent_is_labels_above_zero_and_its_extent(dtype, shape, density, seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 4, size=shape) * (rng.random(shape) < density)
    labels = values.astype(dtype) if dtype != "?" else values != 0
    roi, extent = roi_and_extent(labels)
    expected = labels > 0
    assert roi.dtype == bool and np.array_equal(roi, expected)
    assert extent == (roi_extent(expected) if expected.any() else None)
    if extent is not None:
        assert np.count_nonzero(roi[extent_slices(extent)]) == np.count_nonzero(expected)


def test_image_arrays_with_extent_agrees_with_image_arrays():
    labels = np.zeros((5, 6, 7), np.uint8)
    labels[1:3, 2:5, 3] = 1
    image, mask = sitk.GetImageFromArray(np.arange(210.0).reshape(5, 6, 7)), sitk.GetImageFromArray(labels)
    intensity, roi, spacing, extent = image_arrays_with_extent(image, mask)
    assert extent == [(1, 2), (2, 4), (3, 3)]
    for mine, theirs in zip((intensity, roi, spacing), image_arrays(image, mask)):
        assert np.array_equal(mine, theirs)


def _case(values: np.ndarray, labels: np.ndarray) -> tuple[sitk.Image, sitk.Image]:
    return sitk.GetImageFromArray(values), sitk.GetImageFromArray(labels)


def test_non_finite_roi_voxels_counted_over_the_whole_roi_only():
    values = np.ones((6, 6, 6))
    values[0, 0, 0] = np.nan  # outside the ROI: not counted
    values[2, 2, 2] = values[3, 3, 3] = np.inf
    labels = np.zeros((6, 6, 6), np.uint8)
    labels[2:4, 2:4, 2:4] = 1
    with pytest.raises(NonFiniteIntensityError, match="2 of the 8 region-of-interest voxels"):
        extract_features(*_case(values, labels), {"features": {"statistics": {}}})


def test_too_small_roi_count_is_the_whole_roi_count():
    labels = np.zeros((6, 6, 6), np.uint16)
    labels[1, 1, 1] = labels[4, 5, 2] = 1
    with pytest.raises(RoiTooSmallError, match="holds 2 voxels, fewer than the minimum of 3"):
        extract_features(*_case(np.ones((6, 6, 6)), labels), {"mask": {"min_roi_voxels": 3},
                                                              "features": {"statistics": {}}})
