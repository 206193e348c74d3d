"""A spec file is parsed once per process while unchanged, and read again once edited."""

import pytest

from radiomix.errors import SpecError
from radiomix.spec_cache import load_spec_cached


def test_spec_file_is_reparsed_only_when_changed(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("discretisation:\n  method: fixed_bin_number\n  n_bins: 8\n")
    first = load_spec_cached(path)
    assert load_spec_cached(str(path)) is first
    assert first.discretisation.n_bins == 8
    path.write_text("discretisation:\n  method: fixed_bin_number\n  n_bins: 16  # edited\n")
    edited = load_spec_cached(path)
    assert edited is not first and edited.discretisation.n_bins == 16


def test_a_mapping_is_parsed_once_per_content():
    spec = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}
    first = load_spec_cached(spec)
    assert load_spec_cached({"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}) is first
    spec["discretisation"]["n_bins"] = 16  # the same dict, edited: parsed again
    edited = load_spec_cached(spec)
    assert edited is not first and edited.discretisation.n_bins == 16 and first.discretisation.n_bins == 8


def test_a_mapping_json_does_not_hold_is_parsed_every_time():
    from types import MappingProxyType

    spec = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}
    read_only = MappingProxyType(spec)  # not JSON text: no content to cache it by
    first = load_spec_cached(read_only)
    assert first.discretisation.n_bins == 8 and load_spec_cached(read_only) is not first
    spec["discretisation"]["n_bins"] = 4
    assert load_spec_cached(read_only).discretisation.n_bins == 4


def test_a_tuple_and_a_list_are_told_apart():
    as_tuple = {"interpolation": {"spacing_mm": (2.0, 2.0, 2.0)}}
    as_list = {"interpolation": {"spacing_mm": [2.0, 2.0, 2.0]}}
    assert load_spec_cached(as_tuple) is not load_spec_cached(as_list)
    assert load_spec_cached(as_tuple).interpolation == load_spec_cached(as_list).interpolation


def test_an_invalid_mapping_is_an_error_every_time():
    for _ in range(2):
        with pytest.raises(SpecError, match="n_bins"):
            load_spec_cached({"discretisation": {"method": "fixed_bin_number", "n_binz": 8}})
