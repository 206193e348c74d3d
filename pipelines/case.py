"""Per-case Luigi tasks: validate -> register -> preprocess -> extract (wiring only).

Each task writes one JSON stage record (see :mod:`radiomix.cohort.records`) through
the target's ``temporary_path()``; the files a stage produces are written
atomically, before its record. Output names carry a hash of the parameters that
matter to the stage, of the contents of its inputs (image, mask, spec and
settings files) and of its upstream stages' record names, so an edited mask
reruns exactly that case and a changed spec reruns preprocessing and extraction
but not registration. Records store workdir paths relative to the workdir. A
case that fails writes a failed record and every later stage of that case
passes it on: the cohort completes with the other cases.

The per-case images are raw inputs too, but they are not ``ExternalTask``\\ s: a
missing image must become a failure record of that case (so that the cohort
still completes), not an unfulfilled dependency that stalls the run.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path

import luigi
from luigi.util import inherits

import radiomix
from radiomix.cohort.hashes import content_hashes
from radiomix.cohort.identifiers import case_folder
from radiomix.cohort.launch import SHIPPED_SPECS
from radiomix.cohort.records import StageRecord

# Heavy modules (the stages, the spec loader, the feature kernels) are imported
# where they are used, so that importing this module (``RunCohort --help``) is fast.

def parameter_hash(*parts) -> str:
    """First 12 hex digits of the SHA-256 of the JSON of ``parts`` (with radiomix's version)."""
    text = json.dumps([radiomix.__version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_modality_spec(path: Path):
    """The spec of a modality (:func:`radiomix.spec.load_spec`), imported on first use."""
    from radiomix.spec import load_spec

    return load_spec(path)


class ManifestFile(luigi.ExternalTask):
    """The cohort manifest CSV (a raw input)."""

    manifest = luigi.Parameter(description="cohort manifest CSV")

    def output(self):
        return luigi.LocalTarget(self.manifest)


class CaseTask(luigi.Task):
    """Parameters naming one case; subclasses add their stage."""

    manifest = luigi.Parameter(description="cohort manifest CSV")
    workdir = luigi.Parameter(description="folder of every intermediate and final output")
    patient_id = luigi.Parameter(description="the manifest's patient ID")
    modality = luigi.Parameter(description="CT, MR, PET...")

    stage = ""

    @cached_property
    def manifest_table(self):
        """The manifest, read once per task instance (Luigi keeps one instance per parameter set)."""
        from radiomix.cohort.manifest import read_manifest

        return read_manifest(self.manifest)

    def case(self):
        """The case's :class:`radiomix.cohort.case.Case` (its manifest row)."""
        from radiomix.cohort.case import Case

        return Case.from_manifest(self.manifest_table, self.patient_id, self.modality)

    @property
    def root(self) -> Path:
        """The workdir as an absolute path (records store paths relative to it)."""
        return Path(os.path.abspath(self.workdir))

    def case_dir(self) -> Path:
        return case_folder(self.root, self.patient_id, self.modality)

    @cached_property
    def stage_hash(self) -> str:
        """Hash of this stage's significant parameters and of its upstream records' names.

        The upstream names carry their own stage hashes, so the key covers every
        input content and setting the stage depends on. Computed once per task
        instance: it reads the manifest, the spec files and the content-hash
        cache, and every downstream task asks for it.
        """
        upstream = [Path(task.output().path).name for task in luigi.task.flatten(self.requires())]
        return parameter_hash(self.stage, self.significant(), upstream)

    def significant(self) -> dict:
        """The parameters whose change must rerun this stage (beyond the case itself)."""
        return {}

    def output(self):
        return luigi.LocalTarget(str(self.case_dir() / f"{self.stage}-{self.stage_hash}.json"))

    def artifact(self, name: str) -> Path:
        """Path of a file this stage writes, named with the stage hash."""
        return self.case_dir() / f"{self.stage}-{self.stage_hash}-{name}"

    def read_record(self, target) -> StageRecord:
        """The stage record of ``target`` with its artifacts as absolute paths."""
        return StageRecord.read(target.path, self.root)

    def upstream_records(self) -> list[StageRecord]:
        return [self.read_record(task.output()) for task in luigi.task.flatten(self.requires())]

    def write(self, record: StageRecord) -> None:
        self.set_status_message(f"{self.stage}: {'ok' if record.ok else 'failed: ' + record.message}")
        with self.output().temporary_path() as temporary:
            Path(temporary).write_text(record.to_json(self.root), encoding="utf-8")


class ValidateCase(CaseTask):
    """Stage ``validate``: image and mask readable, on one grid, with a usable ROI."""

    stage = "validate"

    def requires(self):
        return ManifestFile(manifest=self.manifest)

    def significant(self) -> dict:
        case = self.case()
        hashes = content_hashes(self.root)
        return {"case": case.__dict__, "content": {"image": hashes.digest(case.image) if case.image else "",
                                                   "mask": hashes.digest(case.mask) if case.mask else ""}}

    def run(self):
        from radiomix.cohort import case as stages

        self.write(stages.run_stage("validate", self.case(), stages.validate))


@inherits(ValidateCase)
class RegisterCase(CaseTask):
    """Stage ``register``: alignment with the patient's reference modality; the image and ROI to extract."""

    reference_modality = luigi.Parameter(default="CT", description="modality every other one is registered to")
    registration = luigi.Parameter(default="", description="registration settings YAML (empty: defaults)")

    stage = "register"

    def requires(self):
        tasks = {"validated": self.clone(ValidateCase)}
        if self.modality != self.reference_modality and self.reference_present():
            tasks["reference"] = self.clone(RegisterCase, modality=self.reference_modality)
        return tasks

    def reference_present(self) -> bool:
        table = self.manifest_table
        return bool(((table["patient_id"] == self.patient_id) & (table["modality"] == self.reference_modality)).any())

    def significant(self) -> dict:
        settings = Path(self.registration).read_text() if self.registration else ""
        return {"reference_modality": self.reference_modality, "registration": settings}

    def run(self):
        from radiomix.cohort import case as stages

        inputs = self.input()
        validated = self.read_record(inputs["validated"])
        reference = self.read_record(inputs["reference"]) if "reference" in inputs else None
        outputs = {name: self.artifact(name) for name in ("image.nii.gz", "mask.nii.gz", "transform.tfm",
                                                           "check.png", "quality.json")}
        self.write(stages.run_stage("register", self.case(), stages.register, validated, reference=reference,
                                    reference_modality=self.reference_modality,
                                    settings_path=self.registration or None, outputs=outputs))


@inherits(RegisterCase)
class PreprocessCase(CaseTask):
    """Stage ``preprocess``: modality intensities (CT HU, MR normalisation, PET SUV)."""

    spec_dir = luigi.Parameter(default="", description="folder of <modality>.yaml specs (empty: the shipped "
                                                       "feature_specs/ of radiomix, whatever the current folder)")

    stage = "preprocess"

    def requires(self):
        return self.clone(RegisterCase)

    def spec_path(self) -> Path:
        return Path(self.spec_dir or SHIPPED_SPECS) / f"{self.modality.lower()}.yaml"

    def significant(self) -> dict:
        return {"intensity": load_modality_spec(self.spec_path()).intensity.__dict__}

    def run(self):
        from radiomix.cohort import case as stages

        self.write(stages.run_stage("preprocess", self.case(), stages.preprocess, *self.upstream_records(),
                                    spec=load_modality_spec(self.spec_path()), output=self.artifact("image.nii.gz")))


@inherits(PreprocessCase)
class ExtractCase(CaseTask):
    """Stage ``extract``: the case's tidy feature table."""

    stage = "extract"

    def requires(self):
        return self.clone(PreprocessCase)

    def significant(self) -> dict:
        return {"spec": load_modality_spec(self.clone(PreprocessCase).spec_path()).content_hash()}

    def run(self):
        from radiomix.cohort import case as stages

        spec = load_modality_spec(self.clone(PreprocessCase).spec_path())
        self.write(stages.run_stage("extract", self.case(), stages.extract, *self.upstream_records(),
                                    spec=spec, output=self.artifact("features.csv")))
