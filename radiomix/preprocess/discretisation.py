"""Intensity discretisation (IBSI-1, "intensity discretisation").

Fixed bin number (FBN), for ``Ng`` bins between the ROI minimum and maximum::

    X_d = floor(Ng * (X - X_min) / (X_max - X_min)) + 1,   X_d = Ng where X = X_max

Fixed bin size (FBS), bin width ``w`` and lower bound ``X_b`` (the lower edge of bin 1)::

    X_d = floor((X - X_b) / w) + 1

``none`` takes the intensities as grey levels; they must be integers >= 1.

With ``bin_edges: pyradiomics`` (:class:`~radiomix.preprocess.settings.DiscretisationSettings`)
the levels are pyradiomics': ``numpy.digitize`` of the ROI intensities, in
their own pixel type, against :func:`pyradiomics_bin_edges` (:func:`digitised`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError, SpecError
from radiomix.preprocess.settings import DiscretisationSettings


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
    low, high = float(values.min()), float(values.max())
    if settings.bin_edges == "pyradiomics" and settings.method != "none":
        edges = pyradiomics_bin_edges(values, settings)
        roi_levels, levels = digitised(values.astype(np.float64), mask, edges)
        if settings.method == "fixed_bin_size":
            return Discretised(levels, int(roi_levels.max()), float(settings.bin_width), float(edges[0]))
        return Discretised(levels, int(roi_levels.max()), None, low)
    levels = np.zeros(intensity.shape, dtype=np.int32)
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


def pyradiomics_bin_edges(values: np.ndarray, settings: DiscretisationSettings) -> np.ndarray:
    """pyradiomics' bin edges for the ROI intensities ``values`` (computed in their own dtype).

    ``fixed_bin_size`` with width ``w``: edges ``low, low + w, ...`` up to below
    ``max + 2 w``, with ``low = min - (min mod w)`` (edges at multiples of
    ``w``); a single edge (flat ROI on an edge) becomes ``[low - 0.5, low + 0.5]``.
    ``fixed_bin_number`` with ``n`` bins: NumPy's ``n`` equal-width histogram
    bins over ``[min, max]``, the top edge raised by 1 so that the maximum
    falls in bin ``n``.
    """
    if settings.method == "fixed_bin_number":
        try:
            edges = np.histogram(values, settings.n_bins)[1]
        except ValueError as error:  # the range holds fewer than n distinct values of its type (pyradiomics fails so)
            raise InputError(
                f"the ROI's intensities span [{float(values.min()):.9g}, {float(values.max()):.9g}] "
                f"({values.dtype}), too narrow a range for {settings.n_bins} equal-width bins in that type "
                f"({error}); use fewer bins or a fixed bin width") from error
        edges[-1] += 1
        return edges
    width = settings.bin_width
    minimum, maximum = values.min(), values.max()
    low = minimum - (minimum % width)
    edges = np.arange(low, maximum + 2 * width, width)
    if len(edges) == 1:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return edges


def digitised(values: np.ndarray, mask: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.digitize(values, edges)`` (edges increasing), and the levels scattered into ``mask``.

    Parameters
    ----------
    values : ndarray of float64
        The intensities of the ``True`` voxels of ``mask``, in C order. Every
        pixel type radiomix reads converts to float64 exactly, so the
        comparisons are those NumPy makes in the values' own type.
    mask : ndarray of bool
        The voxels the values belong to (any shape).
    edges : ndarray
        Increasing bin edges (converted to float64).

    Returns
    -------
    roi_levels : ndarray of int32
        The level of each of ``values``: the number of edges ``<=`` it.
    levels : ndarray of int32, ``mask``'s shape
        Those levels on ``mask``, 0 elsewhere.
    """
    flat_mask = np.ascontiguousarray(mask, dtype=np.bool_).reshape(-1)
    roi_levels, levels = _digitize_kernel(np.ascontiguousarray(values, dtype=np.float64),
                                          np.ascontiguousarray(edges, dtype=np.float64), flat_mask)
    return roi_levels, levels.reshape(mask.shape)


@njit
def _digitize_kernel(values, edges, mask):
    """:func:`digitised` on a flat mask.

    A first guess from the edges' mean spacing is corrected by comparisons
    with the edges themselves, so each level is exactly
    ``numpy.searchsorted(edges, value, side="right")`` (NaN: after every edge).
    """
    n_edges = edges.shape[0]
    first = float(edges[0])
    step = (float(edges[n_edges - 1]) - first) / (n_edges - 1)
    roi_levels = np.empty(values.shape[0], dtype=np.int32)
    for k in range(values.shape[0]):
        value = values[k]
        if value != value:
            roi_levels[k] = n_edges
            continue
        guess = (float(value) - first) / step + 1.0 if step > 0 else 0.0
        level = int(min(max(guess, 0.0), float(n_edges)))
        while level < n_edges and edges[level] <= value:
            level += 1
        while level > 0 and edges[level - 1] > value:
            level -= 1
        roi_levels[k] = level
    levels = np.zeros(mask.shape[0], dtype=np.int32)
    k = 0
    for index in range(mask.shape[0]):
        if mask[index]:
            levels[index] = roi_levels[k]
            k += 1
    return roi_levels, levels
