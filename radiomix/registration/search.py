"""Rigid search between two modalities around a ROI, and checks that its result is a genuine, unique optimum.

Used by :func:`~radiomix.registration.align_to_reference` for a modality in
another frame of reference. Three things made the plain search of
:func:`~radiomix.registration.register` unreliable on real exports (measured on
the sts_dicom MRs, whose fields of view are crops of the CT's):

- **Padding.** An image resampled into another frame before export holds a
  constant fill value (often whole slices) where the acquisition had no data.
  Mutual information pairs that fill with anything, and the search drifted
  30-80 mm away. :func:`data_mask` marks the fill (the voxels at the image's
  minimum connected to its border) and the metric ignores it.
- **Samples leaving the field of view.** The metric samples only the
  reference region that the start maps inside the moving data, shrunk by
  ``search_fov_margin_mm`` so small moves keep every sample inside
  (:func:`metric_region`), and only around the ROI (the reference ROI grown by
  ``crop_margin_mm``).
- **Capture.** Without two ROIs the start is the headers' alignment, which may
  be centimetres off: the coarsest pyramid level is run from the start and
  from ``search_offset_mm`` along each axis (7 starts), and the best of them
  goes through the full pyramid. Where both modalities delineate the lesion,
  the two delineations are first superimposed (:func:`roi_shape_alignment`:
  rigid, mean squares of the smoothed masks), which gives the rotation too.

The result is then checked (:class:`SearchResult`): ``start_spread_mm`` is the
largest mean displacement over the ROI between the best coarse result and the
other coarse results whose metric is within ``search_metric_tolerance`` of it
(several distinct optima of about the same metric: the images do not decide
the alignment); ``perturbation_gain`` is how much the metric improves at the
best of 12 perturbations (±``perturbation_mm`` along each axis,
±``perturbation_deg`` about each axis, about the ROI centroid) of the result (> 0:
not a local optimum, the search stopped on a slope).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from radiomix.registration.core import RegistrationResult, _method, _run, _winsorize
from radiomix.registration.quality import RegistrationQuality, StageReport, mask_points, overlap_fraction
from radiomix.registration.settings import RegistrationSettings


@dataclass(frozen=True)
class SearchResult:
    """The outcome of :func:`search_rigid`.

    Attributes
    ----------
    registration : RegistrationResult
        The best transform (fixed -> moving points) and its quality record.
    start_spread_mm : float
        Largest mean distance (mm, over the reference ROI or region) between
        the best coarse result and another coarse result of nearly the same
        metric (0 with a single start).
    perturbation_gain : float
        Metric at the result minus the best metric of its 12 perturbations
        (nats; <= 0 for a genuine local optimum).
    starts : int
        Number of starts searched.
    """

    registration: RegistrationResult
    start_spread_mm: float
    perturbation_gain: float
    starts: int


def data_mask(image: sitk.Image) -> sitk.Image:
    """Voxels of ``image`` that hold data (1) rather than a constant fill (0).

    The fill is the set of voxels exactly at the image's minimum that is
    connected to the image's border (a resampled export pads with a constant
    where the acquisition had no data). Air in an MR or CT is noisy and
    rarely forms such a region; where it does (CT clipped at -1000 HU), it is
    left out of the metric, which then relies on the anatomy inside.
    """
    array = sitk.GetArrayViewFromImage(image)
    at_minimum = sitk.Cast(image == float(array.min()), sitk.sitkUInt8)
    padded = sitk.ConstantPad(at_minimum, [1, 1, 1], [1, 1, 1], 1)
    labels = sitk.GetArrayFromImage(sitk.ConnectedComponent(padded, True))
    fill = labels[1:-1, 1:-1, 1:-1] == labels[0, 0, 0]
    mask = sitk.GetImageFromArray((~fill).astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def metric_region(fixed: sitk.Image, fixed_roi: sitk.Image | None, moving_data: sitk.Image,
                  transform: sitk.Transform, settings: RegistrationSettings) -> sitk.Image | None:
    """Where the metric samples the reference ``fixed``: around its ROI and inside the moving data.

    The region is the fixed ROI grown by ``crop_margin_mm`` (the whole
    ``fixed`` without a ROI), intersected with the fixed voxels that
    ``transform`` maps inside ``moving_data`` shrunk by ``search_fov_margin_mm``.
    None when that leaves fewer than 1000 voxels.
    """
    spacing = np.asarray(moving_data.GetSpacing())
    shrink = [int(np.ceil(settings.search_fov_margin_mm / s)) for s in spacing]
    inside = sitk.BinaryErode(sitk.ConstantPad(moving_data, [1, 1, 1], [1, 1, 1], 0), shrink)
    region = sitk.GetArrayFromImage(sitk.Resample(inside, fixed, transform, sitk.sitkNearestNeighbor, 0,
                                                  sitk.sitkUInt8)) > 0
    if fixed_roi is not None:
        distance = sitk.SignedMaurerDistanceMap(sitk.Cast(fixed_roi != 0, sitk.sitkUInt8), insideIsPositive=False,
                                                squaredDistance=False, useImageSpacing=True)
        region &= sitk.GetArrayViewFromImage(distance) <= settings.crop_margin_mm
    if region.sum() < 1000:
        return None
    mask = sitk.GetImageFromArray(region.astype(np.uint8))
    mask.CopyInformation(fixed)
    return mask


def roi_shape_alignment(fixed_roi: sitk.Image, moving_roi: sitk.Image, start: sitk.Euler3DTransform,
                        settings: RegistrationSettings) -> sitk.Euler3DTransform:
    """The rigid transform that best superimposes two delineations of one lesion, from ``start``.

    Each binary ROI is smoothed (Gaussian, sigma 2 mm) and the mean squared
    difference of the two is minimised (regular-step gradient descent,
    pyramid 4-2-1), on the fixed ROI's box grown by ``crop_margin_mm``.
    """
    def smoothed(mask):
        return sitk.SmoothingRecursiveGaussian(sitk.Cast(mask != 0, sitk.sitkFloat32), 2.0)

    points = np.argwhere(sitk.GetArrayViewFromImage(fixed_roi) != 0)[:, ::-1]
    grow = np.ceil(settings.crop_margin_mm / np.asarray(fixed_roi.GetSpacing())).astype(int)
    size = np.asarray(fixed_roi.GetSize())
    low, high = np.maximum(points.min(axis=0) - grow, 0), np.minimum(points.max(axis=0) + grow, size - 1)
    fixed_box = sitk.RegionOfInterest(fixed_roi, [int(n) for n in high - low + 1], [int(i) for i in low])
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMeanSquares()
    method.SetMetricSamplingStrategy(method.REGULAR)
    voxels = fixed_box.GetNumberOfPixels()
    method.SetMetricSamplingPercentagePerLevel(
        [min(1.0, settings.max_samples_per_level * f ** 3 / voxels) for f in (4, 2, 1)], settings.seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate, minStep=settings.minimum_step, numberOfIterations=settings.max_iterations,
        relaxationFactor=settings.relaxation_factor, gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([4, 2, 1])
    method.SetSmoothingSigmasPerLevel([0, 0, 0])
    method.SetInitialTransform(sitk.Euler3DTransform(start), inPlace=False)
    result = method.Execute(smoothed(fixed_box), smoothed(moving_roi))
    return sitk.Euler3DTransform(sitk.CompositeTransform(result).GetNthTransform(0).Downcast())


def search_rigid(fixed: sitk.Image, moving: sitk.Image, start: sitk.Euler3DTransform, *,
                 fixed_roi: sitk.Image | None, multi_start: bool, settings: RegistrationSettings,
                 case: dict) -> SearchResult | None:
    """Rigid Mattes mutual information search of ``moving`` onto the reference crop ``fixed`` (module docstring).

    Parameters
    ----------
    fixed : SimpleITK.Image
        The reference image cropped around its ROI.
    moving : SimpleITK.Image
        The modality's image (or a crop of it), any grid.
    start : SimpleITK.Euler3DTransform
        Fixed -> moving points; its centre is kept as the centre of rotation.
    fixed_roi : SimpleITK.Image or None
        The reference ROI on ``fixed``'s grid.
    multi_start : bool
        Search from 7 starts (``start`` and ``start`` shifted by
        ``search_offset_mm`` along each axis) at the coarsest level.
    settings : RegistrationSettings
    case : dict
        ``patient_id`` and ``modality``, named in errors.

    Returns
    -------
    SearchResult, or None when the moving data do not cover enough of the region at the start.
    """
    started = time.perf_counter()
    fixed_image = _winsorize(sitk.Cast(fixed, sitk.sitkFloat32), settings.winsorize_percentiles)
    moving_image = _winsorize(sitk.Cast(moving, sitk.sitkFloat32), settings.winsorize_percentiles)
    moving_data = data_mask(moving)
    region = metric_region(fixed_image, fixed_roi, moving_data, start, settings)
    if region is None:
        return None
    points = mask_points(fixed_roi if fixed_roi is not None else region)[::7]
    offsets = [np.zeros(3)]
    if multi_start:
        offsets += [sign * settings.search_offset_mm * np.eye(3)[axis] for axis in range(3) for sign in (1, -1)]
    coarse_levels = settings.shrink_factors[:1], settings.smoothing_sigmas_voxels[:1]
    candidates = []
    for offset in offsets:
        candidate = sitk.Euler3DTransform(start)
        candidate.SetTranslation(tuple(np.add(start.GetTranslation(), offset)))
        if len(offsets) > 1:
            candidate = _optimise(fixed_image, moving_image, candidate, region, moving_data, settings, *coarse_levels,
                                  case)[0]
        candidates.append((_metric(fixed_image, moving_image, candidate, region, moving_data, settings,
                                   coarse_levels[0][0], coarse_levels[1][0]), candidate))
    candidates.sort(key=lambda item: item[0])
    best_coarse_metric, best_coarse = candidates[0]
    tolerance = settings.search_metric_tolerance
    spread = max((_mean_distance(best_coarse, other, points) for value, other in candidates[1:]
                  if value - best_coarse_metric <= tolerance), default=0.0)
    if len(offsets) > 1:
        levels = settings.shrink_factors[1:] or settings.shrink_factors, \
            settings.smoothing_sigmas_voxels[1:] or settings.smoothing_sigmas_voxels
    else:
        levels = settings.shrink_factors, settings.smoothing_sigmas_voxels
    transform, report = _optimise(fixed_image, moving_image, best_coarse, region, moving_data, settings, *levels,
                                  case)
    metric_before = _metric(fixed_image, moving_image, start, region, moving_data, settings)
    metric_after = _metric(fixed_image, moving_image, transform, region, moving_data, settings)
    gain = metric_after - min(_metric(fixed_image, moving_image, perturbed, region, moving_data, settings)
                              for perturbed in _perturbations(transform, settings))
    quality = RegistrationQuality(
        metric_before=metric_before, metric_after=metric_after, converged=report.converged, stages=(report,),
        overlap_before=overlap_fraction(fixed_image, moving, start, region),
        overlap_after=overlap_fraction(fixed_image, moving, transform, region),
        jacobian_determinant_min=None, jacobian_determinant_max=None, folding_count=None,
        elapsed_s=time.perf_counter() - started,
        initial_offset_mm=float(np.linalg.norm(start.GetTranslation())))
    return SearchResult(RegistrationResult(transform, "rigid", quality, settings), spread, gain, len(offsets))


def _optimise(fixed, moving, start, region, moving_data, settings, shrink_factors, sigmas, case
              ) -> tuple[sitk.Euler3DTransform, StageReport]:
    """Regular-step gradient descent of the rigid transform from ``start`` over the given pyramid levels."""
    method = _method(settings, region, moving_data, fixed, tuple(shrink_factors))
    _gradients_on_the_fly(method)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate, minStep=settings.minimum_step, numberOfIterations=settings.max_iterations,
        relaxationFactor=settings.relaxation_factor, gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(shrink_factors))
    method.SetSmoothingSigmasPerLevel(list(sigmas))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetInitialTransform(sitk.Euler3DTransform(start), inPlace=False)
    transform, report = _run(method, fixed, moving, "rigid", settings.max_iterations, case)
    return sitk.Euler3DTransform(sitk.CompositeTransform(transform).GetNthTransform(0).Downcast()), report


def _metric(fixed, moving, transform, region, moving_data, settings, shrink: int = 1, sigma: float = 0.0) -> float:
    """The metric of ``transform`` at one pyramid level (shrink factor, smoothing in voxels)."""
    method = _method(settings, region, moving_data, fixed, (shrink,))
    _gradients_on_the_fly(method)
    if shrink > 1 or sigma > 0:
        fixed, moving, region, moving_data = (_level(image, shrink, sigma) for image in
                                              (fixed, moving, region, moving_data))
        method.SetMetricFixedMask(region)
        method.SetMetricMovingMask(moving_data)
    method.SetInitialTransform(transform, inPlace=False)
    return float(method.MetricEvaluate(fixed, moving))


def _gradients_on_the_fly(method: sitk.ImageRegistrationMethod) -> None:
    """Image gradients at the samples only, instead of a gradient image of each whole image
    (the metric samples at most ``max_samples_per_level`` points: this is several times faster)."""
    method.MetricUseFixedImageGradientFilterOff()
    method.MetricUseMovingImageGradientFilterOff()


def _level(image: sitk.Image, shrink: int, sigma: float) -> sitk.Image:
    """``image`` as a pyramid level sees it: smoothed (float images) and shrunk."""
    if image.GetPixelID() == sitk.sitkFloat32 and sigma > 0:
        image = sitk.SmoothingRecursiveGaussian(image, [sigma * s for s in image.GetSpacing()])
    return sitk.Shrink(image, [shrink] * image.GetDimension())


def _perturbations(transform: sitk.Euler3DTransform, settings: RegistrationSettings):
    """The 12 transforms ±``perturbation_deg`` about, and ±``perturbation_mm`` along, each axis."""
    base = np.asarray(transform.GetParameters())
    steps = np.concatenate([np.full(3, np.deg2rad(settings.perturbation_deg)), np.full(3, settings.perturbation_mm)])
    for index in range(6):
        for sign in (1, -1):
            parameters = base.copy()
            parameters[index] += sign * steps[index]
            perturbed = sitk.Euler3DTransform(transform)
            perturbed.SetParameters(tuple(parameters))
            yield perturbed


def _mean_distance(first: sitk.Transform, second: sitk.Transform, points: np.ndarray) -> float:
    """Mean distance (mm) between where two transforms send ``points``."""
    return float(np.mean([np.linalg.norm(np.subtract(first.TransformPoint(tuple(p)), second.TransformPoint(tuple(p))))
                          for p in points]))
