"""Reading images: NIfTI, NRRD, MetaImage (MHA/MHD), single DICOM files and DICOM series.

Every reader returns a 3D scalar ``SimpleITK.Image`` with its geometry (origin,
spacing, direction) as stored. A 2D file becomes a volume of one slice (spacing 1 mm
along the new axis), so that arrays are always ``(z, y, x)``.

NaN and infinite voxels in NIfTI files: ITK's NIfTI reader (SimpleITK 2.5, ITK 5)
silently replaces every non-finite float voxel with 0 (fixed in ITK 6, pull request
InsightSoftwareConsortium/ITK#6683). Zeros would hide broken voxels from the ROI checks,
so for single-file float NIfTI images (``.nii``, ``.nii.gz``) radiomix reads the voxel
block itself and puts the NaN and infinite values back where they were. Unscaled ones
(``scl_slope`` 0 or 1, ``scl_inter`` 0) of any scalar type, the usual case, are inflated
once (:mod:`radiomix.io.nifti`): ITK reads only their header (geometry and metadata) and
the voxels come from radiomix's own read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import UnreadableFileError
from radiomix.io.completeness import check_voxel_data
from radiomix.io.dicom import (
    DEFAULT_SLICE_TOLERANCE_MM,
    RTSTRUCT_SOP_CLASS_UID,
    SEG_SOP_CLASS_UID,
    has_dicom_preamble,
    read_dicom_series,
    read_instance_header,
    simpleitk_error_reason,
    strip_identifying_metadata,
)
from radiomix.io.nifti import (
    complete_nifti_content,
    is_single_file_nifti,
    nifti_voxels_of_file,
    read_unscaled_nifti,
    unscaled_nifti_image,
)
from radiomix.io.nrrd import read_as_simpleitk

ImageSource = str | os.PathLike | sitk.Image


def as_volume(image: sitk.Image, source: str | os.PathLike | None = None) -> sitk.Image:
    """Check that an image is scalar and make it 3D.

    Parameters
    ----------
    image : SimpleITK.Image
        A 2D or 3D scalar image.
    source : str or PathLike, optional
        Its file, named in error messages.

    Returns
    -------
    SimpleITK.Image
        The image itself if 3D; a one-slice volume if 2D.

    Raises
    ------
    UnreadableFileError
        The image has vector pixels, or is neither 2D nor 3D.
    """
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise UnreadableFileError(
            f"holds {image.GetNumberOfComponentsPerPixel()}-component (vector or colour) pixels; "
            "radiomix needs a scalar image (one intensity per voxel)", source)
    dimension = image.GetDimension()
    if dimension == 2:
        return sitk.JoinSeries(image)
    if dimension != 3:
        raise UnreadableFileError(
            f"holds a {dimension}D image of size {image.GetSize()}; radiomix needs a 2D or 3D image "
            "(split time series or multi-channel volumes into one file per volume)", source)
    return image


def _restore_nifti_non_finite(image: sitk.Image, path: Path, content: bytes | None) -> sitk.Image:
    """Put back the NaN/inf voxels that ITK's NIfTI reader replaced with 0 (``content``: the file's
    inflated bytes, when already read)."""
    if image.GetPixelID() not in (sitk.sitkFloat32, sitk.sitkFloat64):
        return image
    found = nifti_voxels_of_file(path, content)
    if found is None or found[0].size != image.GetNumberOfPixels():
        return image
    raw = found[0]
    non_finite = ~np.isfinite(raw)
    if not non_finite.any():
        return image
    values = sitk.GetArrayFromImage(image)
    flat = values.reshape(-1)
    flat[non_finite] = raw[non_finite]
    restored = sitk.GetImageFromArray(values)
    restored.CopyInformation(image)
    for key in image.GetMetaDataKeys():
        restored.SetMetaData(key, image.GetMetaData(key))
    return restored


def read_image_file(path: str | os.PathLike, *, metadata: bool = True) -> sitk.Image:
    """Read one image file with SimpleITK, keeping no patient identity from DICOM headers.

    Parameters
    ----------
    path : str or PathLike
        NIfTI, NRRD, MetaImage or any other format SimpleITK reads, or one DICOM image file.
    metadata : bool
        Keep the file's header metadata; False gives an image without any (a label map's
        metadata is read by nobody, and a NIfTI file's is then not copied at all).

    Returns
    -------
    SimpleITK.Image
        As stored (not yet made 3D).

    Raises
    ------
    UnreadableFileError
        Missing file, a DICOM RTSTRUCT or SEG (not an image), a voxel block shorter than its
        header announces or a damaged compressed block (:mod:`radiomix.io.completeness`), or
        a file SimpleITK cannot read.
    """
    image = _image_of_file(Path(path), metadata)
    if not metadata:
        for key in image.GetMetaDataKeys():
            image.EraseMetaData(key)
    return image


def _image_of_file(path: Path, metadata: bool) -> sitk.Image:
    """:func:`read_image_file`'s image; an unscaled NIfTI file's metadata is copied only with ``metadata``
    (other readers' images keep theirs)."""
    if not path.is_file():
        raise UnreadableFileError("no such file", path)
    content = complete_nifti_content(path)  # the usual NIfTI file, read and checked once
    if content is not None:
        is_dicom, nifti = False, True
        image = unscaled_nifti_image(path, content, keep_non_finite=True, metadata=metadata)
        if image is not None:
            return image
    else:
        is_dicom = has_dicom_preamble(path)
        if is_dicom:
            header = read_instance_header(path)
            kinds = {RTSTRUCT_SOP_CLASS_UID: "RTSTRUCT", SEG_SOP_CLASS_UID: "SEG"}
            if header.sop_class_uid in kinds:
                raise UnreadableFileError(
                    f"is a DICOM {kinds[header.sop_class_uid]}, not an image: pass it as the mask", path)
        check_voxel_data(path)
        nifti = not is_dicom and is_single_file_nifti(path)
        if nifti:
            image = read_unscaled_nifti(path, keep_non_finite=True)
            if image is not None:
                return image
    try:
        image = sitk.ReadImage(str(path)) if nifti else read_as_simpleitk(path)
    except RuntimeError as error:
        raise UnreadableFileError(
            f"cannot be read as an image: {simpleitk_error_reason(error)}", path) from error
    if is_dicom:
        return strip_identifying_metadata(image)
    if nifti:
        return _restore_nifti_non_finite(image, path, content)
    return image


def read_image(
    path: ImageSource, *, series_uid: str | None = None,
    slice_tolerance_mm: float = DEFAULT_SLICE_TOLERANCE_MM, metadata: bool = True,
) -> sitk.Image:
    """Read an image file, a DICOM series folder, or pass a SimpleITK image through.

    Parameters
    ----------
    path : str, PathLike or SimpleITK.Image
        A NIfTI (``.nii``, ``.nii.gz``), NRRD, MetaImage (``.mha``, ``.mhd``) or single
        DICOM file; a folder holding one DICOM image series (see
        :mod:`radiomix.io.dicom` for the checks); or a ``SimpleITK.Image``, returned as is.
    series_uid : str, optional
        For a DICOM folder holding several series: the ``SeriesInstanceUID`` to read.
    slice_tolerance_mm : float
        For a DICOM folder: largest accepted deviation (mm) of a gap between consecutive
        slices (along the slice normal) from the series' median gap.
    metadata : bool
        Keep an image file's header metadata; False gives the image without any, for readers
        of its voxels and geometry only (a NIfTI file's 57 or so entries cost 0.1 ms to copy).
        A DICOM folder's series keeps its metadata (without patient identity) either way.

    Returns
    -------
    SimpleITK.Image
        A 3D scalar image in modality units (DICOM rescale slope and intercept applied),
        with its stored geometry and no DICOM patient name or ID in its metadata.

    Raises
    ------
    UnreadableFileError
        Missing, unreadable or not an image; names the file.
    DicomSeriesError
        A DICOM folder with several series, missing slices or uneven slice spacing.
    """
    if isinstance(path, sitk.Image):
        return path
    path = Path(path)
    if path.is_dir():
        return as_volume(
            read_dicom_series(path, series_uid=series_uid, slice_tolerance_mm=slice_tolerance_mm), path)
    if not path.exists():
        raise UnreadableFileError("no such file or folder", path)
    return as_volume(read_image_file(path, metadata=metadata), path)
