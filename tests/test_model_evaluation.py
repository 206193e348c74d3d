"""Nested cross-validated evaluation: signal beats its parts, noise stays at chance, no leakage."""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from radiomix.errors import InputError, SpecError
from radiomix.harmonize.combat import ComBatWarning
from radiomix.model.data import load_cohort
from radiomix.model.evaluation import METRIC_COLUMNS, build_models, evaluate_cohort, metrics_table
from radiomix.model.fusion import KeepColumns, build_model
from radiomix.model.metrics import BINARY_METRICS, MULTICLASS_METRICS, auroc, bootstrap_rows, metrics_with_intervals
from radiomix.model.nested import cross_validate_models, nested_cross_validate, outer_splits
from radiomix.model.search import TunedClassifier
from radiomix.model.settings import EvaluationSettings, load_evaluation_settings

from test_model_cohorts import noise_cohort, signal_cohort

#: Small but complete settings for tests (the defaults suit real cohorts).
FAST = {"n_estimators": 40, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_outer_splits": 3,
        "n_repeats": 2, "n_inner_splits": 2, "n_bootstrap": 200, "n_shap_waterfalls": 2}


@pytest.fixture(scope="module")
def signal_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signal")
    wide, clinical, _ = signal_cohort()
    wide.to_csv(folder / "features_wide.csv", index=False)
    clinical.to_csv(folder / "clinical.csv", index=False)
    result = evaluate_cohort(folder / "features_wide.csv", folder / "clinical.csv", "outcome", folder / "out",
                             batch_column="site", settings=FAST)
    return folder / "out", result


def test_multimodal_beats_every_unimodal_model_with_delong_p(signal_run):
    out, _ = signal_run
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == METRIC_COLUMNS
    assert not metrics["metric"].str.contains("delong").any()
    auroc = metrics[metrics["metric"] == "auroc"].set_index("model")["value"]
    assert set(auroc.index) == {"multimodal", "clinical", "CT", "MR"}
    comparisons = pd.read_csv(out / "comparisons.csv")
    assert len(comparisons) == 6 and (comparisons["status"] == "compared").all()
    for other in ("clinical", "CT", "MR"):
        assert auroc["multimodal"] > auroc[other], other
        row = comparisons[(comparisons["model_a"] == "multimodal") & (comparisons["model_b"] == other)].iloc[0]
        assert 0 < row["delong_p"] <= 1
        assert np.isclose(row["auroc_difference"], row["auroc_a"] - row["auroc_b"])
        assert row["ci_low"] < row["auroc_difference"] < row["ci_high"]
    print("signal AUROC:", auroc.round(3).to_dict(), "DeLong p:",
          comparisons.set_index("model_b")["delong_p"].round(4).to_dict())


def test_strong_signal_fires_no_guard(signal_run):
    out, _ = signal_run
    assert pd.read_csv(out / "warnings.csv").empty
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "No guard fired" in text
    assert "not distinguishable from chance</span>" not in text
    assert "without demonstrated skill" not in text


def test_every_metric_has_an_interval_around_it(signal_run):
    out, _ = signal_run
    metrics = pd.read_csv(out / "metrics.csv")
    for _, rows in metrics.groupby("model"):
        assert set(BINARY_METRICS) <= set(rows["metric"])
        assert {"events_per_candidate_feature", "smallest_class_outer_test_fold"} <= set(rows["metric"])
    intervals = metrics[metrics["ci_low"].notna()]
    assert set(BINARY_METRICS) <= set(intervals["metric"])
    assert (intervals["ci_low"] <= intervals["value"] + 1e-12).all()
    assert (intervals["value"] <= intervals["ci_high"] + 1e-12).all()


def test_output_files(signal_run):
    out, result = signal_run
    for name in ("metrics.csv", "predictions.csv", "selected_features.csv", "shap_per_modality.csv",
                 "shap_per_feature.csv", "shap_per_patient.csv", "model.skops", "model_booster.json",
                 "model_card.json", "comparisons.csv", "decision_curve.csv", "site_performance.csv",
                 "tripod_ai.csv", "report.html"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".tmp-*"))
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 4 * 2 * 160
    assert set(result.model_card["data"]["modalities"]) == {"CT", "MR"}
    assert "site" not in result.cohort.layout.clinical


def test_noise_stays_at_chance():
    wide, clinical = noise_cohort(n_patients=80, n_features=900)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    settings = EvaluationSettings(**{**FAST, "n_repeats": 1})
    result = nested_cross_validate("multimodal", build_model(cohort.layout, settings), cohort.table,
                                   cohort.outcome, settings)
    resamples = bootstrap_rows(cohort.outcome, settings.n_bootstrap, settings.random_state)
    value, low, high = metrics_with_intervals(cohort.outcome, result.probabilities, result.thresholds,
                                              resamples)["auroc"]
    print(f"noise AUROC {value:.3f} [{low:.3f}, {high:.3f}]")
    assert low < 0.5 < high
    assert value < 0.65


class _RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the training prevalence and records the patients it was fitted on."""

    fitted_on: ClassVar[list] = []

    def fit(self, X, y):
        type(self).fitted_on.append(set(X.index))
        self.classes_ = np.unique(y)
        self.prevalence_ = np.bincount(y, minlength=2) / len(y)
        return self

    def predict_proba(self, X):
        return np.tile(self.prevalence_, (len(X), 1))


def test_outer_test_patients_never_reach_any_fit():
    wide, clinical, _ = signal_cohort(n_patients=30, n_noise_features=1)
    cohort = load_cohort(wide, clinical, "outcome")
    settings = EvaluationSettings(**{**FAST, "n_repeats": 1})
    for train, test in outer_splits(cohort.outcome, settings):
        _RecordingClassifier.fitted_on = []
        TunedClassifier(_RecordingClassifier(), cv=2).fit(cohort.table.iloc[train], cohort.outcome[train])
        held_out = set(cohort.table.index[test])
        assert len(_RecordingClassifier.fitted_on) == 3
        assert all(not (patients & held_out) for patients in _RecordingClassifier.fitted_on)



class _SpyColumns(KeepColumns):
    """Keeps every column and records the patients each preprocessing fit and transform sees."""

    fitted_on: ClassVar[list] = []
    transformed: ClassVar[list] = []

    def fit(self, X, y=None):
        type(self).fitted_on.append(set(X.index))
        return super().fit(X, y)

    def transform(self, X):
        type(self).transformed.append(set(X.index))
        return super().transform(X)


def _spied_pipeline(cohort, settings):
    pipeline = build_model(cohort.layout, settings)
    return Pipeline([("spy", _SpyColumns(tuple(cohort.table.columns))), *pipeline.steps]).set_output(
        transform="pandas")


def test_shared_inner_preprocessing_is_fitted_on_inner_training_rows_only():
    """The inner search fits a pipeline's preprocessing once per inner fold (shared by every
    candidate), on that fold's training rows, and never on outer test patients."""
    wide, clinical, _ = signal_cohort(n_patients=45, n_noise_features=2, seed=8)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    settings = EvaluationSettings(**{**FAST, "n_repeats": 1, "max_depth_grid": [1, 2], "n_estimators": 10})
    for train, test in outer_splits(cohort.outcome, settings):
        _SpyColumns.fitted_on, _SpyColumns.transformed = [], []
        tuned = TunedClassifier(_spied_pipeline(cohort, settings), param_grid=settings.xgboost_grid(),
                                cv=settings.n_inner_splits).fit(cohort.table.iloc[train], cohort.outcome[train])
        assert len(tuned.cv_results_["params"]) == 2
        assert len(_SpyColumns.fitted_on) == settings.n_inner_splits + 1
        held_out = set(cohort.table.index[test])
        outer_training = set(cohort.table.index[train])
        assert all(not (patients & held_out) for patients in _SpyColumns.fitted_on + _SpyColumns.transformed)
        inner = _SpyColumns.fitted_on[:-1]
        assert _SpyColumns.fitted_on[-1] == outer_training
        assert all(len(patients) < len(outer_training) for patients in inner)
        assert set().union(*(outer_training - patients for patients in inner)) == outer_training


def test_shared_inner_preprocessing_gives_the_whole_pipeline_results():
    """Candidates scored on shared preprocessing equal candidates refitted whole, exactly."""
    wide, clinical, _ = signal_cohort(n_patients=60, n_noise_features=6, seed=9)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    settings = EvaluationSettings(**{**FAST, "max_depth_grid": [1, 3], "min_child_weight_grid": [1.0, 2.0],
                                     "n_estimators": 15, "n_inner_splits": 3})
    X, y = cohort.table, cohort.outcome
    pipeline = build_model(cohort.layout, settings)
    tuned = TunedClassifier(pipeline, param_grid=settings.xgboost_grid(), cv=3).fit(X, y)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    whole = []
    for candidate in tuned.cv_results_["params"]:
        out_of_fold = np.zeros((len(X), 2))
        for train, test in splits:
            fitted = clone(pipeline).set_params(**{f"model__{k}": v for k, v in candidate.items()})
            out_of_fold[test] = fitted.fit(X.iloc[train], y[train]).predict_proba(X.iloc[test])
        whole.append(auroc(y, out_of_fold[:, 1]))
    assert np.array_equal(tuned.cv_results_["inner_auroc"], whole)
    assert len(set(whole)) > 1


def test_worker_processes_give_the_same_results_and_their_warnings():
    """Two worker processes fit exactly what one process fits, and ComBat's small-site
    warnings raised in the workers reach the caller."""
    wide, clinical, _ = signal_cohort(n_patients=36, n_noise_features=2, seed=6)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    runs, warned = {}, {}
    for n_jobs in (1, 2):
        settings = EvaluationSettings(**{**FAST, "n_repeats": 1, "n_estimators": 10, "n_jobs": n_jobs,
                                         "combat_min_batch_size": 11})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs[n_jobs] = cross_validate_models(build_models(cohort, settings), cohort.table, cohort.outcome,
                                                 settings)
        warned[n_jobs] = sorted(str(w.message) for w in caught if issubclass(w.category, ComBatWarning))
    assert warned[1] and warned[1] == warned[2]
    for name, result in runs[1].items():
        assert np.array_equal(result.probabilities, runs[2][name].probabilities), name
        assert result.fold_features == runs[2][name].fold_features

def test_results_are_deterministic():
    wide, clinical, _ = signal_cohort(n_patients=40, n_noise_features=3, seed=5)
    cohort = load_cohort(wide, clinical, "outcome")
    settings = EvaluationSettings(**{**FAST, "n_repeats": 1})
    runs = [nested_cross_validate("multimodal", build_model(cohort.layout, settings), cohort.table,
                                  cohort.outcome, settings) for _ in range(2)]
    assert np.array_equal(runs[0].probabilities, runs[1].probabilities)
    assert runs[0].fold_features == runs[1].fold_features


@pytest.mark.parametrize("missing", ["per_modality", "indicator"])
def test_late_fusion_with_a_missing_modality(missing):
    wide, clinical, _ = signal_cohort(n_patients=160, n_noise_features=2, seed=2, missing_mr=30)
    cohort = load_cohort(wide, clinical, "outcome")
    settings = EvaluationSettings(**{**FAST, "fusion": "late", "missing_modality": missing})
    train, test = np.arange(0, 160, 2), np.arange(1, 160, 2)
    model = build_model(cohort.layout, settings).fit(cohort.table.iloc[train], cohort.outcome[train])
    assert model.indicated_modalities_ == ["MR"]
    assert [name for name, _ in model.stack_columns_] == ["CT", "MR", "clinical", "MR"]
    probabilities = model.predict_proba(cohort.table.iloc[test])
    assert np.isfinite(probabilities).all()
    assert roc_auc_score(cohort.outcome[test], probabilities[:, 1]) > 0.7
    margins, present = model.base_margins(cohort.table.iloc[test])
    assert present["MR"].sum() == 80 - 15
    filled = np.all(margins["MR"][~present["MR"]] == model.fill_margins_["MR"])
    assert filled == (missing == "per_modality")


def test_early_fusion_adds_a_missing_modality_indicator():
    wide, clinical, _ = signal_cohort(n_patients=60, n_noise_features=2, seed=3, missing_mr=10)
    cohort = load_cohort(wide, clinical, "outcome")
    settings = EvaluationSettings(**FAST)
    model = build_model(cohort.layout, settings).fit(cohort.table, cohort.outcome)
    assert "MR__missing" in model[-1].feature_names_in_
    assert "CT__missing" not in model[-1].feature_names_in_


@pytest.mark.parametrize("harmonization", ["per_modality", "pooled"])
def test_harmonization_keeps_clinical_covariates(harmonization):
    wide, clinical, _ = signal_cohort(n_patients=60, n_noise_features=2, seed=8, missing_mr=5)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    settings = EvaluationSettings(**{**FAST, "harmonization": harmonization, "combat_covariates": ("age",),
                                     "fdr_min_features": 50})
    model = build_model(cohort.layout, settings).fit(cohort.table, cohort.outcome)
    harmonized = model[:2].transform(cohort.table)
    assert "site" not in harmonized.columns
    assert np.array_equal(harmonized["age"], cohort.table["age"])
    assert harmonized["MR__original_signal_0"].iloc[:5].isna().all()
    by_site = harmonized["CT__original_noise_0"].groupby(cohort.table["site"].to_numpy()).mean()
    raw_by_site = cohort.table["CT__original_noise_0"].groupby(cohort.table["site"].to_numpy()).mean()
    assert by_site.std() < 0.5 * raw_by_site.std()
    assert {"age", "sex=M", "stage"} <= set(model[-1].feature_names_in_)
    models = build_models(cohort, settings)
    ct_only = models["CT"].fit(cohort.table, cohort.outcome)
    assert all(name.startswith("CT__") for name in ct_only[-1].feature_names_in_)
    with pytest.raises(SpecError, match="combat_covariates"):
        build_models(cohort, EvaluationSettings(**{**FAST, "combat_covariates": ("weight",)}))


def test_multiclass_outcome():
    wide, clinical, truth = signal_cohort(n_patients=120, n_noise_features=2, seed=4)
    clinical["grade"] = np.digitize(truth["logit"], np.quantile(truth["logit"], [1 / 3, 2 / 3]))
    clinical["grade"] = clinical["grade"].map({0: "low", 1: "mid", 2: "high"})
    cohort = load_cohort(wide, clinical.drop(columns=["outcome"]), "grade")
    assert cohort.classes == ("high", "low", "mid")
    settings = EvaluationSettings(**{**FAST, "n_repeats": 1, "n_bootstrap": 20})
    result = nested_cross_validate("multimodal", build_model(cohort.layout, settings), cohort.table,
                                   cohort.outcome, settings)
    assert result.thresholds is None and result.probabilities.shape == (1, 120, 3)
    metrics = metrics_table(cohort, {"multimodal": result}, bootstrap_rows(cohort.outcome, 20, 0))
    assert set(metrics["metric"]) == set(MULTICLASS_METRICS)
    assert metrics.set_index("metric").loc["auroc", "value"] > 0.6


def test_settings_are_checked():
    with pytest.raises(SpecError, match="did you mean 'n_repeats'"):
        load_evaluation_settings({"n_repeat": 3})
    with pytest.raises(SpecError, match="fusion"):
        EvaluationSettings(missing_modality="per_modality")
    with pytest.raises(SpecError, match="selection"):
        load_evaluation_settings({"selection": "lasso"})
    assert load_evaluation_settings({"max_depth_grid": [3, 5]}).max_depth_grid == (3, 5)
    with pytest.raises(SpecError, match="n_jobs"):
        EvaluationSettings(n_jobs=0)


def _tables():
    wide = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "CT__x": [1.0, 2.0, 3.0, 4.0],
                         "MR__y": [1.0, np.nan, 0.0, 2.0]})
    clinical = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e"], "age": [50, 60, 70, 80, 55],
                             "sex": ["F", "M", "M", None, "F"], "site": ["s1", "s1", "s2", "s2", "s1"],
                             "outcome": [0, 1, 0, 1, np.nan]})
    return wide, clinical


def test_load_cohort_fuses_by_patient_id():
    wide, clinical = _tables()
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    assert list(cohort.table.index) == ["a", "b", "c", "d"]
    assert cohort.layout.clinical == ("age", "sex=M")
    assert np.isnan(cohort.table.loc["d", "sex=M"])
    assert dict(cohort.layout.modalities) == {"CT": ("CT__x",), "MR": ("MR__y",)}
    assert list(cohort.excluded["patient_id"]) == ["e"]
    assert cohort.classes == ("0", "1") and list(cohort.outcome) == [0, 1, 0, 1]


@pytest.mark.parametrize("change, message", [
    (lambda w, c: w.rename(columns={"CT__x": "x"}), "<MODALITY>__<feature>"),
    (lambda w, c: w.assign(CT__x=["1", "2", "three", "4"]), "non-numeric"),
    (lambda w, c: c.drop(columns=["outcome"]), "outcome column"),
    (lambda w, c: c.assign(site=["s1", None, "s2", "s2", "s1"]), "batch column"),
    (lambda w, c: w.rename(columns={"CT__x": "CT__x[1]"}), "XGBoost"),
    (lambda w, c: c.assign(outcome=[1, 1, 1, 1, 1]), "single value"),
])
def test_load_cohort_refuses_bad_tables(change, message):
    wide, clinical = _tables()
    changed = change(wide, clinical)
    if "outcome" in changed.columns or "age" in changed.columns:
        clinical = changed
    else:
        wide = changed
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        load_cohort(wide, clinical, "outcome", batch_column="site")


def test_loading_a_wide_table_of_many_columns_with_a_batch_column_raises_no_performance_warning(tmp_path):
    # the demo's shape: 600 feature columns read from CSV, the site in the clinical table (pandas warned on the join)
    rng = np.random.default_rng(3)
    patients = [f"P{i:03d}" for i in range(30)]
    wide = pd.DataFrame(rng.normal(size=(30, 600)), columns=[f"CT__f{j}" for j in range(600)])
    wide.insert(0, "patient_id", patients)
    wide.to_csv(tmp_path / "wide.csv", index=False)
    clinical = pd.DataFrame({"patient_id": patients, "age": rng.integers(40, 80, 30), "sex": ["M", "F"] * 15,
                             "outcome": [0, 1] * 15, "site": ["A", "B", "C"] * 10})
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        cohort = load_cohort(tmp_path / "wide.csv", tmp_path / "clinical.csv", "outcome", batch_column="site")
    assert cohort.table.shape == (30, 600 + 3)
    assert cohort.table._mgr.nblocks <= 3  # one block per dtype: fold selections copy a few arrays
