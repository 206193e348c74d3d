"""``extract_features``: spec + image + mask -> tidy feature table (DESIGN.md section 3)."""

from __future__ import annotations

import collections
import functools
import importlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix import io
from radiomix.errors import EmptyRoiError
from radiomix.features.base import RoiImage
from radiomix.features.table import COLUMNS, feature_rows
from radiomix.io.rtstruct import roi_names
from radiomix.preprocess.filters import response_map
from radiomix.preprocess.filters.settings import filter_image_type_name
from radiomix.preprocess.mask_conventions import read_mask_with_conventions
from radiomix.preprocess.roi import image_arrays, keeps_pixel_type, process_image, roi_image
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.params import PyradiomicsSpec
from radiomix.spec import Spec, load_spec
from radiomix.warmup import compile_if_cold

FAMILY_MODULES = {
    "morphology": "radiomix.features.morphology",
    "local_intensity": "radiomix.features.local_intensity",
    "statistics": "radiomix.features.statistics",
    "histogram": "radiomix.features.histogram",
    "ivh": "radiomix.features.ivh",
    "glcm": "radiomix.features.glcm",
    "glrlm": "radiomix.features.glrlm",
    "glszm": "radiomix.features.glszm",
    "gldzm": "radiomix.features.gldzm",
    "ngtdm": "radiomix.features.ngtdm",
    "ngldm": "radiomix.features.ngldm",
}
"""Spec family name -> module exposing ``compute(roi, settings, dimensions)``."""

ImageLike = str | Path | sitk.Image
LabelLike = int | Sequence[int] | str


def extract_features(image: ImageLike, mask: ImageLike, spec: str | Path | Mapping | Spec,
                     label: LabelLike = 1, roi: str | None = None) -> pd.DataFrame:
    """Extract the features of ``spec`` from the ROI of ``mask`` in ``image``.

    Parameters
    ----------
    image : path or SimpleITK.Image
        An image file (NIfTI, NRRD, MHA), a DICOM series folder, or an image.
    mask : path or SimpleITK.Image
        A label image on the image's grid, a DICOM RTSTRUCT (with ``roi``) or a
        DICOM SEG (``label`` = segment number).
    spec : path, dict or Spec
        Extraction settings (see :mod:`radiomix.spec` and ``feature_specs/``),
        or a pyradiomics parameter file: then pyradiomics' settings, names
        (``wavelet-LLH_glcm_Contrast``) and values; an explicit ``label``
        overrides the file's ``label`` setting, as pyradiomics' ``execute`` does.
    label : int, list of int, or "all"
        The ROI label; a list or ``"all"`` (every non-zero label of the mask)
        extracts each in one call and adds a ``label`` column. For an RTSTRUCT
        without ``roi``, the numbers are ROI numbers and the ROIs are
        extracted by name (column ``roi``).
    roi : str, optional
        ROI name in an RTSTRUCT.

    Returns
    -------
    pandas.DataFrame
        One row per feature value, columns ``feature, family, name, ibsi_code,
        aggregation, image_type, value, unit, status`` (``label`` first when
        several labels were asked for; ``roi``, the ROI name, for every ROI
        of an RTSTRUCT).

    Raises
    ------
    radiomix.errors.InputError
        Unreadable files, geometry mismatch, absent label, empty or too small
        ROI, non-finite intensities in the ROI; the message names the file.
    radiomix.errors.SpecError
        Invalid settings.
    """
    settings = _load_spec(spec)
    compile_if_cold(settings, image)
    if isinstance(settings, PyradiomicsSpec):
        return _extract_pyradiomics(image, mask, settings, label, roi)
    source_image = _describe(image)
    picture = io.read_image(image)
    if not (isinstance(label, str) or isinstance(label, Sequence)):
        return _extract_one(picture, mask, settings, int(label), roi, source_image)
    if roi is None and not isinstance(mask, sitk.Image) and io.mask_kind(mask) == "RTSTRUCT":
        names = roi_names(mask)
        numbers = sorted(names) if label == "all" else [int(v) for v in label]
        tables = [_extract_one(picture, mask, settings, 1, names[number], source_image).assign(roi=names[number])
                  for number in numbers]
        return _first_column(pd.concat(tables, ignore_index=True), "roi")
    tables = [_extract_one(picture, mask, settings, value, roi, source_image).assign(label=value)
              for value in _labels(mask, picture, roi, label, settings)]
    return _first_column(pd.concat(tables, ignore_index=True), "label")


def _load_spec(spec: str | Path | Mapping | Spec) -> Spec | PyradiomicsSpec:
    """:func:`load_spec`, parsing a spec file once per process while it is unchanged (same size and mtime),
    and a mapping once per content (:func:`_load_spec_mapping`)."""
    if isinstance(spec, Mapping):
        return _load_spec_mapping(spec)
    if not isinstance(spec, (str, Path)):
        return load_spec(spec)
    path = Path(spec)
    try:
        status = path.stat()
    except OSError:
        return load_spec(spec)  # names the file in its error
    return _load_spec_file(str(path.resolve()), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=32)
def _load_spec_file(path: str, mtime_ns: int, size: int) -> Spec | PyradiomicsSpec:
    """A spec file's settings (immutable), cached by path, modification time and size."""
    del mtime_ns, size  # part of the cache key only
    return load_spec(path)


_MAPPING_SPECS: collections.OrderedDict[str, Spec | PyradiomicsSpec] = collections.OrderedDict()
"""Settings of the latest spec mappings, by their text (:func:`_load_spec_mapping`)."""

_MAPPING_SPECS_KEPT = 32
"""Spec mappings whose settings are kept."""


def _load_spec_mapping(spec: Mapping) -> Spec | PyradiomicsSpec:
    """The settings (immutable) of a spec mapping, parsed once per content.

    A mapping of plain values (those JSON holds: mappings, lists, tuples, strings, numbers,
    booleans, None) is known by its ``repr``, which tells every such content apart (a tuple from
    a list, ``1`` from ``"1"``, keys in their order); other mappings are parsed every time.
    """
    try:
        json.dumps(spec)
    except (TypeError, ValueError):  # paths, arrays...: no exact text to know the content by
        return load_spec(spec)
    content = repr(spec)
    settings = _MAPPING_SPECS.get(content)
    if settings is None:
        settings = load_spec(spec)
        _MAPPING_SPECS[content] = settings
        if len(_MAPPING_SPECS) > _MAPPING_SPECS_KEPT:
            _MAPPING_SPECS.popitem(last=False)
    return settings


def _extract_pyradiomics(image: ImageLike, mask: ImageLike, settings: PyradiomicsSpec, label: LabelLike,
                         roi: str | None) -> pd.DataFrame:
    """A pyradiomics parameter file: pyradiomics' chain for each label (an RTSTRUCT/SEG ROI as label 1)."""
    dicom_mask = not isinstance(mask, sitk.Image) and io.mask_kind(mask) in ("RTSTRUCT", "SEG")
    if not (isinstance(label, str) or isinstance(label, Sequence)):
        if dicom_mask:
            binary = io.read_mask(mask, reference=io.read_image(image), roi=roi, label=int(label))
            return extract_pyradiomics(image, binary, settings, label=1)
        return extract_pyradiomics(image, mask, settings, label=int(label))
    picture = io.read_image(image)
    label_map = io.read_label_map(mask, reference=picture, roi=roi) if dicom_mask else mask
    values = _labels(mask, picture, roi, label, load_spec({})) if label == "all" else [int(v) for v in label]
    tables = [extract_pyradiomics(picture, label_map, settings, label=value).assign(label=value) for value in values]
    return _first_column(pd.concat(tables, ignore_index=True), "label")


def _first_column(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """``table`` with ``column`` moved to the front."""
    return table[[column] + [c for c in table.columns if c != column]]


def _labels(mask: ImageLike, picture: sitk.Image, roi: str | None, label: LabelLike, settings: Spec) -> list[int]:
    """The labels asked for: a list as given, or every non-zero label for ``"all"``."""
    if isinstance(label, str):
        if label != "all":
            raise ValueError(f"label must be an integer, a list of integers or 'all', got {label!r}")
        tolerance_mm, direction_tolerance = settings.mask.grid_tolerances(picture)
        label_map = io.read_label_map(mask, reference=picture, roi=roi, tolerance_mm=tolerance_mm,
                                      direction_tolerance=direction_tolerance)
        labels = sorted(int(v) for v in np.unique(sitk.GetArrayViewFromImage(label_map)) if v != 0)
        if not labels:
            raise EmptyRoiError("holds no non-zero label: label='all' finds no region to extract",
                                _describe(mask))
        return labels
    return [int(v) for v in label]


def _extract_one(picture: sitk.Image, mask: ImageLike, settings: Spec, label: int, roi: str | None,
                 source_image: str) -> pd.DataFrame:
    """The tidy table of one ROI label."""
    source = f"image {source_image}, mask {_describe(mask)} (label {label})"
    binary = read_mask_with_conventions(mask, picture, roi, label, settings.mask)
    io.validate_roi(picture, binary, source=source, min_voxels=settings.mask.min_roi_voxels)
    intensity, region, spacing = image_arrays(picture, binary)
    processed = process_image(intensity, region, spacing, settings, source=source, geometry=picture)
    rows = _family_rows(roi_image(processed, settings), settings, "original")
    for filter_settings in settings.filters:
        response = response_map(processed.intensity, processed.spacing, filter_settings, keeps_pixel_type(settings))
        rows += _family_rows(roi_image(processed, settings, response), settings,
                             filter_image_type_name(filter_settings))
    return pd.DataFrame(rows, columns=COLUMNS)


def _family_rows(roi: RoiImage, settings: Spec, image_type: str) -> list[dict]:
    """The tidy rows of every enabled family for one (original or filtered) image (one table is built at the end)."""
    rows = []
    for family, family_settings in settings.features.enabled().items():
        module = importlib.import_module(FAMILY_MODULES[family])
        values = module.compute(roi, family_settings, settings.texture.dimensions)
        rows += feature_rows(family, values, image_type)
    return rows


def _describe(source: ImageLike) -> str:
    """How an input is named in messages."""
    return "<in-memory image>" if isinstance(source, sitk.Image) else str(source)


def load_kernels() -> None:
    """Compile, or load from numba's on-disk cache, every feature kernel of this process.

    Worth calling once in a process that forks workers (the Luigi scheduler
    process forks one per task): the forks inherit the loaded kernels instead
    of each loading them again. Extracts every family, in 2D and 3D, from a
    small built-in volume; takes about a second with a filled cache.
    """
    import numpy as np

    levels = np.zeros((4, 6, 6))
    levels[1:3, 1:5, 1:5] = np.arange(32).reshape(2, 4, 4) % 5 + 1
    picture = sitk.GetImageFromArray(levels)
    mask = sitk.GetImageFromArray((levels > 0).astype(np.uint8))
    extract_features(picture, mask, {"discretisation": {"method": "none"}, "texture": {"dimensions": ["2D", "3D"]}})
