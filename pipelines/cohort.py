"""Cohort-level Luigi tasks and ``RunCohort``, the task users run (wiring only).

    python -m luigi --module pipelines.cohort RunCohort --manifest M.csv --clinical C.csv \\
        --outcome outcome --workdir W --local-scheduler --workers 2

Cohort tables are written to ``W/cohort/<hash>/`` (the hash covers every case's
extraction record, hence every spec), the evaluation to ``W/evaluation/<hash>/``;
:class:`PublishResults` copies them into ``W/runs/<hash>/`` and switches the
link ``W/results`` to it atomically. ``W/results/`` then holds
``features_long.csv``, ``features_wide.csv``, ``codebook.csv``,
``provenance.json``, ``failures.csv``, ``metrics.csv``,
``shap_per_modality.csv``, ``report.html`` (and the saved model), ``registration_qa.csv`` and
``registration_overlays/``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import luigi
from luigi.util import inherits

from pipelines.case import ExtractCase, ManifestFile, PreprocessCase, RegisterCase, parameter_hash
from pipelines.targets import LinkTarget
from radiomix.cohort import outputs
from radiomix.cohort.manifest import read_manifest
from radiomix.cohort.records import StageRecord
from radiomix.cohort.registration_qa import OVERLAY_FOLDER, copy_overlays, registration_qa_table


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

    @cached_property
    def cases(self) -> list[tuple[str, str]]:
        """The (patient, modality) pairs of the manifest, read once per task instance."""
        table = read_manifest(self.manifest)
        return list(dict.fromkeys(zip(table["patient_id"], table["modality"])))

    def case_tasks(self) -> list[ExtractCase]:
        return [self.clone(ExtractCase, patient_id=p, modality=m) for p, m in self.cases]

    def records(self) -> list[StageRecord]:
        return [StageRecord.read(task.output().path) for task in self.case_tasks()]

    @cached_property
    def cohort_dir(self) -> Path:
        """``W/cohort/<hash of every case's extraction record name>`` (computed once per task instance)."""
        names = sorted(Path(task.output().path).name + str(Path(task.output().path).parent)
                       for task in self.case_tasks())
        return Path(self.workdir) / "cohort" / parameter_hash(names)

    def table_target(self, name: str) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(self.cohort_dir / name))


class FeaturesLong(CohortTask):
    """``features_long.csv``: every case's tidy table, with ``patient_id`` and ``modality``."""

    def requires(self):
        return self.case_tasks()

    def output(self):
        return self.table_target("features_long.csv")

    def run(self):
        with self.output().temporary_path() as temporary:
            outputs.write_long(self.records(), Path(temporary))


class Failures(CohortTask):
    """``failures.csv``: ``patient_id, modality, stage, error_type, message`` of every failed case."""

    def requires(self):
        return self.case_tasks()

    def output(self):
        return self.table_target("failures.csv")

    def run(self):
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
        with self.output().temporary_path() as temporary:
            outputs.wide_table(self.input().path).to_csv(temporary, index=False)


class Codebook(CohortTask):
    """``codebook.csv``: one row per wide column."""

    def requires(self):
        return self.clone(FeaturesLong)

    def output(self):
        return self.table_target("codebook.csv")

    def run(self):
        with self.output().temporary_path() as temporary:
            outputs.codebook_table(self.input().path).to_csv(temporary, index=False)


class Provenance(CohortTask):
    """``provenance.json``: versions, spec hashes, input file hashes, dates."""

    clinical = luigi.Parameter(description="clinical table CSV")

    def requires(self):
        return self.case_tasks()

    def output(self):
        return self.table_target("provenance.json")

    def run(self):
        specs = {m: self.clone(PreprocessCase, patient_id="", modality=m).spec_path()
                 for m in dict.fromkeys(m for _, m in self.cases)}
        with self.output().temporary_path() as temporary:
            Path(temporary).write_text(outputs.provenance_json(self.manifest, self.clinical, specs, self.records()),
                                       encoding="utf-8")


@inherits(Provenance)
class Evaluate(CohortTask):
    """Nested-CV evaluation, SHAP and the report, in ``W/evaluation/<hash>/``."""

    outcome = luigi.Parameter(description="binary outcome column of the clinical table")
    batch_column = luigi.Parameter(default="", description="site column for ComBat (empty: no harmonization)")
    evaluation = luigi.Parameter(default="", description="evaluation settings YAML (empty: defaults)")

    def requires(self):
        return {"wide": self.clone(FeaturesWide), "failures": self.clone(Failures),
                "codebook": self.clone(Codebook), "clinical": ClinicalFile(clinical=self.clinical)}

    def output(self):
        settings = Path(self.evaluation).read_text() if self.evaluation else ""
        key = parameter_hash(self.outcome, self.batch_column, settings, str(self.cohort_dir),
                             outputs.file_digest(self.clinical))
        return luigi.LocalTarget(str(Path(self.workdir) / "evaluation" / key))

    def run(self):
        self.set_status_message("nested cross-validation, SHAP and report")
        with self.output().temporary_path() as temporary:
            outputs.evaluate(self.input()["wide"].path, self.clinical, self.outcome, Path(temporary),
                             failures=self.input()["failures"].path, codebook=self.input()["codebook"].path,
                             batch_column=self.batch_column or None, settings=self.evaluation or None,
                             manifest=self.manifest, reference_modality=self.reference_modality)


@inherits(Evaluate)
class PublishResults(CohortTask):
    """``W/results``: a link to ``W/runs/<hash>/``, which holds the tables and the evaluation."""

    def requires(self):
        return {"tables": [self.clone(task) for task in (FeaturesLong, FeaturesWide, Codebook, Failures,
                                                         Provenance, RegistrationQA, RegistrationOverlays)],
                "evaluation": self.clone(Evaluate)}

    def run_dir(self) -> str:
        return str(Path("runs") / parameter_hash(str(self.cohort_dir), self.clone(Evaluate).output().path))

    def output(self):
        return LinkTarget(Path(self.workdir) / "results", self.run_dir())

    def run(self):
        target = Path(self.workdir) / self.run_dir()
        if not target.exists():
            run_target = luigi.LocalTarget(str(target))
            with run_target.temporary_path() as temporary:
                outputs.assemble_results([Path(t.path) for t in self.input()["tables"]],
                                         Path(self.input()["evaluation"].path), Path(temporary))
        self.output().point()
        print(outputs.summary_line(Path(self.workdir) / "results"), flush=True)


@inherits(PublishResults)
class RunCohort(luigi.WrapperTask):
    """The whole cohort: per-case stages, cohort tables, evaluation, report, results link."""

    patient_id = None
    modality = None

    def requires(self):
        return [ManifestFile(manifest=self.manifest), self.clone(PublishResults)]
