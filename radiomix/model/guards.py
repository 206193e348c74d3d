"""Guards of an evaluation: is the cohort large enough, did the models learn anything, do they differ?

Documented minimums (the report and ``warnings.csv`` name the one that was missed):

==========================================  =====  ==========================================================
:data:`MIN_CLASS_TO_EVALUATE`                  4   patients in the smaller outcome class; below it the run
                                                   refuses (2 outer x 2 inner stratified folds need the
                                                   class in every outer and inner training fold)
:data:`MIN_CLASS_PER_OUTER_TEST_FOLD`          5   patients of the smaller class in each outer test fold;
                                                   the outer (and inner) K is reduced towards it, never
                                                   below 2, and the run says so
:data:`MIN_EVENTS_PER_CANDIDATE_FEATURE`     1.0   events (smaller class) of the smallest outer training
                                                   fold per candidate feature of a model; below it feature
                                                   selection chooses among more candidates than events
==========================================  =====  ==========================================================

After the cross-validation, every model is checked for an AUROC whose 95 %
interval covers 0.5 ("not distinguishable from chance"), for degenerate
predictions (one predicted class for every patient of a repeat, or the same
probability for every patient) and for models whose out-of-fold probabilities
are identical. Pairwise comparisons (DeLong, difference of AUROC with its
interval) are computed here, once, for ``comparisons.csv``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from radiomix.errors import InputError
from radiomix.model.metrics import delong_test
from radiomix.model.settings import EvaluationSettings

MIN_CLASS_TO_EVALUATE = 4
MIN_CLASS_PER_OUTER_TEST_FOLD = 5
MIN_EVENTS_PER_CANDIDATE_FEATURE = 1.0
#: Out-of-fold probabilities closer than this (absolute) are the same prediction.
IDENTICAL_ATOL = 1e-9

WARNING_COLUMNS = ["check", "model", "value", "minimum", "action", "message"]
COMPARISON_COLUMNS = ["model_a", "model_b", "auroc_a", "auroc_b", "auroc_difference", "ci_low", "ci_high",
                      "delong_p", "status"]
CHANCE_LABEL = "not distinguishable from chance"


@dataclass(frozen=True)
class Finding:
    """One guard that fired: a row of ``warnings.csv``.

    Attributes
    ----------
    check : str
        Stable name (e.g. ``auroc_not_distinguishable_from_chance``).
    model : str
        The model concerned, ``all`` for the cohort, or ``a=b`` for a pair.
    value, minimum : float
        The measured quantity and its documented minimum (NaN when not a count).
    action : str
        ``reported``, or what the run changed (e.g. ``outer folds 5 -> 2``).
    message : str
        A sentence for the report.
    """

    check: str
    model: str
    value: float
    minimum: float
    action: str
    message: str


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """``warnings.csv``: one row per finding (header only when none)."""
    return pd.DataFrame([dataclasses.astuple(f) for f in findings], columns=WARNING_COLUMNS)


def plan_cross_validation(y: np.ndarray, classes, settings: EvaluationSettings
                          ) -> tuple[EvaluationSettings, list[Finding]]:
    """Settings with the outer and inner K reduced to what the smaller class allows.

    Raises
    ------
    InputError
        The smallest class has fewer than :data:`MIN_CLASS_TO_EVALUATE` patients.
    """
    counts = np.bincount(y, minlength=len(classes))
    smallest = int(counts.min())
    label = classes[int(np.argmin(counts))]
    if smallest < MIN_CLASS_TO_EVALUATE:
        raise InputError(f"outcome class {label!r} has {smallest} patient(s): nested cross-validation needs at "
                         f"least {MIN_CLASS_TO_EVALUATE} in each class (2 outer x 2 inner stratified folds with "
                         "both classes in every training fold); collect more patients or merge classes")
    findings = []
    n_outer = min(settings.n_outer_splits, max(2, smallest // MIN_CLASS_PER_OUTER_TEST_FOLD))
    training_smallest = smallest - math.ceil(smallest / n_outer)
    n_inner = min(settings.n_inner_splits, max(2, training_smallest // MIN_CLASS_PER_OUTER_TEST_FOLD))
    if n_outer < settings.n_outer_splits:
        findings.append(Finding(
            "outer_folds_reduced", "all", float(n_outer), float(settings.n_outer_splits),
            f"outer folds {settings.n_outer_splits} -> {n_outer}",
            f"The smaller outcome class ({label!r}) has {smallest} patients: {settings.n_outer_splits} outer "
            f"folds would leave fewer than {MIN_CLASS_PER_OUTER_TEST_FOLD} of them per test fold, so the outer "
            f"loop uses {n_outer} folds."))
    if n_inner < settings.n_inner_splits:
        findings.append(Finding(
            "inner_folds_reduced", "all", float(n_inner), float(settings.n_inner_splits),
            f"inner folds {settings.n_inner_splits} -> {n_inner}",
            f"Outer training folds hold about {training_smallest} patients of class {label!r}: the inner loop "
            f"uses {n_inner} folds instead of {settings.n_inner_splits}."))
    planned = dataclasses.replace(settings, n_outer_splits=n_outer, n_inner_splits=n_inner)
    return planned, findings


def fold_class_counts(y: np.ndarray, splits) -> tuple[int, int]:
    """Smallest class count in any outer test fold and in any outer training fold."""
    n_classes = int(y.max()) + 1
    test = min(int(np.bincount(y[t], minlength=n_classes).min()) for _, t in splits)
    train = min(int(np.bincount(y[t], minlength=n_classes).min()) for t, _ in splits)
    return test, train


def sample_size_checks(y: np.ndarray, splits, candidates: dict[str, int]) -> tuple[dict, list[Finding]]:
    """Events per fold and per candidate feature of each model.

    Parameters
    ----------
    y : ndarray of int
    splits : list of (train, test)
        The outer splits.
    candidates : dict of str to int
        Model -> number of candidate features (columns it reads).

    Returns
    -------
    rows : dict of str to dict of str to float
        Model -> ``smallest_class_outer_test_fold``, ``events_smallest_outer_training_fold``,
        ``n_candidate_features``, ``events_per_candidate_feature`` (rows of ``metrics.csv``).
    findings : list of Finding
    """
    test_smallest, train_smallest = fold_class_counts(y, splits)
    findings = []
    if test_smallest < MIN_CLASS_PER_OUTER_TEST_FOLD:
        findings.append(Finding(
            "small_outer_test_fold", "all", float(test_smallest), float(MIN_CLASS_PER_OUTER_TEST_FOLD),
            "reported",
            f"An outer test fold holds only {test_smallest} patient(s) of its smaller class (minimum "
            f"{MIN_CLASS_PER_OUTER_TEST_FOLD}): per-fold estimates are unstable and every interval is wide."))
    rows = {}
    for model, n_candidates in candidates.items():
        per_feature = train_smallest / n_candidates if n_candidates else np.nan
        rows[model] = {"smallest_class_outer_test_fold": float(test_smallest),
                       "events_smallest_outer_training_fold": float(train_smallest),
                       "n_candidate_features": float(n_candidates),
                       "events_per_candidate_feature": float(per_feature)}
        if n_candidates and per_feature < MIN_EVENTS_PER_CANDIDATE_FEATURE:
            findings.append(Finding(
                "few_events_per_candidate_feature", model, float(per_feature),
                MIN_EVENTS_PER_CANDIDATE_FEATURE, "reported",
                f"{model}: {train_smallest} events in the smallest outer training fold for {n_candidates} "
                f"candidate features ({per_feature:.2f} per feature, minimum "
                f"{MIN_EVENTS_PER_CANDIDATE_FEATURE:g}): feature selection chooses among more candidates than "
                "events, so which features are chosen is largely noise."))
    return rows, findings


def covers_chance(low: float, high: float) -> bool:
    """True when a 95 % AUROC interval contains 0.5 (or is undefined)."""
    return not (np.isfinite(low) and np.isfinite(high)) or low <= 0.5 <= high


def prediction_checks(y: np.ndarray, results: dict, metrics: pd.DataFrame) -> list[Finding]:
    """AUROC at chance, one predicted class, constant and identical predictions."""
    findings = []
    auroc = metrics[metrics["metric"] == "auroc"].set_index("model")
    for name, result in results.items():
        if name in auroc.index:
            value, low, high = auroc.loc[name, ["value", "ci_low", "ci_high"]]
            if covers_chance(low, high):
                findings.append(Finding(
                    "auroc_not_distinguishable_from_chance", name, float(value), 0.5, "reported",
                    f"{name}: AUROC {value:.3f} (95 % CI {low:.3f}-{high:.3f}) is {CHANCE_LABEL}; its other "
                    "metrics and any explanation describe a model without demonstrated skill."))
        mean = result.mean_probabilities()
        if np.ptp(mean, axis=0).max() <= IDENTICAL_ATOL:
            findings.append(Finding("constant_predictions", name, float(mean[0, -1]), np.nan, "reported",
                                    f"{name}: every patient receives the same predicted probability "
                                    f"({mean[0, -1]:.3f})."))
        if result.thresholds is not None:
            one_class = [r for r in range(result.probabilities.shape[0])
                         if np.unique(result.probabilities[r][:, 1] >= result.thresholds[r]).size == 1]
            if one_class:
                findings.append(Finding(
                    "predicts_one_class", name, float(len(one_class)), np.nan, "reported",
                    f"{name}: in {len(one_class)} of {result.probabilities.shape[0]} repeat(s) every patient is "
                    "predicted as the same class, so sensitivity and specificity are 1 and 0 by construction."))
    for a, b in identical_pairs(results):
        findings.append(Finding("identical_predictions", f"{a}={b}", np.nan, np.nan, "not compared",
                                f"{a} and {b} give identical out-of-fold predictions: they are one model as "
                                "far as the data can tell, and are not compared."))
    return findings


def identical_pairs(results: dict) -> list[tuple[str, str]]:
    """Pairs of models whose repeat-averaged out-of-fold probabilities coincide."""
    return [(a, b) for a, b in itertools.combinations(results, 2)
            if np.allclose(results[a].mean_probabilities(), results[b].mean_probabilities(),
                           rtol=0.0, atol=IDENTICAL_ATOL)]


def comparisons_table(y: np.ndarray, results: dict) -> pd.DataFrame:
    """``comparisons.csv``: every pair of models, DeLong p and AUROC difference (a - b) with its 95 % CI.

    The AUROCs here are those of each patient's repeat-averaged out-of-fold
    probability (the paired DeLong test needs one score per patient); they can
    differ from ``metrics.csv``, whose AUROC is the mean over repeats of each
    repeat's AUROC. Binary outcomes only (empty otherwise). Pairs with identical
    predictions keep their row with ``status`` saying so and no test.
    """
    rows = []
    if not results or next(iter(results.values())).probabilities.shape[2] != 2:
        return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    identical = set(identical_pairs(results))
    for a, b in itertools.combinations(results, 2):
        score_a = results[a].mean_probabilities()[:, 1]
        score_b = results[b].mean_probabilities()[:, 1]
        test = delong_test(y, score_a, score_b)
        if (a, b) in identical:
            rows.append((a, b, test.auroc_a, test.auroc_b, np.nan, np.nan, np.nan, np.nan,
                         "identical predictions: not compared"))
        else:
            rows.append((a, b, test.auroc_a, test.auroc_b, test.difference, test.ci_low, test.ci_high,
                         test.p_value, "compared"))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
