"""A spec file is parsed once per process while unchanged, and read again once edited."""

import pytest

from radiomix.errors import SpecError
from radiomix.extract import _load_spec


def test_spec_file_is_reparsed_only_when_changed(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("discretisation:\n  method: fixed_bin_number\n  n_bins: 8\n")
    first = _load_spec(path)
    assert _load_spec(str(path)) is first
    assert first.discretisation.n_bins == 8
    path.write_text("discretisation:\n  method: fixed_bin_number\n  n_bins: 16  # edited\n")
    edited = _load_spec(path)
    assert edited is not first and edited.discretisation.n_bins == 16


def test_a_mapping_is_parsed_once_per_content():
    spec = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}
    first = _load_spec(spec)
    assert _load_spec({"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}) is first
    spec["discretisation"]["n_bins"] = 16  # the same dict, edited: parsed again
    edited = _load_spec(spec)
    assert edited is not first and edited.discretisation.n_bins == 16 and first.discretisation.n_bins == 8


def test_a_mapping_json_does_not_hold_is_parsed_every_time():
    from types import MappingProxyType

    spec = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}
    read_only = MappingProxyType(spec)  # not JSON text: no content to cache it by
    first = _load_spec(read_only)
    assert first.discretisation.n_bins == 8 and _load_spec(read_only) is not first
    spec["discretisation"]["n_bins"] = 4
    assert _load_spec(read_only).discretisation.n_bins == 4


def test_a_tuple_and_a_list_are_told_apart():
    as_tuple = {"interpolation": {"spacing_mm": (2.0, 2.0, 2.0)}}
    as_list = {"interpolation": {"spacing_mm": [2.0, 2.0, 2.0]}}
    assert _load_spec(as_tuple) is not _load_spec(as_list)
    assert _load_spec(as_tuple).interpolation == _load_spec(as_list).interpolation


def test_an_invalid_mapping_is_an_error_every_time():
    for _ in range(2):
        with pytest.raises(SpecError, match="n_bins"):
            _load_spec({"discretisation": {"method": "fixed_bin_number", "n_binz": 8}})
