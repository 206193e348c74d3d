"""The evaluation report: one self-contained, escaped HTML file (figures embedded as PNG)."""

from radiomix.report.html import render_report

__all__ = ["render_report"]
