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


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), radius_mm=st.floats(0.5, 4.0),
       kind=st.sampled_from(["normal", "levels", "huge"]), margin=st.integers(0, 4))
def test_intensity_peaks_equal_those_of_every_sphere_mean(seed, radius_mm, kind, margin):
    # the pruned peaks against the means of every centre, bit for bit: ROIs inside a margin (the pruned path)
    # or touching the border (every mean), plateaus of equal intensity, values of very different magnitudes
    from radiomix.features.local_intensity import intensity_peaks, sphere_mean_intensities

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 12, size=3) + 2 * margin)
    spacing = tuple(float(s) for s in rng.choice([0.8, 1.0, 1.5, 2.0], size=3))
    if kind == "levels":
        intensity = rng.integers(0, 3, size=shape).astype(np.float64)
    elif kind == "huge":
        intensity = rng.normal(0.0, 1.0, size=shape) * 10.0 ** rng.integers(-3, 12, size=shape)
    else:
        intensity = rng.normal(100.0, 50.0, size=shape)
    mask = np.zeros(shape, dtype=bool)
    inner = tuple(slice(margin, n - margin) for n in shape)
    mask[inner] = rng.random(mask[inner].shape) < 0.5
    mask[tuple(n // 2 for n in shape)] = True
    means = sphere_mean_intensities(intensity, mask, spacing, radius_mm)
    values = intensity[mask]
    local_peak, global_peak = intensity_peaks(intensity, mask, spacing, radius_mm)
    assert local_peak == means[values == values.max()].max()
    assert global_peak == means.max()


@hypothesis_settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), radius_mm=st.floats(0.5, 4.0), scale=st.integers(-3, 12))
def test_approximate_sphere_sums_are_within_their_bound(seed, radius_mm, scale):
    from radiomix.features.local_intensity import _approximate_sphere_sums, _approximation_bound

    rng = np.random.default_rng(seed)
    spacing = tuple(float(s) for s in rng.choice([0.8, 1.0, 1.5, 2.0], size=3))
    rows = sphere_rows(spacing, radius_mm)
    reach = np.abs(rows).max(axis=0)
    shape = tuple(int(n) for n in rng.integers(1, 6, size=3) + 2 * reach)
    intensity = rng.normal(0.0, 1.0, size=shape) * 10.0 ** scale + rng.choice([0.0, 10.0 ** (scale + 2)])
    centres = np.ascontiguousarray(np.argwhere(np.ones(tuple(n - 2 * r for n, r in zip(shape, reach)), dtype=bool))
                                   + reach, dtype=np.int64)
    sums, largest, inside = _approximate_sphere_sums(intensity, np.ravel_multi_index(centres.T, shape), rows)
    assert inside
    n_voxels = int((2 * rows[:, 2] + 1).sum())
    exact = _sphere_means_kernel(intensity, centres, rows, 1, True) * n_voxels  # exact enough: n * mean
    reference = np.array([sum(sorted(intensity[tuple((centre + sphere_offsets(spacing, radius_mm)).T)], key=abs))
                          for centre in centres])
    assert largest == np.abs(intensity).max()
    bound = _approximation_bound(largest, shape[2], len(rows), n_voxels)
    assert np.all(np.abs(sums - reference) <= bound)
    assert np.all(np.abs(exact - reference) <= bound + 4 * np.finfo(float).eps * np.abs(reference))
