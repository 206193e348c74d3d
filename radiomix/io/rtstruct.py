"""DICOM RTSTRUCT contours to a voxel mask on an image grid.

Rasterisation rule
------------------
* Only ``CLOSED_PLANAR`` contours are used (``POINT`` and ``OPEN_PLANAR`` contours
  enclose no area).
* Each contour is mapped into the reference image's continuous voxel indices and assigned
  to the nearest slice by its position along the slice axis. The points of one contour
  must lie within half a slice of each other (the contour plane parallel to the slices);
  contours whose planes are more than a quarter of a slice apart must not fall on the same
  slice (the image slices would then be coarser than the contour planes); a contour
  outside the image's slices is a :class:`~radiomix.errors.GeometryMismatchError`.
* A voxel belongs to the ROI when its centre lies inside the contour polygon by the
  even-odd rule. Several contours on one slice combine by even-odd (exclusive or), as
  DICOM intends: an inner contour drawn inside an outer one is a hole, and disjoint
  contours are separate parts. Voxel centres exactly on an edge are decided by the
  half-open crossing rule (an edge covers the rows from its lower end up to, not
  including, its upper end; a voxel is inside between an odd crossing and the next).
* Slices between contoured slices are not filled: a slice without a contour holds no
  ROI voxel.
* The polygons are rasterised slice by slice with a scanline kernel
  (:func:`fill_polygon_even_odd`); parts of a contour outside the image in-plane are clipped.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix._numba import njit
from radiomix.errors import (
    EmptyRoiError,
    GeometryMismatchError,
    LabelAbsentError,
    UnreadableFileError,
)
from radiomix.io.dicom import RTSTRUCT_SOP_CLASS_UID, find_object

if TYPE_CHECKING:
    import pydicom

SAME_PLANE_TOLERANCE_SLICES = 0.25
"""Largest distance (in slices) between contour planes merged onto one image slice."""


@dataclass(frozen=True)
class StructureSetRoi:
    """One ROI of a structure set.

    Attributes
    ----------
    number : int
        ``ROINumber``.
    name : str
        ``ROIName``.
    closed_contours : tuple of numpy.ndarray
        Each ``CLOSED_PLANAR`` contour as an ``(n, 3)`` array of patient coordinates (mm).
    other_contour_types : tuple of str
        Geometric types of the contours that were not used (e.g. ``POINT``).
    """

    number: int
    name: str
    closed_contours: tuple[np.ndarray, ...]
    other_contour_types: tuple[str, ...]


def find_rtstruct(path: str | os.PathLike) -> Path:
    """The RTSTRUCT file given, or the one RTSTRUCT file in the folder given (see :func:`find_object`)."""
    return find_object(path, RTSTRUCT_SOP_CLASS_UID, "RTSTRUCT")


def _read_dataset(path: Path) -> pydicom.Dataset:
    import pydicom  # here, not with the module: extraction from label files never loads it (~10 MiB)
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path)
    except InvalidDicomError as error:
        raise UnreadableFileError(f"not a DICOM file ({error})", path) from error
    if str(dataset.get("SOPClassUID", "")) != RTSTRUCT_SOP_CLASS_UID:
        raise UnreadableFileError(
            f"is a DICOM {dataset.get('Modality', 'object')}, not an RTSTRUCT", path)
    return dataset


def _contour_points(contour: pydicom.Dataset, roi_name: str, source: Path) -> np.ndarray:
    """``ContourData`` as an ``(n, 3)`` array (mm), parsing the raw DS text in one go when undecoded."""
    from pydicom.dataelem import RawDataElement

    element = contour.get_item("ContourData")
    if element is None or not element.value:
        values = np.empty(0)
    elif isinstance(element, RawDataElement):
        values = np.array(element.value.split(b"\\"), dtype=np.float64)
    else:
        values = np.asarray(element.value, dtype=np.float64)
    if values.size == 0 or values.size % 3:
        raise UnreadableFileError(
            f"a contour of ROI '{roi_name}' has {values.size} coordinates, not a positive multiple of 3",
            source)
    return values.reshape(-1, 3)


def read_structure_set(path: str | os.PathLike) -> dict[str, StructureSetRoi]:
    """The ROIs of an RTSTRUCT and their contours.

    Parameters
    ----------
    path : str or PathLike
        An RTSTRUCT file or a folder holding one.

    Returns
    -------
    dict
        ROI name -> :class:`StructureSetRoi`, in the file's order. Nothing identifying the
        patient is kept.

    Raises
    ------
    UnreadableFileError
        Not an RTSTRUCT, or two ROIs share a name.
    """
    path = find_rtstruct(path)
    dataset = _read_dataset(path)
    names = {int(item.ROINumber): str(item.ROIName) for item in dataset.get("StructureSetROISequence", [])}
    contours_by_number: dict[int, list[np.ndarray]] = {number: [] for number in names}
    other_types: dict[int, list[str]] = {number: [] for number in names}
    for roi_contour in dataset.get("ROIContourSequence", []):
        number = int(roi_contour.ReferencedROINumber)
        if number not in names:
            raise UnreadableFileError(
                f"ROIContourSequence refers to ROI number {number}, absent from "
                "StructureSetROISequence", path)
        for contour in roi_contour.get("ContourSequence", []):
            geometric_type = str(contour.get("ContourGeometricType", ""))
            if geometric_type != "CLOSED_PLANAR":
                other_types[number].append(geometric_type)
                continue
            contours_by_number[number].append(_contour_points(contour, names[number], path))
    rois: dict[str, StructureSetRoi] = {}
    for number, name in names.items():
        if name in rois:
            raise UnreadableFileError(
                f"ROI numbers {rois[name].number} and {number} are both named '{name}'", path)
        rois[name] = StructureSetRoi(
            number=number, name=name, closed_contours=tuple(contours_by_number[number]),
            other_contour_types=tuple(sorted(set(other_types[number]))))
    return rois


def roi_names(path: str | os.PathLike) -> dict[int, str]:
    """ROI numbers and names of an RTSTRUCT.

    Parameters
    ----------
    path : str or PathLike
        An RTSTRUCT file or a folder holding one.

    Returns
    -------
    dict
        ``ROINumber`` -> ``ROIName``.
    """
    return {roi.number: roi.name for roi in read_structure_set(path).values()}


def select_roi(rois: dict[str, StructureSetRoi], name: str, source: str | os.PathLike) -> StructureSetRoi:
    """The ROI of a given name, or a :class:`LabelAbsentError` listing the names available.

    Parameters
    ----------
    rois : dict
        As returned by :func:`read_structure_set`.
    name : str
        The ROI name asked for.
    source : str or PathLike
        The RTSTRUCT, named in the message.

    Returns
    -------
    StructureSetRoi
    """
    if name in rois:
        return rois[name]
    available = ", ".join(f"'{key}'" for key in rois) or "none"
    close = difflib.get_close_matches(name, list(rois), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise LabelAbsentError(f"no ROI named '{name}'; ROI names available: {available}.{hint}", source)


@njit
def _toggle_polygon_interior(columns, rows, out):
    n_rows, n_columns = out.shape
    n_vertices = columns.shape[0]
    crossings = np.empty(n_vertices, dtype=np.float64)
    lowest = max(np.ceil(rows.min()), 0.0)
    highest = min(np.floor(rows.max()), n_rows - 1.0)
    if lowest > highest:
        return
    for row in range(int(lowest), int(highest) + 1):
        y = float(row)
        count = 0
        for edge in range(n_vertices):
            x0 = columns[edge]
            y0 = rows[edge]
            following = edge + 1 if edge + 1 < n_vertices else 0
            x1 = columns[following]
            y1 = rows[following]
            if (y0 <= y) != (y1 <= y):
                crossings[count] = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
                count += 1
        ordered = np.sort(crossings[:count])
        for pair in range(0, count - 1, 2):
            start = max(np.ceil(ordered[pair]), 0.0)
            stop = min(np.ceil(ordered[pair + 1]), float(n_columns))
            for column in range(int(start), int(stop)):
                out[row, column] ^= 1


def fill_polygon_even_odd(columns: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Toggle the pixels of a 2D array whose centres lie inside a polygon (even-odd rule).

    Toggling (exclusive or) lets several polygons drawn into one array combine by the
    even-odd rule: a polygon inside another makes a hole.

    Parameters
    ----------
    columns, rows : numpy.ndarray
        Vertex coordinates in pixel index units (pixel ``[r, c]`` has its centre at
        column ``c``, row ``r``); the last vertex joins the first.
    out : numpy.ndarray
        2D ``uint8`` C-contiguous array of 0/1, modified in place.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    columns = np.ascontiguousarray(columns, dtype=np.float64)
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if columns.ndim != 1 or columns.shape != rows.shape or columns.size == 0:
        raise ValueError(
            f"columns and rows must be 1D arrays of the same non-zero length, got shapes "
            f"{columns.shape} and {rows.shape}")
    if not (np.all(np.isfinite(columns)) and np.all(np.isfinite(rows))):
        raise ValueError("polygon vertices must be finite")
    if out.ndim != 2 or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a 2D C-contiguous uint8 array, got {out.dtype} {out.shape}")
    _toggle_polygon_interior(columns, rows, out)
    return out


def _physical_to_index(points_mm: np.ndarray, reference: sitk.Image) -> np.ndarray:
    direction = np.asarray(reference.GetDirection(), dtype=np.float64).reshape(3, 3)
    scaled_axes = direction * np.asarray(reference.GetSpacing(), dtype=np.float64)
    offsets = points_mm - np.asarray(reference.GetOrigin(), dtype=np.float64)
    return np.linalg.solve(scaled_axes, offsets.T).T


def rasterise_contours(
    contours_mm: tuple[np.ndarray, ...], reference: sitk.Image, *, name: str,
    source: str | os.PathLike,
) -> np.ndarray:
    """Rasterise closed planar contours onto a reference grid (rule in the module docstring).

    Parameters
    ----------
    contours_mm : tuple of numpy.ndarray
        ``(n, 3)`` arrays of patient coordinates (mm).
    reference : SimpleITK.Image
        The 3D image whose grid receives the mask.
    name : str
        ROI name for messages.
    source : str or PathLike
        The RTSTRUCT, named in messages.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array ``(z, y, x)`` of 0/1.

    Raises
    ------
    GeometryMismatchError
        A contour is not parallel to the slices, lies outside the image's slices, or
        contours more than a quarter slice apart fall on one slice.
    """
    size_x, size_y, size_z = reference.GetSize()
    mask = np.zeros((size_z, size_y, size_x), dtype=np.uint8)
    slice_spacing = reference.GetSpacing()[2]
    planes_by_slice: dict[int, list[float]] = {}
    for contour in contours_mm:
        index = _physical_to_index(contour, reference)
        slice_position = index[:, 2]
        spread = float(slice_position.max() - slice_position.min())
        if spread >= 0.5:
            raise GeometryMismatchError(
                f"a contour of ROI '{name}' spans {spread * slice_spacing:.4g} mm across the image "
                "slices: its plane is not parallel to the slices of the reference image", source)
        plane = float(slice_position.mean())
        slice_index = int(np.floor(plane + 0.5))
        if not 0 <= slice_index < size_z:
            raise GeometryMismatchError(
                f"a contour of ROI '{name}' lies {_distance_outside(plane, size_z) * slice_spacing:.4g} mm "
                f"beyond the image's {size_z} slices: the RTSTRUCT does not belong to this image",
                source)
        planes = planes_by_slice.setdefault(slice_index, [])
        planes.append(plane)
        if max(planes) - min(planes) > SAME_PLANE_TOLERANCE_SLICES:
            raise GeometryMismatchError(
                f"contours of ROI '{name}' {(max(planes) - min(planes)) * slice_spacing:.4g} mm apart "
                f"fall on the same image slice {slice_index} ({slice_spacing:.4g} mm thick): pass the "
                "image the contours were drawn on as the reference", source)
        fill_polygon_even_odd(index[:, 0], index[:, 1], mask[slice_index])
    return mask


def _distance_outside(plane: float, size_z: int) -> float:
    return -plane if plane < 0 else plane - (size_z - 1)


def rasterise_structure(
    structure: StructureSetRoi, reference: sitk.Image, source: str | os.PathLike,
) -> np.ndarray:
    """The voxel array of one structure-set ROI on a reference image's grid.

    Parameters
    ----------
    structure : StructureSetRoi
        From :func:`read_structure_set`.
    reference : SimpleITK.Image
        The 3D image whose grid receives the mask.
    source : str or PathLike
        The RTSTRUCT, named in messages.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array ``(z, y, x)`` of 0/1.

    Raises
    ------
    EmptyRoiError
        The ROI has no ``CLOSED_PLANAR`` contour.
    GeometryMismatchError
        Contours that do not fit the reference grid (see :func:`rasterise_contours`).
    """
    if not structure.closed_contours:
        found = ", ".join(structure.other_contour_types) or "no contour at all"
        raise EmptyRoiError(
            f"ROI '{structure.name}' has no CLOSED_PLANAR contour to rasterise (it has: {found})", source)
    return rasterise_contours(structure.closed_contours, reference, name=structure.name, source=source)


def rasterise_roi(path: str | os.PathLike, roi: str, reference: sitk.Image) -> sitk.Image:
    """The voxel mask of one RTSTRUCT ROI on a reference image's grid.

    Parameters
    ----------
    path : str or PathLike
        An RTSTRUCT file or a folder holding one.
    roi : str
        The ROI name.
    reference : SimpleITK.Image
        The 3D image whose grid receives the mask.

    Returns
    -------
    SimpleITK.Image
        ``UInt8`` mask (1 inside), with the reference's geometry.

    Raises
    ------
    LabelAbsentError
        No ROI of that name (the message lists the names available).
    EmptyRoiError
        The ROI has no ``CLOSED_PLANAR`` contour.
    GeometryMismatchError
        Contours that do not fit the reference grid (see :func:`rasterise_contours`).
    """
    path = find_rtstruct(path)
    structure = select_roi(read_structure_set(path), roi, path)
    mask = sitk.GetImageFromArray(rasterise_structure(structure, reference, path))
    mask.CopyInformation(reference)
    return mask
