"""Intensity-based registration of a moving image to a fixed image (SimpleITK).

The transform found maps fixed-space physical points to moving-space physical
points (ITK convention), so ``SimpleITK.Resample(moving, fixed, transform)``
puts the moving image on the fixed grid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import SimpleITK as sitk

from radiomix.errors import InputError, UnreadableFileError
from radiomix.registration.errors import NoOverlapError, NotConvergedError, case_prefix
from radiomix.registration.quality import (
    RegistrationQuality,
    StageReport,
    jacobian_determinant_range,
    overlap_fraction,
)
from radiomix.registration.settings import RegistrationSettings, load_registration_settings

Kind = Literal["rigid", "affine", "bspline"]
KINDS = ("rigid", "affine", "bspline")

_INITIALISERS = {
    "geometry": sitk.CenteredTransformInitializerFilter.GEOMETRY,
    "moments": sitk.CenteredTransformInitializerFilter.MOMENTS,
}
_SAMPLING = {
    "random": sitk.ImageRegistrationMethod.RANDOM,
    "regular": sitk.ImageRegistrationMethod.REGULAR,
    "none": sitk.ImageRegistrationMethod.NONE,
}
_NO_OVERLAP_MESSAGES = ("outside moving image buffer", "All samples map outside",
                        "Too many samples map outside")
"""ITK's words when too few metric samples fall inside the moving image."""
_EVALUATION_LIMIT = "Too many function evaluations"
"""L-BFGS-B's words when it stops at its function-evaluation limit (not converged)."""


@dataclass(frozen=True)
class RegistrationResult:
    """The outcome of :func:`register`.

    Attributes
    ----------
    transform : SimpleITK.Transform
        Maps fixed-space physical points (mm) to moving-space physical points
        (ITK convention). Rigid: ``Euler3DTransform``; affine:
        ``AffineTransform``; B-spline: a ``CompositeTransform`` of the rigid
        stage and the B-spline (applied first).
    kind : str
        ``rigid``, ``affine`` or ``bspline``.
    quality : RegistrationQuality
        Metric before and after, convergence, overlap, and for B-spline the
        Jacobian determinant range and folding count.
    settings : RegistrationSettings
        The settings used.
    """

    transform: sitk.Transform
    kind: str
    quality: RegistrationQuality
    settings: RegistrationSettings


def register(fixed, moving, kind: Kind = "rigid",
             settings: RegistrationSettings | Mapping | None = None, *,
             fixed_mask=None, moving_mask=None,
             patient_id: str | None = None, modality: str | None = None,
             initial_transform: sitk.Euler3DTransform | None = None) -> RegistrationResult:
    """Register ``moving`` to ``fixed`` by maximising Mattes mutual information.

    Parameters
    ----------
    fixed, moving : SimpleITK.Image or path
        3D images; the fixed one is the reference (e.g. the CT). Any pixel type.
    kind : {"rigid", "affine", "bspline"}
        Transform model. ``affine`` and ``bspline`` start from a rigid stage.
    settings : RegistrationSettings or dict, optional
        Metric, pyramid, optimiser and checks; defaults when omitted.
    fixed_mask, moving_mask : SimpleITK.Image or path, optional
        Restrict the metric to the non-zero voxels of these masks (each on its
        own image's grid), e.g. a body mask.
    patient_id, modality : str, optional
        Named in every error (``modality``: the moving image's).
    initial_transform : SimpleITK.Euler3DTransform, optional
        The start (fixed -> moving points), instead of ``settings.initialisation``;
        its translation counts as the initial offset.

    Returns
    -------
    RegistrationResult

    Raises
    ------
    InputError
        An image or mask cannot be read, is not 3D, or a mask is empty or off its image's grid.
    NoOverlapError
        Less than ``settings.min_overlap_fraction`` of the fixed region maps
        inside the moving field of view, before or after optimisation, or a
        re-centring initialisation would shift the image by more than
        ``settings.max_initial_offset_mm`` (a far-off start).
    NotConvergedError
        A stage stopped at its iteration limit (when ``settings.require_convergence``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    settings = load_registration_settings(settings)
    with thread_count(settings.number_of_threads):
        return _register(fixed, moving, kind, settings, fixed_mask, moving_mask, patient_id, modality,
                         initial_transform)


@contextmanager
def thread_count(threads: int) -> Iterator[None]:
    """Run with SimpleITK's global default thread count set to ``threads`` (0: unchanged).

    The metric's work units follow the global default rather than the
    registration method's own setting, and ITK sums each work unit's samples
    separately: only one global thread count gives the same transform twice.
    """
    if not threads:
        yield
        return
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def _register(fixed, moving, kind: str, settings: RegistrationSettings, fixed_mask, moving_mask,
              patient_id: str | None, modality: str | None,
              initial_transform: sitk.Euler3DTransform | None) -> RegistrationResult:
    """:func:`register` with the settings loaded and the thread count set."""
    case = {"patient_id": patient_id, "modality": modality}
    fixed_image = _winsorize(_read(fixed, "fixed image", sitk.sitkFloat32),
                             settings.winsorize_percentiles)
    moving_image = _winsorize(_read(moving, "moving image", sitk.sitkFloat32),
                              settings.winsorize_percentiles)
    for image, what in ((fixed_image, "fixed image"), (moving_image, "moving image")):
        _check_varies(image, what, case)
    fixed_mask_image = _read_mask(fixed_mask, fixed_image, "fixed mask")
    moving_mask_image = _read_mask(moving_mask, moving_image, "moving mask")
    started = time.perf_counter()

    if initial_transform is None:
        initial, start = initial_rigid(fixed_image, moving_image, settings.initialisation), settings.initialisation
    else:
        initial, start = sitk.Euler3DTransform(initial_transform), "given"
    offset = float(np.linalg.norm(initial.GetTranslation()))
    if offset > settings.max_initial_offset_mm:
        raise NoOverlapError(
            f"a far-off start: the {start} initialisation would move the image by {offset:.0f} mm "
            f"(registration.max_initial_offset_mm = {settings.max_initial_offset_mm:g}); check the headers of both "
            "images, or raise the limit if such a shift is expected", **case)
    overlap_before = overlap_fraction(fixed_image, moving_image, initial, fixed_mask_image)
    _check_overlap(overlap_before, settings, "with the initial transform "
                   f"({settings.initialisation} initialisation; the centres of the two fields of view are "
                   f"{field_of_view_centre_distance(fixed_image, moving_image, initial):.0f} mm apart)", case)
    metric_before = _metric_value(fixed_image, moving_image, initial, settings,
                                  fixed_mask_image, moving_mask_image)

    stages = []
    transform, report = _optimise_linear(fixed_image, moving_image, initial, "rigid", settings,
                                         fixed_mask_image, moving_mask_image, case)
    stages.append(report)
    if kind == "affine":
        affine = sitk.AffineTransform(3)
        affine.SetCenter(transform.GetCenter())
        affine.SetMatrix(transform.GetMatrix())
        affine.SetTranslation(transform.GetTranslation())
        transform, report = _optimise_linear(fixed_image, moving_image, affine, "affine", settings,
                                             fixed_mask_image, moving_mask_image, case)
        stages.append(report)
    elif kind == "bspline":
        transform, report = _optimise_bspline(fixed_image, moving_image, transform, settings,
                                              fixed_mask_image, moving_mask_image, case)
        stages.append(report)

    overlap_after = overlap_fraction(fixed_image, moving_image, transform, fixed_mask_image)
    _check_overlap(overlap_after, settings, "after registration (the optimiser drifted away: "
                   "try another initialisation or a mask)", case)
    metric_after = _metric_value(fixed_image, moving_image, transform, settings,
                                 fixed_mask_image, moving_mask_image)
    jacobian = (None, None, None)
    if kind == "bspline":
        jacobian = jacobian_determinant_range(transform, fixed_image)
    quality = RegistrationQuality(
        metric_before=metric_before, metric_after=metric_after,
        converged=all(stage.converged for stage in stages), stages=tuple(stages),
        overlap_before=overlap_before, overlap_after=overlap_after,
        jacobian_determinant_min=jacobian[0], jacobian_determinant_max=jacobian[1],
        folding_count=jacobian[2], elapsed_s=time.perf_counter() - started,
        initial_offset_mm=offset)
    return RegistrationResult(transform=transform, kind=kind, quality=quality, settings=settings)


def _read(image, what: str, pixel_type: int) -> sitk.Image:
    """``image`` (a SimpleITK image or a path) as a 3D image of ``pixel_type``."""
    if isinstance(image, sitk.Image):
        result = sitk.Cast(image, pixel_type) if image.GetPixelID() != pixel_type else image
        where = None
    else:
        where = str(image)
        if not Path(where).exists():
            raise UnreadableFileError(f"{what} not found", path=where)
        try:
            result = sitk.ReadImage(where, pixel_type)
        except RuntimeError as exc:
            raise UnreadableFileError(f"cannot read the {what} ({exc})", path=where) from exc
    if result.GetDimension() != 3:
        raise InputError(f"the {what} is {result.GetDimension()}D; registration needs 3D images",
                         path=where)
    return result


def _winsorize(image: sitk.Image, percentiles: tuple[float, float]) -> sitk.Image:
    """``image`` with its intensities clipped to the given percentiles (0-100)."""
    if percentiles == (0.0, 100.0):
        return image
    low, high = np.percentile(sitk.GetArrayViewFromImage(image), percentiles)
    return sitk.Clamp(image, sitk.sitkFloat32, float(low), float(high))


def _check_varies(image: sitk.Image, what: str, case: dict) -> None:
    """Refuse a constant image: mutual information needs intensities that vary."""
    array = sitk.GetArrayViewFromImage(image)
    if array.min() == array.max():
        raise InputError(f"{case_prefix(**case)}the {what} is constant ({float(array.min()):g} "
                         "after winsorizing); mutual information needs intensities that vary")


def _read_mask(mask, image: sitk.Image, what: str) -> sitk.Image | None:
    """A metric mask (non-zero = inside) on ``image``'s grid, or ``None``."""
    if mask is None:
        return None
    mask_image = _read(mask, what, sitk.sitkUInt8)
    where = None if isinstance(mask, sitk.Image) else str(mask)
    same_grid = (mask_image.GetSize() == image.GetSize()
                 and np.allclose(mask_image.GetOrigin(), image.GetOrigin(), atol=1e-3)
                 and np.allclose(mask_image.GetSpacing(), image.GetSpacing(), atol=1e-3)
                 and np.allclose(mask_image.GetDirection(), image.GetDirection(), atol=1e-6))
    if not same_grid:
        raise InputError(f"the {what} is not on its image's grid (size, origin, spacing and "
                         "direction must match); resample it onto the image first", path=where)
    if not sitk.GetArrayViewFromImage(mask_image).any():
        raise InputError(f"the {what} is empty: give a mask with at least one non-zero voxel",
                         path=where)
    return mask_image


def initial_rigid(fixed: sitk.Image, moving: sitk.Image, initialisation: str) -> sitk.Euler3DTransform:
    """The starting rigid transform, rotating about the fixed image's centre (or centre of mass)."""
    if initialisation == "identity":
        transform = sitk.Euler3DTransform()
        centre_index = [(n - 1) / 2.0 for n in fixed.GetSize()]
        transform.SetCenter(fixed.TransformContinuousIndexToPhysicalPoint(centre_index))
        return transform
    if initialisation == "moments":
        # intensities act as masses: shift them to start at 0 (CT air is -1000 HU)
        fixed, moving = (image - float(np.min(sitk.GetArrayViewFromImage(image))) for image in (fixed, moving))
    return sitk.Euler3DTransform(sitk.CenteredTransformInitializer(
        fixed, moving, sitk.Euler3DTransform(), _INITIALISERS[initialisation]))


def field_of_view_centre_distance(fixed: sitk.Image, moving: sitk.Image,
                                  transform: sitk.Transform | None = None) -> float:
    """Distance (mm), in moving space, between the moving field of view's centre and where
    ``transform`` (default the identity) sends the fixed field of view's centre."""
    def centre(image):
        return image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2.0 for n in image.GetSize()])

    mapped = centre(fixed) if transform is None else transform.TransformPoint(centre(fixed))
    return float(np.linalg.norm(np.subtract(mapped, centre(moving))))


def _check_overlap(fraction: float, settings: RegistrationSettings, when: str, case: dict) -> None:
    """Raise :class:`NoOverlapError` when ``fraction`` is below the configured minimum."""
    if fraction < settings.min_overlap_fraction:
        raise NoOverlapError(
            f"the fields of view do not overlap: {fraction:.1%} of the fixed region maps inside "
            f"the moving image {when}, below registration.min_overlap_fraction = "
            f"{settings.min_overlap_fraction:.0%}. Check that both images show the same "
            "anatomy, or choose initialisation 'geometry' or 'moments'", **case)


def _method(settings: RegistrationSettings, fixed_mask, moving_mask, fixed: sitk.Image,
            shrink_factors: tuple[int, ...] = (1,)) -> sitk.ImageRegistrationMethod:
    """A registration method with the metric, sampling, interpolator and masks of ``settings``.

    The sampling percentage of each pyramid level (``shrink_factors``) is
    lowered where it would exceed ``settings.max_samples_per_level`` samples
    of ``fixed`` (or of its mask).
    """
    method = sitk.ImageRegistrationMethod()
    if settings.number_of_threads:
        method.SetNumberOfThreads(settings.number_of_threads)
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    method.SetMetricSamplingStrategy(_SAMPLING[settings.sampling_strategy])
    if settings.sampling_strategy != "none":
        region = (fixed.GetNumberOfPixels() if fixed_mask is None
                  else int(np.count_nonzero(sitk.GetArrayViewFromImage(fixed_mask))))
        percentages = [min(settings.sampling_percentage,
                           settings.max_samples_per_level * factor ** 3 / max(region, 1))
                       for factor in shrink_factors]
        method.SetMetricSamplingPercentagePerLevel(percentages, settings.seed)
    method.SetInterpolator(sitk.sitkLinear)
    if fixed_mask is not None:
        method.SetMetricFixedMask(fixed_mask)
    if moving_mask is not None:
        method.SetMetricMovingMask(moving_mask)
    return method


def metric_value(fixed, moving, transform: sitk.Transform,
                 settings: RegistrationSettings | Mapping | None = None) -> float:
    """Mattes mutual information metric (minus the mutual information, nats) of ``transform``.

    Both images are winsorized as for :func:`register`; samples are drawn
    from the whole fixed image (``settings``' sampling, seed and thread count).
    """
    settings = load_registration_settings(settings)
    fixed_image = _winsorize(_read(fixed, "fixed image", sitk.sitkFloat32), settings.winsorize_percentiles)
    moving_image = _winsorize(_read(moving, "moving image", sitk.sitkFloat32), settings.winsorize_percentiles)
    with thread_count(settings.number_of_threads):
        return _metric_value(fixed_image, moving_image, transform, settings, None, None)


def _metric_value(fixed, moving, transform, settings, fixed_mask, moving_mask) -> float:
    """The metric at full resolution for ``transform``."""
    method = _method(settings, fixed_mask, moving_mask, fixed)
    method.SetInitialTransform(transform, inPlace=False)
    return float(method.MetricEvaluate(fixed, moving))


def _set_pyramid(method: sitk.ImageRegistrationMethod, settings: RegistrationSettings) -> None:
    method.SetShrinkFactorsPerLevel(list(settings.shrink_factors))
    method.SetSmoothingSigmasPerLevel(list(settings.smoothing_sigmas_voxels))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()


def _run(method: sitk.ImageRegistrationMethod, fixed, moving, kind: str, max_iterations: int,
         case: dict) -> tuple[sitk.Transform, StageReport]:
    """Execute ``method``, recording the iterations of each pyramid level."""
    iterations = []
    method.AddCommand(sitk.sitkMultiResolutionIterationEvent,
                      lambda: iterations.append(method.GetOptimizerIteration()))
    try:
        transform = method.Execute(fixed, moving)
    except RuntimeError as exc:
        if any(words in str(exc) for words in _NO_OVERLAP_MESSAGES):
            raise NoOverlapError(
                f"the fields of view stopped overlapping during the {kind} registration "
                "(too few metric samples inside the moving image); check that both images "
                "show the same anatomy, or try another initialisation", **case) from exc
        raise
    # The event fires when each level starts: its first value is 0 and the
    # finest level's count is read after Execute.
    per_level = tuple(iterations[1:]) + (method.GetOptimizerIteration(),)
    stop_condition = method.GetOptimizerStopConditionDescription()
    converged = per_level[-1] < max_iterations and _EVALUATION_LIMIT not in stop_condition
    report = StageReport(kind=kind, iterations_per_level=per_level, stop_condition=stop_condition,
                         converged=converged)
    return transform, report


def _optimise_linear(fixed, moving, initial: sitk.Transform, kind: str, settings, fixed_mask,
                     moving_mask, case: dict) -> tuple[sitk.Transform, StageReport]:
    """Rigid or affine stage: regular-step gradient descent from ``initial``."""
    method = _method(settings, fixed_mask, moving_mask, fixed, settings.shrink_factors)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=settings.learning_rate, minStep=settings.minimum_step,
        numberOfIterations=settings.max_iterations, relaxationFactor=settings.relaxation_factor,
        gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    _set_pyramid(method, settings)
    method.SetInitialTransform(initial, inPlace=False)
    transform, report = _run(method, fixed, moving, kind, settings.max_iterations, case)
    _check_convergence(report, settings.max_iterations, settings, case)
    # Execute returns a composite wrapping the optimised transform; unwrap it.
    optimised = sitk.CompositeTransform(transform).GetNthTransform(0).Downcast()
    return optimised, report


def _optimise_bspline(fixed, moving, rigid: sitk.Transform, settings, fixed_mask, moving_mask,
                      case: dict) -> tuple[sitk.Transform, StageReport]:
    """B-spline stage on top of the rigid one (L-BFGS-B)."""
    physical_size = [(n - 1) * s for n, s in zip(fixed.GetSize(), fixed.GetSpacing())]
    mesh_size = [max(1, int(round(extent / settings.bspline_grid_spacing_mm)))
                 for extent in physical_size]
    bspline = sitk.BSplineTransformInitializer(fixed, mesh_size)
    method = _method(settings, fixed_mask, moving_mask, fixed, settings.shrink_factors)
    method.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5,
                                numberOfIterations=settings.bspline_max_iterations,
                                maximumNumberOfCorrections=5,
                                maximumNumberOfFunctionEvaluations=10 * settings.bspline_max_iterations,
                                costFunctionConvergenceFactor=1e7)
    _set_pyramid(method, settings)
    method.SetMovingInitialTransform(rigid)
    method.SetInitialTransform(bspline, inPlace=True)
    _, report = _run(method, fixed, moving, "bspline", settings.bspline_max_iterations, case)
    _check_convergence(report, settings.bspline_max_iterations, settings, case)
    # ITK composes the moving initial transform after the optimised one:
    # x_moving = rigid(bspline(x_fixed)); CompositeTransform applies its last transform first.
    return sitk.CompositeTransform([rigid, bspline]), report


def _check_convergence(report: StageReport, max_iterations: int, settings, case: dict) -> None:
    if settings.require_convergence and not report.converged:
        raise NotConvergedError(
            f"the {report.kind} registration did not converge: its finest level stopped at its "
            f"limit of {max_iterations} iterations ({report.stop_condition}). Raise the limit, "
            "check that the images show the same anatomy, or set "
            "registration.require_convergence to false to keep the result", **case)

