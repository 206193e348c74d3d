"""Moran's I and Geary's C with inverse-distance weights over every voxel pair (IBSI N365, NPT7).

Both need three sums over the ordered pairs ``i != j`` of ROI voxels, with
weights ``w_ij = 1 / ||x_i - x_j||`` (mm) and deviations ``d = I - mean(I)``:
``W = sum w_ij``, ``X = sum w_ij d_i d_j`` and ``Q = sum w_ij (d_i - d_j)^2``.
They are computed exactly by one of two methods:

- **pairs** (:func:`_inverse_distance_sums`): a compiled loop over the
  unordered pairs (each pair once), on one thread (it is chosen for small
  ROIs only, where a parallel region costs more than it saves, and it
  compiles in about half the time), each pair of rows writing its own
  partial sums, summed afterwards. Cost ``n (n - 1) / 2`` pair evaluations
  (about 1e9 per second).
- **fft** (:func:`_fft_inverse_distance_sums`): the weight depends on the
  voxel offset only, so ``W``, ``X`` and ``sum_i d_i^2 sum_j w_ij`` are
  quadratic forms ``sum_p A_p (K * B)_p`` of a linear convolution with
  ``K(o) = 1 / ||o * spacing||`` (``K(0) = 0``) on the voxel grid, ``A, B``
  among the mask ``M``, the deviations ``D`` and the centred squares
  ``S = D^2 - mean(D^2) M`` (0 outside the ROI). On a grid of the even fast
  length ``>= 2 s - 1`` per axis (``s`` the bounding box) the circular
  convolution equals the linear one inside the box, and Parseval's theorem
  turns each form into ``sum_k K^_k Re(conj(A^_k) B^_k) / N`` over the grid
  frequencies: three forward real FFTs (of ``M``, ``D``, ``S``), no inverse.
  ``Q = 2 (sum d_i^2 sum_j w_ij - X)``. The transforms skip the lines that
  are all padding: a real FFT along the first axis, then the other two axes
  in place by contiguous blocks of planes, each summed at once
  (:func:`_spectral_sums`), so no grid-sized array is held; ``K``'s transform, real and even, is the type-1 DCT of one
  octant of the grid. This is the same sum, exact up to floating-point
  rounding (sums per line, plane and block keep it small; ``S`` is centred
  so that its spectrum is not dominated by the zero frequency): measured
  differences from the pair sums are about 1e-16 to 1e-14 absolute on
  ellipsoids of 1k-50k voxels, noise and smooth, as for the former
  convolution-field method, and ``tests/test_spatial_autocorrelation.py``
  checks ``|difference| <= FFT_TOLERANCE`` (1e-9) against the definition
  and the three sums against the pair sums to 1e-12. Cost: three pruned
  forward 3D FFTs of the grid (about ``8 s_z s_y s_x`` elements), 15-20 ns
  per grid element on the shared 2-core machine (CT phantom at 2 mm, 46k
  voxels, grid 80 x 100 x 100: 12-15 ms), memory about 16 bytes per box
  element times 3 and a block of 1 MiB.

:func:`grid_morans_i_gearys_c` picks the method with the smaller estimated
cost (:data:`PAIR_EVALUATIONS_PER_FFT_ELEMENT`, :data:`FFT_FIXED_PAIR_EVALUATIONS`, measured on a
2-core machine).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features.marching_cubes import mask_box

PAIR_EVALUATIONS_PER_FFT_ELEMENT = 16.0
"""Pair evaluations costing as much as one FFT grid element (the three transforms and the sums).

Measured on the shared 2-core development machine (load 3-4) on ellipsoids at 2 mm and on the real
PET, MR and CT phantom ROIs after 2 mm resampling (10k-71k voxels), fastest of 9 calls: 0.9-1.3 ns
per pair (one thread) and 15-20 ns per grid element from 1,500 voxels up (1,003 voxels: pairs
0.50 ms, FFT 0.38 ms; 3,991: 7.1 and 1.1 ms; the PET's 9,826: 59 and 3.0 ms).
"""

FFT_FIXED_PAIR_EVALUATIONS = 130_000.0
"""The FFT method's fixed cost (the kernel spectrum, a dozen SciPy calls) in pair evaluations: about 0.13 ms.

Measured as above: 0.18 ms on a 1,600-element grid (103 voxels; pairs 0.04 ms), 0.25 ms on 6,912
(301 voxels; pairs 0.08 ms). With it the two methods break even near 700-900 voxels of a compact ROI.
"""

FFT_TOLERANCE = 1.0e-9
"""Largest absolute difference of Moran's I and Geary's C between the FFT and pair methods in tests."""

METHODS = ("auto", "pairs", "fft")

SPECTRUM_BLOCK_ELEMENTS = 2 ** 16
"""Complex elements of the spectrum blocks transformed and summed at once by the FFT method (1 MiB)."""


@njit
def _row_pair_sums(row, z, y, x, deviations):
    """Sums over ``j > row`` of ``w``, ``w d_j`` and ``w (d_row - d_j)^2``, ``w = 1/dist``."""
    start = row + 1
    later_z = z[start:]
    later_y = y[start:]
    later_x = x[start:]
    later_d = deviations[start:]
    zi = z[row]
    yi = y[row]
    xi = x[row]
    di = deviations[row]
    weight_sum = 0.0
    weighted_deviation = 0.0
    weighted_square_difference = 0.0
    for j in range(later_z.shape[0]):
        dz = later_z[j] - zi
        dy = later_y[j] - yi
        dx = later_x[j] - xi
        # np.reciprocal, not 1.0 / ..: no ZeroDivisionError branch, so the loop vectorises
        weight = np.reciprocal(np.sqrt(dz * dz + dy * dy + dx * dx))
        dj = later_d[j]
        difference = di - dj
        weight_sum += weight
        weighted_deviation += weight * dj
        weighted_square_difference += weight * difference * difference
    return weight_sum, di * weighted_deviation, weighted_square_difference


@njit
def _inverse_distance_sums(z, y, x, deviations):
    """Per-row-pair partial sums of the Moran and Geary numerators over unordered voxel pairs.

    Row ``k`` pairs voxel ``k`` (``n - 1 - k`` later voxels) with voxel
    ``n - 1 - k`` (``k`` later voxels), rows of equal work (the former
    parallel kernel's split, kept so that the sums are the same to the bit);
    each writes its own row of the output, summed by the caller (NumPy's
    pairwise sum). Columns: ``sum w``, ``sum w d_i d_j``, ``sum w (d_i - d_j)^2``
    over ``i < j``, ``w = 1 / ||x_i - x_j||``.
    """
    n = z.shape[0]
    half = n // 2
    partial = np.zeros((half + 1, 3))
    for k in range(half):
        a0, a1, a2 = _row_pair_sums(k, z, y, x, deviations)
        b0, b1, b2 = _row_pair_sums(n - 1 - k, z, y, x, deviations)
        partial[k, 0] = a0 + b0
        partial[k, 1] = a1 + b1
        partial[k, 2] = a2 + b2
    if n % 2 == 1:
        a0, a1, a2 = _row_pair_sums(half, z, y, x, deviations)
        partial[half, 0] = a0
        partial[half, 1] = a1
        partial[half, 2] = a2
    return partial


def _moran_geary(n: int, weight_sum: float, cross_sum: float, square_difference_sum: float,
                 squares: float) -> tuple[float, float]:
    """Moran's I and Geary's C from the pair sums (ordered or unordered pairs alike)."""
    morans_i = n / weight_sum * cross_sum / squares
    gearys_c = (n - 1) / (2.0 * weight_sum) * square_difference_sum / squares
    return float(morans_i), float(gearys_c)


def _deviations(values: np.ndarray) -> tuple[np.ndarray, float]:
    """``values - mean`` and the sum of squared deviations; errors for fewer than 2 or constant values."""
    if len(values) < 2:
        raise InputError("Moran's I and Geary's C need at least two voxels")
    deviations = values - values.mean()
    squares = float((deviations ** 2).sum())
    if squares == 0.0:
        raise InputError("Moran's I and Geary's C are undefined for constant values")
    return deviations, squares


def morans_i_gearys_c(positions: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Moran's I and Geary's C of scattered points, by the pair sums (IBSI N365, NPT7).

    Parameters
    ----------
    positions : ndarray of float, shape (n, 3)
        Distinct voxel-centre positions in mm, ``n >= 2``.
    values : ndarray of float, shape (n,)
        Intensities at those positions, not all equal.

    Returns
    -------
    morans_i, gearys_c : float
        ``I = n / W * sum w_ij d_i d_j / sum d_i^2`` and
        ``C = (n - 1) / (2 W) * sum w_ij (d_i - d_j)^2 / sum d_i^2``, sums over
        ``i != j``, ``w_ij = 1 / ||x_i - x_j||``, ``W = sum w_ij``,
        ``d = values - mean(values)``.
    """
    positions = np.asarray(positions, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3 or values.shape != (len(positions),):
        raise InputError(f"need positions (n, 3) and values (n,), got {positions.shape} and {values.shape}")
    deviations, squares = _deviations(values)
    partial = _inverse_distance_sums(
        np.ascontiguousarray(positions[:, 0]), np.ascontiguousarray(positions[:, 1]),
        np.ascontiguousarray(positions[:, 2]), deviations)
    return _moran_geary(len(values), *partial.sum(axis=0), squares)


def _even_fast_length(n: int) -> int:
    """Smallest even length ``>= n`` with prime factors 2, 3, 5, 7 and 11 only (SciPy's complex fast lengths).

    The pocketfft transforms have passes for each of these factors: the real PET's 33-voxel axis gets
    66 instead of the 5-smooth 72, and its FFT sums about 10% less time.
    """
    import scipy.fft  # here, not with the module: pyradiomics' shape imports morphology and never transforms

    length = scipy.fft.next_fast_len(n, real=False)
    while length % 2:
        length = scipy.fft.next_fast_len(length + 1, real=False)
    return length


def fft_grid_shape(box_shape) -> tuple[int, ...]:
    """FFT grid of the convolution method for a bounding box: the even fast length ``>= 2 s - 1`` per axis."""
    return tuple(_even_fast_length(2 * int(s) - 1) for s in box_shape)


def _inverse_distance_spectrum(box_shape: tuple[int, ...], grid_shape: tuple[int, ...],
                               spacing: tuple[float, ...]) -> np.ndarray:
    """Octant ``0 <= k_a <= L_a / 2`` of the real FFT of ``K(o) = 1 / ||o * spacing||`` (``0 < |o_a| < s_a``, else 0).

    ``K`` is real and even along every axis of the (even-sized) grid, so its
    transform is real, even, and equal to the type-1 DCT of one octant
    ``0 <= o_a <= L_a / 2``: an eighth of the grid is transformed. The
    octant's first axis is the half grid of a real FFT along axis 0;
    :func:`_spectral_sums` mirrors the other two.
    """
    octant = [np.arange(length // 2 + 1) for length in grid_shape]
    squared = [(offsets * float(step)) ** 2 for offsets, step in zip(octant, spacing)]
    distance = np.sqrt(squared[0][:, None, None] + squared[1][None, :, None] + squared[2][None, None, :])
    distance[0, 0, 0] = np.inf
    kernel = 1.0 / distance
    kernel[box_shape[0]:] = 0.0
    kernel[:, box_shape[1]:] = 0.0
    kernel[:, :, box_shape[2]:] = 0.0
    import scipy.fft

    return scipy.fft.dctn(kernel, type=1)


@njit
def _spectral_sums(octant, spectra, first_row, count, n_rows):
    """``sum_k K_k Re(conj(A_k) B_k)`` for ``(A, B)`` = (M, M), (D, D) and (S, M) over some planes of the grid.

    ``spectra[:, :count]`` (of shape (3, >= count, L1, L2)) holds the planes
    ``k_0 = first_row, ..., first_row + count - 1`` of the half grid
    (``rfft`` along axis 0, ``n_rows = L0 / 2 + 1`` planes) of ``M``, ``D``
    and ``S`` on an even grid; ``K`` is the even kernel spectrum whose octant
    ``0 <= k_a <= L_a / 2`` is ``octant`` (``K[L - k] = K[k]`` on axes 1 and
    2). A plane ``0 < k_0 < L_0 / 2`` stands for itself and its mirror
    ``-k_0`` (weight 2), ``k_0 = 0`` and ``L_0 / 2`` for themselves only.
    """
    n1, n2 = spectra.shape[2:]
    mask_total = 0.0  # scalars, not small arrays: no array expression to compile
    deviation_total = 0.0
    square_total = 0.0
    for j in range(count):  # sums per line, then per plane, then in all: rounding grows with the line count only
        k0 = first_row + j
        plane_weight = 2.0 if 0 < k0 < n_rows - 1 else 1.0
        mask_plane = 0.0
        deviation_plane = 0.0
        square_plane = 0.0
        for k1 in range(n1):
            r1 = min(k1, n1 - k1)
            mask_line = 0.0
            deviation_line = 0.0
            square_line = 0.0
            for k2 in range(n2):
                weight = octant[k0, r1, min(k2, n2 - k2)]
                m = spectra[0, j, k1, k2]
                d = spectra[1, j, k1, k2]
                q = spectra[2, j, k1, k2]
                mask_line += weight * (m.real * m.real + m.imag * m.imag)
                deviation_line += weight * (d.real * d.real + d.imag * d.imag)
                square_line += weight * (q.real * m.real + q.imag * m.imag)
            mask_plane += mask_line
            deviation_plane += deviation_line
            square_plane += square_line
        mask_total += plane_weight * mask_plane
        deviation_total += plane_weight * deviation_plane
        square_total += plane_weight * square_plane
    return mask_total, deviation_total, square_total


def _fft_inverse_distance_sums(mask: np.ndarray, deviation_grid: np.ndarray, spacing, workers: int = 1):
    """``W``, ``X`` and ``Q`` over ordered pairs by FFT convolution with the inverse-distance kernel.

    With ``M`` the mask, ``D`` the deviations and ``K`` the kernel on a grid
    that holds the linear convolutions, Parseval's theorem gives each sum
    ``sum_p A_p (K * B)_p`` as ``sum_k K^_k Re(conj(A^_k) B^_k) / N`` over the
    ``N`` grid frequencies (``K^`` real, :func:`_spectral_sums`): ``W`` from
    ``(M, M)``, ``X`` from ``(D, D)`` and ``sum D^2 F`` from ``(S, M)``,
    ``S = D^2 - mean(D^2) M`` (centred, so that its spectrum is not dominated by
    the zero frequency: the rounding stays that of the pair sums):
    three forward transforms and no inverse one. The first axis is
    transformed at once (real FFT, lines not all padding only), the other two
    by contiguous blocks of planes of :data:`SPECTRUM_BLOCK_ELEMENTS`, in
    place, whose sums are taken at once: no grid-sized array is ever held.
    ``workers`` threads per transform: one by default, measured quicker on the
    shared 2-core machine (PET grid 72 x 54 x 48: 2.3 ms with one, 2.6-2.7 ms
    with two; CT phantom 80 x 100 x 100 about equal).
    """
    import scipy.fft

    box_shape = tuple(int(s) for s in mask.shape)
    grid_shape = fft_grid_shape(box_shape)
    kernel = _inverse_distance_spectrum(box_shape, grid_shape, tuple(float(step) for step in spacing))
    volumes = np.empty((3,) + box_shape)
    volumes[0] = mask
    volumes[1] = deviation_grid
    squares = volumes[2]
    np.square(deviation_grid, out=squares)
    mean_square = float(squares.sum()) / float(np.count_nonzero(mask))
    squares -= mean_square * mask
    planes = scipy.fft.rfft(volumes, n=grid_shape[0], axis=1, workers=workers)  # (3, L0 / 2 + 1, s1, s2)
    del volumes
    n_rows = planes.shape[1]
    width = min(n_rows, max(1, SPECTRUM_BLOCK_ELEMENTS // (3 * grid_shape[1] * grid_shape[2])))
    block = np.empty((3, width) + grid_shape[1:], dtype=complex)
    totals = np.zeros(3)
    for first in range(0, n_rows, width):
        count = min(width, n_rows - first)
        rows = block[:, :count]
        rows[:, :, :box_shape[1], :box_shape[2]] = planes[:, first:first + count]
        rows[:, :, :box_shape[1], box_shape[2]:] = 0.0
        rows[:, :, box_shape[1]:] = 0.0
        # overwrite_x lets SciPy transform in the block itself (no copy); its result is used either way
        lines = scipy.fft.fft(rows[:, :, :box_shape[1]], axis=3, overwrite_x=True, workers=workers)
        if not np.may_share_memory(lines, block):
            rows[:, :, :box_shape[1]] = lines
        spectra = scipy.fft.fft(rows, axis=2, overwrite_x=True, workers=workers)
        totals += np.array(_spectral_sums(kernel, np.ascontiguousarray(spectra), first, count, n_rows))
    weight_sum, cross_sum, centred_square_sum = totals / math.prod(grid_shape)
    squared_weighted = mean_square * weight_sum + centred_square_sum
    return float(weight_sum), float(cross_sum), float(2.0 * (squared_weighted - cross_sum))


def choose_method(n_voxels: int, box_shape) -> str:
    """``"pairs"`` or ``"fft"``: the smaller estimated cost for ``n_voxels`` in a bounding box."""
    pair_cost = n_voxels * (n_voxels - 1) / 2.0
    fft_cost = FFT_FIXED_PAIR_EVALUATIONS + PAIR_EVALUATIONS_PER_FFT_ELEMENT * math.prod(fft_grid_shape(box_shape))
    return "pairs" if pair_cost <= fft_cost else "fft"


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """The slices of a 3D mask's bounding box (:func:`radiomix.features.marching_cubes.mask_box`)."""
    extent = mask_box(np.ascontiguousarray(mask, dtype=bool))
    if extent[0] < 0:
        raise InputError("Moran's I and Geary's C need at least two voxels")
    return tuple(slice(int(extent[2 * axis]), int(extent[2 * axis + 1])) for axis in range(3))


def grid_morans_i_gearys_c(mask: np.ndarray, intensity: np.ndarray, spacing,
                           method: str = "auto") -> tuple[float, float]:
    """Moran's I and Geary's C of the voxels of a 3D mask (IBSI N365, NPT7).

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The voxels; at least two, with intensities not all equal.
    intensity : ndarray of float, same shape
        Intensities (used inside ``mask`` only).
    spacing : sequence of 3 float
        Voxel size (z, y, x) in mm.
    method : {"auto", "pairs", "fft"}
        ``auto`` picks the cheaper exact method (:func:`choose_method`).

    Returns
    -------
    morans_i, gearys_c : float
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3 or np.shape(intensity) != mask.shape:
        raise InputError(f"need a 3D mask and intensities of its shape, got {mask.shape} and {np.shape(intensity)}")
    box = _bounding_box(mask)
    mask = mask[box]
    values = np.asarray(intensity, dtype=np.float64)[box][mask]
    deviations, squares = _deviations(values)
    if method == "auto":
        method = choose_method(len(values), mask.shape)
    if method == "pairs":
        positions = np.argwhere(mask) * np.asarray(spacing, dtype=np.float64)
        partial = _inverse_distance_sums(
            np.ascontiguousarray(positions[:, 0]), np.ascontiguousarray(positions[:, 1]),
            np.ascontiguousarray(positions[:, 2]), deviations)
        return _moran_geary(len(values), *partial.sum(axis=0), squares)
    deviation_grid = np.zeros(mask.shape)
    deviation_grid[mask] = deviations
    return _moran_geary(len(values), *_fft_inverse_distance_sums(mask, deviation_grid, spacing), squares)
