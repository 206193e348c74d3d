"""Intensity discretisation (IBSI-1, "intensity discretisation").

Fixed bin number (FBN), for ``Ng`` bins between the ROI minimum and maximum::

    X_d = floor(Ng * (X - X_min) / (X_max - X_min)) + 1,   X_d = Ng where X = X_max

Fixed bin size (FBS), bin width ``w`` and lower bound ``X_b`` (the lower edge of bin 1)::

    X_d = floor((X - X_b) / w) + 1

``none`` takes the intensities as grey levels; they must be integers >= 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomix.errors import SpecError
from radiomix.spec import DiscretisationSettings


@dataclass(frozen=True)
class Discretised:
    """Result of a discretisation.

    Attributes
    ----------
    levels : ndarray of int32
        Grey levels 1..n_levels inside the mask, 0 outside.
    n_levels : int
        ``Ng``: the number of bins (FBN), or the highest level in the ROI (FBS, none).
    bin_width : float or None
        Bin width in intensity units (FBS; 1 for none), None for FBN.
    lower_bound : float
        Lower edge of bin 1 (FBS), ROI minimum (FBN, none).
    """

    levels: np.ndarray
    n_levels: int
    bin_width: float | None
    lower_bound: float


def discretise(intensity: np.ndarray, mask: np.ndarray, settings: DiscretisationSettings,
               range_low: float = -np.inf) -> Discretised:
    """Discretise the intensities inside ``mask``.

    Parameters
    ----------
    intensity : ndarray of float
        Voxel intensities.
    mask : ndarray of bool
        Voxels to discretise (the intensity mask); must not be empty.
    settings : DiscretisationSettings
        Method and its parameters.
    range_low : float
        Lower bound of the re-segmentation range (``-inf`` when not set): the
        default lower bound of fixed bin size when ``settings.lower_bound`` is unset.

    Returns
    -------
    Discretised
    """
    values = intensity[mask]
    levels = np.zeros(intensity.shape, dtype=np.int32)
    low, high = float(values.min()), float(values.max())
    if settings.method == "fixed_bin_number":
        n_bins = int(settings.n_bins)
        if high > low:
            binned = np.floor(n_bins * (values - low) / (high - low)).astype(np.int64) + 1
            binned = np.minimum(binned, n_bins)
        else:
            binned = np.ones(values.shape, dtype=np.int64)
        levels[mask] = binned
        return Discretised(levels, n_bins, None, low)
    if settings.method == "fixed_bin_size":
        width = float(settings.bin_width)
        if settings.lower_bound is not None:
            lower = float(settings.lower_bound)
        elif np.isfinite(range_low):
            lower = float(range_low)
        else:
            lower = low
        if low < lower:
            raise SpecError(f"discretisation.lower_bound {lower} is above the ROI minimum {low}: "
                            "lower it, or re-segment the ROI from that bound")
        binned = np.floor((values - lower) / width).astype(np.int64) + 1
        levels[mask] = binned
        return Discretised(levels, int(binned.max()), width, lower)
    rounded = np.rint(values)
    if not np.allclose(values, rounded) or rounded.min() < 1:
        raise SpecError("discretisation.method is none, but the ROI intensities are not integers >= 1 "
                        f"(range {low:g} to {high:g}): choose fixed_bin_size or fixed_bin_number")
    levels[mask] = rounded.astype(np.int32)
    return Discretised(levels, int(rounded.max()), 1.0, low)
