"""PET SUV from DICOM headers built with pydicom, and from arguments for header-less images."""

import logging
from datetime import datetime, time

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from radiomix.errors import DicomSeriesError, InputError, UnreadableFileError
from radiomix.preprocess.suv import (
    MissingDicomTagError,
    MissingPetParameterError,
    UnsupportedPetSeriesError,
    suv_image,
    suv_parameters,
)

PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
F18_HALF_LIFE_S = 6586.2
ROWS, COLUMNS, SLICES = 6, 5, 4


def write_pet_series(folder, *, units="BQML", decay_correction="START", weight="70.5",
                     dose="300000000", half_life="6586.2", injection_time="091000.00",
                     injection_datetime=None, series_date="20240102", series_time="101500",
                     acquisition_times=None, slopes=(0.5, 1.25, 2.0, 0.75), intercept="0",
                     drop=(), drop_drug=(), patient_id="PAT-7", modality="PT", private_suv=None):
    """Write a small PET series; return the rescaled voxel values (z, y, x).

    Slice k holds ``stored = 100 * (5 * row + column) + k``, with its own rescale slope.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    values = np.empty((SLICES, ROWS, COLUMNS))
    for k in range(SLICES):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = PET_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = PET_STORAGE, meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.PatientID, ds.PatientName = patient_id, "Test^Pet"
        ds.PatientWeight = weight
        ds.SeriesDate, ds.SeriesTime = series_date, series_time
        ds.AcquisitionDate = series_date
        ds.AcquisitionTime = acquisition_times[k] if acquisition_times else series_time
        ds.Units, ds.DecayCorrection, ds.CorrectedImage = units, decay_correction, ["ATTN", "DECY"]
        drug = Dataset()
        drug.RadionuclideTotalDose, drug.RadionuclideHalfLife = dose, half_life
        drug.RadiopharmaceuticalStartTime = injection_time
        if injection_datetime:
            drug.RadiopharmaceuticalStartDateTime = injection_datetime
        for keyword in drop_drug:
            delattr(drug, keyword)
        ds.RadiopharmaceuticalInformationSequence = [drug]
        if private_suv is not None:
            ds.add_new((0x7053, 0x0010), "LO", "Philips PET Private Group")
            ds.add_new((0x7053, 0x1000), "DS", private_suv)
        ds.Rows, ds.Columns = ROWS, COLUMNS
        ds.PixelSpacing, ds.SliceThickness = [4.0, 4.0], "3.0"
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [0.0, 0.0, 3.0 * k], [1, 0, 0, 0, 1, 0]
        ds.InstanceNumber = k + 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = f"{slopes[k]}", intercept
        for keyword in drop:
            if keyword in ds:
                delattr(ds, keyword)
        stored = (100 * np.arange(ROWS * COLUMNS).reshape(ROWS, COLUMNS) + k).astype(np.uint16)
        ds.PixelData = stored.tobytes()
        ds.save_as(folder / f"slice{k}.dcm", enforce_file_format=True)
        values[k] = stored * slopes[k] + float(intercept)
    return values


def hand_suv(values, weight_kg=70.5, dose_bq=3e8, delay_s=3900.0, half_life_s=F18_HALF_LIFE_S):
    return values * weight_kg * 1000.0 / (dose_bq * 2.0 ** (-delay_s / half_life_s))


def test_suv_from_dicom_header_matches_hand_computation(tmp_path):
    values = write_pet_series(tmp_path / "pet")
    suv = sitk.GetArrayFromImage(suv_image(tmp_path / "pet"))
    expected = hand_suv(values)  # injection 09:10:00, series 10:15:00: 65 minutes
    np.testing.assert_allclose(suv, expected, rtol=1e-3)
    parameters = suv_parameters(tmp_path / "pet")
    assert parameters.source == "dicom" and parameters.uptake_delay_s == 3900.0
    assert parameters.patient_id is None and parameters.weight_kg == 70.5
    assert suv_parameters(tmp_path / "pet", patient_id="SYN001").patient_id == "SYN001"


def test_one_file_of_the_series_stands_for_the_series(tmp_path):
    values = write_pet_series(tmp_path / "pet")
    suv = suv_image(tmp_path / "pet" / "slice2.dcm")
    assert suv.GetSize() == (COLUMNS, ROWS, SLICES) and suv.GetSpacing() == (4.0, 4.0, 3.0)
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv), hand_suv(values), rtol=1e-3)


def test_series_already_in_suv_is_unchanged(tmp_path):
    values = write_pet_series(tmp_path / "pet", units="GML")
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")), values, rtol=1e-6)
    assert suv_parameters(tmp_path / "pet").source == "already SUV"


def test_decay_corrected_to_administration_needs_no_decay(tmp_path):
    values = write_pet_series(tmp_path / "pet", decay_correction="ADMIN")
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")),
                               hand_suv(values, delay_s=0.0), rtol=1e-3)


def test_philips_counts_use_the_private_scale_factor(tmp_path):
    values = write_pet_series(tmp_path / "pet", units="CNTS", private_suv="0.000321")
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")), values * 0.000321, rtol=1e-5)


def test_deidentified_dates_that_disagree_fall_back_to_times_of_day(tmp_path, caplog):
    """Injection date-time shifted by de-identification to another year: the 65-minute uptake is kept."""
    values = write_pet_series(tmp_path / "pet", injection_datetime="19010315091000")
    with caplog.at_level(logging.WARNING, logger="radiomix.preprocess.suv"):
        suv = sitk.GetArrayFromImage(suv_image(tmp_path / "pet"))
    np.testing.assert_allclose(suv, hand_suv(values), rtol=1e-3)
    assert "dates disagree" in caplog.text


def test_consistent_injection_datetime_is_used(tmp_path):
    values = write_pet_series(tmp_path / "pet", injection_time="", injection_datetime="20240102084500")
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")),
                               hand_suv(values, delay_s=5400.0), rtol=1e-3)


def test_injection_before_midnight_scan_after(tmp_path):
    values = write_pet_series(tmp_path / "pet", injection_time="233000", series_time="003500",
                              series_date="20240103")
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")),
                               hand_suv(values, delay_s=3900.0), rtol=1e-3)


def test_reprocessed_series_uses_the_earliest_acquisition(tmp_path):
    """Series Time later than the acquisition (re-processed series): the scan started at 10:15."""
    values = write_pet_series(tmp_path / "pet", series_time="153000",
                              acquisition_times=["101500", "101800", "102100", "102400"])
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv_image(tmp_path / "pet")), hand_suv(values), rtol=1e-3)


@pytest.mark.parametrize("keyword, where, number", [
    ("PatientWeight", "dataset", "(0010,1030)"),
    ("Units", "dataset", "(0054,1001)"),
    ("DecayCorrection", "dataset", "(0054,1102)"),
    ("SeriesTime", "dataset", "(0008,0031)"),
    ("RadiopharmaceuticalInformationSequence", "dataset", "(0054,0016)"),
    ("RadionuclideTotalDose", "drug", "(0018,1074)"),
    ("RadionuclideHalfLife", "drug", "(0018,1075)"),
    ("RadiopharmaceuticalStartTime", "drug", "(0018,1072)"),
])
def test_missing_tag_names_tag_file_and_patient(tmp_path, keyword, where, number):
    folder = tmp_path / "pet"
    write_pet_series(folder, drop=(keyword,) if where == "dataset" else (),
                     drop_drug=(keyword,) if where == "drug" else ())
    with pytest.raises(MissingDicomTagError) as caught:
        suv_image(folder, patient_id="SYN001")
    message = str(caught.value)
    assert keyword in message and number in message
    assert "patient SYN001" in message and "modality PET" in message
    assert str(folder / "slice0.dcm") in message
    assert caught.value.patient_id == "SYN001"


@pytest.mark.parametrize("drop", ["PatientWeight", "Units"])
def test_the_dicom_patient_id_never_reaches_a_message(tmp_path, drop):
    folder = tmp_path / "pet"
    write_pet_series(folder, drop=(drop,))
    with pytest.raises(InputError) as caught:
        suv_parameters(folder)
    assert "PAT-7" not in str(caught.value) and "modality PET" in str(caught.value)
    assert getattr(caught.value, "patient_id", None) is None


def test_empty_tag_counts_as_missing(tmp_path):
    write_pet_series(tmp_path / "pet", weight="")
    with pytest.raises(MissingDicomTagError, match=r"PatientWeight \(0010,1030\).*weight_kg="):
        suv_image(tmp_path / "pet")


def test_arguments_replace_missing_or_wrong_tags(tmp_path):
    values = write_pet_series(tmp_path / "pet", drop=("PatientWeight",))
    suv = sitk.GetArrayFromImage(suv_image(tmp_path / "pet", weight_kg=80.0, injected_dose_bq=2.5e8))
    np.testing.assert_allclose(suv, hand_suv(values, weight_kg=80.0, dose_bq=2.5e8), rtol=1e-3)
    assert suv_parameters(tmp_path / "pet", weight_kg=80.0).source == "dicom+arguments"


def test_unsupported_series(tmp_path):
    write_pet_series(tmp_path / "a", units="CNTS")
    with pytest.raises(UnsupportedPetSeriesError, match="CNTS"):
        suv_image(tmp_path / "a")
    write_pet_series(tmp_path / "b", decay_correction="NONE")
    with pytest.raises(UnsupportedPetSeriesError, match="NONE"):
        suv_image(tmp_path / "b")
    write_pet_series(tmp_path / "c", modality="CT")
    with pytest.raises(UnsupportedPetSeriesError, match="not PT"):
        suv_image(tmp_path / "c")


def test_folder_with_two_series_is_ambiguous(tmp_path):
    write_pet_series(tmp_path / "pet")
    write_pet_series(tmp_path / "other")
    for path in (tmp_path / "other").iterdir():
        path.rename(tmp_path / "pet" / f"other_{path.name}")
    with pytest.raises(DicomSeriesError, match="2 DICOM series"):
        suv_image(tmp_path / "pet")


# ---------------------------------------------------------------- images without a header

def _nifti(tmp_path, values):
    image = sitk.GetImageFromArray(values.astype(np.float32))
    path = tmp_path / "pet.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


@pytest.mark.parametrize("injection, series", [
    ("2024-01-02T09:10:00", "2024-01-02T10:15:00"),
    ("20240102091000", "20240102101500"),
    ("091000", "101500"),
    (datetime(2024, 1, 2, 9, 10), datetime(2024, 1, 2, 10, 15)),
    (time(9, 10), time(10, 15)),
])
def test_headerless_image_uses_the_arguments(tmp_path, injection, series):
    values = np.random.default_rng(0).uniform(0, 20000, (3, 4, 5))
    suv = suv_image(_nifti(tmp_path, values), 70.5, 3e8, injection, F18_HALF_LIFE_S, series_time=series)
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv), hand_suv(values), rtol=1e-3)
    image = sitk.GetImageFromArray(values)
    suv = suv_image(image, 70.5, 3e8, injection, F18_HALF_LIFE_S, series_time=series)
    np.testing.assert_allclose(sitk.GetArrayFromImage(suv), hand_suv(values), rtol=1e-3)


@pytest.mark.parametrize("missing", ["weight_kg", "injected_dose_bq", "injection_time", "series_time", "half_life_s"])
def test_headerless_image_missing_argument_names_it_and_the_patient(tmp_path, missing):
    arguments = {"weight_kg": 70.5, "injected_dose_bq": 3e8, "injection_time": "091000",
                 "series_time": "101500", "half_life_s": F18_HALF_LIFE_S}
    arguments[missing] = float("nan")  # an empty manifest cell
    path = _nifti(tmp_path, np.ones((2, 2, 2)))
    with pytest.raises(MissingPetParameterError, match=f"patient P9, modality PET.*{missing}") as caught:
        suv_image(path, patient_id="P9", **arguments)
    assert caught.value.parameter == missing and str(path) in str(caught.value)


def test_implausible_values_are_refused(tmp_path):
    path = _nifti(tmp_path, np.ones((2, 2, 2)))
    with pytest.raises(InputError, match="grams"):
        suv_image(path, 70500.0, 3e8, "091000", F18_HALF_LIFE_S, series_time="101500")
    with pytest.raises(InputError, match="injected_dose_bq must be a positive number"):
        suv_image(path, 70.0, 0.0, "091000", F18_HALF_LIFE_S, series_time="101500")
    with pytest.raises(InputError, match="cannot read 'nine' as a date-time"):
        suv_image(path, 70.0, 3e8, "nine", F18_HALF_LIFE_S, series_time="101500")


def test_pydicom_reads_back_what_the_builder_wrote(tmp_path):
    """Guard for the builder itself: the written header holds the values the hand computation uses."""
    write_pet_series(tmp_path / "pet")
    header = pydicom.dcmread(tmp_path / "pet" / "slice1.dcm")
    assert float(header.PatientWeight) == 70.5 and float(header.RescaleSlope) == 1.25
    drug = header.RadiopharmaceuticalInformationSequence[0]
    assert float(drug.RadionuclideTotalDose) == 3e8 and drug.RadiopharmaceuticalStartTime == "091000.00"


def test_a_truncated_pet_image_file_is_an_unreadable_file_error(tmp_path):
    path = tmp_path / "pet.nii.gz"
    voxels = np.random.default_rng(3).uniform(1000, 5000, size=(6, 10, 10)).astype(np.float32)
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(path), useCompression=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UnreadableFileError, match=r"pet\.nii\.gz: is truncated"):
        suv_image(path, weight_kg=70, injected_dose_bq=3.7e8, injection_time="09:00:00", series_time="10:00:00",
                  half_life_s=6586.2, patient_id="P1")
