"""pyradiomics' Wavelet image type: its stationary wavelet transform, computed on a sub-box.

pyradiomics (``imageoperations._swt3``) pads every odd-sized axis with one
voxel copied from the start of the axis (``numpy.pad(..., 'wrap')``), then
repeats ``start_level + level`` times a one-level stationary wavelet
transform (``pywt.swtn(data, wavelet, level=1, start_level=0, axes)``: the
same undilated filters every time) of the previous approximation, and keeps
the 7 (3D) or 3 (2D) detail images of the last ``level`` repetitions and the
last approximation, each cropped back to the original size.

A one-level SWT along an axis of padded length ``N`` is a circular
convolution: ``out[n] = sum_j h[j] x[(n + L/2 - j) mod N]`` (``h`` PyWavelets'
decomposition low- or high-pass filter of even length ``L``, summed for
``j = 0..L-1``, in the data's precision: float32 for float32 images, else
float64, as PyWavelets). The axes are transformed in the order x, y, z
(``axes`` order), the key letter of each axis appended in that order.

Each output voxel depends on ``L`` neighbours per axis and repetition, so the
values inside a box need the input only on a slightly larger box (wrapping
around the padded axis): this module computes exactly those, with per-axis
index sets, instead of the whole image. Sums follow PyWavelets' order and
precision (and its float32 filter tables), so results are bit-identical.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix._numba import njit_exact, njit_exact_parallel, prange
from radiomix.pyradiomics._filters_numba import chunk_count


class WaveletLevel(NamedTuple):
    """The detail images of one kept repetition, inside the box.

    Attributes
    ----------
    details : dict of str to ndarray
        ``{"LLH": array, ...}``: decomposition name (one letter per
        transformed axis, in ``axes`` order: ``L`` low pass, ``H`` high
        pass) -> values on the box, in PyWavelets' order.
    """

    details: dict


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """PyWavelets' working precision for an input dtype: float32 stays float32, the rest becomes float64."""
    return np.dtype(np.float32) if np.dtype(dtype) in (np.float16, np.float32) else np.dtype(np.float64)


def stationary_wavelet(array: np.ndarray, wavelet: str, start_level: int, level: int, axes: tuple[int, ...],
                       box: tuple[slice, slice, slice]) -> tuple[list[WaveletLevel], np.ndarray]:
    """pyradiomics' stationary wavelet decompositions of a (z, y, x) array, on ``box`` only.

    Parameters
    ----------
    array : ndarray, shape (nz, ny, nx)
        The whole image.
    wavelet : str
        PyWavelets wavelet name (e.g. ``coif1``).
    start_level : int
        Repetitions done before the first kept one.
    level : int
        Number of kept repetitions.
    axes : tuple of int
        Transformed numpy axes, in transform order (``(2, 1, 0)`` in 3D; the
        ``force2Ddimension`` left out in 2D).
    box : tuple of 3 slices
        The region of the results wanted (steps of 1).

    Returns
    -------
    levels : list of WaveletLevel
        One per kept repetition, in order.
    approximation : ndarray, shape of the box
        The approximation of the last repetition.
    """
    dtype = compute_dtype(array.dtype)
    low, high = pywavelets_filters(wavelet, dtype)
    half = low.size // 2
    n_repetitions = start_level + level

    # per axis: index set (in padded coordinates) of each repetition's output, last to first
    outputs = [[None] * n_repetitions for _ in range(3)]
    inputs = [None] * 3
    for axis in range(3):
        wanted = np.arange(box[axis].start, box[axis].stop)
        if axis not in axes:
            outputs[axis] = [wanted] * n_repetitions
            inputs[axis] = wanted
            continue
        padded_length = array.shape[axis] + array.shape[axis] % 2
        for repetition in range(n_repetitions - 1, -1, -1):
            outputs[axis][repetition] = wanted
            wanted = _support(wanted, half, low.size, padded_length)
        inputs[axis] = wanted

    # the padded array on the first repetition's input grid (index n of an odd axis is index 0)
    source_index = [np.where(inputs[a] < array.shape[a], inputs[a], 0) for a in range(3)]
    data = np.ascontiguousarray(array[np.ix_(*source_index)], dtype=dtype)
    grid = list(inputs)

    kept = []
    for repetition in range(n_repetitions):
        subbands = [("", data)]
        for axis in axes:
            padded_length = array.shape[axis] + array.shape[axis] % 2
            taps = _taps(outputs[axis][repetition], grid[axis], half, low.size, padded_length)
            split = []
            for name, values in subbands:
                approximation, detail = _convolve(values, axis, taps, low, high)
                split += [(name + "a", approximation), (name + "d", detail)]
            subbands = split
        grid = [outputs[a][repetition] for a in range(3)]
        coefficients = dict(subbands)
        data = coefficients["a" * len(axes)]
        if repetition >= start_level:
            in_box = _box_positions(grid, box)
            kept.append(WaveletLevel({
                name.replace("a", "L").replace("d", "H"): values[in_box]
                for name, values in coefficients.items() if name != "a" * len(axes)}))
    return kept, data[_box_positions(grid, box)]


def pywavelets_filters(wavelet: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The decomposition filters PyWavelets applies to data of ``dtype``.

    For float32 data PyWavelets uses its own float32 filter tables, which for
    some wavelets (``coif*``) are not the float32 rounding of the float64
    ``Wavelet.dec_lo``/``dec_hi``. They are read exactly from a one-level SWT
    of a unit impulse of that dtype (each output is one filter tap times 1).
    """
    import pywt  # imported here: PyWavelets is needed by the Wavelet image type only

    length = pywt.Wavelet(wavelet).dec_len
    impulse = np.zeros(2 * length, dtype=dtype)
    impulse[length // 2] = 1
    (low, high), = pywt.swt(impulse, wavelet, level=1)
    return np.ascontiguousarray(low[:length]), np.ascontiguousarray(high[:length])


def _support(indices: np.ndarray, half: int, length: int, padded_length: int) -> np.ndarray:
    """Input indices (sorted, unique, wrapped) that the outputs at ``indices`` read."""
    reach = (indices[:, None] + half - np.arange(length)[None, :]) % padded_length
    return np.unique(reach)


def _taps(outputs: np.ndarray, grid: np.ndarray, half: int, length: int,
          padded_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Filter taps of each output, in PyWavelets' order of summation.

    Output ``n`` sums ``h[j] x[(n + half - j) mod N]``; PyWavelets adds the
    terms for ``j = 0..L-1`` in turn, except near the end of the axis
    (``n + half >= N``) where it first adds the wrapped terms
    ``j = n + half - N`` down to 0, then the others upwards.

    Returns
    -------
    filter_index : ndarray of int64, shape (n_out, L)
        ``j`` of each term, in summation order.
    input_position : ndarray of int64, shape (n_out, L)
        Position in ``grid`` of the input index of each term.
    """
    order = np.tile(np.arange(length), (outputs.size, 1))
    for row, output in enumerate(outputs):
        wrapped = output + half - padded_length  # last wrapped j, when >= 0
        if wrapped >= 0:
            order[row] = np.r_[np.arange(wrapped, -1, -1), np.arange(wrapped + 1, length)]
    reach = (outputs[:, None] + half - order) % padded_length
    return (np.ascontiguousarray(order, dtype=np.int64),
            np.ascontiguousarray(np.searchsorted(grid, reach), dtype=np.int64))


def _box_positions(grid, box) -> tuple:
    """Index arrays selecting the box from an array on the per-axis index sets ``grid``."""
    return np.ix_(*[np.searchsorted(grid[a], np.arange(box[a].start, box[a].stop)) for a in range(3)])


def _convolve(values: np.ndarray, axis: int, taps: tuple[np.ndarray, np.ndarray], low: np.ndarray,
              high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low- and high-pass circular convolution of ``values`` along ``axis``.

    The convolved axis is moved first (a contiguous copy), so that each term
    is added to a whole row of outputs at once (vectors of independent sums,
    each in PyWavelets' order). The second axis is split into chunks (one per
    thread for large work), each chunk writing its own rows of both outputs.
    """
    moved = np.ascontiguousarray(np.moveaxis(values, axis, 0))
    _, n_a, n_b = moved.shape
    n_out, length = taps[0].shape
    approximation = np.empty((n_out, n_a, n_b), dtype=low.dtype)
    detail = np.empty((n_out, n_a, n_b), dtype=low.dtype)
    n_chunks = chunk_count(n_a * n_b * n_out * length, n_a)
    if n_chunks == 1:
        convolve_rows(moved, taps[0], taps[1], low, high, approximation, detail, 0, n_a)
    else:
        _convolve_parallel(moved, taps[0], taps[1], low, high, approximation, detail, n_chunks)
    return np.moveaxis(approximation, 0, axis), np.moveaxis(detail, 0, axis)


@njit_exact
def convolve_rows(values, filter_index, input_position, low, high, approximation, detail, start, stop):
    """Low- and high-pass outputs along the first axis for indices ``start..stop`` of the second axis.

    ``out[p, a, b] = sum_t h[j_pt] values[i_pt, a, b]``, accumulated term by
    term in the filters' precision (compiled without fast-math, so that the
    float32 sums equal PyWavelets' bit for bit; the sums of a row run side by
    side, each in that order).

    Parameters
    ----------
    values : ndarray, shape (n_in, n_a, n_b)
        Input in the working precision, C-contiguous.
    filter_index, input_position : ndarray of int64, shape (n_out, L)
        Filter tap ``j_pt`` and input position ``i_pt`` of each term ``t`` of
        output ``p``, in order of summation (:func:`_taps`).
    low, high : ndarray, shape (L,)
        Decomposition filters in the working precision.
    approximation, detail : ndarray, shape (n_out, n_a, n_b)
        Outputs, written for ``a`` in ``start..stop``.
    """
    n_b = values.shape[2]
    n_out, length = filter_index.shape
    for a in range(start, stop):
        for p in range(n_out):
            tap = filter_index[p, 0]
            source = input_position[p, 0]
            for b in range(n_b):
                approximation[p, a, b] = low[tap] * values[source, a, b]
                detail[p, a, b] = high[tap] * values[source, a, b]
            for t in range(1, length):
                tap = filter_index[p, t]
                source = input_position[p, t]
                for b in range(n_b):
                    approximation[p, a, b] += low[tap] * values[source, a, b]
                    detail[p, a, b] += high[tap] * values[source, a, b]


@njit_exact_parallel
def _convolve_parallel(values, filter_index, input_position, low, high, approximation, detail, n_chunks):
    """:func:`convolve_rows` over the whole second axis, one chunk per thread."""
    n_a = values.shape[1]
    for chunk in prange(n_chunks):
        convolve_rows(values, filter_index, input_position, low, high, approximation, detail,
                      chunk * n_a // n_chunks, (chunk + 1) * n_a // n_chunks)
