"""Cohort manifests: reading, and validation that reports every problem at once.

A manifest is a CSV with one row per (patient, modality)::

    patient_id, modality, image, mask, site [, roi, label, sequence,
    weight_kg, injected_dose_bq, injection_time, series_time, half_life_s]

Relative ``image`` and ``mask`` paths are relative to the manifest's folder.
PET rows whose image is not a DICOM series (so has no header to read) need
``weight_kg``, ``injected_dose_bq``, ``injection_time``, ``series_time`` (the
time the activity is decay-corrected to) and ``half_life_s``.

Patient IDs and modality names name the case folders of a run, so
:func:`read_manifest` refuses unsafe ones (see :mod:`radiomix.cohort.identifiers`),
duplicate (patient, modality) rows, and IDs that differ only in letter case; it
names every such row at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from radiomix.cohort.identifiers import identifier_problem
from radiomix.errors import InputError, RadiomixError, UnreadableFileError
from radiomix.io.completeness import check_voxel_data

REQUIRED_COLUMNS = ("patient_id", "modality", "image", "mask", "site")
OPTIONAL_COLUMNS = ("roi", "label", "sequence", "weight_kg", "injected_dose_bq", "injection_time", "series_time",
                    "half_life_s")
KNOWN_MODALITIES = ("CT", "MR", "PET")
PET_HEADERLESS_FIELDS = ("weight_kg", "injected_dose_bq", "injection_time", "series_time", "half_life_s")
PET_NUMERIC_FIELDS = ("weight_kg", "injected_dose_bq", "half_life_s")


class ManifestError(InputError):
    """The manifest file itself cannot be used (missing, unreadable, missing columns)."""


@dataclass(frozen=True)
class ManifestProblem:
    """One problem found in a manifest row (``row`` counts data rows from 1; 0 for the file)."""

    row: int
    patient_id: str
    modality: str
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row} ({self.patient_id}, {self.modality})" if self.row else "manifest"
        return f"{where}: {self.problem}"


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a manifest: text columns as strings, paths made absolute, one row per case.

    Raises
    ------
    ManifestError
        The file is missing or unreadable, required columns are absent, a patient ID or
        modality is not a safe folder name, two rows share a (patient, modality), or two
        patient IDs differ only in letter case; the message lists every such row.
    """
    path = Path(path)
    table = _read_table(path)
    problems = case_key_problems(table)
    if problems:
        listing = "; ".join(str(problem) for problem in problems)
        raise ManifestError(f"{len(problems)} row problem(s) in patient IDs or modalities: {listing}", str(path))
    return table


def case_key_problems(table: pd.DataFrame) -> list[ManifestProblem]:
    """The rows whose (patient, modality) cannot name a case folder, or name one twice.

    Parameters
    ----------
    table : pandas.DataFrame
        A manifest as read (``patient_id`` stripped, ``modality`` upper-case).

    Returns
    -------
    list of ManifestProblem
        Unsafe or empty patient IDs and modalities, duplicates of an earlier row, and
        patient IDs equal to an earlier row's but for letter case.
    """
    problems = []
    seen: dict[tuple[str, str], int] = {}
    spelling: dict[str, tuple[str, int]] = {}
    for number, (patient_id, modality) in enumerate(zip(table["patient_id"], table["modality"]), start=1):
        def report(message: str, number=number, patient_id=patient_id, modality=modality) -> None:
            problems.append(ManifestProblem(number, patient_id, modality, message))

        for value, what in ((patient_id, "patient_id"), (modality, "modality")):
            problem = identifier_problem(value, what)
            if problem is not None:
                report(problem)
        key = (patient_id, modality)
        if key in seen:
            report(f"duplicate of row {seen[key]} (same patient and modality)")
        else:
            seen[key] = number
        first_spelling, first_row = spelling.setdefault(patient_id.casefold(), (patient_id, number))
        if first_spelling != patient_id:
            report(f"patient_id {patient_id!r} differs from {first_spelling!r} (row {first_row}) only in letter "
                   "case; their case folders would clash on case-insensitive file systems")
    return problems


def _read_table(path: Path) -> pd.DataFrame:
    """The manifest's rows, before the checks of :func:`case_key_problems`."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the manifest ({exc})", str(path)) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ManifestError(f"missing required column(s) {missing}; a manifest needs {list(REQUIRED_COLUMNS)}",
                            str(path))
    table = table.copy()
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    table["patient_id"] = table["patient_id"].str.strip()
    table["modality"] = table["modality"].str.strip().str.upper()
    for column in ("image", "mask"):
        table[column] = [resolve_listed_path(path.parent, value) for value in table[column]]
    return table


def resolve_listed_path(folder: Path, value: str) -> str:
    """A path listed in a table (manifest, case list) as an absolute path, relative to ``folder``; empty stays empty."""
    if not value.strip():
        return ""
    candidate = Path(value.strip())
    return str(candidate if candidate.is_absolute() else (folder / candidate).resolve())


def validate_manifest(path: str | Path, tolerance_mm: float = 1e-3, *, deep: bool = False) -> list[ManifestProblem]:
    """Every problem of a manifest: files, geometry, duplicates, modalities, PET fields.

    Image and mask files are checked from their headers: readable, holding the
    whole voxel block the header announces (:mod:`radiomix.io.completeness`), on
    one grid. With ``deep``, every case is also read as the run's ``validate``
    stage reads it (:func:`radiomix.cohort.case.validate`): all voxels of the
    image (DICOM series included) and of the mask (RTSTRUCT and SEG rasterised on
    the image), and the ROI checked (non-empty, finite intensities).

    Parameters
    ----------
    path : str or Path
        The manifest CSV.
    tolerance_mm : float
        Largest accepted difference between image and mask origins and voxel sizes (mm).
    deep : bool
        Read every voxel of every case (slower: as long as the run's validate stage).

    Returns
    -------
    list of ManifestProblem
        Empty when the manifest is ready to run.
    """
    try:
        table = _read_table(Path(path))
    except ManifestError as exc:
        return [ManifestProblem(0, "", "", exc.detail)]
    problems = case_key_problems(table)
    for number, row in enumerate(table.itertuples(index=False), start=1):
        def report(message: str, number=number, row=row) -> None:
            problems.append(ManifestProblem(number, row.patient_id, row.modality, message))

        if row.modality and row.modality not in KNOWN_MODALITIES:
            report(f"unknown modality {row.modality!r}; known: {', '.join(KNOWN_MODALITIES)}")
        if not row.site.strip():
            report("empty site (ComBat harmonization needs each case's site or scanner)")
        found = len(problems)
        image_info = _header(row.image, "image", report)
        # An empty mask is allowed: the case gets the reference modality's ROI mapped onto its grid.
        mask_info = _header(row.mask, "mask", report) if row.mask.strip() else None
        if not row.mask.strip() and not table.loc[table["patient_id"] == row.patient_id, "mask"].str.strip().any():
            report("no mask in any modality of this patient: at least the reference modality needs its ROI")
        if deep and len(problems) == found:
            _read_case(table, row, report)
        if image_info is not None and mask_info is not None:
            difference = _geometry_difference(image_info, mask_info)
            if difference is not None and difference > tolerance_mm:
                report(f"image and mask grids differ by {difference:.3g} mm "
                       f"(image {row.image}, mask {row.mask})")
            elif difference is None:
                report(f"image and mask have different sizes {image_info.GetSize()} and {mask_info.GetSize()}")
        if row.modality == "PET" and not Path(row.image).is_dir():
            absent = [f for f in PET_HEADERLESS_FIELDS if not getattr(row, f).strip()]
            if absent:
                report(f"PET image {row.image} has no DICOM header: give {', '.join(absent)} in the manifest")
            for field in PET_NUMERIC_FIELDS:
                value = getattr(row, field).strip()
                if value and not _positive_number(value):
                    report(f"{field} is {value!r}: expected a positive number")
    problems.sort(key=lambda problem: problem.row)
    return problems


def _read_case(table: pd.DataFrame, row, report) -> None:
    """Report why the run's validate stage would fail on ``row`` (every voxel read), if it would."""
    from radiomix.cohort.case import Case, validate

    if identifier_problem(row.patient_id, "patient_id") or identifier_problem(row.modality, "modality"):
        return
    case = Case.from_manifest(table, row.patient_id, row.modality)
    try:
        validate(case)
    except (RadiomixError, OSError) as error:
        report(str(error))


def _positive_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _header(path: str, what: str, report) -> sitk.ImageFileReader | None:
    """The image header of ``path`` (None for DICOM folders, RTSTRUCT/SEG files, or on a problem)."""
    if not path:
        report(f"no {what} path")
        return None
    file = Path(path)
    if not file.exists():
        report(f"{what} file not found: {path}")
        return None
    if file.is_dir() or file.suffix.lower() == ".dcm":
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(file))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        report(f"{what} file is not a readable image: {path}")
        return None
    try:
        check_voxel_data(file)
    except UnreadableFileError as error:
        report(f"{what} file {error}")
        return None
    return reader


def _geometry_difference(image: sitk.ImageFileReader, mask: sitk.ImageFileReader) -> float | None:
    """Largest origin or spacing difference (mm) between two headers; None if the sizes differ."""
    if image.GetSize() != mask.GetSize():
        return None
    origin = max(abs(a - b) for a, b in zip(image.GetOrigin(), mask.GetOrigin()))
    spacing = max(abs(a - b) for a, b in zip(image.GetSpacing(), mask.GetSpacing()))
    return max(origin, spacing)
