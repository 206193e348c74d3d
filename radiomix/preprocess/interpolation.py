"""Interpolation to a new voxel size by the IBSI-1 grid rules.

Along each axis with ``n`` voxels of size ``s`` resampled to size ``s'``:

- the new grid has ``n' = ceil(n * s / s')`` voxels;
- it is centred on the original grid, so new voxel ``i`` sits at original
  (fractional) index ``(n - 1) / 2 + (i - (n' - 1) / 2) * s' / s``;
- beyond the original grid, intensities take the nearest boundary value.

Images and masks are interpolated as float64. The mask is interpolated (nearest
or linear) and then thresholded: a voxel is in the new ROI when its value is at
least the partial-volume threshold. In-plane interpolation leaves axis z alone.

Voxel sizes are rounded to :data:`SPACING_DECIMALS` decimals (mm) before the grid
is computed. Spacings derived from DICOM slice positions carry floating-point
noise (3 mm read as 2.9999999999998 mm); on grids where new voxel centres fall
exactly half-way between old ones (3 mm to 2 mm: every third slice), that noise
would push an interpolated mask value of exactly 0.5 below the threshold and
make the same scan give different ROIs from DICOM and from NIfTI.

Interpolated mask fractions are rounded to :data:`MASK_FRACTION_DECIMALS` decimals
before the threshold is applied. The IBSI rule (manual, "Partial volume effects in
the ROI mask", E8H9) keeps a voxel when its interpolated fraction is at least the
threshold, and warns that interpolation results depend on the floating-point
representation. On grids such as 3 mm to 2 mm, whole planes of new voxels lie exactly
half-way between two old ones, so their exact fraction is 0.5; the spline's
coordinate arithmetic (``i * 2/3 + offset``) returns some of them about 1e-16
below 0.5, which would drop them from the ROI by floating-point noise alone (32
voxels of the IBSI CT phantom at 2 mm). Rounding restores the exact value; a
fraction within 1e-9 of the threshold counts as the threshold.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from radiomix.spec import InterpolationSettings

SPLINE_ORDER = {"nearest": 0, "linear": 1, "cubic": 3}
SPACING_DECIMALS = 6
"""Voxel sizes are used to 1e-6 mm (far below any scanner's precision)."""
MASK_FRACTION_DECIMALS = 9
"""Interpolated mask fractions are compared with the threshold to 1e-9 (far above float64 noise)."""


def new_grid(shape: tuple[int, ...], spacing: tuple[float, ...], new_spacing: tuple[float, ...]):
    """Shape of the centred grid and, per axis, the map ``new index -> old index = scale * i + offset``.

    Parameters
    ----------
    shape, spacing, new_spacing : tuple
        Per axis, in the same order (mm for the spacings).

    Returns
    -------
    shape : tuple of int
    scale, offset : ndarray of float
    """
    spacing = tuple(round(float(s), SPACING_DECIMALS) for s in spacing)
    new_spacing = tuple(round(float(s), SPACING_DECIMALS) for s in new_spacing)
    size = tuple(int(math.ceil(n * s / t - 1e-9)) for n, s, t in zip(shape, spacing, new_spacing))
    scale = np.array([t / s for s, t in zip(spacing, new_spacing)])
    offset = np.array([(n - 1) / 2 - (m - 1) / 2 * k for n, m, k in zip(shape, size, scale)])
    return size, scale, offset


def resample(array: np.ndarray, spacing: tuple[float, ...], new_spacing: tuple[float, ...], order: int) -> np.ndarray:
    """Resample ``array`` onto the centred grid of ``new_spacing`` with a spline of ``order`` (0, 1 or 3)."""
    size, scale, offset = new_grid(array.shape, spacing, new_spacing)
    return ndimage.affine_transform(np.asarray(array, dtype=np.float64), scale, offset=offset,
                                    output_shape=size, order=order, mode="nearest", prefilter=order > 1)


def target_spacing(spacing_zyx: tuple[float, float, float],
                   settings: InterpolationSettings) -> tuple[float, float, float]:
    """The new ``(z, y, x)`` spacing: ``spacing_mm`` is ``[x, y, z]`` or in-plane ``[x, y]``."""
    requested = settings.spacing_mm
    if len(requested) == 2:
        return (spacing_zyx[0], float(requested[1]), float(requested[0]))
    return (float(requested[2]), float(requested[1]), float(requested[0]))


def interpolate(intensity: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float],
                settings: InterpolationSettings) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Interpolate an image and its ROI mask to ``settings.spacing_mm``.

    Parameters
    ----------
    intensity : ndarray
        Intensities ``(z, y, x)``.
    roi : ndarray of bool
        Morphological mask, same shape.
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    settings : InterpolationSettings
        With ``spacing_mm`` set.

    Returns
    -------
    intensity : ndarray of float64
    roi : ndarray of bool
    spacing : tuple of float
        The new ``(z, y, x)`` voxel size in mm.
    """
    new_spacing = target_spacing(spacing, settings)
    image = resample(intensity, spacing, new_spacing, SPLINE_ORDER[settings.image_method])
    if settings.round_intensities:
        image = np.rint(image)
    mask = resample(roi.astype(np.float64), spacing, new_spacing, SPLINE_ORDER[settings.mask_method])
    return image, np.round(mask, MASK_FRACTION_DECIMALS) >= settings.mask_threshold, new_spacing
