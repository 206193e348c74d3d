"""Kernels of radiomix's pyradiomics backend that the speed work added or reshaped.

- one image's :class:`~radiomix.features.texture.PresentLevels` ranked once and shared by
  every texture class give the numbers each class gets from the levels array;
- the IBSI engine's run-length, co-occurrence and neighbourhood matrices with pyradiomics' offsets
  against the plain NumPy references of ``test_pyradiomics_texture`` on larger, long-run volumes;
- the one-pass ROI box and count, and masks used without a cast to UInt32.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_pyradiomics_texture import (
    naive_dependence,
    naive_glcm_counts,
    naive_glrlm_counts,
    naive_ngtdm,
    spec_settings,
)

from radiomix.errors import InputError
from radiomix.features import glcm, glrlm
from radiomix.features.glcm import glcm_matrices
from radiomix.features.neighbourhood import neighbourhood_matrices
from radiomix.features.texture import cropped_to_roi, present_levels, pyradiomics_offsets
from radiomix.pyradiomics.mapping import GLCM_SOURCES
from radiomix.pyradiomics.params import PyradiomicsSettings
from radiomix.pyradiomics.translation import TEXTURE_FAMILIES, glcm_settings, texture_dimensions

PROPERTY = settings(max_examples=30, deadline=None)


def glcm_features(levels, n_levels, spacing_zyx, settings, mcc=True) -> dict:
    """The GLCM family's values under pyradiomics' ``settings``, by pyradiomics name."""
    values = {result.key: result.value
              for result in glcm.level_features(levels, n_levels, spacing_zyx, glcm_settings(settings, mcc))}
    return {name: values[key] for name, key in GLCM_SOURCES.items() if key in values}


def class_features(name: str):
    """``features(levels, n_levels, spacing_zyx, settings)`` of the family computing pyradiomics' class ``name``."""
    def features(levels, n_levels, spacing_zyx, settings) -> dict:
        family, family_settings, sources = TEXTURE_FAMILIES[name]
        values = {result.key: result.value for result in family.level_features(
            levels, n_levels, spacing_zyx, family_settings(settings, ()), texture_dimensions(settings))}
        return {feature: values[key] for feature, key in sources.items()}
    return features


FEATURES = {"glcm": glcm_features, **{name: class_features(name) for name in ("glrlm", "glszm", "gldm", "ngtdm")}}
SETTINGS = ({}, {"distances": [1, 2]}, {"force2D": True}, {"gldm_a": 1}, {"weightingNorm": "manhattan"})


@st.composite
def blob_levels(draw, max_shape=(5, 9, 9), max_levels=4):
    """Level volumes with long runs: a random ROI (sometimes a box-filling one) of few grey levels."""
    shape_ = tuple(draw(st.integers(1, m)) for m in max_shape)
    n_levels = draw(st.integers(1, max_levels))
    volume = draw(arrays(np.int32, shape_, elements=st.integers(1, n_levels)))
    if draw(st.booleans()):
        volume *= draw(arrays(np.bool_, shape_, elements=st.booleans()))
    if not volume.any():
        volume.flat[draw(st.integers(0, volume.size - 1))] = 1
    return volume


@PROPERTY
@given(blob_levels(), st.sampled_from(SETTINGS))
def test_shared_levels_give_each_class_its_own_numbers(levels, setting):
    n_levels = int(levels.max())
    spec = spec_settings(setting)
    shared = present_levels(cropped_to_roi(levels, n_levels), n_levels)  # ranked levels are of the ROI's box
    for name, features in FEATURES.items():
        try:
            alone = features(levels, n_levels, (2.0, 1.0, 0.5), spec)
        except InputError:
            continue  # no offset fits in the box (pyradiomics fails too)
        together = features(shared, n_levels, (2.0, 1.0, 0.5), spec)
        assert alone.keys() == together.keys()
        for key, value in alone.items():
            assert together[key] == value or (np.isnan(value) and np.isnan(together[key])), (name, key)


def test_glcm_without_mcc_leaves_it_out():
    levels = np.arange(1, 28, dtype=np.int32).reshape(3, 3, 3) % 4 + 1
    with_mcc = glcm_features(levels, 4, (1.0, 1.0, 1.0), PyradiomicsSettings())
    without = glcm_features(levels, 4, (1.0, 1.0, 1.0), PyradiomicsSettings(), mcc=False)
    assert "MCC" not in without and without == {k: v for k, v in with_mcc.items() if k != "MCC"}


@PROPERTY
@given(blob_levels(max_shape=(6, 12, 12), max_levels=3))
def test_run_lengths_and_pairs_equal_references_on_long_runs(levels):
    assume(levels.size > 1)  # a single voxel has no neighbour offset
    unit = pyradiomics_offsets(levels.shape, (1,), False, None)
    present = present_levels(levels, int(levels.max()))
    runs = glrlm.offset_matrices(present, unit).transpose(1, 2, 0)
    expected = naive_glrlm_counts(levels, unit)
    np.testing.assert_array_equal(runs, expected[:, :runs.shape[1]])
    np.testing.assert_array_equal(
        glcm_matrices(present.ranked, present.n_present, unit, symmetric=False).transpose(1, 2, 0),
        naive_glcm_counts(levels, unit))


@PROPERTY
@given(blob_levels(max_shape=(4, 7, 7), max_levels=5), st.integers(0, 2), st.sampled_from([(1,), (2,), (1, 2)]))
def test_one_neighbourhood_pass_gives_the_dependences_and_the_ngtdm(levels, alpha, distances):
    assume(levels.size > 1)
    try:
        both = pyradiomics_offsets(levels.shape, distances, True, None)
    except InputError:
        assume(False)
    present = present_levels(levels, int(levels.max()))
    counted = neighbourhood_matrices(levels, present.n_levels, both, 0, alpha=alpha, count_isolated=True)
    np.testing.assert_array_equal(counted.volume_dependence[0][present.rows], naive_dependence(levels, both, alpha))
    expected_counts, expected_differences = naive_ngtdm(levels, both)
    np.testing.assert_array_equal(counted.volume_counts[0][present.rows], expected_counts)
    np.testing.assert_allclose(counted.volume_sums[0][present.rows], expected_differences, rtol=1e-12, atol=1e-12)


