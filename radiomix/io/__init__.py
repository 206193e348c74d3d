"""Image and mask input: files, DICOM series, RTSTRUCT and SEG, and their checks.

* :func:`read_image`: NIfTI, NRRD, MetaImage, a DICOM file or a DICOM series folder,
  or a ``SimpleITK.Image`` passed through.
* :func:`read_mask`: one region as a binary ``UInt8`` mask on the image's grid, from a
  label file, a DICOM RTSTRUCT (``roi`` = ROI name) or a DICOM SEG (``label`` = segment
  number).
* :func:`read_label_map`: all regions as one integer image.
* :func:`mask_kind`: whether a mask source is a label file, an RTSTRUCT or a SEG.
* :func:`validate_roi`: the ROI is non-empty, large enough and finite.
* :func:`check_same_grid`: image and mask grids agree within tolerances.

Errors are the typed :mod:`radiomix.errors` classes, each naming the file concerned.

The entries are imported on first use, so that importing one reader (for example
:mod:`radiomix.io.nrrd`) does not load pydicom and pandas.
"""

from radiomix.lazy_entries import entry_importer

_MODULE_OF = {
    "read_image": "radiomix.io.images",
    "mask_kind": "radiomix.io.masks",
    "read_label_map": "radiomix.io.masks",
    "read_mask": "radiomix.io.masks",
    "check_same_grid": "radiomix.io.validation",
    "validate_roi": "radiomix.io.validation",
}

__all__ = sorted(_MODULE_OF)

__getattr__ = entry_importer("radiomix.io", _MODULE_OF)
