"""Grey level run length matrix (GLRLM) features (IBSI-1 section "GLRLM", TP0I).

A run is a maximal sequence of consecutive ROI voxels of one grey level along
a direction vector ``m``; element ``(i, j)`` of the matrix counts the runs of
grey level ``i`` and length ``j`` voxels. Directions and aggregations are
those of the GLCM (:mod:`radiomix.features.glcm`, distance 1); run lengths go
up to the longest run the ROI's bounding box allows.

The number of voxels ``N_v`` of *run percentage* is taken from the matrix
itself, ``N_v = sum_ij j r_ij``: along one direction every ROI voxel belongs
to exactly one run, so this is the number of ROI voxels (of the slice or
volume) for a single-direction matrix, and for a merged matrix it is the sum
of the ``N_v`` of the merged matrices -- the manual's rule for merging (e.g.
4 x the slice's voxels for ``2D, slice-merged``, 13 x the ROI's voxels for
``3D, merged``).

Empty matrices (slices without ROI voxels) take no part in averages; every
feature is defined for a non-empty matrix, so no value is NaN. An ROI
without voxels is an :class:`~radiomix.errors.EmptyRoiError`.

pyradiomics' conventions are settings (:class:`~radiomix.spec.GlrlmSettings`):
``offsets: pyradiomics`` (:func:`pyradiomics_matrices`) with ``weighting_norm``,
``slice_axis`` and ``undefined_values: pyradiomics``.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import InputError
from radiomix.features import registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.texture import (
    PYRADIOMICS_EPS,
    PresentLevels,
    box_present_levels,
    counted_in_roi_box,
    cropped_to_roi,
    defined_means,
    direction_offsets,
    directional_groups,
    emphasis_features,
    offset_lengths_mm,
    pyradiomics_aggregation,
    pyradiomics_offsets,
)
from radiomix.spec import GlrlmSettings

FAMILY = "glrlm"

FEATURE_KEYS = registry.keys(FAMILY)
"""Registry keys of the 16 GLRLM features, in manual order."""

@njit
def _run_length_kernel(padded, n_levels, steps, per_slice, max_run):
    """Count runs of equal grey level along each direction, all directions in one pass over the voxels.

    Every ROI voxel gets, along each direction, its position in its run: 1
    when its predecessor (at ``-m``) has another level, else the
    predecessor's position + 1. A run of length ``n`` holds one voxel at each
    position ``1..n``, so the voxels counted by (level, position ``j``) are
    the runs of length ``>= j``, and the runs of length exactly ``j`` the
    difference of neighbouring columns. The positions of the voxels up to
    the largest step back are kept in a ring buffer; no branch depends on
    the grey levels except the test for ROI voxels. ``steps`` is a tuple so
    that the loop over the directions is unrolled at compile time (one
    compilation per number of directions), and flat indices are unsigned,
    which spares the checks for negative indices.

    ``padded`` holds the levels (0 outside the ROI) with a border of zeros
    one voxel wide, so every run ends inside the array; ``steps`` are the
    flat-index steps of the directions (components in -1..1, the first
    non-zero one positive: the predecessor comes first in raster order).
    Returns int64 counts ``[s, d, i - 1, j - 1]`` of runs of level ``i`` and
    length ``j`` (``max_run`` columns), one table per slice when ``per_slice``.
    """
    p_z, p_y, p_x = padded.shape
    flat = padded.ravel()
    n_directions = len(steps)
    largest_step = 0
    for step in steps:
        largest_step = max(largest_step, step)
    ring = 1
    while ring <= largest_step:
        ring *= 2
    wrap = np.uint64(ring - 1)  # voxel v's positions are at row v & wrap, not overwritten before v + largest_step
    row_length = 1
    while row_length < n_directions:
        row_length *= 2
    row_length = np.uint64(row_length)  # a power of two: the row of a voxel is a shift away
    # read only where the predecessor has the same level > 0, so was written before: no need for zeros
    position = np.empty(ring * row_length, np.int32)
    n_rows = p_z - 2 if per_slice else 1
    direction_size = np.uint64(n_levels * max_run)
    counts = np.zeros(n_rows * n_directions * n_levels * max_run, np.int64)
    one = np.uint64(1)
    for z in range(1, p_z - 1):
        row_start = (z - 1) * n_directions * n_levels * max_run if per_slice else 0
        for y in range(1, p_y - 1):
            start = (z * p_y + y) * p_x
            for index in range(start + 1, start + p_x - 1):
                voxel = np.uint64(index)
                level = flat[voxel]
                if level == 0:
                    continue
                here = (voxel & wrap) * row_length
                # column j (1-based) of direction d is at cell + d * direction_size + j
                cell = np.uint64(row_start + (np.int64(level) - 1) * max_run - 1)
                d = np.uint64(0)
                for step in steps:
                    previous = voxel - np.uint64(step)
                    continued = np.uint64(flat[previous] == level)
                    j = (np.uint64(position[(previous & wrap) * row_length + d]) + one) * continued + (one - continued)
                    position[here + d] = j
                    counts[cell + d * direction_size + j] += 1
                    d += one
    counts = counts.reshape((n_rows, n_directions, n_levels, max_run))
    # runs of length exactly j: voxels at position j minus those at position j + 1
    for row in range(n_rows):
        for d in range(n_directions):
            for i in range(n_levels):
                for j in range(max_run - 1):
                    counts[row, d, i, j] -= counts[row, d, i, j + 1]
    return counts


def _direction_steps(offsets: np.ndarray, padded_shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Flat-index step of each ``(dz, dy, dx)`` of ``offsets`` in a C-ordered array of ``padded_shape``."""
    _, p_y, p_x = padded_shape
    return tuple(int((dz * p_y + dy) * p_x + dx) for dz, dy, dx in offsets)


def glrlm_matrices_2d(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """In-plane GLRLMs of every slice (axis 0) and each of the 4 2D directions.

    Parameters and errors as for :func:`radiomix.features.glcm.glcm_matrices_2d`. Returns int64 run
    counts of shape ``(nz, 4, n_levels, max_run)`` (column ``j - 1`` for run length ``j``; ``max_run`` the
    larger in-plane side of the ROI's box; directions of ``direction_offsets("2D")``; zeros for slices
    without ROI voxels).
    """
    return _glrlm_matrices(levels, n_levels, direction_offsets("2D"), True)


def glrlm_matrices_3d(levels: np.ndarray, n_levels: int) -> np.ndarray:
    """GLRLMs of the volume for each of the 13 3D directions (:func:`glrlm_matrices_2d`'s parameters).

    Shape ``(13, n_levels, max_run)``, ``max_run`` the longest side of the ROI's box.
    """
    return _glrlm_matrices(levels, n_levels, direction_offsets("3D"), False)[0]


def glrlm_matrices(levels: np.ndarray, n_levels: int, offsets: np.ndarray) -> np.ndarray:
    """GLRLMs of the volume for any unit directions (e.g. the subset of pyradiomics' offsets that fit the ROI).

    ``offsets``: ``(dz, dy, dx)`` directions, components in -1..1, the first non-zero one positive.
    Shape ``(n_offsets, n_levels, max_run)``, ``max_run`` the longest side of the ROI's box.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    first_non_zero = np.where(offsets != 0, offsets, 0)[np.arange(len(offsets)), np.argmax(offsets != 0, axis=1)] \
        if offsets.ndim == 2 and offsets.shape[1:] == (3,) else None
    if first_non_zero is None or not offsets.size or np.abs(offsets).max() > 1 or (first_non_zero <= 0).any():
        raise InputError(f"GLRLM directions must be a non-empty (n, 3) array of (dz, dy, dx) steps in -1..1 whose "
                         f"first non-zero component is positive, got {offsets.tolist()}")
    return _glrlm_matrices(levels, n_levels, offsets, False)[0]


def _glrlm_matrices(levels, n_levels, offsets, per_slice, cropped=False):
    """Run counts of ``levels`` along ``offsets``, counted in the ROI's box (per slice: every slice).

    Runs can be as long as the box's longest side, or its longest in-plane
    side when no offset leaves the plane. ``cropped``: the levels are already
    checked and cropped to the ROI's box (:func:`cropped_to_roi`).
    """
    def count(padded):
        sides = np.array(padded.shape) - 2
        max_run = int(sides.max() if offsets[:, 0].any() else sides[1:].max())
        return _run_length_kernel(padded, int(n_levels), _direction_steps(offsets, padded.shape), per_slice, max_run)

    return counted_in_roi_box(levels, n_levels, (1, 1, 1), count, per_slice, cropped)


def glrlm_features(matrices: np.ndarray) -> dict[str, np.ndarray]:
    """The 16 IBSI GLRLM features of one matrix or of a stack of matrices.

    Parameters
    ----------
    matrices : ndarray, shape (..., Ng, Nr)
        Run counts, row ``i - 1`` for grey level ``i`` and column ``j - 1``
        for run length ``j``; each trailing ``Ng x Nr`` block is one
        (possibly merged) matrix.

    Returns
    -------
    dict
        Registry key -> ndarray of shape ``matrices.shape[:-2]``; NaN for
        empty matrices. ``N_v`` of *run percentage* is ``sum_ij j r_ij``
        (see the module docstring).
    """
    counts = np.asarray(matrices)
    if not np.issubdtype(counts.dtype, np.integer):
        counts = counts.astype(np.float64)
    n_grey, n_run = counts.shape[-2:]
    batch_shape = counts.shape[:-2]
    values = _glrlm_feature_values(counts.reshape((-1, n_grey, n_run)))
    return {key: values[:, index].reshape(batch_shape) for index, key in enumerate(FEATURE_KEYS)}


def _glrlm_feature_values(matrices: np.ndarray) -> np.ndarray:
    """Features (rows, :data:`FEATURE_KEYS` order; NaN for empty matrices) of a stack of matrices."""
    n_grey, n_run = matrices.shape[-2:]
    return emphasis_features(matrices, np.arange(1.0, n_grey + 1), np.arange(1.0, n_run + 1))[:, :len(FEATURE_KEYS)]


def compute(roi: RoiImage, settings: GlrlmSettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """GLRLM features of ``roi.discretised`` for ``dimensions``, as :func:`radiomix.features.glcm.compute`.

    ``settings``: ``offsets`` (with ``slice_axis``, ``weighting_norm``; pyradiomics' give one aggregation,
    :func:`pyradiomics_matrices`) and ``undefined_values``.
    """
    return level_features(roi.discretised, roi.n_levels, roi.spacing, settings, dimensions)


def level_features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings: GlrlmSettings,
                   dimensions: tuple[str, ...] = ("3D",)) -> list[FeatureValue]:
    """:func:`compute` of discretised levels (parameters as for :func:`radiomix.features.glcm.level_features`)."""
    if settings.offsets == "pyradiomics":
        present = box_present_levels(levels, n_levels)
        return _pyradiomics_values(present, spacing_zyx, settings)
    levels = cropped_to_roi(levels.levels if isinstance(levels, PresentLevels) else levels, n_levels)
    groups = directional_groups(
        FAMILY, dimensions, lambda offsets, per_slice: _glrlm_matrices(levels, n_levels, offsets, per_slice, True))
    results = []
    for label, stack in groups.items():
        values = _glrlm_feature_values(stack)
        # empty matrices (NaN) take no part; a non-empty ROI leaves at least one non-empty matrix
        means = values[~np.isnan(values[:, 0])].mean(axis=0)
        results.extend(FeatureValue(key, label, float(mean)) for key, mean in zip(FEATURE_KEYS, means))
    return results


NO_RUNS = "undefined: no run along any offset"
"""Status of a NaN value with pyradiomics' offsets (every offset matrix empty)."""

_RUN_ENTROPY = FEATURE_KEYS.index("run_entropy")
_RUN_LENGTH_VARIANCE = FEATURE_KEYS.index("run_length_variance")


def _pyradiomics_values(present: PresentLevels, spacing_zyx, settings: GlrlmSettings) -> list[FeatureValue]:
    """Features of :func:`pyradiomics_matrices`, averaged over the matrices that have runs."""
    label, counts = pyradiomics_matrices(present, spacing_zyx, settings)
    pyradiomics = settings.undefined_values == "pyradiomics"
    run_lengths = np.arange(1, counts.shape[2] + 1, dtype=np.float64)
    values = emphasis_features(counts, present.grey_levels, run_lengths,
                               PYRADIOMICS_EPS if pyradiomics else 0.0)[:, :len(FEATURE_KEYS)]
    means, _ = defined_means(values)
    if pyradiomics and counts.shape[0] == 1 and not counts.any():
        # a single matrix without runs: pyradiomics removes every (empty) run-length column, so the
        # run-length variance and the entropy are empty sums (0); the other features divide by a
        # NaN run count
        means[[_RUN_ENTROPY, _RUN_LENGTH_VARIANCE]] = 0.0
    return [FeatureValue(key, label, float(mean), NO_RUNS if np.isnan(mean) else "")
            for key, mean in zip(FEATURE_KEYS, means)]


def pyradiomics_matrices(present: PresentLevels, spacing_zyx, settings: GlrlmSettings) -> tuple[str, np.ndarray]:
    """The aggregation label and run-length matrices of pyradiomics' offsets, rows the grey levels present.

    1. one matrix per unit offset of :func:`~radiomix.features.texture.pyradiomics_offsets`
       that fits in the ROI's box (not along ``settings.slice_axis``): runs of
       equal level along lines of the box, ended by voxels outside the ROI;
    2. with ``undefined_values: pyradiomics``, an offset along which no line
       holds two ROI voxels emptied (pyradiomics' test for a flat ROI);
    3. with a ``weighting_norm``, the offset matrices summed, each weighted by
       the offset's length in mm under that norm (1 for ``no_weighting``);
    4. else offsets without runs removed (when more than one)
       (:func:`~radiomix.features.texture.pyradiomics_aggregation`).

    The counts are int64 (float64 when weighted), shape ``(n_matrices, n_present, max_run)``, column ``j - 1``
    for run length ``j``.
    """
    offsets = pyradiomics_offsets(present.levels.shape, (1,), False, settings.slice_axis)
    counts = offset_matrices(present, offsets, settings.undefined_values == "pyradiomics")
    weights = None if settings.weighting_norm == "none" else \
        offset_lengths_mm(offsets, spacing_zyx, settings.weighting_norm)
    return pyradiomics_aggregation(counts, weights, settings.slice_axis)


def offset_matrices(present: PresentLevels, offsets: np.ndarray, flat_roi_rule: bool = True) -> np.ndarray:
    """Run counts ``[a, i, j - 1]`` (int64) of each offset ``a``, rows the grey levels present.

    Counted as :func:`glrlm_matrices` does from the ranked levels (checked already); with
    ``flat_roi_rule``, an offset along which no line of the box holds two ROI
    voxels is emptied (pyradiomics' test for a flat ROI).
    """
    counts = _glrlm_matrices(present.ranked, present.n_present, offsets, False, True)[0]
    if flat_roi_rule:
        # runs of length >= 2 mean a line with two ROI voxels; else look for two on a line
        roi = present.levels > 0
        for a in np.flatnonzero(~counts[:, :, 1:].any(axis=(1, 2))):
            if not _line_with_two_roi_voxels(roi, offsets[a]):
                counts[a] = 0
    return counts


def _line_with_two_roi_voxels(roi: np.ndarray, offset: np.ndarray) -> bool:
    """True when some line of the box along ``offset`` holds two ROI voxels (pyradiomics' test for a flat ROI).

    Checks the voxel pairs ``(v, v + k offset)`` for ``k = 1, 2, ...`` while the step fits in the box.
    """
    for k in range(1, max(roi.shape)):
        step = k * np.asarray(offset)
        if np.any(np.abs(step) >= roi.shape):
            break
        first = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(step, roi.shape))
        second = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(step, roi.shape))
        if np.any(roi[first] & roi[second]):
            return True
    return False
