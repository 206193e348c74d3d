"""Patient IDs and modalities name case folders: unsafe ones are refused where they enter."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.cli import main
from radiomix.cohort.identifiers import case_folder, check_identifier, identifier_problem
from radiomix.cohort.manifest import ManifestError, read_manifest, validate_manifest
from radiomix.errors import InputError

UNSAFE = ["../../etc/passwd", "/etc/passwd", "<script>alert(1)</script>", "a/b", "a\\b", "..", "p..1", "P 1",
          "-rf", ".hidden", "p1\n", "C:x", "x" * 65]


@pytest.mark.parametrize("value", UNSAFE)
def test_unsafe_identifiers_are_refused(value):
    assert identifier_problem(value, "patient_id") is not None
    with pytest.raises(InputError, match="patient_id"):
        check_identifier(value, "patient_id")


@pytest.mark.parametrize("value", ["SYN001", "sub-01", "STS_003", "p1.a", "7"])
def test_safe_identifiers_are_their_own_folder(tmp_path, value):
    assert case_folder(tmp_path, value, "CT") == tmp_path / "cases" / value / "CT"


@pytest.mark.parametrize("patient_id", ["../../outside", "/tmp/absolute", "<script>x</script>"])
def test_case_folder_never_leaves_the_workdir(tmp_path, patient_id):
    with pytest.raises(InputError):
        case_folder(tmp_path / "work", patient_id, "CT")
    with pytest.raises(InputError):
        case_folder(tmp_path / "work", "p1", patient_id)


def test_case_folder_refuses_a_symlink_out_of_the_workdir(tmp_path):
    (tmp_path / "work" / "cases").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "work" / "cases" / "p1").symlink_to(tmp_path / "outside")
    with pytest.raises(InputError, match="outside the work folder"):
        case_folder(tmp_path / "work", "p1", "CT")


def _manifest(tmp_path, patient_ids, modalities=None):
    image = sitk.GetImageFromArray(np.ones((3, 4, 5), np.int16))
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    modalities = modalities or ["CT"] * len(patient_ids)
    rows = ["patient_id,modality,image,mask,site"]
    rows += [f"{p},{m},ct.nii.gz,ct.nii.gz,A" for p, m in zip(patient_ids, modalities)]
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("patient_id", ["../../etc/passwd", "/abs/id", "<script>"])
def test_read_manifest_refuses_traversal_absolute_and_markup_ids(tmp_path, patient_id):
    manifest = _manifest(tmp_path, ["p1", patient_id])
    with pytest.raises(ManifestError, match=r"manifest\.csv: .*row 2 .*not a safe folder name"):
        read_manifest(manifest)
    problems = [str(p) for p in validate_manifest(manifest)]
    assert len(problems) == 1 and problems[0].startswith("row 2") and "not a safe folder name" in problems[0]


def test_an_unsafe_modality_is_refused(tmp_path):
    manifest = _manifest(tmp_path, ["p1", "p2"], ["CT", "../MR"])
    with pytest.raises(ManifestError, match=r"row 2 .*modality '../MR' is not a safe folder name"):
        read_manifest(manifest)


def test_duplicate_cases_are_an_error_when_the_manifest_is_read_for_a_run(tmp_path):
    manifest = _manifest(tmp_path, ["p1", "p2", "p1"])
    with pytest.raises(ManifestError, match=r"row 3 \(p1, CT\): duplicate of row 1"):
        read_manifest(manifest)


def test_ids_differing_only_in_case_are_refused(tmp_path):
    manifest = _manifest(tmp_path, ["p1", "P1"])
    with pytest.raises(ManifestError, match="only in letter case"):
        read_manifest(manifest)


def test_run_refuses_an_unsafe_manifest_before_starting_luigi(tmp_path, capsys):
    manifest = _manifest(tmp_path, ["../../escape"])
    workdir = tmp_path / "work"
    status = main(["run", "--manifest", str(manifest), "--clinical", str(manifest), "--outcome", "y",
                   "--workdir", str(workdir)])
    assert status == 2
    assert "not a safe folder name" in capsys.readouterr().err
    assert not workdir.exists() and not (tmp_path / "escape").exists()


def test_the_pipeline_case_folder_uses_the_checked_folder(tmp_path):
    pipelines_case = pytest.importorskip("pipelines.case")
    manifest = _manifest(tmp_path, ["p1"])
    task = pipelines_case.ValidateCase(manifest=str(manifest), workdir=str(tmp_path / "work"),
                                       patient_id="../../escape", modality="CT")
    with pytest.raises(InputError, match="not a safe folder name"):
        task.case_dir()
    good = pipelines_case.ValidateCase(manifest=str(manifest), workdir=str(tmp_path / "work"),
                                       patient_id="p1", modality="CT")
    assert good.case_dir() == tmp_path / "work" / "cases" / "p1" / "CT"
