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


def roc_figure(y: np.ndarray, results: dict, resamples: np.ndarray, auroc_intervals: dict) -> Figure:
    """ROC curve of each model (mean over repeats) with its 95 % bootstrap band.

    Parameters
    ----------
    y : ndarray of int
        Class indices.
    results : dict of str to NestedCVResult
    resamples : ndarray
        Bootstrap patient resamples.
    auroc_intervals : dict of str to (value, low, high)
        Shown in the legend.
    """
    figure = Figure(figsize=(6.0, 5.6))
    axes = figure.subplots()
    multiclass = False
    for color, (name, result) in zip(_colors(len(results)), results.items()):
        multiclass = result.probabilities.shape[2] > 2
        tpr, low, high = roc_band(y, result.probabilities, resamples, FPR_GRID)
        value, ci_low, ci_high = auroc_intervals[name]
        axes.fill_between(FPR_GRID, low, high, color=color, alpha=0.15, linewidth=0)
        axes.plot(FPR_GRID, tpr, color=color, linewidth=2 if name == "multimodal" else 1.3,
                  label=f"{name}: AUROC {value:.3f} [{ci_low:.3f}, {ci_high:.3f}]")
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1)
    axes.set_xlabel("1 - specificity (false-positive rate)")
    axes.set_ylabel("sensitivity (true-positive rate)")
    title = "ROC curves, nested cross-validation (bands: 95 % bootstrap)"
    axes.set_title(title + ("\nmicro-averaged one-vs-rest" if multiclass else ""), fontsize=10)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_aspect("equal")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure


def calibration_figure(y: np.ndarray, results: dict, slopes: dict, n_bins: int = 10) -> Figure:
    """Observed event rate against predicted probability (quantile bins) for each model.

    Parameters
    ----------
    slopes : dict of str to (slope, intercept) or None
        Calibration slope and intercept shown in the legend (binary outcomes).
    """
    figure = Figure(figsize=(6.0, 5.6))
    axes = figure.subplots()
    for color, (name, result) in zip(_colors(len(results)), results.items()):
        predicted, observed = calibration_curve_points(y, result.probabilities, n_bins=n_bins)
        label = name
        if slopes.get(name) is not None:
            label += f": slope {slopes[name][0]:.2f}, intercept {slopes[name][1]:.2f}"
        axes.plot(predicted, observed, marker="o", markersize=4, color=color, linewidth=1.3, label=label)
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="perfect calibration")
    axes.set_xlabel("predicted probability (bin mean)")
    axes.set_ylabel("observed frequency")
    axes.set_title("Calibration of out-of-fold predictions (quantile bins, repeats pooled)", fontsize=10)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_aspect("equal")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure


def _colors(n: int) -> list[str]:
    return [MODEL_COLORS[i % len(MODEL_COLORS)] for i in range(n)]
