"""Intensity histogram features (IBSI-1 section "Intensity histogram features", ZVCW).

Computed on the discretised grey levels ``X_d`` (``1..N_g``) of the ``N_v``
voxels of the ROI intensity mask, over the 3D volume (IBSI DHQ4). The
histogram ``n_i`` counts the voxels of level ``i`` for every ``i = 1..N_g``
(``N_g = roi.n_levels``; absent levels count 0) and ``p_i = n_i / N_v``.

The 16 distribution features (mean ... quartile coefficient of dispersion)
use the same formulas and percentile convention as the intensity-based
statistics (:func:`radiomix.features.statistics.distribution_features`).

:class:`~radiomix.spec.HistogramSettings` holds pyradiomics' one departure
(the epsilon inside the entropy's logarithm); pyradiomics' firstorder Entropy
and Uniformity are :func:`entropy_and_uniformity` of its own discretisation's
levels.

Ties: the *mode* is, among the levels of highest count, the one closest to the
mean (the lower one when two are equally close, IBSI); the gradient
intensities are the lowest level at which the gradient reaches its maximum or
minimum.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.statistics import distribution_features
from radiomix.spec import HistogramSettings

FAMILY = "histogram"

SINGLE_BIN = "undefined: the histogram has a single bin (N_g = 1)"

_DEFINITIONS = (
    ("mean", "Mean discretised intensity", "X6K6", "grey level", "mu = sum_i i p_i"),
    ("variance", "Discretised intensity variance", "CH89", "grey level^2",
     "sum_i (i - mu)^2 p_i (no bias correction)"),
    ("skewness", "Discretised intensity skewness", "88K1", "1",
     "sum_i (i - mu)^3 p_i / [sum_i (i - mu)^2 p_i]^(3/2); 0 when the variance is 0"),
    ("kurtosis", "(Excess) discretised intensity kurtosis", "C3I7", "1",
     "sum_i (i - mu)^4 p_i / [sum_i (i - mu)^2 p_i]^2 - 3; 0 when the variance is 0"),
    ("median", "Median discretised intensity", "WIFQ", "grey level", "sample median of X_d"),
    ("minimum", "Minimum discretised intensity", "1PR8", "grey level", "min(X_d)"),
    ("percentile_10", "10th discretised intensity percentile", "GPMT", "grey level",
     "P_10 of X_d (linear interpolation between order statistics)"),
    ("percentile_90", "90th discretised intensity percentile", "OZ0C", "grey level",
     "P_90 of X_d (linear interpolation between order statistics)"),
    ("maximum", "Maximum discretised intensity", "3NCY", "grey level", "max(X_d)"),
    ("mode", "Intensity histogram mode", "AMMC", "grey level",
     "level i of highest n_i; ties: the level closest to mu, the lower one if equidistant"),
    ("interquartile_range", "Discretised intensity interquartile range", "WR0O", "grey level",
     "P_75 - P_25 of X_d"),
    ("range", "Discretised intensity range", "5Z3W", "grey level", "max(X_d) - min(X_d)"),
    ("mean_absolute_deviation", "Intensity histogram mean absolute deviation", "D2ZX", "grey level",
     "(1/N_v) sum_k |X_d,k - mu|"),
    ("robust_mean_absolute_deviation", "Intensity histogram robust mean absolute deviation", "WRZB",
     "grey level", "mean |x - mean(X_d,10-90)| over X_d,10-90 = {x in X_d : P_10 <= x <= P_90}"),
    ("median_absolute_deviation", "Intensity histogram median absolute deviation", "4RNL",
     "grey level", "(1/N_v) sum_k |X_d,k - median(X_d)|"),
    ("coefficient_of_variation", "Intensity histogram coefficient of variation", "CWYJ", "1",
     "sqrt(variance) / mu"),
    ("quartile_coefficient_of_dispersion", "Intensity histogram quartile coefficient of dispersion",
     "SLWD", "1", "(P_75 - P_25) / (P_75 + P_25) of X_d"),
    ("entropy", "Discretised intensity entropy", "TLU2", "1",
     "-sum_i p_i log2(p_i + epsilon) over levels with p_i > 0; epsilon = entropy_epsilon (0 in IBSI)"),
    ("uniformity", "Discretised intensity uniformity", "BJ5W", "1", "sum_i p_i^2"),
    ("maximum_gradient", "Maximum histogram gradient", "12CE", "voxel",
     "max_i H'_i with H'_1 = n_2 - n_1, H'_i = (n_(i+1) - n_(i-1)) / 2 for 1 < i < N_g, "
     "H'_Ng = n_Ng - n_(Ng-1), over all levels 1..N_g"),
    ("maximum_gradient_intensity", "Maximum histogram gradient intensity", "8E6O", "grey level",
     "the (lowest) level i where H'_i is maximal"),
    ("minimum_gradient", "Minimum histogram gradient", "VQB3", "voxel", "min_i H'_i"),
    ("minimum_gradient_intensity", "Minimum histogram gradient intensity", "RHQZ", "grey level",
     "the (lowest) level i where H'_i is minimal"),
)
FEATURE_KEYS = registry.define_table(FAMILY, _DEFINITIONS)


@njit
def _level_counts_kernel(levels, n_levels):
    """Voxels per level ``1..n_levels`` and whether every level lies in that range."""
    counts = np.zeros(n_levels + 1, dtype=np.int64)
    in_range = True
    for level in levels:
        if level < 1 or level > n_levels:
            in_range = False
        else:
            counts[level] += 1
    return counts[1:], in_range


def level_counts(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Histogram ``n_i`` of grey levels ``1..n_levels``.

    Parameters
    ----------
    levels : ndarray of int
        Grey level of every ROI voxel.
    n_levels : int
        Number of grey levels ``N_g``.

    Returns
    -------
    ndarray of int64, shape (n_levels,)
        ``counts[i - 1] = n_i``.

    Raises
    ------
    InputError
        A level lies outside ``1..n_levels``.
    """
    levels = np.ascontiguousarray(levels).ravel()
    counts, in_range = _level_counts_kernel(levels, int(n_levels))
    if not in_range:
        raise InputError(f"discretised grey levels {levels.min()}..{levels.max()} fall outside "
                         f"1..{n_levels}: the discretisation and n_levels disagree")
    return counts


def histogram_gradient(counts: np.ndarray) -> np.ndarray:
    """IBSI histogram gradient ``H'``: one-sided differences at the ends, central elsewhere.

    Parameters
    ----------
    counts : ndarray, shape (N_g,)
        Histogram ``n_1..n_Ng``, ``N_g >= 2``.

    Returns
    -------
    ndarray of float64, shape (N_g,)
    """
    counts = np.asarray(counts, dtype=np.float64)
    gradient = np.empty_like(counts)
    gradient[0] = counts[1] - counts[0]
    gradient[-1] = counts[-1] - counts[-2]
    gradient[1:-1] = (counts[2:] - counts[:-2]) / 2.0
    return gradient


def histogram_mode(counts: np.ndarray, mean: float) -> int:
    """The level of highest count, closest to ``mean`` among ties (the lower one if equidistant)."""
    candidates = np.flatnonzero(counts == counts.max()) + 1
    distances = np.abs(candidates - mean)
    return int(candidates[np.flatnonzero(distances == distances.min())[0]])


@njit_exact
def _entropy_and_uniformity_kernel(counts, epsilon):
    """Entropy and uniformity of the non-empty levels of ``counts`` (exact arithmetic)."""
    total = 0
    for count in counts:
        total += count
    entropy = 0.0
    uniformity = 0.0
    for count in counts:
        if count > 0:
            p = count / total
            entropy -= p * np.log2(p + epsilon)
            uniformity += p * p
    return entropy, uniformity


def entropy_and_uniformity(counts: np.ndarray, epsilon: float = 0.0) -> tuple[float, float]:
    """Entropy ``-sum_i p_i log2(p_i + epsilon)`` and uniformity ``sum_i p_i^2`` of a histogram.

    Parameters
    ----------
    counts : ndarray of int
        Voxels per level ``n_i`` (empty levels allowed; at least one voxel).
    epsilon : float
        Added to ``p_i`` inside the logarithm (IBSI: 0).

    Returns
    -------
    entropy, uniformity : float
        Both over the non-empty levels, ``p_i = n_i / sum_i n_i`` (dimensionless).
    """
    return _entropy_and_uniformity_kernel(np.ascontiguousarray(counts, dtype=np.int64), float(epsilon))


def compute(roi: RoiImage, settings: HistogramSettings,
            dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """The 23 intensity histogram features of the ROI intensity mask (3D; ``dimensions`` unused).

    Raises
    ------
    EmptyRoiError
        The intensity mask holds no voxel.
    InputError
        Discretised levels outside ``1..roi.n_levels``.
    """
    levels = roi.intensity_mask_values("intensity histogram features", "discretised")
    counts = level_counts(levels, roi.n_levels)
    wanted = FEATURE_KEYS if settings.ibsi_features is None else settings.ibsi_features
    results = {}
    if set(wanted) - {"entropy", "uniformity"}:
        results = {item.key: item for item in distribution_features(levels)}
        results["mode"] = FeatureValue("mode", "", float(histogram_mode(counts, results["mean"].value)))
    entropy, uniformity = entropy_and_uniformity(counts, settings.entropy_epsilon)
    results["entropy"] = FeatureValue("entropy", "", entropy)
    results["uniformity"] = FeatureValue("uniformity", "", uniformity)
    if roi.n_levels >= 2:
        gradient = histogram_gradient(counts)
        gradient_features = {
            "maximum_gradient": float(gradient.max()),
            "maximum_gradient_intensity": float(np.argmax(gradient) + 1),
            "minimum_gradient": float(gradient.min()),
            "minimum_gradient_intensity": float(np.argmin(gradient) + 1),
        }
        results.update({key: FeatureValue(key, "", value) for key, value in gradient_features.items()})
    return [results.get(key, FeatureValue(key, "", np.nan, SINGLE_BIN)) for key in FEATURE_KEYS if key in wanted]
