"""Rotation invariance by pooling responses over right-angle rotations of separable kernels.

A right-angle rotation maps each filter axis onto an image axis, possibly
reversed: it permutes the 1D kernels among the axes and flips some of them
(about their centre tap). The 4 rotations of a plane and the 24 of a volume
are the signed permutation matrices of determinant +1. Turning the kernel is
the same as filtering the turned image and turning the response back, since
every boundary condition is symmetric under flips.

Identical rotated kernels are computed once: every distinct kernel of the
orbit occurs equally often among the rotations, so the mean over distinct
kernels equals the mean over all rotations. Rotated kernels that share their
first passes share those computations too (a depth-first walk over a trie of
passes keeps one intermediate array per depth).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from radiomix.preprocess.filters.separable import convolve_axis

IMAGE_AXES = {2: (2, 1), 3: (2, 1, 0)}
"""Number of filter axes -> the array axes of the IBSI filter axes ``x, y[, z]`` (arrays are ``(z, y, x)``)."""

Rotation = tuple[tuple[int, ...], tuple[int, ...]]
"""``(permutation, signs)``: filter axis ``permutation[i]`` lies along axis ``i``, reversed where ``signs[i] < 0``."""


def right_angle_rotations(n_axes: int) -> list[Rotation]:
    """The right-angle rotations of a plane (``n_axes = 2``: 4) or a volume (3: 24), identity first."""
    rotations = []
    for permutation in itertools.permutations(range(n_axes)):
        for signs in itertools.product((1, -1), repeat=n_axes):
            matrix = np.zeros((n_axes, n_axes))
            for row, (column, sign) in enumerate(zip(permutation, signs)):
                matrix[row, column] = sign
            if np.linalg.det(matrix) > 0:
                rotations.append((permutation, signs))
    return rotations


def rotated_passes(stages: Sequence[Sequence[np.ndarray]], rotation: Rotation) -> tuple:
    """The 1D convolution passes ``((array_axis, kernel), ...)`` of a rotated multi-stage separable filter.

    Parameters
    ----------
    stages : sequence of sequences of ndarray
        Each stage lists odd-length 1D kernels along the filter axes ``x, y[, z]``;
        the stages are applied one after the other.
    rotation : Rotation
        From :func:`right_angle_rotations`.
    """
    permutation, signs = rotation
    axes = IMAGE_AXES[len(permutation)]
    passes = []
    for stage in stages:
        for position, array_axis in enumerate(axes):
            kernel = np.asarray(stage[permutation[position]], dtype=np.float64)
            kernel = kernel if signs[position] > 0 else kernel[::-1]
            passes.append((array_axis, tuple(kernel.tolist())))
    return tuple(passes)


def pooled_separable_response(image: np.ndarray, stages: Sequence[Sequence[np.ndarray]], boundary: str,
                              rotation_invariance: bool, pooling: str) -> np.ndarray:
    """Response of a (multi-stage) separable filter, pooled over right-angle rotations if asked.

    Parameters
    ----------
    image : ndarray
        ``(z, y, x)`` intensities.
    stages : sequence of sequences of ndarray
        Odd-length 1D kernels along ``x, y[, z]`` per stage (2 kernels: slice-wise 2D).
    boundary : {"zero", "nearest", "periodic", "mirror"}
        Applied at every pass.
    rotation_invariance : bool
        Pool over the 4 (2D) or 24 (3D) right-angle rotations; else the filter as given.
    pooling : {"max", "mean"}
        Voxel-wise pooling of the rotated responses.

    Returns
    -------
    ndarray of float64
    """
    n_axes = len(stages[0])
    rotations = right_angle_rotations(n_axes) if rotation_invariance else right_angle_rotations(n_axes)[:1]
    counts: dict[tuple, int] = {}
    for rotation in rotations:
        key = rotated_passes(stages, rotation)
        counts[key] = counts.get(key, 0) + 1
    trie: dict = {}
    for passes, count in counts.items():
        node = trie
        for step in passes[:-1]:
            node = node.setdefault(step, {})
        node[passes[-1]] = count
    pooled = Pool(pooling)
    _walk(np.asarray(image, dtype=np.float64), trie, boundary, pooled)
    return pooled.result()


def _walk(array: np.ndarray, node: dict, boundary: str, pooled: Pool) -> None:
    """Depth-first evaluation of a trie of passes; leaves hold how many rotations end there."""
    for (axis, kernel), child in node.items():
        response = convolve_axis(array, np.array(kernel), axis, boundary)
        if isinstance(child, dict):
            _walk(response, child, boundary, pooled)
        else:
            pooled.add(response, child)


class Pool:
    """Voxel-wise max or weighted mean of responses, accumulated one at a time.

    Parameters
    ----------
    method : {"max", "mean"}
    """

    def __init__(self, method: str):
        self.method = method
        self.total = None
        self.weight = 0

    def add(self, response: np.ndarray, weight: int = 1) -> None:
        """Pool ``response`` in, counted ``weight`` times in a mean."""
        if self.total is None:
            self.total = response * weight if self.method == "mean" else response.copy()
        elif self.method == "mean":
            self.total += weight * response
        else:
            np.maximum(self.total, response, out=self.total)
        self.weight += weight

    def result(self) -> np.ndarray:
        """The pooled response."""
        return self.total / self.weight if self.method == "mean" else self.total
