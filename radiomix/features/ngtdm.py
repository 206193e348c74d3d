"""Neighbourhood grey tone difference matrix (NGTDM) features (IBSI-1 section "NGTDM", IPET).

For every ROI voxel ``k`` with grey level ``i``, the mean grey level of its
neighbours within Chebyshev distance ``delta`` is taken over the neighbours
that lie inside the ROI only (``W_k`` of them, the centre excluded). Voxels
with ``W_k = 0`` have no valid neighbourhood and are left out. The matrix
holds, per grey level ``i``:

- ``n_i``: the number of voxels of level ``i`` with a valid neighbourhood;
- ``s_i = sum_k |i - mean_k|`` over those voxels.

``N_vc = sum_i n_i``, ``p_i = n_i / N_vc`` and ``N_gp`` is the number of levels
with ``p_i > 0``. Aggregations (IBSI): ``2D`` features per slice (in-plane
neighbourhood), averaged over the slices that hold voxels with a valid
neighbourhood; ``2.5D`` the slice matrices merged by summing ``n_i`` and
``s_i``; ``3D`` one matrix of the volume (26 neighbours at distance 1).

The kernel :func:`_ngtdm_kernel` does the counting; :func:`ngtdm_matrix`
validates and allocates; :func:`ngtdm_features` turns one matrix into values.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.texture import checked_levels, feature_values, roi_box, smallest_level_type
from radiomix.spec import NgtdmSettings

FAMILY = "ngtdm"

COARSENESS_MAXIMUM = 1.0e6
"""IBSI's arbitrary maximum of coarseness, used when ``sum_i p_i s_i`` is (near) 0."""

registry.define(
    FAMILY, "coarseness", "Coarseness", "QCDE", "1",
    "1 / sum_i p_i s_i; set to the IBSI maximum 1e6 when sum_i p_i s_i <= 1e-6 "
    "(no grey tone differences)")
registry.define(
    FAMILY, "contrast", "Contrast", "65HE", "1",
    "[1 / (N_gp (N_gp - 1)) sum_i1 sum_i2 p_i1 p_i2 (i1 - i2)^2] [sum_i s_i / N_vc]; "
    "0 when N_gp = 1")
registry.define(
    FAMILY, "busyness", "Busyness", "NQ30", "1",
    "sum_i p_i s_i / sum_i1 sum_i2 |i1 p_i1 - i2 p_i2| over levels with p > 0; 0 when N_gp = 1")
registry.define(
    FAMILY, "complexity", "Complexity", "HDEZ", "1",
    "(1 / N_vc) sum_i1 sum_i2 |i1 - i2| (p_i1 s_i1 + p_i2 s_i2) / (p_i1 + p_i2) "
    "over levels with p > 0")
registry.define(
    FAMILY, "strength", "Strength", "1X9X", "1",
    "sum_i1 sum_i2 (p_i1 + p_i2) (i1 - i2)^2 / sum_i s_i over levels with p > 0; "
    "0 when sum_i s_i = 0")

FEATURE_KEYS = tuple(d.key for d in registry.definitions(FAMILY))

NO_NEIGHBOURHOOD = "undefined: no ROI voxel has a neighbour in the ROI"
EMPTY_ROI = "undefined: empty ROI"
BUSYNESS_UNDEFINED = "undefined: i * p_i is the same for every grey level present"
"""Status of busyness when several grey levels are present but every ``i p_i`` is equal."""


@njit
def _ngtdm_kernel(levels, n_levels, distance, per_slice, volume, level_type, sum_type, count_type):
    """Count ``n_i`` and sum ``s_i`` of in-plane (one row per slice) and 3D (one row) neighbourhoods.

    The neighbourhood sums of levels and of ROI voxels are box sums, taken
    one axis at a time: along x for every row of a slice, then along y
    (the in-plane sums of the slice), then along z over the in-plane sums
    of the ``2 distance + 1`` slices around (the 3D sums; the in-plane sums
    of those slices are kept in a ring). Each step is a loop without
    branches over a whole slice that the compiler vectorises (the border
    columns of the padded slices are summed too, and never counted). The
    sums are integers, so the order of the additions changes nothing.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng``.
    distance : int
        Chebyshev radius of the neighbourhood (voxels).
    per_slice : bool
        Count the in-plane neighbourhoods, one row per slice (IBSI 2D, 2.5D).
    volume : bool
        Count the 3D neighbourhoods, one row for the volume (IBSI 3D).
    level_type, sum_type, count_type : numpy unsigned integer type
        Types of the kernel's copy of the levels, of the neighbourhood sums
        of levels and of the neighbourhood counts of ROI voxels; each must
        hold its largest value (``n_levels``, ``(2 distance + 1)^3 n_levels``,
        ``(2 distance + 1)^3``). Small types keep slices in cache and fill
        more vector lanes.

    Returns
    -------
    slice_counts, slice_sums : ndarray, shape (nz or 0, n_levels)
        In-plane ``n_i`` (int64) and ``s_i`` (float64), column ``i - 1``; no
        rows unless ``per_slice``.
    volume_counts, volume_sums : ndarray, shape (1 or 0, n_levels)
        3D ``n_i`` and ``s_i``; no row unless ``volume``.
    """
    nz, ny, nx = levels.shape
    slice_counts = np.zeros((nz if per_slice else 0, n_levels), dtype=np.int64)
    slice_sums = np.zeros((nz if per_slice else 0, n_levels), dtype=np.float64)
    volume_counts = np.zeros((1 if volume else 0, n_levels), dtype=np.int64)
    volume_sums = np.zeros((1 if volume else 0, n_levels), dtype=np.float64)
    # a flat copy with a border of zeros (outside the ROI: adds nothing), so that the
    # neighbours of a slice's voxels are a contiguous range shifted by a constant; the
    # ``distance`` extra voxels at both ends hold the neighbours of the first and last
    # border columns
    pad_z = distance if volume else 0
    p_y = ny + 2 * distance
    p_x = nx + 2 * distance
    plane = p_y * p_x
    padded = np.zeros((nz + 2 * pad_z) * plane + 2 * distance, level_type)
    for z in range(nz):
        for y in range(ny):
            start = distance + ((z + pad_z) * p_y + y + distance) * p_x + distance
            padded[start:start + nx] = levels[z, y]
    n_centres = ny * p_x  # the rows of a slice holding levels, border columns included
    n_ring = 2 * pad_z + 1
    # in-plane sums (the centre included) of the padded slices z .. z + 2 pad_z, slot q % n_ring for slice q
    ring_total = np.zeros((n_ring, n_centres), sum_type)
    ring_count = np.zeros((n_ring, n_centres), count_type)
    row_total = np.empty(plane, sum_type)
    row_count = np.empty(plane, count_type)
    total = np.empty(n_centres, sum_type)
    n_neighbours = np.empty(n_centres, count_type)
    for q in range(pad_z, 2 * pad_z):  # the slices below the first are the zero border
        _in_plane_sums(padded, q, distance, p_y, p_x, row_total, row_count, ring_total[q % n_ring],
                       ring_count[q % n_ring])
    for z in range(nz):
        q = z + pad_z
        _in_plane_sums(padded, q + pad_z, distance, p_y, p_x, row_total, row_count,
                       ring_total[(q + pad_z) % n_ring], ring_count[(q + pad_z) % n_ring])
        if not levels[z].any():
            continue
        start = distance + (q * p_y + distance) * p_x
        centre = padded[start:start + n_centres]
        if per_slice:
            _add_row_terms(centre, ring_total[q % n_ring], ring_count[q % n_ring], slice_counts[z], slice_sums[z])
        if not volume:
            continue
        total[:] = 0
        n_neighbours[:] = 0
        for slot in range(n_ring):
            _add_neighbour_row(ring_total[slot], total)
            _add_neighbour_row(ring_count[slot], n_neighbours)
        _add_row_terms(centre, total, n_neighbours, volume_counts[0], volume_sums[0])
    return slice_counts, slice_sums, volume_counts, volume_sums


@njit
def _in_plane_sums(padded, q, distance, p_y, p_x, row_total, row_count, plane_total, plane_count):
    """In-plane neighbourhood sums of levels and counts of ROI voxels, the centre included, of padded slice ``q``.

    ``plane_total`` and ``plane_count`` receive the values of the slice's
    rows ``distance .. p_y - distance - 1``; ``row_total`` and ``row_count``
    (one padded slice long) are scratch space for the sums along x.
    """
    plane = p_y * p_x
    base = distance + q * plane
    row_total[:] = 0
    row_count[:] = 0
    for dx in range(-distance, distance + 1):
        first = base + dx
        neighbour = padded[first:first + plane]
        _add_neighbour_row(neighbour, row_total)
        _add_roi_voxels(neighbour, row_count)
    plane_total[:] = 0
    plane_count[:] = 0
    n_centres = plane_total.size
    for dy in range(-distance, distance + 1):
        first = (distance + dy) * p_x
        _add_neighbour_row(row_total[first:first + n_centres], plane_total)
        _add_neighbour_row(row_count[first:first + n_centres], plane_count)


@njit
def _add_neighbour_row(neighbour, total):
    """Add ``neighbour`` to ``total`` element-wise."""
    for x in range(neighbour.size):
        total[x] += neighbour[x]


@njit
def _add_roi_voxels(neighbour, n_neighbours):
    """Add 1 to ``n_neighbours`` where ``neighbour`` is in the ROI (level > 0)."""
    for x in range(neighbour.size):
        n_neighbours[x] += neighbour[x] > 0


@njit
def _add_row_terms(centre, total, n_neighbours, counts, sums):
    """Add the ROI voxels of ``centre`` with a valid neighbourhood to ``n_i`` (``counts``) and ``s_i`` (``sums``).

    ``total`` and ``n_neighbours`` hold the sums and counts over the
    neighbourhood including the centre voxel.
    """
    for x in range(centre.size):
        level = centre[x]
        if level == 0:
            continue
        neighbours = np.int64(n_neighbours[x]) - 1
        if neighbours > 0:
            counts[level - 1] += 1
            # |i - total / W| computed from the exact integer |i W - total|
            sums[level - 1] += abs(level * neighbours - (np.int64(total[x]) - level)) / neighbours


def _counted(levels: np.ndarray, n_levels: int, distance: int, per_slice: bool,
             volume: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_ngtdm_kernel` of checked ``levels`` and ``distance``, with the smallest types that hold the sums."""
    n_neighbourhood = (2 * int(distance) + 1) ** 3
    return _ngtdm_kernel(levels, int(n_levels), int(distance), per_slice, volume, smallest_level_type(int(n_levels)),
                         _smallest_unsigned_type(n_neighbourhood * int(n_levels)),
                         _smallest_unsigned_type(n_neighbourhood))


def _smallest_unsigned_type(largest: int) -> type:
    """The smallest unsigned integer type holding ``0..largest``."""
    for candidate in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(candidate).max:
            return candidate
    return np.uint64


def ngtdm_matrix(levels: np.ndarray, n_levels: int, distance: int = 1,
                 per_slice: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """NGTDM of a discretised volume, per slice or for the whole volume.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng`` (levels may be absent from the ROI).
    distance : int
        Chebyshev radius (voxels) of the neighbourhood; 1 gives 26 neighbours
        in 3D and 8 in-plane neighbours per slice.
    per_slice : bool
        True: one matrix per slice (axis 0) with in-plane neighbourhoods
        (IBSI 2D); False: one matrix of the volume (IBSI 3D).

    Returns
    -------
    counts : ndarray of int64, shape (nz or 1, n_levels)
        ``n_i``: voxels of level ``i`` (column ``i - 1``) with at least one
        neighbour in the ROI.
    sums : ndarray of float64, shape (nz or 1, n_levels)
        ``s_i``: sum over those voxels of ``|i - mean neighbour level|``.

    Raises
    ------
    InputError
        ``levels`` is not a 3D integer array with values in ``0..n_levels``,
        or ``distance`` is below 1.
    """
    levels = checked_levels(levels, n_levels)
    _check_distance(distance)
    slice_counts, slice_sums, volume_counts, volume_sums = _counted(levels, n_levels, distance, bool(per_slice),
                                                                    not per_slice)
    return (slice_counts, slice_sums) if per_slice else (volume_counts, volume_sums)


def _check_distance(distance) -> None:
    """Raise InputError unless ``distance`` is an integer >= 1."""
    if int(distance) != distance or distance < 1:
        raise InputError(f"NGTDM distance must be an integer >= 1 (voxels), got {distance!r}")


def ngtdm_features(counts: np.ndarray, sums: np.ndarray) -> dict[str, tuple[float, str]]:
    """The five IBSI NGTDM features of one matrix.

    Parameters
    ----------
    counts : ndarray, shape (n_levels,)
        ``n_i`` for grey levels ``1..n_levels``.
    sums : ndarray, shape (n_levels,)
        ``s_i`` for grey levels ``1..n_levels``.

    Returns
    -------
    dict
        ``key -> (value, status)``; value NaN with a status when undefined
        (no voxel with a valid neighbourhood; busyness when every
        ``i p_i`` is equal although several levels are present).
    """
    counts = np.asarray(counts, dtype=np.float64)
    sums = np.asarray(sums, dtype=np.float64)
    if counts.sum() == 0:
        return {key: (np.nan, NO_NEIGHBOURHOOD) for key in FEATURE_KEYS}
    values = _ngtdm_feature_kernel(counts[None, :], sums[None, :])[0]
    return {key: (float(value), BUSYNESS_UNDEFINED if np.isnan(value) else "")
            for key, value in zip(FEATURE_KEYS, values)}


@njit
def _ngtdm_feature_kernel(counts, sums):
    """Kernel of :func:`ngtdm_features` for a stack of matrices (rows), columns in :data:`FEATURE_KEYS` order.

    NaN for every feature of a matrix without valid voxels, and for busyness
    when its denominator is 0 although several levels are present.
    """
    n_matrices, n_levels = counts.shape
    values = np.full((n_matrices, 5), np.nan)
    grey = np.empty(n_levels)
    p = np.empty(n_levels)
    s = np.empty(n_levels)
    for m in range(n_matrices):
        n_valid = 0.0
        for i in range(n_levels):
            n_valid += counts[m, i]
        if n_valid == 0:
            continue
        n_present = 0
        for i in range(n_levels):
            if counts[m, i] > 0:
                grey[n_present] = i + 1.0
                p[n_present] = counts[m, i] / n_valid
                s[n_present] = sums[m, i]
                n_present += 1
        weighted_sum = 0.0
        total_difference = 0.0
        for a in range(n_present):
            weighted_sum += p[a] * s[a]
            total_difference += s[a]
        level_spread = 0.0
        busyness_denominator = 0.0
        complexity = 0.0
        strength = 0.0
        for a in range(n_present):
            for b in range(n_present):
                gap = abs(grey[a] - grey[b])
                level_spread += p[a] * p[b] * gap * gap
                busyness_denominator += abs(grey[a] * p[a] - grey[b] * p[b])
                complexity += gap * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b])
                strength += (p[a] + p[b]) * gap * gap
        out = values[m]
        out[0] = COARSENESS_MAXIMUM if weighted_sum <= 1.0 / COARSENESS_MAXIMUM else 1.0 / weighted_sum
        if n_present == 1:
            out[1] = 0.0
            out[2] = 0.0
        else:
            out[1] = level_spread / (n_present * (n_present - 1)) * total_difference / n_valid
            if busyness_denominator > 0:
                out[2] = weighted_sum / busyness_denominator
        out[3] = complexity / n_valid
        out[4] = 0.0 if total_difference == 0 else strength / total_difference
    return values


def _averaged_over_slices(counts: np.ndarray, sums: np.ndarray) -> dict[str, tuple[float, str]]:
    """Features per slice averaged over the slices holding voxels with a valid neighbourhood.

    A feature undefined in any of those slices (busyness with equal ``i p_i``)
    is undefined for the average, with a status naming how many slices.
    """
    slices = np.flatnonzero(counts.sum(axis=1) > 0)
    if not slices.size:
        return {key: (np.nan, NO_NEIGHBOURHOOD) for key in FEATURE_KEYS}
    per_slice = _ngtdm_feature_kernel(counts[slices].astype(np.float64), sums[slices])
    averaged = {}
    for index, key in enumerate(FEATURE_KEYS):
        n_undefined = int(np.isnan(per_slice[:, index]).sum())
        if n_undefined:
            averaged[key] = (np.nan, f"{BUSYNESS_UNDEFINED} (in {n_undefined} of {slices.size} slices)")
        else:
            averaged[key] = (float(per_slice[:, index].mean()), "")
    return averaged


def compute(roi: RoiImage, settings: NgtdmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """NGTDM features of ``roi`` for each requested aggregation dimension.

    Parameters
    ----------
    roi : RoiImage
        Uses ``discretised`` (levels ``1..n_levels`` in the intensity mask,
        0 outside) and ``n_levels``.
    settings : NgtdmSettings
        ``distance``: Chebyshev radius (voxels) of the neighbourhood.
    dimensions : tuple of {"2D", "2.5D", "3D"}
        Aggregations to compute (labels from ``AGGREGATIONS_BY_DIMENSION``).

    Returns
    -------
    list of FeatureValue
        One per feature per aggregation label, in declaration order.
    """
    box = roi_box(np.asarray(roi.discretised))
    by_dimension = {}
    if box is None:
        for dimension in dimensions:
            by_dimension[dimension] = {key: (np.nan, EMPTY_ROI) for key in FEATURE_KEYS}
    else:
        levels = checked_levels(np.asarray(roi.discretised)[box], roi.n_levels)
        _check_distance(settings.distance)
        in_plane = "2D" in dimensions or "2.5D" in dimensions
        slice_counts, slice_sums, volume_counts, volume_sums = _counted(
            levels, roi.n_levels, settings.distance, in_plane, "3D" in dimensions)
        if "2D" in dimensions:
            by_dimension["2D"] = _averaged_over_slices(slice_counts, slice_sums)
        if "2.5D" in dimensions:
            by_dimension["2.5D"] = ngtdm_features(slice_counts.sum(axis=0), slice_sums.sum(axis=0))
        if "3D" in dimensions:
            by_dimension["3D"] = ngtdm_features(volume_counts[0], volume_sums[0])
    return feature_values(FAMILY, FEATURE_KEYS, by_dimension, dimensions)
