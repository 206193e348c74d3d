"""IBSI-1 CT phantom, configurations A and C, end to end from NIfTI and from DICOM + RTSTRUCT."""

import pytest

import radiomix
from conftest import REPO_ROOT, require_data
from ibsi_reference import misses, reference_rows

SPECS = REPO_ROOT / "feature_specs" / "ibsi"


@pytest.fixture(scope="module")
def nifti_tables():
    folder = require_data("ibsi/ct_phantom/nifti")
    return {config: radiomix.extract_features(str(folder / "image.nii.gz"), str(folder / "mask.nii.gz"),
                                              SPECS / f"config_{config}.yaml")
            for config in ("A", "C")}


@pytest.mark.parametrize("config", ["A", "C"])
def test_every_reference_row_from_nifti(nifti_tables, config):
    rows = reference_rows(f"config_{config}")
    assert rows, f"no reference rows for config {config}"
    assert misses(nifti_tables[config], rows) == []


def test_config_c_from_dicom_series_and_rtstruct():
    series = require_data("ibsi/ct_phantom/dicom/image")
    rtstruct = require_data("ibsi/ct_phantom/dicom/rtstruct")
    table = radiomix.extract_features(str(series), str(rtstruct), SPECS / "config_C.yaml", roi="GTV-1")
    rows = reference_rows("config_C")
    missed = misses(table, rows)
    reproduced = 1 - len(missed) / len(rows)
    assert reproduced >= 0.97, f"{reproduced:.1%} of config C rows reproduced; misses:\n" + "\n".join(missed)
