"""Saving and loading models: same predictions after reload; pickles and tampered files refused."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
import xgboost

from radiomix.model.data import load_cohort
from radiomix.model.fusion import build_model
from radiomix.model.persistence import (
    ModelFileError,
    UntrustedModelError,
    load_model,
    save_boosters,
    save_model,
)
from radiomix.model.search import TunedClassifier
from radiomix.model.settings import EvaluationSettings

from test_model_cohorts import signal_cohort

FAST = {"n_estimators": 30, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_inner_splits": 2}


@pytest.fixture(scope="module", params=["early", "late"])
def fitted(request, tmp_path_factory):
    wide, clinical, _ = signal_cohort(n_patients=70, n_noise_features=3, seed=11, missing_mr=8)
    cohort = load_cohort(wide, clinical, "outcome", batch_column="site")
    settings = EvaluationSettings(**FAST, fusion=request.param)
    model = TunedClassifier(build_model(cohort.layout, settings), param_grid=settings.xgboost_grid(), cv=2)
    model.fit(cohort.table, cohort.outcome)
    folder = tmp_path_factory.mktemp(f"model_{request.param}")
    digest = save_model(model, folder / "model.skops")
    boosters = save_boosters(model, folder)
    return model, cohort, folder, digest, boosters


def test_reloaded_model_predicts_the_same_probabilities(fitted):
    model, cohort, folder, digest, _ = fitted
    loaded = load_model(folder / "model.skops", expected_sha256=digest)
    assert np.array_equal(loaded.predict_proba(cohort.table), model.predict_proba(cohort.table))
    assert np.array_equal(loaded.predict(cohort.table), model.predict(cohort.table))
    assert loaded.threshold_ == model.threshold_


def test_booster_json_reloads_in_plain_xgboost(fitted):
    model, cohort, _, _, boosters = fitted
    estimator = model.best_estimator_
    pipelines = estimator.estimators_ if hasattr(estimator, "estimators_") else {"": estimator}
    assert set(boosters) == set(pipelines)
    for name, path in boosters.items():
        assert json.loads(path.read_text())["learner"]
        booster = xgboost.Booster(model_file=str(path))
        pipeline = pipelines[name]
        data = xgboost.DMatrix(pipeline[:-1].transform(cohort.table))
        expected = pipeline[-1].predict(pipeline[:-1].transform(cohort.table), output_margin=True)
        assert np.allclose(booster.predict(data, output_margin=True), expected, atol=1e-6)


def test_pickle_is_refused(fitted, tmp_path):
    model = fitted[0]
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(ModelFileError, match="pickle.*never unpickles"):
        load_model(path)


def _rewrite_schema(source, target, edit):
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["schema.json"] = edit(members["schema.json"].decode()).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_tampered_type_is_refused(fitted, tmp_path):
    folder = fitted[2]
    tampered = tmp_path / "tampered.skops"
    _rewrite_schema(folder / "model.skops", tampered, lambda text: text.replace(
        '"__module__": "radiomix.model.fusion"', '"__module__": "os"').replace(
        '"__class__": "KeepColumns"', '"__class__": "system"'))
    with pytest.raises(UntrustedModelError, match=r"os\.system"):
        load_model(tampered)


def test_damaged_file_and_hash_mismatch_are_refused(fitted, tmp_path):
    folder = fitted[2]
    data = bytearray((folder / "model.skops").read_bytes())
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(folder / "model.skops", expected_sha256="0" * 64)
    truncated = tmp_path / "truncated.skops"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ModelFileError, match="not a skops model file|damaged"):
        load_model(truncated)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "absent.skops")
