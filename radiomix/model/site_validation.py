"""Internal-external validation: leave one site out, and every scheme's performance per site.

TRIPOD+AI items 12d and 23b ask how performance varies across clusters. With a
site column, :func:`leave_one_site_out` fits the model (with its inner search)
on all sites but one and predicts the held-out site, for each site in turn.
ComBat cannot place a site it was not fitted on, so the held-out site's
features reach the model unharmonized (``combat_unseen_batch="passthrough"``):
that is the situation of a new hospital, which is what this scheme estimates.

:func:`per_site_table` gives, for each scheme and site, the case counts, the
AUROC with a 95 % bootstrap interval (resamples stratified by outcome within the
site), the calibration slope, calibration-in-the-large and the Brier score.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone

from radiomix.harmonize.combat import UnseenBatchWarning
from radiomix.model.data import ColumnLayout
from radiomix.model.fusion import build_model
from radiomix.model.metrics import auroc, auroc_resamples, bootstrap_rows, calibration_slope_intercept
from radiomix.model.nested import recording_warnings, run_tasks, tuned
from radiomix.model.settings import EvaluationSettings

SITE_COLUMNS = ["scheme", "site", "n_patients", "n_events", "auroc", "auroc_ci_low", "auroc_ci_high",
                "calibration_slope", "calibration_in_the_large", "brier", "note"]
NESTED_CV = "nested_cv"
LEAVE_ONE_SITE_OUT = "leave_one_site_out"
POOLED = "all sites (pooled)"


def leave_one_site_out(layout: ColumnLayout, X: pd.DataFrame, y: np.ndarray, sites: np.ndarray,
                       settings: EvaluationSettings) -> tuple[np.ndarray, list[str]]:
    """Probability of the positive class of every patient, predicted by a model not fitted on its site.

    Parameters
    ----------
    layout : ColumnLayout
        Columns of the multimodal model (:func:`radiomix.model.fusion.build_model`),
        built and tuned (inner search) for each held-out site.
    X : DataFrame
    y : ndarray of int
        Binary class indices.
    sites : ndarray of str
        Each patient's site.
    settings : EvaluationSettings

    Returns
    -------
    probability : ndarray of shape (n_patients,)
        NaN for the patients of a site that could not be held out.
    skipped : list of str
        Sentences naming each site that could not be held out and why.
    """
    settings = dataclasses.replace(settings, combat_unseen_batch="passthrough")
    estimator = build_model(layout, settings)
    probability = np.full(y.size, np.nan)
    skipped, held_out = [], []
    for site in sorted(set(sites)):
        test = sites == site
        train_counts = np.bincount(y[~test], minlength=2)
        if train_counts.min() < 2 * settings.n_inner_splits:
            skipped.append(f"site {site}: the other sites hold {train_counts.min()} patient(s) of the smaller "
                           f"class, too few for a {settings.n_inner_splits}-fold inner search")
            continue
        held_out.append(test)
    predicted = run_tasks([delayed(recording_warnings(_held_out_probability))(estimator, settings, X, y, test)
                           for test in held_out], settings.n_jobs)
    for test, site_probability in zip(held_out, predicted):
        probability[test] = site_probability
    return probability, skipped


def _held_out_probability(estimator, settings: EvaluationSettings, X: pd.DataFrame, y: np.ndarray,
                          test: np.ndarray) -> np.ndarray:
    """Positive-class probability of the ``test`` rows from the model tuned and fitted on the others."""
    model = tuned(clone(estimator), settings).fit(X[~test], y[~test])
    with warnings.catch_warnings():  # the held-out site is unseen by design (module docstring)
        warnings.simplefilter("ignore", UnseenBatchWarning)
        return model.predict_proba(X[test])[:, 1]


def _site_row(scheme: str, site: str, y: np.ndarray, p: np.ndarray, n_bootstrap: int, seed: int) -> dict:
    keep = np.isfinite(p)
    y, p = y[keep], p[keep]
    counts = np.bincount(y, minlength=2)
    row = {"scheme": scheme, "site": site, "n_patients": int(y.size), "n_events": int(counts[1]),
           "auroc": np.nan, "auroc_ci_low": np.nan, "auroc_ci_high": np.nan, "calibration_slope": np.nan,
           "calibration_in_the_large": np.nan, "brier": float(np.mean((p - y) ** 2)) if y.size else np.nan,
           "note": ""}
    if not y.size:
        row["note"] = "no prediction (site not held out)"
        return row
    if counts.min() == 0:
        row["note"] = "one outcome class only: AUROC and calibration undefined"
        return row
    row["auroc"] = auroc(y, p)
    draws = auroc_resamples(y, p, bootstrap_rows(y, n_bootstrap, seed))
    row["auroc_ci_low"], row["auroc_ci_high"] = np.percentile(draws, [2.5, 97.5])
    row["calibration_slope"], row["calibration_in_the_large"] = calibration_slope_intercept(y, p)
    if counts.min() < 5:
        row["note"] = f"{counts.min()} patient(s) in the smaller class: interval unreliable"
    return row


def per_site_table(y: np.ndarray, sites: np.ndarray, schemes: dict, settings: EvaluationSettings) -> pd.DataFrame:
    """Performance of each scheme per site and pooled.

    Parameters
    ----------
    y : ndarray of int
        Binary class indices.
    sites : ndarray of str
    schemes : dict of str to ndarray
        Scheme name -> each patient's probability of the positive class
        (NaN: not predicted).
    settings : EvaluationSettings
        ``n_bootstrap`` and ``random_state`` of the intervals.

    Returns
    -------
    DataFrame
        :data:`SITE_COLUMNS`, one row per scheme and site, then one pooled row per scheme.
    """
    rows = []
    for scheme, p in schemes.items():
        for site in sorted(set(sites)):
            members = sites == site
            rows.append(_site_row(scheme, str(site), y[members], p[members], settings.n_bootstrap,
                                  settings.random_state))
        rows.append(_site_row(scheme, POOLED, y, p, settings.n_bootstrap, settings.random_state))
    return pd.DataFrame(rows, columns=SITE_COLUMNS)
