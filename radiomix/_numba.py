"""The one numba policy of radiomix.

Every kernel is decorated with :data:`njit` (compiled once, cached on disk).
Fast-math is enabled without the ``nnan`` and ``ninf`` flags so that NaN and
infinity checks inside kernels keep working. Tolerances are passed to kernels
as arguments: module globals are frozen at compile time.
"""

from __future__ import annotations

import functools

import numba

FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
"""LLVM fast-math flags used by every kernel (numba wants them as a ``set``)."""

njit = functools.partial(numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS))
"""``numba.njit`` with radiomix's caching and fast-math policy."""

njit_parallel = functools.partial(
    numba.njit, cache=True, fastmath=set(FASTMATH_FLAGS), parallel=True
)
"""As :data:`njit`, for kernels that use ``numba.prange``; each thread must write its own output."""

prange = numba.prange
