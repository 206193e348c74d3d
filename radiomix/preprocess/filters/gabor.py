"""Gabor filter (IBSI-2): complex 2D kernels in planes, pooled over orientations and planes.

The kernel (see :class:`~radiomix.preprocess.filters.settings.GaborFilterSettings`)
is sampled in mm at voxel centres and applied by FFT to every plane at once.
For a real image, orientations ``theta`` and ``theta + 180 deg`` give complex
conjugate responses, hence the same modulus and real part: each such pair is
computed once and counted twice.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.preprocess.filters.fourier import fft_convolve_planes
from radiomix.preprocess.filters.pooling import Pool
from radiomix.preprocess.filters.settings import GaborFilterSettings

PLANES = {"axial": (0,), "orthogonal": (0, 1, 2)}
"""``planes`` setting -> the array axes normal to the filtered planes."""


def gabor_kernel(settings: GaborFilterSettings, theta_deg: float, spacing_y: float, spacing_x: float) -> np.ndarray:
    """The complex 2D Gabor kernel over ``(y, x)`` (the plane's first and second array axes).

    Parameters
    ----------
    settings : GaborFilterSettings
        Scale, wavelength, aspect ratio and truncation.
    theta_deg : float
        Orientation in degrees, counter-clockwise from ``x`` towards ``y``.
    spacing_y, spacing_x : float
        Voxel size (mm) along the plane's first and second axes.
    """
    reach_mm = settings.truncate * max(settings.sigma_mm, settings.sigma_mm / settings.gamma)
    radius_y = math.ceil(reach_mm / spacing_y)
    radius_x = math.ceil(reach_mm / spacing_x)
    y = (np.arange(-radius_y, radius_y + 1) * spacing_y)[:, None]
    x = (np.arange(-radius_x, radius_x + 1) * spacing_x)[None, :]
    theta = math.radians(theta_deg)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(along ** 2 + settings.gamma ** 2 * across ** 2) / (2.0 * settings.sigma_mm ** 2))
    return envelope * np.exp(2j * math.pi * along / settings.lambda_mm)


def distinct_orientations(settings: GaborFilterSettings) -> list[tuple[float, int]]:
    """``(theta_deg, count)``: the orientations modulo 180 degrees, each with how often it occurs."""
    counts: dict[float, list] = {}
    for theta in settings.orientations_deg():
        key = round(theta % 180.0, 9) % 180.0
        counts.setdefault(key, [theta, 0])[1] += 1
    return [(theta, count) for theta, count in counts.values()]


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: GaborFilterSettings) -> np.ndarray:
    """Gabor response of ``image`` (``(z, y, x)``, ``spacing`` in mm)."""
    pool = Pool(settings.pooling)
    orientations = distinct_orientations(settings)
    for normal in PLANES[settings.planes]:
        plane_axes = tuple(axis for axis in range(3) if axis != normal)
        kernels = [gabor_kernel(settings, theta, spacing[plane_axes[0]], spacing[plane_axes[1]])
                   for theta, _ in orientations]
        fft_convolve_planes(image, kernels, [count for _, count in orientations], plane_axes,
                            settings.boundary_condition, settings.response, pool)
    return pool.result()
