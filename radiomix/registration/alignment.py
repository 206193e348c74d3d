"""Alignment of one modality of a patient with its reference modality, accepted on measured quality.

Policy (:func:`align_to_reference`):

- a DICOM series sharing the reference series' ``FrameOfReferenceUID`` is not
  registered when ``trust_frame_of_reference`` is on: the identity is used
  (``same frame of reference``) and its quality measured;
- an image without a frame of reference (NIfTI...) is registered, or taken
  with the identity when ``without_frame_of_reference: identity``
  (``identity (no frame of reference)``);
- anything else is registered (``registered``): a rigid search
  (:mod:`radiomix.registration.search`; affine: :func:`register`) started from
  the headers' physical coordinates, with a multi-start coarse level (or, where
  both modalities have their own ROI, from the rigid transform that
  superimposes the two delineations of one lesion), on the reference image
  cropped to its ROI (grown by ``crop_margin_mm``) and to the part the other
  field of view covers, so that a field of view that is a crop of the other is
  registered where both show the same anatomy. When the optimiser's result
  measures worse than its start: a higher metric, or
  ROI centroids farther apart where both have ROIs, the start is kept and noted.

Acceptance is decided by measured quality, on that same crop, whatever the
route; hitting the iteration limit is only a note. A rigid registration
without two ROIs is always noted (mutual information alone vouches for it) and
fails when its multi-start optima disagree or it is not a genuine optimum
(``start_spread_mm``, ``perturbation_gain``: ``docs/registration.md``). A case is ``failed`` when

- less than ``min_overlap_fraction`` of the reference ROI (else of the crop)
  falls inside the moving field of view (``fov_overlap``);
- the mutual information of the aligned pair exceeds its chance level (the
  moving voxels shuffled, same histogram, no spatial relation) by less than
  ``min_mutual_information`` nats: a pure-noise image scores about 0;
- where both modalities have their own ROI, the Dice of the two ROIs on the
  reference grid is below ``min_dice`` or their centroids are more than
  ``max_centroid_distance_mm`` apart;
- the fields of view do not overlap around the reference ROI at the start,
  or a ``geometry``/``moments`` initialisation would shift the image by more
  than ``max_initial_offset_mm`` (a far-off start, never re-centred silently).

``note`` marks an accepted alignment worth a look (iteration limit reached, a
re-centring, a partial overlap); ``ok`` the rest.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import SimpleITK as sitk

from radiomix.preprocess.intensity import n4_bias_correction
from radiomix.registration.core import (
    Kind,
    RegistrationResult,
    field_of_view_centre_distance,
    initial_rigid,
    metric_value,
    register,
    thread_count,
)
from radiomix.registration.errors import RegistrationError
from radiomix.registration.quality import mask_points, overlap_fraction
from radiomix.registration.search import SearchResult, roi_shape_alignment, search_rigid
from radiomix.registration.settings import RegistrationSettings, load_registration_settings

SAME_FRAME = "same frame of reference"
REGISTERED = "registered"
REFERENCE = "reference"
IDENTITY_WITHOUT_FRAME = "identity (no frame of reference)"
ALIGNMENTS = (SAME_FRAME, REGISTERED, REFERENCE, IDENTITY_WITHOUT_FRAME)
STATUSES = ("ok", "note", "failed")

QA_COLUMNS = ("patient_id", "modality", "reference_modality", "alignment", "status", "dice",
              "centroid_distance_mm", "final_metric", "metric_improvement", "fov_overlap", "iterations",
              "start_spread_mm", "perturbation_gain", "note", "overlay")
"""Columns of ``registration_qa.csv`` (one row per case; the report reads them)."""


@dataclass(frozen=True)
class AlignmentQuality:
    """How a modality was aligned with the reference and how well (see the module docstring).

    Attributes
    ----------
    alignment : str
        One of :data:`ALIGNMENTS`.
    status : {"ok", "note", "failed"}
    dice : float or None
        Dice (0-1) of the reference ROI and the modality's own ROI on the
        reference grid (None when either has no ROI).
    centroid_distance_mm : float or None
        Distance (mm) between the two ROIs' centroids after alignment.
    final_metric : float or None
        Mattes mutual information metric (ITK's sign: minus the mutual
        information, nats) of the aligned pair on the crop.
    chance_metric : float or None
        The same with the moving voxels shuffled (the chance level).
    metric_improvement : float or None
        Metric before minus after the optimisation (registered only; > 0 = better).
    fov_overlap : float or None
        Fraction (0-1) of the reference ROI (else of the crop) inside the moving field of view.
    iterations : int or None
        Optimiser iterations over all pyramid levels (registered only).
    initial_offset_mm : float
        Shift applied by a re-centring initialisation (0 for the identity).
    start_spread_mm : float or None
        Registered rigidly only: largest mean distance (mm, over the reference
        ROI) between equally good optima of the multi-start search (0 with one start).
    perturbation_gain : float or None
        Registered rigidly only: metric at the result minus the best metric of
        its perturbations (nats; <= 0 at a genuine local optimum).
    elapsed_s : float
        Wall-clock time of the alignment and its measurements (s).
    note : str
        Why the status is not ``ok``; empty otherwise.
    """

    alignment: str
    status: str
    dice: float | None = None
    centroid_distance_mm: float | None = None
    final_metric: float | None = None
    chance_metric: float | None = None
    metric_improvement: float | None = None
    fov_overlap: float | None = None
    iterations: int | None = None
    initial_offset_mm: float = 0.0
    start_spread_mm: float | None = None
    perturbation_gain: float | None = None
    elapsed_s: float = 0.0
    note: str = ""

    def to_dict(self) -> dict:
        """Plain-data form (for JSON and for a row of ``registration_qa.csv``)."""
        return asdict(self)


REFERENCE_QUALITY = AlignmentQuality(alignment=REFERENCE, status="ok")
"""The quality record of the reference modality itself."""


@dataclass(frozen=True)
class Alignment:
    """The outcome of :func:`align_to_reference`.

    Attributes
    ----------
    transform : SimpleITK.Transform or None
        Maps reference (fixed) physical points to the modality's (moving)
        physical points (ITK convention); None when no transform could be found.
    quality : AlignmentQuality
    registration : RegistrationResult or None
        The registration's own record (``registered`` only).
    """

    transform: sitk.Transform | None
    quality: AlignmentQuality
    registration: RegistrationResult | None = None

    @property
    def accepted(self) -> bool:
        return self.quality.status != "failed"


def align_to_reference(fixed: sitk.Image, moving: sitk.Image, *, fixed_mask: sitk.Image | None = None,
                       moving_mask: sitk.Image | None = None, fixed_frame: str | None = None,
                       moving_frame: str | None = None, settings: RegistrationSettings | None = None,
                       kind: Kind = "rigid", bias_correct: bool = False, patient_id: str | None = None,
                       modality: str | None = None) -> Alignment:
    """Align ``moving`` with the reference ``fixed`` by the frame-of-reference policy and measure it.

    Parameters
    ----------
    fixed, moving : SimpleITK.Image
        The reference image and the modality's image, each on its own grid.
    fixed_mask, moving_mask : SimpleITK.Image, optional
        Their own ROIs (non-zero = inside), each on its image's grid.
    fixed_frame, moving_frame : str, optional
        Their ``FrameOfReferenceUID`` (or any stable digest of it); None
        when the image has none (NIfTI, NRRD...).
    settings : RegistrationSettings, optional
    kind : {"rigid", "affine"}
        Transform model when a registration runs (B-spline transforms cannot
        carry a ROI back onto the modality's grid).
    bias_correct : bool
        N4-correct the moving crop before registering (MR: a bias field
        misleads mutual information); measurements use the image as given.
    patient_id, modality : str, optional
        Named in notes and errors.

    Returns
    -------
    Alignment
        Never raises for a misalignment: a failed alignment has ``status == "failed"``.
    """
    if kind not in ("rigid", "affine"):
        raise ValueError(f"kind must be 'rigid' or 'affine' for an alignment, got {kind!r}")
    settings = load_registration_settings(settings)
    started = time.perf_counter()
    fixed = sitk.Cast(fixed, sitk.sitkFloat32)
    moving = sitk.Cast(moving, sitk.sitkFloat32)
    fixed_mask = _non_empty(fixed_mask)
    moving_mask = _non_empty(moving_mask)
    if fixed_frame and moving_frame and fixed_frame == moving_frame and settings.trust_frame_of_reference:
        route = SAME_FRAME
    elif not fixed_frame and not moving_frame and settings.without_frame_of_reference == "identity":
        route = IDENTITY_WITHOUT_FRAME
    else:
        route = REGISTERED
    identity = sitk.Euler3DTransform()
    start = identity
    if route == REGISTERED and fixed_mask is not None and moving_mask is not None:
        start = roi_centroid_start(fixed_mask, moving_mask)
    crop = registration_crop(fixed, fixed_mask, moving, start, settings.crop_margin_mm)
    if crop is None:
        note = (f"the fields of view do not overlap around the reference ROI in physical coordinates (their "
                f"centres are {field_of_view_centre_distance(fixed, moving):.0f} mm apart): a far-off start; "
                "check the headers, or set registration.initialisation to 'geometry' to re-centre on purpose")
        if route != REGISTERED or settings.initialisation == "identity":
            return Alignment(None, AlignmentQuality(route, "failed", fov_overlap=0.0, note=note,
                                                    elapsed_s=time.perf_counter() - started))
        crop = (fixed, fixed_mask)
    registration = None
    search = None
    kept_start = False
    transform: sitk.Transform = identity
    if route == REGISTERED:
        both_rois = fixed_mask is not None and moving_mask is not None
        if start is identity and settings.initialisation != "identity":
            start = initial_rigid(crop[0], moving, settings.initialisation)
            offset = float(np.linalg.norm(start.GetTranslation()))
            if offset > settings.max_initial_offset_mm:
                note = (f"a far-off start: the {settings.initialisation} initialisation would move the image by "
                        f"{offset:.0f} mm (registration.max_initial_offset_mm = {settings.max_initial_offset_mm:g}); "
                        "check the headers of both images, or raise the limit if such a shift is expected")
                return Alignment(None, AlignmentQuality(route, "failed", note=note,
                                                        elapsed_s=time.perf_counter() - started))
        with thread_count(settings.number_of_threads):  # N4 too: one thread gives the same crop twice
            moving_crop = _moving_crop(moving, crop[0], start, settings.crop_margin_mm + settings.search_offset_mm,
                                       bias_correct)
        try:
            if kind == "rigid":
                start = _centred(start, crop[0], crop[1])
                with thread_count(settings.number_of_threads):
                    if both_rois:
                        start = roi_shape_alignment(fixed_mask, moving_mask, start, settings)
                    search = search_rigid(crop[0], moving_crop, start, fixed_roi=crop[1],
                                          multi_start=not both_rois and settings.search_offset_mm > 0,
                                          settings=settings, case={"patient_id": patient_id, "modality": modality})
                if search is None:
                    note = (f"the {modality or 'moving'} image holds data in too little of the reference region "
                            "at the start (its field of view, less its constant fill, does not cover the ROI)")
                    return Alignment(None, AlignmentQuality(route, "failed", fov_overlap=0.0, note=note,
                                                            elapsed_s=time.perf_counter() - started))
                registration = search.registration
            else:
                registration = register(crop[0], moving_crop, kind, settings, patient_id=patient_id,
                                        modality=modality, initial_transform=None if start is identity else start)
        except RegistrationError as error:
            return Alignment(None, AlignmentQuality(route, "failed", note=error.detail,
                                                    elapsed_s=time.perf_counter() - started))
        transform = registration.transform
        if _start_measures_better(registration, start, fixed_mask, moving_mask):
            transform, kept_start = start, True
    quality = measure_alignment(fixed, moving, transform, crop[0], fixed_mask=fixed_mask, moving_mask=moving_mask,
                                settings=settings, route=route, registration=registration, started=started,
                                kept_start=kept_start, search=search)
    return Alignment(transform, quality, registration)


def roi_centroid_start(fixed_mask: sitk.Image, moving_mask: sitk.Image) -> sitk.Euler3DTransform:
    """The translation taking the fixed ROI's centroid onto the moving ROI's (both delineate one lesion).

    Rotations are left to the optimiser, about the fixed ROI's centroid.
    """
    fixed_centroid = mask_points(fixed_mask).mean(axis=0)
    moving_centroid = mask_points(moving_mask).mean(axis=0)
    start = sitk.Euler3DTransform()
    start.SetCenter(tuple(float(c) for c in fixed_centroid))
    start.SetTranslation(tuple(float(c) for c in moving_centroid - fixed_centroid))
    return start


def _centred(start: sitk.Euler3DTransform, region: sitk.Image, roi: sitk.Image | None) -> sitk.Euler3DTransform:
    """``start`` rotating about the reference ROI's centroid (else the region's centre), same mapping."""
    centre = (mask_points(roi).mean(axis=0) if roi is not None else
              region.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in region.GetSize()]))
    centred = sitk.Euler3DTransform()
    centred.SetCenter(tuple(float(c) for c in centre))
    centred.SetMatrix(start.GetMatrix())
    centred.SetTranslation(tuple(np.subtract(start.TransformPoint(centred.GetCenter()), centred.GetCenter())))
    return centred


def _start_measures_better(registration: RegistrationResult, start: sitk.Transform, fixed_mask: sitk.Image | None,
                           moving_mask: sitk.Image | None) -> bool:
    """Whether the start measures better than the optimiser's result.

    Worse means a higher metric on the registration's own region (the
    optimiser wandered off), or, where both modalities have their own ROI, ROI
    centroids farther apart by more than a millimetre (mutual information
    between modalities can peak millimetres away from where the two
    delineations agree: 3-7 mm on the sts_dicom MRs).
    """
    if registration.quality.metric_after > registration.quality.metric_before:
        return True
    if fixed_mask is None or moving_mask is None:
        return False
    return roi_agreement(fixed_mask, moving_mask, registration.transform)[1] > roi_agreement(
        fixed_mask, moving_mask, start)[1] + 1.0


def measure_alignment(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform, region: sitk.Image, *,
                      fixed_mask: sitk.Image | None, moving_mask: sitk.Image | None,
                      settings: RegistrationSettings, route: str,
                      registration: RegistrationResult | None = None, started: float | None = None,
                      kept_start: bool = False, search: SearchResult | None = None) -> AlignmentQuality:
    """The quality record of ``transform`` (fixed -> moving points) and its acceptance (module docstring).

    ``region`` is the fixed image cropped where the metric is measured;
    ``kept_start``: the registration's result measured worse than the headers'
    alignment, which was kept (noted).
    """
    started = time.perf_counter() if started is None else started
    final_metric = metric_value(region, moving, transform, settings)
    chance_metric = metric_value(region, _shuffled(moving, settings.seed), transform, settings)
    information = chance_metric - final_metric
    overlap_region = fixed_mask if fixed_mask is not None else None
    fov_overlap = overlap_fraction(fixed if overlap_region is not None else region, moving, transform,
                                   overlap_region)
    dice = centroid_distance = None
    if fixed_mask is not None and moving_mask is not None:
        dice, centroid_distance = roi_agreement(fixed_mask, moving_mask, transform)
    failures, notes = [], []
    if fov_overlap < settings.min_overlap_fraction:
        failures.append(f"only {fov_overlap:.0%} of the reference {'ROI' if fixed_mask is not None else 'crop'} "
                        f"lies inside this image's field of view (min_overlap_fraction "
                        f"{settings.min_overlap_fraction:.0%})")
    elif fov_overlap < 1.0:
        notes.append(f"{fov_overlap:.0%} of the reference {'ROI' if fixed_mask is not None else 'crop'} "
                     "lies inside this image's field of view")
    if information < settings.min_mutual_information:
        failures.append(f"mutual information {information:.3f} nats above chance (min_mutual_information "
                        f"{settings.min_mutual_information}): the images do not show the same structures here")
    if dice is not None and dice < settings.min_dice:
        failures.append(f"ROI Dice {dice:.2f} (min_dice {settings.min_dice})")
    if centroid_distance is not None and centroid_distance > settings.max_centroid_distance_mm:
        failures.append(f"ROI centroids {centroid_distance:.1f} mm apart "
                        f"(max_centroid_distance_mm {settings.max_centroid_distance_mm})")
    iterations = improvement = None
    offset = 0.0
    if registration is not None:
        quality = registration.quality
        iterations = int(sum(sum(stage.iterations_per_level) for stage in quality.stages))
        improvement = quality.metric_before - quality.metric_after
        offset = quality.initial_offset_mm
        if kept_start:
            notes.append("the registration's result measured worse than its start (metric, or ROI centroids "
                         "where both have ROIs), which is kept")
        if not quality.converged:
            notes.append(f"the optimiser stopped at its iteration limit ({iterations} iterations); "
                         "accepted on measured quality")
        if offset > 0:
            how = ("the two ROIs superimposed" if fixed_mask is not None and moving_mask is not None
                   else f"{settings.initialisation} initialisation")
            notes.append(f"started {offset:.1f} mm from the headers' alignment ({how})")
    spread = gain = None
    if search is not None:
        spread, gain = search.start_spread_mm, search.perturbation_gain
        both_rois = fixed_mask is not None and moving_mask is not None
        concerns = []
        if spread > settings.max_start_spread_mm:
            concerns.append(f"uncertain alignment: the multi-start search found equally good optima {spread:.1f} mm "
                            f"apart (max_start_spread_mm {settings.max_start_spread_mm:g})")
        if gain > 0 and not kept_start:
            concerns.append(f"not a genuine optimum: a move of {settings.perturbation_mm:g} mm or "
                            f"{settings.perturbation_deg:g} degrees improves the metric by {gain:.4f} nats")
        # without two ROIs nothing else vouches for the result: equally good optima far apart, or a
        # perturbation better by more than the tolerance that separates optima, fail the case
        decisive = spread > settings.max_start_spread_mm or (gain > settings.search_metric_tolerance and not kept_start)
        (failures if decisive and not both_rois else notes).extend(concerns)
        if not both_rois:
            notes.append("aligned on mutual information alone, with no ROI of this modality to confirm it: its "
                         "peak can lie millimetres from the anatomical alignment (docs/registration.md)")
    status = "failed" if failures else "note" if notes else "ok"
    return AlignmentQuality(
        alignment=route, status=status, dice=dice, centroid_distance_mm=centroid_distance,
        final_metric=final_metric, chance_metric=chance_metric, metric_improvement=improvement,
        fov_overlap=fov_overlap, iterations=iterations, initial_offset_mm=offset, start_spread_mm=spread,
        perturbation_gain=gain, elapsed_s=time.perf_counter() - started, note="; ".join(failures or notes))


def roi_agreement(fixed_mask: sitk.Image, moving_mask: sitk.Image, transform: sitk.Transform
                  ) -> tuple[float, float]:
    """Dice of two ROIs on the fixed grid and the distance (mm) of their centroids after ``transform``.

    Parameters
    ----------
    fixed_mask, moving_mask : SimpleITK.Image
        Non-zero = inside, each on its own image's grid.
    transform : SimpleITK.Transform
        Fixed physical points -> moving physical points.
    """
    carried = sitk.Resample(sitk.Cast(moving_mask != 0, sitk.sitkUInt8), fixed_mask, transform,
                            sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    inside_fixed = sitk.GetArrayViewFromImage(fixed_mask) != 0
    inside_carried = sitk.GetArrayViewFromImage(carried) != 0
    total = inside_fixed.sum() + inside_carried.sum()
    dice = float(2.0 * np.logical_and(inside_fixed, inside_carried).sum() / total) if total else 0.0
    fixed_centroid = tuple(float(c) for c in mask_points(fixed_mask).mean(axis=0))
    mapped = np.asarray(transform.TransformPoint(fixed_centroid))
    distance = float(np.linalg.norm(mapped - mask_points(moving_mask).mean(axis=0)))
    return dice, distance


def registration_crop(fixed: sitk.Image, fixed_mask: sitk.Image | None, moving: sitk.Image,
                      transform: sitk.Transform, margin_mm: float
                      ) -> tuple[sitk.Image, sitk.Image | None] | None:
    """The fixed image (and ROI) cropped to the ROI's box grown by ``margin_mm`` and to the moving field of view.

    Returns
    -------
    (cropped image, cropped mask or None), or None when ``transform`` maps no
    voxel of that box inside the moving field of view.
    """
    size = np.asarray(fixed.GetSize())
    low, high = np.zeros(3, dtype=int), size - 1
    if fixed_mask is not None:
        points = np.argwhere(sitk.GetArrayViewFromImage(fixed_mask) != 0)[:, ::-1]
        grow = np.ceil(margin_mm / np.asarray(fixed.GetSpacing())).astype(int)
        low = np.maximum(points.min(axis=0) - grow, 0)
        high = np.minimum(points.max(axis=0) + grow, size - 1)
    box = sitk.RegionOfInterest(fixed, [int(n) for n in high - low + 1], [int(i) for i in low])
    ones = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(moving)
    inside = sitk.GetArrayFromImage(sitk.Resample(ones, box, transform, sitk.sitkNearestNeighbor, 0,
                                                  sitk.sitkUInt8)) > 0
    if not inside.any():
        return None
    covered = np.argwhere(inside)[:, ::-1]
    start = low + covered.min(axis=0)
    extent = covered.max(axis=0) - covered.min(axis=0) + 1
    index, crop_size = [int(i) for i in start], [int(n) for n in extent]
    mask = None if fixed_mask is None else sitk.RegionOfInterest(fixed_mask, crop_size, index)
    return sitk.RegionOfInterest(fixed, crop_size, index), mask


def _moving_crop(moving: sitk.Image, region: sitk.Image, transform: sitk.Transform, margin_mm: float,
                 bias_correct: bool) -> sitk.Image:
    """The moving image cropped to the physical box of ``region`` grown by ``margin_mm`` (and N4-corrected).

    The correction only guides the search, so it is a quick one (field fitted at
    a quarter of the resolution, 3 levels of 20 iterations: about 1 s instead of 15).
    """
    size = region.GetSize()
    corners = [transform.TransformPoint(region.TransformIndexToPhysicalPoint(
        [c * (n - 1) for c, n in zip(corner, size)])) for corner in np.ndindex(2, 2, 2)]
    indices = np.array([moving.TransformPhysicalPointToContinuousIndex(p) for p in corners])
    grow = margin_mm / np.asarray(moving.GetSpacing())
    low = np.clip(np.floor(indices.min(axis=0) - grow), 0, np.asarray(moving.GetSize()) - 1).astype(int)
    high = np.clip(np.ceil(indices.max(axis=0) + grow), 0, np.asarray(moving.GetSize()) - 1).astype(int)
    cropped = sitk.RegionOfInterest(moving, [int(n) for n in high - low + 1], [int(i) for i in low])
    return n4_bias_correction(cropped, shrink_factor=4, iterations=(20, 20, 20))[0] if bias_correct else cropped


def _shuffled(image: sitk.Image, seed: int) -> sitk.Image:
    """``image`` with its voxels permuted (fixed seed): same histogram, no spatial structure."""
    values = sitk.GetArrayFromImage(image)
    permuted = np.random.default_rng(seed).permutation(values.reshape(-1)).reshape(values.shape)
    result = sitk.GetImageFromArray(permuted)
    result.CopyInformation(image)
    return result


def _non_empty(mask: sitk.Image | None) -> sitk.Image | None:
    """``mask`` if it has a non-zero voxel, else None."""
    if mask is None or not sitk.GetArrayViewFromImage(mask).any():
        return None
    return mask


def qa_row(patient_id: str, modality: str, reference_modality: str, quality: AlignmentQuality,
           overlay: str = "") -> dict:
    """One row of ``registration_qa.csv`` (:data:`QA_COLUMNS`)."""
    values = quality.to_dict()
    row = {"patient_id": patient_id, "modality": modality, "reference_modality": reference_modality,
           "overlay": overlay}
    row.update({column: values[column] for column in QA_COLUMNS if column in values})
    return {column: row[column] for column in QA_COLUMNS}

