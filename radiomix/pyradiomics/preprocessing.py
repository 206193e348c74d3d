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
   bounding box plus ``padDistance`` new voxels (:func:`resampled`); otherwise
   ``preCrop`` crops both to the bounding box plus ``padDistance``;
4. mask checks (:func:`checked_mask`): image and mask grids must agree within
   ``geometryTolerance`` (or the mask is resampled onto the image grid when
   ``correctMask``), the ROI must span at least ``minimumROIDimensions`` axes
   and hold more than ``minimumROISize`` voxels;
5. ``resegmentRange``: the ROI keeps the voxels within the thresholds
   (:func:`resegmented_roi`), and the checks are repeated;
6. every image type is cropped to the ROI's bounding box (no padding) and
   discretised with :func:`discretise` (pyradiomics' bin edges of
   :mod:`radiomix.preprocess.discretisation`).

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

from radiomix._numba import njit
from radiomix.errors import (
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    LabelAbsentError,
    RoiTooSmallError,
    UnreadableFileError,
)
from radiomix.features.texture import grow_box_to_row
from radiomix.io.nrrd import read_as_simpleitk
from radiomix.preprocess.discretisation import digitised, pyradiomics_bin_edges
from radiomix.preprocess.intensity import normalise_whole_image
from radiomix.preprocess.resegmentation import resegment
from radiomix.preprocess.settings import DiscretisationSettings, ResegmentationSettings
from radiomix.pyradiomics.params import PyradiomicsSettings

ITK_DEFAULT_TOLERANCE = 1e-6
"""ITK's default coordinate and direction tolerance, used when ``geometryTolerance`` is not set."""

ROI_BOUNDS_TOLERANCE = 1e-3
"""Tolerance (voxels) of pyradiomics' check that the ROI lies inside the image before resampling."""


@dataclass(frozen=True)
class BoundingBox:
    """Inclusive index bounds of an ROI, in array order (z, y, x)."""

    lower: tuple[int, int, int]
    upper: tuple[int, int, int]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Slices selecting the box from a (z, y, x) array."""
        return tuple(slice(lo, hi + 1) for lo, hi in zip(self.lower, self.upper))

    @property
    def size(self) -> np.ndarray:
        """Extent of the box in voxels, (z, y, x)."""
        return np.array(self.upper) - np.array(self.lower) + 1


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
    if mask.GetNumberOfComponentsPerPixel() > 1:
        channels = mask.GetNumberOfComponentsPerPixel()
        if settings.label_channel >= channels:
            raise InputError(f"label_channel {settings.label_channel} asked for, but the segmentation "
                             f"holds {channels} channels (0-{channels - 1})")
        mask = sitk.VectorIndexSelectionCast(mask, settings.label_channel)
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
    """Bounding box and number of the ``True`` voxels of a (z, y, x) array (at least one), in one pass."""
    lower, upper, count = _extent_kernel(np.ascontiguousarray(roi, dtype=np.bool_))
    return BoundingBox(tuple(int(v) for v in lower), tuple(int(v) for v in upper)), int(count)


@njit
def _extent_kernel(roi):
    """Lowest and highest (z, y, x) index of the ``True`` voxels of ``roi`` and their number.

    Each row is counted first (a vectorised sum); only rows holding a voxel
    are searched for their first and last one.
    """
    nz, ny, nx = roi.shape
    lower = np.array([nz, ny, nx], dtype=np.int64)
    upper_end = np.zeros(3, dtype=np.int64)
    count = 0
    for z in range(nz):
        for y in range(ny):
            row = roi[z, y]
            in_row = 0
            for x in range(nx):
                in_row += row[x]
            if in_row == 0:
                continue
            count += in_row
            grow_box_to_row(row, z, y, lower, upper_end)
    return lower, upper_end - 1, count


def _label_roi(mask: sitk.Image, label: int) -> np.ndarray:
    return sitk.GetArrayViewFromImage(mask) == label


def roi_inside_image(image: sitk.Image, mask: sitk.Image, label: int) -> BoundingBox:
    """The ROI's bounding box (mask index space), after checking that the ROI lies inside the image.

    The corners of the ROI's bounding box (voxel edges, half a voxel beyond
    the outer centres) are mapped into the image's continuous index space and
    must lie within ``[-0.5, size - 0.5]`` to within 1e-3 voxel.

    Raises
    ------
    GeometryMismatchError
        Part of the ROI lies outside the image.
    """
    roi = _label_roi(mask, label)
    if not roi.any():
        raise LabelAbsentError(f"label {label} is not in the mask")
    box = roi_box(roi)
    lower_xyz = np.array(box.lower[::-1], dtype=float)
    upper_xyz = np.array(box.upper[::-1], dtype=float)
    corners = [image.TransformPhysicalPointToContinuousIndex(
        mask.TransformContinuousIndexToPhysicalPoint(tuple(float(c) for c in corner)))
        for corner in (lower_xyz - 0.5, upper_xyz + 0.5)]
    corners = np.array(corners)
    size = np.array(image.GetSize(), dtype=float)
    if np.any(corners.min(axis=0) < -0.5 - ROI_BOUNDS_TOLERANCE) or \
            np.any(corners.max(axis=0) > size - 0.5 + ROI_BOUNDS_TOLERANCE):
        raise GeometryMismatchError(
            f"the ROI's bounding box reaches outside the image (ROI bounds in image index space "
            f"x, y, z: {corners.min(axis=0).round(3).tolist()} to {corners.max(axis=0).round(3).tolist()}; "
            f"image size {list(image.GetSize())})")
    return box


def cropped(image: sitk.Image, mask: sitk.Image, box: BoundingBox, pad: int) -> tuple[sitk.Image, sitk.Image]:
    """Image and mask cropped to ``box`` plus ``pad`` voxels on every side (within the image)."""
    size_xyz = np.array(mask.GetSize())
    lower_xyz = np.maximum(np.array(box.lower[::-1]) - pad, 0)
    upper_crop = np.maximum(size_xyz - np.array(box.upper[::-1]) - pad - 1, 0)
    crop = sitk.CropImageFilter()
    crop.SetLowerBoundaryCropSize([int(v) for v in lower_xyz])
    crop.SetUpperBoundaryCropSize([int(v) for v in upper_crop])
    return crop.Execute(image), crop.Execute(mask)


def resampled(image: sitk.Image, mask: sitk.Image, settings: PyradiomicsSettings) -> tuple[sitk.Image, sitk.Image]:
    """pyradiomics' resampling to ``resampledPixelSpacing`` (x, y, z mm; 0 keeps an axis' spacing).

    The new grid has the mask's direction; along an axis where the ROI spans
    a single voxel the spacing is kept. Its first voxel corner coincides with
    the mask's first voxel corner, shifted by a whole number of new voxels;
    it covers the ROI's bounding box plus ``padDistance`` new voxels, within
    the mask's extent. The image is interpolated with ``interpolator`` into
    its own pixel type, the mask with nearest neighbour. When the new spacing
    equals the image's (``numpy.allclose``), only the mask is put onto the
    image grid and both are cropped to the ROI plus ``padDistance``.
    """
    mask_spacing = np.array(mask.GetSpacing())
    image_spacing = np.array(image.GetSpacing())
    new_spacing = np.array(settings.resampledPixelSpacing, dtype=float)
    if len(new_spacing) != len(mask_spacing):
        raise InputError(f"resampledPixelSpacing has {len(new_spacing)} values; the mask is "
                         f"{len(mask_spacing)}D")
    new_spacing = np.where(new_spacing == 0, mask_spacing, new_spacing)
    box = roi_inside_image(image, mask, settings.label)
    box_lower = np.array(box.lower[::-1], dtype=float)
    box_size = box.size[::-1].astype(float)
    new_spacing = np.where(box_size != 1, new_spacing, mask_spacing)

    if np.allclose(image_spacing, new_spacing):
        mask = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())
        return cropped(image, mask, roi_box(_label_roi(mask, settings.label)), settings.padDistance)

    ratio = mask_spacing / new_spacing
    new_lower = np.floor((box_lower - 0.5) * ratio - settings.padDistance)
    new_upper = np.ceil((box_lower + box_size - 0.5) * ratio + settings.padDistance)
    largest_upper = np.ceil(np.array(mask.GetSize()) * ratio) - 1
    new_lower = np.where(new_lower < 0, 0, new_lower)
    new_upper = np.where(new_upper > largest_upper, largest_upper, new_upper)
    new_size = np.array(new_upper - new_lower + 1, dtype=int).tolist()
    origin_index = 0.5 * (new_spacing - mask_spacing) / mask_spacing + new_lower / ratio
    new_origin = mask.TransformContinuousIndexToPhysicalPoint(origin_index.tolist())

    resample = sitk.ResampleImageFilter()
    resample.SetOutputSpacing(new_spacing.tolist())
    resample.SetOutputDirection(mask.GetDirection())
    resample.SetSize(new_size)
    resample.SetOutputOrigin(new_origin)
    resample.SetOutputPixelType(image.GetPixelID())
    resample.SetInterpolator(getattr(sitk, settings.interpolator))
    new_image = resample.Execute(image)
    resample.SetOutputPixelType(mask.GetPixelID())
    resample.SetInterpolator(sitk.sitkNearestNeighbor)
    return new_image, resample.Execute(mask)


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
        roi_inside_image(image, mask, settings.label)
        mask = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())
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
    spanned = int(np.sum(box.size > 1))
    if spanned == 0:
        raise RoiTooSmallError("the ROI is a single voxel: no features can be computed")
    if spanned < settings.minimumROIDimensions:
        raise RoiTooSmallError(f"the ROI spans {spanned} axes; minimumROIDimensions is "
                               f"{settings.minimumROIDimensions}")
    if settings.minimumROISize is not None and n_voxels <= settings.minimumROISize:
        raise RoiTooSmallError(f"the ROI holds {n_voxels} voxels; minimumROISize requires more than "
                               f"{settings.minimumROISize}")


def resegmentation(settings: PyradiomicsSettings) -> ResegmentationSettings:
    """pyradiomics' ``resegmentRange`` (sorted; one value: a lower bound) and ``resegmentMode`` as settings."""
    bounds = sorted(settings.resegmentRange)
    return ResegmentationSettings(range=(bounds[0], bounds[1] if len(bounds) == 2 else None),
                                  range_mode=settings.resegmentMode)


def resegmented_roi(image_array: np.ndarray, roi: np.ndarray, settings: PyradiomicsSettings) -> np.ndarray:
    """The ROI voxels with intensity ``>=`` the lower threshold (and ``<=`` the upper one, if given).

    The thresholds are :func:`radiomix.preprocess.resegmentation.range_thresholds`
    of :func:`resegmentation`, compared in the image's own pixel type.

    Raises
    ------
    RoiTooSmallError
        One voxel or none is left.
    """
    result = resegment(image_array, roi, resegmentation(settings))
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
        image, mask = cropped(image, mask, box, settings.padDistance)
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


@dataclass(frozen=True)
class Discretised:
    """An image's ROI after pyradiomics' discretisation.

    Attributes
    ----------
    levels : ndarray of int32, (z, y, x)
        Bin index (from 1) inside the ROI, 0 outside.
    n_levels : int
        The highest level in the ROI (pyradiomics' ``Ng``).
    values : ndarray
        The ROI intensities in C order, in the image's dtype.
    roi_levels : ndarray of int32
        The level of each of ``values``.
    float_values : ndarray of float64
        ``values`` as float64 (what firstorder computes with).
    """

    levels: np.ndarray
    n_levels: int
    values: np.ndarray
    roi_levels: np.ndarray
    float_values: np.ndarray


def binning(settings: PyradiomicsSettings) -> DiscretisationSettings:
    """pyradiomics' ``binWidth`` / ``binCount`` as discretisation settings with pyradiomics' bin edges."""
    if settings.binCount is not None:
        return DiscretisationSettings("fixed_bin_number", n_bins=settings.binCount, bin_edges="pyradiomics")
    return DiscretisationSettings("fixed_bin_size", bin_width=settings.binWidth, n_bins=None,
                                  bin_edges="pyradiomics")


def bin_edges(values: np.ndarray, settings: PyradiomicsSettings) -> np.ndarray:
    """pyradiomics' bin edges for the ROI intensities ``values`` (kept in their own dtype; see :func:`binning`)."""
    return pyradiomics_bin_edges(values, binning(settings))


def discretise(image_array: np.ndarray, roi: np.ndarray, settings: PyradiomicsSettings) -> Discretised:
    """pyradiomics' discretisation of the ROI of a (z, y, x) image (see :func:`binning`).

    Parameters
    ----------
    image_array : ndarray, (z, y, x)
        Intensities, in the image's own pixel type (as pyradiomics bins them).
    roi : ndarray of bool, same shape
        The ROI (at least one voxel).
    settings : PyradiomicsSettings
        ``binWidth`` or ``binCount`` of the image type.
    """
    image_array = np.ascontiguousarray(image_array)
    roi = np.ascontiguousarray(roi, dtype=np.bool_)
    if image_array.shape != roi.shape or image_array.ndim != 3:
        raise ValueError(f"image {image_array.shape} and ROI {roi.shape} must be 3D arrays of one shape")
    values = image_array[roi]
    if values.size == 0:
        raise EmptyRoiError("cannot discretise an empty ROI")
    float_values = values.astype(np.float64)
    roi_levels, levels = digitised(float_values, roi, bin_edges(values, settings))
    return Discretised(levels=levels, n_levels=int(roi_levels.max()), values=values, roi_levels=roi_levels,
                       float_values=float_values)
