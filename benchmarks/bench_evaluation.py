"""Wall time of the cohort evaluation (``radiomix evaluate``) on 100 patients x 1,000 features, per stage.

The input is generated (seeded): CT, MR and PET features in a third each, built as
radiomics features are, in families of correlated features (each family one patient
trait seen through monotone transforms and noise), some discrete and near-constant
columns, PET absent for a few patients, three sites that shift and scale every
feature (ComBat runs in every fold), and clinical age, sex and stage. A hidden
aggressiveness drives the outcome; a few families per modality and the stage
measure it with error.

The evaluation is :func:`radiomix.model.evaluation.evaluate_cohort` (what the
cohort pipeline's ``Evaluate`` task calls) with its default settings (5 x 3 nested
cross-validation, 1,000 bootstrap resamples, SHAP, report). Stage times come from
timers around the functions it calls, and the CPU time of all its processes (joblib
workers included) beside the wall time, since the machine may be shared; ``--profile``
adds a cProfile breakdown inside them (ComBat, selection steps, XGBoost fits; slower,
and blind to work done in worker processes: use it with ``--n-jobs 1``). Each run appends one row per
stage to ``evaluation.csv`` in ``--out`` (with the label, commit, cores and load
average) and rewrites ``evaluation.md`` from all rows, so runs of two versions of
radiomix (e.g. ``PYTHONPATH`` pointing at each) sit side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import io
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SITES = ("site_A", "site_B", "site_C")
MODALITIES = ("CT", "MR", "PET")
#: Functions called by ``evaluate_cohort`` (names in radiomix.model.evaluation) -> stage shown.
STAGES = {
    "load_cohort": "load cohort",
    "nested_cross_validate": "nested CV (5 models x 15 outer folds)",
    "cross_validate_models": "nested CV (5 models x 15 outer folds)",
    "bootstrap_rows": "bootstrap resamples",
    "metrics_table": "bootstrap CIs (metrics.csv)",
    "comparisons_table": "DeLong comparisons",
    "decision_curve_table": "decision curve",
    "leave_one_site_out": "leave-one-site-out",
    "per_site_table": "per-site table (bootstrap)",
    "explain_model": "SHAP (final model)",
    "save_model": "save model",
    "render_report": "report (HTML, plots)",
}
#: cProfile functions (file suffix, function name) -> sub-stage shown with ``--profile``.
PROFILED = {
    ("harmonize/combat.py", "fit"): "ComBat fit",
    ("harmonize/combat.py", "transform"): "ComBat transform",
    ("model/selection.py", "fit"): "selection fits (NZV, correlation, FDR/mRMR)",
    ("xgboost/sklearn.py", "fit"): "XGBoost fit",
    ("xgboost/sklearn.py", "predict_proba"): "XGBoost predict_proba",
    ("model/search.py", "_fit"): "inner search (TunedClassifier._fit)",
    ("sklearn/base.py", "clone"): "sklearn clone",
    ("model/metrics.py", "metrics_with_intervals"): "bootstrap metric intervals",
    ("model/metrics.py", "delong_test"): "DeLong test",
    ("explain/values.py", "explain_model"): "SHAP values",
}


def make_inputs(folder: Path, n_patients: int = 100, n_features: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    """Write ``features_wide.csv`` and ``clinical.csv`` of a synthetic cohort into ``folder``.

    Returns
    -------
    features_csv, clinical_csv : Path
    """
    rng = np.random.default_rng(seed)
    aggressiveness = rng.normal(size=n_patients)
    outcome = (rng.uniform(size=n_patients) < 1 / (1 + np.exp(-1.6 * aggressiveness))).astype(int)
    sites = rng.choice(SITES, size=n_patients, p=[0.45, 0.35, 0.2])
    ids = [f"B{i:03d}" for i in range(n_patients)]
    columns = {"patient_id": ids}
    for modality, positions in zip(MODALITIES, np.array_split(np.arange(n_features), len(MODALITIES))):
        values = _modality_features(rng, aggressiveness, positions.size)
        shift = {s: rng.normal(0, 0.8, positions.size) for s in SITES}
        scale = {s: rng.uniform(0.75, 1.3, positions.size) for s in SITES}
        values = values * np.vstack([scale[s] for s in sites]) + np.vstack([shift[s] for s in sites])
        for j, column in enumerate(values.T):
            columns[f"{modality}__original_f{positions[j]:04d}"] = column
    wide = pd.DataFrame(columns)
    no_pet = rng.choice(n_patients, size=max(1, n_patients // 12), replace=False)
    wide.loc[no_pet, [c for c in wide.columns if c.startswith("PET__")]] = np.nan
    stage = np.clip(np.round(2.5 + 0.8 * aggressiveness + rng.normal(0, 0.9, n_patients)), 1, 4).astype(int)
    clinical = pd.DataFrame({"patient_id": ids, "age": np.round(rng.normal(64, 9, n_patients), 1),
                             "sex": rng.choice(["F", "M"], size=n_patients), "stage": stage,
                             "site": sites, "outcome": outcome})
    features_csv, clinical_csv = folder / "features_wide.csv", folder / "clinical.csv"
    wide.to_csv(features_csv, index=False)
    clinical.to_csv(clinical_csv, index=False)
    return features_csv, clinical_csv


def _modality_features(rng: np.random.Generator, aggressiveness: np.ndarray, n_columns: int) -> np.ndarray:
    """Columns in families of 4-16 correlated features; 3 families carry the aggressiveness."""
    n = aggressiveness.size
    blocks, made, family = [], 0, 0
    while made < n_columns:
        size = min(int(rng.integers(4, 17)), n_columns - made)
        trait = (0.8 * aggressiveness + rng.normal(0, 0.6, n)) if family < 3 else rng.normal(size=n)
        spread = rng.uniform(0.1, 1.0, size)
        block = trait[:, None] + rng.normal(size=(n, size)) * spread
        kind = rng.integers(0, 4, size)
        block[:, kind == 1] = np.exp(0.5 * block[:, kind == 1])
        block[:, kind == 2] = np.round(block[:, kind == 2] * 2) / 2
        blocks.append(block)
        made += size
        family += 1
    values = np.hstack(blocks)
    near_constant = rng.choice(n_columns, size=max(1, n_columns // 40), replace=False)
    values[:, near_constant] = (rng.uniform(size=(n, near_constant.size)) < 0.03).astype(float)
    return values


@contextlib.contextmanager
def stage_timers(module, totals: dict):
    """Wrap the functions of :data:`STAGES` in ``module`` with wall-clock timers (seconds into ``totals``)."""
    originals = {name: getattr(module, name) for name in STAGES if hasattr(module, name)}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - start
        return wrapper

    for name, function in originals.items():
        setattr(module, name, timed(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def profiled_rows(profile: cProfile.Profile) -> list[tuple[str, float, int]]:
    """Cumulative seconds and calls of the functions of :data:`PROFILED` (recursion counted once)."""
    stats = pstats.Stats(profile, stream=io.StringIO()).stats
    totals, calls = defaultdict(float), defaultdict(int)
    for (filename, _, function), (primitive, _, _, cumulative, _) in stats.items():
        for (suffix, name), label in PROFILED.items():
            if function == name and filename.replace(os.sep, "/").endswith(suffix):
                totals[label] += cumulative
                calls[label] += primitive
    return [(label, totals[label], calls[label]) for label in PROFILED.values() if label in totals]


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its live and finished children (e.g. joblib workers).

    Live children are read from ``/proc`` (Linux); elsewhere only finished children count.
    """
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    total = sum(u.ru_utime + u.ru_stime for u in usage)
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in _descendants(os.getpid()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _commit() -> str:
    import radiomix

    root = Path(radiomix.__file__).resolve().parents[1]
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or str(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--label", default="", help="name of this run in the table (default: the commit)")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="add a cProfile breakdown (slower)")
    parser.add_argument("--n-jobs", type=int, help="evaluation setting n_jobs (default: the settings' default)")
    parser.add_argument("--keep", type=Path, help="keep the evaluation output in this folder")
    args = parser.parse_args()
    from radiomix.io.atomic import write_csv_atomic, write_text_atomic
    from radiomix.model import evaluation

    label = args.label or _commit()
    load_before = os.getloadavg()
    totals = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="bench-evaluation-") as scratch:
        scratch = Path(scratch)
        features_csv, clinical_csv = make_inputs(scratch, args.patients, args.features)
        out_dir = args.keep or scratch / "out"
        profile = cProfile.Profile() if args.profile else None
        start, cpu_start = time.perf_counter(), cpu_seconds()
        with stage_timers(evaluation, totals):
            if profile:
                profile.enable()
            evaluation.evaluate_cohort(features_csv, clinical_csv, "outcome", out_dir, batch_column="site",
                                       settings=None if args.n_jobs is None else {"n_jobs": args.n_jobs})
            if profile:
                profile.disable()
        total = time.perf_counter() - start
        cpu = cpu_seconds() - cpu_start
    load_after = os.getloadavg()
    rows = [(STAGES[name], totals[name]) for name in STAGES if name in totals]
    rows.append(("other (final model fit, tables, files)", total - sum(totals.values())))
    rows.append(("total", total))
    rows.append(("CPU time, all processes", cpu))
    record = {"label": label, "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
              "patients": args.patients, "features": args.features, "cores": os.cpu_count(),
              "load_1min_before": round(load_before[0], 2), "load_1min_after": round(load_after[0], 2),
              "profiled": bool(args.profile), "n_jobs": "default" if args.n_jobs is None else args.n_jobs}
    table = pd.DataFrame([{**record, "stage": stage, "seconds": round(seconds, 2)} for stage, seconds in rows])
    if profile:
        table = pd.concat([table, pd.DataFrame([{**record, "stage": f"  in: {name} ({calls} calls)",
                                                 "seconds": round(seconds, 2)}
                                                for name, seconds, calls in profiled_rows(profile)])],
                          ignore_index=True)
    csv_path = args.out / "evaluation.csv"
    if csv_path.exists():
        table = pd.concat([pd.read_csv(csv_path), table], ignore_index=True)
    write_csv_atomic(table, csv_path)
    runs = table.drop_duplicates(["label", "date_utc"])
    header = "; ".join(f"{r.label}: {r.date_utc}, n_jobs {getattr(r, 'n_jobs', 'default')}, {r.cores} cores, "
                       f"1-min load average {r.load_1min_before} before, {r.load_1min_after} after"
                       + (" (profiled)" if r.profiled else "") for r in runs.itertuples())
    wide = table.assign(run=table["label"] + " " + table["date_utc"]).pivot_table(
        index="stage", columns="run", values="seconds", sort=False)
    markdown = (f"Evaluation of {args.patients} patients x {args.features} features (seconds). Runs: {header}\n\n"
                + wide.to_markdown(floatfmt=".1f") + "\n")
    write_text_atomic(markdown, args.out / "evaluation.md")
    print(markdown, flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
