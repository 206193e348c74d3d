"""The settings spine: one typed-settings builder below every layer, no import cycle through the feature spec."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from radiomix.errors import SpecError
from radiomix.typed_settings import build_settings, coerce, read_settings_file

REPOSITORY = Path(__file__).resolve().parents[1]

FEATURE_SPEC_MODULES = ("radiomix.spec", "radiomix.features", "radiomix.pyradiomics")
"""The feature spec and what it pulls in: the lower layers must import none of them."""

LOWER_LAYER_FILES = (
    "radiomix/typed_settings.py", "radiomix/safe_yaml.py", "radiomix/errors.py",
    "radiomix/preprocess/settings.py", "radiomix/preprocess/filters/settings.py",
    "radiomix/io/validation.py", "radiomix/io/masks.py", "radiomix/io/seg.py",
    "radiomix/model/settings.py", "radiomix/registration/settings.py",
)


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` statement of ``path`` names, at any depth (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _is_feature_spec(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FEATURE_SPEC_MODULES)


def _radiomix_modules_after(code: str) -> list[str]:
    """The radiomix modules loaded by running ``code`` in a fresh interpreter (this worktree first on the path)."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('radiomix'))))"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("relative", LOWER_LAYER_FILES)
def test_lower_layers_do_not_import_the_feature_spec_even_lazily(relative):
    imported = _imported_modules(REPOSITORY / relative)
    assert not [module for module in imported if _is_feature_spec(module)], relative


def test_io_model_and_registration_settings_load_without_the_feature_spec():
    loaded = _radiomix_modules_after(
        "import radiomix.io.masks, radiomix.io.seg, radiomix.io.validation, radiomix.io.images\n"
        "import radiomix.model.settings, radiomix.registration.settings, radiomix.preprocess.settings")
    assert "radiomix.io.masks" in loaded and "radiomix.registration.settings" in loaded
    assert [module for module in loaded if _is_feature_spec(module)] == []


def test_the_builder_depends_on_errors_and_yaml_reading_only():
    loaded = _radiomix_modules_after("import radiomix.typed_settings")
    assert set(loaded) == {"radiomix", "radiomix.errors", "radiomix.safe_yaml", "radiomix.typed_settings"}


def test_filter_settings_imported_first_then_the_spec_builds_filters():
    loaded = _radiomix_modules_after(
        "from radiomix.preprocess.filters.settings import parse_filter\n"
        "import sys\n"
        "assert 'radiomix.spec' not in sys.modules\n"
        "assert parse_filter({'mean': {'support': 5}}).support == 5\n"
        "from radiomix.spec import load_spec\n"
        "spec = load_spec({'filters': [{'log': {'sigma_mm': 1.5}}]})\n"
        "assert spec.filters[0].sigma_mm == 1.5")
    assert "radiomix.spec" in loaded


def test_spec_still_exports_every_settings_class():
    from radiomix import spec
    from radiomix.io.validation import MaskSettings
    from radiomix.preprocess import settings

    assert spec.MaskSettings is MaskSettings
    for name in ("IntensitySettings", "InterpolationSettings", "ResegmentationSettings", "DiscretisationSettings"):
        assert getattr(spec, name) is getattr(settings, name)
    assert spec.Spec().mask == MaskSettings()


Shape = Literal["ball", "cube"]


@dataclass(frozen=True)
class _Inner:
    radius_mm: float = 1.0


@dataclass(frozen=True)
class _Example:
    shape: Shape = "ball"
    count: int = 2
    sizes: tuple[float, ...] = ()
    inner: _Inner | None = _Inner()


def test_builder_checks_types_and_suggests_keys():
    built = build_settings(_Example, {"shape": "cube", "sizes": [1, 2.5], "inner": {"radius_mm": 3}}, "example")
    assert built == _Example("cube", 2, (1.0, 2.5), _Inner(3.0))
    assert isinstance(built.sizes[0], float) and isinstance(built.inner.radius_mm, float)
    assert build_settings(_Example, {"inner": None}, "example").inner is None
    with pytest.raises(SpecError, match=r"^example: unknown setting 'cout'; did you mean 'count'\?$"):
        build_settings(_Example, {"cout": 3}, "example")
    with pytest.raises(SpecError, match=r"^example: unknown key 'zzz'; valid keys: shape, count, sizes, inner$"):
        build_settings(_Example, {"zzz": 3}, "example", noun="key")
    with pytest.raises(SpecError, match=r"^example\.shape: 'cub' is not one of \['ball', 'cube'\]; did you mean"):
        build_settings(_Example, {"shape": "cub"}, "example")
    with pytest.raises(SpecError, match=r"^example\.inner\.radius_mm: expected a finite number"):
        build_settings(_Example, {"inner": {"radius_mm": float("nan")}}, "example")
    with pytest.raises(SpecError, match=r"^example\.count: expected an integer, got True"):
        coerce(int, True, "example.count")


def test_builder_base_and_parsers():
    base = _Example(shape="cube", count=7)

    def even(value, where):
        if value % 2:
            raise SpecError(f"{where}: must be even, got {value}")
        return value

    assert build_settings(_Example, {"count": 4}, "example", base=base, parsers={"count": even}) == \
        _Example("cube", 4)
    with pytest.raises(SpecError, match=r"^example\.count: must be even, got 3$"):
        build_settings(_Example, {"count": 3}, "example", parsers={"count": even})


def test_settings_files_refuse_duplicate_keys_and_name_the_file(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("count: 2\ncount: 3\n")
    with pytest.raises(SpecError, match=r"(?s)settings\.yaml: not valid YAML .*duplicate key 'count'"):
        read_settings_file(path)
    with pytest.raises(SpecError, match=r"absent\.yaml: cannot read registration file"):
        read_settings_file(tmp_path / "absent.yaml", "registration file")
    path.write_text("")
    assert read_settings_file(path) == {}


def test_pyradiomics_parameter_files_refuse_duplicate_keys(tmp_path):
    from radiomix.pyradiomics.params import load_pyradiomics_spec

    path = tmp_path / "params.yaml"
    path.write_text("setting:\n  binWidth: 25\n  binWidth: 10\n")
    with pytest.raises(SpecError, match=r"(?s)params\.yaml: not valid YAML .*duplicate key 'binWidth'"):
        load_pyradiomics_spec(path)
