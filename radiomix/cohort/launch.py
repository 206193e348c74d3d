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


def luigi_command(manifest: Path, clinical: Path, outcome: str, workdir: Path, *, workers: int = 2,
                  local_scheduler: bool = True, extra: list[str] | None = None) -> list[str]:
    """The ``python -m luigi`` command line of a cohort run."""
    command = [sys.executable, "-m", "luigi", "--module", "pipelines.cohort", "RunCohort",
               "--manifest", str(manifest), "--clinical", str(clinical), "--outcome", outcome,
               "--workdir", str(workdir), "--workers", str(workers)]
    if local_scheduler:
        command.append("--local-scheduler")
    return command + list(extra or [])


def run_cohort(command: list[str]) -> int:
    """Run a cohort command with ``pipelines`` importable; returns its exit status."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")]))
    return subprocess.run(command, env=environment, check=False).returncode
