"""Typed errors raised by radiomix.

Every error that concerns an input names the file (and, in cohort runs, the
patient and modality) and says how to fix the problem, so that a failure record
is readable without a traceback.
"""

from __future__ import annotations


class RadiomixError(Exception):
    """Base class of every error radiomix raises on purpose."""


class SpecError(RadiomixError, ValueError):
    """A settings file or dict is invalid (unknown key, wrong type, bad value)."""


class InputError(RadiomixError, ValueError):
    """An input image or mask cannot be used.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str, optional
        The file or folder concerned; prefixed to the message.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = None if path is None else str(path)
        self.detail = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UnreadableFileError(InputError):
    """The file is missing, not an image, or cannot be decoded."""


class DicomSeriesError(InputError):
    """A DICOM folder holds several series, or its slices are missing or uneven."""


class GeometryMismatchError(InputError):
    """Image and mask grids differ beyond the tolerance (reported in mm)."""


class LabelAbsentError(InputError):
    """The requested label, segment or ROI name is not in the mask."""


class EmptyRoiError(InputError):
    """The region of interest holds no voxel."""


class RoiTooSmallError(InputError):
    """The region of interest holds fewer voxels than the configured minimum."""


class NonFiniteIntensityError(InputError):
    """The image holds NaN or infinite values inside the region of interest."""
