"""The report's registration section, from a cohort run's ``registration_qa.csv``.

The table has one row per registered case: ``patient_id, modality,
reference_modality, alignment, status, dice, centroid_distance_mm,
final_metric, metric_improvement, fov_overlap, iterations, note, overlay``,
where ``overlay`` is a PNG path relative to the CSV's folder, and, from runs
whose search records them, ``start_spread_mm`` and ``perturbation_gain`` (the
search's checks, ``docs/registration.md``; shown when present). The report lists
the cases worst first (a status other than ``ok`` first, then the lowest Dice,
then the largest centroid distance) and embeds the overlays of the worst
:data:`MAX_OVERLAYS` cases (as ``data:`` URIs: the report stays one file).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from radiomix.errors import InputError

REGISTRATION_COLUMNS = ["patient_id", "modality", "reference_modality", "alignment", "status", "dice",
                        "centroid_distance_mm", "final_metric", "metric_improvement", "fov_overlap",
                        "iterations", "note", "overlay"]
SEARCH_COLUMNS = ["start_spread_mm", "perturbation_gain"]
"""Columns of the rigid search's checks; tables of earlier runs lack them."""
NUMERIC_COLUMNS = ["dice", "centroid_distance_mm", "final_metric", "metric_improvement", "fov_overlap",
                   "iterations", *SEARCH_COLUMNS]
#: Overlays embedded in the report (the worst cases).
MAX_OVERLAYS = 12
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_registration_qa(source) -> tuple[pd.DataFrame | None, Path | None]:
    """The registration table, checked and sorted worst first, and the folder its overlays are relative to.

    Parameters
    ----------
    source : path, DataFrame or None

    Raises
    ------
    InputError
        Unreadable file, or missing columns (named).
    """
    if source is None:
        return None, None
    folder = None
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    else:
        path = Path(source)
        folder = path.parent
        try:
            table = pd.read_csv(path, dtype={"patient_id": str}, keep_default_na=False, na_values={
                c: [""] for c in NUMERIC_COLUMNS})
        except FileNotFoundError:
            raise InputError("registration QA table not found", path=path) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"registration QA table is not a readable CSV ({exc})", path=path) from None
    absent = [c for c in REGISTRATION_COLUMNS if c not in table.columns]
    if absent:
        raise InputError(f"the registration QA table lacks column(s) {absent} (expected {REGISTRATION_COLUMNS})",
                         path=None if folder is None else source)
    for column in NUMERIC_COLUMNS:
        if column in table.columns:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    shown = REGISTRATION_COLUMNS[:-2] + [c for c in SEARCH_COLUMNS if c in table.columns] + REGISTRATION_COLUMNS[-2:]
    return sort_worst_first(table[shown]), folder


def sort_worst_first(table: pd.DataFrame) -> pd.DataFrame:
    """Status other than ``ok`` first, then lowest Dice (missing first), then largest centroid distance."""
    key = pd.DataFrame({
        "ok": (table["status"].astype(str).str.strip().str.lower() == "ok").astype(int),
        "dice": table["dice"].fillna(-np.inf),
        "distance": -table["centroid_distance_mm"].fillna(np.inf),
    })
    order = key.sort_values(["ok", "dice", "distance"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _overlay_tag(folder: Path | None, relative: str, alt: str) -> str:
    """An embedded overlay PNG, or a sentence saying why it is not shown."""
    if not relative:
        return "<p class='note'>No overlay recorded.</p>"
    if folder is None:
        return f"<p class='note'>Overlay {html.escape(relative)} not shown (no results folder given).</p>"
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return f"<p class='note'>Overlay {html.escape(relative)} not found in the results folder.</p>"
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        return f"<p class='note'>Overlay {html.escape(relative)} is not a PNG image.</p>"
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<img class="figure" alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{encoded}">')


def registration_section(table: pd.DataFrame, folder: Path | None) -> str:
    """The ``Registration quality`` section: the table worst first and the worst cases' overlays."""
    from radiomix.report.html import table_html  # the report's table helper (imports this module)

    not_ok = int((table["status"].astype(str).str.strip().str.lower() != "ok").sum())
    parts = ["<h2 id='registration'>Registration quality</h2>",
             (f"<p>{len(table)} registered case(s); {not_ok} with a status other than ok. Worst first: status, "
              "then lowest Dice of the propagated lesion mask, then largest centroid distance.</p>"),
             table_html(table, 3, "Registration quality (registration_qa.csv)")]
    shown = table.head(MAX_OVERLAYS)
    if len(shown):
        parts.append(f"<h3>Overlays of the {len(shown)} worst case(s)</h3><div class='figures'>")
        for row in shown.itertuples(index=False):
            label = f"{row.patient_id} {row.modality} on {row.reference_modality} ({row.status})"
            parts.append(f"<div><p class='note'>{html.escape(label)}</p>"
                         f"{_overlay_tag(folder, str(row.overlay), 'Registration overlay of ' + label)}</div>")
        parts.append("</div>")
    return "\n".join(parts)
