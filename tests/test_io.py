"""Tests of radiomix.io: reading images, DICOM series, label masks, grid and ROI checks.

Bad inputs are built in ``tmp_path``: small NIfTI/NRRD/MetaImage files written with
SimpleITK, and DICOM CT series written with pydicom (so that slice positions, rescale
and patient fields are under the test's control). Real-data tests use the IBSI CT
phantom (DICOM series and NIfTI) and pyradiomics' NRRD cases.
"""

from __future__ import annotations

import gzip
import random
import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from radiomix.errors import (
    DicomSeriesError,
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    LabelAbsentError,
    NonFiniteIntensityError,
    RoiTooSmallError,
    UnreadableFileError,
)
from radiomix.io import (
    check_same_grid,
    read_image,
    read_label_map,
    read_mask,
    validate_roi,
)

from conftest import require_data

PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "ID-0042-SECRET"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


# --- builders -------------------------------------------------------------------------


def write_image(path, array, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0), direction=None):
    """Write an array ``(z, y, x)`` as an image file with the given geometry; return the path."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    sitk.WriteImage(image, str(path))
    return path


def write_ct_slice(path, stored, position, *, series_uid, orientation=AXIAL, pixel_spacing=(0.8, 0.7),
                   slope=1.0, intercept=-1024.0, instance_number=1):
    """Write one CT slice with pydicom: ``stored`` int16 pixels (rows, columns)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientWeight = "71.5"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "1.2.3.5"
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.PixelSpacing = [f"{v:.6f}" for v in pixel_spacing]
    ds.SliceThickness = "2.5"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = f"{slope}"
    ds.RescaleIntercept = f"{intercept}"
    ds.PixelData = stored.astype("<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_ct_series(folder, heights, *, series_uid=None, orientation=AXIAL, slopes=None,
                    intercept=-1024.0, shape=(3, 4), origin=(-10.0, 20.0, 0.0), shuffle=True):
    """Write a CT series whose slice ``k`` lies ``heights[k]`` mm along the slice normal.

    Slice ``k`` stores the value ``100 * k + row * 10 + column``. Returns the stored
    array ``(k, row, column)`` and the per-slice positions (mm).
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    normal = np.cross(orientation[:3], orientation[3:])
    slopes = slopes or [1.0] * len(heights)
    rows, columns = np.indices(shape)
    stored = np.stack([100 * k + 10 * rows + columns for k in range(len(heights))]).astype(np.int16)
    positions = [np.asarray(origin) + h * normal for h in heights]
    order = list(range(len(heights)))
    if shuffle:
        random.Random(0).shuffle(order)
    for file_number, k in enumerate(order):
        write_ct_slice(folder / f"slice_{file_number:03d}.dcm", stored[k], positions[k],
                       series_uid=series_uid, orientation=orientation, slope=slopes[k],
                       intercept=intercept, instance_number=k + 1)
    return stored, positions


def assert_no_patient_identity(image):
    keys = image.GetMetaDataKeys()
    assert "0010|0010" not in keys and "0010|0020" not in keys
    for key in keys:
        value = image.GetMetaData(key)
        assert PATIENT_NAME not in value and PATIENT_ID not in value


# --- read_image: files ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha", ".mhd"])
def test_read_image_file_formats_keep_values_and_geometry(tmp_path, suffix):
    array = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    path = write_image(tmp_path / f"image{suffix}", array, spacing=(0.5, 0.75, 2.0), origin=(1.0, -2.0, 3.5))
    image = read_image(path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), array)
    np.testing.assert_allclose(image.GetSpacing(), (0.5, 0.75, 2.0))
    np.testing.assert_allclose(image.GetOrigin(), (1.0, -2.0, 3.5))


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_voxels_survive_reading(tmp_path, suffix, dtype):
    values = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    values[0, 1, 2] = np.nan
    values[1, 2, 3] = np.inf
    values[1, 0, 0] = -np.inf
    path = write_image(tmp_path / f"image{suffix}", values, direction=(0, 1, 0, 1, 0, 0, 0, 0, -1))
    image = read_image(path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), values)
    assert image.GetDirection() == (0, 1, 0, 1, 0, 0, 0, 0, -1)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("slope, intercept", [(1.0, 0.0), (2.0, -5.0)])
def test_float_nifti_read_once_equals_itk_read(tmp_path, suffix, slope, intercept):
    """Unscaled float NIfTI voxels come from radiomix's single read; scaled ones from ITK (rescaled)."""
    import struct

    values = np.random.default_rng(3).normal(size=(3, 4, 5)).astype(np.float32)
    plain = tmp_path / "plain.nii"
    write_image(plain, values, spacing=(0.5, 0.75, 2.0), origin=(1.0, -2.0, 3.5),
                direction=(0, 1, 0, 1, 0, 0, 0, 0, -1))
    content = bytearray(plain.read_bytes())
    struct.pack_into("<2f", content, 112, slope, intercept)  # scl_slope, scl_inter of NIfTI-1
    path = tmp_path / f"image{suffix}"
    path.write_bytes(gzip.compress(bytes(content)) if suffix.endswith(".gz") else bytes(content))
    image, itk = read_image(path), sitk.ReadImage(str(path))
    assert image.GetPixelID() == itk.GetPixelID()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(itk))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), values * np.float32(slope) + np.float32(intercept))
    assert (image.GetOrigin(), image.GetSpacing(), image.GetDirection()) == \
        (itk.GetOrigin(), itk.GetSpacing(), itk.GetDirection())


def test_read_image_returns_simpleitk_image_as_is():
    image = sitk.Image(3, 3, 3, sitk.sitkFloat32)
    assert read_image(image) is image


def test_read_image_2d_file_becomes_single_slice_volume(tmp_path):
    path = tmp_path / "slice.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(12, dtype=np.int16).reshape(3, 4)), str(path))
    image = read_image(path)
    assert image.GetDimension() == 3
    assert sitk.GetArrayFromImage(image).shape == (1, 3, 4)


def _garbage_nifti(tmp_path):
    path = tmp_path / "corrupt.nii.gz"
    path.write_bytes(b"this is not gzip data at all")
    return path


def _text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("patient notes, not an image")
    return path


@pytest.mark.parametrize("make_path", [
    lambda tmp_path: tmp_path / "missing.nii.gz",
    _garbage_nifti,
    _text_file,
], ids=["missing", "corrupt-nifti", "not-an-image"])
def test_unreadable_file_is_named(tmp_path, make_path):
    path = make_path(tmp_path)
    with pytest.raises(UnreadableFileError) as raised:
        read_image(path)
    assert path.name in str(raised.value)
    assert raised.value.path == str(path)


def test_vector_image_is_refused(tmp_path):
    path = tmp_path / "rgb.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((2, 3, 4, 3), np.uint8), isVector=True), str(path))
    with pytest.raises(UnreadableFileError, match="rgb.nrrd.*scalar"):
        read_image(path)


# --- read_image: DICOM series ---------------------------------------------------------


def test_dicom_series_geometry_and_order(tmp_path):
    heights = [0.0, 2.5, 5.0, 7.5]
    stored, positions = write_ct_series(tmp_path / "ct", heights)
    image = read_image(tmp_path / "ct")
    assert image.GetSize() == (4, 3, 4)
    np.testing.assert_allclose(image.GetSpacing(), (0.7, 0.8, 2.5), atol=1e-6)
    np.testing.assert_allclose(image.GetOrigin(), positions[0], atol=1e-6)
    np.testing.assert_allclose(image.GetDirection(), np.eye(3).ravel(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), stored.astype(np.float64) - 1024)


def test_dicom_series_oblique_orientation_maps_each_slice_to_its_position(tmp_path):
    angle = np.deg2rad(30.0)
    orientation = (np.cos(angle), np.sin(angle), 0.0, 0.0, 0.0, -1.0)
    heights = [-4.0, -1.0, 2.0]
    _, positions = write_ct_series(tmp_path / "ct", heights, orientation=orientation)
    image = read_image(tmp_path / "ct")
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    np.testing.assert_allclose(direction[:, 0], orientation[:3], atol=1e-5)
    np.testing.assert_allclose(direction[:, 1], orientation[3:], atol=1e-5)
    for k, position in enumerate(positions):
        np.testing.assert_allclose(image.TransformIndexToPhysicalPoint((0, 0, k)), position, atol=1e-4)


def test_dicom_rescale_with_integer_slope_and_intercept(tmp_path):
    stored, _ = write_ct_series(tmp_path / "ct", [0.0, 1.0, 2.0], slopes=[2.0, 2.0, 2.0], intercept=-1000.0)
    image = read_image(tmp_path / "ct")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), 2.0 * stored - 1000.0)


def test_dicom_rescale_with_fractional_slope_gives_float_values(tmp_path):
    stored, _ = write_ct_series(tmp_path / "ct", [0.0, 1.0, 2.0], slopes=[0.25] * 3, intercept=-10.5)
    image = read_image(tmp_path / "ct")
    assert image.GetPixelID() in (sitk.sitkFloat32, sitk.sitkFloat64)
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), 0.25 * stored - 10.5, atol=1e-4)


def test_dicom_rescale_differing_per_slice_is_applied_slice_by_slice(tmp_path):
    slopes = [1.0, 0.5, 3.0]
    stored, _ = write_ct_series(tmp_path / "ct", [0.0, 1.0, 2.0], slopes=slopes, intercept=0.0)
    values = sitk.GetArrayFromImage(read_image(tmp_path / "ct"))
    for k, slope in enumerate(slopes):
        np.testing.assert_allclose(values[k], slope * stored[k], atol=1e-4)


def test_folder_with_two_series_lists_them(tmp_path):
    folder = tmp_path / "mixed"
    write_ct_series(folder / "a", [0.0, 1.0], series_uid="1.2.826.0.1.1")
    write_ct_series(folder / "b", [0.0, 1.0], series_uid="1.2.826.0.1.2")
    for sub in ("a", "b"):
        for file in (folder / sub).iterdir():
            file.rename(folder / f"{sub}_{file.name}")
    with pytest.raises(DicomSeriesError) as raised:
        read_image(folder)
    message = str(raised.value)
    assert str(folder) in message
    assert "1.2.826.0.1.1" in message and "1.2.826.0.1.2" in message
    chosen = read_image(folder, series_uid="1.2.826.0.1.2")
    assert chosen.GetSize()[2] == 2


def test_folder_with_missing_slice_names_the_gap(tmp_path):
    folder = tmp_path / "ct"
    write_ct_series(folder, [0.0, 2.5, 5.0, 10.0, 12.5], shuffle=False)
    with pytest.raises(DicomSeriesError) as raised:
        read_image(folder)
    message = str(raised.value)
    assert str(folder) in message
    assert "5 mm between the slices at 5 mm (slice_002.dcm) and 10 mm (slice_003.dcm)" in message
    assert "about 1 slice missing" in message


def test_uneven_slice_spacing_respects_the_tolerance(tmp_path):
    folder = tmp_path / "ct"
    write_ct_series(folder, [0.0, 2.5, 5.03, 7.5, 10.0], shuffle=False)
    assert read_image(folder).GetSize()[2] == 5
    with pytest.raises(DicomSeriesError, match="median gap between slices is 2.5 mm") as raised:
        read_image(folder, slice_tolerance_mm=0.01)
    message = str(raised.value)
    assert str(folder) in message
    assert "2.53 mm between the slices at 2.5 mm (slice_001.dcm) and 5.03 mm (slice_002.dcm)" in message
    assert "2.47 mm between the slices at 5.03 mm (slice_002.dcm) and 7.5 mm (slice_003.dcm)" in message


def test_missing_slice_in_a_three_slice_series(tmp_path):
    folder = tmp_path / "ct"
    write_ct_series(folder, [0.0, 3.0, 9.0], shuffle=False)
    with pytest.raises(DicomSeriesError, match=r"6 mm between the slices at 3 mm .* \(about 1 slice missing\)"):
        read_image(folder)


def test_gantry_tilt_is_refused(tmp_path):
    folder = tmp_path / "ct"
    folder.mkdir()
    for k in range(3):
        write_ct_slice(folder / f"slice_{k}.dcm", np.zeros((3, 4), np.int16), (0.0, 0.4 * k, 2.0 * k),
                       series_uid="1.2.826.0.1.9", instance_number=k + 1)
    with pytest.raises(DicomSeriesError, match="slice_1.dcm is shifted 0.4 mm in-plane from slice_0.dcm"):
        read_image(folder)


def test_duplicate_slice_positions_are_refused(tmp_path):
    folder = tmp_path / "ct"
    write_ct_series(folder, [0.0, 2.5, 2.5, 5.0], shuffle=False)
    with pytest.raises(DicomSeriesError, match="both at 2.5 mm"):
        read_image(folder)


def test_series_folder_may_hold_an_rtstruct(tmp_path):
    write_ct_series(tmp_path / "ct", [0.0, 1.0, 2.0])
    shutil.copy(require_data("ibsi/ct_phantom/dicom/rtstruct/DCM_RS_00060.dcm"), tmp_path / "ct" / "rs.dcm")
    assert read_image(tmp_path / "ct").GetSize() == (4, 3, 3)


def test_folder_without_dicom_is_unreadable(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(UnreadableFileError, match="no DICOM file") as raised:
        read_image(tmp_path)
    assert raised.value.path == str(tmp_path)


def test_dicom_images_carry_no_patient_identity(tmp_path):
    write_ct_series(tmp_path / "ct", [0.0, 1.0])
    assert_no_patient_identity(read_image(tmp_path / "ct"))
    single = read_image(tmp_path / "ct" / "slice_000.dcm")
    assert_no_patient_identity(single)
    assert float(single.GetMetaData("0010|1030")) == pytest.approx(71.5)


def test_ct_phantom_dicom_series_matches_nifti():
    dicom = read_image(require_data("ibsi/ct_phantom/dicom/image"))
    nifti = read_image(require_data("ibsi/ct_phantom/nifti/image.nii.gz"))
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(dicom), np.rint(sitk.GetArrayFromImage(nifti)))
    np.testing.assert_allclose(dicom.GetSpacing(), nifti.GetSpacing(), atol=1e-4)
    np.testing.assert_allclose(dicom.GetOrigin(), nifti.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(dicom.GetDirection(), nifti.GetDirection(), atol=1e-6)


def test_ct_phantom_dicom_metadata_has_no_patient_identity():
    folder = require_data("ibsi/ct_phantom/dicom/image")
    header = pydicom.dcmread(folder / "DCM_IMG_00000.dcm", stop_before_pixels=True)
    for image in (read_image(folder), read_image(folder / "DCM_IMG_00000.dcm")):
        keys = image.GetMetaDataKeys()
        assert "0010|0010" not in keys and "0010|0020" not in keys
        values = {image.GetMetaData(key).strip() for key in keys}
        assert str(header.PatientName) not in values


def test_rtstruct_file_is_not_an_image():
    path = require_data("ibsi/ct_phantom/dicom/rtstruct/DCM_RS_00060.dcm")
    with pytest.raises(UnreadableFileError, match="RTSTRUCT, not an image"):
        read_image(path)


@pytest.mark.parametrize("case", ["brain1", "breast1", "prostate_phantom"])
def test_pyradiomics_nrrd_cases(case):
    folder = require_data("pyradiomics/cases")
    image = read_image(folder / f"{case}_image.nrrd")
    mask = read_mask(folder / f"{case}_label.nrrd", reference=folder / f"{case}_image.nrrd")
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert mask.GetSize() == image.GetSize()
    assert validate_roi(image, mask, source=f"{case}_label.nrrd") == int(sitk.GetArrayViewFromImage(mask).sum())


def test_single_slice_label_against_volume_is_a_geometry_mismatch():
    folder = require_data("pyradiomics/cases")
    with pytest.raises(GeometryMismatchError) as raised:
        read_mask(folder / "brain1_label_2D.nrrd", reference=folder / "brain1_image.nrrd")
    assert "brain1_label_2D.nrrd" in str(raised.value) and "brain1_image.nrrd" in str(raised.value)


# --- read_mask / read_label_map: label files ------------------------------------------


def _labels():
    labels = np.zeros((3, 4, 5), dtype=np.uint8)
    labels[1, 1:3, 1:4] = 1
    labels[2, 0, 0] = 4
    return labels


def test_read_mask_binary_uint8_on_reference_grid(tmp_path):
    image = write_image(tmp_path / "image.nii.gz", np.ones((3, 4, 5), np.float32), origin=(1.0, 2.0, 3.0))
    mask_path = write_image(tmp_path / "mask.nrrd", _labels(), origin=(1.0 + 4e-4, 2.0, 3.0))
    mask = read_mask(mask_path, reference=image, label=4)
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert mask.GetOrigin() == read_image(image).GetOrigin()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), (_labels() == 4).astype(np.uint8))


def test_read_mask_without_reference_keeps_its_own_grid(tmp_path):
    path = write_image(tmp_path / "mask.nii.gz", _labels(), spacing=(0.5, 0.5, 3.0))
    mask = read_mask(path)
    assert mask.GetSpacing() == (0.5, 0.5, 3.0)
    assert int(sitk.GetArrayViewFromImage(mask).sum()) == 6


def test_float_mask_is_rounded_to_nearest_label(tmp_path):
    values = np.zeros((2, 3, 3), dtype=np.float32)
    values[0, 0, 0] = 0.9999
    values[0, 1, 1] = 0.5
    values[1, 2, 2] = 1.6
    values[1, 0, 1] = 0.4999
    path = write_image(tmp_path / "mask.nii.gz", values)
    labels = sitk.GetArrayFromImage(read_label_map(path))
    assert labels[0, 0, 0] == 1 and labels[0, 1, 1] == 1 and labels[1, 2, 2] == 2 and labels[1, 0, 1] == 0
    second = read_mask(path, label=2)  # alive while its view is read
    assert int(sitk.GetArrayViewFromImage(second).sum()) == 1


def test_mask_with_nan_is_unreadable(tmp_path):
    values = np.zeros((2, 3, 3), dtype=np.float32)
    values[0, 0, 0] = np.nan
    path = write_image(tmp_path / "mask.nii.gz", values)
    with pytest.raises(UnreadableFileError, match="mask.nii.gz.*1 voxels are NaN"):
        read_mask(path)


def test_read_label_map_keeps_every_label(tmp_path):
    path = write_image(tmp_path / "labels.nrrd", _labels())
    labels = read_label_map(path, reference=write_image(tmp_path / "image.nrrd", np.zeros((3, 4, 5), np.int16)))
    assert labels.GetPixelID() == sitk.sitkInt32
    np.testing.assert_array_equal(sitk.GetArrayFromImage(labels), _labels())


def test_read_mask_accepts_simpleitk_images():
    labels = sitk.GetImageFromArray(_labels())
    mask = read_mask(labels, reference=sitk.Image(labels.GetSize(), sitk.sitkFloat32))
    assert int(sitk.GetArrayViewFromImage(mask).sum()) == 6


@pytest.mark.parametrize(("mask_geometry", "expected"), [
    ({"origin": (0.5, 0.0, 0.0)}, "origins are 0.5 mm apart"),
    ({"spacing": (1.0, 1.002, 1.0)}, "voxel sizes differ by 0.002 mm"),
    ({"direction": (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)}, "direction cosines differ by 2"),
], ids=["origin", "spacing", "direction"])
def test_geometry_mismatch_reports_mm_and_names_files(tmp_path, mask_geometry, expected):
    image = write_image(tmp_path / "image.nii.gz", np.zeros((3, 4, 5), np.float32))
    mask = write_image(tmp_path / "mask.nii.gz", _labels(), **mask_geometry)
    with pytest.raises(GeometryMismatchError) as raised:
        read_mask(mask, reference=image)
    message = str(raised.value)
    assert expected in message
    assert "mask.nii.gz" in message and "image.nii.gz" in message


def test_geometry_mismatch_in_size(tmp_path):
    image = write_image(tmp_path / "image.nii.gz", np.zeros((4, 4, 5), np.float32))
    mask = write_image(tmp_path / "mask.nii.gz", _labels())
    with pytest.raises(GeometryMismatchError, match=r"mask.nii.gz.*size \(5, 4, 3\).*size \(5, 4, 4\)"):
        read_mask(mask, reference=image)


def test_geometry_tolerance_is_a_keyword(tmp_path):
    image = write_image(tmp_path / "image.nii.gz", np.zeros((3, 4, 5), np.float32))
    mask = write_image(tmp_path / "mask.nii.gz", _labels(), origin=(0.01, 0.0, 0.0))
    with pytest.raises(GeometryMismatchError, match="0.01 mm apart"):
        read_mask(mask, reference=image)
    assert read_mask(mask, reference=image, tolerance_mm=0.05).GetOrigin() == (0.0, 0.0, 0.0)


def test_check_same_grid_direction_tolerance():
    image = sitk.Image(3, 3, 3, sitk.sitkFloat32)
    mask = sitk.Image(3, 3, 3, sitk.sitkUInt8)
    tilt = 5e-5
    mask.SetDirection((1.0, tilt, 0.0, -tilt, 1.0, 0.0, 0.0, 0.0, 1.0))
    check_same_grid(image, mask)
    with pytest.raises(GeometryMismatchError, match="direction cosines differ by 5e-05"):
        check_same_grid(image, mask, direction_tolerance=1e-5)


def test_label_absent_lists_labels_present(tmp_path):
    path = write_image(tmp_path / "mask.nii.gz", _labels())
    with pytest.raises(LabelAbsentError) as raised:
        read_mask(path, label=2)
    assert "mask.nii.gz" in str(raised.value)
    assert "labels present: [0, 1, 4]" in str(raised.value)


def test_roi_name_for_a_label_file_is_refused(tmp_path):
    path = write_image(tmp_path / "mask.nii.gz", _labels())
    with pytest.raises(InputError, match="mask.nii.gz.*label="):
        read_mask(path, roi="GTV")


def test_missing_mask_file_is_named(tmp_path):
    with pytest.raises(UnreadableFileError, match="absent_mask.nii.gz"):
        read_mask(tmp_path / "absent_mask.nii.gz")


# --- validate_roi ---------------------------------------------------------------------


def test_validate_roi_returns_voxel_count():
    image = np.zeros((2, 3, 4))
    mask = np.zeros((2, 3, 4), np.uint8)
    mask[0, :2, :2] = 1
    assert validate_roi(sitk.GetImageFromArray(image), sitk.GetImageFromArray(mask), source="m.nii") == 4
    assert validate_roi(image, mask, source="m.nii", min_voxels=4) == 4


def test_empty_roi_names_the_files(tmp_path):
    image = write_image(tmp_path / "image.nii.gz", np.zeros((2, 3, 4), np.float32))
    mask = write_image(tmp_path / "mask.nii.gz", np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(EmptyRoiError) as raised:
        validate_roi(read_image(image), read_label_map(mask, reference=image), source=[mask, image])
    assert "mask.nii.gz" in str(raised.value) and "image.nii.gz" in str(raised.value)


def test_roi_too_small_gives_count_and_minimum(tmp_path):
    mask_path = write_image(tmp_path / "mask.nrrd", _labels())
    mask = read_mask(mask_path)
    with pytest.raises(RoiTooSmallError) as raised:
        validate_roi(np.zeros((3, 4, 5)), mask, source=mask_path, min_voxels=10)
    message = str(raised.value)
    assert "mask.nrrd" in message and "holds 6 voxels" in message and "minimum of 10" in message


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_intensity_in_roi_is_counted(tmp_path, bad_value):
    values = np.zeros((3, 4, 5), np.float32)
    values[1, 1, 1] = bad_value
    values[1, 2, 3] = bad_value
    values[0, 0, 0] = bad_value
    image_path = write_image(tmp_path / "image.nii.gz", values)
    mask = read_mask(write_image(tmp_path / "mask.nii.gz", _labels()), reference=image_path)
    with pytest.raises(NonFiniteIntensityError) as raised:
        validate_roi(read_image(image_path), mask, source=image_path)
    assert "image.nii.gz" in str(raised.value) and "2 of the 6" in str(raised.value)


def test_validate_roi_shape_mismatch():
    with pytest.raises(GeometryMismatchError, match="m.nii"):
        validate_roi(np.zeros((2, 3, 4)), np.ones((2, 3, 5)), source="m.nii")


def test_read_mask_returns_a_handed_over_binary_image_itself():
    """``owned``: a binary UInt8 image nobody else uses is the mask (no copy); otherwise the caller's stays intact."""
    values = np.zeros((3, 4, 5), np.uint8)
    values[1, 1:3, 2:4] = 1
    reference = sitk.GetImageFromArray(values.astype(np.int16))
    labels = sitk.GetImageFromArray(values)
    labels.SetMetaData("note", "kept by the caller")
    copied = read_mask(labels, reference=reference)
    assert copied is not labels and labels.HasMetaDataKey("note")
    handed = read_mask(labels, reference=reference, owned=True)
    assert handed is labels and not handed.HasMetaDataKey("note")
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(handed), sitk.GetArrayViewFromImage(copied))
