"""Where to fit ComBat: cross-validated AUROC of pure-noise features with site effects.

Two centres; the outcome is more frequent at one of them (a referral centre), and
every feature is noise plus a strong per-centre shift and scale.  No feature
carries any information on the outcome beyond the centre, so an honest estimate
of what the features add after harmonization is an AUROC of 0.5.  Five ways of
combining ComBat with 5-fold cross-validation are compared over independent
simulated cohorts:

- ``raw``: no harmonization; the features encode the centre, which predicts the outcome.
- ``fold``: ComBat in a Pipeline, fitted on each training fold (radiomix's way).
- ``whole``: ComBat fitted on the whole cohort, then cross-validation.
- ``whole_outcome``: the same, with the outcome protected as a covariate.
- ``fold_outcome``: ComBat in each fold with the outcome protected, which makes
  ``transform`` use the outcome of the test rows.

Run ``python benchmarks/harmonization_leakage.py`` to print the AUROC table and
write ``docs/figures/harmonization_leakage.png``; ``tests/test_combat_leakage.py``
runs the same simulation on fewer cohorts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from radiomix.harmonize import ComBat

#: Arms of the experiment, in display order, with their labels.
ARMS = {
    "raw": "No harmonization",
    "fold": "ComBat fitted in each fold (radiomix)",
    "whole": "ComBat on the whole cohort, then CV",
    "whole_outcome": "ComBat on the whole cohort, outcome protected",
    "fold_outcome": "ComBat in each fold, outcome protected",
}
N_PER_SITE = 40
N_FEATURES = 100
#: Outcome prevalence at each site.
PREVALENCE = (0.2, 0.8)
#: Standard deviation of the per-site shift (feature units, noise sd = 1) and of the log scale.
SITE_SHIFT_SD = 2.0
SITE_LOG_SCALE_SD = 0.7
N_FOLDS = 5
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "harmonization_leakage.png"


def simulate_cohort(seed: int) -> pd.DataFrame:
    """One cohort: ``f0 .. f99`` (noise with site effects), ``site`` and ``outcome``.

    Parameters
    ----------
    seed : int
        Seed of the random generator.

    Returns
    -------
    DataFrame of shape (80, 102)
    """
    rng = np.random.default_rng(seed)
    n_sites = len(PREVALENCE)
    site = np.repeat(np.arange(n_sites), N_PER_SITE)
    outcome = (rng.random(site.size) < np.asarray(PREVALENCE)[site]).astype(int)
    shift = rng.normal(0.0, SITE_SHIFT_SD, (n_sites, N_FEATURES))
    scale = np.exp(rng.normal(0.0, SITE_LOG_SCALE_SD, (n_sites, N_FEATURES)))
    features = rng.normal(size=(site.size, N_FEATURES)) * scale[site] + shift[site]
    table = pd.DataFrame(features, columns=[f"f{j}" for j in range(N_FEATURES)])
    table["site"] = [f"centre_{k}" for k in site]
    table["outcome"] = outcome
    return table


def _classifier():
    return [StandardScaler(), LogisticRegression(C=0.05, solver="liblinear")]


def cross_validated_auroc(cohort: pd.DataFrame, arm: str, seed: int) -> float:
    """AUROC of the out-of-fold predictions of one arm on one cohort.

    Parameters
    ----------
    cohort : DataFrame
        From :func:`simulate_cohort`.
    arm : str
        A key of :data:`ARMS`.
    seed : int
        Seed of the fold split.

    Returns
    -------
    float
    """
    outcome = cohort["outcome"].to_numpy()
    features = [column for column in cohort.columns if column.startswith("f")]
    folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed)
    if arm == "raw":
        model, X = make_pipeline(*_classifier()), cohort[features]
    elif arm == "fold":
        model, X = make_pipeline(ComBat("site"), *_classifier()), cohort[[*features, "site"]]
    elif arm == "fold_outcome":
        model = make_pipeline(ComBat("site", categorical_cols=["outcome"]), *_classifier())
        X = cohort[[*features, "site", "outcome"]]
    elif arm == "whole":
        model, X = make_pipeline(*_classifier()), ComBat("site").fit_transform(cohort[[*features, "site"]])
    elif arm == "whole_outcome":
        model = make_pipeline(*_classifier())
        X = ComBat("site", categorical_cols=["outcome"]).fit_transform(
            cohort[[*features, "site", "outcome"]])
    else:
        raise ValueError(f"unknown arm {arm!r}; choose one of {list(ARMS)}")
    scores = cross_val_predict(model, X, outcome, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(outcome, scores))


def run(n_cohorts: int) -> pd.DataFrame:
    """AUROC of every arm on cohorts ``0 .. n_cohorts - 1``: one row per cohort, one column per arm."""
    return pd.DataFrame([{arm: cross_validated_auroc(simulate_cohort(seed), arm, seed) for arm in ARMS}
                         for seed in range(n_cohorts)])


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum AUROC of each arm."""
    table = results.agg(["mean", "std", "min", "max"]).T
    table.index = [ARMS[arm] for arm in table.index]
    return table


def plot(results: pd.DataFrame, path: Path) -> None:
    """Dot plot of the AUROC per cohort and arm, means marked, chance line at 0.5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.0, 3.0), dpi=110)
    rows = list(ARMS)[::-1]
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(results))
    for position, arm in enumerate(rows):
        colour = "tab:green" if arm == "fold" else "tab:gray" if arm == "raw" else "tab:red"
        axes.scatter(results[arm], position + jitter, s=9, color=colour, alpha=0.45, linewidths=0)
        mean = results[arm].mean()
        axes.plot([mean, mean], [position - 0.3, position + 0.3], color=colour, linewidth=2.5)
        axes.text(1.01, position, f"{mean:.2f}", va="center", fontsize=8, color=colour)
    axes.axvline(0.5, color="black", linestyle="--", linewidth=0.8)
    axes.set_yticks(range(len(rows)), [ARMS[arm] for arm in rows], fontsize=8)
    axes.set_xlim(0.0, 1.0)
    axes.set_xlabel("cross-validated AUROC (pure-noise features; truth = 0.5)", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_title(f"{len(results)} simulated two-centre cohorts, {N_FEATURES} noise features, "
                   f"prevalence {PREVALENCE[0]:.0%} vs {PREVALENCE[1]:.0%}", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=50, help="number of simulated cohorts")
    parser.add_argument("--figure", type=Path, default=FIGURE, help="where to write the PNG")
    arguments = parser.parse_args()
    results = run(arguments.cohorts)
    print(summary(results).to_string(float_format=lambda value: f"{value:.3f}"))
    plot(results, arguments.figure)
    print(f"figure: {arguments.figure} ({arguments.figure.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
