"""Feature selection steps: scikit-learn's estimator checks, naive references, behaviour on awkward data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from radiomix.model.selection import (
    MRMR,
    CorrelationClusters,
    NearZeroVariance,
    UnivariateFDR,
    benjamini_hochberg,
    kruskal_wallis,
    spearman_matrix,
)

ZERO_COLUMNS = {"check_estimators_empty_data_messages": "a selection step after another may receive no column; "
                                               "it passes on no column instead of failing"}


@parametrize_with_checks(
    [NearZeroVariance(), CorrelationClusters(), UnivariateFDR(min_features=1), MRMR(n_features=2)],
    expected_failed_checks=lambda estimator: ZERO_COLUMNS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def naive_benjamini_hochberg(p):
    """q_i = min over j with p_j >= p_i of p_j m / rank_j (the step-up definition), capped at 1."""
    m = len(p)
    ranks = stats.rankdata(p, method="ordinal")
    return np.asarray([min(1.0, min(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i])) for i in range(m)])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_benjamini_hochberg_matches_naive(p_values):
    p = np.asarray(p_values)
    assert np.allclose(benjamini_hochberg(p), naive_benjamini_hochberg(p))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 4), st.booleans())
def test_kruskal_wallis_matches_scipy_with_ties_and_nan(seed, n_classes, with_nan):
    rng = np.random.default_rng(seed)
    n = 30
    y = np.arange(n) % n_classes
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 4, size=n).astype(float), np.full(n, 2.0)])
    if with_nan:
        X[rng.choice(n, 5, replace=False), 0] = np.nan
    statistic, p_value = kruskal_wallis(X, y)
    for j in range(2):
        groups = [X[(y == k) & ~np.isnan(X[:, j]), j] for k in range(n_classes)]
        expected = stats.kruskal(*groups)
        assert statistic[j] == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
        # near H = 0 the chi-squared tail moves like sqrt(H): rounding noise in H shows at ~1e-7
        assert p_value[j] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-6)
    assert statistic[2] == 0.0 and p_value[2] == 1.0


def test_spearman_matrix_matches_scipy_without_missing_values():
    X = np.random.default_rng(3).normal(size=(25, 4))
    assert np.allclose(spearman_matrix(X), stats.spearmanr(X).statistic)


def test_near_zero_variance_follows_caret_rule():
    n = 100
    X = pd.DataFrame({
        "constant": np.ones(n),
        "rare": np.r_[np.zeros(97), np.ones(3)],          # ratio 97/3 > 19, 2 % distinct: dropped
        "balanced_binary": np.r_[np.zeros(50), np.ones(50)],  # ratio 1: kept
        "continuous": np.linspace(0, 1, n),
        "empty": np.full(n, np.nan),
    })
    selector = NearZeroVariance().fit(X)
    assert list(selector.get_feature_names_out()) == ["balanced_binary", "continuous"]


def test_correlation_clusters_keep_one_feature_per_cluster():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 60))
    X = pd.DataFrame({"a1": a, "a2": a + 0.01 * rng.normal(size=60), "a3": 2 * a + 0.01 * rng.normal(size=60),
                      "b1": b, "b2": -b + 0.01 * rng.normal(size=60), "c": rng.normal(size=60)})
    X.iloc[3, 1] = np.nan
    selector = CorrelationClusters(threshold=0.9).fit(X)
    kept = list(selector.get_feature_names_out())
    assert len(kept) == 3 and "c" in kept
    assert sum(name.startswith("a") for name in kept) == 1 and sum(name.startswith("b") for name in kept) == 1
    assert len(np.unique(selector.clusters_)) == 3


def test_univariate_fdr_keeps_signal_and_falls_back_to_min_features():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    X = rng.normal(size=(80, 50))
    X[:, 7] += 2.0 * y
    X[rng.choice(80, 10, replace=False), 7] = np.nan
    selector = UnivariateFDR(alpha=0.05, min_features=1).fit(X, y)
    assert list(np.flatnonzero(selector.support_)) == [7]
    noise_only = UnivariateFDR(alpha=0.05, min_features=3).fit(X[:, :7], y)
    assert noise_only.support_.sum() == 3
    capped = UnivariateFDR(alpha=1.0, min_features=0, max_features=4).fit(X, y)
    assert capped.support_.sum() == 4 and capped.support_[7]


def test_mrmr_prefers_a_relevant_non_redundant_feature():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(50), np.ones(50)].astype(int)
    strong = y * 2.0 + rng.normal(size=100)
    X = pd.DataFrame({"strong": strong, "strong_copy": strong + 0.01 * rng.normal(size=100),
                      "other": y * 1.5 + rng.normal(size=100), "noise": rng.normal(size=100)})
    selector = MRMR(n_features=2).fit(X, y)
    assert list(selector.get_feature_names_out()) == ["strong", "other"] or \
        list(selector.get_feature_names_out()) == ["strong_copy", "other"]
    assert X.columns[selector.ranking_[1]] == "other"


def test_selectors_pass_on_zero_columns():
    X = pd.DataFrame(index=range(5))
    y = np.array([0, 1, 0, 1, 0])
    for selector in (NearZeroVariance(), CorrelationClusters(), UnivariateFDR(), MRMR()):
        out = selector.set_output(transform="pandas").fit(X, y).transform(X)
        assert out.shape == (5, 0)


@pytest.mark.parametrize("bad", [{"threshold": 0.0}, {"threshold": 1.5}])
def test_correlation_threshold_is_checked(bad):
    with pytest.raises(ValueError, match="threshold"):
        CorrelationClusters(**bad).fit(np.random.default_rng(0).normal(size=(10, 3)))


@pytest.mark.parametrize("selector", [NearZeroVariance(), CorrelationClusters(threshold=0.8),
                                      UnivariateFDR(min_features=2), MRMR(n_features=3)])
def test_float_frames_select_as_their_matrices(selector):
    """A float DataFrame (validated as its matrix) keeps the same columns as the matrix itself, records
    its names, gives the matrix's values under either output, and refuses other column names."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(30, 8))
    values[:, 1] = values[:, 0] + rng.normal(0, 0.05, 30)
    values[:, 2] = np.r_[np.ones(29), 2.0]
    values[rng.random((30, 8)) < 0.05] = np.nan
    y = (values[:, 0] + rng.normal(0, 0.5, 30) > 0).astype(int)
    frame = pd.DataFrame(values, columns=[f"f{j}" for j in range(8)], index=[f"p{i}" for i in range(30)])
    from_matrix = clone(selector).fit(values, y)
    from_frame = clone(selector).fit(frame, y)
    assert np.array_equal(from_frame.support_, from_matrix.support_)
    assert list(from_frame.feature_names_in_) == list(frame.columns)
    assert np.array_equal(from_frame.transform(frame), from_matrix.transform(values), equal_nan=True)
    pandas_output = clone(selector).set_output(transform="pandas").fit(frame, y).transform(frame)
    assert list(pandas_output.columns) == list(frame.columns[from_matrix.support_])
    assert list(pandas_output.index) == list(frame.index)
    with pytest.raises(ValueError, match="feature names"):
        from_frame.transform(frame.rename(columns={"f0": "g0"}))
