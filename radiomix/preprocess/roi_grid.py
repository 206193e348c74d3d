"""Resampling onto a grid around the ROI, aligned with the mask's first voxel corner (pyradiomics' grid).

The grid of ``interpolation: {grid: pyradiomics}``, the one pyradiomics'
``resampledPixelSpacing`` builds:

- its direction is the mask's; along an axis where the ROI spans one voxel,
  or where the new spacing is 0, the mask's spacing is kept;
- its first voxel corner coincides with the mask's first voxel corner, shifted
  by a whole number of new voxels;
- it covers the ROI's bounding box plus ``pad_voxels`` new voxels, within
  the mask's extent: from ``pad_voxels`` new voxels below the box's lower
  edge (rounded outwards to the grid) to ``pad_voxels + 1`` new voxels beyond
  the centres of its last voxels (pyradiomics' rule, which may leave out the
  outer part of the last voxels when the new voxels are under half the old);
- the image is interpolated with a SimpleITK interpolator into its own pixel
  type (an integer image stays integer, as ITK casts), the mask by nearest
  neighbour;
- when the new spacing equals the image's (``numpy.allclose``), nothing is
  interpolated: the mask is put onto the image grid and both are cropped to
  the ROI's bounding box plus ``pad_voxels``.

Before resampling, the ROI's bounding box must lie inside the image to within
:data:`ROI_BOUNDS_TOLERANCE` voxel. The IBSI grid (centred on the whole image)
is :mod:`radiomix.preprocess.interpolation`.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from radiomix.errors import GeometryMismatchError, LabelAbsentError
from radiomix.features.texture import roi_box
from radiomix.preprocess.settings import InterpolationSettings

SIMPLEITK_INTERPOLATORS = {
    "nearest": sitk.sitkNearestNeighbor,
    "linear": sitk.sitkLinear,
    "bspline": sitk.sitkBSpline,
    "gaussian": sitk.sitkGaussian,
    "label_gaussian": sitk.sitkLabelGaussian,
    "hamming_windowed_sinc": sitk.sitkHammingWindowedSinc,
    "cosine_windowed_sinc": sitk.sitkCosineWindowedSinc,
    "welch_windowed_sinc": sitk.sitkWelchWindowedSinc,
    "lanczos_windowed_sinc": sitk.sitkLanczosWindowedSinc,
    "blackman_windowed_sinc": sitk.sitkBlackmanWindowedSinc,
}
"""``interpolation.image_method`` of the pyradiomics grid -> SimpleITK interpolator."""

ROI_BOUNDS_TOLERANCE = 1e-3
"""Tolerance (voxels) of the check that the ROI lies inside the image before resampling."""

Box = tuple[slice, slice, slice]
"""A (z, y, x) bounding box as slices (stop exclusive)."""


def label_box(mask: sitk.Image, label: int) -> Box:
    """Bounding box (z, y, x slices) of the voxels of ``mask`` equal to ``label``.

    Raises
    ------
    LabelAbsentError
        No voxel holds ``label``.
    """
    box = roi_box(sitk.GetArrayViewFromImage(mask) == label)
    if box is None:
        raise LabelAbsentError(f"label {label} is not in the mask")
    return box


def check_roi_inside_image(image: sitk.Image, mask: sitk.Image, box: Box) -> None:
    """Check that the ROI's bounding box ``box`` (mask index space) lies inside the image.

    The box's corners (voxel edges, half a voxel beyond the outer centres) are
    mapped into the image's continuous index space and must lie within
    ``[-0.5, size - 0.5]`` to within :data:`ROI_BOUNDS_TOLERANCE` voxel.

    Raises
    ------
    GeometryMismatchError
        Part of the ROI lies outside the image.
    """
    lower_xyz = np.array([s.start for s in reversed(box)], dtype=float)
    upper_xyz = np.array([s.stop - 1 for s in reversed(box)], dtype=float)
    corners = np.array([image.TransformPhysicalPointToContinuousIndex(
        mask.TransformContinuousIndexToPhysicalPoint(tuple(float(c) for c in corner)))
        for corner in (lower_xyz - 0.5, upper_xyz + 0.5)])
    size = np.array(image.GetSize(), dtype=float)
    if np.any(corners.min(axis=0) < -0.5 - ROI_BOUNDS_TOLERANCE) or \
            np.any(corners.max(axis=0) > size - 0.5 + ROI_BOUNDS_TOLERANCE):
        raise GeometryMismatchError(
            f"the ROI's bounding box reaches outside the image (ROI bounds in image index space "
            f"x, y, z: {corners.min(axis=0).round(3).tolist()} to {corners.max(axis=0).round(3).tolist()}; "
            f"image size {list(image.GetSize())})")


def crop_to_box(image: sitk.Image, mask: sitk.Image, box: Box, pad_voxels: int) -> tuple[sitk.Image, sitk.Image]:
    """Image and mask (one grid) cropped to ``box`` plus ``pad_voxels`` voxels on every side, within the image."""
    size_xyz = np.array(mask.GetSize())
    lower_xyz = np.maximum(np.array([s.start for s in reversed(box)]) - pad_voxels, 0)
    upper_crop = np.maximum(size_xyz - np.array([s.stop for s in reversed(box)]) - pad_voxels, 0)
    crop = sitk.CropImageFilter()
    crop.SetLowerBoundaryCropSize([int(v) for v in lower_xyz])
    crop.SetUpperBoundaryCropSize([int(v) for v in upper_crop])
    return crop.Execute(image), crop.Execute(mask)


def resample_on_roi_grid(image: sitk.Image, mask: sitk.Image, label: int, spacing_xyz, pad_voxels: int,
                         image_method: str) -> tuple[sitk.Image, sitk.Image]:
    """Image and mask on the grid around the ROI (module docstring).

    Parameters
    ----------
    image : SimpleITK.Image
        Intensities (any grid holding the ROI).
    mask : SimpleITK.Image
        Label map; the ROI is its voxels equal to ``label``.
    label : int
    spacing_xyz : sequence of float
        New voxel size ``(x, y, z)`` in mm; 0 keeps the mask's spacing on that axis.
    pad_voxels : int
        New voxels kept around the ROI's bounding box.
    image_method : str
        A key of :data:`SIMPLEITK_INTERPOLATORS`.

    Returns
    -------
    image, mask : SimpleITK.Image
        On the new grid; the image in its own pixel type, the mask in its own.

    Raises
    ------
    LabelAbsentError
        ``label`` is not in the mask.
    GeometryMismatchError
        The ROI reaches outside the image.
    """
    mask_spacing = np.array(mask.GetSpacing())
    new_spacing = np.array(spacing_xyz, dtype=float)
    new_spacing = np.where(new_spacing == 0, mask_spacing, new_spacing)
    box = label_box(mask, label)
    check_roi_inside_image(image, mask, box)
    box_lower = np.array([s.start for s in reversed(box)], dtype=float)
    box_size = np.array([s.stop - s.start for s in reversed(box)], dtype=float)
    new_spacing = np.where(box_size != 1, new_spacing, mask_spacing)

    if np.allclose(np.array(image.GetSpacing()), new_spacing):
        mask = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())
        return crop_to_box(image, mask, label_box(mask, label), pad_voxels)

    ratio = mask_spacing / new_spacing
    new_lower = np.floor((box_lower - 0.5) * ratio - pad_voxels)
    new_upper = np.ceil((box_lower + box_size - 0.5) * ratio + pad_voxels)
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
    resample.SetInterpolator(SIMPLEITK_INTERPOLATORS[image_method])
    new_image = resample.Execute(image)
    resample.SetOutputPixelType(mask.GetPixelID())
    resample.SetInterpolator(sitk.sitkNearestNeighbor)
    return new_image, resample.Execute(mask)


def resample_arrays_on_roi_grid(intensity: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float],
                                settings: InterpolationSettings, geometry: sitk.Image | None = None,
                                keep_pixel_type: bool = False):
    """:func:`resample_on_roi_grid` of ``(z, y, x)`` arrays on one grid (the ordinary chain's step).

    Parameters
    ----------
    intensity : ndarray
        Intensities, in their own type (kept by the interpolation, as ITK casts).
    roi : ndarray of bool
        The ROI, same shape (not empty).
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    settings : InterpolationSettings
        ``spacing_mm`` (``[x, y, z]``, or in-plane ``[x, y]``), ``pad_voxels``
        and ``image_method``.
    geometry : SimpleITK.Image, optional
        The image the arrays hold the voxels of: its origin and direction
        place the grid (as pyradiomics places it on the image). Default:
        origin 0, identity direction (the grid's voxels then lie elsewhere
        than pyradiomics' for an image with another origin or direction).
    keep_pixel_type : bool
        Return the intensities in ``intensity``'s type (as SimpleITK
        interpolates them) rather than as float64.

    Returns
    -------
    tuple
        As :func:`radiomix.preprocess.interpolation.interpolate`: float64
        intensities (or ``intensity``'s type), boolean ROI and the new
        ``(z, y, x)`` voxel size, on the grid's box.
    """
    spacing_xyz = tuple(float(s) for s in reversed(spacing))
    image = sitk.GetImageFromArray(np.ascontiguousarray(intensity))
    mask = sitk.GetImageFromArray(np.ascontiguousarray(roi, dtype=np.uint8))
    for item in (image, mask):
        item.SetSpacing(spacing_xyz)
        if geometry is not None:
            item.SetOrigin(geometry.GetOrigin())
            item.SetDirection(geometry.GetDirection())
    requested = tuple(settings.spacing_mm) + (0.0,) * (3 - len(settings.spacing_mm))
    new_image, new_mask = resample_on_roi_grid(image, mask, 1, requested, settings.pad_voxels,
                                               settings.image_method)
    new_intensity = sitk.GetArrayViewFromImage(new_image).astype(intensity.dtype if keep_pixel_type else np.float64)
    if settings.round_intensities:
        new_intensity = np.rint(new_intensity)
    new_spacing = tuple(float(s) for s in reversed(new_image.GetSpacing()))
    return new_intensity, sitk.GetArrayViewFromImage(new_mask) > 0, new_spacing
