"""Scheduling a cohort does no extraction: Luigi's completeness checks only look for records."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import SimpleITK as sitk

from conftest import REPO_ROOT

PROBE = """
import sys
import radiomix.extract
from pipelines.case import ExtractCase

extractions = []
radiomix.extract.extract_features = lambda *arguments, **options: extractions.append(arguments)
task = ExtractCase(manifest=sys.argv[1], workdir=sys.argv[2], patient_id="p1", modality="CT")
print(task.complete(), len(extractions))
"""


def test_checking_whether_an_extraction_is_done_extracts_nothing(tmp_path):
    values = np.arange(6 * 6 * 6, dtype=np.float64).reshape(6, 6, 6)
    mask = np.zeros(values.shape, dtype=np.uint8)
    mask[1:5, 1:5, 1:5] = 1
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(tmp_path / "mask.nii.gz"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("patient_id,modality,image,mask,site\np1,CT,image.nii.gz,mask.nii.gz,A\n")
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", PROBE, str(manifest), str(tmp_path / "work")], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "0"]
    assert not list(tmp_path.rglob("extract-*"))
