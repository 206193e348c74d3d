"""Re-segmentation of the intensity mask (IBSI-1, "re-segmentation").

The morphological mask is left as it is; the intensity mask keeps the ROI voxels
whose intensity lies inside a range and, optionally, within mean +/- k standard
deviations of the ROI intensities (outlier filtering).

When both are set, the manual ("Re-segmentation", IF9H) uses "the intersection of
the intensity ranges defined by the re-segmentation methods": the outlier range
is computed from the mean and standard deviation "of grey levels of voxels
assigned to the ROI" (7ACA), i.e. from the whole morphological ROI, not from the
voxels the range left, and the two ranges are then intersected.

A range may also be given as pyradiomics gives it (``range_mode``): relative
to the ROI maximum, or in standard deviations from the ROI mean
(:func:`range_thresholds`).
"""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.settings import ResegmentationSettings


def resegment(intensity: np.ndarray, mask: np.ndarray, settings: ResegmentationSettings) -> np.ndarray:
    """Intensity mask: ``mask`` restricted by the re-segmentation settings.

    Parameters
    ----------
    intensity : ndarray
        Voxel intensities (any real dtype; compared, and ``range_mode``'s
        statistics taken, in it).
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
    mask = np.asarray(mask, dtype=bool)
    if keeps_every_voxel(settings):
        return mask.copy()
    values = intensity[mask]
    keep = np.ones(values.shape, dtype=bool)
    low, high = range_thresholds(values, settings)
    if low is not None:
        keep &= values >= low
    if high is not None:
        keep &= values <= high
    if settings.outlier_sigma is not None and values.size:
        mean, sd = values.mean(), values.std()
        keep &= (values >= mean - settings.outlier_sigma * sd) & (values <= mean + settings.outlier_sigma * sd)
    kept = np.zeros(mask.shape, dtype=bool)
    kept[mask] = keep
    return kept


def keeps_every_voxel(settings: ResegmentationSettings) -> bool:
    """Whether :func:`resegment` keeps the whole mask whatever the intensities (no range bound, no outlier filter)."""
    return all(bound is None for bound in settings.range) and settings.outlier_sigma is None


def range_thresholds(values: np.ndarray, settings: ResegmentationSettings) -> tuple:
    """The ``range`` bounds in intensity units for the ROI intensities ``values`` (None: an open side).

    ``absolute``: the bounds themselves; ``relative``: ``bound * max(values)``;
    ``sigma``: ``mean + bound * sd`` (population standard deviation), the
    statistics taken in the values' own dtype.
    """
    bounds = settings.range
    if settings.range_mode == "absolute" or all(bound is None for bound in bounds) or not values.size:
        return bounds
    if settings.range_mode == "relative":
        top = values.max()
        return tuple(None if bound is None else top * bound for bound in bounds)
    mean, sd = np.mean(values), np.std(values)
    return tuple(None if bound is None else mean + sd * bound for bound in bounds)


def resegmentation_range(settings: ResegmentationSettings) -> tuple[float, float]:
    """The range bounds as floats, ``-inf``/``inf`` where a bound is not set (or the range is not absolute)."""
    if settings.range_mode != "absolute":
        return (-np.inf, np.inf)
    low, high = settings.range
    return (-np.inf if low is None else float(low), np.inf if high is None else float(high))
