"""Fusion of modalities and clinical data: the scikit-learn pipelines that are cross-validated.

Early fusion (:func:`build_pipeline`) is one :class:`~sklearn.pipeline.Pipeline`::

    KeepColumns -> ComBat (per modality, if a batch column) -> ModalityMissingIndicator
        -> selection of radiomic columns (near-zero variance -> correlation clusters
           -> FDR or mRMR; clinical columns and indicators pass through) -> XGBoost

so that everything that learns (harmonizer, selector, model) is fitted on the
training rows of each fold. Late fusion (:class:`LateFusionClassifier`) stacks
one such pipeline per modality and one for the clinical columns with a logistic
regression on their margins (log-odds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xgboost
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from xgboost import XGBClassifier

from radiomix.harmonize import ComBat, PerModalityComBat
from radiomix.model.data import (
    CLINICAL,
    MISSING_SUFFIX,
    MODALITY_SEPARATOR,
    ColumnLayout,
)
from radiomix.model.selection import (
    MRMR,
    CorrelationClusters,
    NearZeroVariance,
    UnivariateFDR,
)
from radiomix.model.settings import EvaluationSettings


class KeepColumns(TransformerMixin, BaseEstimator):
    """Keep some columns of a DataFrame, in the given order (a model's own inputs).

    Parameters
    ----------
    columns : sequence of str
        Columns to keep.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns of ``X`` at fit.
    """

    def __init__(self, columns=()):
        self.columns = columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def fit(self, X, y=None):
        """Check that ``X`` (a DataFrame) holds every column; returns ``self``."""
        _require_columns(X, self.columns, type(self).__name__)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """The kept columns of ``X`` (same index)."""
        check_is_fitted(self, "feature_names_in_")
        _require_columns(X, self.columns, type(self).__name__)
        return X[list(self.columns)]

    def get_feature_names_out(self, input_features=None):
        """The kept column names."""
        check_is_fitted(self, "feature_names_in_")
        return np.asarray(list(self.columns), dtype=object)


class ModalityMissingIndicator(TransformerMixin, BaseEstimator):
    """Append a 0/1 column ``<MODALITY>__missing`` for modalities some patients lack.

    A patient lacks a modality when every one of its feature columns is missing.
    Indicators are made for the modalities missing in at least one training row
    (a constant indicator would carry nothing).

    Parameters
    ----------
    modality_columns : mapping of str to sequence of str
        Modality -> its feature columns.

    Attributes
    ----------
    indicated_modalities_ : list of str
        Modalities that get an indicator.
    feature_names_in_ : ndarray of str
    """

    def __init__(self, modality_columns=None):
        self.modality_columns = modality_columns

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Learn which modalities are missing in some rows; returns ``self``."""
        columns = [c for cs in self.modality_columns.values() for c in cs]
        _require_columns(X, columns, type(self).__name__)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.indicated_modalities_ = [m for m in self.modality_columns
                                      if modality_absent(X, self.modality_columns[m]).any()]
        return self

    def transform(self, X):
        """``X`` with the indicator columns appended (float 0/1)."""
        check_is_fitted(self, "indicated_modalities_")
        indicators = {missing_indicator(m): modality_absent(X, self.modality_columns[m]).astype(float)
                      for m in self.indicated_modalities_}
        return pd.concat([X, pd.DataFrame(indicators, index=X.index)], axis=1)

    def get_feature_names_out(self, input_features=None):
        """Input names, then ``<MODALITY>__missing`` for each indicated modality."""
        check_is_fitted(self, "indicated_modalities_")
        return np.asarray([*self.feature_names_in_,
                           *(missing_indicator(m) for m in self.indicated_modalities_)], dtype=object)


def missing_indicator(modality: str) -> str:
    """Name of the indicator column of a modality."""
    return f"{modality}{MODALITY_SEPARATOR}{MISSING_SUFFIX}"


def modality_absent(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows in which every column of a modality is missing (boolean array)."""
    if not len(columns):
        return np.zeros(len(X), dtype=bool)
    return X[list(columns)].isna().all(axis=1).to_numpy()


def _require_columns(X, columns, who: str) -> None:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{who} needs a DataFrame with named columns, got {type(X).__name__}")
    absent = [c for c in columns if c not in X.columns]
    if absent:
        raise ValueError(f"{who}: column(s) {absent[:5]} are not in X ({len(absent)} missing); "
                         "give the same table the model was built for")


def xgboost_model(settings: EvaluationSettings) -> XGBClassifier:
    """An unfitted XGBoost classifier with the fixed settings (one thread, seeded)."""
    return XGBClassifier(
        n_estimators=settings.n_estimators, learning_rate=settings.learning_rate,
        subsample=settings.subsample, colsample_bytree=settings.colsample_bytree,
        max_depth=settings.max_depth_grid[0], min_child_weight=settings.min_child_weight_grid[0],
        reg_lambda=settings.reg_lambda_grid[0], tree_method="hist", n_jobs=1,
        random_state=settings.random_state, verbosity=0,
    )


def single_threaded_xgboost():
    """Context in which XGBoost's own data handling (e.g. copying labels) uses one thread.

    ``XGBClassifier(n_jobs=1)`` sets the booster's threads but not those of
    XGBoost's global configuration, which copies the labels into each training
    matrix: on a loaded machine that copy alone can take tens of milliseconds
    per fit. Fits of many small models (nested cross-validation) run in this context.
    """
    return xgboost.config_context(nthread=1)


def radiomic_selector(settings: EvaluationSettings) -> Pipeline:
    """Near-zero variance -> correlation clusters -> FDR or mRMR, on radiomic columns."""
    last = (UnivariateFDR(alpha=settings.fdr_alpha, min_features=settings.fdr_min_features,
                          max_features=settings.fdr_max_features)
            if settings.selection == "fdr" else MRMR(n_features=settings.mrmr_n_features))
    return Pipeline([
        ("near_zero_variance", NearZeroVariance(frequency_ratio=settings.near_zero_frequency_ratio,
                                                unique_percent=settings.near_zero_unique_percent)),
        ("correlation", CorrelationClusters(threshold=settings.correlation_threshold)),
        (settings.selection, last),
    ])


def harmonizer(layout: ColumnLayout, settings: EvaluationSettings):
    """ComBat per modality (or pooled over all radiomic columns) by the layout's batch column.

    The output holds the radiomic columns harmonized and every other input
    column unchanged (the batch column left out).
    """
    covariates = list(settings.combat_covariates)
    options = {"covariate_cols": covariates, "parametric": settings.combat_parametric, "eb": settings.combat_eb,
               "mean_only": settings.combat_mean_only, "unseen_batch": settings.combat_unseen_batch,
               "min_batch_size": settings.combat_min_batch_size}
    if settings.harmonization == "per_modality":
        return PerModalityComBat(batch_cols={m: layout.batch_column for m in layout.modalities},
                                 remainder="passthrough", **options)
    combat_columns = [*layout.radiomic, layout.batch_column, *covariates]
    return ColumnTransformer(
        [("combat", ComBat(layout.batch_column, **options), combat_columns),
         ("covariates", "passthrough", covariates)],
        remainder="passthrough", verbose_feature_names_out=False)


def build_pipeline(layout: ColumnLayout, settings: EvaluationSettings, indicators: bool | None = None) -> Pipeline:
    """The early-fusion pipeline of one model (all its columns side by side).

    ComBat's covariates (``settings.combat_covariates``) are read even by a model
    that does not use them as predictors (e.g. one modality alone), and dropped
    after harmonization.

    Parameters
    ----------
    layout : ColumnLayout
        The model's columns (e.g. one modality, the clinical columns, or all).
    settings : EvaluationSettings
    indicators : bool, optional
        Add missing-modality indicators; default: with ``missing_modality='indicator'``.

    Returns
    -------
    Pipeline
        Unfitted; DataFrame output between steps; last step ``model`` (XGBoost).
    """
    indicators = settings.missing_modality == "indicator" if indicators is None else indicators
    harmonized = bool(layout.modalities and layout.batch_column)
    carried = tuple(c for c in settings.combat_covariates if c not in layout.clinical) if harmonized else ()
    steps = [("columns", KeepColumns((*layout.input_columns, *carried)))]
    if layout.modalities:
        if harmonized:
            steps.append(("harmonize", harmonizer(layout, settings)))
        if carried:
            steps.append(("drop_covariates", KeepColumns((*layout.radiomic, *layout.clinical))))
        if indicators:
            steps.append(("indicators", ModalityMissingIndicator(
                {m: list(c) for m, c in layout.modalities.items()})))
        steps.append(("select", ColumnTransformer(
            [("radiomic", radiomic_selector(settings), list(layout.radiomic))],
            remainder="passthrough", verbose_feature_names_out=False)))
    steps.append(("model", xgboost_model(settings)))
    return Pipeline(steps).set_output(transform="pandas")


def build_model(layout: ColumnLayout, settings: EvaluationSettings):
    """The multimodal model: early-fusion pipeline, or late fusion of one pipeline per group."""
    if settings.fusion == "early" or len(layout.groups) < 2:
        return build_pipeline(layout, settings)
    estimators = [(group, build_pipeline(layout.subset([group]), settings, indicators=False))
                  for group in layout.groups]
    modality_columns = {m: tuple(c) for m, c in layout.modalities.items()}
    return LateFusionClassifier(estimators, modality_columns=modality_columns,
                                missing_modality=settings.missing_modality, cv=settings.n_inner_splits,
                                C=settings.late_fusion_c, random_state=settings.random_state)


def pipeline_margin(estimator: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """XGBoost margin (log-odds; one column per class if multi-class) of a fitted pipeline.

    Returns
    -------
    ndarray of shape (n_samples, 1) for two classes, (n_samples, n_classes) otherwise.
    """
    transformed = estimator[:-1].transform(X)
    margin = np.asarray(estimator[-1].predict(transformed, output_margin=True), dtype=float)
    return margin.reshape(len(X), -1)


class LateFusionClassifier(ClassifierMixin, _BaseComposition):
    """Late fusion: one classifier per source, stacked by a logistic regression on their margins.

    Each base estimator (a pipeline ending in XGBoost) produces a margin
    (log-odds); the stacker is an L2-penalised logistic regression on the base
    margins, fitted on inner out-of-fold margins, plus a 0/1 indicator for each
    modality missing in some training rows. The final margin is therefore a
    linear function of the base margins, which keeps SHAP values exact
    (:mod:`radiomix.explain`).

    Parameters
    ----------
    estimators : list of (str, Pipeline)
        Group name (modality or ``clinical``) and its unfitted pipeline.
    modality_columns : mapping of str to tuple of str
        Feature columns of each modality (a patient lacks a modality when all
        are missing); groups not listed (clinical) are always present.
    missing_modality : {"indicator", "per_modality"}, default="indicator"
        ``per_modality``: a modality's estimator is fitted on the patients who
        have it, and the others get its mean out-of-fold training margin.
        ``indicator``: every estimator sees every patient (missing features).
    cv : int, default=3
        Stratified folds giving the stacker's training margins.
    C : float, default=1.0
        Inverse L2 penalty of the stacker.
    random_state : int, default=0
        Seed of the folds.

    Attributes
    ----------
    estimators_ : dict of str to Pipeline
        Base estimators refitted on all (available) training rows.
    stacker_ : LogisticRegression
    fill_margins_ : dict of str to ndarray
        Margin given for a patient without the modality (``per_modality``).
    indicated_modalities_ : list of str
        Modalities with an indicator column in the stacker's input.
    stack_columns_ : list of (str, int)
        Stacker input columns: (group, margin column) then (modality, -1) for indicators.
    classes_ : ndarray
    """

    def __init__(self, estimators, modality_columns=None, missing_modality="indicator", cv=3, C=1.0,
                 random_state=0):
        self.estimators = estimators
        self.modality_columns = modality_columns
        self.missing_modality = missing_modality
        self.cv = cv
        self.C = C
        self.random_state = random_state

    def get_params(self, deep=True):
        """Parameters, including the base estimators' as ``<group>__<parameter>``."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, including the base estimators' (``<group>__<parameter>``)."""
        self._set_params("estimators", **params)
        return self

    def fit(self, X, y):
        """Fit the base estimators on inner folds, the stacker on their margins, then refit.

        Parameters
        ----------
        X : DataFrame
            Every base estimator's columns.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LateFusionClassifier
        """
        with single_threaded_xgboost():
            return self._fit(X, y)

    def _fit(self, X, y):
        if self.missing_modality not in ("indicator", "per_modality"):
            raise ValueError(f"missing_modality must be 'indicator' or 'per_modality', got "
                             f"{self.missing_modality!r}")
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        check_classification_targets(y)
        self.classes_, y = np.unique(np.asarray(y), return_inverse=True)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        present = {name: self._present(X, name) for name in names}
        self.indicated_modalities_ = [n for n in names if n in (self.modality_columns or {})
                                      and not present[n].all()]
        splits = list(StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, y))
        margins = {}
        self.fill_margins_ = {}
        for name, estimator in self.estimators:
            usable = present[name] if self.missing_modality == "per_modality" else np.ones(len(X), bool)
            out_of_fold = None
            for train, test in splits:
                train, test = train[usable[train]], test[usable[test]]
                _require_all_classes(y[train], len(self.classes_), name)
                fitted = clone(estimator).fit(X.iloc[train], y[train])
                fold_margin = pipeline_margin(fitted, X.iloc[test])
                if out_of_fold is None:
                    out_of_fold = np.full((len(X), fold_margin.shape[1]), np.nan)
                out_of_fold[test] = fold_margin
            self.fill_margins_[name] = np.nanmean(out_of_fold[usable], axis=0)
            out_of_fold[~usable] = self.fill_margins_[name]
            margins[name] = out_of_fold
        self.stack_columns_ = [(name, j) for name in names for j in range(margins[name].shape[1])]
        self.stack_columns_ += [(name, -1) for name in self.indicated_modalities_]
        stacked = self._stack(margins, present)
        self.stacker_ = LogisticRegression(C=self.C, max_iter=1000).fit(stacked, y)
        self.estimators_ = {}
        for name, estimator in self.estimators:
            usable = present[name] if self.missing_modality == "per_modality" else np.ones(len(X), bool)
            self.estimators_[name] = clone(estimator).fit(X.iloc[np.flatnonzero(usable)], y[usable])
        return self

    def _present(self, X: pd.DataFrame, name: str) -> np.ndarray:
        """Rows that have group ``name`` (always, for a group that is not a modality)."""
        columns = (self.modality_columns or {}).get(name)
        if columns is None:
            return np.ones(len(X), dtype=bool)
        return ~modality_absent(X, columns)

    def _stack(self, margins: Mapping[str, np.ndarray], present: Mapping[str, np.ndarray]) -> np.ndarray:
        """The stacker's input matrix."""
        blocks = [margins[name][:, [j]] if j >= 0 else (~present[name]).astype(float)[:, None]
                  for name, j in self.stack_columns_]
        return np.hstack(blocks)

    def base_margins(self, X: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each base estimator's margin (filled where a modality is missing) and presence.

        Returns
        -------
        margins : dict of str to ndarray of shape (n_samples, n_margins)
        present : dict of str to ndarray of bool
        """
        check_is_fitted(self, "stacker_")
        present = {name: self._present(X, name) for name in self.estimators_}
        margins = {}
        for name, estimator in self.estimators_.items():
            margin = pipeline_margin(estimator, X)
            if self.missing_modality == "per_modality":
                margin[~present[name]] = self.fill_margins_[name]
            margins[name] = margin
        return margins, present

    def decision_function(self, X):
        """The stacker's margin: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        return self.stacker_.decision_function(self._stack(*self.base_margins(X)))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return self.stacker_.predict_proba(self._stack(*self.base_margins(X)))

    def predict(self, X):
        """Most probable class."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def _require_all_classes(y: np.ndarray, n_classes: int, name: str) -> None:
    if np.unique(y).size < n_classes:
        raise ValueError(f"late fusion: the {name!r} model's training rows of an inner fold lack an "
                         "outcome class; use fewer inner folds or missing_modality='indicator'")


def model_input_features(estimator) -> list[str]:
    """The columns a fitted model's XGBoost step(s) received (after selection), in order."""
    if isinstance(estimator, LateFusionClassifier):
        return [name for fitted in estimator.estimators_.values() for name in model_input_features(fitted)]
    return [str(name) for name in estimator[-1].feature_names_in_]


def group_of_feature(feature: str, layout: ColumnLayout) -> str:
    """Group (modality or ``clinical``) of a model input feature, indicators included."""
    if feature in layout.clinical:
        return CLINICAL
    modality = feature.split(MODALITY_SEPARATOR, 1)[0]
    return modality if modality in layout.modalities else CLINICAL
