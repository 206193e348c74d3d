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
levels. Ties of the mode and of the gradient intensities: see the catalogue's descriptions.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit_exact
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.statistics import distribution_features
from radiomix.spec import HistogramSettings

FAMILY = "histogram"

SINGLE_BIN = "undefined: the histogram has a single bin (N_g = 1)"

FEATURE_KEYS = registry.keys(FAMILY)


def level_counts(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Histogram ``n_i`` of grey levels ``1..n_levels``.

    ``counts[i - 1] = n_i`` from the grey level of every ROI voxel; an
    InputError when a level lies outside ``1..n_levels``.
    """
    levels = np.asarray(levels).ravel()
    if levels.size and (levels.min() < 1 or levels.max() > n_levels):
        raise InputError(f"discretised grey levels {levels.min()}..{levels.max()} fall outside "
                         f"1..{n_levels}: the discretisation and n_levels disagree")
    return np.bincount(levels, minlength=int(n_levels) + 1)[1:].astype(np.int64)


def histogram_gradient(counts: np.ndarray) -> np.ndarray:
    """IBSI histogram gradient ``H'``: one-sided differences at the ends, central elsewhere.

    ``counts``: the histogram ``n_1..n_Ng``, ``N_g >= 2``.
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

    Over the non-empty levels of ``counts`` (at least one voxel), ``p_i = n_i / sum_i n_i``; ``epsilon``
    is added to ``p_i`` inside the logarithm (IBSI: 0).
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
