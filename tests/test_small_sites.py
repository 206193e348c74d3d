"""Sites too small for in-fold ComBat are left unharmonized (with a warning); the evaluation completes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from radiomix.cohort.outputs import evaluate, patient_sites
from radiomix.harmonize import ComBat, PerModalityComBat
from radiomix.harmonize.combat import ComBatWarning
from radiomix.synthetic import make_cohort

LIGHT_EVALUATION = """\
n_outer_splits: 3
n_repeats: 1
n_inner_splits: 2
max_depth_grid: [2]
min_child_weight_grid: [1.0]
n_estimators: 20
n_bootstrap: 50
n_shap_waterfalls: 1
"""


def _wide_table(manifest, clinical, seed=0) -> pd.DataFrame:
    """A few features per modality: a site shift, an outcome effect and noise."""
    rng = np.random.default_rng(seed)
    outcome = pd.read_csv(clinical, dtype={"patient_id": str}).set_index("patient_id")["outcome"]
    sites = patient_sites(manifest, "CT")
    shift = {site: 2.0 * k for k, site in enumerate(sorted(sites.unique()))}
    columns = {"patient_id": list(sites.index)}
    for modality in ("CT", "MR", "PET"):
        for k in range(4):
            columns[f"{modality}__feature_{k}"] = [
                shift[sites[p]] + (1.5 if k < 2 else 0.0) * outcome[p] + rng.normal() for p in sites.index]
    return pd.DataFrame(columns)


def test_a_twelve_patient_cohort_with_a_one_patient_site_completes_its_evaluation(tmp_path):
    manifest, clinical = make_cohort(tmp_path / "cohort", n_patients=12, seed=8)
    sizes = patient_sites(manifest, "CT").value_counts()
    assert sizes.min() == 1, "the cohort must hold a one-patient site"
    wide = tmp_path / "features_wide.csv"
    _wide_table(manifest, clinical).to_csv(wide, index=False)
    settings = tmp_path / "evaluation.yaml"
    settings.write_text(LIGHT_EVALUATION)
    out = tmp_path / "evaluation"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluate(wide, clinical, "outcome", out, failures=None, codebook=None, batch_column="site",
                 settings=str(settings), manifest=manifest, reference_modality="CT")
    metrics = pd.read_csv(out / "metrics.csv")
    assert {"multimodal", "CT", "MR", "PET", "clinical"} <= set(metrics["model"])
    small = sizes.index[sizes == 1][0]
    assert any(issubclass(w.category, ComBatWarning) and f"{small}" in str(w.message)
               and "unharmonized" in str(w.message) for w in caught)


def _sites_table(seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sites = ["A"] * 8 + ["B"] * 7 + ["C"]
    offsets = {"A": 0.0, "B": 3.0, "C": -5.0}
    return pd.DataFrame({
        "site": sites,
        **{f"f{k}": [offsets[s] * (k + 1) + rng.normal() for s in sites] for k in range(4)},
    })


def test_a_small_batch_is_left_out_of_the_fit_and_unharmonized():
    table = _sites_table()
    with pytest.warns(ComBatWarning, match=r"C \(1\) have fewer than min_batch_size=2.*left unharmonized"):
        combat = ComBat("site", min_batch_size=2).fit(table)
    assert list(combat.batches_) == ["A", "B"] and list(combat.small_batches_) == ["C"]
    with pytest.warns(ComBatWarning, match=r"batch\(es\) C had fewer than 2 row\(s\) at fit: 1 row"):
        harmonized = combat.transform(table)
    features = ["f0", "f1", "f2", "f3"]
    assert np.array_equal(harmonized[table["site"] == "C"].to_numpy(), table.loc[table["site"] == "C", features])
    large = table[table["site"] != "C"]
    expected = ComBat("site").fit(large).transform(large)
    assert np.allclose(harmonized[table["site"] != "C"].to_numpy(), expected.to_numpy())


def test_default_min_batch_size_fits_every_batch_as_before():
    table = _sites_table()
    with pytest.warns(ComBatWarning, match="single observed value"):
        combat = ComBat("site").fit(table)
    assert list(combat.batches_) == ["A", "B", "C"] and combat.small_batches_.size == 0


def test_no_batch_large_enough_leaves_every_row_unharmonized():
    table = _sites_table()
    with pytest.warns(ComBatWarning, match="leaves every row unharmonized"):
        combat = ComBat("site", min_batch_size=20).fit(table)
    with pytest.warns(ComBatWarning, match="left unharmonized"):
        harmonized = combat.transform(table)
    assert np.array_equal(harmonized.to_numpy(), table[["f0", "f1", "f2", "f3"]].to_numpy())


def test_a_small_reference_batch_and_a_bad_minimum_are_refused():
    table = _sites_table()
    with pytest.raises(ValueError, match="ref_batch 'C' has 1 row"):
        ComBat("site", ref_batch="C", min_batch_size=2).fit(table)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="min_batch_size must be an integer"):
            ComBat("site", min_batch_size=bad).fit(table)


def test_per_modality_combat_applies_the_minimum_per_modality():
    table = _sites_table().rename(columns=lambda c: f"CT__{c}" if c.startswith("f") else c)
    table.loc[table["site"] == "B", "CT__f0":"CT__f3"] = np.nan
    table.loc[table.index[table["site"] == "B"][0], "CT__f0":"CT__f3"] = 1.0
    with pytest.warns(ComBatWarning, match=r"B \(1\), C \(1\)"):
        harmonizer = PerModalityComBat({"CT": "site"}, min_batch_size=2).fit(table)
    assert list(harmonizer.combats_["CT"].batches_) == ["A"]
