"""External validation: a model saved at one synthetic site applied to another, refitting and writing nothing else."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from radiomix.cli import main
from radiomix.errors import InputError
from radiomix.model.data import load_cohort
from radiomix.model.evaluation import evaluate_cohort
from radiomix.model.external import validate_externally
from radiomix.model.persistence import ModelFileError

from test_model_cohorts import signal_cohort

FAST = {"n_estimators": 40, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_outer_splits": 3,
        "n_repeats": 1, "n_inner_splits": 2, "n_bootstrap": 200, "n_shap_waterfalls": 1}


def write_site(folder, seed, n_patients):
    """A synthetic site: wide features and clinical table (with the site's scanners in ``site``)."""
    folder.mkdir(parents=True, exist_ok=True)
    wide, clinical, _ = signal_cohort(n_patients=n_patients, seed=seed)
    wide.to_csv(folder / "features_wide.csv", index=False)
    clinical.to_csv(folder / "clinical.csv", index=False)
    return folder / "features_wide.csv", folder / "clinical.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model evaluated and saved at site A (seed 0), and site B's tables (seed 1)."""
    root = tmp_path_factory.mktemp("sites")
    features_a, clinical_a = write_site(root / "site_a", seed=0, n_patients=150)
    result = evaluate_cohort(features_a, clinical_a, "outcome", root / "site_a" / "evaluation", batch_column="site",
                             settings=FAST, write_report=False)
    features_b, clinical_b = write_site(root / "site_b", seed=1, n_patients=90)
    return root, result


def snapshot(root):
    """Every file under ``root``: path -> (size, SHA-256, modification time)."""
    return {path.relative_to(root): (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest(),
                                     path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_model_saved_at_one_site_is_validated_at_another_without_writing_elsewhere(trained, capsys):
    root, training = trained
    site_b = root / "site_b"
    before = snapshot(root)
    status = main(["evaluate", "--model", str(root / "site_a" / "evaluation"),
                   "--features", str(site_b / "features_wide.csv"), "--clinical", str(site_b / "clinical.csv"),
                   "--outcome", "outcome", "--batch-column", "site", "--out", str(site_b / "external")])
    assert status == 0, capsys.readouterr().err
    after = snapshot(root)
    outside = {p: v for p, v in after.items() if p.parts[:2] != ("site_b", "external")}
    assert outside == before
    written = sorted(str(p.relative_to(root / "site_b" / "external")) for p in (root / "site_b" / "external").iterdir())
    assert written == ["case_flow.csv", "decision_curve.csv", "metrics.csv", "predictions.csv", "report.html",
                       "validation_card.json"]

    # The saved model, applied as it is: the same probabilities as the in-memory final model of the training.
    partner = load_cohort(site_b / "features_wide.csv", site_b / "clinical.csv", "outcome", batch_column="site")
    expected = training.final_model.predict_proba(partner.table[training.cohort.table.columns])[:, 1]
    predictions = pd.read_csv(site_b / "external" / "predictions.csv", dtype={"patient_id": str})
    assert list(predictions["patient_id"]) == list(partner.patient_ids)
    np.testing.assert_allclose(predictions["probability_1"], expected, rtol=1e-6)

    metrics = pd.read_csv(site_b / "external" / "metrics.csv").set_index("metric")
    for name in ("auroc", "calibration_slope", "calibration_intercept", "brier", "brier_recalibrated",
                 "observed_event_rate", "mean_predicted_probability"):
        value, low, high = metrics.loc[name, ["value", "ci_low", "ci_high"]]
        assert low <= value + 1e-12 and value <= high + 1e-12, name
    assert metrics.loc["auroc", "value"] > 0.6   # the outcome's signal is the same at both sites
    observed = partner.outcome.mean()
    assert metrics.loc["observed_event_rate", "value"] == pytest.approx(observed)
    assert metrics.loc["brier_recalibrated", "value"] <= metrics.loc["brier", "value"] + 1e-9

    curve = pd.read_csv(site_b / "external" / "decision_curve.csv")
    p = expected
    at_20 = curve.set_index(curve["threshold"].round(2)).loc[0.2]
    treated = p >= 0.2
    y = partner.outcome
    assert at_20["model"] == pytest.approx((treated & (y == 1)).mean() - (treated & (y == 0)).mean() * 0.25)

    report = (site_b / "external" / "report.html").read_text()
    for section in ("Case flow", "Discrimination", "Calibration", "Decision curve", "recalibration-in-the-large"):
        assert section in report
    assert not any(pid in report for pid in partner.patient_ids)
    assert not any(pid in (site_b / "external" / "metrics.csv").read_text() for pid in partner.patient_ids)


def test_case_flow_counts_exclusions(trained, tmp_path):
    root, _ = trained
    wide = pd.read_csv(root / "site_b" / "features_wide.csv", dtype={"patient_id": str})
    clinical = pd.read_csv(root / "site_b" / "clinical.csv", dtype={"patient_id": str})
    clinical.loc[:2, "outcome"] = np.nan
    clinical = clinical.iloc[:-4]
    wide.to_csv(tmp_path / "features.csv", index=False)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    result = validate_externally(root / "site_a" / "evaluation", tmp_path / "features.csv", tmp_path / "clinical.csv",
                                 "outcome", tmp_path / "out", batch_column="site", write_report=False)
    flow = result.case_flow.set_index("step")["patients"]
    assert flow["rows of the feature table"] == len(wide)
    assert flow["excluded: not in the clinical table"] == 4
    assert flow["excluded: no value in outcome column 'outcome'"] == 3
    assert flow["validated patients"] == len(wide) - 7 == len(result.probabilities)


def test_unknown_batches_follow_the_models_policy_unless_assigned(trained, tmp_path):
    root, _ = trained
    clinical = pd.read_csv(root / "site_b" / "clinical.csv", dtype={"patient_id": str})
    clinical["site"] = "hospital_" + clinical["site"]
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    arguments = (root / "site_a" / "evaluation", root / "site_b" / "features_wide.csv", tmp_path / "clinical.csv",
                 "outcome")
    # The model was evaluated with the default combat_unseen_batch: passthrough, so unknown
    # batches reach it unharmonized and the report says so; a model saved with "error" refuses.
    passed = validate_externally(*arguments, tmp_path / "passed", batch_column="site", write_report=False)
    assert any("unknown to the model's ComBat" in note and "unharmonized" in note for note in passed.notes)
    strict = tmp_path / "strict_model"
    shutil.copytree(root / "site_a" / "evaluation", strict)
    card = json.loads((strict / "model_card.json").read_text())
    card["settings"]["combat_unseen_batch"] = "error"
    (strict / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="unknown to the model's ComBat.*assign_batch"):
        validate_externally(strict, *arguments[1:], tmp_path / "refused", batch_column="site")
    assert not (tmp_path / "refused").exists()
    result = validate_externally(*arguments, tmp_path / "assigned", assign_batch="site_A", write_report=False)
    assert np.isfinite(result.probabilities).all()


def test_a_tampered_model_is_refused(trained, tmp_path):
    root, _ = trained
    folder = tmp_path / "model"
    folder.mkdir()
    source = root / "site_a" / "evaluation"
    (folder / "model.skops").write_bytes((source / "model.skops").read_bytes() + b"\0")
    (folder / "model_card.json").write_text((source / "model_card.json").read_text())
    with pytest.raises(ModelFileError, match="SHA-256"):
        validate_externally(folder, root / "site_b" / "features_wide.csv", root / "site_b" / "clinical.csv",
                            "outcome", tmp_path / "out", batch_column="site")
    card = json.loads((source / "model_card.json").read_text())
    assert card["model_files"]["model.skops"]
