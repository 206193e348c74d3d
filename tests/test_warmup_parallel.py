"""Parallel first-use compiling: the split into units and processes, failing processes, and the cache locks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.core import caching

from radiomix import _numba, parallel_compile, warmup
from radiomix.errors import SpecError
from radiomix.extract import FAMILY_MODULES
from radiomix.parallel_compile import CompileUnit, balance
from radiomix.spec import load_spec

from conftest import REPO_ROOT


@settings(max_examples=60, deadline=None)
@given(seconds=st.lists(st.floats(0.05, 20.0), min_size=0, max_size=30), jobs=st.integers(1, 8),
       first_started=st.booleans(), data=st.data())
def test_balance_puts_every_unit_in_exactly_one_share(seconds, jobs, first_started, data):
    table = {f"ibsi/u{index}": value for index, value in enumerate(seconds)}
    affinities = data.draw(st.lists(st.sampled_from(["", "a", "b"]), min_size=len(seconds), max_size=len(seconds)))
    units = [CompileUnit(f"ibsi/u{index}", "ibsi", {}, affinity=affinity)
             for index, affinity in enumerate(affinities)]
    original = dict(parallel_compile.UNIT_SECONDS)
    parallel_compile.UNIT_SECONDS.update(table)
    try:
        shares = balance(units, jobs, first_started)
    finally:
        parallel_compile.UNIT_SECONDS.clear()
        parallel_compile.UNIT_SECONDS.update(original)
    names = sorted(unit.name for share in shares for unit in share)
    assert names == sorted(unit.name for unit in units)
    assert len(shares) <= jobs and all(shares[1:] if first_started else shares)
    if first_started:
        assert shares  # the calling process' share comes first, even empty
    for affinity in ("a", "b"):  # the units of one affinity in one share
        assert sum(any(unit.affinity == affinity for unit in share) for share in shares) <= 1
    # greedy longest-first: no process ends more than its own smallest bundle after the least loaded one
    loads = [sum(table[unit.name] for unit in share) for share in shares]
    loads = [load + (0.0 if first_started and index == 0 else parallel_compile.PROCESS_START_SECONDS)
             for index, load in enumerate(loads)]
    for load, share in zip(loads, shares):
        bundles = {}
        for unit in share:
            bundles[unit.affinity or unit.name] = bundles.get(unit.affinity or unit.name, 0.0) + table[unit.name]
        if share:
            assert load - min(loads) <= min(bundles.values()) + 1e-9


def test_a_spec_gives_one_unit_per_family_or_cluster_with_its_own_settings():
    spec = load_spec(REPO_ROOT / "feature_specs" / "ibsi" / "config_C.yaml")
    units = warmup.spec_units(spec, "int16")
    assert [unit.name for unit in units] == [
        "ibsi/morphology", "ibsi/local_intensity", "ibsi/statistics+histogram+ivh", "ibsi/glcm", "ibsi/glrlm",
        "ibsi/glszm+gldzm", "ibsi/ngtdm+ngldm"]
    covered = []
    for unit in units:
        families = unit.name.split("/")[1].split("+")
        alone = load_spec(unit.spec)  # a valid spec, with those families alone
        assert list(alone.features.enabled()) == families
        assert all(alone.features.enabled()[name] == spec.features.enabled()[name] for name in families)
        assert alone.interpolation == spec.interpolation and alone.discretisation == spec.discretisation
        assert unit.pixel_type == "int16"
        # resampled (0.8 x the 2 mm target), intensities inside the re-segmentation range [-1000, 400]
        assert unit.spacing_mm == pytest.approx((1.6, 1.6, 1.6)) and unit.value_range == (-1000, 400)
        covered += families
    assert sorted(covered) == sorted(spec.features.enabled())


def test_families_sharing_kernels_are_clustered_in_their_order_and_cost_their_dearest_one():
    assert parallel_compile.cluster_families(["ivh", "glcm", "statistics", "gldzm"], "ibsi") == [
        ("ivh", "statistics"), ("glcm",), ("gldzm",)]
    assert parallel_compile.cluster_families(["ngtdm", "gldm", "ngldm"], "pyradiomics") == [
        ("ngtdm", "gldm"), ("ngldm",)]
    unit = CompileUnit("ibsi/float64/statistics+histogram+ivh", "ibsi", {})  # a cluster not listed by name
    table = parallel_compile.UNIT_SECONDS
    assert unit.name not in table
    assert unit.seconds == pytest.approx(max(table["ibsi/statistics"], table["ibsi/histogram"], table["ibsi/ivh"])
                                         + 2 * parallel_compile.CLUSTER_MEMBER_SECONDS)
    assert CompileUnit("ibsi/glszm+gldzm", "ibsi", {}).seconds == table["ibsi/glszm+gldzm"]  # listed by name
    assert CompileUnit("pyradiomics/glcm", "pyradiomics", {}).seconds == table["pyradiomics/glcm"]
    assert CompileUnit("filters/0/log", "filters", {}).seconds == table["filters/log"]
    assert CompileUnit("filters/0/new_kind", "filters", {}).seconds == parallel_compile.DEFAULT_UNIT_SECONDS
    assert CompileUnit("ibsi/float32/morphology", "ibsi", {}).seconds == table["ibsi/float32/morphology"]


def test_without_discretisation_the_synthetic_intensities_are_grey_levels_from_1(monkeypatch):
    spec = load_spec(REPO_ROOT / "feature_specs" / "ibsi" / "digital_phantom.yaml")
    assert spec.discretisation.method == "none"
    unit, = [unit for unit in warmup.spec_units(spec, "float64") if "histogram" in unit.spec["features"]]
    assert unit.value_range[0] >= 1
    monkeypatch.setattr(warmup, "_notified", set(warmup.KERNEL_GROUPS))  # no compile processes from this test
    assert not parallel_compile.run_units([unit])  # it discretises (here: checks the grey levels) without error


def test_filters_and_pyradiomics_classes_are_units_of_their_own():
    spec = load_spec({"features": {"statistics": {}, "glcm": {}},
                      "filters": [{"mean": {"support": 3}}, {"log": {"sigma_mm": 1.0}}]})
    units = warmup.spec_units(spec, "float32")
    assert [(unit.name, unit.group) for unit in units] == [
        ("ibsi/statistics", "ibsi"), ("ibsi/glcm", "ibsi"), ("filters/0/mean", "filters"), ("filters/1/log", "filters")]
    assert [len(load_spec(unit.spec).filters) for unit in units] == [0, 0, 1, 1]
    parameters = load_spec({"imageType": {"Original": {}, "LoG": {"sigma": [1.0]}},
                            "featureClass": {"firstorder": [], "glcm": []}})
    names = [unit.name for unit in warmup.spec_units(parameters, "int16")]
    assert names == ["pyradiomics/firstorder", "pyradiomics/glcm", "pyradiomics/image-type/LoG"]


def test_the_warmup_units_cover_every_family_and_group_once():
    units = warmup.warmup_units(warmup.KERNEL_GROUPS)
    names = [unit.name for unit in units]
    assert len(names) == len(set(names))
    assert {unit.group for unit in units} == set(warmup.KERNEL_GROUPS)
    for variant in ("float64", "float32"):  # every family in both variants: float64 2D + 3D, float32 resampled 3D
        families = [family for unit in units if unit.name.startswith(f"ibsi/{variant}/")
                    for family in unit.spec["features"]]
        assert sorted(families) == sorted(FAMILY_MODULES)
    for unit in units:
        if unit.kind == "extract":
            load_spec(unit.spec)  # valid settings


def test_the_synthetic_case_keeps_the_pixel_type_and_the_intensity_range():
    picture, label = parallel_compile.synthetic_case(
        CompileUnit("ibsi/x", "ibsi", {}, pixel_type="uint8", value_range=(-1000, 400), spacing_mm=(1.6, 1.6, 1.6)))
    import SimpleITK as sitk

    values = sitk.GetArrayViewFromImage(picture)
    assert values.dtype.name == "uint8" and values.min() >= 0 and values.max() <= 255 and values.std() > 0
    assert picture.GetSpacing() == pytest.approx((1.6, 1.6, 1.6)) and sitk.GetArrayViewFromImage(label).sum() > 0


def test_a_failing_compile_process_is_reported_and_its_units_returned(caplog):
    # the calling process takes the larger unit; a new process gets the other one, and fails on its invalid spec
    good = CompileUnit("ibsi/histogram", "ibsi", {"features": {"histogram": {}}})
    bad = CompileUnit("ibsi/broken", "ibsi", {"features": {"histogram": {}}, "discretisaton": {}})
    assert good.seconds > bad.seconds
    here = []
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        failed = parallel_compile.compile_in_processes([good, bad], jobs=2, run_here=here.extend)
    assert here == [good] and failed == [bad]
    assert "a compile process failed" in caplog.text and "ibsi/broken" in caplog.text
    assert "discretisaton" in caplog.text  # the child's own error message reaches the log


def test_compile_processes_fill_the_cache_for_the_calling_process(tmp_path):
    # a new process with an empty cache runs a unit; afterwards this fresh process loads its kernels, compiling none
    script = ("from radiomix import parallel_compile\n"
              "from radiomix import warmup\n"
              "from radiomix.features import histogram\n"
              "warmup.mark_notified(warmup.KERNEL_GROUPS)  # no compile processes of its own\n"
              "unit = parallel_compile.CompileUnit('ibsi/histogram', 'ibsi', {'features': {'histogram': {}}})\n"
              "assert parallel_compile.compile_in_processes([unit], jobs=2) == []\n"
              "assert not parallel_compile.run_units([unit])\n"
              "kernels = [k for k in vars(histogram).values() if hasattr(k, 'stats')]\n"
              "print(sum(sum(k.stats.cache_hits.values()) for k in kernels),"
              " sum(sum(k.stats.cache_misses.values()) for k in kernels))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    hits, misses = map(int, done.stdout.split())
    assert hits >= 1 and misses == 0


def test_warmup_runs_a_failed_unit_again_in_process_and_raises_its_error(monkeypatch, capsys):
    bad = CompileUnit("ibsi/broken", "ibsi", {"discretisaton": {}})
    monkeypatch.setattr(warmup, "warmup_units", lambda groups: [bad])
    monkeypatch.setattr(warmup, "compile_in_processes", lambda units, jobs, run_here=None: list(units))
    monkeypatch.setattr(warmup, "_notified", set())
    with pytest.raises(SpecError, match="discretisaton"):
        warmup.warm_up(["ibsi"], jobs=2)
    assert "compiling 1 unit(s) again in this process" in capsys.readouterr().out


def test_a_cold_extraction_compiles_its_units_in_processes_once(monkeypatch, caplog):
    calls = []
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (True, 5, 5))
    monkeypatch.setattr(warmup, "compile_in_processes",
                        lambda units, jobs, run_here=None: calls.append((units, jobs)) or [])
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "3")
    spec = load_spec({"features": {"statistics": {}, "glcm": {}}})
    picture, _ = parallel_compile.synthetic_case(CompileUnit("x", "ibsi", {}, pixel_type="int16"))
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        warmup.compile_if_cold(spec, picture)
        warmup.compile_if_cold(spec, picture)  # once per process
    assert len(calls) == 1
    units, jobs = calls[0]
    assert jobs == 3 and [unit.name for unit in units] == ["ibsi/statistics", "ibsi/glcm"]
    assert all(unit.pixel_type == "int16" for unit in units)
    assert caplog.text.count("compiling numba kernels once (ibsi: 5 of 5") == 1 and "in 3 processes" in caplog.text


def test_one_job_or_a_warm_cache_starts_no_process(monkeypatch):
    calls = []
    monkeypatch.setattr(warmup, "compile_in_processes", lambda units, jobs, run_here=None: calls.append(units) or [])
    spec = load_spec({"features": {"statistics": {}}})
    picture, _ = parallel_compile.synthetic_case(CompileUnit("x", "ibsi", {}))
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (True, 5, 5))
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "1")
    warmup.compile_if_cold(spec, picture)
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (False, 0, 5))
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "2")
    warmup.compile_if_cold(spec, picture)
    assert calls == []


def test_an_unreadable_image_is_left_to_the_extraction(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (True, 5, 5))
    monkeypatch.setattr(warmup, "compile_in_processes", lambda units, jobs, run_here=None: calls.append(units) or [])
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "2")
    warmup.compile_if_cold(load_spec({"features": {"statistics": {}}}), tmp_path / "missing.nii.gz")
    assert calls == []


def _cache_file(folder) -> caching.IndexDataCacheFile:
    return caching.IndexDataCacheFile(cache_path=str(folder), filename_base="kernel-1.py311", source_stamp=(1.0, 2))


def test_a_cache_save_waits_for_the_folder_lock(tmp_path):
    cache = _cache_file(tmp_path)
    saver = threading.Thread(target=cache.save, args=(("signature", "target"), {"code": 1}))
    with _numba.cache_folder_lock(str(tmp_path), exclusive=True):  # another process' save, say
        saver.start()
        time.sleep(0.3)
        assert saver.is_alive() and not (tmp_path / "kernel-1.py311.nbi").exists()
    saver.join(10)
    assert not saver.is_alive()
    assert cache.load(("signature", "target")) == {"code": 1}


def test_a_cache_folder_that_cannot_hold_the_lock_still_loads_and_saves(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    with _numba.cache_folder_lock(str(blocker / "cache"), exclusive=True):  # no lock file possible: no-op
        pass
    cache = _cache_file(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / _numba.CACHE_LOCK_NAME).mkdir()  # the lock file's name taken by a folder
    cache.save(("signature", "target"), {"code": 2})
    assert cache.load(("signature", "target")) == {"code": 2}


def test_a_cache_this_process_cannot_write_compiles_in_process_with_the_message(monkeypatch, caplog):
    calls = []
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (True, 5, 5))
    monkeypatch.setattr(warmup, "compile_in_processes", lambda units, jobs, run_here=None: calls.append(units) or [])
    monkeypatch.setattr(parallel_compile.os, "access", lambda path, mode: False)  # a read-only folder (even for root)
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "2")
    assert parallel_compile.kernel_cache_folder() is None
    picture, _ = parallel_compile.synthetic_case(CompileUnit("x", "ibsi", {}))
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        warmup.compile_if_cold(load_spec({"features": {"statistics": {}}}), picture)
    assert calls == []
    assert "compiling numba kernels once (ibsi: 5 of 5" in caplog.text
    assert "about 15 s on an idle machine" in caplog.text
    with parallel_compile.compile_lock():  # no lock file either: a no-op
        pass


@pytest.mark.parametrize(("cores", "idle", "jobs"), [(2, 1.9, 2), (2, 1.5, 2), (2, 1.1, 1), (2, 0.0, 1), (8, 5.8, 6)])
def test_the_default_jobs_are_the_idle_cores(monkeypatch, cores, idle, jobs):
    monkeypatch.delenv(warmup.JOBS_VARIABLE, raising=False)
    monkeypatch.setattr(warmup, "cpu_count", lambda: cores)
    monkeypatch.setattr(warmup, "idle_cores", lambda cores: idle)
    assert warmup.compile_jobs() == jobs


def test_idle_cores_are_measured_between_none_and_all():
    cores = parallel_compile.cpu_count()
    assert 0.0 <= warmup.idle_cores(cores, seconds=0.05) <= cores


def test_the_jobs_variable_overrides_the_load(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "idle_cores", lambda cores: 0.0)
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "3")
    assert warmup.compile_jobs() == 3
    monkeypatch.setenv(warmup.JOBS_VARIABLE, "many")
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        assert warmup.compile_jobs() == 1
    assert "RADIOMIX_COMPILE_JOBS='many' is not a whole number" in caplog.text


def test_processes_saving_variants_of_one_kernel_at_once_keep_every_entry(tmp_path):
    # without the lock, numba's index loses entries and can point a signature at another one's code
    # (measured: 3 processes x 60 saves, 10 entries missing and 2 wrong); with it, none
    script = ("import sys\n"
              "import radiomix._numba\n"
              "from numba.core import caching\n"
              "cache = caching.IndexDataCacheFile(cache_path=sys.argv[1], filename_base='kernel-1.py311',"
              " source_stamp=(1.0, 2))\n"
              "for i in range(60):\n"
              "    cache.save((f'{sys.argv[2]}-{i}', 'target'), f'{sys.argv[2]}-{i}')\n")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), who], env=env) for who in "abc"]
    assert [writer.wait() for writer in writers] == [0, 0, 0]
    cache = _cache_file(tmp_path)
    for key in (f"{who}-{i}" for who in "abc" for i in range(60)):
        assert cache.load((key, "target")) == key


def test_a_warm_cache_does_not_measure_the_idle_cores(monkeypatch):
    # the usual path of every extraction: no 0.1 s measurement, no process
    monkeypatch.setattr(warmup, "_notified", set())
    monkeypatch.setattr(warmup, "is_cold", lambda group, options=None: (False, 0, 5))
    monkeypatch.setattr(warmup, "idle_cores", lambda cores: pytest.fail("measured the idle cores on a warm cache"))
    monkeypatch.delenv(warmup.JOBS_VARIABLE, raising=False)
    warmup.compile_if_cold(load_spec({"features": {"statistics": {}}}), "never read.nii.gz")
    assert "ibsi" in warmup._notified
