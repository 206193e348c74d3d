"""``radiomix demo``: a synthetic CT/MR/PET cohort run through the whole task graph."""

from __future__ import annotations

import time
from pathlib import Path

from radiomix.cohort.console import EXIT_CASES_FAILED, EXIT_DONE
from radiomix.cohort.launch import RunOptions, run
from radiomix.errors import RadiomixError
from radiomix.synthetic import make_cohort


def run_demo(out_dir: Path, n_patients: int = 40, workers: int = 2, seed: int = 0) -> None:
    """Generate the cohort in ``out_dir/cohort`` and run ``RunCohort`` into ``out_dir/work``.

    Raises
    ------
    RadiomixError
        The Luigi run exited with an error.
    """
    start = time.perf_counter()
    print(f"radiomix demo: generating {n_patients} synthetic patients (CT, MR, PET) in {out_dir / 'cohort'}",
          flush=True)
    manifest, clinical = make_cohort(out_dir / "cohort", n_patients=n_patients, seed=seed)
    workdir = out_dir / "work"
    print(f"radiomix demo: radiomix run --manifest {manifest} --clinical {clinical} --outcome outcome "
          f"--batch-column site --workdir {workdir}", flush=True)
    status = run(RunOptions(manifest=manifest, workdir=workdir, clinical=clinical, outcome="outcome",
                            batch_column="site", workers=workers))
    if status not in (EXIT_DONE, EXIT_CASES_FAILED):
        raise RadiomixError(f"the cohort run exited with status {status}; see the log in {workdir / 'logs'}")
    results = workdir / "results"
    print(f"radiomix demo: done in {time.perf_counter() - start:.0f} s")
    print(f"  report:    {results / 'report.html'}")
    print(f"  features:  {results / 'features_wide.csv'} (codebook.csv, features_long.csv beside it)")
    print(f"  metrics:   {results / 'metrics.csv'}; failures: {results / 'failures.csv'}")
