"""The golden cases: inputs and settings whose feature values are frozen in ``tests/golden/``.

Frozen before the one-engine redesign (issue #21) so that every later change of the feature
core can be compared with what the library computed before it. Each case is a function that
returns radiomix's tidy table; ``python tests/golden_cases.py`` recomputes every case and
rewrites ``tests/golden/<case>.csv`` (do that only when a change of values is intended and
explained), and ``tests/test_golden.py`` compares today's values with the frozen ones.

Cases:
- the IBSI digital phantom (its spec) and the CT phantom under configurations A-E;
- every pyradiomics baseline configuration (brain1, breast1; the harness of
  ``test_pyradiomics_baseline.py``), each feature class group as that test extracts it;
- the prostate phantom with pyradiomics' Original + LoG (sigma 1, 3 mm) + Wavelet image types;
- the IBSI-2 phase-2 configurations 1A-7A (2D filters, no interpolation) on the CT phantom;
- the PET and MR of one real sarcoma patient (DICOM + RTSTRUCT) with the cohort specs;
- three random volumes (anisotropic voxels, a lumpy ROI) under the digital-phantom spec,
  configuration C and pyradiomics' defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from conftest import REPO_ROOT, data_root  # noqa: E402

GOLDEN = TESTS / "golden"
SPECS = REPO_ROOT / "feature_specs"
PHASE2_CHEAP = ("1A", "2A", "3A", "4A", "5A", "6A", "7A")
"""Phase-2 configurations without interpolation (2D filters): a few seconds each on the CT phantom."""
PROSTATE_PARAMETERS = {
    "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}},
    "featureClass": {name: [] for name in
                     ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
    "setting": {"binWidth": 25, "label": 1},
}


def _extract(image, mask, spec, **options) -> pd.DataFrame:
    import radiomix

    return radiomix.extract_features(image, mask, spec, **options)


def _every_ibsi_morphology_feature(spec_path: Path):
    """The spec of ``spec_path`` with the morphology features IBSI gives no reference value added.

    The oriented box and enclosing ellipsoid densities are opt-in since they were frozen; the cases
    still compare them. A pyradiomics parameter file, or a spec without morphology, is returned as loaded.
    """
    import dataclasses

    from radiomix.features.morphology import UNREFERENCED_KEYS
    from radiomix.spec import Spec, load_spec

    spec = load_spec(spec_path)
    if not isinstance(spec, Spec) or spec.features.morphology is None:
        return spec
    morphology = dataclasses.replace(spec.features.morphology, unreferenced_ibsi_features=UNREFERENCED_KEYS)
    return dataclasses.replace(spec, features=dataclasses.replace(spec.features, morphology=morphology))


def _random_volume(seed: int, low: int, high: int) -> tuple[sitk.Image, sitk.Image]:
    """A random integer image in [low, high) (12 x 14 x 10 voxels, 1.0 x 1.2 x 2.0 mm), a lumpy ROI."""
    rng = np.random.default_rng(seed)
    shape = (10, 14, 12)  # z, y, x
    intensity = rng.integers(low, high, size=shape).astype(np.float64)
    z, y, x = np.indices(shape)
    centre = np.array(shape) / 2.0 + rng.uniform(-1, 1, 3)
    distance = np.sqrt(((z - centre[0]) * 2.0) ** 2 + ((y - centre[1]) * 1.2) ** 2 + (x - centre[2]) ** 2)
    roi = (distance < 6.0 + rng.normal(0, 0.8, shape)).astype(np.uint8)
    image = sitk.GetImageFromArray(intensity)
    mask = sitk.GetImageFromArray(roi)
    for item in (image, mask):
        item.SetSpacing((1.0, 1.2, 2.0))
        item.SetOrigin((-3.0, 4.5, 10.0))
    return image, mask


def _pyradiomics_baselines() -> dict[str, Callable[[], pd.DataFrame]]:
    from test_pyradiomics_baseline import CONFIGURATIONS, _configuration_id, case_images, parameters

    from radiomix.pyradiomics import mapping

    cases = {}
    for configuration in CONFIGURATIONS:
        groups = ([c for c in configuration.classes if c not in mapping.SHAPE_CLASSES],
                  [c for c in configuration.classes if c in mapping.SHAPE_CLASSES])
        for index, group in enumerate(g for g in groups if g):
            name = f"pyradiomics_{_configuration_id(configuration)}_{index}"
            name = name.replace("[", "_").replace("]", "").replace(",", "-")

            def case(configuration=configuration, group=group):
                image, mask = case_images(configuration)
                return _extract(image, mask, parameters(configuration, group))
            cases[name] = case
    return cases


def golden_cases() -> dict[str, Callable[[], pd.DataFrame]]:
    """Case name -> function computing its table; only cases whose data are present."""
    root = data_root()
    cases: dict[str, Callable[[], pd.DataFrame]] = {}
    phantom = root / "ibsi" / "digital_phantom"
    if phantom.is_dir():
        cases["ibsi_digital_phantom"] = lambda: _extract(
            str(phantom / "image.nii.gz"), str(phantom / "mask.nii.gz"),
            _every_ibsi_morphology_feature(SPECS / "ibsi" / "digital_phantom.yaml"))
    ct = root / "ibsi" / "ct_phantom" / "nifti"
    if ct.is_dir():
        for config in "ABCDE":
            cases[f"ibsi_ct_phantom_config_{config}"] = lambda config=config: _extract(
                str(ct / "image.nii.gz"), str(ct / "mask.nii.gz"),
                _every_ibsi_morphology_feature(SPECS / "ibsi" / f"config_{config}.yaml"))
        for config in PHASE2_CHEAP:
            cases[f"ibsi2_phase2_{config}"] = lambda config=config: _extract(
                str(ct / "image.nii.gz"), str(ct / "mask.nii.gz"),
                SPECS / "ibsi2" / "phase2" / f"config_{config}.yaml")
    if (root / "pyradiomics" / "baseline").is_dir():
        cases.update(_pyradiomics_baselines())
    prostate = root / "pyradiomics" / "cases"
    if (prostate / "prostate_phantom_image.nrrd").exists():
        cases["pyradiomics_prostate_original_log_wavelet"] = lambda: _extract(
            str(prostate / "prostate_phantom_image.nrrd"), str(prostate / "prostate_phantom_label.nrrd"),
            PROSTATE_PARAMETERS)
    patient = root / "sts_dicom" / "STS_003"
    if patient.is_dir():
        for folder, spec, roi in (("PET", "pet.yaml", "GTV_Mass_PET"), ("MR_T1", "mr.yaml", "GTV_Mass_MR_T1")):
            cases[f"sts_003_{folder.lower()}"] = lambda folder=folder, spec=spec, roi=roi: _extract(
                str(patient / folder / "image"), str(patient / folder / "mask" / "RS.dcm"),
                _every_ibsi_morphology_feature(SPECS / spec), roi=roi)
    for seed in (1, 2, 3):
        for label, spec, low, high in (
                ("digital_phantom_spec", SPECS / "ibsi" / "digital_phantom.yaml", 1, 7),
                ("config_C", SPECS / "ibsi" / "config_C.yaml", -50, 200),
                ("pyradiomics_default", SPECS / "pyradiomics_default.yaml", -50, 200)):
            cases[f"random_{seed}_{label}"] = lambda seed=seed, spec=spec, low=low, high=high: _extract(
                *_random_volume(seed, low, high), _every_ibsi_morphology_feature(spec))
    return cases


def frozen_path(name: str) -> Path:
    return GOLDEN / f"{name}.csv"


def freeze(names=None) -> None:
    """Recompute the golden cases (all, or ``names``) and write their tables."""
    GOLDEN.mkdir(exist_ok=True)
    for name, compute in golden_cases().items():
        if names and name not in names:
            continue
        table = compute()[["feature", "value", "status"]]
        table.to_csv(frozen_path(name), index=False, float_format="%.17g")
        print(f"{name}: {len(table)} values", flush=True)


if __name__ == "__main__":
    freeze(sys.argv[1:])
