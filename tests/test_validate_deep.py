"""``radiomix validate`` checks that voxel data is complete; ``--deep`` reads every case like the run does."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from radiomix.cli import main
from radiomix.cohort.manifest import validate_manifest


def _write(path, array):
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path), useCompression=str(path).endswith(".gz"))
    return path


def _cohort(tmp_path):
    """Two good CT cases; returns the manifest path and the folder."""
    rng = np.random.default_rng(0)
    rows = ["patient_id,modality,image,mask,site"]
    for patient in ("p1", "p2"):
        image = rng.normal(40, 20, size=(10, 16, 16)).astype(np.int16)
        mask = np.zeros(image.shape, np.uint8)
        mask[3:7, 4:12, 4:12] = 1
        _write(tmp_path / f"{patient}_ct.nii.gz", image)
        _write(tmp_path / f"{patient}_mask.nii.gz", mask)
        rows.append(f"{patient},CT,{patient}_ct.nii.gz,{patient}_mask.nii.gz,A")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def test_a_truncated_image_is_reported_without_deep(tmp_path):
    manifest = _cohort(tmp_path)
    assert validate_manifest(manifest) == [] and validate_manifest(manifest, deep=True) == []
    image = tmp_path / "p2_ct.nii.gz"
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])
    problems = [str(p) for p in validate_manifest(manifest)]
    assert len(problems) == 1
    assert problems[0].startswith("row 2 (p2, CT): image file ") and "p2_ct.nii.gz: is truncated" in problems[0]


def test_deep_reads_the_voxels_and_the_roi(tmp_path):
    manifest = _cohort(tmp_path)
    _write(tmp_path / "p1_mask.nii.gz", np.zeros((10, 16, 16), np.uint8))
    assert validate_manifest(manifest) == []
    problems = [str(p) for p in validate_manifest(manifest, deep=True)]
    assert len(problems) == 1 and problems[0].startswith("row 1 (p1, CT): ") and "p1_mask.nii.gz" in problems[0]


def test_cli_validate_deep_exits_two_and_lists_the_problem(tmp_path, capsys):
    manifest = _cohort(tmp_path)
    _write(tmp_path / "p1_mask.nii.gz", np.zeros((10, 16, 16), np.uint8))
    assert main(["validate", str(manifest)]) == 0
    assert main(["validate", "--deep", str(manifest)]) == 2  # bad input (radiomix.cohort.console.EXIT_BAD_INPUT)
    output = capsys.readouterr().out
    assert "row 1 (p1, CT)" in output and "1 problem(s)" in output


def test_a_modality_without_its_own_roi_is_valid_while_the_patient_has_one(tmp_path):
    """An empty mask: the run maps the reference ROI onto that modality's grid (issue #15)."""
    manifest = _cohort(tmp_path)
    rng = np.random.default_rng(1)
    for patient in ("p1", "p2"):
        _write(tmp_path / f"{patient}_pet.nii.gz", rng.normal(2, 1, size=(10, 16, 16)).astype(np.float32))
    rows = manifest.read_text().splitlines()
    rows.append("p1,MR,p1_pet.nii.gz,,A")
    manifest.write_text("\n".join(rows) + "\n")
    assert validate_manifest(manifest, deep=True) == []
    # A patient with no ROI in any modality cannot be aligned or extracted.
    rows = [row for row in rows if not row.startswith("p2,")] + ["p2,MR,p2_pet.nii.gz,,A"]
    manifest.write_text("\n".join(rows) + "\n")
    problems = [str(p) for p in validate_manifest(manifest)]
    assert len(problems) == 1 and "p2, MR" in problems[0] and "no mask in any modality" in problems[0]
