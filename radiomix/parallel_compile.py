"""Compile numba kernels in several processes at once, filling the shared on-disk cache.

Numba compiles a kernel in the process that first calls it, one kernel at a
time. On an empty cache an extraction therefore spends most of its first call
compiling on one core. This module splits the compile work into *units*, each
a small extraction on a synthetic image (one feature family, one filter, one
pyradiomics class, ...) that makes numba compile, and save to its cache, the
kernels that family needs for the given settings and pixel type. The units
are spread over the calling process and new interpreters
(``python -m radiomix.parallel_compile``), balanced by their measured compile
time; afterwards the calling process loads the others' kernels from the cache
in about a second.

Safety: numba's cache saves are serialised across processes by
:mod:`radiomix._numba`, and one process at a time runs a parallel compile (a
lock file in the cache folder), so concurrent first extractions (Luigi
workers) wait for each other instead of each starting its own processes. A
unit that fails in its process is logged with its error output; the kernels it
did not compile are then compiled in the calling process when first used (by
the extraction itself, or by ``radiomix warmup`` running the failed units
in-process), so no error is hidden.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numba
import numpy as np
import SimpleITK as sitk

import radiomix

LOGGER = logging.getLogger("radiomix")

UNIT_SECONDS = {
    "ibsi/morphology": 1.5, "ibsi/local_intensity": 0.65, "ibsi/statistics": 1.35, "ibsi/histogram": 1.45,
    "ibsi/ivh": 0.1, "ibsi/glcm": 1.9, "ibsi/glrlm": 1.1, "ibsi/glszm": 1.2, "ibsi/gldzm": 2.3,
    "ibsi/ngtdm": 1.3, "ibsi/ngldm": 1.05, "ibsi/grid_morans_i": 0.5,
    "ibsi/statistics+histogram+ivh": 1.5, "ibsi/glszm+gldzm": 2.6, "ibsi/ngtdm+ngldm": 1.5,
    "ibsi/float32/morphology": 0.3, "ibsi/float32/local_intensity": 0.6, "ibsi/float32/glrlm": 0.7,
    "ibsi/float32/statistics+histogram+ivh": 0.1, "ibsi/float32/glcm": 0.1, "ibsi/float32/glszm+gldzm": 0.1,
    "ibsi/float32/ngtdm+ngldm": 0.1,
    "filters/mean": 1.5, "filters/log": 1.5, "filters/simoncelli": 1.0, "filters/laws": 0.5,
    "filters/wavelet": 0.5, "filters/gabor": 0.5,
    "pyradiomics/shape": 2.7, "pyradiomics/firstorder": 1.35, "pyradiomics/glcm": 4.0, "pyradiomics/gldm": 0.95,
    "pyradiomics/ngtdm": 1.45, "pyradiomics/gldm+ngtdm": 2.0, "pyradiomics/glszm": 1.3, "pyradiomics/glrlm": 0.8,
    "pyradiomics/LoG": 33.0, "pyradiomics/Wavelet": 4.2, "pyradiomics/Gradient": 0.3, "pyradiomics/LBP3D": 0.3,
    "pyradiomics/Square": 0.1, "pyradiomics/SquareRoot": 0.1, "pyradiomics/Logarithm": 0.1,
    "pyradiomics/Exponential": 0.1,
}
"""Compile CPU seconds of a unit, by its whole name or else by ``group/family`` (or class, or kind; the
unit name's last part), without the import and the preprocessing that every unit compiles (about 1.7 s):
the main thread's CPU time (``time.thread_time``) of each unit run one after the other in one process on an
empty cache, in two orders (the first unit's preprocessing taken off), on IBSI configuration C and on
pyradiomics' defaults (CT phantom, int16), each family also alone after another family's unit, and over
every ``radiomix warmup`` unit (the units of one affinity count together: the first compiles the kernels
the others share). Morphology measured with OMBB and MVEE opt-in (issue #22). Unknown units count
:data:`DEFAULT_UNIT_SECONDS`; a unit of several families (:data:`FAMILY_CLUSTERS`) not listed by its
whole name counts its dearest one plus :data:`CLUSTER_MEMBER_SECONDS` per other family."""

FAMILY_CLUSTERS = {"ibsi": (("statistics", "histogram", "ivh"), ("glszm", "gldzm"), ("ngtdm", "ngldm")),
                   "pyradiomics": (("gldm", "ngtdm"),)}
"""Kernel group -> families (or pyradiomics classes) whose kernels are mostly the same ones: compiled in one
unit (after the first, each adds 0-0.4 s), never twice in two processes."""

CLUSTER_MEMBER_SECONDS = 0.3

DEFAULT_UNIT_SECONDS = 1.0

PROCESS_START_SECONDS = 1.0
"""Import time of a compile process, counted in the balance against the units it runs."""

LOCK_NAME = "radiomix-parallel-compile.lock"


@dataclasses.dataclass(frozen=True)
class CompileUnit:
    """One piece of compile work: an extraction of ``spec`` on a small synthetic image.

    Attributes
    ----------
    name : str
        What it compiles, e.g. ``"ibsi/glcm"``; ``group/`` and its last part (families joined by ``+``)
        key :data:`UNIT_SECONDS`.
    group : str
        The kernel group (:data:`radiomix.warmup.KERNEL_GROUPS`) it belongs to.
    spec : dict
        Plain-data spec or pyradiomics parameters (JSON-serialisable).
    pixel_type : str
        NumPy dtype name of the synthetic image (kernels are compiled per argument type).
    spacing_mm : tuple of float
        Voxel spacing ``(x, y, z)`` of the synthetic image, mm.
    value_range : tuple of int
        Intensities are drawn from ``[low, high)``.
    kind : str
        ``"extract"``, or ``"grid_morans_i"`` (the grid Moran's I / Geary's C kernels, both methods).
    affinity : str
        Units with the same non-empty affinity run in one process (they compile mostly the same kernels).
    """

    name: str
    group: str
    spec: dict
    pixel_type: str = "float64"
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 2.0)
    value_range: tuple[int, int] = (0, 60)
    kind: str = "extract"
    affinity: str = ""

    @property
    def seconds(self) -> float:
        """Expected compile time on one core (s), from :data:`UNIT_SECONDS` (``+`` joins the families of a unit)."""
        if self.name in UNIT_SECONDS:
            return UNIT_SECONDS[self.name]
        parts = self.name.rsplit("/", 1)[-1].split("+")
        return (max(UNIT_SECONDS.get(f"{self.group}/{part}", DEFAULT_UNIT_SECONDS) for part in parts)
                + CLUSTER_MEMBER_SECONDS * (len(parts) - 1))


def cluster_families(families: Sequence[str], group: str) -> list[tuple[str, ...]]:
    """``families`` in order, those of one :data:`FAMILY_CLUSTERS` entry of ``group`` together.

    A cluster stands at the place of its first family.
    """
    groups: list[tuple[str, ...]] = []
    placed = set()
    for family in families:
        if family in placed:
            continue
        cluster = next((c for c in FAMILY_CLUSTERS.get(group, ()) if family in c), (family,))
        members = tuple(member for member in families if member in cluster)
        placed.update(members)
        groups.append(members)
    return groups


def balance(units: Sequence[CompileUnit], n_processes: int, first_started: bool = False) -> list[list[CompileUnit]]:
    """Spread ``units`` over at most ``n_processes`` lists of about equal expected time.

    Units of one affinity stay together. Longest first, each to the least loaded process (every process also pays
    :data:`PROCESS_START_SECONDS`, except the first one if ``first_started``:
    the calling process). Empty lists are dropped (the first one is kept, maybe
    empty, if ``first_started``); every unit is in exactly one list.
    """
    loads = [PROCESS_START_SECONDS] * max(1, n_processes)
    if first_started:
        loads[0] = 0.0
    shares: list[list[CompileUnit]] = [[] for _ in loads]
    bundles: dict[str, list[CompileUnit]] = {}
    for unit in units:
        bundles.setdefault(unit.affinity or f"unit {unit.name}", []).append(unit)
    for bundle in sorted(bundles.values(), key=lambda items: (-sum(item.seconds for item in items), items[0].name)):
        least = loads.index(min(loads))
        shares[least] += bundle
        loads[least] += sum(unit.seconds for unit in bundle)
    return shares[:1] + [share for share in shares[1:] if share] if first_started else [s for s in shares if s]


def synthetic_case(unit: CompileUnit) -> tuple[sitk.Image, sitk.Image]:
    """A 10 x 12 x 12 image of ``unit.pixel_type`` with a varied 6 x 8 x 8 ROI (label 1)."""
    dtype = np.dtype(unit.pixel_type)
    low, high = unit.value_range
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        low, high = max(low, int(limits.min)), min(high, int(limits.max))
    values = np.random.default_rng(0).integers(low, max(high, low + 2), size=(10, 12, 12)).astype(dtype)
    mask = np.zeros(values.shape, dtype=np.uint8)
    mask[2:8, 2:10, 2:10] = 1
    picture, label = sitk.GetImageFromArray(values), sitk.GetImageFromArray(mask)
    for item in (picture, label):
        item.SetSpacing(tuple(float(s) for s in unit.spacing_mm))
    return picture, label


def run_unit(unit: CompileUnit) -> None:
    """Run one unit in this process (compiling, or loading from the cache, the kernels it needs)."""
    picture, label = synthetic_case(unit)
    if unit.kind == "grid_morans_i":
        from radiomix.features.spatial_autocorrelation import grid_morans_i_gearys_c

        intensity = sitk.GetArrayFromImage(picture).astype(np.float64)
        mask = sitk.GetArrayFromImage(label) > 0
        for method in ("pairs", "fft"):
            grid_morans_i_gearys_c(mask, intensity, tuple(reversed(unit.spacing_mm)), method)
        return
    from radiomix.extract import extract_features

    extract_features(picture, label, unit.spec)


def run_units(units: Sequence[CompileUnit]) -> list[str]:
    """Run ``units`` in this process, each in turn; the failed units' errors (the others still run)."""
    import traceback

    failures = []
    for unit in units:
        try:
            run_unit(unit)
        except Exception:  # reported to the calling process, which compiles this unit's kernels itself
            failures.append(f"{unit.name}:\n{traceback.format_exc()}")
    return failures


def compile_in_processes(units: Sequence[CompileUnit], jobs: int,
                         run_here: Callable[[list[CompileUnit]], None] | None = None) -> list[CompileUnit]:
    """Run ``units`` spread over ``jobs`` processes (one per share of :func:`balance`).

    With ``run_here``, the calling process is one of the ``jobs``: it passes
    its share to ``run_here`` while the others run in new processes.
    Returns the units of the new processes that failed (nonzero exit, or could
    not start); their error output is logged as a warning. The caller decides
    whether to run those in-process.
    """
    shares = balance(units, jobs, first_started=run_here is not None)
    here = shares.pop(0) if run_here is not None else []
    environment = dict(os.environ)
    package_root = str(Path(radiomix.__file__).resolve().parents[1])  # the same radiomix in every process
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (package_root, environment.get("PYTHONPATH"))))
    processes = []
    failed: list[CompileUnit] = []
    try:
        for share in shares:
            errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a talkative process never blocks
            try:
                process = subprocess.Popen([sys.executable, "-m", "radiomix.parallel_compile"], env=environment,
                                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, text=True)
            except OSError as error:
                errors.close()
                LOGGER.warning("radiomix: could not start a compile process (%s); compiling in this process", error)
                failed += share
                continue
            processes.append((process, share, errors))
            try:
                process.stdin.write(json.dumps([dataclasses.asdict(unit) for unit in share]))
                process.stdin.close()
            except BrokenPipeError:
                pass  # the process ended at once: its exit status and error output say why
        if here:
            run_here(here)
        for process, share, errors in processes:
            if process.wait() != 0:
                errors.seek(0)
                LOGGER.warning("radiomix: a compile process failed (exit %s) for %s; their kernels are compiled in "
                               "this process instead. Its error output:\n%s", process.returncode,
                               ", ".join(unit.name for unit in share), errors.read()[-4000:])
                failed += share
    finally:
        for process, _, errors in processes:
            if process.poll() is None:  # interrupted: stop the others (numba writes cache files atomically)
                process.kill()
                process.wait()
            errors.close()
    return failed


def kernel_cache_folder() -> str | None:
    """The folder where numba caches radiomix's feature kernels, or None if processes cannot share it safely.

    Numba picks it per source folder: ``NUMBA_CACHE_DIR`` if writable, else
    the package's ``__pycache__``, else a user-wide folder. None when this
    process cannot write there (compile processes would compile for nothing)
    or without serialised cache writes (no ``fcntl`` file locks, or a numba
    whose cache :mod:`radiomix._numba` cannot wrap).
    """
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return None
    from radiomix._numba import CACHE_WRITES_SERIALISED
    from radiomix.features import statistics

    if not CACHE_WRITES_SERIALISED:
        return None

    kernel = next(value for value in vars(statistics).values()
                  if isinstance(value, numba.core.dispatcher.Dispatcher))
    folder = kernel._cache.cache_path
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


@contextlib.contextmanager
def compile_lock() -> Iterator[None]:
    """Hold the lock that lets one process at a time run a parallel compile in this numba cache.

    A no-op where the cache folder cannot hold the lock file (then no
    compile processes are started: :func:`kernel_cache_folder`).
    """
    folder = kernel_cache_folder()
    try:
        handle = open(os.path.join(folder, LOCK_NAME), "a") if folder else None
    except OSError:
        handle = None
    if handle is None:
        yield
        return
    import fcntl

    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main() -> int:
    """``python -m radiomix.parallel_compile``: run the units read as JSON from standard input."""
    units = [CompileUnit(**{**item, "spacing_mm": tuple(item["spacing_mm"]),
                            "value_range": tuple(item["value_range"])}) for item in json.load(sys.stdin)]
    from radiomix import warmup

    warmup.mark_notified(warmup.KERNEL_GROUPS)  # a compile process neither warns nor starts processes itself
    failures = run_units(units)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
