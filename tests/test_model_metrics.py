"""Metrics, DeLong and bootstrap against naive references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, roc_auc_score

from radiomix.model.metrics import (
    BINARY_METRICS,
    auroc,
    auroc_macro,
    auroc_resamples,
    bootstrap_rows,
    calibration_slope_intercept,
    classification_metrics,
    delong_covariance,
    delong_test,
    metrics_with_intervals,
    repeated_metrics,
    resampled_metrics,
    roc_band,
    youden_threshold,
)


def naive_delong(y, scores):
    """DeLong's structural components with the pairwise kernel psi (1, 1/2, 0), O(m n)."""
    positives, negatives = scores[:, y == 1], scores[:, y == 0]
    m, n = positives.shape[1], negatives.shape[1]
    k = scores.shape[0]
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r in range(k):
        for i in range(m):
            for j in range(n):
                psi = 1.0 if positives[r, i] > negatives[r, j] else 0.5 if positives[r, i] == negatives[r, j] else 0.0
                v10[r, i] += psi / n
                v01[r, j] += psi / m
    aurocs = v10.mean(axis=1)
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return aurocs, s10 / m + s01 / n


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.integers(3, 25), st.integers(3, 25), st.booleans())
def test_delong_covariance_matches_naive(seed, n_pos, n_neg, with_ties):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)].astype(int)
    scores = rng.normal(size=(2, y.size)) + y
    if with_ties:
        scores = np.round(scores)
    aurocs, covariance = delong_covariance(y, scores)
    expected_aurocs, expected_covariance = naive_delong(y, scores)
    assert np.allclose(aurocs, expected_aurocs)
    assert np.allclose(covariance, expected_covariance)
    assert aurocs[0] == pytest.approx(roc_auc_score(y, scores[0]))


def test_delong_test_is_symmetric_and_detects_a_better_score():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    good = y * 2.0 + rng.normal(size=200)
    poor = y * 0.3 + rng.normal(size=200)
    forward, backward = delong_test(y, good, poor), delong_test(y, poor, good)
    assert forward.p_value == pytest.approx(backward.p_value)
    assert forward.difference == pytest.approx(-backward.difference)
    assert forward.p_value < 1e-4 and forward.ci_low > 0
    same = delong_test(y, good, good)
    assert same.p_value == 1.0 and same.difference == 0.0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000))
def test_auroc_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 1, rng.integers(0, 2, 30)]
    score = np.round(rng.normal(size=32), 1)
    assert auroc(y, score) == pytest.approx(roc_auc_score(y, score))
    probabilities = rng.dirichlet(np.ones(3), size=32)
    labels = np.r_[0, 1, 2, rng.integers(0, 3, 29)]
    assert auroc_macro(labels, probabilities) == pytest.approx(
        roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))


def test_classification_metrics_binary_match_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 100)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 100), 0, 1)
    thresholds = np.full(100, 0.45)
    result = classification_metrics(y, np.column_stack([1 - p, p]), thresholds)
    predicted = (p >= 0.45).astype(int)
    assert result["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, predicted))
    assert result["brier"] == pytest.approx(brier_score_loss(y, p))
    assert result["sensitivity"] == pytest.approx(predicted[y == 1].mean())
    assert result["specificity"] == pytest.approx(1 - predicted[y == 0].mean())


def test_calibration_slope_and_intercept():
    rng = np.random.default_rng(5)
    logit = rng.normal(0, 1.5, 20_000)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.uniform(size=p.size) < p).astype(int)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05) and intercept == pytest.approx(0.0, abs=0.05)
    overconfident = 1 / (1 + np.exp(-2 * logit))
    slope, _ = calibration_slope_intercept(y, overconfident)
    assert slope == pytest.approx(0.5, abs=0.05)
    shifted = 1 / (1 + np.exp(-(logit + 1)))
    _, intercept = calibration_slope_intercept(y, shifted)
    assert intercept == pytest.approx(-1.0, abs=0.05)
    separated = calibration_slope_intercept(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert np.isnan(separated[0])


def test_youden_threshold_separates_separable_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    score = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    threshold = youden_threshold(y, score)
    assert 0.3 < threshold <= 0.6
    assert youden_threshold(np.zeros(4, int), score[:4]) == 0.5


def test_bootstrap_rows_are_stratified_and_seeded():
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    rows = bootstrap_rows(y, 50, random_state=3)
    assert rows.shape == (50, 40)
    assert np.all((y[rows] == 1).sum(axis=1) == 10)
    assert np.array_equal(rows, bootstrap_rows(y, 50, random_state=3))


def test_intervals_cover_the_point_estimate_and_band_is_ordered():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 80)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, (2, 80)), 0, 1)
    probabilities = np.stack([np.column_stack([1 - r, r]) for r in p])
    thresholds = np.full((2, 80), 0.5)
    resamples = bootstrap_rows(y, 100, 0)
    result = metrics_with_intervals(y, probabilities, thresholds, resamples)
    for name, (value, low, high) in result.items():
        assert low <= value <= high, name
    expected_auroc = np.mean([roc_auc_score(y, r) for r in p])
    assert result["auroc"][0] == pytest.approx(expected_auroc)
    grid = np.linspace(0, 1, 21)
    tpr, low, high = roc_band(y, probabilities, resamples, grid)
    assert np.all(np.diff(tpr) >= -1e-12) and np.all(low <= high) and tpr[-1] == 1.0
    assert stats.spearmanr(grid, tpr).statistic > 0.9


def test_net_benefit_matches_a_hand_count():
    """Treat when p >= 0.5: 0.9 is a true positive, 0.6 and 0.7 false positives."""
    from radiomix.model.metrics import net_benefit

    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.9, 0.6, 0.4, 0.2, 0.7])
    table = net_benefit(y, p, np.array([0.25, 0.5]))
    assert np.isclose(table["model"][1], 1 / 5 - 2 / 5 * 1.0)
    assert np.isclose(table["treat_all"][1], 2 / 5 - 3 / 5 * 1.0)
    assert np.isclose(table["model"][0], 2 / 5 - 2 / 5 * (0.25 / 0.75))  # 0.9, 0.4 TP; 0.6, 0.7 FP
    assert (table["treat_none"] == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        net_benefit(y, p, np.array([1.0]))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000), st.integers(2, 40), st.integers(1, 3), st.booleans(), st.booleans())
def test_resampled_metrics_equal_the_row_by_row_loop(seed, n_patients, n_repeats, ties, separable):
    """All resamples at once give exactly the values of one resample at a time (ties, one-class
    resamples, non-converging calibration fits of separable scores included)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_patients)
    p = rng.uniform(size=(n_repeats, n_patients))
    if separable:
        p = 0.5 * p + 0.5 * y
    if ties:
        p = np.round(p, 1)
    probabilities = np.stack([np.column_stack([1 - r, r]) for r in p])
    thresholds = rng.uniform(0.2, 0.8, (n_repeats, n_patients))
    resamples = np.vstack([bootstrap_rows(y, 20, seed), rng.integers(0, n_patients, (20, n_patients))])
    draws = resampled_metrics(y, probabilities, thresholds, resamples)
    loop = [repeated_metrics(y, probabilities, thresholds, rows) for rows in resamples]
    assert set(draws) == set(BINARY_METRICS)
    for name in BINARY_METRICS:
        assert np.array_equal(draws[name], np.asarray([d[name] for d in loop]), equal_nan=True), name
    assert np.array_equal(auroc_resamples(y, p[0], resamples),
                          np.asarray([auroc(y[rows], p[0][rows]) for rows in resamples]), equal_nan=True)


def test_resampled_metrics_of_several_classes_equal_the_loop():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 30)
    probabilities = rng.dirichlet(np.ones(3), size=(2, 30))
    resamples = bootstrap_rows(y, 15, 0)
    draws = resampled_metrics(y, probabilities, None, resamples)
    for name, values in draws.items():
        assert np.array_equal(values, [repeated_metrics(y, probabilities, None, rows)[name] for rows in resamples],
                              equal_nan=True)
