"""The filters of pyradiomics' image types against their oracles, on small random images (hypothesis).

- the recursive LoG against SimpleITK's ``LaplacianRecursiveGaussian`` and ITK's line recursion
  written out in plain Python (on columns, along each axis and in planes, serial and parallel);
- the stationary wavelet against pyradiomics' ``_swt3`` (PyWavelets; skipped without
  pyradiomics) and a plain circular convolution, its kernel and term tables along each axis;
- the gradient magnitude against SimpleITK; LBP2D against scikit-image; LBP3D against a
  voxel-by-voxel loop, its icosphere and spherical harmonics against their definitions;
- the blocked transpose against NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pywt
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, special, stats

from radiomix import _numba
from radiomix.preprocess.filters import intensity_transforms
from radiomix.preprocess.filters.gradient import gradient_magnitude
from radiomix.preprocess.filters.local_binary_pattern import local_binary_pattern_2d
from radiomix.preprocess.filters.local_binary_pattern_3d import (
    icosphere_vertices,
    legacy_spherical_harmonic,
    local_binary_pattern_3d,
)
from radiomix.preprocess.filters.recursive_log import (
    deriche_coefficients,
    filter_axis,
    filter_columns,
    filter_in_planes,
    laplacian_of_gaussian,
)
from radiomix.preprocess.filters.stationary_wavelet import (
    _taps,
    filter_pair_along_axis,
    pywavelets_filters,
    stationary_wavelet,
)
from radiomix.preprocess.filters.transpose import transpose_into

PROPERTY = settings(max_examples=25, deadline=None)
RELATIVE = 1e-6
"""Relative tolerance of float32 filters against their references (their sums differ in order)."""


def assert_close(ours: np.ndarray, theirs: np.ndarray, context: str) -> None:
    """Same dtype and shape; equal integers; floats within ``RELATIVE`` of the reference's scale."""
    assert ours.dtype == theirs.dtype, f"{context}: dtype {ours.dtype}, reference {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{context}: shape {ours.shape}, reference {theirs.shape}"
    if ours.dtype.kind != "f":
        np.testing.assert_array_equal(ours, theirs, err_msg=context)
        return
    scale = max(1.0, float(np.nanmax(np.abs(theirs)))) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=RELATIVE, atol=RELATIVE * scale, equal_nan=True, err_msg=context)


@st.composite
def images(draw, minimum=1, maximum=7, dtypes=(np.int16, np.float32, np.float64)):
    """A small random (z, y, x) image, its spacing (mm) and a random box inside it."""
    shape = draw(st.tuples(*[st.integers(minimum, maximum)] * 3))
    dtype = draw(st.sampled_from(dtypes))
    elements = st.integers(-200, 200) if np.dtype(dtype).kind == "i" else st.floats(-200, 200, width=32)
    values = draw(arrays(dtype, shape, elements=elements))
    spacing = draw(st.tuples(*[st.sampled_from([0.5, 0.8, 1.0, 2.5])] * 3))
    box = []
    for n in shape:
        start = draw(st.integers(0, n - 1))
        box.append(slice(start, draw(st.integers(start + 1, n))))
    return values, spacing, tuple(box)


def sitk_image(values: np.ndarray, spacing_zyx) -> sitk.Image:
    image = sitk.GetImageFromArray(values)
    image.SetSpacing(tuple(reversed(spacing_zyx)))
    return image


def naive_filter_line(data: np.ndarray, c: np.ndarray) -> np.ndarray:
    """ITK's FilterDataArray for one line, plain Python (constant extension of the end values)."""
    n0, n1, n2, n3, d1, d2, d3, d4, m1, m2, m3, m4, bn1, bn2, bn3, bn4, bm1, bm2, bm3, bm4 = c
    n = len(data)
    causal, anti = [0.0] * n, [0.0] * n
    e = data[0]
    causal[0] = e * n0 + e * n1 + e * n2 + e * n3 - (e * bn1 + e * bn2 + e * bn3 + e * bn4)
    causal[1] = data[1] * n0 + e * n1 + e * n2 + e * n3 - (causal[0] * d1 + e * bn2 + e * bn3 + e * bn4)
    causal[2] = data[2] * n0 + data[1] * n1 + e * n2 + e * n3 - (causal[1] * d1 + causal[0] * d2 + e * bn3 + e * bn4)
    causal[3] = (data[3] * n0 + data[2] * n1 + data[1] * n2 + e * n3
                 - (causal[2] * d1 + causal[1] * d2 + causal[0] * d3 + e * bn4))
    for i in range(4, n):
        causal[i] = (data[i] * n0 + data[i - 1] * n1 + data[i - 2] * n2 + data[i - 3] * n3
                     - (causal[i - 1] * d1 + causal[i - 2] * d2 + causal[i - 3] * d3 + causal[i - 4] * d4))
    e, last = data[n - 1], n - 1
    anti[last] = e * m1 + e * m2 + e * m3 + e * m4 - (e * bm1 + e * bm2 + e * bm3 + e * bm4)
    anti[last - 1] = data[last] * m1 + e * m2 + e * m3 + e * m4 - (anti[last] * d1 + e * bm2 + e * bm3 + e * bm4)
    anti[last - 2] = (data[last - 1] * m1 + data[last] * m2 + e * m3 + e * m4
                      - (anti[last - 1] * d1 + anti[last] * d2 + e * bm3 + e * bm4))
    anti[last - 3] = (data[last - 2] * m1 + data[last - 1] * m2 + data[last] * m3 + e * m4
                      - (anti[last - 2] * d1 + anti[last - 1] * d2 + anti[last] * d3 + e * bm4))
    for i in range(n - 4, 0, -1):
        anti[i - 1] = (data[i] * m1 + data[i + 1] * m2 + data[i + 2] * m3 + data[i + 3] * m4
                       - (anti[i] * d1 + anti[i + 1] * d2 + anti[i + 2] * d3 + anti[i + 3] * d4))
    return np.array(causal) + np.array(anti)


@PROPERTY
@given(st.integers(4, 30), st.integers(1, 12), st.sampled_from([0, 2]), st.floats(0.3, 6.0), st.floats(0.4, 3.0),
       st.sampled_from([np.float64, np.float32, np.int16]), st.integers(0, 2 ** 16), st.data())
def test_line_recursion_equals_itk_formulas(length, n_columns, order, sigma, spacing, dtype, seed, data_strategy):
    coefficients = deriche_coefficients(sigma, spacing, order, True)
    data = (np.random.default_rng(seed).normal(size=(length, n_columns)) * 100).astype(dtype)
    first = data_strategy.draw(st.integers(0, n_columns - 1))
    count = data_strategy.draw(st.integers(1, n_columns - first))
    start = data_strategy.draw(st.integers(0, length - 1))
    stop = data_strategy.draw(st.integers(start + 1, length))
    out_first = data_strategy.draw(st.integers(0, 3))
    causal, anticausal = np.empty((length, count + 2)), np.empty((8, count + 2))
    out = np.full((stop - start, out_first + count + 1), np.nan, dtype=np.float32)
    filter_columns(data, first, count, coefficients, causal, anticausal, start, out, out_first)
    for line in range(count):
        expected = naive_filter_line(data[:, first + line].astype(np.float64), coefficients)[start:stop]
        np.testing.assert_array_equal(out[:, out_first + line], expected.astype(np.float32))
    assert np.isnan(out[:, :out_first]).all() and np.isnan(out[:, out_first + count:]).all()


@PROPERTY
@given(images(minimum=4, maximum=9), st.integers(0, 2), st.sampled_from([0, 2]), st.sampled_from([0.5, 1.0, 3.0]),
       st.booleans())
def test_filter_axis_equals_line_by_line_recursion(image, axis, order, sigma, parallel):
    values, spacing, box = image
    coefficients = deriche_coefficients(sigma, spacing[axis], order, True)
    if parallel:  # every thread filters its own chunk of lines
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
            result = filter_axis(values, axis, coefficients, box[axis])
    else:
        result = filter_axis(np.moveaxis(np.moveaxis(values, axis, 0).copy(), 0, axis), axis, coefficients, box[axis])
    expected = np.apply_along_axis(lambda line: naive_filter_line(line.astype(np.float64), coefficients)[box[axis]],
                                   axis, values).astype(np.float32)
    assert result.dtype == np.float32 and result.flags.c_contiguous
    np.testing.assert_array_equal(result, expected)


@PROPERTY
@given(images(minimum=4, maximum=9), st.sampled_from([1, 2]), st.sampled_from([0.5, 2.0]), st.booleans())
def test_filter_in_planes_equals_two_passes(image, first_axis, sigma, parallel):
    values, spacing, box = image
    second_axis = 3 - first_axis
    first = deriche_coefficients(sigma, spacing[first_axis], 2, True)
    second = deriche_coefficients(sigma, spacing[second_axis], 0, False)
    expected = filter_axis(filter_axis(values, first_axis, first, box[first_axis]), second_axis, second,
                           box[second_axis])
    with pytest.MonkeyPatch.context() as patch:
        if parallel:
            patch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
        np.testing.assert_array_equal(filter_in_planes(values, first_axis, first, box[first_axis], second,
                                                       box[second_axis]), expected)


@PROPERTY
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from([np.float32, np.float64, np.int16]),
       st.integers(0, 2 ** 16))
def test_transpose_into_equals_numpy(rows, columns, dtype, seed):
    source = (np.random.default_rng(seed).normal(size=(rows, columns)) * 100).astype(dtype)
    target = np.empty((columns, rows))
    transpose_into(source, target)
    np.testing.assert_array_equal(target, source.T.astype(np.float64))


@PROPERTY
@given(images(minimum=4, maximum=9), st.sampled_from([0.5, 1.0, 2.0, 3.5]))
def test_log_equals_simpleitk(image, sigma):
    values, spacing, box = image
    log = sitk.LaplacianRecursiveGaussianImageFilter()
    log.SetNormalizeAcrossScale(True)
    log.SetSigma(sigma)
    expected = sitk.GetArrayFromImage(log.Execute(sitk_image(values, spacing)))[box]
    np.testing.assert_allclose(laplacian_of_gaussian(values, spacing, sigma, box), expected, rtol=1e-6,
                               atol=1e-6 * max(1.0, float(np.abs(expected).max())))


@PROPERTY
@given(images(minimum=1, maximum=8), st.sampled_from(["coif1", "haar", "db3", "bior1.3", "sym4"]),
       st.integers(0, 1), st.integers(1, 2), st.sampled_from([None, 0, 1, 2]))
def test_wavelet_equals_pyradiomics_swt(image, wavelet, start_level, level, force2d):
    imageoperations = pytest.importorskip("radiomics.imageoperations")
    values, spacing, box = image
    axes = [2, 1, 0] if force2d is None else [a for a in (2, 1, 0) if a != force2d]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_approximation, expected = imageoperations._swt3(
            sitk_image(values, spacing), tuple(axes), wavelet=wavelet, start_level=start_level, level=level)
    levels, approximation = stationary_wavelet(values, wavelet, start_level, level, tuple(axes), box)
    assert len(levels) == len(expected)
    for ours, theirs in zip(levels, expected):
        assert list(ours.details) == list(theirs)
        for name, detail in ours.details.items():
            assert_close(detail, sitk.GetArrayFromImage(theirs[name])[box], name)
    assert_close(approximation, sitk.GetArrayFromImage(expected_approximation)[box], "approximation")


def naive_circular_swt(line: np.ndarray, wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    """One-level SWT of a 1D signal as a circular convolution ``sum_j h[j] x[(n + L/2 - j) mod N]`` (float64)."""
    bank = pywt.Wavelet(wavelet)
    n, half = len(line), bank.dec_len // 2
    out = []
    for taps in (bank.dec_lo, bank.dec_hi):
        out.append(np.array([sum(taps[j] * line[(k + half - j) % n] for j in range(bank.dec_len)) for k in range(n)]))
    return out[0], out[1]


@PROPERTY
@given(st.integers(1, 6).map(lambda k: 2 * k), st.sampled_from(["coif1", "db2", "haar"]), st.integers(0, 2 ** 16))
def test_wavelet_kernel_equals_circular_convolution(length, wavelet, seed):
    line = np.random.default_rng(seed).normal(size=length)
    levels, approximation = stationary_wavelet(line[None, None, :], wavelet, 0, 1, (2,),
                                               (slice(0, 1), slice(0, 1), slice(0, length)))
    low, high = naive_circular_swt(line, wavelet)
    np.testing.assert_allclose(approximation[0, 0], low, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(levels[0].details["H"][0, 0], high, rtol=1e-12, atol=1e-12)


def naive_filter_pair(values, axis, filter_index, input_position, low, high):
    """``out[.., p, ..] = sum_t h[j_pt] values[.., i_pt, ..]`` along ``axis``, term by term in order (NumPy)."""
    moved = np.moveaxis(values, axis, 0)
    outputs = []
    for taps in (low, high):
        out = np.empty((filter_index.shape[0],) + moved.shape[1:], dtype=taps.dtype)
        for p in range(filter_index.shape[0]):
            total = taps[filter_index[p, 0]] * moved[input_position[p, 0]]
            for t in range(1, filter_index.shape[1]):
                total = total + taps[filter_index[p, t]] * moved[input_position[p, t]]
            out[p] = total
        outputs.append(np.moveaxis(out, 0, axis))
    return outputs


@PROPERTY
@given(st.tuples(*[st.integers(1, 12)] * 3), st.integers(0, 2), st.sampled_from(["coif1", "haar", "db3"]),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 16), st.data())
def test_filter_pair_along_axis_equals_naive(shape, axis, wavelet, dtype, seed, data_strategy):
    values = (np.random.default_rng(seed).normal(size=shape) * 100).astype(dtype)
    low, high = pywavelets_filters(wavelet, np.dtype(dtype))
    padded_length = shape[axis] + shape[axis] % 2
    grid = np.arange(padded_length)
    values = np.concatenate([values, np.take(values, [0] * (shape[axis] % 2), axis=axis)], axis=axis)
    start = data_strategy.draw(st.integers(0, padded_length - 1))
    outputs = np.arange(start, data_strategy.draw(st.integers(start + 1, padded_length)))
    filter_index, input_position = _taps(outputs, grid, low.size // 2, low.size, padded_length)
    out_shape = list(values.shape)
    out_shape[axis] = outputs.size
    approximation, detail = np.empty(out_shape, dtype=dtype), np.empty(out_shape, dtype=dtype)
    n_units = values.shape[1] * values.shape[2] if axis == 0 else values.shape[0]
    filter_pair_along_axis(np.ascontiguousarray(values), axis, filter_index, input_position, low, high, approximation,
                           detail, 0, n_units)
    expected_approximation, expected_detail = naive_filter_pair(values, axis, filter_index, input_position, low, high)
    np.testing.assert_array_equal(approximation, expected_approximation)
    np.testing.assert_array_equal(detail, expected_detail)


@PROPERTY
@given(images(), st.booleans())
def test_gradient_equals_simpleitk(image, use_spacing):
    values, spacing, box = image
    gradient = sitk.GradientMagnitudeImageFilter()
    gradient.SetUseImageSpacing(use_spacing)
    expected = sitk.GetArrayFromImage(gradient.Execute(sitk_image(values, spacing)))[box]
    assert_close(gradient_magnitude(values, spacing, use_spacing, box), expected, "gradient")


@PROPERTY
@given(images(minimum=2, maximum=7), st.sampled_from(["default", "ror", "uniform", "var"]),
       st.sampled_from([(8, 1.0), (4, 2.0), (12, 1.5)]), st.integers(0, 2))
def test_lbp2d_equals_scikit_image(image, method, samples_radius, axis):
    from skimage.feature import local_binary_pattern

    values, _, box = image
    samples, radius = samples_radius
    moved = np.swapaxes(values, 0, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.stack([local_binary_pattern(plane, P=samples, R=radius, method=method) for plane in moved])
    expected = np.swapaxes(expected, 0, axis)[box]
    np.testing.assert_array_equal(local_binary_pattern_2d(values, axis, samples, radius, method, box), expected)


def test_legacy_spherical_harmonic_equals_scipy_in_the_polar_range():
    azimuth = np.linspace(-3.0, 6.0, 11)
    polar = np.linspace(0.0, np.pi, 11)
    for n in range(4):
        for m in range(-n, n + 1):
            np.testing.assert_allclose(legacy_spherical_harmonic(m, n, azimuth, polar),
                                       special.sph_harm_y(n, m, polar, azimuth), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("subdivisions, count", [(0, 12), (1, 42), (2, 162)])
@pytest.mark.parametrize("radius", [1.0, 1.7])
def test_icosphere_vertices_lie_on_the_sphere(subdivisions, count, radius):
    vertices = icosphere_vertices(subdivisions, radius)
    assert vertices.shape == (count, 3)
    np.testing.assert_allclose(np.linalg.norm(vertices, axis=1), radius, rtol=1e-12)
    assert len(np.unique(np.round(vertices, 9), axis=0)) == count


def naive_lbp3d(values, roi, levels, radius, subdivisions):
    """pyradiomics' LBP3D, one voxel at a time with explicit loops."""
    vertices = icosphere_vertices(subdivisions, radius)
    theta = np.arccos(vertices[:, 2] / radius)
    phi = np.arctan2(vertices[:, 1], vertices[:, 0])
    harmonics = {(n, m): legacy_spherical_harmonic(m, n, theta, phi) for n in range(levels) for m in range(-n, n + 1)}
    norms = [np.zeros(values.shape) for _ in range(levels)]
    kurtosis = np.zeros(values.shape)
    for voxel in zip(*np.nonzero(roi)):
        samples = ndimage.map_coordinates(values, (np.array(voxel)[None, :] + vertices).T, order=3)
        kurtosis[voxel] = stats.kurtosis(samples)
        above = (samples >= values[voxel]).astype(float)
        for n in range(levels):
            per_vertex = sum(np.sum(above * harmonics[n, m]) * harmonics[n, m] for m in range(-n, n + 1))
            norms[n][voxel] = np.real(np.sqrt(np.sum(per_vertex ** 2)))
    return norms, kurtosis


@settings(max_examples=10, deadline=None)
@given(images(minimum=3, maximum=5, dtypes=(np.float64,)), st.integers(1, 3), st.sampled_from([1.0, 1.5]),
       st.integers(0, 1))
def test_lbp3d_equals_voxel_by_voxel_reference(image, levels, radius, subdivisions):
    values, _, box = image
    roi = np.zeros(values.shape, dtype=bool)
    roi[box] = True
    norms, kurtosis = local_binary_pattern_3d(values, roi, levels, radius, subdivisions)
    expected_norms, expected_kurtosis = naive_lbp3d(values, roi, levels, radius, subdivisions)
    for ours, theirs in zip(norms, expected_norms):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(kurtosis, expected_kurtosis, rtol=1e-7, atol=1e-7, equal_nan=True)


@PROPERTY
@given(images(), st.sampled_from(["square", "square_root", "logarithm", "exponential"]))
def test_intensity_transforms_on_a_box_equal_their_definition_on_the_whole_image(image, name):
    values, _, box = image
    whole = values.astype(np.float64)
    largest = np.abs(whole).max()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if name == "square":
            expected = (whole / np.sqrt(largest)) ** 2
        elif name == "square_root":
            expected = np.sign(whole) * np.sqrt(np.abs(whole) * largest)
        elif name == "logarithm":  # rescaled so that the largest |value| over the whole image is max|x|
            logarithm = np.sign(whole) * np.log(np.abs(whole) + 1)
            expected = logarithm * (largest / np.abs(logarithm).max())
        else:
            expected = np.exp(whole * np.log(largest) / largest)
        result = getattr(intensity_transforms, name)(values, box)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected[box], rtol=1e-12, atol=1e-12, equal_nan=True)
