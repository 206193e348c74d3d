"""pyradiomics' resampling grid as ``interpolation: {grid: pyradiomics}`` of an ordinary spec."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from firstorder_dialect import FIRSTORDER_SPEC, firstorder_pairs, pyradiomics_firstorder
from hypothesis import given, settings
from hypothesis import strategies as st

import radiomix
from radiomix.errors import SpecError
from radiomix.preprocess.roi_grid import resample_on_roi_grid
from radiomix.spec import InterpolationSettings, load_spec


def test_defaults_are_ibsi():
    settings_ = InterpolationSettings()
    assert (settings_.grid, settings_.image_method, settings_.mask_method) == ("ibsi", "linear", "linear")
    assert load_spec({}).interpolation == settings_


def test_grid_settings_from_a_yaml_spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("interpolation:\n  spacing_mm: [1.5, 1.5, 2]\n  grid: pyradiomics\n"
                    "  image_method: lanczos_windowed_sinc\n  mask_method: nearest\n  pad_voxels: 3\n")
    spec = load_spec(path)
    assert spec.interpolation == InterpolationSettings((1.5, 1.5, 2.0), "lanczos_windowed_sinc", "nearest",
                                                       grid="pyradiomics", pad_voxels=3)
    assert spec.content_hash() != load_spec({"interpolation": {"spacing_mm": [1.5, 1.5, 2]}}).content_hash()


@pytest.mark.parametrize(("section", "message"), [
    ({"gird": "pyradiomics"}, "did you mean 'grid'"),
    ({"pad_voxel": 2}, "did you mean 'pad_voxels'"),
    ({"grid": "pyradiomic"}, "did you mean 'pyradiomics'"),
    ({"grid": "pyradiomics", "mask_method": "nearest", "image_method": "bsplin"}, "did you mean 'bspline'"),
    ({"image_method": "bspline"}, "grid: ibsi takes"),
    ({"grid": "pyradiomics", "mask_method": "nearest", "image_method": "cubic"}, "did you mean 'bspline'"),
    ({"grid": "pyradiomics"}, "mask_method: nearest"),
    ({"grid": "pyradiomics", "mask_method": "nearest", "pad_voxels": -1}, "pad_voxels"),
])
def test_wrong_settings_are_errors_with_suggestions(section, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"interpolation": {"spacing_mm": [1, 1, 1], **section}})


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), new_spacing=st.tuples(*[st.sampled_from([0.0, 0.7, 1.0, 1.3, 2.5])] * 3),
       pad=st.integers(0, 3))
def test_grid_is_corner_aligned_and_covers_the_padded_box(seed, new_spacing, pad):
    """The documented rules, checked on the output geometry (independent of how it is computed)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((9, 10, 11), np.uint8)
    lower = rng.integers(0, 4, 3)
    upper = lower + rng.integers(0, 5, 3)
    labels[tuple(slice(lo, hi + 1) for lo, hi in zip(lower, upper))] = 1
    mask = sitk.GetImageFromArray(labels)
    old = np.array([0.9, 1.1, 1.7])  # x, y, z
    mask.SetSpacing(old.tolist())
    mask.SetOrigin((-3.0, 12.5, 40.0))
    image = sitk.Cast(mask, sitk.sitkFloat32)
    new_image, new_mask = resample_on_roi_grid(image, mask, 1, new_spacing, pad, "linear")
    assert new_image.GetPixelID() == sitk.sitkFloat32 and new_mask.GetPixelID() == sitk.sitkUInt8
    spans_one = (upper == lower)[::-1]
    expected = np.where((np.array(new_spacing) == 0) | spans_one, old, new_spacing)
    got = np.array(new_image.GetSpacing())
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # first corner: the mask's first corner plus a whole number of new voxels
    corner = np.array(new_image.GetOrigin()) - got / 2
    steps = (corner - (np.array(mask.GetOrigin()) - old / 2)) / got
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert np.all(np.round(steps) >= 0)
    # the padded box is covered, within the mask's extent
    end = corner + got * np.array(new_image.GetSize())
    box_low = np.array(mask.GetOrigin()) + (lower[::-1] - 0.5) * old
    last_centres = np.array(mask.GetOrigin()) + upper[::-1] * old
    mask_low = np.array(mask.GetOrigin()) - old / 2
    mask_high = mask_low + old * np.array(mask.GetSize())
    if np.allclose(got, old):  # no interpolation: a crop to the box plus pad voxels
        np.testing.assert_allclose(corner, np.maximum(box_low - pad * got, mask_low), atol=1e-9)
        np.testing.assert_allclose(end, np.minimum(last_centres + (pad + 0.5) * got, mask_high), atol=1e-9)
        return
    assert np.all(corner <= np.maximum(box_low - pad * got, mask_low) + 1e-9)
    assert np.all(end >= np.minimum(last_centres + (pad + 1) * got, mask_high) - 1e-9)
    assert np.all(end < mask_high + got + 1e-9)


def _case(dtype, origin=(0.0, 0.0, 0.0), direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)):
    rng = np.random.default_rng(5)
    image_array = rng.integers(-40, 300, (12, 14, 13)).astype(dtype)
    mask_array = np.zeros(image_array.shape, np.uint8)
    mask_array[3:9, 4:11, 2:10] = rng.random((6, 7, 8)) < 0.8
    image, mask = sitk.GetImageFromArray(image_array), sitk.GetImageFromArray(mask_array)
    for item in (image, mask):
        item.SetSpacing((0.8, 0.9, 2.4))
        item.SetOrigin(origin)
        item.SetDirection(direction)
    return image, mask


OBLIQUE = {"origin": (-251.3, 117.9, -840.25), "direction": (0.0, 0.6, 0.8, 1.0, 0.0, 0.0, 0.0, 0.8, -0.6)}
"""A grid far from the origin, its axes rotated: the pyradiomics chain resamples in physical space."""


@pytest.mark.parametrize(("dtype", "interpolator", "spacing", "geometry"), [
    (np.int16, "sitkBSpline", [1.0, 1.0, 1.0], {}),
    (np.int16, "sitkBSpline", [1.0, 1.0, 1.0], OBLIQUE),
    (np.float32, "sitkLinear", [1.3, 0.0, 1.7], OBLIQUE),
    (np.int16, "sitkNearestNeighbor", [0.8, 0.9, 2.4], {}),  # the image's spacing: a crop, no interpolation
])
def test_ordinary_spec_reproduces_pyradiomics_resampling(dtype, interpolator, spacing, geometry):
    """firstorder of a resampled case: pyradiomics' parameter file and an ordinary spec give the same values."""
    image, mask = _case(dtype, **geometry)
    method = {"sitkBSpline": "bspline", "sitkLinear": "linear", "sitkNearestNeighbor": "nearest"}[interpolator]
    ordinary = radiomix.extract_features(image, mask, {
        **FIRSTORDER_SPEC, "interpolation": {"spacing_mm": spacing, "grid": "pyradiomics",
                                             "image_method": method, "mask_method": "nearest", "pad_voxels": 5}})
    pyradiomics = radiomix.extract_features(image, mask, pyradiomics_firstorder(
        resampledPixelSpacing=spacing, interpolator=interpolator, padDistance=5))
    for ours, theirs in firstorder_pairs(ordinary, pyradiomics):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("origin", [(0.0, 0.0, 0.0), (-5.0, 3.0, 12.0), (-251.3, 117.9, -840.25)])
def test_resampling_places_the_grid_on_the_image_as_pyradiomics(origin):
    """The ordinary chain places the grid in physical space, on the image's origin, as pyradiomics does.

    Where a new voxel centre falls on a voxel boundary, the nearest-neighbour mask (and an integer
    image's cast) follow the rounding of the physical coordinates, so the origin can change the values.
    """
    image, mask = _case(np.int16, origin=origin)
    ordinary = radiomix.extract_features(image, mask, {
        **FIRSTORDER_SPEC, "interpolation": {"spacing_mm": [1.6, 1.8, 0.0], "grid": "pyradiomics",
                                             "image_method": "bspline", "mask_method": "nearest"}})
    pyradiomics = radiomix.extract_features(image, mask, pyradiomics_firstorder(
        resampledPixelSpacing=[1.6, 1.8, 0.0], interpolator="sitkBSpline", padDistance=5))
    for ours, theirs in firstorder_pairs(ordinary, pyradiomics):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


def test_in_plane_spacing_keeps_the_slice_thickness():
    image, mask = _case(np.int16)
    section = {"grid": "pyradiomics", "image_method": "linear", "mask_method": "nearest"}
    in_plane = radiomix.extract_features(image, mask, {
        "interpolation": {"spacing_mm": [1.1, 1.2], **section}, "features": {"statistics": {}}})
    explicit = radiomix.extract_features(image, mask, {
        "interpolation": {"spacing_mm": [1.1, 1.2, 2.4], **section}, "features": {"statistics": {}}})
    coarse = radiomix.extract_features(image, mask, {
        "interpolation": {"spacing_mm": [1.1, 1.2, 3.0], **section}, "features": {"statistics": {}}})
    np.testing.assert_array_equal(in_plane["value"].to_numpy(), explicit["value"].to_numpy())
    assert not np.array_equal(in_plane["value"].to_numpy(), coarse["value"].to_numpy())


def test_zero_spacing_keeps_the_axis_on_the_pyradiomics_grid_only():
    """pyradiomics' 0 in resampledPixelSpacing (keep that axis) is an ordinary spec's 0 with grid: pyradiomics."""
    image, mask = _case(np.float32, **OBLIQUE)
    section = {"grid": "pyradiomics", "image_method": "linear", "mask_method": "nearest"}
    kept = radiomix.extract_features(image, mask, {
        "interpolation": {"spacing_mm": [1.3, 0.0, 1.7], **section}, "features": {"statistics": {}}})
    explicit = radiomix.extract_features(image, mask, {
        "interpolation": {"spacing_mm": [1.3, image.GetSpacing()[1], 1.7], **section},
        "features": {"statistics": {}}})
    np.testing.assert_array_equal(kept["value"].to_numpy(), explicit["value"].to_numpy())
    with pytest.raises(SpecError, match="0 keeps an axis"):
        load_spec({"interpolation": {"spacing_mm": [1.3, 0.0, 1.7]}})
