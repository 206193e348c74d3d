"""2D local binary pattern (pyradiomics' LBP2D image type), computed on a sub-box.

scikit-image's ``local_binary_pattern`` of every slice across
``force2Ddimension`` (pyradiomics' ``lbp2DSamples`` P, ``lbp2DRadius`` R,
``lbp2DMethod``): P points at ``(r - R sin(2 pi p / P), c + R cos(2 pi p / P))``
(offsets rounded to 5 decimals, R in single precision), bilinear
interpolation with 0 outside the slice, bit ``p`` set when the point is at
least the centre; ``default``: sum of set bits ``2^p``; ``ror``: its smallest
circular bit rotation; ``uniform``: number of set bits when the pattern
changes at most twice between consecutive points (the wrap from P-1 to 0
not counted), else P + 1; ``var``: population variance of the P values
(NaN when 0). A pixel's value depends on its neighbours within R pixels, so
the values inside a box are computed from the whole image without computing
the rest of it. The 3D pattern is :mod:`~radiomix.preprocess.filters.local_binary_pattern_3d`.

Kernels compile without fast-math (same operations as scikit-image,
bit-identical results) and split the box into chunks processed in parallel
for large work (:mod:`radiomix._numba`).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import chunk_count, njit_exact, njit_exact_parallel, prange

LBP_METHODS = {"default": 0, "ror": 1, "uniform": 2, "var": 3}
"""pyradiomics' ``lbp2DMethod`` values and the kernel's method codes."""


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """:func:`local_binary_pattern_2d` (float64) on ``box`` for each settings of ``group``."""
    return [local_binary_pattern_2d(array, settings.slice_axis, settings.samples, settings.radius, settings.method,
                                    box) for settings in group]


def local_binary_pattern_2d(array: np.ndarray, axis: int, samples: int, radius: float, method: str,
                            box: tuple[slice, slice, slice]) -> np.ndarray:
    """scikit-image's 2D LBP of every slice of a (z, y, x) array across ``axis``, on ``box`` only.

    Parameters
    ----------
    array : ndarray, shape (nz, ny, nx)
        The whole image, any real dtype (read as float64).
    axis : int
        Slices are taken across this axis (pyradiomics' ``force2Ddimension``).
    samples : int
        Number of points P (``lbp2DSamples``).
    radius : float
        Circle radius R in pixels (``lbp2DRadius``).
    method : {"default", "ror", "uniform", "var"}
        ``lbp2DMethod``.
    box : tuple of 3 slices
        The region wanted (steps of 1).

    Returns
    -------
    ndarray of float64, shape of the box
        scikit-image's output values (pyradiomics then stores them in the
        image's own pixel type).
    """
    radius = float(np.float32(radius))  # scikit-image's kernel takes R as a C float
    angles = 2 * np.pi * np.arange(samples, dtype=np.float64) / samples
    row_offsets = np.round(-radius * np.sin(angles), 5)
    column_offsets = np.round(radius * np.cos(angles), 5)
    order = [0, 1, 2]
    order[0], order[axis] = axis, 0  # pyradiomics slices array.swapaxes(0, axis)
    slices = np.swapaxes(array, 0, axis)
    box_moved = tuple(box[a] for a in order)
    lower = np.array([s.start for s in box_moved], dtype=np.int64)
    out = np.empty(tuple(s.stop - s.start for s in box_moved), dtype=np.float64)
    n_chunks = chunk_count(out.size * samples * 8, out.shape[0])
    arguments = (slices, row_offsets, column_offsets, LBP_METHODS[method], lower, out)
    if n_chunks == 1:
        _lbp_slices(*arguments, 0, out.shape[0])
    else:
        _lbp_parallel(*arguments, n_chunks)
    return np.swapaxes(out, 0, axis)


@njit_exact
def _lbp_slices(slices, row_offsets, column_offsets, method, lower, out, start, stop):
    """LBP of box slices ``start..stop`` (first axis of ``out``) into ``out``."""
    samples = row_offsets.size
    rows = slices.shape[1]
    columns = slices.shape[2]
    texture = np.empty(samples)
    signs = np.empty(samples, dtype=np.int64)
    for bs in range(start, stop):
        s = lower[0] + bs
        for br in range(out.shape[1]):
            r = lower[1] + br
            for bc in range(out.shape[2]):
                c = lower[2] + bc
                for p in range(samples):
                    texture[p] = _bilinear(slices, s, rows, columns, r + row_offsets[p], c + column_offsets[p])
                centre = np.float64(slices[s, r, c])
                for p in range(samples):
                    signs[p] = 1 if texture[p] - centre >= 0 else 0
                out[bs, br, bc] = _pattern(texture, signs, method)


@njit_exact
def _bilinear(slices, s, rows, columns, r, c):
    """scikit-image's bilinear interpolation of slice ``s`` at (r, c), 0 outside the slice."""
    low_r = int(np.floor(r))
    low_c = int(np.floor(c))
    high_r = int(np.ceil(r))
    high_c = int(np.ceil(c))
    dr = r - low_r
    dc = c - low_c
    top_left = _pixel(slices, s, rows, columns, low_r, low_c)
    top_right = _pixel(slices, s, rows, columns, low_r, high_c)
    bottom_left = _pixel(slices, s, rows, columns, high_r, low_c)
    bottom_right = _pixel(slices, s, rows, columns, high_r, high_c)
    top = (1 - dc) * top_left + dc * top_right
    bottom = (1 - dc) * bottom_left + dc * bottom_right
    return (1 - dr) * top + dr * bottom


@njit_exact
def _pixel(slices, s, rows, columns, r, c):
    """Pixel (r, c) of slice ``s`` as float64, 0 outside the slice."""
    if r < 0 or r >= rows or c < 0 or c >= columns:
        return 0.0
    return np.float64(slices[s, r, c])


@njit_exact
def _pattern(texture, signs, method):
    """scikit-image's LBP value of one pixel from its sampled values and their signs."""
    samples = signs.size
    if method == 3:  # var
        total = 0.0
        squares = 0.0
        for p in range(samples):
            total += texture[p]
            squares += texture[p] * texture[p]
        variance = (squares - (total * total) / samples) / samples
        return variance if variance != 0 else np.nan
    if method == 2:  # uniform
        changes = 0
        for p in range(samples - 1):
            if signs[p] != signs[p + 1]:
                changes += 1
        if changes > 2:
            return np.float64(samples + 1)
        ones = 0
        for p in range(samples):
            ones += signs[p]
        return np.float64(ones)
    value = 0
    for p in range(samples):
        value += signs[p] << p
    if method == 1:  # ror: smallest circular right rotation
        smallest = value
        for _ in range(1, samples):
            value = (value >> 1) | ((value & 1) << (samples - 1))
            smallest = min(smallest, value)
        value = smallest
    return np.float64(value)


@njit_exact_parallel
def _lbp_parallel(slices, row_offsets, column_offsets, method, lower, out, n_chunks):
    """:func:`_lbp_slices` over all box slices, one chunk of slices per thread."""
    n_slices = out.shape[0]
    for chunk in prange(n_chunks):
        _lbp_slices(slices, row_offsets, column_offsets, method, lower, out, chunk * n_slices // n_chunks,
                    (chunk + 1) * n_slices // n_chunks)
