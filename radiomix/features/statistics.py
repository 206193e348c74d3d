"""Intensity-based statistical features (IBSI-1 section "Intensity-based statistical features", UHIW).

Computed on the intensities ``X`` of the ``N_v`` voxels of the ROI intensity
mask, over the 3D volume (IBSI DHQ4). Percentiles ``P_q`` are sample
percentiles with linear interpolation between order statistics (Hyndman and
Fan type 7, NumPy's default ``method="linear"``): the IBSI digital phantom's
90th percentile 4 (and not the 4.2 of midpoint-style conventions) follows from
it.

:func:`distribution_features` holds the formulas shared with the intensity
histogram family (which applies them to discretised grey levels).
"""

from __future__ import annotations

import numpy as np

from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.spec import StatisticsSettings

FAMILY = "statistics"

ZERO_MEAN = "undefined: mean intensity is zero"
ZERO_QUARTILE_SUM = "undefined: 25th and 75th percentiles sum to zero"
NOTHING_BETWEEN_PERCENTILES = "undefined: no value lies between the 10th and 90th percentiles"

registry.define(FAMILY, "mean", "Mean intensity", "Q4LE", "I", "mu = (1/N_v) sum_k X_k")
registry.define(FAMILY, "variance", "Intensity variance", "ECT3", "I^2",
                "(1/N_v) sum_k (X_k - mu)^2 (no bias correction)")
registry.define(FAMILY, "skewness", "Intensity skewness", "KE2A", "1",
                "[(1/N_v) sum_k (X_k - mu)^3] / [(1/N_v) sum_k (X_k - mu)^2]^(3/2); 0 when the variance is 0")
registry.define(FAMILY, "kurtosis", "(Excess) intensity kurtosis", "IPH6", "1",
                "[(1/N_v) sum_k (X_k - mu)^4] / [(1/N_v) sum_k (X_k - mu)^2]^2 - 3; 0 when the variance is 0")
registry.define(FAMILY, "median", "Median intensity", "Y12H", "I", "sample median of X")
registry.define(FAMILY, "minimum", "Minimum intensity", "1GSF", "I", "min(X)")
registry.define(FAMILY, "percentile_10", "10th intensity percentile", "QG58", "I",
                "P_10 of X (linear interpolation between order statistics)")
registry.define(FAMILY, "percentile_90", "90th intensity percentile", "8DWT", "I",
                "P_90 of X (linear interpolation between order statistics)")
registry.define(FAMILY, "maximum", "Maximum intensity", "84IY", "I", "max(X)")
registry.define(FAMILY, "interquartile_range", "Intensity interquartile range", "SALO", "I",
                "P_75 - P_25")
registry.define(FAMILY, "range", "Intensity range", "2OJQ", "I", "max(X) - min(X)")
registry.define(FAMILY, "mean_absolute_deviation", "Intensity-based mean absolute deviation", "4FUA",
                "I", "(1/N_v) sum_k |X_k - mu|")
registry.define(FAMILY, "robust_mean_absolute_deviation",
                "Intensity-based robust mean absolute deviation", "1128", "I",
                "mean |x - mean(X_10-90)| over X_10-90 = {x in X : P_10 <= x <= P_90}")
registry.define(FAMILY, "median_absolute_deviation", "Intensity-based median absolute deviation",
                "N72L", "I", "(1/N_v) sum_k |X_k - median(X)|")
registry.define(FAMILY, "coefficient_of_variation", "Intensity-based coefficient of variation",
                "7TET", "1", "sqrt(variance) / mu; undefined when mu = 0")
registry.define(FAMILY, "quartile_coefficient_of_dispersion",
                "Intensity-based quartile coefficient of dispersion", "9S40", "1",
                "(P_75 - P_25) / (P_75 + P_25); undefined when P_75 + P_25 = 0")
registry.define(FAMILY, "energy", "Intensity-based energy", "N8CA", "I^2", "sum_k X_k^2")
registry.define(FAMILY, "root_mean_square", "Root mean square intensity", "5ZWQ", "I",
                "sqrt((1/N_v) sum_k X_k^2)")


def distribution_features(values: np.ndarray) -> list[FeatureValue]:
    """The distribution features shared by the statistics and intensity histogram families.

    Parameters
    ----------
    values : ndarray
        One value per ROI voxel (intensities or discretised grey levels); at
        least one.

    Returns
    -------
    list of FeatureValue
        Keys ``mean``, ``variance``, ``skewness``, ``kurtosis``, ``median``,
        ``minimum``, ``percentile_10``, ``percentile_90``, ``maximum``,
        ``interquartile_range``, ``range``, ``mean_absolute_deviation``,
        ``robust_mean_absolute_deviation``, ``median_absolute_deviation``,
        ``coefficient_of_variation``, ``quartile_coefficient_of_dispersion``.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    minimum, maximum = values.min(), values.max()
    mean = _mean(values)
    deviations = values - mean
    variance = np.mean(deviations ** 2)
    if variance > 0:
        standardised = deviations / np.sqrt(variance)
        skewness = np.mean(standardised ** 3)
        kurtosis = np.mean(standardised ** 4) - 3.0
    else:
        skewness = kurtosis = 0.0
    p10, p25, median, p75, p90 = np.percentile(values, [10, 25, 50, 75, 90])
    central = values[(values >= p10) & (values <= p90)]
    if central.size:
        robust_deviation = FeatureValue("robust_mean_absolute_deviation", "",
                                        float(np.mean(np.abs(central - _mean(central)))))
    else:
        robust_deviation = FeatureValue("robust_mean_absolute_deviation", "", np.nan,
                                        NOTHING_BETWEEN_PERCENTILES)
    if mean != 0:
        coefficient_of_variation = FeatureValue("coefficient_of_variation", "",
                                                float(np.sqrt(variance) / mean))
    else:
        coefficient_of_variation = FeatureValue("coefficient_of_variation", "", np.nan, ZERO_MEAN)
    if p75 + p25 != 0:
        quartile_dispersion = FeatureValue("quartile_coefficient_of_dispersion", "",
                                           float((p75 - p25) / (p75 + p25)))
    else:
        quartile_dispersion = FeatureValue("quartile_coefficient_of_dispersion", "", np.nan,
                                           ZERO_QUARTILE_SUM)
    plain = {
        "mean": mean,
        "variance": variance,
        "skewness": skewness,
        "kurtosis": kurtosis,
        "median": median,
        "minimum": minimum,
        "percentile_10": p10,
        "percentile_90": p90,
        "maximum": maximum,
        "interquartile_range": p75 - p25,
        "range": maximum - minimum,
        "mean_absolute_deviation": np.mean(np.abs(deviations)),
    }
    return ([FeatureValue(key, "", float(value)) for key, value in plain.items()]
            + [robust_deviation,
               FeatureValue("median_absolute_deviation", "", float(np.mean(np.abs(values - median)))),
               coefficient_of_variation, quartile_dispersion])


def _mean(values: np.ndarray) -> float:
    """Arithmetic mean; exactly the common value of a constant set (no rounding residue)."""
    minimum, maximum = values.min(), values.max()
    return minimum if minimum == maximum else values.mean()


def compute(roi: RoiImage, settings: StatisticsSettings,
            dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """The 18 intensity-based statistical features of the ROI intensity mask (3D; ``dimensions`` unused).

    Raises
    ------
    EmptyRoiError
        The intensity mask holds no voxel.
    """
    values = np.asarray(roi.intensity_mask_values("statistical features"), dtype=np.float64)
    energy = float(np.sum(values ** 2))
    return distribution_features(values) + [
        FeatureValue("energy", "", energy),
        FeatureValue("root_mean_square", "", float(np.sqrt(energy / values.size))),
    ]
