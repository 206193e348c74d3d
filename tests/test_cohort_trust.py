"""Cohort runs a study can trust: content-keyed reuse, movable workdirs, the batch console, early input checks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import luigi
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from pipelines.cohort import ExtractCohort
from radiomix.cli import main
from radiomix.cohort.console import console_lines, progress_line
from radiomix.cohort.hashes import ContentHashes
from radiomix.synthetic import make_cohort

from conftest import REPO_ROOT

N_PATIENTS = 2
SCREEN_LINES = 24
TABLE_TASKS = {"FeaturesLong", "FeaturesWide", "Codebook", "Failures", "Provenance", "PublishTables", "ExtractCohort",
               "RegistrationQA", "RegistrationOverlays"}
"""The cohort tasks that rerun when one case changes (the registration QA reads every case's register record)."""

started: list[str] = []


@luigi.Task.event_handler(luigi.Event.START)
def _record_start(task):
    started.append(task.get_task_family())


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "radiomix.cli", *arguments], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=900, check=False)


def _build(task) -> Counter:
    """Run ``task`` in this process as a new run would; the families of the tasks that started."""
    started.clear()
    luigi.task_register.Register.clear_instance_cache()
    result = luigi.build([task], local_scheduler=True, workers=1, detailed_summary=True, log_level="WARNING")
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text
    return Counter(started)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """A small cohort extracted by ``radiomix run --extract-only`` (relative paths, from its own folder)."""
    root = tmp_path_factory.mktemp("trust")
    manifest, clinical = make_cohort(root / "cohort", n_patients=N_PATIENTS, seed=11)  # one case, one control
    run = _cli("run", "--manifest", "cohort/manifest.csv", "--workdir", "work", "--extract-only",
               "--log-file", "luigi.log", cwd=root)
    return {"root": root, "manifest": manifest, "clinical": clinical, "run": run}


def test_extract_only_console_fits_on_a_screen_and_publishes_the_tables(extracted):
    run = extracted["run"]
    assert run.returncode == 0, run.stdout + run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert len(lines) <= SCREEN_LINES, "\n".join(lines)
    assert not any(line.startswith(("INFO", "DEBUG")) for line in lines), "\n".join(lines)
    log = (extracted["root"] / "luigi.log").read_text()
    assert "INFO: [pid" in log and "ExtractCohort" in log, "Luigi's whole log goes to --log-file"
    progress = [line for line in lines if re.fullmatch(r"\d+/\d+ cases, \d+ failed(, ETA .+)?", line)]
    assert len(progress) == 3 * N_PATIENTS and progress[-1] == f"{3 * N_PATIENTS}/{3 * N_PATIENTS} cases, 0 failed"
    results = extracted["root"] / "work" / "results"
    assert {p.name for p in results.iterdir() if p.is_file()} == {
        "features_long.csv", "features_wide.csv", "codebook.csv", "provenance.json", "failures.csv",
        "registration_qa.csv"}
    provenance = json.loads((results / "provenance.json").read_text())
    for case in provenance["cases"]:
        assert case["mask_sha256"] == hashlib.sha256(Path(case["mask"]).read_bytes()).hexdigest()
        assert case["image_sha256"] == hashlib.sha256(Path(case["image"]).read_bytes()).hexdigest()
    assert "--extract-only" in provenance["command_line"]
    assert provenance["radiomix_version"] and provenance["dependencies"]["luigi"]
    assert (results / "specs" / "ct.yaml").read_bytes() == (REPO_ROOT / "feature_specs" / "ct.yaml").read_bytes()
    records = [path for path in (extracted["root"] / "work" / "cases").rglob("*.json")
               if re.fullmatch(r"[a-z]+-[0-9a-f]+\.json", path.name)]  # <stage>-<hash>.json, not artifacts
    assert len(records) == 4 * 3 * N_PATIENTS
    for record in records:
        for artifact in json.loads(record.read_text())["artifacts"].values():
            assert Path(artifact).is_absolute() or artifact.startswith("cases/"), (record, artifact)


def test_edited_mask_reruns_its_case_and_moved_workdir_reruns_nothing(extracted, tmp_path, monkeypatch):
    root = extracted["root"]
    manifest = pd.read_csv(extracted["manifest"], dtype=str)
    patient = manifest["patient_id"].iloc[0]
    task = ExtractCohort(manifest=str(extracted["manifest"]), workdir="work")
    monkeypatch.chdir(root)
    assert _build(task) == Counter(), "a finished run starts nothing"
    before = pd.read_csv(root / "work" / "results" / "features_long.csv", dtype={"patient_id": str})

    # edit the MR mask in place: half of its ROI removed (same file, same size, same grid)
    row = manifest[(manifest.patient_id == patient) & (manifest.modality == "MR")]
    mask_path = root / "cohort" / row["mask"].iloc[0]
    mask = sitk.ReadImage(str(mask_path))
    array = sitk.GetArrayFromImage(mask)
    rows = np.nonzero(array.any(axis=(0, 2)))[0]
    array[:, rows[len(rows) // 2]:, :] = 0
    edited = sitk.GetImageFromArray(array)
    edited.CopyInformation(mask)
    sitk.WriteImage(edited, str(mask_path), useCompression=True)
    rerun = _build(task)
    assert rerun == Counter({"ValidateCase": 1, "RegisterCase": 1, "PreprocessCase": 1, "ExtractCase": 1,
                             **{name: 1 for name in TABLE_TASKS}}), rerun
    after = pd.read_csv(root / "work" / "results" / "features_long.csv", dtype={"patient_id": str})
    key = ["patient_id", "modality", "feature"]
    merged = before.merge(after, on=key, suffixes=("_before", "_after"))
    changed = merged[~np.isclose(merged["value_before"], merged["value_after"], equal_nan=True)]
    assert set(zip(changed.patient_id, changed.modality)) == {(patient, "MR")}
    volume = merged[(merged.patient_id == patient) & (merged.modality == "MR")
                    & (merged.feature == "original_morphology_volume_voxel_counting")]
    assert len(volume) == 1 and volume["value_after"].iloc[0] < volume["value_before"].iloc[0]
    provenance = json.loads((root / "work" / "results" / "provenance.json").read_text())
    assert provenance["input_hashes"][str(mask_path)] == hashlib.sha256(mask_path.read_bytes()).hexdigest()

    # move the workdir, resume from another folder with an absolute path: nothing reruns
    moved = tmp_path / "elsewhere" / "moved-work"
    moved.parent.mkdir()
    shutil.move(str(root / "work"), str(moved))
    elsewhere = tmp_path / "another-folder"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert _build(ExtractCohort(manifest=str(extracted["manifest"]), workdir=str(moved))) == Counter()
    assert pd.read_csv(moved / "results" / "features_long.csv").shape == after.shape


def test_misspelled_outcome_found_before_extraction(extracted, tmp_path):
    manifest, clinical = str(extracted["manifest"]), str(extracted["clinical"])
    status = main(["validate", manifest, "--clinical", clinical, "--outcome", "outcom"])
    assert status == 2
    run = _cli("run", "--manifest", manifest, "--clinical", clinical, "--outcome", "outcom", "--workdir",
               str(tmp_path / "work"), cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "did you mean 'outcome'?" in run.stderr and clinical in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert not (tmp_path / "work").exists(), "nothing may be extracted"
    raw = subprocess.run([sys.executable, "-m", "luigi", "--module", "pipelines.cohort", "RunCohort", "--manifest",
                          manifest, "--clinical", clinical, "--outcome", "outcom", "--workdir", "raw",
                          "--local-scheduler", "--log-level", "WARNING"], cwd=tmp_path, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), timeout=300, check=False)
    assert raw.returncode == 3 and "did you mean 'outcome'?" in raw.stderr, raw.stderr[-2000:]
    assert not (tmp_path / "raw" / "cases").exists()
    missing = _cli("run", "--manifest", str(tmp_path / "nope.csv"), "--extract-only", "--workdir", "w", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.csv" in missing.stderr and "Traceback" not in missing.stderr


def test_validate_reports_clinical_table_problems(capsys, tmp_path, extracted):
    clinical = tmp_path / "clinical.csv"
    clinical.write_text("patient_id,age,outcome\nX1,60,1\nX2,70,1\n")
    assert main(["validate", str(extracted["manifest"]), "--clinical", str(clinical), "--outcome", "outcome"]) == 2
    output = capsys.readouterr().out
    assert "has 1 distinct value" in output and "none of the manifest's" in output
    assert main(["validate", str(extracted["manifest"]), "--clinical", str(extracted["clinical"]),
                 "--outcome", "outcome"]) == 0


def test_raw_luigi_command_fails_loudly_and_imports_no_kernels(tmp_path):
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "luigi", "--module", "pipelines.cohort", "ExtractCohort", "--manifest",
               "missing.csv", "--workdir", "w", "--local-scheduler"]
    failed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
                            check=False)
    assert failed.returncode == 3, failed.stderr[-2000:]
    probe = ("import sys, pipelines.cohort; "
             "print(sorted(m for m in ('numba', 'radiomix.extract', 'radiomix.cohort.case') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=environment, capture_output=True,
                            text=True, timeout=300, check=True)
    assert loaded.stdout.strip() == "[]"


def test_content_hashes_cached_by_size_mtime_inode(tmp_path):
    data = tmp_path / "image.bin"
    data.write_bytes(b"abc" * 1000)
    hashes = ContentHashes(tmp_path / "cache")
    first = hashes.digest(data)
    assert first == hashlib.sha256(data.read_bytes()).hexdigest()
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    entry = next((tmp_path / "cache").glob("*.json"))
    stored = json.loads(entry.read_text())
    entry.write_text(json.dumps({**stored, "sha256": "from-the-cache"}))
    assert ContentHashes(tmp_path / "cache").digest(data) == "from-the-cache", "an unchanged file is not re-read"
    data.write_bytes(b"abd" * 1000)  # same size, new content and mtime
    os.utime(data, ns=(stored["mtime_ns"] + 10**9, stored["mtime_ns"] + 10**9))
    assert ContentHashes(tmp_path / "cache").digest(data) == hashlib.sha256(data.read_bytes()).hexdigest()
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "1.dcm").write_bytes(b"one")
    series = hashes.digest(folder)
    (folder / "2.dcm").write_bytes(b"two")
    assert hashes.digest(folder) != series
    assert hashes.digest(tmp_path / "absent.nii.gz").startswith("unavailable")


def test_progress_counts_finished_and_failed_cases(tmp_path):
    import io
    import time

    from radiomix.cohort.console import report_progress

    records = [tmp_path / f"case{i}.json" for i in range(4)]
    for path, ok in zip(records[:3], (True, False, True)):
        path.write_text(json.dumps({"ok": ok}))
    stream = io.StringIO()
    line = report_progress(records, started=time.time() - 30, stream=stream)
    assert re.fullmatch(r"3/4 cases, 1 failed, ETA \d+ s", line) and stream.getvalue() == line + "\n"
    eta = int(line.rsplit(" ", 2)[1])
    assert 8 <= eta <= 12, "30 s for 3 cases: about 10 s for the last one"


def test_console_lines_and_progress_text():
    log = ["INFO: [pid 1] Worker running X", "WARNING: something odd", "ERROR: [pid 2] Worker failed Y",
           "Traceback (most recent call last):", '  File "x.py", line 1, in <module>', "    boom()",
           "ValueError: the real message", "INFO: done", "DEBUG: chatter"]
    assert list(console_lines(log, verbose=False)) == [
        "WARNING: something odd", "ERROR: [pid 2] Worker failed Y", "ValueError: the real message"]
    assert list(console_lines(log, verbose=True)) == log
    assert progress_line(12, 1, 153, 360) == "12/153 cases, 1 failed, ETA 6 min"
    assert progress_line(153, 1, 153, 0) == "153/153 cases, 1 failed"


def test_warnings_collected_and_failures_listed(tmp_path, capsys):
    from radiomix.cohort.console import EXIT_CASES_FAILED, EXIT_DONE, gather_warnings
    from radiomix.cohort.launch import _list_failures

    folder = tmp_path / "warnings"
    probe = ("import warnings, pipelines.cohort\n"
             "for _ in range(3):\n"
             "    warnings.warn('few patients at site B', UserWarning, stacklevel=1)\n"
             "warnings.warn('fragmented frame', RuntimeWarning)\n")
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT), RADIOMIX_WARNINGS_DIR=str(folder),
                       PYTHONWARNINGS="always")
    shown = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                           timeout=300, check=True)
    assert "few patients" not in shown.stderr
    rows = gather_warnings(folder)
    assert {(row["category"], row["message"], row["count"]) for row in rows} == {
        ("UserWarning", "few patients at site B", 3), ("RuntimeWarning", "fragmented frame", 1)}

    failures = tmp_path / "failures.csv"
    failures.write_text("patient_id,modality,stage,error_type,message\n")
    assert _list_failures(failures) == EXIT_DONE
    failures.write_text("patient_id,modality,stage,error_type,message\n"
                        "P7,MR,validate,UnreadableFileError,\"patient P7, MR: /data/p7.nii.gz: not an image\"\n")
    assert _list_failures(failures) == EXIT_CASES_FAILED
    assert "P7 MR at validate: UnreadableFileError: patient P7, MR: /data/p7.nii.gz" in capsys.readouterr().out


def test_radiomix_run_exposes_every_runcohort_parameter():
    from pipelines.cohort import RunCohort
    from radiomix.cli import _parser

    commands = next(action for action in _parser()._actions if action.dest == "command")
    options = {option for action in commands.choices["run"]._actions for option in action.option_strings}
    missing = [name for name, _ in RunCohort.get_params() if f"--{name.replace('_', '-')}" not in options]
    assert not missing, f"add these RunCohort parameters to `radiomix run` (and to RunOptions): {missing}"


def test_version(capsys):
    import radiomix

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"radiomix {radiomix.__version__}"


def test_a_large_cohort_writes_about_twenty_progress_lines_to_a_log(tmp_path):
    """Not a terminal: every k-th finished case of 120 (k = 6) and the last one, not 120 lines."""
    import io
    import time

    from radiomix.cohort.console import MAX_LOGGED_PROGRESS_LINES, report_progress

    records = [tmp_path / f"case{i:03d}.json" for i in range(120)]
    stream = io.StringIO()
    for path in records:
        path.write_text(json.dumps({"ok": True}))
        report_progress(records, started=time.time() - 60, stream=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == MAX_LOGGED_PROGRESS_LINES and lines[-1] == "120/120 cases, 0 failed"
    assert lines[0].startswith("6/120 cases, 0 failed, ETA ")
