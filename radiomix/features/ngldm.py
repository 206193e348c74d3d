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
volume (26 neighbours at distance 1).

The kernel :func:`_ngldm_kernel` does the counting; :func:`ngldm_matrix`
validates, allocates and trims; :func:`ngldm_features` turns one matrix into
values.
"""

from __future__ import annotations

import math

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.texture import checked_levels, feature_values, roi_box
from radiomix.spec import NgldmSettings

FAMILY = "ngldm"

_DEFINITIONS = (
    # key, IBSI name, IBSI code, formula
    ("low_dependence_emphasis", "Low dependence emphasis", "SODN", "(1/N_s) sum_j s_.j / j^2"),
    ("high_dependence_emphasis", "High dependence emphasis", "IMOQ", "(1/N_s) sum_j j^2 s_.j"),
    ("low_grey_level_count_emphasis", "Low grey level count emphasis", "TL9H",
     "(1/N_s) sum_i s_i. / i^2"),
    ("high_grey_level_count_emphasis", "High grey level count emphasis", "OAE7",
     "(1/N_s) sum_i i^2 s_i."),
    ("low_dependence_low_grey_level_emphasis", "Low dependence low grey level emphasis", "EQ3F",
     "(1/N_s) sum_i sum_j s_ij / (i^2 j^2)"),
    ("low_dependence_high_grey_level_emphasis", "Low dependence high grey level emphasis", "JA6D",
     "(1/N_s) sum_i sum_j i^2 s_ij / j^2"),
    ("high_dependence_low_grey_level_emphasis", "High dependence low grey level emphasis", "NBZI",
     "(1/N_s) sum_i sum_j j^2 s_ij / i^2"),
    ("high_dependence_high_grey_level_emphasis", "High dependence high grey level emphasis", "9QMG",
     "(1/N_s) sum_i sum_j i^2 j^2 s_ij"),
    ("grey_level_non_uniformity", "Grey level non-uniformity", "FP8K", "(1/N_s) sum_i s_i.^2"),
    ("normalised_grey_level_non_uniformity", "Normalised grey level non-uniformity", "5SPA",
     "(1/N_s^2) sum_i s_i.^2"),
    ("dependence_count_non_uniformity", "Dependence count non-uniformity", "Z87G",
     "(1/N_s) sum_j s_.j^2"),
    ("normalised_dependence_count_non_uniformity", "Normalised dependence count non-uniformity",
     "OKJI", "(1/N_s^2) sum_j s_.j^2"),
    ("dependence_count_percentage", "Dependence count percentage", "6XV8",
     "N_s / N_v (1 when every ROI voxel is a neighbourhood centre, as in IBSI)"),
    ("grey_level_variance", "Grey level variance", "1PFV",
     "sum_i sum_j (i - mu)^2 p_ij, mu = sum_i sum_j i p_ij"),
    ("dependence_count_variance", "Dependence count variance", "DNX2",
     "sum_i sum_j (j - mu)^2 p_ij, mu = sum_i sum_j j p_ij"),
    ("dependence_count_entropy", "Dependence count entropy", "FCBV",
     "-sum_i sum_j p_ij log2 p_ij over p_ij > 0"),
    ("dependence_count_energy", "Dependence count energy", "CAS9", "sum_i sum_j p_ij^2"),
)
for _key, _name, _code, _formula in _DEFINITIONS:
    registry.define(FAMILY, _key, _name, _code, "1", _formula)

FEATURE_KEYS = tuple(d.key for d in registry.definitions(FAMILY))

EMPTY_ROI = "undefined: empty ROI"


@njit
def _ngldm_kernel(levels, n_levels, distance, alpha, per_slice):
    """Count centres by grey level and dependence (one matrix per slice, or one for the volume).

    Parameters
    ----------
    levels : ndarray of int32, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng``.
    distance : int
        Chebyshev radius of the neighbourhood (voxels).
    alpha : float
        A neighbour depends on the centre when ``|level difference| <= alpha``.
    per_slice : bool
        True: in-plane neighbourhoods and one matrix per slice; False: 3D
        neighbourhoods and a single matrix.

    Returns
    -------
    ndarray of int64, shape (rows, n_levels, largest possible dependence)
        Element ``[r, i - 1, j - 1]`` counts centres of level ``i`` with
        dependence ``j`` (the centre included).
    """
    nz, ny, nx = levels.shape
    width = 2 * distance + 1
    rows = nz if per_slice else 1
    largest_dependence = width * width if per_slice else width * width * width
    matrix = np.zeros((rows, n_levels, largest_dependence), dtype=np.int64)
    reach_z = 0 if per_slice else distance
    for z in range(nz):
        row = z if per_slice else 0
        z_low = max(z - reach_z, 0)
        z_high = min(z + reach_z + 1, nz)
        for y in range(ny):
            y_low = max(y - distance, 0)
            y_high = min(y + distance + 1, ny)
            for x in range(nx):
                level = levels[z, y, x]
                if level == 0:
                    continue
                x_low = max(x - distance, 0)
                x_high = min(x + distance + 1, nx)
                dependence = 0  # the centre itself is counted by the loops
                for kz in range(z_low, z_high):
                    for ky in range(y_low, y_high):
                        for kx in range(x_low, x_high):
                            neighbour = levels[kz, ky, kx]
                            # branch-free: outside the ROI (level 0) never depends
                            dependence += (neighbour > 0) & (abs(neighbour - level) <= alpha)
                matrix[row, level - 1, dependence - 1] += 1
    return matrix


def ngldm_matrix(levels: np.ndarray, n_levels: int, distance: int = 1, alpha: float = 0.0,
                 per_slice: bool = False) -> np.ndarray:
    """NGLDM of a discretised volume, per slice or for the whole volume.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng`` (levels may be absent from the ROI).
    distance : int
        Chebyshev radius (voxels) of the neighbourhood.
    alpha : float
        Coarseness parameter (grey levels): a neighbour in the ROI depends on
        the centre when ``|level difference| <= alpha``.
    per_slice : bool
        True: one matrix per slice (axis 0) with in-plane neighbourhoods
        (IBSI 2D); False: one matrix of the volume (IBSI 3D).

    Returns
    -------
    ndarray of int64, shape (nz or 1, n_levels, Nn)
        Element ``[r, i - 1, j - 1]`` = ``s_ij``: centres of level ``i`` with
        dependence ``j`` (``1..Nn``, the centre included); ``Nn`` is the
        largest dependence found (at least 1).

    Raises
    ------
    InputError
        ``levels`` is not a 3D integer array with values in ``0..n_levels``,
        ``distance`` is below 1 or ``alpha`` is negative.
    """
    levels = checked_levels(levels, n_levels)
    if int(distance) != distance or distance < 1:
        raise InputError(f"NGLDM distance must be an integer >= 1 (voxels), got {distance!r}")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise InputError(f"NGLDM alpha must be a finite number >= 0 (grey levels), got {alpha!r}")
    matrix = _ngldm_kernel(levels, int(n_levels), int(distance), float(alpha), bool(per_slice))
    used = np.flatnonzero(matrix.any(axis=(0, 1)))
    n_columns = int(used[-1]) + 1 if used.size else 1
    return matrix[:, :, :n_columns]


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
    n_centres = counts.sum()
    if n_centres == 0:
        return {key: (np.nan, EMPTY_ROI) for key in FEATURE_KEYS}
    grey = np.arange(1, counts.shape[0] + 1, dtype=np.float64)[:, None]
    dependence = np.arange(1, counts.shape[1] + 1, dtype=np.float64)[None, :]
    by_level = counts.sum(axis=1)
    by_dependence = counts.sum(axis=0)
    p = counts / n_centres
    mean_level = float(np.sum(grey * p))
    mean_dependence = float(np.sum(dependence * p))
    nonzero = p[p > 0]
    values = {
        "low_dependence_emphasis": np.sum(counts / dependence ** 2) / n_centres,
        "high_dependence_emphasis": np.sum(counts * dependence ** 2) / n_centres,
        "low_grey_level_count_emphasis": np.sum(counts / grey ** 2) / n_centres,
        "high_grey_level_count_emphasis": np.sum(counts * grey ** 2) / n_centres,
        "low_dependence_low_grey_level_emphasis": np.sum(counts / (grey ** 2 * dependence ** 2)) / n_centres,
        "low_dependence_high_grey_level_emphasis": np.sum(counts * grey ** 2 / dependence ** 2) / n_centres,
        "high_dependence_low_grey_level_emphasis": np.sum(counts * dependence ** 2 / grey ** 2) / n_centres,
        "high_dependence_high_grey_level_emphasis": np.sum(counts * grey ** 2 * dependence ** 2) / n_centres,
        "grey_level_non_uniformity": np.sum(by_level ** 2) / n_centres,
        "normalised_grey_level_non_uniformity": np.sum(by_level ** 2) / n_centres ** 2,
        "dependence_count_non_uniformity": np.sum(by_dependence ** 2) / n_centres,
        "normalised_dependence_count_non_uniformity": np.sum(by_dependence ** 2) / n_centres ** 2,
        "dependence_count_percentage": n_centres / n_voxels,
        "grey_level_variance": np.sum((grey - mean_level) ** 2 * p),
        "dependence_count_variance": np.sum((dependence - mean_dependence) ** 2 * p),
        "dependence_count_entropy": -np.sum(nonzero * np.log2(nonzero)),
        "dependence_count_energy": np.sum(p ** 2),
    }
    return {key: (float(values[key]), "") for key in FEATURE_KEYS}


def _averaged_over_slices(matrices: np.ndarray) -> dict[str, tuple[float, str]]:
    """Features per slice averaged over the slices holding ROI voxels."""
    per_slice = [ngldm_features(m, int(m.sum())) for m in matrices if m.any()]
    return {key: (float(np.mean([features[key][0] for features in per_slice])), "")
            for key in FEATURE_KEYS}


def compute(roi: RoiImage, settings: NgldmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """NGLDM features of ``roi`` for each requested aggregation dimension.

    Parameters
    ----------
    roi : RoiImage
        Uses ``discretised`` (levels ``1..n_levels`` in the intensity mask,
        0 outside) and ``n_levels``.
    settings : NgldmSettings
        ``distance``: Chebyshev radius (voxels); ``alpha``: coarseness
        parameter (grey levels).
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
        levels = np.asarray(roi.discretised)[box]
        n_voxels = int(np.count_nonzero(levels))
        if "2D" in dimensions or "2.5D" in dimensions:
            slices = ngldm_matrix(levels, roi.n_levels, settings.distance, settings.alpha, per_slice=True)
            if "2D" in dimensions:
                by_dimension["2D"] = _averaged_over_slices(slices)
            if "2.5D" in dimensions:
                by_dimension["2.5D"] = ngldm_features(slices.sum(axis=0), n_voxels)
        if "3D" in dimensions:
            volume = ngldm_matrix(levels, roi.n_levels, settings.distance, settings.alpha, per_slice=False)
            by_dimension["3D"] = ngldm_features(volume[0], n_voxels)
    return feature_values(FAMILY, FEATURE_KEYS, by_dimension, dimensions)
