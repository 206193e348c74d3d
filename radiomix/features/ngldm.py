"""Neighbouring grey level dependence matrix (NGLDM) features (IBSI-1 section "NGLDM", REK0).

Every ROI voxel ``k`` is the centre of a neighbourhood (Chebyshev distance
``delta``). Its dependence ``j_k`` is the number of voxels of the
neighbourhood, the centre included, that lie in the ROI and whose grey level
differs from the centre's by at most ``alpha``; so ``j_k >= 1`` and voxels
outside the ROI never add to it. Element ``s_ij`` of the ``Ng x Nn`` matrix is
the number of centres with grey level ``i`` and dependence ``j``;
``N_s = sum s_ij`` equals the number of ROI voxels ``N_v`` (IBSI: complete
neighbourhoods are not required), and ``p_ij = s_ij / N_s``.

Aggregations (IBSI): ``2D`` features per slice (in-plane neighbourhood,
8 neighbours at distance 1), averaged over the slices holding ROI voxels;
``2.5D`` the slice matrices summed element-wise; ``3D`` one matrix of the
volume (26 neighbours at distance 1). Counting and aggregation are shared with
the NGTDM (:mod:`radiomix.features.neighbourhood`).
"""

from __future__ import annotations

import math

import numpy as np

from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.neighbourhood import (
    EMPTY_ROI,
    NeighbourhoodMatrices,
    chebyshev_offsets,
    neighbourhood_matrices,
    pyradiomics_counts,
    values_by_dimension,
)
from radiomix.features.texture import (
    PYRADIOMICS_EPS,
    PresentLevels,
    box_present_levels,
    checked_distance,
    checked_levels,
    emphasis_features,
)
from radiomix.spec import NgldmSettings

FAMILY = "ngldm"

FEATURE_KEYS = registry.keys(FAMILY)


def ngldm_matrix(levels: np.ndarray, n_levels: int, distance: int = 1, alpha: float = 0.0,
                 per_slice: bool = False) -> np.ndarray:
    """NGLDM of a discretised volume, per slice or for the whole volume.

    Parameters as for :func:`radiomix.features.ngtdm.ngtdm_matrix`; ``alpha`` (grey levels): a neighbour
    in the ROI depends on the centre when ``|level difference| <= alpha``. Returns int64 counts of shape
    ``(nz or 1, n_levels, Nn)``: ``[r, i - 1, j - 1]`` = ``s_ij``, centres of level ``i`` with dependence
    ``j`` (the centre included), ``Nn`` the largest dependence found (at least 1); an InputError for
    invalid levels, a distance below 1 or a negative ``alpha``.
    """
    levels = checked_levels(levels, n_levels)
    _check_parameters(distance, alpha)
    slice_matrices, volume_matrix = _counted(levels, n_levels, distance, alpha, bool(per_slice), not per_slice)
    return _trimmed(slice_matrices if per_slice else volume_matrix)


def _counted(levels: np.ndarray, n_levels: int, distance: int, alpha: float, per_slice: bool,
             volume: bool) -> tuple[np.ndarray, np.ndarray]:
    """Slice and volume dependence matrices of checked ``levels`` in IBSI's Chebyshev neighbourhood of ``distance``."""
    counted = neighbourhood_matrices(levels, n_levels, *chebyshev_offsets(distance), alpha=alpha, per_slice=per_slice,
                                     volume=volume, differences=False)
    return counted.slice_dependence, counted.volume_dependence


def _trimmed(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` without the columns beyond the largest dependence found (at least one column kept)."""
    used = np.flatnonzero(matrix.any(axis=(0, 1)))
    n_columns = int(used[-1]) + 1 if used.size else 1
    return matrix[:, :, :n_columns]


def _check_parameters(distance, alpha) -> None:
    """Raise InputError unless ``distance`` is an integer >= 1 and ``alpha`` a finite number >= 0."""
    checked_distance("NGLDM", distance)
    if not (math.isfinite(alpha) and alpha >= 0):
        raise InputError(f"NGLDM alpha must be a finite number >= 0 (grey levels), got {alpha!r}")


def ngldm_features(matrix: np.ndarray, n_voxels: int) -> dict[str, tuple[float, str]]:
    """The seventeen IBSI NGLDM features of one matrix.

    Parameters
    ----------
    matrix : ndarray, shape (n_levels, Nn)
        ``s_ij`` for grey levels ``i = 1..n_levels`` (rows) and dependences
        ``j = 1..Nn`` (columns).
    n_voxels : int
        ``N_v``, the number of ROI voxels the matrix was built from.

    Returns
    -------
    dict
        ``key -> (value, status)``; NaN with a status for an empty matrix.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    if counts.sum() == 0:
        return {key: (np.nan, EMPTY_ROI) for key in FEATURE_KEYS}
    values = _ngldm_feature_values(counts[None], np.array([float(n_voxels)]))[0]
    return {key: (float(value), "") for key, value in zip(FEATURE_KEYS, values)}


def _ngldm_feature_values(matrices: np.ndarray, n_voxels, grey_levels: np.ndarray | None = None,
                          eps: float = 0.0) -> np.ndarray:
    """Features (rows, :data:`FEATURE_KEYS` order) of a stack of non-empty matrices built from ``n_voxels`` voxels.

    Row ``i`` of a matrix is grey level ``grey_levels[i]`` (default ``i + 1``); ``eps`` as for
    :func:`~radiomix.features.texture.emphasis_features`.
    """
    n_grey, n_dependence = matrices.shape[-2:]
    grey_levels = np.arange(1.0, n_grey + 1) if grey_levels is None else grey_levels
    values = emphasis_features(matrices, grey_levels, np.arange(1.0, n_dependence + 1), eps)
    values[:, 12] = matrices.sum(axis=(1, 2)) / n_voxels
    return values


def compute(roi: RoiImage, settings: NgldmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """NGLDM features of ``roi.discretised`` for ``dimensions``, as :func:`radiomix.features.glcm.compute`.

    ``settings``: ``distance`` (Chebyshev radius, voxels), ``alpha`` (coarseness, grey levels),
    ``offsets`` (with ``distances``, ``slice_axis``; pyradiomics' give one aggregation,
    :func:`pyradiomics_matrix`) and ``undefined_values``.
    """
    return level_features(roi.discretised, roi.n_levels, roi.spacing, settings, dimensions)


def level_features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings: NgldmSettings,
                   dimensions: tuple[str, ...] = ("3D",),
                   counted: NeighbourhoodMatrices | None = None) -> list[FeatureValue]:
    """:func:`compute` of discretised levels (parameters as for :func:`radiomix.features.glcm.level_features`;
    ``spacing_zyx`` is not used: neighbourhoods are in voxels). ``counted``: with pyradiomics' offsets, the
    pass of these levels shared with the NGTDM (:func:`~radiomix.features.neighbourhood.shared_pyradiomics_counts`)."""
    _check_parameters(settings.distance, settings.alpha)
    if settings.offsets == "pyradiomics":
        present = box_present_levels(levels, n_levels)
        label, counts = pyradiomics_matrix(present, settings, counted)
        eps = PYRADIOMICS_EPS if settings.undefined_values == "pyradiomics" else 0.0
        values = _ngldm_feature_values(counts[None], np.count_nonzero(present.levels), present.grey_levels, eps)[0]
        return [FeatureValue(key, label, float(value)) for key, value in zip(FEATURE_KEYS, values)]
    return values_by_dimension(
        FAMILY, FEATURE_KEYS, levels.levels if isinstance(levels, PresentLevels) else levels, n_levels, dimensions,
        lambda box_levels, per_slice, volume: _counted(box_levels, n_levels, settings.distance, settings.alpha,
                                                       per_slice, volume),
        lambda stack: _ngldm_feature_values(_trimmed(stack), stack.sum(axis=(1, 2))), "", EMPTY_ROI)


def pyradiomics_matrix(present: PresentLevels, settings: NgldmSettings,
                       counted: NeighbourhoodMatrices | None = None) -> tuple[str, np.ndarray]:
    """The aggregation label and dependence matrix of pyradiomics' GLDM offsets.

    For each ROI voxel, the number of its dependent neighbours (ROI voxels at
    one of the offsets of :func:`~radiomix.features.texture.pyradiomics_offsets`,
    both directions, whose level differs by at most ``alpha``); the matrix
    counts voxels by grey level present (rows) and dependence ``j = 1 +
    dependent neighbours`` (column ``j - 1``, up to the number of offsets + 1).

    Returns
    -------
    label : str
        ``3D``, or ``2.5D`` with a slice axis.
    counts : ndarray of int64, shape (n_present, n_offsets + 1)
    """
    if counted is None:
        counted = pyradiomics_counts(present, settings.distances, settings.slice_axis, alpha=settings.alpha,
                                     differences=False)
    counts = counted.volume_dependence[0][present.rows]
    return ("3D" if settings.slice_axis is None else "2.5D"), counts
