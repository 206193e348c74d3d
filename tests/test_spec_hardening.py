"""Settings files: non-finite numbers, duplicate YAML keys and a negative peak radius are refused at load."""

from __future__ import annotations

import pytest

from radiomix.errors import SpecError
from radiomix.model.settings import load_evaluation_settings
from radiomix.safe_yaml import load_yaml
from radiomix.spec import load_spec

BINNING = "discretisation:\n  method: fixed_bin_size\n  bin_width: {}\n"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_non_finite_bin_width_is_refused_naming_the_file(tmp_path, value):
    path = tmp_path / "ct.yaml"
    path.write_text(BINNING.format(value))
    with pytest.raises(SpecError, match=r"ct\.yaml\.discretisation\.bin_width: expected a finite number"):
        load_spec(path)


def test_a_finite_bin_width_loads(tmp_path):
    path = tmp_path / "ct.yaml"
    path.write_text(BINNING.format(25))
    assert load_spec(path).discretisation.bin_width == 25.0


def test_a_duplicate_key_is_refused_naming_the_key_and_lines(tmp_path):
    path = tmp_path / "ct.yaml"
    path.write_text("discretisation:\n  method: fixed_bin_size\n  bin_width: 25\n  bin_width: 10\n")
    with pytest.raises(SpecError, match=r"(?s)ct\.yaml: not valid YAML .*duplicate key 'bin_width' \(first given on "
                                        r"line 3\)"):
        load_spec(path)


def test_a_duplicate_top_level_key_in_evaluation_settings_is_refused(tmp_path):
    path = tmp_path / "evaluation.yaml"
    path.write_text("n_repeats: 2\nn_outer_splits: 3\nn_repeats: 5\n")
    with pytest.raises(SpecError, match="duplicate key 'n_repeats'"):
        load_evaluation_settings(path)


def test_load_yaml_reads_what_safe_load_reads():
    text = "a: 1\nb: [1, 2.5, x]\nc: {d: null, e: true}\nf: &anchor {g: 1}\nh: *anchor\n"
    assert load_yaml(text) == {"a": 1, "b": [1, 2.5, "x"], "c": {"d": None, "e": True}, "f": {"g": 1},
                               "h": {"g": 1}}
    with pytest.raises(Exception, match="could not determine a constructor"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")


@pytest.mark.parametrize("radius", [-2.0, 0])
def test_a_non_positive_peak_radius_is_refused_at_load_naming_the_spec(tmp_path, radius):
    path = tmp_path / "pet.yaml"
    path.write_text(f"features:\n  local_intensity:\n    peak_radius_mm: {radius}\n")
    with pytest.raises(SpecError, match=r"pet\.yaml: features\.local_intensity\.peak_radius_mm must be positive"):
        load_spec(path)
