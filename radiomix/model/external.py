"""External validation: a saved model applied to a partner site's cohort, refitting nothing.

The model travels, the data stay: a partner site receives the folder written by
:func:`radiomix.model.evaluation.evaluate_cohort` (``model.skops`` and
``model_card.json``), applies the model to its own patients with
:func:`validate_externally` (``radiomix evaluate --model DIR ...``) and sends back
only ``report.html`` and ``metrics.csv``, which hold aggregates only.

The model file is loaded with its SHA-256 checked against the model card and
its types against radiomix's allow-list (:func:`~radiomix.model.persistence.load_model`);
nothing is fitted: the clinical columns are encoded with the model's own
levels, ComBat inside the model applies the batch effects it learned, and the
decision threshold is the one chosen at training.

Files written to ``out_dir`` (each atomically; nothing is written elsewhere):

=======================  ==================================================================
``metrics.csv``          ``model, metric, value, ci_low, ci_high`` (model ``external``):
                         the evaluation's metrics, plus ``observed_event_rate``,
                         ``mean_predicted_probability`` and ``brier_recalibrated`` (binary)
``decision_curve.csv``   ``threshold, model, treat_all, treat_none`` net benefit (binary)
``case_flow.csv``        ``step, patients``: from the partner's tables to the validated patients
``predictions.csv``      ``patient_id, outcome, probability_<class>...`` (stays at the site)
``validation_card.json`` model hash and card, inputs' hashes, settings, versions
``report.html``          the external-validation report (:mod:`radiomix.report.external`)
=======================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import radiomix
from radiomix.cohort.provenance import file_hash
from radiomix.errors import InputError
from radiomix.io.atomic import write_csv_atomic, write_text_atomic
from radiomix.model.data import Cohort, load_cohort, read_table
from radiomix.model.fusion import LateFusionClassifier
from radiomix.model.metrics import (
    _logit,
    bootstrap_rows,
    calibration_slope_intercept,
    metrics_with_intervals,
    net_benefit,
)
from radiomix.model.persistence import ModelFileError, load_model

MODEL_FILE = "model.skops"
MODEL_CARD_FILE = "model_card.json"
#: Name of the model in ``metrics.csv``.
EXTERNAL = "external"
#: Threshold probabilities of the decision curve.
DECISION_THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)
METRIC_COLUMNS = ["model", "metric", "value", "ci_low", "ci_high"]


@dataclass(frozen=True)
class ExternalValidationResult:
    """Everything :func:`validate_externally` computed (and what the report shows).

    Attributes
    ----------
    cohort : Cohort
        The partner's validated patients (radiomic columns and outcome).
    probabilities : ndarray of shape (n_patients, n_classes)
        The model's predictions.
    threshold : float or None
        The model's decision threshold (binary outcomes).
    metrics : DataFrame
        The ``metrics.csv`` table.
    resamples : ndarray of shape (n_bootstrap, n_patients)
        Bootstrap resamples behind every interval.
    recalibration_intercept : float or None
        Binary: the shift of the log-odds that recalibrates the model in the
        large (the calibration intercept with slope 1).
    decision_curve : DataFrame or None
        Net benefit (binary outcomes).
    case_flow : DataFrame
        ``step, patients``.
    notes : list of str
        What the partner's data did not fit (unknown clinical levels, batches).
    model_card : dict
        The model's card, as saved with it.
    validation_card : dict
        The ``validation_card.json`` content.
    out_dir : Path
    """

    cohort: Cohort
    probabilities: np.ndarray
    threshold: float | None
    metrics: pd.DataFrame
    resamples: np.ndarray
    recalibration_intercept: float | None
    decision_curve: pd.DataFrame | None
    case_flow: pd.DataFrame
    notes: list
    model_card: dict
    validation_card: dict
    out_dir: Path


def load_saved_model(model_dir: str | Path):
    """The fitted model of an evaluation folder and its card; the model's SHA-256 checked.

    Raises
    ------
    ModelFileError
        No card, an unreadable card, or a model file that differs from the card's hash.
    """
    model_dir = Path(model_dir)
    card_path = model_dir / MODEL_CARD_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{card_path}: no model card; give the folder written by `radiomix evaluate` "
                             f"(it holds {MODEL_FILE} and {MODEL_CARD_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{card_path}: unreadable model card ({exc})") from None
    expected = card.get("model_files", {}).get(MODEL_FILE)
    if expected is None:
        raise ModelFileError(f"{card_path}: the card records no SHA-256 for {MODEL_FILE}")
    return load_model(model_dir / MODEL_FILE, expected_sha256=expected), card


def _required_columns(model) -> tuple[list[str], list[str]]:
    """Columns of the training table (in order) and those the model's pipelines read."""
    best = model.best_estimator_
    pipelines = list(best.estimators_.values()) if isinstance(best, LateFusionClassifier) else [best]
    required = {str(c) for pipeline in pipelines for c in pipeline[0].columns}
    return [str(c) for c in best.feature_names_in_], sorted(required)


def _clinical_block(clinical: pd.DataFrame, card: dict, index: pd.Index, path, notes: list) -> pd.DataFrame:
    """The model's encoded clinical columns computed from the partner's raw clinical table."""
    sources = list(card["data"]["clinical_columns"])
    encoded_names = list(card["data"]["clinical_columns_encoded"])
    absent = [c for c in sources if c not in clinical.columns]
    if absent:
        raise InputError(f"the clinical table lacks column(s) {absent} that the model uses", path=path)
    raw = clinical.set_index("patient_id").reindex(index)
    block = {}
    for source in sources:
        if source in encoded_names:
            values = pd.to_numeric(raw[source], errors="coerce")
            bad = values.isna() & raw[source].notna()
            if bad.any():
                raise InputError(f"clinical column {source!r} is numeric in the model but holds text here "
                                 f"(e.g. {raw[source][bad].iloc[0]!r})", path=path)
            block[source] = values.astype(float)
            continue
        levels = [name[len(source) + 1:] for name in encoded_names if name.startswith(f"{source}=")]
        text = raw[source].astype("string")
        for level in levels:
            indicator = (text == level).astype(float)
            indicator[text.isna()] = np.nan
            block[f"{source}={level}"] = indicator
        unknown = sorted(set(text.dropna().unique()) - set(levels))
        if len(levels) == 1 and len(unknown) <= 1:   # two levels at training: the other one was dropped
            unknown = []
        if unknown:
            count = int(text.isin(unknown).sum())
            notes.append(f"{count} patient(s) have value(s) {unknown} of clinical column {source!r} that may not "
                         "have been seen at training: they are encoded as none of the model's levels")
    return pd.DataFrame(block, index=index)[encoded_names] if encoded_names else pd.DataFrame(index=index)


def _batch_labels(cohort_table: pd.DataFrame, card: dict, batch_column: str | None, assign_batch: str | None,
                  path, notes: list) -> pd.Series | None:
    """The batch labels handed to the model's ComBat, checked against the batches it knows."""
    batch = card["data"].get("batch")
    if batch is None:
        if assign_batch is not None:
            raise InputError("assign_batch was given, but the model was trained without a batch column (it holds "
                             "no ComBat)")
        return None
    known = sorted(batch["levels"])
    if assign_batch is not None:
        labels = pd.Series(str(assign_batch), index=cohort_table.index, dtype=object)
    elif batch_column is not None and batch_column in cohort_table.columns:
        labels = cohort_table[batch_column]
    else:
        raise InputError(
            f"the model harmonizes by batch column {batch['column']!r} (batches {known}); give your batch column "
            "(batch_column) or, when your features were harmonized onto one of these batches with a distributed "
            "harmonizer (docs/multisite.md), that batch (assign_batch)", path=path)
    unseen = sorted({str(v) for v in labels.dropna()} - set(known))
    if unseen:
        policy = card.get("settings", {}).get("combat_unseen_batch", "error")
        message = (f"batch(es) {unseen} are unknown to the model's ComBat (trained on {known})")
        if policy == "error":
            raise InputError(message + ": the model cannot harmonize them. Harmonize your features onto one of "
                             "the model's batches with a distributed harmonizer (radiomix harmonize, "
                             "docs/multisite.md) and pass that batch as assign_batch", path=path)
        notes.append(message + ": their rows are given to the model unharmonized")
    return labels


def _case_flow(features_path, clinical: pd.DataFrame, cohort: Cohort) -> pd.DataFrame:
    wide = read_table(features_path, "feature table")
    reasons = cohort.excluded.drop_duplicates("patient_id")["reason"].value_counts(sort=False)
    radiomic = list(cohort.layout.radiomic)
    without_imaging = int(cohort.table[radiomic].isna().all(axis=1).sum())
    rows = [("rows of the feature table", len(wide)), ("rows of the clinical table", len(clinical))]
    rows += [(f"excluded: {reason}", int(count)) for reason, count in reasons.items()]
    rows += [("validated patients", len(cohort.table)),
             ("  of whom without any radiomic value (predicted from clinical data and missing indicators)",
              without_imaging)]
    counts = np.bincount(cohort.outcome, minlength=cohort.n_classes)
    rows += [(f"  outcome {cls}", int(n)) for cls, n in zip(cohort.classes, counts)]
    return pd.DataFrame(rows, columns=["step", "patients"])


def _interval(statistic, y: np.ndarray, p: np.ndarray, resamples: np.ndarray) -> tuple[float, float, float]:
    """A statistic's value and 95 % bootstrap percentile interval."""
    draws = np.asarray([statistic(y[rows], p[rows]) for rows in resamples])
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5]) if draws.size else (np.nan, np.nan)
    return float(statistic(y, p)), float(low), float(high)


def recalibrated_in_the_large(p: np.ndarray, intercept: float) -> np.ndarray:
    """Probabilities with their log-odds shifted by ``intercept`` (recalibration-in-the-large)."""
    return 1.0 / (1.0 + np.exp(-(_logit(p) + intercept)))


def _recalibrated_brier(y: np.ndarray, p: np.ndarray) -> float:
    intercept = calibration_slope_intercept(y, p)[1]
    return float(np.mean((recalibrated_in_the_large(p, intercept) - y) ** 2)) if np.isfinite(intercept) else np.nan


def validate_externally(
    model_dir: str | Path,
    features_csv: str | Path,
    clinical_csv: str | Path,
    outcome: str,
    out_dir: str | Path,
    *,
    batch_column: str | None = None,
    assign_batch: str | None = None,
    n_bootstrap: int | None = None,
    random_state: int | None = None,
    write_report: bool = True,
) -> ExternalValidationResult:
    """Apply a saved model to a partner cohort and write the external-validation outputs.

    Parameters
    ----------
    model_dir : path
        Folder written by ``radiomix evaluate`` (``model.skops``, ``model_card.json``).
    features_csv, clinical_csv : path
        The partner's wide feature table and clinical table (as for ``radiomix evaluate``).
    outcome : str
        Outcome column of the clinical table; same classes as at training.
    out_dir : path
        Output folder (created); the only place written to.
    batch_column : str, optional
        The partner's batch column (in either table), when the model harmonizes
        by batch; its labels must be batches the model knows.
    assign_batch : str, optional
        Give every patient this batch of the model (features already harmonized
        onto it, e.g. by a distributed harmonizer with that reference batch).
    n_bootstrap, random_state : int, optional
        Bootstrap resamples and seed of the intervals; default the model's settings.
    write_report : bool, default=True

    Returns
    -------
    ExternalValidationResult

    Raises
    ------
    ModelFileError, UntrustedModelError
        The model folder or file cannot be trusted or read.
    InputError
        The partner's tables lack what the model needs, or hold other outcome classes.
    """
    model, card = load_saved_model(model_dir)
    out_dir = Path(out_dir)
    settings = card.get("settings", {})
    n_bootstrap = int(settings.get("n_bootstrap", 1000) if n_bootstrap is None else n_bootstrap)
    random_state = int(settings.get("random_state", 0) if random_state is None else random_state)
    clinical = read_table(clinical_csv, "clinical table")
    features_columns = read_table(features_csv, "feature table").columns
    cohort_batch = batch_column if batch_column is not None and (
        batch_column in features_columns or batch_column in clinical.columns) else None
    cohort = load_cohort(features_csv, clinical_csv, outcome, batch_column=cohort_batch, clinical_columns=(),
                         positive_class=card["data"].get("positive_class"))
    model_classes = tuple(card["data"]["classes"])
    if cohort.classes != model_classes:
        raise InputError(f"outcome {outcome!r} has classes {list(cohort.classes)} here but {list(model_classes)} at "
                         "training; recode it to the model's classes", path=clinical_csv)

    notes: list[str] = []
    training_columns, required = _required_columns(model)
    X = pd.DataFrame(index=cohort.table.index)
    radiomic = [c for c in training_columns if c in cohort.table.columns]
    absent = [c for c in required if c not in cohort.table.columns and c not in card["data"]["clinical_columns_encoded"]
              and c != (card["data"].get("batch") or {}).get("column")]
    if absent:
        raise InputError(f"the feature table lacks {len(absent)} column(s) the model reads: {absent[:8]}"
                         f"{' ...' if len(absent) > 8 else ''}", path=features_csv)
    X = X.join(cohort.table[radiomic])
    X = X.join(_clinical_block(clinical, card, X.index, clinical_csv, notes))
    labels = _batch_labels(cohort.table, card, cohort_batch, assign_batch, clinical_csv, notes)
    if labels is not None:
        X[card["data"]["batch"]["column"]] = labels.astype(object)
    X = X.reindex(columns=training_columns)

    probabilities = np.asarray(model.predict_proba(X), dtype=float)
    y = cohort.outcome
    binary = cohort.n_classes == 2
    threshold = float(model.threshold_) if binary and model.threshold_ is not None else None
    resamples = bootstrap_rows(y, n_bootstrap, random_state)
    thresholds = None if threshold is None else np.full((1, y.size), threshold)
    intercept, curve = None, None
    with np.errstate(over="ignore"):   # exp overflow in the logistic fits of extreme predictions: probability 0
        rows = [(EXTERNAL, name, *values) for name, values in
                metrics_with_intervals(y, probabilities[None], thresholds, resamples).items()]
        if binary:
            positive = probabilities[:, 1]
            for name, statistic in (("observed_event_rate", lambda t, p: float(np.mean(t))),
                                    ("mean_predicted_probability", lambda t, p: float(np.mean(p))),
                                    ("brier_recalibrated", _recalibrated_brier)):
                rows.append((EXTERNAL, name, *_interval(statistic, y, positive, resamples)))
            intercept = calibration_slope_intercept(y, positive)[1]
            curve = net_benefit(y, positive, DECISION_THRESHOLDS)
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    case_flow = _case_flow(features_csv, clinical, cohort)

    predictions = pd.DataFrame({"patient_id": cohort.patient_ids,
                                "outcome": [cohort.classes[k] for k in y],
                                **{f"probability_{c}": probabilities[:, k] for k, c in enumerate(cohort.classes)}})
    validation_card = {
        "purpose": "external validation: a saved model applied without refitting to another site's patients",
        "model": {"folder": str(Path(model_dir)), "sha256": card["model_files"][MODEL_FILE],
                  "created_utc": card.get("created_utc"), "settings_hash": card.get("settings_hash"),
                  "training_patients": card["data"].get("n_patients"), "outcome": card["data"].get("outcome"),
                  "classes": list(model_classes), "decision_threshold": threshold},
        "inputs": {role: {"path": str(path), "sha256": file_hash(path)}
                   for role, path in (("features", features_csv), ("clinical", clinical_csv))},
        "options": {"batch_column": batch_column, "assign_batch": assign_batch, "n_bootstrap": n_bootstrap,
                    "random_state": random_state},
        "notes": notes,
        "radiomix_version": radiomix.__version__,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.10)
    }
    write_csv_atomic(metrics, out_dir / "metrics.csv")
    if curve is not None:
        write_csv_atomic(curve, out_dir / "decision_curve.csv")
    write_csv_atomic(case_flow, out_dir / "case_flow.csv")
    write_csv_atomic(predictions, out_dir / "predictions.csv")
    write_text_atomic(json.dumps(validation_card, indent=2, default=str), out_dir / "validation_card.json")
    result = ExternalValidationResult(cohort=cohort, probabilities=probabilities, threshold=threshold,
                                      metrics=metrics, resamples=resamples, recalibration_intercept=intercept,
                                      decision_curve=curve, case_flow=case_flow, notes=notes, model_card=card,
                                      validation_card=validation_card, out_dir=out_dir)
    if write_report:
        from radiomix.report.external import render_external_report

        write_text_atomic(render_external_report(result), out_dir / "report.html")
    return result
