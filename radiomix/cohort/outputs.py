"""The cohort's result files, from the per-case stage records (called by the Luigi tasks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from radiomix.cohort.manifest import read_manifest
from radiomix.cohort.merge import FAILURE_COLUMNS, codebook, to_wide
from radiomix.cohort.provenance import file_hash, provenance
from radiomix.cohort.records import StageRecord
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


def codebook_table(long_path: str | Path) -> pd.DataFrame:
    """The codebook of a long CSV (see :func:`radiomix.cohort.merge.codebook`)."""
    return codebook(_read_long(long_path))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file or folder (see :func:`radiomix.cohort.provenance.file_hash`)."""
    return file_hash(path)


def provenance_json(manifest: str | Path, clinical: str | Path, specs: dict[str, Path],
                    records: list[StageRecord]) -> str:
    """``provenance.json``: versions, each modality's spec hash, hashes of every input file."""
    inputs = {str(manifest): file_hash(manifest), str(clinical): file_hash(clinical)}
    for record in records:
        for name in ("image", "mask"):
            source = record.details.get(f"source_{name}")
            if source and Path(source).exists() and source not in inputs:
                inputs[source] = file_hash(source)
    spec_hashes = {modality: load_spec(path).content_hash() for modality, path in specs.items() if path.exists()}
    record = provenance(spec_hashes, inputs, spec_files={m: str(p) for m, p in specs.items()},
                        n_cases=len(records), n_failed=sum(not r.ok for r in records))
    return json.dumps(record, indent=1, sort_keys=True)


def evaluate(wide: str | Path, clinical: str | Path, outcome: str, out_dir: Path, *, failures: str | Path,
             codebook: str | Path, batch_column: str | None, settings: str | None, manifest: str | Path,
             reference_modality: str) -> None:
    """Nested-CV evaluation, SHAP and report into ``out_dir`` (see :func:`evaluate_cohort`).

    When ``batch_column`` is ``site`` and the clinical table has no such column,
    each patient's site is taken from the manifest (the reference modality's
    row, else the patient's first row) and added to a copy of the clinical
    table kept in ``out_dir``.
    """
    from radiomix.model.evaluation import evaluate_cohort

    out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(clinical, dtype={"patient_id": str})
    if batch_column == "site" and "site" not in table.columns:
        sites = patient_sites(manifest, reference_modality)
        table = table.assign(site=table["patient_id"].map(sites))
        clinical = out_dir / "clinical_with_site.csv"
        table.to_csv(clinical, index=False)
    evaluate_cohort(wide, clinical, outcome, out_dir, batch_column=batch_column, codebook_csv=codebook,
                    failures_csv=failures, settings=settings)


def patient_sites(manifest: str | Path, reference_modality: str) -> pd.Series:
    """Each patient's site: the reference modality's row, else the patient's first row."""
    table = read_manifest(manifest)
    table = table.assign(order=(table["modality"] != reference_modality).astype(int)).sort_values(
        ["patient_id", "order"], kind="stable")
    return table.drop_duplicates("patient_id").set_index("patient_id")["site"]


def assemble_results(tables: list[Path], evaluation: Path, destination: Path) -> None:
    """Copy the cohort tables and every file of the evaluation folder into ``destination``."""
    destination.mkdir(parents=True)
    for path in tables:
        if path.is_dir():
            shutil.copytree(path, destination / path.name)
        else:
            shutil.copyfile(path, destination / path.name)
    for path in sorted(evaluation.iterdir()):
        if path.is_file():
            shutil.copyfile(path, destination / path.name)


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
    return f"{text}; results in {results}/ (report.html)"
