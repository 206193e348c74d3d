"""Helpers shared by the texture families: level checks, the ROI's box, present levels, neighbour offsets,
and emitting values."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from radiomix._numba import njit, njit_exact
from radiomix.errors import EmptyRoiError, InputError, SpecError
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION

_IN_PLANE_DIRECTIONS = ((0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1))
_VOLUME_DIRECTIONS = (
    (0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 1, 1), (0, 1, -1), (1, 0, 1), (1, 0, -1),
    (1, 1, 0), (1, -1, 0), (1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1),
)


def direction_offsets(dimension: str, distance: int = 1) -> np.ndarray:
    """Direction vectors of the IBSI neighbourhood as ``(dz, dy, dx)`` offsets, times ``distance`` (voxels).

    ``2D``: the 4 in-plane directions 0, 45, 90 and 135 degrees (the manual's
    ``(1, 0)``, ``(1, 1)``, ``(0, 1)``, ``(-1, 1)`` in ``(x, y)``); ``3D``: the
    13 unique directions of the 26-neighbourhood. Of each opposite pair, the
    vector whose first non-zero component (z, y, x order) is positive (the
    sign matters for non-symmetric GLCMs only). int64, shape (4 or 13, 3).
    """
    if dimension not in ("2D", "3D"):
        raise ValueError(f"dimension must be '2D' or '3D', got {dimension!r}")
    checked_distance("GLCM", distance)
    base = _IN_PLANE_DIRECTIONS if dimension == "2D" else _VOLUME_DIRECTIONS
    return np.asarray(base, dtype=np.int64) * int(distance)


def checked_distance(family: str, distance) -> int:
    """``distance`` as an int, or an InputError naming ``family`` unless it is an integer >= 1 (voxels)."""
    if int(distance) != distance or distance < 1:
        raise InputError(f"{family} distance must be an integer >= 1 (voxels), got {distance!r}")
    return int(distance)


def in_plane_rows_of_volume_directions() -> np.ndarray:
    """Index in ``direction_offsets("3D")`` of each direction of ``direction_offsets("2D")``, in that order.

    Pairs (and runs) along an in-plane direction never leave their slice, so
    the volume matrix of such a direction is the sum of its slice matrices:
    the 2.5D matrices of the manual are these rows of the 3D ones.
    """
    volume = [tuple(offset) for offset in _VOLUME_DIRECTIONS]
    return np.array([volume.index(offset) for offset in _IN_PLANE_DIRECTIONS], dtype=np.int64)


CountDirections = Callable[[np.ndarray, bool], np.ndarray]
"""``(offsets, per_slice) -> matrices`` of one family's levels: int64, shape ``(n_slices or 1, n_offsets, ...)``."""


def volume_from_slices(per_slice: np.ndarray, count: CountDirections, distance: int = 1) -> np.ndarray:
    """The 13 volume direction matrices, reusing the in-plane slice matrices ``per_slice``.

    A pair (or run) along an in-plane direction lies within one slice, so the
    volume matrices of the 4 in-plane directions are the sums of the slice
    matrices (in the leading columns, if the volume's matrices are wider);
    only the 9 out-of-plane directions are counted again.
    """
    volume_offsets = direction_offsets("3D", distance)
    out_of_plane = volume_offsets[:, 0] != 0
    counted = count(np.ascontiguousarray(volume_offsets[out_of_plane]), False)[0]
    volume = np.zeros((len(volume_offsets),) + counted.shape[1:], dtype=np.int64)
    volume[out_of_plane] = counted
    summed = per_slice.sum(axis=0)
    volume[in_plane_rows_of_volume_directions(), ..., :summed.shape[-1]] = summed
    return volume


def directional_groups(family: str, dimensions: tuple[str, ...], count: CountDirections,
                       distance: int = 1) -> dict[str, np.ndarray]:
    """Aggregation label -> stack of matrices whose features are averaged (GLCM, GLRLM).

    ``2D, averaged``: every slice x direction matrix; ``2D, slice-merged``:
    the direction matrices of each slice summed; ``2.5D, direction-merged``:
    the slice matrices of each in-plane direction summed; ``2.5D, merged``:
    all of them summed; ``3D, averaged``: the 13 volume direction matrices;
    ``3D, merged``: their sum. Each matrix is counted once: the in-plane
    volume matrices are sums of slice matrices. ``count`` counts the
    family's matrices along offsets (:data:`CountDirections`) at Chebyshev
    ``distance``; labels in the order of ``dimensions``.
    """
    checked_dimensions(family, dimensions)
    groups = {}
    per_slice = volume = None
    if "2D" in dimensions:
        per_slice = count(direction_offsets("2D", distance), True)
        groups["2D, averaged"] = per_slice.reshape((-1,) + per_slice.shape[2:])
        groups["2D, slice-merged"] = per_slice.sum(axis=1)
    if "3D" in dimensions:
        if per_slice is None:
            volume = count(direction_offsets("3D", distance), False)[0]
        else:
            volume = volume_from_slices(per_slice, count, distance)
        groups["3D, averaged"] = volume
        groups["3D, merged"] = volume.sum(axis=0, keepdims=True)
    if "2.5D" in dimensions:
        # the slice matrices of one in-plane direction sum to the volume matrix of that direction
        # (GLRLM: columns beyond the longest in-plane run hold zeros and change no feature)
        if per_slice is not None:
            per_direction = per_slice.sum(axis=0)
        elif volume is not None:
            per_direction = volume[in_plane_rows_of_volume_directions()]
        else:
            per_direction = count(direction_offsets("2D", distance), False)[0]
        groups["2.5D, direction-merged"] = per_direction
        groups["2.5D, merged"] = per_direction.sum(axis=0, keepdims=True)
    return {label: groups[label] for dimension in dimensions for label in AGGREGATIONS_BY_DIMENSION[family][dimension]}


def checked_dimensions(family: str, dimensions: tuple[str, ...]) -> None:
    """Raise a SpecError naming the first of ``dimensions`` without aggregations in ``family``."""
    unknown = [d for d in dimensions if d not in AGGREGATIONS_BY_DIMENSION[family]]
    if unknown:
        raise SpecError(f"texture.dimensions: {unknown[0]!r} is not one of {list(AGGREGATIONS_BY_DIMENSION[family])}")


def checked_levels(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """``levels`` (grey levels ``1..n_levels`` inside the ROI, 0 outside) as a C-contiguous int32 3D array.

    An InputError says what to fix when they are not.
    """
    levels = np.asarray(levels)
    if levels.ndim != 3:
        raise InputError(f"discretised levels must be a 3D (z, y, x) array, got {levels.ndim} dimensions")
    if not np.issubdtype(levels.dtype, np.integer):
        raise InputError(f"discretised levels must be integers (0 outside the ROI), got {levels.dtype}")
    if int(n_levels) != n_levels or n_levels < 1:
        raise InputError(f"number of grey levels must be an integer >= 1, got {n_levels!r}")
    if levels.size and (levels.min() < 0 or levels.max() > n_levels):
        raise InputError(
            f"discretised levels must lie in 0..{n_levels} (0 outside the ROI), "
            f"found {levels.min()}..{levels.max()}; check the discretisation or n_levels")
    return np.ascontiguousarray(levels, dtype=np.int32)


def smallest_unsigned_type(largest: int) -> type:
    """The smallest unsigned integer type holding ``0..largest`` (e.g. levels ``0..n_levels``).

    Kernels that gather neighbours of every voxel run faster on small level
    arrays, which stay in cache.
    """
    for candidate in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(candidate).max:
            return candidate
    return np.uint64


@njit
def _non_zero_box(array):
    """Kernel of :func:`roi_box`: ``(low, high)`` of the non-zero voxels, ``low > high`` when there are none."""
    n_z, n_y, n_x = array.shape
    low = np.empty(3, np.int64)  # filled element by element: np.array([...]) is one more compilation
    low[0], low[1], low[2] = n_z, n_y, n_x
    high = np.zeros(3, np.int64)
    for z in range(n_z):
        for y in range(n_y):
            row = array[z, y]
            n_inside = 0
            for x in range(n_x):  # a count rather than a branch, so that the loop vectorises
                n_inside += row[x] != 0
            if n_inside == 0:
                continue
            first = 0
            while row[first] == 0:
                first += 1
            last = n_x - 1
            while row[last] == 0:
                last -= 1
            low[0], low[1], low[2] = min(low[0], z), min(low[1], y), min(low[2], first)
            high[0], high[1], high[2] = z + 1, max(high[1], y + 1), max(high[2], last + 1)
    return low, high


def roi_box(inside: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Slices of the smallest box holding every non-zero voxel of a 3D array; None if there is none."""
    inside = np.asarray(inside)
    if inside.ndim != 3:
        raise InputError(f"the ROI box needs a 3D (z, y, x) array, got {inside.ndim} dimensions")
    low, high = _non_zero_box(inside)
    if low[0] >= high[0]:
        return None
    return tuple(slice(int(first), int(stop)) for first, stop in zip(low, high))


EMPTY_LEVELS = ("the discretised ROI holds no voxel (every level is 0); "
                "check the mask label and the re-segmentation range")
"""Message of the EmptyRoiError of levels without an ROI voxel."""


def checked_roi_box(levels: np.ndarray, n_levels: int) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """:func:`checked_levels` and the :func:`roi_box` of their ROI; an EmptyRoiError when it holds no voxel."""
    levels = checked_levels(levels, n_levels)
    box = roi_box(levels)
    if box is None:
        raise EmptyRoiError(EMPTY_LEVELS)
    return levels, box


def cropped_to_roi(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Checked ``levels`` cropped to the ROI's box (texture matrices do not change)."""
    levels, box = checked_roi_box(levels, n_levels)
    return np.ascontiguousarray(levels[box])


class PresentLevels(NamedTuple):
    """Levels of an ROI box renumbered by rank among the grey levels present.

    Matrices counted from ``ranked`` with ``n_present`` levels have one row
    (and column) per grey level present in the ROI: the matrices of the ROI's
    own levels with the empty grey levels removed (pyradiomics' matrices).

    Attributes
    ----------
    levels : ndarray of int32, shape (nz, ny, nx)
        The checked levels ``1..n_levels``, 0 outside the ROI.
    ranked : ndarray of int32, same shape
        ``1 +`` the rank of each ROI voxel's level among the levels present, 0 outside.
    grey_levels : ndarray of float64, shape (n_present,)
        The grey levels present, increasing (row ``r`` of a ranked matrix is level ``grey_levels[r]``).
    n_levels : int
        Number of grey levels ``Ng`` of the discretisation.
    """

    levels: np.ndarray
    ranked: np.ndarray
    grey_levels: np.ndarray
    n_levels: int

    @property
    def n_present(self) -> int:
        """Number of grey levels present in the ROI."""
        return int(self.grey_levels.size)

    @property
    def rows(self) -> np.ndarray:
        """Row (``level - 1``) of each present grey level in a matrix of all ``n_levels`` levels."""
        return self.grey_levels.astype(np.int64) - 1


def box_present_levels(levels: np.ndarray | PresentLevels, n_levels: int) -> PresentLevels:
    """:func:`present_levels` of ``levels`` cropped to the ROI's box; levels already ranked as they are.

    One image's levels are ranked once and shared by its texture families.
    """
    if isinstance(levels, PresentLevels):
        return levels
    return _ranked(cropped_to_roi(levels, n_levels), n_levels)


def present_levels(levels: np.ndarray, n_levels: int) -> PresentLevels:
    """``levels`` checked (:func:`checked_levels`) and ranked among the grey levels present.

    Raises
    ------
    InputError
        Invalid ``levels`` or ``n_levels``.
    EmptyRoiError
        No ROI voxel.
    """
    return _ranked(checked_levels(levels, n_levels), n_levels)


def _ranked(levels: np.ndarray, n_levels: int) -> PresentLevels:
    """:func:`present_levels` of checked ``levels``."""
    present = np.bincount(levels.ravel(), minlength=int(n_levels) + 1) > 0
    present[0] = False
    if not present.any():
        raise EmptyRoiError(EMPTY_LEVELS)
    if present[1:].all():  # every level present: each is its own rank
        ranked = levels
    else:
        # a gather by np.take (every index in range, so ``wrap`` checks nothing): 2x faster than levels as an index
        ranked = np.take((np.cumsum(present) * present).astype(np.int32), levels, mode="wrap")
    return PresentLevels(levels, ranked, np.flatnonzero(present).astype(np.float64), int(n_levels))


def counted_in_roi_box(levels: np.ndarray, n_levels: int, pad, count: Callable[[np.ndarray], np.ndarray],
                       per_slice: bool, cropped: bool = False) -> np.ndarray:
    """Matrices counted by ``count`` on the ROI's box of ``levels`` inside a border of zeros.

    ``pad`` is the border ``(pz, py, px)`` (so that neighbours need no bounds
    check); ``count(padded)`` gives matrices of shape ``(n_box_slices or 1,
    ...)`` from the box's levels in :func:`smallest_unsigned_type`. With
    ``per_slice`` they are returned for every slice of ``levels`` (zeros
    outside the box). ``cropped``: ``levels`` are already checked and cropped
    (:func:`cropped_to_roi`); else an InputError or EmptyRoiError for invalid
    levels or no ROI voxel.
    """
    if cropped:
        box = tuple(slice(0, n) for n in levels.shape)
    else:
        levels, box = checked_roi_box(levels, n_levels)
    box_levels = levels[box]
    padded = np.zeros(tuple(n + 2 * p for n, p in zip(box_levels.shape, pad)), dtype=smallest_unsigned_type(n_levels))
    padded[tuple(slice(p, p + n) for p, n in zip(pad, box_levels.shape))] = box_levels
    counts = count(padded)
    if not per_slice:
        return counts
    every_slice = np.zeros((levels.shape[0],) + counts.shape[1:], dtype=np.int64)
    every_slice[box[0]] = counts
    return every_slice


EMPHASIS_FEATURES = (
    "short_emphasis", "long_emphasis", "low_grey_level_emphasis", "high_grey_level_emphasis",
    "short_low_grey_level_emphasis", "short_high_grey_level_emphasis", "long_low_grey_level_emphasis",
    "long_high_grey_level_emphasis", "grey_level_non_uniformity", "grey_level_non_uniformity_normalised",
    "non_uniformity", "non_uniformity_normalised", "percentage", "grey_level_variance", "variance", "entropy",
    "energy",
)
"""Columns of :func:`emphasis_features`: the features shared by the GLRLM, GLSZM, GLDZM and NGLDM
(and pyradiomics' GLRLM, GLSZM and GLDM), ``short``/``long`` standing for a small/large run length,
zone size, zone distance or dependence count, in the IBSI GLRLM order (NGLDM: energy last)."""


def emphasis_features(matrices: np.ndarray, row_values: np.ndarray, column_values: np.ndarray,
                      eps: float = 0.0) -> np.ndarray:
    """The features of :data:`EMPHASIS_FEATURES` of a stack of grey level x (run | zone | dependence) matrices.

    With ``p_ij = c_ij / N_s`` (``N_s = sum c_ij``), grey levels ``i`` (row
    values) and run lengths, zone sizes, distances or dependences ``j``
    (column values): ``short = sum p_ij / j^2``, ``long = sum p_ij j^2``, the
    grey level emphases likewise with ``i``, the non-uniformities
    ``sum_i (sum_j c_ij)^2 / N_s`` (normalised: ``/ N_s^2``), ``percentage =
    N_s / sum c_ij j``, the variances ``sum p_ij (i - mu_i)^2`` and likewise
    for ``j``, ``entropy = -sum p_ij log2(p_ij + eps)`` and ``energy = sum p_ij^2``.

    ``matrices``: counts (or weighted counts, >= 0), shape ``(n_matrices,
    n_rows, n_columns)``; ``row_values``: the grey level of each row (IBSI
    ``1..Ng``, pyradiomics the levels present); ``column_values``: the run
    length, zone size, distance or dependence of each column (>= 1); ``eps``
    is added to ``p`` in the entropy's logarithm (pyradiomics'
    ``numpy.spacing(1)``; IBSI 0). Returns float64 values of shape
    ``(n_matrices, len(EMPHASIS_FEATURES))``, NaN rows for empty matrices.
    """
    matrices = np.asarray(matrices)  # integer counts are read as they are (their float values are exact)
    matrices = np.ascontiguousarray(matrices, dtype=np.int64 if matrices.dtype.kind in "iub" else np.float64)
    return _emphasis_kernel(matrices, np.ascontiguousarray(row_values, dtype=np.float64),
                            np.ascontiguousarray(column_values, dtype=np.float64), float(eps))


@njit_exact
def _emphasis_kernel(matrices, row_values, column_values, eps):
    """Kernel of :func:`emphasis_features`, compiled without fast-math (a single grey level gives
    ``p = c / c = 1`` and a variance of exactly 0)."""
    n_matrices, n_rows, n_columns = matrices.shape
    out = np.empty((n_matrices, 17))
    row_sums = np.empty(n_rows)
    column_sums = np.empty(n_columns)
    for m in range(n_matrices):  # element by element: slice and tuple assignments compile for seconds
        for k in range(17):
            out[m, k] = np.nan
        matrix = matrices[m]
        for i in range(n_rows):
            row_sums[i] = 0.0
        for j in range(n_columns):
            column_sums[j] = 0.0
        total = short_low = short_high = long_low = long_high = 0.0
        for i in range(n_rows):
            g2 = row_values[i] * row_values[i]
            for j in range(n_columns):
                count = matrix[i, j]
                if count == 0.0:
                    continue
                c2 = column_values[j] * column_values[j]
                row_sums[i] += count
                column_sums[j] += count
                total += count
                short_low += count / (g2 * c2)
                short_high += count * g2 / c2
                long_low += count * c2 / g2
                long_high += count * g2 * c2
        if total == 0.0:
            continue
        entropy = energy = 0.0
        for i in range(n_rows):
            for j in range(n_columns):
                if matrix[i, j] != 0.0:  # an empty cell adds -0.0
                    probability = matrix[i, j] / total
                    entropy -= probability * np.log2(probability + eps)
                    energy += probability * probability
        column_uniformity, short, long, n_units, column_variance = _marginal_sums(column_sums, column_values, total)
        grey_uniformity, low, high, _, grey_variance = _marginal_sums(row_sums, row_values, total)
        row = out[m]
        row[0] = short / total
        row[1] = long / total
        row[2] = low / total
        row[3] = high / total
        row[4] = short_low / total
        row[5] = short_high / total
        row[6] = long_low / total
        row[7] = long_high / total
        row[8] = grey_uniformity / total
        row[9] = grey_uniformity / (total * total)
        row[10] = column_uniformity / total
        row[11] = column_uniformity / (total * total)
        row[12] = total / n_units
        row[13] = grey_variance
        row[14] = column_variance
        row[15] = entropy
        row[16] = energy
    return out


@njit_exact
def _marginal_sums(sums, values, total):
    """Of the row (or column) sums ``s_k`` of a matrix whose rows (columns) stand for ``values`` ``v_k``:
    ``sum s_k^2``, ``sum s_k / v_k^2``, ``sum s_k v_k^2``, ``sum s_k v_k`` and the variance of ``v`` under
    the probabilities ``s_k / total``."""
    uniformity = inverse_square = square = weighted = mean = 0.0
    for k in range(sums.size):
        value = values[k]
        uniformity += sums[k] * sums[k]
        inverse_square += sums[k] / (value * value)
        square += sums[k] * value * value
        weighted += sums[k] * value
        mean += sums[k] / total * value
    variance = 0.0
    for k in range(sums.size):
        variance += sums[k] / total * (values[k] - mean) ** 2
    return uniformity, inverse_square, square, weighted, variance


# ----------------------------------------------------------------------------------------------
# pyradiomics' neighbour offsets (``offsets: pyradiomics``)
# ----------------------------------------------------------------------------------------------

PYRADIOMICS_EPS = float(np.spacing(1))
"""pyradiomics' guard against log(0) and division by 0 (``numpy.spacing(1)``, 2.2e-16)."""

WEIGHTING_NORMS = ("infinity", "euclidean", "manhattan", "no_weighting")
"""Norms of pyradiomics' ``weightingNorm`` (:func:`offset_lengths_mm`)."""


def pyradiomics_offsets(size_zyx, distances, bidirectional: bool, slice_axis: int | None) -> np.ndarray:
    """pyradiomics' neighbour offsets for an array of shape ``size_zyx``.

    The offsets at the Chebyshev ``distances`` (voxels, >= 1) that fit in an
    array of shape ``size_zyx`` (the ROI box), none moving along
    ``slice_axis`` (pyradiomics' ``force2Ddimension``; None: 3D); with
    ``bidirectional`` both of each opposite pair (GLDM, NGTDM, GLSZM), else the
    one whose first non-zero component is positive (GLCM, GLRLM). int64
    ``(dz, dy, dx)`` rows in pyradiomics' order (from ``(d, d, d)`` down, z
    slowest); an InputError for a distance below 1 or when none fits.
    """
    distances = tuple(sorted({int(d) for d in distances}))
    if not distances or distances[0] < 1:
        raise InputError(f"distances must be integers >= 1, got {list(distances)}")
    # only whether each side exceeds the largest distance matters: clamp, so that boxes share the cache
    clamped = tuple(min(int(n), distances[-1] + 1) for n in size_zyx)
    offsets = _offsets(clamped, distances, bool(bidirectional), slice_axis)
    if offsets.size == 0:
        raise InputError(f"no neighbour offset at distances {list(distances)} fits in an ROI box of size "
                         f"{tuple(size_zyx)} (pyradiomics fails too); use a smaller distance")
    return offsets.copy()


@functools.lru_cache(maxsize=256)
def _offsets(size_zyx: tuple, distances: tuple, bidirectional: bool, slice_axis: int | None) -> np.ndarray:
    """:func:`pyradiomics_offsets` (distances sorted, unique and >= 1); empty when no offset fits."""
    wanted = set(distances)
    steps = range(distances[-1], -distances[-1] - 1, -1)
    offsets = [offset for offset in itertools.product(steps, steps, steps)
               if max(abs(o) for o in offset) in wanted
               and all(abs(o) < n for o, n in zip(offset, size_zyx))
               and (slice_axis is None or offset[slice_axis] == 0)]
    if not bidirectional:
        offsets = offsets[: len(offsets) // 2]
    return np.array(offsets, dtype=np.int64).reshape(-1, 3)


def pyradiomics_label(slice_axis: int | None, weighted: bool) -> str:
    """Aggregation label of pyradiomics' offset matrices (GLCM, GLRLM).

    Features averaged over the offset matrices: ``3D, averaged``, or
    ``2.5D, direction-merged`` with a slice axis (in-plane offsets, slices
    merged); matrices summed with a weighting norm: ``3D, merged`` /
    ``2.5D, merged``.
    """
    depth = "3D" if slice_axis is None else "2.5D"
    if weighted:
        return f"{depth}, merged"
    return "3D, averaged" if slice_axis is None else "2.5D, direction-merged"


def pyradiomics_aggregation(matrices: np.ndarray, weights: np.ndarray | None,
                            slice_axis: int | None) -> tuple[str, np.ndarray]:
    """The one aggregation of pyradiomics' offset matrices (GLCM, GLRLM): its label and stack of matrices.

    Without ``weights``, the offset matrices whose features are averaged, those
    without counts left out when there are several; with ``weights`` (one per
    offset, pyradiomics' ``weightingNorm``), their one weighted sum.
    """
    if weights is not None:
        return pyradiomics_label(slice_axis, True), (matrices * weights[:, None, None]).sum(axis=0, keepdims=True)
    if matrices.shape[0] > 1:
        matrices = matrices[matrices.sum(axis=(1, 2)) > 0]
    return pyradiomics_label(slice_axis, False), matrices


def offset_lengths_mm(offsets: np.ndarray, spacing_zyx, norm: str) -> np.ndarray:
    """Length of each offset in mm under a weighting norm (pyradiomics' ``weightingNorm``; 1 for ``no_weighting``).

    ``norm``: the largest component, the Euclidean length or the sum of the
    components of each ``(dz, dy, dx)`` offset in mm (``spacing_zyx``). The
    GLRLM weighs offset matrices by this length ``d``, the GLCM by ``exp(-d^2)``.
    """
    if norm not in WEIGHTING_NORMS:
        raise InputError(f"weighting norm must be one of {WEIGHTING_NORMS}, got {norm!r}")
    steps_mm = np.abs(offsets) * np.asarray(spacing_zyx, dtype=np.float64)
    if norm == "infinity":
        return steps_mm.max(axis=1)
    if norm == "euclidean":
        return np.sqrt(np.sum(steps_mm ** 2, axis=1))
    if norm == "manhattan":
        return np.sum(steps_mm, axis=1)
    return np.ones(offsets.shape[0])


def defined_means(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each column over its non-NaN entries (NaN where there are none, without warnings), and their number.

    The features of the matrices of an aggregation (rows) averaged, undefined values left out (GLCM, GLRLM).
    """
    defined = ~np.isnan(values)
    n_defined = defined.sum(axis=0)
    means = np.where(defined, values, 0.0).sum(axis=0) / np.maximum(n_defined, 1)
    return np.where(n_defined > 0, means, np.nan), n_defined
