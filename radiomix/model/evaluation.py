"""Nested cross-validated evaluation of a cohort: the one entry behind ``radiomix evaluate``.

:func:`evaluate_cohort` fuses the wide feature table with the clinical table,
evaluates the multimodal model, the clinical-only model and one model per
modality by repeated nested cross-validation on the same outer splits, compares
them (DeLong, ``comparisons.csv``), refits the multimodal model on all patients, explains it (SHAP),
saves it (skops and XGBoost JSON) and writes a self-contained HTML report.

Before fitting, :mod:`radiomix.model.guards` checks the sample size (refusing,
or reducing the outer and inner K, below its documented minimums); after, it
names AUROCs not distinguishable from chance, degenerate and identical models.

Files written to ``out_dir`` (each atomically):

===========================  ==============================================================
``metrics.csv``              ``model, metric, value, ci_low, ci_high`` (models ``multimodal``,
                             ``clinical``, one per modality); performance with 95 % intervals,
                             then the sample-size rows (``smallest_class_outer_test_fold``,
                             ``events_smallest_outer_training_fold``, ``n_candidate_features``,
                             ``events_per_candidate_feature``; no interval)
``warnings.csv``             ``check, model, value, minimum, action, message``: every guard that
                             fired (header only when none)
``comparisons.csv``          every pair of models: AUROCs, difference (a - b) with its DeLong
                             95 % interval, DeLong p, ``status`` (binary outcomes)
``decision_curve.csv``       ``model, threshold, net_benefit, treat_all, treat_none`` (binary)
``site_performance.csv``     with a batch (site) column and a binary outcome: nested CV and
                             leave-one-site-out performance per site (:mod:`~radiomix.model.site_validation`)
``tripod_ai.csv``            the TRIPOD+AI checklist as far as the run knows it
``predictions.csv``          out-of-fold probabilities of every model, repeat and patient
``selected_features.csv``    final model inputs, outer-fold selection frequency, SHAP, codebook
``shap_per_modality.csv``    ``modality, n_features, sum_mean_abs_shap, share``
``shap_per_feature.csv``     ``feature, modality, mean_abs_shap, rank``
``shap_per_patient.csv``     ``patient_id, explained_class, expected_value, margin`` + one column
                             per feature (``explained_class``: the class whose margin is
                             explained, not the patient's outcome)
``model.skops``              the fitted final model (:class:`TunedClassifier`), skops format
``model_booster*.json``      its XGBoost booster(s), XGBoost JSON
``model_card.json``          data, settings, versions, input file names and hashes, model hashes
``report.html``              the report (:mod:`radiomix.report`)
===========================  ==============================================================
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

import radiomix
from radiomix.cohort.merge import CODEBOOK_COLUMNS, FAILURE_COLUMNS
from radiomix.cohort.provenance import dependency_versions, file_hash
from radiomix.errors import InputError, SpecError
from radiomix.explain.values import ShapExplanation, explain_model
from radiomix.io.atomic import write_csv_atomic, write_text_atomic
from radiomix.model.data import (
    CLINICAL,
    MISSING_SUFFIX,
    MODALITY_SEPARATOR,
    MULTIMODAL,
    Cohort,
    load_cohort,
)
from radiomix.model.fusion import (
    build_model,
    build_pipeline,
    group_of_feature,
    model_input_features,
)
from radiomix.model.guards import (
    Finding,
    comparisons_table,
    findings_table,
    plan_cross_validation,
    prediction_checks,
    sample_size_checks,
)
from radiomix.model.metrics import bootstrap_rows, metrics_with_intervals, net_benefit
from radiomix.model.nested import NestedCVResult, cross_validate_models, outer_splits, tuned
from radiomix.model.persistence import save_boosters, save_model, sha256_bytes
from radiomix.model.search import TunedClassifier
from radiomix.model.settings import EvaluationSettings, load_evaluation_settings
from radiomix.model.site_validation import LEAVE_ONE_SITE_OUT, NESTED_CV, leave_one_site_out, per_site_table
from radiomix.report import render_report
from radiomix.report.tripod import tripod_ai_table

METRIC_COLUMNS = ["model", "metric", "value", "ci_low", "ci_high"]
SELECTED_FEATURE_COLUMNS = ["feature", "modality", "outer_fold_selection_frequency", "mean_abs_shap",
                            "extracted_feature", "family", "name", "ibsi_code", "aggregation", "image_type",
                            "unit", "description"]
#: Threshold probabilities of the decision curve.
DECISION_THRESHOLDS = np.round(np.arange(0.02, 0.99, 0.02), 2)


@dataclass(frozen=True)
class EvaluationResult:
    """Everything :func:`evaluate_cohort` computed (and what the report shows).

    Attributes
    ----------
    cohort : Cohort
    settings : EvaluationSettings
        The settings used (outer and inner K possibly reduced by the guards).
    requested_settings : EvaluationSettings
        The settings as given.
    cross_validation : dict of str to NestedCVResult
        ``multimodal``, then ``clinical`` (if clinical columns), then each modality.
    metrics : DataFrame
        The ``metrics.csv`` table.
    resamples : ndarray of shape (n_bootstrap, n_patients)
        The bootstrap resamples (patient rows) behind every interval.
    final_model : TunedClassifier
        The multimodal model refitted (with its inner search) on all patients.
    explanation : ShapExplanation
        SHAP values of the final model for every patient.
    selected_features : DataFrame
        The ``selected_features.csv`` table.
    model_card : dict
        The ``model_card.json`` content.
    out_dir : Path
    warnings : DataFrame
        The ``warnings.csv`` table (guards that fired).
    comparisons : DataFrame
        The ``comparisons.csv`` table.
    decision_curve : DataFrame or None
        The ``decision_curve.csv`` table (binary outcomes).
    site_performance : DataFrame or None
        The ``site_performance.csv`` table (with a batch column and a binary outcome).
    tripod : DataFrame or None
        The ``tripod_ai.csv`` table.
    """

    cohort: Cohort
    settings: EvaluationSettings
    cross_validation: dict
    metrics: pd.DataFrame
    resamples: np.ndarray
    final_model: TunedClassifier
    explanation: ShapExplanation
    selected_features: pd.DataFrame
    model_card: dict
    out_dir: Path
    requested_settings: EvaluationSettings | None = None
    warnings: pd.DataFrame | None = None
    comparisons: pd.DataFrame | None = None
    decision_curve: pd.DataFrame | None = None
    site_performance: pd.DataFrame | None = None
    tripod: pd.DataFrame | None = None

    def chance_level(self, model: str) -> bool:
        """True when the guards found ``model``'s AUROC not distinguishable from chance."""
        if self.warnings is None:
            return False
        rows = self.warnings[(self.warnings["check"] == "auroc_not_distinguishable_from_chance")
                             & (self.warnings["model"] == model)]
        return bool(len(rows))


def model_names(cohort: Cohort) -> list[str]:
    """The evaluated models: ``multimodal``, ``clinical`` (with clinical columns), each modality."""
    return [MULTIMODAL, *((CLINICAL,) if cohort.layout.clinical else ()), *cohort.layout.modalities]


def build_models(cohort: Cohort, settings: EvaluationSettings) -> dict:
    """Unfitted model of each name of :func:`model_names`.

    Raises
    ------
    SpecError
        ``combat_covariates`` names a column that is not a clinical column of the cohort.
    """
    layout = cohort.layout
    unknown = [c for c in settings.combat_covariates if c not in layout.clinical]
    if unknown:
        raise SpecError(f"combat_covariates {unknown} are not clinical columns of the cohort "
                        f"(encoded clinical columns: {list(layout.clinical)})")
    models = {MULTIMODAL: build_model(layout, settings)}
    for name in model_names(cohort)[1:]:
        models[name] = build_pipeline(layout.subset([name]), settings)
    return models


def candidate_feature_counts(cohort: Cohort) -> dict[str, int]:
    """Columns each model of :func:`model_names` chooses from (radiomic and clinical; not the batch)."""
    layout = cohort.layout
    counts = {MULTIMODAL: len(layout.radiomic) + len(layout.clinical)}
    if layout.clinical:
        counts[CLINICAL] = len(layout.clinical)
    counts.update({m: len(columns) for m, columns in layout.modalities.items()})
    return counts


def metrics_table(cohort: Cohort, results: dict, resamples: np.ndarray,
                  sample_size: dict | None = None) -> pd.DataFrame:
    """Rows ``model, metric, value, ci_low, ci_high`` for every model, then its sample-size rows.

    Pairwise comparisons are not here: see :func:`radiomix.model.guards.comparisons_table`.
    """
    y = cohort.outcome
    rows = []
    for name, result in results.items():
        for metric, (value, low, high) in metrics_with_intervals(
                y, result.probabilities, result.thresholds, resamples).items():
            rows.append((name, metric, value, low, high))
        for metric, value in (sample_size or {}).get(name, {}).items():
            rows.append((name, metric, value, np.nan, np.nan))
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def decision_curve_table(y: np.ndarray, results: dict) -> pd.DataFrame:
    """Net benefit of each model's repeat-averaged out-of-fold probabilities, with treat-all and treat-none."""
    tables = []
    for name, result in results.items():
        curve = net_benefit(y, result.mean_probabilities()[:, 1], DECISION_THRESHOLDS)
        tables.append(curve.rename(columns={"model": "net_benefit"}).assign(model=name))
    table = pd.concat(tables, ignore_index=True)
    return table[["model", "threshold", "net_benefit", "treat_all", "treat_none"]]


def read_failures(failures: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    """A failures table (``patient_id, modality, stage, error_type, message``), checked."""
    if failures is None:
        return None
    table = failures if isinstance(failures, pd.DataFrame) else _read_csv(failures, "failures table")
    absent = [c for c in FAILURE_COLUMNS if c not in table.columns]
    if absent:
        raise InputError(f"the failures table lacks column(s) {absent} (expected {FAILURE_COLUMNS})",
                         path=None if isinstance(failures, pd.DataFrame) else failures)
    return table[FAILURE_COLUMNS].astype(str)


def read_codebook(codebook: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    """A codebook (one row per wide column, see :mod:`radiomix.cohort.merge`), checked."""
    if codebook is None:
        return None
    table = codebook if isinstance(codebook, pd.DataFrame) else _read_csv(codebook, "codebook")
    if "column" not in table.columns:
        raise InputError(f"the codebook has no 'column' column (expected {CODEBOOK_COLUMNS})",
                         path=None if isinstance(codebook, pd.DataFrame) else codebook)
    return table


def _read_csv(path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=path) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not a readable CSV ({exc})", path=path) from None


def selected_features_table(cohort: Cohort, final_model: TunedClassifier, multimodal: NestedCVResult,
                            explanation: ShapExplanation, codebook: pd.DataFrame | None) -> pd.DataFrame:
    """The final model's inputs with outer-fold selection frequency, mean |SHAP| and what each one is.

    ``feature`` is the model input's name; radiomic inputs carry their codebook
    entry (``extracted_feature`` is the codebook's feature name), clinical
    inputs and missing-modality indicators are described as such.
    """
    features = model_input_features(final_model.best_estimator_)
    frequency = multimodal.selection_frequency()
    shap_by_feature = explanation.per_feature().set_index("feature")
    entries = (codebook.drop_duplicates("column").set_index("column") if codebook is not None
               else pd.DataFrame(index=pd.Index([], name="column")))
    sources = {column: source for source in cohort.clinical_source_columns
               for column in cohort.layout.clinical if column == source or column.startswith(f"{source}=")}
    rows = []
    for feature in features:
        modality = (shap_by_feature.loc[feature, "modality"] if feature in shap_by_feature.index
                    else group_of_feature(feature, cohort.layout))
        row = {"feature": feature, "modality": modality,
               "outer_fold_selection_frequency": float(frequency.get(feature, 0.0)),
               "mean_abs_shap": (float(shap_by_feature.loc[feature, "mean_abs_shap"])
                                 if feature in shap_by_feature.index else 0.0)}
        row.update({c: "" for c in SELECTED_FEATURE_COLUMNS[4:]})
        if feature in entries.index:
            entry = entries.loc[feature]
            row.update({c: str(entry[c]) for c in SELECTED_FEATURE_COLUMNS[5:] if c in entries.columns})
            if "feature" in entries.columns:
                row["extracted_feature"] = str(entry["feature"])
        elif feature in sources:
            source = sources[feature]
            row.update(family="clinical", name=feature,
                       description=(f"clinical predictor {source!r}" if feature == source else
                                    f"indicator (0/1) of {feature.split('=', 1)[1]!r} in clinical column "
                                    f"{source!r}"))
        elif feature.endswith(f"{MODALITY_SEPARATOR}{MISSING_SUFFIX}"):
            row.update(family="missing-modality indicator", name=feature, unit="0/1",
                       description=f"1 when the patient has no {modality} features")
        rows.append(row)
    table = pd.DataFrame(rows, columns=SELECTED_FEATURE_COLUMNS)
    return table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


def _versions() -> dict:
    versions = {"radiomix": radiomix.__version__, "python": platform.python_version(), **dependency_versions()}
    try:
        versions["skops"] = metadata.version("skops")
    except metadata.PackageNotFoundError:
        versions["skops"] = "not installed"
    return versions


def model_card(cohort: Cohort, settings: EvaluationSettings, final_model: TunedClassifier,
               inputs: dict, model_files: dict, findings: Sequence[Finding] = (),
               requested: EvaluationSettings | None = None) -> dict:
    """The model card: intended use, data, settings, final model, versions, input and model hashes.

    Inputs are named by file name and SHA-256 only (no folders: a run's
    temporary and working folders mean nothing to a reader).
    """
    counts = np.bincount(cohort.outcome, minlength=cohort.n_classes)
    layout = cohort.layout
    present = {m: int(cohort.table[list(cols)].notna().any(axis=1).sum()) for m, cols in layout.modalities.items()}
    batch = None
    if layout.batch_column:
        levels = cohort.table[layout.batch_column].value_counts().sort_index()
        batch = {"column": layout.batch_column, "levels": {str(k): int(v) for k, v in levels.items()}}
    return {
        "model": "XGBoost with feature selection in a scikit-learn Pipeline"
                 + (" (late fusion, logistic-regression stacker)" if settings.fusion == "late" else " (early fusion)"),
        "intended_use": "Research: estimating how much multimodal radiomics adds to clinical data in this "
                        "cohort. Not validated for clinical decisions; external validation is needed.",
        "data": {
            "inputs": inputs,
            "n_patients": len(cohort.table),
            "n_excluded": len(cohort.excluded),
            "outcome": cohort.outcome_name,
            "classes": {c: int(n) for c, n in zip(cohort.classes, counts)},
            "positive_class": cohort.classes[1] if cohort.n_classes == 2 else None,
            "modalities": {m: {"features": len(cols), "patients_with_modality": present[m]}
                           for m, cols in layout.modalities.items()},
            "clinical_columns": list(cohort.clinical_source_columns),
            "clinical_columns_encoded": list(layout.clinical),
            "batch": batch,
        },
        "settings": settings.to_dict(),
        "settings_hash": settings.content_hash(),
        "settings_changed_by_guards": {
            key: {"requested": value, "used": settings.to_dict()[key]}
            for key, value in (requested or settings).to_dict().items() if settings.to_dict()[key] != value},
        "warnings": [f.message for f in findings],
        "final_model": {"xgboost_parameters": {k: (v.item() if hasattr(v, "item") else v)
                                               for k, v in final_model.best_params_.items()},
                        "threshold": final_model.threshold_,
                        "n_inputs": len(model_input_features(final_model.best_estimator_))},
        "model_files": model_files,
        "versions": _versions(),
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017 (3.10)
    }


def evaluate_cohort(
    features_csv: str | Path,
    clinical_csv: str | Path,
    outcome: str,
    out_dir: str | Path,
    batch_column: str | None = None,
    *,
    settings: EvaluationSettings | dict | str | Path | None = None,
    clinical_columns: Sequence[str] | None = None,
    codebook_csv: str | Path | pd.DataFrame | None = None,
    failures_csv: str | Path | pd.DataFrame | None = None,
    write_report: bool = True,
    registration_qa_csv: str | Path | None = None,
) -> EvaluationResult:
    """Nested cross-validated evaluation, final model, SHAP, persistence and report.

    Parameters
    ----------
    features_csv : path
        Wide feature table (``patient_id`` then ``<MODALITY>__<feature>``).
    clinical_csv : path
        Clinical table with ``patient_id``, the outcome and covariates.
    outcome : str
        Outcome column (binary or multi-class).
    out_dir : path
        Output folder (created); see the module docstring for the files.
    batch_column : str, optional
        Batch (site/scanner) column, in either table: ComBat is fitted in every
        fold; the column is never a predictor.
    settings : EvaluationSettings, mapping or YAML path, optional
        See :class:`~radiomix.model.settings.EvaluationSettings`.
    clinical_columns : sequence of str, optional
        Clinical predictors (default: every other clinical column).
    codebook_csv : path or DataFrame, optional
        Codebook of the wide columns, shown with the selected features.
    failures_csv : path or DataFrame, optional
        Extraction failures (``patient_id, modality, stage, error_type, message``),
        listed in the report.
    write_report : bool, default=True
        Write ``report.html``.
    registration_qa_csv : path, optional
        Registration quality table (``registration_qa.csv`` of a cohort run),
        shown in the report; default: ``out_dir/registration_qa.csv`` when present.

    Returns
    -------
    EvaluationResult
    """
    settings = load_evaluation_settings(settings)
    out_dir = Path(out_dir)
    codebook = read_codebook(codebook_csv)
    failures = read_failures(failures_csv)
    cohort = load_cohort(features_csv, clinical_csv, outcome, batch_column=batch_column,
                         clinical_columns=clinical_columns, positive_class=settings.positive_class)
    inputs = {role: {"file": Path(path).name, "sha256": file_hash(path)}
              for role, path in (("features", features_csv), ("clinical", clinical_csv),
                                 ("codebook", codebook_csv), ("failures", failures_csv))
              if isinstance(path, (str, Path))}

    X, y = cohort.table, cohort.outcome
    requested = settings
    settings, findings = plan_cross_validation(y, cohort.classes, requested)
    sample_size, size_findings = sample_size_checks(y, outer_splits(y, settings), candidate_feature_counts(cohort))
    results = cross_validate_models(build_models(cohort, settings), X, y, settings)
    resamples = bootstrap_rows(y, settings.n_bootstrap, settings.random_state)
    metrics = metrics_table(cohort, results, resamples, sample_size)
    findings = [*findings, *size_findings, *prediction_checks(y, results, metrics)]
    comparisons = comparisons_table(y, results)
    binary = cohort.n_classes == 2
    decision = decision_curve_table(y, results) if binary else None
    site_performance = None
    if cohort.layout.batch_column and binary:
        sites = cohort.table[cohort.layout.batch_column].astype(str).to_numpy()
        held_out, skipped = leave_one_site_out(cohort.layout, X, y, sites, settings)
        site_performance = per_site_table(
            y, sites, {NESTED_CV: results[MULTIMODAL].mean_probabilities()[:, 1], LEAVE_ONE_SITE_OUT: held_out},
            settings)
        findings += [Finding("site_not_held_out", MULTIMODAL, np.nan, np.nan, "reported", text)
                     for text in skipped]

    final_model = tuned(build_model(cohort.layout, settings), settings).fit(X, y)
    explanation = explain_model(final_model, X, cohort.layout, cohort.classes)
    selected = selected_features_table(cohort, final_model, results[MULTIMODAL], explanation, codebook)

    model_files = {"model.skops": save_model(final_model, out_dir / "model.skops")}
    for path in save_boosters(final_model, out_dir).values():
        model_files[path.name] = sha256_bytes(path.read_bytes())
    card = model_card(cohort, settings, final_model, inputs, model_files, findings, requested)
    warnings_table = findings_table(findings)
    tripod = tripod_ai_table(cohort, settings, metrics, warnings_table, card, failures=failures,
                             site_performance=site_performance)

    write_csv_atomic(metrics, out_dir / "metrics.csv")
    write_csv_atomic(warnings_table, out_dir / "warnings.csv")
    write_csv_atomic(comparisons, out_dir / "comparisons.csv")
    if decision is not None:
        write_csv_atomic(decision, out_dir / "decision_curve.csv")
    if site_performance is not None:
        write_csv_atomic(site_performance, out_dir / "site_performance.csv")
    write_csv_atomic(tripod, out_dir / "tripod_ai.csv")
    predictions = pd.concat([r.predictions_table(cohort.patient_ids, y, cohort.classes) for r in results.values()],
                            ignore_index=True)
    write_csv_atomic(predictions, out_dir / "predictions.csv")
    write_csv_atomic(selected, out_dir / "selected_features.csv")
    write_csv_atomic(explanation.per_modality(), out_dir / "shap_per_modality.csv")
    write_csv_atomic(explanation.per_feature(), out_dir / "shap_per_feature.csv")
    write_csv_atomic(explanation.per_patient(), out_dir / "shap_per_patient.csv")
    write_text_atomic(json.dumps(card, indent=2, default=str), out_dir / "model_card.json")

    result = EvaluationResult(cohort=cohort, settings=settings, cross_validation=results, metrics=metrics,
                              resamples=resamples, final_model=final_model, explanation=explanation,
                              selected_features=selected, model_card=card, out_dir=out_dir,
                              requested_settings=requested, warnings=warnings_table, comparisons=comparisons,
                              decision_curve=decision, site_performance=site_performance, tripod=tripod)
    if write_report:
        if registration_qa_csv is None and (out_dir / "registration_qa.csv").exists():
            registration_qa_csv = out_dir / "registration_qa.csv"
        write_text_atomic(render_report(result, failures=failures, registration_qa=registration_qa_csv),
                          out_dir / "report.html")
    return result
