"""The TRIPOD+AI checklist (Collins et al., BMJ 2024;385:e078378) as far as a run knows it.

Each of the 27 items (with their sub-items) is either ``filled`` from what the
evaluation measured or was given (cohort size, events, predictors, validation
scheme, search, performance with intervals, calibration, software versions) or
marked ``to be completed by the authors`` with a hint of what belongs there.
The topics are short paraphrases; the checklist itself is the reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radiomix.model.data import MULTIMODAL

FILLED = "filled"
TO_COMPLETE = "to be completed by the authors"
TRIPOD_COLUMNS = ["item", "section", "topic", "status", "content"]

#: (item, section, topic, hint for the authors) of every TRIPOD+AI item.
ITEMS = (
    ("1", "Title", "identify the study as developing or evaluating a prediction model, its population and "
     "outcome", "the paper's title"),
    ("2", "Abstract", "structured summary (see TRIPOD+AI for Abstracts)", "the paper's abstract"),
    ("3a", "Introduction", "healthcare context and rationale for the model", "clinical background"),
    ("3b", "Introduction", "target population, intended use and users", "who would use the model, when"),
    ("3c", "Introduction", "known health inequalities between groups", "groups at risk of unequal performance"),
    ("4", "Introduction", "study objectives (development and/or evaluation)", ""),
    ("5a", "Methods: data", "sources of data and why they suit the question", "how the cohort was assembled"),
    ("5b", "Methods: data", "dates of data collection and follow-up", "accrual and follow-up dates"),
    ("6a", "Methods: participants", "study setting and number and location of centres", ""),
    ("6b", "Methods: participants", "eligibility criteria", "inclusion and exclusion criteria"),
    ("6c", "Methods: participants", "treatments received, if relevant", "treatments and their timing"),
    ("7", "Methods: data preparation", "pre-processing and quality checks of the data", ""),
    ("8a", "Methods: outcome", "outcome definition and time horizon", "definition and horizon"),
    ("8b", "Methods: outcome", "how the outcome was assessed, blinding to predictors",
     "who assessed it, blinded or not"),
    ("8c", "Methods: outcome", "consistency of outcome assessment across groups", "assessment per centre"),
    ("9a", "Methods: predictors", "choice of candidate predictors", ""),
    ("9b", "Methods: predictors", "definition of predictors and how they were measured", ""),
    ("9c", "Methods: predictors", "qualification of assessors and blinding to the outcome",
     "who delineated the lesions, blinded or not"),
    ("10", "Methods: sample size", "how the study size was arrived at", ""),
    ("11", "Methods: missing data", "how missing data were handled", ""),
    ("12a", "Methods: analysis", "how the data were used (development, evaluation)", ""),
    ("12b", "Methods: analysis", "handling of predictors (transformations, harmonization, selection)", ""),
    ("12c", "Methods: analysis", "model type, building, hyperparameter tuning, internal validation", ""),
    ("12d", "Methods: analysis", "heterogeneity across centres and how it was examined",
     "no site column was given: describe clustering, if any"),
    ("12e", "Methods: analysis", "performance measures and their rationale", ""),
    ("12f", "Methods: analysis", "model updating, if done", "recalibration or updating, if any"),
    ("12g", "Methods: analysis", "for external validation: how predictions were computed",
     "applies when an existing model is validated"),
    ("13", "Methods: class imbalance", "methods for class imbalance, if used", ""),
    ("14", "Methods: fairness", "approaches to assess fairness across groups", "subgroups examined"),
    ("15", "Methods: model output", "what the model outputs and any thresholds", ""),
    ("16", "Methods: training vs evaluation", "differences between development and evaluation data",
     "differences in setting, eligibility, outcome, predictors"),
    ("17", "Methods: ethics", "ethics approval and consent", "committee, reference, consent"),
    ("18a", "Open science", "funding", "sources of funding and their role"),
    ("18b", "Open science", "conflicts of interest", "authors' declarations"),
    ("18c", "Open science", "protocol availability", "where the protocol is"),
    ("18d", "Open science", "study registration", "registry and number"),
    ("18e", "Open science", "data sharing", "where and how the data can be obtained"),
    ("18f", "Open science", "code sharing", ""),
    ("19", "Patient and public involvement", "patient and public involvement", "how patients were involved"),
    ("20a", "Results: participants", "flow of participants, with numbers excluded and why", ""),
    ("20b", "Results: participants", "characteristics of participants, overall and per centre", ""),
    ("20c", "Results: participants", "comparison of development and evaluation data",
     "distributions of key predictors in each data set"),
    ("21", "Results: model development", "participants and outcome events in each analysis", ""),
    ("22", "Results: model specification", "full model, or how to obtain and use it", ""),
    ("23a", "Results: performance", "performance with confidence intervals, calibration", ""),
    ("23b", "Results: performance", "heterogeneity of performance across centres",
     "no site column was given: describe heterogeneity, if examined"),
    ("24", "Results: model updating", "results of model updating, if done", "updating results, if any"),
    ("25", "Discussion", "overall interpretation, including fairness", "interpretation of the results"),
    ("26", "Discussion", "limitations (non-representative sample, sample size, overfitting, missing data)",
     "limitations; the run's warnings are listed in warnings.csv"),
    ("27a", "Discussion", "how poor-quality or missing inputs are handled at use", ""),
    ("27b", "Discussion", "user interaction and expertise needed", "who can run and read the model"),
    ("27c", "Discussion", "generalisability and next steps", "future research and external validation"),
)


def _metric(metrics: pd.DataFrame, model: str, metric: str) -> tuple[float, float, float] | None:
    rows = metrics[(metrics["model"] == model) & (metrics["metric"] == metric)]
    if not len(rows):
        return None
    value, low, high = rows.iloc[0][["value", "ci_low", "ci_high"]]
    return float(value), float(low), float(high)


def _with_interval(triple) -> str:
    if triple is None:
        return "n/a"
    value, low, high = triple
    if np.isnan(low):
        return f"{value:.3f}"
    return f"{value:.3f} (95 % CI {low:.3f}-{high:.3f})"


def filled_items(cohort, settings, metrics: pd.DataFrame, warnings: pd.DataFrame, card: dict,
                 failures: pd.DataFrame | None = None, site_performance: pd.DataFrame | None = None) -> dict:
    """Item -> content for every item the run can fill."""
    layout = cohort.layout
    counts = np.bincount(cohort.outcome, minlength=cohort.n_classes)
    classes = ", ".join(f"{c}: {n}" for c, n in zip(cohort.classes, counts))
    modalities = ", ".join(f"{m} ({len(c)} features)" for m, c in layout.modalities.items())
    clinical = ", ".join(cohort.clinical_source_columns) or "none"
    inputs = ", ".join(f"{v['file']} (sha256 {v['sha256'][:12]})" for v in card["data"]["inputs"].values())
    sites = ""
    if layout.batch_column:
        levels = cohort.table[layout.batch_column].astype(str).value_counts().sort_index()
        sites = f"{len(levels)} sites ({', '.join(f'{k}: {v}' for k, v in levels.items())})"
    size = metrics[(metrics["model"] == MULTIMODAL)].set_index("metric")["value"]
    chance = warnings[warnings["check"] == "auroc_not_distinguishable_from_chance"]["model"].tolist()
    items = {
        "4": f"Develop a model of '{cohort.outcome_name}' from {modalities}"
             f"{' and clinical data' if layout.clinical else ''}, estimate its performance by nested "
             "cross-validation and compare it with each single source.",
        "5a": f"Input tables: {inputs}." + (f" {sites}." if sites else ""),
        "6b": f"{len(cohort.table)} patients with an outcome and features; {len(cohort.excluded)} excluded "
              "(no outcome, or absent from a table; listed in the report).",
        "7": "Image features extracted by radiomix (IBSI definitions, per-modality settings); constant and "
             "duplicate columns flagged in codebook.csv; near-zero-variance and correlated features removed, "
             "and ComBat fitted, inside each training fold only.",
        "8a": f"Outcome column '{cohort.outcome_name}'; classes {classes}. Time horizon: to be stated by the "
              "authors.",
        "9a": f"Candidate predictors: {modalities}; clinical: {clinical}.",
        "10": f"No sample-size calculation; the run checked it: smaller class {int(counts.min())} patients, "
              f"{size.get('events_smallest_outer_training_fold', np.nan):.0f} events in the smallest outer "
              f"training fold, {size.get('events_per_candidate_feature', np.nan):.3f} events per candidate "
              f"feature of the multimodal model; {len(warnings)} guard(s) fired (warnings.csv).",
        "11": f"Missing modality: {settings.missing_modality} "
              "(indicator: a 0/1 column per modality and XGBoost's default branch); missing clinical values "
              "left missing (XGBoost's default branch); no imputation.",
        "12a": f"All {len(cohort.table)} patients used for development; performance by nested "
               f"cross-validation ({settings.n_outer_splits}-fold outer x {settings.n_repeats} repeats, "
               f"{settings.n_inner_splits}-fold inner)"
               + ("; internal-external validation by leaving one site out." if site_performance is not None
                  else "."),
        "12b": (f"ComBat ({settings.harmonization}) by '{layout.batch_column}', " if layout.batch_column
                else "No harmonization; ")
               + f"near-zero variance filter, correlation clustering (|rho| >= {settings.correlation_threshold}), "
                 f"then {settings.selection} selection, all fitted in training folds.",
        "12c": f"XGBoost ({settings.n_estimators} trees, learning rate {settings.learning_rate}); grid "
               f"{settings.xgboost_grid()} searched by {settings.n_inner_splits}-fold inner cross-validation "
               f"(log loss); {settings.fusion} fusion.",
        "12e": "AUROC, calibration slope and calibration-in-the-large, Brier score, sensitivity and specificity "
               "at the inner-loop Youden threshold, decision curve (net benefit); 95 % intervals from "
               f"{settings.n_bootstrap} stratified bootstrap resamples; DeLong for paired AUROC differences.",
        "12f": "No updating: the model was developed in this run.",
        "13": "No resampling or weighting; the decision threshold is chosen in the inner loop (Youden).",
        "15": "A probability of the positive class; a decision threshold (Youden) chosen in the inner loop.",
        "18f": f"radiomix {card['versions'].get('radiomix', '')} (open source); settings hash "
               f"{card['settings_hash']}; model files {', '.join(card['model_files'])} with SHA-256 in "
               "model_card.json.",
        "20a": f"{len(cohort.table)} analysed, {len(cohort.excluded)} excluded"
               + (f", {len(failures)} extraction failure(s) (failures.csv)" if failures is not None else "")
               + ".",
        "20b": "Outcome classes, modalities and clinical variables summarised in the report's Cohort section"
               + (" with patients per site." if sites else "."),
        "21": f"{len(cohort.table)} patients, classes {classes}, in every model's evaluation.",
        "22": "The final model (model.skops, XGBoost JSON boosters) with its selected inputs "
              "(selected_features.csv).",
        "23a": f"Multimodal AUROC {_with_interval(_metric(metrics, MULTIMODAL, 'auroc'))}; calibration slope "
               f"{_with_interval(_metric(metrics, MULTIMODAL, 'calibration_slope'))}; calibration-in-the-large "
               f"{_with_interval(_metric(metrics, MULTIMODAL, 'calibration_intercept'))}"
               + (f"; not distinguishable from chance: {', '.join(chance)}" if chance else "") + ".",
        "27a": f"Missing modalities handled by '{settings.missing_modality}'; a failed extraction leaves the "
               "modality missing.",
    }
    if sites:
        items["6a"] = f"{sites}."
    if site_performance is not None:
        held_out = site_performance[(site_performance["scheme"] == "leave_one_site_out")
                                    & (site_performance["site"] != "all sites (pooled)")]
        text = "; ".join(f"{r.site}: n={r.n_patients}, AUROC {r.auroc:.3f}" if np.isfinite(r.auroc)
                         else f"{r.site}: n={r.n_patients}, AUROC undefined" for r in held_out.itertuples())
        items["12d"] = "Leave-one-site-out (internal-external) validation beside the nested cross-validation."
        items["23b"] = f"Per held-out site: {text} (site_performance.csv)."
    return items


def tripod_ai_table(cohort, settings, metrics: pd.DataFrame, warnings: pd.DataFrame, card: dict,
                    failures: pd.DataFrame | None = None,
                    site_performance: pd.DataFrame | None = None) -> pd.DataFrame:
    """``tripod_ai.csv``: every TRIPOD+AI item with ``status`` filled or to be completed, and its content."""
    filled = filled_items(cohort, settings, metrics, warnings, card, failures, site_performance)
    rows = []
    for item, section, topic, hint in ITEMS:
        if item in filled:
            rows.append((item, section, topic, FILLED, filled[item]))
        else:
            rows.append((item, section, topic, TO_COMPLETE, hint))
    return pd.DataFrame(rows, columns=TRIPOD_COLUMNS)
