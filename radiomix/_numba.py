"""The one numba policy of radiomix.

Every kernel is decorated with :data:`njit` (compiled once, cached on disk).
Fast-math is enabled without the ``nnan`` and ``ninf`` flags so that NaN and
infinity checks inside kernels keep working. Tolerances are passed to kernels
as arguments: module globals are frozen at compile time.

Parallel kernels run on a fork-safe threading layer (``forksafe``: numba's
workqueue here), because cohort runs fork one process per task from a process
that has already run kernels; GNU OpenMP, numba's default pick on Linux,
aborts such forks. Set ``NUMBA_THREADING_LAYER`` to choose another layer, and
``NUMBA_NUM_THREADS`` for the number of threads.
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
