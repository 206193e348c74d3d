"""``extract_pyradiomics``: a pyradiomics parameter file + image + mask -> tidy feature table.

The steps are those of pyradiomics' ``RadiomicsFeatureExtractor.execute``,
each case prepared by the ordinary chain under the parameter file's
translation (:func:`prepare`, :mod:`radiomix.pyradiomics.translation`): the
reader (:func:`radiomix.io.read_image`, pixel type kept), the whole-image
normalisation, :func:`~radiomix.preprocess.mask_conventions.read_mask_with_conventions`
(label channel, ``correctMask``, ``geometryTolerance``),
:func:`~radiomix.preprocess.roi.process_image` (pyradiomics grid, ``preCrop``,
resegmentation, in the image's pixel type) and the ROI size checks. Then
shape and shape2D (the morphology family with pyradiomics' conventions,
:data:`SHAPE_SETTINGS`, :func:`shape2d_values`) on the mask cropped to the
ROI's bounding box, and, for every image type
(:func:`radiomix.pyradiomics.image_types.image_types`), the filtered image
over the ROI's bounding box only (no padding), discretised once with that
image type's settings, and handed to firstorder (the statistics and
intensity histogram families with pyradiomics' conventions,
:func:`firstorder_settings`) and the texture classes
(the GLCM, GLRLM, NGLDM, NGTDM and GLSZM families with pyradiomics' conventions,
:data:`TEXTURE_FAMILIES`).
Each row's ``feature`` is pyradiomics' column name (``original_glcm_Contrast``,
``log-sigma-1-0-mm-3D_firstorder_Mean``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix import io
from radiomix.errors import InputError, SpecError
from radiomix.features import histogram, statistics, surface
from radiomix.features.table import COLUMNS
from radiomix.features.texture import present_levels, roi_box
from radiomix.io.images import read_image_file
from radiomix.preprocess.discretisation import Discretised, discretise
from radiomix.preprocess.intensity import normalise_whole_image
from radiomix.preprocess.mask_conventions import check_roi_extent, read_mask_with_conventions
from radiomix.preprocess.roi import image_arrays, process_image
from radiomix.pyradiomics.image_types import BoundingBox, image_type_filters, image_types
from radiomix.pyradiomics.mapping import (
    FIRSTORDER_SOURCES,
    SHAPE2D_SOURCES,
    SHAPE_CLASSES,
    SHAPE_SOURCES,
    PyradiomicsFeature,
    feature,
)
from radiomix.pyradiomics.params import PyradiomicsSettings, PyradiomicsSpec, load_pyradiomics_spec
from radiomix.pyradiomics.translation import (
    SHAPE_SETTINGS,
    TEXTURE_FAMILIES,
    aggregation,
    discretisation_settings,
    firstorder_settings,
    ordinary_spec,
    texture_dimensions,
)

logger = logging.getLogger(__name__)

UNDEFINED = "undefined: pyradiomics gives no number for this ROI"
"""Status of a NaN value of a texture class."""

SpecLike = str | Path | dict | PyradiomicsSpec
ImageLike = str | Path | sitk.Image


@dataclass(frozen=True)
class PreparedCase:
    """Image and ROI after the ordinary chain under a parameter file's translation, ready for the image types.

    Attributes
    ----------
    image : SimpleITK.Image
        The image the filters receive (normalised, resampled or pre-cropped;
        its own pixel type).
    roi : ndarray of bool, (z, y, x)
        Voxels of the ROI for firstorder, the texture classes and LBP3D
        (re-segmented).
    shape_roi : ndarray of bool, (z, y, x)
        Voxels of the ROI for the shape classes (before re-segmentation unless
        ``resegmentShape``).
    box : BoundingBox
        Bounding box of ``roi``; every class sees its image cropped to it
        (shape classes too, as in pyradiomics).
    spacing : tuple of float
        Voxel size (z, y, x) in mm.
    """

    image: sitk.Image
    roi: np.ndarray
    shape_roi: np.ndarray
    box: BoundingBox
    spacing: tuple[float, float, float]


def prepare(image: ImageLike, mask: ImageLike, spec: PyradiomicsSpec) -> PreparedCase:
    """One case through the ordinary chain under ``spec``'s translation (module docstring).

    Raises
    ------
    radiomix.errors.InputError
        Unreadable files, a 2D image, an absent label, a grid mismatch (without
        ``correctMask``), an ROI too small (``minimumROIDimensions``,
        ``minimumROISize``) or emptied by the re-segmentation; the message
        names the files and the label.
    """
    settings = spec.settings
    picture, mask_file = _read_image_and_mask(image, mask)
    source = f"image {_describe(image)}, mask {_describe(mask)} (label {settings.label})"
    if picture.GetDimension() != 3:
        raise InputError(f"radiomix's pyradiomics backend needs 3D images (got {picture.GetDimension()}D); "
                         "store a 2D image as a volume of one slice and set force2D", _describe(image))
    ordinary = ordinary_spec(settings, _filters(spec, picture))
    binary = read_mask_with_conventions(mask if mask_file is None else mask_file, picture, None, settings.label,
                                        ordinary.mask, source=None if mask_file is None else mask)
    if settings.normalize:
        picture = normalise_whole_image(picture, settings.normalizeScale, settings.removeOutliers)
    intensity, region, spacing = image_arrays(picture, binary)
    processed = process_image(intensity, region, spacing, ordinary, source, geometry=picture)
    for what, roi in (("the (interpolated) ROI", processed.morphological_mask),
                      ("the re-segmented ROI", processed.intensity_mask)):
        box = _box(roi)
        check_roi_extent(box.size, int(np.count_nonzero(roi[box.slices])), ordinary.mask.min_roi_dimensions,
                         ordinary.mask.min_roi_voxels, what,
                         voxels_setting=f"min_roi_voxels (minimumROISize {settings.minimumROISize} + 1)",
                         source=source)
    if processed.intensity.shape != intensity.shape or processed.spacing != spacing:
        picture = _on_grid(processed.intensity, processed.spacing, picture)
    shape_roi = processed.intensity_mask if settings.resegmentShape else processed.morphological_mask
    return PreparedCase(image=picture, roi=processed.intensity_mask, shape_roi=shape_roi, box=box,
                        spacing=processed.spacing)


def _read_image_and_mask(image: ImageLike, mask: ImageLike) -> tuple[sitk.Image, sitk.Image | None]:
    """:func:`radiomix.io.read_image` of ``image`` and, on a second thread, the label file ``mask`` (None for an image).

    Inflating compressed files releases the GIL, so the two reads overlap. (A DICOM RTSTRUCT or
    SEG reaches this function rasterised: :func:`radiomix.extract_features` does it.)
    """
    if isinstance(mask, sitk.Image):
        return io.read_image(image), None
    with ThreadPoolExecutor(max_workers=1) as pool:
        mask_read = pool.submit(read_image_file, mask)
        return io.read_image(image), mask_read.result()


def _filters(spec: PyradiomicsSpec, image: sitk.Image) -> tuple:
    """The filters of every image type of ``spec`` on ``image`` (whether any filter reads the whole image).

    pyradiomics' warnings are left to :func:`~radiomix.pyradiomics.image_types.image_types`, which
    decides on the processed image.
    """
    return tuple(filter_settings for image_type in spec.image_types
                 for _, filter_settings in image_type_filters(image_type.name, image_type.settings, image,
                                                              warn=False)
                 if filter_settings is not None)


def _box(roi: np.ndarray) -> BoundingBox:
    """Bounding box of a non-empty ROI."""
    box = roi_box(roi)
    return BoundingBox(tuple(s.start for s in box), tuple(s.stop - 1 for s in box))


def _on_grid(intensity: np.ndarray, spacing: tuple[float, float, float], image: sitk.Image) -> sitk.Image:
    """The processed (resampled or pre-cropped) intensities as an image of ``spacing`` (z, y, x mm).

    Origin and direction are ``image``'s: the filters read the voxel size only.
    """
    result = sitk.GetImageFromArray(np.ascontiguousarray(intensity))
    result.SetSpacing(tuple(reversed(spacing)))
    result.SetOrigin(image.GetOrigin())
    result.SetDirection(image.GetDirection())
    return result


def _describe(source: ImageLike) -> str:
    """How an input is named in messages."""
    return "<in-memory image>" if isinstance(source, sitk.Image) else str(source)


def enabled_definitions(spec: PyradiomicsSpec) -> dict[str, tuple[PyradiomicsFeature, ...]]:
    """Enabled classes (in file order) and their enabled features that have a value.

    pyradiomics' "no value" deprecated features are left out even when named.
    """
    return {name: tuple(definition for definition in (feature(name, key) for key in spec.enabled_features(name))
                        if definition.status != "no value")
            for name, _ in spec.feature_classes}


def firstorder_values(intensity: np.ndarray, roi: np.ndarray, binned: Discretised,
                      spacing: tuple[float, float, float],
                      settings: PyradiomicsSettings) -> tuple[dict[str, float], dict[str, str]]:
    """pyradiomics' firstorder features by pyradiomics name, and the status of each NaN.

    The statistics family on the ROI intensities and the intensity histogram's
    entropy and uniformity on pyradiomics' levels ``binned`` (only the
    non-empty bins count), under :func:`firstorder_settings`.

    Parameters
    ----------
    intensity : ndarray, (z, y, x)
        The (filtered) image.
    roi : ndarray of bool, same shape
        The ROI.
    binned : radiomix.preprocess.discretisation.Discretised
        ``intensity``'s levels on ``roi`` (pyradiomics' bin edges).
    spacing : tuple of float
        Voxel size (z, y, x) in mm.
    settings : PyradiomicsSettings
        ``voxelArrayShift`` is read.
    """
    statistics_settings, histogram_settings = firstorder_settings(settings)
    counts = histogram.level_counts(binned.levels[roi], binned.n_levels)
    entropy, uniformity = histogram.entropy_and_uniformity(counts, histogram_settings.entropy_epsilon)
    results = {("histogram", "entropy"): entropy, ("histogram", "uniformity"): uniformity}
    results.update((("statistics", key), value) for key, value in statistics.intensity_statistics(
        intensity[roi].astype(np.float64), math.prod(spacing), statistics_settings).items())
    values = {name: results[source] for name, source in FIRSTORDER_SOURCES.items()}
    statuses = {name: statistics.UNDEFINED[key] for name, (_, key) in FIRSTORDER_SOURCES.items()
                if math.isnan(values[name]) and key in statistics.UNDEFINED}
    return values, statuses


def shape_values(mask: np.ndarray, spacing: tuple[float, float, float]) -> tuple[dict[str, float], dict[str, str]]:
    """pyradiomics' shape features by pyradiomics name, and the status of each NaN.

    The morphology family's mesh and voxel-position features
    (:func:`radiomix.features.surface.shape_features`) of ``mask``
    (z, y, x; spacing in mm) under :data:`SHAPE_SETTINGS`.
    """
    results, _, _ = surface.shape_features(mask, spacing, SHAPE_SETTINGS)
    return _by_name(results, SHAPE_SOURCES)


def shape2d_values(mask: np.ndarray, spacing: tuple[float, float, float],
                   slice_axis: int) -> tuple[dict[str, float], dict[str, str]]:
    """pyradiomics' shape2D features by pyradiomics name, and the status of each NaN.

    The morphology family's 2D features (:func:`radiomix.features.surface.planar_features`)
    of ``mask`` (z, y, x; spacing in mm), one slice thick along ``slice_axis``.
    """
    return _by_name(surface.planar_features(mask, spacing, slice_axis), SHAPE2D_SOURCES)


def _by_name(results: dict[str, tuple[float, str]], sources: dict[str, str]) -> tuple[dict, dict]:
    """``(values, statuses)`` by pyradiomics name from the family's key -> (value, status)."""
    values = {name: results[key][0] for name, key in sources.items()}
    statuses = {name: results[key][1] for name, key in sources.items() if results[key][1]}
    return values, statuses


def _rows(prefix: str, feature_class: str, definitions, values: dict, statuses: dict,
          settings: PyradiomicsSettings) -> list[list]:
    """Table rows of one class' enabled features."""
    label = aggregation(feature_class, settings)
    rows = []
    for definition in definitions:
        name = definition.name
        value = float(values[name])
        status = statuses.get(name, UNDEFINED if math.isnan(value) else "")
        rows.append([f"{prefix}_{feature_class}_{name}", feature_class, definition.title,
                     definition.ibsi_code, label, prefix, value, definition.unit, status])
    return rows


def _shape_rows(case: PreparedCase, spec: PyradiomicsSpec, enabled: dict) -> list[list]:
    """Rows of the enabled shape classes (computed once, on the original image's ROI)."""
    rows = []
    mask = case.shape_roi[case.box.slices]
    settings = spec.settings
    if enabled.get("shape"):
        values, statuses = shape_values(mask, case.spacing)
        rows += _rows("original", "shape", enabled["shape"], values, statuses, settings)
    if enabled.get("shape2D"):
        if not settings.force2D:
            logger.info("shape2D is enabled but force2D is false: no shape2D features (as pyradiomics)")
        elif case.box.size[settings.force2Ddimension] > 1:
            logger.warning("shape2D is enabled but the ROI spans %d slices along axis %d: no shape2D features",
                           case.box.size[settings.force2Ddimension], settings.force2Ddimension)
        else:
            values, statuses = shape2d_values(mask, case.spacing, settings.force2Ddimension)
            rows += _rows("original", "shape2D", enabled["shape2D"], values, statuses, settings)
    return rows


def _image_type_rows(prefix: str, filtered: np.ndarray, spacing: tuple[float, float, float],
                     settings: PyradiomicsSettings, box_roi: np.ndarray, enabled: dict) -> list[list]:
    """Rows of firstorder and the texture classes for one (filtered) image's values on the ROI box ``box_roi``.

    ``spacing`` is the voxel size (z, y, x) in mm.
    """
    binned = discretise(filtered, box_roi, discretisation_settings(settings))
    rows = []
    texture_levels = None  # ranked once, shared by the texture classes of this image
    for feature_class, definitions in enabled.items():
        if feature_class in SHAPE_CLASSES or not definitions:
            continue
        if feature_class == "firstorder":
            values, statuses = firstorder_values(filtered, box_roi, binned, spacing, settings)
        else:
            if texture_levels is None:
                texture_levels = present_levels(binned.levels, binned.n_levels)
            family, family_settings, sources = TEXTURE_FAMILIES[feature_class]
            results = family.level_features(texture_levels, binned.n_levels, spacing,
                                            family_settings(settings, definitions), texture_dimensions(settings))
            by_key = {result.key: result.value for result in results}
            values = {name: by_key[key] for name, key in sources.items() if key in by_key}
            statuses = {}
        rows += _rows(prefix, feature_class, definitions, values, statuses, settings)
    return rows


def extract_pyradiomics(image: ImageLike, mask: ImageLike, spec: SpecLike,
                        label: int | None = None) -> pd.DataFrame:
    """Features of a pyradiomics parameter file, with pyradiomics' names and numbers.

    Parameters
    ----------
    image, mask : path or SimpleITK.Image
        The image and its label map (or segmentation, see ``label_channel``):
        files are read with SimpleITK keeping their pixel types (as
        pyradiomics); a folder is read as a DICOM series.
    spec : path, dict or PyradiomicsSpec
        A pyradiomics parameter file (YAML or JSON), its dict, or the spec.
    label : int, optional
        ROI label; overrides the parameter file's ``label`` (as pyradiomics'
        ``execute(label=...)``).

    Returns
    -------
    pandas.DataFrame
        One row per feature, columns of :data:`radiomix.features.table.COLUMNS`;
        ``feature`` is pyradiomics' column name, ``family`` its class,
        ``name``/``ibsi_code`` from :mod:`radiomix.pyradiomics.mapping`,
        ``image_type`` the pyradiomics image type prefix.

    Raises
    ------
    radiomix.errors.SpecError
        Invalid parameter file.
    radiomix.errors.InputError
        Unreadable image or mask, absent label, geometry mismatch, ROI too
        small (pyradiomics' checks, see :func:`prepare`).
    """
    spec = load_pyradiomics_spec(spec)
    if label is not None:
        spec = with_label(spec, label)
    case = prepare(image, mask, spec)
    enabled = enabled_definitions(spec)
    rows = _shape_rows(case, spec, enabled)
    if any(definitions for name, definitions in enabled.items() if name not in SHAPE_CLASSES):
        box_roi = np.ascontiguousarray(case.roi[case.box.slices])
        for prefix, filtered, settings in image_types(case.image, case.roi, spec, box=case.box):
            rows += _image_type_rows(prefix, filtered, case.spacing, settings, box_roi, enabled)
    return pd.DataFrame(rows, columns=COLUMNS)


def with_label(spec: PyradiomicsSpec, label: int) -> PyradiomicsSpec:
    """``spec`` with ``label`` in its settings and in every image type's settings.

    Raises
    ------
    SpecError
        ``label`` is not a positive integer.
    """
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or label <= 0:
        raise SpecError(f"label must be a positive integer, got {label!r}")
    label = int(label)
    settings = dataclasses.replace(spec.settings, label=label)
    image_types = tuple(dataclasses.replace(it, settings=dataclasses.replace(it.settings, label=label))
                        for it in spec.image_types)
    return dataclasses.replace(spec, settings=settings, image_types=image_types)
