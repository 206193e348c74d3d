"""pyradiomics parameter files: reading, validation with suggestions, defaults, the feature catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from radiomix.errors import SpecError
from radiomix.pyradiomics import mapping
from radiomix.pyradiomics.params import (
    GLOBAL_ONLY_SETTINGS,
    IMAGE_TYPES,
    PyradiomicsSettings,
    PyradiomicsSpec,
    is_pyradiomics_parameters,
    load_pyradiomics_spec,
)

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "feature_specs" / "pyradiomics_default.yaml"


def test_default_file_spells_out_pyradiomics_defaults():
    spec = load_pyradiomics_spec(DEFAULT_FILE)
    assert spec.settings == PyradiomicsSettings()
    written = yaml.safe_load(DEFAULT_FILE.read_text())["setting"]
    assert set(written) == set(PyradiomicsSettings.__dataclass_fields__), "every setting is written out"
    assert [it.name for it in spec.image_types] == ["Original"]
    assert [name for name, _ in spec.feature_classes] == ["shape", "firstorder", "glcm", "gldm", "glrlm",
                                                         "glszm", "ngtdm"]


def test_default_file_matches_the_installed_pyradiomics():
    featureextractor = pytest.importorskip("radiomics.featureextractor")
    extractor = featureextractor.RadiomicsFeatureExtractor(str(DEFAULT_FILE))
    ours = load_pyradiomics_spec(DEFAULT_FILE).settings
    for key, value in extractor.settings.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(ours, key) == expected, key
    no_parameters = featureextractor.RadiomicsFeatureExtractor()
    assert set(no_parameters.enabledFeatures) == {name for name, _ in load_pyradiomics_spec(DEFAULT_FILE)
                                                  .feature_classes}


def test_every_setting_of_pyradiomics_schema_is_a_field():
    radiomics = pytest.importorskip("radiomics")
    schema_file, _ = radiomics.getParameterValidationFiles()
    schema = yaml.safe_load(Path(schema_file).read_text())["mapping"]
    assert set(schema["setting"]["mapping"]) == set(PyradiomicsSettings.__dataclass_fields__)
    assert set(schema["voxelSetting"]["mapping"]) == {"kernelRadius", "maskedKernel", "initValue", "voxelBatch"}
    assert set(radiomics.getImageTypes()) == set(IMAGE_TYPES)


def test_feature_catalogue_is_pyradiomics_own():
    radiomics = pytest.importorskip("radiomics")
    classes = radiomics.getFeatureClasses()
    assert set(classes) == set(mapping.FEATURE_CLASSES)
    for name, feature_class in classes.items():
        names = feature_class.getFeatureNames()
        assert mapping.feature_names(name, include_deprecated=True) == tuple(sorted(
            names, key=lambda n: f"get{n}FeatureValue"))
        assert set(mapping.feature_names(name, include_deprecated=False)) == {
            n for n, deprecated in names.items() if not deprecated}


def test_mapping_codes_are_radiomix_registry_codes():
    import importlib

    from radiomix.features import registry

    for family in ("morphology", "statistics", "histogram", "glcm", "glrlm", "glszm", "ngtdm", "ngldm"):
        importlib.import_module(f"radiomix.features.{family}")
    known = {d.ibsi_code: d.name for d in registry.definitions()}
    for row in mapping.FEATURES:
        if row.ibsi_code:
            assert row.ibsi_code in known, row
            assert row.title == known[row.ibsi_code], (row.name, row.title, known[row.ibsi_code])


def test_empty_file_gives_original_and_every_class():
    spec = load_pyradiomics_spec({})
    assert spec == PyradiomicsSpec()
    assert [it.name for it in spec.image_types] == ["Original"]
    assert [name for name, _ in spec.feature_classes] == list(mapping.FEATURE_CLASSES)


def test_image_type_overrides_apply_to_that_image_type_only():
    spec = load_pyradiomics_spec({
        "setting": {"binWidth": 25, "distances": [1, 2]},
        "imageType": {"Original": {}, "LoG": {"sigma": [1, 2.5], "binWidth": 5}, "Wavelet": None},
    })
    original, log, wavelet = spec.image_types
    assert original.settings.binWidth == 25 and wavelet.settings.binWidth == 25
    assert log.settings.binWidth == 5 and log.settings.sigma == (1.0, 2.5)
    assert log.settings.distances == (1, 2) and log.overridden == ("sigma", "binWidth")
    assert spec.to_dict()["imageType"]["LoG"] == {"sigma": [1.0, 2.5], "binWidth": 5.0}


def test_to_dict_round_trips():
    spec = load_pyradiomics_spec({
        "setting": {"binCount": 32, "resampledPixelSpacing": [1, 1, 0], "interpolator": 2,
                    "resegmentRange": [-3, 3], "resegmentMode": "sigma"},
        "imageType": {"Original": {}, "Square": {"binWidth": 10}},
        "featureClass": {"glcm": ["Contrast", "Idmn"], "firstorder": None},
        "voxelSetting": {"kernelRadius": 2},
    })
    assert spec.settings.interpolator == "sitkLinear"
    assert load_pyradiomics_spec(spec.to_dict()) == PyradiomicsSpec(**{**spec.__dict__, "source": "dict"})


def test_enabled_features_follow_pyradiomics_rules():
    spec = load_pyradiomics_spec({"featureClass": {"glcm": [], "firstorder": ["StandardDeviation", "Mean"]}})
    assert spec.enabled_features("glcm") == mapping.feature_names("glcm", include_deprecated=False)
    assert "SumVariance" not in spec.enabled_features("glcm")
    assert spec.enabled_features("firstorder") == ("StandardDeviation", "Mean")
    assert spec.enabled_features("shape") == ()


@pytest.mark.parametrize("data, expected", [
    ({"settings": {}}, "top level: unknown key 'settings'; did you mean 'setting'?"),
    ({"setting": {"binwidth": 25}}, "setting: unknown key 'binwidth'; did you mean 'binWidth'?"),
    ({"setting": {"resegmentMod": "sigma"}}, "did you mean 'resegmentMode'?"),
    ({"imageType": {"Log": {}}}, "imageType: unknown image type 'Log'; did you mean 'LoG'?"),
    ({"imageType": {"Wavelett": {}}}, "did you mean 'Wavelet'?"),
    ({"featureClass": {"glcmm": []}}, "featureClass: unknown feature class 'glcmm'; did you mean 'glcm'?"),
    ({"voxelSetting": {"kernelRadious": 1}}, "did you mean 'kernelRadius'?"),
    ({"imageType": {"LoG": {"sigmas": [1]}}}, "imageType.LoG: unknown key 'sigmas'; did you mean 'sigma'?"),
])
def test_unknown_keys_suggest_the_right_one(data, expected):
    with pytest.raises(SpecError, match=re.escape(expected)):
        load_pyradiomics_spec(data)


def test_unknown_feature_names_the_valid_ones():
    with pytest.raises(SpecError) as error:
        load_pyradiomics_spec({"featureClass": {"glcm": ["Contrast", "Contrst"]}})
    message = str(error.value)
    assert "no feature 'Contrst' in class glcm; did you mean 'Contrast'?" in message
    for name in mapping.feature_names("glcm", include_deprecated=True):
        assert name in message


@pytest.mark.parametrize("data, expected", [
    ({"setting": {"binWidth": "25"}}, "setting.binWidth: expected a number"),
    ({"setting": {"binWidth": 0}}, "setting.binWidth: must be greater than 0"),
    ({"setting": {"binCount": 2.5}}, "setting.binCount: expected an integer"),
    ({"setting": {"distances": 1}}, "setting.distances: expected a list"),
    ({"setting": {"distances": [0]}}, "setting.distances[0]: must be greater than 0"),
    ({"setting": {"distances": [1, 2, 1]}}, "setting.distances: repeated values in [1, 2, 1]"),
    ({"setting": {"force2D": "yes"}}, "setting.force2D: expected true or false"),
    ({"setting": {"force2Ddimension": 3}}, "setting.force2Ddimension: must be at most 2"),
    ({"setting": {"minimumROIDimensions": 0}}, "must be at least 1"),
    ({"setting": {"resegmentRange": [1, 2, 3]}}, "setting.resegmentRange: expected 1 or 2 values"),
    ({"setting": {"resegmentMode": "sigmas"}}, "did you mean 'sigma'?"),
    ({"setting": {"interpolator": "sitkBspline"}}, "did you mean 'sitkBSpline'?"),
    ({"setting": {"interpolator": 11}}, "interpolator code must be 1-10"),
    ({"setting": {"weightingNorm": "euclidian"}}, "did you mean 'euclidean'?"),
    ({"setting": {"wavelet": "coif99"}}, "setting.wavelet: 'coif99' is not one of"),
    ({"featureClass": {"glcm": "Contrast"}}, "featureClass.glcm: expected a list of feature names"),
    ({"imageType": {"LoG": [1, 2]}}, "imageType.LoG: expected a mapping of settings"),
    ({"imageType": {"LoG": {"resampledPixelSpacing": [1, 1, 1]}}}, "move it to `setting`"),
    ({"setting": []}, "setting: expected a mapping"),
])
def test_invalid_values_are_errors(data, expected):
    with pytest.raises(SpecError, match=re.escape(expected)):
        load_pyradiomics_spec(data)


def test_global_only_settings_are_not_per_image_type():
    assert GLOBAL_ONLY_SETTINGS <= set(PyradiomicsSettings.__dataclass_fields__)
    assert not {"binWidth", "binCount", "sigma", "distances", "force2D"} & GLOBAL_ONLY_SETTINGS


def test_reads_yaml_and_json_files(tmp_path):
    params = {"setting": {"binWidth": 10}, "imageType": {"LoG": {"sigma": [2.0]}}}
    yaml_file = tmp_path / "params.yaml"
    yaml_file.write_text(yaml.safe_dump(params))
    json_file = tmp_path / "params.json"
    json_file.write_text(json.dumps(params))
    from_yaml = load_pyradiomics_spec(yaml_file)
    from_json = load_pyradiomics_spec(json_file)
    assert from_yaml.settings == from_json.settings and from_yaml.image_types == from_json.image_types
    assert from_yaml.source == str(yaml_file)


def test_file_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("setting: [unclosed\n")
    with pytest.raises(SpecError, match=re.escape(str(broken)) + ": not valid YAML"):
        load_pyradiomics_spec(broken)
    misspelled = tmp_path / "misspelled.json"
    misspelled.write_text(json.dumps({"setting": {"binWdth": 5}}))
    with pytest.raises(SpecError, match=re.escape(str(misspelled)) + ": setting: unknown key 'binWdth'"):
        load_pyradiomics_spec(misspelled)
    with pytest.raises(SpecError, match="cannot read parameter file"):
        load_pyradiomics_spec(tmp_path / "absent.yaml")


def test_recognises_pyradiomics_parameters():
    assert is_pyradiomics_parameters({"setting": {}})
    assert is_pyradiomics_parameters(yaml.safe_load(DEFAULT_FILE.read_text()))
    assert not is_pyradiomics_parameters({"discretisation": {}})
    assert not is_pyradiomics_parameters(["setting"])


def test_spec_is_frozen_and_hashable():
    spec = load_pyradiomics_spec(DEFAULT_FILE)
    with pytest.raises(AttributeError):
        spec.settings.binWidth = 5
    assert hash(spec) == hash(load_pyradiomics_spec(DEFAULT_FILE))
    assert spec.content_hash() == load_pyradiomics_spec(spec.to_dict()).content_hash()
    assert spec.content_hash() != load_pyradiomics_spec({"setting": {"binWidth": 5}}).content_hash()


def test_documented_mapping_table_is_the_mapping():
    document = (Path(__file__).resolve().parents[1] / "docs" / "pyradiomics.md").read_text()
    rows = [line for line in document.splitlines() if line.startswith("| `") and line.count("|") == 7]
    assert len(rows) == len(mapping.FEATURES)
    for line, row in zip(rows, mapping.FEATURES):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells == [f"`{row.feature_class}_{row.name}`", row.title, row.ibsi_code or "-", row.unit,
                         row.status, row.difference or "-"]
