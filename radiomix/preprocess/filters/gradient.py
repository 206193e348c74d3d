"""Gradient magnitude (pyradiomics' Gradient image type), computed on a sub-box.

SimpleITK's ``GradientMagnitudeImageFilter``: central differences
``g_d = c_d v[-1] - c_d v[+1]`` along x, y, z with ``c_d = 0.5 / spacing_d``
(``0.5`` per voxel without ``use_spacing``), voxels beyond the image edge
replaced by the edge voxel (ITK's zero-flux Neumann condition, the ``nearest``
boundary of :mod:`~radiomix.preprocess.filters.boundary`), in double
precision, ``float32(sqrt(g_x^2 + g_y^2 + g_z^2))``. A voxel's value depends
on its neighbours within one voxel, so the values inside a box are computed
from the whole image without computing the rest of it.

Kernels compile without fast-math (ITK's operations, bit-identical results)
and split the box into chunks of slices processed in parallel for large work
(:mod:`radiomix._numba`).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import chunk_count, njit_exact, njit_exact_parallel, prange
from radiomix.preprocess.filters.boundary import BOUNDARY_CODES, source_index

NEAREST = BOUNDARY_CODES["nearest"]
"""ITK's zero-flux Neumann boundary: the edge voxel repeated."""


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """:func:`gradient_magnitude` (float32) on ``box`` for each ``GradientFilterSettings`` of ``group``."""
    return [gradient_magnitude(array, spacing_zyx, settings.use_spacing, box) for settings in group]


def gradient_magnitude(array: np.ndarray, spacing_zyx, use_spacing: bool,
                       box: tuple[slice, slice, slice]) -> np.ndarray:
    """SimpleITK's gradient magnitude of a (z, y, x) array, on ``box`` only.

    Parameters
    ----------
    array : ndarray, shape (nz, ny, nx)
        The whole image, any real dtype.
    spacing_zyx : sequence of 3 float
        Voxel size (z, y, x) in mm.
    use_spacing : bool
        Differences per mm (pyradiomics' ``gradientUseSpacing``), else per voxel.
    box : tuple of 3 slices
        The region wanted (steps of 1).

    Returns
    -------
    ndarray of float32, shape of the box
    """
    weights = np.array([0.5 * (1.0 / s) if use_spacing else 0.5 for s in spacing_zyx], dtype=np.float64)
    lower = np.array([s.start for s in box], dtype=np.int64)
    out = np.empty(tuple(s.stop - s.start for s in box), dtype=np.float32)
    n_chunks = chunk_count(out.size * 6, out.shape[0])
    if n_chunks == 1:
        _gradient_slices(array, weights, lower, out, 0, out.shape[0])
    else:
        _gradient_parallel(array, weights, lower, out, n_chunks)
    return out


@njit_exact
def _gradient_slices(array, weights, lower, out, start, stop):
    """Gradient magnitude of box slices ``start..stop`` (box coordinates) into ``out``."""
    nz, ny, nx = array.shape
    for bz in range(start, stop):
        z = lower[0] + bz
        z_before, z_after = source_index(z - 1, nz, NEAREST), source_index(z + 1, nz, NEAREST)
        for by in range(out.shape[1]):
            y = lower[1] + by
            y_before, y_after = source_index(y - 1, ny, NEAREST), source_index(y + 1, ny, NEAREST)
            for bx in range(out.shape[2]):
                x = lower[2] + bx
                x_before, x_after = source_index(x - 1, nx, NEAREST), source_index(x + 1, nx, NEAREST)
                # ITK's order: x, y, z; terms weight * v[-1] + weight * -v[+1]
                gx = weights[2] * np.float64(array[z, y, x_before]) - weights[2] * np.float64(array[z, y, x_after])
                gy = weights[1] * np.float64(array[z, y_before, x]) - weights[1] * np.float64(array[z, y_after, x])
                gz = weights[0] * np.float64(array[z_before, y, x]) - weights[0] * np.float64(array[z_after, y, x])
                total = 0.0 + gx * gx
                total = total + gy * gy
                total = total + gz * gz
                out[bz, by, bx] = np.float32(np.sqrt(total))


@njit_exact_parallel
def _gradient_parallel(array, weights, lower, out, n_chunks):
    """:func:`_gradient_slices` over all box slices, one chunk of slices per thread."""
    n_slices = out.shape[0]
    for chunk in prange(n_chunks):
        _gradient_slices(array, weights, lower, out, chunk * n_slices // n_chunks, (chunk + 1) * n_slices // n_chunks)
