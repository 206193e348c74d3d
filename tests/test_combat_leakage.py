"""Where ComBat is fitted decides whether cross-validation tells the truth.

Pure-noise features with strong site effects, at two centres with different
outcome prevalence (``benchmarks/harmonization_leakage.py``, run here on fewer
cohorts): the features hold no information beyond the centre, so the honest
cross-validated AUROC after harmonization is 0.5.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

N_COHORTS = 6
EXPERIMENT = Path(__file__).resolve().parents[1] / "benchmarks" / "harmonization_leakage.py"


@pytest.fixture(scope="module")
def experiment():
    """The benchmark script, imported as a module."""
    spec = importlib.util.spec_from_file_location("harmonization_leakage", EXPERIMENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def auroc(experiment):
    """AUROC of every arm on cohorts 0-5: one row per cohort, one column per arm."""
    return experiment.run(N_COHORTS)


def test_combat_in_each_fold_gives_chance_level(auroc):
    assert abs(auroc["fold"].mean() - 0.5) < 0.06


def test_unharmonized_features_predict_the_centre(auroc):
    assert auroc["raw"].mean() > 0.7


def test_protecting_the_outcome_is_optimistic(auroc):
    """The outcome as a covariate puts the test rows' labels into their harmonized values."""
    assert auroc["whole_outcome"].mean() > 0.58
    assert auroc["fold_outcome"].mean() > 0.6
    assert (auroc["fold_outcome"] > auroc["fold"]).all()


def test_fitting_on_the_whole_cohort_biases_the_estimate(auroc):
    """Without the outcome, whole-cohort ComBat is biased too: downwards in this design.

    It centres each site on all its rows, so a training fold's residual site mean
    is the opposite of its test fold's; the classifier learns the site from the
    training rows and applies it reversed to the test rows.
    """
    assert auroc["whole"].mean() < 0.4
    assert (auroc["whole"] < auroc["fold"]).all()


def test_experiment_is_deterministic(experiment, auroc):
    again = experiment.cross_validated_auroc(experiment.simulate_cohort(0), "fold", 0)
    assert again == auroc.loc[0, "fold"]
