"""The cohort's registration QA: one row per aligned case (``registration_qa.csv``) and its overlay figures.

Columns (:data:`radiomix.registration.QA_COLUMNS`): ``patient_id, modality,
reference_modality, alignment, status, dice, centroid_distance_mm,
final_metric, metric_improvement, fov_overlap, iterations, start_spread_mm,
perturbation_gain, note, overlay`` (the search checks: ``docs/registration.md``).
``alignment`` is ``same frame of reference``, ``registered``, ``reference`` or
``identity (no frame of reference)``; ``status`` is ``ok``, ``note`` or
``failed`` (see :mod:`radiomix.registration.alignment`); ``overlay`` is the
path of the case's check figure relative to the results folder, or empty.
Rows are sorted worst first (failed, then note, then ok; lower Dice first).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from radiomix.cohort.records import StageRecord
from radiomix.registration import QA_COLUMNS, AlignmentQuality, qa_row

OVERLAY_FOLDER = "registration_overlays"
"""Folder of the overlay figures, inside the results folder."""

_STATUS_ORDER = {"failed": 0, "note": 1, "ok": 2}


def overlay_name(patient_id: str, modality: str) -> str:
    """File name of a case's overlay figure in :data:`OVERLAY_FOLDER`."""
    return f"{patient_id}_{modality}.png"


def registration_qa_table(records: list[StageRecord], stage_files: list[dict[str, Path]]) -> pd.DataFrame:
    """The QA table of a cohort's ``register`` stage records.

    Parameters
    ----------
    records : list of StageRecord
        The ``register`` record of each case (a failure passed on from
        ``validate`` gives no row: the case never reached alignment).
    stage_files : list of dict
        For each record, the paths of the ``quality.json`` (written by the
        stage before a misalignment is raised, read for failed records) and the
        ``check.png`` the stage writes.

    Returns
    -------
    pandas.DataFrame
        :data:`QA_COLUMNS`, worst first.
    """
    rows = []
    for record, files in zip(records, stage_files):
        quality_file = files.get("quality.json")
        if record.ok:
            quality = AlignmentQuality(**record.details["alignment"])
            reference = record.details["reference_modality"]
        elif record.stage == "register":
            reference = ""
            if quality_file is not None and Path(quality_file).exists():
                quality = AlignmentQuality(**json.loads(Path(quality_file).read_text(encoding="utf-8")))
            else:
                quality = AlignmentQuality(alignment="", status="failed", note=record.message)
        else:
            continue
        check = files.get("check.png")
        overlay = (f"{OVERLAY_FOLDER}/{overlay_name(record.patient_id, record.modality)}"
                   if check is not None and Path(check).exists() else "")
        rows.append(qa_row(record.patient_id, record.modality, reference, quality, overlay))
    table = pd.DataFrame(rows, columns=list(QA_COLUMNS))
    if table.empty:
        return table
    order = table["status"].map(_STATUS_ORDER).fillna(0)
    table = table.assign(_order=order, _dice=table["dice"].astype(float).fillna(2.0))
    return table.sort_values(["_order", "_dice", "patient_id", "modality"]).drop(columns=["_order", "_dice"])


def copy_overlays(records: list[StageRecord], stage_files: list[dict[str, Path]], destination: Path) -> int:
    """Copy each case's check figure (where the stage drew one) to ``destination/<patient>_<modality>.png``.

    Returns the number of figures copied.
    """
    destination.mkdir(parents=True, exist_ok=True)
    copied = 0
    for record, files in zip(records, stage_files):
        check = files.get("check.png")
        if check is not None and Path(check).exists():
            shutil.copyfile(check, destination / overlay_name(record.patient_id, record.modality))
            copied += 1
    return copied
