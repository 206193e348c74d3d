"""Registration settings: one frozen object, one canonical name and default per setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from radiomix.errors import SpecError
from radiomix.spec import build_settings

Initialisation = Literal["geometry", "moments", "identity"]
SamplingStrategy = Literal["random", "regular", "none"]
MaskInterpolation = Literal["nearest", "linear_threshold"]


@dataclass(frozen=True)
class RegistrationSettings:
    """How :func:`radiomix.registration.register` aligns a moving image to a fixed one.

    The metric is Mattes mutual information (suitable across modalities); the
    optimiser of the rigid and affine stages is a regular-step gradient descent
    with parameter scales estimated from physical shifts; the B-spline stage
    (after a rigid stage) uses L-BFGS-B.

    Attributes
    ----------
    histogram_bins : int
        Bins of the joint histogram of Mattes mutual information.
    winsorize_percentiles : tuple of float
        Before registering, each image's intensities are clipped to these
        percentiles (0-100) so that a few extreme voxels (a hot PET lesion,
        metal in CT) do not squeeze the rest of the image into a few histogram
        bins; ``(0, 100)`` keeps them as they are. Output images are not clipped.
    sampling_strategy : {"random", "regular", "none"}
        Which fixed-image voxels the metric samples (``none``: all of them).
    sampling_percentage : float
        Fraction (0-1] of voxels sampled by ``random`` and ``regular``.
    seed : int
        Seed (>= 1) of the metric's sampling; the same seed and number of
        threads give the same transform. (ITK reads a seed of 0 as "seed from
        the clock", which would make runs differ, so 0 is refused.)
    shrink_factors : tuple of int
        Multi-resolution pyramid: image shrink factor of each level, coarse to fine.
    smoothing_sigmas_voxels : tuple of float
        Gaussian smoothing (voxels) of each pyramid level.
    initialisation : {"geometry", "moments", "identity"}
        Starting transform: align the centres of the two fields of view
        (``geometry``), the intensity centres of mass (``moments``), or trust
        the physical coordinates of the headers (``identity``).
    learning_rate : float
        Initial step of the gradient descent (mm of the largest voxel shift).
    minimum_step : float
        The descent has converged when its step falls below this (mm).
    relaxation_factor : float
        Step reduction (0-1) each time the gradient changes direction.
    max_iterations : int
        Iteration limit per pyramid level of the rigid and affine stages.
    bspline_grid_spacing_mm : float
        Control-point spacing of the B-spline transform (mm).
    bspline_max_iterations : int
        Iteration limit per pyramid level of the B-spline stage.
    min_overlap_fraction : float
        Smallest accepted fraction (0-1) of the fixed region (the fixed mask,
        else the whole fixed image) that the transform maps inside the moving
        field of view, checked before and after optimisation.
    require_convergence : bool
        Raise :class:`~radiomix.registration.errors.NotConvergedError` when the
        finest level of a stage stops at its iteration limit instead of meeting
        its convergence criterion (else only report it in the quality record).
    mask_interpolation : {"nearest", "linear_threshold"}
        How masks are carried onto the fixed grid: nearest neighbour, or
        linear interpolation of each label thresholded at 0.5.
    number_of_threads : int
        Threads used by SimpleITK for the registration; 0 keeps SimpleITK's default.
    """

    histogram_bins: int = 50
    winsorize_percentiles: tuple[float, float] = (0.5, 99.5)
    sampling_strategy: SamplingStrategy = "random"
    sampling_percentage: float = 0.25
    seed: int = 1
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_voxels: tuple[float, ...] = (2.0, 1.0, 0.0)
    initialisation: Initialisation = "geometry"
    learning_rate: float = 2.0
    minimum_step: float = 1e-3
    relaxation_factor: float = 0.5
    max_iterations: int = 300
    bspline_grid_spacing_mm: float = 50.0
    bspline_max_iterations: int = 100
    min_overlap_fraction: float = 0.25
    require_convergence: bool = True
    mask_interpolation: MaskInterpolation = "nearest"
    number_of_threads: int = 0

    def __post_init__(self):
        if self.histogram_bins < 4:
            raise SpecError("registration.histogram_bins must be at least 4 (50 is usual)")
        low, high = self.winsorize_percentiles
        if not 0.0 <= low < high <= 100.0:
            raise SpecError("registration.winsorize_percentiles must be two percentiles "
                            "0 <= low < high <= 100, e.g. [0.5, 99.5]")
        if not 0.0 < self.sampling_percentage <= 1.0:
            raise SpecError("registration.sampling_percentage must be in (0, 1]")
        if self.seed < 1:
            raise SpecError("registration.seed must be at least 1 (ITK reads 0 as a seed from the clock)")
        if not self.shrink_factors or any(f < 1 for f in self.shrink_factors):
            raise SpecError("registration.shrink_factors must be a non-empty list of integers >= 1")
        if len(self.smoothing_sigmas_voxels) != len(self.shrink_factors):
            raise SpecError(
                f"registration.smoothing_sigmas_voxels has {len(self.smoothing_sigmas_voxels)} values "
                f"but shrink_factors has {len(self.shrink_factors)}: give one sigma per pyramid level")
        if any(s < 0 for s in self.smoothing_sigmas_voxels):
            raise SpecError("registration.smoothing_sigmas_voxels must not be negative")
        for name in ("learning_rate", "minimum_step", "bspline_grid_spacing_mm"):
            if getattr(self, name) <= 0:
                raise SpecError(f"registration.{name} must be positive")
        if not 0.0 < self.relaxation_factor < 1.0:
            raise SpecError("registration.relaxation_factor must be in (0, 1)")
        if self.max_iterations < 1 or self.bspline_max_iterations < 1:
            raise SpecError("registration.max_iterations and bspline_max_iterations must be at least 1")
        if not 0.0 <= self.min_overlap_fraction <= 1.0:
            raise SpecError("registration.min_overlap_fraction must be in [0, 1]")
        if self.number_of_threads < 0:
            raise SpecError("registration.number_of_threads must be 0 (default) or positive")


def load_registration_settings(
        settings: RegistrationSettings | Mapping | None) -> RegistrationSettings:
    """Registration settings from a :class:`RegistrationSettings`, a dict, or ``None`` (defaults).

    Raises
    ------
    SpecError
        Unknown key (with a suggestion), wrong type or invalid value.
    """
    if settings is None:
        return RegistrationSettings()
    if isinstance(settings, RegistrationSettings):
        return settings
    return build_settings(RegistrationSettings, settings, "registration")
