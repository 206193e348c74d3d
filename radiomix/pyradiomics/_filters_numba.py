"""Threading and compilation choices shared by the kernels of radiomix's pyradiomics backend.

Threads
    Kernels whose work is large enough split it into chunks processed in
    parallel with ``numba.prange``, each chunk writing only its own part of
    the output (or its own partial output, summed afterwards). The number of
    threads is numba's: the ``NUMBA_NUM_THREADS`` environment variable (read
    at import) or :func:`numba.set_num_threads`; ``NUMBA_NUM_THREADS=1``
    runs everything on one thread. Below :data:`PARALLEL_MIN_WORK` voxel
    operations (about 10 ms of work on one core) a kernel runs on the calling
    thread only: a parallel region waits for every worker thread to be
    scheduled, which on a busy machine costs milliseconds per region (measured
    ~10 ms at a load of 2-3 on 2 cores with GNU OpenMP; less with the
    workqueue layer that :mod:`radiomix._numba` selects).

Exact arithmetic
    :data:`radiomix._numba.njit_exact` and ``njit_exact_parallel`` compile without
    fast-math (unlike :data:`radiomix._numba.njit`), so that LLVM neither
    fuses multiply-adds nor reorders sums: the filter kernels use them to
    reproduce ITK's, PyWavelets' and scikit-image's results bit for bit, the
    texture feature kernels to keep NumPy's exact cases exact.
"""

from __future__ import annotations

import numba

from radiomix._numba import njit_exact

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


@njit_exact
def transpose_into(source, target):
    """``target[j, i] = source[i, j]`` (cast to ``target``'s dtype) for the whole of ``source``.

    Tiles of 8 x 8: each tile's 8 rows of ``target`` are written as runs of 8
    contiguous values, which LLVM turns into vector shuffles.
    """
    rows, columns = source.shape
    full_rows = rows - rows % 8
    full_columns = columns - columns % 8
    for i0 in range(0, full_rows, 8):
        for j0 in range(0, full_columns, 8):
            for j in range(j0, j0 + 8):
                run = target[j, i0:i0 + 8]
                for k in range(8):
                    run[k] = source[i0 + k, j]
        for j in range(full_columns, columns):
            for i in range(i0, i0 + 8):
                target[j, i] = source[i, j]
    for i in range(full_rows, rows):
        for j in range(columns):
            target[j, i] = source[i, j]
