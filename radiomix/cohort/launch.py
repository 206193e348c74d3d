"""Start the Luigi cohort graph as a subprocess (``radiomix run`` and ``radiomix demo``).

radiomix never imports Luigi: the task graph lives in ``pipelines/`` and is
started with ``python -m luigi --module pipelines.cohort RunCohort ...``
(``ExtractCohort`` for an extraction-only run). :func:`run` checks the inputs
and settings first (exit 2 before any extraction), keeps Luigi's log in a file
and shows only its warnings and errors, collects Python warnings into
``W/warnings.csv``, lists failed cases, and returns the exit codes of
:mod:`radiomix.cohort.console`.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from radiomix.cohort import console

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_SPECS = REPOSITORY / "feature_specs"
"""The modality specs ``<modality>.yaml`` shipped with radiomix (found from the package, not the current folder)."""
TASK_FAILURE_STATUS = console.EXIT_BUG
"""Exit status of a cohort run in which a task failed or could not be scheduled."""
ALREADY_RUNNING_STATUS = console.EXIT_ALREADY_RUNNING
"""Exit status of a local-scheduler run refused by Luigi's pid lock (the same run is already going on)."""
MAX_LISTED_FAILURES = 20


def luigi_command(manifest: Path, clinical: Path | None, outcome: str | None, workdir: Path, *, workers: int = 2,
                  local_scheduler: bool = True, spec_dir: Path | None = None, extra: list[str] | None = None,
                  log_level: str | None = None) -> list[str]:
    """The ``python -m luigi`` command line of a cohort run.

    ``RunCohort`` when ``clinical`` and ``outcome`` are given, else ``ExtractCohort``
    (extraction and cohort tables only). Paths are made absolute so the command
    works from any folder. Specs come from ``spec_dir/<modality>.yaml`` (default:
    the shipped ones). Luigi exits 0 even when tasks fail unless told otherwise;
    a failed task is a bug (a failing case is a failure record, not a failed
    task), so the run exits with :data:`TASK_FAILURE_STATUS` then.
    A local-scheduler run refused because the same command is already running
    (Luigi's pid lock) exits with :data:`ALREADY_RUNNING_STATUS`. (With a central
    scheduler Luigi gives the same code to a worker that left tasks to other
    workers, a normal outcome, so it is not set there.)
    """
    task = "RunCohort" if clinical is not None and outcome else "ExtractCohort"
    command = [sys.executable, "-m", "luigi", "--module", "pipelines.cohort", task,
               "--manifest", os.path.abspath(manifest), "--workdir", os.path.abspath(workdir),
               "--workers", str(workers)]
    if task == "RunCohort":
        command += ["--clinical", os.path.abspath(clinical), "--outcome", outcome]
    if spec_dir is not None:
        command += ["--spec-dir", os.path.abspath(spec_dir)]
    for condition in ("task-failed", "scheduling-error", "unhandled-exception", "missing-data"):
        command += [f"--retcode-{condition}", str(TASK_FAILURE_STATUS)]
    if log_level is not None:
        command += ["--log-level", log_level]
    if local_scheduler:
        command += ["--local-scheduler", "--retcode-already-running", str(ALREADY_RUNNING_STATUS)]
    return command + list(extra or [])


def cohort_environment(**variables: str) -> dict[str, str]:
    """This process's environment with ``pipelines`` importable, plus ``variables``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")]))
    environment.update(variables)
    return environment


def run_cohort(command: list[str]) -> int:
    """Run a cohort command with ``pipelines`` importable; returns its exit status."""
    return subprocess.run(command, env=cohort_environment(), check=False).returncode


@dataclass(frozen=True)
class RunOptions:
    """Everything ``radiomix run`` passes on (the parameters of ``RunCohort`` and of the console).

    ``clinical`` and ``outcome`` are required unless ``extract_only``.
    """

    manifest: Path
    workdir: Path
    clinical: Path | None = None
    outcome: str | None = None
    extract_only: bool = False
    workers: int = 2
    spec_dir: Path | None = None
    batch_column: str = ""
    evaluation: Path | None = None
    registration: Path | None = None
    harmonizer: Path | None = None
    reference_modality: str = "CT"
    scheduler_host: str | None = None
    scheduler_port: int = 8082
    no_lock: bool = False
    verbose: bool = False
    log_file: Path | None = None
    command_line: str = ""


def input_problems(options: RunOptions) -> list[str]:
    """Every problem of the inputs and settings that can be found before extraction (empty: ready)."""
    from radiomix.cohort.clinical import clinical_problems
    from radiomix.cohort.manifest import read_manifest
    from radiomix.errors import RadiomixError
    from radiomix.spec import load_spec

    problems = []
    if not options.extract_only and (options.clinical is None or not options.outcome):
        problems.append("give --clinical and --outcome for a full run, or --extract-only for the feature tables")
    try:
        table = read_manifest(options.manifest)
    except RadiomixError as exc:
        return problems + [str(exc)]
    modalities = list(dict.fromkeys(table["modality"]))
    spec_dir = Path(options.spec_dir or SHIPPED_SPECS)
    for modality in modalities:
        path = spec_dir / f"{modality.lower()}.yaml"
        if not path.is_file():
            problems.append(f"{path}: no spec for modality {modality} (spec folder {spec_dir})")
            continue
        try:
            load_spec(path)
        except RadiomixError as exc:
            problems.append(f"{path}: {exc}")
    if len(modalities) > 1 and options.reference_modality not in modalities:
        problems.append(f"reference modality {options.reference_modality!r} is in no manifest row "
                        f"(modalities: {', '.join(modalities)}); choose one with --reference-modality")
    problems += _settings_problems(options)
    if not options.extract_only and options.clinical is not None and options.outcome:
        problems += clinical_problems(options.clinical, options.outcome, list(table["patient_id"]),
                                      batch_column=options.batch_column or None)
    return problems


def _settings_problems(options: RunOptions) -> list[str]:
    """Problems of the registration and evaluation settings files."""
    import yaml

    from radiomix.errors import RadiomixError
    from radiomix.model.settings import load_evaluation_settings
    from radiomix.registration.settings import load_registration_settings

    problems = []
    if options.evaluation is not None:
        try:
            load_evaluation_settings(options.evaluation)
        except RadiomixError as exc:
            problems.append(f"{options.evaluation}: {exc}")
    if options.registration is not None:
        try:
            load_registration_settings(yaml.safe_load(Path(options.registration).read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, RadiomixError) as exc:
            problems.append(f"{options.registration}: {exc}")
    return problems


def run(options: RunOptions) -> int:
    """Check the inputs, run the cohort graph, and summarise; returns a :mod:`console` exit code."""
    problems = input_problems(options)
    if problems:
        for problem in problems:
            print(f"radiomix run: {problem}", file=sys.stderr)
        return console.EXIT_BAD_INPUT
    workdir = Path(os.path.abspath(options.workdir))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_path = Path(options.log_file or workdir / "logs" / f"run-{stamp}-{os.getpid()}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    warnings_dir = workdir / "logs" / f"warnings-{stamp}-{os.getpid()}"
    status = _run_luigi(luigi_command(options.manifest, None if options.extract_only else options.clinical,
                                      None if options.extract_only else options.outcome, workdir,
                                      workers=options.workers, local_scheduler=options.scheduler_host is None,
                                      spec_dir=options.spec_dir, extra=_extra_arguments(options),
                                      log_level="DEBUG" if options.verbose else "INFO"),
                        log_path, warnings_dir, options)
    _summarise_warnings(warnings_dir, workdir / "warnings.csv")
    if status == ALREADY_RUNNING_STATUS:
        print(f"radiomix run: the same run is already going on in this machine (Luigi's lock; exit {status}); "
              "use --no-lock or a central scheduler to add workers", file=sys.stderr)
        return status
    if status != 0:
        print(f"radiomix run: stopped on an error (a bug, or a scheduling failure: exit {console.EXIT_BUG}); "
              f"full log in {log_path}" + ("" if options.verbose else "; -v shows tracebacks"), file=sys.stderr)
        return console.EXIT_BUG
    return _list_failures(workdir / "results" / "failures.csv")


def _extra_arguments(options: RunOptions) -> list[str]:
    """The ``RunCohort``/``ExtractCohort`` and scheduler options beyond :func:`luigi_command`'s."""
    extra = ["--reference-modality", options.reference_modality]
    if options.registration is not None:
        extra += ["--registration", os.path.abspath(options.registration)]
    if not options.extract_only:
        extra += ["--batch-column", options.batch_column] if options.batch_column else []
        extra += ["--evaluation", os.path.abspath(options.evaluation)] if options.evaluation is not None else []
        extra += ["--harmonizer", os.path.abspath(options.harmonizer)] if options.harmonizer is not None else []
    if options.scheduler_host is not None:
        extra += ["--scheduler-host", options.scheduler_host, "--scheduler-port", str(options.scheduler_port)]
    return extra + (["--no-lock"] if options.no_lock else [])


def _run_luigi(command: list[str], log_path: Path, warnings_dir: Path, options: RunOptions) -> int:
    """Run Luigi: its log into ``log_path``, the worth-seeing lines to the console; returns its status."""
    environment = cohort_environment(**{console.WARNINGS_ENVIRONMENT: str(warnings_dir),
                                        console.COMMAND_ENVIRONMENT: options.command_line or shlex.join(command)})
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"# {shlex.join(command)}\n")
        process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True, bufsize=1)

        def logged():
            for line in process.stderr:
                log.write(line)
                yield line

        for line in console.console_lines(logged(), options.verbose):
            sys.stderr.write(line)
            sys.stderr.flush()
        return process.wait()


def _summarise_warnings(folder: Path, path: Path) -> None:
    """Gather the run's warnings into ``path`` and print one line about them."""
    rows = console.gather_warnings(folder)
    if rows:
        console.write_warnings(rows, path)
        print(f"radiomix run: {console.warnings_summary(rows, path)}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)


def _list_failures(failures_csv: Path) -> int:
    """List the failed cases (one line each); exit 1 when there are any, else 0."""
    import csv

    if not failures_csv.is_file():
        return console.EXIT_DONE
    with open(failures_csv, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    if not rows:
        return console.EXIT_DONE
    print(f"radiomix run: {len(rows)} case(s) failed (exit {console.EXIT_CASES_FAILED}), listed in {failures_csv}:")
    for row in rows[:MAX_LISTED_FAILURES]:
        print(f"  {row['patient_id']} {row['modality']} at {row['stage']}: {row['error_type']}: {row['message']}")
    if len(rows) > MAX_LISTED_FAILURES:
        print(f"  ... and {len(rows) - MAX_LISTED_FAILURES} more")
    return console.EXIT_CASES_FAILED
