"""The filters of pyradiomics' image types as filter kinds of an ordinary spec's ``filters:`` list."""

import numpy as np
import pytest
import pywt
import SimpleITK as sitk
from test_extract_filters import _case

import radiomix
from radiomix.errors import SpecError
from radiomix.preprocess.filters import filter_image, response_map, response_maps_on_box
from radiomix.preprocess.filters.intensity_transforms import largest_magnitude
from radiomix.preprocess.filters.settings import (
    FILTER_SETTINGS,
    ExponentialFilterSettings,
    GradientFilterSettings,
    LocalBinaryPattern3DFilterSettings,
    LocalBinaryPatternFilterSettings,
    LogarithmFilterSettings,
    RecursiveLogFilterSettings,
    SquareFilterSettings,
    SquareRootFilterSettings,
    StationaryWaveletFilterSettings,
    filter_image_type_name,
    filter_to_dict,
    parse_filter,
    parse_filters,
)
from radiomix.pyradiomics.params import PyradiomicsSettings
from radiomix.pyradiomics.translation import image_type_filters
from radiomix.spec import load_spec

EXAMPLES = [RecursiveLogFilterSettings(1.5), StationaryWaveletFilterSettings("LLH"),
            StationaryWaveletFilterSettings("HL", "db2", 2, "2D", 1), GradientFilterSettings(False),
            LocalBinaryPatternFilterSettings(2.0, 16, "ror", 2), LocalBinaryPattern3DFilterSettings("kurtosis"),
            LocalBinaryPattern3DFilterSettings("norm", 1, 2.0, 0), SquareFilterSettings(), SquareRootFilterSettings(),
            LogarithmFilterSettings(), ExponentialFilterSettings()]


def test_every_pyradiomics_kind_round_trips_through_a_spec():
    kinds = {type(e) for e in EXAMPLES}
    assert kinds == {cls for kind, cls in FILTER_SETTINGS.items()
                     if kind not in ("mean", "log", "laws", "gabor", "wavelet", "simoncelli", "riesz")}
    for example in EXAMPLES:
        assert parse_filter(filter_to_dict(example)) == example
    spec = load_spec({"filters": [filter_to_dict(e) for e in EXAMPLES]})
    assert spec.filters == tuple(EXAMPLES) and load_spec(spec.to_dict()) == spec
    assert parse_filters([{"square": None}, {"gradient": {}}]) == (SquareFilterSettings(), GradientFilterSettings())


def test_image_type_names_describe_the_pyradiomics_filters():
    names = [filter_image_type_name(e) for e in EXAMPLES]
    assert names == ["recursive-log-sigma-1.5mm-3D", "stationary-wavelet-coif1-LLH-level1-3D",
                     "stationary-wavelet-db2-HL-level2-2D-axis1", "gradient-per-voxel",
                     "lbp-2D-radius2-samples16-ror-axis2", "lbp-3D-kurtosis-radius1-subdivisions1",
                     "lbp-3D-norm-degree1-radius2-subdivisions0", "square", "square-root", "logarithm",
                     "exponential"]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("entry, message", [
    ({"recursive_log": {"sigma": 1.0}}, "did you mean 'sigma_mm'"),
    ({"recursive_logg": {"sigma_mm": 1.0}}, "did you mean 'recursive_log'"),
    ({"stationary_wavelet": {"subband": "LLH", "wavelet": "coif"}}, "did you mean"),
    ({"stationary_wavelet": {"subband": "LH"}}, "2 L/H letters|3 L/H letters"),
    ({"stationary_wavelet": {"subband": "LLH", "slice_axis": 3}}, "not one of"),
    ({"local_binary_pattern": {"methd": "uniform"}}, "did you mean 'method'"),
    ({"local_binary_pattern": {"method": "unifrom"}}, "did you mean 'uniform'"),
    ({"local_binary_pattern_3d": {"degree": -1}}, "at least 0"),
    ({"gradient": {"use_spacin": True}}, "did you mean 'use_spacing'"),
    ({"square": {"scale": 2}}, "unknown"),
    ({"recursive_log": {"sigma_mm": 0}}, "positive"),
])
def test_misspelled_or_invalid_settings_are_errors(entry, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"filters": [entry]})


def repeated_swt(image, wavelet, axes, level):
    """PyWavelets' one-level ``swtn`` repeated on the approximation (even sizes: no padding); level's bands."""
    approximation = image
    for _ in range(level):
        bands = pywt.swtn(approximation, wavelet, level=1, start_level=0, axes=axes)[0]
        approximation = bands["a" * len(axes)]
    return {key.replace("a", "L").replace("d", "H"): value for key, value in bands.items()}


def test_stationary_wavelet_bands_are_pywavelets_swt_repeated():
    image = np.random.default_rng(4).normal(size=(6, 8, 10))
    for dimensions, slice_axis, axes in (("3D", 0, (2, 1, 0)), ("2D", 1, (2, 0))):
        for level in (1, 2):
            expected = repeated_swt(image, "db2", axes, level)
            for subband, values in expected.items():
                settings = StationaryWaveletFilterSettings(subband, "db2", level, dimensions, slice_axis)
                np.testing.assert_allclose(response_map(image, (1.0, 1.0, 1.0), settings), values,
                                           rtol=1e-12, atol=1e-12)


def test_a_group_shares_its_decomposition_and_equals_single_filters():
    image = np.random.default_rng(5).normal(size=(7, 9, 8)).astype(np.float32)
    box = (slice(1, 5), slice(2, 8), slice(0, 6))
    group = [StationaryWaveletFilterSettings(subband, level=level) for level in (2, 3) for subband in ("LLH", "HHL")]
    group += [StationaryWaveletFilterSettings("LLL", level=2), StationaryWaveletFilterSettings("LLL", level=3)]
    together = response_maps_on_box(image, (1.0, 1.0, 1.0), group, box)
    for settings, values in zip(group, together):
        alone = response_maps_on_box(image, (1.0, 1.0, 1.0), [settings], box)[0]
        assert values.dtype == np.float32 and np.array_equal(values, alone)
    with pytest.raises(ValueError, match="one kind"):
        response_maps_on_box(image, (1.0, 1.0, 1.0), [SquareFilterSettings(), GradientFilterSettings()], box)


def test_point_transforms_and_gradient_against_numpy():
    image = np.random.default_rng(6).normal(10, 30, size=(5, 6, 7))
    spacing = (2.0, 0.5, 1.0)
    largest = largest_magnitude(image)
    np.testing.assert_allclose(response_map(image, spacing, SquareFilterSettings()), image ** 2 / largest, rtol=1e-12)
    np.testing.assert_allclose(response_map(image, spacing, SquareRootFilterSettings()),
                               np.sign(image) * np.sqrt(np.abs(image) * largest), rtol=1e-12)
    np.testing.assert_allclose(response_map(image, spacing, LogarithmFilterSettings()),
                               np.sign(image) * np.log1p(np.abs(image)) * largest / np.log1p(largest), rtol=1e-12)
    np.testing.assert_allclose(response_map(image, spacing, ExponentialFilterSettings()),
                               np.exp(image * np.log(largest) / largest), rtol=1e-12)
    padded = np.pad(image, 1, mode="edge")
    parts = [(np.take(padded, range(2, padded.shape[a]), axis=a) - np.take(padded, range(padded.shape[a] - 2), axis=a))
             / (2 * spacing[a]) for a in range(3)]
    inner = [p[tuple(slice(None) if b == a else slice(1, -1) for b in range(3))] for a, p in enumerate(parts)]
    expected = np.sqrt(sum(p ** 2 for p in inner))
    np.testing.assert_allclose(response_map(image, spacing, GradientFilterSettings()), expected, rtol=1e-5)


def test_recursive_log_is_simpleitks():
    image = np.random.default_rng(7).normal(size=(8, 9, 10)).astype(np.float32)
    picture = sitk.GetImageFromArray(image)
    picture.SetSpacing((0.8, 1.1, 2.0))
    expected = sitk.GetArrayFromImage(sitk.LaplacianRecursiveGaussian(picture, sigma=1.5, normalizeAcrossScale=True))
    response = sitk.GetArrayFromImage(filter_image(picture, {"recursive_log": {"sigma_mm": 1.5}}))
    np.testing.assert_allclose(response, expected, rtol=1e-5, atol=1e-5)


def test_pyradiomics_image_types_translate_into_filter_kinds():
    grid = ((6, 6, 6), (1.0, 1.0, 1.0))  # size and spacing (z, y, x)
    wavelet = image_type_filters("Wavelet", PyradiomicsSettings(start_level=1, level=2, wavelet="db1"), *grid)
    assert [prefix for prefix, _ in wavelet][:2] == ["wavelet-LLH", "wavelet-LHL"]
    assert wavelet[7] == ("wavelet2-LLH", StationaryWaveletFilterSettings("LLH", "db1", 3))
    assert wavelet[-1] == ("wavelet2-LLL", StationaryWaveletFilterSettings("LLL", "db1", 3))
    assert image_type_filters("LoG", PyradiomicsSettings(sigma=(1, 2.5)), *grid) == [
        ("log-sigma-1-mm-3D", RecursiveLogFilterSettings(1.0)),
        ("log-sigma-2-5-mm-3D", RecursiveLogFilterSettings(2.5))]
    assert image_type_filters("LBP3D", PyradiomicsSettings(lbp3DLevels=2), *grid) == [
        ("lbp-3D-m1", LocalBinaryPattern3DFilterSettings("norm", 0)),
        ("lbp-3D-m2", LocalBinaryPattern3DFilterSettings("norm", 1)),
        ("lbp-3D-k", LocalBinaryPattern3DFilterSettings("kurtosis"))]
    assert image_type_filters("Original", PyradiomicsSettings(), *grid) == [("original", None)]


def test_ordinary_spec_extracts_the_pyradiomics_filters(tmp_path):
    paths, _, roi = _case(tmp_path)
    spec = {"features": {"statistics": {}},
            "filters": [{"square": {}}, {"gradient": {"use_spacing": True}}, {"recursive_log": {"sigma_mm": 2.0}},
                        {"stationary_wavelet": {"subband": "HHH", "wavelet": "haar"}}]}
    table = radiomix.extract_features(*paths, spec)
    for settings in load_spec(spec).filters:
        name = filter_image_type_name(settings)
        response = sitk.GetArrayFromImage(filter_image(paths[0], settings))
        rows = table[table["image_type"] == name].set_index("name")["value"]
        assert rows["Mean intensity"] == pytest.approx(response[roi].mean(), rel=1e-9)
