"""The stages of one case (patient x modality) of a cohort run.

Each stage takes the records of the stages it depends on and returns its own
:class:`~radiomix.cohort.records.StageRecord`. :func:`run_stage` passes on the
failure of an earlier stage and turns any exception of the stage into a failed
record, so that one bad case never stops the cohort:

* an input problem (a :class:`~radiomix.errors.RadiomixError`, or an ``OSError``
  such as a permission or disk problem) is recorded with its type and message;
* anything else is a bug in radiomix: it is recorded as one, its message starting
  with ``bug in radiomix``, naming the case's image and mask, with the exception
  type and its traceback in the record's ``details["traceback"]``, and logged, so it
  is visible in ``failures.csv`` and never swallowed.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix import io
from radiomix.cohort.records import StageRecord
from radiomix.errors import InputError, RadiomixError
from radiomix.extract import extract_features
from radiomix.io.atomic import atomic_path, write_csv_atomic, write_text_atomic
from radiomix.io.dicom_index import frame_of_reference_digest
from radiomix.preprocess import body_mask, ct_hu, n4_bias_correction, normalise_mr, suv_parameters
from radiomix.registration import (
    REFERENCE_QUALITY,
    MisalignedError,
    MissingModalityError,
    align_to_reference,
    load_registration_settings,
    resample_image,
    resample_mask,
    save_overlay_figure,
    write_transform,
)
from radiomix.spec import Spec


@dataclass(frozen=True)
class Case:
    """One manifest row (see :mod:`radiomix.cohort.manifest`)."""

    patient_id: str
    modality: str
    image: str
    mask: str
    site: str
    roi: str = ""
    label: str = ""
    sequence: str = ""
    weight_kg: str = ""
    injected_dose_bq: str = ""
    injection_time: str = ""
    series_time: str = ""
    half_life_s: str = ""

    @classmethod
    def from_manifest(cls, table: pd.DataFrame, patient_id: str, modality: str) -> Case:
        """The row of ``(patient_id, modality)`` of a table from :func:`read_manifest`."""
        rows = table[(table["patient_id"] == patient_id) & (table["modality"] == modality)]
        if rows.empty:
            raise KeyError(f"no manifest row for patient {patient_id!r}, modality {modality!r}")
        fields = cls.__dataclass_fields__
        return cls(**{k: str(v) for k, v in rows.iloc[0].items() if k in fields})

    @property
    def mask_label(self) -> int:
        """The ROI label (1 when the manifest leaves ``label`` empty)."""
        return int(self.label) if self.label.strip() else 1

    @property
    def roi_name(self) -> str | None:
        """The RTSTRUCT ROI name, or None."""
        return self.roi.strip() or None

    def describe(self) -> str:
        return f"patient {self.patient_id}, {self.modality}"


Stage = Callable[..., StageRecord]


def run_stage(stage: str, case: Case, function: Stage, *upstream: StageRecord, **kwargs) -> StageRecord:
    """Run ``function(case, *upstream, **kwargs)``, or pass on the first failed upstream record.

    Any exception becomes a failed record of ``stage`` whose message names the
    patient and modality once (see the module docstring for input errors and bugs);
    ``details`` holds the case's ``image`` and ``mask`` paths.
    """
    for record in upstream:
        if not record.ok:
            return record
    try:
        return function(case, *upstream, **kwargs)
    except (RadiomixError, OSError) as error:
        return _failure(stage, case, error, str(error) or type(error).__name__)
    except Exception as error:  # a bug: recorded with its traceback (not hidden), the cohort carries on
        trace = "".join(traceback.format_exception(error))
        _LOG.error("bug in radiomix at stage %s of %s:\n%s", stage, case.describe(), trace)
        message = (f"bug in radiomix (unexpected {type(error).__name__}: {error}) at stage {stage}, image "
                   f"{case.image}, mask {case.mask}; please report it with the traceback in the stage record")
        return _failure(stage, case, error, message, traceback=trace)


_LOG = logging.getLogger("radiomix.cohort")


def _failure(stage: str, case: Case, error: BaseException, message: str, **details) -> StageRecord:
    """The failed record of ``stage``; the message names the case once (errors may name it already)."""
    if not re.search(rf"patient {re.escape(case.patient_id)}(?![\w.-])", message):
        message = f"{case.describe()}: {message}"
    record = StageRecord.failure(case.patient_id, case.modality, stage, error)
    return replace(record, message=message, details={"image": case.image, "mask": case.mask, **details})


def validate(case: Case, *, min_roi_voxels: int = 1) -> StageRecord:
    """Stage ``validate``: the image and mask can be read, share a grid, and hold a usable ROI."""
    image = io.read_image(case.image)
    if not case.mask.strip():  # no ROI of its own: the reference ROI is carried onto its grid at registration
        return StageRecord(case.patient_id, case.modality, "validate", True, artifacts={"image": case.image},
                           details={"roi_voxels": None, "spacing_mm": list(image.GetSpacing()),
                                    "size": list(image.GetSize())})
    mask = io.read_mask(case.mask, reference=image, roi=case.roi_name, label=case.mask_label)
    io.validate_roi(image, mask, source=f"{case.describe()}: image {case.image}, mask {case.mask}",
                    min_voxels=min_roi_voxels)
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    return StageRecord(case.patient_id, case.modality, "validate", True,
                       artifacts={"image": case.image, "mask": case.mask},
                       details={"roi_voxels": voxels, "spacing_mm": list(image.GetSpacing()),
                                "size": list(image.GetSize())})


def register(case: Case, validated: StageRecord, *, reference: StageRecord | None, reference_modality: str,
             settings_path: str | None, outputs: dict[str, Path]) -> StageRecord:
    """Stage ``register``: align the case with the patient's reference modality and write the image and
    ROI it is extracted from.

    The alignment follows the frame-of-reference policy of the registration
    settings and is accepted on measured quality
    (:func:`~radiomix.registration.align_to_reference`); a misaligned case fails
    with :class:`~radiomix.registration.MisalignedError`. With ``space: native``
    (default) the image stays on its own grid with its own ROI, or, without
    one, with the reference ROI carried onto its grid through the alignment;
    with ``space: reference`` image and ROI are resampled onto the reference
    grid. The reference modality itself is written unchanged (as NIfTI, its ROI
    as a binary mask). ``outputs`` maps ``image.nii.gz``, ``mask.nii.gz``,
    ``transform.tfm``, ``check.png`` and ``quality.json`` to their paths; the
    quality record is written before a misalignment is raised, so that the
    registration QA table lists failed cases too.
    """
    settings = load_registration_settings(settings_path)
    image = io.read_image(case.image)
    own_mask = (io.read_mask(case.mask, reference=image, roi=case.roi_name, label=case.mask_label)
                if case.mask.strip() else None)
    details = {"source_image": case.image, "source_mask": case.mask, "reference_modality": reference_modality,
               "space": settings.space, "frame_of_reference": frame_of_reference_digest(case.image)}
    artifacts = {"image": str(outputs["image.nii.gz"]), "mask": str(outputs["mask.nii.gz"]),
                 "quality": str(outputs["quality.json"])}
    if case.modality == reference_modality:
        if own_mask is None:
            raise InputError(f"{case.describe()}: the reference modality needs its own ROI (the manifest's mask "
                             "is empty)")
        write_image_atomic(image, outputs["image.nii.gz"])
        write_image_atomic(own_mask, outputs["mask.nii.gz"])
        details.update(alignment=REFERENCE_QUALITY.to_dict(), roi=_roi_description(case), grid=_grid(image, case))
        write_text_atomic(json.dumps(details["alignment"], indent=1), outputs["quality.json"])
        return StageRecord(case.patient_id, case.modality, "register", True, artifacts, details)
    if reference is None:
        raise MissingModalityError(f"no {reference_modality} row in the manifest to register to; add it, or "
                                   "choose another reference modality", case.patient_id, reference_modality)
    if not reference.ok:
        raise MissingModalityError(f"the reference {reference_modality} failed at stage {reference.stage} "
                                   f"({reference.message})", case.patient_id, reference_modality)
    fixed = io.read_image(reference.artifacts["image"])
    fixed_mask = io.read_mask(reference.artifacts["mask"], reference=fixed)
    alignment = align_to_reference(
        fixed, image, fixed_mask=fixed_mask, moving_mask=own_mask,
        fixed_frame=reference.details.get("frame_of_reference"), moving_frame=details["frame_of_reference"],
        settings=settings, bias_correct=case.modality == "MR", patient_id=case.patient_id, modality=case.modality)
    write_text_atomic(json.dumps(alignment.quality.to_dict(), indent=1), outputs["quality.json"])
    if alignment.transform is not None:
        on_reference = resample_image(image, fixed, alignment.transform)
        carried = (None if own_mask is None else
                   resample_mask(own_mask, fixed, alignment.transform, settings.mask_interpolation))
        with atomic_path(outputs["check.png"]) as temporary:
            save_overlay_figure(fixed, on_reference, temporary.with_suffix(".png"), fixed_mask=fixed_mask,
                                registered_mask=carried,
                                title=f"{case.patient_id}: {case.modality} -> {reference_modality} "
                                      f"({alignment.quality.alignment})").replace(temporary)
        artifacts["check"] = str(outputs["check.png"])
    if not alignment.accepted:
        raise MisalignedError(f"not aligned with {reference_modality} ({alignment.quality.alignment}): "
                              f"{alignment.quality.note}", case.patient_id, case.modality)
    with atomic_path(outputs["transform.tfm"]) as temporary:
        write_transform(alignment.transform, temporary.with_suffix(".tfm")).replace(temporary)
    artifacts["transform"] = str(outputs["transform.tfm"])
    if settings.space == "native":
        out_image = image
        if own_mask is not None:
            out_mask, roi = own_mask, _roi_description(case)
        else:
            out_mask = resample_mask(fixed_mask, image, alignment.transform.GetInverse(), settings.mask_interpolation)
            roi = f"{reference_modality} ROI carried onto the {case.modality} grid through the alignment"
        grid = _grid(image, case)
    else:
        out_image = on_reference
        if own_mask is not None:
            out_mask, roi = carried, _roi_description(case) + f", resampled onto the {reference_modality} grid"
        else:
            out_mask, roi = fixed_mask, f"{reference_modality} ROI"
        grid = _grid(fixed, case, reference_modality)
    if not sitk.GetArrayViewFromImage(out_mask).any():
        raise InputError(f"{case.describe()}: the ROI is empty on the extraction grid ({roi})")
    write_image_atomic(out_image, outputs["image.nii.gz"])
    write_image_atomic(out_mask, outputs["mask.nii.gz"])
    details.update(alignment=alignment.quality.to_dict(), roi=roi, grid=grid)
    if alignment.registration is not None:
        details["quality"] = alignment.registration.quality.to_dict()
    return StageRecord(case.patient_id, case.modality, "register", True, artifacts, details)


def _roi_description(case: Case) -> str:
    """``own ROI <name> (<mask file>)`` for the record."""
    name = case.roi_name or (f"label {case.mask_label}")
    return f"own ROI {name} ({Path(case.mask).name})"


def _grid(image: sitk.Image, case: Case, of: str | None = None) -> dict:
    """The extraction grid for the record: whose it is, its size and voxel spacing (mm)."""
    return {"of": of or case.modality, "size": list(image.GetSize()),
            "spacing_mm": [round(s, 6) for s in image.GetSpacing()]}


def preprocess(case: Case, registered: StageRecord, *, spec: Spec, output: Path) -> StageRecord:
    """Stage ``preprocess``: the modality's intensities (``spec.intensity``) on the registered image."""
    settings = spec.intensity
    image = io.read_image(registered.artifacts["image"])
    mask = io.read_mask(registered.artifacts["mask"], reference=image)
    details = dict(registered.details)
    if settings.conversion == "hu":
        image = ct_hu(image)
    elif settings.conversion == "suv":
        parameters = suv_parameters(registered.details["source_image"], **_pet_arguments(case),
                                    patient_id=case.patient_id)
        image = sitk.Cast(image, sitk.sitkFloat32) * parameters.scale_factor
        details["suv"] = {k: v for k, v in parameters.__dict__.items() if k != "patient_id"}
    if settings.bias_field_correction:
        image = n4_bias_correction(image, body_mask(image))[0]
    if settings.normalisation != "none":
        region = mask if settings.normalisation_region == "roi" else settings.normalisation_region
        image = normalise_mr(image, settings.normalisation, region=region, percentiles=settings.percentiles,
                             scale=settings.normalisation_scale, clip=settings.normalisation_clip)
    write_image_atomic(image, output)
    return StageRecord(case.patient_id, case.modality, "preprocess", True,
                       artifacts={"image": str(output), "mask": registered.artifacts["mask"]}, details=details)


def _pet_arguments(case: Case) -> dict:
    """The manifest's PET fields as :func:`suv_parameters` arguments (None where empty)."""
    def number(text: str) -> float | None:
        return float(text) if text.strip() else None

    return {"weight_kg": number(case.weight_kg), "injected_dose_bq": number(case.injected_dose_bq),
            "injection_time": case.injection_time.strip() or None, "series_time": case.series_time.strip() or None,
            "half_life_s": number(case.half_life_s)}


def extract(case: Case, preprocessed: StageRecord, *, spec: Spec, output: Path) -> StageRecord:
    """Stage ``extract``: the tidy feature table of the case, with ``patient_id`` and ``modality``."""
    table = extract_features(preprocessed.artifacts["image"], preprocessed.artifacts["mask"], spec)
    table.insert(0, "modality", case.modality)
    table.insert(0, "patient_id", case.patient_id)
    write_csv_atomic(table, output)
    where = {key: preprocessed.details[key] for key in ("space", "roi", "grid") if key in preprocessed.details}
    return StageRecord(case.patient_id, case.modality, "extract", True, artifacts={"features": str(output)},
                       details={"n_values": len(table), **where})


def write_image_atomic(image: sitk.Image, final: Path) -> None:
    """Write an image (format from the suffix of ``final``) atomically."""
    suffix = "".join(Path(final).suffixes)
    with atomic_path(final) as temporary:
        written = temporary.with_name(temporary.name + suffix)
        sitk.WriteImage(image, str(written), useCompression=True)
        written.replace(temporary)
