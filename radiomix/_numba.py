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

Exact arithmetic: :data:`njit_exact` and :data:`njit_exact_parallel` compile
without fast-math, so that LLVM neither fuses multiply-adds nor reorders sums:
for kernels that reproduce another library's results bit for bit (ITK's,
PyWavelets' and scikit-image's filters) or keep NumPy's exact cases exact.
"""

from __future__ import annotations

import functools
import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "forksafe"

FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
"""LLVM fast-math flags used by every kernel (numba wants them as a ``set``)."""

njit = functools.partial(numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS))
"""``numba.njit`` with radiomix's caching and fast-math policy."""

njit_parallel = functools.partial(
    numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS), parallel=True
)
"""As :data:`njit`, for kernels that use ``numba.prange``; each thread must write its own output."""

prange = numba.prange

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
