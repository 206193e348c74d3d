"""Figures of the evaluation report (matplotlib), and their embedding as base64 PNG.

Every figure is drawn on its own :class:`~matplotlib.figure.Figure`, written as
PNG bytes and closed by :func:`figure_to_png`; the report embeds them as
``data:`` URIs so that it is one self-contained file.
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from radiomix.model.metrics import calibration_curve_points, roc_band

#: One colour per model, in order (multimodal first).
MODEL_COLORS = ("#1f4e99", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d", "#d35400")
#: False-positive rates at which ROC curves and bands are evaluated.
FPR_GRID = np.linspace(0.0, 1.0, 101)


def unit_square(axes, top: float = 1.0, diagonal_label: str | None = None) -> None:
    """Probability axes on [0, 1] x [0, ``top``], equal aspect, with the dotted diagonal (chance, calibration)."""
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label=diagonal_label)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, top)
    axes.set_aspect("equal")


def figure_to_png(figure: Figure, dpi: int = 96) -> bytes:
    """PNG bytes of a figure (no timestamp or software metadata); the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def img_tag(png: bytes, alt: str, css_class: str = "figure") -> str:
    """An ``<img>`` element embedding PNG bytes as a base64 data URI (``alt`` escaped)."""
    encoded = base64.b64encode(png).decode("ascii")
    return (f'<img class="{html.escape(css_class, quote=True)}" alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{encoded}">')


def roc_figure(y: np.ndarray, results: dict, resamples: np.ndarray, auroc_intervals: dict,
               chance: set | frozenset = frozenset()) -> Figure:
    """Small multiples: one ROC panel per model (mean over repeats) with its 95 % bootstrap band.

    The first model's curve (the multimodal one) is repeated, dashed, in every
    other panel for reference; the AUROC and its interval are in each panel's
    title, so no legend covers the data.

    Parameters
    ----------
    y : ndarray of int
        Class indices.
    results : dict of str to NestedCVResult
    resamples : ndarray
        Bootstrap patient resamples.
    auroc_intervals : dict of str to (value, low, high)
    chance : set of str
        Models whose AUROC is not distinguishable from chance (said in their title).
    """
    names = list(results)
    n_columns = min(3, len(names))
    n_rows = int(np.ceil(len(names) / n_columns))
    figure = Figure(figsize=(3.6 * n_columns, 4.1 * n_rows), layout="constrained")
    axes_grid = np.atleast_1d(figure.subplots(n_rows, n_columns, squeeze=False)).ravel()
    curves = {}
    multiclass = False
    for color, name in zip(_colors(len(names)), names):
        multiclass = results[name].probabilities.shape[2] > 2
        curves[name] = (color, *roc_band(y, results[name].probabilities, resamples, FPR_GRID))
    reference = names[0]
    for axes, name in zip(axes_grid, names):
        color, tpr, low, high = curves[name]
        axes.fill_between(FPR_GRID, low, high, color=color, alpha=0.2, linewidth=0)
        axes.plot(FPR_GRID, tpr, color=color, linewidth=2)
        if name != reference:
            axes.plot(FPR_GRID, curves[reference][1], color=curves[reference][0], linewidth=1, linestyle="--")
        value, ci_low, ci_high = auroc_intervals[name]
        title = f"{name}\nAUROC {value:.3f} [{ci_low:.3f}, {ci_high:.3f}]"
        if name in chance:
            title += "\nnot distinguishable from chance"
        axes.set_title(title, fontsize=9, color="#b03a2e" if name in chance else "#222222")
        unit_square(axes, top=1.01)
        axes.tick_params(labelsize=8)
        axes.set_xlabel("1 - specificity", fontsize=8)
        axes.set_ylabel("sensitivity", fontsize=8)
    for axes in axes_grid[len(names):]:
        axes.set_visible(False)
    subtitle = ("ROC curves, nested cross-validation; band: 95 % bootstrap; dashed: "
                f"{reference} for reference; dotted: chance")
    figure.suptitle(subtitle + ("\nmicro-averaged one-vs-rest" if multiclass else ""), fontsize=9)
    return figure


def calibration_figure(y: np.ndarray, results: dict, slopes: dict, n_bins: int = 10) -> Figure:
    """Observed event rate against predicted probability (quantile bins) for each model; legend outside.

    Parameters
    ----------
    slopes : dict of str to (slope, intercept) or None
        Calibration slope and calibration-in-the-large shown in the legend (binary outcomes).
    """
    figure = Figure(figsize=(6.4, 4.4))
    axes = figure.subplots()
    for color, (name, result) in zip(_colors(len(results)), results.items()):
        predicted, observed = calibration_curve_points(y, result.probabilities, n_bins=n_bins)
        label = name
        if slopes.get(name) is not None:
            label += f"\nslope {slopes[name][0]:.2f}, in the large {slopes[name][1]:.2f}"
        axes.plot(predicted, observed, marker="o", markersize=4, color=color, linewidth=1.3, label=label)
    unit_square(axes, diagonal_label="perfect calibration")
    axes.set_xlabel("predicted probability (bin mean)")
    axes.set_ylabel("observed frequency")
    axes.set_title("Calibration of out-of-fold predictions\n(quantile bins, repeats pooled)", fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def decision_curve_figure(curve, chance: set | frozenset = frozenset()) -> Figure:
    """Net benefit of each model against treat-all and treat-none; legend outside the axes.

    Parameters
    ----------
    curve : DataFrame
        ``model, threshold, net_benefit, treat_all, treat_none``
        (:func:`radiomix.model.evaluation.decision_curve_table`).
    chance : set of str
        Models whose AUROC is not distinguishable from chance (marked in the legend).
    """
    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.subplots()
    names = list(dict.fromkeys(curve["model"]))
    first = curve[curve["model"] == names[0]]
    axes.plot(first["threshold"], first["treat_all"], color="#555555", linewidth=1.2, label="treat all")
    axes.plot(first["threshold"], first["treat_none"], color="#000000", linewidth=1.2, linestyle="--",
              label="treat none")
    for color, name in zip(_colors(len(names)), names):
        rows = curve[curve["model"] == name]
        axes.plot(rows["threshold"], rows["net_benefit"], color=color, linewidth=2 if name == names[0] else 1.2,
                  label=name + (" (chance level)" if name in chance else ""))
    top = max(float(curve["net_benefit"].max()), float(first["treat_all"].max()), 0.05)
    axes.set_ylim(-0.1 * top - 0.02, 1.1 * top)
    axes.set_xlim(0, 1)
    axes.set_xlabel("threshold probability")
    axes.set_ylabel("net benefit")
    axes.set_title("Decision curve (repeat-averaged out-of-fold probabilities)", fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def _colors(n: int) -> list[str]:
    return [MODEL_COLORS[i % len(MODEL_COLORS)] for i in range(n)]
