"""The cohort's result files, from the per-case stage records (called by the Luigi tasks)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pandas as pd

from radiomix.cohort.hashes import ContentHashes
from radiomix.cohort.manifest import read_manifest
from radiomix.cohort.merge import FAILURE_COLUMNS, codebook, intensity_unit, to_wide
from radiomix.cohort.provenance import git_commit, provenance
from radiomix.cohort.records import StageRecord
from radiomix.model.guards import covers_chance
from radiomix.spec import load_spec


def _read_long(path: str | Path) -> pd.DataFrame:
    """A long table as written by :func:`write_long` (empty text stays empty, not NaN)."""
    return pd.read_csv(path, keep_default_na=False, na_values={"value": [""]}, dtype={"patient_id": str})


def write_long(records: list[StageRecord], path: Path) -> None:
    """Concatenate the feature tables of the successful cases into ``path``."""
    tables = [_read_long(record.artifacts["features"]) for record in records if record.ok]
    columns = ["patient_id", "modality", "feature", "family", "name", "ibsi_code", "aggregation",
               "image_type", "value", "unit", "status"]
    long = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    long.to_csv(path, index=False)


def failures_table(records: list[StageRecord]) -> pd.DataFrame:
    """One row per failed case: ``patient_id, modality, stage, error_type, message``."""
    return pd.DataFrame([record.failure_row() for record in records if not record.ok], columns=FAILURE_COLUMNS)


def wide_table(long_path: str | Path) -> pd.DataFrame:
    """The wide table of a long CSV (see :func:`radiomix.cohort.merge.to_wide`)."""
    return to_wide(_read_long(long_path))


def codebook_table(long_path: str | Path, specs: dict[str, Path] | None = None) -> pd.DataFrame:
    """The codebook of a long CSV (see :func:`radiomix.cohort.merge.codebook`).

    Parameters
    ----------
    specs : dict of str to Path, optional
        Modality -> spec file; each modality's intensity unit is that of its
        spec (:func:`radiomix.cohort.merge.intensity_unit`). Missing files and
        modalities keep the default units.
    """
    units = {modality: intensity_unit(load_spec(path)) for modality, path in (specs or {}).items()
             if Path(path).exists()}
    return codebook(_read_long(long_path), units)


def provenance_json(manifest: str | Path, clinical: str | Path | None, specs: dict[str, Path],
                    records: list[StageRecord], *, hashes: ContentHashes, settings: dict,
                    settings_files: dict[str, Path]) -> str:
    """``provenance.json``: what is needed to reproduce a cohort run.

    Content hashes (SHA-256) of the manifest, the clinical table and every case's
    image and mask, each modality's spec hash, the settings and the files that
    results carry along (``specs/<modality>.yaml``, ``settings/*.yaml``, with their
    hashes), the command line and working folder, radiomix's and its
    dependencies' versions, and the git commit of a checkout.
    """
    from radiomix.cohort.console import COMMAND_ENVIRONMENT

    table = read_manifest(manifest)
    status = {(r.patient_id, r.modality): ("ok" if r.ok else f"failed at {r.stage}") for r in records}
    cases, inputs = [], {str(manifest): hashes.digest(manifest)}
    if clinical is not None:
        inputs[str(clinical)] = hashes.digest(clinical)
    for row in table.itertuples(index=False):
        image, mask = hashes.digest(row.image), hashes.digest(row.mask)
        inputs.update({row.image: image, row.mask: mask})
        cases.append({"patient_id": row.patient_id, "modality": row.modality, "image": row.image,
                      "image_sha256": image, "mask": row.mask, "mask_sha256": mask,
                      "status": status.get((row.patient_id, row.modality), "not run")})
    spec_hashes = {modality: load_spec(path).content_hash() for modality, path in specs.items() if path.exists()}
    copied = {name: {"source": str(path), "sha256": hashes.digest(path)} for name, path in settings_files.items()}
    record = provenance(spec_hashes, inputs, spec_files={m: str(p) for m, p in specs.items()},
                        copied_files=copied, settings=settings, cases=cases,
                        command_line=os.environ.get(COMMAND_ENVIRONMENT) or shlex.join(sys.argv),
                        working_directory=os.getcwd(), git=git_commit(),
                        n_cases=len(records), n_failed=sum(not r.ok for r in records))
    return json.dumps(record, indent=1, sort_keys=True)


def evaluate(wide: str | Path, clinical: str | Path, outcome: str, out_dir: Path, *, failures: str | Path,
             codebook: str | Path, batch_column: str | None, settings: str | None, manifest: str | Path,
             reference_modality: str, harmonizer: str | Path | None = None,
             registration_qa: str | Path | None = None) -> None:
    """Nested-CV evaluation, SHAP and report into ``out_dir`` (see :func:`evaluate_cohort`).

    When ``batch_column`` is ``site`` and the clinical table has no such column,
    each patient's site is taken from the manifest (the reference modality's
    row, else the patient's first row) and added to a copy of the clinical
    table kept in ``out_dir``. With a ``harmonizer`` fitted elsewhere
    (distributed ComBat, :mod:`radiomix.harmonize.distributed`), the wide table
    is harmonized first (sites from the manifest when the clinical table has no
    batch column) and kept in ``out_dir`` as ``features_wide_harmonized.csv``.
    ``registration_qa`` (the cohort's ``registration_qa.csv``, its overlays
    beside it) adds the registration section to the report.
    If the evaluation fails, ``out_dir`` is removed again when this call created
    it (no half-written folder is left behind).
    """
    from radiomix.model.evaluation import evaluate_cohort

    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        table = pd.read_csv(clinical, dtype={"patient_id": str})
        if batch_column == "site" and "site" not in table.columns:
            sites = patient_sites(manifest, reference_modality)
            table = table.assign(site=table["patient_id"].map(sites))
            clinical = out_dir / "clinical_with_site.csv"
            table.to_csv(clinical, index=False)
        if harmonizer:
            from radiomix.harmonize.distributed import harmonize_wide_table

            harmonized = harmonize_wide_table(wide, table, harmonizer, patient_sites(manifest, reference_modality))
            wide = out_dir / "features_wide_harmonized.csv"
            harmonized.to_csv(wide, index=False)
        evaluate_cohort(wide, clinical, outcome, out_dir, batch_column=batch_column, codebook_csv=codebook,
                        failures_csv=failures, settings=settings, registration_qa_csv=registration_qa)
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def patient_sites(manifest: str | Path, reference_modality: str) -> pd.Series:
    """Each patient's site: the reference modality's row, else the patient's first row."""
    table = read_manifest(manifest)
    table = table.assign(order=(table["modality"] != reference_modality).astype(int)).sort_values(
        ["patient_id", "order"], kind="stable")
    return table.drop_duplicates("patient_id").set_index("patient_id")["site"]


def assemble_results(tables: list[Path], evaluation: Path | None, destination: Path,
                     files: dict[str, Path] | None = None) -> None:
    """Copy the cohort tables, the evaluation folder's files and ``files`` into ``destination``.

    ``provenance-<key>.json`` is copied as ``provenance.json``; ``files`` maps a
    relative name in ``destination`` (``specs/ct.yaml``) to the file to copy.
    """
    destination.mkdir(parents=True)
    for path in tables:
        name = "provenance.json" if path.name.startswith("provenance") else path.name
        if path.is_dir():
            shutil.copytree(path, destination / name)
        else:
            shutil.copyfile(path, destination / name)
    for path in sorted(evaluation.iterdir()) if evaluation is not None else []:
        if path.is_file():
            shutil.copyfile(path, destination / path.name)
    for name, path in (files or {}).items():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination / name)


def summary_line(results: Path) -> str:
    """``radiomix: 38 of 40 patients, 118 of 120 cases extracted, 2 failed; AUROC ...; results in ...``."""
    long = _read_long(results / "features_long.csv")
    failures = pd.read_csv(results / "failures.csv", dtype=str)
    n_cases = long[["patient_id", "modality"]].drop_duplicates().shape[0]
    text = (f"radiomix: {long['patient_id'].nunique()} patients, {n_cases} cases extracted, "
            f"{len(failures)} failed")
    metrics_path = results / "metrics.csv"
    if metrics_path.exists():
        metrics = pd.read_csv(metrics_path)
        auroc = metrics[(metrics["model"] == "multimodal") & (metrics["metric"] == "auroc")]
        if not auroc.empty:
            row = auroc.iloc[0]
            text += f"; multimodal AUROC {row['value']:.3f} (95% CI {row['ci_low']:.3f}-{row['ci_high']:.3f})"
            if covers_chance(row["ci_low"], row["ci_high"]):
                text += " (not distinguishable from chance)"
    warnings_path = results / "warnings.csv"
    if warnings_path.exists():
        text += f"; {len(pd.read_csv(warnings_path))} warning(s) in warnings.csv"
    return f"{text}; results in {results}/" + (" (report.html)" if metrics_path.exists() else "")
