"""What extraction loads: pydicom (~10 MiB resident) only when a DICOM file is actually read, and
pandas (~40 MiB) not with the feature spec.

Every row of ``make bench`` reports the process's peak memory, and a label-file extraction never
reads DICOM; the DICOM readers import pydicom on their first use instead of at module import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

REPOSITORY = Path(__file__).resolve().parents[1]


def _loaded_after(code: str, module: str = "pydicom") -> dict:
    """Whether ``module`` is loaded after ``code`` in a fresh interpreter (this worktree first on the path)."""
    script = ("import sys\n" + code + "\nimport json\n"
              f"print(json.dumps({{{module!r}: {module!r} in sys.modules}}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_extraction_modules_load_without_pydicom():
    loaded = _loaded_after("import radiomix.extract, radiomix.pyradiomics.extract, radiomix.preprocess\n"
                           "import radiomix.io.masks, radiomix.io.rtstruct, radiomix.io.seg, radiomix.io.dicom")
    assert loaded == {"pydicom": False}


def test_reading_label_files_loads_no_pydicom(tmp_path):
    voxels = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray((voxels > 40).astype(np.uint8)), str(tmp_path / "mask.nrrd"))
    loaded = _loaded_after(
        "from radiomix import io\n"
        f"image = io.read_image({str(tmp_path / 'image.nii.gz')!r})\n"
        f"assert io.mask_kind({str(tmp_path / 'mask.nrrd')!r}) == 'file'\n"
        f"mask = io.read_mask({str(tmp_path / 'mask.nrrd')!r}, reference=image)\n"
        "assert mask.GetSize() == (6, 5, 4)")
    assert loaded == {"pydicom": False}


def test_a_dicom_header_read_loads_pydicom_on_first_use(tmp_path):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.Modality, dataset.SeriesInstanceUID = CTImageStorage, "CT", "1.2.3"
    dataset.ImagePositionPatient, dataset.ImageOrientationPatient = [0, 0, 5], [1, 0, 0, 0, 1, 0]
    dataset.PixelSpacing, dataset.Rows, dataset.Columns = [0.5, 0.5], 2, 2
    dataset.RescaleSlope, dataset.RescaleIntercept = 2, -1024
    dataset.save_as(tmp_path / "slice.dcm", enforce_file_format=True)
    loaded = _loaded_after(
        "from radiomix.io.dicom import read_instance_header\n"
        "assert 'pydicom' not in sys.modules\n"
        f"header = read_instance_header({str(tmp_path / 'slice.dcm')!r})\n"
        "assert (header.modality, header.series_uid, header.position) == ('CT', '1.2.3', (0.0, 0.0, 5.0))\n"
        "assert (header.rows, header.rescale_slope, header.rescale_intercept) == (2, 2.0, -1024.0)")
    assert loaded == {"pydicom": True}


def test_the_spec_and_the_filter_settings_load_without_pandas():
    loaded = _loaded_after(
        "import radiomix.spec, radiomix.preprocess.filters.settings, radiomix.preprocess.discretisation", "pandas")
    assert loaded == {"pandas": False}


def test_preprocess_entries_resolve_on_first_use():
    import radiomix.preprocess as preprocess
    from radiomix.preprocess import intensity, suv

    assert preprocess.suv_image is suv.suv_image and preprocess.normalise_mr is intensity.normalise_mr
    assert sorted(preprocess.__all__) == ["body_mask", "ct_hu", "n4_bias_correction", "normalise_mr",
                                          "suv_image", "suv_parameters"]
    with pytest.raises(AttributeError, match="no attribute 'suv_imag'"):
        preprocess.suv_imag  # noqa: B018
