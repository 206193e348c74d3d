"""Registration of a patient's modalities onto a reference image (SimpleITK).

:func:`register` finds a rigid, affine or B-spline transform mapping fixed-space
points to moving-space points (ITK convention) with quality metrics;
:func:`resample_image` and :func:`resample_mask` carry images and masks onto
the fixed grid; :func:`write_transform` saves ITK transform files;
:func:`save_overlay_figure` draws a checkerboard and overlay for a person to
check; :func:`register_modality` and :func:`register_patient` do all of that
for the images of a cohort manifest; :func:`align_to_reference` aligns a
modality with the reference by the frame-of-reference policy and accepts it
on measured quality (see :mod:`radiomix.registration.alignment`).
"""

from radiomix.registration.alignment import (
    ALIGNMENTS,
    QA_COLUMNS,
    REFERENCE_QUALITY,
    Alignment,
    AlignmentQuality,
    align_to_reference,
    qa_row,
    roi_agreement,
)
from radiomix.registration.core import KINDS, RegistrationResult, metric_value, register
from radiomix.registration.errors import (
    MisalignedError,
    MissingModalityError,
    NoOverlapError,
    NotConvergedError,
    RegistrationError,
)
from radiomix.registration.figures import save_overlay_figure
from radiomix.registration.patient import RegisteredModality, align_modality, register_modality, register_patient
from radiomix.registration.quality import (
    RegistrationQuality,
    StageReport,
    jacobian_determinant_range,
    mask_points,
    overlap_fraction,
    target_registration_error,
)
from radiomix.registration.resample import read_transform, resample_image, resample_mask, write_transform
from radiomix.registration.settings import RegistrationSettings, load_registration_settings

__all__ = [
    "ALIGNMENTS", "Alignment", "AlignmentQuality", "MisalignedError", "QA_COLUMNS", "REFERENCE_QUALITY",
    "align_to_reference", "metric_value", "qa_row", "roi_agreement",
    "KINDS", "MissingModalityError", "NoOverlapError", "NotConvergedError", "RegisteredModality",
    "RegistrationError", "RegistrationQuality", "RegistrationResult", "RegistrationSettings",
    "StageReport", "jacobian_determinant_range", "load_registration_settings", "mask_points",
    "align_modality", "overlap_fraction", "read_transform", "register", "register_modality", "register_patient",
    "resample_image", "resample_mask", "save_overlay_figure", "target_registration_error",
    "write_transform",
]
