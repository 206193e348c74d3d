"""Carry moving images and masks onto the fixed grid; read and write ITK transform files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import UnreadableFileError
from radiomix.registration.settings import MaskInterpolation

_IMAGE_INTERPOLATORS = {
    "linear": sitk.sitkLinear,
    "bspline": sitk.sitkBSpline,
    "nearest": sitk.sitkNearestNeighbor,
}


def resample_image(moving: sitk.Image, reference: sitk.Image, transform: sitk.Transform,
                   interpolator: str = "linear", default_value: float | None = None) -> sitk.Image:
    """The moving image on the reference (fixed) grid.

    Parameters
    ----------
    moving : SimpleITK.Image
    reference : SimpleITK.Image
        The fixed image; only its grid is used.
    transform : SimpleITK.Transform
        Maps reference physical points to moving physical points (as found by
        :func:`~radiomix.registration.register`).
    interpolator : {"linear", "bspline", "nearest"}
    default_value : float, optional
        Value of reference voxels that map outside the moving image; default
        the moving image's minimum (air in CT, background in MR and PET).

    Returns
    -------
    SimpleITK.Image
        Float32 (``nearest``: the moving pixel type), on the reference grid.
    """
    if interpolator not in _IMAGE_INTERPOLATORS:
        raise ValueError(f"interpolator must be one of {sorted(_IMAGE_INTERPOLATORS)}, got {interpolator!r}")
    if default_value is None:
        default_value = float(np.min(sitk.GetArrayViewFromImage(moving)))
    pixel_type = moving.GetPixelID() if interpolator == "nearest" else sitk.sitkFloat32
    return sitk.Resample(moving, reference, transform, _IMAGE_INTERPOLATORS[interpolator],
                         default_value, pixel_type)


def resample_mask(mask: sitk.Image, reference: sitk.Image, transform: sitk.Transform,
                  method: MaskInterpolation = "nearest") -> sitk.Image:
    """A label mask on the reference (fixed) grid.

    Parameters
    ----------
    mask : SimpleITK.Image
        Integer labels (0 = background) on the moving image's grid.
    reference : SimpleITK.Image
        The fixed image; only its grid is used.
    transform : SimpleITK.Transform
        Maps reference physical points to moving physical points.
    method : {"nearest", "linear_threshold"}
        ``nearest``: nearest-neighbour interpolation of the labels.
        ``linear_threshold``: each label's indicator is interpolated linearly
        and the reference voxel gets the label where that reaches 0.5
        (smoother boundaries when the reference grid is finer); where two
        labels both reach 0.5 the higher label wins.

    Returns
    -------
    SimpleITK.Image
        UInt8 labels on the reference grid (labels above 255 need ``nearest``).
    """
    if method == "nearest":
        pixel_type = sitk.sitkUInt8 if _max_label(mask) <= 255 else sitk.sitkUInt32
        return sitk.Resample(sitk.Cast(mask, pixel_type), reference, transform,
                             sitk.sitkNearestNeighbor, 0, pixel_type)
    if method != "linear_threshold":
        raise ValueError(f"method must be 'nearest' or 'linear_threshold', got {method!r}")
    labels = np.unique(sitk.GetArrayViewFromImage(mask))
    if labels.max(initial=0) > 255:
        raise ValueError("linear_threshold resampling handles labels up to 255; use method='nearest'")
    result = np.zeros(reference.GetSize()[::-1], dtype=np.uint8)
    for label in labels[labels != 0]:
        indicator = sitk.Cast(mask == int(label), sitk.sitkFloat32)
        fraction = sitk.Resample(indicator, reference, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        result[sitk.GetArrayViewFromImage(fraction) >= 0.5] = label
    resampled = sitk.GetImageFromArray(result)
    resampled.CopyInformation(reference)
    return resampled


def _max_label(mask: sitk.Image) -> int:
    return int(np.max(sitk.GetArrayViewFromImage(mask), initial=0))


def write_transform(transform: sitk.Transform, path) -> Path:
    """Save ``transform`` as an ITK transform file (``.tfm``, ``.txt`` or ``.h5``).

    The file holds the fixed-to-moving mapping, readable by ITK, SimpleITK,
    3D Slicer and ANTs. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteTransform(transform, str(path))
    return path


def read_transform(path) -> sitk.Transform:
    """Read an ITK transform file written by :func:`write_transform`.

    Raises
    ------
    UnreadableFileError
        The file is missing or not an ITK transform file.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError("transform file not found", path=str(path))
    try:
        return sitk.ReadTransform(str(path)).Downcast()
    except RuntimeError as exc:
        raise UnreadableFileError(f"not an ITK transform file ({exc})", path=str(path)) from exc
