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
Counting and aggregation are shared with the NGLDM (:mod:`radiomix.features.neighbourhood`).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit_exact
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.neighbourhood import (
    NeighbourhoodMatrices,
    chebyshev_offsets,
    neighbourhood_matrices,
    pyradiomics_counts,
    values_by_dimension,
)
from radiomix.features.texture import (
    PresentLevels,
    box_present_levels,
    checked_distance,
    checked_levels,
)
from radiomix.spec import NgtdmSettings

FAMILY = "ngtdm"

COARSENESS_MAXIMUM = 1.0e6
"""IBSI's arbitrary maximum of coarseness, used when ``sum_i p_i s_i`` is (near) 0."""

FEATURE_KEYS = registry.keys(FAMILY)

NO_NEIGHBOURHOOD = "undefined: no ROI voxel has a neighbour in the ROI"
BUSYNESS_UNDEFINED = "undefined: i * p_i is the same for every grey level present"
"""Status of busyness when several grey levels are present but every ``i p_i`` is equal."""


def _counted(levels: np.ndarray, n_levels: int, distance: int, per_slice: bool, volume: bool,
             count_isolated: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Slice and volume NGTDMs of checked ``levels`` in IBSI's Chebyshev neighbourhood of ``distance``.

    Stacks of shape ``(nz or 1, 2, n_levels)``: ``n_i`` (as float64) and ``s_i`` of each matrix.
    """
    counted = neighbourhood_matrices(levels, n_levels, *chebyshev_offsets(distance), per_slice=per_slice,
                                     volume=volume, dependences=False, count_isolated=count_isolated)
    return (np.stack([counted.slice_counts, counted.slice_sums], axis=1),
            np.stack([counted.volume_counts, counted.volume_sums], axis=1))


def ngtdm_matrix(levels: np.ndarray, n_levels: int, distance: int = 1,
                 per_slice: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """NGTDM of a discretised volume, per slice or for the whole volume.

    ``levels``, ``n_levels`` as for :func:`radiomix.features.glcm.glcm_matrices_2d`; ``distance``: the
    Chebyshev radius (voxels; 1: 26 neighbours, 8 in-plane); ``per_slice``: one matrix per slice (axis 0)
    with in-plane neighbourhoods (IBSI 2D), else one of the volume (3D). Returns ``counts`` (int64, shape
    ``(nz or 1, n_levels)``: ``n_i``, voxels of level ``i`` with a neighbour in the ROI) and ``sums``
    (float64: ``s_i``, their sum of ``|i - mean neighbour level|``); an InputError for invalid levels or
    a distance below 1.
    """
    counted = neighbourhood_matrices(checked_levels(levels, n_levels), n_levels,
                                     *chebyshev_offsets(checked_distance("NGTDM", distance)), per_slice=per_slice,
                                     volume=not per_slice, dependences=False)
    if per_slice:
        return counted.slice_counts, counted.slice_sums
    return counted.volume_counts, counted.volume_sums


def ngtdm_features(counts: np.ndarray, sums: np.ndarray, grey_levels: np.ndarray | None = None,
                   capped_coarseness: bool = True, undefined_busyness: float = np.nan) -> dict[str, tuple[float, str]]:
    """The five NGTDM features of one matrix (``n_i``, ``s_i`` of shape ``(n_levels,)``).

    Parameters are those of :func:`ngtdm_feature_values` for one matrix.

    Returns
    -------
    dict
        ``key -> (value, status)``; value NaN with a status when undefined
        (no voxel with a valid neighbourhood; busyness when every
        ``i p_i`` is equal although several levels are present).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return {key: (np.nan, NO_NEIGHBOURHOOD) for key in FEATURE_KEYS}
    values = ngtdm_feature_values(counts[None, :], np.asarray(sums)[None, :], grey_levels, capped_coarseness,
                                  undefined_busyness)[0]
    return {key: (float(value), BUSYNESS_UNDEFINED if np.isnan(value) else "")
            for key, value in zip(FEATURE_KEYS, values)}


def ngtdm_feature_values(counts: np.ndarray, sums: np.ndarray, grey_levels: np.ndarray | None = None,
                         capped_coarseness: bool = True, undefined_busyness: float = np.nan) -> np.ndarray:
    """The five NGTDM features of a stack of matrices, columns in :data:`FEATURE_KEYS` order.

    With ``p_i = n_i / N`` over the ``N_gp`` grey levels present (``n_i > 0``):
    coarseness ``1 / sum p_i s_i``; contrast ``sum_ij p_i p_j (i - j)^2 /
    (N_gp (N_gp - 1)) sum s_i / N`` (0 for one level); busyness ``sum p_i s_i /
    sum_ij |i p_i - j p_j|`` (0 for one level); complexity ``sum_ij |i - j|
    (p_i s_i + p_j s_j) / (p_i + p_j) / N``; strength ``sum_ij (p_i + p_j)
    (i - j)^2 / sum s_i`` (0 when ``sum s_i = 0``).

    ``counts``, ``sums``: ``n_i`` and ``s_i`` of each matrix, shape
    ``(n_matrices, n_levels)``; ``grey_levels``: the grey level of each column
    (default ``1..n_levels``; pyradiomics: the levels present). Coarseness is
    at most :data:`COARSENESS_MAXIMUM` when ``capped_coarseness`` (IBSI), else
    that only when ``sum p_i s_i = 0`` (pyradiomics); busyness is
    ``undefined_busyness`` when its denominator is 0 although several levels
    are present (IBSI NaN, pyradiomics 0). NaN rows for matrices without voxels.
    """
    counts = np.ascontiguousarray(counts, dtype=np.float64)
    if grey_levels is None:
        grey_levels = np.arange(1.0, counts.shape[1] + 1)
    return _ngtdm_feature_kernel(counts, np.ascontiguousarray(sums, dtype=np.float64),
                                 np.ascontiguousarray(grey_levels, dtype=np.float64), bool(capped_coarseness),
                                 float(undefined_busyness), COARSENESS_MAXIMUM)


@njit_exact
def _ngtdm_feature_kernel(counts, sums, grey_levels, capped_coarseness, undefined_busyness, coarseness_maximum):
    """Kernel of :func:`ngtdm_feature_values`, compiled without fast-math."""
    n_matrices, n_levels = counts.shape
    values = np.empty((n_matrices, 5))
    for m in range(n_matrices):  # element by element: a slice assignment costs a compilation more
        for k in range(5):
            values[m, k] = np.nan
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
                grey[n_present] = grey_levels[i]
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
        if capped_coarseness and weighted_sum <= 1.0 / coarseness_maximum or weighted_sum == 0:
            out[0] = coarseness_maximum
        else:
            out[0] = 1.0 / weighted_sum
        if n_present == 1:
            out[1] = 0.0
            out[2] = 0.0
        else:
            out[1] = level_spread / (n_present * (n_present - 1)) * total_difference / n_valid
            out[2] = weighted_sum / busyness_denominator if busyness_denominator > 0 else undefined_busyness
        out[3] = complexity / n_valid
        out[4] = 0.0 if total_difference == 0 else strength / total_difference
    return values


def compute(roi: RoiImage, settings: NgtdmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """NGTDM features of ``roi.discretised`` for ``dimensions``, as :func:`radiomix.features.glcm.compute`.

    ``settings``: ``distance`` (Chebyshev radius of the neighbourhood, voxels), ``offsets`` (with
    ``distances``, ``slice_axis``), ``count_isolated_voxels`` and ``undefined_values``.
    """
    return level_features(roi.discretised, roi.n_levels, roi.spacing, settings, dimensions)


def level_features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings: NgtdmSettings,
                   dimensions: tuple[str, ...] = ("3D",),
                   counted: NeighbourhoodMatrices | None = None) -> list[FeatureValue]:
    """:func:`compute` of discretised levels (parameters as for :func:`radiomix.features.glcm.level_features`;
    ``spacing_zyx`` is not used: neighbourhoods are in voxels). ``counted``: with pyradiomics' offsets, the
    pass of these levels shared with the GLDM (:func:`~radiomix.features.neighbourhood.shared_pyradiomics_counts`)."""
    checked_distance("NGTDM", settings.distance)
    if settings.offsets == "pyradiomics":
        return _pyradiomics_values(box_present_levels(levels, n_levels), settings, counted)
    return values_by_dimension(
        FAMILY, FEATURE_KEYS, levels.levels if isinstance(levels, PresentLevels) else levels, n_levels, dimensions,
        lambda box_levels, per_slice, volume: _counted(box_levels, n_levels, settings.distance, per_slice, volume,
                                                       settings.count_isolated_voxels),
        lambda stack: ngtdm_feature_values(stack[:, 0], stack[:, 1]), BUSYNESS_UNDEFINED, NO_NEIGHBOURHOOD)


def _pyradiomics_values(present: PresentLevels, settings: NgtdmSettings,
                        counted: NeighbourhoodMatrices | None = None) -> list[FeatureValue]:
    """Features of the one matrix of pyradiomics' offsets, columns the grey levels present.

    ``n_i`` and ``s_i`` over the neighbours at the offsets of
    :func:`~radiomix.features.texture.pyradiomics_offsets` (both directions,
    not along ``slice_axis``): ``3D``, or ``2.5D`` with a slice axis.
    """
    if counted is None:
        counted = pyradiomics_counts(present, settings.distances, settings.slice_axis, dependences=False,
                                     count_isolated=settings.count_isolated_voxels)
    pyradiomics = settings.undefined_values == "pyradiomics"
    features = ngtdm_features(counted.volume_counts[0][present.rows], counted.volume_sums[0][present.rows],
                              present.grey_levels, capped_coarseness=not pyradiomics,
                              undefined_busyness=0.0 if pyradiomics else np.nan)
    label = "3D" if settings.slice_axis is None else "2.5D"
    return [FeatureValue(key, label, *value) for key, value in features.items()]
