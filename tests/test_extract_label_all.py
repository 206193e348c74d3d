"""``label="all"`` on a mask without any region is an EmptyRoiError naming the mask."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.cli import main
from radiomix.errors import EmptyRoiError
from radiomix.extract import extract_features

from conftest import REPO_ROOT


def test_label_all_on_an_empty_mask_is_an_empty_roi_error(tmp_path, capsys):
    image = np.random.default_rng(0).normal(0, 10, (6, 8, 8)).astype(np.int16)
    sitk.WriteImage(sitk.GetImageFromArray(image), str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros(image.shape, np.uint8)), str(tmp_path / "empty.nii.gz"))
    spec = REPO_ROOT / "feature_specs" / "ct.yaml"
    with pytest.raises(EmptyRoiError, match=r"empty\.nii\.gz: holds no non-zero label"):
        extract_features(tmp_path / "ct.nii.gz", tmp_path / "empty.nii.gz", spec, label="all")
    status = main(["extract", str(tmp_path / "ct.nii.gz"), str(tmp_path / "empty.nii.gz"), "--spec", str(spec),
                   "--label", "all", "-o", str(tmp_path / "features.csv")])
    assert status == 2 and "holds no non-zero label" in capsys.readouterr().err
