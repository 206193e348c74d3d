"""Checks on an image and its mask before feature extraction.

* :func:`check_same_grid`: image and mask share size, origin, spacing and direction
  (within tolerances), else :class:`~radiomix.errors.GeometryMismatchError` giving the
  differences in mm.
* :class:`MaskSettings`: the tolerances of these checks (a spec's ``mask`` section).
* :func:`validate_roi`: the ROI holds at least ``min_voxels`` voxels and only finite
  intensities, else :class:`~radiomix.errors.EmptyRoiError`,
  :class:`~radiomix.errors.RoiTooSmallError` or
  :class:`~radiomix.errors.NonFiniteIntensityError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from radiomix.errors import (
    EmptyRoiError,
    GeometryMismatchError,
    NonFiniteIntensityError,
    RoiTooSmallError,
    SpecError,
)


@dataclass(frozen=True)
class MaskSettings:
    """Checks applied to the ROI before extraction (a spec's ``mask`` section).

    Attributes
    ----------
    min_roi_voxels : int
        Smallest accepted number of ROI voxels; fewer is a ``RoiTooSmallError``.
    geometry_tolerance_mm : float
        Largest accepted difference (mm) between image and mask origins, and
        between their voxel sizes, before a ``GeometryMismatchError``.
    correct_mask : bool
        A label-file mask off the image grid (beyond the tolerances) is
        resampled onto it by nearest neighbour, if its ROI lies inside the
        image, instead of a ``GeometryMismatchError`` (pyradiomics'
        ``correctMask``).
    min_roi_dimensions : int
        0: no check. 1-3: the ROI must span more than one voxel along at least
        this many axes, after interpolation and after re-segmentation (a
        single voxel is refused; pyradiomics' ``minimumROIDimensions``).
    label_channel : int or None
        The channel of a vector-valued (segmentation) label file holding the
        ROI; ``null``: vector masks are refused.
    geometry_tolerance_voxels : float or None
        A tolerance relative to the voxel size instead (pyradiomics'
        ``geometryTolerance``, ITK's rule): origins and voxel sizes may differ
        by this fraction of the image's first voxel size (x), direction
        cosines by this value; replaces ``geometry_tolerance_mm`` and the
        direction tolerance. ``null``: the absolute tolerances.
    """

    min_roi_voxels: int = 1
    geometry_tolerance_mm: float = 1e-3
    correct_mask: bool = False
    min_roi_dimensions: int = 0
    label_channel: int | None = None
    geometry_tolerance_voxels: float | None = None

    def __post_init__(self):
        if not 0 <= self.min_roi_dimensions <= 3:
            raise SpecError(f"mask.min_roi_dimensions must be 0 (no check) to 3, got {self.min_roi_dimensions}")
        if self.label_channel is not None and self.label_channel < 0:
            raise SpecError(f"mask.label_channel must be at least 0, got {self.label_channel}")
        if self.geometry_tolerance_voxels is not None and not self.geometry_tolerance_voxels >= 0:
            raise SpecError("mask.geometry_tolerance_voxels must be at least 0 (a fraction of the voxel size), "
                            f"got {self.geometry_tolerance_voxels}")

    def grid_tolerances(self, image: sitk.Image) -> tuple[float, float]:
        """``(tolerance_mm, direction_tolerance)`` of :func:`check_same_grid` for a mask of ``image``."""
        if self.geometry_tolerance_voxels is None:
            return self.geometry_tolerance_mm, DIRECTION_TOLERANCE
        return abs(self.geometry_tolerance_voxels * image.GetSpacing()[0]), self.geometry_tolerance_voxels


DIRECTION_TOLERANCE = 1e-4
"""Largest accepted difference between image and mask direction cosines."""

Source = str | os.PathLike | Sequence[str | os.PathLike] | None


def describe_source(source: Source) -> str | None:
    """The file name(s) of a source as one string for error messages.

    Parameters
    ----------
    source : str, PathLike, sequence of them, or None

    Returns
    -------
    str or None
        Several files are joined with ``" + "``.
    """
    if source is None:
        return None
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return " + ".join(os.fspath(item) for item in source)


def _vector(values) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def check_same_grid(
    image: sitk.Image, mask: sitk.Image, *,
    tolerance_mm: float = MaskSettings.geometry_tolerance_mm,
    direction_tolerance: float = DIRECTION_TOLERANCE,
    source: Source = None,
) -> None:
    """Check that a mask lies on an image's voxel grid.

    Parameters
    ----------
    image, mask : SimpleITK.Image
        The image (reference grid) and the mask.
    tolerance_mm : float
        Largest accepted distance (mm) between the origins, and difference (mm) between
        the voxel sizes along any axis.
    direction_tolerance : float
        Largest accepted difference between corresponding direction cosines.
    source : str, PathLike or sequence of them, optional
        The file(s) named in the error message (mask first, then image).

    Raises
    ------
    GeometryMismatchError
        Different dimension or size, or origin, spacing or direction beyond tolerance;
        the message gives the differences in mm and how to fix them.
    """
    where = describe_source(source)
    if image.GetDimension() != mask.GetDimension() or image.GetSize() != mask.GetSize():
        raise GeometryMismatchError(
            f"mask has {mask.GetDimension()}D size {mask.GetSize()} voxels but the image has "
            f"{image.GetDimension()}D size {image.GetSize()}: resample the mask onto the image grid "
            "(nearest neighbour)", where)
    origin_distance = float(np.linalg.norm(np.subtract(mask.GetOrigin(), image.GetOrigin())))
    spacing_difference = float(np.max(np.abs(np.subtract(mask.GetSpacing(), image.GetSpacing()))))
    direction_difference = float(np.max(np.abs(np.subtract(mask.GetDirection(), image.GetDirection()))))
    problems = []
    if origin_distance > tolerance_mm:
        problems.append(
            f"origins are {origin_distance:.4g} mm apart (mask {_vector(mask.GetOrigin())}, "
            f"image {_vector(image.GetOrigin())} mm)")
    if spacing_difference > tolerance_mm:
        problems.append(
            f"voxel sizes differ by {spacing_difference:.4g} mm (mask {_vector(mask.GetSpacing())}, "
            f"image {_vector(image.GetSpacing())} mm)")
    if direction_difference > direction_tolerance:
        problems.append(
            f"direction cosines differ by {direction_difference:.4g} (tolerance {direction_tolerance}; "
            f"mask {_vector(mask.GetDirection())}, image {_vector(image.GetDirection())})")
    if problems:
        raise GeometryMismatchError(
            "mask and image grids differ: " + "; ".join(problems)
            + f". Tolerance {tolerance_mm:.4g} mm (keyword tolerance_mm). Resample the mask onto the "
            "image grid (nearest neighbour), or raise the tolerance if the difference is rounding",
            where)


def _as_array(image: sitk.Image | np.ndarray) -> np.ndarray:
    return sitk.GetArrayViewFromImage(image) if isinstance(image, sitk.Image) else np.asarray(image)


def validate_roi(
    image: sitk.Image | np.ndarray, mask: sitk.Image | np.ndarray, *, source: Source,
    min_voxels: int = MaskSettings.min_roi_voxels,
) -> int:
    """Check that a region of interest can be used for feature extraction.

    Parameters
    ----------
    image : SimpleITK.Image or numpy.ndarray
        Intensities.
    mask : SimpleITK.Image or numpy.ndarray
        Same shape as ``image``; non-zero voxels are the ROI.
    source : str, PathLike or sequence of them
        The file(s) the image and mask came from, named in error messages.
    min_voxels : int
        Smallest accepted number of ROI voxels (at least 1).

    Returns
    -------
    int
        The number of ROI voxels.

    Raises
    ------
    GeometryMismatchError
        Image and mask arrays differ in shape.
    EmptyRoiError
        The ROI holds no voxel.
    RoiTooSmallError
        The ROI holds fewer than ``min_voxels`` voxels (count and minimum given).
    NonFiniteIntensityError
        Some ROI voxels are NaN or infinite (count given).
    """
    if min_voxels < 1:
        raise ValueError(f"min_voxels must be at least 1, got {min_voxels}")
    where = describe_source(source)
    intensities = _as_array(image)
    roi = _as_array(mask) != 0
    if intensities.shape != roi.shape:
        raise GeometryMismatchError(
            f"image array shape {intensities.shape} and mask array shape {roi.shape} differ", where)
    voxel_count = int(np.count_nonzero(roi))
    if voxel_count == 0:
        raise EmptyRoiError(
            "the region of interest holds no voxel: check the label or ROI name, and that the "
            "mask belongs to this image", where)
    if voxel_count < min_voxels:
        raise RoiTooSmallError(
            f"the region of interest holds {voxel_count} voxels, fewer than the minimum of "
            f"{min_voxels} (setting min_roi_voxels)", where)
    always_finite = intensities.dtype.kind in "biu"  # integer voxels: no NaN or infinity to look for
    non_finite = 0 if always_finite else int(np.count_nonzero(~np.isfinite(intensities[roi])))
    if non_finite:
        raise NonFiniteIntensityError(
            f"{non_finite} of the {voxel_count} region-of-interest voxels are NaN or infinite: "
            "fix or re-segment the image", where)
    return voxel_count
