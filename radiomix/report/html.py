"""The evaluation report: one self-contained HTML file a clinician can read.

The first screen says what the data are (e.g. synthetic), the headline result
with its interval and whether it is distinguishable from chance, and every
guard that fired. Sections: warnings, cohort summary, performance (metrics
with 95 % intervals, pairwise comparisons of models that differ, one ROC panel
per model, calibration, decision curve), per-site behaviour (nested CV and
leave-one-site-out), registration quality, explanation (SHAP beeswarm,
contribution per modality, per-patient waterfalls), selected features with
their codebook entries, extraction failures, the TRIPOD+AI checklist and the
model card.

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
    decision_curve_figure,
    figure_to_png,
    img_tag,
    roc_figure,
)
from radiomix.report.registration import read_registration_qa, registration_section

CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

METRIC_LABELS = {
    "auroc": "AUROC", "balanced_accuracy": "Balanced accuracy", "sensitivity": "Sensitivity",
    "specificity": "Specificity", "brier": "Brier score", "calibration_slope": "Calibration slope",
    "calibration_intercept": "Calibration-in-the-large",
}
#: Clinical columns with at most this many distinct integer values are summarised as counts per level.
MAX_ORDINAL_LEVELS = 7

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #222; line-height: 1.45; overflow-wrap: break-word; }
.scroll { overflow-x: auto; max-width: 100%; }
.banner { border-left: 6px solid #b7950b; background: #fcf3cf; padding: 0.6em 1em; margin: 0.8em 0; }
.summary { border: 1px solid #1f4e99; background: #f4f7fc; padding: 0.6em 1em; margin: 0.8em 0; }
.warning { border-left: 6px solid #b03a2e; background: #fdedec; padding: 0.6em 1em; margin: 0.8em 0; }
.chance { color: #b03a2e; font-weight: bold; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #1f4e99; padding-bottom: 0.2em;
     margin-top: 2em; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #eef2f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img.figure { max-width: 100%; height: auto; display: block; margin: 0.8em 0; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.figures img.figure { max-width: min(520px, 100%); } nav ul { columns: 2; } code { font-size: 0.9em; }
dl.card dt { font-weight: bold; margin-top: 0.5em; } dl.card dd { margin-left: 1.5em; }
"""


def esc(value) -> str:
    """Text of any value, HTML-escaped (quotes included)."""
    return html.escape(str(value), quote=True)


def signed(value: float, digits: int = 3) -> str:
    """A difference with its sign (``+0.075``, ``-0.010``); empty for NaN."""
    return "" if value is None or np.isnan(value) else f"{value:+.{digits}f}"


def fmt(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; empty for NaN/None; other values as text."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def breakable(text) -> str:
    """Escaped text with a line-break opportunity after each underscore (long feature names wrap there)."""
    return esc(text).replace("_", "_<wbr>")


def table_html(frame: pd.DataFrame, numeric_digits: int = 3, caption: str | None = None) -> str:
    """A DataFrame as an HTML table; every header and cell escaped, numbers right-aligned."""
    head = "".join(f"<th>{breakable(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            text = fmt(value, numeric_digits) if numeric else ("" if value is None else str(value))
            cells.append(f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{breakable(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f"<div class='scroll'><table>{caption_html}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


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


def clinical_summary(values: pd.Series) -> str:
    """Count (%) = 1 of an indicator; counts per level of an ordinal (few integer levels); else mean (SD)."""
    observed = values.dropna()
    if not len(observed):
        return ""
    levels = np.sort(observed.unique())
    if set(levels) <= {0.0, 1.0}:
        return f"{int(observed.sum())} ({100 * observed.mean():.0f} %) = 1"
    if len(levels) <= MAX_ORDINAL_LEVELS and np.all(levels == np.round(levels)):
        counts = observed.value_counts().reindex(levels)
        return "; ".join(f"{level:g}: {count} ({100 * count / len(observed):.0f} %)"
                         for level, count in counts.items())
    return f"{observed.mean():.1f} (SD {observed.std():.1f})"


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
    clinical_rows = [{"clinical variable": column, "summary": clinical_summary(table[column]),
                      "missing": int(table[column].isna().sum())} for column in layout.clinical]
    parts = [
        "<h2 id='cohort'>Cohort</h2>",
        f"<p>{esc(len(table))} patients with outcome <code>{esc(cohort.outcome_name)}</code>"
        + (f"; {esc(len(cohort.excluded))} excluded (listed below)" if len(cohort.excluded) else "") + ".</p>",
        table_html(classes, 1, "Outcome"),
        table_html(modalities, 0, "Imaging modalities"),
    ]
    if clinical_rows:
        parts.append(table_html(pd.DataFrame(clinical_rows), 1,
                                "Clinical variables: count (%) of indicators; count (%) per level of ordinal "
                                "variables (few integer levels); mean (SD) of continuous ones"))
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


def _auroc(metrics: pd.DataFrame, name: str) -> tuple[float, float, float]:
    row = metrics[(metrics["model"] == name) & (metrics["metric"] == "auroc")].iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


def _chance_models(result) -> set:
    return {name for name in result.cross_validation if result.chance_level(name)}


#: Short labels of the guards, for the first screen's one line per guard.
CHECK_LABELS = {
    "few_events_per_candidate_feature": "Fewer events than candidate features (feature selection largely noise)",
    "auroc_not_distinguishable_from_chance": "AUROC not distinguishable from chance",
    "predicts_one_class": "One predicted class for every patient in some repeat",
    "constant_predictions": "The same probability for every patient",
    "identical_predictions": "Identical out-of-fold predictions (not compared)",
    "site_not_held_out": "Sites not held out",
}


def warning_lines(warnings: pd.DataFrame) -> list[str]:
    """One line per guard: its message when it fired once, else its label and the models concerned."""
    lines = []
    for check, rows in warnings.groupby("check", sort=False):
        if len(rows) == 1:
            lines.append(str(rows["message"].iloc[0]))
        else:
            label = CHECK_LABELS.get(check, check)
            lines.append(f"{label}: {', '.join(map(str, rows['model']))}.")
    return lines


def _summary_section(result) -> str:
    """The first screen: what the data are, the headline result, and how far to trust it."""
    parts = []
    if result.settings.data_description:
        parts.append(f"<div class='banner'><strong>About the data:</strong> "
                     f"{esc(result.settings.data_description)}</div>")
    names = list(result.cross_validation)
    counts = np.bincount(result.cohort.outcome, minlength=result.cohort.n_classes)
    value, low, high = _auroc(result.metrics, MULTIMODAL)
    chance = result.chance_level(MULTIMODAL)
    class_counts = ", ".join(f"{c}: {n}" for c, n in zip(result.cohort.classes, counts))
    lines = [f"{esc(len(result.cohort.table))} patients ({esc(class_counts)}); "
             f"nested cross-validation, {esc(result.settings.n_outer_splits)}-fold outer x "
             f"{esc(result.settings.n_repeats)} repeats.",
             f"Multimodal model: AUROC <strong>{fmt(value)}</strong> (95 % CI {fmt(low)}-{fmt(high)})"
             + (" &mdash; <span class='chance'>not distinguishable from chance</span>" if chance else "") + "."]
    comparisons = result.comparisons
    singles = [n for n in names if n != MULTIMODAL]
    if comparisons is not None and len(comparisons) and singles:
        best = max(singles, key=lambda n: _auroc(result.metrics, n)[0])
        pair = comparisons[(comparisons["model_a"] == MULTIMODAL) & (comparisons["model_b"] == best)]
        best_value, best_low, best_high = _auroc(result.metrics, best)
        line = (f"Best single source: {esc(best)}, AUROC {fmt(best_value)} (95 % CI {fmt(best_low)}-"
                f"{fmt(best_high)})")
        if len(pair) and pair.iloc[0]["status"] == "compared":
            row = pair.iloc[0]
            line += (f"; multimodal minus {esc(best)} on repeat-averaged predictions (AUROC "
                     f"{fmt(row['auroc_a'])} vs {fmt(row['auroc_b'])}): {signed(row['auroc_difference'])} "
                     f"(95 % CI {fmt(row['ci_low'])} to {fmt(row['ci_high'])}; DeLong p {fmt(row['delong_p'], 4)})")
        elif len(pair):
            line += "; identical predictions to the multimodal model"
        lines.append(line + ".")
        differences = _differences_from_multimodal(comparisons, singles)
        if differences:
            lines.append(differences)
    others = [n for n in names if n != MULTIMODAL and result.chance_level(n)]
    if others:
        lines.append(f"Not distinguishable from chance: <span class='chance'>{esc(', '.join(others))}</span>.")
    parts.append("<div class='summary'><strong>Summary</strong><ul>"
                 + "".join(f"<li>{line}</li>" for line in lines) + "</ul></div>")
    warnings = result.warnings
    if warnings is not None and len(warnings):
        items = "".join(f"<li>{esc(m)}</li>" for m in warning_lines(warnings))
        parts.append(f"<div class='warning'><strong>{esc(len(warnings))} warning(s)</strong> (details in "
                     f"<code>warnings.csv</code> and <a href='#warnings'>Warnings</a>)<ul>{items}</ul></div>")
    return "\n".join(parts)


def _differences_from_multimodal(comparisons: pd.DataFrame, singles: list[str]) -> str:
    """One line: multimodal minus each single source's AUROC (repeat-averaged predictions), with its 95 % CI."""
    rows = comparisons[(comparisons["model_a"] == MULTIMODAL) & (comparisons["status"] == "compared")
                       & comparisons["model_b"].isin(singles)]
    if rows.empty:
        return ""
    items = [f"{esc(row.model_b)} {signed(row.auroc_difference)} ({fmt(row.ci_low)} to {fmt(row.ci_high)})"
             for row in rows.itertuples(index=False)]
    return ("Multimodal AUROC minus each single source's (repeat-averaged predictions, 95 % CI): "
            + "; ".join(items) + ".")


EVENT_COUNT_METRICS = ("smallest_class_outer_test_fold", "events_smallest_outer_training_fold", "n_candidate_features")
"""The sample-size metrics that count patients or features (shown as whole numbers)."""


def _warnings_section(result) -> str:
    parts = ["<h2 id='warnings'>Warnings and sample size</h2>"]
    warnings = result.warnings
    if warnings is None or not len(warnings):
        parts.append("<p>No guard fired: sample size within the documented minimums, every AUROC interval "
                     "excludes 0.5, no degenerate or identical predictions.</p>")
    else:
        parts.append(table_html(warnings, 3, "Guards that fired (warnings.csv)"))
    size = result.metrics[result.metrics["metric"].isin([*EVENT_COUNT_METRICS, "events_per_candidate_feature"])]
    if len(size):
        wide = size.pivot(index="model", columns="metric", values="value").reindex(list(result.cross_validation))
        for count in wide.columns.intersection(EVENT_COUNT_METRICS):  # whole numbers shown as such, not 15.00
            wide[count] = [None if np.isnan(value) else int(value) for value in wide[count]]
        parts.append(table_html(wide.reset_index(), 2,
                                "Events (smaller outcome class) per fold and per candidate feature"))
    parts.append("<p class='note'>Documented minimums (radiomix.model.guards): at least 4 patients in each "
                 "outcome class to run; 5 of the smaller class per outer test fold (the outer and inner K are "
                 "reduced towards it); 1 event per candidate feature in the smallest outer training fold. "
                 "An AUROC whose 95 % interval contains 0.5 is labelled not distinguishable from chance.</p>")
    return "\n".join(parts)


def _performance_section(result) -> str:
    settings = result.settings
    metrics = result.metrics
    names = list(result.cross_validation)
    metric_names = [m for m in METRIC_LABELS if m in set(metrics["metric"])]
    chance = _chance_models(result)
    table = _metric_cells(metrics, names, metric_names)
    table.insert(1, "skill", ["not distinguishable from chance" if n in chance else "AUROC above chance"
                              for n in names])
    requested = result.requested_settings or settings
    reduced = (requested.n_outer_splits, requested.n_inner_splits) != (settings.n_outer_splits,
                                                                       settings.n_inner_splits)
    parts = [
        "<h2 id='performance'>Performance</h2>",
        ("<p class='note'>Nested cross-validation: "
         f"{esc(settings.n_outer_splits)}-fold stratified outer loop repeated {esc(settings.n_repeats)} times; "
         f"in each outer training fold a {esc(settings.n_inner_splits)}-fold inner loop chose the XGBoost "
         "hyper-parameters and the decision threshold (Youden). Harmonization, feature selection and the model "
         "were fitted on training folds only. Values are means over repeats; brackets: 95 % bootstrap "
         f"intervals ({esc(settings.n_bootstrap)} resamples of patients). Calibration-in-the-large is the "
         "intercept of the recalibration with the slope fixed at 1 (0 is ideal); the calibration slope is "
         "ideally 1.</p>"),
        ("<p class='warning'>The cohort is too small for the requested "
         f"{esc(requested.n_outer_splits)}x{esc(requested.n_inner_splits)} folds: the run used "
         f"{esc(settings.n_outer_splits)} outer and {esc(settings.n_inner_splits)} inner folds.</p>"
         if reduced else ""),
        table_html(table, 3, "Out-of-fold performance"),
    ]
    comparisons = result.comparisons
    if comparisons is not None and len(comparisons):
        shown = comparisons[comparisons["status"] == "compared"]
        hidden = comparisons[comparisons["status"] != "compared"]
        if len(shown):
            rows = pd.DataFrame({
                "comparison": [f"{a} vs {b}" for a, b in zip(shown["model_a"], shown["model_b"])],
                "AUROC a": shown["auroc_a"].to_numpy(), "AUROC b": shown["auroc_b"].to_numpy(),
                "difference [95 % CI]": [f"{fmt(d)} [{fmt(lo)}, {fmt(hi)}]" for d, lo, hi in
                                         zip(shown["auroc_difference"], shown["ci_low"], shown["ci_high"])],
                "DeLong p": [fmt(v, 4) for v in shown["delong_p"]]})
            parts.append(table_html(rows, 3, "Pairwise comparisons of models that differ (comparisons.csv; "
                                             "DeLong on repeat-averaged out-of-fold probabilities)"))
        if len(hidden):
            pairs = ", ".join(f"{a} and {b}" for a, b in zip(hidden["model_a"], hidden["model_b"]))
            parts.append(f"<p class='note'>Not compared (identical out-of-fold predictions): {esc(pairs)}.</p>")
    intervals = {name: _auroc(metrics, name) for name in names}
    slopes = {}
    for name in names:
        rows = metrics[metrics["model"] == name].set_index("metric")["value"]
        slopes[name] = ((rows["calibration_slope"], rows["calibration_intercept"])
                        if "calibration_slope" in rows.index else None)
    y = result.cohort.outcome
    parts.append(_figure(roc_figure(y, result.cross_validation, result.resamples, intervals, chance),
                         "ROC curve of each model, one panel per model, with 95 % bootstrap bands"))
    parts.append("<div class='figures'>")
    parts.append(_figure(calibration_figure(y, result.cross_validation, slopes),
                         "Calibration plot of every model"))
    if result.decision_curve is not None:
        parts.append(_figure(decision_curve_figure(result.decision_curve, chance),
                             "Decision curve: net benefit of each model, treat all and treat none"))
    parts.append("</div>")
    if result.decision_curve is not None:
        parts.append("<p class='note'>Decision curve (decision_curve.csv): net benefit = true positives/n - "
                     "false positives/n x t/(1 - t) when patients with predicted probability at least t are "
                     "treated; a model is useful at thresholds where it lies above both treat-all and "
                     "treat-none.</p>")
    return "\n".join(parts)


def _sites_section(result, registration: pd.DataFrame | None) -> str:
    table = result.site_performance
    if table is None:
        return ""
    parts = ["<h2 id='sites'>Per-site behaviour</h2>",
             ("<p class='note'>Nested CV: the multimodal model's out-of-fold predictions, split by site. "
              "Leave-one-site-out (internal-external validation, TRIPOD+AI 12d/23b): the model fitted on the "
              "other sites predicts each site in turn; the held-out site is not harmonized (ComBat cannot "
              "place a site it was not fitted on), as for a new hospital. Intervals: 95 % bootstrap within "
              "the site.</p>")]
    for scheme, label in (("nested_cv", "Nested cross-validation, per site"),
                          ("leave_one_site_out", "Leave-one-site-out, per held-out site")):
        rows = table[table["scheme"] == scheme].drop(columns="scheme")
        parts.append(table_html(rows, 3, label + " (site_performance.csv)"))
    if registration is not None and result.cohort.layout.batch_column:
        sites = result.cohort.table[result.cohort.layout.batch_column].astype(str)
        known = registration.assign(site=registration["patient_id"].astype(str).map(sites))
        if known["site"].notna().any():
            summary = (known.groupby(["site", "modality"], dropna=True)
                       .agg(cases=("patient_id", "size"), median_dice=("dice", "median"),
                            median_centroid_distance_mm=("centroid_distance_mm", "median"),
                            not_ok=("status", lambda v: int((v.astype(str).str.lower() != "ok").sum())))
                       .reset_index())
            parts.append(table_html(summary, 3, "Registration quality per site and modality"))
    return "\n".join(parts)


def _tripod_section(result) -> str:
    if result.tripod is None:
        return ""
    filled = int((result.tripod["status"] == "filled").sum())
    return "\n".join([
        "<h2 id='tripod'>TRIPOD+AI checklist</h2>",
        (f"<p class='note'>{filled} of {len(result.tripod)} items filled from what this run knows "
         "(tripod_ai.csv); the others are to be completed by the authors. Reference: Collins et al., "
         "TRIPOD+AI statement, BMJ 2024;385:e078378.</p>"),
        table_html(result.tripod, 3),
    ])


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
        ("<p class='warning'><strong>These plots explain a model without demonstrated skill.</strong> Its "
         "cross-validated AUROC is not distinguishable from chance, so the features and contributions below "
         "describe how this particular fit uses its inputs, not a relation between them and the outcome.</p>"
         if result.chance_level(MULTIMODAL) else ""),
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


def render_report(result, failures: pd.DataFrame | None = None, title: str | None = None,
                  registration_qa=None) -> str:
    """The report of an evaluation as one HTML document (text).

    Parameters
    ----------
    result : radiomix.model.evaluation.EvaluationResult
    failures : DataFrame, optional
        Failures table (``patient_id, modality, stage, error_type, message``);
        listed in its own section.
    title : str, optional
        Page title; default names the outcome.
    registration_qa : path or DataFrame, optional
        ``registration_qa.csv`` (see :mod:`radiomix.report.registration`); its
        overlay paths are relative to the CSV's folder.

    Returns
    -------
    str
    """
    title = title or f"radiomix evaluation: {result.cohort.outcome_name}"
    registration, registration_folder = read_registration_qa(registration_qa)
    sections = [("warnings", "Warnings and sample size"), ("cohort", "Cohort"), ("performance", "Performance")]
    if result.site_performance is not None:
        sections.append(("sites", "Per-site behaviour"))
    if registration is not None:
        sections.append(("registration", "Registration quality"))
    sections += [("explanation", "Explanation"), ("features", "Selected features"),
                 ("failures", "Extraction failures")]
    if result.tripod is not None:
        sections.append(("tripod", "TRIPOD+AI checklist"))
    sections.append(("model-card", "Model card"))
    nav = "".join(f"<li><a href='#{anchor}'>{label}</a></li>" for anchor, label in sections)
    body = [
        f"<h1>{esc(title)}</h1>",
        (f"<p class='note'>Created {esc(result.model_card.get('created_utc', ''))} by radiomix "
         f"{esc(result.model_card.get('versions', {}).get('radiomix', ''))}.</p>"),
        _summary_section(result),
        f"<nav><ul>{nav}</ul></nav>",
        _warnings_section(result),
        _cohort_section(result),
        _performance_section(result),
        _sites_section(result, registration),
        registration_section(registration, registration_folder) if registration is not None else "",
        _explanation_section(result),
        _features_section(result),
        _failures_section(failures),
        _tripod_section(result),
        _model_card_section(result.model_card),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n<link rel='icon' href='data:,'>\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part) + "\n</body>\n</html>\n"
    )
