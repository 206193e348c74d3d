"""``radiomix index``: a DICOM export to a manifest (series, RTSTRUCT pairing, ROI pattern, pseudonyms)."""

import shutil

import pandas as pd
import pydicom
import pytest

from radiomix.cli import main
from radiomix.cohort.manifest import read_manifest, validate_manifest
from radiomix.errors import InputError
from radiomix.io.dicom_index import index_dicom, read_pseudonyms

from conftest import require_data


def test_index_of_sts_dicom_gives_one_row_per_patient_and_modality(tmp_path, capsys):
    root = require_data("sts_dicom").resolve()
    output = tmp_path / "manifest.csv"
    assert main(["index", str(root), "-o", str(output), "--roi", "gtv*"]) == 0
    table = read_manifest(output)
    assert len(table) == 9
    folders = {"CT": "CT", "PET": "PET", "MR": "MR_T1"}
    for row in table.itertuples():
        assert row.patient_id in {"STS_003", "STS_047", "STS_049"}
        assert row.roi == f"GTV_Mass_{folders[row.modality]}"
        assert row.image == str(root / row.patient_id / folders[row.modality] / "image")
        assert row.mask == str(root / row.patient_id / folders[row.modality] / "mask" / "RS.dcm")
    assert validate_manifest(output) == []


def _copy_patient(root, tmp_path, name="P1"):
    """CT and PET of STS_003 in another layout: series in one folder, their RTSTRUCTs together in another."""
    patient = tmp_path / "export" / name
    (patient / "structures").mkdir(parents=True)
    for folder in ("CT", "PET"):
        shutil.copytree(root / "STS_003" / folder / "image", patient / "study" / f"{folder.lower()}_series")
        shutil.copy(root / "STS_003" / folder / "mask" / "RS.dcm", patient / "structures" / f"rs_{folder}.dcm")
    return patient


def test_another_layout_pseudonyms_and_unpaired_series(tmp_path, capsys):
    root = require_data("sts_dicom")
    patient = _copy_patient(root, tmp_path, "Hospital folder 1")
    shutil.copytree(root / "STS_003" / "MR_T1" / "image", patient / "mr_without_structure")
    # a second ROI matching the pattern in the PET structure set
    structure = pydicom.dcmread(patient / "structures" / "rs_PET.dcm")
    extra = pydicom.Dataset()
    extra.ROINumber, extra.ROIName = 99, "GTV_Node"
    structure.StructureSetROISequence.append(extra)
    structure.save_as(patient / "structures" / "rs_PET.dcm")
    pseudonyms = tmp_path / "key.csv"
    pd.DataFrame({"folder": ["Hospital folder 1"], "patient_id": ["SITE-A-001"]}).to_csv(pseudonyms, index=False)

    index = index_dicom(tmp_path / "export", roi_pattern="GTV*",
                        pseudonyms={"Hospital folder 1": "SITE-A-001"})
    assert list(index.manifest["modality"]) == ["CT"] and list(index.manifest["patient_id"]) == ["SITE-A-001"]
    reasons = {problem.what: problem.reason for problem in index.unpaired}
    assert "matches 2 ROIs: GTV_Mass_PET, GTV_Node" in reasons["RTSTRUCT structures/rs_PET.dcm"]
    assert any("MR series in mr_without_structure" in what for what in reasons)
    assert all(problem.patient_id == "SITE-A-001" for problem in index.unpaired)

    output = tmp_path / "manifest.csv"
    assert main(["index", str(tmp_path / "export"), "-o", str(output), "--roi", "GTV*",
                 "--pseudonyms", str(pseudonyms)]) == 0
    written = pd.read_csv(output, dtype=str)
    assert list(written["patient_id"]) == ["SITE-A-001"]
    assert "STS_003" not in output.read_text()  # no DICOM patient tag reaches the manifest
    assert "GTV_Node" in capsys.readouterr().err


def test_nothing_usable_exits_non_zero(tmp_path, capsys):
    root = require_data("sts_dicom")
    patient = tmp_path / "export" / "P1"
    shutil.copytree(root / "STS_003" / "CT" / "image", patient / "ct")
    output = tmp_path / "manifest.csv"
    assert main(["index", str(tmp_path / "export"), "-o", str(output)]) == 2  # bad input
    assert not output.exists()
    assert "no RTSTRUCT or SEG" in capsys.readouterr().err


def test_unsafe_folder_names_need_pseudonyms(tmp_path):
    root = require_data("sts_dicom")
    _copy_patient(root, tmp_path, "..hidden")
    index = index_dicom(tmp_path / "export", roi_pattern="GTV*")
    assert index.manifest.empty
    assert "not a safe patient ID" in index.unpaired[0].reason
    key = tmp_path / "key.csv"
    key.write_text("folder,patient_id\n..hidden,../etc\n")
    with pytest.raises(InputError, match="not safe"):
        read_pseudonyms(key)
