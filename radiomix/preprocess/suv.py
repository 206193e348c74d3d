"""PET standardised uptake value (body-weight SUV).

``SUV = C * weight / (dose * 2 ** (-t / T_half))``: the activity concentration
``C`` (Bq/ml) times the patient weight (g), divided by the injected dose (Bq)
decayed over the time ``t`` from injection to the start of the scan (the
reference time of a series decay-corrected to its start). SUV is then in g/ml.

The parameters come from the DICOM header of a PET series (following the
QIBA vendor-neutral recipe) or, for images without a header (NIfTI), from
arguments, typically the manifest's PET columns. Arguments, when given, take
precedence over the header.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import SimpleITK as sitk

from radiomix.errors import DicomSeriesError, InputError, UnreadableFileError
from radiomix.io.images import read_image_file

if TYPE_CHECKING:
    import pydicom

logger = logging.getLogger(__name__)

_DAY_S = 24 * 3600.0
_LONG_UPTAKE_S = 12 * 3600.0
"""Uptake times beyond this are reported in the log as suspicious."""

_TAGS = {
    "PatientWeight": "(0010,1030)",
    "RadionuclideTotalDose": "(0018,1074)",
    "RadionuclideHalfLife": "(0018,1075)",
    "RadiopharmaceuticalStartTime": "(0018,1072)",
    "RadiopharmaceuticalStartDateTime": "(0018,1078)",
    "RadiopharmaceuticalInformationSequence": "(0054,0016)",
    "Units": "(0054,1001)",
    "DecayCorrection": "(0054,1102)",
    "SeriesTime": "(0008,0031)",
    "SeriesDate": "(0008,0021)",
    "AcquisitionTime": "(0008,0032)",
    "AcquisitionDate": "(0008,0022)",
    "PhilipsSUVScaleFactor": "(7053,1000)",
}
"""DICOM keywords used here and their (group,element) tags, for error messages."""

_PHILIPS_SUV = (0x7053, 0x1000)
"""Philips private SUV scale factor of CNTS series."""
_MAX_WEIGHT_KG = 500.0
"""Heavier is taken as a weight given in grams by mistake."""

_ARGUMENT_FOR = {
    "PatientWeight": "weight_kg",
    "RadionuclideTotalDose": "injected_dose_bq",
    "RadionuclideHalfLife": "half_life_s",
    "RadiopharmaceuticalStartTime": "injection_time",
    "SeriesTime": "series_time",
}


def _case(patient_id: str | None) -> str:
    """``patient P, modality PET``, or ``modality PET`` when the caller gave no patient ID.

    The DICOM PatientID is never used: messages and parameters carry only the ID
    the caller (the manifest) gives.
    """
    return f"patient {patient_id}, modality PET" if patient_id else "modality PET"


class MissingPetParameterError(InputError):
    """A value needed to compute SUV is neither in the header nor among the arguments.

    Attributes
    ----------
    parameter : str
        The argument (and manifest column) that would supply it, e.g. ``weight_kg``.
    patient_id : str or None
    """

    def __init__(self, message: str, parameter: str, patient_id: str | None = None,
                 path: str | None = None):
        self.parameter = parameter
        self.patient_id = patient_id
        super().__init__(message, path=path)


class MissingDicomTagError(MissingPetParameterError):
    """A DICOM tag needed to compute SUV is missing or empty in a PET series.

    Attributes
    ----------
    tag : str
        Keyword and number, e.g. ``PatientWeight (0010,1030)``.
    """

    def __init__(self, keyword: str, path: str, patient_id: str | None, hint: str = ""):
        self.tag = f"{keyword} {_TAGS.get(keyword, '')}".strip()
        parameter = _ARGUMENT_FOR.get(keyword, "")
        fix = hint or (f"; pass {parameter}= (or fill the manifest column {parameter})"
                       if parameter else "")
        super().__init__(
            f"{_case(patient_id)}: DICOM tag {self.tag} is "
            f"missing or empty, so SUV cannot be computed{fix}",
            parameter=parameter, patient_id=patient_id, path=path)


class UnsupportedPetSeriesError(InputError):
    """The PET series' units or decay correction are not ones SUV can be computed from."""


@dataclass(frozen=True)
class SuvParameters:
    """How the SUV of an image is obtained from its voxel values.

    Attributes
    ----------
    scale_factor : float
        SUV = voxel value (after the DICOM rescale) x ``scale_factor`` (g/ml per Bq/ml).
    source : str
        ``"dicom"``, ``"arguments"``, ``"dicom+arguments"``, ``"already SUV"``
        or ``"Philips SUV scale factor"``.
    units : str
        Units of the voxel values (``BQML`` for activity concentration).
    weight_kg, injected_dose_bq, half_life_s, uptake_delay_s : float or None
        Inputs of the body-weight SUV (``None`` when not needed).
    decay_factor : float or None
        ``2 ** (-uptake_delay_s / half_life_s)`` (1 for a series decay-corrected
        to the injection time).
    patient_id : str or None
    """

    scale_factor: float
    source: str
    units: str
    weight_kg: float | None = None
    injected_dose_bq: float | None = None
    half_life_s: float | None = None
    uptake_delay_s: float | None = None
    decay_factor: float | None = None
    patient_id: str | None = None


def suv_image(path_or_image, weight_kg: float | None = None, injected_dose_bq: float | None = None,
              injection_time=None, half_life_s: float | None = None, *, series_time=None,
              patient_id: str | None = None) -> sitk.Image:
    """Body-weight SUV image of a PET scan.

    Parameters
    ----------
    path_or_image : str, Path or SimpleITK.Image
        A DICOM PET series (its folder, or one of its files), or an image
        without a header (a NIfTI file or a SimpleITK image) holding activity
        concentration in Bq/ml.
    weight_kg : float, optional
        Patient weight (kg). Overrides Patient's Weight (0010,1030).
    injected_dose_bq : float, optional
        Injected activity (Bq) at ``injection_time``. Overrides Radionuclide
        Total Dose (0018,1074).
    injection_time : datetime, time, str, optional
        Start of the injection: a ``datetime``/``time``, ISO-8601 text
        (``2024-01-02T09:10:00``), or DICOM DT/TM text (``20240102091000``,
        ``091000``). Overrides Radiopharmaceutical Start (Date)Time.
    half_life_s : float, optional
        Radionuclide half-life (s), 6586.2 for F-18. Overrides Radionuclide
        Half Life (0018,1075).
    series_time : datetime, time, str, optional
        Start of the scan (the time the activity is decay-corrected to), in the
        same forms as ``injection_time``; needed for images without a header.
    patient_id : str, optional
        The manifest's patient ID, named in error messages and in the parameters (the DICOM
        PatientID is never used; without it, messages name the modality only).

    Returns
    -------
    SimpleITK.Image
        Float32 SUV (g/ml) on the image's grid. A DICOM series already in SUV
        units (GML) is returned with its values unchanged.

    Raises
    ------
    MissingDicomTagError
        A needed tag is missing from the series and no argument replaces it
        (the error names the tag, the file and the patient).
    MissingPetParameterError
        An image without a header lacks one of the arguments.
    UnsupportedPetSeriesError
        Units other than BQML, GML or Philips CNTS with its SUV scale factor,
        or a series not decay-corrected to its start or to the injection.

    Notes
    -----
    The scan start is the Series Date/Time, unless that is later than the
    earliest Acquisition Date/Time (a series re-processed after the scan),
    in which case the earliest acquisition is used. De-identification often
    shifts dates but not times: when the injection and scan dates disagree so
    that the uptake time would be negative or longer than a day, the uptake
    time is taken from the times of day alone (the injection preceding the
    scan by less than 24 h) and a warning is logged.
    """
    image, parameters = _image_and_parameters(
        path_or_image, weight_kg, injected_dose_bq, injection_time, half_life_s, series_time, patient_id)
    suv = sitk.Cast(image, sitk.sitkFloat32)
    if parameters.scale_factor == 1.0:
        return suv
    return sitk.Cast(sitk.Cast(image, sitk.sitkFloat64) * parameters.scale_factor, sitk.sitkFloat32)


def suv_parameters(path_or_image, weight_kg: float | None = None, injected_dose_bq: float | None = None,
                   injection_time=None, half_life_s: float | None = None, *, series_time=None,
                   patient_id: str | None = None) -> SuvParameters:
    """The SUV scale factor and its inputs, as :func:`suv_image` would use them (for provenance).

    Parameters and errors are those of :func:`suv_image`.
    """
    return _image_and_parameters(path_or_image, weight_kg, injected_dose_bq, injection_time,
                                 half_life_s, series_time, patient_id)[1]


def _image_and_parameters(path_or_image, weight_kg, injected_dose_bq, injection_time, half_life_s,
                          series_time, patient_id) -> tuple[sitk.Image, SuvParameters]:
    arguments = {"weight_kg": weight_kg, "injected_dose_bq": injected_dose_bq,
                 "injection_time": injection_time, "half_life_s": half_life_s,
                 "series_time": series_time}
    arguments = {k: v for k, v in arguments.items() if not _is_missing(v)}
    if isinstance(path_or_image, sitk.Image):
        return path_or_image, _parameters_from_arguments(arguments, patient_id, None)
    path = Path(path_or_image)
    if not path.exists():
        raise UnreadableFileError("PET image not found", path=str(path))
    dicom_files = _dicom_series_files(path)
    if dicom_files is None:
        image = read_image_file(path)  # voxel block checked complete, NaN kept (radiomix.io.images)
        return image, _parameters_from_arguments(arguments, patient_id, str(path))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(f) for f in dicom_files])
    reader.SetOutputPixelType(sitk.sitkFloat64)  # applies each slice's rescale slope and intercept
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise DicomSeriesError(f"cannot read the PET series ({exc})", path=str(path)) from exc
    import pydicom  # here, not with the module: extraction without SUV never loads it (~10 MiB)

    headers = [pydicom.dcmread(str(f), stop_before_pixels=True) for f in dicom_files]
    return image, _parameters_from_dicom(headers, dicom_files, arguments, patient_id)


def _dicom_series_files(path: Path) -> list[Path] | None:
    """The sorted files of the DICOM series at ``path`` (folder or file), or ``None`` if not DICOM."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    if path.is_file():
        try:
            series_uid = pydicom.dcmread(str(path), stop_before_pixels=True,
                                         specific_tags=["SeriesInstanceUID"]).get("SeriesInstanceUID")
        except InvalidDicomError:
            return None
        folder = path.parent
    else:
        folder, series_uid = path, None
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
        if not series:
            raise DicomSeriesError("no DICOM series in this folder", path=str(folder))
        if len(series) > 1:
            raise DicomSeriesError(f"{len(series)} DICOM series in this folder; give the path of "
                                   "one file of the PET series, or a folder holding only it",
                                   path=str(folder))
        series_uid = series[0]
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), str(series_uid or ""))
    if not files:
        raise DicomSeriesError("no readable slices in this DICOM series", path=str(folder))
    return [Path(f) for f in files]


def _parameters_from_arguments(arguments: dict, patient_id, path) -> SuvParameters:
    """SUV parameters of an image without a header: every argument is required."""
    for name in ("weight_kg", "injected_dose_bq", "injection_time", "series_time", "half_life_s"):
        if name not in arguments:
            raise MissingPetParameterError(
                f"{_case(patient_id)}: the image has no DICOM header, "
                f"so {name} must be given (argument or manifest column {name}); SUV needs "
                "weight_kg, injected_dose_bq, injection_time, series_time and half_life_s",
                parameter=name, patient_id=patient_id, path=path)
    delay = _uptake_delay_s(_parse_when(arguments["injection_time"], "injection_time", path),
                            _parse_when(arguments["series_time"], "series_time", path), patient_id)
    return _body_weight(arguments["weight_kg"], arguments["injected_dose_bq"], arguments["half_life_s"],
                        delay, "BQML", "arguments", patient_id, path)


def _parameters_from_dicom(headers, files, arguments: dict, patient_id) -> SuvParameters:
    """SUV parameters from a PET series' headers, arguments taking precedence."""
    first, first_path = headers[0], str(files[0])
    modality = str(first.get("Modality", ""))
    if modality != "PT":
        raise UnsupportedPetSeriesError(
            f"{_case(patient_id)}: the series has modality {modality or '(none)'}, not PT; "
            "SUV applies to PET series only", path=first_path)
    units = _required(first, "Units", first_path, patient_id,
                      "; it says whether voxels hold Bq/ml (BQML) or SUV (GML)").upper()
    if units == "GML":
        return SuvParameters(scale_factor=1.0, source="already SUV", units=units, patient_id=patient_id)
    if units == "CNTS" and _PHILIPS_SUV in first:
        factor = float(first[_PHILIPS_SUV].value)
        return SuvParameters(scale_factor=factor, source="Philips SUV scale factor", units=units,
                             patient_id=patient_id)
    if units != "BQML":
        raise UnsupportedPetSeriesError(
            f"{_case(patient_id)}: Units {_TAGS['Units']} is {units}; SUV can be "
            "computed from BQML (Bq/ml), GML (already SUV) or Philips CNTS with its SUV scale "
            "factor (7053,1000). Convert the series to Bq/ml first", path=first_path)
    decay_correction = _required(first, "DecayCorrection", first_path, patient_id,
                                 "; it says to which time the activity is decay-corrected").upper()
    if decay_correction not in ("START", "ADMIN"):
        raise UnsupportedPetSeriesError(
            f"{_case(patient_id)}: Decay Correction {_TAGS['DecayCorrection']} is "
            f"{decay_correction}; SUV is computed here for series decay-corrected to the scan "
            "start (START) or to the injection (ADMIN)", path=first_path)
    used_arguments = set(arguments)
    drug = _radiopharmaceutical(first, first_path, patient_id, arguments)

    weight = arguments.get("weight_kg")
    if weight is None:
        weight = float(_required(first, "PatientWeight", first_path, patient_id))
    dose = arguments.get("injected_dose_bq")
    if dose is None:
        dose = float(_required(drug, "RadionuclideTotalDose", first_path, patient_id))
    half_life = arguments.get("half_life_s")
    if half_life is None:
        half_life = float(_required(drug, "RadionuclideHalfLife", first_path, patient_id))

    if decay_correction == "ADMIN":
        delay = 0.0
    else:
        scan = (_parse_when(arguments["series_time"], "series_time", first_path)
                if "series_time" in arguments else _scan_start(headers, files, patient_id))
        if "injection_time" in arguments:
            injection = _parse_when(arguments["injection_time"], "injection_time", first_path)
        elif drug.get("RadiopharmaceuticalStartDateTime"):
            injection = _parse_dicom_datetime(str(drug.RadiopharmaceuticalStartDateTime))
        else:
            injection = _parse_dicom_time(
                _required(drug, "RadiopharmaceuticalStartTime", first_path, patient_id))
        delay = _uptake_delay_s(injection, scan, patient_id)
    source = "dicom+arguments" if used_arguments else "dicom"
    return _body_weight(weight, dose, half_life, delay, units, source, patient_id, first_path)


def _radiopharmaceutical(header, path, patient_id, arguments) -> pydicom.Dataset:
    """The first item of the Radiopharmaceutical Information Sequence (empty if the arguments cover it)."""
    sequence = header.get("RadiopharmaceuticalInformationSequence")
    if sequence:
        return sequence[0]
    if {"injected_dose_bq", "half_life_s", "injection_time"} <= set(arguments):
        import pydicom

        return pydicom.Dataset()
    raise MissingDicomTagError(
        "RadiopharmaceuticalInformationSequence", path, patient_id,
        hint="; pass injected_dose_bq=, half_life_s= and injection_time= instead")


def _required(dataset, keyword: str, path: str, patient_id, hint: str = "") -> str:
    """The text of a tag that must be present and non-empty."""
    value = dataset.get(keyword)
    if value is None or str(value).strip() == "":
        raise MissingDicomTagError(keyword, path, patient_id, hint=hint)
    return str(value).strip()


def _scan_start(headers, files, patient_id) -> datetime | time:
    """Scan start: Series Date/Time, or the earliest acquisition if the series time is later."""
    first, path = headers[0], str(files[0])
    series_time = _parse_dicom_time(_required(first, "SeriesTime", path, patient_id))
    series_date = _parse_dicom_date(str(first.get("SeriesDate", "")).strip())
    series = datetime.combine(series_date, series_time) if series_date else series_time
    acquisitions = []
    for header in headers:
        if header.get("AcquisitionDateTime"):
            acquisitions.append(_parse_dicom_datetime(str(header.AcquisitionDateTime)))
        elif header.get("AcquisitionTime"):
            acquisition_time = _parse_dicom_time(str(header.AcquisitionTime))
            acquisition_date = _parse_dicom_date(str(header.get("AcquisitionDate", "")).strip())
            acquisitions.append(datetime.combine(acquisition_date, acquisition_time)
                                if acquisition_date else acquisition_time)
    comparable = [a for a in acquisitions if type(a) is type(series)]
    if comparable and min(comparable) < series:
        logger.info("patient %s: Series Time is after the first acquisition (a re-processed "
                    "series); the scan start is the earliest Acquisition Time", patient_id)
        return min(comparable)
    return series


def _uptake_delay_s(injection: datetime | time, scan: datetime | time, patient_id) -> float:
    """Seconds from injection to scan start.

    With two full date-times whose difference is negative or a day or more
    (dates shifted by de-identification), or with a time of day on either
    side, the times of day are compared, the injection preceding the scan by
    less than 24 h.
    """
    if isinstance(injection, datetime) and isinstance(scan, datetime):
        delay = (scan - injection).total_seconds()
        if 0.0 <= delay < _DAY_S:
            return _checked_delay(delay, patient_id)
        logger.warning(
            "patient %s: injection %s and scan start %s are %.1f h apart; the dates disagree "
            "(de-identification?), so the uptake time is taken from the times of day",
            patient_id, injection.isoformat(), scan.isoformat(), delay / 3600.0)
    delay = (_seconds_of_day(scan) - _seconds_of_day(injection)) % _DAY_S
    return _checked_delay(delay, patient_id)


def _checked_delay(delay: float, patient_id) -> float:
    if delay > _LONG_UPTAKE_S:
        logger.warning("patient %s: uptake time of %.1f h between injection and scan; check the "
                       "injection and series times", patient_id, delay / 3600.0)
    return delay


def _seconds_of_day(moment: datetime | time) -> float:
    return moment.hour * 3600.0 + moment.minute * 60.0 + moment.second + moment.microsecond / 1e6


def _body_weight(weight_kg, dose_bq, half_life_s, delay_s, units, source, patient_id, path) -> SuvParameters:
    """Body-weight SUV scale factor, after checking that its inputs are positive numbers."""
    values = {"weight_kg": weight_kg, "injected_dose_bq": dose_bq, "half_life_s": half_life_s}
    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number > 0.0:
            raise InputError(f"{_case(patient_id)}: {name} must be a "
                             f"positive number, got {value!r}", path=path)
        values[name] = number
    if values["weight_kg"] > _MAX_WEIGHT_KG:
        raise InputError(f"{_case(patient_id)}: weight_kg = "
                         f"{weight_kg!r} is not plausible in kg (grams given?)", path=path)
    decay_factor = 2.0 ** (-delay_s / values["half_life_s"])
    scale = values["weight_kg"] * 1000.0 / (values["injected_dose_bq"] * decay_factor)
    return SuvParameters(scale_factor=scale, source=source, units=units, weight_kg=values["weight_kg"],
                         injected_dose_bq=values["injected_dose_bq"], half_life_s=values["half_life_s"],
                         uptake_delay_s=float(delay_s), decay_factor=decay_factor, patient_id=patient_id)


def _is_missing(value) -> bool:
    """``None``, NaN or NA (an empty manifest cell), or blank text."""
    if isinstance(value, str):
        return value.strip() == ""
    return bool(pd.isna(value))


def _parse_when(value, name: str, path) -> datetime | time:
    """A date-time or a time of day from a ``datetime``/``time`` or ISO / DICOM DT / DICOM TM text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    text = str(value).strip()
    try:
        if "-" in text[:10] or "T" in text:
            return datetime.fromisoformat(text).replace(tzinfo=None)
        if ":" in text:
            return time.fromisoformat(text).replace(tzinfo=None)
        if len(text.split(".")[0]) > 6:
            return _parse_dicom_datetime(text)
        return _parse_dicom_time(text)
    except ValueError as exc:
        raise InputError(f"{name}: cannot read {value!r} as a date-time or time of day (use ISO "
                         "2024-01-02T09:10:00, DICOM 20240102091000 or 091000)", path=path) from exc


def _parse_dicom_time(text: str) -> time:
    """DICOM TM (``HHMMSS.FFFFFF``, shorter forms, or the old ``HH:MM:SS``)."""
    text = text.strip().replace(":", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6):
        raise ValueError(f"not a DICOM time: {text!r}")
    hour, minute, second = int(whole[0:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    microsecond = int((fraction + "000000")[:6]) if fraction else 0
    return time(hour, minute, min(second, 59), microsecond)


def _parse_dicom_date(text: str) -> date | None:
    """DICOM DA (``YYYYMMDD``, or the old ``YYYY.MM.DD``); ``None`` when empty."""
    text = text.replace(".", "").replace("-", "")
    if not text:
        return None
    return datetime.strptime(text, "%Y%m%d").date()


def _parse_dicom_datetime(text: str) -> datetime:
    """DICOM DT (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``); the UTC offset is dropped."""
    text = text.strip()
    for sign in ("+", "-"):
        if sign in text[8:]:
            text = text[:8] + text[8:].split(sign)[0]
    day = _parse_dicom_date(text[:8])
    clock = _parse_dicom_time(text[8:]) if len(text) > 8 else time(0, 0)
    return datetime.combine(day, clock)
