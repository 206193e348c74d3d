"""Sphere means split into parallel blocks of centres, with or without the per-voxel finiteness test,
equal those of one block and a NumPy reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from radiomix.features.local_intensity import _sphere_means_kernel, sphere_offsets, sphere_rows


def _numpy_sphere_means(intensity, centres, spacing, radius_mm):
    """Plain NumPy: the mean of the finite in-array voxels at every sphere offset of each centre."""
    offsets = sphere_offsets(spacing, radius_mm)
    means = []
    for centre in centres:
        points = centre + offsets
        inside = np.all((points >= 0) & (points < intensity.shape), axis=1)
        values = intensity[tuple(points[inside].T)]
        values = values[np.isfinite(values)]
        means.append(values.mean() if values.size else np.nan)
    return np.array(means)


@hypothesis_settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_chunks=st.integers(1, 9), radius_mm=st.floats(0.5, 4.0))
def test_blocks_of_centres_give_the_same_means(seed, n_chunks, radius_mm):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 9, size=3))
    spacing = tuple(float(s) for s in rng.choice([0.8, 1.0, 1.5, 2.0], size=3))
    intensity = np.round(rng.normal(0.0, 50.0, size=shape), 3)
    if seed % 3 == 0:
        intensity.flat[rng.integers(0, intensity.size)] = np.nan  # padding outside the ROI
    centres = np.ascontiguousarray(np.argwhere(rng.random(shape) < 0.4), dtype=np.int64)
    rows = sphere_rows(spacing, radius_mm)
    all_finite = bool(np.isfinite(intensity).all())
    one_block = _sphere_means_kernel(intensity, centres, rows, 1, all_finite)
    np.testing.assert_array_equal(_sphere_means_kernel(intensity, centres, rows, n_chunks, all_finite), one_block)
    if all_finite:  # the plain run sums agree with the voxel-by-voxel tested sums
        np.testing.assert_allclose(_sphere_means_kernel(intensity, centres, rows, n_chunks, False), one_block,
                                   rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(one_block, _numpy_sphere_means(intensity, centres, spacing, radius_mm),
                               rtol=1e-12, atol=1e-9)


@hypothesis_settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_chunks=st.integers(1, 5))
def test_groups_of_four_inner_centres_equal_the_numpy_means(seed, n_chunks):
    """Runs of centres whose spheres lie inside the array (summed four at a time) and border centres."""
    rng = np.random.default_rng(seed)
    intensity = rng.normal(-300.0, 400.0, size=(11, 12, 13))
    centres = np.ascontiguousarray(np.argwhere(rng.random(intensity.shape) < 0.7), dtype=np.int64)
    spacing, radius_mm = (1.5, 1.0, 1.0), 2.6
    inner = np.all((centres >= (1, 2, 2)) & (centres < np.array(intensity.shape) - (1, 2, 2)), axis=1)
    assert inner[:len(inner) // 4 * 4].reshape(-1, 4).all(axis=1).any() and not inner.all()
    means = _sphere_means_kernel(intensity, centres, sphere_rows(spacing, radius_mm), n_chunks, True)
    np.testing.assert_allclose(means, _numpy_sphere_means(intensity, centres, spacing, radius_mm),
                               rtol=1e-12, atol=1e-9)
