"""Re-segmentation of the intensity mask (IBSI-1, "re-segmentation").

The morphological mask is left as it is; the intensity mask keeps the ROI voxels
whose intensity lies inside a range and, optionally, within mean +/- k standard
deviations of the ROI intensities (outlier filtering).

When both are set, the manual ("Re-segmentation", IF9H) uses "the intersection of
the intensity ranges defined by the re-segmentation methods": the outlier range
is computed from the mean and standard deviation "of grey levels of voxels
assigned to the ROI" (7ACA), i.e. from the whole morphological ROI, not from the
voxels the range left, and the two ranges are then intersected.
"""

from __future__ import annotations

import numpy as np

from radiomix.spec import ResegmentationSettings


def resegment(intensity: np.ndarray, mask: np.ndarray, settings: ResegmentationSettings) -> np.ndarray:
    """Intensity mask: ``mask`` restricted by the re-segmentation settings.

    Parameters
    ----------
    intensity : ndarray of float
        Voxel intensities.
    mask : ndarray of bool
        The morphological ROI, same shape.
    settings : ResegmentationSettings
        ``range`` bounds are inclusive; ``outlier_sigma`` uses the mean and the
        population standard deviation of the intensities in ``mask``.

    Returns
    -------
    ndarray of bool
        The intensity mask (a subset of ``mask``); may be empty.
    """
    kept = mask.copy()
    low, high = settings.range
    if low is not None:
        kept &= intensity >= low
    if high is not None:
        kept &= intensity <= high
    if settings.outlier_sigma is not None and mask.any():
        values = intensity[mask]
        mean, sd = values.mean(), values.std()
        kept &= (intensity >= mean - settings.outlier_sigma * sd) & (intensity <= mean + settings.outlier_sigma * sd)
    return kept


def resegmentation_range(settings: ResegmentationSettings) -> tuple[float, float]:
    """The range bounds as floats, ``-inf``/``inf`` where a bound is not set."""
    low, high = settings.range
    return (-np.inf if low is None else float(low), np.inf if high is None else float(high))
