"""DICOM helpers: finding instances and series in a folder, checking slice geometry,
reading an image series with SimpleITK, and keeping patient identity out of what
radiomix returns.

Series reading
--------------
A folder (not its sub-folders) is scanned with pydicom, reading headers only. Image
instances (those with an ``ImagePositionPatient``, an ``ImageOrientationPatient`` and
pixel rows) are grouped by ``SeriesInstanceUID``; RTSTRUCT and SEG objects in the same
folder are not images and are left out. A folder holding several image series is a
:class:`~radiomix.errors.DicomSeriesError` listing them (choose one with ``series_uid``).

The slices of the series are sorted by their position along the slice normal
(``row direction x column direction`` of ``ImageOrientationPatient``), and checked:
same orientation, size and pixel spacing on every slice; no two slices at one position;
no in-plane drift between consecutive slices (gantry tilt); and even spacing along the
normal, every gap within ``slice_tolerance_mm`` of the median gap. A larger gap means
missing slices, and the error names the positions and files on either side of it.

The sorted files are read with ``SimpleITK.ImageSeriesReader``, which takes the origin
from the first slice, the direction from the orientation and the slice spacing from the
positions, and applies each file's ``RescaleSlope`` and ``RescaleIntercept`` (stored
values become modality values, e.g. HU). When the rescale is not the same integer
slope and intercept on every slice, the output is forced to 32-bit float so that each
slice's own rescale is kept without truncation.

Patient identity
----------------
``SimpleITK.ReadImage`` on a single DICOM file copies every header element into the
image's metadata dictionary (``"0010|0010"`` is the patient's name). Images read from
DICOM by radiomix have the identifying keys listed in :data:`IDENTIFYING_KEYS`, and all
of group 0010 except sex, age, size and weight (used by SUV normalisation), removed.
``ImageSeriesReader`` keeps no header element in the image it returns.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from radiomix.errors import DicomSeriesError, UnreadableFileError

if TYPE_CHECKING:
    import pydicom

DEFAULT_SLICE_TOLERANCE_MM = 0.05
"""Largest accepted deviation (mm) of a slice gap from the series' median gap.

Far below any slice spacing, so a missing slice or a shifted one is caught, while
positions written with two decimals (rounding up to 0.005 mm each) pass."""

ORIENTATION_TOLERANCE = 1e-4
"""Largest accepted difference between the direction cosines of two slices of one series."""

RTSTRUCT_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.481.3"
SEG_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.66.4"

PATIENT_KEYS_KEPT = frozenset({"0010|0040", "0010|1010", "0010|1020", "0010|1030"})
"""Group-0010 keys kept in image metadata: sex, age, size (m) and weight (kg)."""

IDENTIFYING_KEYS = frozenset({
    "0008|0050",  # accession number
    "0008|0080",  # institution name
    "0008|0081",  # institution address
    "0008|0090",  # referring physician's name
    "0008|0092",  # referring physician's address
    "0008|0094",  # referring physician's telephone numbers
    "0008|1010",  # station name
    "0008|1040",  # institutional department name
    "0008|1048",  # physicians of record
    "0008|1050",  # performing physician's name
    "0008|1060",  # name of physicians reading study
    "0008|1070",  # operators' name
    "0020|0010",  # study ID
    "0032|1032",  # requesting physician
    "0038|0010",  # admission ID
    "0040|0006",  # scheduled performing physician's name
    "0040|0244",  # performed procedure step start date
    "0040|0253",  # performed procedure step ID
})
"""Metadata keys (``group|element``) removed, besides group 0010, from images read from DICOM."""

_HEADER_KEYWORDS = [
    "SOPClassUID", "Modality", "SeriesInstanceUID", "SeriesDescription",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns",
    "RescaleSlope", "RescaleIntercept",
]


@functools.cache
def _header_tags() -> tuple:
    """The tags of :data:`_HEADER_KEYWORDS`, in increasing order (pydicom is imported on the first DICOM
    header read, not with this module: reading NIfTI or NRRD files never loads it, ~10 MiB)."""
    from pydicom.tag import Tag

    return tuple(sorted(Tag(keyword) for keyword in _HEADER_KEYWORDS))


def _past_header_tags(tag, vr, length) -> bool:
    """Stop parsing after the last tag read (tags are stored in increasing order): the sequences that
    follow (PET isotope data, RTSTRUCT contours, SEG frames) are never parsed."""
    return tag > _header_tags()[-1]


@dataclass(frozen=True)
class DicomInstance:
    """The header fields of one DICOM file that radiomix uses to group and sort it.

    Attributes
    ----------
    path : Path
        The file.
    sop_class_uid, modality, series_uid, series_description : str
        As in the header (empty when absent).
    position : tuple of float or None
        ``ImagePositionPatient`` (mm), the centre of the first pixel.
    orientation : tuple of float or None
        ``ImageOrientationPatient``: row direction then column direction cosines.
    pixel_spacing : tuple of float or None
        ``PixelSpacing`` (mm): distance between rows, then between columns.
    rows, columns : int or None
        Pixel matrix size.
    rescale_slope, rescale_intercept : float
        Modality rescale (1 and 0 when absent).
    """

    path: Path
    sop_class_uid: str
    modality: str
    series_uid: str
    series_description: str
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    rows: int | None
    columns: int | None
    rescale_slope: float
    rescale_intercept: float

    @property
    def is_image(self) -> bool:
        """True for an image slice (not an RTSTRUCT, SEG or other non-image object)."""
        return (
            self.position is not None and self.orientation is not None and self.rows is not None
            and self.sop_class_uid not in (RTSTRUCT_SOP_CLASS_UID, SEG_SOP_CLASS_UID)
        )


def has_dicom_preamble(path: str | os.PathLike) -> bool:
    """Whether a file starts with the DICOM preamble (``"DICM"`` at byte 128).

    Parameters
    ----------
    path : str or PathLike
        A file.

    Returns
    -------
    bool
    """
    with open(path, "rb") as stream:
        head = stream.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _optional_floats(dataset: pydicom.Dataset, keyword: str) -> tuple[float, ...] | None:
    value = dataset.get(keyword)
    if value is None or value == "":
        return None
    return tuple(float(v) for v in value)


def read_instance_header(path: str | os.PathLike) -> DicomInstance:
    """Read the header fields radiomix needs from one DICOM file (no pixel data).

    Parameters
    ----------
    path : str or PathLike
        A DICOM file.

    Returns
    -------
    DicomInstance

    Raises
    ------
    UnreadableFileError
        The file is not DICOM (pydicom cannot parse it).
    """
    from pydicom.errors import InvalidDicomError
    from pydicom.filereader import read_partial

    path = Path(path)
    try:
        with open(path, "rb") as stream:
            header = read_partial(stream, stop_when=_past_header_tags, specific_tags=list(_header_tags()))
    except InvalidDicomError as error:
        raise UnreadableFileError(f"not a DICOM file ({error})", path) from error
    slope = header.get("RescaleSlope")
    intercept = header.get("RescaleIntercept")
    rows = header.get("Rows")
    columns = header.get("Columns")
    return DicomInstance(
        path=path,
        sop_class_uid=str(header.get("SOPClassUID", "")),
        modality=str(header.get("Modality", "")),
        series_uid=str(header.get("SeriesInstanceUID", "")),
        series_description=str(header.get("SeriesDescription", "")),
        position=_optional_floats(header, "ImagePositionPatient"),
        orientation=_optional_floats(header, "ImageOrientationPatient"),
        pixel_spacing=_optional_floats(header, "PixelSpacing"),
        rows=None if rows is None else int(rows),
        columns=None if columns is None else int(columns),
        rescale_slope=1.0 if slope in (None, "") else float(slope),
        rescale_intercept=0.0 if intercept in (None, "") else float(intercept),
    )


def scan_folder(folder: str | os.PathLike) -> list[DicomInstance]:
    """Headers of the DICOM files directly in a folder (sub-folders are not searched).

    Files without the DICOM preamble, and files pydicom cannot parse, are skipped.

    Parameters
    ----------
    folder : str or PathLike

    Returns
    -------
    list of DicomInstance
        In file-name order.
    """
    instances = []
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_file() and has_dicom_preamble(entry):
            try:
                instances.append(read_instance_header(entry))
            except UnreadableFileError:
                continue
    return instances


def find_object(path: str | os.PathLike, sop_class_uid: str, kind: str) -> Path:
    """The file given, or the one file of a SOP class (e.g. RTSTRUCT) in the folder given.

    Raises
    ------
    UnreadableFileError
        Missing, or the folder holds no such file.
    DicomSeriesError
        The folder holds several; the message lists them.
    """
    path = Path(path)
    if path.is_dir():
        return find_single_object(path, sop_class_uid, kind)
    if not path.is_file():
        raise UnreadableFileError("no such file or folder", path)
    return path


def find_single_object(folder: str | os.PathLike, sop_class_uid: str, kind: str) -> Path:
    """The one file of a given SOP class (e.g. RTSTRUCT) directly in a folder.

    Parameters
    ----------
    folder : str or PathLike
    sop_class_uid : str
        The SOP class looked for.
    kind : str
        Its name for messages, e.g. ``"RTSTRUCT"``.

    Returns
    -------
    Path

    Raises
    ------
    UnreadableFileError
        The folder holds no such file.
    DicomSeriesError
        The folder holds several; the message lists them.
    """
    matches = [inst.path for inst in scan_folder(folder) if inst.sop_class_uid == sop_class_uid]
    if not matches:
        raise UnreadableFileError(f"holds no DICOM {kind} file", folder)
    if len(matches) > 1:
        names = ", ".join(path.name for path in matches)
        raise DicomSeriesError(
            f"holds {len(matches)} DICOM {kind} files ({names}): pass the path of the one to use",
            folder,
        )
    return matches[0]


def group_image_series(instances: Sequence[DicomInstance]) -> dict[str, list[DicomInstance]]:
    """Image instances grouped by ``SeriesInstanceUID`` (non-image objects are left out).

    Parameters
    ----------
    instances : sequence of DicomInstance

    Returns
    -------
    dict
        Series UID -> its instances, in input order.
    """
    series: dict[str, list[DicomInstance]] = defaultdict(list)
    for instance in instances:
        if instance.is_image:
            series[instance.series_uid].append(instance)
    return dict(series)


def _describe_series(uid: str, instances: Sequence[DicomInstance]) -> str:
    first = instances[0]
    description = f", '{first.series_description}'" if first.series_description else ""
    return f"{uid} ({first.modality or 'no modality'}, {len(instances)} files{description})"


def _gap_description(
    gap: float, lower: DicomInstance, upper: DicomInstance, lower_mm: float, upper_mm: float,
) -> str:
    return (
        f"{gap:.4g} mm between the slices at {lower_mm:.4g} mm ({lower.path.name}) "
        f"and {upper_mm:.4g} mm ({upper.path.name})"
    )


def sort_slices(
    instances: Sequence[DicomInstance], *, slice_tolerance_mm: float = DEFAULT_SLICE_TOLERANCE_MM,
    source: str | os.PathLike | None = None,
) -> list[DicomInstance]:
    """Sort the slices of one series along the slice normal and check that they form a volume.

    Parameters
    ----------
    instances : sequence of DicomInstance
        The image slices of one series.
    slice_tolerance_mm : float
        Largest accepted deviation (mm) of a gap between consecutive slices from the
        median gap, of two slice positions from each other for duplicates, and of the
        in-plane shift between consecutive slices from zero.
    source : str or PathLike, optional
        The folder, named in error messages.

    Returns
    -------
    list of DicomInstance
        Ascending along the normal ``row x column`` of ``ImageOrientationPatient``.

    Raises
    ------
    DicomSeriesError
        Slices differ in orientation, size or pixel spacing; two slices share a position;
        consecutive slices are shifted in-plane (gantry tilt); or gaps are uneven
        (missing slices). The message names the slices concerned.
    """
    if slice_tolerance_mm <= 0:
        raise ValueError(f"slice_tolerance_mm must be positive, got {slice_tolerance_mm}")
    first = instances[0]
    for instance in instances[1:]:
        if np.max(np.abs(np.subtract(instance.orientation, first.orientation))) > ORIENTATION_TOLERANCE:
            raise DicomSeriesError(
                f"slices {first.path.name} and {instance.path.name} have different orientations "
                f"{first.orientation} and {instance.orientation}: not one volume", source)
        if (instance.rows, instance.columns) != (first.rows, first.columns):
            raise DicomSeriesError(
                f"slices {first.path.name} and {instance.path.name} have different sizes "
                f"({first.rows}x{first.columns} and {instance.rows}x{instance.columns} pixels)", source)
        if (instance.pixel_spacing is None) != (first.pixel_spacing is None) or (
            first.pixel_spacing is not None
            and np.max(np.abs(np.subtract(instance.pixel_spacing, first.pixel_spacing))) > slice_tolerance_mm
        ):
            raise DicomSeriesError(
                f"slices {first.path.name} and {instance.path.name} have different pixel spacings "
                f"{first.pixel_spacing} and {instance.pixel_spacing} mm", source)

    row_direction = np.asarray(first.orientation[:3])
    column_direction = np.asarray(first.orientation[3:])
    normal = np.cross(row_direction, column_direction)
    normal /= np.linalg.norm(normal)
    heights = np.array([np.dot(instance.position, normal) for instance in instances])
    order = np.argsort(heights, kind="stable")
    ordered = [instances[i] for i in order]
    heights = heights[order]
    if len(ordered) < 2:
        return ordered

    gaps = np.diff(heights)
    duplicates = np.flatnonzero(gaps <= slice_tolerance_mm)
    if duplicates.size:
        k = duplicates[0]
        raise DicomSeriesError(
            f"slices {ordered[k].path.name} and {ordered[k + 1].path.name} are both at "
            f"{heights[k]:.4g} mm along the slice normal: the series holds several images per "
            "position (echoes, phases or repeated acquisitions); put one volume per folder", source)

    positions = np.array([instance.position for instance in ordered])
    steps = np.diff(positions, axis=0)
    in_plane_shift = np.linalg.norm(steps - np.outer(gaps, normal), axis=1)
    shifted = np.flatnonzero(in_plane_shift > slice_tolerance_mm)
    if shifted.size:
        k = shifted[0]
        raise DicomSeriesError(
            f"slice {ordered[k + 1].path.name} is shifted {in_plane_shift[k]:.4g} mm in-plane from "
            f"{ordered[k].path.name} (gantry tilt or sheared volume); resample it to an "
            "orthogonal grid before radiomics", source)

    median_gap = float(np.median(gaps))
    uneven = np.flatnonzero(np.abs(gaps - median_gap) > slice_tolerance_mm)
    if uneven.size:
        smallest_gap = float(gaps.min())
        described = []
        for k in uneven:
            text = _gap_description(gaps[k], ordered[k], ordered[k + 1], heights[k], heights[k + 1])
            missing = round(float(gaps[k]) / smallest_gap) - 1
            if missing >= 1:
                text += f" (about {missing} slice{'s' if missing > 1 else ''} missing)"
            described.append(text)
        raise DicomSeriesError(
            f"uneven slice spacing along the slice normal: the median gap between slices is "
            f"{median_gap:.4g} mm, but there is a gap of {'; a gap of '.join(described)}. Tolerance "
            f"{slice_tolerance_mm} mm (keyword slice_tolerance_mm)", source)
    return ordered


def _rescale_needs_float(instances: Sequence[DicomInstance]) -> bool:
    rescales = {(instance.rescale_slope, instance.rescale_intercept) for instance in instances}
    if len(rescales) > 1:
        return True
    slope, intercept = rescales.pop()
    return not (float(slope).is_integer() and float(intercept).is_integer())


def strip_identifying_metadata(image: sitk.Image) -> sitk.Image:
    """Remove patient-identifying DICOM keys from an image's metadata dictionary, in place.

    Parameters
    ----------
    image : SimpleITK.Image

    Returns
    -------
    SimpleITK.Image
        The same image.
    """
    for key in image.GetMetaDataKeys():
        lowered = key.lower()
        in_patient_group = lowered.startswith("0010|") and lowered not in PATIENT_KEYS_KEPT
        if in_patient_group or lowered in IDENTIFYING_KEYS:
            image.EraseMetaData(key)
    return image


def simpleitk_error_reason(error: RuntimeError) -> str:
    """The one-line reason in a SimpleITK reader's exception (after ``sitk::ERROR:``)."""
    message = str(error)
    marker = "ERROR: "
    return message.split(marker, 1)[1].strip() if marker in message else message.strip()


def read_dicom_series(
    folder: str | os.PathLike, *, series_uid: str | None = None,
    slice_tolerance_mm: float = DEFAULT_SLICE_TOLERANCE_MM,
) -> sitk.Image:
    """Read the DICOM image series in a folder as one SimpleITK volume.

    Parameters
    ----------
    folder : str or PathLike
        Folder holding the slices (sub-folders are not searched).
    series_uid : str, optional
        The ``SeriesInstanceUID`` to read when the folder holds several series.
    slice_tolerance_mm : float
        Largest accepted deviation (mm) of a slice gap from the median gap.

    Returns
    -------
    SimpleITK.Image
        Modality values (rescale applied), geometry from the headers, no identifying metadata.

    Raises
    ------
    UnreadableFileError
        The folder holds no DICOM image, or SimpleITK cannot decode the pixels.
    DicomSeriesError
        Several series and no ``series_uid``, an unknown ``series_uid``, or slices that
        do not form an evenly spaced volume (see :func:`sort_slices`).
    """
    folder = Path(folder)
    instances = scan_folder(folder)
    if not instances:
        raise UnreadableFileError(
            "holds no DICOM file (files with the DICOM preamble; sub-folders are not searched)", folder)
    series = group_image_series(instances)
    if not series:
        modalities = sorted({instance.modality or "unknown" for instance in instances})
        raise UnreadableFileError(
            f"holds DICOM files but no image series (modalities found: {', '.join(modalities)})",
            folder)
    listing = "; ".join(_describe_series(uid, members) for uid, members in series.items())
    if series_uid is not None:
        if series_uid not in series:
            raise DicomSeriesError(
                f"holds no image series with SeriesInstanceUID {series_uid}; it holds: {listing}",
                folder)
        slices = series[series_uid]
    elif len(series) > 1:
        raise DicomSeriesError(
            f"holds {len(series)} image series (SeriesInstanceUID, modality, files): {listing}. "
            "Pass series_uid=... or put each series in its own folder", folder)
    else:
        slices = next(iter(series.values()))

    ordered = sort_slices(slices, slice_tolerance_mm=slice_tolerance_mm, source=folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(instance.path) for instance in ordered])
    if _rescale_needs_float(ordered):
        reader.SetOutputPixelType(sitk.sitkFloat32)
    try:
        image = reader.Execute()
    except RuntimeError as error:
        raise UnreadableFileError(
            f"SimpleITK cannot read the DICOM series: {simpleitk_error_reason(error)}", folder) from error
    return strip_identifying_metadata(image)
