"""ComBat harmonization as a scikit-learn transformer, fitted inside each fold.

Radiomic features shift with scanner and site.  :class:`ComBat` learns the
per-batch location and scale of every feature on the rows it is fitted on (a
training fold) and applies them to any rows of known batches (the test fold), so
that harmonization sits inside a :class:`~sklearn.pipeline.Pipeline` and never
sees the test set.  The arithmetic is in :mod:`radiomix.harmonize._combat_math`.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Hashable, Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from radiomix.harmonize._combat_math import ComBatEstimates, apply_combat, fit_combat

UNSEEN_BATCH_OPTIONS = ("error", "passthrough")


class UnseenBatchWarning(UserWarning):
    """Rows of a batch unknown to the fitted ComBat were returned unchanged."""


class ComBatWarning(UserWarning):
    """The data could not support all the adjustment asked for (see ComBat's Notes)."""


class ComBat(TransformerMixin, BaseEstimator):
    """Empirical-Bayes ComBat harmonization (Johnson, Li & Rabinovic 2007).

    Removes additive and multiplicative batch (site, scanner) effects from every
    feature while preserving the effect of biological covariates::

        y_if = alpha_f + c_i . beta_f + gamma_kf + delta_kf * e_if

    ``fit`` estimates ``alpha``, ``beta``, the pooled standard deviation and the
    per-batch ``gamma`` and ``delta`` (shrunk towards priors shared across
    features when ``eb=True``); ``transform`` maps each row of batch ``k`` to
    ``(z - gamma_star_k) / sqrt(delta_star_k)``, back in feature units, where
    ``z`` is the row standardised by ``alpha + c . beta`` and the pooled standard
    deviation.  Results agree with ``neuroCombat`` and R ``sva::ComBat``.

    Fit it inside each cross-validation fold (put it in a ``Pipeline``): fitting
    on the whole cohort before splitting lets the test rows shape the
    harmonization, and protecting the outcome as a covariate makes
    ``transform`` need the outcome of the rows it harmonizes.

    Parameters
    ----------
    batch_col : str, int or None, default=None
        The batch column of ``X``: a column name (DataFrame input) or an integer
        position (any input).  ``None``: the batch labels are passed as the
        ``batch`` argument of ``fit`` and ``transform`` (metadata routing).
    covariate_cols : sequence of str or int, default=()
        Continuous covariates to preserve (columns of ``X``, e.g. age).  A column
        also named in ``categorical_cols`` is treated as categorical.
    categorical_cols : sequence of str or int, default=()
        Categorical covariates to preserve (e.g. sex), encoded as indicators of
        every level but the first (sorted) one.
    parametric : bool, default=True
        Normal / inverse-gamma priors (parametric) or the non-parametric prior
        (likelihood-weighted average over the other features).
    eb : bool, default=True
        Empirical Bayes shrinkage.  ``False``: the plain per-batch location and
        scale estimates (``gamma_hat``, ``delta_hat``) are applied.
    mean_only : bool, default=False
        Adjust the location only (``delta = 1``).
    ref_batch : label or None, default=None
        Reference batch: its rows are returned unchanged and the other batches
        are mapped onto its location and scale.
    unseen_batch : {"error", "passthrough"}, default="error"
        What ``transform`` does with rows of a batch absent at fit: raise a
        ``ValueError`` naming it, or return them unchanged with an
        :class:`UnseenBatchWarning`.
    min_batch_size : int, default=1
        Fewest rows with feature values a batch needs at fit to be harmonized.
        A smaller batch is left out of the fit and its rows are returned
        unchanged by ``transform`` (both with a :class:`ComBatWarning` naming
        it); see Notes.

    Attributes
    ----------
    batches_ : ndarray of shape (n_batches,)
        Batch labels seen at fit, sorted.
    batch_sizes_ : ndarray of shape (n_batches,)
        Rows of each batch at fit.
    small_batches_ : ndarray of shape (n_small_batches,)
        Batches seen at fit with fewer than ``min_batch_size`` rows with values,
        sorted: left unharmonized.
    categories_ : dict
        Levels (sorted) of each categorical covariate.
    covariate_names_ : ndarray of str
        Encoded covariate columns: ``age``, ``sex[M]``, ...
    grand_mean_ : ndarray of shape (n_features_out,)
        Batch-free location ``alpha`` of each feature, in feature units.
    covariate_coef_ : ndarray of shape (n_covariate_columns, n_features_out)
        Covariate effects ``beta``, in feature units.
    pooled_std_ : ndarray of shape (n_features_out,)
        Pooled residual standard deviation used to standardise, in feature
        units; 1.0 for the features of ``zero_variance_features_``.
    zero_variance_features_ : ndarray of str
        Features with zero pooled residual variance at fit (see Notes).
    gamma_hat_, delta_hat_ : ndarray of shape (n_batches, n_features_out)
        Per-batch location and scale estimates, standardised units.
    gamma_star_, delta_star_ : ndarray of shape (n_batches, n_features_out)
        The adjustments applied (posterior means with ``eb=True``).
    n_features_in_ : int
        Columns of ``X`` at fit, batch and covariate columns included.
    feature_names_in_ : ndarray of str
        Column names of ``X`` at fit, when they are all strings.

    Notes
    -----
    Explicit behaviour on awkward data:

    - **Missing values (NaN)** in feature columns are ignored: each feature is
      fitted on the rows where it is observed, and NaN stays NaN.  A row whose
      batch label is missing must have all its features missing (e.g. a
      modality not acquired); it is ignored at fit and returned as NaN.
      Infinite values, and missing covariates, are errors.
    - **A batch with one sample** (or one observed value of a feature) has no
      scale estimate: it is adjusted by location only (``delta_star = 1``;
      with ``eb=True``, ``gamma_star`` by the mean-only formula), with a
      :class:`ComBatWarning`.  Every batch needs at least one observed
      value of every feature, and the reference batch two.
    - **Constant features**, and more generally features with zero pooled
      residual variance, carry no scale: they are adjusted by location only,
      without shrinkage, and left out of the priors, so a constant feature
      comes back unchanged.  (``neuroCombat`` gives them a pooled variance of
      1 and lets them enter the priors.)  A batch in which a feature is constant
      gets ``delta_hat = 1`` for it, as in ``neuroCombat``.
    - Empirical Bayes estimates its priors across features: with fewer than
      two features of non-zero residual variance it cannot, and the plain
      per-batch estimates are used (as with ``eb=False``), with a
      :class:`ComBatWarning`.
    - **Small batches** (``min_batch_size``): a batch whose rows with values
      at fit are fewer than ``min_batch_size`` (a site with one or two
      patients in a training fold) would be adjusted by its own few rows,
      removing their biology with the site effect.  It is left out of the fit
      and left unharmonized, with a :class:`ComBatWarning`; the other batches
      are fitted as usual.  If no batch is large enough, every row is left
      unharmonized (the fitted estimates are then empty).  The reference batch
      cannot be small.

    References
    ----------
    Johnson WE, Li C, Rabinovic A. Adjusting batch effects in microarray
    expression data using empirical Bayes methods. Biostatistics 2007;8:118-127.

    Fortin J-P et al. Harmonization of cortical thickness measurements across
    scanners and sites. NeuroImage 2018;167:104-120.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = make_pipeline(ComBat("site", covariate_cols=["age"]), LogisticRegression())
    >>> # model.fit(X_train, y_train); model.predict(X_test)  # X holds site and age
    """

    def __init__(self, batch_col=None, covariate_cols=(), categorical_cols=(), parametric=True,
                 eb=True, mean_only=False, ref_batch=None, unseen_batch="error", min_batch_size=1):
        self.batch_col = batch_col
        self.covariate_cols = covariate_cols
        self.categorical_cols = categorical_cols
        self.parametric = parametric
        self.eb = eb
        self.mean_only = mean_only
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.min_batch_size = min_batch_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, batch=None):
        """Learn the batch, covariate and prior parameters.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Feature columns plus the batch column (unless ``batch`` is given)
            and the covariate columns.
        y : None
            Ignored.
        batch : array-like of shape (n_samples,), optional
            Batch labels, when ``batch_col`` is None (metadata routing).

        Returns
        -------
        self : ComBat
        """
        self._check_parameters()
        table = _as_table(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        roles = self._column_roles(table)
        self._feature_positions = roles.feature_positions
        features = _feature_matrix(table, roles.feature_positions, min_samples=2)
        labels = self._batch_labels(table, batch)

        missing_label = pd.isna(labels)
        rows_with_values = np.isfinite(features).any(axis=1)
        _refuse_unlabelled_values(missing_label & rows_with_values, table.index)
        kept = ~missing_label & ~np.isin(labels, self._small_batches(labels[~missing_label & rows_with_values],
                                                                     labels[~missing_label]))
        labels, features = labels[kept], features[kept]
        self.batches_, batch_codes, self.batch_sizes_ = _encode_batches(labels)
        ref_index = self._reference_index()

        self.categories_ = {}
        for column in roles.categorical:
            values = _column(table, column)[kept]
            _refuse_missing(values, column)
            self.categories_[column] = _sorted_levels(values, f"categorical covariate {column!r}")
        covariates = self._encode_covariates(table, roles, kept)
        self.covariate_names_ = np.asarray(
            [str(column) for column in roles.continuous]
            + [f"{column}[{level}]" for column, levels in self.categories_.items()
               for level in levels[1:]], dtype=object)

        feature_names = self.get_feature_names_out()
        if self.batches_.size == 0:
            return self._fit_no_batch(features.shape[1], covariates.shape[1])
        self._check_coverage(features, batch_codes, ref_index, feature_names)
        estimates = fit_combat(features, batch_codes, len(self.batches_), covariates,
                               ref_index=ref_index, parametric=self.parametric, eb=self.eb,
                               mean_only=self.mean_only, feature_names=feature_names)
        self._warn_degraded(estimates, ref_index)
        self.grand_mean_ = estimates.grand_mean
        self.covariate_coef_ = estimates.covariate_coef
        self.pooled_std_ = estimates.pooled_std
        self.zero_variance_features_ = feature_names[estimates.zero_variance]
        self.gamma_hat_ = estimates.gamma_hat
        self.delta_hat_ = estimates.delta_hat
        self.gamma_star_ = estimates.gamma_star
        self.delta_star_ = estimates.delta_star
        return self

    def fit_transform(self, X, y=None, *, batch=None):
        """Fit on ``X`` and harmonize it; same as ``fit(X).transform(X)``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
        y : None
            Ignored.
        batch : array-like of shape (n_samples,), optional
            Batch labels, when ``batch_col`` is None.

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_features_out)
        """
        return self.fit(X, y, batch=batch).transform(X, batch=batch)

    # ------------------------------------------------------------ transform
    def transform(self, X, *, batch=None):
        """Harmonize rows of batches seen at fit.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Same columns as at fit.
        batch : array-like of shape (n_samples,), optional
            Batch labels, when ``batch_col`` is None.

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_features_out)
            The feature columns harmonized (batch and covariate columns left
            out); a DataFrame with the index of ``X`` when ``X`` is one.
        """
        check_is_fitted(self)
        table = _as_table(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        roles = self._column_roles(table)
        features = _feature_matrix(table, roles.feature_positions, min_samples=1)
        labels = self._batch_labels(table, batch)

        missing_label = pd.isna(labels)
        _refuse_unlabelled_values(missing_label & np.isfinite(features).any(axis=1), table.index)
        known = np.zeros(labels.size, dtype=bool)
        known[~missing_label] = np.isin(labels[~missing_label], self.batches_)
        small = np.zeros(labels.size, dtype=bool)
        small[~missing_label] = np.isin(labels[~missing_label], self.small_batches_)
        if small.any():
            names = sorted({str(label) for label in labels[small]})
            warnings.warn(f"batch(es) {', '.join(names)} had fewer than {self.min_batch_size} row(s) at fit: "
                          f"{int(small.sum())} row(s) left unharmonized", ComBatWarning, stacklevel=2)
        unseen = ~known & ~small & ~missing_label
        if unseen.any():
            names = sorted({str(label) for label in labels[unseen]})
            if self.unseen_batch == "error":
                raise ValueError(
                    f"batch(es) {', '.join(names)} were not seen at fit (known: "
                    f"{', '.join(map(str, self.batches_))}); fit on data that includes them, or "
                    "set unseen_batch='passthrough' to return their rows unchanged"
                )
            warnings.warn(f"batch(es) {', '.join(names)} were not seen at fit: "
                          f"{int(unseen.sum())} row(s) returned unchanged", UnseenBatchWarning,
                          stacklevel=2)

        harmonized = features.copy()
        if known.any():
            covariates = self._encode_covariates(table, roles, known)
            codes = np.searchsorted(self.batches_, labels[known].astype(self.batches_.dtype))
            harmonized[known] = apply_combat(
                features[known], codes, covariates, grand_mean=self.grand_mean_,
                covariate_coef=self.covariate_coef_, pooled_std=self.pooled_std_,
                gamma_star=self.gamma_star_, delta_star=self.delta_star_,
                ref_index=self._reference_index())
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(harmonized, index=X.index, columns=self.get_feature_names_out())
        return harmonized

    def get_feature_names_out(self, input_features=None):
        """Names of the harmonized columns: those of ``X`` less batch and covariates.

        Parameters
        ----------
        input_features : array-like of str, optional
            Column names of ``X``; default ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray(names[self._feature_positions], dtype=object)

    # -------------------------------------------------------------- helpers
    def _check_parameters(self):
        """Check the parameters' types and values; messages say what is allowed."""
        for name in ("parametric", "eb", "mean_only"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.unseen_batch not in UNSEEN_BATCH_OPTIONS:
            raise ValueError(f"unseen_batch must be one of {UNSEEN_BATCH_OPTIONS}, "
                             f"got {self.unseen_batch!r}")
        if (not isinstance(self.min_batch_size, numbers.Integral) or isinstance(self.min_batch_size, bool)
                or self.min_batch_size < 1):
            raise ValueError(f"min_batch_size must be an integer of at least 1, got {self.min_batch_size!r}")
        for name in ("covariate_cols", "categorical_cols"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise TypeError(f"{name} must be a list or tuple of column names or positions, "
                                f"got {value!r}")

    def _column_roles(self, table: pd.DataFrame) -> _ColumnRoles:
        """Positions of the batch, covariate and feature columns of ``table``."""
        categorical = list(self.categorical_cols)
        continuous = [column for column in self.covariate_cols if column not in categorical]
        special = ([] if self.batch_col is None else [self.batch_col]) + continuous + categorical
        positions = [_position(table, column) for column in special]
        if len(set(positions)) != len(positions):
            raise ValueError(f"a column is named more than once among batch_col, covariate_cols "
                             f"and categorical_cols: {special}")
        feature_positions = np.setdiff1d(np.arange(table.shape[1]), positions)
        if feature_positions.size == 0:
            raise ValueError(
                f"X has {table.shape[1]} feature(s) (shape={table.shape}) and all of them are "
                "batch or covariate columns; ComBat needs at least one feature column"
            )
        return _ColumnRoles(continuous=continuous, categorical=categorical,
                            feature_positions=feature_positions)

    def _batch_labels(self, table: pd.DataFrame, batch) -> np.ndarray:
        """Batch label of each row, from ``batch_col`` or the ``batch`` argument."""
        if self.batch_col is None:
            if batch is None:
                raise ValueError("no batch labels: set batch_col to the batch column of X, or pass "
                                 "batch=... (with set_fit_request/set_transform_request(batch=True) "
                                 "inside a Pipeline)")
            labels = np.asarray(batch, dtype=object)
            if labels.shape != (table.shape[0],):
                raise ValueError(f"batch must hold one label per row of X ({table.shape[0]}), "
                                 f"got shape {labels.shape}")
            return labels
        if batch is not None:
            raise ValueError(f"batch labels given twice: batch_col={self.batch_col!r} and batch=...; "
                             "use one of them")
        return np.asarray(_column(table, self.batch_col), dtype=object)

    def _small_batches(self, valued_labels: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Set ``small_batches_``: the batches with fewer than ``min_batch_size`` rows with values."""
        if self.min_batch_size == 1:  # every batch is fitted (one with no value is refused by the coverage check)
            self.small_batches_ = np.asarray([], dtype=object)
            return self.small_batches_
        levels = _sorted_levels(labels, "the batch column")
        counts = {level: int(np.count_nonzero(valued_labels == level)) for level in levels}
        small = np.asarray([level for level in levels if counts[level] < self.min_batch_size], dtype=object)
        if self.ref_batch is not None and np.isin(self.ref_batch, small):
            raise ValueError(f"ref_batch {self.ref_batch!r} has {counts[self.ref_batch]} row(s) with values, "
                             f"fewer than min_batch_size={self.min_batch_size}")
        if small.size:
            listing = ", ".join(f"{level} ({counts[level]})" for level in small)
            warnings.warn(f"batch(es) {listing} have fewer than min_batch_size={self.min_batch_size} row(s) "
                          "with values: left out of the fit and left unharmonized", ComBatWarning, stacklevel=3)
        self.small_batches_ = small
        return small

    def _fit_no_batch(self, n_features: int, n_covariates: int) -> ComBat:
        """The fit when no batch is large enough: empty estimates, every row left unharmonized."""
        warnings.warn(f"no batch has min_batch_size={self.min_batch_size} row(s) with values: ComBat "
                      "leaves every row unharmonized", ComBatWarning, stacklevel=3)
        self.grand_mean_ = np.full(n_features, np.nan)
        self.covariate_coef_ = np.full((n_covariates, n_features), np.nan)
        self.pooled_std_ = np.full(n_features, np.nan)
        self.zero_variance_features_ = np.asarray([], dtype=object)
        self.gamma_hat_ = self.delta_hat_ = self.gamma_star_ = self.delta_star_ = np.empty((0, n_features))
        return self

    def _reference_index(self) -> int | None:
        if self.ref_batch is None:
            return None
        matches = np.flatnonzero(self.batches_ == self.ref_batch)
        if matches.size == 0:
            raise ValueError(f"ref_batch {self.ref_batch!r} is not among the batches "
                             f"{', '.join(map(str, self.batches_))}")
        return int(matches[0])

    def _check_coverage(self, features, batch_codes, ref_index, feature_names):
        """Every batch observes every feature; the reference batch twice."""
        observed = np.isfinite(features)
        for k, label in enumerate(self.batches_):
            counts = observed[batch_codes == k].sum(axis=0)
            needed = 2 if k == ref_index else 1
            short = counts < needed
            if short.any():
                raise ValueError(
                    f"batch {label!r} has fewer than {needed} observed value(s) of feature(s) "
                    f"{', '.join(map(str, feature_names[short][:5]))}; ComBat cannot estimate its "
                    "effect (drop these features or merge the batch)"
                )

    def _warn_degraded(self, estimates: ComBatEstimates, ref_index):
        """Say where the data could not support the adjustment asked for."""
        if self.eb and not estimates.empirical_bayes:
            warnings.warn("empirical Bayes needs at least 2 features with non-zero residual "
                          "variance to estimate its priors; the plain per-batch estimates are used "
                          "(as with eb=False)", ComBatWarning, stacklevel=3)
        if self.mean_only:
            return
        single = (estimates.n_observed < 2) & ~estimates.zero_variance
        if ref_index is not None:
            single[ref_index] = False
        if single.any():
            batches = ", ".join(map(str, self.batches_[single.any(axis=1)]))
            warnings.warn(f"batch(es) {batches} have a single observed value of "
                          f"{int(single.sum())} (batch, feature) pair(s): those are adjusted "
                          "by location only", ComBatWarning, stacklevel=3)

    def _encode_covariates(self, table, roles, rows) -> np.ndarray:
        """The covariate design of ``rows``, with the levels learned at fit."""
        blocks = [_continuous_covariates(table, roles.continuous)[rows]]
        for column in roles.categorical:
            values = _column(table, column)[rows]
            _refuse_missing(values, column)
            levels = self.categories_[column]
            unknown = ~np.isin(values, levels)
            if unknown.any():
                raise ValueError(
                    f"categorical covariate {column!r} has level(s) "
                    f"{', '.join(sorted(map(str, set(values[unknown]))))} not seen at fit "
                    f"(known: {', '.join(map(str, levels))})"
                )
            blocks.append(_indicators(values, levels[1:]))
        return np.hstack(blocks)


class _ColumnRoles(NamedTuple):
    """Which columns of X are continuous and categorical covariates, and features."""

    continuous: list
    categorical: list
    feature_positions: np.ndarray


def _as_table(X) -> pd.DataFrame:
    """``X`` as a DataFrame (arrays get positions as column labels), shape checked."""
    if sp.issparse(X):
        raise TypeError("ComBat does not accept sparse input: pass a dense array or a DataFrame "
                        "(e.g. X.toarray())")
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            check_array(np.empty(X.shape), input_name="X")
        return X
    array = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
    return pd.DataFrame(array)


def _position(table: pd.DataFrame, column) -> int:
    """Position of a column given by name (DataFrame) or integer position."""
    if isinstance(column, numbers.Integral) and not isinstance(column, bool):
        if not -table.shape[1] <= column < table.shape[1]:
            raise ValueError(f"column position {column} is out of range for X with "
                             f"{table.shape[1]} columns")
        return int(column) % table.shape[1]
    if isinstance(column, str) and isinstance(table.columns, pd.RangeIndex):
        raise TypeError(f"column {column!r} is named, but X has no column names: pass a "
                         "DataFrame, or give the column's integer position")
    if not isinstance(column, Hashable) or column not in table.columns:
        raise ValueError(f"column {column!r} is not in X (columns: "
                         f"{', '.join(map(str, table.columns[:10]))}"
                         f"{', ...' if table.shape[1] > 10 else ''})")
    return int(table.columns.get_loc(column))


def _column(table: pd.DataFrame, column) -> np.ndarray:
    return table.iloc[:, _position(table, column)].to_numpy(dtype=object)


def _feature_matrix(table: pd.DataFrame, positions: np.ndarray, *, min_samples: int) -> np.ndarray:
    """The feature columns as float64; NaN allowed, infinity refused."""
    block = table.iloc[:, positions]
    textual = [str(column) for column, dtype in block.dtypes.items()
               if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_object_dtype(dtype))]
    if textual:
        raise ValueError(
            f"feature column(s) {', '.join(textual[:5])} are not numeric: name them in batch_col, "
            "covariate_cols or categorical_cols, or drop them before ComBat"
        )
    values = check_array(block, dtype=np.float64, ensure_all_finite="allow-nan",
                         ensure_min_samples=min_samples, input_name="X", estimator="ComBat")
    return values


def _continuous_covariates(table: pd.DataFrame, columns) -> np.ndarray:
    block = np.empty((table.shape[0], len(columns)))
    for j, column in enumerate(columns):
        values = _column(table, column)
        try:
            block[:, j] = values.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"covariate {column!r} is not numeric ({error}); list it in "
                             "categorical_cols if it is categorical") from error
        if not np.isfinite(block[:, j]).all():
            raise ValueError(f"covariate {column!r} has missing or infinite values; ComBat needs "
                             "every covariate of every row (impute or drop those rows)")
    return block


def _refuse_missing(values: np.ndarray, column) -> None:
    if pd.isna(values).any():
        raise ValueError(f"categorical covariate {column!r} has missing values; ComBat needs every "
                         "covariate of every row (impute or drop those rows)")


def _refuse_unlabelled_values(rows: np.ndarray, index) -> None:
    if rows.any():
        raise ValueError(
            f"row(s) {', '.join(map(str, index[rows][:5]))} have feature values but no batch "
            "label; give their batch (a missing label is only allowed where every feature is NaN)"
        )


def _sorted_levels(values: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError as error:
        raise TypeError(f"the levels of {what} cannot be sorted ({error}); use labels of one "
                        "type, e.g. all strings") from error


def _encode_batches(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted batch labels, the code of each row, and the rows per batch."""
    batches = _sorted_levels(labels, "the batch column")
    codes = np.searchsorted(batches, labels)
    return batches, codes, np.bincount(codes, minlength=batches.size)


def _indicators(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    return (values[:, None] == levels[None, :]).astype(np.float64)
