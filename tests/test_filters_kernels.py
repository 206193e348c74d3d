"""The numba kernels of the IBSI-2 filters against plain NumPy references.

- ``convolve_axis`` (parallel 1D convolution with boundary conditions) against
  a loop over voxels and taps with an obviously correct index rule;
- ``apply_transfer`` (Simoncelli band x Riesz multiplier, symmetrised, real FFTs)
  against the complex FFT of the padded image times the transfer function
  evaluated on the full grid, real part;
- rotation pooling against responses of kernels rotated with ``numpy.rot90``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from radiomix.preprocess.filters.boundary import (
    NUMPY_PAD_MODES,
    SCIPY_MODES,
    source_index,
)
from radiomix.preprocess.filters.fourier import (
    apply_transfer,
    padding_widths,
    reference_frequencies,
)
from radiomix.preprocess.filters.pooling import (
    pooled_separable_response,
    right_angle_rotations,
)
from radiomix.preprocess.filters.separable import convolve_axis

BOUNDARIES = ("zero", "nearest", "periodic", "mirror")


def naive_index(index: int, size: int, boundary: str):
    """Where a position outside ``[0, size)`` reads from, by repeated reflection/wrapping; None for zero."""
    if 0 <= index < size:
        return index
    if boundary == "zero":
        return None
    if boundary == "nearest":
        return min(max(index, 0), size - 1)
    if boundary == "periodic":
        while index < 0:
            index += size
        while index >= size:
            index -= size
        return index
    while not 0 <= index < size:
        index = -1 - index if index < 0 else 2 * size - 1 - index
    return index


def naive_convolve_axis(array: np.ndarray, weights: np.ndarray, axis: int, boundary: str) -> np.ndarray:
    """out[i] = sum_j w[j] in[i + c - j] along ``axis``, one voxel and one tap at a time."""
    moved = np.moveaxis(np.asarray(array, dtype=np.float64), axis, -1)
    out = np.zeros_like(moved)
    size = moved.shape[-1]
    centre = (len(weights) - 1) // 2
    for position in np.ndindex(moved.shape[:-1]):
        for i in range(size):
            total = 0.0
            for j, weight in enumerate(weights):
                read = naive_index(i + centre - j, size, boundary)
                if read is not None:
                    total += weight * moved[position + (read,)]
            out[position + (i,)] = total
    return np.moveaxis(out, -1, axis)


small_shapes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))


@settings(max_examples=40, deadline=None)
@given(shape=small_shapes, n_taps=st.sampled_from([1, 3, 5, 7, 9, 15]), axis=st.integers(0, 2),
       boundary=st.sampled_from(BOUNDARIES), seed=st.integers(0, 2 ** 16))
def test_convolve_axis_matches_naive(shape, n_taps, axis, boundary, seed):
    rng = np.random.default_rng(seed)
    array = rng.normal(size=shape)
    weights = rng.normal(size=n_taps)
    np.testing.assert_allclose(convolve_axis(array, weights, axis, boundary),
                               naive_convolve_axis(array, weights, axis, boundary), atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_convolve_axis_matches_scipy_convolve1d(boundary):
    rng = np.random.default_rng(1)
    array = rng.normal(size=(7, 9, 11))
    weights = rng.normal(size=5)
    for axis in range(3):
        expected = ndimage.convolve1d(array, weights, axis=axis, mode=SCIPY_MODES[boundary])
        np.testing.assert_allclose(convolve_axis(array, weights, axis, boundary), expected, atol=1e-12)


def test_source_index_handles_kernels_wider_than_the_image():
    for boundary, code in (("zero", 0), ("nearest", 1), ("periodic", 2), ("mirror", 3)):
        for size in (1, 2, 5):
            for index in range(-13, 14):
                expected = naive_index(index, size, boundary)
                assert source_index(index, size, code) == (-1 if expected is None else expected)


def test_convolve_axis_one_voxel_and_constant_image():
    one = np.array([[[3.0]]])
    weights = np.array([0.25, 0.5, 0.25])
    assert convolve_axis(one, weights, 0, "zero")[0, 0, 0] == pytest.approx(1.5)
    for boundary in ("nearest", "periodic", "mirror"):
        assert convolve_axis(one, weights, 2, boundary)[0, 0, 0] == pytest.approx(3.0)
        constant = np.full((4, 5, 6), 2.0)
        np.testing.assert_allclose(convolve_axis(constant, weights, 1, boundary), constant)


def test_convolve_axis_rejects_even_kernels():
    with pytest.raises(ValueError, match="append a zero"):
        convolve_axis(np.zeros((2, 2, 2)), np.ones(4), 0, "zero")


def naive_transfer(shape, axes, level, orders):
    """The Simoncelli x Riesz transfer function on the full FFT grid of ``shape`` (complex, not symmetrised)."""
    grids = np.meshgrid(*[reference_frequencies(shape[a]) if a in axes else np.zeros(shape[a])
                          for a in range(len(shape))], indexing="ij")
    rho = np.sqrt(sum(g ** 2 for g in grids))
    transfer = np.ones(shape, dtype=complex)
    if level:
        top = 2.0 ** (1 - level)
        band = (rho >= top / 4) & (rho <= top)
        simoncelli = np.zeros(shape)
        simoncelli[band] = np.cos(np.pi / 2 * np.log2(2 * rho[band] / top))
        transfer *= simoncelli
    total = sum(orders)
    if total:
        prefactor = (-1j) ** total * math.sqrt(math.factorial(total) / math.prod(math.factorial(o) for o in orders))
        with np.errstate(divide="ignore", invalid="ignore"):
            riesz = prefactor * np.prod([(grids[a] / rho) ** o for a, o in enumerate(orders)], axis=0)
        riesz[rho == 0] = 0
        transfer *= riesz
    return transfer


def naive_apply_transfer(image, axes, boundary, level, orders):
    widths = padding_widths(image.shape, axes, boundary)
    padded = np.pad(image, widths, mode=NUMPY_PAD_MODES[boundary]) if boundary != "periodic" else image
    transfer = naive_transfer(padded.shape, axes, level, orders)
    response = np.fft.ifftn(np.fft.fftn(padded, axes=axes) * transfer, axes=axes).real
    return response[tuple(slice(b, response.shape[a] - e) for a, (b, e) in enumerate(widths))]


@settings(max_examples=30, deadline=None)
@given(shape=small_shapes, two_d=st.booleans(), boundary=st.sampled_from(BOUNDARIES),
       level=st.integers(0, 3), orders=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
       seed=st.integers(0, 2 ** 16))
def test_apply_transfer_matches_full_complex_fft(shape, two_d, boundary, level, orders, seed):
    axes = (1, 2) if two_d else (0, 1, 2)
    riesz = tuple(orders[a] for a in axes)
    full_orders = tuple(orders[a] if a in axes else 0 for a in range(3))
    if level == 0 and sum(riesz) == 0:
        level = 1
    image = np.random.default_rng(seed).normal(size=shape)
    expected = naive_apply_transfer(image, axes, boundary, level, full_orders)
    result = apply_transfer(image, axes, boundary, level=level, riesz_orders=riesz)
    np.testing.assert_allclose(result, expected, atol=1e-10 * max(1.0, np.abs(expected).max()))


def test_right_angle_rotations_are_the_proper_rotation_groups():
    for n_axes, count in ((2, 4), (3, 24)):
        rotations = right_angle_rotations(n_axes)
        assert len(rotations) == count == len(set(rotations))
        assert rotations[0] == (tuple(range(n_axes)), (1,) * n_axes)


def rot90_kernels_3d(kernel: np.ndarray) -> list[np.ndarray]:
    """The 24 distinct-orientation copies of a cubic kernel, by rot90 about the array axes."""
    seen = {}
    for turns in itertools.product(range(4), repeat=3):
        turned = kernel
        for axes, k in zip(((0, 1), (0, 2), (1, 2)), turns):
            turned = np.rot90(turned, k, axes=axes)
        seen.setdefault(turned.tobytes(), turned)
    return list(seen.values())


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooling_over_rotations_matches_rot90_kernels(pooling):
    rng = np.random.default_rng(3)
    kernels_xyz = [rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)]
    # the 3D kernel over (z, y, x): x kernel along axis 2, y along 1, z along 0
    kernel = np.einsum("i,j,k->ijk", kernels_xyz[2], kernels_xyz[1], kernels_xyz[0])
    image = rng.normal(size=(6, 7, 8))
    responses = [ndimage.convolve(image, turned, mode="reflect") for turned in rot90_kernels_3d(kernel)]
    assert len(responses) == 24
    expected = np.max(responses, axis=0) if pooling == "max" else np.mean(responses, axis=0)
    result = pooled_separable_response(image, [kernels_xyz], "mirror", True, pooling)
    np.testing.assert_allclose(result, expected, atol=1e-12)


def test_pooling_over_plane_rotations_matches_rot90_kernels():
    rng = np.random.default_rng(4)
    kernels_xy = [rng.normal(size=5), rng.normal(size=3)]
    kernel = np.outer(kernels_xy[1], kernels_xy[0])[None]
    image = rng.normal(size=(3, 9, 8))
    turned = [np.rot90(kernel, k, axes=(1, 2)) for k in range(4)]
    expected = np.max([ndimage.convolve(image, t, mode="constant") for t in turned], axis=0)
    result = pooled_separable_response(image, [kernels_xy], "zero", True, "max")
    np.testing.assert_allclose(result, expected, atol=1e-12)
