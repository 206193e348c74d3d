"""1D convolution along one axis, the building block of every separable filter.

``out[i] = sum_j w[j] * in[i + c - j]`` with ``c = (len(w) - 1) / 2`` (a true
convolution, the kernel centred on its middle tap), the image extended beyond
its border by a boundary condition. The numba kernel runs in parallel over
output lines; each thread writes only its own lines.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit_parallel, prange
from radiomix.preprocess.filters.boundary import BOUNDARY_CODES, source_index


@njit_parallel
def _convolve_lines(source, weights, boundary, out):
    """Convolve ``source`` (outer, n, inner) along its middle axis into ``out`` (same shape)."""
    n_outer, size, n_inner = source.shape
    n_taps = weights.shape[0]
    centre = (n_taps - 1) // 2
    for line in prange(n_outer * size):
        outer = line // size
        index = line - outer * size
        for inner in range(n_inner):
            out[outer, index, inner] = 0.0
        for tap in range(n_taps):
            weight = weights[tap]
            if weight == 0.0:
                continue
            read = source_index(index + centre - tap, size, boundary)
            if read < 0:
                continue
            for inner in range(n_inner):
                out[outer, index, inner] += weight * source[outer, read, inner]


@njit_parallel
def _convolve_rows(source, weights, boundary, out):
    """Convolve each row of ``source`` (rows, n) along its contiguous axis into ``out``."""
    n_rows, size = source.shape
    n_taps = weights.shape[0]
    centre = (n_taps - 1) // 2
    first_inside = n_taps - 1 - centre
    for row in prange(n_rows):
        for index in range(size):
            total = 0.0
            if index >= first_inside and index + centre < size:
                for tap in range(n_taps):
                    total += weights[tap] * source[row, index + centre - tap]
            else:
                for tap in range(n_taps):
                    read = source_index(index + centre - tap, size, boundary)
                    if read >= 0:
                        total += weights[tap] * source[row, read]
            out[row, index] = total


def convolve_axis(array: np.ndarray, weights: np.ndarray, axis: int, boundary: str) -> np.ndarray:
    """Convolve ``array`` with the 1D kernel ``weights`` along ``axis``.

    Parameters
    ----------
    array : ndarray
        Any number of dimensions; converted to C-contiguous float64.
    weights : ndarray
        1D kernel of odd length, centred on its middle tap (append a zero to an
        even-length kernel to centre it on tap ``n/2``).
    axis : int
        Axis to filter along.
    boundary : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border.

    Returns
    -------
    ndarray of float64
        Same shape as ``array``.
    """
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.ndim != 1 or weights.size % 2 == 0:
        raise ValueError(f"weights must be a 1D kernel of odd length (centred on its middle tap), got shape "
                         f"{weights.shape}; append a zero to an even-length kernel")
    if boundary not in BOUNDARY_CODES:
        raise ValueError(f"boundary must be one of {list(BOUNDARY_CODES)}, got {boundary!r}")
    array = np.ascontiguousarray(array, dtype=np.float64)
    axis = axis % array.ndim
    shape = array.shape
    n_inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    if n_inner == 1:
        rows = array.reshape(-1, shape[axis])
        out = np.empty_like(rows)
        _convolve_rows(rows, weights, BOUNDARY_CODES[boundary], out)
    else:
        lines = array.reshape(-1, shape[axis], n_inner)
        out = np.empty_like(lines)
        _convolve_lines(lines, weights, BOUNDARY_CODES[boundary], out)
    return out.reshape(shape)


def convolve_separable(array: np.ndarray, kernels: dict[int, np.ndarray], boundary: str) -> np.ndarray:
    """Convolve with a separable kernel: ``kernels[axis]`` along each listed axis, in the order given."""
    for axis, weights in kernels.items():
        array = convolve_axis(array, weights, axis, boundary)
    return array


def box_kernel(support: int) -> np.ndarray:
    """The 1D averaging kernel of ``support`` (odd) voxels."""
    return np.full(support, 1.0 / support)
