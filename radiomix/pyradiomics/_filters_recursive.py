"""pyradiomics' LoG filter: ITK's recursive Laplacian of Gaussian, computed on a sub-box.

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
the lines crossing the box. Blocks of lines are processed in parallel
(``prange``) when the work is large enough, each thread writing its own lines
(:mod:`radiomix.pyradiomics._filters_numba`).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit_exact, njit_exact_parallel, prange
from radiomix.pyradiomics._filters_numba import chunk_count


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
def filter_lines(data, coefficients, causal, anticausal, n_lines, keep_start, keep_stop):
    """ITK's ``RecursiveSeparableImageFilter::FilterDataArray`` on many lines, at positions ``keep_start..keep_stop``.

    Parameters
    ----------
    data : ndarray of float64, shape (n, width)
        Lines along the first axis (n >= 4) in the first ``n_lines`` columns;
        values beyond the ends of a line are taken equal to its end values.
        Processing the lines together lets the recursion run on vectors of lines.
    coefficients : ndarray of float64, shape (20,)
        From :func:`deriche_coefficients`.
    causal, anticausal : ndarray of float64, shape (n, width)
        Scratch; on return ``causal[keep_start:keep_stop]`` holds the filtered lines.
    n_lines : int
        Number of lines (columns) to filter.
    keep_start, keep_stop : int
        Positions wanted. The causal recursion runs from the start of the
        line up to ``keep_stop`` only and the anti-causal one from the end
        down to ``keep_start`` only: the values there are those of the whole
        line's recursion (same operations), at a fraction of its cost.
    """
    n0, n1, n2, n3 = coefficients[0], coefficients[1], coefficients[2], coefficients[3]
    d1, d2, d3, d4 = coefficients[4], coefficients[5], coefficients[6], coefficients[7]
    m1, m2, m3, m4 = coefficients[8], coefficients[9], coefficients[10], coefficients[11]
    bn1, bn2, bn3, bn4 = coefficients[12], coefficients[13], coefficients[14], coefficients[15]
    bm1, bm2, bm3, bm4 = coefficients[16], coefficients[17], coefficients[18], coefficients[19]
    n = data.shape[0]
    last = n - 1
    for b in range(n_lines):
        edge = data[0, b]
        causal[0, b] = edge * n0 + edge * n1 + edge * n2 + edge * n3
        causal[1, b] = data[1, b] * n0 + edge * n1 + edge * n2 + edge * n3
        causal[2, b] = data[2, b] * n0 + data[1, b] * n1 + edge * n2 + edge * n3
        causal[3, b] = data[3, b] * n0 + data[2, b] * n1 + data[1, b] * n2 + edge * n3
        causal[0, b] -= edge * bn1 + edge * bn2 + edge * bn3 + edge * bn4
        causal[1, b] -= causal[0, b] * d1 + edge * bn2 + edge * bn3 + edge * bn4
        causal[2, b] -= causal[1, b] * d1 + causal[0, b] * d2 + edge * bn3 + edge * bn4
        causal[3, b] -= causal[2, b] * d1 + causal[1, b] * d2 + causal[0, b] * d3 + edge * bn4
    for i in range(4, keep_stop):
        for b in range(n_lines):
            value = data[i, b] * n0 + data[i - 1, b] * n1 + data[i - 2, b] * n2 + data[i - 3, b] * n3
            value -= causal[i - 1, b] * d1 + causal[i - 2, b] * d2 + causal[i - 3, b] * d3 + causal[i - 4, b] * d4
            causal[i, b] = value
    for b in range(n_lines):
        edge = data[last, b]
        anticausal[last, b] = edge * m1 + edge * m2 + edge * m3 + edge * m4
        anticausal[last - 1, b] = data[last, b] * m1 + edge * m2 + edge * m3 + edge * m4
        anticausal[last - 2, b] = data[last - 1, b] * m1 + data[last, b] * m2 + edge * m3 + edge * m4
        anticausal[last - 3, b] = data[last - 2, b] * m1 + data[last - 1, b] * m2 + data[last, b] * m3 + edge * m4
        anticausal[last, b] -= edge * bm1 + edge * bm2 + edge * bm3 + edge * bm4
        anticausal[last - 1, b] -= anticausal[last, b] * d1 + edge * bm2 + edge * bm3 + edge * bm4
        anticausal[last - 2, b] -= anticausal[last - 1, b] * d1 + anticausal[last, b] * d2 + edge * bm3 + edge * bm4
        anticausal[last - 3, b] -= (anticausal[last - 2, b] * d1 + anticausal[last - 1, b] * d2
                                    + anticausal[last, b] * d3 + edge * bm4)
    for i in range(n - 4, keep_start, -1):
        for b in range(n_lines):
            value = data[i, b] * m1 + data[i + 1, b] * m2 + data[i + 2, b] * m3 + data[i + 3, b] * m4
            value -= (anticausal[i, b] * d1 + anticausal[i + 1, b] * d2 + anticausal[i + 2, b] * d3
                      + anticausal[i + 3, b] * d4)
            anticausal[i - 1, b] = value
    for i in range(keep_start, keep_stop):
        for b in range(n_lines):
            causal[i, b] += anticausal[i, b]


def filter_first_axis(source: np.ndarray, coefficients: np.ndarray, keep: slice) -> np.ndarray:
    """Filter every line along the first axis of ``source``, keeping positions ``keep``.

    Parameters
    ----------
    source : ndarray, shape (n, n_a, n_b)
        Any real dtype (a view is fine); lines run along the first axis.
    coefficients : ndarray of float64, shape (20,)
        From :func:`deriche_coefficients`.
    keep : slice
        Positions along the lines to return (step 1).

    Returns
    -------
    ndarray of float32, shape (keep length, n_a, n_b)
        The filtered lines cast to float32 (ITK's internal image type). The
        second axis is split into chunks (one per thread for large work),
        each chunk filtering its ``n_b``-line blocks together and writing its
        own part of the output.
    """
    n, n_a, n_b = source.shape
    out = np.empty((keep.stop - keep.start, n_a, n_b), dtype=np.float32)
    n_chunks = chunk_count(n * n_a * n_b * 8, n_a)
    if n_chunks == 1:
        _filter_blocks(source, coefficients, keep.start, out, 0, n_a)
    else:
        _filter_blocks_parallel(source, coefficients, keep.start, out, n_chunks)
    return out


LINES_PER_BLOCK = 64
"""Lines filtered together (the recursion runs on vectors of this many lines; blocks stay in cache)."""


@njit_exact
def _filter_blocks(source, coefficients, keep_start, out, start, stop):
    """Filter the lines ``source[:, a, b]`` for ``a`` in ``start..stop`` into ``out[:, a, b]``."""
    n, _, n_b = source.shape
    width = min(LINES_PER_BLOCK, n_b)
    data = np.empty((n, width))
    causal = np.empty((n, width))
    anticausal = np.empty((n, width))
    for a in range(start, stop):
        for first in range(0, n_b, width):
            count = min(width, n_b - first)
            if source.strides[0] < source.strides[2]:
                for b in range(count):  # lines contiguous in memory: read each line in order
                    for i in range(n):
                        data[i, b] = source[i, a, first + b]
            else:
                for i in range(n):
                    for b in range(count):
                        data[i, b] = source[i, a, first + b]
            filter_lines(data, coefficients, causal, anticausal, count, keep_start, keep_start + out.shape[0])
            for i in range(out.shape[0]):
                for b in range(count):
                    out[i, a, first + b] = np.float32(causal[keep_start + i, b])


@njit_exact_parallel
def _filter_blocks_parallel(source, coefficients, keep_start, out, n_chunks):
    """:func:`_filter_blocks` over the whole second axis, one chunk per thread."""
    n_a = source.shape[1]
    for chunk in prange(n_chunks):
        _filter_blocks(source, coefficients, keep_start, out, chunk * n_a // n_chunks, (chunk + 1) * n_a // n_chunks)


def _along(array: np.ndarray, axis: int, coefficients: np.ndarray, keep: slice) -> np.ndarray:
    """:func:`filter_first_axis` along numpy ``axis`` of a (z, y, x) array; the result is (z, y, x) again.

    The other two axes keep their order, the last one varying fastest
    within each thread's block of lines.
    """
    moved = np.moveaxis(array, axis, 0)
    return np.moveaxis(filter_first_axis(moved, coefficients, keep), 0, axis)


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
    total = np.zeros(tuple(s.stop - s.start for s in box), dtype=np.float32)
    # ITK's axes x, y, z are numpy axes 2, 1, 0. Term of `axis`: the derivative along it, then
    # smoothing along the two other axes in increasing ITK order. Every pass keeps only the box's
    # range along its own axis, so later passes filter only the lines that cross the box.
    for axis in (2, 1, 0):
        term = _along(array, axis, deriche_coefficients(sigma_mm, spacing_zyx[axis], 2, True), box[axis])
        for smoothing_axis in (a for a in (2, 1, 0) if a != axis):
            coefficients = deriche_coefficients(sigma_mm, spacing_zyx[smoothing_axis], 0, False)
            term = _along(term, smoothing_axis, coefficients, box[smoothing_axis])
        # ITK's accumulation: float32(total + term / spacing^2), computed in double
        scale = 1.0 / (spacing_zyx[axis] * spacing_zyx[axis])
        total = (total.astype(np.float64) + term.astype(np.float64) * scale).astype(np.float32)
    return total
