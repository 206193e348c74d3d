"""Plain NumPy references for the GLCM and GLRLM families (no numba, loops over voxels).

Everything here follows the IBSI-1 manual literally and independently of
``radiomix.features.glcm`` / ``glrlm``: directions are generated from the
26-neighbourhood, matrices are counted voxel by voxel (runs by splitting
lines of voxels into groups of equal levels), features are the manual's
formulas summed element by element (also ``HXY1`` and ``HXY2``), ``N_v`` of
run percentage is counted from the ROI, and the six aggregations are formed
as the manual describes them.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

AGGREGATION_LABELS = ("2D, averaged", "2D, slice-merged", "2.5D, direction-merged", "2.5D, merged",
                      "3D, averaged", "3D, merged")


def naive_directions(dimension: str) -> list[tuple[int, int, int]]:
    """One ``(dz, dy, dx)`` of each opposite pair of the 26 (3D) or in-plane 8 (2D) neighbours.

    Of each pair, the one whose first non-zero component is positive (the
    sign matters for non-symmetric matrices only).
    """
    directions = []
    for offset in itertools.product((-1, 0, 1), repeat=3):
        if dimension == "2D" and offset[0] != 0:
            continue
        if offset > (0, 0, 0):
            directions.append(offset)
    return directions


def _inside(shape, point) -> bool:
    return all(0 <= p < s for p, s in zip(point, shape))


def naive_glcm(levels: np.ndarray, n_levels: int, offset, symmetric: bool = True) -> np.ndarray:
    """GLCM of ``levels`` (any 3D array, e.g. one slice as shape (1, ny, nx)) along ``offset``."""
    matrix = np.zeros((n_levels, n_levels), dtype=np.int64)
    for voxel in itertools.product(*(range(s) for s in levels.shape)):
        neighbour = tuple(v + o for v, o in zip(voxel, offset))
        if levels[voxel] == 0 or not _inside(levels.shape, neighbour) or levels[neighbour] == 0:
            continue
        matrix[levels[voxel] - 1, levels[neighbour] - 1] += 1
        if symmetric:
            matrix[levels[neighbour] - 1, levels[voxel] - 1] += 1
    return matrix


def naive_glrlm(levels: np.ndarray, n_levels: int, offset, max_run: int) -> np.ndarray:
    """GLRLM of ``levels`` along ``offset``: every line of voxels split into runs of equal level."""
    matrix = np.zeros((n_levels, max_run), dtype=np.int64)
    for start in itertools.product(*(range(s) for s in levels.shape)):
        if _inside(levels.shape, tuple(v - o for v, o in zip(start, offset))):
            continue  # not the first voxel of a line
        line, point = [], start
        while _inside(levels.shape, point):
            line.append(int(levels[point]))
            point = tuple(v + o for v, o in zip(point, offset))
        for level, group in itertools.groupby(line):
            if level > 0:
                matrix[level - 1, len(list(group)) - 1] += 1
    return matrix


def _log2(x: float) -> float:
    return math.log2(x) if x > 0 else 0.0


def naive_glcm_features(matrix: np.ndarray, n_levels: int) -> dict[str, float]:
    """The 25 GLCM features of one non-empty matrix, from the manual's formulas (NaN if undefined)."""
    p = matrix / matrix.sum()
    ng = p.shape[0]
    pairs = [(i, j) for i in range(1, ng + 1) for j in range(1, ng + 1)]
    pij = {(i, j): p[i - 1, j - 1] for i, j in pairs}
    p_row = {i: sum(pij[i, j] for j in range(1, ng + 1)) for i in range(1, ng + 1)}
    p_col = {j: sum(pij[i, j] for i in range(1, ng + 1)) for j in range(1, ng + 1)}
    p_diff = {k: sum(pij[i, j] for i, j in pairs if abs(i - j) == k) for k in range(ng)}
    p_sum = {k: sum(pij[i, j] for i, j in pairs if i + j == k) for k in range(2, 2 * ng + 1)}
    mu = sum(i * pij[i, j] for i, j in pairs)
    mu_row = sum(i * p_row[i] for i in p_row)
    mu_col = sum(j * p_col[j] for j in p_col)
    sd_row = math.sqrt(sum((i - mu_row) ** 2 * p_row[i] for i in p_row))
    sd_col = math.sqrt(sum((j - mu_col) ** 2 * p_col[j] for j in p_col))
    diff_avg = sum(k * p_diff[k] for k in p_diff)
    sum_avg = sum(k * p_sum[k] for k in p_sum)
    hxy = -sum(v * _log2(v) for v in pij.values())
    hx = -sum(v * _log2(v) for v in p_row.values())
    hy = -sum(v * _log2(v) for v in p_col.values())
    hxy1 = -sum(pij[i, j] * _log2(p_row[i] * p_col[j]) for i, j in pairs if pij[i, j] > 0)
    # HXY2 - HXY is the mutual information sum_ij p_ij log2(p_ij / (p_i. p_.j)); summed with ratios
    # of exact fractions it is exactly 0 when rows and columns are independent, whereas the difference
    # of two float entropies leaves a residue (~1e-16) that the square root of information
    # correlation 2 turns into ~1e-8
    exact = {(i, j): Fraction(matrix[i - 1, j - 1]) for i, j in pairs}
    exact_total = sum(exact.values())
    exact_row = {i: sum(exact[i, j] for j in range(1, ng + 1)) for i in range(1, ng + 1)}
    exact_col = {j: sum(exact[i, j] for i in range(1, ng + 1)) for j in range(1, ng + 1)}
    hxy2_minus_hxy = sum(float(exact[i, j] / exact_total)
                         * math.log2(exact[i, j] * exact_total / (exact_row[i] * exact_col[j]))
                         for i, j in pairs if exact[i, j] > 0)
    n_row_levels = sum(v > 0 for v in p_row.values())
    n_col_levels = sum(v > 0 for v in p_col.values())
    cluster = [(i + j - mu_row - mu_col, pij[i, j]) for i, j in pairs]
    return {
        "joint_maximum": max(pij.values()),
        "joint_average": mu,
        "joint_variance": sum((i - mu) ** 2 * pij[i, j] for i, j in pairs),
        "joint_entropy": hxy,
        "difference_average": diff_avg,
        "difference_variance": sum((k - diff_avg) ** 2 * p_diff[k] for k in p_diff),
        "difference_entropy": -sum(v * _log2(v) for v in p_diff.values()),
        "sum_average": sum_avg,
        "sum_variance": sum((k - sum_avg) ** 2 * p_sum[k] for k in p_sum),
        "sum_entropy": -sum(v * _log2(v) for v in p_sum.values()),
        "angular_second_moment": sum(v**2 for v in pij.values()),
        "contrast": sum((i - j) ** 2 * pij[i, j] for i, j in pairs),
        "dissimilarity": sum(abs(i - j) * pij[i, j] for i, j in pairs),
        "inverse_difference": sum(pij[i, j] / (1 + abs(i - j)) for i, j in pairs),
        "normalised_inverse_difference": sum(pij[i, j] / (1 + abs(i - j) / n_levels) for i, j in pairs),
        "inverse_difference_moment": sum(pij[i, j] / (1 + (i - j) ** 2) for i, j in pairs),
        "normalised_inverse_difference_moment": sum(pij[i, j] / (1 + (i - j) ** 2 / n_levels**2)
                                                    for i, j in pairs),
        "inverse_variance": sum(pij[i, j] / (i - j) ** 2 for i, j in pairs if i != j),
        "correlation": (sum(i * j * pij[i, j] for i, j in pairs) - mu_row * mu_col) / (sd_row * sd_col)
        if n_row_levels > 1 and n_col_levels > 1 else math.nan,
        "autocorrelation": sum(i * j * pij[i, j] for i, j in pairs),
        "cluster_tendency": sum(c**2 * v for c, v in cluster),
        "cluster_shade": sum(c**3 * v for c, v in cluster),
        "cluster_prominence": sum(c**4 * v for c, v in cluster),
        "information_correlation_1": (hxy - hxy1) / max(hx, hy) if max(hx, hy) > 0 else math.nan,
        "information_correlation_2": math.sqrt(max(1 - math.exp(-2 * hxy2_minus_hxy), 0.0)),
    }


def naive_glrlm_features(matrix: np.ndarray, n_voxels: int) -> dict[str, float]:
    """The 16 GLRLM features of one non-empty matrix, from the manual's formulas."""
    ng, nr = matrix.shape
    cells = [(i, j, float(matrix[i - 1, j - 1])) for i in range(1, ng + 1) for j in range(1, nr + 1)]
    n_s = sum(r for _, _, r in cells)
    r_i = {i: sum(r for a, _, r in cells if a == i) for i in range(1, ng + 1)}
    r_j = {j: sum(r for _, b, r in cells if b == j) for j in range(1, nr + 1)}
    mu_i = sum(i * r / n_s for i, _, r in cells)
    mu_j = sum(j * r / n_s for _, j, r in cells)
    return {
        "short_runs_emphasis": sum(r_j[j] / j**2 for j in r_j) / n_s,
        "long_runs_emphasis": sum(j**2 * r_j[j] for j in r_j) / n_s,
        "low_grey_level_run_emphasis": sum(r_i[i] / i**2 for i in r_i) / n_s,
        "high_grey_level_run_emphasis": sum(i**2 * r_i[i] for i in r_i) / n_s,
        "short_run_low_grey_level_emphasis": sum(r / (i**2 * j**2) for i, j, r in cells) / n_s,
        "short_run_high_grey_level_emphasis": sum(i**2 * r / j**2 for i, j, r in cells) / n_s,
        "long_run_low_grey_level_emphasis": sum(j**2 * r / i**2 for i, j, r in cells) / n_s,
        "long_run_high_grey_level_emphasis": sum(i**2 * j**2 * r for i, j, r in cells) / n_s,
        "grey_level_non_uniformity": sum(v**2 for v in r_i.values()) / n_s,
        "normalised_grey_level_non_uniformity": sum(v**2 for v in r_i.values()) / n_s**2,
        "run_length_non_uniformity": sum(v**2 for v in r_j.values()) / n_s,
        "normalised_run_length_non_uniformity": sum(v**2 for v in r_j.values()) / n_s**2,
        "run_percentage": n_s / n_voxels,
        "grey_level_variance": sum((i - mu_i) ** 2 * r / n_s for i, _, r in cells),
        "run_length_variance": sum((j - mu_j) ** 2 * r / n_s for _, j, r in cells),
        "run_entropy": -sum(r / n_s * _log2(r / n_s) for _, _, r in cells),
    }


def _mean_of_defined(feature_dicts: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the mean over the dicts where the value is not NaN (NaN if none)."""
    if not feature_dicts:
        return {}
    means = {}
    for key in feature_dicts[0]:
        defined = [f[key] for f in feature_dicts if not math.isnan(f[key])]
        means[key] = sum(defined) / len(defined) if defined else math.nan
    return means


def naive_aggregations(family: str, levels: np.ndarray, n_levels: int, distance: int = 1,
                       symmetric: bool = True) -> dict[str, dict[str, float]]:
    """All six IBSI aggregations of one family as the manual describes them.

    Matrices without counts (no ROI voxel in the slice, or no neighbouring pair)
    are left out; a feature undefined for a matrix is left out of its average.
    Returns ``{aggregation label: {key: value}}``; an aggregation without any
    non-empty matrix maps to ``{}``.
    """
    slices = [levels[z:z + 1] for z in range(levels.shape[0]) if levels[z].any()]
    voxels = [int(np.count_nonzero(s)) for s in slices]
    max_run = max(levels.shape)

    def matrix(volume, offset):
        if family == "glcm":
            return naive_glcm(volume, n_levels, tuple(distance * c for c in offset), symmetric)
        return naive_glrlm(volume, n_levels, offset, max_run)

    def features(counts, n_voxels):
        if counts.sum() == 0:
            return None
        if family == "glcm":
            return naive_glcm_features(counts, n_levels)
        return naive_glrlm_features(counts, n_voxels)

    def mean(items):
        return _mean_of_defined([f for f in items if f is not None])

    in_plane = naive_directions("2D")
    volume_directions = naive_directions("3D")
    per_slice = [[matrix(s, m) for m in in_plane] for s in slices]
    n_total = sum(voxels)
    volume = [matrix(levels, m) for m in volume_directions]
    return {
        "2D, averaged": mean(features(per_slice[k][d], voxels[k])
                             for k in range(len(slices)) for d in range(len(in_plane))),
        "2D, slice-merged": mean(features(sum(per_slice[k]), len(in_plane) * voxels[k])
                                 for k in range(len(slices))),
        "2.5D, direction-merged": mean(features(sum(per_slice[k][d] for k in range(len(slices))), n_total)
                                       for d in range(len(in_plane))),
        "2.5D, merged": mean([features(sum(sum(row) for row in per_slice), len(in_plane) * n_total)]),
        "3D, averaged": mean(features(m, n_total) for m in volume),
        "3D, merged": mean([features(sum(volume), len(volume_directions) * n_total)]),
    }


def roi_from_levels(levels: np.ndarray, n_levels: int, spacing=(1.0, 1.0, 1.0)):
    """A RoiImage whose discretised levels are ``levels`` (intensities = levels, ROI = levels > 0)."""
    from radiomix.features.base import RoiImage

    levels = np.asarray(levels, dtype=np.int32)
    roi = levels > 0
    return RoiImage(
        intensity=levels.astype(np.float64), morphological_mask=roi, intensity_mask=roi.copy(),
        spacing=tuple(float(s) for s in spacing), discretised=levels, n_levels=int(n_levels), bin_width=1.0,
        lower_bound=1.0, resegmentation_range=(-np.inf, np.inf),
    )
