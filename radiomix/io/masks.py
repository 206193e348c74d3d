"""Reading masks: label files, DICOM RTSTRUCT and DICOM SEG, onto an image's grid.

A mask source is one of

* a label file (NIfTI, NRRD, MetaImage, ...) or a ``SimpleITK.Image``: integer labels,
  0 outside. Float-typed files are rounded to the nearest integer first (halves up, so
  a partial-volume value of 0.5 counts as inside); NaN or infinite values are an
  :class:`~radiomix.errors.UnreadableFileError`. With a ``reference`` image the grids
  must agree (:func:`radiomix.io.validation.check_same_grid`), and the mask then takes
  the reference's exact geometry.
* a DICOM RTSTRUCT file, or a folder holding one: ROIs chosen by name (``roi``), and
  rasterised onto ``reference``'s grid (rule in :mod:`radiomix.io.rtstruct`).
* a DICOM SEG file, or a folder holding one: segments chosen by number (``label``) or by
  ``SegmentLabel`` (``roi``), mapped onto ``reference``'s grid (:mod:`radiomix.io.seg`).

:func:`read_mask` gives one binary region; :func:`read_label_map` gives all (or the
chosen) regions as one integer image, for multi-label extraction. In a label map from an
RTSTRUCT each ROI's voxels carry its ``ROINumber`` (names: :func:`radiomix.io.rtstruct.roi_names`),
and from a SEG each segment's voxels carry its ``SegmentNumber``
(:func:`radiomix.io.seg.segment_labels`); overlapping regions cannot share one label map
and are an :class:`~radiomix.errors.InputError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import (
    DicomSeriesError,
    InputError,
    LabelAbsentError,
    UnreadableFileError,
)
from radiomix.io import rtstruct, seg
from radiomix.io.dicom import (
    RTSTRUCT_SOP_CLASS_UID,
    SEG_SOP_CLASS_UID,
    has_dicom_preamble,
    read_instance_header,
    scan_folder,
)
from radiomix.io.images import ImageSource, as_volume, read_image, read_image_file
from radiomix.io.validation import DIRECTION_TOLERANCE, MaskSettings, check_same_grid

MaskSource = str | os.PathLike | sitk.Image
RoiSelection = str | Sequence[str] | None

_DICOM_MASK_KINDS = {RTSTRUCT_SOP_CLASS_UID: "RTSTRUCT", SEG_SOP_CLASS_UID: "SEG"}
_LABEL_LISTING_LIMIT = 30


def _dicom_mask_in_folder(folder: Path) -> tuple[str, Path]:
    found = [
        (_DICOM_MASK_KINDS[instance.sop_class_uid], instance.path)
        for instance in scan_folder(folder) if instance.sop_class_uid in _DICOM_MASK_KINDS
    ]
    if not found:
        raise UnreadableFileError(
            "holds no DICOM RTSTRUCT or SEG file; a mask folder must hold one (label images "
            "are read from a file, not a folder)", folder)
    if len(found) > 1:
        listing = ", ".join(f"{path.name} ({kind})" for kind, path in found)
        raise DicomSeriesError(
            f"holds {len(found)} DICOM mask files ({listing}): pass the path of the one to use", folder)
    return found[0]


def _classify(path: MaskSource) -> tuple[str, Path | None]:
    """``("image", None)``, ``("file", path)``, ``("RTSTRUCT", path)`` or ``("SEG", path)``."""
    if isinstance(path, sitk.Image):
        return "image", None
    path = Path(path)
    if path.is_dir():
        return _dicom_mask_in_folder(path)
    if not path.exists():
        raise UnreadableFileError("no such file or folder", path)
    if has_dicom_preamble(path):
        kind = _DICOM_MASK_KINDS.get(read_instance_header(path).sop_class_uid)
        if kind is not None:
            return kind, path
    return "file", path


def mask_kind(path: MaskSource) -> str:
    """What a mask source is: ``"image"``, ``"file"`` (a label file), ``"RTSTRUCT"`` or ``"SEG"``."""
    return _classify(path)[0]


def _require_reference(reference: sitk.Image | None, kind: str, source: Path) -> sitk.Image:
    if reference is None:
        raise InputError(
            f"a DICOM {kind} holds no voxel grid of its own: pass reference= (the image, a path "
            "or a SimpleITK image) to map it onto", source)
    return reference


def _as_label(label) -> int:
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return int(label)
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return int(label)
    raise TypeError(f"label must be an integer, got {label!r}")


_INT32_SUBSET_PIXEL_TYPES = (sitk.sitkInt8, sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkUInt16, sitk.sitkInt32)
"""Integer pixel types whose every value is an ``Int32`` label."""


def to_label_image(image: sitk.Image, source: str | os.PathLike | None = None) -> sitk.Image:
    """An image of integer labels (``Int32``) from a label image of any pixel type.

    Parameters
    ----------
    image : SimpleITK.Image
        Labels; float values are rounded to the nearest integer (halves up).
    source : str or PathLike, optional
        Its file, named in error messages.

    Returns
    -------
    SimpleITK.Image
        ``Int32`` image, same geometry.

    Raises
    ------
    UnreadableFileError
        NaN or infinite values, or labels beyond the 32-bit integer range.
    """
    if image.GetPixelID() in _INT32_SUBSET_PIXEL_TYPES:  # every value fits: a cast (a new image) in ITK
        return sitk.Cast(image, sitk.sitkInt32)
    values = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(values.dtype, np.floating):
        non_finite = int(np.count_nonzero(~np.isfinite(values)))
        if non_finite:
            raise UnreadableFileError(
                f"is not a label map: {non_finite} voxels are NaN or infinite", source)
        values = np.floor(values + 0.5)
    info = np.iinfo(np.int32)
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise UnreadableFileError(
            f"is not a label map: values range from {values.min()} to {values.max()}, beyond "
            "32-bit integers", source)
    labels = sitk.GetImageFromArray(values.astype(np.int32))
    labels.CopyInformation(image)
    return labels


def _combine_regions(
    regions: dict[int, np.ndarray], names: dict[int, str], reference: sitk.Image, source: Path,
) -> sitk.Image:
    size_x, size_y, size_z = reference.GetSize()
    labels = np.zeros((size_z, size_y, size_x), dtype=np.int32)
    for number, region in regions.items():
        inside = region.astype(bool)
        taken = labels[inside]
        overlapping = taken[taken != 0]
        if overlapping.size:
            other = int(overlapping[0])
            raise InputError(
                f"'{names[number]}' ({number}) and '{names[other]}' ({other}) overlap in "
                f"{int(np.count_nonzero(taken == other))} voxels, and a label map holds one label "
                "per voxel: read them one at a time with read_mask", source)
        labels[inside] = number
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(reference)
    return image


def _rtstruct_label_map(path: Path, reference: sitk.Image, roi: RoiSelection) -> sitk.Image:
    rois = rtstruct.read_structure_set(path)
    if roi is None:
        chosen = [structure for structure in rois.values() if structure.closed_contours]
    else:
        names = [roi] if isinstance(roi, str) else list(roi)
        chosen = [rtstruct.select_roi(rois, name, path) for name in names]
    regions = {
        structure.number: rtstruct.rasterise_structure(structure, reference, path) for structure in chosen
    }
    return _combine_regions(regions, {s.number: s.name for s in rois.values()}, reference, path)


def _segment_number_by_label(path: Path, name: str) -> int:
    labels = seg.segment_labels(path)
    matches = [number for number, label in labels.items() if label == name]
    if not matches:
        raise LabelAbsentError(
            f"no segment labelled '{name}'; segments present: {seg.describe_segments(labels)}", path)
    if len(matches) > 1:
        raise LabelAbsentError(
            f"segments {matches} are all labelled '{name}': choose one by number with label=", path)
    return matches[0]


def _seg_label_map(
    path: Path, reference: sitk.Image, roi: RoiSelection, tolerance_mm: float, direction_tolerance: float,
) -> sitk.Image:
    if roi is None:
        numbers = None
    else:
        names = [roi] if isinstance(roi, str) else list(roi)
        numbers = [_segment_number_by_label(path, name) for name in names]
    regions = seg.read_segments(
        path, reference, numbers, tolerance_mm=tolerance_mm, direction_tolerance=direction_tolerance)
    return _combine_regions(regions, seg.segment_labels(path), reference, path)


def _label_file_map(
    image: sitk.Image, file: Path | None, reference: sitk.Image | None, reference_path: Path | None,
    tolerance_mm: float, direction_tolerance: float,
) -> sitk.Image:
    """The ``Int32`` labels of a label image (read from ``file``, when given), on ``reference``'s grid."""
    labels = to_label_image(as_volume(image, file), file)
    if reference is not None:
        sources = [item for item in (file, reference_path) if item is not None]
        check_same_grid(
            reference, labels, tolerance_mm=tolerance_mm, direction_tolerance=direction_tolerance,
            source=sources or None)
        labels.CopyInformation(reference)
    return labels


def _label_map(
    path: MaskSource, kind: str, file: Path | None, reference: sitk.Image | None,
    reference_path: Path | None, roi: RoiSelection, tolerance_mm: float, direction_tolerance: float,
) -> sitk.Image:
    if kind == "RTSTRUCT":
        return _rtstruct_label_map(file, _require_reference(reference, kind, file), roi)
    if kind == "SEG":
        return _seg_label_map(
            file, _require_reference(reference, kind, file), roi, tolerance_mm, direction_tolerance)
    _reject_roi_for_label_image(roi, file)
    image = path if file is None else read_image_file(file)
    return _label_file_map(image, file, reference, reference_path, tolerance_mm, direction_tolerance)


def _reject_roi_for_label_image(roi: RoiSelection, file: Path | None) -> None:
    if roi is not None:
        raise InputError(
            f"roi={roi!r} names an RTSTRUCT ROI or SEG segment, but this mask is a label image: "
            "choose its region with label=", file)


def _path_or_none(source) -> Path | None:
    return None if source is None or isinstance(source, sitk.Image) else Path(source)


def read_label_map(
    path: MaskSource, reference: ImageSource | None = None, roi: RoiSelection = None, *,
    tolerance_mm: float = MaskSettings.geometry_tolerance_mm,
    direction_tolerance: float = DIRECTION_TOLERANCE,
) -> sitk.Image:
    """Read a mask as an image of integer labels, for multi-label extraction.

    Parameters
    ----------
    path : str, PathLike or SimpleITK.Image
        A label file or image, a DICOM RTSTRUCT or SEG file, or a folder holding one.
    reference : str, PathLike or SimpleITK.Image, optional
        The image whose grid the labels must lie on (required for RTSTRUCT and SEG).
    roi : str or sequence of str, optional
        RTSTRUCT ROI names, or SEG segment labels, to include; all when omitted (RTSTRUCT
        ROIs without closed contours are then left out). Not allowed for label files.
    tolerance_mm : float
        Largest accepted difference (mm) between mask and reference origins and spacings.
    direction_tolerance : float
        Largest accepted difference between mask and reference direction cosines.

    Returns
    -------
    SimpleITK.Image
        ``Int32`` labels (0 = background); RTSTRUCT ROIs carry their ``ROINumber``, SEG
        segments their ``SegmentNumber``. On ``reference``'s grid when given.

    Raises
    ------
    UnreadableFileError, DicomSeriesError, GeometryMismatchError, LabelAbsentError, InputError
        Unreadable mask, grids that disagree, unknown ROI or segment, overlapping regions,
        missing reference for DICOM masks, or ``roi`` given for a label file.
    """
    reference_image = None if reference is None else read_image(reference)
    kind, file = _classify(path)
    return _label_map(
        path, kind, file, reference_image, _path_or_none(reference), roi, tolerance_mm,
        direction_tolerance)


def _labels_present(labels: np.ndarray) -> str:
    values = np.unique(labels)
    listed = ", ".join(str(int(v)) for v in values[:_LABEL_LISTING_LIMIT])
    more = f" and {values.size - _LABEL_LISTING_LIMIT} more" if values.size > _LABEL_LISTING_LIMIT else ""
    return f"[{listed}{more}]"


def _integer_label_mask(
    labels: sitk.Image, file: Path | None, label: int, reference: sitk.Image | None, reference_path: Path | None,
    tolerance_mm: float, direction_tolerance: float, owned: bool,
) -> sitk.Image:
    """The binary mask of ``label`` in a label image of a type whose every value is an ``Int32`` label.

    The voxels are compared as stored (no ``Int32`` copy of the volume first): the same mask as
    :func:`to_label_image` followed by a threshold at ``label``. A UInt8 file holding only 0 and 1,
    asked for label 1, is returned itself (without its file metadata, as a threshold's output).
    """
    if reference is not None:
        sources = [item for item in (file, reference_path) if item is not None]
        check_same_grid(reference, labels, tolerance_mm=tolerance_mm, direction_tolerance=direction_tolerance,
                        source=sources or None)
    values = sitk.GetArrayViewFromImage(labels)
    if owned and label == 1 and labels.GetPixelID() == sitk.sitkUInt8 and values.max() == 1:
        # a binary UInt8 image (read here or handed over: nobody else's) already is the mask: no compare, no copy
        for key in labels.GetMetaDataKeys():
            labels.EraseMetaData(key)
        if reference is not None:
            labels.CopyInformation(reference)
        return labels
    inside = values == label
    if not inside.any():
        raise LabelAbsentError(f"label {label} is not in the mask; labels present: {_labels_present(values)}", file)
    mask = sitk.GetImageFromArray(inside.view(np.uint8))
    mask.CopyInformation(labels if reference is None else reference)
    return mask


def read_mask(
    path: MaskSource, reference: ImageSource | None = None, roi: str | None = None, label: int = 1, *,
    tolerance_mm: float = MaskSettings.geometry_tolerance_mm,
    direction_tolerance: float = DIRECTION_TOLERANCE,
    owned: bool = False,
) -> sitk.Image:
    """Read one region of interest as a binary mask, on the reference image's grid.

    Parameters
    ----------
    path : str, PathLike or SimpleITK.Image
        A label file or image; a DICOM RTSTRUCT file or a folder holding one; a DICOM SEG
        file or a folder holding one.
    reference : str, PathLike or SimpleITK.Image, optional
        The image the mask belongs to (required for RTSTRUCT and SEG). For label files the
        grids must agree within the tolerances.
    roi : str, optional
        RTSTRUCT: the ROI name (required). SEG: a ``SegmentLabel``, instead of ``label``.
        Not allowed for label files.
    label : int
        Label files: the label value of the region. SEG: the ``SegmentNumber``.
        Not used for RTSTRUCT.
    tolerance_mm : float
        Largest accepted difference (mm) between mask and reference origins and spacings
        (and, for SEG, between frame pixel centres and voxel centres).
    direction_tolerance : float
        Largest accepted difference between mask and reference direction cosines.
    owned : bool
        ``path`` is an image handed over (nobody else uses it): a binary ``UInt8`` label
        image asked for label 1 is then returned itself (its metadata cleared, the
        reference's geometry), as a file read here is.

    Returns
    -------
    SimpleITK.Image
        ``UInt8`` mask, 1 in the region and 0 elsewhere, with the reference's geometry
        (the mask's own when no reference is given).

    Raises
    ------
    UnreadableFileError
        Missing or unreadable mask or reference.
    GeometryMismatchError
        Mask and reference grids differ beyond the tolerances (differences in mm given).
    LabelAbsentError
        ``label`` is not in the mask (labels present listed), or no ROI / segment of that
        name or number (those available listed).
    EmptyRoiError
        An RTSTRUCT ROI without closed contours.
    InputError
        No ``reference`` for a DICOM mask, or ``roi`` given for a label file.
    """
    label = _as_label(label)
    reference_image = None if reference is None else read_image(reference)
    kind, file = _classify(path)
    if kind == "RTSTRUCT":
        reference_image = _require_reference(reference_image, kind, file)
        if roi is None:
            names = ", ".join(f"'{name}'" for name in rtstruct.roi_names(file).values()) or "none"
            raise LabelAbsentError(f"an RTSTRUCT needs roi=NAME; ROI names available: {names}", file)
        return rtstruct.rasterise_roi(file, roi, reference_image)
    if kind == "SEG":
        reference_image = _require_reference(reference_image, kind, file)
        number = label if roi is None else _segment_number_by_label(file, roi)
        return seg.read_segment(
            file, reference_image, number, tolerance_mm=tolerance_mm,
            direction_tolerance=direction_tolerance)
    _reject_roi_for_label_image(roi, file)
    image = path if file is None else read_image_file(file)
    if image.GetPixelID() in _INT32_SUBSET_PIXEL_TYPES:
        return _integer_label_mask(as_volume(image, file), file, label, reference_image, _path_or_none(reference),
                                   tolerance_mm, direction_tolerance, owned or file is not None)
    labels = _label_file_map(image, file, reference_image, _path_or_none(reference), tolerance_mm,
                             direction_tolerance)
    mask = sitk.BinaryThreshold(labels, lowerThreshold=label, upperThreshold=label, insideValue=1, outsideValue=0)
    if not sitk.GetArrayViewFromImage(mask).any():
        raise LabelAbsentError(
            f"label {label} is not in the mask; labels present: "
            f"{_labels_present(sitk.GetArrayViewFromImage(labels))}", file)
    return mask
