"""The cohort task graph: failures recorded, idempotent reruns, spec changes, SIGKILL, central scheduler."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import luigi
import pandas as pd
import pytest
import SimpleITK as sitk

from pipelines.cohort import ExtractCohort, RunCohort
from radiomix.cohort.launch import luigi_command
from radiomix.synthetic import make_cohort

from conftest import REPO_ROOT

N_PATIENTS, SEED = 8, 9  # a balanced design: 4 patients in each outcome class, the minimum nested CV needs
LIGHT_EVALUATION = """\
n_outer_splits: 2
n_repeats: 1
n_inner_splits: 2
max_depth_grid: [2]
min_child_weight_grid: [1.0]
n_estimators: 20
n_bootstrap: 50
n_shap_waterfalls: 1
"""
RESULTS = ("features_long.csv", "features_wide.csv", "codebook.csv", "provenance.json", "failures.csv",
           "metrics.csv", "shap_per_modality.csv", "report.html")

started: list[str] = []


@luigi.Task.event_handler(luigi.Event.START)
def _record_any_start(task):
    started.append(task.get_task_family())


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A synthetic cohort, light evaluation settings and a copy of the modality specs."""
    root = tmp_path_factory.mktemp("cohort")
    manifest, clinical = make_cohort(root / "cohort", n_patients=N_PATIENTS, seed=SEED)
    evaluation = root / "evaluation.yaml"
    evaluation.write_text(LIGHT_EVALUATION)
    specs = root / "specs"
    specs.mkdir()
    for name in ("ct.yaml", "mr.yaml", "pet.yaml"):
        shutil.copy(REPO_ROOT / "feature_specs" / name, specs / name)
    return {"root": root, "manifest": manifest, "clinical": clinical, "evaluation": evaluation, "specs": specs}


def _task(cohort, workdir: Path) -> RunCohort:
    return RunCohort(manifest=str(cohort["manifest"]), clinical=str(cohort["clinical"]), outcome="outcome",
                     workdir=str(workdir), spec_dir=str(cohort["specs"]), evaluation=str(cohort["evaluation"]))


def _build(task) -> Counter:
    """Run ``task`` in this process; the families of the tasks that started."""
    started.clear()
    luigi.task_register.Register.clear_instance_cache()  # as a new run in a new process would
    result = luigi.build([task], local_scheduler=True, workers=1, detailed_summary=True, log_level="WARNING")
    assert result.scheduling_succeeded, result.summary_text
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
    return Counter(started)


def _case_files(workdir: Path, patient: str, modality: str) -> list[Path]:
    return sorted((workdir / "cases" / patient / modality).iterdir())


def test_failures_recorded_rest_completes_rerun_idle_spec_change_reruns_extraction_only(cohort):
    manifest = pd.read_csv(cohort["manifest"], dtype=str)
    patients = manifest["patient_id"].unique()
    corrupt = manifest[(manifest.patient_id == patients[1]) & (manifest.modality == "MR")]["image"].iloc[0]
    missing = manifest[(manifest.patient_id == patients[2]) & (manifest.modality == "PET")]["image"].iloc[0]
    Path(corrupt).write_bytes(b"\x00 this is not a NIfTI file " * 10)
    Path(missing).unlink()

    workdir = cohort["root"] / "work"
    extraction = _build(ExtractCohort(manifest=str(cohort["manifest"]), workdir=str(workdir),
                                      spec_dir=str(cohort["specs"])))
    assert extraction["ExtractCase"] == 3 * N_PATIENTS and extraction["Evaluate"] == 0
    published = sorted(p.name for p in (workdir / "results").iterdir() if p.is_file())
    assert published == sorted(RESULTS[:5] + ("registration_qa.csv",))
    extracted = (workdir / "results" / "features_wide.csv").read_bytes()

    first = _build(_task(cohort, workdir))  # the full run reuses the extraction-only run's tables
    assert first["ExtractCase"] == 0 and first["FeaturesLong"] == 0 and first["FeaturesWide"] == 0
    assert first["Evaluate"] == 1 and first["Provenance"] == 1 and first["PublishResults"] == 1
    assert (workdir / "results" / "features_wide.csv").read_bytes() == extracted

    results = workdir / "results"
    for name in RESULTS:
        assert (results / name).is_file(), name
    failures = pd.read_csv(results / "failures.csv", dtype=str)
    assert sorted(zip(failures.patient_id, failures.modality, failures.stage)) == [
        (patients[1], "MR", "validate"), (patients[2], "PET", "validate")]
    assert set(failures["error_type"]) == {"UnreadableFileError"}
    for row in failures.itertuples():
        assert row.patient_id in row.message and row.modality in row.message
    long = pd.read_csv(results / "features_long.csv", dtype={"patient_id": str})
    assert long[["patient_id", "modality"]].drop_duplicates().shape[0] == 3 * N_PATIENTS - 2
    wide = pd.read_csv(results / "features_wide.csv", dtype={"patient_id": str})
    assert wide.columns[0] == "patient_id" and len(wide) == N_PATIENTS
    assert all(c.split("__")[0] in {"CT", "MR", "PET"} for c in wide.columns[1:])
    metrics = pd.read_csv(results / "metrics.csv")
    assert {"multimodal", "clinical", "CT", "MR", "PET"} <= set(metrics["model"])
    report = (results / "report.html").read_text()
    assert all(patient in report for patient in failures.patient_id), "the report lists the failures"
    provenance = json.loads((results / "provenance.json").read_text())
    assert set(provenance["spec_hashes"]) == {"CT", "MR", "PET"}
    assert provenance["settings"]["outcome"] == "outcome"
    assert provenance["input_hashes"][str(cohort["clinical"])] == hashlib.sha256(
        cohort["clinical"].read_bytes()).hexdigest()
    assert (results / "specs" / "ct.yaml").read_bytes() == (cohort["specs"] / "ct.yaml").read_bytes()
    assert (results / "settings" / "evaluation.yaml").read_text() == LIGHT_EVALUATION

    assert _build(_task(cohort, workdir)) == Counter(), "a second run must start no task"

    # a changed spec reruns extraction and what follows, not registration
    before = (workdir / "results").resolve()
    ct_spec = cohort["specs"] / "ct.yaml"
    ct_spec.write_text(ct_spec.read_text().replace("bin_width: 25 ", "bin_width: 20 "))
    rerun = _build(_task(cohort, workdir))
    assert rerun["RegisterCase"] == 0 and rerun["ValidateCase"] == 0 and rerun["PreprocessCase"] == 0
    assert rerun["ExtractCase"] == N_PATIENTS  # the CT cases only
    assert rerun["Evaluate"] == 1 and rerun["PublishResults"] == 1
    assert (workdir / "results").resolve() != before


def _final_files_are_complete(workdir: Path) -> int:
    """Check every file at a final path; returns how many stage records were found."""
    records = 0
    for path in workdir.rglob("*"):
        name = path.name
        if not path.is_file() or name.startswith(".tmp-") or "luigi-tmp" in name:
            continue
        if name.endswith(".json"):
            data = json.loads(path.read_text())
            if "stage" in data:
                records += 1
                for artifact in data["artifacts"].values():
                    assert not artifact.startswith(".."), f"{path}: {artifact} is relative to the cwd"
                    assert (workdir / artifact).exists(), f"{path} names a missing {artifact}"
        elif name.endswith(".nii.gz"):
            sitk.ReadImage(str(path))
        elif name.endswith(".csv"):
            pd.read_csv(path)
    return records


def test_sigkill_midway_then_restart_completes(cohort, tmp_path):
    workdir = tmp_path / "work"
    command = luigi_command(cohort["manifest"], cohort["clinical"], "outcome", workdir, workers=2,
                            spec_dir=cohort["specs"], extra=["--evaluation", str(cohort["evaluation"])])
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and len(list(workdir.glob("cases/*/*/extract-*.json"))) < 6:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert _final_files_are_complete(workdir) >= 6
    assert not (workdir / "results").exists()

    restarted = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert all((workdir / "results" / name).is_file() for name in RESULTS)
    _final_files_are_complete(workdir)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_share_a_central_scheduler(cohort, tmp_path):
    port = _free_port()
    scheduler = subprocess.Popen([str(Path(sys.executable).with_name("luigid")), "--port", str(port), "--address",
                                  "127.0.0.1", "--state-path", str(tmp_path / "luigid.state"),
                                  "--logdir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "luigid did not start"
                time.sleep(0.2)
        workdir = tmp_path / "work"
        command = luigi_command(cohort["manifest"], cohort["clinical"], "outcome", workdir, workers=1,
                                local_scheduler=False, log_level="INFO",
                                spec_dir=cohort["specs"],
                                extra=["--scheduler-host", "127.0.0.1", "--scheduler-port", str(port), "--no-lock",
                                       "--evaluation", str(cohort["evaluation"])])
        environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        workers = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True) for _ in range(2)]
        logs = [worker.communicate(timeout=900)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], "\n".join(log[-2000:] for log in logs)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
    runs = Counter(line.split(" running ", 1)[1].strip() for log in logs for line in log.splitlines()
                   if "] Worker Worker(" in line and " running " in line)
    assert sum(task.startswith("ExtractCase(") for task in runs) == 3 * N_PATIENTS, runs
    assert {"Evaluate", "PublishResults", "FeaturesLong", "Provenance"} <= {task.split("(")[0] for task in runs}
    assert set(runs.values()) == {1}, "every task must run once, by one of the workers"
    assert all(" running " in log for log in logs), "both workers must have run tasks:\n" + \
        "\n----\n".join(log[-3000:] for log in logs)
    assert (workdir / "results" / "report.html").is_file()
