"""Performance metrics of out-of-fold predictions, bootstrap intervals and the DeLong test.

Conventions (documented once, used everywhere):

- Predictions come from repeated K-fold: ``probabilities`` has shape
  ``(n_repeats, n_patients, n_classes)``; each patient is predicted once per
  repeat by a model that never saw it. A metric is computed on each repeat's
  pooled predictions and averaged over repeats.
- Binary outcomes: class 1 is positive. Sensitivity, specificity and balanced
  accuracy use each patient's decision threshold, chosen in the inner loop of
  the outer fold that predicted it. Calibration slope and intercept are those
  of the logistic recalibration ``logit P(y=1) = a + b logit(p)`` (slope ``b``;
  intercept: ``a`` with ``b`` fixed at 1, "calibration-in-the-large").
- Multi-class outcomes: AUROC is the macro average of one-vs-rest AUROCs;
  predictions are the most probable class; sensitivity and specificity are
  macro averages over classes; the Brier score is the mean over patients of
  ``sum_k (p_k - y_k)^2``. Calibration slope and intercept, and the DeLong
  test, are for binary outcomes only.
- 95 % confidence intervals are percentile intervals over bootstrap resamples
  of patients, stratified by outcome (the same resamples for every model, so
  models are compared on the same patients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

BINARY_METRICS = ("auroc", "balanced_accuracy", "sensitivity", "specificity", "brier",
                  "calibration_slope", "calibration_intercept")
MULTICLASS_METRICS = ("auroc", "balanced_accuracy", "sensitivity", "specificity", "brier")
#: Probabilities are clipped to [EPS, 1 - EPS] before taking logits.
PROBABILITY_EPS = 1e-6


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of a binary outcome (Mann-Whitney, ties count one half).

    NaN if ``y`` holds a single class.
    """
    y = np.asarray(y)
    n_pos = int((y == 1).sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = stats.rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_macro(y: np.ndarray, probabilities: np.ndarray) -> float:
    """AUROC of a binary outcome (class-1 column), or macro one-vs-rest AUROC of several classes."""
    if probabilities.shape[1] == 2:
        return auroc(y, probabilities[:, 1])
    values = [auroc((y == k).astype(int), probabilities[:, k]) for k in range(probabilities.shape[1])]
    return float(np.nanmean(values)) if not np.all(np.isnan(values)) else np.nan


@dataclass(frozen=True)
class DeLongResult:
    """Paired DeLong comparison of two AUROCs on the same patients.

    Attributes
    ----------
    auroc_a, auroc_b : float
    difference : float
        ``auroc_a - auroc_b``.
    standard_error : float
        Of the difference.
    z : float
    p_value : float
        Two-sided.
    ci_low, ci_high : float
        95 % confidence interval of the difference (normal approximation).
    """

    auroc_a: float
    auroc_b: float
    difference: float
    standard_error: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


def delong_covariance(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs of several scores and their covariance (DeLong 1988; Sun & Xu 2014 midrank form).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Binary outcome (1 positive).
    scores : ndarray of shape (n_scores, n_samples)

    Returns
    -------
    aurocs : ndarray of shape (n_scores,)
    covariance : ndarray of shape (n_scores, n_scores)
    """
    y = np.asarray(y)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    positives, negatives = scores[:, y == 1], scores[:, y == 0]
    m, n = positives.shape[1], negatives.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least two positives and two negatives, got {m} and {n}")
    rank_pos = stats.rankdata(positives, axis=1)
    rank_neg = stats.rankdata(negatives, axis=1)
    rank_all = stats.rankdata(np.hstack([positives, negatives]), axis=1)
    aurocs = (rank_all[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v_pos = (rank_all[:, :m] - rank_pos) / n
    v_neg = 1.0 - (rank_all[:, m:] - rank_neg) / m
    covariance = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return aurocs, covariance


def delong_test(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> DeLongResult:
    """Two-sided paired DeLong test of ``AUROC(score_a) = AUROC(score_b)``."""
    aurocs, covariance = delong_covariance(y, np.vstack([score_a, score_b]))
    difference = float(aurocs[0] - aurocs[1])
    variance = float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    if variance <= 0:
        p_value = 1.0 if difference == 0 else 0.0
        return DeLongResult(float(aurocs[0]), float(aurocs[1]), difference, 0.0,
                            0.0 if difference == 0 else np.sign(difference) * np.inf, p_value,
                            difference, difference)
    error = np.sqrt(variance)
    z = difference / error
    half = stats.norm.ppf(0.975) * error
    return DeLongResult(float(aurocs[0]), float(aurocs[1]), difference, float(error), float(z),
                        float(2 * stats.norm.sf(abs(z))), difference - half, difference + half)


def youden_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """Threshold maximising Youden's J (sensitivity + specificity - 1); predict positive if ``score >= t``.

    Among equally good cut points, the lowest is taken; the threshold returned
    lies midway between that score and the next lower observed score. 0.5 when
    ``y`` holds a single class.
    """
    y = np.asarray(y)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    candidates = np.unique(score)
    predicted = score[None, :] >= candidates[:, None]
    sensitivity = (predicted & (y == 1)).sum(axis=1) / n_pos
    specificity = (~predicted & (y == 0)).sum(axis=1) / n_neg
    best = int(np.argmax(sensitivity + specificity))
    if best == 0:
        return float(candidates[0])
    return float(0.5 * (candidates[best] + candidates[best - 1]))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, PROBABILITY_EPS, 1 - PROBABILITY_EPS)
    return np.log(p / (1 - p))


def _logistic_fit(design: np.ndarray, y: np.ndarray, offset: np.ndarray,
                  max_iterations: int = 50, tolerance: float = 1e-8) -> np.ndarray:
    """Unpenalised logistic regression by Newton-Raphson; NaN coefficients if it does not converge."""
    beta = np.zeros(design.shape[1])
    for _ in range(max_iterations):
        eta = offset + design @ beta
        with np.errstate(over="ignore"):  # exp(-eta) = inf for eta < -709 gives mu = 0, its limit
            mu = 1.0 / (1.0 + np.exp(-eta))
        weight = mu * (1 - mu)
        hessian = design.T @ (design * weight[:, None])
        gradient = design.T @ (y - mu)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return np.full(design.shape[1], np.nan)
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 1e6:
            return np.full(design.shape[1], np.nan)
        if np.max(np.abs(step)) < tolerance:
            return beta
    return np.full(design.shape[1], np.nan)


def calibration_slope_intercept(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Calibration slope and intercept (calibration-in-the-large) of binary probabilities.

    Returns NaN for a fit that does not converge (e.g. perfect separation).
    """
    y = np.asarray(y, dtype=float)
    x = _logit(np.asarray(p, dtype=float))
    ones = np.ones_like(x)
    slope = _logistic_fit(np.column_stack([ones, x]), y, np.zeros_like(x))[1]
    intercept = _logistic_fit(ones[:, None], y, x)[0]
    return float(slope), float(intercept)


def classification_metrics(y: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray | None) -> dict:
    """Every metric of one set of predictions (one repeat).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class indices.
    probabilities : ndarray of shape (n_samples, n_classes)
    thresholds : ndarray of shape (n_samples,) or None
        Binary: each patient's decision threshold on the class-1 probability.

    Returns
    -------
    dict
        Metric name -> value (:data:`BINARY_METRICS` or :data:`MULTICLASS_METRICS`).
    """
    n_classes = probabilities.shape[1]
    onehot = np.eye(n_classes)[y]
    if n_classes == 2:
        positive = probabilities[:, 1]
        predicted = (positive >= thresholds).astype(int)
        sensitivity = _rate(predicted[y == 1] == 1)
        specificity = _rate(predicted[y == 0] == 0)
        slope, intercept = calibration_slope_intercept(y, positive)
        return {"auroc": auroc(y, positive), "balanced_accuracy": 0.5 * (sensitivity + specificity),
                "sensitivity": sensitivity, "specificity": specificity,
                "brier": float(np.mean((positive - y) ** 2)),
                "calibration_slope": slope, "calibration_intercept": intercept}
    predicted = np.argmax(probabilities, axis=1)
    sensitivities = [_rate(predicted[y == k] == k) for k in range(n_classes)]
    specificities = [_rate(predicted[y != k] != k) for k in range(n_classes)]
    return {"auroc": auroc_macro(y, probabilities),
            "balanced_accuracy": float(np.nanmean(sensitivities)),
            "sensitivity": float(np.nanmean(sensitivities)), "specificity": float(np.nanmean(specificities)),
            "brier": float(np.mean(((probabilities - onehot) ** 2).sum(axis=1)))}


def _rate(hits: np.ndarray) -> float:
    return float(hits.mean()) if hits.size else np.nan


def repeated_metrics(y: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray | None,
                     rows: np.ndarray | None = None) -> dict:
    """Metrics averaged over repeats, optionally on a subset (bootstrap resample) of patients.

    Parameters
    ----------
    y : ndarray of shape (n_patients,)
    probabilities : ndarray of shape (n_repeats, n_patients, n_classes)
    thresholds : ndarray of shape (n_repeats, n_patients) or None
    rows : ndarray of int, optional
        Patients to use (repetitions allowed); default all.
    """
    rows = np.arange(y.size) if rows is None else rows
    per_repeat = [classification_metrics(y[rows], probabilities[r][rows],
                                         None if thresholds is None else thresholds[r][rows])
                  for r in range(probabilities.shape[0])]
    return {name: float(np.nanmean([m[name] for m in per_repeat]))
            if not all(np.isnan(m[name]) for m in per_repeat) else np.nan
            for name in per_repeat[0]}


def bootstrap_rows(y: np.ndarray, n_resamples: int, random_state: int) -> np.ndarray:
    """Patient resamples stratified by class: shape (n_resamples, n_patients), same class counts."""
    rng = np.random.default_rng(random_state)
    by_class = [np.flatnonzero(y == label) for label in np.unique(y)]
    return np.vstack([np.concatenate([rng.choice(members, size=members.size, replace=True)
                                      for members in by_class])
                      for _ in range(n_resamples)])


def auroc_resamples(y: np.ndarray, score: np.ndarray, resamples: np.ndarray) -> np.ndarray:
    """AUROC of every resample at once: row ``b`` equals ``auroc(y[resamples[b]], score[resamples[b]])``.

    Parameters
    ----------
    y : ndarray of shape (n_patients,)
        Binary outcome (1 positive).
    score : ndarray of shape (n_patients,)
    resamples : ndarray of int, shape (n_resamples, n_rows)

    Returns
    -------
    ndarray of shape (n_resamples,)
        NaN for a resample holding a single class.
    """
    positive = np.asarray(y)[resamples] == 1
    n_pos = positive.sum(axis=1)
    n_neg = resamples.shape[1] - n_pos
    ranks = stats.rankdata(np.asarray(score)[resamples], axis=1)
    rank_sums = np.where(positive, ranks, 0.0).sum(axis=1)
    defined = (n_pos > 0) & (n_neg > 0)
    values = np.full(resamples.shape[0], np.nan)
    values[defined] = ((rank_sums[defined] - n_pos[defined] * (n_pos[defined] + 1) / 2)
                       / (n_pos[defined] * n_neg[defined]))
    return values


def _logistic_fit_batch(design: np.ndarray, y: np.ndarray, offset: np.ndarray,
                        max_iterations: int = 50, tolerance: float = 1e-8) -> np.ndarray:
    """:func:`_logistic_fit` of many independent problems, stacked: design (B, n, p), y and offset (B, n).

    Every problem takes the same Newton-Raphson steps as alone (the same
    BLAS and LAPACK calls on each slice) and stops, or fails to NaN, on the same
    conditions. Returns the coefficients, shape (B, p).
    """
    n_problems, _, n_coefficients = design.shape
    beta = np.zeros((n_problems, n_coefficients))
    result = np.full((n_problems, n_coefficients), np.nan)
    active = np.arange(n_problems)
    for _ in range(max_iterations):
        if not active.size:
            break
        rows = design[active]
        transposed = np.swapaxes(rows, 1, 2)
        eta = offset[active] + (rows @ beta[active][:, :, None])[:, :, 0]
        with np.errstate(over="ignore"):  # exp(-eta) = inf for eta < -709 gives mu = 0, its limit
            mu = 1.0 / (1.0 + np.exp(-eta))
        weight = mu * (1 - mu)
        hessian = transposed @ (rows * weight[:, :, None])
        gradient = (transposed @ (y[active] - mu)[:, :, None])[:, :, 0]
        step, solved = _solve_batch(hessian, gradient)
        updated = beta[active] + step
        failed = ~solved | ~np.all(np.isfinite(updated), axis=1) | (np.max(np.abs(updated), axis=1) > 1e6)
        converged = ~failed & (np.max(np.abs(step), axis=1) < tolerance)
        beta[active] = updated
        result[active[converged]] = updated[converged]
        active = active[~failed & ~converged]
    return result


def _solve_batch(matrices: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve each ``matrices[b] x = vectors[b]``; a singular system gives NaN and ``solved`` False."""
    try:
        return np.linalg.solve(matrices, vectors[:, :, None])[:, :, 0], np.ones(len(matrices), dtype=bool)
    except np.linalg.LinAlgError:
        steps = np.full(vectors.shape, np.nan)
        solved = np.ones(len(matrices), dtype=bool)
        for b, (matrix, vector) in enumerate(zip(matrices, vectors)):
            try:
                steps[b] = np.linalg.solve(matrix, vector)
            except np.linalg.LinAlgError:
                solved[b] = False
        return steps, solved


def calibration_resamples(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`calibration_slope_intercept` of every row of ``y`` and ``p`` (shape (B, n)) at once."""
    y = np.asarray(y, dtype=float)
    x = _logit(np.asarray(p, dtype=float))
    ones = np.ones_like(x)
    slope = _logistic_fit_batch(np.stack([ones, x], axis=2), y, np.zeros_like(x))[:, 1]
    intercept = _logistic_fit_batch(ones[:, :, None], y, x)[:, 0]
    return slope, intercept


def binary_metric_resamples(y: np.ndarray, positive: np.ndarray, thresholds: np.ndarray,
                            resamples: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`classification_metrics` of a binary outcome on every resample at once (one repeat).

    Row ``b`` of each array equals ``classification_metrics(y[rows], probabilities[rows],
    thresholds[rows])[name]`` with ``rows = resamples[b]``.

    Parameters
    ----------
    y : ndarray of shape (n_patients,)
    positive : ndarray of shape (n_patients,)
        Probability of class 1.
    thresholds : ndarray of shape (n_patients,)
    resamples : ndarray of int, shape (n_resamples, n_rows)

    Returns
    -------
    dict of str to ndarray of shape (n_resamples,)
        Keys :data:`BINARY_METRICS`.
    """
    labels, scores = np.asarray(y)[resamples], positive[resamples]
    predicted = scores >= thresholds[resamples]
    sensitivity = _rates(predicted & (labels == 1), labels == 1)
    specificity = _rates(~predicted & (labels == 0), labels == 0)
    slope, intercept = calibration_resamples(labels, scores)
    return {"auroc": auroc_resamples(y, positive, resamples), "balanced_accuracy": 0.5 * (sensitivity + specificity),
            "sensitivity": sensitivity, "specificity": specificity,
            "brier": np.mean((scores - labels) ** 2, axis=1),
            "calibration_slope": slope, "calibration_intercept": intercept}


def _rates(hits: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per row: hits among members / members (NaN without members), as :func:`_rate` row by row."""
    counts = members.sum(axis=1)
    return np.divide(hits.sum(axis=1), counts, out=np.full(len(counts), np.nan), where=counts > 0)


def resampled_metrics(y: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray | None,
                      resamples: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`repeated_metrics` of every resample: metric name -> ndarray of shape (n_resamples,).

    Binary outcomes are computed for all resamples at once; multi-class outcomes one resample at a time.
    """
    if probabilities.shape[2] != 2:
        draws = [repeated_metrics(y, probabilities, thresholds, rows) for rows in resamples]
        return {name: np.asarray([d[name] for d in draws]) for name in draws[0]} if draws else {}
    per_repeat = [binary_metric_resamples(y, probabilities[r][:, 1], thresholds[r], resamples)
                  for r in range(probabilities.shape[0])]
    result = {}
    for name in per_repeat[0]:
        stacked = np.vstack([m[name] for m in per_repeat])
        undefined = np.all(np.isnan(stacked), axis=0)
        with np.errstate(invalid="ignore"):
            values = np.nanmean(np.where(undefined, 0.0, stacked), axis=0)
        values[undefined] = np.nan
        result[name] = values
    return result


def metrics_with_intervals(y: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray | None,
                           resamples: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Each metric's value and 95 % bootstrap percentile interval: name -> (value, low, high)."""
    point = repeated_metrics(y, probabilities, thresholds)
    draws = resampled_metrics(y, probabilities, thresholds, resamples)
    result = {}
    for name, value in point.items():
        samples = draws[name] if name in draws else np.asarray([])
        samples = samples[np.isfinite(samples)]
        low, high = (np.percentile(samples, [2.5, 97.5]) if samples.size else (np.nan, np.nan))
        result[name] = (value, float(low), float(high))
    return result


def roc_band(y: np.ndarray, probabilities: np.ndarray, resamples: np.ndarray,
             fpr_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean ROC curve over repeats and its 95 % bootstrap band, on a grid of false-positive rates.

    Multi-class outcomes use the micro-averaged one-vs-rest curve.

    Returns
    -------
    tpr, low, high : ndarray of shape (len(fpr_grid),)
    """
    labels, scores = _binary_view(y, probabilities)
    n_classes = probabilities.shape[2]

    def mean_curve(rows):
        if n_classes > 2:
            rows = _expand_rows(rows, n_classes)
        return np.mean([_tpr_on_grid(labels[r][rows], scores[r][rows], fpr_grid)
                        for r in range(len(scores))], axis=0)

    curve = mean_curve(np.arange(y.size))
    band = np.vstack([mean_curve(rows) for rows in resamples])
    low, high = np.nanpercentile(band, [2.5, 97.5], axis=0)
    return curve, low, high


def _expand_rows(rows: np.ndarray, n_classes: int) -> np.ndarray:
    """Patient rows -> rows of the flattened (patient, class) one-vs-rest view."""
    return (rows[:, None] * n_classes + np.arange(n_classes)[None, :]).ravel()


def _binary_view(y: np.ndarray, probabilities: np.ndarray) -> tuple[list, list]:
    """Per repeat: labels and scores of the positive class, or flattened one-vs-rest pairs."""
    n_classes = probabilities.shape[2]
    if n_classes == 2:
        return [y] * probabilities.shape[0], [p[:, 1] for p in probabilities]
    onehot = np.eye(n_classes, dtype=int)[y].ravel()
    return [onehot] * probabilities.shape[0], [p.ravel() for p in probabilities]


def binary_view(y: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores of all repeats stacked (binary, or micro one-vs-rest for several classes)."""
    labels, scores = _binary_view(y, probabilities)
    return np.concatenate(labels), np.concatenate(scores)


def _tpr_on_grid(labels: np.ndarray, scores: np.ndarray, fpr_grid: np.ndarray) -> np.ndarray:
    """True-positive rate of the empirical ROC curve at given false-positive rates (step interpolation)."""
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return np.full(fpr_grid.size, np.nan)
    order = np.argsort(-scores, kind="mergesort")
    ordered_scores, ordered_labels = scores[order], labels[order]
    distinct = np.r_[np.flatnonzero(np.diff(ordered_scores)), ordered_scores.size - 1]
    tps = np.cumsum(ordered_labels)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / n_pos]
    fpr = np.r_[0.0, fps / n_neg]
    return np.interp(fpr_grid, fpr, tpr)


def calibration_curve_points(y: np.ndarray, probabilities: np.ndarray, n_bins: int = 10):
    """Observed event rate against mean predicted probability, in quantile bins of the predictions.

    All repeats are pooled (binary: class-1 probability; several classes: every
    one-vs-rest pair).

    Returns
    -------
    predicted, observed : ndarray of shape (n_bins_used,)
    """
    labels, scores = binary_view(y, probabilities)
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1)))
    if edges.size < 2:
        return np.asarray([scores.mean()]), np.asarray([labels.mean()])
    bins = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, edges.size - 2)
    used = np.unique(bins)
    predicted = np.asarray([scores[bins == b].mean() for b in used])
    observed = np.asarray([labels[bins == b].mean() for b in used])
    return predicted, observed


def net_benefit(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> pd.DataFrame:
    """Decision curve: net benefit of treating by the model, of treating all and of treating none.

    Net benefit at threshold probability ``t`` (Vickers and Elkin 2006) is
    ``TP/n - FP/n * t / (1 - t)``, where a patient is treated when ``p >= t``.

    Parameters
    ----------
    y : array of shape (n,)
        Binary outcome, 1 = event.
    p : array of shape (n,)
        Predicted probability of the event.
    thresholds : array
        Threshold probabilities, each in (0, 1).

    Returns
    -------
    DataFrame
        Columns ``threshold``, ``model``, ``treat_all`` and ``treat_none`` (always 0).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    if np.any((thresholds <= 0) | (thresholds >= 1)):
        raise ValueError("decision-curve thresholds must lie strictly between 0 and 1")
    n = y.size
    odds = thresholds / (1 - thresholds)
    treated = p[None, :] >= thresholds[:, None]
    true_positive = (treated & (y[None, :] == 1)).sum(axis=1) / n
    false_positive = (treated & (y[None, :] == 0)).sum(axis=1) / n
    prevalence = y.mean()
    return pd.DataFrame({"threshold": thresholds,
                         "model": true_positive - false_positive * odds,
                         "treat_all": prevalence - (1 - prevalence) * odds,
                         "treat_none": np.zeros_like(thresholds)})
