"""``extract_features`` with a pyradiomics parameter file: pyradiomics' chain, names and labels."""

import pandas as pd

import radiomix
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.params import PyradiomicsSpec
from radiomix.spec import load_spec

from conftest import REPO_ROOT, require_data

DEFAULT = REPO_ROOT / "feature_specs" / "pyradiomics_default.yaml"


def test_a_parameter_file_is_loaded_as_a_pyradiomics_spec():
    assert isinstance(load_spec(DEFAULT), PyradiomicsSpec)


def test_extract_features_dispatches_to_the_pyradiomics_backend():
    cases = require_data("pyradiomics/cases")
    image, mask = str(cases / "brain1_image.nrrd"), str(cases / "brain1_label.nrrd")
    table = radiomix.extract_features(image, mask, DEFAULT)
    pd.testing.assert_frame_equal(table, extract_pyradiomics(image, mask, DEFAULT, label=1))
    assert "original_glcm_Contrast" in set(table["feature"])
    listed = radiomix.extract_features(image, mask, {"featureClass": {"firstorder": []}}, label=[1])
    assert listed.columns[0] == "label" and set(listed["label"]) == {1}


def test_an_rtstruct_roi_with_a_parameter_file():
    series = require_data("ibsi/ct_phantom/dicom/image")
    rtstruct = require_data("ibsi/ct_phantom/dicom/rtstruct")
    nifti = require_data("ibsi/ct_phantom/nifti")
    spec = {"featureClass": {"firstorder": [], "shape": ["MeshVolume"]}, "setting": {"binWidth": 25}}
    from_dicom = radiomix.extract_features(str(series), str(rtstruct), spec, roi="GTV-1").set_index("feature")
    from_nifti = radiomix.extract_features(str(nifti / "image.nii.gz"), str(nifti / "mask.nii.gz"), spec)
    values = from_nifti.set_index("feature")["value"]
    pd.testing.assert_series_equal(from_dicom["value"], values, rtol=1e-6, check_names=False)
