"""pyradiomics' first-order class: intensity statistics of the ROI voxels.

``X`` are the ROI intensities of the (filtered) image as 64-bit floats, ``N``
their number, ``c`` the ``voxelArrayShift`` and ``p(i)`` the fraction of ROI
voxels in bin ``i`` of pyradiomics' discretisation (non-empty bins only).

- Energy ``sum (X + c)^2``; TotalEnergy ``Energy * voxel volume (mm^3)``;
  RootMeanSquared ``sqrt(sum (X + c)^2 / N)``;
- Entropy ``-sum p(i) log2(p(i) + eps)`` (``eps`` = 2.2e-16);
  Uniformity ``sum p(i)^2``;
- Minimum, Maximum, Mean, Median, Range, 10Percentile, 90Percentile,
  InterquartileRange (``P75 - P25``); percentiles interpolate linearly between
  order statistics at ``q (N - 1)`` (NumPy's default);
- MeanAbsoluteDeviation ``mean |X - mean X|``; RobustMeanAbsoluteDeviation the
  same over the voxels with ``P10 <= X <= P90``;
- Variance ``sigma^2`` and StandardDeviation ``sigma`` (population);
  Skewness ``m3 / m2^1.5`` and Kurtosis ``m4 / m2^2`` (central moments; not
  excess kurtosis), both 0 for a flat ROI (``m2 = 0``), as in pyradiomics.

The order statistics come from :func:`_ranked_values_kernel`, which sorts only
the values near them; every sum from :func:`_moments_kernel` (three branch-free passes).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import EmptyRoiError

ENTROPY_EPSILON = float(np.spacing(1))
"""Added to ``p(i)`` inside the logarithm of Entropy (pyradiomics' machine epsilon)."""

PERCENTILES = (10.0, 25.0, 75.0, 90.0)

ORDER_BUCKETS = 4096
"""Buckets of the histogram that locates order statistics before a sort (speed only)."""

NO_CENTRAL_VOXEL = "undefined: no intensity between the 10th and 90th percentiles"


@njit
def _moments_kernel(values, levels, n_levels, shift, low, high, epsilon):
    """Sums over the ROI values in one kernel.

    Returns ``(energy, mean, m2, m3, m4, mean_absolute_deviation,
    robust_mean_absolute_deviation, entropy, uniformity)``: ``energy`` is
    ``sum (x + shift)^2``, ``m_k`` central moments (exactly 0 when every value
    is the same), the robust deviation is
    over ``low <= x <= high`` (NaN when no value lies there), entropy and
    uniformity over the histogram of
    ``levels`` (1..``n_levels``).
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
    central_total = 0.0
    central_count = 0
    for i in range(n):
        deviation = values[i] - mean
        squared = deviation * deviation
        m2 += squared
        m3 += squared * deviation
        m4 += squared * squared
        absolute += abs(deviation)
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
    counts = np.zeros(n_levels + 1, dtype=np.int64)
    for i in range(n):
        counts[levels[i]] += 1
    entropy = 0.0
    uniformity = 0.0
    for level in range(n_levels + 1):
        if counts[level] > 0:
            p = counts[level] / n
            entropy -= p * np.log2(p + epsilon)
            uniformity += p * p
    return (energy, mean, m2 / n, m3 / n, m4 / n, absolute / n, robust, entropy, uniformity)


@njit
def _ranked_values_kernel(values, ranks, n_buckets):
    """The values of the given ranks (0 = smallest) of ``values``.

    A histogram of ``n_buckets`` equal buckets over ``[min, max]`` (bucket
    index monotone in the value) locates the bucket of each requested rank;
    only the values of those buckets are gathered and sorted.
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
        ranked[:] = low
        return ranked
    scale = n_buckets / (high - low)
    buckets = np.empty(n, dtype=np.int64)
    counts = np.zeros(n_buckets, dtype=np.int64)
    for i in range(n):
        bucket = min(int((values[i] - low) * scale), n_buckets - 1)
        buckets[i] = bucket
        counts[bucket] += 1
    below = np.zeros(n_buckets + 1, dtype=np.int64)
    for bucket in range(n_buckets):
        below[bucket + 1] = below[bucket] + counts[bucket]
    rank_buckets = np.empty(ranks.shape[0], dtype=np.int64)
    needed = np.zeros(n_buckets, dtype=np.bool_)
    bucket = 0
    for r in range(ranks.shape[0]):  # ranks ascending
        while below[bucket + 1] <= ranks[r]:
            bucket += 1
        rank_buckets[r] = bucket
        needed[bucket] = True
    offsets = np.zeros(n_buckets + 1, dtype=np.int64)
    for bucket in range(n_buckets):
        offsets[bucket + 1] = offsets[bucket] + (counts[bucket] if needed[bucket] else 0)
    gathered = np.empty(offsets[n_buckets])
    filled = offsets[:n_buckets].copy()
    for i in range(n):
        if needed[buckets[i]]:
            gathered[filled[buckets[i]]] = values[i]
            filled[buckets[i]] += 1
    for bucket in range(n_buckets):
        if needed[bucket]:
            gathered[offsets[bucket]:offsets[bucket + 1]] = np.sort(gathered[offsets[bucket]:offsets[bucket + 1]])
    for r in range(ranks.shape[0]):
        bucket = rank_buckets[r]
        ranked[r] = gathered[offsets[bucket] + ranks[r] - below[bucket]]
    return ranked


def _interpolated(below: float, above: float, fraction: float) -> float:
    """NumPy's linear percentile rule between two order statistics (``a + (b - a) t``, from ``b`` when t >= 0.5)."""
    difference = above - below
    return float(above - difference * (1.0 - fraction) if fraction >= 0.5 else below + difference * fraction)


def order_statistics(values: np.ndarray) -> dict:
    """Minimum, maximum, median and the 10th, 25th, 75th, 90th percentiles of ``values`` (float64)."""
    n = len(values)
    ranks = {0, n - 1, (n - 1) // 2, n // 2}
    for q in PERCENTILES:
        position = int(np.floor(q / 100.0 * (n - 1)))
        ranks.update({position, min(position + 1, n - 1)})
    ranks = np.array(sorted(ranks), dtype=np.int64)
    ranked = dict(zip(ranks.tolist(), _ranked_values_kernel(values, ranks, ORDER_BUCKETS)))
    middle = ranked[(n - 1) // 2] if n % 2 else (ranked[n // 2 - 1] + ranked[n // 2]) / 2.0
    statistics = {"Minimum": float(ranked[0]), "Maximum": float(ranked[n - 1]), "Median": float(middle)}
    for q in PERCENTILES:
        position = q / 100.0 * (n - 1)
        below = int(np.floor(position))
        statistics[q] = _interpolated(ranked[below], ranked[min(below + 1, n - 1)], position - below)
    return statistics


def features(values: np.ndarray, levels: np.ndarray, spacing_zyx, voxel_array_shift: float
             ) -> tuple[dict[str, float], dict[str, str]]:
    """pyradiomics' firstorder features, by pyradiomics name.

    Parameters
    ----------
    values : ndarray
        ROI intensities (any numeric dtype; converted to float64).
    levels : ndarray of int
        pyradiomics bin index (>= 1) of each ROI voxel, same order as ``values``
        (any integer type).
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm (for TotalEnergy).
    voxel_array_shift : float
        pyradiomics' ``voxelArrayShift``.

    Returns
    -------
    values : dict of str to float
        Every firstorder feature, the deprecated StandardDeviation included.
    statuses : dict of str to str
        Reason for a NaN: RobustMeanAbsoluteDeviation is undefined when no
        intensity lies between the 10th and 90th percentiles (e.g. two voxels).
    """
    x = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise EmptyRoiError("the ROI holds no voxel: no firstorder features")
    levels = np.ascontiguousarray(levels).ravel()
    if not np.issubdtype(levels.dtype, np.integer):
        levels = levels.astype(np.int64)
    statistics = order_statistics(x)
    (energy, mean, m2, m3, m4, mad, rmad, entropy, uniformity) = _moments_kernel(
        x, levels, int(levels.max()), float(voxel_array_shift), statistics[10.0], statistics[90.0],
        ENTROPY_EPSILON)
    voxel_volume = float(spacing_zyx[2]) * float(spacing_zyx[1]) * float(spacing_zyx[0])
    m2_safe = m2 if m2 != 0 else 1.0
    sigma = float(np.sqrt(m2))
    return {
        "Energy": energy,
        "TotalEnergy": energy * voxel_volume,
        "Entropy": entropy,
        "Minimum": statistics["Minimum"],
        "10Percentile": statistics[10.0],
        "90Percentile": statistics[90.0],
        "Maximum": statistics["Maximum"],
        "Mean": mean,
        "Median": statistics["Median"],
        "InterquartileRange": statistics[75.0] - statistics[25.0],
        "Range": statistics["Maximum"] - statistics["Minimum"],
        "MeanAbsoluteDeviation": mad,
        "RobustMeanAbsoluteDeviation": rmad,
        "RootMeanSquared": float(np.sqrt(energy / x.size)),
        "StandardDeviation": sigma,
        "Skewness": m3 / m2_safe ** 1.5,
        "Kurtosis": m4 / m2_safe ** 2.0,
        "Variance": sigma ** 2,
        "Uniformity": uniformity,
    }, ({} if not np.isnan(rmad) else {"RobustMeanAbsoluteDeviation": NO_CENTRAL_VOXEL})
