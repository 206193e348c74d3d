"""Local intensity features (IBSI-1 section "Local intensity features", 9ST6).

The mean intensity in a sphere of radius ``r`` (mm, world coordinates) is taken
around ROI voxels. The sphere holds every image voxel whose centre lies within
``r`` of the centre voxel's centre (distance <= r), inside or outside the ROI;
voxels beyond the array border are not part of the image and are left out, as
are voxels with a non-finite intensity (padding). IBSI's sphere has a volume of
1 cm^3, ``r = (3 / (4 pi))^(1/3) cm = 6.2035 mm``. Only voxels of the ROI
intensity mask are sphere centres. Local intensity features are 3D by
definition (IBSI DHQ4). Extraction must keep at least ``r`` of image around
the ROI when it crops the image, otherwise spheres near the ROI border lose voxels.
"""

from __future__ import annotations

import functools

import numpy as np

from radiomix._numba import chunk_count, njit, njit_nogil, run_in_threads
from radiomix.errors import InputError, NonFiniteIntensityError
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.spec import LocalIntensitySettings

FAMILY = "local_intensity"



def sphere_offsets(spacing: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """Index offsets of the voxels whose centres lie within ``radius_mm`` of a centre voxel.

    Parameters
    ----------
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    radius_mm : float
        Sphere radius in mm; distance <= radius is inside.

    Returns
    -------
    ndarray of int64, shape (n_offsets, 3)
        ``(dz, dy, dx)`` offsets, the centre ``(0, 0, 0)`` included.
    """
    spacing_array = np.asarray(spacing, dtype=np.float64)
    reach = np.floor(radius_mm / spacing_array).astype(np.int64) + 1  # the distance test decides
    axes = [np.arange(-n, n + 1) for n in reach]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    squared_distance = ((grid * spacing_array) ** 2).sum(axis=1)
    return np.ascontiguousarray(grid[squared_distance <= radius_mm ** 2], dtype=np.int64)


def sphere_rows(spacing: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """The sphere of :func:`sphere_offsets` as runs along x: ``(dz, dy, half_width)``.

    For every ``(dz, dy)`` of the sphere, the offsets ``dx = -half_width..half_width``
    are inside it (the sphere is convex along x).

    Returns
    -------
    ndarray of int64, shape (n_rows, 3)
    """
    offsets = sphere_offsets(spacing, radius_mm)
    pairs, row_of_offset = np.unique(offsets[:, :2], axis=0, return_inverse=True)
    half_widths = np.zeros(len(pairs), dtype=np.int64)
    np.maximum.at(half_widths, row_of_offset.ravel(), np.abs(offsets[:, 2]))
    return np.ascontiguousarray(np.column_stack([pairs, half_widths]), dtype=np.int64)


@functools.lru_cache(maxsize=8)
def _cached_sphere_rows(spacing: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """:func:`sphere_rows`, computed once per voxel size and radius (0.14 ms a call otherwise); not to be modified."""
    return sphere_rows(spacing, radius_mm)


@njit_nogil
def _sphere_means_block(intensity, centres, rows, flat_offsets, starts, begin, stop, all_finite, means):
    """Means of :func:`_sphere_means_kernel` for the centres ``begin..stop - 1`` (``begin`` a multiple of 4).

    Groups of four centres whose spheres lie inside the array (``starts`` not
    -1) are summed side by side over ``flat_offsets``; the others voxel by
    voxel over ``rows``, clipped to the array (and to the finite voxels unless
    ``all_finite``).
    """
    n_z, n_y, n_x = intensity.shape
    flat = intensity.ravel()
    n_offsets = flat_offsets.shape[0]
    for group in range(begin, stop, 4):
        if (group + 3 < stop and starts[group] >= 0 and starts[group + 1] >= 0 and starts[group + 2] >= 0
                and starts[group + 3] >= 0):
            s0, s1, s2, s3 = starts[group], starts[group + 1], starts[group + 2], starts[group + 3]
            t0 = t1 = t2 = t3 = 0.0
            for o in range(n_offsets):
                offset = flat_offsets[o]
                t0 += flat[s0 + offset]
                t1 += flat[s1 + offset]
                t2 += flat[s2 + offset]
                t3 += flat[s3 + offset]
            means[group] = t0 / n_offsets
            means[group + 1] = t1 / n_offsets
            means[group + 2] = t2 / n_offsets
            means[group + 3] = t3 / n_offsets
            continue
        for k in range(group, group + 4 if group + 4 < stop else stop):
            total = 0.0
            count = 0
            for r in range(rows.shape[0]):
                z = centres[k, 0] + rows[r, 0]
                y = centres[k, 1] + rows[r, 1]
                if 0 <= z < n_z and 0 <= y < n_y:
                    first = centres[k, 2] - rows[r, 2]
                    first = first if first > 0 else 0
                    last = centres[k, 2] + rows[r, 2]
                    last = last if last < n_x - 1 else n_x - 1
                    if all_finite:  # a plain run sum (vectorised)
                        for x in range(first, last + 1):
                            total += intensity[z, y, x]
                        count += last + 1 - first
                        continue
                    for x in range(first, last + 1):
                        value = intensity[z, y, x]
                        if np.isfinite(value):
                            total += value
                            count += 1
            means[k] = total / count if count > 0 else np.nan


def _sphere_layout(shape, centres, rows, all_finite):
    """The sphere ``rows`` as flat-index offsets (in the order summed) and each centre's flat index.

    The flat index is -1 for a centre whose sphere leaves the array of
    ``shape`` (or for every centre unless ``all_finite``): those are summed
    voxel by voxel.
    """
    n_z, n_y, n_x = shape
    half_widths = rows[:, 2]
    row_starts = np.repeat((rows[:, 0] * n_y + rows[:, 1]) * n_x, 2 * half_widths + 1)
    flat_offsets = row_starts + np.concatenate([np.arange(-half, half + 1) for half in half_widths])
    reach = np.abs(rows).max(axis=0)
    inside = np.full(len(centres), all_finite)
    for axis in range(3):  # column by column: a reduction over the short axis of (n, 3) is 6x slower
        column = centres[:, axis]
        inside &= (column >= reach[axis]) & (column < shape[axis] - reach[axis])
    starts = np.where(inside, (centres[:, 0] * n_y + centres[:, 1]) * n_x + centres[:, 2], -1)
    return np.ascontiguousarray(flat_offsets, dtype=np.int64), np.ascontiguousarray(starts, dtype=np.int64)


def _sphere_means_kernel(intensity, centres, rows, n_chunks, all_finite):
    """Mean finite intensity in the sphere ``rows`` (:func:`sphere_rows`) around every ``(z, y, x)`` centre.

    ``n_chunks`` consecutive blocks of centres are processed on as many
    threads (:func:`_sphere_means_block`), each writing its own elements;
    ``all_finite`` skips the finiteness test per voxel. NaN where no voxel of
    the sphere has a finite intensity. Every sum runs over the rows in order,
    x ascending; four consecutive centres whose spheres lie inside the array
    are summed side by side (four independent additions per sphere voxel
    instead of one chain); the groups of four do not depend on ``n_chunks``,
    so neither do the means.
    """
    n_centres = centres.shape[0]
    flat_offsets, starts = _sphere_layout(intensity.shape, centres, rows, all_finite)
    means = np.empty(n_centres, dtype=np.float64)
    if n_centres == 0:
        return means
    chunk = ((n_centres + n_chunks - 1) // n_chunks + 3) // 4 * 4  # the same groups of four for any n_chunks
    run_in_threads([functools.partial(_sphere_means_block, intensity, centres, rows, flat_offsets, starts,
                                      begin, min(begin + chunk, n_centres), all_finite, means)
                    for begin in range(0, n_centres, chunk)])
    return means


def sphere_mean_intensities(intensity: np.ndarray, mask: np.ndarray,
                            spacing: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """Mean image intensity in a sphere around every voxel of ``mask``.

    ``intensity`` (z, y, x) also outside ``mask`` (the sphere centres), ``spacing`` ``(z, y, x)`` and
    ``radius_mm`` in mm. Returns the sphere means of the mask voxels in the order of ``intensity[mask]``
    (in parallel over blocks of centres when the work is large, :func:`radiomix._numba.chunk_count`).

    Raises
    ------
    InputError
        Arrays are not 3D or differ in shape, spacing or radius not positive.
    NonFiniteIntensityError
        A mask voxel has a NaN or infinite intensity.
    """
    intensity, mask, rows, all_finite = _sphere_inputs(intensity, mask, spacing, radius_mm)
    return _all_sphere_means(intensity, np.ascontiguousarray(np.argwhere(mask), dtype=np.int64), rows, all_finite)


def _sphere_inputs(intensity, mask, spacing, radius_mm):
    """The checked arrays of :func:`sphere_mean_intensities`: intensity (float64), mask, sphere rows, finiteness."""
    intensity = np.ascontiguousarray(intensity, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if intensity.ndim != 3 or mask.shape != intensity.shape:
        raise InputError(f"intensity {intensity.shape} and mask {mask.shape} must be 3D arrays "
                         "of the same shape (z, y, x)")
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise InputError(f"spacing {spacing} must be three positive voxel sizes (z, y, x) in mm")
    if not (np.isfinite(radius_mm) and radius_mm > 0):
        raise InputError(f"peak radius {radius_mm} mm must be a positive number of mm")
    all_finite = bool(np.isfinite(intensity).all())
    if not all_finite and not np.isfinite(intensity[mask]).all():
        raise NonFiniteIntensityError("the ROI holds NaN or infinite intensities; "
                                      "re-segment or fix the image before extraction")
    rows = _cached_sphere_rows(tuple(float(s) for s in spacing), float(radius_mm))
    return intensity, mask, rows, all_finite


def _all_sphere_means(intensity, centres, rows, all_finite):
    """:func:`_sphere_means_kernel` of every centre, in parallel blocks when the work is large."""
    work = len(centres) * int((2 * rows[:, 2] + 1).sum())
    return _sphere_means_kernel(intensity, centres, rows, chunk_count(work, len(centres)), all_finite)


@njit
def _approximate_sphere_sums(intensity, flat_centres, rows):
    """Sphere sums from running sums along x (one subtraction per row of the sphere), ``max |intensity|``, and
    whether every sphere lies inside the array (the sums are meaningless otherwise).

    ``flat_centres``: the centres' flat (C order) indices. Each sum differs from the exact one by at most
    :func:`_approximation_bound` (any order of the additions). Four centres are summed side by side
    (four independent additions per row instead of one chain).
    """
    n_z, n_y, n_x = intensity.shape
    running = np.empty(n_z * n_y * (n_x + 1))
    largest = 0.0
    for z in range(n_z):
        for y in range(n_y):
            first = (z * n_y + y) * (n_x + 1)
            total = 0.0
            running[first] = 0.0
            for x in range(n_x):
                value = intensity[z, y, x]
                total += value
                running[first + x + 1] = total
                largest = max(largest, abs(value))
    n_rows = rows.shape[0]
    reach_z = 0
    reach_y = 0
    reach_x = 0
    high = np.empty(n_rows, dtype=np.int64)  # running-sum offsets of each row's end and start
    low = np.empty(n_rows, dtype=np.int64)
    for r in range(n_rows):
        reach_z = max(reach_z, abs(rows[r, 0]))
        reach_y = max(reach_y, abs(rows[r, 1]))
        reach_x = max(reach_x, rows[r, 2])
        base = (rows[r, 0] * n_y + rows[r, 1]) * (n_x + 1)
        high[r] = base + rows[r, 2] + 1
        low[r] = base - rows[r, 2]
    n_centres = flat_centres.shape[0]
    starts = np.empty(n_centres, dtype=np.int64)
    inside = True
    for k in range(n_centres):
        line = flat_centres[k] // n_x
        z = line // n_y
        y = line % n_y
        x = flat_centres[k] % n_x
        if z < reach_z or z >= n_z - reach_z or y < reach_y or y >= n_y - reach_y or x < reach_x \
                or x >= n_x - reach_x:
            inside = False
        starts[k] = flat_centres[k] + line
    sums = np.zeros(n_centres)
    if not inside:
        return sums, largest, False
    for group in range(0, n_centres - 3, 4):
        s0 = starts[group]
        s1 = starts[group + 1]
        s2 = starts[group + 2]
        s3 = starts[group + 3]
        t0 = t1 = t2 = t3 = 0.0
        for r in range(n_rows):
            t0 += running[s0 + high[r]] - running[s0 + low[r]]
            t1 += running[s1 + high[r]] - running[s1 + low[r]]
            t2 += running[s2 + high[r]] - running[s2 + low[r]]
            t3 += running[s3 + high[r]] - running[s3 + low[r]]
        sums[group] = t0
        sums[group + 1] = t1
        sums[group + 2] = t2
        sums[group + 3] = t3
    for k in range(n_centres - n_centres % 4, n_centres):
        total = 0.0
        for r in range(n_rows):
            total += running[starts[k] + high[r]] - running[starts[k] + low[r]]
        sums[k] = total
    return sums, largest, True


def _approximation_bound(largest: float, n_x: int, n_rows: int, n_voxels: int) -> float:
    """Bound on ``|approximate - exact|`` sphere sums (:func:`_approximate_sphere_sums`, the block kernel).

    With ``u = 2^-53`` and every ``|value| <= largest``: a running sum of ``j <= n_x`` values is off by
    at most ``1.01 j u largest``, a row (difference of two) by ``(2.02 n_x + 3) u n_x largest``, the sum
    of ``n_rows`` rows adds ``1.01 n_rows u`` times ``3 n_rows n_x largest``; the exact kernel's sum of
    ``n_voxels`` values is off by at most ``1.01 n_voxels^2 u largest`` from the true sum (any summation
    order, all counts times ``u`` far below 0.01). Doubled for safety.
    """
    unit = 2.0 ** -53
    rows_error = n_rows * n_x * (2.02 * n_x + 3.0 + 3.03 * n_rows)
    return 2.0 * unit * largest * (rows_error + 1.01 * n_voxels * n_voxels)


def intensity_peaks(intensity: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float],
                    radius_mm: float) -> tuple[float, float]:
    """Local and global intensity peaks: :func:`sphere_mean_intensities` of the centres that can be them.

    Equal, bit for bit, to ``means[values == values.max()].max()`` and ``means.max()`` with ``means``
    of :func:`sphere_mean_intensities` and ``values = intensity[mask]``. When every sphere lies inside
    the array and every intensity is finite, approximate sums (:func:`_approximate_sphere_sums`, within
    :func:`_approximation_bound` of the exact ones) single out the centres whose sum can be the
    largest, and only those, with the centres of the largest intensity, are summed exactly: by
    :func:`_sphere_means_kernel`, in their groups of four, so with the very arithmetic of the whole
    computation. Otherwise, or when the candidates are more than a quarter of the centres (a
    plateau), every mean is computed. Arguments and errors as :func:`sphere_mean_intensities`.
    """
    intensity, mask, rows, all_finite = _sphere_inputs(intensity, mask, spacing, radius_mm)
    flat_centres = np.flatnonzero(mask)
    values = intensity.ravel()[flat_centres]  # intensity[mask]
    top = np.flatnonzero(values == values.max())
    sums, largest, inside = _approximate_sphere_sums(intensity, flat_centres, rows) if all_finite \
        else (None, 0.0, False)
    if inside:
        n_voxels = int((2 * rows[:, 2] + 1).sum())
        bound = _approximation_bound(largest, intensity.shape[2], len(rows), n_voxels)
        candidates = np.flatnonzero(sums >= sums.max() - 2.0 * bound)
        groups = np.unique(np.concatenate([candidates, top]) // 4)
        if 16 * len(groups) <= len(flat_centres):  # 4 centres a group: at most a quarter of the work
            chosen = (groups[:, None] * 4 + np.arange(4)).ravel()
            chosen = chosen[chosen < len(flat_centres)]  # only the last group can be short: it stays last
            centres = np.ascontiguousarray(np.column_stack(np.unravel_index(flat_centres[chosen], mask.shape)),
                                           dtype=np.int64)
            means = _sphere_means_kernel(intensity, centres, rows, 1, all_finite)
            return float(means[np.isin(chosen, top)].max()), float(means.max())
    centres = np.ascontiguousarray(np.argwhere(mask), dtype=np.int64)
    means = _all_sphere_means(intensity, centres, rows, all_finite)
    return float(means[top].max()), float(means.max())


def compute(roi: RoiImage, settings: LocalIntensitySettings,
            dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """Local and global intensity peak of the ROI intensity mask (3D; ``dimensions`` unused).

    Raises
    ------
    EmptyRoiError
        The intensity mask holds no voxel.
    """
    roi.intensity_mask_values("local intensity features")  # the empty-ROI error
    local_peak, global_peak = intensity_peaks(roi.intensity, roi.intensity_mask, roi.spacing,
                                              settings.peak_radius_mm)
    return [FeatureValue("local_intensity_peak", "", local_peak),
            FeatureValue("global_intensity_peak", "", global_peak)]
