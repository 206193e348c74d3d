"""A spec file is parsed once per process while unchanged, and read again once edited."""

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


def test_mappings_are_not_cached():
    spec = {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}}
    assert _load_spec(spec) is not _load_spec(spec)
