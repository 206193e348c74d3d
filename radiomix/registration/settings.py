"""Registration settings: one frozen object, one canonical name and default per setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from radiomix.errors import SpecError
from radiomix.typed_settings import build_settings

Initialisation = Literal["geometry", "moments", "identity"]
SamplingStrategy = Literal["random", "regular", "none"]
MaskInterpolation = Literal["nearest", "linear_threshold"]
ExtractionSpace = Literal["native", "reference"]
WithoutFrameOfReference = Literal["register", "identity"]


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
    initialisation : {"identity", "geometry", "moments"}
        Starting transform: trust the physical coordinates of the headers
        (``identity``, the default: scanner coordinates are meaningful, and a
        field of view that is a crop of the other keeps its place), align the
        centres of the two fields of view (``geometry``) or the intensity
        centres of mass (``moments``). The shift a re-centring applies is
        recorded as ``initial_offset_mm`` in the quality record, never silent.
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
        its convergence criterion. Default false: reaching the limit is a note
        in the quality record, and acceptance is decided by the measured
        quality (see the alignment settings below).
    mask_interpolation : {"nearest", "linear_threshold"}
        How masks are carried onto the fixed grid: nearest neighbour, or
        linear interpolation of each label thresholded at 0.5.
    number_of_threads : int
        SimpleITK threads during a registration (its global default is set for
        the call and restored after). 1 (default) makes the result reproducible
        bit for bit: ITK sums the metric's samples per work unit, and with
        several threads two runs of the same inputs gave transforms differing
        by up to 0.02 mm; 0 keeps SimpleITK's default.
    max_samples_per_level : int
        Upper bound on the metric samples of each pyramid level (the
        ``sampling_percentage`` is lowered where it would give more), which
        keeps a registration of a large field of view to a few seconds.
    trust_frame_of_reference : bool
        Alignment of a patient's modalities (:func:`~radiomix.registration.align_to_reference`):
        a DICOM series sharing the reference series' ``FrameOfReferenceUID``
        (hardware PET/CT, exports brought into one frame) is taken as aligned:
        the identity is used and its quality measured. False registers it anyway.
    without_frame_of_reference : {"register", "identity"}
        Images without a frame of reference (NIfTI, NRRD...): ``register``
        them (default), or assume their physical coordinates are aligned
        (``identity``, quality measured).
    crop_margin_mm : float
        Registration and quality are computed on the reference image cropped
        to its ROI's bounding box grown by this margin (mm) and to the part
        covered by the other image's field of view.
    min_mutual_information : float
        Acceptance: the mutual information (nats) of the aligned pair must
        exceed the chance level (the same images with the moving voxels
        shuffled) by at least this much; a pure-noise image scores about 0.
    min_dice : float
        Acceptance, where both modalities have their own ROI: smallest Dice
        (0-1) between the reference ROI and the modality's ROI carried onto the
        reference grid. Delineations of one lesion on two modalities seldom
        agree perfectly (PET voxels are 4-5 mm), so the default is 0.5; a
        shift of half a lesion's diameter drops it below.
    max_centroid_distance_mm : float
        Acceptance, where both have ROIs: largest distance (mm) between the
        centroids of the two ROIs after alignment (5: about one PET voxel).
    max_initial_offset_mm : float
        Largest shift (mm) a ``geometry`` or ``moments`` initialisation may
        apply; a larger one is a far-off start, refused with
        :class:`~radiomix.registration.errors.NoOverlapError` rather than
        re-centred silently.
    search_offset_mm : float
        Between frames without two ROIs, the coarsest pyramid level also
        starts ``search_offset_mm`` along each axis from the headers'
        alignment (7 starts; the best goes on); 0 searches from the headers only.
    search_fov_margin_mm : float
        The metric samples only reference voxels that the start maps at least
        this far (mm) inside the moving image's data, so that moves of that
        size keep every sample inside (see :mod:`radiomix.registration.search`).
    search_metric_tolerance : float
        Coarse results whose metric is within this (nats) of the best count
        as equally good optima; their spread is ``start_spread_mm``.
    max_start_spread_mm : float
        Acceptance without two ROIs: equally good optima farther apart than
        this (mean over the reference ROI, mm) mean the images do not decide
        the alignment: the case fails as an uncertain alignment.
    perturbation_mm, perturbation_deg : float
        The optimum check moves the result by these along (mm) and about
        (degrees) each axis; a perturbation with a better metric than the
        result means it is not a genuine optimum: noted, and, without two
        ROIs, a failure when better by more than ``search_metric_tolerance``.
    space : {"native", "reference"}
        Where a cohort extracts each modality: on its own grid (``native``,
        default: its own ROI, or the reference ROI mapped onto its grid through
        the alignment), or every modality resampled onto the reference grid
        (``reference``).
    """

    histogram_bins: int = 50
    winsorize_percentiles: tuple[float, float] = (0.5, 99.5)
    sampling_strategy: SamplingStrategy = "random"
    sampling_percentage: float = 0.25
    seed: int = 1
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_voxels: tuple[float, ...] = (2.0, 1.0, 0.0)
    initialisation: Initialisation = "identity"
    learning_rate: float = 2.0
    minimum_step: float = 1e-3
    relaxation_factor: float = 0.5
    max_iterations: int = 300
    bspline_grid_spacing_mm: float = 50.0
    bspline_max_iterations: int = 100
    min_overlap_fraction: float = 0.25
    require_convergence: bool = False
    mask_interpolation: MaskInterpolation = "nearest"
    number_of_threads: int = 1
    max_samples_per_level: int = 20_000
    trust_frame_of_reference: bool = True
    without_frame_of_reference: WithoutFrameOfReference = "register"
    crop_margin_mm: float = 30.0
    min_mutual_information: float = 0.05
    min_dice: float = 0.5
    max_centroid_distance_mm: float = 5.0
    max_initial_offset_mm: float = 50.0
    search_offset_mm: float = 20.0
    search_fov_margin_mm: float = 10.0
    search_metric_tolerance: float = 0.01
    max_start_spread_mm: float = 3.0
    perturbation_mm: float = 2.0
    perturbation_deg: float = 2.0
    space: ExtractionSpace = "native"

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
            raise SpecError("registration.number_of_threads must be 0 (SimpleITK's default) or positive")
        if self.max_samples_per_level < 1000:
            raise SpecError("registration.max_samples_per_level must be at least 1000")
        for name in ("crop_margin_mm", "min_mutual_information", "max_centroid_distance_mm",
                     "max_initial_offset_mm", "search_offset_mm", "search_fov_margin_mm", "search_metric_tolerance",
                     "max_start_spread_mm"):
            if getattr(self, name) < 0:
                raise SpecError(f"registration.{name} must not be negative")
        if self.perturbation_mm <= 0 or self.perturbation_deg <= 0:
            raise SpecError("registration.perturbation_mm and perturbation_deg must be positive")
        if not 0.0 <= self.min_dice <= 1.0:
            raise SpecError("registration.min_dice must be in [0, 1]")


def load_registration_settings(
        settings: RegistrationSettings | Mapping | str | Path | None) -> RegistrationSettings:
    """Registration settings from a :class:`RegistrationSettings`, a dict, a YAML file, or ``None`` (defaults).

    Raises
    ------
    SpecError
        Unknown key (with a suggestion), wrong type or invalid value.
    """
    if settings is None:
        return RegistrationSettings()
    if isinstance(settings, RegistrationSettings):
        return settings
    if isinstance(settings, (str, Path)):
        where = str(settings)
        try:
            data = yaml.safe_load(Path(settings).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(f"{where}: cannot read the registration settings ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise SpecError(f"{where}: not valid YAML ({exc})") from exc
        return build_settings(RegistrationSettings, {} if data is None else data, f"registration ({where})")
    return build_settings(RegistrationSettings, settings, "registration")
