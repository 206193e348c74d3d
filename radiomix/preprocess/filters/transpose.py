"""Blocked transpose of a 2D array, for kernels that run along memory-contiguous lines.

The recursive LoG and the stationary wavelet filter lines as vectors of
adjacent lines; lines along the contiguous axis are transposed into scratch
first and the results back.
"""

from __future__ import annotations

from radiomix._numba import njit_exact


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
