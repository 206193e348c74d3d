"""Re-segmentation, discretisation and ROI preparation against hand-computed cases."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from radiomix.errors import EmptyRoiError, SpecError
from radiomix.preprocess.discretisation import discretise
from radiomix.preprocess.resegmentation import resegment
from radiomix.preprocess.roi import prepare_roi
from radiomix.spec import DiscretisationSettings, ResegmentationSettings, load_spec


def test_fixed_bin_number_by_hand():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    result = discretise(values, np.ones(5, bool), DiscretisationSettings("fixed_bin_number", n_bins=4))
    # floor(4 * x / 4) + 1, the maximum falls in the last bin
    assert result.levels.tolist() == [1, 2, 3, 4, 4] and result.n_levels == 4


def test_fixed_bin_number_constant_roi_is_one_level():
    result = discretise(np.full(3, 7.5), np.ones(3, bool), DiscretisationSettings("fixed_bin_number", n_bins=8))
    assert result.levels.tolist() == [1, 1, 1]


def test_fixed_bin_size_uses_resegmentation_lower_bound():
    values = np.array([-500.0, -476.0, -475.0, 399.0, 400.0, 900.0])
    mask = np.array([True, True, True, True, True, False])
    result = discretise(values, mask, DiscretisationSettings("fixed_bin_size", bin_width=25), range_low=-500)
    # floor((x + 500) / 25) + 1; outside the mask stays 0
    assert result.levels.tolist() == [1, 1, 2, 36, 37, 0]
    assert result.lower_bound == -500 and result.bin_width == 25 and result.n_levels == 37


def test_fixed_bin_size_defaults_to_roi_minimum_and_explicit_bound():
    values = np.array([10.0, 14.9, 15.0, 31.0])
    mask = np.ones(4, bool)
    by_roi_minimum = discretise(values, mask, DiscretisationSettings("fixed_bin_size", bin_width=5))
    assert by_roi_minimum.levels.tolist() == [1, 1, 2, 5]
    explicit = DiscretisationSettings("fixed_bin_size", bin_width=5, lower_bound=0)
    assert discretise(values, mask, explicit).levels.tolist() == [3, 3, 4, 7]
    with pytest.raises(SpecError, match="above the ROI minimum"):
        discretise(values, mask, DiscretisationSettings("fixed_bin_size", bin_width=5, lower_bound=11))


def test_no_discretisation_requires_positive_integers():
    mask = np.ones(3, bool)
    assert discretise(np.array([1.0, 6.0, 3.0]), mask, DiscretisationSettings("none")).levels.tolist() == [1, 6, 3]
    with pytest.raises(SpecError, match="not integers >= 1"):
        discretise(np.array([0.5, 2.0, 3.0]), mask, DiscretisationSettings("none"))


def test_resegmentation_range_and_outliers_by_hand():
    values = np.array([-1000.0, -500.0, 0.0, 10.0, 20.0, 400.0, 401.0])
    mask = np.ones(7, bool)
    kept = resegment(values, mask, ResegmentationSettings(range=(-500, 400)))
    assert kept.tolist() == [False, True, True, True, True, True, False]
    # 20 values at 0 and one at 100: mean 4.76, sd 21.3 -> 100 lies beyond 3 sd
    values = np.r_[np.zeros(20), 100.0]
    kept = resegment(values, np.ones(21, bool), ResegmentationSettings(outlier_sigma=3))
    assert kept.sum() == 20 and not kept[-1]
    # one-sided range
    kept = resegment(np.array([1.0, 5.0]), np.ones(2, bool), ResegmentationSettings(range=(None, 3)))
    assert kept.tolist() == [True, False]


def test_range_and_outlier_filtering_intersect_ranges_computed_on_the_roi():
    # IBSI (IF9H, 7ACA): mean and sd come from the whole ROI, then the ranges intersect.
    # 20 x 0, 100 and -2000: mean -86.4, sd 418 -> outlier range [-1340, 1168] keeps 100;
    # the range [-1000, 400] drops -2000. (Sigma from the voxels the range left would drop 100.)
    values = np.r_[np.zeros(20), 100.0, -2000.0]
    kept = resegment(values, np.ones(22, bool), ResegmentationSettings(range=(-1000, 400), outlier_sigma=3))
    assert kept[:21].all() and not kept[21]
    # voxels outside the morphological ROI never count, nor enter the mean
    mask = np.r_[np.ones(21, bool), False]
    kept = resegment(values, mask, ResegmentationSettings(outlier_sigma=3))
    assert kept.sum() == 20 and not kept[20] and not kept[21]


def test_prepare_roi_crops_with_margin_and_reports_empty_resegmentation():
    intensity = np.zeros((20, 20, 20))
    roi = np.zeros_like(intensity, bool)
    roi[9:11, 9:11, 9:11] = True
    intensity[roi] = [1, 2, 3, 4, 5, 6, 7, 8]
    spec = load_spec({"discretisation": {"method": "fixed_bin_number", "n_bins": 4}})
    prepared = prepare_roi(intensity, roi, (2.0, 1.0, 1.0), spec)
    # radius 6.2035 mm: ceil(6.2035/2)+1 = 5 slices, ceil(6.2035)+1 = 8 rows/columns each side
    assert prepared.intensity.shape == (12, 18, 18)
    assert prepared.morphological_mask.sum() == 8 and prepared.discretised.max() == 4
    empty = load_spec({"resegmentation": {"range": [100, 200]}})
    with pytest.raises(EmptyRoiError, match="case-7.*re-segmentation"):
        prepare_roi(intensity, roi, (1.0, 1.0, 1.0), empty, source="case-7")


def test_centred_grid_by_hand():
    from radiomix.preprocess.interpolation import new_grid

    # 5 voxels of 3 mm (15 mm) to 2 mm: ceil(7.5) = 8 voxels (16 mm), centred: first new
    # centre at old index 2 - 3.5 * 2/3 = -1/3
    size, scale, offset = new_grid((5,), (3.0,), (2.0,))
    assert size == (8,) and scale[0] == pytest.approx(2 / 3) and offset[0] == pytest.approx(-1 / 3)


def test_linear_interpolation_of_a_3x3x3_array_by_hand():
    from radiomix.preprocess.interpolation import resample

    array = np.arange(27, dtype=float).reshape(3, 3, 3)  # value = 9 z + 3 y + x
    out = resample(array, (2.0, 2.0, 2.0), (1.0, 1.0, 1.0), order=1)
    # 6 voxels per axis, old index = (i - 2.5) / 2 + 1 = 0.5 i - 0.25, clipped to the grid
    assert out.shape == (6, 6, 6)
    index = np.clip(0.5 * np.arange(6) - 0.25, 0, 2)
    expected = 9 * index[:, None, None] + 3 * index[None, :, None] + index[None, None, :]
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # nearest-neighbour and cubic spline reproduce the samples at the old centres
    same = resample(array, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0), order=3)
    np.testing.assert_allclose(same, array, atol=1e-9)
    nearest = resample(array, (2.0, 2.0, 2.0), (1.0, 1.0, 1.0), order=0)
    assert set(np.unique(nearest)) <= set(array.ravel())


def test_partial_volume_mask_at_half_threshold():
    from radiomix.preprocess.interpolation import interpolate
    from radiomix.spec import InterpolationSettings

    roi = np.zeros((1, 1, 4), bool)
    roi[0, 0, :2] = True  # two 2 mm voxels in, two out, along x
    intensity = np.zeros(roi.shape)
    settings = InterpolationSettings(spacing_mm=(1.0, 2.0), mask_threshold=0.5)
    _, mask, spacing = interpolate(intensity, roi, (2.0, 2.0, 2.0), settings)
    # 8 new voxels at old x = 0.5 i - 0.25 -> linear mask 1,1,1,0.75,0.25,0,0,0
    assert spacing == (2.0, 2.0, 1.0)
    assert mask[0, 0].tolist() == [True, True, True, True, False, False, False, False]
    strict = InterpolationSettings(spacing_mm=(1.0, 2.0), mask_threshold=0.8)
    assert interpolate(intensity, roi, (2.0, 2.0, 2.0), strict)[1][0, 0].sum() == 3


def test_interpolated_intensities_are_rounded_when_asked():
    from radiomix.preprocess.interpolation import interpolate
    from radiomix.spec import InterpolationSettings

    intensity = np.array([[[0.0, 1.0]]])
    roi = np.ones_like(intensity, bool)
    settings = InterpolationSettings(spacing_mm=(0.5, 1.0, 1.0), round_intensities=True)
    image, _, _ = interpolate(intensity, roi, (1.0, 1.0, 1.0), settings)
    # x positions -0.25, 0.25, 0.75, 1.25 -> 0, 0.25, 0.75, 1 -> rounded 0, 0, 1, 1
    assert image[0, 0].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_spacing_noise_from_dicom_positions_does_not_change_the_roi():
    from radiomix.preprocess.interpolation import interpolate
    from radiomix.spec import InterpolationSettings

    roi = np.zeros((6, 3, 3), bool)
    roi[:3] = True  # three 3 mm slices in, three out
    intensity = np.zeros(roi.shape)
    settings = InterpolationSettings(spacing_mm=(1.0, 1.0, 2.0))
    exact = interpolate(intensity, roi, (3.0, 1.0, 1.0), settings)[1]
    noisy = interpolate(intensity, roi, (2.9999999999998486, 1.0, 1.0), settings)[1]
    # new slice 4 sits at old z = 4 * 2/3 - 1/6 = 2.5, exactly between an inside and an outside slice
    assert exact[4].all() and np.array_equal(exact, noisy)


def test_mask_fraction_of_exactly_one_half_is_kept_despite_coordinate_noise():
    from radiomix.preprocess.interpolation import interpolate, resample
    from radiomix.spec import InterpolationSettings

    roi = np.zeros((4, 1, 1), bool)
    roi[0] = True  # four 3 mm slices, the first inside
    # 12 mm to 2 mm: 6 slices at old z = 2/3 i - 1/6; new slice 1 sits at z = 0.5, exactly
    # half-way between the inside and the next slice: fraction 0.5, kept by the >= 0.5 rule
    raw = resample(roi.astype(float), (3.0, 1.0, 1.0), (2.0, 1.0, 1.0), order=1)[:, 0, 0]
    assert raw[1] == pytest.approx(0.5, abs=1e-12)  # float64 gives 0.49999999999999989 here
    settings = InterpolationSettings(spacing_mm=(1.0, 1.0, 2.0))
    mask = interpolate(np.zeros(roi.shape), roi, (3.0, 1.0, 1.0), settings)[1][:, 0, 0]
    assert mask.tolist() == [True, True, False, False, False, False]


@hypothesis_settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), method=st.sampled_from(["nearest", "linear"]),
       old=st.tuples(*[st.sampled_from([0.5, 0.977, 1.0, 2.0, 3.0, 2.9999999999998486])] * 3),
       new=st.tuples(*[st.sampled_from([0.7, 1.0, 1.3, 2.0, 3.0])] * 3),
       margin_mm=st.sampled_from([0.0, 2.5, 6.2035]), mask_method=st.sampled_from([None, "nearest", "linear"]),
       mask_threshold=st.sampled_from([0.5, 0.2, 1.0]))
def test_roi_region_interpolation_equals_the_whole_image_block(seed, method, old, new, margin_mm, mask_method,
                                                               mask_threshold):
    from radiomix.preprocess.interpolation import interpolate, interpolate_roi_region
    from radiomix.spec import InterpolationSettings

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(3, 14, size=3))
    intensity = np.round(rng.normal(0.0, 100.0, size=shape), 1)
    roi = np.zeros(shape, bool)
    low = [int(rng.integers(0, n)) for n in shape]
    high = [int(rng.integers(a, n)) + 1 for a, n in zip(low, shape)]
    roi[tuple(slice(a, b) for a, b in zip(low, high))] = rng.random([b - a for a, b in zip(low, high)]) < 0.7
    roi[tuple(low)] = True
    settings = InterpolationSettings(spacing_mm=new, image_method=method, mask_method=mask_method or method,
                                     round_intensities=bool(seed % 2), mask_threshold=mask_threshold)
    whole_image, whole_mask, whole_spacing = interpolate(intensity, roi, old, settings)
    image, mask, spacing, region = interpolate_roi_region(intensity, roi, old, settings, margin_mm)
    # bit for bit the whole image's block, and the block holds the whole new ROI
    assert spacing == whole_spacing
    assert np.array_equal(image, whole_image[region]) and np.array_equal(mask, whole_mask[region])
    assert mask.sum() == whole_mask.sum()
    # the same block from the ROI's extent found by the caller
    from radiomix.preprocess.interpolation import roi_extent
    given_extent = interpolate_roi_region(intensity, roi, old, settings, margin_mm, roi_extent(roi))
    assert given_extent[3] == region and np.array_equal(given_extent[0], image)
    assert np.array_equal(given_extent[1], mask)


@pytest.mark.parametrize("pixel_type, spacing_mm",
                         [(np.int16, None), (np.float32, None), (np.float32, [2.0, 2.0, 2.0])])
def test_pixel_type_image_keeps_the_image_type_through_processing_and_filters(pixel_type, spacing_mm):
    """``intensity.pixel_type: image`` keeps the type (also on the pyradiomics grid); the default makes float64."""
    from radiomix.preprocess.filters import response_map
    from radiomix.preprocess.roi import process_image
    from radiomix.spec import load_spec

    rng = np.random.default_rng(5)
    intensity = rng.normal(100.0, 30.0, (9, 10, 11)).astype(pixel_type)
    roi = np.zeros(intensity.shape, bool)
    roi[2:7, 3:8, 2:9] = True
    interpolation = {} if spacing_mm is None else {"spacing_mm": spacing_mm, "grid": "pyradiomics",
                                                   "image_method": "linear", "mask_method": "nearest"}
    section = {"interpolation": interpolation, "filters": [{"recursive_log": {"sigma_mm": 1.0}}]}
    kept = process_image(intensity, roi, (1.0, 1.0, 1.0), load_spec({**section, "intensity": {"pixel_type": "image"}}))
    ibsi = process_image(intensity, roi, (1.0, 1.0, 1.0), load_spec(section))
    assert kept.intensity.dtype == pixel_type and ibsi.intensity.dtype == np.float64
    np.testing.assert_array_equal(kept.intensity.astype(np.float64), ibsi.intensity)
    np.testing.assert_array_equal(kept.intensity_mask, ibsi.intensity_mask)
    log = {"recursive_log": {"sigma_mm": 1.0}}
    assert response_map(kept.intensity, kept.spacing, log, keep_pixel_type=True).dtype == np.float32
    assert response_map(kept.intensity, kept.spacing, log).dtype == np.float64


def test_crop_to_roi_crops_the_filtered_image_to_the_roi_box_plus_pad_voxels():
    """``interpolation.crop_to_roi``: the filters see the ROI's box plus ``pad_voxels`` (clipped to the image)."""
    from radiomix.preprocess.roi import process_image
    from radiomix.spec import load_spec

    rng = np.random.default_rng(9)
    intensity = rng.normal(0.0, 1.0, (8, 12, 13))
    roi = np.zeros(intensity.shape, bool)
    roi[1:5, 4:7, 6:12] = True
    filters = [{"square": {}}]
    cropped = process_image(intensity, roi, (2.0, 1.0, 1.0),
                            load_spec({"filters": filters, "interpolation": {"crop_to_roi": True, "pad_voxels": 2}}))
    np.testing.assert_array_equal(cropped.intensity, intensity[0:7, 2:9, 4:13])
    np.testing.assert_array_equal(cropped.morphological_mask, roi[0:7, 2:9, 4:13])
    whole = process_image(intensity, roi, (2.0, 1.0, 1.0), load_spec({"filters": filters}))
    assert whole.intensity.shape == intensity.shape
    with pytest.raises(SpecError, match="crop_to_roi"):
        load_spec({"interpolation": {"crop_to_roi": True, "spacing_mm": [1.0, 1.0, 1.0]}})


def test_processed_image_keeps_the_voxels_it_views_valid():
    """Without interpolation a float64 image's intensities are a view of the SimpleITK image's voxels:
    the processed image holds that image, so they stay valid after the caller's reference is gone."""
    import gc

    import SimpleITK as sitk

    from radiomix.preprocess.roi import image_arrays_with_extent, process_image

    def extent_box(extent):
        return tuple(slice(low, high + 1) for low, high in extent)

    def processed():
        voxels = np.arange(40 * 30 * 20, dtype=np.float64).reshape(40, 30, 20)
        image = sitk.GetImageFromArray(voxels)
        mask = sitk.GetImageFromArray((voxels % 7 > 2).astype(np.uint8))
        intensity, roi, spacing, extent = image_arrays_with_extent(image, mask)
        spec = load_spec({"discretisation": {"method": "none"}})
        return process_image(intensity, roi, spacing, spec, geometry=image, extent=extent), voxels[extent_box(extent)]

    result, expected = processed()
    assert not result.intensity.flags.owndata  # a view: the case this test is about
    gc.collect()
    overwrite = [np.full(40 * 30 * 20, -1.0) for _ in range(20)]  # reuse of freed memory would show here
    np.testing.assert_array_equal(result.intensity, expected)
    assert len(overwrite) == 20
