"""A pyradiomics parameter file as ordinary specs plus a naming table.

:func:`translate` turns a :class:`~radiomix.pyradiomics.params.PyradiomicsSpec`
into one ordinary :class:`radiomix.spec.Spec` per image type (an image type may
override the binning, the filter settings and ``voxelArrayShift``) whose
sections carry pyradiomics' conventions (:data:`EXPRESSED`: each
parameter-file setting and the ordinary setting that carries it): the
processing sections, and a family per enabled class. firstorder is the
statistics family and the intensity histogram's entropy and uniformity
(:func:`firstorder_settings`); shape and shape2D the morphology family
(:data:`SHAPE_SETTINGS`, :func:`shape_settings`); glcm, glrlm, gldm, ngtdm and
glszm the GLCM, GLRLM, NGLDM, NGTDM and GLSZM families with pyradiomics'
offsets (:data:`TEXTURE_FAMILIES`) under ``texture.dimensions``
(:func:`texture_dimensions`). The naming table
(:meth:`Translation.feature_names`) gives each ordinary column its pyradiomics
name. :data:`NOT_EXPRESSED` lists the settings that have no ordinary
equivalent yet, and why.

Extracted through :func:`radiomix.extract_features` (the intensity section
applied first, as a cohort's preprocess stage does), the translated specs give
pyradiomics' values of every class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from radiomix.features import glcm, glrlm, glszm, ngldm, ngtdm, statistics, surface
from radiomix.features.table import column_name
from radiomix.features.texture import pyradiomics_label
from radiomix.io.validation import MaskSettings
from radiomix.preprocess.filters.settings import filter_image_type_name
from radiomix.preprocess.settings import (
    DiscretisationSettings,
    IntensitySettings,
    InterpolationSettings,
    ResegmentationSettings,
)
from radiomix.pyradiomics.image_types import image_type_filters
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
    StandardDeviation, and :data:`ENTROPY_EPSILON` inside the entropy's logarithm.
    """
    return (StatisticsSettings(kurtosis="non_excess", voxel_shift=float(settings.voxelArrayShift),
                               non_ibsi_features=statistics.NON_IBSI_KEYS),
            HistogramSettings(entropy_epsilon=ENTROPY_EPSILON))


SHAPE_SETTINGS = MorphologySettings(mesh="pyradiomics", axis_covariance="population",
                                    non_ibsi_features=surface.PLANE_DIAMETER_KEYS)
"""pyradiomics' shape conventions as settings of the morphology family: its marching-cubes mesh,
the population covariance of the voxel positions, and the per-plane maximum diameters."""


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
}
"""Parameter-file setting -> the ordinary setting carrying it (image types: ``filters``,
:func:`~radiomix.pyradiomics.image_types.image_type_filters`)."""

NOT_EXPRESSED = {
    "additionalInfo": "pyradiomics' diagnostics columns; radiomix keeps provenance apart from the feature "
                      "table, so the setting changes no value",
    "resegmentShape": "the morphology family always uses the ROI before re-segmentation (resegmentShape: "
                      "false); true has no ordinary setting",
    "lbp3DLevels": "LBP3D: pyradiomics computes the spherical-harmonic maps on the ROI's voxels only; the "
                   "ordinary local_binary_pattern_3d filter computes every voxel, so the values differ",
    "lbp3DIcosphereRadius": "LBP3D (see lbp3DLevels)",
    "lbp3DIcosphereSubdivision": "LBP3D (see lbp3DLevels)",
    "shape2D (rows)": "pyradiomics gives no shape2D column for an ROI spanning more than one slice along "
                      "force2Ddimension; the morphology family gives its 2D features as NaN with an "
                      "'undefined: the ROI spans N slices' status",
    "normalize (where)": "extract_features starts from the intensities it is given: the intensity section "
                         "(the normalisation) is applied by a cohort's preprocess stage "
                         "(radiomix.preprocess.intensity.normalise_whole_image)",
}
"""Parameter-file settings (and conventions) with no ordinary setting yet, and why."""


@dataclass(frozen=True)
class ImageTypeSpec:
    """One pyradiomics image type as an ordinary spec.

    Attributes
    ----------
    name : str
        pyradiomics' image type (``Original``, ``LoG``, ...).
    spec : Spec
        Ordinary spec: the processing sections, the families of the enabled
        classes with pyradiomics' conventions (the morphology family in the
        first image type's spec only: pyradiomics computes shape once, on the
        original image) and the image type's filters (none for ``Original``).
    prefixes : tuple of (str, str)
        ``(ordinary image_type, pyradiomics prefix)`` of each image it yields.
    """

    name: str
    spec: Spec
    prefixes: tuple[tuple[str, str], ...]

    def feature_names(self) -> dict[str, str]:
        """Ordinary column -> pyradiomics' of the values this spec is for.

        ``original_statistics_mean`` -> ``original_firstorder_Mean``,
        ``original_glcm_joint_maximum_3D_averaged`` -> ``original_glcm_MaximumProbability``,
        ``original_morphology_volume_mesh`` -> ``original_shape_MeshVolume``.
        """
        features = self.spec.features
        names = {}
        if features.morphology is not None:
            names.update((column_name("original", "morphology", key, ""), f"original_shape_{name}")
                         for name, key in SHAPE_SOURCES.items())
            if set(surface.PLANAR_KEYS) <= set(features.morphology.non_ibsi_features):
                names.update((column_name("original", "morphology", key, ""), f"original_shape2D_{name}")
                             for name, key in SHAPE2D_SOURCES.items())
        for image_type, prefix in self.prefixes:
            if features.statistics is not None:
                names.update((column_name(image_type, family, key, ""), f"{prefix}_firstorder_{name}")
                             for name, (family, key) in FIRSTORDER_SOURCES.items())
            for feature_class, family in TEXTURE_SPEC_FAMILIES.items():
                family_settings = getattr(features, family)
                if family_settings is None:
                    continue
                label = self._aggregation(family, family_settings)
                names.update((column_name(image_type, family, key, label), f"{prefix}_{feature_class}_{name}")
                             for name, key in TEXTURE_FAMILIES[feature_class][2].items())
        return names

    def _aggregation(self, family: str, settings) -> str:
        """The aggregation label of a texture family's values (pyradiomics' offsets give one)."""
        if family in ("glcm", "glrlm"):
            return pyradiomics_label(settings.slice_axis, settings.weighting_norm != "none")
        (dimension,) = self.spec.texture.dimensions
        return dimension


@dataclass(frozen=True)
class Translation:
    """A parameter file as ordinary specs: one per image type, and the ROI label."""

    label: int
    image_types: tuple[ImageTypeSpec, ...]

    def feature_names(self) -> dict[str, str]:
        """Ordinary column name -> pyradiomics column name, over every image type."""
        names = {}
        for image_type in self.image_types:
            names.update(image_type.feature_names())
        return names


def translate(spec: PyradiomicsSpec, image: sitk.Image) -> Translation:
    """The ordinary specs of a pyradiomics spec, one per image type (module docstring).

    Parameters
    ----------
    spec : PyradiomicsSpec
        The parameter file.
    image : SimpleITK.Image
        The image the specs are for: LoG is skipped (as pyradiomics) for too
        small an image or too large a sigma.
    """
    classes = {name: spec.enabled_features(name) for name, _ in spec.feature_classes}
    image_types = []
    for image_type in spec.image_types:
        named = image_type_filters(image_type.name, image_type.settings, image)
        if not named:
            continue
        filters = tuple(settings for _, settings in named if settings is not None)
        prefixes = tuple((filter_image_type_name(settings) if settings is not None else "original", prefix)
                         for prefix, settings in named)
        image_classes = classes if not image_types else {
            name: features for name, features in classes.items() if name not in SHAPE_CLASSES}
        image_types.append(ImageTypeSpec(image_type.name, ordinary_spec(image_type.settings, filters, image_classes),
                                         prefixes))
    return Translation(spec.settings.label, tuple(image_types))


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
    """``resegmentRange`` (sorted; one value: a lower bound) and ``resegmentMode``."""
    if settings.resegmentRange is None:
        return ResegmentationSettings()
    bounds = sorted(settings.resegmentRange)
    return ResegmentationSettings(range=(bounds[0], bounds[1] if len(bounds) == 2 else None),
                                  range_mode=settings.resegmentMode)


def discretisation_settings(settings: PyradiomicsSettings) -> DiscretisationSettings:
    """``binWidth`` / ``binCount`` with pyradiomics' bin edges."""
    if settings.binCount is not None:
        return DiscretisationSettings("fixed_bin_number", n_bins=settings.binCount, bin_edges="pyradiomics")
    return DiscretisationSettings("fixed_bin_size", bin_width=settings.binWidth, n_bins=None,
                                  bin_edges="pyradiomics")
