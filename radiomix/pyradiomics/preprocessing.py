"""pyradiomics' image processing chain, rule by rule.

The order is pyradiomics' (``RadiomicsFeatureExtractor.execute``):

1. the mask becomes a label map (a vector mask gives channel
   ``label_channel``; UInt32 as pyradiomics' cast, except integer masks whose
   labels compare the same without it) that must hold ``label``;
2. ``normalize``: the whole image to mean 0 and (sample) standard deviation 1,
   outliers clipped to ``removeOutliers`` standard deviations, times
   ``normalizeScale``;
3. ``resampledPixelSpacing`` + ``interpolator``: image and mask resampled onto
   a grid aligned with the mask's first voxel corner, covering the ROI's
   bounding box plus ``padDistance`` new voxels (:func:`resampled`: the
   ordinary chain's ``interpolation: {grid: pyradiomics}``,
   :mod:`radiomix.preprocess.roi_grid`); otherwise ``preCrop`` crops both to
   the bounding box plus ``padDistance``;
4. mask checks (:func:`checked_mask`): image and mask grids must agree within
   ``geometryTolerance`` (or the mask is resampled onto the image grid when
   ``correctMask``), the ROI must span at least ``minimumROIDimensions`` axes
   and hold more than ``minimumROISize`` voxels;
5. ``resegmentRange``: the ROI keeps the voxels within the thresholds
   (:func:`resegmented_roi`), and the checks are repeated;
6. every image type is cropped to the ROI's bounding box (no padding) and
   discretised by the ordinary :func:`radiomix.preprocess.discretisation.discretise`
   with pyradiomics' bin edges
   (:func:`~radiomix.pyradiomics.translation.discretisation_settings`).

Grid operations (resampling, mask correction) use SimpleITK exactly as
pyradiomics does, so that the numbers agree; everything else works on NumPy
arrays (z, y, x).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import (
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    LabelAbsentError,
    RoiTooSmallError,
    UnreadableFileError,
)
from radiomix.features.texture import roi_box as texture_roi_box
from radiomix.io.nrrd import read_as_simpleitk
from radiomix.preprocess.intensity import normalise_whole_image
from radiomix.preprocess.mask_conventions import check_roi_extent, mask_on_image_grid, select_label_channel
from radiomix.preprocess.resegmentation import resegment
from radiomix.preprocess.roi_grid import crop_to_box, resample_on_roi_grid
from radiomix.pyradiomics.image_types import BoundingBox
from radiomix.pyradiomics.params import PyradiomicsSettings
from radiomix.pyradiomics.translation import (
    ITK_DEFAULT_TOLERANCE,
    interpolation_settings,
    resegmentation_settings,
)


@dataclass(frozen=True)
class PreparedCase:
    """Image and ROI after pyradiomics' processing, ready for the image types.

    Attributes
    ----------
    image : SimpleITK.Image
        The image the filters receive (normalised, resampled or pre-cropped).
    mask : SimpleITK.Image
        Label map on ``image``'s grid; the resegmented ROI when resegmentation
        is on (pyradiomics hands this one to the filters).
    roi : ndarray of bool, (z, y, x)
        Voxels of the ROI for firstorder and texture classes (resegmented).
    shape_roi : ndarray of bool, (z, y, x)
        Voxels of the ROI for shape classes (before resegmentation unless
        ``resegmentShape``).
    box : BoundingBox
        Bounding box of ``roi``; every class sees its image cropped to it
        (shape classes too, as in pyradiomics).
    spacing : tuple of float
        Voxel size (z, y, x) in mm.
    """

    image: sitk.Image
    mask: sitk.Image
    roi: np.ndarray
    shape_roi: np.ndarray
    box: BoundingBox
    spacing: tuple[float, float, float]


def read_image(source: str | Path | sitk.Image, what: str) -> sitk.Image:
    """A SimpleITK image from an image, a file (read keeping its pixel type, as pyradiomics) or a DICOM folder."""
    if isinstance(source, sitk.Image):
        return source
    path = Path(source)
    if path.is_dir():
        from radiomix.io import read_image as read_series

        return read_series(path)
    if not path.is_file():
        raise UnreadableFileError(f"{what} file not found", path)
    try:
        return read_as_simpleitk(path)
    except RuntimeError as exc:
        raise UnreadableFileError(f"cannot read the {what}: {str(exc).strip().splitlines()[-1]}", path) from exc


LABEL_TYPES = (sitk.sitkUInt8, sitk.sitkInt8, sitk.sitkUInt16, sitk.sitkInt16, sitk.sitkUInt32, sitk.sitkInt32)
"""Mask pixel types whose values compare with a label as their UInt32 casts do (labels below 2^31):
such masks are used as they are, without pyradiomics' cast to UInt32."""


def read_image_and_mask(image: str | Path | sitk.Image,
                        mask: str | Path | sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """:func:`read_image` of the image and of the mask, the mask on a second thread.

    Inflating compressed files releases the GIL, so the two reads overlap.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        mask_read = pool.submit(read_image, mask, "mask")
        return read_image(image, "image"), mask_read.result()


def label_map(mask: sitk.Image, settings: PyradiomicsSettings) -> sitk.Image:
    """The mask as a label map holding ``settings.label`` (channel ``label_channel`` of a vector mask).

    Masks of other pixel types than :data:`LABEL_TYPES` are cast to UInt32
    (as pyradiomics casts every mask); the others hold the same labels as
    they are.

    Raises
    ------
    LabelAbsentError
        The mask is empty or does not hold the label (the message lists the labels it holds).
    """
    return _label_map_and_roi(mask, settings)[0]


def _label_map_and_roi(mask: sitk.Image, settings: PyradiomicsSettings) -> tuple[sitk.Image, np.ndarray]:
    """:func:`label_map` and its voxels of ``settings.label`` (bool, z, y, x)."""
    mask = select_label_channel(mask, settings.label_channel)
    if mask.GetPixelID() not in LABEL_TYPES or not 0 < settings.label < 2 ** 31:
        mask = sitk.Cast(mask, sitk.sitkUInt32)
    labels = sitk.GetArrayViewFromImage(mask)
    roi = labels == settings.label
    if not roi.any():
        if not labels.any():
            raise LabelAbsentError("the mask holds no label (nothing is segmented)")
        present = np.unique(labels[labels != 0])
        raise LabelAbsentError(f"label {settings.label} is not in the mask; labels present: "
                               f"{', '.join(str(v) for v in present)}")
    return mask, roi


def roi_box(roi: np.ndarray) -> BoundingBox:
    """Bounding box of the ``True`` voxels of a (z, y, x) array (at least one)."""
    return _box_and_count(roi)[0]


def _box_and_count(roi: np.ndarray) -> tuple[BoundingBox, int]:
    """Bounding box (:func:`radiomix.features.texture.roi_box`) and number of the ``True`` voxels (at least one)."""
    box = texture_roi_box(roi)
    if box is None:
        raise EmptyRoiError("the ROI holds no voxel")
    return (BoundingBox(tuple(s.start for s in box), tuple(s.stop - 1 for s in box)),
            int(np.count_nonzero(roi[box])))


def _label_roi(mask: sitk.Image, label: int) -> np.ndarray:
    return sitk.GetArrayViewFromImage(mask) == label


def resampled(image: sitk.Image, mask: sitk.Image, settings: PyradiomicsSettings) -> tuple[sitk.Image, sitk.Image]:
    """pyradiomics' resampling to ``resampledPixelSpacing`` (x, y, z mm; 0 keeps an axis' spacing).

    :func:`radiomix.preprocess.roi_grid.resample_on_roi_grid` with
    :func:`~radiomix.pyradiomics.translation.interpolation_settings`.
    """
    if len(settings.resampledPixelSpacing) != mask.GetDimension():
        raise InputError(f"resampledPixelSpacing has {len(settings.resampledPixelSpacing)} values; the mask is "
                         f"{mask.GetDimension()}D")
    interpolation = interpolation_settings(settings)
    return resample_on_roi_grid(image, mask, settings.label, interpolation.spacing_mm, interpolation.pad_voxels,
                                interpolation.image_method)


def same_grid(image: sitk.Image, mask: sitk.Image, tolerance: float) -> bool:
    """Whether image and mask share a grid, by ITK's rule.

    Sizes equal; origins and spacings equal to within ``tolerance`` times the
    image's first voxel size; direction cosines equal to within ``tolerance``.
    """
    if image.GetDimension() != mask.GetDimension() or image.GetSize() != mask.GetSize():
        return False
    coordinate_tolerance = abs(tolerance * image.GetSpacing()[0])
    return (np.all(np.abs(np.subtract(image.GetOrigin(), mask.GetOrigin())) <= coordinate_tolerance)
            and np.all(np.abs(np.subtract(image.GetSpacing(), mask.GetSpacing())) <= coordinate_tolerance)
            and np.all(np.abs(np.subtract(image.GetDirection(), mask.GetDirection())) <= tolerance))


def checked_mask(image: sitk.Image, mask: sitk.Image,
                 settings: PyradiomicsSettings) -> tuple[BoundingBox, sitk.Image]:
    """pyradiomics' mask checks; the ROI's bounding box and the mask (corrected if need be).

    Raises
    ------
    GeometryMismatchError
        Image and mask grids differ beyond ``geometryTolerance`` and
        ``correctMask`` is off (or the ROI lies outside the image).
    LabelAbsentError
        The label is not in the mask.
    RoiTooSmallError
        The ROI is a single voxel, spans fewer than ``minimumROIDimensions``
        axes, or holds ``minimumROISize`` voxels or fewer.
    """
    box, mask, _ = _checked_mask_and_roi(image, mask, settings)
    return box, mask


def _checked_mask_and_roi(image: sitk.Image, mask: sitk.Image, settings: PyradiomicsSettings,
                          roi: np.ndarray | None = None) -> tuple[BoundingBox, sitk.Image, np.ndarray]:
    """:func:`checked_mask` and the ROI (bool, z, y, x); ``roi``: the mask's ROI if already known."""
    tolerance = ITK_DEFAULT_TOLERANCE if settings.geometryTolerance is None else settings.geometryTolerance
    if not same_grid(image, mask, tolerance):
        if not settings.correctMask:
            raise GeometryMismatchError(
                "image and mask grids differ (size, origin, spacing or direction beyond a tolerance of "
                f"{tolerance:g}); set correctMask: true to resample the mask onto the image grid, or raise "
                "geometryTolerance")
        mask = mask_on_image_grid(image, mask, settings.label)
        roi = None
    if roi is None:
        roi = _label_roi(mask, settings.label)
    if not roi.any():
        raise LabelAbsentError(f"label {settings.label} is not in the mask (on the image grid)")
    box, n_voxels = _box_and_count(roi)
    check_roi_size(box, n_voxels, settings)
    return box, mask, roi


def check_roi_size(box: BoundingBox, n_voxels: int, settings: PyradiomicsSettings) -> None:
    """pyradiomics' ``minimumROIDimensions`` and ``minimumROISize`` rules (see :func:`checked_mask`)."""
    min_voxels = 1 if settings.minimumROISize is None else settings.minimumROISize + 1
    check_roi_extent(box.size, n_voxels, settings.minimumROIDimensions, min_voxels,
                     dimensions_setting="minimumROIDimensions",
                     voxels_setting=f"minimumROISize ({settings.minimumROISize}) + 1")


def resegmented_roi(image_array: np.ndarray, roi: np.ndarray, settings: PyradiomicsSettings) -> np.ndarray:
    """The ROI voxels with intensity ``>=`` the lower threshold (and ``<=`` the upper one, if given).

    The thresholds are :func:`radiomix.preprocess.resegmentation.range_thresholds`
    of :func:`~radiomix.pyradiomics.translation.resegmentation_settings`, compared in the image's own pixel type.

    Raises
    ------
    RoiTooSmallError
        One voxel or none is left.
    """
    result = resegment(image_array, roi, resegmentation_settings(settings))
    n_kept = int(np.count_nonzero(result))
    if n_kept <= 1:
        raise RoiTooSmallError(f"resegmentation ({settings.resegmentMode} range "
                               f"{list(settings.resegmentRange)}) leaves {n_kept} voxel(s)")
    return result


def _mask_from_roi(roi: np.ndarray, like: sitk.Image, label: int) -> sitk.Image:
    """A UInt32 label map holding ``label`` on ``roi``, on ``like``'s grid."""
    labels = np.where(roi, np.uint32(label), np.uint32(0))
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(like)
    return image


def prepare(image: sitk.Image, mask: sitk.Image, settings: PyradiomicsSettings) -> PreparedCase:
    """Run pyradiomics' processing chain (module docstring, steps 1-5) on an image and its mask."""
    if image.GetDimension() != 3:
        raise InputError(f"radiomix's pyradiomics backend needs 3D images (got {image.GetDimension()}D); "
                         "store a 2D image as a volume of one slice and set force2D")
    mask, roi = _label_map_and_roi(mask, settings)
    if settings.normalize:
        image = normalise_whole_image(image, settings.normalizeScale, settings.removeOutliers)
    if settings.interpolator is not None and settings.resampledPixelSpacing is not None:
        image, mask = resampled(image, mask, settings)
        roi = None
    elif settings.preCrop:
        box, mask = checked_mask(image, mask, settings)
        image, mask = crop_to_box(image, mask, box.slices, settings.padDistance)
        roi = None
    box, mask, roi = _checked_mask_and_roi(image, mask, settings, roi)
    shape_roi = roi
    if settings.resegmentRange is not None:
        roi = resegmented_roi(sitk.GetArrayViewFromImage(image), roi, settings)
        box, n_voxels = _box_and_count(roi)
        check_roi_size(box, n_voxels, settings)
        mask = _mask_from_roi(roi, mask, settings.label)
        if settings.resegmentShape:
            shape_roi = roi
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    return PreparedCase(image=image, mask=mask, roi=roi, shape_roi=shape_roi, box=box, spacing=spacing)
