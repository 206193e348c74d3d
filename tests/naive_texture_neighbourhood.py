"""Plain NumPy/Python references for the NGTDM and NGLDM kernels and features.

Written straight from the IBSI-1 manual, voxel by voxel and level by level,
with no attempt at speed, so that the numba kernels in
``radiomix.features.ngtdm`` and ``radiomix.features.ngldm`` can be checked
against something obviously correct.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def neighbour_offsets(distance: int, per_slice: bool) -> list[tuple[int, int, int]]:
    """Offsets (dz, dy, dx) of the Chebyshev neighbourhood, the centre excluded."""
    z_range = [0] if per_slice else range(-distance, distance + 1)
    span = range(-distance, distance + 1)
    return [offset for offset in itertools.product(z_range, span, span) if offset != (0, 0, 0)]


def roi_neighbour_levels(levels: np.ndarray, voxel: tuple[int, int, int], offsets) -> list[int]:
    """Grey levels of the neighbours of ``voxel`` that lie in the array and in the ROI (> 0)."""
    found = []
    for dz, dy, dx in offsets:
        z, y, x = voxel[0] + dz, voxel[1] + dy, voxel[2] + dx
        if 0 <= z < levels.shape[0] and 0 <= y < levels.shape[1] and 0 <= x < levels.shape[2]:
            if levels[z, y, x] > 0:
                found.append(int(levels[z, y, x]))
    return found


def naive_ngtdm(levels: np.ndarray, n_levels: int, distance: int, per_slice: bool):
    """``(counts, sums)`` shaped (nz or 1, n_levels): IBSI n_i and s_i, voxel by voxel."""
    rows = levels.shape[0] if per_slice else 1
    counts = np.zeros((rows, n_levels), dtype=np.int64)
    sums = np.zeros((rows, n_levels), dtype=np.float64)
    offsets = neighbour_offsets(distance, per_slice)
    for voxel in zip(*np.nonzero(levels)):
        level = int(levels[voxel])
        neighbours = roi_neighbour_levels(levels, voxel, offsets)
        if not neighbours:
            continue
        row = voxel[0] if per_slice else 0
        counts[row, level - 1] += 1
        sums[row, level - 1] += abs(level - sum(neighbours) / len(neighbours))
    return counts, sums


def naive_ngldm(levels: np.ndarray, n_levels: int, distance: int, alpha: float, per_slice: bool):
    """NGLDM shaped (nz or 1, n_levels, Nn), column j - 1 for dependence j (centre counted).

    ``Nn`` is the largest dependence found (at least 1).
    """
    rows = levels.shape[0] if per_slice else 1
    offsets = neighbour_offsets(distance, per_slice)
    matrix = np.zeros((rows, n_levels, len(offsets) + 1), dtype=np.int64)
    for voxel in zip(*np.nonzero(levels)):
        level = int(levels[voxel])
        neighbours = roi_neighbour_levels(levels, voxel, offsets)
        dependence = 1 + sum(1 for n in neighbours if abs(n - level) <= alpha)
        row = voxel[0] if per_slice else 0
        matrix[row, level - 1, dependence - 1] += 1
    used = [j for j in range(matrix.shape[2]) if matrix[:, :, j].sum() > 0]
    return matrix[:, :, : (used[-1] + 1 if used else 1)]


def naive_ngtdm_features(counts, sums) -> dict[str, float]:
    """The five IBSI NGTDM features from n_i and s_i (NaN where IBSI gives no value)."""
    n_valid = float(sum(counts))
    if n_valid == 0:
        return dict.fromkeys(("coarseness", "contrast", "busyness", "complexity", "strength"), math.nan)
    present = [(i + 1, counts[i] / n_valid, float(sums[i])) for i in range(len(counts)) if counts[i] > 0]
    n_present = len(present)
    weighted = sum(p * s for _, p, s in present)
    total = sum(s for _, _, s in present)
    coarseness = 1e6 if weighted <= 1e-6 else 1.0 / weighted
    if n_present == 1:
        contrast = 0.0
        busyness = 0.0
    else:
        spread = sum(p1 * p2 * (i1 - i2) ** 2 for i1, p1, _ in present for i2, p2, _ in present)
        contrast = spread / (n_present * (n_present - 1)) * total / n_valid
        denominator = sum(abs(i1 * p1 - i2 * p2) for i1, p1, _ in present for i2, p2, _ in present)
        busyness = weighted / denominator if denominator > 0 else math.nan
    complexity = sum(abs(i1 - i2) * (p1 * s1 + p2 * s2) / (p1 + p2)
                     for i1, p1, s1 in present for i2, p2, s2 in present) / n_valid
    if total == 0:
        strength = 0.0
    else:
        strength = sum((p1 + p2) * (i1 - i2) ** 2 for i1, p1, _ in present for i2, p2, _ in present) / total
    return {"coarseness": coarseness, "contrast": contrast, "busyness": busyness,
            "complexity": complexity, "strength": strength}


def naive_ngldm_features(matrix, n_voxels: int) -> dict[str, float]:
    """The seventeen IBSI NGLDM features of one matrix (rows: grey level 1.., columns: dependence 1..)."""
    entries = [(i + 1, j + 1, float(matrix[i, j]))
               for i in range(matrix.shape[0]) for j in range(matrix.shape[1]) if matrix[i, j] > 0]
    n_s = sum(s for _, _, s in entries)
    by_level = {}
    by_dependence = {}
    for i, j, s in entries:
        by_level[i] = by_level.get(i, 0.0) + s
        by_dependence[j] = by_dependence.get(j, 0.0) + s
    mean_level = sum(i * s for i, _, s in entries) / n_s
    mean_dependence = sum(j * s for _, j, s in entries) / n_s
    return {
        "low_dependence_emphasis": sum(s / j**2 for _, j, s in entries) / n_s,
        "high_dependence_emphasis": sum(s * j**2 for _, j, s in entries) / n_s,
        "low_grey_level_count_emphasis": sum(s / i**2 for i, _, s in entries) / n_s,
        "high_grey_level_count_emphasis": sum(s * i**2 for i, _, s in entries) / n_s,
        "low_dependence_low_grey_level_emphasis": sum(s / (i**2 * j**2) for i, j, s in entries) / n_s,
        "low_dependence_high_grey_level_emphasis": sum(s * i**2 / j**2 for i, j, s in entries) / n_s,
        "high_dependence_low_grey_level_emphasis": sum(s * j**2 / i**2 for i, j, s in entries) / n_s,
        "high_dependence_high_grey_level_emphasis": sum(s * i**2 * j**2 for i, j, s in entries) / n_s,
        "grey_level_non_uniformity": sum(v**2 for v in by_level.values()) / n_s,
        "normalised_grey_level_non_uniformity": sum(v**2 for v in by_level.values()) / n_s**2,
        "dependence_count_non_uniformity": sum(v**2 for v in by_dependence.values()) / n_s,
        "normalised_dependence_count_non_uniformity": sum(v**2 for v in by_dependence.values()) / n_s**2,
        "dependence_count_percentage": n_s / n_voxels,
        "grey_level_variance": sum((i - mean_level) ** 2 * s / n_s for i, _, s in entries),
        "dependence_count_variance": sum((j - mean_dependence) ** 2 * s / n_s for _, j, s in entries),
        "dependence_count_entropy": -sum(s / n_s * math.log2(s / n_s) for _, _, s in entries),
        "dependence_count_energy": sum((s / n_s) ** 2 for _, _, s in entries),
    }
