"""SHAP explanations: exact additivity to the model's margin, aggregation per feature, patient, modality."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, softmax

from radiomix.explain import explain_model
from radiomix.explain.plots import (
    beeswarm_figure,
    modality_bar_figure,
    waterfall_figure,
)
from radiomix.model.data import load_cohort
from radiomix.model.fusion import build_model
from radiomix.model.search import TunedClassifier
from radiomix.model.settings import EvaluationSettings
from radiomix.report.figures import figure_to_png

from test_model_cohorts import signal_cohort

FAST = {"n_estimators": 40, "max_depth_grid": [3], "min_child_weight_grid": [1.0], "n_inner_splits": 2}


def _cohort(multiclass: bool, batch: bool):
    wide, clinical, truth = signal_cohort(n_patients=90, n_noise_features=3, seed=7, missing_mr=12)
    outcome = "outcome"
    if multiclass:
        clinical["grade"] = np.digitize(truth["logit"], np.quantile(truth["logit"], [1 / 3, 2 / 3]))
        outcome = "grade"
    return load_cohort(wide, clinical.drop(columns=["outcome"] if multiclass else []), outcome,
                       batch_column="site" if batch else None)


def _probabilities_from_margin(margin: np.ndarray) -> np.ndarray:
    if margin.shape[1] == 1:
        return np.column_stack([1 - expit(margin[:, 0]), expit(margin[:, 0])])
    return softmax(margin, axis=1)


CASES = [
    pytest.param({}, False, True, id="early-binary-combat"),
    pytest.param({}, True, False, id="early-multiclass"),
    pytest.param({"fusion": "late", "missing_modality": "per_modality"}, False, False, id="late-per-modality"),
    pytest.param({"fusion": "late", "missing_modality": "indicator"}, False, True, id="late-indicator-combat"),
    pytest.param({"fusion": "late", "missing_modality": "per_modality"}, True, False, id="late-multiclass"),
]


@pytest.mark.parametrize("options, multiclass, batch", CASES)
def test_shap_values_plus_expected_value_equal_the_margin(options, multiclass, batch):
    cohort = _cohort(multiclass, batch)
    settings = EvaluationSettings(**FAST, **options)
    model = TunedClassifier(build_model(cohort.layout, settings), cv=2).fit(cohort.table, cohort.outcome)
    explanation = explain_model(model, cohort.table, cohort.layout, cohort.classes)

    fitted = model.best_estimator_
    if options.get("fusion") == "late":
        margin = np.asarray(fitted.decision_function(cohort.table)).reshape(len(cohort.table), -1)
    else:
        margin = np.asarray(fitted[-1].predict(fitted[:-1].transform(cohort.table), output_margin=True))
        margin = margin.reshape(len(cohort.table), -1)
    reconstructed = explanation.expected_value[None, :] + explanation.values.sum(axis=1)
    assert reconstructed.shape == margin.shape
    assert np.allclose(reconstructed, margin, atol=1e-4, rtol=1e-5)
    assert explanation.additivity_error() < 1e-4
    assert np.allclose(_probabilities_from_margin(reconstructed), model.predict_proba(cohort.table), atol=1e-4)
    assert list(explanation.data.index) == list(cohort.table.index)


def test_aggregations_are_consistent():
    cohort = _cohort(multiclass=False, batch=False)
    settings = EvaluationSettings(**FAST)
    model = TunedClassifier(build_model(cohort.layout, settings), cv=2).fit(cohort.table, cohort.outcome)
    explanation = explain_model(model, cohort.table, cohort.layout, cohort.classes)

    per_feature = explanation.per_feature()
    assert list(per_feature["rank"]) == list(range(1, len(per_feature) + 1))
    assert per_feature["mean_abs_shap"].is_monotonic_decreasing
    assert set(per_feature["modality"]) <= {"CT", "MR", "clinical"}
    assert per_feature.set_index("feature").loc["MR__missing", "modality"] == "MR"

    per_modality = explanation.per_modality()
    expected = per_feature.groupby("modality")["mean_abs_shap"].sum()
    for row in per_modality.itertuples():
        assert row.sum_mean_abs_shap == pytest.approx(expected[row.modality])
    assert per_modality["share"].sum() == pytest.approx(1.0)
    assert list(per_modality["modality"]) == ["CT", "MR", "clinical"]

    per_patient = explanation.per_patient()
    features = explanation.features
    assert list(per_patient.columns[:4]) == ["patient_id", "explained_class", "expected_value", "margin"]
    total = per_patient["expected_value"] + per_patient[features].sum(axis=1)
    assert np.allclose(total, per_patient["margin"], atol=1e-4)
    assert (per_patient["explained_class"] == "1").all()


def test_plots_render():
    cohort = _cohort(multiclass=False, batch=False)
    settings = EvaluationSettings(**FAST)
    model = TunedClassifier(build_model(cohort.layout, settings), cv=2).fit(cohort.table, cohort.outcome)
    explanation = explain_model(model, cohort.table, cohort.layout, cohort.classes)
    for figure in (beeswarm_figure(explanation), waterfall_figure(explanation, 0),
                   modality_bar_figure(explanation.per_modality())):
        png = figure_to_png(figure)
        assert png.startswith(b"\x89PNG") and len(png) > 5000
