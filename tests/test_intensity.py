"""CT in HU, body mask, MR normalisation (z-score, percentile) and N4 bias-field correction."""

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError
from radiomix.preprocess.intensity import body_mask, ct_hu, n4_bias_correction, normalise_mr


def _image(array, spacing=(2.0, 2.0, 3.0)):
    image = sitk.GetImageFromArray(np.asarray(array, dtype=np.float32))
    image.SetSpacing(spacing)
    return image


def _phantom():
    """An ellipsoidal body (400) holding an inner organ (700); arrays (z, y, x)."""
    z, y, x = np.mgrid[0:24, 0:48, 0:48].astype(float)
    body = ((x - 24) / 20) ** 2 + ((y - 24) / 15) ** 2 + ((z - 12) / 10) ** 2 <= 1
    organ = ((x - 20) / 8) ** 2 + ((y - 24) / 6) ** 2 + ((z - 12) / 5) ** 2 <= 1
    truth = np.where(body, 400.0, 0.0)
    truth[organ] = 700.0
    return truth, body, organ, (x, y, z)


# ---------------------------------------------------------------- CT

def test_ct_in_hu_passes_through_and_rescale_is_applied():
    hu = np.array([[[-1000.0, -50.0], [40.0, 900.0]]])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ct_hu(_image(hu))), hu)
    stored = hu + 1024.0
    np.testing.assert_allclose(sitk.GetArrayFromImage(ct_hu(_image(stored), rescale_intercept=-1024.0)), hu)
    doubled = (hu + 1024.0) * 2.0
    result = ct_hu(_image(doubled), rescale_slope=0.5, rescale_intercept=-1024.0)
    np.testing.assert_allclose(sitk.GetArrayFromImage(result), hu)
    assert result.GetPixelID() == sitk.sitkFloat32


def test_ct_without_air_is_refused_as_raw_values():
    with pytest.raises(InputError, match="rescale_intercept|intercept -1024"):
        ct_hu(_image(np.array([[[0.0, 974.0], [1064.0, 1924.0]]])))


# ---------------------------------------------------------------- body mask

def test_body_mask_finds_the_body_with_its_dark_inside():
    truth, body, _, (x, y, z) = _phantom()
    lung = ((x - 30) / 5) ** 2 + ((y - 24) / 5) ** 2 + ((z - 12) / 4) ** 2 <= 1
    image = np.where(lung, 20.0, truth) + np.random.default_rng(0).normal(0, 10, truth.shape)
    image[0, 0, 0] = 900.0  # an isolated bright voxel outside the body is not kept
    mask = sitk.GetArrayFromImage(body_mask(_image(image))).astype(bool)
    dice = 2 * (mask & body).sum() / (mask.sum() + body.sum())
    assert dice > 0.95 and mask[lung].all() and not mask[0, 0, 0]


def test_body_mask_of_a_constant_image():
    with pytest.raises(EmptyRoiError, match="constant"):
        body_mask(_image(np.full((4, 4, 4), 5.0)))


# ---------------------------------------------------------------- MR normalisation

def test_zscore_within_the_roi():
    rng = np.random.default_rng(1)
    array = rng.normal(300.0, 40.0, (6, 8, 8))
    roi = np.zeros(array.shape, np.uint8)
    roi[2:4, 2:6, 2:6] = 1
    region = _image(roi)
    result = sitk.GetArrayFromImage(normalise_mr(_image(array), "zscore", region))
    inside = result[roi > 0]
    assert inside.mean() == pytest.approx(0.0, abs=1e-5) and inside.std() == pytest.approx(1.0, rel=1e-5)
    expected = (array - array[roi > 0].mean()) / array[roi > 0].std()
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_percentile_within_the_body_by_default():
    truth, body, _, _ = _phantom()
    image = truth + np.random.default_rng(2).normal(0, 10, truth.shape)
    result = sitk.GetArrayFromImage(normalise_mr(_image(image), "percentile", percentiles=(1.0, 99.0)))
    mask = sitk.GetArrayFromImage(body_mask(_image(image))) > 0
    low, high = np.percentile(result[mask], (1.0, 99.0))
    assert low == pytest.approx(0.0, abs=1e-4) and high == pytest.approx(1.0, abs=1e-4)
    assert result.min() < 0.0  # background is below the body's 1st percentile: kept, not clipped


@settings(max_examples=25, deadline=None)
@given(volume=arrays(np.float64, (3, 4, 5), elements=st.floats(0.0, 1000.0)),
       scale=st.floats(0.1, 10.0), offset=st.floats(-500.0, 500.0),
       method=st.sampled_from(["zscore", "percentile"]))
def test_normalisation_undoes_scanner_scale_and_offset(volume, scale, offset, method):
    """Property: a scanner's linear intensity change (scale > 0, offset) leaves the result unchanged."""
    volume[0, 0, :2] = (0.0, 1000.0)  # the region always varies
    region = _image(np.ones(volume.shape, np.uint8))
    first = sitk.GetArrayFromImage(normalise_mr(_image(volume), method, region))
    second = sitk.GetArrayFromImage(normalise_mr(_image(volume * scale + offset), method, region))
    np.testing.assert_allclose(first, second, rtol=1e-3, atol=1e-3)


def test_normalisation_region_errors():
    image = _image(np.arange(64.0).reshape(4, 4, 4))
    with pytest.raises(GeometryMismatchError, match="not on the image's grid"):
        normalise_mr(image, region=_image(np.ones((2, 2, 2), np.uint8)))
    empty = sitk.Image(image.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(image)
    with pytest.raises(EmptyRoiError, match="holds no voxel"):
        normalise_mr(image, region=empty)
    flat = _image(np.full((4, 4, 4), 3.0))
    with pytest.raises(InputError, match="constant"):
        normalise_mr(flat, region=_image(np.ones((4, 4, 4), np.uint8)))
    with pytest.raises(ValueError, match="zscore"):
        normalise_mr(image, "minmax", region=_image(np.ones((4, 4, 4), np.uint8)))


# ---------------------------------------------------------------- N4

def test_n4_removes_a_smooth_bias_field():
    truth, body, organ, (x, y, z) = _phantom()
    bias = np.exp(0.35 * (x - 24) / 24 - 0.25 * ((z - 12) / 12) ** 2 + 0.2 * (y - 24) / 24)
    image = np.abs(truth * bias + np.random.default_rng(0).normal(0, 5, truth.shape))
    corrected, field = n4_bias_correction(_image(image))
    corrected, field = sitk.GetArrayFromImage(corrected), sitk.GetArrayFromImage(field)
    tissue = body & ~organ

    def variation(a):
        return a[tissue].std() / a[tissue].mean()

    assert variation(image) > 0.1 and variation(corrected) < 0.3 * variation(image)
    ratio = field[body] / bias[body]  # N4 finds the field up to a constant factor
    assert ratio.std() / ratio.mean() < 0.03
    np.testing.assert_allclose(corrected * field, image, rtol=1e-4, atol=1e-3)


def test_n4_needs_positive_intensities_in_its_mask():
    image = _image(-np.ones((8, 8, 8)))
    with pytest.raises(EmptyRoiError, match="positive"):
        n4_bias_correction(image, _image(np.ones((8, 8, 8), np.uint8)))
