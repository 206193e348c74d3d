"""Synthetic multimodal cohort: CT, MR and PET of one synthetic anatomy per patient.

Each patient gets a CT (the reference, in HU), an MR (arbitrary units, with a
bias field) and a PET (activity concentration in Bq/ml, no header: the SUV
parameters are in the manifest), each on its own grid with its own voxel size,
and a lesion mask on each grid. MR and PET are misaligned from the CT by a
known random rigid transform; three sites differ in intensity scale and
offset, noise and resolution.

The signal (documented once, here and in :func:`draw_profile`): the binary
``outcome`` depends on a risk split across four sources. Each source shows one
hidden property (:class:`PatientLatents`, ranges in :data:`LATENT_RANGES`);
standardised, a property is ``z = sqrt(c) a + sqrt(1 - c) e``: a lesion
``aggressiveness`` ``a`` shared by the four sources and a part ``e`` of its own
(both standard normal, ``c`` = :data:`SIGNAL_SHARED_VARIANCE` = 0.4, the
correlation between two sources). The risk is the standardised sum of the four
``z`` and the outcome is Bernoulli with log-odds :data:`OUTCOME_LOG_ODDS` (6)
times the risk, so each source carries a part of the risk that no other source
shows:

======== ===================================== ===============================================
source   hidden property                       features that carry it
======== ===================================== ===============================================
CT       lesion attenuation, -450 HU (ground-  CT intensity level: first-order, histogram and
         glass) to 50 HU (solid)               level-dependent texture features of the CT
MR       lesion signal intensity, 350 (that    MR intensity level of the lesion relative to the
         of soft tissue) to 1050 (a.u.)        body (z-scored first-order and level-dependent
                                               texture features)
PET      lesion mean uptake, SUV 4 to 9        PET uptake level: SUV mean, peak, percentiles
clinical disease extent, read as the stage     the clinical column ``stage`` (1-4)
======== ===================================== ===============================================

The images measure these properties as a scanner would: each range is wide
against what blurs a lesion's mean over its mask (partial volume with the lung
at the lesion's edge, the lesion texture, site calibration and noise, the MR
bias field), and the MR tissue contrast (fat 520, soft tissue 350, lung 40)
lets a body mask separate the body from the air, so that the MR z-score within
the body keeps the lesion's signal. The mean over the lesion mask ranks the
patients as the property does (Spearman about 0.97 to 0.99 in CT, MR z-scores
and PET SUV).

Design: the cohort is a balanced case-control sample (:func:`design_outcomes`):
patients come in pairs, one with the outcome and one without, each drawn from
the population conditional on its outcome. The population's prevalence is 50 %
(the risk is symmetric about 0), so the sample has the population's
event rate and, at 40 patients, 20 events: the evaluation keeps 4 outer folds
of 5 events each (an unbalanced draw such as 13/27 would reduce it to 2).

Each property alone predicts the outcome with an AUROC of about 0.84 (stage,
being coarse, about 0.82); the four together reach about 0.97. These are
population values; at 40 patients (20 events) each single source's AUROC varies
by about 0.065 (standard deviation over seeds), and the sum of the four
standardised properties beats the best single one in 99 cohorts out of 100
(mean difference 0.08): a model fusing the four sources can beat each one.
Nothing else depends on the outcome: lesion size, age, sex, site, CT and MR
texture and PET heterogeneity are drawn independently of it (distractors), so
no other feature carries it (features computed from a signal-bearing intensity, such as CT
texture on a fixed-bin-size grey-level grid, share that source's signal).

Everything is deterministic per seed, and patient ``i`` does not depend on
``n_patients`` (each patient draws from its own spawned random stream).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage, stats

from radiomix.synthetic.anatomy import (
    AIR,
    BONE,
    FAT,
    HEART,
    LESION,
    LIVER,
    LUNG,
    SOFT,
    Anatomy,
    Grid,
    RandomField,
    draw_anatomy,
)

MODALITY_GRIDS = {
    "CT": Grid.centred((64, 64, 32), (2.0, 2.0, 3.0)),
    "MR": Grid.centred((56, 56, 30), (2.4, 2.4, 3.3)),
    "PET": Grid.centred((40, 40, 24), (3.4, 3.4, 4.0)),
}
"""Each modality's voxel grid (size and spacing along x, y, z; all centred on the origin)."""

SUBDIVISIONS = {"CT": (2, 2, 3), "MR": (2, 2, 3), "PET": (3, 3, 3)}
"""Sub-voxels per voxel (x, y, z) averaged where tissues meet (partial volume)."""

REFERENCE_MODALITY = "CT"

TISSUE_INTENSITY = {
    "CT": {AIR: -1000.0, FAT: -90.0, SOFT: 40.0, LUNG: -820.0, BONE: 650.0, HEART: 45.0,
           LIVER: 60.0},
    "MR": {AIR: 0.0, FAT: 520.0, SOFT: 350.0, LUNG: 40.0, BONE: 120.0, HEART: 200.0,
           LIVER: 250.0},
    "PET": {AIR: 0.0, FAT: 0.4, SOFT: 0.9, LUNG: 0.35, BONE: 1.4, HEART: 3.0, LIVER: 2.2},
}
"""Mean intensity of each tissue: CT in HU, MR in arbitrary units, PET in SUV.

The lesion's mean intensity in each modality is the patient's own (:class:`PatientLatents`)."""

LATENT_RANGES = {"ct_lesion_hu": (-450.0, 50.0), "mr_lesion_intensity": (350.0, 1050.0),
                 "pet_mean_suv": (4.0, 9.0)}
"""Ranges of the three imaging signal properties (HU, MR arbitrary units, SUV); each is uniform on its range."""
STAGE_PROBABILITIES = (0.2, 0.3, 0.3, 0.2)
"""Proportion of patients at stage 1, 2, 3 and 4."""
OUTCOME_LOG_ODDS = 6.0
"""Log-odds of the outcome per standard deviation of its risk (the standardised sum of the four signal properties)."""
SIGNAL_SHARED_VARIANCE = 0.4
"""Share of the variance of each source's standardised signal property due to the shared aggressiveness
(the correlation between any two sources' properties); the rest is the source's own part of the risk."""
DESIGN_STREAM = 0xCA5E
"""Entropy, beside the seed, of the stream that orders each pair's case and control."""
LESION_RADIUS_MM = (10.0, 16.0)
"""Uniform range of the lesion radius (mm), independent of the outcome and of the stage."""

F18_HALF_LIFE_S = 6586.2
"""Half-life of fluorine-18 (s)."""

MAX_ROTATION_DEG = 6.0
MAX_TRANSLATION_MM = 8.0
"""Largest rotation about each axis (degrees) and shift along each axis (mm) of a true misalignment."""

MR_TEXTURE_AMPLITUDE = 60.0
"""Standard deviation of the MR lesion texture (arbitrary units; the lesion's mean is 450 to 850)."""
PET_TEXTURE_WAVELENGTH_MM = 16.0
"""Wavelength of the PET lesion uptake pattern (mm); its amplitude is the patient's heterogeneity."""


@dataclass(frozen=True)
class SiteEffects:
    """How one site's scanners differ.

    Attributes
    ----------
    ct_offset_hu, ct_scale : float
        CT calibration: ``HU_site = ct_scale * HU + ct_offset_hu``.
    ct_noise_hu, ct_blur_mm : float
        CT noise standard deviation (HU) and Gaussian blur sigma (mm).
    mr_scale, mr_offset : float
        MR intensity scaling (arbitrary units).
    mr_noise, mr_blur_mm, mr_bias_amplitude : float
        MR (Rician) noise level, blur sigma (mm) and bias-field amplitude (log scale).
    pet_calibration : float
        Multiplicative activity calibration error.
    pet_noise, pet_fwhm_mm : float
        PET noise level (SUV**0.5) and resolution (full width at half maximum, mm).
    """

    ct_offset_hu: float
    ct_scale: float
    ct_noise_hu: float
    ct_blur_mm: float
    mr_scale: float
    mr_offset: float
    mr_noise: float
    mr_blur_mm: float
    mr_bias_amplitude: float
    pet_calibration: float
    pet_noise: float
    pet_fwhm_mm: float


SITES = {
    "A": SiteEffects(0.0, 1.00, 12.0, 0.8, 1.0, 0.0, 12.0, 1.0, 0.06, 1.00, 0.10, 6.0),
    "B": SiteEffects(15.0, 1.02, 20.0, 1.2, 1.6, 30.0, 25.0, 1.5, 0.10, 1.10, 0.18, 8.0),
    "C": SiteEffects(-10.0, 0.98, 8.0, 0.6, 0.7, -10.0, 8.0, 0.8, 0.03, 0.92, 0.06, 5.0),
}
"""Scanner effects of the three synthetic sites."""


@dataclass(frozen=True)
class PatientLatents:
    """The hidden lesion properties: what the images show, and the aggressiveness the sources share.

    Attributes
    ----------
    ct_lesion_hu : float
        Mean lesion attenuation (HU; carries a part of the outcome's risk).
    mr_lesion_intensity : float
        Mean lesion MR signal (arbitrary units, before the site's scaling; carries a part of the risk).
    pet_mean_suv : float
        Mean lesion SUV (carries a part of the risk).
    pet_heterogeneity : float
        Relative standard deviation of lesion uptake (unrelated to the outcome).
    mr_texture_wavelength_mm : float
        Wavelength of the MR lesion texture: larger is coarser (unrelated to the outcome).
    ct_texture_amplitude_hu, ct_texture_wavelength_mm : float
        CT lesion texture (unrelated to the outcome).
    aggressiveness : float
        Standard normal, shared by the four signal properties (CT attenuation,
        MR signal, PET uptake, stage), each of which adds a part of its own; not
        shown in any image. The outcome's log-odds are proportional to the sum
        of the four (standardised), recorded as ``outcome_logit``.
    """

    pet_heterogeneity: float
    mr_texture_wavelength_mm: float
    pet_mean_suv: float
    ct_texture_amplitude_hu: float
    ct_texture_wavelength_mm: float
    ct_lesion_hu: float
    mr_lesion_intensity: float
    aggressiveness: float


@dataclass(frozen=True)
class PatientProfile:
    """A patient's non-image data.

    Attributes
    ----------
    site : str
        Key of :data:`SITES`.
    age : int
        Years.
    sex : str
        ``F`` or ``M``.
    stage : int
        1 to 4 (not related to the lesion size; carries a part of the risk).
    latents : PatientLatents
    outcome_logit : float
        Log-odds of the outcome.
    outcome : int
        0 or 1.
    """

    site: str
    age: int
    sex: str
    stage: int
    latents: PatientLatents
    outcome_logit: float
    outcome: int


def make_cohort(out_dir, n_patients: int = 40, seed: int = 0) -> tuple[Path, Path]:
    """Write a synthetic multimodal cohort.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if needed). Holds ``manifest.csv``,
        ``clinical.csv``, ``images/<patient>/{CT,MR,PET}{,_mask}.nii.gz`` and
        ``truth/<patient>.json`` (true misalignments and latent lesion properties).
    n_patients : int
        Number of patients (at least 1).
    seed : int
        Random seed; the same seed writes the same cohort.

    Returns
    -------
    manifest_path, clinical_path : Path
        ``manifest.csv`` (``patient_id, modality, image, mask, site, weight_kg,
        injected_dose_bq, injection_time, series_time, half_life_s``; PET
        columns empty for CT and MR; paths absolute) and ``clinical.csv``
        (``patient_id, age, sex, stage, outcome``).

    Notes
    -----
    ``truth/<patient>.json`` holds, per moving modality, the rigid transform
    mapping CT (fixed) physical points to that modality's physical points (ITK
    convention); :func:`load_true_transforms` turns it into SimpleITK transforms.
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    out_dir = Path(out_dir).resolve()
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    manifest_rows, clinical_rows = [], []
    streams = np.random.SeedSequence(seed).spawn(n_patients)
    outcomes = design_outcomes(n_patients, seed)
    for index, (stream, outcome) in enumerate(zip(streams, outcomes)):
        patient_id = f"SYN{index + 1:03d}"
        rows, clinical = _write_patient(out_dir, patient_id, np.random.default_rng(stream), outcome)
        manifest_rows.extend(rows)
        clinical_rows.append(clinical)
    manifest_path = out_dir / "manifest.csv"
    clinical_path = out_dir / "clinical.csv"
    pd.DataFrame(manifest_rows).to_csv(manifest_path, index=False)
    pd.DataFrame(clinical_rows).to_csv(clinical_path, index=False)
    return manifest_path, clinical_path


def load_true_transforms(truth_path) -> dict[str, sitk.Euler3DTransform]:
    """The true CT-to-modality transforms stored in a ``truth/<patient>.json`` file.

    Returns
    -------
    dict
        Modality -> transform mapping CT (fixed) physical points to that
        modality's physical points (ITK convention).
    """
    truth = json.loads(Path(truth_path).read_text())
    transforms = {}
    for modality, params in truth["transforms"].items():
        transform = sitk.Euler3DTransform()
        transform.SetCenter(params["center_mm"])
        transform.SetRotation(*params["angles_rad"])
        transform.SetTranslation(params["translation_mm"])
        transforms[modality] = transform
    return transforms


def draw_profile(rng: np.random.Generator, outcome: int | None = None) -> PatientProfile:
    """Draw a patient's site, clinical covariates, hidden lesion properties and outcome.

    The four sources' signal properties, standardised, are ``z_j = sqrt(c) a +
    sqrt(1 - c) e_j``: a standard normal aggressiveness ``a`` that they share and
    a standard normal part ``e_j`` of their own, ``c`` =
    :data:`SIGNAL_SHARED_VARIANCE` (their correlation). The outcome's risk is
    their standardised sum ``R = sum_j z_j / sqrt(4 (1 + 3 c))`` (standard
    normal) and the outcome is Bernoulli with log-odds ``k R``, ``k`` =
    :data:`OUTCOME_LOG_ODDS`. Each ``z_j`` is mapped through the normal
    distribution function onto its range: uniform on :data:`LATENT_RANGES` for CT
    attenuation, MR signal and PET uptake, and onto stage 1-4 with
    :data:`STAGE_PROBABILITIES` for the clinical source. Age, sex and site are
    independent of the outcome. This is the first thing drawn from a patient's
    random stream.

    Parameters
    ----------
    rng : numpy.random.Generator
        The patient's own random stream.
    outcome : {0, 1} or None
        ``None``: a patient of the population. 0 or 1: a patient of the
        population conditional on that outcome (case-control sampling):
        properties and outcome are drawn until the outcome is the one asked
        for, so the properties follow their distribution among patients with
        that outcome.
    """
    site = str(rng.choice(sorted(SITES)))
    age = int(np.clip(np.rint(rng.normal(65.0, 9.0)), 35, 90))
    sex = str(rng.choice(["F", "M"]))
    while True:
        aggressiveness = rng.normal()
        standardised = (np.sqrt(SIGNAL_SHARED_VARIANCE) * aggressiveness
                        + np.sqrt(1.0 - SIGNAL_SHARED_VARIANCE) * rng.normal(size=4))
        risk = standardised.sum() / np.sqrt(4.0 * (1.0 + 3.0 * SIGNAL_SHARED_VARIANCE))
        outcome_logit = OUTCOME_LOG_ODDS * risk
        drawn = int(rng.uniform() < 1.0 / (1.0 + np.exp(-outcome_logit)))
        if outcome is None or drawn == outcome:
            break
    measured = stats.norm.cdf(standardised)
    ct_level, mr_level, pet_level, stage_level = (float(q) for q in measured)
    stage = int(np.searchsorted(np.cumsum(STAGE_PROBABILITIES)[:-1], stage_level)) + 1
    latents = PatientLatents(
        pet_heterogeneity=rng.uniform(0.05, 0.45),
        mr_texture_wavelength_mm=rng.uniform(5.0, 16.0),
        pet_mean_suv=_on_range(pet_level, "pet_mean_suv"),
        ct_texture_amplitude_hu=rng.uniform(8.0, 30.0),
        ct_texture_wavelength_mm=rng.uniform(5.0, 15.0),
        ct_lesion_hu=_on_range(ct_level, "ct_lesion_hu"),
        mr_lesion_intensity=_on_range(mr_level, "mr_lesion_intensity"),
        aggressiveness=float(aggressiveness),
    )
    return PatientProfile(site, age, sex, stage, latents, float(outcome_logit), drawn)


def design_outcomes(n_patients: int, seed: int) -> list[int]:
    """The outcome of each patient of a balanced (case-control) cohort.

    Patients come in pairs (SYN001-SYN002, SYN003-SYN004, ...): one case
    (outcome 1) and one control, which of the two is the case being a coin
    flip of the pair, drawn from a stream of its own. Patient ``i``'s outcome
    does not depend on ``n_patients``; an odd cohort's last patient is the
    first of an incomplete pair.
    """
    n_pairs = (n_patients + 1) // 2
    first_is_case = np.random.default_rng(np.random.SeedSequence([DESIGN_STREAM, seed])).random(n_pairs) < 0.5
    return [int(first_is_case[i // 2]) if i % 2 == 0 else int(not first_is_case[i // 2])
            for i in range(n_patients)]


def _on_range(quantile: float, name: str) -> float:
    """The value of a signal property at a quantile of its uniform distribution on its range."""
    low, high = LATENT_RANGES[name]
    return low + quantile * (high - low)


def _write_patient(out_dir: Path, patient_id: str, rng: np.random.Generator, outcome: int):
    """Draw and write one patient with the given outcome; return its manifest rows and clinical row."""
    profile = draw_profile(rng, outcome)
    site, stage, latents = profile.site, profile.stage, profile.latents
    effects = SITES[site]
    anatomy = draw_anatomy(rng, lesion_radius_mm=rng.uniform(*LESION_RADIUS_MM))
    textures = {
        "CT": RandomField.draw(rng, latents.ct_texture_wavelength_mm),
        "MR": RandomField.draw(rng, latents.mr_texture_wavelength_mm),
        "PET": RandomField.draw(rng, PET_TEXTURE_WAVELENGTH_MM),
    }
    transforms = {"CT": sitk.Euler3DTransform()}
    for modality in ("MR", "PET"):
        transforms[modality] = _random_rigid(rng)
    pet = _pet_acquisition(rng)

    folder = out_dir / "images" / patient_id
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for modality in ("CT", "MR", "PET"):
        grid = MODALITY_GRIDS[modality]
        tissue_image, lesion_fraction = _voxel_means(
            anatomy, grid, transforms[modality], SUBDIVISIONS[modality],
            functools.partial(_tissue_values, modality, latents, textures[modality]))
        mask = lesion_fraction >= 0.5
        image = _scanner(modality, tissue_image, grid, effects, pet, rng)
        image_path, mask_path = folder / f"{modality}.nii.gz", folder / f"{modality}_mask.nii.gz"
        pixel_type = sitk.sitkInt16 if modality == "CT" else sitk.sitkFloat32
        sitk.WriteImage(_to_image(image, grid, pixel_type), str(image_path), useCompression=True)
        sitk.WriteImage(_to_image(mask.astype(np.uint8), grid, sitk.sitkUInt8), str(mask_path),
                        useCompression=True)
        row = {"patient_id": patient_id, "modality": modality, "image": str(image_path),
               "mask": str(mask_path), "site": site, "weight_kg": None, "injected_dose_bq": None,
               "injection_time": None, "series_time": None, "half_life_s": None}
        if modality == "PET":
            row.update(weight_kg=pet["weight_kg"], injected_dose_bq=pet["injected_dose_bq"],
                       injection_time=pet["injection_time"], series_time=pet["series_time"],
                       half_life_s=F18_HALF_LIFE_S)
        rows.append(row)

    truth = {
        "patient_id": patient_id,
        "site": site,
        "reference_modality": REFERENCE_MODALITY,
        "convention": "each transform maps CT (fixed) physical points (mm) to the modality's "
                      "physical points (ITK convention); Euler angles applied Z, X, Y about center",
        "transforms": {m: {"type": "Euler3DTransform", "center_mm": list(t.GetCenter()),
                           "angles_rad": [t.GetAngleX(), t.GetAngleY(), t.GetAngleZ()],
                           "translation_mm": list(t.GetTranslation())}
                       for m, t in transforms.items() if m != REFERENCE_MODALITY},
        "lesion_centre_mm": list(anatomy.lesion.centre),  # in CT physical coordinates
        "lesion_radius_mm": anatomy.lesion.radius_mm,
        "latents": dataclasses.asdict(latents),
        "outcome_logit": profile.outcome_logit,
    }
    (out_dir / "truth" / f"{patient_id}.json").write_text(json.dumps(truth, indent=2))
    clinical = {"patient_id": patient_id, "age": profile.age, "sex": profile.sex, "stage": stage,
                "outcome": profile.outcome}
    return rows, clinical


def _random_rigid(rng: np.random.Generator) -> sitk.Euler3DTransform:
    """A rigid transform with rotations up to MAX_ROTATION_DEG and shifts up to MAX_TRANSLATION_MM."""
    transform = sitk.Euler3DTransform()
    angles = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, size=3))
    transform.SetRotation(*(float(a) for a in angles))
    transform.SetTranslation([float(t) for t in rng.uniform(-MAX_TRANSLATION_MM, MAX_TRANSLATION_MM, 3)])
    return transform


def _anatomy_points(points: np.ndarray, fixed_to_moving: sitk.Euler3DTransform) -> np.ndarray:
    """Anatomy (CT) positions ``T^-1(p)`` of a modality's physical points ``p`` (shape ``(..., 3)``)."""
    matrix = np.asarray(fixed_to_moving.GetMatrix()).reshape(3, 3)
    centre = np.asarray(fixed_to_moving.GetCenter())
    translation = np.asarray(fixed_to_moving.GetTranslation())
    return ((points - (centre + translation)) @ matrix + centre).astype(np.float32)


def _pet_acquisition(rng: np.random.Generator) -> dict:
    """Patient weight, injected dose, injection and series start times of a PET scan."""
    weight_kg = float(np.clip(np.round(rng.normal(75.0, 12.0), 1), 45.0, 120.0))
    dose_bq = float(np.round(weight_kg * rng.uniform(3.0e6, 4.0e6), -5))
    injection = (datetime(2023, 1, 2, 7, 30) + timedelta(days=int(rng.integers(0, 365)),
                                                         seconds=int(rng.integers(0, 6 * 3600))))
    series = injection + timedelta(seconds=int(rng.integers(50 * 60, 75 * 60)))
    return {"weight_kg": weight_kg, "injected_dose_bq": dose_bq,
            "injection_time": injection.isoformat(), "series_time": series.isoformat()}


def _voxel_means(anatomy: Anatomy, grid: Grid, fixed_to_moving: sitk.Euler3DTransform,
                 subdivisions: tuple[int, int, int], values_of) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume image of a modality: each voxel's mean tissue value, and its lesion fraction.

    A voxel is sampled at its centre; a voxel where tissues meet (its 3x3x3
    neighbourhood holds several tissues at voxel centres) is sampled at its
    sub-voxel centres instead and the samples averaged.

    Parameters
    ----------
    values_of : callable
        ``values_of(labels, anatomy_points) -> values`` for flat arrays of samples.

    Returns
    -------
    image, lesion_fraction : ndarray (z, y, x)
    """
    shape = grid.size[::-1]
    centres = _anatomy_points(grid.points().reshape(-1, 3), fixed_to_moving)
    labels = anatomy.labels(centres)
    image = values_of(labels, centres)
    lesion_fraction = (labels == LESION).astype(float)
    label_volume = labels.reshape(shape)
    boundary = (ndimage.maximum_filter(label_volume, size=3)
                != ndimage.minimum_filter(label_volume, size=3)).ravel()
    matrix = np.asarray(fixed_to_moving.GetMatrix()).reshape(3, 3)
    offsets = (grid.subvoxel_offsets(subdivisions) @ matrix).astype(np.float32)
    fine_points = centres[boundary][:, None, :] + offsets[None, :, :]
    fine_labels = anatomy.labels(fine_points)
    image[boundary] = values_of(fine_labels.ravel(), fine_points.reshape(-1, 3)).reshape(
        fine_labels.shape).mean(axis=1)
    lesion_fraction[boundary] = (fine_labels == LESION).mean(axis=1)
    return image.reshape(shape), lesion_fraction.reshape(shape)


def _tissue_values(modality: str, latents: PatientLatents, texture: RandomField,
                   labels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Noise-free intensity of each sample: its tissue's value, plus the lesion texture."""
    values = np.zeros(labels.shape)
    for tissue, value in TISSUE_INTENSITY[modality].items():
        values[labels == tissue] = value
    lesion = labels == LESION
    lesion_texture = texture(points[lesion])
    if modality == "CT":
        values[lesion] = latents.ct_lesion_hu + latents.ct_texture_amplitude_hu * lesion_texture
    elif modality == "MR":
        values[lesion] = latents.mr_lesion_intensity + MR_TEXTURE_AMPLITUDE * lesion_texture
    else:
        values[lesion] = latents.pet_mean_suv * np.maximum(
            1.0 + latents.pet_heterogeneity * lesion_texture, 0.1)
    return values


def _scanner(modality: str, image: np.ndarray, grid: Grid, effects: SiteEffects, pet: dict,
             rng: np.random.Generator) -> np.ndarray:
    """What a site's scanner makes of a noise-free image: blur, calibration, bias field, noise.

    Returns CT in HU, MR in arbitrary units, PET in Bq/ml (array (z, y, x)).
    """
    spacing_zyx = np.asarray(grid.spacing[::-1])
    if modality == "CT":
        image = ndimage.gaussian_filter(image, effects.ct_blur_mm / spacing_zyx)
        image = effects.ct_scale * image + effects.ct_offset_hu
        image += rng.normal(0.0, effects.ct_noise_hu, size=image.shape)
        return np.rint(np.clip(image, -1024.0, 3071.0))
    if modality == "MR":
        image = ndimage.gaussian_filter(image, effects.mr_blur_mm / spacing_zyx)
        bias = RandomField.draw(rng, 250.0, n_waves=4)(grid.points()).reshape(image.shape)
        image = image * np.exp(effects.mr_bias_amplitude * bias)
        image = effects.mr_scale * image + effects.mr_offset
        noise = rng.normal(0.0, effects.mr_noise, size=(2,) + image.shape)
        return np.hypot(image + noise[0], noise[1])
    suv = np.maximum(image + rng.normal(size=image.shape) * effects.pet_noise * np.sqrt(image), 0.0)
    suv = ndimage.gaussian_filter(suv, effects.pet_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / spacing_zyx)
    delay_s = (datetime.fromisoformat(pet["series_time"])
               - datetime.fromisoformat(pet["injection_time"])).total_seconds()
    decayed_dose = pet["injected_dose_bq"] * 2.0 ** (-delay_s / F18_HALF_LIFE_S)
    return suv * decayed_dose / (pet["weight_kg"] * 1000.0) * effects.pet_calibration


def _to_image(array: np.ndarray, grid: Grid, pixel_type: int) -> sitk.Image:
    """A SimpleITK image of ``array`` (z, y, x) on ``grid``."""
    image = sitk.Cast(sitk.GetImageFromArray(array.astype(np.float64)), pixel_type)
    image.SetSpacing(grid.spacing)
    image.SetOrigin(grid.origin)
    return image
