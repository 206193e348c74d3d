"""Checks of a clinical table and its outcome column before a cohort run (no extraction needed).

A misspelled outcome or a clinical table without the manifest's patients would
otherwise be found only after every image has been extracted.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from radiomix.errors import InputError


def clinical_problems(clinical: str | Path, outcome: str, patients: list[str] | None = None,
                      batch_column: str | None = None) -> list[str]:
    """Every problem of a clinical table for a run predicting ``outcome``.

    Parameters
    ----------
    clinical : str or Path
        Clinical table CSV (``patient_id``, covariates, outcome).
    outcome : str
        The outcome column.
    patients : list of str, optional
        The manifest's patient IDs: at least one must have a clinical row.
    batch_column : str, optional
        ComBat's batch column; ``site`` may come from the manifest instead.

    Returns
    -------
    list of str
        Empty when the table is ready; each problem names the file and says what to fix.
    """
    from radiomix.model.data import read_table

    try:
        table = read_table(clinical, "clinical table")
    except InputError as exc:
        return [str(exc)]
    problems = []
    columns = [str(c) for c in table.columns]
    if outcome not in columns:
        close = difflib.get_close_matches(outcome, columns, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f" (columns: {', '.join(columns)})"
        problems.append(f"{clinical}: outcome column {outcome!r} is not in the clinical table{hint}")
    else:
        values = table[outcome].dropna()
        if values.nunique() < 2:
            problems.append(f"{clinical}: outcome {outcome!r} has {values.nunique()} distinct value(s) "
                            f"({len(values)} patients with a value); a model needs two or more classes")
    if batch_column and batch_column != "site" and batch_column not in columns:
        close = difflib.get_close_matches(batch_column, columns, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(f"{clinical}: batch column {batch_column!r} is not in the clinical table{hint}")
    if patients is not None and not set(patients) & set(table["patient_id"]):
        problems.append(f"{clinical}: none of the manifest's {len(set(patients))} patients has a row "
                        f"(manifest e.g. {sorted(set(patients))[:3]}, clinical e.g. "
                        f"{sorted(table['patient_id'])[:3]})")
    return problems


def validate_inputs(manifest: str | Path, clinical: str | Path | None = None, outcome: str | None = None,
                    batch_column: str | None = None, *, deep: bool = False) -> list[str]:
    """Every problem of a manifest and, when given, of its clinical table and outcome (``radiomix validate``).

    Each problem starts with the file it concerns. ``deep`` reads every voxel of every image and mask,
    as the run's validate stage does (see :func:`radiomix.cohort.manifest.validate_manifest`).
    """
    from radiomix.cohort.manifest import ManifestError, read_manifest, validate_manifest

    problems = [f"{manifest}: {problem}" for problem in validate_manifest(manifest, deep=deep)]
    if clinical is None:
        return problems + ([f"--outcome {outcome!r} given without --clinical"] if outcome else [])
    if not outcome:
        return problems + [f"{clinical}: give --outcome, the outcome column to check"]
    try:
        patients = list(read_manifest(manifest)["patient_id"])
    except ManifestError:
        patients = None
    return problems + clinical_problems(clinical, outcome, patients, batch_column)
