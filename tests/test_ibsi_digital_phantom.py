"""IBSI-1 digital phantom, end to end: file paths + the shipped spec -> every reference row."""

import subprocess
import sys

import pandas as pd
import pytest

import radiomix
from radiomix.extract import FAMILY_MODULES
from radiomix.features import registry

from conftest import REPO_ROOT, require_data
from ibsi_reference import misses, reference_rows

SPEC = REPO_ROOT / "feature_specs" / "ibsi" / "digital_phantom.yaml"

NO_DIGITAL_PHANTOM_REFERENCE = {
    "ZH1A", "IQYR",  # OMBB volume and area density: IBSI-1 gives no consensus value
    "SWZ1", "BRI8",  # MVEE volume and area density: IBSI-1 gives no consensus value
    "9CMM",  # area under the IVH curve: no consensus value in IBSI-1
}
"""Registered IBSI codes without a digital-phantom reference row, and why."""


@pytest.fixture(scope="module")
def phantom_table():
    folder = require_data("ibsi/digital_phantom")
    return radiomix.extract_features(str(folder / "image.nii.gz"), str(folder / "mask.nii.gz"), SPEC)


def test_every_digital_phantom_reference_row_is_reproduced(phantom_table):
    rows = reference_rows("digital_phantom")
    assert len(rows) == 482
    assert misses(phantom_table, rows) == []


def test_every_registered_ibsi_feature_has_a_reference():
    for module in FAMILY_MODULES.values():
        __import__(module)
    reference_codes = {row.ibsi_code for row in reference_rows("digital_phantom")}
    registered = {d.ibsi_code for d in registry.definitions() if d.ibsi_code}
    assert registered - reference_codes <= NO_DIGITAL_PHANTOM_REFERENCE, "registered without reference"
    assert reference_codes <= registered, "reference without feature"


def test_table_contract(phantom_table):
    assert {"feature", "family", "name", "ibsi_code", "aggregation", "image_type", "value"} <= set(phantom_table)
    assert phantom_table["feature"].is_unique
    assert set(phantom_table["image_type"]) == {"original"}
    undefined = phantom_table[phantom_table["value"].isna()]
    assert (undefined["status"] != "").all(), "a NaN value without a status"


def test_cli_writes_the_same_table(tmp_path, phantom_table):
    folder = require_data("ibsi/digital_phantom")
    output = tmp_path / "phantom.csv"
    run = subprocess.run([sys.executable, "-m", "radiomix.cli", "extract", str(folder / "image.nii.gz"),
                          str(folder / "mask.nii.gz"), "--spec", str(SPEC), "-o", str(output)],
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr
    written = pd.read_csv(output, keep_default_na=False, na_values=[""])
    assert written["feature"].tolist() == phantom_table["feature"].tolist()
    pd.testing.assert_series_equal(written["value"], phantom_table["value"], check_names=False)


def test_cli_reports_bad_input_in_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "radiomix.cli", "extract", str(tmp_path / "missing.nii.gz"),
                          str(tmp_path / "mask.nii.gz"), "--spec", str(SPEC), "-o", str(tmp_path / "o.csv")],
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert run.returncode == 2
    assert "missing.nii.gz" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "o.csv").exists()


def test_multiple_labels_in_one_call(tmp_path):
    import numpy as np
    import SimpleITK as sitk

    folder = require_data("ibsi/digital_phantom")
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkUInt8)
    array = sitk.GetArrayFromImage(mask)
    relabelled = np.where(array == 1, 1, 0).astype(np.uint8)
    relabelled[0][array[0] == 1] = 2  # the first slice's ROI becomes label 2
    labels = sitk.GetImageFromArray(relabelled)
    labels.CopyInformation(mask)
    path = tmp_path / "labels.nii.gz"
    sitk.WriteImage(labels, str(path))
    spec = {"discretisation": {"method": "none"}, "features": {"statistics": {}}}
    table = radiomix.extract_features(str(folder / "image.nii.gz"), str(path), spec, label="all")
    assert sorted(table["label"].unique()) == [1, 2]
    listed = radiomix.extract_features(str(folder / "image.nii.gz"), str(path), spec, label=[2])
    pd.testing.assert_frame_equal(listed, table[table["label"] == 2].reset_index(drop=True))


def test_every_roi_of_an_rtstruct_in_one_call():
    from radiomix.io.rtstruct import roi_names

    series = require_data("ibsi/ct_phantom/dicom/image")
    rtstruct = require_data("ibsi/ct_phantom/dicom/rtstruct")
    spec = {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}, "features": {"statistics": {}}}
    table = radiomix.extract_features(str(series), str(rtstruct), spec, label="all")
    assert list(table.columns[:1]) == ["roi"] and set(table["roi"]) == set(roi_names(rtstruct).values())
    single = radiomix.extract_features(str(series), str(rtstruct), spec, roi="GTV-1")
    gtv = table[table["roi"] == "GTV-1"].drop(columns="roi").reset_index(drop=True)
    pd.testing.assert_frame_equal(gtv, single)
