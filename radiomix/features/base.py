"""What every feature family receives and returns.

A family module exposes ``compute(roi, settings, dimensions) -> list[FeatureValue]``
(``settings`` is its own frozen settings object from :mod:`radiomix.spec`,
``dimensions`` the texture aggregation dimensions asked for by the spec; families
without texture aggregation ignore it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomix.errors import EmptyRoiError

_DIRECTIONAL = {"2D": ("2D, averaged", "2D, slice-merged"), "2.5D": ("2.5D, direction-merged", "2.5D, merged"),
                "3D": ("3D, averaged", "3D, merged")}
AGGREGATIONS_BY_DIMENSION = {
    **dict.fromkeys(("glcm", "glrlm"), _DIRECTIONAL),
    **dict.fromkeys(("glszm", "gldzm", "ngtdm", "ngldm"), {dimension: (dimension,) for dimension in _DIRECTIONAL}),
}
"""IBSI aggregation labels produced for each texture family and dimension.

2D: features per slice (z axis, array axis 0) then averaged over slices
(``averaged``: and over directions; ``slice-merged``: directions merged within
each slice). 2.5D: matrices of all slices merged (``direction-merged``: per
direction, features averaged over directions; ``merged``: all directions
merged). 3D: the volume (``averaged``: features per direction averaged;
``merged``: matrices of all directions merged).
"""


@dataclass(frozen=True)
class RoiImage:
    """An image and its ROI after image processing, ready for feature families.

    Arrays are indexed ``(z, y, x)`` (SimpleITK's ``GetArrayFromImage`` order);
    2D processing works slice by slice along axis 0. All arrays have the same
    shape; they may be cropped to the ROI's bounding box plus a margin, so
    families must not assume anything about the position of the ROI. The
    margin holds at least the local-intensity peak radius on every side.

    Attributes
    ----------
    intensity : ndarray of float64
        Voxel intensities of the (processed) image, also outside the ROI
        (local intensity features use voxels outside it).
    morphological_mask : ndarray of bool
        The ROI before re-segmentation (morphology uses it).
    intensity_mask : ndarray of bool
        The re-segmented ROI (intensity and texture features use it); a subset
        of ``morphological_mask``.
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    discretised : ndarray of int32
        Grey levels ``1..n_levels`` inside ``intensity_mask``, 0 outside.
    n_levels : int
        Number of grey levels of the discretisation (``Ng``); levels may be
        absent from the ROI.
    bin_width : float or None
        Width of the discretisation bins in intensity units (fixed bin size),
        None for fixed bin number or no discretisation.
    lower_bound : float
        Intensity of the lower edge of bin 1 (fixed bin size), or the minimum
        used by fixed bin number.
    resegmentation_range : tuple of float
        ``(low, high)`` bounds of the re-segmentation range; ``-inf``/``inf``
        where a bound is not set.
    """

    intensity: np.ndarray
    morphological_mask: np.ndarray
    intensity_mask: np.ndarray
    spacing: tuple[float, float, float]
    discretised: np.ndarray
    n_levels: int
    bin_width: float | None
    lower_bound: float
    resegmentation_range: tuple[float, float]

    def intensity_mask_values(self, features: str, array: str = "intensity") -> np.ndarray:
        """The values of ``array`` (``"intensity"`` or ``"discretised"``) in the intensity mask.

        Parameters
        ----------
        features : str
            What needs the values (e.g. ``"IVH features"``), named in the error.
        array : {"intensity", "discretised"}
            The attribute read.

        Raises
        ------
        EmptyRoiError
            The intensity mask holds no voxel.
        """
        values = getattr(self, array)[self.intensity_mask]
        if values.size == 0:
            raise EmptyRoiError(f"the intensity mask holds no voxel: {features} need at least one; "
                                "check the mask label and the re-segmentation range")
        return values


@dataclass(frozen=True)
class FeatureValue:
    """One computed value.

    Attributes
    ----------
    key : str
        The registry key of the feature within its family.
    aggregation : str
        IBSI aggregation label (see :data:`AGGREGATIONS_BY_DIMENSION`), or ``""``.
    value : float
        The value; NaN only when the feature is undefined for this ROI, and
        then ``status`` says why.
    status : str
        ``""`` for a regular value, otherwise a short reason such as
        ``"undefined: single grey level"``.
    """

    key: str
    aggregation: str
    value: float
    status: str = ""
