"""Interpolation to a new voxel size by the IBSI-1 grid rules.

Along each axis with ``n`` voxels of size ``s`` resampled to size ``s'``:

- the new grid has ``n' = ceil(n * s / s')`` voxels;
- it is centred on the original grid, so new voxel ``i`` sits at original
  (fractional) index ``(n - 1) / 2 + (i - (n' - 1) / 2) * s' / s``;
- beyond the original grid, intensities take the nearest boundary value.

Images and masks are interpolated as float64. The mask is interpolated (nearest
or linear) and then thresholded: a voxel is in the new ROI when its value is at
least the partial-volume threshold. In-plane interpolation leaves axis z alone.

Voxel sizes are rounded to :data:`SPACING_DECIMALS` decimals (mm) before the grid
is computed. Spacings derived from DICOM slice positions carry floating-point
noise (3 mm read as 2.9999999999998 mm); on grids where new voxel centres fall
exactly half-way between old ones (3 mm to 2 mm: every third slice), that noise
would push an interpolated mask value of exactly 0.5 below the threshold and
make the same scan give different ROIs from DICOM and from NIfTI.

Interpolated mask fractions are rounded to :data:`MASK_FRACTION_DECIMALS` decimals
before the threshold is applied. The IBSI rule (manual, "Partial volume effects in
the ROI mask", E8H9) keeps a voxel when its interpolated fraction is at least the
threshold, and warns that interpolation results depend on the floating-point
representation. On grids such as 3 mm to 2 mm, whole planes of new voxels lie exactly
half-way between two old ones, so their exact fraction is 0.5; the spline's
coordinate arithmetic (``i * 2/3 + offset``) returns some of them about 1e-16
below 0.5, which would drop them from the ROI by floating-point noise alone (32
voxels of the IBSI CT phantom at 2 mm). Rounding restores the exact value; a
fraction within 1e-9 of the threshold counts as the threshold.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit_exact
from radiomix.spec import InterpolationSettings

SPLINE_ORDER = {"nearest": 0, "linear": 1, "cubic": 3}
SPACING_DECIMALS = 6
"""Voxel sizes are used to 1e-6 mm (far below any scanner's precision)."""
MASK_FRACTION_DECIMALS = 9
"""Interpolated mask fractions are compared with the threshold to 1e-9 (far above float64 noise)."""


def new_grid(shape: tuple[int, ...], spacing: tuple[float, ...], new_spacing: tuple[float, ...]):
    """Shape of the centred grid and, per axis, the map ``new index -> old index = scale * i + offset``.

    Parameters
    ----------
    shape, spacing, new_spacing : tuple
        Per axis, in the same order (mm for the spacings).

    Returns
    -------
    shape : tuple of int
    scale, offset : ndarray of float
    """
    spacing = tuple(round(float(s), SPACING_DECIMALS) for s in spacing)
    new_spacing = tuple(round(float(s), SPACING_DECIMALS) for s in new_spacing)
    size = tuple(int(math.ceil(n * s / t - 1e-9)) for n, s, t in zip(shape, spacing, new_spacing))
    scale = np.array([t / s for s, t in zip(spacing, new_spacing)])
    offset = np.array([(n - 1) / 2 - (m - 1) / 2 * k for n, m, k in zip(shape, size, scale)])
    return size, scale, offset


def resample(array: np.ndarray, spacing: tuple[float, ...], new_spacing: tuple[float, ...], order: int) -> np.ndarray:
    """Resample ``array`` onto the centred grid of ``new_spacing`` with a spline of ``order`` (0, 1 or 3)."""
    from scipy import ndimage  # here, not with the module: only this whole-image path uses it (~11 MiB)

    size, scale, offset = new_grid(array.shape, spacing, new_spacing)
    return ndimage.affine_transform(np.asarray(array, dtype=np.float64), scale, offset=offset,
                                    output_shape=size, order=order, mode="nearest", prefilter=order > 1)


def _axis_coordinates(shape: tuple[int, ...], spacing: tuple[float, ...], new_spacing: tuple[float, ...]):
    """New grid shape and, per axis, the old (fractional) index of every new voxel.

    The coordinates are computed with the operations and in the order of
    :func:`scipy.ndimage.affine_transform` for a diagonal matrix (``(i + offset / scale) * scale``),
    so that an interpolation evaluated at them reproduces :func:`resample` bit for bit. Those
    outside the old grid are left as they are: the interpolation maps their neighbours onto
    the boundary voxels (mode ``nearest``), as :func:`resample` does.
    """
    size, scale, offset = new_grid(shape, spacing, new_spacing)
    shift = offset / scale
    coordinates = [(np.arange(m, dtype=np.float64) + shift[axis]) * scale[axis] for axis, m in enumerate(size)]
    return size, coordinates


def resample_region(array: np.ndarray, coordinates: list[np.ndarray], region: tuple[slice, ...],
                    order: int) -> np.ndarray:
    """The block ``region`` of :func:`resample`'s result, interpolating only the old voxels it needs.

    Parameters
    ----------
    array : ndarray
        The whole old array ``(z, y, x)``.
    coordinates : list of ndarray
        Per axis, the old index of every new voxel (:func:`_axis_coordinates`).
    region : tuple of slice
        The new-grid block wanted (steps of 1).
    order : int
        0 (nearest) or 1 (linear): the spline of order > 1 needs a prefilter over the whole array.

    Returns
    -------
    ndarray of float64
        Equal, value for value, to ``resample(array, ...)[region]``: the old block read holds
        every voxel the interpolation touches (plus one), and the coordinates shifted into it
        differ from the whole-array ones by an integer, which leaves them exact. The spline is
        evaluated by :func:`_separable_spline_kernel` from per-axis taps (:func:`spline_taps`),
        with scipy's arithmetic, without a coordinate array per new voxel.
    """
    source, taps = _region_taps(coordinates, region, array.shape, order)
    return _spline_from_taps(array[source], taps, order)


def _region_taps(coordinates: list[np.ndarray], region: tuple[slice, ...], shape: tuple[int, ...], order: int):
    """The old block :func:`resample_region` reads for ``region`` (slices of an array of ``shape``) and the
    per-axis taps (:func:`spline_taps`) into that block.

    A sub-block of ``region`` has the taps of its rows, sliced (the block holds every voxel they read).
    """
    if order > 1:
        raise ValueError("resample_region supports spline orders 0 and 1 only")
    wanted = [c[s] for c, s in zip(coordinates, region)]
    source = tuple(slice(min(max(int(np.floor(c.min())) - 1, 0), n - 1), max(min(int(np.floor(c.max())) + 3, n), 1))
                   for c, n in zip(wanted, shape))
    return source, [spline_taps(c - s.start, s.stop - s.start, order) for c, s in zip(wanted, source)]


def spline_on_grid(block: np.ndarray, coordinates: list[np.ndarray], order: int) -> np.ndarray:
    """A spline of ``order`` (0 or 1, mode nearest) of a 3D array at every point of a grid.

    Parameters
    ----------
    block : ndarray, 3D
        Values (any real or bool type).
    coordinates : list of three 1D ndarray of float64
        Per axis, the (fractional) indices of the grid points into ``block``.
    order : int
        0 (nearest) or 1 (linear).

    Returns
    -------
    ndarray of float64, shape ``tuple(len(c) for c in coordinates)``
        Bit for bit ``scipy.ndimage.map_coordinates(block, <the grid>, order=order, mode="nearest",
        prefilter=False)``.
    """
    return _spline_from_taps(block, [spline_taps(c, n, order) for c, n in zip(coordinates, np.shape(block))], order)


def _spline_from_taps(block: np.ndarray, taps: list[tuple[np.ndarray, np.ndarray]], order: int) -> np.ndarray:
    """:func:`spline_on_grid` from the per-axis taps (:func:`spline_taps`) of the grid points."""
    # two compiled variants only: masks as uint8 (a view), intensities as float64 (as scipy reads them)
    block = np.ascontiguousarray(block).view(np.uint8) if block.dtype == np.bool_ else \
        np.ascontiguousarray(block, dtype=np.float64)
    out = np.empty(tuple(len(indices) for indices, _ in taps))
    _separable_spline_kernel(block, *taps[0], *taps[1], *taps[2], order, out)
    return out


def spline_taps(coordinates: np.ndarray, n_old: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Per new voxel along one axis: the old indices and weights of a spline of ``order`` (0 or 1), mode nearest.

    The arithmetic of :func:`scipy.ndimage.map_coordinates` (SciPy 1.17, ``mode="nearest"``): order 1
    reads old voxels ``floor(c)`` and ``floor(c) + 1`` with weights ``w0 = 1 - (c - floor(c))`` and
    ``1 - w0``; order 0 reads ``floor(c + 0.5)`` with weight 1; indices beyond the grid are moved to
    its nearest end (the coordinate itself is not: beyond the grid, both taps read the end voxel).

    Returns
    -------
    indices : ndarray of int64, shape (n_new, order + 1)
    weights : ndarray of float64, shape (n_new, order + 1)
    """
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if order == 0:
        nearest = np.floor(coordinates + 0.5).astype(np.int64)
        return np.clip(nearest, 0, n_old - 1)[:, None], np.ones((len(coordinates), 1))
    start = np.floor(coordinates)
    first_weight = 1.0 - (coordinates - start)
    start = start.astype(np.int64)
    indices = np.clip(np.column_stack([start, start + 1]), 0, n_old - 1)
    return indices, np.column_stack([first_weight, 1.0 - first_weight])


@njit_exact
def _separable_spline_kernel(block, z_index, z_weight, y_index, y_weight, x_index, x_weight, order, out):
    """``out[i, j, k]``: the spline of :func:`spline_taps` at new voxel ``(i, j, k)``, summed as scipy sums it.

    Over the taps in C order (x fastest): ``t += ((value * w_z) * w_y) * w_x`` from ``t = 0``
    (no multiplication for order 0), in IEEE arithmetic (no fast-math): equal, bit for bit, to
    :func:`scipy.ndimage.map_coordinates` at the same coordinates. Order 1 has its eight taps
    written out (the same operations in the same order, the z and y taps read once per line):
    4-5x quicker than the loops over taps.
    """
    if order == 1:
        for i in range(out.shape[0]):
            z0 = z_index[i, 0]
            z1 = z_index[i, 1]
            wz0 = z_weight[i, 0]
            wz1 = z_weight[i, 1]
            for j in range(out.shape[1]):
                y0 = y_index[j, 0]
                y1 = y_index[j, 1]
                wy0 = y_weight[j, 0]
                wy1 = y_weight[j, 1]
                for k in range(out.shape[2]):
                    x0 = x_index[k, 0]
                    x1 = x_index[k, 1]
                    wx0 = x_weight[k, 0]
                    wx1 = x_weight[k, 1]
                    total = 0.0
                    total += ((float(block[z0, y0, x0]) * wz0) * wy0) * wx0
                    total += ((float(block[z0, y0, x1]) * wz0) * wy0) * wx1
                    total += ((float(block[z0, y1, x0]) * wz0) * wy1) * wx0
                    total += ((float(block[z0, y1, x1]) * wz0) * wy1) * wx1
                    total += ((float(block[z1, y0, x0]) * wz1) * wy0) * wx0
                    total += ((float(block[z1, y0, x1]) * wz1) * wy0) * wx1
                    total += ((float(block[z1, y1, x0]) * wz1) * wy1) * wx0
                    total += ((float(block[z1, y1, x1]) * wz1) * wy1) * wx1
                    out[i, j, k] = total
        return
    n_taps = z_index.shape[1]
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for k in range(out.shape[2]):
                total = 0.0
                for a in range(n_taps):
                    for b in range(n_taps):
                        for c in range(n_taps):
                            coefficient = float(block[z_index[i, a], y_index[j, b], x_index[k, c]])
                            if order > 0:
                                coefficient *= z_weight[i, a]
                                coefficient *= y_weight[j, b]
                                coefficient *= x_weight[k, c]
                            total += coefficient
                out[i, j, k] = total


def _touching(coordinates: np.ndarray, n_old: int, low: int, high: int) -> tuple[int, int] | None:
    """First and last new index whose interpolation support (old indices) meets ``[low, high]``, or None."""
    support_low = np.clip(np.floor(coordinates), 0, n_old - 1)
    support_high = np.clip(np.floor(coordinates) + 1, 0, n_old - 1)
    hits = np.flatnonzero((support_high >= low) & (support_low <= high))
    return (int(hits[0]), int(hits[-1])) if len(hits) else None


def interpolate_roi_region(intensity: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float],
                           settings: InterpolationSettings, margin_mm: float,
                           extent: list[tuple[int, int]] | None = None):
    """:func:`interpolate`, evaluated only on the ROI's bounding box plus ``margin_mm``.

    The new grid is the whole-image grid of :func:`interpolate`; only its block around the
    ROI is computed, so every returned value equals the one :func:`interpolate` gives there.
    The block holds every new voxel whose mask support meets the old ROI's bounding box
    (a superset of the new ROI's bounding box), grown by ``ceil(margin_mm / new spacing) + 1``
    voxels and clipped to the grid. Needs spline orders 0 or 1 (nearest or linear) for image
    and mask; the cubic spline's prefilter reaches over the whole image. ``extent``: ``roi``'s
    :func:`roi_extent`, when the caller has found it already.

    Returns
    -------
    intensity : ndarray of float64
    roi : ndarray of bool
    spacing : tuple of float
        The new ``(z, y, x)`` voxel size in mm.
    region : tuple of slice
        Where the block lies in the whole new grid.
    """
    new_spacing = target_spacing(spacing, settings)
    size, coordinates = _axis_coordinates(intensity.shape, spacing, new_spacing)
    region = []
    touching = []
    for axis, (first_old, last_old) in enumerate(roi_extent(roi) if extent is None else extent):
        touched = _touching(coordinates[axis], roi.shape[axis], first_old, last_old)
        if touched is None:  # the new grid misses the ROI: the whole (empty) result, as interpolate gives it
            return (*interpolate(intensity, roi, spacing, settings), tuple(slice(0, m) for m in size))
        first, last = touched
        pad = int(math.ceil(margin_mm / new_spacing[axis])) + 1
        region.append(slice(max(first - pad, 0), min(last + 1 + pad, size[axis])))
        touching.append(slice(first, last + 1))
    region = tuple(region)
    image_order, mask_order = SPLINE_ORDER[settings.image_method], SPLINE_ORDER[settings.mask_method]
    source, taps = _region_taps(coordinates, region, intensity.shape, image_order)
    image = _spline_from_taps(intensity[source], taps, image_order)
    if settings.round_intensities:
        image = np.rint(image)
    # the mask only where its support meets the old ROI's box: 0 around it (every tap reads outside the ROI),
    # so rounded and compared with the threshold there only
    inside = tuple(slice(inner.start - outer.start, inner.stop - outer.start) for inner, outer in zip(touching, region))
    if mask_order == image_order:  # the image's taps of those rows, into the same old block
        fractions = _spline_from_taps(roi[source], [(indices[rows], weights[rows]) for (indices, weights), rows
                                                    in zip(taps, inside)], mask_order)
    else:
        fractions = resample_region(roi, coordinates, tuple(touching), mask_order)
    mask = np.full(image.shape, 0.0 >= settings.mask_threshold)
    mask[inside] = np.round(fractions, MASK_FRACTION_DECIMALS) >= settings.mask_threshold
    return image, mask, new_spacing, region


def roi_extent(roi: np.ndarray) -> list[tuple[int, int]]:
    """Per axis, the first and last index holding a ``True`` voxel of a 3D ``roi`` (at least one).

    One pass over the whole array finds the slices (axis 0); the other axes are searched
    within those slices only.
    """
    slices = np.flatnonzero(roi.any(axis=(1, 2)))
    block = roi[slices[0]:slices[-1] + 1]
    rows = np.flatnonzero(block.any(axis=(0, 2)))
    columns = np.flatnonzero(block[:, rows[0]:rows[-1] + 1].any(axis=(0, 1)))
    return [(int(present[0]), int(present[-1])) for present in (slices, rows, columns)]


def target_spacing(spacing_zyx: tuple[float, float, float],
                   settings: InterpolationSettings) -> tuple[float, float, float]:
    """The new ``(z, y, x)`` spacing: ``spacing_mm`` is ``[x, y, z]`` or in-plane ``[x, y]``."""
    requested = settings.spacing_mm
    if len(requested) == 2:
        return (spacing_zyx[0], float(requested[1]), float(requested[0]))
    return (float(requested[2]), float(requested[1]), float(requested[0]))


def interpolate(intensity: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float],
                settings: InterpolationSettings) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Interpolate an image and its ROI mask to ``settings.spacing_mm``.

    Parameters
    ----------
    intensity : ndarray
        Intensities ``(z, y, x)``.
    roi : ndarray of bool
        Morphological mask, same shape.
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    settings : InterpolationSettings
        With ``spacing_mm`` set.

    Returns
    -------
    intensity : ndarray of float64
    roi : ndarray of bool
    spacing : tuple of float
        The new ``(z, y, x)`` voxel size in mm.
    """
    new_spacing = target_spacing(spacing, settings)
    image = resample(intensity, spacing, new_spacing, SPLINE_ORDER[settings.image_method])
    if settings.round_intensities:
        image = np.rint(image)
    mask = resample(roi.astype(np.float64), spacing, new_spacing, SPLINE_ORDER[settings.mask_method])
    return image, np.round(mask, MASK_FRACTION_DECIMALS) >= settings.mask_threshold, new_spacing
