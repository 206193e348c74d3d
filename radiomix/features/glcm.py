"""Grey level co-occurrence matrix (GLCM) features (IBSI-1 section "GLCM", LFYI).

For a direction vector ``m`` (multiplied by the Chebyshev distance ``delta``)
element ``(i, j)`` of the matrix ``M_m+`` counts the ROI voxels of grey level
``i`` whose neighbour at ``+m`` is an ROI voxel of grey level ``j``. The
symmetric GLCM of the manual is ``M_m = M_m+ + M_m+^T`` (pairs along ``+m``
and ``-m``); with ``symmetric: false`` the matrix is ``M_m+`` alone.

Directions are stored as ``(dz, dy, dx)`` offsets in array order: the 4
in-plane directions of the manual's 2D neighbourhood and its 13 unique 3D
directions (:func:`direction_offsets`).

Aggregations (IBSI-1, see :data:`~radiomix.features.base.AGGREGATIONS_BY_DIMENSION`):

- ``2D, averaged`` (BTW3): features of every slice x direction matrix, averaged;
- ``2D, slice-merged`` (SUJT): the 4 direction matrices of a slice summed,
  features averaged over slices;
- ``2.5D, direction-merged`` (JJUI): per direction, the slice matrices
  summed, features averaged over the 4 directions;
- ``2.5D, merged`` (ZW7Z): all slice x direction matrices summed;
- ``3D, averaged`` (ITBB): features of the 13 volume direction matrices, averaged;
- ``3D, merged`` (IAZD): the 13 direction matrices summed.

Empty matrices (a slice without ROI voxels, or without a pair of neighbouring
ROI voxels along a direction) take no part in averages. A feature that is
undefined for a non-empty matrix (*correlation* and *information correlation
1* when the matrix holds a single grey level, as their denominators are then
0) is left out of the average as well; when no matrix of an aggregation
gives a value, the value is NaN and its ``status`` says why
(:data:`NO_PAIRS`, :data:`SINGLE_GREY_LEVEL`).

:func:`glcm_matrices_2d` and :func:`glcm_matrices_3d` validate and call the
kernel :func:`_cooccurrence_kernel`; :func:`glcm_features` turns matrices into
feature values; :func:`compute` forms the aggregations.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import EmptyRoiError, InputError, SpecError
from radiomix.features import registry
from radiomix.features.base import AGGREGATIONS_BY_DIMENSION, FeatureValue, RoiImage
from radiomix.features.texture import checked_levels, cropped_to_roi, roi_bounds
from radiomix.spec import GlcmSettings

FAMILY = "glcm"

_DEFINITIONS = (
    ("joint_maximum", "Joint maximum", "GYBY", "1", "max_ij p_ij"),
    ("joint_average", "Joint average", "60VM", "grey level", "sum_ij i p_ij"),
    ("joint_variance", "Joint variance", "UR99", "grey level^2",
     "sum_ij (i - mu)^2 p_ij, mu = joint average"),
    ("joint_entropy", "Joint entropy", "TU9B", "1", "-sum_ij p_ij log2 p_ij"),
    ("difference_average", "Difference average", "TF7R", "grey level",
     "sum_k k p_(i-j),k, k = |i - j| = 0..Ng-1"),
    ("difference_variance", "Difference variance", "D3YU", "grey level^2",
     "sum_k (k - mu)^2 p_(i-j),k, mu = difference average"),
    ("difference_entropy", "Difference entropy", "NTRS", "1",
     "-sum_k p_(i-j),k log2 p_(i-j),k"),
    ("sum_average", "Sum average", "ZGXS", "grey level", "sum_k k p_(i+j),k, k = i + j = 2..2Ng"),
    ("sum_variance", "Sum variance", "OEEB", "grey level^2",
     "sum_k (k - mu)^2 p_(i+j),k, mu = sum average"),
    ("sum_entropy", "Sum entropy", "P6QZ", "1", "-sum_k p_(i+j),k log2 p_(i+j),k"),
    ("angular_second_moment", "Angular second moment", "8ZQL", "1", "sum_ij p_ij^2"),
    ("contrast", "Contrast", "ACUI", "grey level^2", "sum_ij (i - j)^2 p_ij"),
    ("dissimilarity", "Dissimilarity", "8S9J", "grey level", "sum_ij |i - j| p_ij"),
    ("inverse_difference", "Inverse difference", "IB1Z", "1", "sum_ij p_ij / (1 + |i - j|)"),
    ("normalised_inverse_difference", "Normalised inverse difference", "NDRX", "1",
     "sum_ij p_ij / (1 + |i - j| / Ng), Ng = number of grey levels of the discretisation"),
    ("inverse_difference_moment", "Inverse difference moment", "WF0Z", "1",
     "sum_ij p_ij / (1 + (i - j)^2)"),
    ("normalised_inverse_difference_moment", "Normalised inverse difference moment", "1QCO", "1",
     "sum_ij p_ij / (1 + (i - j)^2 / Ng^2)"),
    ("inverse_variance", "Inverse variance", "E8JP", "grey level^-2",
     "sum_(i != j) p_ij / (i - j)^2 (= 2 sum_(j > i) p_ij / (i - j)^2 when symmetric)"),
    ("correlation", "Correlation", "NI2N", "1",
     "(sum_ij i j p_ij - mu_i. mu_.j) / (sigma_i. sigma_.j), from the row and column "
     "marginals p_i., p_.j; undefined (NaN) for a single grey level"),
    ("autocorrelation", "Autocorrelation", "QWB0", "grey level^2", "sum_ij i j p_ij"),
    ("cluster_tendency", "Cluster tendency", "DG8W", "grey level^2",
     "sum_ij (i + j - mu_i. - mu_.j)^2 p_ij"),
    ("cluster_shade", "Cluster shade", "7NFM", "grey level^3",
     "sum_ij (i + j - mu_i. - mu_.j)^3 p_ij"),
    ("cluster_prominence", "Cluster prominence", "AE86", "grey level^4",
     "sum_ij (i + j - mu_i. - mu_.j)^4 p_ij"),
    ("information_correlation_1", "Information correlation 1", "R8DG", "1",
     "(HXY - HXY1) / max(HX, HY), HXY = -sum_ij p_ij log2 p_ij, "
     "HXY1 = -sum_ij p_ij log2(p_i. p_.j), HX = -sum_i p_i. log2 p_i. (HY likewise, "
     "= HX when symmetric); undefined (NaN) for a single grey level"),
    ("information_correlation_2", "Information correlation 2", "JN9H", "1",
     "sqrt(1 - exp(-2 (HXY2 - HXY))), HXY2 = -sum_ij p_i. p_.j log2(p_i. p_.j)"),
)

for _key, _name, _code, _unit, _formula in _DEFINITIONS:
    registry.define(FAMILY, _key, _name, _code, _unit,
                    f"{_formula}; p_ij = M_ij / sum(M) of the (merged) co-occurrence matrix M")

FEATURE_KEYS = tuple(d.key for d in registry.definitions(FAMILY))
"""Registry keys of the 25 GLCM features, in manual order."""

NO_PAIRS = "undefined: no pair of neighbouring ROI voxels"
"""Status when every matrix of an aggregation is empty."""

SINGLE_GREY_LEVEL = "undefined: single grey level"
"""Status of correlation and information correlation 1 when every matrix holds one grey level."""

_IN_PLANE_DIRECTIONS = ((0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1))
_VOLUME_DIRECTIONS = (
    (0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 1, 1), (0, 1, -1), (1, 0, 1), (1, 0, -1),
    (1, 1, 0), (1, -1, 0), (1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1),
)


def direction_offsets(dimension: str, distance: int = 1) -> np.ndarray:
    """Direction vectors of the IBSI neighbourhood as ``(dz, dy, dx)`` offsets.

    Parameters
    ----------
    dimension : {"2D", "3D"}
        ``2D``: the 4 in-plane directions 0, 45, 90 and 135 degrees (``dz =
        0``); ``3D``: the 13 unique directions of the 26-neighbourhood (one of
        each opposite pair).
    distance : int
        Chebyshev distance (voxels); every vector is multiplied by it.

    Returns
    -------
    ndarray of int64, shape (4, 3) or (13, 3)
        Of each opposite pair, the vector whose first non-zero component
        (in z, y, x order) is positive: the manual's 2D vectors ``(1, 0)``,
        ``(1, 1)``, ``(0, 1)``, ``(-1, 1)`` in ``(x, y)``, and its 13 3D
        vectors read as ``(dz, dy, dx)``. The sign matters for non-symmetric
        GLCMs only.
    """
    if dimension not in ("2D", "3D"):
        raise ValueError(f"dimension must be '2D' or '3D', got {dimension!r}")
    if int(distance) != distance or distance < 1:
        raise InputError(f"GLCM distance must be an integer >= 1 (voxels), got {distance!r}")
    base = _IN_PLANE_DIRECTIONS if dimension == "2D" else _VOLUME_DIRECTIONS
    return np.asarray(base, dtype=np.int64) * int(distance)


def _bounding_box_kernel(levels):
    """Lower (inclusive) and upper (exclusive) corner of the voxels with level > 0."""
    nz, ny, nx = levels.shape
    low = np.array([nz, ny, nx], dtype=np.int64)
    high = np.zeros(3, dtype=np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if levels[z, y, x] > 0:
                    low[0] = min(low[0], z)
                    low[1] = min(low[1], y)
                    low[2] = min(low[2], x)
                    high[0] = max(high[0], z + 1)
                    high[1] = max(high[1], y + 1)
                    high[2] = max(high[2], x + 1)
    return low, high


@njit
def _cooccurrence_kernel(levels, n_levels, offsets, per_slice, low, high):
    """Count ordered level pairs ``(level(v), level(v + m))`` of ROI voxels.

    Parameters
    ----------
    levels : ndarray of int32, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng``.
    offsets : ndarray of int64, shape (n_directions, 3)
        ``(dz, dy, dx)`` of each direction; ``dz = 0`` when ``per_slice``.
    per_slice : bool
        True: one matrix per slice (axis 0); False: one for the volume.
    low, high : ndarray of int64, shape (3,)
        ROI bounding box (``high`` exclusive); voxels outside it are not in the ROI.

    Returns
    -------
    ndarray of int64, shape (nz or 1, n_directions, n_levels, n_levels)
        The non-symmetric matrices ``M_m+`` (row: level of ``v``, column:
        level of ``v + m``).
    """
    nz = levels.shape[0]
    n_directions = offsets.shape[0]
    counts = np.zeros((nz if per_slice else 1, n_directions, n_levels, n_levels), dtype=np.int64)
    for d in range(n_directions):
        dz = offsets[d, 0]
        dy = offsets[d, 1]
        dx = offsets[d, 2]
        z_start = max(low[0], low[0] - dz)
        z_stop = min(high[0], high[0] - dz)
        y_start = max(low[1], low[1] - dy)
        y_stop = min(high[1], high[1] - dy)
        x_start = max(low[2], low[2] - dx)
        x_stop = min(high[2], high[2] - dx)
        for z in range(z_start, z_stop):
            row = z if per_slice else 0
            for y in range(y_start, y_stop):
                for x in range(x_start, x_stop):
                    first = levels[z, y, x]
                    if first == 0:
                        continue
                    second = levels[z + dz, y + dy, x + dx]
                    if second == 0:
                        continue
                    counts[row, d, first - 1, second - 1] += 1
    return counts


def glcm_matrices_2d(levels: np.ndarray, n_levels: int, distance: int = 1,
                     symmetric: bool = True) -> np.ndarray:
    """In-plane GLCMs of every slice (axis 0) and each of the 4 2D directions.

    Parameters
    ----------
    levels : ndarray of int, shape (nz, ny, nx)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside.
    n_levels : int
        Number of grey levels ``Ng`` (levels may be absent from the ROI).
    distance : int
        Chebyshev distance (voxels) between paired voxels.
    symmetric : bool
        Count pairs along ``+m`` and ``-m`` (IBSI), i.e. ``M + M^T``.

    Returns
    -------
    ndarray of int64, shape (nz, 4, n_levels, n_levels)
        Co-occurrence counts; directions in the order of
        ``direction_offsets("2D")``; slices without ROI voxels hold zeros.

    Raises
    ------
    InputError
        Invalid ``levels``, ``n_levels`` or ``distance``.
    EmptyRoiError
        No ROI voxel.
    """
    return _glcm_matrices(levels, n_levels, direction_offsets("2D", distance), True, symmetric)


def glcm_matrices_3d(levels: np.ndarray, n_levels: int, distance: int = 1,
                     symmetric: bool = True) -> np.ndarray:
    """GLCMs of the volume for each of the 13 3D directions.

    Parameters are those of :func:`glcm_matrices_2d`.

    Returns
    -------
    ndarray of int64, shape (13, n_levels, n_levels)
        Co-occurrence counts; directions in the order of ``direction_offsets("3D")``.
    """
    return _glcm_matrices(levels, n_levels, direction_offsets("3D", distance), False, symmetric)[0]


def _glcm_matrices(levels, n_levels, offsets, per_slice, symmetric):
    levels = checked_levels(levels, n_levels)
    low, high = roi_bounds(levels)
    counts = _cooccurrence_kernel(levels, int(n_levels), offsets, per_slice, low, high)
    if symmetric:
        counts = counts + counts.swapaxes(-1, -2)
    return counts


def glcm_features(matrices: np.ndarray, n_levels: int | None = None) -> dict[str, np.ndarray]:
    """The 25 IBSI GLCM features of one matrix or of a stack of matrices.

    Parameters
    ----------
    matrices : ndarray, shape (..., Ng, Ng)
        Co-occurrence counts (or probabilities); each trailing ``Ng x Ng``
        block is one matrix.
    n_levels : int, optional
        ``Ng`` used by the normalised inverse difference (moment); defaults
        to the matrix size.

    Returns
    -------
    dict
        Registry key -> ndarray of shape ``matrices.shape[:-2]``. Empty
        matrices give NaN for every feature; a matrix with a single grey level
        gives NaN for correlation (in its row or column marginal) and
        information correlation 1 (in both).

    Notes
    -----
    Sums over ``(i, j)`` that depend on ``|i - j|`` or ``i + j`` only are taken
    over the diagonal and cross-diagonal probabilities; cluster features use
    ``i + j - mu_i. - mu_.j = k - sum average``. ``HXY1`` and ``HXY2`` of the
    information correlations both equal ``HX + HY`` (``p_ij > 0`` implies
    ``p_i. p_.j > 0``, and ``log2(p_i. p_.j) = log2 p_i. + log2 p_.j``).
    """
    counts = np.asarray(matrices, dtype=np.float64)
    n_grey = counts.shape[-1]
    n_levels = n_grey if n_levels is None else int(n_levels)
    batch_shape = counts.shape[:-2]
    counts = counts.reshape((-1, n_grey, n_grey))
    totals = counts.sum(axis=(1, 2))
    empty = totals == 0
    p = counts / np.where(empty, 1.0, totals)[:, None, None]
    flat = p.reshape((p.shape[0], n_grey * n_grey))

    grey = np.arange(1, n_grey + 1, dtype=np.float64)
    p_row = p.sum(axis=2)
    p_col = p.sum(axis=1)
    mu_row = p_row @ grey
    mu_col = p_col @ grey
    var_row = _central_moment(p_row, grey, mu_row, 2)
    var_col = _central_moment(p_col, grey, mu_col, 2)
    row_single = np.count_nonzero(p_row, axis=1) < 2
    col_single = np.count_nonzero(p_col, axis=1) < 2

    # diagonal (k = |i - j| = 0..Ng-1) and cross-diagonal (k = i + j = 2..2Ng) probabilities
    p_diff = _sum_by_bin(flat, np.abs(grey[:, None] - grey[None, :]).astype(np.int64).ravel())
    p_sum = _sum_by_bin(flat, (grey[:, None] + grey[None, :] - 2).astype(np.int64).ravel())
    k_diff = np.arange(n_grey, dtype=np.float64)
    k_sum = np.arange(2, 2 * n_grey + 1, dtype=np.float64)
    diff_average = p_diff @ k_diff
    sum_average = p_sum @ k_sum  # = mu_row + mu_col
    inverse_square = np.zeros(n_grey)
    inverse_square[1:] = 1.0 / k_diff[1:] ** 2

    hxy = _entropy(flat)
    hx = _entropy(p_row)
    hy = _entropy(p_col)
    autocorrelation = flat @ (grey[:, None] * grey[None, :]).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (autocorrelation - mu_row * mu_col) / np.sqrt(var_row * var_col)
        info_corr_1 = (hxy - (hx + hy)) / np.maximum(hx, hy)
    cluster_tendency = _central_moment(p_sum, k_sum, sum_average, 2)
    values = {
        "joint_maximum": flat.max(axis=1),
        "joint_average": mu_row,
        "joint_variance": var_row,
        "joint_entropy": hxy,
        "difference_average": diff_average,
        "difference_variance": _central_moment(p_diff, k_diff, diff_average, 2),
        "difference_entropy": _entropy(p_diff),
        "sum_average": sum_average,
        "sum_variance": cluster_tendency,
        "sum_entropy": _entropy(p_sum),
        "angular_second_moment": np.einsum("ki,ki->k", flat, flat),
        "contrast": p_diff @ k_diff**2,
        "dissimilarity": diff_average,
        "inverse_difference": p_diff @ (1.0 / (1.0 + k_diff)),
        "normalised_inverse_difference": p_diff @ (1.0 / (1.0 + k_diff / n_levels)),
        "inverse_difference_moment": p_diff @ (1.0 / (1.0 + k_diff**2)),
        "normalised_inverse_difference_moment": p_diff @ (1.0 / (1.0 + (k_diff / n_levels) ** 2)),
        "inverse_variance": p_diff @ inverse_square,
        "correlation": np.where(row_single | col_single, np.nan, correlation),
        "autocorrelation": autocorrelation,
        "cluster_tendency": cluster_tendency,
        "cluster_shade": _central_moment(p_sum, k_sum, sum_average, 3),
        "cluster_prominence": _central_moment(p_sum, k_sum, sum_average, 4),
        "information_correlation_1": np.where(row_single & col_single, np.nan, info_corr_1),
        "information_correlation_2": np.sqrt(1.0 - np.exp(-2.0 * np.maximum(hx + hy - hxy, 0.0))),
    }
    return {key: np.where(empty, np.nan, value).reshape(batch_shape) for key, value in values.items()}


def _central_moment(p: np.ndarray, support: np.ndarray, mean: np.ndarray, order: int) -> np.ndarray:
    """``sum_k (support_k - mean)^order p_k`` for each row of ``p`` (n, m)."""
    return np.sum(p * (support[None, :] - mean[:, None]) ** order, axis=1)


def _sum_by_bin(flat: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Sum the columns of ``flat`` (n, m) that share a bin; ``bins`` (m,) covers 0..max."""
    order = np.argsort(bins, kind="stable")
    starts = np.searchsorted(bins[order], np.arange(bins.max() + 1))
    return np.add.reduceat(flat[:, order], starts, axis=1)


def _entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) along the last axis, with 0 log 0 = 0."""
    return -np.sum(p * np.log2(np.where(p > 0, p, 1.0)), axis=-1)


def compute(roi: RoiImage, settings: GlcmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLCM features of ``roi.discretised`` for the aggregations of ``dimensions``.

    Parameters
    ----------
    roi : RoiImage
        Uses ``discretised`` (levels ``1..n_levels``, 0 outside) and ``n_levels``.
    settings : GlcmSettings
        Chebyshev ``distance`` and ``symmetric``.
    dimensions : tuple of {"2D", "2.5D", "3D"}
        Each adds the two aggregations of :data:`AGGREGATIONS_BY_DIMENSION` ``["glcm"]``.

    Returns
    -------
    list of FeatureValue
        One per feature and aggregation, aggregation-major in the order of
        ``dimensions``.
    """
    groups = _aggregation_groups(roi, settings, dimensions)
    return _aggregate(groups, roi.n_levels)


def _aggregation_groups(roi, settings, dimensions) -> dict[str, np.ndarray]:
    """Aggregation label -> stack of matrices whose features are averaged."""
    unknown = [d for d in dimensions if d not in AGGREGATIONS_BY_DIMENSION[FAMILY]]
    if unknown:
        raise SpecError(f"texture.dimensions: {unknown[0]!r} is not one of "
                        f"{list(AGGREGATIONS_BY_DIMENSION[FAMILY])}")
    groups = {}
    n_levels = roi.n_levels
    levels = cropped_to_roi(roi.discretised, n_levels)
    if "2D" in dimensions or "2.5D" in dimensions:
        per_slice = glcm_matrices_2d(levels, n_levels, settings.distance, settings.symmetric)
        if "2D" in dimensions:
            groups["2D, averaged"] = per_slice.reshape((-1, n_levels, n_levels))
            groups["2D, slice-merged"] = per_slice.sum(axis=1)
        if "2.5D" in dimensions:
            per_direction = per_slice.sum(axis=0)
            groups["2.5D, direction-merged"] = per_direction
            groups["2.5D, merged"] = per_direction.sum(axis=0, keepdims=True)
    if "3D" in dimensions:
        volume = glcm_matrices_3d(levels, n_levels, settings.distance, settings.symmetric)
        groups["3D, averaged"] = volume
        groups["3D, merged"] = volume.sum(axis=0, keepdims=True)
    ordered = {}
    for dimension in dimensions:
        for label in AGGREGATIONS_BY_DIMENSION[FAMILY][dimension]:
            ordered[label] = groups[label]
    return ordered


def _aggregate(groups: dict[str, np.ndarray], n_levels: int) -> list[FeatureValue]:
    """Features of the non-empty matrices of every group, averaged per group."""
    if not groups:
        return []
    # one call for all groups: the features are vectorised over the stacked matrices
    kept = {label: stack[stack.sum(axis=(1, 2)) > 0] for label, stack in groups.items()}
    bounds = np.cumsum([0] + [len(stack) for stack in kept.values()])
    values = glcm_features(np.concatenate(list(kept.values())), n_levels)
    results = []
    for index, label in enumerate(kept):
        for key in FEATURE_KEYS:
            per_matrix = values[key][bounds[index]:bounds[index + 1]]
            defined = per_matrix[~np.isnan(per_matrix)]
            if defined.size:
                results.append(FeatureValue(key, label, float(defined.mean())))
            else:
                status = NO_PAIRS if per_matrix.size == 0 else SINGLE_GREY_LEVEL
                results.append(FeatureValue(key, label, float("nan"), status))
    return results
