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
"""

from radiomix.io.images import read_image
from radiomix.io.masks import mask_kind, read_label_map, read_mask
from radiomix.io.validation import check_same_grid, validate_roi

__all__ = ["check_same_grid", "mask_kind", "read_image", "read_label_map", "read_mask", "validate_roi"]
