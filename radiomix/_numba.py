"""The one numba policy of radiomix.

Every kernel is decorated with :data:`njit` (compiled once, cached on disk).
Fast-math is enabled without the ``nnan`` and ``ninf`` flags so that NaN and
infinity checks inside kernels keep working. Tolerances are passed to kernels
as arguments: module globals are frozen at compile time.

Parallel kernels run on a fork-safe threading layer (``forksafe``: numba's
workqueue here), because cohort runs fork one process per task and a process
that has run parallel kernels may fork; GNU OpenMP, numba's default pick on
Linux, aborts such forks. Set ``NUMBA_THREADING_LAYER`` to choose another layer, and
``NUMBA_NUM_THREADS`` (or :func:`numba.set_num_threads`) for the number of threads.

Parallel work: kernels whose work is large enough split it into
:func:`chunk_count` chunks processed with :data:`prange`, each chunk writing
only its own part of the output (or its own partial output, summed
afterwards). Below :data:`PARALLEL_MIN_WORK` voxel operations (about 10 ms on
one core) a kernel runs on the calling thread only: a parallel region waits
for every worker thread to be scheduled, which on a busy machine costs
milliseconds per region (measured ~10 ms at a load of 2-3 on 2 cores with GNU
OpenMP; less with the workqueue layer).
Kernels whose parallel loop only calls a block function can instead run the
blocks on Python threads (:func:`run_in_threads`, the block compiled with
:data:`njit_nogil`): ``parallel=True`` adds 1-2 s of compilation per kernel on
first use.

Cache writes: numba's cache is not safe for processes that save variants of one
kernel at the same time (each picks its data file name from the index it read,
so one can overwrite the other's entry and leave an index entry pointing at
another signature's code). :func:`serialise_cache_writes`, applied on import,
makes every save (and load) of the numba cache hold a file lock in the cache
folder, so that parallel compile processes (:mod:`radiomix.parallel_compile`)
and concurrent cohort workers keep it consistent.

Exact arithmetic: :data:`njit_exact` and :data:`njit_exact_parallel` compile
without fast-math, so that LLVM neither fuses multiply-adds nor reorders sums:
for kernels that reproduce another library's results bit for bit (ITK's,
PyWavelets' and scikit-image's filters) or keep NumPy's exact cases exact.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
from collections.abc import Callable, Sequence

import numba
from numba.core import caching

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "forksafe"

CACHE_LOCK_NAME = "radiomix-numba-cache.lock"
"""File, in each numba cache folder, locked while a cache entry is saved (exclusive) or loaded (shared)."""


@contextlib.contextmanager
def cache_folder_lock(folder: str, exclusive: bool):
    """Hold the lock of a numba cache folder; a no-op without ``fcntl`` or where the lock file cannot be opened."""
    try:
        import fcntl
        handle = open(os.path.join(folder, CACHE_LOCK_NAME), "a")
    except (ImportError, OSError):  # not POSIX, or a read-only cache (nothing is saved there)
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)  # released on close
        yield


def serialise_cache_writes() -> bool:
    """Make numba's cache saves and loads hold :func:`cache_folder_lock` (once per process).

    Returns whether they do: False with a numba whose cache file class is not
    the one this wraps (then no compile processes share the cache).
    """
    cache_file = getattr(caching, "IndexDataCacheFile", None)
    if not (callable(getattr(cache_file, "save", None)) and callable(getattr(cache_file, "load", None))):
        return False
    if getattr(cache_file.save, "radiomix_locked", False):
        return True
    unlocked_save, unlocked_load = cache_file.save, cache_file.load

    @functools.wraps(unlocked_save)
    def save(self, key, data):
        with cache_folder_lock(self._cache_path, exclusive=True):
            return unlocked_save(self, key, data)

    @functools.wraps(unlocked_load)
    def load(self, key):
        with cache_folder_lock(self._cache_path, exclusive=False):
            return unlocked_load(self, key)

    save.radiomix_locked = True
    cache_file.save, cache_file.load = save, load
    return True


CACHE_WRITES_SERIALISED = serialise_cache_writes()
"""Whether numba's cache saves and loads in this process hold the cache folder's lock."""

FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
"""LLVM fast-math flags used by every kernel (numba wants them as a ``set``)."""

njit = functools.partial(numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS))
"""``numba.njit`` with radiomix's caching and fast-math policy."""

njit_parallel = functools.partial(
    numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS), parallel=True
)
"""As :data:`njit`, for kernels that use ``numba.prange``; each thread must write its own output."""

prange = numba.prange

njit_nogil = functools.partial(numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS), nogil=True)
"""As :data:`njit`, releasing the GIL: for blocks of work run on several threads by :func:`run_in_threads`."""

njit_exact = functools.partial(numba.njit, cache=True)
"""``numba.njit`` with caching but without fast-math (IEEE order of operations, no fused multiply-add):
for kernels that must reproduce another library's results bit for bit."""

njit_exact_parallel = functools.partial(numba.njit, cache=True, parallel=True)
"""As :data:`njit_exact`, for kernels using ``numba.prange``; each thread writes its own output."""


PARALLEL_MIN_WORK = 10_000_000
"""Voxel operations (voxels x offsets, voxels x filter taps, ...) from which kernels use every thread."""


def chunk_count(work: int, n_units: int) -> int:
    """Number of parallel chunks for ``work`` voxel operations spread over ``n_units`` independent units.

    1 (run on the calling thread) below :data:`PARALLEL_MIN_WORK`, else numba's
    thread count, at most one chunk per unit.
    """
    if work < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(numba.get_num_threads(), n_units))


def run_in_threads(calls: Sequence[Callable[[], object]]) -> list:
    """Results of ``calls`` (functions without arguments), each on its own thread when there are several.

    For :data:`njit_nogil` blocks of work that each write only their own part of an output (the threads
    are joined before returning; an exception of a call is raised here).
    """
    if len(calls) == 1:
        return [calls[0]()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]
