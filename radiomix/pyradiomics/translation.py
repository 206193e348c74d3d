"""A pyradiomics parameter file as ordinary specs plus a naming table.

:func:`translate` turns a :class:`~radiomix.pyradiomics.params.PyradiomicsSpec`
into ordinary :class:`radiomix.spec.Spec` objects: one for the shape classes
(the morphology family on the original image) and one per image type (an image
type may override the binning, the filter settings and ``voxelArrayShift``),
whose sections carry pyradiomics' conventions (:data:`EXPRESSED`: each
parameter-file setting and the ordinary setting that carries it). They share
their processing sections (:attr:`Translation.processing`). firstorder is the
statistics family and the intensity histogram's entropy and uniformity
(:func:`firstorder_settings`); shape and shape2D the morphology family
(:data:`SHAPE_SETTINGS`, :func:`shape_settings`); glcm, glrlm, gldm, ngtdm and
glszm the GLCM, GLRLM, NGLDM, NGTDM and GLSZM families with pyradiomics'
offsets (:data:`TEXTURE_FAMILIES`) under ``texture.dimensions``
(:func:`texture_dimensions`); each image type its filter kinds
(:func:`image_type_filters`). The naming table
(:meth:`Translation.feature_names`, :meth:`Translation.table`) gives each
ordinary column its pyradiomics name. :data:`NOT_EXPRESSED` lists the settings
that have no ordinary equivalent, and why.

:func:`radiomix.extract_features` runs a parameter file this way: the case is
read and processed once, each spec's filters and families run on it, and the
rows are renamed (:func:`radiomix.pyradiomics.extract.extract_pyradiomics` is
that call). Each spec extracted on its own through ``extract_features`` (the
intensity section applied first, as a cohort's preprocess stage does) gives
the same values.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix.features import glcm, glrlm, glszm, ngldm, ngtdm, statistics, surface
from radiomix.features.base import FeatureValue
from radiomix.features.table import NAMING_COLUMNS, column_name, naming_table, with_values
from radiomix.features.texture import pyradiomics_label
from radiomix.io.validation import MaskSettings
from radiomix.preprocess.filters.settings import (
    ExponentialFilterSettings,
    FilterSettings,
    GradientFilterSettings,
    LocalBinaryPattern3DFilterSettings,
    LocalBinaryPatternFilterSettings,
    LogarithmFilterSettings,
    RecursiveLogFilterSettings,
    SquareFilterSettings,
    SquareRootFilterSettings,
    StationaryWaveletFilterSettings,
    filter_image_type_name,
)
from radiomix.preprocess.settings import (
    DiscretisationSettings,
    IntensitySettings,
    InterpolationSettings,
    ResegmentationSettings,
)
from radiomix.pyradiomics.mapping import (
    FEATURE_CLASSES,
    FIRSTORDER_SOURCES,
    GLCM_SOURCES,
    GLDM_SOURCES,
    GLRLM_SOURCES,
    GLSZM_SOURCES,
    NGTDM_SOURCES,
    SHAPE2D_SOURCES,
    SHAPE_CLASSES,
    SHAPE_SOURCES,
    PyradiomicsFeature,
    feature,
    feature_names,
)
from radiomix.pyradiomics.params import PyradiomicsSettings, PyradiomicsSpec
from radiomix.spec import (
    FeatureSettings,
    GlcmSettings,
    GlrlmSettings,
    HistogramSettings,
    MorphologySettings,
    NgldmSettings,
    NgtdmSettings,
    Spec,
    StatisticsSettings,
    TextureSettings,
    ZoneSettings,
)

ITK_DEFAULT_TOLERANCE = 1e-6
"""ITK's coordinate tolerance (fraction of the first voxel size) when ``geometryTolerance`` is not set."""

PYRADIOMICS_INTERPOLATORS = {
    "sitkNearestNeighbor": "nearest", "sitkLinear": "linear", "sitkBSpline": "bspline", "sitkGaussian": "gaussian",
    "sitkLabelGaussian": "label_gaussian", "sitkHammingWindowedSinc": "hamming_windowed_sinc",
    "sitkCosineWindowedSinc": "cosine_windowed_sinc", "sitkWelchWindowedSinc": "welch_windowed_sinc",
    "sitkLanczosWindowedSinc": "lanczos_windowed_sinc", "sitkBlackmanWindowedSinc": "blackman_windowed_sinc",
}
"""pyradiomics' ``interpolator`` -> ``interpolation.image_method`` of the pyradiomics grid."""

ENTROPY_EPSILON = float(np.spacing(1))
"""Added to ``p(i)`` inside the logarithm of pyradiomics' Entropy (its machine epsilon, 2.2e-16)."""


def firstorder_settings(settings: PyradiomicsSettings) -> tuple[StatisticsSettings, HistogramSettings]:
    """pyradiomics' firstorder conventions as settings of the statistics and intensity histogram families.

    Non-excess kurtosis, ``voxelArrayShift`` in the energies, TotalEnergy and
    StandardDeviation, and :data:`ENTROPY_EPSILON` inside the entropy's logarithm; of the
    histogram only the entropy and uniformity.
    """
    return (StatisticsSettings(kurtosis="non_excess", voxel_shift=float(settings.voxelArrayShift),
                               non_ibsi_features=statistics.NON_IBSI_KEYS),
            HistogramSettings(entropy_epsilon=ENTROPY_EPSILON, ibsi_features=("entropy", "uniformity")))


SHAPE_SETTINGS = MorphologySettings(
    mesh="pyradiomics", axis_covariance="population", non_ibsi_features=surface.PLANE_DIAMETER_KEYS,
    ibsi_features=tuple(key for key in SHAPE_SOURCES.values() if key not in surface.PLANE_DIAMETER_KEYS))
"""pyradiomics' shape conventions as settings of the morphology family: its marching-cubes mesh,
the population covariance of the voxel positions, the per-plane maximum diameters, and only the
IBSI features shape has."""


def shape_settings(settings: PyradiomicsSettings, shape2d: bool) -> MorphologySettings:
    """:data:`SHAPE_SETTINGS`, with shape2D's features (slices across ``force2Ddimension``) when ``shape2d``.

    pyradiomics computes shape2D only with ``force2D``.
    """
    if not (shape2d and settings.force2D):
        return SHAPE_SETTINGS
    return dataclasses.replace(SHAPE_SETTINGS, non_ibsi_features=SHAPE_SETTINGS.non_ibsi_features + surface.PLANAR_KEYS,
                               slice_axis=int(settings.force2Ddimension))


def glcm_settings(settings: PyradiomicsSettings, mcc: bool) -> GlcmSettings:
    """pyradiomics' GLCM conventions as settings of the GLCM family (MCC when ``mcc``)."""
    return GlcmSettings(symmetric=bool(settings.symmetricalGLCM), degenerate_matrices="pyradiomics",
                        offsets="pyradiomics", distances=tuple(int(d) for d in settings.distances),
                        slice_axis=_slice_axis(settings), weighting_norm=settings.weightingNorm or "none",
                        non_ibsi_features=(glcm.MCC_KEY,) if mcc else ())


def glrlm_settings(settings: PyradiomicsSettings) -> GlrlmSettings:
    """pyradiomics' GLRLM conventions as settings of the GLRLM family."""
    return GlrlmSettings(offsets="pyradiomics", slice_axis=_slice_axis(settings),
                         weighting_norm=settings.weightingNorm or "none", undefined_values="pyradiomics")


def gldm_settings(settings: PyradiomicsSettings) -> NgldmSettings:
    """pyradiomics' GLDM as settings of the NGLDM family (``gldm_a`` its coarseness ``alpha``)."""
    return NgldmSettings(alpha=float(settings.gldm_a), offsets="pyradiomics",
                         distances=tuple(int(d) for d in settings.distances), slice_axis=_slice_axis(settings),
                         undefined_values="pyradiomics")


def ngtdm_settings(settings: PyradiomicsSettings) -> NgtdmSettings:
    """pyradiomics' NGTDM conventions as settings of the NGTDM family."""
    return NgtdmSettings(offsets="pyradiomics", distances=tuple(int(d) for d in settings.distances),
                         slice_axis=_slice_axis(settings), count_isolated_voxels=True,
                         undefined_values="pyradiomics")


def glszm_settings(settings: PyradiomicsSettings) -> ZoneSettings:
    """pyradiomics' GLSZM conventions as settings of the GLSZM family (26- or, with force2D, 8-connected zones)."""
    return ZoneSettings(linkage_distance=1, slice_axis=_slice_axis(settings) or 0, undefined_values="pyradiomics")


def _slice_axis(settings: PyradiomicsSettings) -> int | None:
    """The axis no offset moves along: ``force2Ddimension`` with ``force2D``, else None."""
    return int(settings.force2Ddimension) if settings.force2D else None


TEXTURE_FAMILIES = {
    "glcm": (glcm, lambda settings, definitions: glcm_settings(settings, any(d.name == "MCC" for d in definitions)),
             GLCM_SOURCES),
    "glrlm": (glrlm, lambda settings, definitions: glrlm_settings(settings), GLRLM_SOURCES),
    "gldm": (ngldm, lambda settings, definitions: gldm_settings(settings), GLDM_SOURCES),
    "ngtdm": (ngtdm, lambda settings, definitions: ngtdm_settings(settings), NGTDM_SOURCES),
    "glszm": (glszm, lambda settings, definitions: glszm_settings(settings), GLSZM_SOURCES),
}
"""pyradiomics class -> (family module, its settings from the parameter file and the class' enabled
features, pyradiomics name -> family key). The families run on the ROI box's levels for the one
aggregation of :func:`texture_dimensions` (pyradiomics' offsets give one aggregation whatever it is)."""

TEXTURE_SPEC_FAMILIES = {"glcm": "glcm", "glrlm": "glrlm", "gldm": "ngldm", "ngtdm": "ngtdm", "glszm": "glszm"}
"""pyradiomics texture class -> the ordinary spec's family (``FeatureSettings`` field)."""

CLASS_FAMILIES = {"shape": "morphology", "shape2D": "morphology", "firstorder": "statistics",
                  **TEXTURE_SPEC_FAMILIES}
"""pyradiomics class -> the ordinary spec's family computing it (firstorder: with the histogram's)."""

CLASS_SOURCES = {"shape": SHAPE_SOURCES, "shape2D": SHAPE2D_SOURCES, "firstorder": FIRSTORDER_SOURCES,
                 **{name: sources for name, (_, _, sources) in TEXTURE_FAMILIES.items()}}
"""pyradiomics class -> its features' sources (pyradiomics name -> family key; firstorder: (family, key))."""


def texture_dimensions(settings: PyradiomicsSettings) -> tuple[str]:
    """``("2.5D",)`` with ``force2D`` (slices along ``force2Ddimension``), else ``("3D",)``."""
    return ("2.5D",) if settings.force2D else ("3D",)


def aggregation(feature_class: str, settings: PyradiomicsSettings) -> str:
    """IBSI aggregation label of a pyradiomics class' values under ``settings``.

    GLCM and GLRLM: one matrix per direction, features averaged over
    directions (``3D, averaged``; with ``force2D`` the slices are merged per
    direction: ``2.5D, direction-merged``), or direction matrices summed when
    ``weightingNorm`` is set (``merged``; weighted unless ``no_weighting``).
    GLSZM, GLDM, NGTDM: one matrix (``3D``, or ``2.5D`` with ``force2D``).
    Other classes: no aggregation.
    """
    depth = "2.5D" if settings.force2D else "3D"
    if feature_class in ("glcm", "glrlm"):
        if settings.weightingNorm is None:
            return f"{depth}, direction-merged" if settings.force2D else f"{depth}, averaged"
        return f"{depth}, merged"
    if feature_class in ("glszm", "gldm", "ngtdm"):
        return depth
    return ""


logger = logging.getLogger(__name__)

NamedFilter = tuple[str, FilterSettings | None]
"""pyradiomics' prefix of an image and the filter that makes it (None: the original image)."""


def image_type_filters(name: str, settings: PyradiomicsSettings, size_zyx, spacing_zyx,
                       warn: bool = True) -> list[NamedFilter]:
    """The images of one pyradiomics image type: each one's prefix and filter, in pyradiomics' order.

    ============  =======================================  ==========================================
    image type    prefixes                                 filter kind (pyradiomics' definition)
    ============  =======================================  ==========================================
    Original      ``original``                             none: the image
    LoG           ``log-sigma-<sigma>-mm-3D``              ``recursive_log`` (SimpleITK's recursive
                                                           LoG, normalised across scale) per sigma
    Wavelet       ``wavelet-LLH`` ... ``wavelet-HHH``,     ``stationary_wavelet`` (PyWavelets' SWT;
                  ``wavelet-LLL`` (``wavelet<k>-...``      2 letters with ``force2D``)
                  from the 2nd kept level on)
    Square ...    ``square``, ``squareroot``,              ``square``, ``square_root``, ``logarithm``,
                  ``logarithm``, ``exponential``           ``exponential`` (of the whole image's max|x|)
    Gradient      ``gradient``                             ``gradient`` (``gradientUseSpacing``)
    LBP2D         ``lbp-2D``                               ``local_binary_pattern`` across ``force2Ddimension``
    LBP3D         ``lbp-3D-m1``, ..., ``lbp-3D-k``         ``local_binary_pattern_3d``
    ============  =======================================  ==========================================

    Parameters
    ----------
    name : str
        pyradiomics' image type (``Original``, ``LoG``, ``Wavelet``, ``Square``,
        ``SquareRoot``, ``Logarithm``, ``Exponential``, ``Gradient``, ``LBP2D``, ``LBP3D``).
    settings : PyradiomicsSettings
        The image type's settings.
    size_zyx, spacing_zyx : sequence of 3
        The grid to filter (voxels, mm): LoG is skipped, with pyradiomics'
        warnings, for too small an image or too large a sigma.
    warn : bool
        Log pyradiomics' warnings (False: the same filters, silently).
    """
    return _named_filters(name, settings, size_zyx, spacing_zyx, logger.warning if warn else _silent)


def _named_filters(name: str, settings: PyradiomicsSettings, size_zyx, spacing_zyx, warn) -> list[NamedFilter]:
    """:func:`image_type_filters` with ``warn(message, *args)`` called for each of pyradiomics' warnings."""
    return _TRANSLATIONS[name](settings, np.array(size_zyx[::-1]), np.array(spacing_zyx[::-1], dtype=float), warn)


def _silent(*_) -> None:
    """A warning not logged."""


def _log(settings, size, spacing, warn):
    if np.min(size) < 4:
        warn("Image too small to apply LoG filter, size: %s", size)
        return []
    named = []
    for sigma in settings.sigma:
        if sigma <= 0.0:
            warn("applyLoG: sigma must be greater than 0.0: %g", sigma)
        elif not np.all(size >= np.ceil(sigma / spacing) + 1):
            warn("applyLoG: sigma(%g)/spacing(%s) + 1 must be greater than the size(%s) of the inputImage",
                 sigma, spacing, size)
        else:
            named.append(("log-sigma-{}-mm-3D".format(str(sigma).replace(".", "-")),
                          RecursiveLogFilterSettings(float(sigma))))
    return named


def _wavelet(settings, size, spacing, warn):
    dimensions = "2D" if settings.force2D else "3D"
    n_axes = 2 if settings.force2D else 3
    subbands = ["".join(letters) for letters in itertools.product("LH", repeat=n_axes)][1:]  # PyWavelets' order
    named = []
    for index in range(1, settings.level + 1):
        stem = "wavelet" if index == 1 else f"wavelet{index}"
        named += [(f"{stem}-{subband}", StationaryWaveletFilterSettings(
            subband, settings.wavelet, settings.start_level + index, dimensions, settings.force2Ddimension))
            for subband in subbands]
    stem = "wavelet" if settings.level == 1 else f"wavelet{settings.level}"
    named.append((f"{stem}-{'L' * n_axes}", StationaryWaveletFilterSettings(
        "L" * n_axes, settings.wavelet, settings.start_level + settings.level, dimensions, settings.force2Ddimension)))
    return named


def _lbp_2d(settings, size, spacing, warn):
    if not settings.force2D:
        warn("Calculating Local Binary Pattern in 2D, but extracting features in 3D. Use with caution!")
    return [("lbp-2D", LocalBinaryPatternFilterSettings(settings.lbp2DRadius, settings.lbp2DSamples,
                                                        settings.lbp2DMethod, settings.force2Ddimension))]


def _lbp_3d(settings, size, spacing, warn):
    if settings.force2D:
        warn("Calculating Local Binary Pattern in 3D, but extracting features in 2D. Use with caution!")
    sphere = {"icosphere_radius": settings.lbp3DIcosphereRadius,
              "icosphere_subdivisions": settings.lbp3DIcosphereSubdivision}
    return ([(f"lbp-3D-m{degree + 1}", LocalBinaryPattern3DFilterSettings("norm", degree, **sphere))
             for degree in range(settings.lbp3DLevels)]
            + [("lbp-3D-k", LocalBinaryPattern3DFilterSettings("kurtosis", **sphere))])


def _single(prefix, make):
    """Translation of an image type that yields one image, made by ``make(settings)``."""
    return lambda settings, size, spacing, warn: [(prefix, make(settings))]


_TRANSLATIONS = {
    "Original": _single("original", lambda settings: None),
    "LoG": _log,
    "Wavelet": _wavelet,
    "Square": _single("square", lambda settings: SquareFilterSettings()),
    "SquareRoot": _single("squareroot", lambda settings: SquareRootFilterSettings()),
    "Logarithm": _single("logarithm", lambda settings: LogarithmFilterSettings()),
    "Exponential": _single("exponential", lambda settings: ExponentialFilterSettings()),
    "Gradient": _single("gradient", lambda settings: GradientFilterSettings(settings.gradientUseSpacing)),
    "LBP2D": _lbp_2d,
    "LBP3D": _lbp_3d,
}
"""pyradiomics image type name -> ``(settings, size, spacing, warn) -> [(prefix, filter settings), ...]``
(``size``, ``spacing``: x, y, z, as pyradiomics reads them from SimpleITK)."""


EXPRESSED = {
    "label": "the label argument of extract_features (Translation.label)",
    "label_channel": "mask.label_channel",
    "correctMask": "mask.correct_mask",
    "minimumROIDimensions": "mask.min_roi_dimensions",
    "minimumROISize": "mask.min_roi_voxels (minimumROISize + 1)",
    "geometryTolerance": "mask.geometry_tolerance_voxels (ITK's rule: a fraction of the image's first voxel size)",
    "normalize": "intensity: {normalisation: zscore, normalisation_region: image}",
    "normalizeScale": "intensity.normalisation_scale",
    "removeOutliers": "intensity.normalisation_clip",
    "resampledPixelSpacing": "interpolation: {grid: pyradiomics, spacing_mm}",
    "interpolator": "interpolation.image_method (mask_method: nearest)",
    "padDistance": "interpolation.pad_voxels",
    "preCrop": "interpolation.crop_to_roi (without resampling; the pyradiomics grid crops anyway)",
    "resegmentRange": "resegmentation.range",
    "resegmentMode": "resegmentation.range_mode",
    "resegmentShape": "resegmentation.morphological_mask: resegmented_roi (false: roi_in_resegmented_box, "
                      "the ROI before re-segmentation cut to the re-segmented ROI's bounding box)",
    "binWidth": "discretisation: {method: fixed_bin_size, bin_width, bin_edges: pyradiomics}",
    "binCount": "discretisation: {method: fixed_bin_number, n_bins, bin_edges: pyradiomics}",
    "voxelArrayShift": "features.statistics.voxel_shift",
    "distances": "features.{glcm,ngldm,ngtdm}.distances (offsets: pyradiomics, Chebyshev neighbour shells)",
    "force2D": "features.{glcm,glrlm,ngldm,ngtdm}.slice_axis, texture.dimensions: [2.5D] (glszm's slices); "
               "Wavelet and LBP2D take it as the filters' dimensions",
    "force2Ddimension": "features.{glcm,glrlm,ngldm,ngtdm,glszm}.slice_axis and features.morphology.slice_axis "
                        "(shape2D); Wavelet and LBP2D take it as the filters' slice_axis",
    "symmetricalGLCM": "features.glcm.symmetric",
    "weightingNorm": "features.{glcm,glrlm}.weighting_norm (distance-weighted direction matrices, summed)",
    "gldm_a": "features.ngldm.alpha",
    "sigma": "filters: recursive_log.sigma_mm",
    "start_level": "filters: stationary_wavelet.level",
    "level": "filters: stationary_wavelet.level (one filter per level and sub-band)",
    "wavelet": "filters: stationary_wavelet.wavelet",
    "gradientUseSpacing": "filters: gradient.use_spacing",
    "lbp2DRadius": "filters: local_binary_pattern.radius",
    "lbp2DSamples": "filters: local_binary_pattern.samples",
    "lbp2DMethod": "filters: local_binary_pattern.method",
    "lbp3DLevels": "filters: local_binary_pattern_3d.degree (one filter per level, and the kurtosis map)",
    "lbp3DIcosphereRadius": "filters: local_binary_pattern_3d.icosphere_radius",
    "lbp3DIcosphereSubdivision": "filters: local_binary_pattern_3d.icosphere_subdivisions",
}
"""Parameter-file setting -> the ordinary setting carrying it (image types: ``filters``,
:func:`image_type_filters`)."""

NOT_EXPRESSED = {
    "additionalInfo": "pyradiomics' diagnostics columns; radiomix keeps provenance apart from the feature "
                      "table, so the setting changes no value",
    "shape2D (rows)": "pyradiomics gives no shape2D column for an ROI spanning more than one slice along "
                      "force2Ddimension; the morphology family gives its 2D features as NaN with an "
                      "'undefined: the ROI spans N slices' status (Translation.table leaves them out)",
    "normalize (where)": "an ordinary spec's extraction starts from the intensities it is given: its intensity "
                         "section (the normalisation) is applied by a cohort's preprocess stage; a parameter "
                         "file's extraction applies it (radiomix.preprocess.intensity.normalise_whole_image)",
}
"""Parameter-file settings (and conventions) with no ordinary setting yet, and why."""


UNDEFINED = "undefined: pyradiomics gives no number for this ROI"
"""Status of a NaN value of a texture class (and of any NaN the families give no reason for)."""

SPANS_SLICES = "undefined: the ROI spans"
"""Start of the morphology family's status of 2D features of an ROI spanning several slices."""


@dataclass(frozen=True)
class ImageTypeSpec:
    """One pyradiomics image type (or the shape classes) as an ordinary spec.

    Attributes
    ----------
    name : str
        pyradiomics' image type (``Original``, ``LoG``, ...), or ``shape`` for
        the shape classes.
    spec : Spec
        Ordinary spec: the processing sections, the families of the enabled
        classes with pyradiomics' conventions and the image type's filters
        (none for ``Original`` and ``shape``).
    prefixes : tuple of (str, str)
        ``(ordinary image_type, pyradiomics prefix)`` of each image it yields:
        ``("original", "original")`` for ``Original`` and ``shape`` (their
        families read the original image), the filters' otherwise.
    settings : PyradiomicsSettings
        The image type's settings.
    """

    name: str
    spec: Spec
    prefixes: tuple[tuple[str, str], ...]
    settings: PyradiomicsSettings

    @property
    def reads_original(self) -> bool:
        """Whether its families read the original image (else only the filtered images)."""
        return ("original", "original") in self.prefixes

    def feature_names(self) -> dict[str, str]:
        """Ordinary column -> pyradiomics' of the values this spec is for.

        ``original_statistics_mean`` -> ``original_firstorder_Mean``,
        ``original_glcm_joint_maximum_3D_averaged`` -> ``original_glcm_MaximumProbability``,
        ``original_morphology_volume_mesh`` -> ``original_shape_MeshVolume``.
        """
        features = self.spec.features
        classes = [name for name, family in CLASS_FAMILIES.items() if getattr(features, family) is not None]
        if "shape" in classes and not set(surface.PLANAR_KEYS) <= set(features.morphology.non_ibsi_features):
            classes.remove("shape2D")
        return {self.column(image_type, feature_class, name): f"{prefix}_{feature_class}_{name}"
                for image_type, prefix in self.prefixes for feature_class in classes
                for name in CLASS_SOURCES[feature_class]}

    def column(self, image_type: str, feature_class: str, name: str) -> str:
        """The ordinary column of pyradiomics' feature ``name`` of ``feature_class`` on ``image_type``."""
        family, key = source(feature_class, name)
        settings = getattr(self.spec.features, family)
        label = self._aggregation(family, settings) if feature_class in TEXTURE_SPEC_FAMILIES else ""
        return column_name(image_type, family, key, label)

    def _aggregation(self, family: str, settings) -> str:
        """The aggregation label of a texture family's values (pyradiomics' offsets give one)."""
        if family in ("glcm", "glrlm"):
            return pyradiomics_label(settings.slice_axis, settings.weighting_norm != "none")
        (dimension,) = self.spec.texture.dimensions
        return dimension


@dataclass(frozen=True)
class Translation:
    """A parameter file as ordinary specs: the shape classes', one per image type, and the ROI label.

    Attributes
    ----------
    label : int
        The ROI label.
    shape : ImageTypeSpec or None
        The shape classes' own spec (on the original image), when they are
        enabled and no ``Original`` image type carries them (its spec has the
        morphology family, with the parameter file's global settings).
    image_types : tuple of ImageTypeSpec
        The image types with a class to compute, in the file's order.
    classes : tuple of (str, tuple of PyradiomicsFeature)
        The enabled classes (file order) and their enabled features that have
        a value (pyradiomics' "no value" deprecated features are left out).
    processing : Spec
        The spec that processes the case once for every part: the processing
        sections (mask, intensity, interpolation, re-segmentation) every part
        shares, and every part's filters (no family).
    """

    label: int
    shape: ImageTypeSpec | None
    image_types: tuple[ImageTypeSpec, ...]
    classes: tuple[tuple[str, tuple[PyradiomicsFeature, ...]], ...]
    processing: Spec

    @property
    def parts(self) -> tuple[ImageTypeSpec, ...]:
        """The shape classes' spec (if any), then the image types', in the order of pyradiomics' table."""
        return ((self.shape,) if self.shape is not None else ()) + self.image_types

    def feature_names(self) -> dict[str, str]:
        """Ordinary column name -> pyradiomics column name, over every image type."""
        names = {}
        for part in self.parts:
            names.update(part.feature_names())
        return names

    def table(self, results: list[tuple[str, str, list[FeatureValue]]]) -> pd.DataFrame:
        """pyradiomics' table (:data:`~radiomix.features.table.COLUMNS`) from the values of every part.

        ``results`` holds ``(ordinary image_type, family, values)`` of each family on each image.

        One row per enabled feature in pyradiomics' order (shape classes, then
        each image type's images, each with its classes in file order);
        ``feature`` is pyradiomics' column name, ``family`` its class,
        ``name``/``ibsi_code``/``unit`` from :mod:`radiomix.pyradiomics.mapping`,
        ``image_type`` pyradiomics' prefix. shape2D is left out, as pyradiomics
        does, without ``force2D`` or for an ROI spanning several slices.
        A NaN of a texture class has status :data:`UNDEFINED`; firstorder and the
        shape classes keep their family's reason.
        """
        by_key = {(image_type, family, item.key): item for image_type, family, values in results for item in values}
        kept, values, statuses = [], [], []
        for index, group in enumerate(self._table_groups):
            found = [by_key.get(key) for key in group.keys]
            if group.feature_class == "shape2D" and not _has_shape2d(found):
                continue
            kept.append(index)
            for item in found:
                value = float(item.value)
                status = item.status if group.keeps_status else ""
                values.append(value)
                statuses.append(status or (UNDEFINED if math.isnan(value) else ""))
        return with_values(self._naming_table(tuple(kept)), values, statuses)

    def _naming_table(self, kept: tuple[int, ...]) -> pd.DataFrame:
        """The :func:`~radiomix.features.table.naming_table` of the groups ``kept`` (built once each)."""
        template = self._naming_tables.get(kept)
        if template is None:
            groups = [self._table_groups[index] for index in kept]
            template = naming_table({column: [value for group in groups for value in group.columns[position]]
                                     for position, column in enumerate(NAMING_COLUMNS)})
            self._naming_tables[kept] = template
        return template

    @functools.cached_property
    def _naming_tables(self) -> dict[tuple[int, ...], pd.DataFrame]:
        """:meth:`_naming_table` by the groups kept."""
        return {}

    @functools.cached_property
    def _table_groups(self) -> tuple[_TableGroup, ...]:
        """The rows of :meth:`table` by class and image, with what does not depend on the values."""
        shape_part = next((part for part in self.parts if part.spec.features.morphology is not None), None)
        images = [(shape_part, "original", "original", True)] if shape_part is not None else []
        images += [(part, image_type, prefix, False)
                   for part in self.image_types for image_type, prefix in part.prefixes]
        groups = []
        for part, image_type, prefix, shape in images:
            for feature_class, definitions in self.classes:
                if (feature_class in SHAPE_CLASSES) != shape:
                    continue
                label = aggregation(feature_class, part.settings)
                rows = [(f"{prefix}_{feature_class}_{definition.name}", feature_class, definition.title,
                         definition.ibsi_code, label, prefix, definition.unit) for definition in definitions]
                groups.append(_TableGroup(
                    feature_class, tuple((image_type, *source(feature_class, definition.name))
                                         for definition in definitions),
                    tuple(tuple(column) for column in zip(*rows)) if rows else ((),) * len(NAMING_COLUMNS),
                    feature_class == "firstorder" or feature_class in SHAPE_CLASSES))
        return tuple(groups)


class _TableGroup(NamedTuple):
    """The rows of one class on one image in :meth:`Translation.table`."""

    feature_class: str
    keys: tuple[tuple[str, str, str], ...]
    """``(ordinary image_type, family, key)`` of each row's value."""
    columns: tuple[tuple, ...]
    """The rows' values of :data:`NAMING_COLUMNS`, column by column."""
    keeps_status: bool
    """Whether the rows keep their family's status (firstorder and the shape classes)."""


def _has_shape2d(found: list[FeatureValue | None]) -> bool:
    """Whether shape2D's values exist for the ROI (pyradiomics' reasons for none logged)."""
    if any(row is None for row in found):
        logger.info("shape2D is enabled but force2D is false: no shape2D features (as pyradiomics)")
        return False
    status = found[0].status if found else ""
    if status.startswith(SPANS_SLICES):
        logger.warning("shape2D is enabled but %s: no shape2D features", status.removeprefix("undefined: "))
        return False
    return True


def source(feature_class: str, name: str) -> tuple[str, str]:
    """``(family, key)`` of the ordinary feature giving pyradiomics' feature ``name`` of ``feature_class``."""
    if feature_class == "firstorder":
        return FIRSTORDER_SOURCES[name]
    return CLASS_FAMILIES[feature_class], CLASS_SOURCES[feature_class][name]


def enabled_definitions(spec: PyradiomicsSpec) -> tuple[tuple[str, tuple[PyradiomicsFeature, ...]], ...]:
    """Enabled classes (in file order) and their enabled features that have a value.

    pyradiomics' "no value" deprecated features are left out even when named.
    """
    return tuple((name, tuple(definition for definition in (feature(name, key) for key in spec.enabled_features(name))
                              if definition.status != "no value"))
                 for name, _ in spec.feature_classes)


def translate(spec: PyradiomicsSpec, grid, warn: bool = True) -> Translation:
    """The ordinary specs of a pyradiomics spec: the shape classes', one per image type (module docstring).

    Parameters
    ----------
    spec : PyradiomicsSpec
        The parameter file.
    grid : SimpleITK.Image or (size, spacing)
        The image the specs are for, or its size (voxels) and spacing (mm),
        (z, y, x): LoG is skipped (as pyradiomics) for too small an image or
        too large a sigma.
    warn : bool
        Log pyradiomics' warnings about skipped or doubtful image types.

    Notes
    -----
    The translation depends on the spec and the grid only: the latest ones are kept
    (immutable; by spec object, so that the specs hold that spec's own settings objects),
    and their warnings logged again at each call.
    """
    translation, warnings = _translation(_SameSpec(spec), *_size_and_spacing(grid))
    if warn:
        for message, args in warnings:
            logger.warning(message, *args)
    return translation


class _SameSpec:
    """A spec as a cache key: the same object (kept alive by the cache, so its id is not reused)."""

    __slots__ = ("spec",)

    def __init__(self, spec: PyradiomicsSpec):
        self.spec = spec

    def __hash__(self) -> int:
        return id(self.spec)

    def __eq__(self, other) -> bool:
        return isinstance(other, _SameSpec) and other.spec is self.spec


@functools.lru_cache(maxsize=64)
def _translation(key: _SameSpec, size: tuple[int, ...], spacing: tuple[float, ...]
                 ) -> tuple[Translation, tuple[tuple[str, tuple], ...]]:
    """:func:`translate` of ``key.spec`` on a grid, and the warnings (message, arguments) it logs."""
    spec = key.spec
    warnings = []
    grid = (size, spacing)
    classes = {name: spec.enabled_features(name) for name, _ in spec.feature_classes}
    shape_classes = {name: features for name, features in classes.items() if name in SHAPE_CLASSES}
    image_classes = {name: features for name, features in classes.items() if name not in SHAPE_CLASSES}
    shape_family = shape_settings(spec.settings, "shape2D" in shape_classes) if shape_classes else None
    image_types = []
    for image_type in spec.image_types if image_classes else ():
        named = _named_filters(image_type.name, image_type.settings, *grid,
                               lambda message, *args: warnings.append((message, args)))
        if not named:
            continue
        filters = tuple(settings for _, settings in named if settings is not None)
        prefixes = tuple((filter_image_type_name(settings) if settings is not None else "original", prefix)
                         for prefix, settings in named)
        ordinary = ordinary_spec(image_type.settings, filters, image_classes)
        if image_type.name == "Original" and shape_family is not None:  # shape reads the original image too
            ordinary = dataclasses.replace(ordinary, features=dataclasses.replace(ordinary.features,
                                                                                  morphology=shape_family))
            shape_family = None
        image_types.append(ImageTypeSpec(image_type.name, ordinary, prefixes, image_type.settings))
    shape = None
    if shape_family is not None:
        shape = ImageTypeSpec("shape", ordinary_spec(spec.settings, (), shape_classes), (("original", "original"),),
                              spec.settings)
    parts = ((shape,) if shape is not None else ()) + tuple(image_types)
    processing = ordinary_spec(spec.settings, tuple(f for part in parts for f in part.spec.filters), {})
    for part in parts:
        differing = [name for name in PROCESSING_SECTIONS if getattr(part.spec, name) != getattr(processing, name)]
        if differing:
            raise AssertionError(f"image type {part.name}'s {differing} differ from the parameter file's: the image "
                                 "types of a parameter file share their processing (params.GLOBAL_ONLY_SETTINGS)")
    translation = Translation(spec.settings.label, shape, tuple(image_types), enabled_definitions(spec), processing)
    return translation, tuple(warnings)


PROCESSING_SECTIONS = ("mask", "intensity", "interpolation", "resegmentation")
"""Sections of an ordinary spec that process the case before filters and families."""


def processing_spec(spec: PyradiomicsSpec, grid) -> Spec:
    """:attr:`Translation.processing` of ``translate(spec, grid)``, without building the image types' specs.

    The processing sections of the parameter file and the filters of every image type on
    ``grid`` (an image, or its size and spacing, z, y, x), found silently. The latest
    ones are kept (they depend on the spec and the grid only).
    """
    return _processing_spec(_SameSpec(spec), *_size_and_spacing(grid))


@functools.lru_cache(maxsize=64)
def _processing_spec(key: _SameSpec, size: tuple[int, ...], spacing: tuple[float, ...]) -> Spec:
    """:func:`processing_spec` of ``key.spec`` on a grid."""
    spec = key.spec
    computes_images = any(name not in SHAPE_CLASSES for name, _ in spec.feature_classes)
    filters = tuple(settings for image_type in (spec.image_types if computes_images else ())
                    for _, settings in _named_filters(image_type.name, image_type.settings, size, spacing, _silent)
                    if settings is not None)
    return ordinary_spec(spec.settings, filters, {})


def _size_and_spacing(grid) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """``(size, spacing)`` (z, y, x) of an image, or of ``grid`` = (size, spacing), as tuples of numbers."""
    size, spacing = (grid.GetSize()[::-1], grid.GetSpacing()[::-1]) if isinstance(grid, sitk.Image) else grid
    return tuple(int(v) for v in size), tuple(float(v) for v in spacing)


def ordinary_spec(settings: PyradiomicsSettings, filters: tuple = (),
                  classes: dict[str, tuple[str, ...]] | None = None) -> Spec:
    """The ordinary spec of one image type's settings, its ``filters`` and the enabled ``classes``.

    ``classes`` maps each enabled pyradiomics class to its enabled features
    (None: every class, with its default features): firstorder gives the
    statistics and histogram families (:func:`firstorder_settings`), shape the
    morphology family (:func:`shape_settings`, shape2D's features when shape2D
    is enabled), each texture class its family (:data:`TEXTURE_FAMILIES`,
    MCC only when enabled), under ``texture.dimensions``
    (:func:`texture_dimensions`).
    """
    if classes is None:
        classes = {name: feature_names(name, include_deprecated=False) for name in FEATURE_CLASSES}
    families = dict.fromkeys(FeatureSettings.__dataclass_fields__)
    if "firstorder" in classes:
        families["statistics"], families["histogram"] = firstorder_settings(settings)
    if "shape" in classes or "shape2D" in classes:
        families["morphology"] = shape_settings(settings, "shape2D" in classes)
    for feature_class, family in TEXTURE_SPEC_FAMILIES.items():
        if feature_class in classes:
            definitions = tuple(feature(feature_class, name) for name in classes[feature_class])
            families[family] = TEXTURE_FAMILIES[feature_class][1](settings, definitions)
    return Spec(name="pyradiomics", mask=mask_settings(settings), intensity=intensity_settings(settings),
                interpolation=interpolation_settings(settings), resegmentation=resegmentation_settings(settings),
                discretisation=discretisation_settings(settings),
                texture=TextureSettings(dimensions=texture_dimensions(settings)),
                features=FeatureSettings(**families), filters=filters)


def mask_settings(settings: PyradiomicsSettings) -> MaskSettings:
    """``label_channel``, ``correctMask``, ``minimumROIDimensions``, ``minimumROISize``, ``geometryTolerance``."""
    tolerance = ITK_DEFAULT_TOLERANCE if settings.geometryTolerance is None else settings.geometryTolerance
    return MaskSettings(min_roi_voxels=1 if settings.minimumROISize is None else settings.minimumROISize + 1,
                        geometry_tolerance_voxels=tolerance, correct_mask=settings.correctMask,
                        min_roi_dimensions=settings.minimumROIDimensions,
                        label_channel=settings.label_channel)


def intensity_settings(settings: PyradiomicsSettings) -> IntensitySettings:
    """``normalize``, ``normalizeScale``, ``removeOutliers``: a z-score over the whole image.

    The intensities keep the image's pixel type (``pixel_type: image``): pyradiomics
    filters and bins each image in its own type.
    """
    if not settings.normalize:
        return IntensitySettings(pixel_type="image")
    return IntensitySettings(normalisation="zscore", normalisation_region="image",
                             normalisation_scale=settings.normalizeScale, normalisation_clip=settings.removeOutliers,
                             pixel_type="image")


def interpolation_settings(settings: PyradiomicsSettings) -> InterpolationSettings:
    """``resampledPixelSpacing``, ``interpolator``, ``padDistance`` (resampling only when both of the first are set),
    ``preCrop`` (without resampling)."""
    if settings.interpolator is None or settings.resampledPixelSpacing is None:
        if settings.preCrop:
            return InterpolationSettings(crop_to_roi=True, pad_voxels=settings.padDistance)
        return InterpolationSettings()
    return InterpolationSettings(spacing_mm=settings.resampledPixelSpacing, grid="pyradiomics",
                                 image_method=PYRADIOMICS_INTERPOLATORS[settings.interpolator],
                                 mask_method="nearest", pad_voxels=settings.padDistance)


def resegmentation_settings(settings: PyradiomicsSettings) -> ResegmentationSettings:
    """``resegmentRange`` (sorted; one value: a lower bound), ``resegmentMode`` and ``resegmentShape``."""
    if settings.resegmentRange is None:
        return ResegmentationSettings()
    bounds = sorted(settings.resegmentRange)
    return ResegmentationSettings(range=(bounds[0], bounds[1] if len(bounds) == 2 else None),
                                  range_mode=settings.resegmentMode,
                                  morphological_mask="resegmented_roi" if settings.resegmentShape
                                  else "roi_in_resegmented_box")


def discretisation_settings(settings: PyradiomicsSettings) -> DiscretisationSettings:
    """``binWidth`` / ``binCount`` with pyradiomics' bin edges."""
    if settings.binCount is not None:
        return DiscretisationSettings("fixed_bin_number", n_bins=settings.binCount, bin_edges="pyradiomics")
    return DiscretisationSettings("fixed_bin_size", bin_width=settings.binWidth, n_bins=None,
                                  bin_edges="pyradiomics")
