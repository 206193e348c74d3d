"""Fourier-domain filtering: padding, the IBSI-2 frequency grid, and spatial kernels by FFT.

Frequency grid. Along an axis of ``n`` samples the IBSI-2 reference
implementation samples frequencies on the centred grid
``(j - (n-1)/2) / ((n-1)/2)``, ``j = 0..n-1`` (then shifted to FFT order), in
units of the Nyquist frequency: the outermost bins sit at +-Nyquist and, for
even ``n``, no bin is exactly at zero. The IBSI-2 consensus response maps of
the Simoncelli wavelet follow this grid (the exact grid ``2 k / n`` misses them
by several per cent), so radiomix uses it for the Simoncelli and Riesz filters.
Such a transfer function is not Hermitian; the response is its real part, which
is what :func:`apply_transfer` computes, with the transfer function
symmetrised (``(H(k) + conj(H(-k))) / 2``) so that real FFTs can be used.

Padding. A band-limited filter has no finite support: the image is padded by
the boundary condition to an FFT-friendly length of at least twice its size
along each filtered axis (and at least the spatial kernel's half-width on each
side), except for ``periodic``, which is the FFT's own boundary condition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft

from radiomix._numba import njit, njit_parallel, prange
from radiomix.preprocess.filters.boundary import NUMPY_PAD_MODES

WORKERS = -1
"""``scipy.fft`` worker threads: all cores."""


def reference_frequencies(n: int) -> np.ndarray:
    """IBSI-2 frequency grid of an axis of ``n`` samples, in FFT order, relative to the Nyquist frequency."""
    if n == 1:
        return np.zeros(1)
    centre = (n - 1) / 2.0
    return np.fft.ifftshift((np.arange(n) - centre) / centre)


def padding_widths(shape: tuple[int, ...], axes: Sequence[int], boundary: str,
                   kernel_radius: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """``(before, after)`` padding per axis for a Fourier-domain filter along ``axes`` (see the module docstring)."""
    widths = [(0, 0)] * len(shape)
    if boundary == "periodic":
        return widths
    for position, axis in enumerate(axes):
        n = shape[axis]
        radius = 0 if kernel_radius is None else kernel_radius[position]
        total = scipy.fft.next_fast_len(max(2 * n, n + 2 * radius))
        before = max((total - n) // 2, radius)
        widths[axis] = (before, total - n - before)
    return widths


def padded(image: np.ndarray, widths: list[tuple[int, int]], boundary: str) -> np.ndarray:
    """``image`` padded by ``widths`` (``(before, after)`` per axis) with ``boundary``."""
    image = np.asarray(image, dtype=np.float64)
    if not any(before or after for before, after in widths):
        return image
    return np.pad(image, widths, mode=NUMPY_PAD_MODES[boundary])


def unpadded(array: np.ndarray, widths: list[tuple[int, int]]) -> np.ndarray:
    """Remove the padding ``widths`` from ``array``."""
    return array[tuple(slice(before, array.shape[a] - after) for a, (before, after) in enumerate(widths))]


def circular_kernel(kernel: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``kernel`` (odd size per axis, centred) placed on a periodic grid of ``shape`` with its centre at index 0.

    Taps that fall beyond a grid smaller than the kernel wrap around and add up.
    """
    placed = np.zeros(shape, dtype=kernel.dtype)
    index = np.ix_(*[(np.arange(size) - size // 2) % n for size, n in zip(kernel.shape, shape)])
    np.add.at(placed, index, kernel)
    return placed


@njit
def _transfer(f0, f1, f2, level, orders, total_order, prefactor):
    """Simoncelli band (``level`` > 0) times Riesz multiplier at frequency ``(f0, f1, f2)``."""
    rho = math.sqrt(f0 * f0 + f1 * f1 + f2 * f2)
    value = 1.0 + 0.0j
    if level > 0:
        top = 2.0 ** (1 - level)
        if rho < top / 4.0 or rho > top:
            return 0.0 + 0.0j
        value *= math.cos(math.pi / 2.0 * math.log2(2.0 * rho / top))
    if total_order > 0:
        if rho == 0.0:
            return 0.0 + 0.0j
        value *= prefactor * (f0 / rho) ** orders[0] * (f1 / rho) ** orders[1] * (f2 / rho) ** orders[2]
    return value


@njit_parallel
def _apply_transfer(spectrum, plus, minus, level, orders, prefactor):
    """Multiply ``spectrum`` (3D, in place) by the symmetrised Simoncelli x Riesz transfer function.

    ``plus[a]`` / ``minus[a]`` hold the grid frequencies of each bin of axis ``a``
    and of its negated bin (a (3, max_n) array, zeros on untransformed axes);
    ``level`` 0 means no Simoncelli band; ``orders`` (3,) the Riesz orders.
    """
    n0, n1, n2 = spectrum.shape
    total_order = orders[0] + orders[1] + orders[2]
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                forward = _transfer(plus[0, i], plus[1, j], plus[2, k], level, orders, total_order, prefactor)
                backward = _transfer(minus[0, i], minus[1, j], minus[2, k], level, orders, total_order,
                                     prefactor)
                spectrum[i, j, k] *= 0.5 * (forward + backward.conjugate())


def riesz_prefactor(orders: Sequence[int]) -> complex:
    """``(-i)^L sqrt(L! / prod(l_k!))`` of the Riesz transform of orders ``l_k`` (``L`` their sum)."""
    total = sum(orders)
    return (-1j) ** total * math.sqrt(math.factorial(total) / math.prod(math.factorial(o) for o in orders))


def apply_transfer(image: np.ndarray, axes: Sequence[int], boundary: str, level: int = 0,
                   riesz_orders: Sequence[int] | None = None, kernel: np.ndarray | None = None) -> np.ndarray:
    """Real response of ``image`` to ``kernel`` x Simoncelli band x Riesz multiplier, along ``axes``.

    Parameters
    ----------
    image : ndarray
        3D ``(z, y, x)`` intensities.
    axes : sequence of int
        The filtered array axes, increasing (``(1, 2)``: slice-wise; ``(0, 1, 2)``: 3D).
    boundary : {"zero", "nearest", "periodic", "mirror"}
        Padding (see the module docstring).
    level : int
        Simoncelli decomposition level; 0: no Simoncelli band.
    riesz_orders : sequence of int, optional
        Riesz orders per filtered axis, in the order of ``axes``.
    kernel : ndarray, optional
        A real spatial kernel over ``axes`` (odd size per axis), applied by FFT first.

    Returns
    -------
    ndarray of float64
        Same shape as ``image``.
    """
    radius = None if kernel is None else [size // 2 for size in kernel.shape]
    widths = padding_widths(image.shape, axes, boundary, radius)
    extended = padded(image, widths, boundary)
    shape = [extended.shape[a] for a in axes]
    spectrum = scipy.fft.rfftn(extended, axes=axes, workers=WORKERS)
    if kernel is not None:
        kernel_spectrum = scipy.fft.rfftn(circular_kernel(kernel, tuple(shape)), workers=WORKERS)
        spectrum *= kernel_spectrum.reshape([spectrum.shape[a] if a in axes else 1 for a in range(image.ndim)])
    orders = np.zeros(3, dtype=np.int64)
    if riesz_orders is not None:
        orders[list(axes)] = riesz_orders
    if level > 0 or orders.sum() > 0:
        plus = np.zeros((3, max(spectrum.shape)))
        minus = np.zeros((3, max(spectrum.shape)))
        for axis in axes:
            n = extended.shape[axis]
            grid = reference_frequencies(n)
            negated = grid[(-np.arange(n)) % n]
            kept = spectrum.shape[axis]
            plus[axis, :kept] = grid[:kept]
            minus[axis, :kept] = negated[:kept]
        _apply_transfer(spectrum, plus, minus, level, orders, riesz_prefactor(orders.tolist()))
    response = scipy.fft.irfftn(spectrum, s=shape, axes=axes, workers=WORKERS)
    return np.ascontiguousarray(unpadded(response, widths))


def fft_convolve_planes(image: np.ndarray, kernels: Sequence[np.ndarray], weights: Sequence[float],
                        plane_axes: tuple[int, int], boundary: str, response: str, pool) -> None:
    """Convolve every plane of ``image`` with each complex 2D kernel and pool the real-valued responses.

    Parameters
    ----------
    image : ndarray
        3D intensities.
    kernels : sequence of ndarray
        Complex 2D kernels over ``plane_axes`` (odd sizes), all of the same shape.
    weights : sequence of float
        How many times each kernel's response counts in a mean.
    plane_axes : tuple of int
        The two array axes of the planes (increasing).
    boundary : {"zero", "nearest", "periodic", "mirror"}
        Padding by the kernel's half-width.
    response : {"modulus", "real"}
        Which real value of the complex response is pooled.
    pool : radiomix.preprocess.filters.pooling.Pool
        Receives each response.
    """
    radius = [size // 2 for size in kernels[0].shape]
    widths = [(0, 0)] * image.ndim
    for position, axis in enumerate(plane_axes):
        n = image.shape[axis]
        total = scipy.fft.next_fast_len(n + 2 * radius[position])
        widths[axis] = (radius[position], total - n - radius[position])
    extended = padded(image, widths, boundary)
    shape = tuple(extended.shape[a] for a in plane_axes)
    spectrum = scipy.fft.fft2(extended, axes=plane_axes, workers=WORKERS)
    broadcast = [extended.shape[a] if a in plane_axes else 1 for a in range(image.ndim)]
    for kernel, weight in zip(kernels, weights):
        kernel_spectrum = scipy.fft.fft2(circular_kernel(kernel, shape), workers=WORKERS).reshape(broadcast)
        filtered = unpadded(scipy.fft.ifft2(spectrum * kernel_spectrum, axes=plane_axes, workers=WORKERS), widths)
        pool.add(np.abs(filtered) if response == "modulus" else np.ascontiguousarray(filtered.real), weight)

