"""Honesty of an evaluation: sample-size guards, chance-level and degenerate models, comparisons,
leave-one-site-out, the TRIPOD+AI checklist and the registration section."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from radiomix.errors import InputError
from radiomix.model.evaluation import evaluate_cohort
from radiomix.model.guards import (
    MIN_CLASS_PER_OUTER_TEST_FOLD,
    comparisons_table,
    plan_cross_validation,
    prediction_checks,
)
from radiomix.model.nested import NestedCVResult
from radiomix.model.settings import EvaluationSettings
from radiomix.report.html import render_report
from radiomix.report.registration import REGISTRATION_COLUMNS
from radiomix.report.tripod import FILLED, ITEMS, TO_COMPLETE

from test_model_cohorts import noise_cohort, signal_cohort

FAST = {"n_estimators": 20, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_outer_splits": 3,
        "n_repeats": 1, "n_inner_splits": 2, "n_bootstrap": 100, "n_shap_waterfalls": 1}


def _write(folder, wide, clinical):
    wide.to_csv(folder / "features_wide.csv", index=False)
    clinical.to_csv(folder / "clinical.csv", index=False)
    return folder / "features_wide.csv", folder / "clinical.csv"


@pytest.fixture(scope="module")
def ten_patients(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ten")
    wide, clinical, _ = signal_cohort(n_patients=60, n_noise_features=4, seed=3)
    keep = np.r_[np.flatnonzero(clinical["outcome"] == 0)[:5], np.flatnonzero(clinical["outcome"] == 1)[:5]]
    features, table = _write(folder, wide.iloc[keep], clinical.iloc[keep].drop(columns="site"))
    result = evaluate_cohort(features, table, "outcome", folder / "out", settings=FAST)
    return folder / "out", result


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noise")
    wide, clinical = noise_cohort(n_patients=48, n_features=60, seed=4)
    features, table = _write(folder, wide, clinical)
    result = evaluate_cohort(features, table, "outcome", folder / "out", batch_column="site", settings=FAST)
    return folder / "out", result


def _report_text(out):
    return (out / "report.html").read_text(encoding="utf-8")


def test_ten_patients_reduce_the_folds_and_say_so(ten_patients):
    out, result = ten_patients
    warnings = pd.read_csv(out / "warnings.csv")
    checks = set(warnings["check"])
    assert {"outer_folds_reduced", "small_outer_test_fold", "few_events_per_candidate_feature"} <= checks
    assert result.settings.n_outer_splits == 2 and result.requested_settings.n_outer_splits == 3
    assert result.model_card["settings_changed_by_guards"]["n_outer_splits"] == {"requested": 3, "used": 2}
    text = _report_text(out)
    for message in warnings["message"]:
        assert message.replace("'", "&#x27;") in text
    metrics = pd.read_csv(out / "metrics.csv")
    smallest = metrics[(metrics["model"] == "multimodal") & (metrics["metric"] == "smallest_class_outer_test_fold")]
    assert smallest["value"].iloc[0] < MIN_CLASS_PER_OUTER_TEST_FOLD
    predictions = pd.read_csv(out / "predictions.csv")
    assert predictions["fold"].max() == 1


def test_noise_cohort_is_labelled_chance_and_its_shap_pages_say_so(noise_run):
    out, result = noise_run
    warnings = pd.read_csv(out / "warnings.csv")
    chance = warnings[warnings["check"] == "auroc_not_distinguishable_from_chance"]
    assert "multimodal" in set(chance["model"])
    assert "few_events_per_candidate_feature" in set(warnings["check"])
    text = _report_text(out)
    assert "not distinguishable from chance" in text
    assert "These plots explain a model without demonstrated skill" in text
    summary = text[text.index("class='summary'"):text.index("<nav>")]
    assert "not distinguishable from chance" in summary


def test_too_few_patients_in_a_class_is_refused(tmp_path):
    wide, clinical, _ = signal_cohort(n_patients=40, n_noise_features=1, seed=3)
    keep = np.r_[np.flatnonzero(clinical["outcome"] == 0)[:10], np.flatnonzero(clinical["outcome"] == 1)[:3]]
    features, table = _write(tmp_path, wide.iloc[keep], clinical.iloc[keep])
    with pytest.raises(InputError, match="has 3 patient.*at least 4"):
        evaluate_cohort(features, table, "outcome", tmp_path / "out", settings=FAST)


def test_fold_plan_follows_the_documented_minimums():
    y = np.r_[np.zeros(30, int), np.ones(12, int)]
    settings = EvaluationSettings(n_outer_splits=5, n_inner_splits=3)
    planned, findings = plan_cross_validation(y, ("0", "1"), settings)
    # 12 patients in the smaller class, 5 per outer test fold -> 2 folds; training folds hold 6 -> inner 2
    assert (planned.n_outer_splits, planned.n_inner_splits) == (2, 2)
    assert [f.check for f in findings] == ["outer_folds_reduced", "inner_folds_reduced"]
    big = np.r_[np.zeros(60, int), np.ones(50, int)]
    assert plan_cross_validation(big, ("0", "1"), settings) == (settings, [])


def _result(name, p, thresholds=0.5):
    p = np.asarray(p, dtype=float)
    probabilities = np.stack([1 - p, p], axis=-1)[None]
    return NestedCVResult(name=name, probabilities=probabilities,
                          thresholds=np.full((1, p.size), thresholds), folds=np.zeros((1, p.size), int),
                          fold_params=[], fold_features=[])


def test_degenerate_and_identical_models_are_named():
    y = np.array([0, 0, 0, 1, 1, 1])
    good = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    results = {"multimodal": _result("multimodal", good), "CT": _result("CT", [0.6] * 6),
               "MR": _result("MR", [0.6] * 6), "PET": _result("PET", [0.2, 0.9, 0.4, 0.3, 0.8, 0.6])}
    metrics = pd.DataFrame({"model": ["multimodal", "CT", "MR", "PET"], "metric": "auroc",
                            "value": [1.0, 0.5, 0.5, 0.56], "ci_low": [1.0, 0.5, 0.5, 0.1],
                            "ci_high": [1.0, 0.5, 0.5, 0.9]})
    findings = {(f.check, f.model) for f in prediction_checks(y, results, metrics)}
    assert ("constant_predictions", "CT") in findings and ("predicts_one_class", "MR") in findings
    assert ("identical_predictions", "CT=MR") in findings
    assert ("auroc_not_distinguishable_from_chance", "PET") in findings
    assert not any(model == "multimodal" for _, model in findings)
    table = comparisons_table(y, results)
    assert len(table) == 6
    identical = table[(table["model_a"] == "CT") & (table["model_b"] == "MR")].iloc[0]
    assert identical["status"].startswith("identical") and np.isnan(identical["delong_p"])
    compared = table[(table["model_a"] == "multimodal") & (table["model_b"] == "PET")].iloc[0]
    # AUROC of PET's scores, counted by hand: 5 of 9 positive-negative pairs ordered correctly
    assert np.isclose(compared["auroc_b"], 5 / 9) and np.isclose(compared["auroc_difference"], 1 - 5 / 9)


def test_leave_one_site_out_gives_one_row_per_site(noise_run):
    out, result = noise_run
    table = pd.read_csv(out / "site_performance.csv")
    held_out = table[(table["scheme"] == "leave_one_site_out") & (table["site"] != "all sites (pooled)")]
    assert sorted(held_out["site"]) == ["site_A", "site_B", "site_C"]
    sites = result.cohort.table["site"].value_counts()
    assert held_out.set_index("site")["n_patients"].to_dict() == sites.to_dict()
    assert {"auroc", "calibration_slope", "calibration_in_the_large", "n_events"} <= set(table.columns)
    nested = table[table["scheme"] == "nested_cv"]
    assert len(nested) == 4
    assert "Leave-one-site-out, per held-out site" in _report_text(out)


def test_tripod_ai_lists_every_item(noise_run):
    out, _ = noise_run
    table = pd.read_csv(out / "tripod_ai.csv", dtype=str)
    assert list(table["item"]) == [item for item, *_ in ITEMS]
    assert set(table["status"]) == {FILLED, TO_COMPLETE}
    filled = table[table["status"] == FILLED].set_index("item")["content"]
    assert {"10", "12c", "23a", "23b", "18f"} <= set(filled.index)
    assert "48 patients" in filled["21"]
    assert "TRIPOD+AI checklist" in _report_text(out)


def test_tables_name_clinical_predictors_and_keep_paths_out(noise_run, tmp_path):
    out, result = noise_run
    selected = pd.read_csv(out / "selected_features.csv", keep_default_na=False)
    assert (selected["feature"] != "").all()
    clinical = selected[selected["modality"] == "clinical"]
    assert (clinical["family"] == "clinical").all()
    per_patient = pd.read_csv(out / "shap_per_patient.csv", nrows=1)
    assert "class" not in per_patient.columns and "explained_class" in per_patient.columns
    card = (out / "model_card.json").read_text()
    assert str(out.parent) not in card and "/tmp" not in card
    assert "/tmp" not in _report_text(out) and str(out.parent) not in _report_text(out)


def _png(color):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_registration_section_worst_first_with_overlays(noise_run, tmp_path):
    _, result = noise_run
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays" / "bad.png").write_bytes(_png("red"))
    (tmp_path / "overlays" / "good.png").write_bytes(_png("green"))
    patients = list(result.cohort.table.index[:3])
    rows = [
        [patients[0], "MR", "CT", "rigid", "ok", 0.91, 1.2, -0.5, 0.3, 0.98, 40, "", "overlays/good.png"],
        [patients[1], "PET", "CT", "rigid", "failed", 0.12, 14.0, -0.1, 0.01, 0.6, 200, "diverged",
         "overlays/bad.png"],
        [patients[2], "MR", "CT", "rigid", "ok", 0.55, 4.0, -0.4, 0.2, 0.95, 60, "", "overlays/absent.png"],
    ]
    csv = tmp_path / "registration_qa.csv"
    pd.DataFrame(rows, columns=REGISTRATION_COLUMNS).to_csv(csv, index=False)
    text = render_report(result, registration_qa=csv)
    section = text[text.index("id='registration'"):text.index("id='explanation'")]
    order = [section.index(f"<td>{p}</td>") for p in (patients[1], patients[2], patients[0])]
    assert order == sorted(order)
    assert section.count("data:image/png;base64,") == 2
    assert "overlays/absent.png not found" in section
    sites = text[text.index("id='sites'"):text.index("id='registration'")]
    assert "Registration quality per site and modality" in sites


def test_registration_table_shows_the_search_checks_when_recorded(tmp_path):
    from radiomix.report.registration import SEARCH_COLUMNS, read_registration_qa

    row = ["P1", "MR", "CT", "rigid", "failed", "", "", -0.3, 0.1, 0.97, 120, "uncertain alignment", ""]
    old = pd.DataFrame([row], columns=REGISTRATION_COLUMNS)
    table, _ = read_registration_qa(old)
    assert not set(SEARCH_COLUMNS) & set(table.columns)
    new = old.assign(start_spread_mm=27.0, perturbation_gain=0.018)
    new.to_csv(tmp_path / "registration_qa.csv", index=False)
    table, folder = read_registration_qa(tmp_path / "registration_qa.csv")
    assert folder == tmp_path
    assert list(table.columns[-4:]) == [*SEARCH_COLUMNS, "note", "overlay"]
    assert table.loc[0, "start_spread_mm"] == 27.0 and table.loc[0, "perturbation_gain"] == 0.018


def test_cli_prints_the_chance_label_and_the_warning_count(tmp_path, capsys):
    import yaml

    from radiomix.cli import main

    wide, clinical = noise_cohort(n_patients=30, n_features=12, seed=6)
    features, table = _write(tmp_path, wide, clinical.drop(columns="site"))
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(FAST))
    status = main(["evaluate", "--features", str(features), "--clinical", str(table), "--outcome", "outcome",
                   "--settings", str(tmp_path / "settings.yaml"), "--out", str(tmp_path / "out")])
    assert status == 0
    printed = capsys.readouterr().out
    warnings = pd.read_csv(tmp_path / "out" / "warnings.csv")
    assert f"{len(warnings)} warning(s) in warnings.csv" in printed
    chance = "multimodal" in set(warnings.loc[warnings["check"] == "auroc_not_distinguishable_from_chance", "model"])
    assert ("(not distinguishable from chance)" in printed) == chance


def test_multiclass_outcome_runs_with_guards_and_no_pairwise_tests(tmp_path):
    wide, clinical, truth = signal_cohort(n_patients=90, n_noise_features=2, seed=8)
    clinical["grade"] = np.digitize(truth["logit"], np.quantile(truth["logit"], [1 / 3, 2 / 3]))
    features, table = _write(tmp_path, wide, clinical.drop(columns="outcome"))
    result = evaluate_cohort(features, table, "grade", tmp_path / "out", settings=FAST)
    assert result.cohort.n_classes == 3
    assert pd.read_csv(tmp_path / "out" / "comparisons.csv").empty
    assert not (tmp_path / "out" / "decision_curve.csv").exists()
    assert set(pd.read_csv(tmp_path / "out" / "tripod_ai.csv")["status"]) == {FILLED, TO_COMPLETE}
    assert "id='performance'" in _report_text(tmp_path / "out")
