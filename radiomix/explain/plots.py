"""Figures of a SHAP explanation: beeswarm, contribution per modality, per-patient waterfall.

Each function returns a :class:`matplotlib.figure.Figure`; the caller saves and
closes it (:func:`radiomix.report.figures.figure_to_png`). The beeswarm and
waterfall are drawn by :mod:`shap`'s own plots, which draw on pyplot's current
figure: they are created with :func:`matplotlib.pyplot.figure` and must be
closed (``figure_to_png`` does).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import shap
from matplotlib.figure import Figure

from radiomix.explain.values import ShapExplanation

#: Features shown by the beeswarm and waterfall plots (the rest are summed into one row).
MAX_DISPLAY = 12


def _explanation(explanation: ShapExplanation, margin: int, rows=slice(None)) -> shap.Explanation:
    """One margin of the explanation as a :class:`shap.Explanation` (all patients, or one row position)."""
    values = explanation.values[rows, :, margin]
    base = float(explanation.expected_value[margin])
    return shap.Explanation(values=values,
                            base_values=base if values.ndim == 1 else np.full(values.shape[0], base),
                            data=explanation.data.to_numpy(dtype=float)[rows],
                            feature_names=explanation.features)


def beeswarm_figure(explanation: ShapExplanation, margin: int = 0, max_display: int = MAX_DISPLAY) -> Figure:
    """SHAP beeswarm of one margin (the positive class, or one class of several)."""
    figure = plt.figure(figsize=(8.0, 5.5))
    shap.plots.beeswarm(_explanation(explanation, margin), max_display=max_display, show=False,
                        plot_size=None)
    figure.axes[0].set_title(f"SHAP values ({explanation.margin_name(margin)})")
    figure.tight_layout()
    return figure


def waterfall_figure(explanation: ShapExplanation, patient: int, margin: int = 0,
                     max_display: int = MAX_DISPLAY) -> Figure:
    """SHAP waterfall of one patient (row position) and margin."""
    figure = plt.figure()
    shap.plots.waterfall(_explanation(explanation, margin, rows=patient), max_display=max_display, show=False)
    figure.suptitle(f"Patient {explanation.data.index[patient]} "
                    f"({explanation.margin_name(margin)})", fontsize=10)
    return figure


def modality_bar_figure(per_modality, colors=None) -> Figure:
    """Horizontal bars: each modality's (and clinical's) sum of mean |SHAP| and share."""
    figure = Figure(figsize=(6.5, 0.6 * len(per_modality) + 1.5))
    axes = figure.subplots()
    names = [str(n) for n in per_modality["modality"]]
    totals = per_modality["sum_mean_abs_shap"].to_numpy(dtype=float)
    positions = np.arange(len(names))[::-1]
    axes.barh(positions, totals, color=colors or "#3b75af")
    for position, total, share in zip(positions, totals, per_modality["share"]):
        axes.text(total, position, f"  {100 * share:.0f} %", va="center", fontsize=9)
    axes.set_yticks(positions, names)
    axes.set_xlabel("sum over features of mean |SHAP| (log-odds)")
    axes.set_title("Contribution per modality")
    axes.set_xlim(0, max(totals.max() * 1.25, 1e-9))
    figure.tight_layout()
    return figure
