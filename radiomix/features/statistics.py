"""Intensity-based statistical features (IBSI-1 section "Intensity-based statistical features", UHIW).

Computed on the intensities ``X`` of the ``N_v`` voxels of the ROI intensity
mask, over the 3D volume (IBSI DHQ4). Percentiles ``P_q`` are sample
percentiles with linear interpolation between order statistics (Hyndman and
Fan type 7, NumPy's default ``method="linear"``, the median included): the
IBSI digital phantom's 90th percentile 4 (and not the 4.2 of midpoint-style
conventions) follows from it. pyradiomics' firstorder class uses the same
percentiles and the same robust mean absolute deviation.

:class:`~radiomix.spec.StatisticsSettings` names what pyradiomics' firstorder
class does differently (non-excess kurtosis, ``voxelArrayShift`` in the
energies) and adds the two features it has beyond IBSI (total energy, standard
deviation); its defaults are IBSI's.

:func:`distribution_features` holds the formulas shared with the intensity
histogram family (which applies them to discretised grey levels).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.spec import StatisticsSettings

FAMILY = "statistics"

ZERO_MEAN = "undefined: mean intensity is zero"
ZERO_QUARTILE_SUM = "undefined: 25th and 75th percentiles sum to zero"
NOTHING_BETWEEN_PERCENTILES = "undefined: no value lies between the 10th and 90th percentiles"
UNDERFLOW = "undefined: the variance is too small for this moment in floating point (underflow)"
UNDEFINED = {"skewness": UNDERFLOW, "kurtosis": UNDERFLOW,
             "robust_mean_absolute_deviation": NOTHING_BETWEEN_PERCENTILES,
             "coefficient_of_variation": ZERO_MEAN,
             "quartile_coefficient_of_dispersion": ZERO_QUARTILE_SUM}
"""Feature key -> the status of its NaN value (the only features that can be undefined)."""

ORDER_BUCKETS = 4096
"""Most buckets of the histogram that locates order statistics before a sort (speed only)."""

VALUES_PER_BUCKET = 8
"""Fewer buckets for few values: about this many values per bucket (speed only)."""

NON_IBSI_KEYS = registry.keys(FAMILY, ibsi=False)
"""Features computed only when :attr:`StatisticsSettings.non_ibsi_features` names them."""


@njit
def _moments_kernel(values, shift, low, high, centre):
    """Sums over ``values`` (float64, at least one) in branch-free passes.

    Returns ``(mean, m2, m3, m4, mean_absolute_deviation,
    robust_mean_absolute_deviation, energy, centre_absolute_deviation)``:
    ``m_k`` are central moments (exactly 0 when every value is the same, the
    mean then exactly that value); the robust deviation is taken over
    ``low <= x <= high`` (NaN when no value lies there; exactly 0 when those
    values are all the same); ``energy`` is
    ``sum (x + shift)^2``; the last is ``mean |x - centre|``.
    """
    n = values.shape[0]
    total = 0.0
    energy = 0.0
    n_different = 0
    first = values[0]
    for i in range(n):  # branch-free sums (vectorised)
        total += values[i]
        energy += (values[i] + shift) * (values[i] + shift)
        n_different += values[i] != first
    mean = first if n_different == 0 else total / n
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    absolute = 0.0
    from_centre = 0.0
    central_total = 0.0
    central_count = 0
    for i in range(n):
        deviation = values[i] - mean
        squared = deviation * deviation
        m2 += squared
        m3 += squared * deviation
        m4 += squared * squared
        absolute += abs(deviation)
        from_centre += abs(values[i] - centre)
        central = (values[i] >= low) & (values[i] <= high)
        central_total += values[i] if central else 0.0
        central_count += central
    robust = np.nan
    if central_count > 0:
        central_mean = central_total / central_count
        robust = 0.0
        for i in range(n):
            central = (values[i] >= low) & (values[i] <= high)
            robust += abs(values[i] - central_mean) if central else 0.0
        robust /= central_count
        if robust <= central_count * 2.3e-16 * abs(central_mean):  # maybe only the rounding residue of the mean
            central_low = np.inf
            central_high = -np.inf
            for i in range(n):
                central = (values[i] >= low) & (values[i] <= high)
                central_low = min(central_low, values[i] if central else np.inf)
                central_high = max(central_high, values[i] if central else -np.inf)
            robust = 0.0 if central_low == central_high else robust
    return (mean, m2 / n, m3 / n, m4 / n, absolute / n, robust, energy, from_centre / n)


@njit
def _sort_range(values, start, stop):
    """Sort ``values[start:stop]`` in place, ascending (a heap sort: quick to compile, no worst case).

    Ranges of up to 16 values are sorted by insertion. Written out, not
    ``np.sort``: numba's quicksort compiles for about a second on first use.
    One sift-down loop serves both phases (building the max-heap rooted at
    ``start``, then moving its largest value to the end of the shrinking heap).
    """
    n = stop - start
    if n <= 16:
        for i in range(start + 1, stop):
            value = values[i]
            j = i - 1
            while j >= start and values[j] > value:
                values[j + 1] = values[j]
                j -= 1
            values[j + 1] = value
        return
    next_parent = n // 2
    size = n
    while True:
        if next_parent > 0:  # building the heap: sift down each parent, the last first
            next_parent -= 1
            node = next_parent
        else:  # sorting: swap the largest value behind the heap, sift down the new root
            size -= 1
            if size == 0:
                return
            largest = values[start]
            values[start] = values[start + size]
            values[start + size] = largest
            node = 0
        value = values[start + node]
        while True:
            child = 2 * node + 1
            if child >= size:
                break
            if child + 1 < size and values[start + child + 1] > values[start + child]:
                child += 1
            if values[start + child] <= value:
                break
            values[start + node] = values[start + child]
            node = child
        values[start + node] = value


@njit
def _ranked_values_kernel(values, ranks, n_buckets):
    """The values of the given ranks (any order, repeats allowed; 0 = smallest) of ``values``.

    A histogram of ``n_buckets`` equal buckets over ``[min, max]`` (bucket
    index monotone in the value; all in the first when the range is too small
    to divide) locates the bucket of each requested rank; only the values of
    those buckets are gathered and sorted (:func:`_sort_range`).
    """
    n = values.shape[0]
    low = values[0]
    high = values[0]
    for i in range(n):
        if values[i] < low:
            low = values[i]
        if values[i] > high:
            high = values[i]
    ranked = np.empty(ranks.shape[0])
    if high == low:
        for r in range(ranks.shape[0]):
            ranked[r] = low
        return ranked
    scale = n_buckets / (high - low)
    if not np.isfinite(scale):  # a subnormal range: one bucket (0 * inf would index out of bounds)
        scale = 0.0
    buckets = np.empty(n, dtype=np.int64)
    counts = np.zeros(n_buckets, dtype=np.int64)
    last_bucket = n_buckets - 1
    for i in range(n):
        bucket = int((values[i] - low) * scale)
        bucket = bucket if bucket < last_bucket else last_bucket
        buckets[i] = bucket
        counts[bucket] += 1
    below = np.zeros(n_buckets + 1, dtype=np.int64)
    for bucket in range(n_buckets):
        below[bucket + 1] = below[bucket] + counts[bucket]
    rank_buckets = np.empty(ranks.shape[0], dtype=np.int64)
    needed = np.zeros(n_buckets, dtype=np.bool_)
    for r in range(ranks.shape[0]):  # the last bucket starting at or below the rank: it holds the rank
        first = 0  # bisection: below[first] <= rank < below[after] (below[0] = 0 <= rank < n = below[-1])
        after = n_buckets
        while after - first > 1:
            middle = (first + after) // 2
            if below[middle] <= ranks[r]:
                first = middle
            else:
                after = middle
        rank_buckets[r] = first
        needed[first] = True
    offsets = np.zeros(n_buckets + 1, dtype=np.int64)
    for bucket in range(n_buckets):
        offsets[bucket + 1] = offsets[bucket] + (counts[bucket] if needed[bucket] else 0)
    gathered = np.empty(offsets[n_buckets])
    filled = np.empty(n_buckets, dtype=np.int64)
    for bucket in range(n_buckets):
        filled[bucket] = offsets[bucket]
    for i in range(n):
        if needed[buckets[i]]:
            gathered[filled[buckets[i]]] = values[i]
            filled[buckets[i]] += 1
    for bucket in range(n_buckets):
        if needed[bucket]:
            _sort_range(gathered, offsets[bucket], offsets[bucket + 1])
    for r in range(ranks.shape[0]):
        bucket = rank_buckets[r]
        ranked[r] = gathered[offsets[bucket] + ranks[r] - below[bucket]]
    return ranked


def percentiles(values: np.ndarray, quantiles) -> np.ndarray:
    """Percentiles of ``values`` by NumPy's linear rule (``numpy.percentile``'s default), bit for bit.

    ``quantiles`` are percentages in [0, 100] (0 and 100: the minimum and maximum) of at least one value.
    Position ``f (N - 1)`` (``f`` the fraction) between the order statistics ``a`` (its floor) and ``b``
    (the next, :func:`_ranked_values_kernel`), ``t`` its fractional part: ``a + (b - a) t``, or
    ``b - (b - a) (1 - t)`` when ``t >= 0.5`` (NumPy's ``_lerp``), in NumPy's own arithmetic.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    n = len(values)
    n_buckets = min(ORDER_BUCKETS, n // VALUES_PER_BUCKET + 1)
    positions = np.asarray(quantiles, dtype=np.float64) / 100.0 * (n - 1)
    below = np.floor(positions)
    ranks = np.empty(2 * len(positions), dtype=np.int64)
    ranks[0::2] = below
    ranks[1::2] = np.minimum(ranks[0::2] + 1, n - 1)
    ranked = _ranked_values_kernel(values, ranks, n_buckets)
    low, high = ranked[0::2], ranked[1::2]
    t = positions - below
    difference = high - low
    return np.where(t >= 0.5, high - difference * (1.0 - t), low + difference * t)


def _distribution(values, kurtosis: str, shift: float) -> tuple[dict[str, float], float]:
    """The values of :func:`distribution_features` by key (NaN where undefined) and ``sum (x + shift)^2``."""
    values = np.ascontiguousarray(values, dtype=np.float64).ravel()
    minimum, p10, p25, median, p75, p90, maximum = percentiles(values, (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0))
    (mean, variance, m3, m4, absolute, robust, energy, from_median) = _moments_kernel(
        values, float(shift), p10, p90, median)
    flat = variance == 0
    cubed_deviation, fourth_power = variance ** 1.5, variance ** 2.0  # 0 also when they underflow
    return {
        "mean": mean,
        "variance": variance,
        "skewness": 0.0 if flat else m3 / cubed_deviation if cubed_deviation else math.nan,
        "kurtosis": 0.0 if flat else m4 / fourth_power - (3.0 if kurtosis == "excess" else 0.0) if fourth_power
        else math.nan,
        "median": median,
        "minimum": minimum,
        "percentile_10": p10,
        "percentile_90": p90,
        "maximum": maximum,
        "interquartile_range": p75 - p25,
        "range": maximum - minimum,
        "mean_absolute_deviation": absolute,
        "robust_mean_absolute_deviation": robust,
        "median_absolute_deviation": from_median,
        "coefficient_of_variation": math.sqrt(variance) / mean if mean != 0 else math.nan,
        "quartile_coefficient_of_dispersion": (p75 - p25) / (p75 + p25) if p75 + p25 != 0 else math.nan,
    }, energy


def feature_values(values: dict[str, float]) -> list[FeatureValue]:
    """``values`` (key -> value) as FeatureValues, each NaN with its :data:`UNDEFINED` status."""
    return [FeatureValue(key, "", float(value), UNDEFINED.get(key, "") if math.isnan(value) else "")
            for key, value in values.items()]


def distribution_features(values: np.ndarray, kurtosis: str = "excess") -> list[FeatureValue]:
    """The distribution features shared by the statistics and intensity histogram families.

    ``values``: one per ROI voxel (intensities or discretised grey levels),
    at least one; ``kurtosis``: ``excess`` or ``non_excess`` (without the
    ``- 3``; 0 either way when the variance is 0). Keys from ``mean`` to
    ``quartile_coefficient_of_dispersion``, in registry order.
    """
    return feature_values(_distribution(values, kurtosis, 0.0)[0])


def intensity_statistics(values: np.ndarray, voxel_volume: float, settings: StatisticsSettings) -> dict[str, float]:
    """The statistical features of the intensities ``values`` under ``settings``, by key.

    ``values``: the intensity of every ROI voxel (at least one);
    ``voxel_volume`` (mm^3) for the total energy; ``settings``: kurtosis
    convention, voxel shift and the features outside IBSI to add. Keys of
    :func:`distribution_features`, ``energy``, ``root_mean_square``, then those
    of ``settings.non_ibsi_features``; NaN where undefined (:data:`UNDEFINED`).
    """
    features, energy = _distribution(values, settings.kurtosis, settings.voxel_shift)
    features["energy"] = energy
    features["root_mean_square"] = math.sqrt(energy / np.size(values))
    extra = {"total_energy": energy * voxel_volume, "standard_deviation": math.sqrt(features["variance"])}
    features.update((key, extra[key]) for key in NON_IBSI_KEYS if key in settings.non_ibsi_features)
    return features


def compute(roi: RoiImage, settings: StatisticsSettings,
            dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """The 18 intensity-based statistical features of the ROI intensity mask (3D; ``dimensions`` unused).

    Plus the features outside IBSI that ``settings.non_ibsi_features`` names.

    Raises
    ------
    EmptyRoiError
        The intensity mask holds no voxel.
    """
    values = roi.intensity_mask_values("statistical features")
    return feature_values(intensity_statistics(values, math.prod(roi.spacing), settings))
