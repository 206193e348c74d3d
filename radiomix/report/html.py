"""The evaluation report: one self-contained HTML file a clinician can read.

Sections: cohort summary, performance (metrics with 95 % intervals, DeLong
comparisons, ROC curves with bands, calibration), explanation (SHAP beeswarm,
contribution per modality, per-patient waterfalls), selected features with
their codebook entries, extraction failures, and the model card.

Everything that comes from the inputs (patient IDs, column and class names,
file paths, error messages) is HTML-escaped; figures are embedded as base64
PNG; a Content-Security-Policy forbids scripts and any external resource.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from radiomix.explain.plots import (
    beeswarm_figure,
    modality_bar_figure,
    waterfall_figure,
)
from radiomix.model.data import MULTIMODAL
from radiomix.report.figures import (
    calibration_figure,
    figure_to_png,
    img_tag,
    roc_figure,
)

CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

METRIC_LABELS = {
    "auroc": "AUROC", "balanced_accuracy": "Balanced accuracy", "sensitivity": "Sensitivity",
    "specificity": "Specificity", "brier": "Brier score", "calibration_slope": "Calibration slope",
    "calibration_intercept": "Calibration intercept",
}

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #1f4e99; padding-bottom: 0.2em;
     margin-top: 2em; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef2f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.figure { max-width: 100%; height: auto; display: block; margin: 0.8em 0; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.figures img.figure { max-width: 520px; } nav ul { columns: 2; } code { font-size: 0.9em; }
dl.card dt { font-weight: bold; margin-top: 0.5em; } dl.card dd { margin-left: 1.5em; }
"""


def esc(value) -> str:
    """Text of any value, HTML-escaped (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; empty for NaN/None; other values as text."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def table_html(frame: pd.DataFrame, numeric_digits: int = 3, caption: str | None = None) -> str:
    """A DataFrame as an HTML table; every header and cell escaped, numbers right-aligned."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            text = fmt(value, numeric_digits) if numeric else ("" if value is None else str(value))
            cells.append(f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _mapping_html(mapping, depth: int = 0) -> str:
    """Nested mappings and lists as nested definition lists (escaped)."""
    if isinstance(mapping, Mapping):
        items = "".join(f"<dt>{esc(k)}</dt><dd>{_mapping_html(v, depth + 1)}</dd>" for k, v in mapping.items())
        return f'<dl class="card">{items}</dl>' if items else "<em>none</em>"
    if isinstance(mapping, (list, tuple)):
        return esc(", ".join(str(v) for v in mapping)) if mapping else "<em>none</em>"
    if mapping is None:
        return "<em>none</em>"
    return f"<code>{esc(mapping)}</code>" if depth > 1 else esc(mapping)


def _figure(figure, alt: str) -> str:
    return img_tag(figure_to_png(figure), alt)


def _cohort_section(result) -> str:
    cohort = result.cohort
    layout = cohort.layout
    table = cohort.table
    counts = np.bincount(cohort.outcome, minlength=cohort.n_classes)
    classes = pd.DataFrame({"outcome": list(cohort.classes), "patients": counts,
                            "percent": 100.0 * counts / counts.sum()})
    modalities = pd.DataFrame({
        "modality": list(layout.modalities),
        "features": [len(c) for c in layout.modalities.values()],
        "patients with modality": [int(table[list(c)].notna().any(axis=1).sum()) for c in layout.modalities.values()],
    })
    clinical_rows = []
    for column in layout.clinical:
        values = table[column]
        observed = values.dropna()
        binary = set(observed.unique()) <= {0.0, 1.0}
        summary = (f"{int(observed.sum())} ({100 * observed.mean():.0f} %)" if binary and len(observed)
                   else f"{observed.mean():.1f} (SD {observed.std():.1f})" if len(observed) else "")
        clinical_rows.append({"clinical variable": column,
                              "summary": summary + (" = 1" if binary and len(observed) else ""),
                              "missing": int(values.isna().sum())})
    parts = [
        "<h2 id='cohort'>Cohort</h2>",
        f"<p>{esc(len(table))} patients with outcome <code>{esc(cohort.outcome_name)}</code>"
        + (f"; {esc(len(cohort.excluded))} excluded (listed below)" if len(cohort.excluded) else "") + ".</p>",
        table_html(classes, 1, "Outcome"),
        table_html(modalities, 0, "Imaging modalities"),
    ]
    if clinical_rows:
        parts.append(table_html(pd.DataFrame(clinical_rows), 1,
                                "Clinical variables (mean (SD), or count (%) of indicators)"))
    if layout.batch_column:
        levels = table[layout.batch_column].value_counts().sort_index()
        parts.append(table_html(pd.DataFrame({layout.batch_column: levels.index.astype(str),
                                              "patients": levels.to_numpy()}), 0,
                                "Batches harmonized by ComBat (fitted within each fold)"))
    if len(cohort.excluded):
        parts.append(table_html(cohort.excluded, 0, "Excluded patients"))
    return "\n".join(parts)


def _metric_cells(metrics: pd.DataFrame, names: Sequence[str], metric_names: Iterable[str]) -> pd.DataFrame:
    rows = []
    for name in names:
        row = {"model": name}
        for metric in metric_names:
            match = metrics[(metrics["model"] == name) & (metrics["metric"] == metric)]
            if len(match):
                value, low, high = match.iloc[0][["value", "ci_low", "ci_high"]]
                row[METRIC_LABELS.get(metric, metric)] = f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"
        rows.append(row)
    return pd.DataFrame(rows)


def _performance_section(result) -> str:
    settings = result.settings
    metrics = result.metrics
    names = list(result.cross_validation)
    metric_names = [m for m in METRIC_LABELS if m in set(metrics["metric"])]
    parts = [
        "<h2 id='performance'>Performance</h2>",
        ("<p class='note'>Nested cross-validation: "
         f"{esc(settings.n_outer_splits)}-fold stratified outer loop repeated {esc(settings.n_repeats)} times; "
         f"in each outer training fold a {esc(settings.n_inner_splits)}-fold inner loop chose the XGBoost "
         "hyper-parameters and the decision threshold (Youden). Harmonization, feature selection and the model "
         "were fitted on training folds only. Values are means over repeats; brackets: 95 % bootstrap "
         f"intervals ({esc(settings.n_bootstrap)} resamples of patients).</p>"),
        table_html(_metric_cells(metrics, names, metric_names), 3, "Out-of-fold performance"),
    ]
    delong = []
    for name in names[1:]:
        diff = metrics[(metrics["model"] == MULTIMODAL) & (metrics["metric"] == f"auroc_difference_vs_{name}")]
        p_value = metrics[(metrics["model"] == MULTIMODAL) & (metrics["metric"] == f"delong_p_vs_{name}")]
        if len(diff) and len(p_value):
            d = diff.iloc[0]
            delong.append({"comparison": f"{MULTIMODAL} vs {name}",
                           "AUROC difference [95 % CI]": f"{fmt(d['value'])} [{fmt(d['ci_low'])}, {fmt(d['ci_high'])}]",
                           "DeLong p": fmt(p_value.iloc[0]["value"], 4)})
    if delong:
        parts.append(table_html(pd.DataFrame(delong), 4,
                                "DeLong test of the multimodal AUROC against each other model "
                                "(repeat-averaged out-of-fold probabilities)"))
    intervals = {name: tuple(metrics[(metrics["model"] == name) & (metrics["metric"] == "auroc")]
                             .iloc[0][["value", "ci_low", "ci_high"]]) for name in names}
    slopes = {}
    for name in names:
        rows = metrics[metrics["model"] == name].set_index("metric")["value"]
        slopes[name] = ((rows["calibration_slope"], rows["calibration_intercept"])
                        if "calibration_slope" in rows.index else None)
    y = result.cohort.outcome
    parts.append("<div class='figures'>")
    parts.append(_figure(roc_figure(y, result.cross_validation, result.resamples, intervals),
                         "ROC curves of every model with 95 % bootstrap bands"))
    parts.append(_figure(calibration_figure(y, result.cross_validation, slopes),
                         "Calibration plot of every model"))
    parts.append("</div>")
    return "\n".join(parts)


def waterfall_patients(explanation, n: int) -> list[int]:
    """Row positions of ``n`` patients spread over the range of predictions (lowest to highest)."""
    if n <= 0 or not len(explanation.data):
        return []
    score = explanation.margin.max(axis=1)
    order = np.argsort(score, kind="stable")
    positions = np.unique(np.round(np.linspace(0, len(order) - 1, min(n, len(order)))).astype(int))
    return [int(order[p]) for p in positions[::-1]]


def _explanation_section(result) -> str:
    explanation = result.explanation
    per_modality = explanation.per_modality()
    parts = [
        "<h2 id='explanation'>Explanation of the final model</h2>",
        ("<p class='note'>The multimodal model refitted on all patients, explained by SHAP (TreeExplainer) in "
         "the model's margin (log-odds; one softmax margin per class for several classes): for every "
         "patient, the expected value plus the SHAP values of its features equals the "
         "model's output. A modality's contribution is the sum over its features of the mean |SHAP|.</p>"),
    ]
    for k in range(len(explanation.margin_labels)):
        parts.append(_figure(beeswarm_figure(explanation, margin=k),
                             f"SHAP beeswarm plot, {explanation.margin_name(k)}"))
    parts.append("<div class='figures'>")
    parts.append(_figure(modality_bar_figure(per_modality), "Contribution of each modality (sum of mean |SHAP|)"))
    parts.append(table_html(per_modality, 3, "Contribution per modality"))
    parts.append("</div>")
    chosen = waterfall_patients(explanation, result.settings.n_shap_waterfalls)
    if chosen:
        parts.append("<h3>Individual patients</h3>")
        parts.append("<p class='note'>Patients chosen across the range of predicted risk, highest first.</p>")
    for row in chosen:
        margin = int(np.argmax(explanation.margin[row])) if explanation.margin.shape[1] > 1 else 0
        patient = explanation.data.index[row]
        parts.append(f"<p>Patient <strong>{esc(patient)}</strong> "
                     f"({esc(explanation.margin_name(margin))}: "
                     f"{esc(fmt(float(explanation.margin[row, margin])))})</p>")
        parts.append(_figure(waterfall_figure(explanation, row, margin=margin),
                             f"SHAP waterfall plot of patient {patient}"))
    return "\n".join(parts)


def _features_section(result) -> str:
    selected = result.selected_features
    return "\n".join([
        "<h2 id='features'>Selected features</h2>",
        ("<p class='note'>Inputs of the final model, with the fraction of outer folds whose selection kept them "
         "and their codebook entry (IBSI name, code, aggregation, image type, unit, definition).</p>"),
        table_html(selected, 3),
    ])


def _failures_section(failures: pd.DataFrame | None) -> str:
    parts = ["<h2 id='failures'>Extraction failures</h2>"]
    if failures is None:
        parts.append("<p class='note'>No failures table was given.</p>")
    elif not len(failures):
        parts.append("<p>No failures were recorded.</p>")
    else:
        parts.append(f"<p>{esc(len(failures))} case(s) failed and are missing from the feature table:</p>")
        parts.append(table_html(failures, 0))
    return "\n".join(parts)


def _model_card_section(card: Mapping) -> str:
    return "\n".join(["<h2 id='model-card'>Model card</h2>", _mapping_html(card)])


def render_report(result, failures: pd.DataFrame | None = None, title: str | None = None) -> str:
    """The report of an evaluation as one HTML document (text).

    Parameters
    ----------
    result : radiomix.model.evaluation.EvaluationResult
    failures : DataFrame, optional
        Failures table (``patient_id, modality, stage, error_type, message``);
        listed in its own section.
    title : str, optional
        Page title; default names the outcome.

    Returns
    -------
    str
    """
    title = title or f"radiomix evaluation: {result.cohort.outcome_name}"
    sections = [("cohort", "Cohort"), ("performance", "Performance"), ("explanation", "Explanation"),
                ("features", "Selected features"), ("failures", "Extraction failures"),
                ("model-card", "Model card")]
    nav = "".join(f"<li><a href='#{anchor}'>{label}</a></li>" for anchor, label in sections)
    body = [
        f"<h1>{esc(title)}</h1>",
        (f"<p class='note'>Created {esc(result.model_card.get('created_utc', ''))} by radiomix "
         f"{esc(result.model_card.get('versions', {}).get('radiomix', ''))}.</p>"),
        f"<nav><ul>{nav}</ul></nav>",
        _cohort_section(result),
        _performance_section(result),
        _explanation_section(result),
        _features_section(result),
        _failures_section(failures),
        _model_card_section(result.model_card),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n<link rel='icon' href='data:,'>\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )
