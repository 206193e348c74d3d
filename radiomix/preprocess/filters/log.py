"""Laplacian of Gaussian (IBSI-2): the sampled analytic kernel, computed separably.

The D-dimensional kernel ``-(1/s^2) (2 pi s^2)^(-D/2) (D - |x|^2/s^2) exp(-|x|^2/(2 s^2))``
equals ``sum_a g''(x_a) prod_{b != a} g(x_b)`` with the 1D Gaussian
``g(t) = exp(-t^2/(2 s^2)) / (sqrt(2 pi) s)`` and ``g''(t) = (t^2/s^4 - 1/s^2) g(t)``.
Sampled on a cube of voxel centres this is exact, so the 3D LoG costs seven 1D
passes (two along z, three along y, two along x) instead of a 3D convolution.
In physical terms the sampled kernel is ``l^2 * dV * LoG_mm(x)``: the analytic
kernel with ``sigma`` and ``x`` in mm, times the voxel volume (area, in 2D)
``dV`` and the square of ``l``, the geometric mean voxel size of the filtered
axes. For isotropic voxels of size ``l`` this is the standard's kernel with
``sigma`` in voxels (responses per voxel^2); with anisotropic voxels it is the
physical Laplacian of the same Gaussian, expressed in that unit length.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.preprocess.filters.pooling import IMAGE_AXES
from radiomix.preprocess.filters.separable import convolve_axis
from radiomix.preprocess.filters.settings import LogFilterSettings


def gaussian_kernels(sigma_voxels: float, truncate: float) -> tuple[np.ndarray, np.ndarray]:
    """The sampled 1D Gaussian ``g`` and its second derivative ``g''``.

    Parameters
    ----------
    sigma_voxels : float
        Scale in voxels.
    truncate : float
        The kernel has ``1 + 2 floor(truncate * sigma_voxels + 0.5)`` taps.
    """
    radius = math.floor(truncate * sigma_voxels + 0.5)
    position = np.arange(-radius, radius + 1, dtype=np.float64)
    gaussian = np.exp(-position ** 2 / (2.0 * sigma_voxels ** 2)) / (math.sqrt(2.0 * math.pi) * sigma_voxels)
    second = (position ** 2 / sigma_voxels ** 4 - 1.0 / sigma_voxels ** 2) * gaussian
    return gaussian, second


def axis_kernels(spacing: tuple[float, float, float], settings: LogFilterSettings) -> dict[int, tuple]:
    """Per filtered array axis: ``(g, g'' scaled to the unit length)`` (see the module docstring)."""
    axes = IMAGE_AXES[2 if settings.dimensions == "2D" else 3]
    unit = math.exp(sum(math.log(spacing[a]) for a in axes) / len(axes))
    kernels = {}
    for axis in sorted(axes):
        gaussian, second = gaussian_kernels(settings.sigma_mm / spacing[axis], settings.truncate)
        kernels[axis] = (gaussian, second * (unit / spacing[axis]) ** 2)
    return kernels


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: LogFilterSettings) -> np.ndarray:
    """LoG response of ``image`` (``(z, y, x)``, ``spacing`` in mm)."""
    kernels = axis_kernels(spacing, settings)
    boundary = settings.boundary_condition
    axes = sorted(kernels)
    # smoothed: image smoothed along the axes done so far; laplacian: the sum of the
    # terms with one second derivative among those axes, smoothed along the others.
    first = axes[0]
    smoothed = convolve_axis(image, kernels[first][0], first, boundary)
    laplacian = convolve_axis(image, kernels[first][1], first, boundary)
    for axis in axes[1:]:
        gaussian, second = kernels[axis]
        laplacian = convolve_axis(laplacian, gaussian, axis, boundary)
        laplacian += convolve_axis(smoothed, second, axis, boundary)
        if axis != axes[-1]:
            smoothed = convolve_axis(smoothed, gaussian, axis, boundary)
    return laplacian


def kernel(spacing: tuple[float, float, float], settings: LogFilterSettings) -> np.ndarray:
    """The full LoG kernel over the filtered axes (e.g. for a Fourier-domain Riesz transform)."""
    kernels = axis_kernels(spacing, settings)
    axes = sorted(kernels)
    total = 0.0
    for derivative_axis in axes:
        term = np.ones((1,) * len(axes))
        for position, axis in enumerate(axes):
            factor = kernels[axis][1 if axis == derivative_axis else 0]
            shape = [1] * len(axes)
            shape[position] = factor.size
            term = term * factor.reshape(shape)
        total = total + term
    return total
