"""The outer loop: repeated stratified K-fold around :class:`~radiomix.model.search.TunedClassifier`.

Every model of a comparison is evaluated on the same outer splits (same seed),
so that their out-of-fold predictions are paired patient by patient.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from radiomix.model.fusion import model_input_features
from radiomix.model.search import TunedClassifier
from radiomix.model.settings import EvaluationSettings


@dataclass(frozen=True)
class NestedCVResult:
    """Out-of-fold predictions of one model.

    Attributes
    ----------
    name : str
        Model name (``multimodal``, ``clinical`` or a modality).
    probabilities : ndarray of shape (n_repeats, n_patients, n_classes)
    thresholds : ndarray of shape (n_repeats, n_patients) or None
        Binary outcomes: the inner-loop threshold of the fold that predicted each patient.
    folds : ndarray of shape (n_repeats, n_patients)
        Outer fold (0-based, within its repeat) that predicted each patient.
    fold_params : list of dict
        Chosen XGBoost parameters of each outer fold (repeat-major order).
    fold_features : list of list of str
        Model inputs after selection in each outer fold.
    """

    name: str
    probabilities: np.ndarray
    thresholds: np.ndarray | None
    folds: np.ndarray
    fold_params: list
    fold_features: list

    def selection_frequency(self) -> pd.Series:
        """Fraction of outer folds in which each feature reached the model, highest first."""
        counts = pd.Series([f for features in self.fold_features for f in features]).value_counts()
        return (counts / len(self.fold_features)).sort_values(ascending=False, kind="stable")

    def mean_probabilities(self) -> np.ndarray:
        """Each patient's class probabilities averaged over repeats, shape (n_patients, n_classes)."""
        return self.probabilities.mean(axis=0)

    def predictions_table(self, patient_ids, y: np.ndarray, classes) -> pd.DataFrame:
        """Long table: one row per repeat and patient with fold, outcome, probabilities, threshold."""
        rows = []
        for repeat in range(self.probabilities.shape[0]):
            block = pd.DataFrame({"model": self.name, "repeat": repeat, "fold": self.folds[repeat],
                                  "patient_id": patient_ids, "outcome": [classes[k] for k in y]})
            for k, label in enumerate(classes):
                block[f"probability_{label}"] = self.probabilities[repeat][:, k]
            if self.thresholds is not None:
                block["threshold"] = self.thresholds[repeat]
            rows.append(block)
        return pd.concat(rows, ignore_index=True)


def outer_splits(y: np.ndarray, settings: EvaluationSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """The outer (train, test) index pairs, repeat-major; identical for every model of a run."""
    splitter = RepeatedStratifiedKFold(n_splits=settings.n_outer_splits, n_repeats=settings.n_repeats,
                                       random_state=settings.random_state)
    return list(splitter.split(np.zeros((y.size, 1)), y))


def tuned(estimator, settings: EvaluationSettings) -> TunedClassifier:
    """The inner-loop wrapper of a model with the settings' grid, folds and seed."""
    return TunedClassifier(estimator, param_grid=settings.xgboost_grid(), cv=settings.n_inner_splits,
                           random_state=settings.random_state)


def _fit_fold(estimator, settings, X, y, train, test):
    model = tuned(clone(estimator), settings).fit(X.iloc[train], y[train])
    return (model.predict_proba(X.iloc[test]), model.threshold_, model.best_params_,
            model_input_features(model.best_estimator_))


#: Registry of the warnings re-issued from fits (each shown once, as from the module that raised it).
_REISSUED: dict = {}


def recording_warnings(function):
    """``function`` made to return ``(result, warnings)``: the warnings it raised, for :func:`run_tasks`."""
    @functools.wraps(function)
    def recorded(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
        return result, [(w.message, w.category, w.filename, w.lineno) for w in caught]
    return recorded


IDLE_WORKER_TIMEOUT_S = 2
"""Seconds joblib's worker processes wait for more work before they exit. joblib's default (300 s)
kept a Luigi task process alive for five minutes after its evaluation had finished: the process
waits for its workers when it exits."""


def run_tasks(tasks, n_jobs: int) -> list:
    """Run ``delayed(recording_warnings(f))(...)`` tasks with ``n_jobs`` processes; their results in order.

    The warnings each task raised (e.g. ComBat's small-site warnings) are issued
    again here, in the calling process, so that they reach the caller's warning
    filters whether the task ran in this process or in a worker.
    """
    results = []
    with parallel_config(backend="loky", idle_worker_timeout=IDLE_WORKER_TIMEOUT_S):
        outputs = Parallel(n_jobs=n_jobs)(tasks)
    for result, caught in outputs:
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno, registry=_REISSUED)
        results.append(result)
    return results


def nested_cross_validate(name: str, estimator, X: pd.DataFrame, y: np.ndarray,
                          settings: EvaluationSettings) -> NestedCVResult:
    """Repeated stratified outer folds, each with an inner search (:class:`TunedClassifier`).

    Parameters
    ----------
    name : str
        Model name, kept in the result.
    estimator : estimator
        Unfitted model (pipeline or late fusion); cloned for every fold.
    X : DataFrame
        Modelling table (every column the model reads).
    y : ndarray of int
        Class indices ``0 .. n_classes - 1``.
    settings : EvaluationSettings

    Returns
    -------
    NestedCVResult
    """
    return cross_validate_models({name: estimator}, X, y, settings)[name]


def cross_validate_models(models: dict, X: pd.DataFrame, y: np.ndarray,
                          settings: EvaluationSettings) -> dict[str, NestedCVResult]:
    """:func:`nested_cross_validate` of several models on the same outer splits, as one batch of fits.

    Every (model, outer fold) pair is one task of a single :class:`joblib.Parallel`
    call with ``settings.n_jobs`` processes, so that the workers stay busy from
    the first model's folds to the last one's; each fold's fit is the same as
    alone (XGBoost single-threaded and seeded), whatever the number of processes.

    Parameters
    ----------
    models : dict of str to estimator
        Model name -> unfitted model.
    X, y, settings
        As for :func:`nested_cross_validate`.

    Returns
    -------
    dict of str to NestedCVResult
        In the order of ``models``.
    """
    splits = outer_splits(y, settings)
    n_classes = int(y.max()) + 1
    tasks = [(name, train, test) for name in models for train, test in splits]
    fitted = run_tasks([delayed(recording_warnings(_fit_fold))(models[name], settings, X, y, train, test)
                        for name, train, test in tasks], settings.n_jobs)
    results = {}
    for name in models:
        fold_results = [r for (task_name, _, _), r in zip(tasks, fitted) if task_name == name]
        probabilities = np.full((settings.n_repeats, y.size, n_classes), np.nan)
        thresholds = np.full((settings.n_repeats, y.size), np.nan) if n_classes == 2 else None
        folds = np.full((settings.n_repeats, y.size), -1)
        for index, ((_, test), (proba, threshold, _, _)) in enumerate(zip(splits, fold_results)):
            repeat, fold = divmod(index, settings.n_outer_splits)
            probabilities[repeat, test] = proba
            folds[repeat, test] = fold
            if thresholds is not None:
                thresholds[repeat, test] = threshold
        results[name] = NestedCVResult(name=name, probabilities=probabilities, thresholds=thresholds, folds=folds,
                                       fold_params=[r[2] for r in fold_results],
                                       fold_features=[r[3] for r in fold_results])
    return results
