"""The external-validation report: one self-contained HTML file a partner site can send back.

Sections: summary, case flow, discrimination (metrics with 95 % bootstrap
intervals, ROC curve with its band), calibration (slope, calibration-in-the-large,
recalibration-in-the-large, calibration curve before and after), decision curve
(net benefit against treat-all and treat-none), notes, and the validation card.

The report holds no patient identifier and no per-patient value: calibration
points are means over quantile bins of about ``n / k`` >= 5 patients (at most 10
bins). The ROC and decision curves are the usual aggregate displays, but in a
small cohort their steps show where individual predictions lie.
Everything from the inputs is HTML-escaped; figures are embedded PNGs; the page
allows no script and no external resource.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from radiomix.model.metrics import calibration_curve_points, roc_band
from radiomix.report.figures import FPR_GRID, MODEL_COLORS, figure_to_png, img_tag, unit_square
from radiomix.report.html import CONTENT_SECURITY_POLICY, METRIC_LABELS, STYLE, esc, fmt, table_html

EXTRA_LABELS = {"observed_event_rate": "Observed event rate", "mean_predicted_probability":
                "Mean predicted probability", "brier_recalibrated": "Brier score after recalibration-in-the-large"}
#: Patients per calibration bin, at least (quantile bins; at most 10 bins).
MIN_PATIENTS_PER_BIN = 5
#: Thresholds shown in the decision-curve table.
TABLE_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def _figure(figure: Figure, alt: str) -> str:
    return img_tag(figure_to_png(figure), alt)


def roc_external_figure(y: np.ndarray, probabilities: np.ndarray, resamples: np.ndarray,
                        auroc: tuple[float, float, float]) -> Figure:
    """ROC curve of the external predictions with its 95 % bootstrap band."""
    figure = Figure(figsize=(5.6, 5.2))
    axes = figure.subplots()
    tpr, low, high = roc_band(y, probabilities[None], resamples, FPR_GRID)
    color = MODEL_COLORS[0]
    axes.fill_between(FPR_GRID, low, high, color=color, alpha=0.15, linewidth=0)
    axes.plot(FPR_GRID, tpr, color=color, linewidth=2,
              label=f"AUROC {auroc[0]:.3f} [{auroc[1]:.3f}, {auroc[2]:.3f}]")
    unit_square(axes, top=1.01)
    axes.set_xlabel("1 - specificity (false-positive rate)")
    axes.set_ylabel("sensitivity (true-positive rate)")
    axes.set_title("ROC curve, external validation (band: 95 % bootstrap)", fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure


def calibration_external_figure(y: np.ndarray, curves: dict) -> Figure:
    """Observed event rate against predicted probability (quantile bins), one line per set of probabilities.

    Parameters
    ----------
    y : ndarray of int
        Binary outcome (1 = event).
    curves : dict of str to ndarray of shape (n_patients,)
        Label -> event probabilities.
    """
    figure = Figure(figsize=(5.6, 5.2))
    axes = figure.subplots()
    n_bins = int(np.clip(y.size // MIN_PATIENTS_PER_BIN, 1, 10))
    for color, (label, probabilities) in zip(MODEL_COLORS, curves.items()):
        predicted, observed = calibration_curve_points(
            y, np.column_stack([1 - probabilities, probabilities])[None], n_bins=n_bins)
        axes.plot(predicted, observed, marker="o", markersize=4, color=color, linewidth=1.3, label=label)
    unit_square(axes, diagonal_label="perfect calibration")
    axes.set_xlabel("predicted probability (bin mean)")
    axes.set_ylabel("observed frequency")
    axes.set_title(f"Calibration on the external cohort ({n_bins} quantile bins of the predictions)", fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure


def decision_curve_figure(curve: pd.DataFrame) -> Figure:
    """Net benefit of the model, of treating all and of treating none against the threshold probability."""
    figure = Figure(figsize=(6.4, 4.6))
    axes = figure.subplots()
    axes.plot(curve["threshold"], curve["model"], color=MODEL_COLORS[0], linewidth=2, label="model")
    axes.plot(curve["threshold"], curve["treat_all"], color=MODEL_COLORS[1], linewidth=1.2, label="treat all")
    axes.plot(curve["threshold"], curve["treat_none"], color="#555555", linewidth=1.2, label="treat none")
    top = float(np.nanmax(curve[["model", "treat_all"]].to_numpy()))
    axes.set_ylim(-0.05 * max(top, 0.05), 1.1 * max(top, 0.05))
    axes.set_xlim(0, 1)
    axes.set_xlabel("threshold probability")
    axes.set_ylabel("net benefit")
    axes.set_title("Decision curve, external validation", fontsize=10)
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure


def _metrics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    labels = {**METRIC_LABELS, **EXTRA_LABELS}
    return pd.DataFrame({"metric": [labels.get(m, m) for m in metrics["metric"]],
                         "value": metrics["value"].to_numpy(), "95 % CI low": metrics["ci_low"].to_numpy(),
                         "95 % CI high": metrics["ci_high"].to_numpy()})


def _summary_section(result) -> str:
    model = result.validation_card["model"]
    rows = pd.DataFrame([
        ("model SHA-256", model["sha256"]), ("model created (UTC)", model.get("created_utc") or ""),
        ("training patients", "" if model.get("training_patients") is None else str(model["training_patients"])),
        ("outcome", model.get("outcome") or ""), ("classes", ", ".join(model["classes"])),
        ("decision threshold", fmt(model["decision_threshold"])),
        ("validated patients", str(len(result.cohort.table))),
    ], columns=["", "value"])
    return "\n".join([
        "<h2 id='summary'>Summary</h2>",
        "<p>The saved model was applied, without refitting anything, to this site's patients. The report holds "
        "aggregates only.</p>", table_html(rows)])


def _case_flow_section(result) -> str:
    return "\n".join(["<h2 id='case-flow'>Case flow</h2>", table_html(result.case_flow, 0)])


def _discrimination_section(result) -> str:
    metrics = result.metrics
    discrimination = metrics[metrics["metric"].isin(["auroc", "balanced_accuracy", "sensitivity", "specificity"])]
    parts = ["<h2 id='discrimination'>Discrimination</h2>",
             "<p class='note'>95 % percentile intervals over bootstrap resamples of patients, stratified by "
             "outcome. Sensitivity and specificity use the model's decision threshold chosen at training.</p>",
             table_html(_metrics_table(discrimination))]
    auroc = metrics.set_index("metric").loc["auroc"]
    parts.append(_figure(roc_external_figure(result.cohort.outcome, result.probabilities, result.resamples,
                                             (auroc["value"], auroc["ci_low"], auroc["ci_high"])), "ROC curve"))
    return "\n".join(parts)


def _calibration_section(result) -> str:
    from radiomix.model.external import recalibrated_in_the_large

    parts = ["<h2 id='calibration'>Calibration</h2>"]
    if result.recalibration_intercept is None:
        parts.append("<p class='note'>Calibration is reported for binary outcomes only.</p>")
        return "\n".join(parts)
    metrics = result.metrics
    shown = ["calibration_slope", "calibration_intercept", "observed_event_rate", "mean_predicted_probability",
             "brier", "brier_recalibrated"]
    parts.append(table_html(_metrics_table(metrics.set_index("metric").loc[shown].reset_index())))
    intercept = result.recalibration_intercept
    parts.append(
        "<p>Calibration slope 1 and intercept 0 mean predictions as reliable here as claimed. The intercept "
        "(calibration-in-the-large, slope fixed at 1) is the shift of the log-odds that makes the mean "
        f"prediction match this site's event rate: recalibration-in-the-large adds {esc(fmt(intercept))} to "
        "every log-odds (discrimination unchanged). A slope below 1 means predictions too extreme here.</p>")
    positive = result.probabilities[:, 1]
    curves = {"as saved": positive}
    if np.isfinite(intercept):
        curves["recalibrated in the large"] = recalibrated_in_the_large(positive, intercept)
    parts.append(_figure(calibration_external_figure(result.cohort.outcome, curves), "calibration curve"))
    return "\n".join(parts)


def _decision_section(result) -> str:
    parts = ["<h2 id='decision-curve'>Decision curve</h2>"]
    curve = result.decision_curve
    if curve is None:
        parts.append("<p class='note'>The decision curve is drawn for binary outcomes only.</p>")
        return "\n".join(parts)
    parts.append("<p>Net benefit = TP/n - FP/n x t/(1 - t) when patients with a predicted probability of at "
                 "least t are treated (Vickers and Elkin 2006). The model is useful at thresholds where its "
                 "curve lies above both treat-all and treat-none.</p>")
    parts.append(_figure(decision_curve_figure(curve), "decision curve"))
    shown = curve[np.isin(np.round(curve["threshold"], 2), TABLE_THRESHOLDS)]
    parts.append(table_html(shown.rename(columns={"model": "net benefit (model)", "treat_all": "treat all",
                                                  "treat_none": "treat none"})))
    return "\n".join(parts)


def _notes_section(result) -> str:
    parts = ["<h2 id='notes'>Notes</h2>"]
    if result.notes:
        parts.append("<ul>" + "".join(f"<li>{esc(note)}</li>" for note in result.notes) + "</ul>")
    else:
        parts.append("<p>The data fitted the model's expectations (columns, clinical levels, batches).</p>")
    return "\n".join(parts)


def _card_section(result) -> str:
    card = result.validation_card
    rows = [("radiomix version", card["radiomix_version"]), ("created (UTC)", card["created_utc"])]
    rows += [(f"{role} SHA-256", entry["sha256"]) for role, entry in card["inputs"].items()]
    rows += [(f"option {name}", "" if value is None else str(value)) for name, value in card["options"].items()]
    return "\n".join(["<h2 id='validation-card'>Validation card</h2>",
                      table_html(pd.DataFrame(rows, columns=["", "value"]))])


def render_external_report(result, title: str | None = None) -> str:
    """The external-validation report as one HTML document (text).

    Parameters
    ----------
    result : radiomix.model.external.ExternalValidationResult
    title : str, optional
        Page title; default names the outcome.
    """
    title = title or f"radiomix external validation: {result.cohort.outcome_name}"
    sections = [("summary", "Summary"), ("case-flow", "Case flow"), ("discrimination", "Discrimination"),
                ("calibration", "Calibration"), ("decision-curve", "Decision curve"), ("notes", "Notes"),
                ("validation-card", "Validation card")]
    nav = "".join(f"<li><a href='#{anchor}'>{label}</a></li>" for anchor, label in sections)
    body = [f"<h1>{esc(title)}</h1>", f"<nav><ul>{nav}</ul></nav>", _summary_section(result),
            _case_flow_section(result), _discrimination_section(result), _calibration_section(result),
            _decision_section(result), _notes_section(result), _card_section(result)]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n<link rel='icon' href='data:,'>\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )
