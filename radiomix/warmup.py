"""Compile radiomix's numba kernels ahead of first use, and say so when an extraction is about to compile.

Numba compiles each kernel the first time a process calls it and caches the
machine code on disk (next to the sources, or under ``NUMBA_CACHE_DIR``);
later processes load it in about a second. Without a cache the first
extraction spends tens of seconds compiling (a minute or two on a busy
machine, more with filters). ``radiomix warmup`` (:func:`warm_up`) does that
once, with a progress message. :func:`compile_if_cold`, called by every
extraction, finds an empty cache by reading the cache index files of the
kernels it needs (milliseconds), logs one warning, and compiles the kernels of
that extraction's settings in one process per core
(:mod:`radiomix.parallel_compile`) before the extraction loads them.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
import typing
from collections.abc import Callable, Iterable

import numba
import numpy as np
import SimpleITK as sitk

from radiomix.errors import RadiomixError
from radiomix.parallel_compile import (
    CompileUnit,
    cluster_families,
    compile_in_processes,
    compile_lock,
    cpu_count,
    kernel_cache_folder,
    run_unit,
    run_units,
)
from radiomix.spec import UnreferencedMorphologyFeature

LOGGER = logging.getLogger("radiomix")

KERNEL_GROUPS = {
    "ibsi": ("radiomix.features.morphology", "radiomix.features.spatial_autocorrelation",
             "radiomix.features.local_intensity", "radiomix.features.texture", "radiomix.features.glcm",
             "radiomix.features.glrlm", "radiomix.features.zones", "radiomix.features.glszm",
             "radiomix.features.gldzm", "radiomix.features.statistics", "radiomix.features.histogram",
             "radiomix.features.ngtdm", "radiomix.features.ngldm", "radiomix.features.neighbourhood",
             "radiomix.features.geometry", "radiomix.features.marching_cubes", "radiomix.preprocess.interpolation"),
    "filters": ("radiomix.preprocess.filters.boundary", "radiomix.preprocess.filters.fourier",
                "radiomix.preprocess.filters.separable"),
    "pyradiomics": ("radiomix.preprocess.discretisation", "radiomix.features.statistics", "radiomix.features.histogram",
                    "radiomix.features.marching_cubes", "radiomix.features.marching_squares",
                    "radiomix.features.mcc",
                    "radiomix.preprocess.filters.transpose", "radiomix.preprocess.filters.gradient",
                    "radiomix.preprocess.filters.local_binary_pattern", "radiomix.preprocess.filters.recursive_log",
                    "radiomix.preprocess.filters.stationary_wavelet",
                    "radiomix.features.texture", "radiomix.features.glcm", "radiomix.features.glrlm",
                    "radiomix.features.zones", "radiomix.features.neighbourhood"),
}
"""Kernel group -> modules holding its numba kernels (an IBSI spec, its filters, pyradiomics parameter files)."""

OPTIONAL_KERNEL_MODULES = {
    "unreferenced morphology": ("radiomix.features.geometry",),
    "MCC": ("radiomix.features.mcc",),
    "shape2D": ("radiomix.features.marching_squares",),
    "LoG": ("radiomix.preprocess.filters.recursive_log", "radiomix.preprocess.filters.transpose"),
    "Wavelet": ("radiomix.preprocess.filters.stationary_wavelet", "radiomix.preprocess.filters.transpose"),
    "Gradient": ("radiomix.preprocess.filters.gradient",),
    "LBP2D": ("radiomix.preprocess.filters.local_binary_pattern",),
}
"""Option -> the modules of a kernel group that only extractions with that option compile (the OMBB and MVEE
densities, MCC, pyradiomics' shape2D class and image types). :func:`compile_if_cold` judges a cache cold on the
modules the extraction uses, so that a cache filled by extractions without an option is not found cold, in every
new process, for lack of the option's kernels."""

FIRST_USE_MESSAGE = ("compiling numba kernels once ({group}: {missing} of {total} not in the cache; {how}; "
                     "cached afterwards). Run `radiomix warmup` once after installing to do this ahead.")

JOBS_VARIABLE = "RADIOMIX_COMPILE_JOBS"
"""Environment variable: processes that compile kernels at once (default: the idle cores, see
:func:`compile_jobs`; 1 compiles in the calling process)."""

_notified: set[str] = set()


def uncompiled_kernels(modules: Iterable[str]) -> tuple[list[str], int]:
    """Kernels of ``modules`` neither compiled in this process nor in numba's on-disk cache.

    Reads each kernel's cache index (numba's ``.nbi`` file), which numba
    treats as empty when it is absent, from another numba version, or older
    than the kernel's source file. Returns the missing names and the number
    of kernels looked at.
    """
    missing, total = [], 0
    for name in modules:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if not isinstance(value, numba.core.dispatcher.Dispatcher) or value.py_func.__module__ != name:
                continue
            total += 1
            cache_file = getattr(getattr(value, "_cache", None), "_cache_file", None)
            if value.signatures or cache_file is None:
                continue
            if not cache_file._load_index():  # numba internals; {} when absent or stale
                missing.append(f"{name}.{attribute}")
    return missing, total


def is_cold(group: str, options: Iterable[str] | None = None) -> tuple[bool, int, int]:
    """Whether most (more than half) of ``group``'s kernels are about to be compiled; missing and total counts.

    ``options`` (keys of :data:`OPTIONAL_KERNEL_MODULES`): only the optional modules of these options are looked
    at (None: every module of the group).

    "Most": an empty cache, or one made stale by new sources, misses every
    kernel; a warm cache may still miss the few variants used only on very
    large inputs (parallel filters), which compile in seconds when first needed.
    """
    modules = KERNEL_GROUPS[group]
    if options is not None:
        wanted = {module for option in options for module in OPTIONAL_KERNEL_MODULES[option]}
        optional = {module for modules_of in OPTIONAL_KERNEL_MODULES.values() for module in modules_of}
        modules = tuple(module for module in modules if module not in optional or module in wanted)
    missing, total = uncompiled_kernels(modules)
    return 2 * len(missing) > total, len(missing), total


def kernel_options(settings) -> set[str]:
    """The options of :data:`OPTIONAL_KERNEL_MODULES` that an extraction with ``settings`` uses."""
    from radiomix.pyradiomics.params import PyradiomicsSpec

    if isinstance(settings, PyradiomicsSpec):
        options = {image_type.name for image_type in settings.image_types} & set(OPTIONAL_KERNEL_MODULES)
        options |= {"shape2D"} if settings.enabled_features("shape2D") else set()
        options |= {"MCC"} if "MCC" in settings.enabled_features("glcm") else set()
        return options
    from radiomix.features.glcm import MCC_KEY

    morphology, glcm = settings.features.morphology, settings.features.glcm
    options = set()
    if morphology is not None and (morphology.unreferenced_ibsi_features or set(morphology.ibsi_features or ())
                                   & set(typing.get_args(UnreferencedMorphologyFeature))):
        options.add("unreferenced morphology")
    if glcm is not None and MCC_KEY in glcm.non_ibsi_features:
        options.add("MCC")
    return options


def mark_notified(groups: Iterable[str]) -> None:
    """Consider ``groups`` handled in this process: no first-use warning, no compile processes for them."""
    _notified.update(groups)


def _warn_cold(group: str, missing: int, total: int, how: str) -> None:
    LOGGER.warning("radiomix: " + FIRST_USE_MESSAGE.format(group=group, missing=missing, total=total, how=how))


def compile_jobs() -> int:
    """Processes that compile at once: ``RADIOMIX_COMPILE_JOBS`` if set, else the idle cores, rounded (at least 1).

    Compiling in parallel costs 12-24% more CPU in all (every process
    compiles the shared preprocessing and numba's own helpers): measured on
    2 cores, 1.6x faster when idle, slower than in one process at a load
    of 4 (61-67 s against 47-52 s).
    """
    value = os.environ.get(JOBS_VARIABLE, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            LOGGER.warning("radiomix: %s=%r is not a whole number; using the idle cores", JOBS_VARIABLE, value)
    cores = cpu_count()
    return max(1, min(cores, math.floor(idle_cores(cores) + 0.5)))


def idle_cores(cores: int, seconds: float = 0.1) -> float:
    """Cores idle now: from the idle time in ``/proc/stat`` over ``seconds``, else ``cores`` minus the 1-minute load.

    The load average lags by a minute (a finished job still counts); the
    idle time is measured now.
    """
    def idle_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks[:8])  # idle + iowait; user ... steal

    try:
        idle_before, total_before = idle_and_total()
        time.sleep(seconds)
        idle_after, total_after = idle_and_total()
    except (OSError, ValueError, IndexError):  # no /proc (not Linux)
        try:
            return cores - os.getloadavg()[0]
        except (AttributeError, OSError):
            return float(cores)
    machine_cores = os.cpu_count() or cores
    idle = machine_cores * (idle_after - idle_before) / max(total_after - total_before, 1)
    return min(float(cores), idle)


def compile_if_cold(settings, image) -> None:
    """Before an extraction: on an empty cache, warn and compile the kernels of ``settings`` in parallel processes.

    Parameters
    ----------
    settings : Spec or PyradiomicsSpec
        The extraction's settings; its families, filters and pyradiomics
        classes become the compile units (:func:`spec_units`).
    image : path or SimpleITK.Image
        The image to extract from: kernels are compiled for its pixel type.

    Once per process and kernel group. With one core (or
    ``RADIOMIX_COMPILE_JOBS=1``), a cache folder this process cannot write,
    an unreadable image, or a process that fails, the kernels are compiled
    by the extraction itself, as without this function.
    """
    from radiomix.pyradiomics.params import PyradiomicsSpec

    if isinstance(settings, PyradiomicsSpec):
        groups = ["pyradiomics"]
    else:
        groups = ["ibsi"] + (["filters"] if settings.filters else [])
    groups = [group for group in groups if group not in _notified]
    if not groups:
        return
    mark_notified(groups)
    options = kernel_options(settings)
    counts = {group: is_cold(group, options) for group in groups}
    cold = [group for group, (is_group_cold, _, _) in counts.items() if is_group_cold]
    if not cold:
        return  # a warm cache: the usual path, in milliseconds
    jobs = compile_jobs() if kernel_cache_folder() is not None else 1  # a read-only or unlockable cache
    how = (f"in {jobs} processes, about 10 s on 2 idle cores" if jobs > 1
           else "about 15 s on an idle machine, more on a busy one")
    for group in cold:
        _warn_cold(group, *counts[group][1:], how)
    if jobs < 2:
        return
    pixel_type = _pixel_type(image)
    if pixel_type is None:
        return  # the extraction reports the unreadable image
    units = [unit for unit in spec_units(settings, pixel_type) if unit.group in cold]
    with compile_lock():  # another process may be compiling the same kernels: wait for it, then look again
        units = [unit for unit in units if is_cold(unit.group, options)[0]]
        if units:
            compile_in_processes(units, jobs, run_here=_run_reporting_failures)


def _run_all(units: list[CompileUnit]) -> None:
    """Run compile units in this process; the first error is raised."""
    for unit in units:
        run_unit(unit)


def _run_reporting_failures(units: list[CompileUnit]) -> None:
    """Run this process' share of compile units; a failed unit is logged (the extraction compiles its kernels)."""
    for failure in run_units(units):
        LOGGER.warning("radiomix: compiling ahead failed for %s; the extraction compiles its kernels itself", failure)


def _pixel_type(image) -> str | None:
    """NumPy dtype name of ``image``'s voxels (read from its file), or None if it cannot be read."""
    from radiomix import io

    try:
        picture = image if isinstance(image, sitk.Image) else io.read_image(image)
    except RadiomixError:
        return None
    return sitk.GetArrayViewFromImage(picture).dtype.name


def spec_units(settings, pixel_type: str) -> list[CompileUnit]:
    """The compile units of an extraction: one per feature family (or cluster of families sharing their
    kernels, :data:`~radiomix.parallel_compile.FAMILY_CLUSTERS`; or pyradiomics class) and per filter.

    Each unit extracts that family alone, with ``settings``' preprocessing,
    from a small synthetic image of ``pixel_type`` whose spacing makes any
    interpolation resample and whose intensities lie inside the
    re-segmentation range, so that numba compiles the variants the
    extraction will call.
    """
    from radiomix.pyradiomics.params import PyradiomicsSpec

    if isinstance(settings, PyradiomicsSpec):
        return _pyradiomics_units(settings, pixel_type)
    data = settings.to_dict()
    data["mask"]["min_roi_voxels"] = 1
    data["intensity"].update(conversion="none", bias_field_correction=False)  # need scanner metadata / no kernels
    families = {name: values for name, values in data.pop("features").items() if values is not None}
    filters = data.pop("filters", [])
    low, high = _synthetic_range(settings.resegmentation.range
                                 if settings.resegmentation.range_mode == "absolute" else None)
    if settings.discretisation.method == "none":  # the intensities are the grey levels: integers >= 1
        low, high = max(low, 1), max(high, 3)
    shape = {"pixel_type": pixel_type, "spacing_mm": _synthetic_spacing(settings.interpolation.spacing_mm),
             "value_range": (low, high)}
    units = [CompileUnit(f"ibsi/{'+'.join(members)}", "ibsi",
                         {**data, "features": {name: families[name] for name in members}}, **shape)
             for members in cluster_families(list(families), "ibsi")]
    first_family = dict([next(iter(families.items()))]) if families else {}
    for index, filter_settings in enumerate(filters):
        units.append(CompileUnit(f"filters/{index}/{next(iter(filter_settings))}", "filters",
                                 {**data, "features": first_family, "filters": [filter_settings]}, **shape))
    return units


def _pyradiomics_units(settings, pixel_type: str) -> list[CompileUnit]:
    """:func:`spec_units` of a pyradiomics parameter file: one unit per class (Original) and per other image type."""
    data = settings.to_dict()
    data["setting"].update(label=1, minimumROISize=None)
    shape = {"pixel_type": pixel_type, "spacing_mm": _synthetic_spacing(settings.settings.resampledPixelSpacing),
             "value_range": _synthetic_range(settings.settings.resegmentRange
                                             if settings.settings.resegmentMode == "absolute" else None)}
    classes = data.pop("featureClass")
    image_types = data.pop("imageType")
    units = [CompileUnit(f"pyradiomics/{'+'.join(members)}", "pyradiomics",
                         {**data, "imageType": {"Original": image_types.get("Original", {})},
                          "featureClass": {name: classes[name] for name in members}}, **shape)
             for members in cluster_families(list(classes), "pyradiomics")]
    first_class = dict([next(iter(classes.items()))]) if classes else {}
    for name, overrides in image_types.items():
        if name != "Original":
            units.append(CompileUnit(f"pyradiomics/image-type/{name}", "pyradiomics",
                                     {**data, "imageType": {name: overrides}, "featureClass": first_class}, **shape))
    return units


def _synthetic_spacing(target) -> tuple[float, float, float]:
    """Spacing (x, y, z) of the synthetic image: 0.8 x the interpolation target (so it resamples), else 1, 1, 2 mm."""
    spacing = [1.0, 1.0, 2.0]
    for axis, value in enumerate(target or ()):
        if value:
            spacing[axis] = 0.8 * float(value)
    return tuple(spacing)


def _synthetic_range(bounds) -> tuple[int, int]:
    """Intensities of the synthetic image: inside a re-segmentation range ``(low, high)`` (either may be None)."""
    low, high = (tuple(bounds) + (None, None))[:2] if bounds else (None, None)
    low = None if low is None or not np.isfinite(low) else int(np.ceil(low))
    high = None if high is None or not np.isfinite(high) else int(np.floor(high))
    if low is None and high is None:
        return 0, 60
    if high is None:
        return low, low + 60
    if low is None:
        return high - 60, high
    return low, max(high, low + 2)


def warmup_units(groups: Iterable[str]) -> list[CompileUnit]:
    """The compile units of ``radiomix warmup`` for ``groups`` (see :data:`KERNEL_GROUPS`).

    ibsi: every family in 2D and 3D without discretisation from a float64
    image (a read-only view, as :func:`radiomix.extract.load_kernels`), and in
    3D alone from a float32 image (most scans; integer images alike), which
    reaches the kernels as a converted, writable copy, resampled (the
    interpolation kernel), with GLRLM's 13 directions in one pass; the grid
    Moran's I / Geary's C kernels. filters: each IBSI-2 filter kind in 2D and
    3D. pyradiomics: each feature class on the original image, and each
    image type.
    """
    from radiomix.extract import FAMILY_MODULES

    units = []
    groups = list(groups)
    if "ibsi" in groups:
        for members in cluster_families(list(FAMILY_MODULES), "ibsi"):
            name, features = "+".join(members), {family: {} for family in members}
            if "morphology" in features:  # the opt-in OMBB and MVEE kernels too
                features["morphology"] = {"unreferenced_ibsi_features": list(
                    typing.get_args(UnreferencedMorphologyFeature))}
            # the float32 variant compiles little more once the float64 one ran: both in one process
            units.append(CompileUnit(f"ibsi/float64/{name}", "ibsi", {
                "discretisation": {"method": "none"}, "texture": {"dimensions": ["2D", "3D"]},
                "features": features}, value_range=(1, 60), affinity=name))  # grey levels >= 1, no discretisation
            units.append(CompileUnit(f"ibsi/float32/{name}", "ibsi", {
                "discretisation": {"method": "fixed_bin_number", "n_bins": 8}, "texture": {"dimensions": ["3D"]},
                "interpolation": {"spacing_mm": [1.5, 1.5, 1.5], "image_method": "linear",
                                  "mask_method": "linear", "mask_threshold": 0.5},
                "features": features}, pixel_type="float32", affinity=name))
        units.append(CompileUnit("ibsi/grid_morans_i", "ibsi", {}, kind="grid_morans_i"))
    if "filters" in groups:
        for dimensions in ("2D", "3D"):
            for kind, filter_settings in (
                    ("mean", {"support": 3}), ("log", {"sigma_mm": 1.0}),
                    ("laws", {"kernel": "L5E5" if dimensions == "2D" else "L5E5E5", "rotation_invariance": True,
                              "pooling": "max", "energy_delta": 2}),
                    ("wavelet", {"wavelet": "db3", "subband": "LH" if dimensions == "2D" else "LLH", "level": 1}),
                    ("simoncelli", {"level": 1})):
                units.append(CompileUnit(f"filters/{dimensions}/{kind}", "filters", {
                    "discretisation": {"method": "fixed_bin_number", "n_bins": 8}, "features": {"statistics": {}},
                    "filters": [{kind: {**filter_settings, "dimensions": dimensions}}]}, affinity="filters"))
        units.append(CompileUnit("filters/3D/gabor", "filters", {
            "discretisation": {"method": "fixed_bin_number", "n_bins": 8}, "features": {"statistics": {}},
            "filters": [{"gabor": {"sigma_mm": 2.0, "lambda_mm": 2.0, "gamma": 1.5, "theta_deg": 0.0,
                                   "theta_step_deg": 90.0, "pooling": "mean", "response": "modulus"}}]},
                                 affinity="filters"))  # the filters share most kernels (about 6 s in all)
    if "pyradiomics" in groups:
        classes = ("shape", "firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm")
        for members in cluster_families(classes, "pyradiomics"):
            units.append(CompileUnit(f"pyradiomics/{'+'.join(members)}", "pyradiomics", {
                "imageType": {"Original": {}}, "featureClass": {name: [] for name in members},
                "setting": {"label": 1}}))
        for name, overrides in (("LoG", {"sigma": [1.0]}), ("Wavelet", {}), ("Square", {}), ("SquareRoot", {}),
                                ("Logarithm", {}), ("Exponential", {}), ("Gradient", {}), ("LBP3D", {})):
            units.append(CompileUnit(f"pyradiomics/image-type/{name}", "pyradiomics", {
                "imageType": {name: overrides}, "featureClass": {"firstorder": []}, "setting": {"label": 1}}))
    return units


def warm_up(groups: Iterable[str] = tuple(KERNEL_GROUPS), progress: Callable[[str], None] = print,
            jobs: int | None = None) -> float:
    """Compile (or load from the cache) the kernels of ``groups``, in ``jobs`` processes, reporting progress.

    Parameters
    ----------
    groups : iterable of str
        Kernel groups (:data:`KERNEL_GROUPS`).
    progress : callable
        Receives the progress lines.
    jobs : int, optional
        Processes compiling at once (default :func:`compile_jobs`); 1 compiles
        in this process. The units of a process that fails are run again in
        this process, so that their error is raised here.

    Returns
    -------
    float
        Seconds spent.
    """
    groups = list(groups)
    jobs = compile_jobs() if jobs is None else max(1, jobs)
    if kernel_cache_folder() is None:
        progress("radiomix warmup: numba's cache folder cannot be shared safely here (not writable, or no file "
                 "locks); compiling in this process only")
        jobs = 1
    counts = {group: is_cold(group) for group in groups}
    mark_notified(KERNEL_GROUPS)  # this progress replaces the first-use warning; no compile processes of its own
    if any(cold for cold, _, _ in counts.values()):
        where = f"in {jobs} processes" if jobs > 1 else "in this process"
        progress(f"radiomix warmup: compiling kernels once {where}, about a minute (more on a busy machine); "
                 f"cached in {numba.config.CACHE_DIR or 'the package folders'}")
    else:
        progress("radiomix warmup: the kernels are in the cache; loading them")
    for group, (_, missing, total) in counts.items():
        progress(f"  {group}: {missing} of {total} kernels to compile")
    start = time.perf_counter()
    units = warmup_units(groups)
    in_process = units
    if jobs > 1:
        with compile_lock():
            in_process = compile_in_processes(units, jobs, run_here=_run_all)
        if in_process:
            progress(f"  compiling {len(in_process)} unit(s) again in this process")
    _run_all(in_process)
    seconds = time.perf_counter() - start
    progress(f"radiomix warmup: done in {seconds:.1f} s")
    return seconds
