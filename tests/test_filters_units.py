"""Each IBSI-2 filter checked by hand on small inputs, and against scipy.ndimage / PyWavelets.

Hand checks use impulses (the response is the kernel itself), constants and
pure sinusoids (whose responses are known in closed form); comparisons use the
libraries where they compute the same thing (mean filter, separable and full
convolutions, the stationary wavelet transform).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import pywt
import SimpleITK as sitk
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy import ndimage

from radiomix.errors import SpecError
from radiomix.preprocess.filters import filter_image, response_map
from radiomix.preprocess.filters.boundary import SCIPY_MODES
from radiomix.preprocess.filters.gabor import gabor_kernel
from radiomix.preprocess.filters.laws import laws_kernel
from radiomix.preprocess.filters.settings import (
    FILTER_SETTINGS,
    GaborFilterSettings,
    LawsFilterSettings,
    LogFilterSettings,
    MeanFilterSettings,
    RieszFilterSettings,
    SimoncelliFilterSettings,
    WaveletFilterSettings,
    filter_image_type_name,
    filter_to_dict,
    parse_filter,
    parse_filters,
)

BOUNDARIES = ("zero", "nearest", "periodic", "mirror")
ISOTROPIC = (1.0, 1.0, 1.0)


def impulse(shape=(15, 15, 15), value=1.0) -> tuple[np.ndarray, tuple[int, ...]]:
    """A zero volume with ``value`` at its centre voxel, and that voxel's index."""
    array = np.zeros(shape)
    centre = tuple(n // 2 for n in shape)
    array[centre] = value
    return array, centre


# ---------------------------------------------------------------- mean

@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_mean_matches_scipy_uniform_filter(boundary):
    image = np.random.default_rng(0).normal(size=(9, 10, 11))
    three_d = response_map(image, ISOTROPIC, MeanFilterSettings(5, "3D", boundary))
    two_d = response_map(image, ISOTROPIC, MeanFilterSettings(5, "2D", boundary))
    mode = SCIPY_MODES[boundary]
    np.testing.assert_allclose(three_d, ndimage.uniform_filter(image, 5, mode=mode), atol=1e-12)
    np.testing.assert_allclose(two_d, ndimage.uniform_filter(image, (1, 5, 5), mode=mode), atol=1e-12)


def test_mean_of_an_impulse_is_a_flat_cube():
    image, _ = impulse((7, 7, 7), 27.0)
    response = response_map(image, ISOTROPIC, MeanFilterSettings(3, "3D", "zero"))
    assert response[2:5, 2:5, 2:5] == pytest.approx(np.ones((3, 3, 3)))
    assert response.sum() == pytest.approx(27.0)
    slice_wise = response_map(image, ISOTROPIC, MeanFilterSettings(3, "2D", "zero"))
    assert slice_wise[3, 2:5, 2:5] == pytest.approx(np.full((3, 3), 3.0))
    assert np.count_nonzero(slice_wise) == 9


# ---------------------------------------------------------------- LoG

def analytic_log(position_mm: np.ndarray, sigma_mm: float, dimensions: int) -> np.ndarray:
    """The IBSI-2 LoG formula; ``position_mm`` has the coordinates on its last axis."""
    squared = np.sum(position_mm ** 2, axis=-1)
    return (-1.0 / sigma_mm ** 2 * (2 * math.pi * sigma_mm ** 2) ** (-dimensions / 2)
            * (dimensions - squared / sigma_mm ** 2) * np.exp(-squared / (2 * sigma_mm ** 2)))


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.8, 1.1)])
def test_log_impulse_response_is_the_sampled_formula(spacing):
    image, centre = impulse((31, 31, 31))
    settings = LogFilterSettings(sigma_mm=2.0, truncate=4.0, dimensions="3D", boundary_condition="zero")
    response = response_map(image, spacing, settings)
    offsets = np.stack(np.meshgrid(*[np.arange(n) - c for n, c in zip(image.shape, centre)], indexing="ij"), -1)
    position_mm = offsets * np.array(spacing)
    radius = [math.floor(4.0 * 2.0 / s + 0.5) for s in spacing]
    inside = np.all(np.abs(offsets) <= np.array(radius), axis=-1)
    unit = np.prod(spacing) ** (1 / 3)
    expected = np.where(inside, unit ** 2 * np.prod(spacing) * analytic_log(position_mm, 2.0, 3), 0.0)
    np.testing.assert_allclose(response, expected, atol=1e-12)


def test_log_2d_impulse_response_and_voxel_units():
    image, _ = impulse((3, 25, 25))
    response = response_map(image, (2.0, 2.0, 2.0), LogFilterSettings(3.0, 4.0, "2D", "zero"))
    # 2 mm voxels: sigma is 1.5 voxels and the response is per voxel^2
    offsets = np.stack(np.meshgrid(np.arange(25) - 12, np.arange(25) - 12, indexing="ij"), -1)
    inside = np.all(np.abs(offsets) <= 6, axis=-1)
    expected = np.where(inside, analytic_log(offsets.astype(float), 1.5, 2), 0.0)
    np.testing.assert_allclose(response[1], expected, atol=1e-12)
    assert not response[0].any() and not response[2].any()


def test_log_of_a_quadratic_is_twice_the_dimension():
    grid = np.meshgrid(*[np.arange(-10.0, 11.0)] * 3, indexing="ij")
    quadratic = sum(g ** 2 for g in grid)
    response = response_map(quadratic, ISOTROPIC, LogFilterSettings(1.5, 6.0, "3D", "mirror"))
    assert response[10, 10, 10] == pytest.approx(6.0, abs=1e-6)  # kernel truncated at 6 sigma


def test_log_of_a_constant_is_nearly_zero_and_periodic_matches_scipy_convolve():
    constant = np.full((6, 7, 8), 5.0)
    response = response_map(constant, ISOTROPIC, LogFilterSettings(1.0, 4.0, "3D", "nearest"))
    offsets = np.stack(np.meshgrid(*[np.arange(-4.0, 5.0)] * 3, indexing="ij"), -1)
    kernel_sum = analytic_log(offsets, 1.0, 3).sum()  # not 0: the kernel is truncated at 4 sigma
    assert abs(kernel_sum) < 1e-3
    np.testing.assert_allclose(response, 5.0 * kernel_sum, atol=1e-12)
    image = np.random.default_rng(1).normal(size=(9, 9, 9))
    settings = LogFilterSettings(1.0, 3.0, "3D", "periodic")
    kernel, _ = impulse((7, 7, 7))
    kernel = response_map(kernel, ISOTROPIC, LogFilterSettings(1.0, 3.0, "3D", "zero"))
    np.testing.assert_allclose(response_map(image, ISOTROPIC, settings),
                               ndimage.convolve(image, kernel, mode="wrap"), atol=1e-12)


# ---------------------------------------------------------------- Laws

def test_laws_kernels_have_unit_norm_and_the_standard_taps():
    assert laws_kernel("L5") * math.sqrt(70) == pytest.approx([1, 4, 6, 4, 1])
    assert laws_kernel("E5") * math.sqrt(10) == pytest.approx([-1, -2, 0, 2, 1])
    assert laws_kernel("S5") * math.sqrt(6) == pytest.approx([-1, 0, 2, 0, -1])
    for name in ("W5", "R5", "L3", "E3", "S3"):
        assert np.linalg.norm(laws_kernel(name)) == pytest.approx(1.0)


def test_laws_impulse_response_is_the_kernel_laid_out_along_x_y_z():
    image, (z, y, x) = impulse((11, 11, 11))
    response = response_map(image, ISOTROPIC, LawsFilterSettings("E5L5S5", boundary_condition="zero"))
    expected = np.einsum("i,j,k->ijk", laws_kernel("S5"), laws_kernel("L5"), laws_kernel("E5"))
    np.testing.assert_allclose(response[z - 2:z + 3, y - 2:y + 3, x - 2:x + 3], expected, atol=1e-15)
    assert np.count_nonzero(response) == np.count_nonzero(expected)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_laws_matches_scipy_convolve_and_energy_matches_uniform_filter(boundary):
    image = np.random.default_rng(2).normal(size=(8, 9, 10))
    kernel = np.einsum("i,j,k->ijk", laws_kernel("R5"), laws_kernel("W5"), laws_kernel("E3"))
    mode = SCIPY_MODES[boundary]
    plain = response_map(image, ISOTROPIC, LawsFilterSettings("E3W5R5", boundary_condition=boundary))
    np.testing.assert_allclose(plain, ndimage.convolve(image, kernel, mode=mode), atol=1e-12)
    energy = response_map(image, ISOTROPIC, LawsFilterSettings("E3W5R5", energy_delta=2, boundary_condition=boundary))
    np.testing.assert_allclose(energy, ndimage.uniform_filter(np.abs(plain), 5, mode=mode), atol=1e-12)


def test_laws_rotation_invariance_of_an_impulse_is_the_largest_rotated_tap():
    image, (z, y, x) = impulse((9, 9, 9))
    pooled = response_map(image, ISOTROPIC, LawsFilterSettings("E5L5S5", rotation_invariance=True,
                                                               boundary_condition="zero"))
    e5, l5, s5 = (laws_kernel(n) for n in ("E5", "L5", "S5"))
    # the impulse response of a rotated kernel at offset d is its tap at d: at the centre every
    # rotation multiplies the middle taps, and E5's middle tap is 0
    assert pooled[z, y, x] == pytest.approx(0.0)
    # one voxel along x: only rotations with E5 along x are non-zero, and E5 is antisymmetric,
    # so the largest is |E5[+1] L5[0] S5[0]|
    assert pooled[z, y, x + 1] == pytest.approx(abs(e5[3] * l5[2] * s5[2]))
    # two voxels along z and along y: E5 along z (or y), S5/L5 middle taps elsewhere
    assert pooled[z + 2, y, x] == pytest.approx(abs(e5[4] * l5[2] * s5[2]))


def test_laws_2d_filters_each_slice_only():
    image, (z, _, _) = impulse((5, 9, 9))
    response = response_map(image, ISOTROPIC, LawsFilterSettings("L5S5", dimensions="2D", boundary_condition="zero"))
    assert np.count_nonzero(response[z]) == 25 - 10  # S5 has two zero taps (rows)
    assert not np.delete(response, z, axis=0).any()


# ---------------------------------------------------------------- Gabor

def gabor_settings(**changes) -> GaborFilterSettings:
    values = {"sigma_mm": 3.0, "lambda_mm": 4.0, "gamma": 0.5, "theta_deg": 30.0, "boundary_condition": "zero"}
    values.update(changes)
    return GaborFilterSettings(**values)


def test_gabor_impulse_response_is_the_kernel_envelope_and_carrier():
    settings = gabor_settings(response="real")
    image, (z, y, x) = impulse((3, 41, 41))
    real = response_map(image, ISOTROPIC, settings)
    modulus = response_map(image, ISOTROPIC, gabor_settings())
    for dy, dx in ((0, 0), (1, 2), (-3, 1), (4, -4)):
        theta = math.radians(30.0)
        along = dx * math.cos(theta) + dy * math.sin(theta)
        across = -dx * math.sin(theta) + dy * math.cos(theta)
        envelope = math.exp(-(along ** 2 + 0.25 * across ** 2) / (2 * 9.0))
        assert modulus[z, y + dy, x + dx] == pytest.approx(envelope, abs=1e-12)
        assert real[z, y + dy, x + dx] == pytest.approx(envelope * math.cos(2 * math.pi * along / 4.0), abs=1e-12)
    assert not modulus[z - 1].any()


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_gabor_matches_scipy_convolve_of_the_complex_kernel(boundary):
    image = np.random.default_rng(3).normal(size=(3, 12, 13))
    settings = gabor_settings(sigma_mm=1.5, lambda_mm=3.0, truncate=2.0, boundary_condition=boundary)
    kernel = gabor_kernel(settings, 30.0, 1.0, 1.0)[None]
    mode = SCIPY_MODES[boundary]
    expected = np.abs(ndimage.convolve(image, kernel.real, mode=mode)
                      + 1j * ndimage.convolve(image, kernel.imag, mode=mode))
    np.testing.assert_allclose(response_map(image, ISOTROPIC, settings), expected, atol=1e-10)


def test_gabor_rotation_invariance_averages_orientations_and_planes():
    image = np.random.default_rng(4).normal(size=(10, 11, 12))
    pooled = response_map(image, ISOTROPIC, gabor_settings(theta_deg=0.0, theta_step_deg=90.0, planes="orthogonal"))
    single = []
    for theta in (0.0, 90.0, 180.0, 270.0):
        axial = response_map(image, ISOTROPIC, gabor_settings(theta_deg=theta))
        coronal = np.moveaxis(response_map(np.moveaxis(image, 1, 0), ISOTROPIC, gabor_settings(theta_deg=theta)), 0, 1)
        sagittal = np.moveaxis(response_map(np.moveaxis(image, 2, 0), ISOTROPIC, gabor_settings(theta_deg=theta)), 0, 2)
        single += [axial, coronal, sagittal]
    np.testing.assert_allclose(pooled, np.mean(single, axis=0), atol=1e-10)


def test_gabor_kernel_is_sampled_in_mm():
    settings = gabor_settings(sigma_mm=2.0, gamma=1.0, truncate=2.0)
    kernel = gabor_kernel(settings, 0.0, 0.5, 2.0)
    assert kernel.shape == (17, 5)  # 4 mm reach: 8 voxels of 0.5 mm along y, 2 of 2 mm along x
    assert abs(kernel[8, 3]) == pytest.approx(math.exp(-4.0 / 8.0))


# ---------------------------------------------------------------- separable wavelets

@pytest.mark.parametrize("wavelet", ["haar", "db2", "db3", "coif1", "sym4", "bior2.2"])
@pytest.mark.parametrize("level", [1, 2])
def test_wavelet_periodic_equals_pywavelets_stationary_transform(wavelet, level):
    image = np.random.default_rng(5).normal(size=(16, 16, 16))
    coefficients = pywt.swtn(image, wavelet, level=level, axes=(0, 1, 2), trim_approx=False)[0]
    for key in ("aad", "ada", "dda", "ddd", "aaa"):
        # PyWavelets keys run over the array axes (z, y, x); sub-bands are written along x, y, z
        subband = "".join("L" if letter == "a" else "H" for letter in reversed(key))
        settings = WaveletFilterSettings(wavelet, subband, level, boundary_condition="periodic")
        np.testing.assert_allclose(response_map(image, ISOTROPIC, settings), coefficients[key], atol=1e-10)


def test_wavelet_2d_matches_pywavelets_per_slice():
    image = np.random.default_rng(6).normal(size=(3, 16, 16))
    coefficients = pywt.swtn(image, "db2", level=1, axes=(1, 2), trim_approx=False)[0]
    settings = WaveletFilterSettings("db2", "HL", 1, "2D", boundary_condition="periodic")
    np.testing.assert_allclose(response_map(image, ISOTROPIC, settings), coefficients["ad"], atol=1e-10)


def test_haar_high_pass_of_an_impulse():
    image, (z, y, x) = impulse((8, 8, 8))
    response = response_map(image, ISOTROPIC, WaveletFilterSettings("haar", "HLL", boundary_condition="zero"))
    low = 1 / math.sqrt(2)
    # dec_hi = [-1, 1] / sqrt(2) centred on its second tap: out[i] = h[0] in[i+1] + h[1] in[i]
    assert response[z, y, x] == pytest.approx(low * low * low)
    assert response[z, y, x - 1] == pytest.approx(-low * low * low)
    assert np.count_nonzero(response) == 8


def test_wavelet_rotation_invariance_is_the_mean_over_turned_images():
    image = np.random.default_rng(7).normal(size=(6, 6, 6))
    pooled = response_map(image, ISOTROPIC, WaveletFilterSettings("haar", "HLL", rotation_invariance=True,
                                                                  boundary_condition="periodic"))
    # the 24 rotations of a filter with one H put the H on each axis (3) with every flip of the
    # three axes (8); a flipped filter is the filter applied to the flipped image, flipped back
    responses = []
    for subband in ("HLL", "LHL", "LLH"):
        settings = WaveletFilterSettings("haar", subband, boundary_condition="periodic")
        for flips in itertools.product((False, True), repeat=3):
            axes = tuple(a for a, flip in enumerate(flips) if flip)
            turned = np.flip(image, axes) if axes else image
            response = response_map(np.ascontiguousarray(turned), ISOTROPIC, settings)
            responses.append(np.flip(response, axes) if axes else response)
    np.testing.assert_allclose(pooled, np.mean(responses, axis=0), atol=1e-12)


# ---------------------------------------------------------------- Simoncelli and Riesz

def cosine_along_x(shape, cycles) -> np.ndarray:
    x = np.arange(shape[2])
    return np.broadcast_to(np.cos(2 * math.pi * cycles * x / shape[2]), shape).copy()


def test_simoncelli_passes_a_cosine_with_its_band_gain():
    shape = (9, 9, 33)  # odd sizes: the frequency grid holds 0 and k / ((n - 1) / 2)
    for cycles in (4, 8, 12):
        image = cosine_along_x(shape, cycles)
        frequency = cycles / ((shape[2] - 1) / 2)
        for level in (1, 2):
            top = 2.0 ** (1 - level)
            gain = math.cos(math.pi / 2 * math.log2(2 * frequency / top)) if top / 4 <= frequency <= top else 0.0
            response = response_map(image, ISOTROPIC, SimoncelliFilterSettings(level, "3D", "periodic"))
            np.testing.assert_allclose(response, gain * image, atol=1e-10)


def test_simoncelli_removes_a_constant_and_2d_ignores_other_slices():
    constant = np.full((5, 9, 9), 3.0)
    assert np.abs(response_map(constant, ISOTROPIC, SimoncelliFilterSettings(1, "3D", "mirror"))).max() < 1e-10
    image = np.random.default_rng(8).normal(size=(4, 9, 9))
    two_d = response_map(image, ISOTROPIC, SimoncelliFilterSettings(1, "2D", "periodic"))
    one_slice = response_map(image[1:2], ISOTROPIC, SimoncelliFilterSettings(1, "2D", "periodic"))
    np.testing.assert_allclose(two_d[1:2], one_slice, atol=1e-12)


def test_riesz_first_order_turns_a_cosine_into_a_sine():
    shape = (5, 5, 33)
    cosine = cosine_along_x(shape, 5)
    sine = np.broadcast_to(np.sin(2 * math.pi * 5 * np.arange(33) / 33), shape)
    log = LogFilterSettings(2.0, 4.0, "3D", "periodic")
    riesz = response_map(cosine, ISOTROPIC, RieszFilterSettings(order=(1, 0, 0), log=log))
    np.testing.assert_allclose(riesz, response_map(sine, ISOTROPIC, log), atol=1e-10)


@pytest.mark.parametrize("base", ["log", "simoncelli"])
def test_riesz_second_orders_sum_to_minus_the_base_filter(base):
    image = np.random.default_rng(9).normal(size=(10, 11, 12))
    bases = {"log": LogFilterSettings(1.5, 4.0, "3D", "mirror"),
             "simoncelli": SimoncelliFilterSettings(2, "3D", "zero")}
    total = sum(response_map(image, ISOTROPIC, RieszFilterSettings(order=order, **{base: bases[base]}))
                for order in ((2, 0, 0), (0, 2, 0), (0, 0, 2)))
    base_alone = response_map(image, ISOTROPIC, RieszFilterSettings(order=(0, 0, 0), **{base: bases[base]}))
    np.testing.assert_allclose(total, -base_alone, atol=1e-9)
    if base == "simoncelli":
        np.testing.assert_allclose(base_alone, response_map(image, ISOTROPIC, bases[base]), atol=1e-12)


# ---------------------------------------------------------------- settings, names, filter_image

def test_parse_filter_builds_settings_and_rejects_unknown_keys_with_a_suggestion():
    assert parse_filter({"log": {"sigma_mm": 1.5}}) == LogFilterSettings(sigma_mm=1.5)
    assert parse_filters([{"mean": {"support": 5}}, {"simoncelli": None}]) == (
        MeanFilterSettings(5), SimoncelliFilterSettings())
    nested = parse_filter({"riesz": {"order": [1, 0, 0], "log": {"sigma_mm": 3}}})
    assert nested.log == LogFilterSettings(3.0) and nested.order == (1, 0, 0)
    for entry, message in (
            ({"log": {"sigma": 1.5}}, "did you mean 'sigma_mm'"),
            ({"gabour": {}}, "did you mean 'gabor'"),
            ({"laws": {"kernel": "L5E5", "dimensions": "3D"}}, "give 2 kernels for 2D"),
            ({"laws": {"kernel": "L5X5"}}, "1D Laws kernels"),
            ({"wavelet": {"wavelet": "coiff1", "subband": "LLH"}}, "did you mean 'coif1'"),
            ({"wavelet": {"wavelet": "db3", "subband": "LH"}}, "give 2 letters for 2D"),
            ({"gabor": {"sigma_mm": 1, "lambda_mm": 2, "theta_step_deg": 50}}, "divisor of 360"),
            ({"mean": {"support": 4}}, "odd number"),
            ({"riesz": {"order": [1, 0], "log": {"sigma_mm": 1}}}, "one value per axis"),
            ({"riesz": {"order": [1, 0, 0]}}, "exactly one base filter"),
            ({"log": {}}, "sigma_mm"),
            ({"log": {"sigma_mm": 1}, "mean": {}}, "one-key mapping")):
        with pytest.raises(SpecError, match=message):
            parse_filter(entry, "filters[0]")


def test_settings_round_trip_through_their_dict_form():
    examples = [MeanFilterSettings(5, "2D"), LogFilterSettings(1.5), LawsFilterSettings("L5E5E5", energy_delta=7),
                gabor_settings(theta_step_deg=22.5), WaveletFilterSettings("db3", "LLH", 2),
                SimoncelliFilterSettings(2), RieszFilterSettings((0, 2, 0), simoncelli=SimoncelliFilterSettings())]
    ibsi_kinds = {kind: cls for kind, cls in FILTER_SETTINGS.items()
                  if kind in ("mean", "log", "laws", "gabor", "wavelet", "simoncelli", "riesz")}
    assert {type(e) for e in examples} == set(ibsi_kinds.values())  # pyradiomics' kinds: test_filters_pyradiomics_kinds
    for example in examples:
        assert parse_filter(filter_to_dict(example)) == example


def test_image_type_names_describe_the_filter():
    assert filter_image_type_name(LogFilterSettings(1.5)) == "log-sigma-1.5mm-3D"
    assert filter_image_type_name(WaveletFilterSettings("db3", "llh")) == "wavelet-db3-LLH-level1"
    assert filter_image_type_name(WaveletFilterSettings("db3", "LLH", rotation_invariance=True)) == \
        "wavelet-db3-LLH-level1-mean"
    assert filter_image_type_name(LawsFilterSettings("L5E5E5", rotation_invariance=True, energy_delta=7)) == \
        "laws-L5E5E5-energy-delta7-max-3D"
    assert filter_image_type_name(MeanFilterSettings(5, "2D")) == "mean-support5-2D"
    assert filter_image_type_name(gabor_settings(theta_deg=0, theta_step_deg=22.5, planes="orthogonal")) == \
        "gabor-sigma-3mm-lambda-4mm-gamma-0.5-theta-0deg-step-22.5deg-mean-modulus-orthogonal"
    assert filter_image_type_name(SimoncelliFilterSettings(2, "2D")) == "simoncelli-level2-2D"
    assert filter_image_type_name(RieszFilterSettings((1, 0, 0), log=LogFilterSettings(3.0))) == \
        "riesz-order-1-0-0-log-sigma-3mm-3D"


def test_filter_image_keeps_the_geometry():
    image = sitk.GetImageFromArray(np.random.default_rng(10).normal(size=(4, 5, 6)))
    image.SetSpacing((0.7, 0.8, 2.5))
    image.SetOrigin((1.0, -2.0, 3.0))
    response = filter_image(image, {"mean": {"support": 3, "boundary_condition": "nearest"}})
    assert response.GetSpacing() == image.GetSpacing() and response.GetOrigin() == image.GetOrigin()
    expected = ndimage.uniform_filter(sitk.GetArrayFromImage(image), 3, mode="nearest")
    np.testing.assert_allclose(sitk.GetArrayFromImage(response), expected, atol=1e-12)


# ---------------------------------------------------------------- properties on small volumes

def small_filters(dimensions: str, boundary: str) -> list:
    """One small instance of every filter kind."""
    two_d = dimensions == "2D"
    return [
        MeanFilterSettings(3, dimensions, boundary),
        LogFilterSettings(1.2, 3.0, dimensions, boundary),
        LawsFilterSettings("E5S5" if two_d else "E5L5S5", dimensions, True, "max", 1, boundary),
        GaborFilterSettings(1.5, 2.0, 1.5, 0.0, 90.0, "mean", "modulus", "axial" if two_d else "orthogonal", 2.0,
                            boundary),
        WaveletFilterSettings("db2", "LH" if two_d else "LHL", 2, dimensions, True, "mean", boundary),
        SimoncelliFilterSettings(1, dimensions, boundary),
        RieszFilterSettings((1, 0) if two_d else (0, 1, 0),
                            simoncelli=SimoncelliFilterSettings(1, dimensions, boundary)),
    ]


@hypothesis_settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6)),
       spacing=st.tuples(st.sampled_from([0.8, 1.0, 2.5]), st.sampled_from([0.8, 1.0]), st.sampled_from([0.8, 1.0])),
       boundary=st.sampled_from(BOUNDARIES), seed=st.integers(0, 2 ** 16))
def test_every_filter_on_small_volumes(shape, spacing, boundary, seed):
    """Finite responses of the image's shape; 2D filters treat slices independently."""
    image = np.random.default_rng(seed).normal(size=shape)
    for dimensions in ("2D", "3D"):
        for settings_object in small_filters(dimensions, boundary):
            response = response_map(image, spacing, settings_object)
            assert response.shape == image.shape and np.isfinite(response).all(), settings_object
            if dimensions == "2D":
                first_slice = response_map(image[:1], spacing, settings_object)
                np.testing.assert_allclose(response[:1], first_slice, atol=1e-10)


@pytest.mark.parametrize("boundary", ["nearest", "periodic", "mirror"])
def test_constant_images_give_constant_or_zero_responses(boundary):
    constant = np.full((5, 6, 7), 4.0)
    mean = response_map(constant, (2.5, 0.8, 0.8), MeanFilterSettings(5, "3D", boundary))
    np.testing.assert_allclose(mean, 4.0)
    # zero-sum kernels (E5, H) annihilate constants; the energy of nothing is nothing
    laws = response_map(constant, ISOTROPIC, LawsFilterSettings("E5L5S5", "3D", True, "max", 2, boundary))
    wavelet = response_map(constant, ISOTROPIC, WaveletFilterSettings("db3", "LLH", 2, "3D", True, "mean", boundary))
    np.testing.assert_allclose(laws, 0.0, atol=1e-12)
    np.testing.assert_allclose(wavelet, 0.0, atol=1e-12)


def test_filter_image_of_a_2d_image_is_2d():
    image = sitk.GetImageFromArray(np.random.default_rng(11).normal(size=(9, 8)))
    response = filter_image(image, {"laws": {"kernel": "L5E5", "dimensions": "2D", "boundary_condition": "zero"}})
    assert response.GetDimension() == 2 and response.GetSize() == image.GetSize()
    kernel = np.outer(laws_kernel("E5"), laws_kernel("L5"))
    np.testing.assert_allclose(sitk.GetArrayFromImage(response),
                               ndimage.convolve(sitk.GetArrayFromImage(image), kernel, mode="constant"), atol=1e-12)
