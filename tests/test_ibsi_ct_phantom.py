"""IBSI-1 CT phantom, configurations A and C, end to end from NIfTI and from DICOM + RTSTRUCT."""

import pytest

import radiomix

from conftest import REPO_ROOT, require_data
from ibsi_reference import misses, reference_rows

SPECS = REPO_ROOT / "feature_specs" / "ibsi"

KNOWN_DEVIATIONS = {
    "C": {"BQWJ", "25C7"},
}
"""Reference rows radiomix does not reproduce, by configuration and IBSI code, and why.

Config C, compactness 2 (BQWJ) and asphericity (25C7): both are functions of
sphericity (volume^2 / area^3), which is itself reproduced (0.7203 against
0.723 +/- 0.003), as are the mesh volume (367,290 mm^3 against 367,000 +/- 6,000)
and area (34,434 mm^2 against 34,300 +/- 400). Their tolerances are tighter
than the spread of the mesh area over the sub-voxel phase of the 2 mm grid:
shifting the grid by a quarter or half a voxel moves the area between 33,967
and 34,434 mm^2. radiomix places the grid by the IBSI rule (centred on the
original grid) and does not tune it to these two rows.
"""


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
    missed = misses(nifti_tables[config], rows)
    expected = KNOWN_DEVIATIONS.get(config, set())
    assert {line.split()[0] for line in missed} == expected, "\n".join(missed)


def test_config_c_from_dicom_series_and_rtstruct():
    series = require_data("ibsi/ct_phantom/dicom/image")
    rtstruct = require_data("ibsi/ct_phantom/dicom/rtstruct")
    table = radiomix.extract_features(str(series), str(rtstruct), SPECS / "config_C.yaml", roi="GTV-1")
    rows = reference_rows("config_C")
    missed = misses(table, rows)
    reproduced = 1 - len(missed) / len(rows)
    assert reproduced >= 0.97, f"{reproduced:.1%} of config C rows reproduced; misses:\n" + "\n".join(missed)
