"""From a DICOM export to a cohort manifest: find image series and their RTSTRUCT/SEG, one row per case.

:func:`index_dicom` walks a folder tree in any layout and reads headers only
(pydicom, ``stop_before_pixels``):

- image files are grouped into series by ``SeriesInstanceUID``; a series is
  usable when its files lie in one folder that holds no other image series
  (the manifest names the folder);
- each RTSTRUCT or SEG is paired with the series it references (its
  referenced ``SeriesInstanceUID``), or else with the one series of the
  patient in its ``FrameOfReferenceUID``;
- DICOM modalities map to the manifest's: ``CT``, ``MR``, ``PT`` -> ``PET``;
- the ROI is chosen by a name pattern (``fnmatch``, case-insensitive), or
  is the structure set's only ROI; several matches are reported with their names;
- the patient ID is the name of the top-level folder under the root, or its
  pseudonym from a table (``folder, patient_id``): DICOM patient names and IDs
  are never read.

Every series that gives no manifest row is reported with the reason, per
patient. The ``site`` column is the scanner (``Manufacturer`` and
``ManufacturerModelName``), a batch variable for ComBat.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydicom
from pydicom.errors import InvalidDicomError

from radiomix.errors import InputError
from radiomix.io.atomic import write_csv_atomic
from radiomix.io.dicom import RTSTRUCT_SOP_CLASS_UID, SEG_SOP_CLASS_UID, has_dicom_preamble

MODALITIES = {"CT": "CT", "MR": "MR", "PT": "PET"}
"""DICOM ``Modality`` -> manifest modality."""

MANIFEST_COLUMNS = ("patient_id", "modality", "image", "mask", "site", "roi", "label")

SAFE_PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""Patient IDs accepted from folder names and pseudonym tables (no separators, no ``..``)."""

_TAGS = ["SOPClassUID", "Modality", "SeriesInstanceUID", "FrameOfReferenceUID", "ImagePositionPatient",
         "Manufacturer", "ManufacturerModelName", "ReferencedFrameOfReferenceSequence",
         "StructureSetROISequence", "ReferencedSeriesSequence", "SegmentSequence"]


@dataclass
class _Series:
    uid: str
    modality: str
    frame: str
    scanner: str
    folders: set = field(default_factory=set)
    files: int = 0


@dataclass(frozen=True)
class _MaskObject:
    path: Path
    kind: str
    referenced_series: tuple[str, ...]
    frame: str
    names: dict[int, str]


@dataclass(frozen=True)
class Unpaired:
    """A series or mask object that gives no manifest row, and why."""

    patient_id: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"patient {self.patient_id}: {self.what}: {self.reason}"


@dataclass(frozen=True)
class DicomIndex:
    """What :func:`index_dicom` found.

    Attributes
    ----------
    manifest : pandas.DataFrame
        One row per (patient, modality): ``patient_id, modality, image, mask,
        site, roi, label`` (paths absolute).
    unpaired : list of Unpaired
        Everything that gives no row, with the reason.
    """

    manifest: pd.DataFrame
    unpaired: list[Unpaired]


def frame_of_reference_digest(path: str | os.PathLike) -> str | None:
    """A digest (16 hex digits of SHA-256) of the ``FrameOfReferenceUID`` of a DICOM image.

    Parameters
    ----------
    path : str or PathLike
        A DICOM series folder or file; any other file (NIfTI...) has no frame.

    Returns
    -------
    str or None
        None when the image is not DICOM or has no frame of reference. The
        digest lets stage records compare frames without keeping the UID.
    """
    path = Path(path)
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for candidate in candidates:
        if not candidate.is_file() or not has_dicom_preamble(candidate):
            continue
        try:
            header = pydicom.dcmread(candidate, stop_before_pixels=True,
                                     specific_tags=["FrameOfReferenceUID", "ImagePositionPatient"])
        except InvalidDicomError:
            continue
        uid = str(header.get("FrameOfReferenceUID", "")).strip()
        if uid and header.get("ImagePositionPatient") is not None:
            return hashlib.sha256(uid.encode()).hexdigest()[:16]
    return None


def read_pseudonyms(path: str | os.PathLike) -> dict[str, str]:
    """A pseudonym table: CSV with columns ``folder`` and ``patient_id``.

    Raises
    ------
    InputError
        Missing columns, duplicate folders, or an unsafe patient ID.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read the pseudonym table ({exc})", path=str(path)) from exc
    if not {"folder", "patient_id"} <= set(table.columns):
        raise InputError("the pseudonym table needs the columns folder and patient_id", path=str(path))
    duplicated = table["folder"][table["folder"].duplicated()].tolist()
    if duplicated:
        raise InputError(f"folder(s) listed twice in the pseudonym table: {', '.join(duplicated)}", path=str(path))
    for pseudonym in table["patient_id"]:
        _check_patient_id(pseudonym, str(path))
    return dict(zip(table["folder"].str.strip(), table["patient_id"].str.strip()))


def _check_patient_id(patient_id: str, where: str) -> None:
    if not SAFE_PATIENT_ID.match(patient_id) or ".." in patient_id:
        raise InputError(f"patient ID {patient_id!r} is not safe (letters, digits, '.', '_', '-'; no path "
                         "separators or '..')", path=where)


def index_dicom(root: str | os.PathLike, *, roi_pattern: str | None = None,
                pseudonyms: dict[str, str] | None = None) -> DicomIndex:
    """Index a DICOM export into manifest rows (see the module docstring).

    Parameters
    ----------
    root : str or PathLike
        The export; each top-level folder holds one patient, in any layout below.
    roi_pattern : str, optional
        ``fnmatch`` pattern of the ROI (RTSTRUCT) or segment (SEG) name, e.g. ``GTV*``.
    pseudonyms : dict, optional
        Top-level folder name -> patient ID; folders not listed are reported, not indexed.

    Returns
    -------
    DicomIndex

    Raises
    ------
    InputError
        ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("the DICOM root is not a folder", path=str(root))
    rows, unpaired = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if pseudonyms is not None:
            if folder.name not in pseudonyms:
                unpaired.append(Unpaired(folder.name, "folder", "not in the pseudonym table; not indexed"))
                continue
            patient_id = pseudonyms[folder.name]
        else:
            patient_id = folder.name
            if not SAFE_PATIENT_ID.match(patient_id) or ".." in patient_id:
                unpaired.append(Unpaired(patient_id, "folder", "the folder name is not a safe patient ID; "
                                         "give a pseudonym table (--pseudonyms)"))
                continue
        patient_rows, patient_unpaired = _index_patient(folder, patient_id, roi_pattern)
        rows += patient_rows
        unpaired += patient_unpaired
    stray = [p.name for p in root.iterdir() if p.is_file() and has_dicom_preamble(p)]
    if stray:
        unpaired.append(Unpaired("-", f"{len(stray)} DICOM file(s) directly in the root",
                                 "not in a patient folder; not indexed"))
    return DicomIndex(pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS)), unpaired)


def _index_patient(folder: Path, patient_id: str, roi_pattern: str | None) -> tuple[list[dict], list[Unpaired]]:
    series: dict[str, _Series] = {}
    masks: list[_MaskObject] = []
    images_per_folder: dict[Path, set] = defaultdict(set)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if not has_dicom_preamble(path):
            continue
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
        except InvalidDicomError:
            continue
        sop_class = str(header.get("SOPClassUID", ""))
        if sop_class in (RTSTRUCT_SOP_CLASS_UID, SEG_SOP_CLASS_UID):
            masks.append(_mask_object(path, header, sop_class))
        elif header.get("ImagePositionPatient") is not None and header.get("SeriesInstanceUID"):
            uid = str(header.SeriesInstanceUID)
            entry = series.setdefault(uid, _Series(
                uid, str(header.get("Modality", "")), str(header.get("FrameOfReferenceUID", "")),
                " ".join(str(header.get(k, "")).strip() for k in ("Manufacturer", "ManufacturerModelName")).strip()))
            entry.folders.add(path.parent)
            entry.files += 1
            images_per_folder[path.parent].add(uid)
    unpaired: list[Unpaired] = []
    paired: dict[str, list[tuple[_MaskObject, str, str]]] = defaultdict(list)
    for mask in masks:
        what = f"{mask.kind} {mask.path.relative_to(folder)}"
        target = [uid for uid in mask.referenced_series if uid in series]
        if not target and mask.frame:
            target = [uid for uid, s in series.items() if s.frame == mask.frame]
        if len(target) != 1:
            reason = ("references no image series found under this patient's folder" if not target else
                      f"its frame of reference holds {len(target)} image series and it names none of them")
            unpaired.append(Unpaired(patient_id, what, reason))
            continue
        chosen = _choose_roi(mask, roi_pattern)
        if isinstance(chosen, str):
            unpaired.append(Unpaired(patient_id, what, chosen))
            continue
        paired[target[0]].append((mask, *chosen))
    by_modality: dict[str, list[dict]] = defaultdict(list)
    for uid, entry in series.items():
        places = ", ".join(str(f.relative_to(folder)) for f in sorted(entry.folders))
        what = f"{entry.modality or 'unknown'} series in {places}"
        if entry.modality not in MODALITIES:
            unpaired.append(Unpaired(patient_id, what, f"modality {entry.modality or '(none)'} is not used "
                                     f"(known: {', '.join(MODALITIES)})"))
            continue
        if len(entry.folders) > 1:
            unpaired.append(Unpaired(patient_id, what, "its files are spread over several folders; put them in one"))
            continue
        image_folder = next(iter(entry.folders))
        if len(images_per_folder[image_folder]) > 1:
            unpaired.append(Unpaired(patient_id, what, f"its folder holds {len(images_per_folder[image_folder])} "
                                     "image series; put each series in its own folder"))
            continue
        if not paired[uid]:
            unpaired.append(Unpaired(patient_id, what, "no RTSTRUCT or SEG with a matching ROI references it"))
            continue
        if len(paired[uid]) > 1:
            listing = ", ".join(str(m.path.relative_to(folder)) for m, _, _ in paired[uid])
            unpaired.append(Unpaired(patient_id, what, f"several masks reference it ({listing}); narrow --roi"))
            continue
        mask, roi, label = paired[uid][0]
        by_modality[MODALITIES[entry.modality]].append({
            "patient_id": patient_id, "modality": MODALITIES[entry.modality], "image": str(image_folder),
            "mask": str(mask.path), "site": entry.scanner or "unknown", "roi": roi, "label": label, "_what": what})
    rows = []
    for modality, candidates in by_modality.items():
        if len(candidates) > 1:
            for row in candidates:
                unpaired.append(Unpaired(patient_id, row["_what"], f"one of {len(candidates)} {modality} series "
                                         "with a ROI; a manifest has one row per patient and modality"))
            continue
        rows.append({k: v for k, v in candidates[0].items() if k != "_what"})
    return rows, unpaired


def _mask_object(path: Path, header: pydicom.Dataset, sop_class: str) -> _MaskObject:
    if sop_class == RTSTRUCT_SOP_CLASS_UID:
        referenced, frame = [], ""
        for frame_item in header.get("ReferencedFrameOfReferenceSequence", []):
            frame = frame or str(frame_item.get("FrameOfReferenceUID", ""))
            for study in frame_item.get("RTReferencedStudySequence", []):
                for item in study.get("RTReferencedSeriesSequence", []):
                    referenced.append(str(item.get("SeriesInstanceUID", "")))
        names = {int(r.ROINumber): str(r.ROIName) for r in header.get("StructureSetROISequence", [])}
        return _MaskObject(path, "RTSTRUCT", tuple(referenced), frame, names)
    referenced = [str(item.get("SeriesInstanceUID", "")) for item in header.get("ReferencedSeriesSequence", [])]
    names = {int(s.SegmentNumber): str(s.get("SegmentLabel", "")) for s in header.get("SegmentSequence", [])}
    return _MaskObject(path, "SEG", tuple(referenced), str(header.get("FrameOfReferenceUID", "")), names)


def _choose_roi(mask: _MaskObject, pattern: str | None) -> tuple[str, str] | str:
    """``(roi, label)`` manifest cells for the chosen ROI, or the reason none could be chosen."""
    names = mask.names
    if pattern is None:
        matches = list(names.items())
        if len(matches) > 1:
            return (f"holds {len(matches)} ROIs ({', '.join(sorted(names.values()))}); choose one with --roi")
    else:
        matches = [(n, name) for n, name in names.items() if fnmatch.fnmatch(name.lower(), pattern.lower())]
        if len(matches) > 1:
            return (f"--roi {pattern!r} matches {len(matches)} ROIs: {', '.join(sorted(m[1] for m in matches))}; "
                    "give a narrower pattern")
    if not matches:
        available = ", ".join(sorted(names.values())) or "none"
        return f"no ROI matches {pattern!r} (ROIs: {available})" if pattern else "holds no ROI"
    number, name = matches[0]
    return (name, "") if mask.kind == "RTSTRUCT" else ("", str(number))


def index_to_manifest(root: str | os.PathLike, output: str | os.PathLike, *, roi_pattern: str | None = None,
                      pseudonyms: str | os.PathLike | None = None) -> DicomIndex:
    """:func:`index_dicom`, then write the manifest CSV atomically (paths relative to its folder)."""
    table = pseudonyms if pseudonyms is None else read_pseudonyms(pseudonyms)
    index = index_dicom(root, roi_pattern=roi_pattern, pseudonyms=table)
    output = Path(output).resolve()
    manifest = index.manifest.copy()
    for column in ("image", "mask"):
        manifest[column] = [os.path.relpath(value, output.parent) for value in manifest[column]]
    if not manifest.empty:
        write_csv_atomic(manifest, output)
    return index
