"""Manifest validation reports every problem at once; long -> wide, codebook, provenance."""

import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radiomix.cohort.manifest import ManifestError, read_manifest, validate_manifest
from radiomix.cohort.merge import codebook, to_wide
from radiomix.cohort.provenance import file_hash, provenance


def _write_image(path, spacing=(1.0, 1.0, 1.0), value=1):
    image = sitk.GetImageFromArray(np.full((4, 5, 6), value, np.int16))
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def test_every_problem_is_reported_at_once(tmp_path):
    _write_image(tmp_path / "ct.nii.gz")
    _write_image(tmp_path / "ct_mask.nii.gz")
    _write_image(tmp_path / "mr.nii.gz")
    _write_image(tmp_path / "mr_mask.nii.gz", spacing=(1.0, 1.0, 1.5))
    (tmp_path / "broken.nii.gz").write_bytes(b"not an image")
    rows = [
        "patient_id,modality,image,mask,site,weight_kg,injected_dose_bq,half_life_s,injection_time,series_time",
        "p1,CT,ct.nii.gz,ct_mask.nii.gz,A,,,,,",
        "p1,CT,ct.nii.gz,ct_mask.nii.gz,A,,,,,",
        "p1,MR,mr.nii.gz,mr_mask.nii.gz,A,,,,,",
        "p2,PET,ct.nii.gz,ct_mask.nii.gz,B,70,,6586.2,09:00:00,",
        "p3,XR,broken.nii.gz,missing.nii.gz,,,,,,",
    ]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    problems = [str(p) for p in validate_manifest(manifest)]
    expected = [
        "row 2 (p1, CT): duplicate of row 1",
        "row 3 (p1, MR): image and mask grids differ by 0.5 mm",
        "row 4 (p2, PET): PET image",
        "row 5 (p3, XR): unknown modality 'XR'",
        "row 5 (p3, XR): empty site",
        "row 5 (p3, XR): image file is not a readable image",
        "row 5 (p3, XR): mask file not found",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), f"{text!r} not in {problems}"
    pet_problem = next(p for p in problems if p.startswith("row 4"))
    assert "injected_dose_bq" in pet_problem and "series_time" in pet_problem and "injection_time" not in pet_problem
    assert len(problems) == len(expected)


def test_manifest_file_problems(tmp_path):
    assert "cannot read the manifest" in str(validate_manifest(tmp_path / "absent.csv")[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,image\np1,x.nii.gz\n")
    with pytest.raises(ManifestError, match="bad.csv.*missing required column"):
        read_manifest(bad)


def test_wide_and_codebook():
    long = pd.DataFrame({
        "patient_id": ["p1", "p1", "p2", "p2", "p1"],
        "modality": ["CT", "CT", "CT", "CT", "PET"],
        "feature": ["original_statistics_mean", "original_statistics_variance"] * 2 + ["original_statistics_mean"],
        "family": ["statistics"] * 5,
        "name": ["Mean intensity", "Intensity variance"] * 2 + ["Mean intensity"],
        "ibsi_code": ["Q4LE", "ECT3", "Q4LE", "ECT3", "Q4LE"],
        "aggregation": [""] * 5, "image_type": ["original"] * 5, "unit": ["I", "I^2", "I", "I^2", "I"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0],
    })
    wide = to_wide(long)
    assert list(wide.columns) == ["patient_id", "CT__original_statistics_mean", "CT__original_statistics_variance",
                                  "PET__original_statistics_mean"]
    assert wide.set_index("patient_id").loc["p2", "CT__original_statistics_variance"] == 4.0
    assert np.isnan(wide.set_index("patient_id").loc["p2", "PET__original_statistics_mean"])
    book = codebook(long)
    assert book["column"].tolist() == list(wide.columns[1:])
    assert book.set_index("column").loc["PET__original_statistics_mean", "ibsi_code"] == "Q4LE"


def test_provenance_is_json_and_hashes_content(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("a")
    assert file_hash(tmp_path / "a.txt") == file_hash(tmp_path / "b.txt")
    record = provenance({"CT": "abc"}, {"a.txt": file_hash(tmp_path / "a.txt")}, n_cases=1)
    assert json.loads(json.dumps(record))["spec_hashes"] == {"CT": "abc"}
    assert record["dependencies"]["numpy"] == np.__version__
