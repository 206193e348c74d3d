"""pyradiomics' mask rules (correctMask, minimumROIDimensions, label_channel) as a spec's ``mask`` settings."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from firstorder_dialect import FIRSTORDER_SPEC, firstorder_pairs, pyradiomics_firstorder

import radiomix
from radiomix.errors import GeometryMismatchError, InputError, RoiTooSmallError, SpecError
from radiomix.io.validation import MaskSettings
from radiomix.preprocess.mask_conventions import check_roi_dimensions, check_roi_extent
from radiomix.spec import load_spec


def _case():
    rng = np.random.default_rng(3)
    image_array = rng.integers(-40, 300, (10, 12, 11)).astype(np.int16)
    mask_array = np.zeros(image_array.shape, np.uint8)
    mask_array[2:8, 3:9, 2:9] = rng.random((6, 6, 7)) < 0.8
    image, mask = sitk.GetImageFromArray(image_array), sitk.GetImageFromArray(mask_array)
    for item in (image, mask):
        item.SetSpacing((0.8, 0.9, 2.4))
        item.SetOrigin((10.0, -20.0, 30.0))
    return image, mask


def test_defaults_leave_the_ibsi_checks_alone():
    assert MaskSettings() == MaskSettings(1, 1e-3, correct_mask=False, min_roi_dimensions=0, label_channel=None)
    assert load_spec({}).mask == MaskSettings()


def test_settings_from_a_yaml_spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("mask: {correct_mask: true, min_roi_dimensions: 2, label_channel: 1}\n")
    assert load_spec(path).mask == MaskSettings(correct_mask=True, min_roi_dimensions=2, label_channel=1)


@pytest.mark.parametrize(("section", "message"), [
    ({"correct_mak": True}, "did you mean 'correct_mask'"),
    ({"min_roi_dimension": 2}, "did you mean 'min_roi_dimensions'"),
    ({"label_chanel": 1}, "did you mean 'label_channel'"),
    ({"min_roi_dimensions": 4}, "0 \\(no check\\) to 3"),
    ({"label_channel": -1}, "at least 0"),
])
def test_wrong_settings_are_errors(section, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"mask": section})


def test_extent_rules():
    check_roi_extent((1, 1, 1), 1, 0)  # no dimension check
    with pytest.raises(RoiTooSmallError, match="single voxel"):
        check_roi_extent((1, 1, 1), 1, 1)
    with pytest.raises(RoiTooSmallError, match="spans 1 axes; min_roi_dimensions is 2"):
        check_roi_extent((1, 4, 1), 3, 2)
    check_roi_extent((1, 4, 2), 5, 2)
    with pytest.raises(RoiTooSmallError, match="holds 5 voxels; min_roi_voxels requires at least 6"):
        check_roi_extent((1, 4, 2), 5, 2, 6)
    roi = np.zeros((3, 4, 5), bool)
    roi[1, 1:3, 2] = True
    check_roi_dimensions(roi, 1)
    with pytest.raises(RoiTooSmallError, match="spans 1 axes"):
        check_roi_dimensions(roi, 2)


def test_ordinary_chain_checks_the_dimensions_after_resegmentation():
    image, mask = _case()
    values = sitk.GetArrayFromImage(image)
    values[sitk.GetArrayViewFromImage(mask) > 0] = 0
    roi = np.argwhere(sitk.GetArrayViewFromImage(mask) > 0)
    values[tuple(roi[0])] = 1000  # the only voxel kept by the range
    bright = sitk.GetImageFromArray(values)
    bright.CopyInformation(image)
    spec = {"resegmentation": {"range": [500, None]}, "features": {"statistics": {}}}
    assert len(radiomix.extract_features(bright, mask, spec))
    with pytest.raises(RoiTooSmallError, match="single voxel"):
        radiomix.extract_features(bright, mask, {**spec, "mask": {"min_roi_dimensions": 1}})


def test_ordinary_chain_checks_the_dimensions():
    image, mask = _case()
    flat = np.zeros(sitk.GetArrayViewFromImage(mask).shape, np.uint8)
    flat[4, 3:7, 5] = 1  # one line: spans one axis
    line = sitk.GetImageFromArray(flat)
    line.CopyInformation(mask)
    spec = {"features": {"statistics": {}}}
    assert len(radiomix.extract_features(image, line, spec))
    with pytest.raises(RoiTooSmallError, match="spans 1 axes; min_roi_dimensions is 2"):
        radiomix.extract_features(image, line, {**spec, "mask": {"min_roi_dimensions": 2}})
    with pytest.raises(RoiTooSmallError, match="spans 1 axes; min_roi_dimensions is 2"):  # minimumROIDimensions
        radiomix.extract_features(image, line, pyradiomics_firstorder())


def test_correct_mask_is_pyradiomics_correct_mask():
    image, mask = _case()
    moved = sitk.Image(mask)
    moved.SetOrigin((10.3, -20.0, 30.5))  # off the image grid by a fraction of a voxel
    with pytest.raises(GeometryMismatchError, match="grids differ"):
        radiomix.extract_features(image, moved, FIRSTORDER_SPEC)
    ordinary = radiomix.extract_features(image, moved, {**FIRSTORDER_SPEC, "mask": {"correct_mask": True}})
    pyradiomics = radiomix.extract_features(image, moved, pyradiomics_firstorder(correctMask=True))
    for ours, theirs in firstorder_pairs(ordinary, pyradiomics):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)
    resampled = sitk.Resample(moved, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, moved.GetPixelID())
    direct = radiomix.extract_features(image, resampled, FIRSTORDER_SPEC)
    np.testing.assert_array_equal(direct["value"].to_numpy(), ordinary["value"].to_numpy())


def test_geometry_tolerance_relative_to_the_voxel_size(tmp_path):
    """``geometry_tolerance_voxels``: a fraction of the first voxel size (0.8 mm), pyradiomics' geometryTolerance."""
    image, mask = _case()
    nudged = sitk.Image(mask)
    nudged.SetOrigin((10.0, -20.0, 30.0 + 0.5e-3))  # 0.5 um: 6.25e-4 of the 0.8 mm first voxel size
    path = tmp_path / "nudged.nrrd"
    sitk.WriteImage(nudged, str(path))
    with pytest.raises(GeometryMismatchError, match="correct_mask") as error:
        radiomix.extract_features(image, path, {**FIRSTORDER_SPEC, "mask": {"geometry_tolerance_voxels": 6e-4}})
    assert "nudged.nrrd" in str(error.value) and "0.00048 mm" in str(error.value)
    relaxed = radiomix.extract_features(image, path, {**FIRSTORDER_SPEC, "mask": {"geometry_tolerance_voxels": 7e-4}})
    direct = radiomix.extract_features(image, mask, FIRSTORDER_SPEC)
    np.testing.assert_array_equal(relaxed["value"].to_numpy(), direct["value"].to_numpy())
    turned = sitk.Image(mask)
    turned.SetDirection((1.0, 5e-4, 0.0, -5e-4, 1.0, 0.0, 0.0, 0.0, 1.0))  # within 1e-3 mm, cosines 5e-4 apart
    assert MaskSettings(geometry_tolerance_voxels=1e-3).grid_tolerances(image) == pytest.approx((0.8e-3, 1e-3))
    radiomix.extract_features(image, turned, {**FIRSTORDER_SPEC, "mask": {"geometry_tolerance_voxels": 1e-3}})
    with pytest.raises(GeometryMismatchError, match="direction cosines"):
        radiomix.extract_features(image, turned, FIRSTORDER_SPEC)
    with pytest.raises(SpecError, match="geometry_tolerance_voxels"):
        MaskSettings(geometry_tolerance_voxels=-1.0)


def test_correct_mask_refuses_an_roi_outside_the_image(tmp_path):
    image, mask = _case()
    far = sitk.Image(mask)
    far.SetOrigin((10.0, -20.0, 60.0))  # ROI slices beyond the image's last slice
    path = tmp_path / "far.nrrd"
    sitk.WriteImage(far, str(path))
    with pytest.raises(GeometryMismatchError, match="outside the image") as error:
        radiomix.extract_features(image, path, {**FIRSTORDER_SPEC, "mask": {"correct_mask": True}})
    assert "far.nrrd" in str(error.value)


def _vector_mask(mask: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """A two-channel mask (channel 1 the ROI shifted by one voxel) and its channel 1 as a scalar mask."""
    first = sitk.GetArrayFromImage(mask)
    second = np.roll(first, 1, axis=2)
    vector = sitk.GetImageFromArray(np.stack([first, second], axis=-1), isVector=True)
    vector.CopyInformation(mask)
    scalar = sitk.GetImageFromArray(second)
    scalar.CopyInformation(mask)
    return vector, scalar


def test_label_channel_selects_a_channel_of_a_vector_mask(tmp_path):
    image, mask = _case()
    vector, channel_1 = _vector_mask(mask)
    path = tmp_path / "segmentation.nrrd"
    sitk.WriteImage(vector, str(path))
    with pytest.raises(InputError, match="vector"):
        radiomix.extract_features(image, path, FIRSTORDER_SPEC)
    ordinary = radiomix.extract_features(image, path, {**FIRSTORDER_SPEC, "mask": {"label_channel": 1}})
    direct = radiomix.extract_features(image, channel_1, FIRSTORDER_SPEC)
    np.testing.assert_array_equal(direct["value"].to_numpy(), ordinary["value"].to_numpy())
    pyradiomics = radiomix.extract_features(image, path, pyradiomics_firstorder(label_channel=1))
    for ours, theirs in firstorder_pairs(ordinary, pyradiomics):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)
    with pytest.raises(InputError, match="label_channel 2 asked for, but the segmentation holds 2 channels") as error:
        radiomix.extract_features(image, path, {**FIRSTORDER_SPEC, "mask": {"label_channel": 2}})
    assert "segmentation.nrrd" in str(error.value)
