"""Any exception in a case's stage becomes a failure record; the cohort publishes everything else."""

from __future__ import annotations

import shutil

import luigi
import pandas as pd
import pytest

from radiomix.cohort.case import Case, run_stage
from radiomix.cohort.records import StageRecord
from radiomix.errors import UnreadableFileError
from radiomix.registration.errors import RegistrationError
from radiomix.synthetic import make_cohort

from conftest import REPO_ROOT

CASE = Case(patient_id="P7", modality="MR", image="/data/p7/mr.nii.gz", mask="/data/p7/mr_mask.nii.gz", site="A")


def _raise(error):
    def stage(case, *upstream, **kwargs):
        raise error
    return stage


def test_an_input_error_is_a_failure_naming_the_case_once():
    record = run_stage("validate", CASE, _raise(UnreadableFileError("is truncated", CASE.image)))
    assert not record.ok and record.stage == "validate" and record.error_type == "UnreadableFileError"
    assert record.message == "patient P7, MR: /data/p7/mr.nii.gz: is truncated"
    assert record.details == {"image": CASE.image, "mask": CASE.mask}


def test_an_error_that_names_the_patient_is_not_prefixed_again():
    record = run_stage("register", CASE, _raise(RegistrationError("no overlap", patient_id="P7", modality="MR")))
    assert record.message == "patient P7, modality MR: no overlap"
    assert record.message.count("P7") == 1


def test_an_error_naming_another_patient_with_a_longer_id_is_prefixed():
    record = run_stage("register", CASE, _raise(RegistrationError("no overlap", patient_id="P70", modality="MR")))
    assert record.message == "patient P7, MR: patient P70, modality MR: no overlap"


def test_an_os_error_is_an_input_failure_naming_the_file():
    error = PermissionError(13, "Permission denied", "/data/p7/mr.nii.gz")
    record = run_stage("validate", CASE, _raise(error))
    assert record.error_type == "PermissionError" and "/data/p7/mr.nii.gz" in record.message
    assert "bug" not in record.message


def test_an_unexpected_exception_is_recorded_as_a_bug_with_its_traceback(caplog):
    def broken_stage(case):
        return {}["missing key"]

    record = run_stage("extract", CASE, broken_stage)
    assert not record.ok and record.stage == "extract" and record.error_type == "KeyError"
    assert record.message.startswith("patient P7, MR: bug in radiomix (unexpected KeyError: 'missing key')")
    assert CASE.image in record.message and CASE.mask in record.message
    assert "broken_stage" in record.details["traceback"] and "KeyError" in record.details["traceback"]
    assert "broken_stage" in caplog.text
    assert record.failure_row()["message"] == record.message


def test_a_failed_upstream_record_is_passed_on_unchanged():
    failed = StageRecord("P7", "MR", "validate", False, error_type="UnreadableFileError", message="x")
    assert run_stage("register", CASE, _raise(AssertionError("must not run")), failed) is failed


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("small_cohort")
    manifest, clinical = make_cohort(root / "cohort", n_patients=2, seed=3)
    specs = root / "specs"
    specs.mkdir()
    for name in ("ct.yaml", "mr.yaml", "pet.yaml"):
        shutil.copy(REPO_ROOT / "feature_specs" / name, specs / name)
    return root, manifest, specs


def test_a_cohort_with_one_truncated_file_publishes_everything_else_and_the_failure(small_cohort):
    from pipelines.cohort import Failures, FeaturesLong

    root, manifest, specs = small_cohort
    table = pd.read_csv(manifest, dtype=str)
    patients = list(table["patient_id"].unique())
    truncated = table[(table.patient_id == patients[1]) & (table.modality == "MR")]["image"].iloc[0]
    content = open(truncated, "rb").read()
    with open(truncated, "wb") as stream:
        stream.write(content[: len(content) // 2])

    parameters = {"manifest": str(manifest), "workdir": str(root / "work"), "spec_dir": str(specs)}
    luigi.task_register.Register.clear_instance_cache()
    result = luigi.build([FeaturesLong(**parameters), Failures(**parameters)], local_scheduler=True, workers=1,
                         detailed_summary=True, log_level="WARNING")
    assert result.status == luigi.execution_summary.LuigiStatusCode.SUCCESS, result.summary_text

    failures = pd.read_csv(FeaturesLong(**parameters).output().path.replace("features_long", "failures"),
                           dtype=str)
    assert failures[["patient_id", "modality", "stage", "error_type"]].values.tolist() == [
        [patients[1], "MR", "validate", "UnreadableFileError"]]
    message = failures["message"].iloc[0]
    assert truncated in message and "truncated" in message and message.count(f"patient {patients[1]}") == 1
    long = pd.read_csv(FeaturesLong(**parameters).output().path, dtype={"patient_id": str})
    extracted = set(map(tuple, long[["patient_id", "modality"]].drop_duplicates().values.tolist()))
    assert extracted == {(p, m) for p in patients for m in ("CT", "MR", "PET")} - {(patients[1], "MR")}
