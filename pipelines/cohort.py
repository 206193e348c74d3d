"""Cohort-level Luigi tasks, ``RunCohort`` and ``ExtractCohort``, the tasks users run (wiring only).

    python -m luigi --module pipelines.cohort RunCohort --manifest M.csv --clinical C.csv \\
        --outcome outcome --workdir W --local-scheduler --workers 2
    python -m luigi --module pipelines.cohort ExtractCohort --manifest M.csv --workdir W --local-scheduler

Cohort tables are written to ``W/cohort/<hash>/`` (the hash covers every case's
extraction record path relative to ``W``, hence every input content and spec),
the evaluation to ``W/evaluation/<hash>/``; :class:`PublishResults` copies them
into ``W/runs/<hash>/`` and switches the link ``W/results`` to it atomically
(:class:`PublishTables`, for an extraction-only run, the tables alone). ``W/results/`` then holds
``features_long.csv``, ``features_wide.csv``, ``codebook.csv``,
``provenance.json``, ``failures.csv``, ``metrics.csv``,
``shap_per_modality.csv``, ``report.html`` (and the saved model), ``registration_qa.csv`` and
``registration_overlays/``.
"""

from __future__ import annotations

import os
import time
from functools import cached_property
from pathlib import Path

import luigi
from luigi.util import inherits

from pipelines.case import ExtractCase, ManifestFile, PreprocessCase, RegisterCase, parameter_hash
from pipelines.targets import LinkTarget
from radiomix.cohort import console
from radiomix.cohort.hashes import content_hashes
from radiomix.cohort.launch import SHIPPED_SPECS
from radiomix.cohort.records import StageRecord
from radiomix.cohort.registration_qa import OVERLAY_FOLDER, copy_overlays, registration_qa_table

STARTED = time.time()
"""When this process started scheduling (the forks that run tasks inherit it): the ETA counts from here."""

# A cohort run that cannot be scheduled, or whose task fails (a bug: a failing case is a
# failure record, not a failed task), exits non-zero even when started as the plain
# ``python -m luigi`` command (Luigi's own default is 0). A [retcode] section of the
# user's luigi.cfg still wins.
# Luigi's own log is at WARNING unless --log-level (or luigi.cfg) says otherwise: the console
# of a batch job shows progress lines, warnings and errors.
for _section, _option, _value in [*(("retcode", condition, str(console.EXIT_BUG)) for condition in
                                    ("task_failed", "scheduling_error", "unhandled_exception", "missing_data")),
                                  ("core", "log_level", "WARNING")]:
    if not luigi.configuration.get_config().has_option(_section, _option):
        luigi.configuration.get_config().set(_section, _option, _value)

if os.environ.get(console.WARNINGS_ENVIRONMENT):
    console.collect_warnings(Path(os.environ[console.WARNINGS_ENVIRONMENT]))


class ClinicalFile(luigi.ExternalTask):
    """The clinical table CSV (a raw input)."""

    clinical = luigi.Parameter(description="clinical table CSV with patient_id and the outcome")

    def output(self):
        return luigi.LocalTarget(self.clinical)


@inherits(ExtractCase)
class CohortTask(luigi.Task):
    """Parameters of the whole cohort (the case parameters are set per case)."""

    patient_id = None
    modality = None

    @property
    def root(self) -> Path:
        return Path(os.path.abspath(self.workdir))

    @cached_property
    def cases(self) -> list[tuple[str, str]]:
        """The (patient, modality) pairs of the manifest, read once per task instance."""
        from radiomix.cohort.manifest import read_manifest

        table = read_manifest(self.manifest)
        return list(dict.fromkeys(zip(table["patient_id"], table["modality"])))

    def case_tasks(self) -> list[ExtractCase]:
        return [self.clone(ExtractCase, patient_id=p, modality=m) for p, m in self.cases]

    def records(self) -> list[StageRecord]:
        return [StageRecord.read(task.output().path, self.root) for task in self.case_tasks()]

    @cached_property
    def cohort_key(self) -> str:
        """Hash of every case's extraction record path, relative to the workdir (so it survives a move)."""
        names = sorted(Path(task.output().path).relative_to(task.root).as_posix() for task in self.case_tasks())
        return parameter_hash(names)

    @property
    def cohort_dir(self) -> Path:
        """``W/cohort/<cohort key>``."""
        return self.root / "cohort" / self.cohort_key

    def table_target(self, name: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.cohort_dir / name))

    def spec_paths(self) -> dict[str, Path]:
        """Each modality's spec file."""
        return {m: self.clone(PreprocessCase, patient_id="", modality=m).spec_path()
                for m in dict.fromkeys(m for _, m in self.cases)}

    def settings_files(self) -> dict[str, Path]:
        """The files a run's results carry along: ``specs/<modality>.yaml``, ``settings/*.yaml``."""
        files = {f"specs/{path.name}": path for path in self.spec_paths().values()}
        if self.registration:
            files["settings/registration.yaml"] = Path(self.registration)
        evaluation = getattr(self, "evaluation", "")
        if evaluation:
            files["settings/evaluation.yaml"] = Path(evaluation)
        return files


class FeaturesLong(CohortTask):
    """``features_long.csv``: every case's tidy table, with ``patient_id`` and ``modality``."""

    def requires(self):
        return self.case_tasks()

    def output(self):
        return self.table_target("features_long.csv")

    def run(self):
        from radiomix.cohort import outputs

        with self.output().temporary_path() as temporary:
            outputs.write_long(self.records(), Path(temporary))


class Failures(CohortTask):
    """``failures.csv``: ``patient_id, modality, stage, error_type, message`` of every failed case."""

    def requires(self):
        return self.case_tasks()

    def output(self):
        return self.table_target("failures.csv")

    def run(self):
        from radiomix.cohort import outputs

        with self.output().temporary_path() as temporary:
            outputs.failures_table(self.records()).to_csv(temporary, index=False)


class RegistrationQA(CohortTask):
    """``registration_qa.csv``: alignment and its measured quality per case (see radiomix.cohort.registration_qa)."""

    def register_tasks(self) -> list[RegisterCase]:
        return [self.clone(RegisterCase, patient_id=p, modality=m) for p, m in self.cases]

    def requires(self):
        return self.register_tasks()

    def output(self):
        return self.table_target("registration_qa.csv")

    def run(self):
        tasks = self.register_tasks()
        records = [StageRecord.read(task.output().path) for task in tasks]
        files = [{name: task.artifact(name) for name in ("quality.json", "check.png")} for task in tasks]
        with self.output().temporary_path() as temporary:
            registration_qa_table(records, files).to_csv(temporary, index=False)


class RegistrationOverlays(RegistrationQA):
    """``registration_overlays/``: the check figure of each aligned case, named ``<patient>_<modality>.png``."""

    def output(self):
        return self.table_target(OVERLAY_FOLDER)

    def run(self):
        tasks = self.register_tasks()
        records = [StageRecord.read(task.output().path) for task in tasks]
        files = [{"check.png": task.artifact("check.png")} for task in tasks]
        with self.output().temporary_path() as temporary:
            copy_overlays(records, files, Path(temporary))


class FeaturesWide(CohortTask):
    """``features_wide.csv``: one row per patient, ``<MODALITY>__<feature>`` columns."""

    def requires(self):
        return self.clone(FeaturesLong)

    def output(self):
        return self.table_target("features_wide.csv")

    def run(self):
        from radiomix.cohort import outputs

        with self.output().temporary_path() as temporary:
            outputs.wide_table(self.input().path).to_csv(temporary, index=False)


class Codebook(CohortTask):
    """``codebook.csv``: one row per wide column."""

    def requires(self):
        return self.clone(FeaturesLong)

    def output(self):
        return self.table_target("codebook.csv")

    def run(self):
        from radiomix.cohort import outputs

        with self.output().temporary_path() as temporary:
            outputs.codebook_table(self.input().path, self.spec_paths()).to_csv(temporary, index=False)


class Provenance(CohortTask):
    """``provenance.json``: input contents, specs, settings, command line, versions, git commit.

    Named by a hash of the run's own inputs (clinical table, outcome, evaluation
    settings) beside the cohort's tables, so an extraction-only run and a full
    run over the same tables each have theirs.
    """

    clinical = luigi.Parameter(default="", description="clinical table CSV (empty: an extraction-only run)")
    outcome = luigi.Parameter(default="", description="binary outcome column of the clinical table")
    batch_column = luigi.Parameter(default="", description="site column for ComBat (empty: no harmonization)")
    evaluation = luigi.Parameter(default="", description="evaluation settings YAML (empty: defaults)")

    def requires(self):
        return self.case_tasks()

    def run_key(self) -> str:
        """Hash of the run's inputs beyond the cohort's tables."""
        hashes = content_hashes(self.root)
        return parameter_hash(self.clinical and hashes.digest(self.clinical), self.outcome, self.batch_column,
                              self.evaluation and hashes.digest(self.evaluation))

    def output(self):
        return self.table_target(f"provenance-{self.run_key()}.json")

    def run(self):
        from radiomix.cohort import outputs

        settings = {"reference_modality": self.reference_modality, "registration": self.registration,
                    "clinical": self.clinical, "outcome": self.outcome, "batch_column": self.batch_column,
                    "evaluation": self.evaluation, "spec_dir": self.spec_dir or str(SHIPPED_SPECS)}
        with self.output().temporary_path() as temporary:
            Path(temporary).write_text(outputs.provenance_json(
                self.manifest, self.clinical or None, self.spec_paths(), self.records(),
                hashes=content_hashes(self.root), settings=settings, settings_files=self.settings_files()),
                encoding="utf-8")


@inherits(Provenance)
class PublishTables(CohortTask):
    """``W/results`` -> ``W/runs/<hash>/`` holding the cohort tables only (an extraction-only run)."""

    def requires(self):
        return [self.clone(task) for task in (FeaturesLong, FeaturesWide, Codebook, Failures, Provenance,
                                              RegistrationQA, RegistrationOverlays)]

    def run_dir(self) -> str:
        return str(Path("runs") / parameter_hash(self.cohort_key, Path(self.clone(Provenance).output().path).name))

    def output(self):
        return LinkTarget(self.root / "results", self.run_dir())

    def run(self):
        publish(self, [Path(t.path) for t in self.input()], None)


@inherits(Provenance)
class Evaluate(CohortTask):
    """Nested-CV evaluation, SHAP and the report, in ``W/evaluation/<hash>/``."""

    clinical = luigi.Parameter(description="clinical table CSV with patient_id and the outcome")
    outcome = luigi.Parameter(description="binary outcome column of the clinical table")
    harmonizer = luigi.Parameter(default="", description="distributed-ComBat harmonizer JSON fitted elsewhere "
                                                         "(radiomix harmonize combine); empty: none")

    def requires(self):
        return {"wide": self.clone(FeaturesWide), "failures": self.clone(Failures),
                "codebook": self.clone(Codebook), "clinical": ClinicalFile(clinical=self.clinical),
                "registration_qa": self.clone(RegistrationQA), "overlays": self.clone(RegistrationOverlays)}

    def output(self):
        hashes = content_hashes(self.root)
        key = parameter_hash(self.outcome, self.batch_column, self.evaluation and hashes.digest(self.evaluation),
                             self.cohort_key, hashes.digest(self.clinical),
                             *((hashes.digest(self.harmonizer),) if self.harmonizer else ()))
        return luigi.LocalTarget(str(self.root / "evaluation" / key))

    def run(self):
        from radiomix.cohort import outputs

        self.set_status_message("nested cross-validation, SHAP and report")
        with self.output().temporary_path() as temporary:
            outputs.evaluate(self.input()["wide"].path, self.clinical, self.outcome, Path(temporary),
                             failures=self.input()["failures"].path, codebook=self.input()["codebook"].path,
                             batch_column=self.batch_column or None, settings=self.evaluation or None,
                             manifest=self.manifest, reference_modality=self.reference_modality,
                             harmonizer=self.harmonizer or None,
                             registration_qa=self.input()["registration_qa"].path)


@inherits(Evaluate)
class PublishResults(CohortTask):
    """``W/results``: a link to ``W/runs/<hash>/``, which holds the tables and the evaluation."""

    def requires(self):
        return {"tables": [self.clone(task) for task in (FeaturesLong, FeaturesWide, Codebook, Failures,
                                                         Provenance, RegistrationQA, RegistrationOverlays)],
                "evaluation": self.clone(Evaluate)}

    def run_dir(self) -> str:
        evaluation = Path(self.clone(Evaluate).output().path).name
        provenance = Path(self.clone(Provenance).output().path).name
        return str(Path("runs") / parameter_hash(self.cohort_key, provenance, evaluation))

    def output(self):
        return LinkTarget(self.root / "results", self.run_dir())

    def run(self):
        publish(self, [Path(t.path) for t in self.input()["tables"]], Path(self.input()["evaluation"].path))


def publish(task: PublishTables | PublishResults, tables: list[Path], evaluation: Path | None) -> None:
    """Assemble ``W/runs/<hash>/`` (once) and switch the ``W/results`` link to it."""
    from radiomix.cohort import outputs

    target = task.root / task.run_dir()
    if not target.exists():
        with luigi.LocalTarget(str(target)).temporary_path() as temporary:
            outputs.assemble_results(tables, evaluation, Path(temporary), task.settings_files())
    task.output().point()
    print(outputs.summary_line(task.root / "results"), flush=True)


@inherits(PublishResults)
class RunCohort(luigi.WrapperTask):
    """The whole cohort: per-case stages, cohort tables, evaluation, report, results link."""

    patient_id = None
    modality = None

    def requires(self):
        self.check_clinical()
        return [ManifestFile(manifest=self.manifest), self.clone(PublishResults)]

    def check_clinical(self) -> None:
        """Refuse to schedule anything when the clinical table or outcome cannot be used (before extraction)."""
        from radiomix.cohort.clinical import clinical_problems
        from radiomix.cohort.manifest import read_manifest
        from radiomix.errors import InputError

        problems = clinical_problems(self.clinical, self.outcome, list(read_manifest(self.manifest)["patient_id"]),
                                     batch_column=self.batch_column or None)
        if problems:
            raise InputError("; ".join(problems))


@inherits(PublishTables)
class ExtractCohort(luigi.WrapperTask):
    """Extraction only: per-case stages and the cohort tables in ``W/results/``, no clinical table needed.

    A later :class:`RunCohort` over the same workdir and settings reuses every table.
    """

    patient_id = None
    modality = None

    def requires(self):
        return [ManifestFile(manifest=self.manifest), self.clone(PublishTables)]


@ExtractCase.event_handler(luigi.Event.SUCCESS)
def _report_progress(task: ExtractCase) -> None:
    """One console line per finished case: ``12/153 cases, 1 failed, ETA 6 min`` (counted from the workdir)."""
    from radiomix.cohort.manifest import read_manifest

    table = task.manifest_table if "manifest_table" in vars(task) else read_manifest(task.manifest)
    cases = dict.fromkeys(zip(table["patient_id"], table["modality"]))
    paths = [Path(task.clone(ExtractCase, patient_id=p, modality=m).output().path) for p, m in cases]
    console.report_progress(paths, started=STARTED)
