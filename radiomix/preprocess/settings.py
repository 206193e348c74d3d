"""Typed, frozen settings of the image processing before feature extraction.

Modality intensities (cohort runs), IBSI-1 interpolation, re-segmentation and
discretisation: one settings class per step, built from a spec's sections by
:func:`radiomix.typed_settings.build_settings` and re-exported by
:mod:`radiomix.spec`. This module imports no feature code, so the processing
steps and the spec can both import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from radiomix.errors import SpecError

DiscretisationMethod = Literal["none", "fixed_bin_size", "fixed_bin_number"]
BinEdgeConvention = Literal["ibsi", "pyradiomics"]

IntensityConversion = Literal["none", "hu", "suv"]
Normalisation = Literal["none", "zscore", "percentile"]
NormalisationRegion = Literal["roi", "body", "image"]
PixelType = Literal["float64", "image"]


@dataclass(frozen=True)
class IntensitySettings:
    """Modality intensity handling before the IBSI chain (cohort runs).

    Applied by the cohort pipeline's ``preprocess`` stage
    (:func:`radiomix.cohort.case.preprocess`), which knows each case's PET
    parameters; :func:`radiomix.extract_features` itself starts from the
    intensities it is given. Order: conversion, bias-field correction,
    normalisation.

    Attributes
    ----------
    conversion : {"none", "hu", "suv"}
        ``hu``: CT checked to be in Hounsfield units; ``suv``: PET converted
        to body-weight SUV (g/ml) from its DICOM header or the manifest's
        ``weight_kg``, ``injected_dose_bq``, ``injection_time``,
        ``series_time`` and ``half_life_s``.
    bias_field_correction : bool
        N4 bias-field correction (MR), within the body mask.
    normalisation : {"none", "zscore", "percentile"}
        MR intensity normalisation: z-score, or the percentiles mapped to 0 and 1.
    normalisation_region : {"roi", "body", "image"}
        Where the normalisation statistics are taken; ``image``: every voxel
        (a ``zscore`` then uses the sample standard deviation, as
        pyradiomics' ``normalize`` and SimpleITK's ``Normalize``).
    percentiles : tuple of float
        ``[low, high]`` (0-100) for ``percentile``.
    normalisation_clip : float or None
        Normalised values beyond +-``normalisation_clip`` are set to it
        (pyradiomics' ``removeOutliers``); ``null``: no clipping.
    normalisation_scale : float
        Factor of the normalised values, applied last (``normalizeScale``).
    pixel_type : {"float64", "image"}
        Type of the intensities through the IBSI chain (read by
        :func:`radiomix.preprocess.roi.process_image` and the filters, not by
        the preprocess stage). ``float64`` (IBSI): 64-bit floats from the
        start. ``image``: the image's own pixel type, as pyradiomics keeps it:
        ``grid: pyradiomics`` interpolation casts into it (as SimpleITK),
        filters compute in the precision their library uses for it (LoG and
        gradient: float32; wavelet: float32 for a float32 image), and the
        discretisation bins those values. ``grid: ibsi`` interpolation gives
        float64 whatever this setting.
    """

    conversion: IntensityConversion = "none"
    bias_field_correction: bool = False
    normalisation: Normalisation = "none"
    normalisation_region: NormalisationRegion = "body"
    percentiles: tuple[float, float] = (1.0, 99.0)
    normalisation_clip: float | None = None
    normalisation_scale: float = 1.0
    pixel_type: PixelType = "float64"

    def __post_init__(self):
        if self.normalisation_clip is not None and not self.normalisation_clip > 0:
            raise SpecError(f"normalisation_clip must be positive (standard deviations), got {self.normalisation_clip}")
        if not self.normalisation_scale > 0:
            raise SpecError(f"normalisation_scale must be positive, got {self.normalisation_scale}")


ImageInterpolation = Literal["nearest", "linear", "cubic", "bspline", "gaussian", "label_gaussian",
                             "hamming_windowed_sinc", "cosine_windowed_sinc", "welch_windowed_sinc",
                             "lanczos_windowed_sinc", "blackman_windowed_sinc"]
MaskInterpolation = Literal["nearest", "linear"]
InterpolationGrid = Literal["ibsi", "pyradiomics"]
IBSI_IMAGE_METHODS = ("nearest", "linear", "cubic")
"""``image_method`` values of the IBSI grid; the others are SimpleITK's, for the pyradiomics grid."""


@dataclass(frozen=True)
class InterpolationSettings:
    """Interpolation to a new voxel size (IBSI-1 "interpolation").

    ``grid: ibsi``: the new grid has ``ceil(n * old / new)`` voxels per axis
    and is centred on the original grid; intensities beyond the original grid
    take the nearest boundary value. Images and masks are interpolated as
    64-bit floats (:mod:`radiomix.preprocess.interpolation`).

    ``grid: pyradiomics``: pyradiomics' ``resampledPixelSpacing`` grid
    (:mod:`radiomix.preprocess.roi_grid`): aligned with the first voxel corner,
    covering the ROI's bounding box plus ``pad_voxels`` new voxels, an axis on
    which the ROI spans one voxel keeps its spacing; the image is interpolated
    by SimpleITK into its own pixel type, the mask by nearest neighbour.

    Attributes
    ----------
    spacing_mm : tuple of float or None
        New voxel size in mm, ``[x, y, z]`` (3D interpolation) or ``[x, y]``
        (in-plane only, slice thickness kept); ``null``: no interpolation.
    image_method : str
        Image interpolation. ``grid: ibsi``: ``nearest``, ``linear``
        ((tri/bi)linear) or ``cubic`` (cubic B-spline). ``grid: pyradiomics``:
        a SimpleITK interpolator, ``nearest``, ``linear``, ``bspline`` (cubic
        B-spline, pyradiomics' default ``sitkBSpline``), ``gaussian``,
        ``label_gaussian``, ``hamming_windowed_sinc``, ``cosine_windowed_sinc``,
        ``welch_windowed_sinc``, ``lanczos_windowed_sinc``,
        ``blackman_windowed_sinc``.
    mask_method : {"nearest", "linear"}
        Mask interpolation; ``linear`` is followed by the partial-volume
        threshold. ``grid: pyradiomics`` takes ``nearest`` only.
    mask_threshold : float
        A voxel belongs to the interpolated ROI when its interpolated mask
        value is at least this (IBSI: 0.5).
    round_intensities : bool
        Round interpolated intensities to the nearest integer (IBSI, for CT).
    grid : {"ibsi", "pyradiomics"}
        Where the new grid lies (above).
    pad_voxels : int
        ``grid: pyradiomics``: new voxels kept around the ROI's bounding box
        (pyradiomics' ``padDistance``; filters see them); with
        ``crop_to_roi``, the voxels kept around it. Not used by ``ibsi``.
    crop_to_roi : bool
        Without interpolation: image and ROI are cropped to the ROI's bounding
        box plus ``pad_voxels`` voxels (within the image) before filtering, so
        the filters see that block only (pyradiomics' ``preCrop``; filtered
        values near the block's border differ from those of the whole image).
        Without filters nothing changes (every later step reads the ROI's
        box only). Not allowed with ``spacing_mm`` (the pyradiomics grid
        covers that block already).
    """

    spacing_mm: tuple[float, ...] | None = None
    image_method: ImageInterpolation = "linear"
    mask_method: MaskInterpolation = "linear"
    mask_threshold: float = 0.5
    round_intensities: bool = False
    grid: InterpolationGrid = "ibsi"
    pad_voxels: int = 5
    crop_to_roi: bool = False

    def __post_init__(self):
        if self.grid == "ibsi" and self.image_method not in IBSI_IMAGE_METHODS:
            hint = " (the cubic B-spline of the IBSI grid is 'cubic')" if self.image_method == "bspline" else ""
            raise SpecError(f"interpolation.image_method {self.image_method!r} is a SimpleITK interpolator of "
                            f"grid: pyradiomics; grid: ibsi takes {list(IBSI_IMAGE_METHODS)}{hint}")
        if self.grid == "pyradiomics":
            if self.image_method == "cubic":
                raise SpecError("interpolation.image_method 'cubic' is the IBSI grid's spline; grid: pyradiomics "
                                "takes SimpleITK's interpolators: did you mean 'bspline'?")
            if self.mask_method != "nearest":
                raise SpecError("interpolation.grid pyradiomics resamples the mask by nearest neighbour: "
                                "set interpolation.mask_method: nearest")
        if self.pad_voxels < 0:
            raise SpecError(f"interpolation.pad_voxels must be at least 0, got {self.pad_voxels}")
        if self.crop_to_roi and self.spacing_mm is not None:
            raise SpecError("interpolation.crop_to_roi crops an image that is not interpolated; with spacing_mm, "
                            "use grid: pyradiomics (its grid covers the ROI's box plus pad_voxels) or drop "
                            "crop_to_roi")


ResegmentationRangeMode = Literal["absolute", "relative", "sigma"]


@dataclass(frozen=True)
class ResegmentationSettings:
    """Re-segmentation of the intensity mask (IBSI-1 "re-segmentation").

    Attributes
    ----------
    range : tuple of (float or None)
        ``[low, high]`` range kept in the intensity mask (inclusive), in the
        units of ``range_mode``; ``null`` leaves that side open.
    range_mode : {"absolute", "relative", "sigma"}
        ``absolute``: ``range`` in intensity units (IBSI). pyradiomics'
        ``resegmentMode`` values: ``relative``, fractions of the ROI maximum
        (bound ``b`` -> ``b * max``); ``sigma``, (population) standard
        deviations of the ROI from its mean (``mean + b * sd``). Only an
        absolute range serves as an intensity bound later (the lower edge of
        fixed bin size bins, the IVH range).
    outlier_sigma : float or None
        Remove voxels outside mean +/- ``outlier_sigma`` standard deviations
        of the ROI intensities (IBSI uses 3); ``null`` disables it. Mean and
        standard deviation come from the whole ROI; with a range, the intensity
        mask keeps the voxels inside both (IBSI: the intersection).
    morphological_mask : {"roi", "roi_in_resegmented_box", "resegmented_roi"}
        The mask the morphology family reads. ``roi`` (IBSI): the ROI before
        re-segmentation. pyradiomics' shape class: ``roi_in_resegmented_box``
        (``resegmentShape: false``), the ROI before re-segmentation cut to the
        bounding box of the re-segmented ROI; ``resegmented_roi``
        (``resegmentShape: true``), the re-segmented ROI.
    """

    range: tuple[float | None, float | None] = (None, None)
    outlier_sigma: float | None = None
    range_mode: ResegmentationRangeMode = "absolute"
    morphological_mask: Literal["roi", "roi_in_resegmented_box", "resegmented_roi"] = "roi"


@dataclass(frozen=True)
class DiscretisationSettings:
    """Intensity discretisation for the intensity histogram and texture families.

    Attributes
    ----------
    method : {"none", "fixed_bin_size", "fixed_bin_number"}
        ``none`` takes the intensities themselves as grey levels (they must be
        integers >= 1, as in the IBSI digital phantom).
    bin_width : float or None
        Bin width in intensity units, for ``fixed_bin_size``.
    n_bins : int or None
        Number of bins, for ``fixed_bin_number``.
    lower_bound : float or None
        Lower edge of the first bin for ``fixed_bin_size``; ``null`` takes the
        lower bound of the re-segmentation range when set, else the ROI
        minimum (IBSI-1).
    bin_edges : {"ibsi", "pyradiomics"}
        Where the bins of ``fixed_bin_size`` and ``fixed_bin_number`` lie.
        ``ibsi``: IBSI-1's formulas (:mod:`radiomix.preprocess.discretisation`).
        ``pyradiomics``: pyradiomics' edges, the ROI intensities binned in
        their own pixel type by ``numpy.digitize``: for ``fixed_bin_size``
        at multiples of ``bin_width``, from the largest multiple not above the
        ROI minimum (``lower_bound`` and the re-segmentation range are not
        used); for ``fixed_bin_number``, NumPy's ``n_bins`` equal histogram
        bins over the ROI range with the top edge raised by 1 (the maximum
        falls in bin ``n_bins``). ``none`` ignores this setting.
    """

    method: DiscretisationMethod = "fixed_bin_number"
    bin_width: float | None = None
    n_bins: int | None = 32
    lower_bound: float | None = None
    bin_edges: BinEdgeConvention = "ibsi"

    def __post_init__(self):
        if self.bin_edges == "pyradiomics" and self.lower_bound is not None:
            raise SpecError("lower_bound is not used with bin_edges: pyradiomics (its bins start at a "
                            "multiple of bin_width): remove lower_bound or use bin_edges: ibsi")
