"""PyWavelets' stationary wavelet transform as pyradiomics repeats it (its Wavelet image type), on a sub-box.

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

The decompositions share their intermediates as a tree (x: 1 input, 2
outputs; y: 2 -> 4; z: 4 -> 8). Every array stays C-contiguous (z, y, x):
convolutions along z and y add whole rows at once (vectors of independent
sums), those along x go through transposed planes in scratch; the results
inside the box are views when the box needs no wrapped index.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix._numba import chunk_count, njit_exact, njit_exact_parallel, prange
from radiomix.preprocess.filters.transpose import transpose_into


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


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """The sub-bands of ``StationaryWaveletFilterSettings`` ``group`` on ``box`` (see :func:`compute_dtype`).

    Settings sharing a wavelet and axes are computed in one decomposition,
    from their lowest level to their highest; an all-low-pass sub-band below
    the highest level takes a decomposition of its own.
    """
    maps = {}
    for wavelet, axes in dict.fromkeys((s.wavelet, s.axes()) for s in group):
        members = [s for s in group if (s.wavelet, s.axes()) == (wavelet, axes)]
        first = min(s.level for s in members)
        last = max(s.level for s in members)
        levels, approximation = stationary_wavelet(array, wavelet, first - 1, last - first + 1, axes, box)
        for settings in members:
            subband = settings.subband.upper()
            if set(subband) != {"L"}:
                maps[settings] = levels[settings.level - first].details[subband]
            elif settings.level == last:
                maps[settings] = approximation
            else:
                maps[settings] = stationary_wavelet(array, wavelet, settings.level - 1, 1, axes, box)[1]
    return [maps[settings] for settings in group]


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
    data = np.ascontiguousarray(_take(array, source_index), dtype=dtype)
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
                name.replace("a", "L").replace("d", "H"): _take(values, in_box)
                for name, values in coefficients.items() if name != "a" * len(axes)}))
    return kept, _take(data, _box_positions(grid, box))


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


def _box_positions(grid, box) -> list[np.ndarray]:
    """Per axis, the positions of the box's indices in the index sets ``grid``."""
    return [np.searchsorted(grid[a], np.arange(box[a].start, box[a].stop)) for a in range(3)]


def _take(array: np.ndarray, positions: list[np.ndarray]) -> np.ndarray:
    """``array[np.ix_(*positions)]``; a view (slices) where every axis' positions are a range of step 1."""
    if all(p.size and np.array_equal(p, np.arange(p[0], p[0] + p.size)) for p in positions):
        return array[tuple(slice(int(p[0]), int(p[0]) + p.size) for p in positions)]
    return array[np.ix_(*positions)]


def _convolve(values: np.ndarray, axis: int, taps: tuple[np.ndarray, np.ndarray], low: np.ndarray,
              high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low- and high-pass circular convolution of the C-contiguous ``values`` along ``axis``.

    The outputs are C-contiguous with ``values``' axis order. The work is
    split into chunks (one per thread for large work: columns of the planes
    for ``axis`` 0, planes of the first axis otherwise), each writing its own
    part of both outputs.
    """
    n_out, length = taps[0].shape
    shape = list(values.shape)
    shape[axis] = n_out
    approximation = np.empty(shape, dtype=low.dtype)
    detail = np.empty(shape, dtype=low.dtype)
    n_units = values.shape[1] * values.shape[2] if axis == 0 else values.shape[0]
    n_chunks = chunk_count(approximation.size * length, n_units)
    if n_chunks == 1:
        filter_pair_along_axis(values, axis, taps[0], taps[1], low, high, approximation, detail, 0, n_units)
    else:
        _convolve_parallel(values, axis, taps[0], taps[1], low, high, approximation, detail, n_units, n_chunks)
    return approximation, detail


@njit_exact
def filter_pair_along_axis(values, axis, filter_index, input_position, low, high, approximation, detail, start, stop):
    """Low- and high-pass outputs along ``axis`` for units ``start..stop``.

    ``out[.., p, ..] = sum_t h[j_pt] values[.., i_pt, ..]`` (along ``axis``),
    accumulated term by term in the filters' precision (compiled without
    fast-math, so that the float32 sums equal PyWavelets' bit for bit).
    The sums of a row run side by side, each in that order (units: columns
    of the flattened planes for axis 0, planes ``values[a]`` for axis 1; for
    the contiguous axis 2, planes ``values[a]`` transposed into scratch and
    the results back).

    Parameters
    ----------
    values : ndarray, shape (n0, n1, n2)
        Input in the working precision, C-contiguous.
    axis : {0, 1, 2}
        Axis convolved.
    filter_index, input_position : ndarray of int64, shape (n_out, L)
        Filter tap ``j_pt`` and input position ``i_pt`` of each term ``t`` of
        output ``p``, in order of summation (:func:`_taps`).
    low, high : ndarray, shape (L,)
        Decomposition filters in the working precision.
    approximation, detail : ndarray
        C-contiguous outputs, ``values``' shape with ``n_out`` along ``axis``.
    start, stop : int
        Units written.
    """
    if axis == 0:
        columns = values.shape[1] * values.shape[2]
        _convolve_columns(values.reshape((values.shape[0], columns)), filter_index, input_position, low, high,
                          approximation.reshape((approximation.shape[0], columns)),
                          detail.reshape((detail.shape[0], columns)), start, stop)
    elif axis == 1:
        for a in range(start, stop):
            _convolve_columns(values[a], filter_index, input_position, low, high, approximation[a], detail[a],
                              0, values.shape[2])
    else:
        n_in, n_lines = values.shape[2], values.shape[1]
        n_out = filter_index.shape[0]
        lines = np.empty((n_in, n_lines), dtype=values.dtype)
        low_lines = np.empty((n_out, n_lines), dtype=approximation.dtype)
        high_lines = np.empty((n_out, n_lines), dtype=detail.dtype)
        for a in range(start, stop):
            transpose_into(values[a], lines)
            _convolve_columns(lines, filter_index, input_position, low, high, low_lines, high_lines, 0, n_lines)
            transpose_into(low_lines, approximation[a])
            transpose_into(high_lines, detail[a])


@njit_exact
def _convolve_columns(values, filter_index, input_position, low, high, approximation, detail, start, stop):
    """Outputs along the first axis of 2D arrays, for columns ``start..stop``, as vectors of columns."""
    n_out, length = filter_index.shape
    for p in range(n_out):
        low_out, high_out = approximation[p, start:stop], detail[p, start:stop]
        tap = filter_index[p, 0]
        source = values[input_position[p, 0], start:stop]
        low_tap, high_tap = low[tap], high[tap]
        for b in range(stop - start):
            low_out[b] = low_tap * source[b]
            high_out[b] = high_tap * source[b]
        for t in range(1, length):
            tap = filter_index[p, t]
            source = values[input_position[p, t], start:stop]
            low_tap, high_tap = low[tap], high[tap]
            for b in range(stop - start):
                low_out[b] += low_tap * source[b]
                high_out[b] += high_tap * source[b]


@njit_exact_parallel
def _convolve_parallel(values, axis, filter_index, input_position, low, high, approximation, detail, n_units,
                       n_chunks):
    """:func:`filter_pair_along_axis` over all ``n_units`` units, one chunk of them per thread."""
    for chunk in prange(n_chunks):
        filter_pair_along_axis(values, axis, filter_index, input_position, low, high, approximation, detail,
                      chunk * n_units // n_chunks, (chunk + 1) * n_units // n_chunks)
