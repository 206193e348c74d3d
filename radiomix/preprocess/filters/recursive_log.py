"""ITK's recursive Laplacian of Gaussian (pyradiomics' LoG image type), computed on a sub-box.

pyradiomics filters with SimpleITK's ``LaplacianRecursiveGaussianImageFilter``
(``NormalizeAcrossScale`` on, ``sigma`` in mm). ITK computes it as the sum over
the axes ``d`` (x, y, z in turn) of ``D_d`` then ``S_a`` then ``S_b``, each a
pass of Deriche's 4th-order recursive (IIR) filter along one axis: ``D_d``
approximates the second derivative of a Gaussian along ``d`` (scaled by
``sigma^2``), ``S_a``, ``S_b`` Gaussian smoothing along the two other axes in
increasing ITK order. Each pass reads a line into doubles, filters it
causally and anti-causally with constant extension of the end values, and
stores float32; the sum accumulates ``float32(sum + pass / spacing_d^2)``.

This module reproduces those passes line by line, but only for the lines and
positions needed to obtain a given box of the result: the first pass of each
term filters every line of the image along its axis (an IIR line needs all
its input) and keeps the box's range along it; the next passes filter only
the lines crossing the box.

Memory layout: every volume stays C-contiguous (z, y, x) and the recursion
always runs on vectors of adjacent lines (:func:`filter_columns`). Lines
along z and y are read in place (adjacent lines are adjacent in memory);
lines along x, contiguous in memory, are transposed by blocks into scratch
and back. The two passes of a term that stay within z-planes (x and y) run
plane by plane (:func:`filter_in_planes`), so that their float32
intermediate stays in cache. Planes, or blocks of lines, are processed in
parallel (``prange``) when the work is large enough, each thread writing its
own part (:mod:`radiomix._numba`).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import chunk_count, njit_exact, njit_exact_parallel, prange
from radiomix.preprocess.filters.transpose import transpose_into


def deriche_coefficients(sigma_mm: float, spacing_mm: float, order: int, normalize_across_scale: bool) -> np.ndarray:
    """Coefficients of ITK's ``RecursiveGaussianImageFilter`` along one axis.

    Parameters
    ----------
    sigma_mm : float
        Gaussian width in mm.
    spacing_mm : float
        Voxel size along the axis in mm.
    order : {0, 2}
        0: Gaussian smoothing; 2: second derivative.
    normalize_across_scale : bool
        Multiply the second derivative by ``sigma_mm ** 2`` (no effect on order 0).

    Returns
    -------
    ndarray of float64, shape (20,)
        ``N0..N3, D1..D4, M1..M4, BN1..BN4, BM1..BM4`` (ITK's names), computed
        with ITK's formulas in the same order of operations.
    """
    if spacing_mm < 1e-8:
        raise ValueError(f"spacing {spacing_mm} mm is too small for the recursive Gaussian filter")
    sigmad = sigma_mm / spacing_mm
    a1 = (1.3530, -0.6724, -1.3563)
    b1 = (1.8151, -3.4327, 5.2318)
    w1 = 0.6681
    l1 = -1.3932
    a2 = (-0.3531, 0.6724, 0.3446)
    b2 = (0.0902, 0.6100, -2.2355)
    w2 = 2.0787
    l2 = -1.3732

    cos1 = math.cos(w1 / sigmad)
    cos2 = math.cos(w2 / sigmad)
    exp1 = math.exp(l1 / sigmad)
    exp2 = math.exp(l2 / sigmad)
    d4 = exp1 * exp1 * exp2 * exp2
    d3 = -2 * cos1 * exp1 * exp2 * exp2
    d3 += -2 * cos2 * exp2 * exp1 * exp1
    d2 = 4 * cos2 * cos1 * exp1 * exp2
    d2 += exp1 * exp1 + exp2 * exp2
    d1 = -2 * (exp2 * cos2 + exp1 * cos1)
    sd = 1.0 + d1 + d2 + d3 + d4
    dd = d1 + 2 * d2 + 3 * d3 + 4 * d4
    ed = d1 + 4 * d2 + 9 * d3 + 16 * d4

    def numerator(k):
        sin1 = math.sin(w1 / sigmad)
        sin2 = math.sin(w2 / sigmad)
        n0 = a1[k] + a2[k]
        n1 = exp2 * (b2[k] * sin2 - (a2[k] + 2 * a1[k]) * cos2)
        n1 += exp1 * (b1[k] * sin1 - (a1[k] + 2 * a2[k]) * cos1)
        n2 = (a1[k] + a2[k]) * cos2 * cos1
        n2 -= b1[k] * cos2 * sin1 + b2[k] * cos1 * sin2
        n2 *= 2 * exp1 * exp2
        n2 += a2[k] * exp1 * exp1 + a1[k] * exp2 * exp2
        n3 = exp2 * exp1 * exp1 * (b2[k] * sin2 - a2[k] * cos2)
        n3 += exp1 * exp2 * exp2 * (b1[k] * sin1 - a1[k] * cos1)
        sn = n0 + n1 + n2 + n3
        dn = n1 + 2 * n2 + 3 * n3
        en = n1 + 4 * n2 + 9 * n3
        return [n0, n1, n2, n3], sn, dn, en

    if order == 0:
        n, sn, _, _ = numerator(0)
        alpha0 = 2 * sn / sd - n[0]
        n = [value * (1.0 / alpha0) for value in n]
    elif order == 2:
        scale = sigma_mm * sigma_mm if normalize_across_scale else 1.0
        n_0, sn0, dn0, en0 = numerator(0)
        n_2, sn2, dn2, en2 = numerator(2)
        beta = -(2 * sn2 - sd * n_2[0]) / (2 * sn0 - sd * n_0[0])
        n = [n_2[k] + beta * n_0[k] for k in range(4)]
        sn = sn2 + beta * sn0
        dn = dn2 + beta * dn0
        en = en2 + beta * en0
        alpha2 = en * sd * sd - ed * sn * sd - 2 * dn * dd * sd + 2 * dd * dd * sn
        alpha2 /= sd * sd * sd
        n = [value * (scale / alpha2) for value in n]
    else:
        raise ValueError(f"order must be 0 or 2, got {order}")

    # symmetric kernels (orders 0 and 2): anti-causal coefficients and boundary terms
    m1 = n[1] - d1 * n[0]
    m2 = n[2] - d2 * n[0]
    m3 = n[3] - d3 * n[0]
    m4 = -d4 * n[0]
    sn = n[0] + n[1] + n[2] + n[3]
    sm = m1 + m2 + m3 + m4
    sd = 1.0 + d1 + d2 + d3 + d4
    bn = [d * sn / sd for d in (d1, d2, d3, d4)]
    bm = [d * sm / sd for d in (d1, d2, d3, d4)]
    return np.array(n + [d1, d2, d3, d4, m1, m2, m3, m4] + bn + bm, dtype=np.float64)


@njit_exact
def filter_columns(data, first, count, coefficients, causal, anticausal, keep_start, out, out_first):
    """ITK's ``RecursiveSeparableImageFilter::FilterDataArray`` on columns of ``data``, at positions ``keep_start..``.

    Parameters
    ----------
    data : ndarray, shape (n, m)
        Any real dtype, C-contiguous; each column is a line (n >= 4), the
        values beyond its ends taken equal to its end values. Columns
        ``first..first + count`` are filtered together: the recursion runs
        on vectors of lines, read straight from ``data``.
    first, count : int
        The columns filtered.
    coefficients : ndarray of float64, shape (20,)
        From :func:`deriche_coefficients`.
    causal : ndarray of float64, shape (n, >= count)
        Scratch: the causal recursion.
    anticausal : ndarray of float64, shape (8, >= count)
        Scratch: the anti-causal recursion's last values, position ``p`` in
        row ``p % 8`` (its results go straight to ``out``).
    keep_start : int
        First position wanted; ``out.shape[0]`` positions are wanted. The
        causal recursion runs from the start of the line up to the last
        wanted position only and the anti-causal one from the end down to
        ``keep_start`` only: the values there are those of the whole line's
        recursion (same operations), at a fraction of its cost.
    out : ndarray of float32, shape (n_keep, m_out)
        ``out[p - keep_start, out_first + b]`` receives position ``p`` of
        column ``first + b``, filtered and cast to float32 (ITK's internal
        image type).
    out_first : int
        Column of ``out`` receiving column ``first``.
    """
    n0, n1, n2, n3 = coefficients[0], coefficients[1], coefficients[2], coefficients[3]
    d1, d2, d3, d4 = coefficients[4], coefficients[5], coefficients[6], coefficients[7]
    m1, m2, m3, m4 = coefficients[8], coefficients[9], coefficients[10], coefficients[11]
    bn1, bn2, bn3, bn4 = coefficients[12], coefficients[13], coefficients[14], coefficients[15]
    bm1, bm2, bm3, bm4 = coefficients[16], coefficients[17], coefficients[18], coefficients[19]
    n = data.shape[0]
    last = n - 1
    keep_stop = keep_start + out.shape[0]
    stop = first + count
    # Loops over lines use row views (a contiguous run of each row), which LLVM vectorises.
    x0, x1, x2, x3 = data[0, first:stop], data[1, first:stop], data[2, first:stop], data[3, first:stop]
    y0, y1, y2, y3 = causal[0], causal[1], causal[2], causal[3]
    for b in range(count):
        edge = np.float64(x0[b])
        y0[b] = edge * n0 + edge * n1 + edge * n2 + edge * n3
        y1[b] = np.float64(x1[b]) * n0 + edge * n1 + edge * n2 + edge * n3
        y2[b] = np.float64(x2[b]) * n0 + np.float64(x1[b]) * n1 + edge * n2 + edge * n3
        y3[b] = np.float64(x3[b]) * n0 + np.float64(x2[b]) * n1 + np.float64(x1[b]) * n2 + edge * n3
        y0[b] -= edge * bn1 + edge * bn2 + edge * bn3 + edge * bn4
        y1[b] -= y0[b] * d1 + edge * bn2 + edge * bn3 + edge * bn4
        y2[b] -= y1[b] * d1 + y0[b] * d2 + edge * bn3 + edge * bn4
        y3[b] -= y2[b] * d1 + y1[b] * d2 + y0[b] * d3 + edge * bn4
    _causal_sweep(data, first, count, causal, keep_stop, (n0, n1, n2, n3), (d1, d2, d3, d4))
    x0, x1, x2 = data[last, first:stop], data[last - 1, first:stop], data[last - 2, first:stop]
    y0, y1, y2, y3 = (anticausal[last % 8], anticausal[(last - 1) % 8], anticausal[(last - 2) % 8],
                      anticausal[(last - 3) % 8])
    for b in range(count):
        edge = np.float64(x0[b])
        y0[b] = edge * m1 + edge * m2 + edge * m3 + edge * m4
        y1[b] = edge * m1 + edge * m2 + edge * m3 + edge * m4
        y2[b] = np.float64(x1[b]) * m1 + edge * m2 + edge * m3 + edge * m4
        y3[b] = np.float64(x2[b]) * m1 + np.float64(x1[b]) * m2 + edge * m3 + edge * m4
        y0[b] -= edge * bm1 + edge * bm2 + edge * bm3 + edge * bm4
        y1[b] -= y0[b] * d1 + edge * bm2 + edge * bm3 + edge * bm4
        y2[b] -= y1[b] * d1 + y0[b] * d2 + edge * bm3 + edge * bm4
        y3[b] -= y2[b] * d1 + y1[b] * d2 + y0[b] * d3 + edge * bm4
    for p in range(max(last - 3, keep_start), keep_stop):
        result, forward, backward = out[p - keep_start, out_first:out_first + count], causal[p], anticausal[p % 8]
        for b in range(count):
            result[b] = np.float32(forward[b] + backward[b])
    # anticausal[i - 1] from positions i..i+3: outside the wanted positions first, then inside them
    feed, back = (m1, m2, m3, m4), (d1, d2, d3, d4)
    # ``write`` as a constant (two specialisations): measured 1.5x faster on one thread than a variable
    _anticausal_sweep(data, first, count, anticausal, n - 4, max(keep_stop, keep_start), feed, back, causal, out,
                      keep_start, out_first, False)
    _anticausal_sweep(data, first, count, anticausal, min(n - 4, keep_stop), keep_start, feed, back, causal, out,
                      keep_start, out_first, True)


@njit_exact
def _step(x0, x1, x2, x3, y1, y2, y3, y4, feed, back):
    """One step of ITK's recursion: ``x0 f0 + x1 f1 + x2 f2 + x3 f3 - (y1 b1 + y2 b2 + y3 b3 + y4 b4)``, in order."""
    value = x0 * feed[0] + x1 * feed[1] + x2 * feed[2] + x3 * feed[3]
    value -= y1 * back[0] + y2 * back[1] + y3 * back[2] + y4 * back[3]
    return value


@njit_exact(inline="always")
def _two_steps(x_next, x0, x1, x2, x3, y_next, y0, y1, y2, y3, y4, count, feed, back):
    """Two consecutive positions of the recursion on ``count`` lines (vectors of lines, in either direction).

    ``y0 = step(x0..x3, y1..y4)``, then ``y_next = step(x_next, x0..x2, y0..y3)``: the
    second position reuses the first's inputs and result from registers.
    """
    for b in range(count):
        a0, a1, a2 = np.float64(x0[b]), np.float64(x1[b]), np.float64(x2[b])
        c1, c2, c3 = y1[b], y2[b], y3[b]
        value = _step(a0, a1, a2, np.float64(x3[b]), c1, c2, c3, y4[b], feed, back)
        y0[b] = value
        y_next[b] = _step(np.float64(x_next[b]), a0, a1, a2, value, c1, c2, c3, feed, back)


@njit_exact
def _causal_sweep(data, first, count, causal, stop_position, feed, back):
    """``causal[i]`` for ``i`` in ``4..stop_position`` from ``data[i - 3..i]`` and ``causal[i - 4..i - 1]``.

    Two positions per pass over the lines (:func:`_two_steps`: fewer loads, the same operations).
    """
    stop = first + count
    i = 4
    while i + 1 < stop_position:
        x_next, x0, x1, x2, x3 = (data[i + 1, first:stop], data[i, first:stop], data[i - 1, first:stop],
                                  data[i - 2, first:stop], data[i - 3, first:stop])
        _two_steps(x_next, x0, x1, x2, x3, causal[i + 1], causal[i], causal[i - 1], causal[i - 2], causal[i - 3],
                   causal[i - 4], count, feed, back)
        i += 2
    if i < stop_position:
        x0, x1, x2, x3 = data[i, first:stop], data[i - 1, first:stop], data[i - 2, first:stop], data[i - 3, first:stop]
        y0, y1, y2, y3, y4 = causal[i], causal[i - 1], causal[i - 2], causal[i - 3], causal[i - 4]
        for b in range(count):
            y0[b] = _step(np.float64(x0[b]), np.float64(x1[b]), np.float64(x2[b]), np.float64(x3[b]),
                          y1[b], y2[b], y3[b], y4[b], feed, back)


@njit_exact
def _anticausal_sweep(data, first, count, anticausal, high, low, feed, back, causal, out, keep_start, out_first,
                      write):
    """``anticausal[i - 1]`` for ``i`` from ``high`` down to ``low + 1``, from ``data[i..i+3]``, ``anticausal[i..i+3]``.

    Two positions per pass over the lines, as :func:`_causal_sweep`. With
    ``write``, also ``out[i - 1 - keep_start, out_first + b] = float32(causal[i - 1] + anticausal[i - 1])``.
    """
    stop = first + count
    i = high
    while i - 1 > low:
        x_next, x0, x1, x2, x3 = (data[i - 1, first:stop], data[i, first:stop], data[i + 1, first:stop],
                                  data[i + 2, first:stop], data[i + 3, first:stop])
        y_next, y0, y1, y2, y3, y4 = (anticausal[(i - 2) % 8], anticausal[(i - 1) % 8], anticausal[i % 8],
                                      anticausal[(i + 1) % 8], anticausal[(i + 2) % 8], anticausal[(i + 3) % 8])
        if write:
            result = out[i - 1 - keep_start, out_first:out_first + count]
            result_next = out[i - 2 - keep_start, out_first:out_first + count]
            forward, forward_next = causal[i - 1], causal[i - 2]
            for b in range(count):
                a0, a1, a2 = np.float64(x0[b]), np.float64(x1[b]), np.float64(x2[b])
                c1, c2, c3 = y1[b], y2[b], y3[b]
                value = _step(a0, a1, a2, np.float64(x3[b]), c1, c2, c3, y4[b], feed, back)
                following = _step(np.float64(x_next[b]), a0, a1, a2, value, c1, c2, c3, feed, back)
                y0[b] = value
                y_next[b] = following
                result[b] = np.float32(forward[b] + value)
                result_next[b] = np.float32(forward_next[b] + following)
        else:
            _two_steps(x_next, x0, x1, x2, x3, y_next, y0, y1, y2, y3, y4, count, feed, back)
        i -= 2
    if i > low:
        x0, x1, x2, x3 = data[i, first:stop], data[i + 1, first:stop], data[i + 2, first:stop], data[i + 3, first:stop]
        y0, y1, y2, y3, y4 = (anticausal[(i - 1) % 8], anticausal[i % 8], anticausal[(i + 1) % 8],
                              anticausal[(i + 2) % 8], anticausal[(i + 3) % 8])
        for b in range(count):
            y0[b] = _step(np.float64(x0[b]), np.float64(x1[b]), np.float64(x2[b]), np.float64(x3[b]),
                          y1[b], y2[b], y3[b], y4[b], feed, back)
        if write:
            result, forward = out[i - 1 - keep_start, out_first:out_first + count], causal[i - 1]
            for b in range(count):
                result[b] = np.float32(forward[b] + y0[b])


LINES_PER_BLOCK = (256, 512, 128)
"""Most lines filtered together, by axis (the recursion runs on vectors of lines). Measured best on 2 cores
with 1 MB of L2 each: whole rows along axes 0 and 1 (read in place), 128 along axis 2 (transposed scratch)."""


@njit_exact
def _block_width(n_lines, lines_per_block):
    """Width of equal blocks (a multiple of 8 if possible) covering ``n_lines``, about ``lines_per_block`` at most."""
    n_blocks = -(-n_lines // lines_per_block)
    width = -(-n_lines // n_blocks)
    return min(n_lines, width + (-width) % 8)


@njit_exact
def _filter_plane(plane, along, coefficients, keep_start, out, lines_per_block):
    """Filter the lines of a C-contiguous 2D ``plane`` along its axis ``along`` into ``out``.

    ``along`` 0: lines across the rows, read in place as vectors of adjacent
    lines. ``along`` 1: lines along the rows (contiguous in memory): blocks
    of them are transposed into scratch, so that the recursion still runs on
    vectors of lines, and the results back.
    """
    if along == 0:
        n, m = plane.shape
        width = _block_width(m, lines_per_block)
        causal = np.empty((n, width))
        anticausal = np.empty((8, width))
        for first in range(0, m, width):
            filter_columns(plane, first, min(width, m - first), coefficients, causal, anticausal, keep_start, out,
                           first)
    else:
        m, n = plane.shape
        n_keep = out.shape[1]
        width = _block_width(m, lines_per_block)
        lines = np.empty((n, width))  # float64: measured faster than the plane's float32 (brain1, one thread)
        # each block's results in a C-contiguous (n_keep, count) view, not a strided slice (no 'A'-layout variant)
        filtered_buffer = np.empty(n_keep * width, dtype=np.float32)
        causal = np.empty((n, width))
        anticausal = np.empty((8, width))
        for first in range(0, m, width):
            count = min(width, m - first)
            transpose_into(plane[first:first + count], lines)
            filtered = filtered_buffer[:n_keep * count].reshape((n_keep, count))
            filter_columns(lines, 0, count, coefficients, causal, anticausal, keep_start, filtered, 0)
            transpose_into(filtered, out[first:first + count])


@njit_exact
def _filter_axis_lines(source, axis, coefficients, keep_start, out, start, stop, lines_per_block):
    """Filter the lines of ``source`` along ``axis`` into ``out``, for units ``start..stop``.

    Units are the columns of the (n, rest) view for ``axis`` 0 (lines along
    the slowest axis, vectors of adjacent lines read in memory order), and
    the planes ``source[a]`` for ``axis`` 1 or 2 (:func:`_filter_plane`).
    """
    if axis == 0:
        n = source.shape[0]
        columns = source.shape[1] * source.shape[2]
        data = source.reshape((n, columns))
        result = out.reshape((out.shape[0], columns))
        width = _block_width(max(1, stop - start), lines_per_block)
        causal = np.empty((n, width))
        anticausal = np.empty((8, width))
        for first in range(start, stop, width):
            filter_columns(data, first, min(width, stop - first), coefficients, causal, anticausal, keep_start,
                           result, first)
    else:
        for a in range(start, stop):
            _filter_plane(source[a], axis - 1, coefficients, keep_start, out[a], lines_per_block)


def filter_axis(source: np.ndarray, axis: int, coefficients: np.ndarray, keep: slice) -> np.ndarray:
    """Filter every line along ``axis`` of a 3D array, keeping positions ``keep`` along it.

    Parameters
    ----------
    source : ndarray, shape (n0, n1, n2)
        Any real dtype (made C-contiguous if it is not).
    axis : {0, 1, 2}
        Axis the lines run along.
    coefficients : ndarray of float64, shape (20,)
        From :func:`deriche_coefficients`.
    keep : slice
        Positions along the lines to return (step 1).

    Returns
    -------
    ndarray of float32, C-contiguous
        ``source``'s shape with ``axis`` cut to ``keep``: the filtered lines
        cast to float32 (ITK's internal image type). The work is split into
        chunks (one per thread for large work: columns for ``axis`` 0, planes
        of the first axis otherwise), each chunk writing its own part.
    """
    source = _read_only(np.ascontiguousarray(source))
    shape = list(source.shape)
    shape[axis] = keep.stop - keep.start
    out = np.empty(shape, dtype=np.float32)
    n_units = source.shape[1] * source.shape[2] if axis == 0 else source.shape[0]
    n_chunks = chunk_count(source.size * 8, n_units)
    if n_chunks == 1:
        _filter_axis_lines(source, axis, coefficients, keep.start, out, 0, n_units, LINES_PER_BLOCK[axis])
    else:
        _filter_in_chunks(False, source, axis, coefficients, keep.start, keep.stop - keep.start, coefficients,
                          keep.start, out, n_units, n_chunks, LINES_PER_BLOCK)
    return out


@njit_exact
def _filter_planes_twice(source, first_axis, first_coefficients, first_keep_start, first_keep_length,
                         second_coefficients, second_keep_start, out, start, stop, lines_per_block):
    """Two passes in each plane ``source[a]``, ``a`` in ``start..stop``: along ``first_axis`` (1 or 2), then the other.

    The first pass's float32 result stays in a scratch plane (in cache)
    instead of going through memory.
    """
    rows, columns = source.shape[1], source.shape[2]
    if first_axis == 1:
        scratch = np.empty((first_keep_length, columns), dtype=np.float32)
    else:
        scratch = np.empty((rows, first_keep_length), dtype=np.float32)
    for a in range(start, stop):
        _filter_plane(source[a], first_axis - 1, first_coefficients, first_keep_start, scratch,
                      lines_per_block[first_axis])
        _filter_plane(scratch, 2 - first_axis, second_coefficients, second_keep_start, out[a],
                      lines_per_block[3 - first_axis])


@njit_exact_parallel
def _filter_in_chunks(in_planes, source, axis, first_coefficients, first_keep_start, first_keep_length,
                      second_coefficients, second_keep_start, out, n_units, n_chunks, lines_per_block):
    """The one parallel driver: ``n_units`` units split into ``n_chunks`` chunks, one per thread.

    With ``in_planes``, :func:`_filter_planes_twice` on the planes (``axis``
    is the first pass's); else :func:`_filter_axis_lines` with the first
    pass's arguments (the second's are ignored). One driver for both, so
    that numba's slow parallel compilation runs once.
    """
    for chunk in prange(n_chunks):
        start, stop = chunk * n_units // n_chunks, (chunk + 1) * n_units // n_chunks
        if in_planes:
            _filter_planes_twice(source, axis, first_coefficients, first_keep_start, first_keep_length,
                                 second_coefficients, second_keep_start, out, start, stop, lines_per_block)
        else:
            _filter_axis_lines(source, axis, first_coefficients, first_keep_start, out, start, stop,
                               lines_per_block[axis])


def filter_in_planes(source: np.ndarray, first_axis: int, first_coefficients: np.ndarray, first_keep: slice,
                     second_coefficients: np.ndarray, second_keep: slice) -> np.ndarray:
    """:func:`filter_axis` along ``first_axis`` (1 or 2), then along the other of axes 1 and 2, plane by plane.

    Both passes stay inside the planes ``source[a]``, so each plane goes
    through both before the next: the same values as two calls of
    :func:`filter_axis` (the intermediate is the same float32 plane), without
    writing and reading the intermediate volume.

    Parameters
    ----------
    source : ndarray, shape (n0, n1, n2)
        Any real dtype (made C-contiguous if it is not).
    first_axis : {1, 2}
        Axis of the first pass; the second runs along axis ``3 - first_axis``.
    first_coefficients, second_coefficients : ndarray of float64, shape (20,)
        From :func:`deriche_coefficients`, for each pass.
    first_keep, second_keep : slice
        Positions kept by each pass along its axis (step 1).

    Returns
    -------
    ndarray of float32, C-contiguous
        ``source``'s shape with axes 1 and 2 cut to the kept positions. Planes
        are split into chunks (one per thread for large work), each chunk
        writing its own planes.
    """
    source = _read_only(np.ascontiguousarray(source))
    second_axis = 3 - first_axis
    shape = list(source.shape)
    shape[first_axis] = first_keep.stop - first_keep.start
    shape[second_axis] = second_keep.stop - second_keep.start
    out = np.empty(shape, dtype=np.float32)
    n_chunks = chunk_count(source.size * 16, source.shape[0])
    arguments = (source, first_axis, first_coefficients, first_keep.start, first_keep.stop - first_keep.start,
                 second_coefficients, second_keep.start, out)
    if n_chunks == 1:
        _filter_planes_twice(*arguments, 0, source.shape[0], LINES_PER_BLOCK)
    else:
        _filter_in_chunks(True, *arguments, source.shape[0], n_chunks, LINES_PER_BLOCK)
    return out


@njit_exact
def _accumulate(total, term, scale):
    """``total = float32(total + term * scale)`` voxel by voxel, in double (ITK's sum of the LoG terms)."""
    flat_total = total.reshape(total.size)
    flat_term = term.reshape(term.size)
    for v in range(flat_total.size):
        flat_total[v] = np.float32(np.float64(flat_total[v]) + np.float64(flat_term[v]) * scale)


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """:func:`laplacian_of_gaussian` (float32) on ``box`` for each ``RecursiveLogFilterSettings`` of ``group``."""
    array = _kernel_input(array)  # once for every sigma
    return [laplacian_of_gaussian(array, spacing_zyx, settings.sigma_mm, box) for settings in group]


def _kernel_input(array: np.ndarray) -> np.ndarray:
    """``array`` in float32 where float32 holds its dtype exactly (ITK reads every value as a double), else itself.

    One dtype for the usual inputs: one compiled specialisation of every kernel.
    """
    if array.dtype != np.float32 and np.can_cast(array.dtype, np.float32, "safe"):
        return array.astype(np.float32)
    return array


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of a C-contiguous ``array`` (no copy).

    Every volume the drivers read is passed read-only (a read-only array is
    another numba type than a writable one): one compiled specialisation of
    the drivers for the image (often read-only) and for the intermediates.
    """
    view = array.view()
    view.flags.writeable = False
    return view


def laplacian_of_gaussian(array: np.ndarray, spacing_zyx, sigma_mm: float,
                          box: tuple[slice, slice, slice]) -> np.ndarray:
    """ITK's normalised recursive LoG of a (z, y, x) array, on ``box`` only.

    Parameters
    ----------
    array : ndarray, shape (nz, ny, nx)
        The whole image (every side at least 4 voxels), any real dtype.
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm.
    sigma_mm : float
        Gaussian width in mm.
    box : tuple of 3 slices
        The region of the result wanted (steps of 1).

    Returns
    -------
    ndarray of float32, shape of the box
        Equal to SimpleITK's ``LaplacianRecursiveGaussian`` (normalised across
        scale) of the whole image, cropped to ``box``.
    """
    def derivative(axis):
        return deriche_coefficients(sigma_mm, spacing_zyx[axis], 2, True)

    def smoothing(axis):
        return deriche_coefficients(sigma_mm, spacing_zyx[axis], 0, False)

    array = _kernel_input(array)
    total = np.zeros(tuple(s.stop - s.start for s in box), dtype=np.float32)
    # ITK's axes x, y, z are numpy axes 2, 1, 0. Term of an axis: the derivative along it, then
    # smoothing along the two other axes in increasing ITK order (x: Dx Sy Sz, y: Dy Sx Sz, z: Dz Sx Sy).
    # Every pass keeps only the box's range along its own axis, so later passes filter only the lines
    # that cross the box; the passes along y and x of a term run plane by plane.
    terms = (
        (2, filter_axis(filter_in_planes(array, 2, derivative(2), box[2], smoothing(1), box[1]), 0, smoothing(0),
                        box[0])),
        (1, filter_axis(filter_in_planes(array, 1, derivative(1), box[1], smoothing(2), box[2]), 0, smoothing(0),
                        box[0])),
        (0, filter_in_planes(filter_axis(array, 0, derivative(0), box[0]), 2, smoothing(2), box[2], smoothing(1),
                             box[1])),
    )
    for axis, term in terms:
        # ITK's accumulation: float32(total + term / spacing^2), computed in double
        _accumulate(total, term, 1.0 / (spacing_zyx[axis] * spacing_zyx[axis]))
    return total
