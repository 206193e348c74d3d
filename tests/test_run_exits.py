"""A run refused by Luigi's lock exits non-zero; a failed evaluation leaves no temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from luigi import lock

from radiomix.cohort.launch import ALREADY_RUNNING_STATUS, luigi_command
from radiomix.cohort.outputs import evaluate
from radiomix.errors import RadiomixError

from conftest import REPO_ROOT


def _failing_inputs(folder):
    """A wide table and a clinical table without the outcome column: the evaluation stops."""
    wide = folder / "features_wide.csv"
    pd.DataFrame({"patient_id": ["p1", "p2"], "CT__f": [1.0, 2.0]}).to_csv(wide, index=False)
    clinical = folder / "clinical.csv"
    pd.DataFrame({"patient_id": ["p1", "p2"], "age": [50, 60]}).to_csv(clinical, index=False)
    return wide, clinical


def test_a_failed_evaluation_leaves_no_temporary_folder(tmp_path):
    wide, clinical = _failing_inputs(tmp_path)
    out = tmp_path / "evaluation" / "0123abcd-luigi-tmp-000000001"
    with pytest.raises(RadiomixError, match="outcome"):
        evaluate(wide, clinical, "outcome", out, failures=None, codebook=None, batch_column=None, settings=None,
                 manifest=tmp_path / "manifest.csv", reference_modality="CT")
    assert not out.exists()


def test_an_existing_folder_is_kept_when_the_evaluation_fails(tmp_path):
    wide, clinical = _failing_inputs(tmp_path)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    with pytest.raises(RadiomixError):
        evaluate(wide, clinical, "outcome", out, failures=None, codebook=None, batch_column=None, settings=None,
                 manifest=tmp_path / "manifest.csv", reference_modality="CT")
    assert (out / "notes.txt").read_text() == "kept"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Luigi reads command lines from /proc")
def test_a_second_run_refused_by_the_pid_lock_exits_non_zero(tmp_path):
    """A process with the very same command line holds the lock: the run must say it did nothing."""
    pid_dir = tmp_path / "pids"
    command = luigi_command(tmp_path / "manifest.csv", tmp_path / "clinical.csv", "outcome", tmp_path / "work",
                            extra=["--lock-pid-dir", str(pid_dir)])
    holder_modules = tmp_path / "holder"
    (holder_modules / "luigi").mkdir(parents=True)
    (holder_modules / "luigi" / "__init__.py").write_text("")
    (holder_modules / "luigi" / "__main__.py").write_text("import time\ntime.sleep(300)\n")
    holder = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(holder_modules)})
    try:
        pid_dir.mkdir()
        deadline = time.monotonic() + 30
        while lock.getpcmd(holder.pid) != " ".join(command):  # the holder's command line appears after exec
            assert time.monotonic() < deadline and holder.poll() is None, lock.getpcmd(holder.pid)
            time.sleep(0.05)
        _, _, pid_file = lock.get_info(str(pid_dir), my_pid=holder.pid)
        lock._write_pids_file(pid_file, {holder.pid})
        environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        refused = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == ALREADY_RUNNING_STATUS, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "already running" in refused.stdout + refused.stderr
    assert not (tmp_path / "work").exists()
