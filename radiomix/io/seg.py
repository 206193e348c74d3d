"""DICOM SEG (segmentation) objects to voxel masks on an image grid.

A SEG stores one 2D frame per (segment, slice). Each frame names its segment
(``SegmentIdentificationSequence``) and its plane (``PlanePositionSequence`` →
``ImagePositionPatient``; orientation and pixel spacing from the per-frame or shared
functional groups). Every set pixel of a segment's frames is mapped to the reference
image's voxel whose centre it is: the frame's rows and columns must run along axes of the
reference grid (direction cosines within ``direction_tolerance``), with the same pixel
spacing and with pixel centres on voxel centres (within ``tolerance_mm``), else
:class:`~radiomix.errors.GeometryMismatchError`. ``BINARY`` segmentations use the pixel
values as they are; ``FRACTIONAL`` ones keep pixels at or above half of
``MaximumFractionalValue``. Frames are read with pydicom; no patient data are returned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix.errors import GeometryMismatchError, LabelAbsentError, UnreadableFileError
from radiomix.io.dicom import SEG_SOP_CLASS_UID, find_object
from radiomix.io.validation import DIRECTION_TOLERANCE, MaskSettings

if TYPE_CHECKING:
    import pydicom


def find_seg(path: str | os.PathLike) -> Path:
    """The SEG file given, or the one SEG file in the folder given (see :func:`find_object`)."""
    return find_object(path, SEG_SOP_CLASS_UID, "SEG")


def _read_dataset(path: Path, *, pixels: bool = True) -> pydicom.Dataset:
    import pydicom  # here, not with the module: extraction from label files never loads it (~10 MiB)
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=not pixels)
    except InvalidDicomError as error:
        raise UnreadableFileError(f"not a DICOM file ({error})", path) from error
    if str(dataset.get("SOPClassUID", "")) != SEG_SOP_CLASS_UID:
        raise UnreadableFileError(f"is a DICOM {dataset.get('Modality', 'object')}, not a SEG", path)
    return dataset


def _segment_labels(dataset: pydicom.Dataset) -> dict[int, str]:
    return {
        int(segment.SegmentNumber): str(segment.get("SegmentLabel", ""))
        for segment in dataset.get("SegmentSequence", [])
    }


def segment_labels(path: str | os.PathLike) -> dict[int, str]:
    """Segment numbers and labels of a SEG.

    Parameters
    ----------
    path : str or PathLike
        A SEG file or a folder holding one.

    Returns
    -------
    dict
        ``SegmentNumber`` -> ``SegmentLabel``.
    """
    path = find_seg(path)
    return _segment_labels(_read_dataset(path, pixels=False))


def describe_segments(labels: dict[int, str]) -> str:
    """``"1 ('liver'), 2 ('tumour')"``, or ``"none"``, for messages."""
    return ", ".join(f"{number} ('{label}')" for number, label in labels.items()) or "none"


def _functional_item(dataset: pydicom.Dataset, frame: pydicom.Dataset, sequence: str):
    if sequence in frame:
        return frame[sequence].value[0]
    shared = dataset.get("SharedFunctionalGroupsSequence")
    if shared and sequence in shared[0]:
        return shared[0][sequence].value[0]
    return None


def _frame_axis(
    direction_cosines: np.ndarray, pixel_spacing: float, reference: sitk.Image, *,
    what: str, tolerance_mm: float, direction_tolerance: float, source: Path,
) -> np.ndarray:
    """The index step (a signed unit vector of the reference grid) of one frame pixel."""
    axes = np.asarray(reference.GetDirection(), dtype=np.float64).reshape(3, 3).T
    alignment = axes @ direction_cosines
    axis = int(np.argmax(np.abs(alignment)))
    sign = float(np.sign(alignment[axis]))
    cosine_difference = float(np.max(np.abs(direction_cosines - sign * axes[axis])))
    if cosine_difference > direction_tolerance:
        raise GeometryMismatchError(
            f"the SEG frames' {what} direction {tuple(direction_cosines)} is not along an axis of "
            f"the image grid (closest differs by {cosine_difference:.3g} in direction cosines, "
            f"tolerance {direction_tolerance}): resample the segmentation onto the image", source)
    spacing_difference = abs(pixel_spacing - reference.GetSpacing()[axis])
    if spacing_difference > tolerance_mm:
        raise GeometryMismatchError(
            f"the SEG frames' {what} pixel spacing {pixel_spacing:.6g} mm differs by "
            f"{spacing_difference:.6g} mm from the image's {reference.GetSpacing()[axis]:.6g} mm "
            f"(tolerance {tolerance_mm} mm): resample the segmentation onto the image", source)
    step = np.zeros(3)
    step[axis] = sign
    return step


def _frames(dataset: pydicom.Dataset, path: Path) -> np.ndarray:
    """The SEG's frames as a ``bool`` array ``(frame, row, column)`` (True = in the segment)."""
    pixels = dataset.pixel_array
    frames = pixels.reshape((-1, *pixels.shape[-2:]))
    if frames.shape[0] != int(dataset.get("NumberOfFrames", 1)):
        raise UnreadableFileError(
            f"holds {frames.shape[0]} frames of pixels but NumberOfFrames is "
            f"{dataset.get('NumberOfFrames')}", path)
    if str(dataset.get("SegmentationType", "BINARY")) == "FRACTIONAL":
        maximum = float(dataset.get("MaximumFractionalValue", 255))
        return frames >= 0.5 * maximum
    return frames != 0


def read_segments(
    path: str | os.PathLike, reference: sitk.Image, segment_numbers: list[int] | None = None, *,
    tolerance_mm: float = MaskSettings.geometry_tolerance_mm,
    direction_tolerance: float = DIRECTION_TOLERANCE,
) -> dict[int, np.ndarray]:
    """Boolean voxel arrays of SEG segments on a reference image's grid.

    Parameters
    ----------
    path : str or PathLike
        A SEG file or a folder holding one.
    reference : SimpleITK.Image
        The 3D image whose grid receives the segments.
    segment_numbers : list of int, optional
        The segments wanted; all segments when omitted.
    tolerance_mm : float
        Largest accepted difference (mm) between SEG and image pixel spacings, and
        distance of a frame pixel centre from the voxel centre it is mapped to.
    direction_tolerance : float
        Largest accepted difference between SEG frame and image direction cosines.

    Returns
    -------
    dict
        Segment number -> ``bool`` array ``(z, y, x)``.

    Raises
    ------
    LabelAbsentError
        A segment number not defined in the SEG (the message lists those defined).
    GeometryMismatchError
        Frames off the reference grid or outside the image.
    """
    path = find_seg(path)
    dataset = _read_dataset(path)
    labels = _segment_labels(dataset)
    wanted = list(labels) if segment_numbers is None else list(segment_numbers)
    for number in wanted:
        if number not in labels:
            raise LabelAbsentError(
                f"segment {number} is not in the SEG; segments present: {describe_segments(labels)}",
                path)
    frames = _frames(dataset, path)
    per_frame = dataset.get("PerFrameFunctionalGroupsSequence", [])
    if len(per_frame) != frames.shape[0]:
        raise UnreadableFileError(
            f"holds {frames.shape[0]} frames but {len(per_frame)} per-frame functional groups", path)

    size_x, size_y, size_z = reference.GetSize()
    grid_shape = np.array([size_x, size_y, size_z])
    spacing = np.asarray(reference.GetSpacing(), dtype=np.float64)
    inverse_axes = np.linalg.inv(
        np.asarray(reference.GetDirection(), dtype=np.float64).reshape(3, 3) * spacing)
    origin = np.asarray(reference.GetOrigin(), dtype=np.float64)
    segments = {number: np.zeros((size_z, size_y, size_x), dtype=bool) for number in wanted}
    axis_steps: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for frame_index, frame in enumerate(per_frame):
        number = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        if number not in segments:
            continue
        rows, columns = np.nonzero(frames[frame_index])
        if rows.size == 0:
            continue
        orientation = _functional_item(dataset, frame, "PlaneOrientationSequence")
        measures = _functional_item(dataset, frame, "PixelMeasuresSequence")
        if orientation is None or measures is None:
            raise UnreadableFileError(
                f"frame {frame_index + 1} has no plane orientation or pixel measures", path)
        cosines = tuple(float(v) for v in orientation.ImageOrientationPatient)
        pixel_spacing = tuple(float(v) for v in measures.PixelSpacing)
        if (cosines, pixel_spacing) not in axis_steps:
            axis_steps[(cosines, pixel_spacing)] = (
                _frame_axis(np.array(cosines[:3]), pixel_spacing[1], reference, what="row",
                            tolerance_mm=tolerance_mm, direction_tolerance=direction_tolerance, source=path),
                _frame_axis(np.array(cosines[3:]), pixel_spacing[0], reference, what="column",
                            tolerance_mm=tolerance_mm, direction_tolerance=direction_tolerance, source=path),
            )
        column_step, row_step = axis_steps[(cosines, pixel_spacing)]
        position = np.asarray(
            _functional_item(dataset, frame, "PlanePositionSequence").ImagePositionPatient, dtype=np.float64)
        first_index = inverse_axes @ (position - origin)
        rounded = np.floor(first_index + 0.5)
        offset_mm = float(np.max(np.abs(first_index - rounded) * spacing))
        if offset_mm > tolerance_mm:
            raise GeometryMismatchError(
                f"frame {frame_index + 1} (segment {number}) is {offset_mm:.6g} mm off the image's voxel "
                f"centres (tolerance {tolerance_mm} mm): resample the segmentation onto the image", path)
        indices = (rounded[:, None] + np.outer(column_step, columns) + np.outer(row_step, rows)).astype(np.int64)
        outside = np.any((indices < 0) | (indices >= grid_shape[:, None]), axis=0)
        if outside.any():
            raise GeometryMismatchError(
                f"frame {frame_index + 1} (segment {number}) has {int(outside.sum())} segmented pixels "
                "outside the image: the SEG does not belong to this image", path)
        segments[number][indices[2], indices[1], indices[0]] = True
    return segments


def read_segment(
    path: str | os.PathLike, reference: sitk.Image, segment_number: int, *,
    tolerance_mm: float = MaskSettings.geometry_tolerance_mm,
    direction_tolerance: float = DIRECTION_TOLERANCE,
) -> sitk.Image:
    """One SEG segment as a binary mask on a reference image's grid.

    Parameters
    ----------
    path : str or PathLike
        A SEG file or a folder holding one.
    reference : SimpleITK.Image
        The 3D image whose grid receives the mask.
    segment_number : int
        ``SegmentNumber`` of the segment.
    tolerance_mm, direction_tolerance : float
        As for :func:`read_segments`.

    Returns
    -------
    SimpleITK.Image
        ``UInt8`` mask (1 inside), with the reference's geometry.
    """
    array = read_segments(
        path, reference, [segment_number], tolerance_mm=tolerance_mm,
        direction_tolerance=direction_tolerance)[segment_number]
    mask = sitk.GetImageFromArray(array.astype(np.uint8))
    mask.CopyInformation(reference)
    return mask
