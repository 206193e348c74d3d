"""First use: detection of an empty numba cache, the one-time warning, and ``radiomix warmup``'s progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from radiomix import warmup
from radiomix.cli import main
from radiomix.pyradiomics.params import load_pyradiomics_spec
from radiomix.spec import load_spec

from conftest import REPO_ROOT

REPO = Path(__file__).resolve().parents[1]


def test_an_empty_cache_is_detected_and_announced_once(tmp_path):
    # a fresh process with a new, empty NUMBA_CACHE_DIR: every filter kernel is missing (import only, no compiling)
    # (one compile job: the warning only, nothing compiled ahead)
    script = ("from radiomix import warmup\n"
              "from radiomix.spec import load_spec\n"
              "missing, total = warmup.uncompiled_kernels(warmup.KERNEL_GROUPS['ibsi'])\n"
              "print(len(missing), total)\n"
              "warmup.compile_if_cold(load_spec({}), None)\n"
              "warmup.compile_if_cold(load_spec({}), None)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO),
               RADIOMIX_COMPILE_JOBS="1")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    missing, total = map(int, done.stdout.split())
    assert total >= 3 and missing == total
    assert done.stderr.count("compiling numba kernels once (ibsi: ") == 1
    assert "radiomix warmup" in done.stderr


def test_kernels_are_counted_in_their_own_module_only():
    # spatial_autocorrelation defines three kernels; morphology's own do not include them
    missing, total = warmup.uncompiled_kernels(["radiomix.features.spatial_autocorrelation"])
    assert total == 3
    assert all(name.startswith("radiomix.features.spatial_autocorrelation._") for name in missing)
    _, morphology_total = warmup.uncompiled_kernels(["radiomix.features.morphology"])
    source = (REPO_ROOT / "radiomix" / "features" / "morphology.py").read_text()
    assert morphology_total == sum(line.startswith("@njit") for line in source.splitlines())


def test_warmup_reports_progress_and_silences_the_first_use_warning(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(warmup, "uncompiled_kernels", lambda modules: (["a", "b"], 3))
    monkeypatch.setattr(warmup, "run_unit", lambda unit: ran.append(unit.group))
    monkeypatch.setattr(warmup, "_notified", set())
    assert main(["warmup", "--only", "filters", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert ran and set(ran) == {"filters"}
    assert "compiling kernels once in this process, about a minute" in out
    assert "filters: 2 of 3 kernels to compile" in out
    assert "radiomix warmup: done in" in out
    assert "filters" in warmup._notified


def test_warmup_spreads_its_units_over_the_processes_asked_for(monkeypatch, capsys):
    shares = []
    monkeypatch.setattr(warmup, "uncompiled_kernels", lambda modules: (["a", "b"], 3))
    monkeypatch.setattr(warmup, "compile_in_processes",
                        lambda units, jobs, run_here=None: shares.append((units, jobs)) or [])
    monkeypatch.setattr(warmup, "run_unit", lambda unit: pytest.fail("nothing runs in-process when no process fails"))
    monkeypatch.setattr(warmup, "_notified", set())
    assert main(["warmup", "--only", "ibsi", "pyradiomics", "--jobs", "2"]) == 0
    (units, jobs), = shares
    assert jobs == 2 and {unit.group for unit in units} == {"ibsi", "pyradiomics"}
    assert "compiling kernels once in 2 processes" in capsys.readouterr().out


def test_ibsi_warm_up_compiles_the_variants_of_a_3d_extraction_from_a_float32_scan():
    # numba compiles a kernel per argument types: a first IBSI extraction in 3D alone of a float32 (or integer)
    # scan after `radiomix warmup` must find GLRLM's 13-direction variant and the writable-intensity sphere
    # means; checked in a fresh process, where no other test has compiled them
    script = ("from radiomix import warmup, parallel_compile\n"
              "from radiomix.features import glrlm, local_intensity\n"
              "units = [u for u in warmup.warmup_units(['ibsi'])\n"
              "         if u.name.split('/')[-1] in ('glrlm', 'local_intensity')]\n"
              "assert not parallel_compile.run_units(units)\n"
              "print(sorted({s[2].count for s in glrlm._run_length_kernel.signatures}),\n"
              "      any(s[0].mutable for s in local_intensity._sphere_means_block.signatures))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    directions, writable = done.stdout.rsplit("]", 1)
    assert 13 in [int(count) for count in directions.strip("[ ").split(",")]
    assert writable.strip() == "True"


def test_a_cache_without_the_optional_kernels_is_warm_for_extractions_that_do_not_use_them(monkeypatch):
    # every module's kernels cached except the optional ones (filters, MCC, shape2D, OMBB/MVEE)
    optional = {module for modules in warmup.OPTIONAL_KERNEL_MODULES.values() for module in modules}

    def uncompiled(modules):  # four kernels in each optional module, one in the others (as for pyradiomics')
        modules = list(modules)
        missing = [f"{module}.kernel{k}" for module in modules if module in optional for k in range(4)]
        return missing, len(missing) + sum(module not in optional for module in modules)

    monkeypatch.setattr(warmup, "uncompiled_kernels", uncompiled)
    defaults = load_pyradiomics_spec({"imageType": {"Original": {}}, "featureClass": {"firstorder": []}})
    assert warmup.kernel_options(defaults) == set()
    assert not warmup.is_cold("pyradiomics", warmup.kernel_options(defaults))[0]
    assert warmup.is_cold("pyradiomics")[0]  # the whole group: most of its modules are optional ones
    log = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.0]}, "Wavelet": {}},
                                 "featureClass": {"glcm": ["MCC"], "shape2D": []}, "setting": {"force2D": True}})
    assert warmup.kernel_options(log) == {"LoG", "Wavelet", "MCC", "shape2D"}
    assert warmup.is_cold("pyradiomics", warmup.kernel_options(log))[0]
    ibsi = load_spec({"features": {"morphology": {}, "glcm": {}}})
    assert warmup.kernel_options(ibsi) == set()
    boxes = load_spec({"features": {"morphology": {"unreferenced_ibsi_features": ["volume_density_mvee"]}}})
    named = load_spec({"features": {"morphology": {"ibsi_features": ["volume_mesh", "area_density_ombb"]}}})
    assert warmup.kernel_options(boxes) == warmup.kernel_options(named) == {"unreferenced morphology"}
