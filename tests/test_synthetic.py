"""The synthetic multimodal cohort: files, grids, determinism, known misalignment, PET columns."""

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import ndimage

from radiomix.preprocess.intensity import normalise_mr
from radiomix.preprocess.suv import suv_image
from radiomix.registration.quality import mask_points
from radiomix.synthetic import load_true_transforms, make_cohort
from radiomix.synthetic.cohort import LATENT_RANGES, MODALITY_GRIDS, design_outcomes, draw_profile

N_PATIENTS = 10


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    manifest_path, clinical_path = make_cohort(out, n_patients=N_PATIENTS, seed=0)
    return out, manifest_path, clinical_path


def test_tables_have_the_documented_columns(cohort):
    out, manifest_path, clinical_path = cohort
    assert manifest_path == out / "manifest.csv" and clinical_path == out / "clinical.csv"
    manifest = pd.read_csv(manifest_path)
    clinical = pd.read_csv(clinical_path)
    assert list(manifest.columns[:5]) == ["patient_id", "modality", "image", "mask", "site"]
    assert {"weight_kg", "injected_dose_bq", "injection_time", "series_time", "half_life_s"} <= set(manifest.columns)
    assert len(manifest) == 3 * N_PATIENTS
    modalities = manifest.groupby("patient_id")["modality"].apply(sorted).map(tuple)
    assert modalities.unique().tolist() == [("CT", "MR", "PET")]
    assert set(manifest["site"]) <= {"A", "B", "C"}
    assert list(clinical.columns) == ["patient_id", "age", "sex", "stage", "outcome"]
    assert sorted(clinical["patient_id"]) == sorted(manifest["patient_id"].unique())
    assert set(clinical["outcome"]) <= {0, 1}
    pet = manifest[manifest["modality"] == "PET"]
    other = manifest[manifest["modality"] != "PET"]
    assert pet[["weight_kg", "injected_dose_bq", "half_life_s"]].notna().all().all()
    assert other[["weight_kg", "injected_dose_bq", "half_life_s"]].isna().all().all()
    assert (pet["half_life_s"] == 6586.2).all()


def test_each_modality_has_its_own_grid_and_a_lesion(cohort):
    _, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    for row in manifest.itertuples():
        image = sitk.ReadImage(row.image)
        mask = sitk.ReadImage(row.mask)
        grid = MODALITY_GRIDS[row.modality]
        assert image.GetSize() == grid.size and np.allclose(image.GetSpacing(), grid.spacing)
        assert mask.GetSize() == image.GetSize() and np.allclose(mask.GetOrigin(), image.GetOrigin())
        voxels = int(sitk.GetArrayViewFromImage(mask).sum())
        assert voxels >= 50, f"{row.patient_id} {row.modality}: lesion of {voxels} voxels"
    spacings = {grid.spacing for grid in MODALITY_GRIDS.values()}
    assert len(spacings) == 3


def test_ct_is_in_hounsfield_units(cohort):
    _, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    ct = sitk.GetArrayFromImage(sitk.ReadImage(manifest[manifest["modality"] == "CT"]["image"].iloc[0]))
    assert ct.min() <= -900 and 500 <= ct.max() <= 3071


def test_known_transform_maps_the_ct_lesion_onto_each_modality_lesion(cohort):
    """The truth file's transform carries the CT lesion's centroid to the MR/PET lesion's centroid."""
    out, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    for patient_id, rows in manifest.groupby("patient_id"):
        masks = {row.modality: sitk.ReadImage(row.mask) for row in rows.itertuples()}
        truth = load_true_transforms(out / "truth" / f"{patient_id}.json")
        assert set(truth) == {"MR", "PET"}
        ct_centre = mask_points(masks["CT"]).mean(axis=0)
        for modality, transform in truth.items():
            moved = np.asarray(transform.TransformPoint(tuple(ct_centre)))
            centre = mask_points(masks[modality]).mean(axis=0)
            # within about half a PET voxel: both masks sample the same lesion
            assert np.linalg.norm(moved - centre) < 2.0, (patient_id, modality)
            untransformed = np.linalg.norm(ct_centre - centre)
            assert untransformed > np.linalg.norm(moved - centre)


def test_same_seed_same_cohort_and_patients_do_not_depend_on_cohort_size(cohort, tmp_path):
    out, _, clinical_path = cohort
    manifest_path, smaller_clinical = make_cohort(tmp_path, n_patients=2, seed=0)
    smaller = pd.read_csv(manifest_path)
    for row in smaller.itertuples():
        again = sitk.GetArrayFromImage(sitk.ReadImage(row.image))
        first = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "images" / row.patient_id / f"{row.modality}.nii.gz")))
        np.testing.assert_array_equal(again, first)
    pd.testing.assert_frame_equal(pd.read_csv(smaller_clinical), pd.read_csv(clinical_path).head(2))
    for patient_id in smaller["patient_id"].unique():
        assert (json.loads((tmp_path / "truth" / f"{patient_id}.json").read_text())
                == json.loads((out / "truth" / f"{patient_id}.json").read_text()))


def test_another_seed_gives_another_cohort(cohort, tmp_path):
    out, _, _ = cohort
    make_cohort(tmp_path, n_patients=1, seed=1)
    other = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "images" / "SYN001" / "CT.nii.gz")))
    first = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "images" / "SYN001" / "CT.nii.gz")))
    assert not np.array_equal(other, first)


def test_pet_manifest_columns_give_plausible_suv(cohort):
    """Bq/ml images + manifest columns -> SUV: soft tissue about 1, lesion a few SUV."""
    _, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    for row in manifest[manifest["modality"] == "PET"].itertuples():
        suv = suv_image(row.image, row.weight_kg, row.injected_dose_bq, row.injection_time, row.half_life_s,
                        series_time=row.series_time, patient_id=row.patient_id)
        values = sitk.GetArrayFromImage(suv)
        lesion = sitk.GetArrayFromImage(sitk.ReadImage(row.mask)) > 0
        body = values > 0.5
        assert 0.6 < np.median(values[body & ~lesion]) < 1.5
        assert 2.5 < values[lesion].mean() < 12.0


def test_outcome_signal_is_split_between_ct_mr_pet_and_clinical():
    """On many drawn profiles, CT attenuation, MR signal, PET uptake and the stage each predict the
    outcome about equally and clearly, together much better than any one (each carries a part of the
    risk of its own); the distractors do not."""
    from sklearn.metrics import roc_auc_score

    profiles = [draw_profile(np.random.default_rng(s)) for s in np.random.SeedSequence(11).spawn(2000)]
    outcome = np.array([p.outcome for p in profiles])
    properties = {
        "CT": np.array([p.latents.ct_lesion_hu for p in profiles]),
        "MR": np.array([p.latents.mr_lesion_intensity for p in profiles]),
        "PET": np.array([p.latents.pet_mean_suv for p in profiles]),
        "clinical": np.array([p.stage for p in profiles], dtype=float),
    }
    sources = {name: roc_auc_score(outcome, values) for name, values in properties.items()}
    fused = roc_auc_score(outcome, sum((v - v.mean()) / v.std() for v in properties.values()))
    oracle = roc_auc_score(outcome, [p.outcome_logit for p in profiles])
    assert all(0.78 < auc < 0.9 for auc in sources.values()), sources
    assert fused > max(sources.values()) + 0.08, (fused, sources)
    assert oracle > max(sources.values()) + 0.08
    distractors = ("pet_heterogeneity", "mr_texture_wavelength_mm", "ct_texture_amplitude_hu",
                   "ct_texture_wavelength_mm")
    for distractor in distractors:
        assert abs(roc_auc_score(outcome, [getattr(p.latents, distractor) for p in profiles]) - 0.5) < 0.05
    for unrelated in ([p.sex == "M" for p in profiles], [p.site == "B" for p in profiles],
                      [p.age for p in profiles]):
        assert abs(roc_auc_score(outcome, unrelated) - 0.5) < 0.05
    assert 0.4 < outcome.mean() < 0.6


def test_lesion_intensity_follows_the_signal_latents(cohort):
    out, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    ct = manifest[manifest["modality"] == "CT"]
    measured, truth = [], []
    for row in ct.itertuples():
        image = sitk.GetArrayFromImage(sitk.ReadImage(row.image)).astype(float)
        interior = ndimage.binary_erosion(sitk.GetArrayFromImage(sitk.ReadImage(row.mask)) > 0)
        measured.append(image[interior].mean())
        latents = json.loads((out / "truth" / f"{row.patient_id}.json").read_text())["latents"]
        truth.append(latents["ct_lesion_hu"])
    # interior mean HU = latent + texture mean (~0) + site offset (-10 to 15 HU) + noise
    assert np.corrcoef(measured, truth)[0, 1] > 0.95
    low, high = LATENT_RANGES["ct_lesion_hu"]
    assert np.abs(np.asarray(measured) - np.asarray(truth)).max() < 0.1 * (high - low)


def test_each_image_measures_its_signal_property_over_the_whole_mask(cohort):
    """The mean over the whole lesion mask (edge voxels included), in each modality's analysis unit
    (HU, MR z-scored within the body, SUV), ranks the patients as their hidden property does: partial
    volume at the lung edge, texture, bias field, site effects and the MR normalisation blur it little."""
    from scipy.stats import spearmanr

    out, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    properties = {"CT": "ct_lesion_hu", "MR": "mr_lesion_intensity", "PET": "pet_mean_suv"}
    for modality, name in properties.items():
        measured, truth = [], []
        for row in manifest[manifest["modality"] == modality].itertuples():
            image = sitk.ReadImage(row.image, sitk.sitkFloat32)
            if modality == "MR":
                image = normalise_mr(image, "zscore", "body")
            elif modality == "PET":
                image = suv_image(row.image, row.weight_kg, row.injected_dose_bq, row.injection_time,
                                  row.half_life_s, series_time=row.series_time, patient_id=row.patient_id)
            lesion = sitk.GetArrayFromImage(sitk.ReadImage(row.mask)) > 0
            measured.append(sitk.GetArrayFromImage(image)[lesion].mean())
            truth.append(json.loads((out / "truth" / f"{row.patient_id}.json").read_text())["latents"][name])
        assert spearmanr(measured, truth)[0] > 0.93, (modality, measured, truth)


def test_cohorts_are_balanced_case_control_samples(cohort):
    _, _, clinical_path = cohort
    outcome = pd.read_csv(clinical_path)["outcome"].to_numpy()
    assert outcome.sum() == N_PATIENTS // 2
    assert (outcome[0::2] + outcome[1::2] == 1).all()  # each pair holds one case and one control
    for n_patients, seed in ((7, 0), (1, 3), (40, 5)):
        design = design_outcomes(n_patients, seed)
        assert abs(2 * sum(design) - n_patients) <= 1
        assert design == design_outcomes(n_patients + 3, seed)[:n_patients]
    orders = {tuple(design_outcomes(6, seed)) for seed in range(8)}
    assert len(orders) > 1  # which member of a pair is the case varies


def test_a_patient_drawn_for_an_outcome_is_a_patient_of_the_population_with_it():
    """Case-control sampling keeps the population's distribution of the risk within each class."""
    from sklearn.metrics import roc_auc_score

    population = [draw_profile(np.random.default_rng(s)) for s in np.random.SeedSequence(21).spawn(3000)]
    by_class = {}
    for outcome in (0, 1):
        drawn = by_class[outcome] = [draw_profile(np.random.default_rng(s), outcome)
                                     for s in np.random.SeedSequence(22 + outcome).spawn(1500)]
        assert {p.outcome for p in drawn} == {outcome}
        among_population = [p.outcome_logit for p in population if p.outcome == outcome]
        among_drawn = [p.outcome_logit for p in drawn]
        # log-odds: standard deviation about 3.6 within a class, standard error of each mean about 0.1
        assert abs(np.mean(among_drawn) - np.mean(among_population)) < 0.5
        assert abs(np.std(among_drawn) - np.std(among_population)) < 0.5
        assert abs(np.mean(among_drawn)) > 3.0  # far from the other class's mean (about -np.mean)
    # drawing until the outcome matches leaves what is drawn afterwards (the distractors) independent of it
    outcome = np.repeat([0, 1], 1500)
    profiles = by_class[0] + by_class[1]
    for distractor in ("pet_heterogeneity", "mr_texture_wavelength_mm", "ct_texture_amplitude_hu"):
        values = [getattr(p.latents, distractor) for p in profiles]
        assert abs(roc_auc_score(outcome, values) - 0.5) < 0.05, distractor  # standard error about 0.01
    for unrelated in ([p.age for p in profiles], [p.sex == "M" for p in profiles]):
        assert abs(roc_auc_score(outcome, unrelated) - 0.5) < 0.05


def test_truth_records_latents_and_site(cohort):
    out, manifest_path, _ = cohort
    manifest = pd.read_csv(manifest_path)
    for patient_id, rows in manifest.groupby("patient_id"):
        truth = json.loads((out / "truth" / f"{patient_id}.json").read_text())
        assert truth["site"] == rows["site"].iloc[0] and truth["reference_modality"] == "CT"
        assert 0.05 <= truth["latents"]["pet_heterogeneity"] <= 0.45
        assert 5.0 <= truth["latents"]["mr_texture_wavelength_mm"] <= 16.0


def test_rejects_an_empty_cohort(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        make_cohort(tmp_path, n_patients=0)
