"""Feature selection steps, fitted inside each cross-validation fold.

Each step is a scikit-learn selector (``fit`` learns a column mask ``support_``;
``transform`` keeps those columns; ``get_feature_names_out`` keeps the radiomic
names) that tolerates missing values (a patient without a modality):

- :class:`NearZeroVariance` drops (near-)constant features (caret's ``nearZeroVar``);
- :class:`CorrelationClusters` keeps one feature per cluster of strongly
  correlated features (complete linkage on ``1 - |Spearman rho|``);
- :class:`UnivariateFDR` keeps the features whose Kruskal-Wallis test against the
  outcome passes a Benjamini-Hochberg false discovery rate;
- :class:`MRMR` keeps a fixed number of features by minimum redundancy, maximum
  relevance (the F-test correlation quotient of Ding & Peng 2005).

Fitting any of them on the whole cohort before cross-validation leaks the test
patients into the selection; put them in a :class:`~sklearn.pipeline.Pipeline`.
A step that receives no column (every feature dropped by the previous one)
passes on no column instead of failing.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import stats
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


def column_ranks(X: np.ndarray) -> np.ndarray:
    """Average ranks (1 = smallest) of each column, ignoring and keeping NaN."""
    return pd.DataFrame(X).rank(method="average", na_option="keep").to_numpy(dtype=float)


def spearman_matrix(X: np.ndarray) -> np.ndarray:
    """Spearman correlations between the columns of ``X`` (samples x features).

    Missing values take their column's mean rank (a fast stand-in for
    pairwise-complete correlation); a constant column correlates 0 with every
    other and 1 with itself.

    Returns
    -------
    ndarray of shape (n_features, n_features)
    """
    ranks = column_ranks(X)
    centred = ranks - np.nanmean(ranks, axis=0) if ranks.size else ranks
    centred = np.nan_to_num(centred, nan=0.0)
    norms = np.sqrt((centred**2).sum(axis=0))
    scaled = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)
    correlation = np.clip(scaled.T @ scaled, -1.0, 1.0)
    np.fill_diagonal(correlation, 1.0)
    return correlation


def kruskal_wallis(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kruskal-Wallis H statistic and p-value of every column against the classes ``y``.

    Uses the tie-corrected form ``H = (N - 1) sum_k n_k (rbar_k - rbar)^2 /
    sum_i (r_i - rbar)^2`` on each column's observed values (NaN ignored), with
    ``k - 1`` degrees of freedom, ``k`` the classes observed in the column. For
    two classes it is the two-sided Mann-Whitney test (normal approximation).
    A constant column, or one observed in a single class, has ``H = 0, p = 1``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    statistic, p_value : ndarray of shape (n_features,)
    """
    ranks = column_ranks(X)
    observed = ~np.isnan(ranks)
    filled = np.where(observed, ranks, 0.0)
    n = observed.sum(axis=0).astype(float)
    mean_rank = np.divide(filled.sum(axis=0), n, out=np.zeros(ranks.shape[1]), where=n > 0)
    deviations = np.where(observed, ranks - mean_rank, 0.0)
    total = (deviations**2).sum(axis=0)
    between = np.zeros(ranks.shape[1])
    classes_observed = np.zeros(ranks.shape[1])
    for label in np.unique(y):
        in_class = (y == label)[:, None] & observed
        count = in_class.sum(axis=0).astype(float)
        class_mean = np.divide(np.where(in_class, ranks, 0.0).sum(axis=0), count,
                               out=np.zeros(ranks.shape[1]), where=count > 0)
        between += count * (class_mean - mean_rank) ** 2
        classes_observed += count > 0
    dof = classes_observed - 1
    testable = (total > 0) & (dof > 0)
    statistic = np.zeros(ranks.shape[1])
    statistic[testable] = (n[testable] - 1) * between[testable] / total[testable]
    p_value = np.ones(ranks.shape[1])
    p_value[testable] = stats.chi2.sf(statistic[testable], dof[testable])
    return statistic, p_value


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), monotone, capped at 1."""
    p_values = np.asarray(p_values, dtype=float)
    m = p_values.size
    if m == 0:
        return p_values.copy()
    order = np.argsort(p_values, kind="stable")
    scaled = p_values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q_values = np.empty(m)
    q_values[order] = np.minimum(adjusted, 1.0)
    return q_values


class _Selector(SelectorMixin, BaseEstimator):
    """Shared plumbing: NaN-tolerant validation, zero-column passthrough, fitted mask."""

    _requires_y = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = self._requires_y
        return tags

    def _validate(self, X, y):
        """Validated float matrix (and class labels when needed)."""
        if _has_no_columns(X):
            self.n_features_in_ = 0
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray([], dtype=object)
            return np.empty((len(X), 0)), None if y is None else np.asarray(y)
        names = _float_frame_names(X)
        if names is not None:  # validated as its float matrix: the same checks, without per-column ones
            X = X.to_numpy()
        if self._requires_y:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
            check_classification_targets(y)
        else:
            X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if names is not None:
            self.feature_names_in_ = names
        return X, y

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def transform(self, X):
        """Keep the selected columns (names and DataFrame index kept with pandas output)."""
        check_is_fitted(self, "support_")
        if self.n_features_in_ == 0:
            return X.iloc[:, :0] if isinstance(X, pd.DataFrame) else np.empty((len(X), 0))
        names = _float_frame_names(X)
        if names is not None and np.array_equal(names, getattr(self, "feature_names_in_", None)):
            return X.to_numpy()[:, self.support_]
        return super().transform(X)


def _has_no_columns(X) -> bool:
    return hasattr(X, "shape") and len(X.shape) == 2 and X.shape[1] == 0 and X.shape[0] > 0


def _float_frame_names(X) -> np.ndarray | None:
    """Column names of a DataFrame of float64 columns named by strings (what scikit-learn would
    record as ``feature_names_in_``); None for anything else, which takes scikit-learn's full checks."""
    if not isinstance(X, pd.DataFrame) or not X.shape[1]:
        return None
    if not all(dtype == np.float64 for dtype in X.dtypes) or not all(isinstance(c, str) for c in X.columns):
        return None
    return np.asarray(X.columns, dtype=object)


class NearZeroVariance(_Selector):
    """Drop constant and near-constant features (caret's ``nearZeroVar``).

    A feature is dropped when it has fewer than two distinct observed values,
    or when both its most common value is more than ``frequency_ratio`` times
    as frequent as its second most common value and its distinct values are
    at most ``unique_percent`` % of its observed values. Missing values are
    ignored.

    Parameters
    ----------
    frequency_ratio : float, default=19.0
        Most common / second most common frequency above which a feature is suspect (caret: 95/5).
    unique_percent : float, default=10.0
        Distinct values as a percentage of observed values, at or below which a
        suspect feature is dropped.

    Attributes
    ----------
    support_ : ndarray of bool
        Kept features.
    frequency_ratios_ : ndarray of float
        Most common / second most common frequency of each feature with at
        least two distinct values, at most ``unique_percent`` % of them (NaN
        for the others, which are never near-zero).
    unique_percents_ : ndarray of float
        Each feature's distinct values as a percentage of its observed values.
    """

    def __init__(self, frequency_ratio=95.0 / 5.0, unique_percent=10.0):
        self.frequency_ratio = frequency_ratio
        self.unique_percent = unique_percent

    def fit(self, X, y=None):
        """Learn which features are (near-)constant.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.
        y : None
            Ignored.

        Returns
        -------
        self : NearZeroVariance
        """
        _check_positive(self.frequency_ratio, "frequency_ratio")
        X, _ = self._validate(X, y)
        ordered = np.sort(X, axis=0)
        observed = ~np.isnan(ordered)
        n_observed = observed.sum(axis=0)
        changes = (np.diff(ordered, axis=0) != 0) & observed[1:]
        distinct = np.where(n_observed > 0, changes.sum(axis=0) + 1, 0)
        percents = np.divide(100.0 * distinct, n_observed, out=np.zeros(X.shape[1]), where=n_observed > 0)
        ratios = np.full(X.shape[1], np.nan)
        for j in np.flatnonzero((distinct >= 2) & (percents <= self.unique_percent)):
            _, counts = np.unique(ordered[observed[:, j], j], return_counts=True)
            top_two = np.sort(counts)[-2:]
            ratios[j] = top_two[1] / top_two[0]
        near_zero = (ratios > self.frequency_ratio) & (percents <= self.unique_percent)
        self.frequency_ratios_ = ratios
        self.unique_percents_ = percents
        self.support_ = (distinct >= 2) & ~near_zero
        return self


class CorrelationClusters(_Selector):
    """Keep one feature per cluster of strongly correlated features.

    Features are clustered by complete linkage on the distance
    ``1 - |Spearman rho|`` and the tree is cut at ``1 - threshold``, so that
    every pair of features within a cluster has ``|rho| >= threshold``. Each
    cluster keeps its most representative member: the one with the largest mean
    ``|rho|`` to the other members (the first in column order on ties). Missing
    values take their column's mean rank.

    Parameters
    ----------
    threshold : float, default=0.9
        Smallest ``|rho|`` between two members of a cluster, in (0, 1].

    Attributes
    ----------
    support_ : ndarray of bool
        The kept representatives.
    clusters_ : ndarray of int
        Cluster number (1-based) of every input feature.
    """

    def __init__(self, threshold=0.9):
        self.threshold = threshold

    def fit(self, X, y=None):
        """Cluster the features and choose one representative per cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.
        y : None
            Ignored.

        Returns
        -------
        self : CorrelationClusters
        """
        if not isinstance(self.threshold, numbers.Real) or not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be a number in (0, 1], got {self.threshold!r}")
        X, _ = self._validate(X, y)
        n_features = X.shape[1]
        self.support_ = np.zeros(n_features, dtype=bool)
        if n_features <= 1:
            self.support_[:] = True
            self.clusters_ = np.ones(n_features, dtype=int)
            return self
        similarity = np.abs(spearman_matrix(X))
        distance = squareform(1.0 - similarity, checks=False)
        clusters = fcluster(linkage(np.clip(distance, 0.0, None), method="complete"),
                            t=1.0 - self.threshold, criterion="distance")
        labels, sizes = np.unique(clusters, return_counts=True)
        self.support_[np.isin(clusters, labels[sizes == 1])] = True
        for cluster in labels[sizes > 1]:
            members = np.flatnonzero(clusters == cluster)
            within = similarity[np.ix_(members, members)]
            mean_similarity = (within.sum(axis=1) - 1.0) / max(members.size - 1, 1)
            self.support_[members[np.argmax(mean_similarity)]] = True
        self.clusters_ = clusters
        return self


class UnivariateFDR(_Selector):
    """Keep features associated with the outcome at a false discovery rate.

    Each feature is tested against the classes with the Kruskal-Wallis test
    (two-sided Mann-Whitney for two classes; missing values ignored) and the
    p-values are adjusted by Benjamini-Hochberg.

    Parameters
    ----------
    alpha : float, default=0.05
        False discovery rate: features with adjusted p-value <= alpha pass.
    min_features : int, default=5
        If fewer pass, this many with the smallest p-values are kept (all, if
        there are fewer features).
    max_features : int or None, default=None
        At most this many (smallest p-values) are kept.

    Attributes
    ----------
    support_ : ndarray of bool
    statistics_, p_values_, q_values_ : ndarray of float
        Kruskal-Wallis H, raw and adjusted p-values of every input feature.
    """

    _requires_y = True

    def __init__(self, alpha=0.05, min_features=5, max_features=None):
        self.alpha = alpha
        self.min_features = min_features
        self.max_features = max_features

    def fit(self, X, y):
        """Test every feature against ``y`` and keep the discoveries.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : UnivariateFDR
        """
        if not isinstance(self.alpha, numbers.Real) or not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be a number in (0, 1], got {self.alpha!r}")
        _check_count(self.min_features, "min_features", allow_zero=True)
        if self.max_features is not None:
            _check_count(self.max_features, "max_features")
        X, y = self._validate(X, y)
        self.statistics_, self.p_values_ = kruskal_wallis(X, y)
        self.q_values_ = benjamini_hochberg(self.p_values_)
        order = np.argsort(self.p_values_, kind="stable")
        n_keep = int((self.q_values_ <= self.alpha).sum())
        n_keep = max(n_keep, min(self.min_features, X.shape[1]))
        if self.max_features is not None:
            n_keep = min(n_keep, self.max_features)
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[order[:n_keep]] = True
        return self


class MRMR(_Selector):
    """Minimum-redundancy maximum-relevance selection (F-test correlation quotient).

    Greedy: the first feature is the most relevant; each next one maximises
    ``relevance / mean |Spearman rho| with the features already chosen``.
    Relevance is the Kruskal-Wallis H statistic against the classes (missing
    values ignored); redundancy uses Spearman correlations (missing values at
    their column's mean rank). A redundancy below ``1e-6`` counts as ``1e-6``.

    Parameters
    ----------
    n_features : int, default=20
        Features to choose (all, if there are fewer).

    Attributes
    ----------
    support_ : ndarray of bool
    ranking_ : ndarray of int
        Input positions of the chosen features, in the order chosen.
    relevance_ : ndarray of float
        Kruskal-Wallis H of every input feature.
    """

    _requires_y = True
    _min_redundancy = 1e-6

    def __init__(self, n_features=20):
        self.n_features = n_features

    def fit(self, X, y):
        """Choose ``n_features`` features greedily.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; NaN allowed.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : MRMR
        """
        _check_count(self.n_features, "n_features")
        X, y = self._validate(X, y)
        relevance, _ = kruskal_wallis(X, y)
        n_choose = min(self.n_features, X.shape[1])
        redundancy_sum = np.zeros(X.shape[1])
        similarity = np.abs(spearman_matrix(X)) if n_choose > 1 else None
        available = np.ones(X.shape[1], dtype=bool)
        chosen = []
        for step in range(n_choose):
            if step == 0:
                score = relevance.copy()
            else:
                score = relevance / np.maximum(redundancy_sum / step, self._min_redundancy)
            score[~available] = -np.inf
            best = int(np.argmax(score))
            chosen.append(best)
            available[best] = False
            if similarity is not None:
                redundancy_sum += similarity[best]
        self.relevance_ = relevance
        self.ranking_ = np.asarray(chosen, dtype=int)
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[self.ranking_] = True
        return self


def _check_positive(value, name: str) -> None:
    if not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _check_count(value, name: str, allow_zero: bool = False) -> None:
    smallest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < smallest:
        raise ValueError(f"{name} must be an integer >= {smallest}, got {value!r}")
