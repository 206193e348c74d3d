"""Register a patient's modalities, as listed in a cohort manifest, onto its reference modality.

For each moving modality this writes, under ``out_dir/<patient_id>/``:

- ``<MOD>_to_<REF>.tfm``: the ITK transform file (reference points -> modality points);
- ``<MOD>_on_<REF>.nii.gz``: the modality's image on the reference grid (linear);
- ``<MOD>_mask_on_<REF>.nii.gz``: its mask on the reference grid (if the manifest gives one);
- ``<MOD>_to_<REF>.png``: checkerboard and overlay for a person to check;
- ``<MOD>_to_<REF>.json``: quality metrics and the settings used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from radiomix.errors import InputError, UnreadableFileError
from radiomix.preprocess.intensity import n4_bias_correction
from radiomix.registration.core import Kind, RegistrationResult, register
from radiomix.registration.errors import MissingModalityError
from radiomix.registration.figures import save_overlay_figure
from radiomix.registration.resample import resample_image, resample_mask, write_transform
from radiomix.registration.settings import RegistrationSettings, load_registration_settings


@dataclass(frozen=True)
class RegisteredModality:
    """What :func:`register_modality` produced for one patient and moving modality.

    Attributes
    ----------
    patient_id, modality, reference_modality : str
    result : RegistrationResult
    transform_path, image_path, figure_path, quality_path : Path
    mask_path : Path or None
        ``None`` when the manifest gives no mask for the modality.
    """

    patient_id: str
    modality: str
    reference_modality: str
    result: RegistrationResult
    transform_path: Path
    image_path: Path
    mask_path: Path | None
    figure_path: Path
    quality_path: Path


def register_modality(manifest, patient_id: str, modality: str, out_dir, *,
                      reference_modality: str = "CT", kind: Kind = "rigid",
                      settings: RegistrationSettings | Mapping | None = None,
                      bias_correct: Sequence[str] = ("MR",)) -> RegisteredModality:
    """Register one modality of a patient onto the patient's reference modality and write the results.

    Parameters
    ----------
    manifest : str, Path or pandas.DataFrame
        Cohort manifest (``patient_id, modality, image, mask, ...``); relative
        image paths are taken relative to the manifest file's folder.
    patient_id, modality : str
        The case; ``modality`` is the moving image.
    out_dir : str or Path
        Results go to ``out_dir/<patient_id>/`` (see the module docstring).
    reference_modality : str
        The fixed image's modality.
    kind : {"rigid", "affine", "bspline"}
    settings : RegistrationSettings or dict, optional
        ``mask_interpolation`` chooses how the mask is resampled.
    bias_correct : sequence of str
        Modalities whose images are N4 bias-field corrected before the
        transform is searched for (a bias field misleads mutual information by
        up to a few millimetres). The correction serves the registration only:
        the image written on the reference grid is the original.

    Returns
    -------
    RegisteredModality

    Raises
    ------
    MissingModalityError
        The patient has no row for ``modality`` or for ``reference_modality``.
    NoOverlapError, NotConvergedError
        From :func:`~radiomix.registration.register`, naming patient and modality.
    """
    settings = load_registration_settings(settings)
    rows, base = _patient_rows(manifest, patient_id)
    fixed_row = _modality_row(rows, patient_id, reference_modality, base, role="reference")
    moving_row = _modality_row(rows, patient_id, modality, base, role="moving")
    fixed = _read(fixed_row["image"], base)
    moving = _read(moving_row["image"], base)
    fixed_mask = _read_optional(fixed_row.get("mask"), base)
    moving_mask = _read_optional(moving_row.get("mask"), base)
    result, registered, registered_mask = align_modality(
        fixed, moving, moving_mask, reference_modality=reference_modality, modality=modality, kind=kind,
        settings=settings, bias_correct=bias_correct, patient_id=patient_id)

    folder = Path(out_dir) / str(patient_id)
    stem = f"{modality}_to_{reference_modality}"
    transform_path = write_transform(result.transform, folder / f"{stem}.tfm")
    image_path = folder / f"{modality}_on_{reference_modality}.nii.gz"
    sitk.WriteImage(registered, str(image_path), useCompression=True)
    mask_path = None
    if registered_mask is not None:
        mask_path = folder / f"{modality}_mask_on_{reference_modality}.nii.gz"
        sitk.WriteImage(registered_mask, str(mask_path), useCompression=True)
    figure_path = save_overlay_figure(
        fixed, registered, folder / f"{stem}.png", fixed_mask=fixed_mask,
        registered_mask=registered_mask,
        title=f"{patient_id}: {modality} -> {reference_modality} ({kind})")
    quality_path = folder / f"{stem}.json"
    quality_path.write_text(json.dumps({
        "patient_id": str(patient_id), "modality": modality,
        "reference_modality": reference_modality, "kind": kind,
        "transform_convention": f"maps {reference_modality} (fixed) physical points to "
                                f"{modality} (moving) physical points, mm (ITK)",
        "bias_corrected_for_registration": [m for m in (reference_modality, modality) if m in bias_correct],
        "quality": result.quality.to_dict(), "settings": asdict(settings),
    }, indent=2))
    return RegisteredModality(
        patient_id=str(patient_id), modality=modality, reference_modality=reference_modality,
        result=result, transform_path=transform_path, image_path=image_path, mask_path=mask_path,
        figure_path=figure_path, quality_path=quality_path)


def align_modality(fixed: sitk.Image, moving: sitk.Image, moving_mask: sitk.Image | None, *,
                   reference_modality: str, modality: str, kind: Kind = "rigid",
                   settings: RegistrationSettings | None = None, bias_correct: Sequence[str] = ("MR",),
                   patient_id: str | None = None) -> tuple[RegistrationResult, sitk.Image, sitk.Image | None]:
    """Register ``moving`` to ``fixed`` and carry the image and its mask onto the fixed grid.

    Parameters are those of :func:`register_modality`, with the images given
    directly (``moving_mask`` may be None).

    Returns
    -------
    result : RegistrationResult
    registered : SimpleITK.Image
        The (uncorrected) moving image on the fixed grid.
    registered_mask : SimpleITK.Image or None
        The moving mask on the fixed grid (``settings.mask_interpolation``).
    """
    settings = load_registration_settings(settings)
    result = register(_for_registration(fixed, reference_modality, bias_correct),
                      _for_registration(moving, modality, bias_correct), kind, settings,
                      patient_id=patient_id, modality=modality)
    registered = resample_image(moving, fixed, result.transform)
    registered_mask = None
    if moving_mask is not None:
        registered_mask = resample_mask(moving_mask, fixed, result.transform, settings.mask_interpolation)
    return result, registered, registered_mask


def register_patient(manifest, patient_id: str, out_dir, *, reference_modality: str = "CT",
                     modalities: Sequence[str] | None = None, kind: Kind = "rigid",
                     settings: RegistrationSettings | Mapping | None = None,
                     bias_correct: Sequence[str] = ("MR",)) -> list[RegisteredModality]:
    """Register every other modality of a patient onto its reference modality.

    Parameters
    ----------
    modalities : sequence of str, optional
        The moving modalities required (each missing one is an error); default
        every modality of the patient other than the reference.

    Other parameters are as in :func:`register_modality`.

    Raises
    ------
    MissingModalityError
        A required modality, or the reference, is not in the manifest for the patient.
    """
    rows, base = _patient_rows(manifest, patient_id)
    present = list(dict.fromkeys(rows["modality"]))
    _modality_row(rows, patient_id, reference_modality, base, role="reference")
    if modalities is None:
        modalities = [m for m in present if m != reference_modality]
    for modality in modalities:
        _modality_row(rows, patient_id, modality, base, role="moving")
    return [register_modality(manifest, patient_id, modality, out_dir,
                              reference_modality=reference_modality, kind=kind, settings=settings,
                              bias_correct=bias_correct)
            for modality in modalities]


def _for_registration(image: sitk.Image, modality: str, bias_correct: Sequence[str]) -> sitk.Image:
    """``image``, N4 bias-field corrected if its modality is listed in ``bias_correct``."""
    if modality in bias_correct:
        return n4_bias_correction(image)[0]
    return image


def _patient_rows(manifest, patient_id: str) -> tuple[pd.DataFrame, Path | None]:
    """The patient's manifest rows, and the folder relative paths start from (None for a DataFrame)."""
    if isinstance(manifest, pd.DataFrame):
        table, base = manifest, None
    else:
        path = Path(manifest)
        if not path.exists():
            raise UnreadableFileError("manifest not found", path=str(path))
        table, base = pd.read_csv(path, dtype={"patient_id": str}), path.parent
    missing = {"patient_id", "modality", "image"} - set(table.columns)
    if missing:
        raise InputError(f"the manifest lacks the column(s) {sorted(missing)}",
                         path=None if base is None else str(manifest))
    rows = table[table["patient_id"].astype(str) == str(patient_id)]
    if rows.empty:
        raise InputError(f"patient {patient_id} is not in the manifest",
                         path=None if base is None else str(manifest))
    return rows, base


def _modality_row(rows: pd.DataFrame, patient_id: str, modality: str, base, role: str) -> pd.Series:
    """The single manifest row of ``modality`` for the patient."""
    matches = rows[rows["modality"] == modality]
    if matches.empty:
        present = ", ".join(sorted(set(rows["modality"]))) or "none"
        raise MissingModalityError(
            f"no {modality} image in the manifest (the {role} image of the registration); "
            f"this patient has: {present}. Add its row or leave the patient out",
            patient_id=str(patient_id), modality=modality)
    if len(matches) > 1:
        raise InputError(
            f"patient {patient_id}, modality {modality}: {len(matches)} rows in the manifest; "
            "keep one row per patient and modality (or name each MR sequence as its own modality)")
    return matches.iloc[0]


def _resolve(path, base: Path | None) -> Path:
    path = Path(str(path))
    return path if path.is_absolute() or base is None else base / path


def _read(path, base) -> sitk.Image:
    resolved = _resolve(path, base)
    if not resolved.exists():
        raise UnreadableFileError("image not found", path=str(resolved))
    try:
        return sitk.ReadImage(str(resolved))
    except RuntimeError as exc:
        raise UnreadableFileError(f"cannot read the image ({exc})", path=str(resolved)) from exc


def _read_optional(path, base) -> sitk.Image | None:
    """The mask at ``path``, or ``None`` when the manifest cell is empty."""
    if path is None or (isinstance(path, float) and pd.isna(path)) or str(path).strip() == "":
        return None
    return _read(path, base)
