"""Intensity-volume histogram (IVH) features (IBSI-1 section "Intensity-volume histogram features", P88C).

The IVH relates a discretised intensity ``i`` to the fraction of the ROI
intensity-mask volume with intensity at least ``i``:
``nu_i = 1 - (1/N_v) sum_k [X_d,gl,k < i]``, and ``i`` to its intensity
fraction ``gamma_i = (i - min G) / (max G - min G)`` within the total range
``G``. It is evaluated at every discretised intensity of ``G`` with interval
``w_d``, present in the ROI or not. The discretised intensities ``X_d,gl``,
``G`` and ``w_d`` follow the IBSI recommendation for the settings' ``method``:

``none`` (calibrated discrete intensities, e.g. CT HU)
    ``X_d,gl = X_gl``; ``w_d = 1``; ``G`` is the re-segmentation range when
    ``use_resegmentation_range`` (an open side takes the ROI minimum or
    maximum), else ``[min X_gl, max X_gl]``. The IVH is evaluated at
    ``min G + k`` (``k = 0, 1, ...`` up to ``max G``) and, so that
    non-integer intensities are handled exactly, also at every distinct ROI
    intensity; for integer intensities and bounds these coincide with IBSI's
    unit steps.
``fixed_bin_size`` (calibrated continuous intensities, e.g. PET SUV)
    ``X_min``/``X_max`` are the re-segmentation bounds when
    ``use_resegmentation_range`` and set, else the ROI minimum/maximum;
    ``X_d = floor((X_gl - X_min) / w_b) + 1`` and ``X_d,gl = X_min + (X_d - 0.5) w_b``
    (bin centres); ``w_d = w_b``; ``G`` runs from the first to the last bin
    centre of ``[X_min, X_max]``, i.e. ``[X_min + w_b/2, X_max - w_b/2]`` when
    the range is a whole number of bins (IBSI). With ``extra_bin_above_range``
    it runs one bin further, ``ceil((X_max - X_min) / w_b) + 1`` bins in all
    (MIRP's convention; docs/ibsi.md).
``fixed_bin_number`` (arbitrary intensity units)
    ``N_g`` bins over the ROI's own range (IBSI: never the re-segmentation
    range): ``X_d = floor(N_g (X_gl - X_min) / (X_max - X_min)) + 1``, ``N_g``
    at ``X_max``; ``X_d,gl = X_d`` (bin numbers), ``w_d = 1``, ``G = [1, N_g]``.

Features (IBSI-1): ``V_x`` is the largest ``nu`` with ``gamma >= x``;
``I_x`` the lowest evaluated intensity with ``nu <= x`` (when no intensity of
``G`` qualifies, the next discretised intensity above the evaluated ones, where
``nu = 0``). The area under the IVH curve (no IBSI reference value) is the
trapezoidal integral of ``nu`` over ``gamma`` on the intensities of ``G``,
0 when the ROI holds a single discretised intensity (IBSI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.spec import IvhFeatureSettings

FAMILY = "ivh"

FRACTION_TOLERANCE = 1e-9
"""Absolute slack for rounding when comparing fractions (of G, of a bin) with thresholds."""

MAXIMUM_EVALUATED_INTENSITIES = 10_000_000
"""Largest number of unit steps method ``none`` evaluates; beyond it the range is not discrete."""

ZERO_WIDTH_RANGE = "undefined: the IVH intensity range G has zero width"

FEATURE_KEYS = registry.keys(FAMILY)


@dataclass(frozen=True)
class IntensityVolumeHistogram:
    """An IVH evaluated at discretised intensities.

    Attributes
    ----------
    intensities : ndarray of float64
        Evaluated discretised intensities ``i``, ascending (intensity units,
        or bin numbers for fixed bin number).
    volume_fractions : ndarray of float64
        ``nu_i``, the fraction of ROI voxels with discretised intensity >= ``i``.
    range_low, range_high : float
        Bounds of the total range ``G``.
    step : float
        Discretisation interval ``w_d``.
    n_distinct : int
        Number of distinct discretised intensities in the ROI.
    """

    intensities: np.ndarray
    volume_fractions: np.ndarray
    range_low: float
    range_high: float
    step: float
    n_distinct: int

    def intensity_fractions(self) -> np.ndarray:
        """``gamma_i``; call only when ``range_high > range_low``."""
        return (self.intensities - self.range_low) / (self.range_high - self.range_low)


def _resegmentation_bounds(values: np.ndarray, settings: IvhFeatureSettings,
                           resegmentation_range: tuple[float, float]) -> tuple[float, float]:
    """``(X_min, X_max)``: the set re-segmentation bounds when used, else the ROI's."""
    roi_bounds = (float(values.min()), float(values.max()))
    if not settings.use_resegmentation_range:
        return roi_bounds
    low, high = (float(bound) if math.isfinite(bound) else own for bound, own in zip(resegmentation_range, roi_bounds))
    return low, high


def _histogram(discretised: np.ndarray, intensities: np.ndarray, low: float, high: float,
               step: float) -> IntensityVolumeHistogram:
    """Volume fractions of ``discretised`` at ``intensities``."""
    ordered = np.sort(discretised)
    below = np.searchsorted(ordered, intensities, side="left")
    return IntensityVolumeHistogram(
        intensities=intensities, volume_fractions=1.0 - below / ordered.size,
        range_low=low, range_high=high, step=step,
        n_distinct=1 + int(np.count_nonzero(ordered[1:] != ordered[:-1])))  # distinct values of a sorted array


def _bin_histogram(bins: np.ndarray, intensities: np.ndarray, low: float, high: float,
                   step: float) -> IntensityVolumeHistogram:
    """:func:`_histogram` of discretised values that are a strictly increasing function of integer ``bins``.

    ``intensities[j - 1]`` is the value of bin ``j`` (``1 <= bins <= len(intensities)``): the voxels below
    it are those of the bins below ``j``, counted (no sort), so the fractions are the same numbers.
    """
    counts = np.bincount(bins, minlength=len(intensities) + 1)
    below = np.cumsum(counts)[:len(intensities)]
    return IntensityVolumeHistogram(
        intensities=intensities, volume_fractions=1.0 - below / bins.size,
        range_low=low, range_high=high, step=step, n_distinct=int(np.count_nonzero(counts)))


def intensity_volume_histogram(values: np.ndarray, settings: IvhFeatureSettings,
                               resegmentation_range: tuple[float, float]) -> IntensityVolumeHistogram:
    """The IVH of ROI intensities ``values`` (module docstring: the three methods).

    Parameters
    ----------
    values : ndarray
        Intensities of the ROI intensity-mask voxels (at least one, finite).
    settings : IvhFeatureSettings
        Method, bin width or number, use of the re-segmentation range.
    resegmentation_range : tuple of float
        ``(low, high)``; ``-inf``/``inf`` where not set.

    Returns
    -------
    IntensityVolumeHistogram

    Raises
    ------
    InputError
        Method ``none`` on a range of more than
        :data:`MAXIMUM_EVALUATED_INTENSITIES` unit steps.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if settings.method == "none":
        low, high = _resegmentation_bounds(values, settings, resegmentation_range)
        n_steps = math.ceil(high - low)
        if n_steps > MAXIMUM_EVALUATED_INTENSITIES:
            raise InputError(f"IVH method none evaluates every unit step of [{low:g}, {high:g}]: "
                             f"{n_steps} steps is too many for discrete intensities; "
                             "use features.ivh.method fixed_bin_size or fixed_bin_number")
        grid = low + np.arange(n_steps + 1, dtype=np.float64)
        return _histogram(values, np.union1d(grid, values), low, high, 1.0)
    if settings.method == "fixed_bin_size":
        low, high = _resegmentation_bounds(values, settings, resegmentation_range)
        width = float(settings.bin_width)
        bins = np.floor((values - low) / width).astype(np.int64) + 1
        # Bins partitioning [X_min, X_max]; the slack absorbs rounding of a whole number of bins.
        n_range_bins = math.ceil((high - low) / width - FRACTION_TOLERANCE)
        n_range_bins = n_range_bins + 1 if settings.extra_bin_above_range else max(1, n_range_bins)
        n_evaluated = max(n_range_bins, int(bins.max()))
        centres = low + (np.arange(1, n_evaluated + 1) - 0.5) * width
        if bins.min() >= 1 and np.all(centres[1:] > centres[:-1]):  # bins and their values in the same order
            return _bin_histogram(bins, centres, low + 0.5 * width, low + (n_range_bins - 0.5) * width, width)
        return _histogram(low + (bins - 0.5) * width, centres, low + 0.5 * width,
                          low + (n_range_bins - 0.5) * width, width)
    n_bins = int(settings.n_bins)
    low, high = float(values.min()), float(values.max())
    if high > low:
        bins = np.floor(n_bins * (values - low) / (high - low)).astype(np.int64) + 1
        bins = np.minimum(bins, n_bins)
    else:
        bins = np.full(values.shape, n_bins, dtype=np.int64)
    return _bin_histogram(bins, np.arange(1, n_bins + 1, dtype=np.float64), 1.0, float(n_bins), 1.0)


def _volume_at_intensity_fraction(histogram: IntensityVolumeHistogram, fraction: float) -> float:
    """``V_x``: the largest ``nu`` at intensities with ``gamma >= fraction`` (``nu`` is non-increasing)."""
    qualifying = np.flatnonzero(histogram.intensity_fractions() >= fraction - FRACTION_TOLERANCE)
    return float(histogram.volume_fractions[qualifying[0]])


def _intensity_at_volume_fraction(histogram: IntensityVolumeHistogram, fraction: float) -> float:
    """``I_x``: the lowest intensity with ``nu <= fraction``; past the evaluated ones if none."""
    qualifying = np.flatnonzero(histogram.volume_fractions <= fraction + FRACTION_TOLERANCE)
    if qualifying.size:
        return float(histogram.intensities[qualifying[0]])
    return float(histogram.intensities[-1] + histogram.step)


def _area_under_curve(histogram: IntensityVolumeHistogram) -> float:
    """Trapezoidal area under ``nu(gamma)`` over the intensities of ``G``."""
    gamma = histogram.intensity_fractions()
    inside = (gamma >= -FRACTION_TOLERANCE) & (gamma <= 1.0 + FRACTION_TOLERANCE)
    return float(np.trapezoid(histogram.volume_fractions[inside], gamma[inside]))


def compute(roi: RoiImage, settings: IvhFeatureSettings,
            dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """The IVH features of the ROI intensity mask (3D; ``dimensions`` unused).

    Raises
    ------
    EmptyRoiError
        The intensity mask holds no voxel.
    """
    values = np.asarray(roi.intensity_mask_values("IVH features"), dtype=np.float64)
    histogram = intensity_volume_histogram(values, settings, roi.resegmentation_range)
    i10 = _intensity_at_volume_fraction(histogram, 0.10)
    i90 = _intensity_at_volume_fraction(histogram, 0.90)
    results = {
        "intensity_at_volume_fraction_10": i10,
        "intensity_at_volume_fraction_90": i90,
        "intensity_fraction_difference_10_90": i10 - i90,
    }
    if histogram.range_high > histogram.range_low:
        v10 = _volume_at_intensity_fraction(histogram, 0.10)
        v90 = _volume_at_intensity_fraction(histogram, 0.90)
        results.update({
            "volume_at_intensity_fraction_10": v10,
            "volume_at_intensity_fraction_90": v90,
            "volume_fraction_difference_10_90": v10 - v90,
            "area_under_ivh_curve": _area_under_curve(histogram),
        })
    if histogram.n_distinct == 1:
        results["area_under_ivh_curve"] = 0.0
    return [FeatureValue(key, "", results[key]) if key in results
            else FeatureValue(key, "", np.nan, ZERO_WIDTH_RANGE) for key in FEATURE_KEYS]
