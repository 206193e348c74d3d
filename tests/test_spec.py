"""Spec loading: types, defaults, unknown keys with suggestions, shipped specs."""

from pathlib import Path

import pytest

from radiomix.errors import SpecError
from radiomix.spec import GlcmSettings, Spec, load_spec

SPECS = Path(__file__).resolve().parents[1] / "feature_specs"


def test_defaults_enable_every_family():
    spec = load_spec({})
    assert list(spec.features.enabled()) == [
        "morphology", "local_intensity", "statistics", "histogram", "ivh",
        "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm"]
    assert spec.discretisation.method == "fixed_bin_number" and spec.discretisation.n_bins == 32


def test_listing_features_enables_only_those():
    spec = load_spec({"features": {"glcm": {"distance": 2}}})
    assert spec.features.enabled() == {"glcm": GlcmSettings(distance=2, symmetric=True)}


@pytest.mark.parametrize("data, expected", [
    ({"discretisaton": {}}, "did you mean 'discretisation'"),
    ({"features": {"glcm": {"distnce": 1}}}, "spec.features.glcm: unknown setting 'distnce'; did you mean 'distance'"),
    ({"discretisation": {"method": "fixed_bin_siz", "bin_width": 25}}, "did you mean 'fixed_bin_size'"),
    ({"features": {"glcmm": {}}}, "did you mean 'glcm'"),
])
def test_misspelled_keys_and_values_suggest_the_right_one(data, expected):
    with pytest.raises(SpecError, match=expected.replace("(", r"\(")):
        load_spec(data)


@pytest.mark.parametrize("data, expected", [
    ({"discretisation": {"method": "fixed_bin_size"}}, "set discretisation.bin_width"),
    ({"discretisation": {"method": "fixed_bin_number", "n_bins": None}}, "set discretisation.n_bins"),
    ({"features": {"glcm": {"distance": 1.5}}}, "expected an integer"),
    ({"features": {"glcm": {"symmetric": "yes"}}}, "expected true or false"),
    ({"resegmentation": {"range": [400, -500]}}, "lower bound 400"),
    ({"resegmentation": {"range": [-500]}}, "expected a list of 2 values"),
    ({"texture": {"dimensions": ["4D"]}}, "is not one of"),
    ({"texture": {"dimensions": []}}, "texture.dimensions is empty"),
    ({"features": {"ngtdm": {"distance": 0}}}, "features.ngtdm.distance must be at least 1"),
    ({"features": {"ivh": {"method": "fixed_bin_number"}}}, "set features.ivh.n_bins"),
])
def test_invalid_values_are_errors(data, expected):
    with pytest.raises(SpecError, match=expected):
        load_spec(data)


def test_spec_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("discretisation:\n  methd: none\n")
    with pytest.raises(SpecError, match=f"{path}.*did you mean 'method'"):
        load_spec(path)
    with pytest.raises(SpecError, match="cannot read spec file"):
        load_spec(tmp_path / "missing.yaml")
    path.write_text("- a list\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_pyradiomics_parameter_file_is_recognised_and_checked():
    from radiomix.pyradiomics.params import PyradiomicsSpec

    assert isinstance(load_spec({"imageType": {"Original": {}}, "setting": {"binWidth": 25}}), PyradiomicsSpec)
    with pytest.raises(SpecError, match="binWidth"):
        load_spec({"imageType": {"Original": {}}, "setting": {"binWidht": 25}})


def test_round_trip_and_hash_follow_content():
    spec = load_spec(SPECS / "ibsi" / "digital_phantom.yaml")
    again = load_spec(spec.to_dict())
    assert again == spec and again.content_hash() == spec.content_hash()
    changed = load_spec({**spec.to_dict(), "discretisation": {"method": "fixed_bin_number", "n_bins": 6}})
    assert changed.content_hash() != spec.content_hash()
    assert load_spec(spec) is spec and isinstance(spec, Spec)


@pytest.mark.parametrize("path", sorted(SPECS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(SPECS)))
def test_every_shipped_spec_loads(path):
    load_spec(path)
