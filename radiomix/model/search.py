"""The inner loop: hyper-parameter search and decision threshold on inner cross-validation.

:class:`TunedClassifier` wraps a model (an early-fusion pipeline or a late-fusion
stacker). ``fit`` runs a stratified K-fold over the rows it is given (an outer
training fold): every XGBoost parameter combination is fitted on each inner
training fold and scored by the AUROC of its pooled inner out-of-fold
probabilities; the best combination (the first in grid order on ties) gives
the decision threshold (Youden's J on the same out-of-fold probabilities) and
is refitted on all the rows. Test rows of the outer fold are never seen.

For an early-fusion pipeline, the steps before XGBoost (ComBat, indicators,
selection) do not depend on the searched parameters: they are fitted once per
inner training fold and shared by every candidate, which gives exactly the
probabilities of refitting the whole pipeline per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from xgboost import XGBClassifier

from radiomix.model.fusion import single_threaded_xgboost
from radiomix.model.metrics import auroc_macro, youden_threshold


def xgboost_parameter_paths(estimator) -> list[str]:
    """``set_params`` prefixes of every XGBoost classifier inside an estimator (e.g. ``model``, ``CT__model``)."""
    if isinstance(estimator, XGBClassifier):
        return [""]
    return [key for key, value in estimator.get_params(deep=True).items() if isinstance(value, XGBClassifier)]


def expand_xgboost_params(estimator, candidate: Mapping[str, object]) -> dict[str, object]:
    """``set_params`` arguments setting ``candidate`` on every XGBoost classifier of ``estimator``."""
    if not candidate:
        return {}
    paths = xgboost_parameter_paths(estimator)
    if not paths:
        raise ValueError(f"{type(estimator).__name__} holds no XGBClassifier to tune")
    return {(f"{path}__{name}" if path else name): value for path in paths for name, value in candidate.items()}


def shares_preprocessing(estimator) -> bool:
    """True for a pipeline whose last step is its only XGBoost classifier (candidates share the steps before)."""
    return (isinstance(estimator, Pipeline) and len(estimator.steps) > 1
            and xgboost_parameter_paths(estimator) == [estimator.steps[-1][0]])


def _as_float_matrix(table):
    """A numeric DataFrame as a float64 array (missing values NaN); anything else unchanged."""
    if isinstance(table, pd.DataFrame) and all(dtype.kind in "fiub" for dtype in table.dtypes):
        return table.to_numpy(dtype=np.float64, na_value=np.nan)
    return table


class TunedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Grid search of XGBoost parameters and a decision threshold, on inner cross-validation.

    Parameters
    ----------
    estimator : estimator
        Unfitted model holding one or more ``XGBClassifier`` (pipeline or late fusion).
    param_grid : mapping of str to sequence
        XGBoost parameter name -> values; set on every XGBoost classifier of
        ``estimator``.
    cv : int, default=3
        Stratified inner folds (shuffled).
    random_state : int, default=0
        Seed of the inner folds.

    Attributes
    ----------
    best_params_ : dict
        The chosen XGBoost parameters.
    cv_results_ : dict
        ``params``: the candidates (list of dict); ``inner_auroc``: their inner
        out-of-fold AUROC (ndarray).
    threshold_ : float or None
        Decision threshold on the positive-class probability (binary outcomes).
    best_estimator_ : estimator
        The chosen model refitted on all rows.
    classes_ : ndarray
    """

    def __init__(self, estimator, param_grid=None, cv=3, random_state=0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.cv = cv
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def fit(self, X: pd.DataFrame, y):
        """Search the grid on inner folds, choose the threshold, refit the best on all rows.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : TunedClassifier
        """
        with single_threaded_xgboost():
            return self._fit(X, y)

    def _fit(self, X, y):
        check_classification_targets(y)
        self.classes_, y = np.unique(np.asarray(y), return_inverse=True)
        self.n_features_in_ = X.shape[1]
        candidates = list(ParameterGrid({k: list(v) for k, v in (self.param_grid or {}).items()}))
        splits = list(StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, y))
        scores, best_out_of_fold = [], None
        for out_of_fold in self._candidate_out_of_fold(X, y, candidates, splits):
            score = auroc_macro(y, out_of_fold)
            if best_out_of_fold is None or score > max(scores):
                best_out_of_fold = out_of_fold
            scores.append(score)
        best = int(np.argmax(scores))
        self.best_params_ = candidates[best]
        self.cv_results_ = {"params": candidates, "inner_auroc": np.asarray(scores)}
        self.threshold_ = (youden_threshold(y, best_out_of_fold[:, 1]) if len(self.classes_) == 2 else None)
        params = expand_xgboost_params(self.estimator, self.best_params_)
        self.best_estimator_ = clone(self.estimator).set_params(**params).fit(X, y)
        return self

    def _candidate_out_of_fold(self, X, y, candidates, splits) -> list[np.ndarray]:
        """Inner out-of-fold class probabilities of every candidate, in grid order.

        A pipeline ending in its only XGBoost step has its preprocessing (ComBat,
        indicators, selection: nothing there depends on the XGBoost parameters)
        fitted once per inner training fold and shared by every candidate; each
        candidate's XGBoost step is fitted on the same transformed training rows
        as a whole-pipeline fit would give it, so the probabilities are identical.
        The shared rows reach XGBoost as a float matrix without column names
        (the same float32 values, hence the same trees, without XGBoost's check of
        the names at every boosting round); only the refit on all rows keeps names.
        Other models (late fusion) are refitted whole for each candidate.
        """
        out_of_fold = [np.zeros((len(X), len(self.classes_))) for _ in candidates]
        if not shares_preprocessing(self.estimator):
            for k, candidate in enumerate(candidates):
                params = expand_xgboost_params(self.estimator, candidate)
                for train, test in splits:
                    fitted = clone(self.estimator).set_params(**params).fit(X.iloc[train], y[train])
                    out_of_fold[k][test] = fitted.predict_proba(X.iloc[test])
            return out_of_fold
        for train, test in splits:
            preprocessing = clone(self.estimator[:-1])
            train_rows = _as_float_matrix(preprocessing.fit_transform(X.iloc[train], y[train]))
            test_rows = _as_float_matrix(preprocessing.transform(X.iloc[test]))
            for k, candidate in enumerate(candidates):
                model = clone(self.estimator[-1]).set_params(**candidate).fit(train_rows, y[train])
                out_of_fold[k][test] = model.predict_proba(test_rows)
        return out_of_fold

    def predict_proba(self, X):
        """Class probabilities of the refitted best model."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    def predict(self, X):
        """Binary: positive when its probability reaches ``threshold_``; else the most probable class."""
        probabilities = self.predict_proba(X)
        if self.threshold_ is not None:
            return self.classes_[(probabilities[:, 1] >= self.threshold_).astype(int)]
        return self.classes_[np.argmax(probabilities, axis=1)]
