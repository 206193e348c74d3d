"""pyradiomics' firstorder class as the statistics and intensity histogram families with pyradiomics' settings.

Three layers: the settings (IBSI defaults, spec validation), the dialect against plain NumPy
formulas and against the installed pyradiomics, and an ordinary YAML spec reproducing the
pyradiomics numbers through the ordinary extraction chain.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import radiomix
from radiomix.errors import SpecError
from radiomix.features import histogram, registry, statistics
from radiomix.features.base import RoiImage
from radiomix.preprocess.discretisation import discretise
from radiomix.pyradiomics import mapping
from radiomix.pyradiomics.params import PyradiomicsSettings
from radiomix.pyradiomics.translation import ENTROPY_EPSILON, discretisation_settings, firstorder_settings
from radiomix.spec import HistogramSettings, StatisticsSettings, load_spec

SPACING = (2.0, 0.5, 0.7)
"""Voxel size (z, y, x) in mm of the small cases."""


def firstorder_values(image, roi, binned, spacing, settings) -> tuple[dict, dict]:
    """pyradiomics' firstorder values by name, and the status of each NaN: the statistics and
    histogram families under the translation's firstorder settings, as extract_features runs them."""
    case = RoiImage(image, roi, roi, spacing, binned.levels, binned.n_levels, binned.bin_width, binned.lower_bound,
                    (-np.inf, np.inf))
    statistics_settings, histogram_settings = firstorder_settings(settings)
    results = {("statistics", item.key): item for item in statistics.compute(case, statistics_settings, ("3D",))}
    results.update((("histogram", item.key), item) for item in histogram.compute(case, histogram_settings, ("3D",)))
    values = {name: results[source].value for name, source in mapping.FIRSTORDER_SOURCES.items()}
    statuses = {name: results[source].status for name, source in mapping.FIRSTORDER_SOURCES.items()
                if results[source].status}
    return values, statuses


# ----------------------------------------------------------------------------- settings

def test_defaults_are_ibsi():
    assert StatisticsSettings() == StatisticsSettings(kurtosis="excess", voxel_shift=0.0, non_ibsi_features=())
    assert HistogramSettings().entropy_epsilon == 0.0
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    default = statistics.intensity_statistics(values, 8.0, StatisticsSettings())
    ibsi_keys = [d.key for d in registry.definitions("statistics") if d.ibsi_code]
    assert list(default) == ibsi_keys and len(ibsi_keys) == 18
    assert default["kurtosis"] == pytest.approx(278.8 / 100 - 3)  # excess
    assert default["energy"] == 130.0


def test_dialect_settings_from_a_yaml_spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("features:\n"
                    "  statistics: {kurtosis: non_excess, voxel_shift: 1000, non_ibsi_features: [total_energy]}\n"
                    "  histogram: {entropy_epsilon: 2.220446049250313e-16}\n")
    spec = load_spec(path)
    assert spec.features.statistics == StatisticsSettings("non_excess", 1000.0, ("total_energy",))
    assert spec.features.histogram == HistogramSettings(float(np.spacing(1)))
    assert spec.content_hash() != load_spec({"features": {"statistics": {}, "histogram": {}}}).content_hash()


@pytest.mark.parametrize(("section", "message"), [
    ({"statistics": {"kurtossis": "non_excess"}}, "did you mean 'kurtosis'"),
    ({"statistics": {"voxelshift": 10}}, "did you mean 'voxel_shift'"),
    ({"statistics": {"kurtosis": "non-excess"}}, "did you mean 'non_excess'"),
    ({"statistics": {"non_ibsi_features": ["total_enrgy"]}}, "did you mean 'total_energy'"),
    ({"statistics": {"voxel_shift": "a lot"}}, "voxel_shift"),
    ({"histogram": {"entropy_epsilom": 1e-16}}, "did you mean 'entropy_epsilon'"),
])
def test_misspelled_settings_are_errors_with_suggestions(section, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"features": section})


@settings(max_examples=40, deadline=None)
@given(values=arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e3, 1e3)),
       shift=st.floats(-1e3, 1e3), voxel_volume=st.floats(0.01, 30.0))
def test_each_setting_changes_only_its_own_features(values, shift, voxel_volume):
    ibsi = statistics.intensity_statistics(values, voxel_volume, StatisticsSettings())
    dialect = statistics.intensity_statistics(values, voxel_volume, StatisticsSettings(
        kurtosis="non_excess", voxel_shift=shift, non_ibsi_features=statistics.NON_IBSI_KEYS))
    assert list(dialect) == list(ibsi) + list(statistics.NON_IBSI_KEYS)
    changed = {"kurtosis", "energy", "root_mean_square"}
    for key in ibsi.keys() - changed:
        assert dialect[key] == ibsi[key] or math.isnan(dialect[key]) and math.isnan(ibsi[key]), key
    flat = ibsi["variance"] == 0
    assert dialect["kurtosis"] == (0.0 if flat else pytest.approx(ibsi["kurtosis"] + 3.0, abs=1e-12, nan_ok=True))
    assert ibsi["kurtosis"] == 0.0 or not flat
    energy = np.sum((values + shift) ** 2)
    scale = (1 + np.max(np.abs(values)) + abs(shift)) ** 2
    assert dialect["energy"] == pytest.approx(energy, rel=1e-12, abs=1e-12 * scale)
    assert dialect["root_mean_square"] == pytest.approx(math.sqrt(dialect["energy"] / values.size))
    assert dialect["total_energy"] == pytest.approx(dialect["energy"] * voxel_volume)
    assert dialect["standard_deviation"] == pytest.approx(math.sqrt(ibsi["variance"]))


def test_naming_table_covers_firstorder_with_the_registry_codes_and_units():
    assert set(mapping.FIRSTORDER_SOURCES) == set(mapping.feature_names("firstorder", include_deprecated=True))
    for name, (family, key) in mapping.FIRSTORDER_SOURCES.items():
        row, definition = mapping.feature("firstorder", name), registry.get(family, key)
        assert (row.ibsi_code, row.unit) == (definition.ibsi_code, definition.unit), name
        if row.ibsi_code:
            assert row.title == definition.name, name


# ----------------------------------------------------------------------------- the dialect

def naive_firstorder(values: np.ndarray, levels: np.ndarray, shift: float, spacing) -> dict[str, float]:
    """pyradiomics' firstorder formulas with plain NumPy calls."""
    x = values.astype(np.float64)
    p = np.unique(levels, return_counts=True)[1] / len(levels)
    p10, p25, p75, p90 = np.percentile(x, [10, 25, 75, 90])
    moments = [np.mean((x - x.mean()) ** k) for k in (2, 3, 4)]
    flat = moments[0] == 0 or np.ptp(x) == 0
    central = x[(x >= p10) & (x <= p90)]
    central = central if len(central) else np.array([np.nan])
    energy = float(np.sum((x + shift) ** 2))
    return {
        "Energy": energy, "TotalEnergy": energy * float(np.prod(spacing)),
        "Entropy": float(-np.sum(p * np.log2(p + np.spacing(1)))), "Uniformity": float(np.sum(p ** 2)),
        "Minimum": x.min(), "Maximum": x.max(), "Mean": x.mean(), "Median": float(np.median(x)),
        "10Percentile": p10, "90Percentile": p90, "InterquartileRange": p75 - p25, "Range": np.ptp(x),
        "MeanAbsoluteDeviation": np.mean(np.abs(x - x.mean())),
        "RobustMeanAbsoluteDeviation": np.mean(np.abs(central - central.mean())),
        "RootMeanSquared": np.sqrt(energy / len(x)), "StandardDeviation": np.std(x), "Variance": np.std(x) ** 2,
        "Skewness": 0.0 if flat else moments[1] / moments[0] ** 1.5,
        "Kurtosis": 0.0 if flat else moments[2] / moments[0] ** 2,
    }


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(-2000, 2000)),
       st.sampled_from([np.int16, np.float32, np.float64]), st.sampled_from([0.0, 2000.0, 13.5]),
       st.sampled_from([1.0, 10.0, 100.0, 5000.0]), st.booleans())
def test_firstorder_matches_the_numpy_formulas(values, dtype, shift, bin_width, flat):
    values = (np.full_like(values, values[0]) if flat else values).astype(dtype)
    image, roi = values[None, None, :], np.ones((1, 1, len(values)), bool)
    binned = discretise(image, roi, discretisation_settings(PyradiomicsSettings(binWidth=bin_width)))
    ours, statuses = firstorder_values(image, roi, binned, SPACING, PyradiomicsSettings(binWidth=bin_width,
                                                                                      voxelArrayShift=shift))
    expected = naive_firstorder(values, binned.levels[roi], shift, SPACING)
    assert set(ours) == set(expected)
    assert set(statuses) == {name for name, value in expected.items() if np.isnan(value)}
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-9, abs=1e-9 * (1 + abs(shift)) ** 2, nan_ok=True), name


def _pyradiomics_case(image_array: np.ndarray, mask_array: np.ndarray, **settings_) -> tuple[dict, dict]:
    """(installed pyradiomics' firstorder values, radiomix's) on one image and mask."""
    radiomics_firstorder = pytest.importorskip("radiomics.firstorder")
    image, mask = sitk.GetImageFromArray(image_array), sitk.GetImageFromArray(mask_array)
    for item in (image, mask):
        item.SetSpacing(tuple(reversed(SPACING)))
    oracle = radiomics_firstorder.RadiomicsFirstOrder(image, mask, **settings_)
    oracle.enableAllFeatures()
    oracle.enableFeatureByName("StandardDeviation")
    expected = {name: float(value) for name, value in oracle.execute().items()}
    pyradiomics_settings = PyradiomicsSettings(**settings_)
    roi = mask_array.astype(bool)
    binned = discretise(image_array, roi, discretisation_settings(pyradiomics_settings))
    ours, _ = firstorder_values(image_array, roi, binned, SPACING, pyradiomics_settings)
    return expected, ours


def test_firstorder_matches_installed_pyradiomics():
    rng = np.random.default_rng(7)
    image_array = rng.normal(100, 40, (4, 9, 11)).round().astype(np.int16)
    mask_array = (rng.random((4, 9, 11)) < 0.6).astype(np.uint8)
    expected, ours = _pyradiomics_case(image_array, mask_array, binWidth=10, voxelArrayShift=50)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_single_bin_matches_installed_pyradiomics_exactly():
    # one bin: pyradiomics' Entropy is -log2(1 + eps) = -3.2e-16 and its Uniformity exactly 1
    image_array = np.full((2, 3, 4), 7, dtype=np.int16)
    image_array[0, 0, :2] = 9
    mask_array = np.ones((2, 3, 4), np.uint8)
    expected, ours = _pyradiomics_case(image_array, mask_array, binWidth=25)
    assert ours["Entropy"] == expected["Entropy"] == -np.log2(1 + ENTROPY_EPSILON)
    assert ours["Uniformity"] == expected["Uniformity"] == 1.0


def test_ordinary_spec_reproduces_pyradiomics_firstorder():
    """The dialect through the ordinary chain: every firstorder value from a plain radiomix spec."""
    rng = np.random.default_rng(11)
    image_array = rng.integers(-50, 200, (6, 7, 8)).astype(np.int16)
    mask_array = (rng.random((6, 7, 8)) < 0.5).astype(np.uint8)
    roi = mask_array.astype(bool)
    image_array[roi] = np.maximum(image_array[roi], -50)
    image_array[tuple(np.argwhere(roi)[0])] = -50
    image, mask = sitk.GetImageFromArray(image_array), sitk.GetImageFromArray(mask_array)
    for item in (image, mask):
        item.SetSpacing(tuple(reversed(SPACING)))
    # bins of 25 from the ROI minimum -50, a multiple of 25: IBSI's and pyradiomics' bins agree
    ordinary = radiomix.extract_features(image, mask, {
        "discretisation": {"method": "fixed_bin_size", "bin_width": 25},
        "features": {"statistics": {"kurtosis": "non_excess", "voxel_shift": 100,
                                    "non_ibsi_features": ["total_energy", "standard_deviation"]},
                     "histogram": {"entropy_epsilon": ENTROPY_EPSILON}}}).set_index("feature")["value"]
    pyradiomics = radiomix.extract_features(image, mask, {
        "featureClass": {"firstorder": ["StandardDeviation"] + list(
            mapping.feature_names("firstorder", include_deprecated=False))},
        "setting": {"voxelArrayShift": 100, "binWidth": 25}}).set_index("feature")["value"]
    assert len(pyradiomics) == len(mapping.FIRSTORDER_SOURCES)
    for name, (family, key) in mapping.FIRSTORDER_SOURCES.items():
        assert pyradiomics[f"original_firstorder_{name}"] == ordinary[f"original_{family}_{key}"], name
