"""``extract_features``: spec + image + mask -> tidy feature table (DESIGN.md section 3)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radiomix import io
from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.neighbourhood import shared_pyradiomics_counts
from radiomix.features.table import feature_table
from radiomix.features.texture import box_present_levels
from radiomix.io.images import read_image_file
from radiomix.io.nrrd import voxel_bytes as nrrd_voxel_bytes
from radiomix.io.rtstruct import roi_names
from radiomix.preprocess.filters.settings import filter_image_type_name
from radiomix.preprocess.intensity import normalise_whole_image
from radiomix.preprocess.mask_conventions import read_mask_with_conventions
from radiomix.preprocess.roi import (
    ProcessedImage,
    extent_slices,
    filter_responses,
    image_arrays_with_extent,
    process_image,
    roi_image,
)
from radiomix.pyradiomics.params import PyradiomicsSpec
from radiomix.pyradiomics.translation import processing_spec, translate
from radiomix.spec import Spec, load_spec
from radiomix.spec_cache import load_spec_cached
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
"""Spec family name -> module exposing ``compute(roi, settings, dimensions)`` (texture families also
``level_features(levels, n_levels, spacing, settings, dimensions)``, see :func:`_family_rows`)."""

ImageLike = str | Path | sitk.Image
LabelLike = int | Sequence[int] | str
FamilyValues = tuple[str, str, list[FeatureValue]]
"""``(image_type, family, values)``: one family's values on one (original or filtered) image."""


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
    settings = load_spec_cached(spec)
    compile_if_cold(settings, image)
    source_image = _describe(image)
    if not (isinstance(label, str) or isinstance(label, Sequence)):
        picture, mask_file = _read_image_and_mask(image, mask)
        return _extract_one(picture, mask, settings, int(label), roi, source_image, mask_file)
    if isinstance(settings, PyradiomicsSpec):
        return _extract_pyradiomics_labels(image, mask, settings, label, roi)
    picture = io.read_image(image)
    if roi is None and not isinstance(mask, sitk.Image) and io.mask_kind(mask) == "RTSTRUCT":
        names = roi_names(mask)
        numbers = sorted(names) if label == "all" else [int(v) for v in label]
        tables = [_extract_one(picture, mask, settings, 1, names[number], source_image).assign(roi=names[number])
                  for number in numbers]
        return _first_column(pd.concat(tables, ignore_index=True), "roi")
    tables = [_extract_one(picture, mask, settings, value, roi, source_image).assign(label=value)
              for value in _labels(mask, picture, roi, label, settings)]
    return _first_column(pd.concat(tables, ignore_index=True), "label")


def _extract_pyradiomics_labels(image: ImageLike, mask: ImageLike, settings: PyradiomicsSpec,
                                label: Sequence[int] | str, roi: str | None) -> pd.DataFrame:
    """A pyradiomics parameter file for each of several labels (of a label map, or of a DICOM mask's)."""
    source_image = _describe(image)
    dicom_mask = not isinstance(mask, sitk.Image) and io.mask_kind(mask) in ("RTSTRUCT", "SEG")
    picture = io.read_image(image)
    label_map = io.read_label_map(mask, reference=picture, roi=roi) if dicom_mask else mask
    values = _labels(mask, picture, roi, label, load_spec({})) if label == "all" else [int(v) for v in label]
    tables = [_extract_one(picture, label_map, settings, value, None, source_image).assign(label=value)
              for value in values]
    return _first_column(pd.concat(tables, ignore_index=True), "label")


def _read_image_and_mask(image: ImageLike, mask: ImageLike) -> tuple[sitk.Image, sitk.Image | None]:
    """:func:`radiomix.io.read_image` of ``image`` and the label file ``mask``, a large one on a second thread.

    Inflating compressed files releases the GIL, so the two reads overlap; a mask of fewer than
    :data:`PARALLEL_MASK_BYTES` voxel bytes is read after the image (a thread costs more than it
    saves there: 0.2 ms against a 0.2-1 ms read; pyradiomics defaults, whole call, idle: brain1's 1.6 MB
    gzip NRRD mask 18.6 ms on a thread against 23.5 ms after the image, the CT phantom's 2.5 MB 51.0 against
    51.7 ms, the real MR's 0.8 MB equal, the PET's 45 kB 2.9 against 2.7 ms). The label image is None for
    an in-memory mask, a DICOM RTSTRUCT or SEG (rasterised later onto the image). An unreadable image is
    reported before an unreadable mask. The image is read without its header metadata (extraction reads
    its voxels and geometry only).
    """
    if isinstance(mask, sitk.Image):
        return io.read_image(image, metadata=False), None
    if _stored_voxel_bytes(mask) < PARALLEL_MASK_BYTES:
        picture = io.read_image(image, metadata=False)
        return picture, _label_file(mask)
    with ThreadPoolExecutor(max_workers=1) as pool:
        mask_read = pool.submit(_label_file, mask)
        picture = io.read_image(image, metadata=False)
        return picture, mask_read.result()


PARALLEL_MASK_BYTES = 1 << 20
"""Bytes (inflated) from which a mask file is read on a second thread, beside the image."""


def _stored_voxel_bytes(path: str | Path) -> int:
    """The bytes a file holds once inflated: a gzip file's trailer size (ISIZE), an NRRD file's voxel bytes
    (its header: its voxel data may be gzip inside), another file's size; 0 for what is not a readable file
    (its read names the problem)."""
    try:
        with open(path, "rb") as stream:
            name = str(path).lower()
            if name.endswith(".gz"):
                stream.seek(-4, os.SEEK_END)
                return int.from_bytes(stream.read(4), "little")
            size = os.fstat(stream.fileno()).st_size
            return (nrrd_voxel_bytes(stream.read(NRRD_HEADER_BYTES)) or size) if name.endswith(".nrrd") else size
    except OSError:
        return 0


NRRD_HEADER_BYTES = 4096
"""Bytes read from the start of an NRRD mask to find the size of its voxel data."""


def _label_file(mask: str | Path) -> sitk.Image | None:
    """The label image of a mask file, without the file's metadata (None for a DICOM RTSTRUCT or SEG)."""
    return None if io.mask_kind(mask) in ("RTSTRUCT", "SEG") else read_image_file(mask, metadata=False)


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


def _extract_one(picture: sitk.Image, mask: ImageLike, settings: Spec | PyradiomicsSpec, label: int,
                 roi: str | None, source_image: str, mask_file: sitk.Image | None = None) -> pd.DataFrame:
    """The tidy table of one ROI label (``mask_file``: ``mask``'s label image, already read)."""
    source = f"image {source_image}, mask {_describe(mask)} (label {label})"
    if isinstance(settings, PyradiomicsSpec):
        return _extract_translated(picture, mask, settings, label, roi, source, mask_file)
    binary = _read_mask(picture, mask, settings, label, roi, mask_file)
    processed = _process(picture, binary, settings, source)
    return feature_table(_image_values(processed, settings, original=True))


def _extract_translated(picture: sitk.Image, mask: ImageLike, parameters: PyradiomicsSpec, label: int,
                        roi: str | None, source: str, mask_file: sitk.Image | None) -> pd.DataFrame:
    """A pyradiomics parameter file through the one chain, with pyradiomics' names and order.

    The parameter file is translated into ordinary specs sharing their processing sections
    (:func:`radiomix.pyradiomics.translation.translate`); the case is read, normalised
    (the intensity section: whole image, as pyradiomics) and processed once
    (:func:`~radiomix.pyradiomics.translation.processing_spec`, the specs' shared processing
    sections and every filter; the specs themselves are translated on the processed grid); each spec's
    filters and families run on that processed image (the shape classes' and ``Original``'s
    on the original image, the other image types' on their filtered images only); the rows
    are renamed through the naming table (:meth:`~radiomix.pyradiomics.translation.Translation.table`).
    """
    if picture.GetDimension() != 3:
        raise InputError(f"a pyradiomics parameter file needs 3D images (got {picture.GetDimension()}D); "
                         "store a 2D image as a volume of one slice and set force2D", source)
    processing = processing_spec(parameters, picture)
    binary = _read_mask(picture, mask, processing, label, roi, mask_file)
    intensity = processing.intensity
    if intensity.normalisation != "none":
        picture = normalise_whole_image(picture, intensity.normalisation_scale, intensity.normalisation_clip)
    processed = _process(picture, binary, processing, source)
    translation = translate(parameters, (processed.intensity.shape, processed.spacing))
    results = []
    for part in translation.parts:
        results += _image_values(processed, part.spec, original=part.reads_original)
    return translation.table(results)


def _read_mask(picture: sitk.Image, mask: ImageLike, settings: Spec, label: int, roi: str | None,
               mask_file: sitk.Image | None) -> sitk.Image:
    """The ROI of ``label`` on ``picture``'s grid under the spec's mask conventions."""
    if mask_file is None:
        return read_mask_with_conventions(mask, picture, roi, label, settings.mask)
    return read_mask_with_conventions(mask_file, picture, roi, label, settings.mask, source=mask)


def _process(picture: sitk.Image, binary: sitk.Image, settings: Spec, source: str) -> ProcessedImage:
    """The ROI checked (:func:`radiomix.io.validate_roi`), the case interpolated and re-segmented.

    The ROI array and its extent are found once (:func:`~radiomix.preprocess.roi.image_arrays_with_extent`);
    an unsigned mask's ROI (every voxel not 0) lies inside that box, so the checks read the box only:
    the same counts and errors as on the whole volume. Other masks, and empty ones, are checked whole.
    """
    intensity, region, spacing, extent = image_arrays_with_extent(picture, binary)
    checked_whole = (extent is None or intensity.shape != region.shape
                     or sitk.GetArrayViewFromImage(binary).dtype.kind not in "ub")
    box = None if checked_whole else extent_slices(extent)
    io.validate_roi(picture if checked_whole else intensity[box], binary if checked_whole else region[box],
                    source=source, min_voxels=settings.mask.min_roi_voxels)
    return process_image(intensity, region, spacing, settings, source=source, geometry=picture, extent=extent)


def _image_values(processed: ProcessedImage, settings: Spec, original: bool) -> list[FamilyValues]:
    """The spec's families on the original image (when ``original``) and on each filtered image."""
    if not settings.features.enabled():
        return []
    results = _family_values(roi_image(processed, settings), settings, "original") if original else []
    for filter_settings, response in filter_responses(processed, settings):
        results += _family_values(roi_image(processed, settings, response), settings,
                                  filter_image_type_name(filter_settings))
    return results


def _family_values(roi: RoiImage, settings: Spec, image_type: str) -> list[FamilyValues]:
    """The values of every enabled family for one (original or filtered) image.

    Texture families with pyradiomics' offsets count their matrices on the ROI box's levels ranked
    among the grey levels present: the image's levels are ranked once and handed to each one's
    ``level_features`` (what its ``compute`` does with the levels it ranks itself); the GLDM and
    NGTDM get one neighbourhood pass made for both when their offsets agree.
    """
    results = []
    present = shared = None
    enabled = settings.features.enabled()
    for family, family_settings in enabled.items():
        module = importlib.import_module(FAMILY_MODULES[family])
        if getattr(family_settings, "offsets", None) == "pyradiomics":
            if present is None:  # the GLDM and NGTDM of pyradiomics' offsets: one neighbourhood pass for both
                present = box_present_levels(roi.discretised, roi.n_levels)
                shared = shared_pyradiomics_counts(present, enabled.get("ngldm"), enabled.get("ngtdm"))
            values = module.level_features(present, roi.n_levels, roi.spacing, family_settings,
                                           settings.texture.dimensions,
                                           **({"counted": shared} if family in ("ngldm", "ngtdm") else {}))
        else:
            values = module.compute(roi, family_settings, settings.texture.dimensions)
        results.append((image_type, family, values))
    return results


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
