"""``radiomix extract-batch``: many cases in one process (or a few), one bad case never stopping the others."""

from __future__ import annotations

import io as text_io
import os

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from radiomix import batch
from radiomix.batch import CaseListError, extract_batch, read_case_list, run_batch
from radiomix.cli import main
from radiomix.extract import extract_features

SPEC = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8},
        "features": {"statistics": {}, "glcm": {}, "morphology": {}}}
"""A small, fast IBSI spec (no resampling)."""


def _write_case(folder, name, seed, shape=(6, 9, 10), spacing=(1.0, 1.0, 2.0), labels=(1,)):
    """An image of random integers and a mask with a box per label; returns (image, mask) paths."""
    rng = np.random.default_rng(seed)
    image = sitk.GetImageFromArray(rng.integers(0, 60, shape).astype(np.int16))
    image.SetSpacing((1.0, 1.0, 2.0))
    mask_array = np.zeros(shape, np.uint8)
    for number, label in enumerate(labels):
        mask_array[1 + number:4 + number, 2:7, 2 + 3 * number:5 + 3 * number] = label
    mask = sitk.GetImageFromArray(mask_array)
    mask.SetSpacing(spacing)
    folder.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(folder / f"{name}_image.nii.gz"))
    sitk.WriteImage(mask, str(folder / f"{name}_mask.nii.gz"))
    return folder / f"{name}_image.nii.gz", folder / f"{name}_mask.nii.gz"


@pytest.fixture
def cohort(tmp_path):
    """Three good cases (one with two labels), paths relative to the case list; the spec file."""
    for name, seed in (("a", 0), ("b", 1)):
        _write_case(tmp_path / "images", name, seed)
    _write_case(tmp_path / "images", "c", 2, labels=(1, 2))
    case_list = tmp_path / "cases.csv"
    case_list.write_text("case_id,image,mask,label\n"
                         "P1,images/a_image.nii.gz,images/a_mask.nii.gz,\n"
                         "P2,images/b_image.nii.gz,images/b_mask.nii.gz,1\n"
                         "P3,images/c_image.nii.gz,images/c_mask.nii.gz,\"1,2\"\n", encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    return case_list, spec


def test_every_case_equals_its_own_extraction_and_paths_are_relative_to_the_case_list(cohort, tmp_path,
                                                                                         monkeypatch):
    case_list, spec = cohort
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative paths resolve against the case list's folder, not the working folder
    stream = text_io.StringIO()
    result = extract_batch(read_case_list(case_list), spec, stream=stream)
    assert result.exit_status == 0 and result.failures.empty
    features = result.features
    assert list(features.columns[:2]) == ["case_id", "label"]
    for case_id, name, label in (("P1", "a", 1), ("P2", "b", 1), ("P3", "c", [1, 2])):
        own = extract_features(tmp_path / "images" / f"{name}_image.nii.gz",
                               tmp_path / "images" / f"{name}_mask.nii.gz", spec, label=label)
        if "label" not in own.columns:
            own = own.assign(label=label)
        rows = features[features["case_id"] == case_id].drop(columns="case_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, own[rows.columns].reset_index(drop=True), check_dtype=False)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("[1/3] P1: ") and "values" in lines[0]


def test_the_wide_table_has_one_row_per_case_and_region_prefixes_when_a_case_has_several(cohort):
    case_list, spec = cohort
    result = extract_batch(read_case_list(case_list), spec, stream=text_io.StringIO())
    wide = result.wide
    assert list(wide["case_id"]) == ["P1", "P2", "P3"]
    long = result.features
    one = long[(long["case_id"] == "P3") & (long["label"] == 2)].iloc[0]
    assert wide.loc[2, f"label2__{one['feature']}"] == one["value"]
    assert np.isnan(wide.loc[0, f"label2__{one['feature']}"])  # P1 has no label 2
    single = extract_batch(read_case_list(case_list)[:2], spec, stream=text_io.StringIO()).wide
    first = long[long["case_id"] == "P2"].iloc[0]
    assert single.loc[1, first["feature"]] == first["value"]  # one region per case: plain feature names


def test_bad_cases_are_listed_with_file_and_reason_while_the_others_are_written(cohort, tmp_path, capsys):
    case_list, spec = cohort
    _write_case(tmp_path / "images", "shifted", 3, spacing=(1.0, 1.0, 3.0))
    (tmp_path / "images" / "broken.nii.gz").write_bytes(b"not an image")
    case_list.write_text(case_list.read_text() +
                         "P4,images/missing.nii.gz,images/a_mask.nii.gz,\n"  # no such file
                         "P5,images/a_image.nii.gz,images/a_mask.nii.gz,7\n"  # absent label
                         "P6,images/shifted_image.nii.gz,images/shifted_mask.nii.gz,\n"  # mask grid differs
                         "P7,images/broken.nii.gz,images/a_mask.nii.gz,\n", encoding="utf-8")  # unreadable
    output = tmp_path / "out" / "features.csv"
    status = main(["extract-batch", str(case_list), "--spec", str(spec), "-o", str(output),
                   "--wide", str(tmp_path / "out" / "wide.csv")])
    assert status == 1
    features = pd.read_csv(output)
    assert sorted(features["case_id"].unique()) == ["P1", "P2", "P3"]
    assert list(pd.read_csv(tmp_path / "out" / "wide.csv")["case_id"]) == ["P1", "P2", "P3"]
    failures = pd.read_csv(tmp_path / "out" / "features_failures.csv", keep_default_na=False).set_index("case_id")
    assert list(failures.index) == ["P4", "P5", "P6", "P7"]
    assert failures.loc["P4", "file"].endswith("missing.nii.gz")
    assert failures.loc["P5", "error_type"] == "LabelAbsentError" and "7" in failures.loc["P5", "message"]
    assert failures.loc["P6", "error_type"] == "GeometryMismatchError"
    assert failures.loc["P7", "file"].endswith("broken.nii.gz")
    assert all(failures["message"].str.len() > 0)
    out = capsys.readouterr().out
    assert "P5: FAILED (LabelAbsentError)" in out and "7 cases" in out and "4 failed" in out
    assert not list((tmp_path / "out").glob(".tmp-*"))  # written atomically: no temporary left


def test_an_empty_roi_is_a_failure_of_its_case(cohort, tmp_path):
    case_list, spec = cohort
    image = sitk.ReadImage(str(tmp_path / "images" / "a_image.nii.gz"))
    empty = sitk.Image(image.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(image)
    sitk.WriteImage(empty, str(tmp_path / "images" / "empty_mask.nii.gz"))
    case_list.write_text(case_list.read_text() + "P8,images/a_image.nii.gz,images/empty_mask.nii.gz,all\n")
    result = extract_batch(read_case_list(case_list), spec, stream=text_io.StringIO())
    assert result.exit_status == 1 and list(result.failures["case_id"]) == ["P8"]
    assert result.failures.loc[0, "error_type"] == "EmptyRoiError"
    assert result.failures.loc[0, "file"].endswith("empty_mask.nii.gz")


def test_a_bug_in_one_case_is_reported_with_its_traceback_and_status_3(cohort, tmp_path, monkeypatch, capsys):
    case_list, spec = cohort

    def failing_on_b(image, mask, spec, label=1, roi=None):
        if "b_image" in str(image):
            raise ZeroDivisionError("division by zero")
        return extract_features(image, mask, spec, label=label, roi=roi)

    monkeypatch.setattr(batch, "extract_features", failing_on_b)
    status = run_batch(case_list, spec, tmp_path / "features.csv", stream=text_io.StringIO())
    assert status == 3
    failures = pd.read_csv(tmp_path / "features_failures.csv")
    assert list(failures["case_id"]) == ["P2"] and failures.loc[0, "message"].startswith("bug in radiomix")
    assert "Traceback" in capsys.readouterr().err
    assert sorted(pd.read_csv(tmp_path / "features.csv")["case_id"].unique()) == ["P1", "P3"]


def test_two_workers_give_the_same_tables_as_one(cohort, tmp_path):
    case_list, spec = cohort
    case_list.write_text(case_list.read_text() + "P9,images/a_image.nii.gz,images/a_mask.nii.gz,5\n")
    one = extract_batch(read_case_list(case_list), spec, workers=1, stream=text_io.StringIO())
    two = extract_batch(read_case_list(case_list), spec, workers=2, stream=text_io.StringIO())
    pd.testing.assert_frame_equal(one.features, two.features)
    pd.testing.assert_frame_equal(one.wide, two.wide)
    pd.testing.assert_frame_equal(one.failures, two.failures)
    assert one.exit_status == two.exit_status == 1


@pytest.mark.parametrize(("header", "expected"), [
    ("case_id,imagee,mask", r"missing column 'image' \(is 'imagee' meant to be it\?\).*unknown column 'imagee'; "
                            r"did you mean 'image'\?"),
    ("case_id,image,mask,lable", r"unknown column 'lable'; did you mean 'label'\?"),
    ("patient,image,mask", r"missing column 'case_id'.*unknown column 'patient'"),
])
def test_column_errors_name_the_column_and_suggest_the_right_one(tmp_path, capsys, header, expected):
    case_list = tmp_path / "cases.csv"
    case_list.write_text(header + "\nP1,a.nii.gz,b.nii.gz\n", encoding="utf-8")
    with pytest.raises(CaseListError, match=expected):
        read_case_list(case_list)
    status = main(["extract-batch", str(case_list), "--spec", "unused.yaml", "-o", str(tmp_path / "f.csv")])
    assert status == 2 and "cases.csv" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()


def test_row_problems_are_all_named_at_once(tmp_path):
    case_list = tmp_path / "cases.csv"
    case_list.write_text("case_id,image,mask,label\nP1,a.nii.gz,b.nii.gz,one\nP1,a.nii.gz,,\n"
                         "../x,a.nii.gz,b.nii.gz,\n", encoding="utf-8")
    with pytest.raises(CaseListError) as caught:
        read_case_list(case_list)
    message = str(caught.value)
    assert "row 1 (P1): label 'one'" in message and "row 2 (P1): duplicate case_id 'P1' (row 1)" in message
    assert "row 2 (P1): empty mask path" in message and "row 3 (../x): case_id" in message


def test_a_bad_spec_stops_before_any_case(cohort, tmp_path, capsys):
    case_list, _ = cohort
    spec = tmp_path / "bad.yaml"
    spec.write_text("discretisaton: {}\n", encoding="utf-8")
    status = main(["extract-batch", str(case_list), "--spec", str(spec), "-o", str(tmp_path / "f.csv")])
    assert status == 2 and "discretisation" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_a_worker_that_dies_fails_its_unfinished_cases_and_keeps_the_finished_ones(cohort, monkeypatch):
    case_list, spec = cohort
    parent = os.getpid()

    def dying_in_a_worker(image, mask, spec, label=1, roi=None):
        if os.getpid() != parent:
            os._exit(1)  # as a worker killed by the out-of-memory killer
        return extract_features(image, mask, spec, label=label, roi=roi)

    monkeypatch.setattr(batch, "extract_features", dying_in_a_worker)
    result = extract_batch(read_case_list(case_list), spec, workers=2, stream=text_io.StringIO())
    assert list(result.features["case_id"].unique()) == ["P1"]  # extracted before the workers started
    assert list(result.failures["case_id"]) == ["P2", "P3"]
    assert set(result.failures["error_type"]) == {"BrokenProcessPool"} and result.exit_status == 1
    assert result.failures["message"].str.contains("ended abruptly").all()


def test_dicom_cases_are_named_by_the_case_list_only(tmp_path):
    from conftest import require_data

    series = require_data("sts_dicom/STS_003/PET")
    case_list = tmp_path / "cases.csv"
    case_list.write_text(f"case_id,image,mask,roi\ncase7,{series / 'image'},{series / 'mask' / 'RS.dcm'},"
                         "GTV_Mass_PET\n", encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    status = run_batch(case_list, spec, tmp_path / "features.csv", wide=tmp_path / "wide.csv",
                       stream=text_io.StringIO())
    assert status == 0
    features = pd.read_csv(tmp_path / "features.csv")
    assert set(features["case_id"]) == {"case7"} and set(features["roi"]) == {"GTV_Mass_PET"}
    for output in ("features.csv", "wide.csv"):
        assert "STS" not in (tmp_path / output).read_text(encoding="utf-8")  # no DICOM patient name or ID


def test_a_case_too_large_for_the_memory_is_a_failure_not_a_bug(cohort, monkeypatch):
    case_list, spec = cohort

    def out_of_memory_on_c(image, mask, spec, label=1, roi=None):
        if "c_image" in str(image):
            raise MemoryError
        return extract_features(image, mask, spec, label=label, roi=roi)

    monkeypatch.setattr(batch, "extract_features", out_of_memory_on_c)
    result = extract_batch(read_case_list(case_list), spec, stream=text_io.StringIO())
    assert result.exit_status == 1 and list(result.failures["case_id"]) == ["P3"]
    assert result.failures.loc[0, "message"].startswith("out of memory while extracting image")
