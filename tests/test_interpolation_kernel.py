"""The separable spline kernel of region interpolation (spline_on_grid) equals scipy's map_coordinates
bit for bit, and so does a plain NumPy evaluation of the same taps."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy import ndimage

from radiomix.preprocess.interpolation import spline_on_grid, spline_taps


def _numpy_spline(block: np.ndarray, coordinates: list[np.ndarray], order: int) -> np.ndarray:
    """Plain NumPy reference: the taps of every axis broadcast, summed over the taps in C order."""
    (zi, zw), (yi, yw), (xi, xw) = (spline_taps(c, n, order) for c, n in zip(coordinates, block.shape))
    values = block.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf times a zero weight is NaN, as in scipy
        return _sum_taps(values, (zi, zw), (yi, yw), (xi, xw), order)


def _sum_taps(values, z_taps, y_taps, x_taps, order):
    (zi, zw), (yi, yw), (xi, xw) = z_taps, y_taps, x_taps
    total = np.zeros((len(zi), len(yi), len(xi)))
    for a in range(order + 1):
        for b in range(order + 1):
            for c in range(order + 1):
                term = values[zi[:, a][:, None, None], yi[:, b][None, :, None], xi[:, c][None, None, :]]
                if order > 0:
                    term = term * zw[:, a][:, None, None] * yw[:, b][None, :, None] * xw[:, c][None, None, :]
                total = total + term
    return total


def _scipy(block: np.ndarray, coordinates: list[np.ndarray], order: int) -> np.ndarray:
    grid = np.stack(np.meshgrid(*coordinates, indexing="ij"))
    return ndimage.map_coordinates(block, grid, order=order, mode="nearest", prefilter=False, output=np.float64)


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), order=st.sampled_from([0, 1]), boolean=st.booleans(),
       non_finite=st.booleans())
def test_kernel_equals_map_coordinates_and_the_numpy_reference(seed, order, boolean, non_finite):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 7, size=3))
    if boolean:
        block = rng.random(shape) < 0.5
    else:
        block = np.round(rng.normal(0.0, 300.0, size=shape), 2)
        if non_finite:
            block.flat[rng.integers(0, block.size, size=2)] = [np.nan, np.inf]
    # coordinates inside, on, and beyond the grid
    coordinates = [np.concatenate([rng.uniform(-1.5, n + 0.5, size=int(rng.integers(1, 6))),
                                   np.arange(n, dtype=np.float64)]) for n in shape]
    expected = _scipy(block, coordinates, order)
    found = spline_on_grid(block, coordinates, order)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(_numpy_spline(block, coordinates, order), expected)
    assert np.array_equal(np.signbit(found[found == 0]), np.signbit(expected[expected == 0]))


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_roi_extent_equals_the_per_axis_projections(seed):
    from radiomix.preprocess.interpolation import roi_extent

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 9, size=3))
    roi = rng.random(shape) < rng.uniform(0.01, 0.5)
    roi[tuple(int(rng.integers(0, n)) for n in shape)] = True
    expected = []
    for axis in range(3):
        present = np.flatnonzero(roi.any(axis=tuple(a for a in range(3) if a != axis)))
        expected.append((int(present[0]), int(present[-1])))
    assert roi_extent(roi) == expected
