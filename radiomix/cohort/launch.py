"""Start the Luigi cohort graph as a subprocess (``radiomix run`` and ``radiomix demo``).

radiomix never imports Luigi: the task graph lives in ``pipelines/`` and is
started with ``python -m luigi --module pipelines.cohort RunCohort ...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
TASK_FAILURE_STATUS = 3
"""Exit status of a cohort run in which a task failed or could not be scheduled."""
ALREADY_RUNNING_STATUS = 4
"""Exit status of a local-scheduler run refused by Luigi's pid lock (the same run is already going on)."""


def luigi_command(manifest: Path, clinical: Path, outcome: str, workdir: Path, *, workers: int = 2,
                  local_scheduler: bool = True, spec_dir: Path = REPOSITORY / "feature_specs",
                  extra: list[str] | None = None) -> list[str]:
    """The ``python -m luigi`` command line of a cohort run (specs from ``spec_dir/<modality>.yaml``).

    Luigi exits 0 even when tasks fail unless told otherwise; a failed task is a
    bug (a failing case is a failure record, not a failed task), so the run
    exits with :data:`TASK_FAILURE_STATUS` then. A local-scheduler run refused
    because the same command is already running (Luigi's pid lock) exits with
    :data:`ALREADY_RUNNING_STATUS`. (With a central scheduler Luigi gives the
    same code to a worker that left tasks to other workers, a normal outcome,
    so it is not set there.)
    """
    command = [sys.executable, "-m", "luigi", "--module", "pipelines.cohort", "RunCohort",
               "--manifest", str(manifest), "--clinical", str(clinical), "--outcome", outcome,
               "--workdir", str(workdir), "--workers", str(workers), "--spec-dir", str(spec_dir)]
    for condition in ("task-failed", "scheduling-error", "unhandled-exception", "missing-data"):
        command += [f"--retcode-{condition}", str(TASK_FAILURE_STATUS)]
    if local_scheduler:
        command += ["--local-scheduler", "--retcode-already-running", str(ALREADY_RUNNING_STATUS)]
    return command + list(extra or [])


def run_cohort(command: list[str]) -> int:
    """Run a cohort command with ``pipelines`` importable; returns its exit status."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")]))
    return subprocess.run(command, env=environment, check=False).returncode
