"""Registration: recovery of known transforms (synthetic cohort, IBSI CT phantom), quality
metrics, resampling, transform files, figures, and errors naming patient and modality."""

import json
import time

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radiomix.errors import InputError, SpecError
from radiomix.registration import (
    MissingModalityError,
    NoOverlapError,
    NotConvergedError,
    RegistrationSettings,
    jacobian_determinant_range,
    load_registration_settings,
    mask_points,
    overlap_fraction,
    read_transform,
    register,
    register_modality,
    register_patient,
    resample_image,
    resample_mask,
    save_overlay_figure,
    target_registration_error,
    write_transform,
)
from radiomix.synthetic import load_true_transforms, make_cohort

from conftest import require_data

SYNTHETIC_PATIENTS = 3


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    manifest_path, _ = make_cohort(out, n_patients=SYNTHETIC_PATIENTS, seed=0)
    return out, pd.read_csv(manifest_path)


def _case(cohort, patient_id):
    out, manifest = cohort
    rows = manifest[manifest["patient_id"] == patient_id].set_index("modality")
    images = {m: sitk.ReadImage(rows.loc[m, "image"]) for m in rows.index}
    masks = {m: sitk.ReadImage(rows.loc[m, "mask"]) for m in rows.index}
    return images, masks, load_true_transforms(out / "truth" / f"{patient_id}.json")


# ---------------------------------------------------------------- recovery of known transforms

def test_synthetic_mr_and_pet_register_to_ct_within_a_voxel(cohort):
    """Mean target registration error over the CT lesion is below the CT's smallest voxel edge."""
    _, manifest = cohort
    report = []
    for patient_id in manifest["patient_id"].unique():
        images, masks, truth = _case(cohort, patient_id)
        lesion = mask_points(masks["CT"])
        voxel_mm = min(images["CT"].GetSpacing())
        for modality in ("MR", "PET"):
            started = time.perf_counter()
            result = register(images["CT"], images[modality], patient_id=patient_id, modality=modality)
            elapsed = time.perf_counter() - started
            tre = target_registration_error(result.transform, truth[modality], lesion)
            before = target_registration_error(sitk.Euler3DTransform(), truth[modality], lesion)
            report.append(f"{patient_id} {modality}->CT: TRE {tre.mean():.2f} mm (max {tre.max():.2f}, "
                          f"before {before.mean():.1f}) in {elapsed:.2f} s")
            assert result.quality.converged
            assert result.quality.metric_after < result.quality.metric_before
            assert tre.mean() < voxel_mm, report[-1]
    print("\n" + "\n".join(report))


def test_ct_phantom_with_mr_like_contrast_recovers_a_known_rigid_transform():
    """The IBSI CT phantom, moved by a known rigid transform onto another grid and remapped to a
    non-monotonic MR-like contrast, is registered back to under one voxel of the original CT."""
    folder = require_data("ibsi/ct_phantom/nifti")
    ct = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat32)
    gtv = sitk.ReadImage(str(folder / "mask.nii.gz"))
    centre = ct.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in ct.GetSize()])
    truth = sitk.Euler3DTransform(centre, np.deg2rad(3.0), np.deg2rad(-4.0), np.deg2rad(5.0), (6.0, -4.0, 5.0))
    moving_grid = _grid_like(ct, (1.5, 1.5, 2.5))
    moved_hu = sitk.GetArrayFromImage(
        sitk.Resample(ct, moving_grid, truth.GetInverse(), sitk.sitkLinear, -1024.0, sitk.sitkFloat32))
    # air dark, lung dark, fat brightest, soft tissue mid, bone dark: not monotonic in HU
    mr_like = np.interp(moved_hu, [-1024, -900, -500, -150, -90, -40, 20, 60, 150, 400, 1500],
                        [10, 20, 60, 800, 900, 500, 350, 400, 250, 100, 60])
    mr_like += np.random.default_rng(3).normal(0.0, 10.0, mr_like.shape)
    moving = sitk.GetImageFromArray(mr_like.astype(np.float32))
    moving.CopyInformation(moving_grid)
    fixed = sitk.Resample(ct, _grid_like(ct, (2.931, 2.931, 3.0)), sitk.Transform(), sitk.sitkLinear, -1024.0)

    started = time.perf_counter()
    result = register(fixed, moving, patient_id="IBSI-CT", modality="MR-like")
    elapsed = time.perf_counter() - started
    tre = target_registration_error(result.transform, truth, mask_points(gtv)[::7])
    print(f"\nIBSI CT phantom, MR-like contrast: TRE {tre.mean():.3f} mm (max {tre.max():.3f}) in {elapsed:.2f} s")
    assert tre.mean() < min(ct.GetSpacing())


def _grid_like(image, spacing):
    """An empty image with ``spacing`` covering the field of view of ``image``, same centre and direction."""
    size = [int(round(n * s / t)) for n, s, t in zip(image.GetSize(), image.GetSpacing(), spacing)]
    grid = sitk.Image(size, sitk.sitkUInt8)
    grid.SetSpacing(spacing)
    grid.SetDirection(image.GetDirection())
    centre = np.array(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in image.GetSize()]))
    offset = np.array(grid.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in size]))
    grid.SetOrigin(tuple(centre - offset))
    return grid


def test_same_seed_same_transform(cohort):
    images, _, _ = _case(cohort, "SYN001")
    first = register(images["CT"], images["PET"], settings={"seed": 7}).transform.GetParameters()
    second = register(images["CT"], images["PET"], settings={"seed": 7}).transform.GetParameters()
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-8)


@pytest.mark.parametrize("initialisation", ["moments", "geometry"])
def test_other_initialisations_also_recover_the_transform(cohort, initialisation):
    images, masks, truth = _case(cohort, "SYN001")
    result = register(images["CT"], images["PET"], settings={"initialisation": initialisation})
    tre = target_registration_error(result.transform, truth["PET"], mask_points(masks["CT"]))
    assert tre.mean() < min(images["CT"].GetSpacing())


def test_affine_registration_recovers_a_rigid_misalignment(cohort):
    images, masks, truth = _case(cohort, "SYN002")
    result = register(images["CT"], images["MR"], "affine")
    assert isinstance(result.transform, sitk.AffineTransform)
    assert [stage.kind for stage in result.quality.stages] == ["rigid", "affine"]
    tre = target_registration_error(result.transform, truth["MR"], mask_points(masks["CT"]))
    assert tre.mean() < min(images["CT"].GetSpacing())


def test_bspline_registration_reports_jacobian_and_no_folding(cohort):
    """On downsampled images with a coarse control grid (to keep the test fast)."""
    images, masks, truth = _case(cohort, "SYN003")
    fixed = sitk.Resample(images["CT"], _grid_like(images["CT"], (4.0, 4.0, 4.0)), sitk.Transform(),
                          sitk.sitkLinear, -1000.0)
    settings = {"shrink_factors": [2, 1], "smoothing_sigmas_voxels": [1.0, 0.0], "histogram_bins": 32,
                "bspline_grid_spacing_mm": 64.0, "bspline_max_iterations": 15, "require_convergence": False}
    result = register(fixed, images["MR"], "bspline", settings)
    quality = result.quality
    assert isinstance(result.transform, sitk.CompositeTransform)
    assert [stage.kind for stage in quality.stages] == ["rigid", "bspline"]
    assert quality.folding_count == 0
    assert 0.5 < quality.jacobian_determinant_min <= 1.0 <= quality.jacobian_determinant_max < 1.5
    tre = target_registration_error(result.transform, truth["MR"], mask_points(masks["CT"]))
    assert tre.mean() < 2.0


# ---------------------------------------------------------------- quality measures

def test_jacobian_determinant_of_a_scaling_and_of_a_fold():
    reference = sitk.Image([10, 10, 10], sitk.sitkFloat32)
    scaling = sitk.AffineTransform(3)
    scaling.SetMatrix([1.1, 0, 0, 0, 1.1, 0, 0, 0, 1.1])
    low, high, folds = jacobian_determinant_range(scaling, reference)
    assert low == pytest.approx(1.331, rel=1e-6) and high == pytest.approx(1.331, rel=1e-6) and folds == 0

    fold = sitk.BSplineTransformInitializer(reference, [2, 2, 2])
    parameters = np.zeros(fold.GetNumberOfParameters())
    n = len(parameters) // 3
    parameters[:n] = np.tile([0.0, 0.0, 12.0, -12.0, 0.0], n)[:n]  # x shifts that overtake each other
    fold.SetParameters(parameters.tolist())
    low, high, folds = jacobian_determinant_range(fold, reference)
    assert low < 0 < folds


def test_overlap_fraction_of_shifted_fields_of_view():
    fixed = sitk.Image([20, 20, 20], sitk.sitkFloat32)
    moving = sitk.Image([20, 20, 20], sitk.sitkFloat32)
    assert overlap_fraction(fixed, moving, sitk.TranslationTransform(3, (10.0, 0.0, 0.0))) == 0.5
    assert overlap_fraction(fixed, moving, sitk.TranslationTransform(3, (30.0, 0.0, 0.0))) == 0.0
    mask = sitk.Image([20, 20, 20], sitk.sitkUInt8)
    mask[2, 2, 2] = 1
    assert overlap_fraction(fixed, moving, sitk.TranslationTransform(3, (10.0, 0.0, 0.0)), mask) == 1.0


def test_target_registration_error_of_a_translation():
    points = np.array([[0.0, 0.0, 0.0], [10.0, 5.0, -3.0]])
    errors = target_registration_error(sitk.TranslationTransform(3, (3.0, 4.0, 0.0)), sitk.Euler3DTransform(), points)
    np.testing.assert_allclose(errors, [5.0, 5.0])


# ---------------------------------------------------------------- resampling and files

def _sphere(size, spacing, radius_mm, origin=(0.0, 0.0, 0.0)):
    z, y, x = np.indices(size[::-1]).astype(float)
    centre = [(n - 1) / 2.0 for n in size]
    distance = np.sqrt(((x - centre[0]) * spacing[0]) ** 2 + ((y - centre[1]) * spacing[1]) ** 2
                       + ((z - centre[2]) * spacing[2]) ** 2)
    image = sitk.GetImageFromArray((distance <= radius_mm).astype(np.uint8))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def test_mask_resampling_nearest_and_linear_threshold():
    mask = _sphere((20, 20, 10), (2.0, 2.0, 4.0), 12.0)
    # same grid, identity: both methods give the mask back
    for method in ("nearest", "linear_threshold"):
        same = resample_mask(mask, mask, sitk.Transform(3, sitk.sitkIdentity), method)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(same), sitk.GetArrayFromImage(mask))
    # finer grid of the same field of view: the volume is kept within a few percent
    fine = sitk.Image([40, 40, 40], sitk.sitkUInt8)
    fine.SetSpacing((1.0, 1.0, 1.0))
    fine.SetOrigin((-0.5, -0.5, -1.5))
    volume = sitk.GetArrayFromImage(mask).sum() * 16.0
    for method in ("nearest", "linear_threshold"):
        resampled = sitk.GetArrayFromImage(resample_mask(mask, fine, sitk.Transform(3, sitk.sitkIdentity), method))
        assert resampled.sum() == pytest.approx(volume, rel=0.08), method


def test_linear_threshold_keeps_each_label():
    labels = sitk.GetArrayFromImage(_sphere((20, 20, 10), (2.0, 2.0, 4.0), 12.0)).astype(np.uint8)
    labels[:, :, :10] *= 2
    mask = sitk.GetImageFromArray(labels)
    mask.SetSpacing((2.0, 2.0, 4.0))
    shifted = resample_mask(mask, mask, sitk.TranslationTransform(3, (1.0, 0.0, 0.0)), "linear_threshold")
    assert set(np.unique(sitk.GetArrayFromImage(shifted))) == {0, 1, 2}


def test_resampled_image_outside_the_moving_field_gets_its_minimum():
    moving = sitk.GetImageFromArray(np.full((5, 5, 5), 7.0, dtype=np.float32) + np.arange(5, dtype=np.float32))
    result = sitk.GetArrayFromImage(resample_image(moving, moving, sitk.TranslationTransform(3, (100.0, 0, 0))))
    assert (result == 7.0).all()


def test_transform_files_round_trip(tmp_path, cohort):
    rigid = sitk.Euler3DTransform((1.0, 2.0, 3.0), 0.1, -0.05, 0.2, (4.0, -5.0, 6.0))
    bspline = sitk.BSplineTransformInitializer(sitk.Image([8, 8, 8], sitk.sitkFloat32), [2, 2, 2])
    bspline.SetParameters(np.random.default_rng(0).normal(0.0, 0.5, bspline.GetNumberOfParameters()).tolist())
    composite = sitk.CompositeTransform([rigid, bspline])
    for name, transform in (("rigid.tfm", rigid), ("composite.tfm", composite), ("composite.h5", composite)):
        back = read_transform(write_transform(transform, tmp_path / "sub" / name))
        for point in [(0.0, 0.0, 0.0), (3.0, 4.0, 5.0), (-2.0, 6.0, 1.0)]:
            np.testing.assert_allclose(back.TransformPoint(point), transform.TransformPoint(point), atol=1e-6)
    with pytest.raises(InputError, match="not found"):
        read_transform(tmp_path / "missing.tfm")


def test_overlay_figure_is_a_png(tmp_path):
    fixed = sitk.Cast(_sphere((20, 20, 10), (2.0, 2.0, 4.0), 12.0), sitk.sitkFloat32) * 100.0
    mask = _sphere((20, 20, 10), (2.0, 2.0, 4.0), 6.0)
    path = save_overlay_figure(fixed, fixed * 0.5, tmp_path / "figs" / "pair.png", fixed_mask=mask,
                               registered_mask=mask, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_register_patient_writes_every_output(cohort, tmp_path):
    out, manifest = cohort
    results = register_patient(out / "manifest.csv", "SYN001", tmp_path)
    _, masks, truth = _case(cohort, "SYN001")
    lesion = mask_points(masks["CT"])
    assert [r.modality for r in results] == ["MR", "PET"]
    for registered in results:
        for path in (registered.transform_path, registered.image_path, registered.mask_path,
                     registered.figure_path, registered.quality_path):
            assert path.exists(), path
        on_ct = sitk.ReadImage(str(registered.image_path))
        ct = sitk.ReadImage(manifest.query("patient_id == 'SYN001' and modality == 'CT'")["image"].iloc[0])
        assert on_ct.GetSize() == ct.GetSize() and np.allclose(on_ct.GetSpacing(), ct.GetSpacing())
        record = json.loads(registered.quality_path.read_text())
        assert record["quality"]["converged"] and record["modality"] == registered.modality
        assert record["bias_corrected_for_registration"] == (["MR"] if registered.modality == "MR" else [])
        # the transform file holds the CT -> modality mapping of the truth
        saved = read_transform(registered.transform_path)
        tre = target_registration_error(saved, truth[registered.modality], lesion)
        assert tre.mean() < min(ct.GetSpacing())
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(registered.mask_path)))
        ct_mask = sitk.GetArrayFromImage(sitk.ReadImage(
            manifest.query("patient_id == 'SYN001' and modality == 'CT'")["mask"].iloc[0])) > 0
        dice = 2 * (ct_mask & (mask > 0)).sum() / (ct_mask.sum() + (mask > 0).sum())
        assert dice > 0.8, (registered.modality, dice)


# ---------------------------------------------------------------- errors naming patient and modality

def test_missing_modality_names_patient_and_modality(cohort, tmp_path):
    _, manifest = cohort
    without_pet = manifest[~((manifest["patient_id"] == "SYN002") & (manifest["modality"] == "PET"))]
    with pytest.raises(MissingModalityError, match="patient SYN002, modality PET") as caught:
        register_patient(without_pet, "SYN002", tmp_path, modalities=["MR", "PET"])
    assert (caught.value.patient_id, caught.value.modality) == ("SYN002", "PET")
    without_ct = manifest[~((manifest["patient_id"] == "SYN002") & (manifest["modality"] == "CT"))]
    with pytest.raises(MissingModalityError, match="patient SYN002, modality CT"):
        register_modality(without_ct, "SYN002", "MR", tmp_path)
    with pytest.raises(InputError, match="NOBODY is not in the manifest"):
        register_modality(manifest, "NOBODY", "MR", tmp_path)


def test_fields_of_view_that_do_not_overlap(cohort):
    images, _, _ = _case(cohort, "SYN001")
    far = sitk.Image(images["MR"])
    far.SetOrigin(tuple(np.add(far.GetOrigin(), (0.0, 0.0, 500.0))))
    expected = "patient SYN001, modality MR: the fields of view do not overlap"
    with pytest.raises(NoOverlapError, match=expected) as caught:
        register(images["CT"], far, settings={"initialisation": "identity"}, patient_id="SYN001", modality="MR")
    assert (caught.value.patient_id, caught.value.modality) == ("SYN001", "MR")
    # centring the fields of view cannot rescue a fixed region outside the moving field of view
    corner = sitk.Image(images["CT"].GetSize(), sitk.sitkUInt8)
    corner.CopyInformation(images["CT"])
    corner[0:4, 0:4, 0:4] = 1
    small = sitk.RegionOfInterest(images["MR"], [20, 20, 10], [18, 18, 10])
    with pytest.raises(NoOverlapError, match="patient SYN001, modality MR"):
        register(images["CT"], small, fixed_mask=corner, patient_id="SYN001", modality="MR")


def test_registration_that_does_not_converge(cohort):
    images, _, _ = _case(cohort, "SYN001")
    settings = {"max_iterations": 3, "require_convergence": True}
    expected = "patient SYN001, modality PET: the rigid registration did not converge"
    with pytest.raises(NotConvergedError, match=expected) as caught:
        register(images["CT"], images["PET"], settings=settings, patient_id="SYN001", modality="PET")
    assert (caught.value.patient_id, caught.value.modality) == ("SYN001", "PET")
    kept = register(images["CT"], images["PET"], settings={**settings, "require_convergence": False})
    assert not kept.quality.converged and kept.quality.stages[0].iterations_per_level[-1] == 3


def test_bad_settings_and_inputs():
    with pytest.raises(SpecError, match="did you mean 'histogram_bins'"):
        load_registration_settings({"histogram_bin": 32})
    with pytest.raises(SpecError, match="seed must be at least 1"):
        RegistrationSettings(seed=0)
    with pytest.raises(SpecError, match="one sigma per pyramid level"):
        RegistrationSettings(shrink_factors=(4, 2, 1), smoothing_sigmas_voxels=(1.0, 0.0))
    image = sitk.Image([8, 8, 8], sitk.sitkFloat32)
    with pytest.raises(ValueError, match="kind must be one of"):
        register(image, image, "elastic")
    with pytest.raises(InputError, match="2D"):
        register(sitk.Image([8, 8], sitk.sitkFloat32), image)
    with pytest.raises(InputError, match="not found"):
        register("/nonexistent/fixed.nii.gz", image)
    varied = sitk.GetImageFromArray(np.arange(512, dtype=np.float32).reshape(8, 8, 8))
    with pytest.raises(InputError, match="patient P1, modality PET: the moving image is constant"):
        register(varied, image, patient_id="P1", modality="PET")
    with pytest.raises(InputError, match="not on its image's grid"):
        register(varied, varied, fixed_mask=sitk.Image([4, 4, 4], sitk.sitkUInt8))
