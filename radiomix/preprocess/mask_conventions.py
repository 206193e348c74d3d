"""Mask conventions of a spec's ``mask`` section beyond the grid check (pyradiomics' mask rules).

- ``label_channel``: the channel of a vector-valued (segmentation) mask that
  holds the ROI (:func:`select_label_channel`);
- ``correct_mask``: a mask off the image grid is resampled onto it (nearest
  neighbour) when its ROI lies inside the image (:func:`mask_on_image_grid`);
- ``min_roi_dimensions``: the ROI must span more than one voxel along at least
  that many axes (:func:`check_roi_extent`, which also applies a least voxel
  count).

The ordinary chain and the pyradiomics chain call these same functions.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from radiomix.errors import GeometryMismatchError, InputError, RoiTooSmallError
from radiomix.features.texture import roi_box
from radiomix.io.images import as_volume, read_image_file
from radiomix.io.masks import mask_kind, read_mask
from radiomix.io.validation import MaskSettings, check_same_grid
from radiomix.preprocess.roi_grid import check_roi_inside_image, label_box


def select_label_channel(mask: sitk.Image, channel: int, source: str | None = None) -> sitk.Image:
    """Channel ``channel`` of a vector-valued mask; a scalar mask unchanged.

    Raises
    ------
    InputError
        The mask has no such channel.
    """
    channels = mask.GetNumberOfComponentsPerPixel()
    if channels == 1:
        return mask
    if not 0 <= channel < channels:
        raise InputError(f"label_channel {channel} asked for, but the segmentation holds {channels} channels "
                         f"(0-{channels - 1})", source)
    return sitk.VectorIndexSelectionCast(mask, channel)


def mask_on_image_grid(image: sitk.Image, mask: sitk.Image, label: int) -> sitk.Image:
    """The mask resampled onto the image grid (nearest neighbour, the mask's pixel type).

    Raises
    ------
    LabelAbsentError
        ``label`` is not in the mask.
    GeometryMismatchError
        The ROI's bounding box reaches outside the image (beyond 1e-3 voxel).
    """
    check_roi_inside_image(image, mask, label_box(mask, label))
    return sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())


def check_roi_extent(box_size, n_voxels: int, min_dimensions: int, min_voxels: int = 1, what: str = "the ROI",
                     dimensions_setting: str = "min_roi_dimensions", voxels_setting: str = "min_roi_voxels",
                     source: str | None = None) -> None:
    """Check the size of an ROI from its bounding box size (voxels per axis) and voxel count.

    With ``min_dimensions`` >= 1 a single-voxel ROI is refused, and the ROI
    must span more than one voxel along at least ``min_dimensions`` axes; it
    must hold at least ``min_voxels`` voxels. The settings are named in the
    messages as ``dimensions_setting`` and ``voxels_setting``.

    Raises
    ------
    RoiTooSmallError
    """
    if min_dimensions >= 1:
        spanned = int(np.sum(np.asarray(box_size) > 1))
        if spanned == 0:
            raise RoiTooSmallError(f"{what} is a single voxel: no features can be computed", source)
        if spanned < min_dimensions:
            raise RoiTooSmallError(f"{what} spans {spanned} axes; {dimensions_setting} is {min_dimensions}", source)
    if n_voxels < min_voxels:
        raise RoiTooSmallError(f"{what} holds {n_voxels} voxels; {voxels_setting} requires at least {min_voxels}",
                               source)


def check_roi_dimensions(roi: np.ndarray, min_dimensions: int, what: str = "the ROI", source: str | None = None):
    """:func:`check_roi_extent` of a boolean ``(z, y, x)`` ROI, axes only (``min_dimensions`` 0: no check)."""
    if min_dimensions < 1:
        return
    box = roi_box(roi)
    size = (0, 0, 0) if box is None else tuple(s.stop - s.start for s in box)
    check_roi_extent(size, 1, min_dimensions, what=what, source=source)


def read_mask_with_conventions(path, reference: sitk.Image, roi: str | None, label: int,
                               settings: MaskSettings, source=None) -> sitk.Image:
    """:func:`radiomix.io.read_mask` under a spec's ``mask`` section.

    Grids are compared within :meth:`MaskSettings.grid_tolerances` (absolute,
    or relative to ``reference``'s voxel size). For a label file (or image),
    ``label_channel`` selects its channel and ``correct_mask`` puts it onto
    ``reference``'s grid when the grids differ (:func:`mask_on_image_grid`);
    without ``correct_mask`` the error says it exists. DICOM masks are
    rasterised onto ``reference`` anyway. ``source``: the file an in-memory
    label image was read from, named in error messages; the image is then
    handed over (:func:`radiomix.io.read_mask`'s ``owned``: it may be
    returned as the mask).
    """
    tolerance_mm, direction_tolerance = settings.grid_tolerances(reference)
    tolerances = {"tolerance_mm": tolerance_mm, "direction_tolerance": direction_tolerance}
    kind = mask_kind(path)
    if kind in ("RTSTRUCT", "SEG"):
        return read_mask(path, reference=reference, roi=roi, label=label, **tolerances)
    file = source if isinstance(path, sitk.Image) else path
    owned = not isinstance(path, sitk.Image) or source is not None
    try:
        if settings.label_channel is None and not settings.correct_mask:
            return read_mask(path, reference=reference, roi=roi, label=label, owned=owned, **tolerances)
        labels = path if isinstance(path, sitk.Image) else read_image_file(path)
        if settings.label_channel is not None:
            labels = select_label_channel(labels, settings.label_channel, file)
        labels = as_volume(labels, file)
        if settings.correct_mask:
            try:
                check_same_grid(reference, labels, **tolerances)
            except GeometryMismatchError:
                labels = mask_on_image_grid(reference, labels, label)
        return read_mask(labels, reference=reference, roi=roi, label=label, owned=owned, **tolerances)
    except InputError as error:
        if isinstance(error, GeometryMismatchError) and not settings.correct_mask:
            raise GeometryMismatchError(f"{error.detail}; or set mask.correct_mask: true (pyradiomics' correctMask) "
                                        "to resample the mask onto the image grid", error.path or file) from error
        if error.path is not None or file is None:
            raise
        raise type(error)(error.detail, file) from error
