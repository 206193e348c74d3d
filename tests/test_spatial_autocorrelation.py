"""Moran's I and Geary's C: both exact methods against the definition, the method choice and the voxel bound."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import InputError, SpecError
from radiomix.features import morphology
from radiomix.features import spatial_autocorrelation as sa
from radiomix.features.base import RoiImage
from radiomix.spec import MorphologySettings, load_spec

FAST = settings(max_examples=30, deadline=None)
REPO = Path(__file__).resolve().parents[1]


def naive_morans_i_gearys_c(positions, values):
    """Moran's I and Geary's C by the definition: double loop over ordered pairs i != j."""
    n = len(values)
    deviations = values - values.mean()
    weight_sum = cross = square_difference = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                weight = 1.0 / np.linalg.norm(positions[i] - positions[j])
                weight_sum += weight
                cross += weight * deviations[i] * deviations[j]
                square_difference += weight * (values[i] - values[j]) ** 2
    squares = (deviations ** 2).sum()
    return n / weight_sum * cross / squares, (n - 1) / (2 * weight_sum) * square_difference / squares


@st.composite
def grids(draw, max_side=5):
    """A random 3D mask (possibly sparse, touching the border), spacing and integer intensities."""
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    mask = rng.random(shape) < draw(st.floats(0.1, 1.0))
    mask.flat[rng.integers(mask.size)] = True
    spacing = tuple(draw(st.sampled_from([0.5, 0.8, 1.0, 1.25, 2.0, 3.0])) for _ in range(3))
    intensity = rng.integers(-5, 6, size=shape).astype(np.float64)
    return mask, spacing, intensity


@FAST
@given(grids())
def test_both_methods_match_the_definition(case):
    mask, spacing, intensity = case
    values = intensity[mask]
    if len(values) < 2 or np.all(values == values[0]):
        for method in ("pairs", "fft"):
            with pytest.raises(InputError):
                sa.grid_morans_i_gearys_c(mask, intensity, spacing, method)
        return
    expected = naive_morans_i_gearys_c(np.argwhere(mask) * np.asarray(spacing), values)
    assert sa.grid_morans_i_gearys_c(mask, intensity, spacing, "pairs") == pytest.approx(expected, rel=1e-9,
                                                                                          abs=1e-12)
    fft = sa.grid_morans_i_gearys_c(mask, intensity, spacing, "fft")
    np.testing.assert_allclose(fft, expected, rtol=0, atol=sa.FFT_TOLERANCE)


@pytest.mark.parametrize("kind", ["noise", "smooth"])
def test_fft_agrees_with_pairs_on_a_larger_anisotropic_roi(kind):
    # noise: Moran's I near 0, the cancellation-prone case; smooth: strong positive autocorrelation
    rng = np.random.default_rng(7)
    shape = (9, 14, 16)
    z, y, x = np.indices(shape)
    mask = ((z - 4) / 4.5) ** 2 + ((y - 6.5) / 7) ** 2 + ((x - 7.5) / 8) ** 2 < 1
    intensity = rng.normal(size=shape) if kind == "noise" else np.sin(y / 2.0) * 50 + 1000 + rng.normal(size=shape)
    pairs = sa.grid_morans_i_gearys_c(mask, intensity, (3.0, 0.7, 0.9), "pairs")
    fft = sa.grid_morans_i_gearys_c(mask, intensity, (3.0, 0.7, 0.9), "fft")
    np.testing.assert_allclose(fft, pairs, rtol=0, atol=sa.FFT_TOLERANCE)
    if kind == "smooth":
        assert pairs[0] > 0.1 and pairs[1] < 0.9


def test_scattered_points_match_the_definition():
    rng = np.random.default_rng(3)
    positions = rng.normal(size=(30, 3)) * 5
    values = rng.normal(size=30)
    assert sa.morans_i_gearys_c(positions, values) == pytest.approx(naive_morans_i_gearys_c(positions, values),
                                                                    rel=1e-9)


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_pair_sums_cover_every_pair_once_for_odd_and_even_counts(n):
    rng = np.random.default_rng(n)
    positions = rng.normal(size=(n, 3)) * 5
    deviations = rng.normal(size=n)
    partial = sa._inverse_distance_sums(
        positions[:, 0].copy(), positions[:, 1].copy(), positions[:, 2].copy(), deviations)
    i, j = np.triu_indices(n, k=1)
    weights = 1.0 / np.linalg.norm(positions[i] - positions[j], axis=1)
    expected = [weights.sum(), (weights * deviations[i] * deviations[j]).sum(),
                (weights * (deviations[i] - deviations[j]) ** 2).sum()]
    np.testing.assert_allclose(partial.sum(axis=0), expected, rtol=1e-12)


def test_two_voxels_are_perfectly_dispersed():
    positions = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.5]])
    assert sa.morans_i_gearys_c(positions, np.array([1.0, 7.0])) == pytest.approx((-1.0, 1.0))
    mask = np.zeros((1, 1, 3), dtype=bool)
    mask[0, 0, [0, 2]] = True
    assert sa.grid_morans_i_gearys_c(mask, np.array([[[1.0, 0.0, 7.0]]]), (1, 1, 1.25), "fft") == pytest.approx(
        (-1.0, 1.0))


def test_method_choice_follows_the_cost():
    assert sa.choose_method(200, (8, 8, 8)) == "pairs"
    assert sa.choose_method(1_500, (12, 14, 16)) == "fft"
    assert sa.choose_method(47_000, (40, 45, 50)) == "fft"
    assert sa.choose_method(2_000, (200, 200, 200)) == "pairs"  # sparse ROI in a wide box
    assert sa.choose_method(700, (14, 12, 10)) == "pairs"  # the FFT's fixed cost: pairs 0.2 ms, FFT 0.3 ms
    assert sa.fft_grid_shape((40, 45, 50)) == tuple(sa.fft_grid_shape((s,))[0] for s in (40, 45, 50))
    assert all(g >= 2 * s - 1 for g, s in zip(sa.fft_grid_shape((40, 45, 50)), (40, 45, 50)))
    with pytest.raises(InputError, match="method"):
        sa.grid_morans_i_gearys_c(np.ones((2, 2, 2), bool), np.arange(8.0).reshape(2, 2, 2), (1, 1, 1), "naive")


def _roi(mask, intensity) -> RoiImage:
    return RoiImage(intensity=intensity, morphological_mask=mask, intensity_mask=mask, spacing=(2.0, 2.0, 2.0),
                    discretised=mask.astype(np.int32), n_levels=1, bin_width=None, lower_bound=0.0,
                    resegmentation_range=(-np.inf, np.inf))


def test_above_max_voxels_moran_the_features_are_skipped_with_a_status():
    mask = np.zeros((5, 5, 5), dtype=bool)
    mask[1:4, 1:4, 1:4] = True
    intensity = np.random.default_rng(0).normal(size=mask.shape)
    bounded = {v.key: v for v in morphology.compute(_roi(mask, intensity), MorphologySettings(max_voxels_moran=26),
                                                    ("3D",))}
    for key in ("morans_i", "gearys_c"):
        assert math.isnan(bounded[key].value)
        assert bounded[key].status.startswith("skipped: ROI of 27 voxels exceeds max_voxels_moran (26)")
    assert bounded["volume_mesh"].status == ""
    exact = {v.key: v for v in morphology.compute(_roi(mask, intensity), MorphologySettings(max_voxels_moran=27),
                                                  ("3D",))}
    unbounded = {v.key: v for v in morphology.compute(_roi(mask, intensity), MorphologySettings(max_voxels_moran=None),
                                                      ("3D",))}
    assert exact["morans_i"].status == "" and exact["morans_i"].value == unbounded["morans_i"].value


def test_shipped_ct_spec_is_bounded_and_a_large_roi_takes_the_fft():
    # a 1.6-million-voxel ball (radius 72.5 voxels) lies under the shipped bound and is computed by FFT
    # on a grid of at most 300^3 elements (1.3 s, 0.6 GB process peak); a larger ROI stops with the status
    bound = load_spec(REPO / "feature_specs" / "ct.yaml").features.morphology.max_voxels_moran
    assert bound is not None and 1_600_000 < bound
    assert sa.choose_method(1_600_000, (145, 145, 145)) == "fft"
    assert math.prod(sa.fft_grid_shape((145, 145, 145))) <= 300 ** 3
    with pytest.raises(SpecError, match="max_voxels_moran"):
        load_spec({"features": {"morphology": {"max_voxels_moran": 1}}})
    assert load_spec({"features": {"morphology": {"max_voxels_moran": None}}}).features.morphology.max_voxels_moran \
        is None


def naive_inverse_distance_kernel(box, grid, spacing):
    """``1 / ||o * spacing||`` at every offset ``0 < |o| < box`` (per axis), wrapped onto the grid; else 0."""
    kernel = np.zeros(grid)
    for offset in np.ndindex(*(2 * s - 1 for s in box)):
        o = np.array(offset) - (np.array(box) - 1)
        if o.any():
            kernel[tuple(o % np.array(grid))] = 1.0 / np.linalg.norm(o * spacing)
    return kernel


def even_spectrum(octant, grid):
    """The ``rfftn`` half grid of an even spectrum from its octant (``K[L - k] = K[k]`` on axes 0 and 1)."""
    mirrored = [np.minimum(np.arange(length), length - np.arange(length)) for length in grid[:2]]
    return octant[mirrored[0]][:, mirrored[1]]


@FAST
@given(st.tuples(*(st.integers(1, 6) for _ in range(3))),
       st.tuples(*(st.sampled_from([0.5, 0.8, 1.0, 2.0, 3.0]) for _ in range(3))))
def test_kernel_spectrum_from_one_octant_is_numpys_full_transform(box, spacing):
    grid = sa.fft_grid_shape(box)
    assert all(g % 2 == 0 and g >= 2 * s - 1 for g, s in zip(grid, box))
    expected = np.fft.rfftn(naive_inverse_distance_kernel(box, grid, spacing))
    found = even_spectrum(sa._inverse_distance_spectrum(box, grid, spacing), grid)
    np.testing.assert_allclose(found, expected.real, rtol=0, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(expected.imag, 0.0, atol=1e-12 * np.abs(expected).max())


def numpy_spectral_sums(octant, spectra, first, count, n_rows):
    """NumPy reference of :func:`sa._spectral_sums`: the full-grid sums of ``K Re(conj(A) B)`` over some planes."""
    grid = spectra.shape[2:]
    mirrored = [np.minimum(np.arange(length), length - np.arange(length)) for length in grid]
    kernel = octant[first:first + count][:, mirrored[0]][:, :, mirrored[1]]
    planes = np.arange(first, first + count)
    weights = kernel * np.where((planes > 0) & (planes < n_rows - 1), 2.0, 1.0)[:, None, None]
    m, d, s = spectra[:, :count]
    return np.array([(weights * (np.conj(a) * b).real).sum() for a, b in ((m, m), (d, d), (s, m))])


@FAST
@given(st.integers(0, 2 ** 32 - 1), st.tuples(*(st.integers(1, 4) for _ in range(2))), st.integers(2, 7),
       st.data())
def test_spectral_sums_are_numpys(seed, half_grid, n_rows, data):
    rng = np.random.default_rng(seed)
    grid = tuple(2 * h for h in half_grid)
    first = data.draw(st.integers(0, n_rows - 1))
    count = data.draw(st.integers(1, n_rows - first))
    spare = data.draw(st.integers(0, 2))  # the block may hold more planes than the ones summed
    octant = rng.normal(size=(n_rows, grid[0] // 2 + 1, grid[1] // 2 + 1))
    shape = (3, count + spare) + grid
    spectra = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    found = sa._spectral_sums(octant, spectra, first, count, n_rows)
    np.testing.assert_allclose(found, numpy_spectral_sums(octant, spectra, first, count, n_rows), rtol=1e-12,
                               atol=1e-12 * np.abs(spectra).max() ** 2 * np.abs(octant).max() * spectra[0].size)


@FAST
@given(grids(max_side=7), st.sampled_from([1, 5, 64, 2 ** 18]))
def test_fft_sums_are_the_pair_sums_for_any_block_size(case, block):
    mask, spacing, intensity = case
    values = intensity[mask]
    if len(values) < 2:
        return
    deviations = values - values.mean()
    corners = np.argwhere(mask)
    box = tuple(slice(low, high + 1) for low, high in zip(corners.min(axis=0), corners.max(axis=0)))
    positions = (corners - corners.min(axis=0)) * np.asarray(spacing)
    pairs = 2.0 * sa._inverse_distance_sums(positions[:, 0].copy(), positions[:, 1].copy(), positions[:, 2].copy(),
                                            deviations).sum(axis=0)  # ordered pairs: each unordered one twice
    deviation_grid = np.zeros(mask[box].shape)
    deviation_grid[mask[box]] = deviations
    default = sa.SPECTRUM_BLOCK_ELEMENTS
    try:
        sa.SPECTRUM_BLOCK_ELEMENTS = block
        fft = sa._fft_inverse_distance_sums(mask[box], deviation_grid, spacing, workers=1)
    finally:
        sa.SPECTRUM_BLOCK_ELEMENTS = default
    scale = pairs[0] * max(1.0, float((deviations ** 2).max()))
    np.testing.assert_allclose(fft, pairs, rtol=1e-12, atol=1e-12 * scale)


def test_fft_sums_do_not_rely_on_scipy_transforming_in_place(monkeypatch):
    # overwrite_x only allows SciPy to reuse its input: a SciPy that returns a fresh array must give the same sums
    rng = np.random.default_rng(5)
    mask = rng.random((5, 6, 7)) < 0.7
    deviation_grid = np.where(mask, rng.normal(size=mask.shape), 0.0)
    deviation_grid[mask] -= deviation_grid[mask].mean()
    monkeypatch.setattr(sa, "SPECTRUM_BLOCK_ELEMENTS", 300)  # several blocks, the last one partial
    in_place = sa._fft_inverse_distance_sums(mask, deviation_grid, (1.0, 2.0, 0.5), workers=1)
    transform = scipy.fft.fft
    monkeypatch.setattr(scipy.fft, "fft", lambda x, **options: transform(x.copy(), **options))
    assert sa._fft_inverse_distance_sums(mask, deviation_grid, (1.0, 2.0, 0.5), workers=1) == pytest.approx(in_place,
                                                                                                          rel=1e-14)
