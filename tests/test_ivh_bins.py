"""The IVH from bin counts equals the IVH from the sorted discretised values (NumPy reference), bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from radiomix.features import ivh
from radiomix.spec import IvhFeatureSettings


def sorted_reference(discretised, intensities):
    """Volume fractions and distinct count from NumPy's sort and searchsorted (the general method)."""
    ordered = np.sort(discretised)
    below = np.searchsorted(ordered, intensities, side="left")
    return 1.0 - below / ordered.size, len(np.unique(ordered))


@hypothesis_settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_values=st.integers(1, 300),
       method=st.sampled_from(["fixed_bin_number", "fixed_bin_size"]), n_bins=st.integers(1, 1000),
       width=st.sampled_from([0.1, 0.25, 1.0, 2.5, 25.0]), levels=st.booleans())
def test_bin_counts_give_the_sorted_values_fractions(seed, n_values, method, n_bins, width, levels):
    rng = np.random.default_rng(seed)
    values = rng.integers(-3, 4, n_values).astype(float) * 7.0 if levels else rng.normal(50.0, 30.0, n_values)
    settings = IvhFeatureSettings(method=method, n_bins=n_bins) if method == "fixed_bin_number" else \
        IvhFeatureSettings(method=method, bin_width=width)
    histogram = ivh.intensity_volume_histogram(values, settings, (-np.inf, np.inf))
    low, high = values.min(), values.max()
    if method == "fixed_bin_number":
        bins = np.minimum(np.floor(n_bins * (values - low) / (high - low)).astype(np.int64) + 1, n_bins) \
            if high > low else np.full(values.shape, n_bins)
        discretised = bins.astype(float)
    else:
        discretised = low + (np.floor((values - low) / width).astype(np.int64) + 1 - 0.5) * width
    fractions, n_distinct = sorted_reference(discretised, histogram.intensities)
    np.testing.assert_array_equal(histogram.volume_fractions, fractions)
    assert histogram.n_distinct == n_distinct
