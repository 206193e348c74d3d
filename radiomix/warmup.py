"""Compile radiomix's numba kernels ahead of first use, and say so when an extraction is about to compile.

Numba compiles each kernel the first time a process calls it and caches the
machine code on disk (next to the sources, or under ``NUMBA_CACHE_DIR``);
later processes load it in about a second. Without a cache the first
extraction spends tens of seconds compiling (a minute or two on a busy
machine, more with filters). ``radiomix warmup`` (:func:`warm_up`) does that
once, with a progress message; :func:`notify_if_cold` logs one warning per
process when an extraction is about to compile, found by reading the cache
index files of the kernels it needs (milliseconds).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable

import numba
import numpy as np
import SimpleITK as sitk

LOGGER = logging.getLogger("radiomix")

KERNEL_GROUPS = {
    "ibsi": ("radiomix.features.morphology", "radiomix.features.spatial_autocorrelation",
             "radiomix.features.local_intensity", "radiomix.features.texture", "radiomix.features.glcm",
             "radiomix.features.glrlm", "radiomix.features.zones", "radiomix.features.glszm",
             "radiomix.features.gldzm", "radiomix.features.statistics", "radiomix.features.histogram",
             "radiomix.features.ngtdm", "radiomix.features.ngldm", "radiomix.features.neighbourhood",
             "radiomix.features.geometry", "radiomix.preprocess.interpolation"),
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

FIRST_USE_MESSAGE = ("compiling numba kernels once ({group}: {missing} of {total} not in the cache; about a "
                     "minute, more on a busy machine; cached afterwards). Run `radiomix warmup` once after "
                     "installing to do this ahead.")

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


def notify_if_cold(group: str) -> None:
    """Log one warning per process and group when most of the group's kernels are about to be compiled.

    "Most" (more than half): an empty cache, or one made stale by new
    sources, misses every kernel; a warm cache may still miss the few
    variants used only on very large inputs (parallel filters), which
    compile in seconds when first needed.
    """
    if group in _notified:
        return
    _notified.add(group)
    missing, total = uncompiled_kernels(KERNEL_GROUPS[group])
    if 2 * len(missing) > total:
        LOGGER.warning("radiomix: " + FIRST_USE_MESSAGE.format(group=group, missing=len(missing), total=total))


def _small_case() -> tuple[sitk.Image, sitk.Image]:
    """A 10 x 12 x 12 volume with a varied ROI of 6 x 8 x 8 voxels (every family has something to count)."""
    rng = np.random.default_rng(0)
    values = rng.integers(0, 60, size=(10, 12, 12)).astype(np.float64)
    mask = np.zeros(values.shape, dtype=np.uint8)
    mask[2:8, 2:10, 2:10] = 1
    picture, label = sitk.GetImageFromArray(values), sitk.GetImageFromArray(mask)
    for item in (picture, label):
        item.SetSpacing((1.0, 1.0, 2.0))
    return picture, label


def _warm_ibsi() -> None:
    from radiomix.extract import extract_features, load_kernels
    from radiomix.features.spatial_autocorrelation import grid_morans_i_gearys_c

    load_kernels()  # every family in 2D and 3D, from a float64 image
    picture, label = _small_case()
    # numba compiles a variant of a kernel per argument types, so also: 3D alone (GLRLM's 13 directions
    # in one pass, where 2D + 3D count 4 + 9), and an image stored as float32 (most scans; integer images
    # alike) that reaches the kernels as a converted, writable copy where a float64 image is a read-only view,
    # resampled (the interpolation kernel)
    extract_features(sitk.Cast(picture, sitk.sitkFloat32), label,
                     {"discretisation": {"method": "fixed_bin_number", "n_bins": 8}, "texture": {"dimensions": ["3D"]},
                      "interpolation": {"spacing_mm": [1.5, 1.5, 1.5], "image_method": "linear",
                                        "mask_method": "linear", "mask_threshold": 0.5}})
    intensity = sitk.GetArrayFromImage(picture)
    mask = sitk.GetArrayFromImage(label) > 0
    for method in ("pairs", "fft"):
        grid_morans_i_gearys_c(mask, intensity, (2.0, 1.0, 1.0), method)


def _warm_filters() -> None:
    from radiomix.extract import extract_features

    picture, label = _small_case()
    filters = []
    for dimensions in ("2D", "3D"):
        filters += [{"mean": {"support": 3, "dimensions": dimensions}},
                    {"log": {"sigma_mm": 1.0, "dimensions": dimensions}},
                    {"laws": {"kernel": "L5E5" if dimensions == "2D" else "L5E5E5", "dimensions": dimensions,
                              "rotation_invariance": True, "pooling": "max", "energy_delta": 2}},
                    {"wavelet": {"wavelet": "db3", "subband": "LH" if dimensions == "2D" else "LLH",
                                 "level": 1, "dimensions": dimensions}},
                    {"simoncelli": {"level": 1, "dimensions": dimensions}}]
    filters.append({"gabor": {"sigma_mm": 2.0, "lambda_mm": 2.0, "gamma": 1.5, "theta_deg": 0.0,
                              "theta_step_deg": 90.0, "pooling": "mean", "response": "modulus"}})
    extract_features(picture, label, {"discretisation": {"method": "fixed_bin_number", "n_bins": 8},
                                      "features": {"statistics": {}}, "filters": filters})


def _warm_pyradiomics() -> None:
    from radiomix.extract import extract_features

    picture, label = _small_case()
    image_types = {"Original": {}, "LoG": {"sigma": [1.0]}, "Wavelet": {}, "Square": {}, "SquareRoot": {},
                   "Logarithm": {}, "Exponential": {}, "Gradient": {}, "LBP3D": {}}
    extract_features(picture, label, {"imageType": image_types,
                                      "featureClass": {name: [] for name in ("shape", "firstorder", "glcm", "gldm",
                                                                             "glrlm", "glszm", "ngtdm")},
                                      "setting": {"label": 1}})


WARM_UPS: dict[str, Callable[[], None]] = {"ibsi": _warm_ibsi, "filters": _warm_filters,
                                           "pyradiomics": _warm_pyradiomics}


def warm_up(groups: Iterable[str] = tuple(KERNEL_GROUPS), progress: Callable[[str], None] = print) -> dict:
    """Compile (or load from the cache) the kernels of ``groups``, reporting progress.

    Returns
    -------
    dict
        Group -> seconds spent.
    """
    groups = list(groups)
    counts = {group: uncompiled_kernels(KERNEL_GROUPS[group]) for group in groups}
    if any(2 * len(missing) > total for missing, total in counts.values()):
        progress("radiomix warmup: compiling kernels once, about a minute (more on a busy machine); "
                 f"cached in {numba.config.CACHE_DIR or 'the package folders'}")
    else:
        progress("radiomix warmup: the kernels are in the cache; loading them")
    seconds = {}
    for group in groups:
        missing, total = counts[group]
        progress(f"  {group}: {len(missing)} of {total} kernels to compile ...")
        _notified.add(group)  # this progress message replaces the first-use warning
        start = time.perf_counter()
        WARM_UPS[group]()
        seconds[group] = time.perf_counter() - start
        progress(f"  {group}: done in {seconds[group]:.1f} s")
    return seconds
