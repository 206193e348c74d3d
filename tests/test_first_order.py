"""First-order families: local intensity, intensity-based statistics, intensity histogram, IVH.

Three layers: IBSI-1 reference rows (digital phantom, CT phantom configuration A
without interpolation), a plain NumPy reference for the sphere-mean kernel with
hypothesis property tests, and small hand-computed cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.errors import InputError, NonFiniteIntensityError
from radiomix.features import histogram, ivh, local_intensity, registry, statistics
from radiomix.features.base import RoiImage
from radiomix.features.table import tabulate
from radiomix.spec import (
    HistogramSettings,
    IvhFeatureSettings,
    LocalIntensitySettings,
    StatisticsSettings,
)

from conftest import require_data
from ibsi_reference import misses, reference_rows

FAMILIES = {
    "local_intensity": (local_intensity, LocalIntensitySettings()),
    "statistics": (statistics, StatisticsSettings()),
    "histogram": (histogram, HistogramSettings()),
    "ivh": (ivh, IvhFeatureSettings(method="none")),
}
ROW_COUNTS = {"local_intensity": 2, "statistics": 18, "histogram": 23, "ivh": 6}
IBSI_PEAK_RADIUS_MM = LocalIntensitySettings().peak_radius_mm


def make_roi(intensity, mask=None, spacing=(1.0, 1.0, 1.0), levels=None, n_levels=None,
             resegmentation_range=(-np.inf, np.inf)) -> RoiImage:
    """A RoiImage from small arrays; levels default to the (integer) intensities."""
    intensity = np.asarray(intensity, dtype=np.float64)
    intensity = intensity.reshape((1,) * (3 - intensity.ndim) + intensity.shape)
    mask = np.ones(intensity.shape, bool) if mask is None else np.asarray(mask, bool).reshape(intensity.shape)
    if levels is None:
        levels = np.rint(intensity)
    levels = np.where(mask, np.asarray(levels).reshape(intensity.shape), 0).astype(np.int32)
    return RoiImage(intensity=intensity, morphological_mask=mask, intensity_mask=mask.copy(),
                    spacing=tuple(float(s) for s in spacing), discretised=levels,
                    n_levels=int(levels.max()) if n_levels is None else n_levels, bin_width=1.0,
                    lower_bound=float(intensity[mask].min()),
                    resegmentation_range=resegmentation_range)


def values_by_key(module, roi, family_settings):
    """``{key: FeatureValue}`` of one family's result."""
    return {item.key: item for item in module.compute(roi, family_settings, ("3D",))}


# ----------------------------------------------------------------------------- IBSI references

def ct_phantom_config_a_roi():
    """CT phantom, IBSI configuration A without interpolation (2D texture settings are not used here).

    Image and mask read as float64 and rounded; re-segmentation [-500, 400] HU; fixed bin
    size 25 HU from -500 for the intensity histogram; IVH on the HU themselves.
    """
    import SimpleITK as sitk

    folder = require_data("ibsi/ct_phantom/nifti")
    image = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkFloat64)
    intensity = np.rint(sitk.GetArrayFromImage(image))
    morphological_mask = np.rint(sitk.GetArrayFromImage(mask)) == 1
    low, high, bin_width = -500.0, 400.0, 25.0
    intensity_mask = morphological_mask & (intensity >= low) & (intensity <= high)
    levels = np.floor((intensity - low) / bin_width).astype(np.int32) + 1
    return RoiImage(
        intensity=intensity, morphological_mask=morphological_mask, intensity_mask=intensity_mask,
        spacing=tuple(float(s) for s in reversed(image.GetSpacing())),
        discretised=np.where(intensity_mask, levels, 0).astype(np.int32),
        n_levels=int(np.floor((high - low) / bin_width)) + 1,  # bins covering the range
        bin_width=bin_width, lower_bound=low, resegmentation_range=(low, high))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_digital_phantom_reference_rows(family, digital_phantom_roi):
    module, family_settings = FAMILIES[family]
    rows = reference_rows("digital_phantom", {family})
    assert len(rows) == ROW_COUNTS[family]
    table = tabulate(family, module.compute(digital_phantom_roi, family_settings, ("3D",)))
    assert misses(table, rows) == []


@pytest.mark.parametrize("family", list(FAMILIES))
def test_ct_phantom_config_a_reference_rows(family, ct_phantom_config_a_roi):
    module, family_settings = FAMILIES[family]
    rows = reference_rows("config_A", {family})
    assert len(rows) == ROW_COUNTS[family]
    table = tabulate(family, module.compute(ct_phantom_config_a_roi, family_settings, ("2D", "2.5D")))
    assert misses(table, rows) == []


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_registered_feature_once_and_nan_only_with_status(family, digital_phantom_roi):
    module, family_settings = FAMILIES[family]
    if family == "statistics":  # the features outside IBSI too
        family_settings = StatisticsSettings(non_ibsi_features=statistics.NON_IBSI_KEYS)
    results = module.compute(digital_phantom_roi, family_settings, ("3D",))
    assert [r.key for r in results] == [d.key for d in registry.definitions(family)]
    assert all(r.aggregation == "" for r in results)
    assert all(math.isfinite(r.value) or r.status for r in results)


def test_ivh_fraction_features_are_named_by_fraction():
    names = {d.key: d.name for d in registry.definitions("ivh")}
    assert "V10" in names["volume_at_intensity_fraction_10"]
    assert "V90" in names["volume_at_intensity_fraction_90"]
    assert "I10" in names["intensity_at_volume_fraction_10"]
    assert "I90" in names["intensity_at_volume_fraction_90"]


# ----------------------------------------------------------------------------- local intensity

def naive_sphere_means(intensity, mask, spacing, radius_mm):
    """Sphere means by brute force: every voxel's distance to every mask voxel, in mm."""
    coordinates = np.stack(np.meshgrid(*[np.arange(n) for n in intensity.shape], indexing="ij"),
                           axis=-1) * np.asarray(spacing)
    finite = np.isfinite(intensity)
    means = []
    for centre in np.argwhere(mask):
        distance = np.sqrt(((coordinates - coordinates[tuple(centre)]) ** 2).sum(axis=-1))
        inside = (distance <= radius_mm) & finite
        means.append(intensity[inside].mean())
    return np.array(means)


@st.composite
def small_volumes(draw):
    """(intensity, mask with >= 1 voxel, anisotropic spacing) of up to 5 x 5 x 5 voxels."""
    shape = draw(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)))
    intensity = draw(hnp.arrays(np.float64, shape,
                                elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False)))
    mask = draw(hnp.arrays(np.bool_, shape))
    mask[tuple(draw(st.integers(0, n - 1)) for n in shape)] = True
    spacing = draw(st.tuples(*[st.sampled_from([0.5, 0.977, 1.0, 2.0, 3.0])] * 3))
    return intensity, mask, spacing


@settings(max_examples=40, deadline=None)
@given(volume=small_volumes(), radius_mm=st.floats(0.1, 6.5))
def test_sphere_means_kernel_matches_naive_reference(volume, radius_mm):
    intensity, mask, spacing = volume
    np.testing.assert_allclose(
        local_intensity.sphere_mean_intensities(intensity, mask, spacing, radius_mm),
        naive_sphere_means(intensity, mask, spacing, radius_mm), rtol=1e-12, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(volume=small_volumes())
def test_peaks_properties(volume):
    intensity, mask, spacing = volume
    roi = make_roi(intensity, mask, spacing, levels=np.ones(intensity.shape))
    peaks = values_by_key(local_intensity, roi, LocalIntensitySettings(peak_radius_mm=2.5))
    means = naive_sphere_means(intensity, mask, spacing, 2.5)
    assert peaks["global_intensity_peak"].value == pytest.approx(means.max())
    at_maximum = intensity[mask] == intensity[mask].max()
    assert peaks["local_intensity_peak"].value == pytest.approx(means[at_maximum].max())
    assert peaks["local_intensity_peak"].value <= peaks["global_intensity_peak"].value + 1e-12


@pytest.mark.parametrize("case", ["one voxel in a corner", "constant ROI", "ROI on every border",
                                  "anisotropic spacing"])
def test_sphere_means_edge_cases(case):
    rng = np.random.default_rng(7)
    intensity = rng.integers(-20, 20, (4, 5, 6)).astype(np.float64)
    mask = np.zeros(intensity.shape, bool)
    spacing = (1.0, 1.0, 1.0)
    if case == "one voxel in a corner":
        mask[0, 0, 0] = True
    elif case == "constant ROI":
        intensity[:] = 3.5
        mask[1:3, 1:4, 2:5] = True
    elif case == "ROI on every border":
        mask[:] = True
        mask[1:-1, 1:-1, 1:-1] = False
    else:
        mask[1:3, 2:4, 1:5] = True
        spacing = (3.0, 0.8, 1.3)
    kernel = local_intensity.sphere_mean_intensities(intensity, mask, spacing, 2.0)
    np.testing.assert_allclose(kernel, naive_sphere_means(intensity, mask, spacing, 2.0), rtol=1e-12)
    if case == "constant ROI":
        np.testing.assert_allclose(kernel, 3.5)


def test_sphere_of_ibsi_radius_on_2mm_grid_holds_123_voxels():
    # Lattice points with (2 mm)^2 (a^2 + b^2 + c^2) <= 6.2035^2, i.e. a^2 + b^2 + c^2 <= 9.
    assert len(local_intensity.sphere_offsets((2.0, 2.0, 2.0), IBSI_PEAK_RADIUS_MM)) == 123
    rows = local_intensity.sphere_rows((2.0, 2.0, 2.0), IBSI_PEAK_RADIUS_MM)
    assert np.sum(2 * rows[:, 2] + 1) == 123
    assert rows[(rows[:, 0] == 0) & (rows[:, 1] == 0), 2] == [3]  # 3 x 2 mm <= 6.2035 mm < 4 x 2 mm


def test_hand_computed_peaks():
    intensity = np.zeros((3, 3, 3))
    intensity[1, 1, 1] = 7.0  # a maximum surrounded by zeros: sphere mean 7 / 7
    intensity[0, 0, 0] = 7.0  # a tied maximum with three neighbours of 6: (7 + 18) / 4
    intensity[0, 0, 1] = intensity[0, 1, 0] = intensity[1, 0, 0] = 6.0
    intensity[2, 2, 2] = 6.5  # not a maximum, but the highest sphere: 4 x 6.5 / 4
    intensity[2, 2, 1] = intensity[2, 1, 2] = intensity[1, 2, 2] = 6.5
    roi = make_roi(intensity, levels=np.ones(intensity.shape))
    peaks = values_by_key(local_intensity, roi, LocalIntensitySettings(peak_radius_mm=1.0))
    assert peaks["local_intensity_peak"].value == pytest.approx(25 / 4)
    assert peaks["global_intensity_peak"].value == pytest.approx(6.5)


def test_peak_ignores_nan_padding_outside_roi_and_rejects_nan_inside():
    intensity = np.array([[[np.nan, 2.0, 4.0]]])
    mask = np.array([[[False, True, False]]])
    assert local_intensity.sphere_mean_intensities(intensity, mask, (1, 1, 1), 1.0) == pytest.approx([3.0])
    with pytest.raises(NonFiniteIntensityError):
        local_intensity.sphere_mean_intensities(intensity, ~mask, (1, 1, 1), 1.0)
    with pytest.raises(InputError):
        local_intensity.sphere_mean_intensities(intensity, mask, (1, 1, 1), 0.0)


def test_peak_kernel_on_ct_phantom_matches_reference_at_sampled_voxels(ct_phantom_config_a_roi):
    roi = ct_phantom_config_a_roi
    means = local_intensity.sphere_mean_intensities(roi.intensity, roi.intensity_mask, roi.spacing,
                                                    IBSI_PEAK_RADIUS_MM)
    centres = np.argwhere(roi.intensity_mask)
    sample = np.random.default_rng(0).choice(len(centres), 6, replace=False)
    sample = np.append(sample, np.argmax(means))
    # Brute force in a window around each sampled centre (larger than the sphere).
    for index in sample:
        z, y, x = centres[index]
        window = tuple(slice(max(c - r, 0), c + r + 1) for c, r in zip((z, y, x), (3, 8, 8)))
        local_mask = np.zeros(roi.intensity[window].shape, bool)
        local_mask[z - window[0].start, y - window[1].start, x - window[2].start] = True
        expected = naive_sphere_means(roi.intensity[window], local_mask, roi.spacing, IBSI_PEAK_RADIUS_MM)
        assert means[index] == pytest.approx(expected[0], rel=1e-12)


# ----------------------------------------------------------------------------- statistics

def test_statistics_hand_computed():
    features = values_by_key(statistics, make_roi([1, 2, 3, 4, 10]), StatisticsSettings())
    expected = {
        "mean": 4.0, "variance": 10.0, "skewness": 36 / 10 ** 1.5, "kurtosis": 278.8 / 100 - 3,
        "median": 3.0, "minimum": 1.0, "percentile_10": 1.4, "percentile_90": 7.6, "maximum": 10.0,
        "interquartile_range": 2.0, "range": 9.0, "mean_absolute_deviation": 2.4,
        "robust_mean_absolute_deviation": 2 / 3,  # {2, 3, 4} lie in [P10, P90] = [1.4, 7.6]
        "median_absolute_deviation": 2.2, "coefficient_of_variation": math.sqrt(10) / 4,
        "quartile_coefficient_of_dispersion": 2 / 6, "energy": 130.0, "root_mean_square": math.sqrt(26),
    }
    assert set(features) == set(expected)
    for key, value in expected.items():
        assert features[key].value == pytest.approx(value), key
        assert features[key].status == ""


def test_statistics_constant_roi():
    features = values_by_key(statistics, make_roi([0.1, 0.1, 0.1]), StatisticsSettings())
    assert features["mean"].value == 0.1
    for key in ("variance", "skewness", "kurtosis", "coefficient_of_variation", "range",
                "interquartile_range", "mean_absolute_deviation", "robust_mean_absolute_deviation"):
        assert features[key].value == 0.0, key


def test_statistics_undefined_ratios_have_status():
    features = values_by_key(statistics, make_roi([-1.0, 1.0]), StatisticsSettings())
    assert math.isnan(features["coefficient_of_variation"].value)
    assert features["coefficient_of_variation"].status == statistics.ZERO_MEAN
    assert math.isnan(features["quartile_coefficient_of_dispersion"].value)
    assert features["quartile_coefficient_of_dispersion"].status == statistics.ZERO_QUARTILE_SUM
    # P10 = -0.8 and P90 = 0.8 enclose no value
    assert math.isnan(features["robust_mean_absolute_deviation"].value)
    assert features["robust_mean_absolute_deviation"].status == statistics.NOTHING_BETWEEN_PERCENTILES


def test_statistics_of_an_underflowing_variance_are_undefined_not_errors():
    features = values_by_key(statistics, make_roi([2e-159, 0.0], levels=np.ones(2)), StatisticsSettings())
    assert 0 < features["variance"].value < 1e-300  # variance^1.5 and variance^2 are 0 in floating point
    for key in ("skewness", "kurtosis"):
        assert math.isnan(features[key].value) and features[key].status == statistics.UNDERFLOW


@settings(max_examples=30, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(2, 40),
                         elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)))
def test_statistics_moments_match_scipy(values):
    features = values_by_key(statistics, make_roi(values, levels=np.ones(values.shape)),
                             StatisticsSettings())
    assert features["mean"].value == pytest.approx(np.mean(values), abs=1e-9)
    assert features["variance"].value == pytest.approx(np.var(values), rel=1e-9, abs=1e-9)
    if np.var(values) > 1e-6 * max(1.0, np.mean(values ** 2)):
        assert features["skewness"].value == pytest.approx(scipy.stats.skew(values), rel=1e-6, abs=1e-6)
        assert features["kurtosis"].value == pytest.approx(scipy.stats.kurtosis(values), rel=1e-6, abs=1e-6)
    assert features["percentile_90"].value == pytest.approx(np.percentile(values, 90))


def naive_moments(values, shift, low, high, centre):
    """What ``_moments_kernel`` returns, with plain NumPy calls."""
    mean = values[0] if np.ptp(values) == 0 else values.mean()
    deviations = values - mean
    central = values[(values >= low) & (values <= high)]
    central_mean = central[0] if central.size and np.ptp(central) == 0 else np.mean(central) if central.size else 0
    robust = np.mean(np.abs(central - central_mean)) if central.size else np.nan
    return (mean, *(np.mean(deviations ** k) for k in (2, 3, 4)), np.mean(np.abs(deviations)), robust,
            np.sum((values + shift) ** 2), np.mean(np.abs(values - centre)))


finite_values = hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e4, 1e4, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(values=finite_values, flat=st.booleans(), shift=st.sampled_from([0.0, 13.5, 2000.0]),
       bounds=st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), centre=st.floats(-1e4, 1e4))
def test_moments_kernel_matches_numpy_reference(values, flat, shift, bounds, centre):
    values = np.full_like(values, values[0]) if flat else values
    low, high = min(bounds), max(bounds)
    kernel = statistics._moments_kernel(values, shift, low, high, centre)
    expected = naive_moments(values, shift, low, high, centre)
    scale = 1.0 + np.max(np.abs(values)) + shift
    for power, (ours, reference) in zip((1, 2, 3, 4, 1, 1, 2, 1), zip(kernel, expected)):
        assert ours == pytest.approx(reference, rel=1e-9, abs=1e-9 * scale ** power, nan_ok=True)
    if flat:  # exactly the common value and no rounding residue
        assert kernel[0] == values[0] and kernel[1:4] == (0.0, 0.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(1, 80), elements=st.integers(-20, 20).map(float)
                         | st.floats(-1e6, 1e6, allow_nan=False)),
       data=st.data(), n_buckets=st.integers(1, 50))
def test_ranked_values_kernel_is_a_sort(values, data, n_buckets):
    ranks = np.array(data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=12)), dtype=np.int64)
    np.testing.assert_array_equal(statistics._ranked_values_kernel(values, ranks, n_buckets),
                                  np.sort(values)[ranks])


@settings(max_examples=60, deadline=None)
@given(values=finite_values, quantiles=st.lists(st.floats(0, 100), min_size=1, max_size=8))
def test_percentiles_are_numpy_percentiles_bit_for_bit(values, quantiles):
    np.testing.assert_array_equal(statistics.percentiles(values, quantiles), np.percentile(values, quantiles))


def test_percentiles_of_a_subnormal_range():
    values = np.array([0.0, 5e-324, 1e-323, 5e-324])  # n_buckets / range overflows
    np.testing.assert_array_equal(statistics.percentiles(values, [0, 40, 100]), np.percentile(values, [0, 40, 100]))
    np.testing.assert_array_equal(statistics._ranked_values_kernel(values, np.array([3, 0, 1]), 4),
                                  np.sort(values)[[3, 0, 1]])


def test_percentiles_of_a_large_roi_use_many_buckets():
    values = np.random.default_rng(3).normal(100, 40, 50_000).round(1)
    quantiles = [0, 10, 25, 50, 75, 90, 100]
    np.testing.assert_array_equal(statistics.percentiles(values, quantiles), np.percentile(values, quantiles))


# ----------------------------------------------------------------------------- intensity histogram

def test_histogram_hand_computed():
    roi = make_roi([1, 1, 2, 4, 4, 4], n_levels=5)
    features = values_by_key(histogram, roi, HistogramSettings())
    # counts n_1..n_5 = 2, 1, 0, 3, 0; H' = -1, -1, 1, 0, -3
    p = np.array([2, 1, 3]) / 6
    assert features["mean"].value == pytest.approx(16 / 6)
    assert features["mode"].value == 4
    assert features["entropy"].value == pytest.approx(-np.sum(p * np.log2(p)))
    assert features["uniformity"].value == pytest.approx(np.sum(p ** 2))
    assert features["maximum_gradient"].value == 1.0
    assert features["maximum_gradient_intensity"].value == 3
    assert features["minimum_gradient"].value == -3.0
    assert features["minimum_gradient_intensity"].value == 5
    assert features["minimum"].value == 1 and features["maximum"].value == 4
    assert len(features) == 23


@pytest.mark.parametrize(("levels", "mode"), [
    ([1, 1, 3, 5, 5], 1),  # tie equidistant from the mean 3: the lower level
    ([1, 1, 2, 5, 5], 1),  # mean 2.8: level 1 is closer
    ([1, 1, 4, 5, 5], 5),  # mean 3.2: level 5 is closer
])
def test_histogram_mode_ties(levels, mode):
    features = values_by_key(histogram, make_roi(levels, n_levels=5), HistogramSettings())
    assert features["mode"].value == mode


def test_histogram_gradient_ends_and_single_bin():
    np.testing.assert_array_equal(histogram.histogram_gradient([5, 0]), [-5, -5])
    np.testing.assert_array_equal(histogram.histogram_gradient([1, 4, 9, 2]), [3, 4, -1, -7])
    features = values_by_key(histogram, make_roi([1, 1, 1], n_levels=1), HistogramSettings())
    for key in ("maximum_gradient", "maximum_gradient_intensity", "minimum_gradient",
                "minimum_gradient_intensity"):
        assert math.isnan(features[key].value) and features[key].status == histogram.SINGLE_BIN
    assert features["entropy"].value == 0.0 and features["uniformity"].value == 1.0


@settings(max_examples=40, deadline=None)
@given(levels=hnp.arrays(np.int32, st.integers(1, 60), elements=st.integers(1, 9)),
       epsilon=st.sampled_from([0.0, float(np.spacing(1)), 1e-3]))
def test_histogram_kernels_match_numpy_reference(levels, epsilon):
    counts = histogram.level_counts(levels, 9)
    np.testing.assert_array_equal(counts, np.bincount(levels, minlength=10)[1:])
    p = counts[counts > 0] / levels.size
    entropy, uniformity = histogram.entropy_and_uniformity(counts, epsilon)
    assert entropy == pytest.approx(-np.sum(p * np.log2(p + epsilon)), rel=1e-13, abs=1e-15)
    assert uniformity == pytest.approx(np.sum(p ** 2), rel=1e-13)


def test_entropy_epsilon_of_a_single_level():
    single = make_roi([2, 2, 2], n_levels=3)
    assert values_by_key(histogram, single, HistogramSettings())["entropy"].value == 0.0
    with_epsilon = values_by_key(histogram, single, HistogramSettings(entropy_epsilon=float(np.spacing(1))))
    assert with_epsilon["entropy"].value == -np.log2(1 + np.spacing(1))  # pyradiomics' -3.2e-16


def test_histogram_rejects_levels_outside_range():
    with pytest.raises(InputError, match="1..3"):
        histogram.compute(make_roi([1, 4], n_levels=3), HistogramSettings(), ("3D",))


@settings(max_examples=25, deadline=None)
@given(levels=hnp.arrays(np.int32, st.integers(1, 30), elements=st.integers(1, 8)))
def test_histogram_shares_statistics_of_levels(levels):
    roi = make_roi(levels, n_levels=8)
    from_histogram = values_by_key(histogram, roi, HistogramSettings())
    from_statistics = values_by_key(statistics, roi, StatisticsSettings())
    for key in from_statistics.keys() & from_histogram.keys():
        assert from_histogram[key].value == pytest.approx(from_statistics[key].value, nan_ok=True), key
    counts = np.bincount(levels, minlength=9)[1:]
    assert from_histogram["uniformity"].value == pytest.approx(np.sum((counts / levels.size) ** 2))


# ----------------------------------------------------------------------------- IVH

def ivh_features(values, method="none", resegmentation_range=(-np.inf, np.inf), **ivh_settings):
    roi = make_roi(values, levels=np.ones(np.shape(values)), resegmentation_range=resegmentation_range)
    return {k: v.value for k, v in values_by_key(ivh, roi, IvhFeatureSettings(method=method,
                                                                             **ivh_settings)).items()}


def test_ivh_table_of_the_digital_phantom(digital_phantom_roi):
    values = digital_phantom_roi.intensity[digital_phantom_roi.intensity_mask]
    table = ivh.intensity_volume_histogram(values, IvhFeatureSettings(), (-np.inf, np.inf))
    np.testing.assert_array_equal(table.intensities, [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(table.intensity_fractions(), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(table.volume_fractions, [1.0, 0.324, 0.324, 0.311, 0.095, 0.095],
                               atol=5e-4)


def test_ivh_none_hand_computed():
    features = ivh_features([0.5, 1.5, 2.5, 3.5])
    assert features["volume_at_intensity_fraction_10"] == 0.75
    assert features["volume_at_intensity_fraction_90"] == 0.25
    assert features["intensity_at_volume_fraction_10"] == 4.5  # no nu <= 0.1 in G: next step
    assert features["intensity_at_volume_fraction_90"] == 1.5
    assert features["volume_fraction_difference_10_90"] == 0.5
    assert features["intensity_fraction_difference_10_90"] == 3.0


def test_ivh_none_uses_the_resegmentation_range():
    features = ivh_features([0, 1, 2, 8], resegmentation_range=(0.0, 10.0))
    assert features["volume_at_intensity_fraction_10"] == 0.75  # first i with gamma >= 0.1 is 1
    assert features["volume_at_intensity_fraction_90"] == 0.0  # i = 9
    unset = ivh_features([0, 1, 2, 8], resegmentation_range=(0.0, 10.0), use_resegmentation_range=False)
    assert unset["volume_at_intensity_fraction_90"] == 0.25  # G = [0, 8]: i = 8


@settings(max_examples=30, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(2, 30),
                         elements=st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 2))),
       fraction=st.sampled_from([0.10, 0.90]))
def test_ivh_none_volume_fraction_is_exact_for_non_integer_values(values, fraction):
    low, high = values.min(), values.max()
    if high == low:
        return
    table = ivh.intensity_volume_histogram(values, IvhFeatureSettings(), (-np.inf, np.inf))
    threshold = low + fraction * (high - low)
    expected = np.mean(values >= threshold - 1e-9 * (high - low))
    assert ivh._volume_at_intensity_fraction(table, fraction) == pytest.approx(expected)
    intensity = ivh._intensity_at_volume_fraction(table, fraction)
    assert np.mean(values >= intensity) <= fraction + 1e-12


def test_ivh_fixed_bin_size_hand_computed():
    # bins 1, 2, 3, 5 -> centres 0.5, 1.5, 2.5, 4.5; G = [0.5, 4.5]
    features = ivh_features([0.0, 1.0, 2.4, 4.9], method="fixed_bin_size", bin_width=1.0,
                            resegmentation_range=(0.0, 5.0))
    assert features["volume_at_intensity_fraction_10"] == 0.75
    assert features["volume_at_intensity_fraction_90"] == 0.25
    assert features["intensity_at_volume_fraction_10"] == 5.5
    assert features["intensity_at_volume_fraction_90"] == 1.5


def test_ivh_fixed_bin_size_extra_bin_above_range_by_hand():
    # [X_min, X_max] = [0, 1], w = 0.25: bins 1, 2, 3, 4, 5 -> centres .125, .375, .625, .875, 1.125;
    # nu = 1, .8, .6, .4, .2. IBSI: G = [.125, .875], V90 at i = .875 (gamma 1) -> .4.
    # MIRP's extra bin: G = [.125, 1.125], gamma(.875) = .75 < .9, V90 at i = 1.125 -> .2.
    values = [0.0, 0.25, 0.5, 0.8, 1.0]
    ibsi = ivh_features(values, method="fixed_bin_size", bin_width=0.25, use_resegmentation_range=False)
    extra = ivh_features(values, method="fixed_bin_size", bin_width=0.25, use_resegmentation_range=False,
                         extra_bin_above_range=True)
    assert ibsi["volume_at_intensity_fraction_90"] == pytest.approx(0.4)
    assert extra["volume_at_intensity_fraction_90"] == pytest.approx(0.2)
    assert ibsi["volume_at_intensity_fraction_10"] == extra["volume_at_intensity_fraction_10"] == pytest.approx(0.8)
    # intensities at volume fractions do not depend on G
    for key in ("intensity_at_volume_fraction_10", "intensity_at_volume_fraction_90"):
        assert ibsi[key] == extra[key]
    assert extra["intensity_at_volume_fraction_10"] == pytest.approx(1.375)  # no nu <= .1: next bin centre


def test_ivh_fixed_bin_size_without_range_starts_at_roi_minimum():
    # X_min = 1: bins 1, 1, 2 of width 2 -> centres 2, 2, 4; G = [2, 4]
    features = ivh_features([1.0, 2.0, 3.5], method="fixed_bin_size", bin_width=2.0)
    assert features["intensity_at_volume_fraction_90"] == 4.0
    assert features["volume_at_intensity_fraction_10"] == pytest.approx(1 / 3)


def test_ivh_fixed_bin_number_hand_computed_and_ignores_resegmentation_range():
    # 5 bins over [0, 10]: bins 1, 1, 2, 5 -> nu(1..5) = 1, .5, .25, .25, .25; G = [1, 5]
    features = ivh_features([0.0, 1.0, 2.0, 10.0], method="fixed_bin_number", n_bins=5,
                            resegmentation_range=(-100.0, 100.0))
    assert features["volume_at_intensity_fraction_10"] == 0.5
    assert features["volume_at_intensity_fraction_90"] == 0.25
    assert features["intensity_at_volume_fraction_10"] == 6.0
    assert features["intensity_at_volume_fraction_90"] == 2.0


def test_ivh_constant_roi():
    roi = make_roi([4.0, 4.0], levels=np.ones(2))
    results = values_by_key(ivh, roi, IvhFeatureSettings())
    for key in ("volume_at_intensity_fraction_10", "volume_at_intensity_fraction_90",
                "volume_fraction_difference_10_90"):
        assert math.isnan(results[key].value) and results[key].status == ivh.ZERO_WIDTH_RANGE
    assert results["intensity_at_volume_fraction_10"].value == 5.0
    assert results["area_under_ivh_curve"].value == 0.0


def test_ivh_area_under_curve_of_digital_phantom(digital_phantom_roi):
    results = values_by_key(ivh, digital_phantom_roi, IvhFeatureSettings())
    nu = np.array([74, 24, 24, 23, 7, 7]) / 74
    assert results["area_under_ivh_curve"].value == pytest.approx(np.trapezoid(nu, dx=0.2))
