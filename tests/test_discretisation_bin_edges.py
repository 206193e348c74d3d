"""``discretisation.bin_edges``: pyradiomics' bin edges as a setting of the ordinary discretisation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_extract_filters import _case

import radiomix
from radiomix.errors import SpecError
from radiomix.preprocess.discretisation import digitised, discretise, pyradiomics_bin_edges
from radiomix.preprocess.settings import DiscretisationSettings
from radiomix.spec import load_spec

PROPERTY = settings(max_examples=40, deadline=None)


def numpy_edges(values, method, width, n_bins):
    """pyradiomics' edges written out with NumPy (reference)."""
    if method == "fixed_bin_number":
        edges = np.histogram(values, n_bins)[1]
        edges[-1] += 1
        return edges
    low = values.min() - values.min() % width
    edges = np.arange(low, values.max() + 2 * width, width)
    return np.array([edges[0] - 0.5, edges[0] + 0.5]) if len(edges) == 1 else edges


@PROPERTY
@given(st.data(), st.sampled_from([np.int16, np.uint16, np.float32, np.float64]),
       st.sampled_from(["fixed_bin_size", "fixed_bin_number"]), st.floats(0.05, 300), st.integers(1, 40))
def test_pyradiomics_edges_digitise_as_numpy(data, dtype, method, width, n_bins):
    shape = tuple(data.draw(st.integers(1, 5)) for _ in range(3))
    mask = data.draw(arrays(np.bool_, shape))
    mask.flat[data.draw(st.integers(0, mask.size - 1))] = True
    image = data.draw(arrays(np.float64, shape, elements=st.floats(-1000, 4000))).astype(dtype)
    binning = DiscretisationSettings(method, bin_width=width, n_bins=n_bins, bin_edges="pyradiomics")
    values = image[mask]
    edges = pyradiomics_bin_edges(values, binning)
    assert np.array_equal(edges, numpy_edges(values, method, width, n_bins))
    expected = np.zeros(shape, dtype=np.int64)
    expected[mask] = np.digitize(values, edges)
    roi_levels, levels = digitised(values.astype(np.float64), mask, edges)
    assert np.array_equal(levels, expected) and np.array_equal(roi_levels, expected[mask])
    result = discretise(image.astype(np.float64), mask, binning)
    if dtype != np.float32:  # float64 intensities give the same edges as the values' own type
        assert np.array_equal(result.levels, expected) and result.n_levels == expected.max()


@PROPERTY
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-3000, 3000)),
       st.sampled_from([np.int16, np.float32, np.float64]), st.floats(0.01, 500), st.integers(1, 64))
def test_pyradiomics_edges_are_those_of_pyradiomics(values, dtype, width, n_bins):
    imageoperations = pytest.importorskip("radiomics.imageoperations")
    values = values.astype(dtype)
    for method, keywords in (("fixed_bin_size", {"binWidth": width}), ("fixed_bin_number", {"binCount": n_bins})):
        expected, expected_edges = imageoperations.binImage(values.copy(), None, **keywords)
        edges = pyradiomics_bin_edges(values, DiscretisationSettings(method, bin_width=width, n_bins=n_bins,
                                                                     bin_edges="pyradiomics"))
        assert np.array_equal(edges, expected_edges)
        assert np.array_equal(digitised(values.astype(np.float64), np.ones(len(values), bool), edges)[0], expected)


def test_fixed_bin_size_edges_lie_at_multiples_of_the_width():
    values = np.array([-37.0, 12.0, 61.0, 80.0])
    mask = np.ones(4, bool)
    pyradiomics = discretise(values, mask, DiscretisationSettings("fixed_bin_size", bin_width=25,
                                                                  bin_edges="pyradiomics"))
    ibsi = discretise(values, mask, DiscretisationSettings("fixed_bin_size", bin_width=25))
    # edges -50, -25, 0, 25, ...: -37 in bin 1, 12 in bin 3, 61 in bin 5, 80 in bin 6 (IBSI's bins start at -37)
    assert pyradiomics.levels.tolist() == [1, 3, 5, 6] and pyradiomics.lower_bound == -50.0
    assert ibsi.levels.tolist() == [1, 2, 4, 5] and ibsi.lower_bound == -37.0
    assert pyradiomics.n_levels == 6 and pyradiomics.bin_width == 25.0


def test_fixed_bin_number_puts_the_maximum_in_the_last_bin():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    result = discretise(values, np.ones(5, bool), DiscretisationSettings("fixed_bin_number", n_bins=4,
                                                                         bin_edges="pyradiomics"))
    assert result.levels.tolist() == [1, 2, 3, 4, 4] and result.n_levels == 4 and result.bin_width is None


def test_spec_setting_defaults_to_ibsi_and_is_checked():
    assert load_spec({}).discretisation.bin_edges == "ibsi"
    spec = load_spec({"discretisation": {"method": "fixed_bin_size", "bin_width": 25, "bin_edges": "pyradiomics"}})
    assert spec.discretisation.bin_edges == "pyradiomics"
    with pytest.raises(SpecError, match="bin_edges"):
        load_spec({"discretisation": {"method": "fixed_bin_size", "bin_width": 25, "bin_edge": "pyradiomics"}})
    with pytest.raises(SpecError, match="ibsi"):
        load_spec({"discretisation": {"method": "fixed_bin_size", "bin_width": 25, "bin_edges": "pyradiomic"}})
    with pytest.raises(SpecError, match="lower_bound"):
        load_spec({"discretisation": {"method": "fixed_bin_size", "bin_width": 25, "lower_bound": 0,
                                      "bin_edges": "pyradiomics"}})


def test_extract_features_bins_the_roi_at_multiples_of_the_width(tmp_path):
    paths, array, roi = _case(tmp_path)
    spec = {"discretisation": {"method": "fixed_bin_size", "bin_width": 25, "bin_edges": "pyradiomics"},
            "features": {"histogram": {}}}
    table = radiomix.extract_features(*paths, spec).set_index("name")["value"]
    values = array[roi]
    levels = np.floor(values / 25) - np.floor(values.min() / 25) + 1  # bins [25 k, 25 (k + 1))
    assert table["Mean discretised intensity"] == pytest.approx(levels.mean(), rel=1e-12)
