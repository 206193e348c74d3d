"""One ComBat per imaging modality, inside one scikit-learn transformer.

In a multimodal wide table (columns ``<MODALITY>__<feature>``, e.g.
``CT__original_glcm_contrast_3D_merged``), each modality was acquired on its own
scanners: CT features shift with the CT site, MR features with the MR scanner.
:class:`PerModalityComBat` harmonizes the features of each modality by that
modality's batch column, so that the whole table is harmonized by one pipeline
step placed before fusion and feature selection.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from radiomix.harmonize.combat import UNSEEN_BATCH_OPTIONS, ComBat

#: Separator between modality and feature name in wide column names.
MODALITY_SEPARATOR = "__"
REMAINDER_OPTIONS = ("passthrough", "drop")


class PerModalityComBat(TransformerMixin, BaseEstimator):
    """ComBat per modality: each modality's features by its own scanner/site column.

    Parameters
    ----------
    batch_cols : mapping of str to str
        Modality -> batch column of ``X``, e.g. ``{"CT": "CT_site", "MR": "MR_scanner"}``.
        The features of modality ``M`` are the columns named ``M__<feature>``.
    covariate_cols, categorical_cols : sequence of str, default=()
        Continuous and categorical covariates preserved by every modality's
        ComBat (see :class:`ComBat`).
    parametric, eb, mean_only : bool
        As in :class:`ComBat`, for every modality.
    ref_batch : mapping of str to label, or None, default=None
        Reference batch of some modalities, e.g. ``{"CT": "site_A"}``.
    unseen_batch : {"error", "passthrough"}, default="error"
        As in :class:`ComBat`.
    min_batch_size : int, default=1
        As in :class:`ComBat`: a batch with fewer rows with values of a modality
        is left unharmonized in that modality.
    remainder : {"passthrough", "drop"}, default="passthrough"
        What happens to the columns that are neither batch columns nor features
        of a modality in ``batch_cols`` (clinical variables, covariates,
        modalities without a batch column): kept unchanged, or dropped.  The
        batch columns themselves are always dropped.

    Attributes
    ----------
    combats_ : dict of str to ComBat
        The fitted ComBat of each modality.
    modality_features_ : dict of str to list of str
        The feature columns of each modality.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    A patient without a modality has NaN in its features and in its batch
    column: that modality's ComBat ignores the row at fit and returns it as NaN
    (see :class:`ComBat` for NaN, single-sample batches and constant features).

    Examples
    --------
    >>> harmonizer = PerModalityComBat({"CT": "CT_site", "MR": "MR_scanner"},
    ...                                covariate_cols=["age"], categorical_cols=["sex"])
    >>> # harmonizer.fit_transform(wide_table) -> CT__*, MR__*, age, sex, ... harmonized
    """

    def __init__(self, batch_cols=None, covariate_cols=(), categorical_cols=(), parametric=True,
                 eb=True, mean_only=False, ref_batch=None, unseen_batch="error",
                 remainder="passthrough", min_batch_size=1):
        self.batch_cols = batch_cols
        self.covariate_cols = covariate_cols
        self.categorical_cols = categorical_cols
        self.parametric = parametric
        self.eb = eb
        self.mean_only = mean_only
        self.ref_batch = ref_batch
        self.unseen_batch = unseen_batch
        self.remainder = remainder
        self.min_batch_size = min_batch_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def fit(self, X, y=None):
        """Fit one ComBat per modality of ``batch_cols``.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Wide table with ``<MODALITY>__<feature>`` columns, the batch columns
            and the covariate columns.
        y : None
            Ignored.

        Returns
        -------
        self : PerModalityComBat
        """
        self._check_parameters()
        _require_frame(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        covariates = [*self.covariate_cols, *self.categorical_cols]
        reserved = set(self.batch_cols.values()) | set(covariates)
        references = dict(self.ref_batch or {})
        self.modality_features_ = {}
        self.combats_ = {}
        for modality, batch_col in self.batch_cols.items():
            prefix = f"{modality}{MODALITY_SEPARATOR}"
            features = [column for column in X.columns
                        if str(column).startswith(prefix) and column not in reserved]
            if not features:
                raise ValueError(f"no column of X is named {prefix}<feature> for modality "
                                 f"{modality!r} (batch column {batch_col!r})")
            if batch_col not in X.columns:
                raise ValueError(f"batch column {batch_col!r} of modality {modality!r} is not in X")
            combat = ComBat(batch_col, covariate_cols=self.covariate_cols,
                            categorical_cols=self.categorical_cols, parametric=self.parametric,
                            eb=self.eb, mean_only=self.mean_only,
                            ref_batch=references.get(modality), unseen_batch=self.unseen_batch,
                            min_batch_size=self.min_batch_size)
            self.combats_[modality] = combat.fit(X[[*features, batch_col, *covariates]])
            self.modality_features_[modality] = features
        return self

    def transform(self, X):
        """Harmonize each modality's features; keep or drop the other columns.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Same columns as at fit.

        Returns
        -------
        DataFrame of shape (n_samples, n_features_out)
            Columns in the order of ``X``, batch columns left out; same index.
        """
        check_is_fitted(self)
        _require_frame(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        covariates = [*self.covariate_cols, *self.categorical_cols]
        harmonized = {}
        for modality, combat in self.combats_.items():
            columns = [*self.modality_features_[modality], self.batch_cols[modality], *covariates]
            harmonized.update(combat.transform(X[columns]).items())
        output = {column: harmonized[column] if column in harmonized else X[column]
                  for column in self.get_feature_names_out()}
        return pd.DataFrame(output, index=X.index)

    def get_feature_names_out(self, input_features=None):
        """Output columns: ``X``'s columns in order, less batch columns (and the remainder if dropped).

        Parameters
        ----------
        input_features : None
            Ignored; the names are those of ``X`` at fit.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "combats_")
        features = {column for columns in self.modality_features_.values() for column in columns}
        batch_columns = set(self.batch_cols.values())
        return np.asarray(
            [column for column in self.feature_names_in_
             if column in features or (self.remainder == "passthrough" and column not in batch_columns)],
            dtype=object)

    def _check_parameters(self):
        if not isinstance(self.batch_cols, Mapping) or not self.batch_cols:
            raise ValueError("batch_cols must map each modality to its batch column, e.g. "
                             f"{{'CT': 'CT_site', 'MR': 'MR_scanner'}}; got {self.batch_cols!r}")
        if self.ref_batch is not None and not isinstance(self.ref_batch, Mapping):
            raise ValueError("ref_batch must be None or map modalities to their reference batch, "
                             f"e.g. {{'CT': 'site_A'}}; got {self.ref_batch!r}")
        unknown = set(self.ref_batch or {}) - set(self.batch_cols)
        if unknown:
            raise ValueError(f"ref_batch names modalities without a batch column: {sorted(unknown)}")
        if self.remainder not in REMAINDER_OPTIONS:
            raise ValueError(f"remainder must be one of {REMAINDER_OPTIONS}, got {self.remainder!r}")
        if self.unseen_batch not in UNSEEN_BATCH_OPTIONS:
            raise ValueError(f"unseen_batch must be one of {UNSEEN_BATCH_OPTIONS}, "
                             f"got {self.unseen_batch!r}")


def _require_frame(X) -> None:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("PerModalityComBat needs a DataFrame whose columns are named "
                        f"<MODALITY>{MODALITY_SEPARATOR}<feature>; got {type(X).__name__}")
    if not all(isinstance(column, str) for column in X.columns):
        raise TypeError("PerModalityComBat needs string column names "
                        f"(<MODALITY>{MODALITY_SEPARATOR}<feature>)")
