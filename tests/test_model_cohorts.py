"""Synthetic wide feature tables for the model tests (and checks that they hold what they claim).

``signal_cohort``: two imaging modalities whose features each carry part of the
outcome's signal (CT one latent factor, MR another), clinical covariates carrying
a third, and three sites shifting every radiomic feature. ``noise_cohort``: many
noise features with a site effect and a random outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SITES = ("site_A", "site_B", "site_C")


def _site_effect(rng: np.random.Generator, sites: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient additive shift and multiplicative scale of each feature, by site."""
    shift = {s: rng.normal(0.0, 1.0, n_features) for s in SITES}
    scale = {s: rng.uniform(0.7, 1.4, n_features) for s in SITES}
    return np.vstack([shift[s] for s in sites]), np.vstack([scale[s] for s in sites])


def signal_cohort(n_patients: int = 160, n_noise_features: int = 12, seed: int = 0,
                  missing_mr: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A cohort where CT, MR and clinical data each carry one third of the outcome's logit.

    Parameters
    ----------
    n_patients : int
    n_noise_features : int
        Pure-noise features added to each modality.
    seed : int
    missing_mr : int
        The first ``missing_mr`` patients have no MR (all MR features empty).

    Returns
    -------
    wide : DataFrame
        ``patient_id``, ``CT__*``, ``MR__*``.
    clinical : DataFrame
        ``patient_id, age, sex, stage, site, outcome``.
    truth : dict
        ``latent`` (n_patients x 3: CT, MR, clinical factors) and ``logit``.
    """
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_patients, 3))
    logit = 1.3 * latent.sum(axis=1)
    outcome = (rng.uniform(size=n_patients) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    sites = rng.choice(SITES, size=n_patients)
    ids = [f"P{i:03d}" for i in range(n_patients)]
    columns = {"patient_id": ids}
    for modality, factor in (("CT", 0), ("MR", 1)):
        signal = np.column_stack([latent[:, factor] * w + rng.normal(0, 0.8, n_patients)
                                  for w in (1.0, 0.9, -0.8, 0.7)])
        noise = rng.normal(size=(n_patients, n_noise_features))
        values = np.hstack([signal, noise])
        shift, scale = _site_effect(rng, sites, values.shape[1])
        values = values * scale + shift
        names = [f"original_signal_{j}" for j in range(signal.shape[1])]
        names += [f"original_noise_{j}" for j in range(n_noise_features)]
        for name, column in zip(names, values.T):
            columns[f"{modality}__{name}"] = column
    wide = pd.DataFrame(columns)
    if missing_mr:
        wide.loc[: missing_mr - 1, [c for c in wide.columns if c.startswith("MR__")]] = np.nan
    clinical = pd.DataFrame({
        "patient_id": ids,
        "age": np.round(65 + 7 * latent[:, 2] + rng.normal(0, 3, n_patients), 1),
        "sex": rng.choice(["F", "M"], size=n_patients),
        "stage": rng.integers(1, 5, size=n_patients),
        "site": sites,
        "outcome": outcome,
    })
    return wide, clinical, {"latent": latent, "logit": logit}


def noise_cohort(n_patients: int = 80, n_features: int = 900, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Noise features over three modalities, shifted and scaled by site; a random outcome.

    Returns
    -------
    wide : DataFrame
        ``patient_id`` and ``n_features`` columns (``CT__``, ``MR__``, ``PET__`` thirds).
    clinical : DataFrame
        ``patient_id, age, sex, site, outcome``.
    """
    rng = np.random.default_rng(seed)
    sites = rng.choice(SITES, size=n_patients)
    values = rng.normal(size=(n_patients, n_features))
    shift, scale = _site_effect(rng, sites, n_features)
    values = values * scale + 2.0 * shift
    ids = [f"N{i:03d}" for i in range(n_patients)]
    modalities = np.array_split(np.arange(n_features), 3)
    columns = {"patient_id": ids}
    for modality, positions in zip(("CT", "MR", "PET"), modalities):
        for j in positions:
            columns[f"{modality}__original_noise_{j}"] = values[:, j]
    clinical = pd.DataFrame({
        "patient_id": ids,
        "age": np.round(rng.normal(65, 8, n_patients), 1),
        "sex": rng.choice(["F", "M"], size=n_patients),
        "site": sites,
        "outcome": rng.integers(0, 2, size=n_patients),
    })
    return pd.DataFrame(columns), clinical


def _auc(y, score):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, score)


def test_signal_cohort_splits_the_signal_between_sources():
    wide, clinical, truth = signal_cohort(n_patients=400)
    y = clinical["outcome"].to_numpy()
    ct = _auc(y, wide["CT__original_signal_0"])
    mr = _auc(y, wide["MR__original_signal_0"])
    age = _auc(y, clinical["age"])
    combined = _auc(y, truth["logit"])
    for partial in (ct, mr, age):
        assert 0.6 < partial < combined - 0.08
    assert abs(_auc(y, wide["CT__original_noise_0"]) - 0.5) < 0.1


def test_noise_cohort_has_site_effect_and_no_signal():
    wide, clinical = noise_cohort()
    assert wide.shape == (80, 901)
    assert {c.split("__")[0] for c in wide.columns[1:]} == {"CT", "MR", "PET"}
    by_site = wide.iloc[:, 1:].groupby(clinical["site"].to_numpy()).mean()
    assert by_site.std(axis=0).mean() > 1.0
    assert set(np.unique(clinical["outcome"])) == {0, 1}


def test_signal_cohort_missing_modality():
    wide, _, _ = signal_cohort(n_patients=40, missing_mr=5)
    mr = wide[[c for c in wide.columns if c.startswith("MR__")]]
    assert mr.iloc[:5].isna().all().all() and mr.iloc[5:].notna().all().all()
