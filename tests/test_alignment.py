"""Alignment by frame of reference and acceptance on measured quality, on the real sts_dicom series:
a header moved rigidly is registered back, the same inputs give the same transform, a noise MR and a
far-off start are rejected, and the cohort's register stage keeps each modality on its own grid."""

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix import io
from radiomix.cohort import case as stages
from radiomix.cohort.manifest import read_manifest
from radiomix.cohort.registration_qa import registration_qa_table
from radiomix.errors import SpecError
from radiomix.io.dicom_index import index_to_manifest
from radiomix.registration import (
    QA_COLUMNS,
    align_to_reference,
    load_registration_settings,
    mask_points,
    target_registration_error,
)
from radiomix.spec import load_spec

from conftest import require_data


def _series(patient, folder):
    """A sts_dicom series and its own ROI (float image, binary mask)."""
    root = require_data("sts_dicom")
    image = io.read_image(root / patient / folder / "image")
    mask = io.read_mask(root / patient / folder / "mask" / "RS.dcm", reference=image, roi=f"GTV_Mass_{folder}")
    return sitk.Cast(image, sitk.sitkFloat32), mask


def _moved(image, rotation_deg, translation_mm, centre):
    """A copy of ``image`` whose header is moved rigidly, and the true fixed -> moved transform.

    Physical points p of the original become R (p - c) + c + t in the copy (origin and direction
    rewritten, voxels untouched)."""
    truth = sitk.Euler3DTransform(tuple(centre), *np.deg2rad(rotation_deg), tuple(translation_mm))
    rotation = np.asarray(truth.GetMatrix()).reshape(3, 3)
    moved = sitk.Image(image)
    moved.SetDirection(tuple((rotation @ np.asarray(image.GetDirection()).reshape(3, 3)).ravel()))
    moved.SetOrigin(truth.TransformPoint(image.GetOrigin()))
    return moved, truth


def test_a_header_moved_rigidly_is_registered_back_within_a_millimetre():
    mr, roi = _series("STS_003", "MR_T1")
    centroid = mask_points(roi).mean(axis=0)
    moved, truth = _moved(mr, (3.0, -2.0, 4.0), (6.0, -5.0, 4.0), centroid)
    moved_roi = sitk.Image(roi)
    moved_roi.CopyInformation(moved)
    alignment = align_to_reference(mr, moved, fixed_mask=roi, moving_mask=moved_roi, fixed_frame="frame-A",
                                   moving_frame="frame-B", patient_id="STS_003", modality="MR")
    error = target_registration_error(alignment.transform, truth, mask_points(roi)[::5])
    before = target_registration_error(sitk.Euler3DTransform(), truth, mask_points(roi)[::5])
    quality = alignment.quality
    print(f"\nmoved MR header registered back: mean {error.mean():.3f} mm (max {error.max():.3f}, before "
          f"{before.mean():.1f}) in {quality.elapsed_s:.1f} s, {quality.iterations} iterations, "
          f"Dice {quality.dice:.3f}")
    assert quality.alignment == "registered" and quality.status in ("ok", "note")
    assert error.mean() < 1.0
    assert quality.dice > 0.9 and quality.centroid_distance_mm < 1.0


@pytest.mark.parametrize("folder, own_roi", [("PET", True), ("MR_T1", False)],
                         ids=["PET, ROI shapes first", "N4-corrected MR, multi-start"])
def test_same_inputs_give_identical_transforms(folder, own_roi):
    ct, ct_roi = _series("STS_003", "CT")
    image, roi = _series("STS_003", folder)
    runs = [align_to_reference(ct, image, fixed_mask=ct_roi, moving_mask=roi if own_roi else None,
                               fixed_frame="A", moving_frame="B", bias_correct=folder == "MR_T1")
            for _ in range(2)]
    assert runs[0].quality.alignment == "registered"
    np.testing.assert_array_equal(runs[0].transform.GetParameters(), runs[1].transform.GetParameters())
    assert runs[0].quality.final_metric == runs[1].quality.final_metric


@pytest.mark.parametrize("moving_frame", ["A", "B"], ids=["same frame", "registered"])
def test_a_noise_mr_is_rejected(moving_frame):
    ct, ct_roi = _series("STS_003", "CT")
    mr, mr_roi = _series("STS_003", "MR_T1")
    noise = sitk.GetImageFromArray(np.random.default_rng(5).normal(
        100.0, 30.0, sitk.GetArrayViewFromImage(mr).shape).astype(np.float32))
    noise.CopyInformation(mr)
    real = align_to_reference(ct, mr, fixed_mask=ct_roi, moving_mask=mr_roi, fixed_frame="A", moving_frame="A")
    rejected = align_to_reference(ct, noise, fixed_mask=ct_roi, moving_mask=mr_roi, fixed_frame="A",
                                  moving_frame=moving_frame)
    information = rejected.quality.chance_metric - rejected.quality.final_metric
    print(f"\nmutual information above chance: real MR {real.quality.chance_metric - real.quality.final_metric:.3f}, "
          f"noise {information:.4f} nats")
    assert real.quality.status == "ok" and real.quality.alignment == "same frame of reference"
    assert rejected.quality.status == "failed"
    assert "mutual information" in rejected.quality.note


def test_a_far_off_start_is_reported_not_recentred():
    ct, ct_roi = _series("STS_003", "CT")
    pet, pet_roi = _series("STS_003", "PET")
    far = sitk.Image(pet)
    far.SetOrigin(tuple(np.add(pet.GetOrigin(), (0.0, 0.0, 1000.0))))
    alignment = align_to_reference(ct, far, fixed_mask=ct_roi, fixed_frame="A", moving_frame="B")
    assert alignment.transform is None and alignment.quality.status == "failed"
    assert "far-off start" in alignment.quality.note and "1000 mm apart" in alignment.quality.note
    recentred = align_to_reference(ct, far, fixed_mask=ct_roi, fixed_frame="A", moving_frame="B",
                                   settings={"initialisation": "geometry"})
    assert recentred.quality.status == "failed" and "far-off start" in recentred.quality.note


@pytest.mark.parametrize("policy", ["register", "identity"])
def test_images_without_a_frame_of_reference(policy):
    """NIfTI-like inputs (no frame UID) are registered, or taken as aligned when the settings say so."""
    ct, ct_roi = _series("STS_047", "CT")
    pet, pet_roi = _series("STS_047", "PET")
    alignment = align_to_reference(ct, pet, fixed_mask=ct_roi, moving_mask=pet_roi,
                                   settings={"without_frame_of_reference": policy})
    expected = {"register": "registered", "identity": "identity (no frame of reference)"}[policy]
    assert alignment.quality.alignment == expected and alignment.quality.status in ("ok", "note")
    assert alignment.quality.centroid_distance_mm < 2.0


def test_alignment_settings_are_checked():
    assert load_registration_settings({"trust_frame_of_reference": False}).trust_frame_of_reference is False
    with pytest.raises(SpecError, match="did you mean 'trust_frame_of_reference'"):
        load_registration_settings({"trust_frame_of_referense": True})
    with pytest.raises(SpecError, match="min_dice"):
        load_registration_settings({"min_dice": 1.5})
    with pytest.raises(SpecError, match="space"):
        load_registration_settings({"space": "common"})


# ---------------------------------------------------------------- the cohort's register stage

@pytest.fixture(scope="module")
def sts_manifest(tmp_path_factory):
    root = require_data("sts_dicom")
    out = tmp_path_factory.mktemp("sts")
    index_to_manifest(root, out / "manifest.csv", roi_pattern="GTV*")
    return out, read_manifest(out / "manifest.csv")


def _register(table, patient, modality, folder, reference=None, settings_path=None):
    case = stages.Case.from_manifest(table, patient, modality)
    folder.mkdir(parents=True, exist_ok=True)
    validated = stages.run_stage("validate", case, stages.validate)
    outputs = {name: folder / f"register-{name}" for name in
               ("image.nii.gz", "mask.nii.gz", "transform.tfm", "check.png", "quality.json")}
    return case, stages.run_stage("register", case, stages.register, validated, reference=reference,
                                  reference_modality="CT", settings_path=settings_path, outputs=outputs)


def test_every_sts_series_is_aligned_by_its_frame_of_reference_on_its_own_grid(sts_manifest):
    out, table = sts_manifest
    records, files = [], []
    for patient in sorted(table["patient_id"].unique()):
        _, reference = _register(table, patient, "CT", out / patient / "CT")
        records.append(reference)
        for modality in ("PET", "MR"):
            case, record = _register(table, patient, modality, out / patient / modality, reference)
            assert record.ok, record.message
            assert record.details["alignment"]["alignment"] == "same frame of reference"
            assert record.details["alignment"]["status"] == "ok"
            source = io.read_image(case.image)
            written = sitk.ReadImage(record.artifacts["image"])
            assert written.GetSize() == source.GetSize() and np.allclose(written.GetSpacing(), source.GetSpacing())
            assert record.details["grid"]["of"] == modality and record.details["roi"].startswith("own ROI GTV_Mass")
            records.append(record)
    files = [{"quality.json": out / r.patient_id / r.modality / "register-quality.json",
              "check.png": out / r.patient_id / r.modality / "register-check.png"} for r in records]
    qa = registration_qa_table(records, files)
    assert list(qa.columns) == list(QA_COLUMNS) and len(qa) == 9
    assert set(qa["alignment"]) == {"reference", "same frame of reference"} and set(qa["status"]) == {"ok"}
    assert (qa.loc[qa["alignment"] != "reference", "overlay"].str.endswith(".png")).all()


def test_pet_is_extracted_on_its_own_grid_with_its_stored_suv(sts_manifest):
    out, table = sts_manifest
    _, reference = _register(table, "STS_047", "CT", out / "pet" / "CT")
    case, registered = _register(table, "STS_047", "PET", out / "pet" / "PET", reference)
    spec = load_spec(Path(__file__).resolve().parent.parent / "feature_specs" / "pet.yaml")
    preprocessed = stages.run_stage("preprocess", case, stages.preprocess, registered, spec=spec,
                                    output=out / "pet" / "preprocessed.nii.gz")
    assert preprocessed.ok, preprocessed.message
    stored = sitk.GetArrayFromImage(io.read_image(case.image))
    roi = sitk.GetArrayFromImage(io.read_mask(case.mask, reference=io.read_image(case.image), roi=case.roi)) > 0
    values = sitk.GetArrayFromImage(sitk.ReadImage(preprocessed.artifacts["image"]))
    assert values.shape == stored.shape
    np.testing.assert_allclose(values[roi], stored[roi], rtol=1e-6)
    assert preprocessed.details["suv"]["scale_factor"] == 1.0


def test_a_modality_without_its_own_roi_gets_the_reference_roi_on_its_grid(sts_manifest, tmp_path):
    out, table = sts_manifest
    _, reference = _register(table, "STS_003", "CT", tmp_path / "CT")
    without = table.copy()
    without.loc[(without["patient_id"] == "STS_003") & (without["modality"] == "PET"), ["mask", "roi"]] = ""
    case, record = _register(without, "STS_003", "PET", tmp_path / "PET", reference)
    assert record.ok, record.message
    assert record.details["roi"] == "CT ROI carried onto the PET grid through the alignment"
    mask = sitk.ReadImage(record.artifacts["mask"])
    pet = io.read_image(case.image)
    assert mask.GetSize() == pet.GetSize()
    own = io.read_mask(table.set_index(["patient_id", "modality"]).loc[("STS_003", "PET"), "mask"],
                       reference=pet, roi="GTV_Mass_PET")
    a, b = sitk.GetArrayViewFromImage(mask) > 0, sitk.GetArrayViewFromImage(own) > 0
    dice = 2 * (a & b).sum() / (a.sum() + b.sum())
    print(f"\nCT ROI carried onto the PET grid vs the PET's own ROI: Dice {dice:.3f}")
    assert dice > 0.5


def test_space_reference_resamples_onto_the_reference_grid(sts_manifest, tmp_path):
    out, table = sts_manifest
    settings = tmp_path / "registration.yaml"
    settings.write_text("space: reference\n")
    _, reference = _register(table, "STS_003", "CT", tmp_path / "CT", settings_path=str(settings))
    _, record = _register(table, "STS_003", "PET", tmp_path / "PET", reference, settings_path=str(settings))
    assert record.ok and record.details["grid"]["of"] == "CT"
    assert sitk.ReadImage(record.artifacts["image"]).GetSize() == sitk.ReadImage(reference.artifacts["image"]).GetSize()


def test_a_misaligned_case_fails_and_keeps_its_quality_record(sts_manifest, tmp_path):
    out, table = sts_manifest
    _, reference = _register(table, "STS_003", "CT", tmp_path / "CT")
    settings = tmp_path / "registration.yaml"
    settings.write_text("min_dice: 0.99\n")
    _, record = _register(table, "STS_003", "PET", tmp_path / "PET", reference, settings_path=str(settings))
    assert not record.ok and record.error_type == "MisalignedError"
    assert "patient STS_003" in record.message and "ROI Dice" in record.message
    quality = json.loads((tmp_path / "PET" / "register-quality.json").read_text())
    assert quality["status"] == "failed"
    qa = registration_qa_table([record], [{"quality.json": tmp_path / "PET" / "register-quality.json",
                                           "check.png": tmp_path / "PET" / "register-check.png"}])
    assert qa.iloc[0]["status"] == "failed" and qa.iloc[0]["overlay"].endswith("STS_003_PET.png")


# ---------------------------------------------------------------- registration between modalities (search.py)

@pytest.mark.parametrize("patient", ["STS_003", "STS_047"])
def test_an_mr_moved_by_centimetres_is_registered_back_onto_the_ct(patient):
    """The cohort's case: the moved MR (another frame) is registered to the CT, not to the original MR.

    The truth is the move on top of the dataset's own MR-CT alignment; the two delineations are
    superimposed first, so the error is measured against where the dataset put the MR."""
    ct, ct_roi = _series(patient, "CT")
    mr, mr_roi = _series(patient, "MR_T1")
    moved, truth = _moved(mr, (3.0, -2.0, 4.0), (25.0, -20.0, 15.0), mask_points(mr_roi).mean(axis=0))
    moved_roi = sitk.Image(mr_roi)
    moved_roi.CopyInformation(moved)
    alignment = align_to_reference(ct, moved, fixed_mask=ct_roi, moving_mask=moved_roi, fixed_frame="frame-A",
                                   moving_frame="frame-B", bias_correct=True, patient_id=patient, modality="MR")
    points = mask_points(ct_roi)[::5]
    error = target_registration_error(alignment.transform, truth, points)
    before = target_registration_error(sitk.Euler3DTransform(), truth, points)
    print(f"\n{patient} MR moved {before.mean():.1f} mm, registered onto the CT: mean {error.mean():.2f} mm "
          f"(max {error.max():.2f}) in {alignment.quality.elapsed_s:.1f} s; {alignment.quality.note}")
    assert alignment.quality.alignment == "registered" and alignment.quality.status in ("ok", "note")
    assert error.mean() < 1.0


def test_an_mr_without_its_own_roi_is_not_accepted_silently_when_misregistered():
    """Without an MR ROI only the images vouch for the result: accepted only within the documented tolerance."""
    ct, ct_roi = _series("STS_047", "CT")
    mr, mr_roi = _series("STS_047", "MR_T1")
    moved, truth = _moved(mr, (3.0, -2.0, 4.0), (25.0, -20.0, 15.0), mask_points(mr_roi).mean(axis=0))
    alignment = align_to_reference(ct, moved, fixed_mask=ct_roi, fixed_frame="frame-A", moving_frame="frame-B",
                                   bias_correct=True, patient_id="STS_047", modality="MR")
    quality = alignment.quality
    error = target_registration_error(alignment.transform, truth, mask_points(ct_roi)[::5]).mean()
    print(f"\nSTS_047 moved MR without ROI: {quality.status}, error {error:.1f} mm, start spread "
          f"{quality.start_spread_mm:.1f} mm, perturbation gain {quality.perturbation_gain:.4f}; {quality.note}")
    assert quality.start_spread_mm is not None and quality.perturbation_gain is not None
    if quality.status != "failed":
        assert error < load_registration_settings(None).max_centroid_distance_mm


def _striped(seed, size=(64, 64, 64), spacing=2.0, period_mm=48.0, invert=False):
    """Stripes along x only: y and z carry no structure, and x repeats every ``period_mm``."""
    x = np.arange(size[0]) * spacing
    profile = (np.sin(2 * np.pi * x / period_mm) > 0).astype(np.float32) * 100.0
    array = np.broadcast_to(profile, size[::-1]).copy()
    array += np.random.default_rng(seed).normal(0.0, 5.0, array.shape).astype(np.float32)
    image = sitk.GetImageFromArray(-array if invert else array)
    image.SetSpacing((spacing,) * 3)
    return image


def test_an_alignment_the_images_do_not_decide_fails_as_uncertain():
    """Between frames and without two ROIs, equally good optima far apart (a structureless axis, a
    repeating pattern) fail the case instead of accepting one of them."""
    fixed = _striped(seed=1)
    moving = _striped(seed=2, invert=True)
    roi = sitk.Image(fixed.GetSize(), sitk.sitkUInt8)
    roi.CopyInformation(fixed)
    roi[24:40, 24:40, 24:40] = 1
    alignment = align_to_reference(fixed, moving, fixed_mask=roi, fixed_frame="A", moving_frame="B",
                                   settings={"crop_margin_mm": 20.0})
    quality = alignment.quality
    assert quality.alignment == "registered" and quality.status == "failed"
    assert quality.start_spread_mm > 3.0 and "uncertain alignment" in quality.note


def test_constant_fill_is_left_out_of_the_metric():
    from radiomix.registration.search import data_mask
    array = np.random.default_rng(2).uniform(1.0, 2.0, (10, 12, 14)).astype(np.float32)
    array[:2] = 0.0  # two padded slices at the edge
    array[5, 6, 7] = 0.0  # an isolated voxel at the minimum inside: data
    image = sitk.GetImageFromArray(array)
    mask = sitk.GetArrayFromImage(data_mask(image))
    assert not mask[:2].any() and mask[2:].all()
