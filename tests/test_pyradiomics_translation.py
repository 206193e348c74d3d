"""A pyradiomics parameter file translated into ordinary specs (radiomix.pyradiomics.translation).

The translated specs, each extracted through ``radiomix.extract_features`` on its own (the shape
classes' and each image type's) and renamed through the naming table, give the parameter file's
values (its specs sharing one read and processing of the case): firstorder on
every baseline configuration and on the prostate phantom with LoG and Wavelet, every class on brain1
(feature_specs/pyradiomics_default.yaml and a force2D/distances/weightingNorm variant) and on a small
case with LoG and Wavelet and a single-slice ROI (shape2D); every parameter-file setting is either
carried by an ordinary setting or named, with the reason, among those that are not.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from golden_cases import PROSTATE_PARAMETERS, SPECS, _random_volume
from test_pyradiomics_baseline import CONFIGURATIONS, _configuration_id, case_images, parameters

import radiomix
from radiomix.errors import InputError, SpecError
from radiomix.preprocess.intensity import normalise_whole_image
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.mapping import FEATURE_CLASSES
from radiomix.pyradiomics.params import PyradiomicsSettings, load_pyradiomics_spec
from radiomix.pyradiomics.translation import EXPRESSED, NOT_EXPRESSED, ordinary_spec, translate

from conftest import require_data


def _ordinary_values(image: sitk.Image, mask: sitk.Image, params: dict) -> dict[str, float]:
    """pyradiomics-named values of the translated specs, one ``extract_features`` call per image type.

    The intensity section is applied first, as a cohort's preprocess stage does; each table is
    renamed through its image type's naming table.
    """
    translation = translate(load_pyradiomics_spec(params), image)
    values = {}
    for image_type in translation.parts:
        names = image_type.feature_names()
        intensity = image_type.spec.intensity
        source = image if intensity.normalisation == "none" else normalise_whole_image(
            image, intensity.normalisation_scale, intensity.normalisation_clip)
        table = radiomix.extract_features(source, mask, image_type.spec, label=translation.label)
        values.update((names[feature], value) for feature, value in zip(table["feature"], table["value"])
                      if feature in names)
    return values


def _assert_same_values(image, mask, params, feature_class: str | None = None) -> None:
    """Every value ``extract_pyradiomics`` gives (of ``feature_class`` when given) within 1e-12 relative."""
    reference = extract_pyradiomics(image, mask, params)
    reference = {name: value for name, value in zip(reference["feature"], reference["value"])
                 if feature_class is None or f"_{feature_class}_" in name}
    assert reference
    ours = _ordinary_values(image, mask, params)
    assert ours.keys() >= reference.keys(), sorted(reference.keys() - ours.keys())
    for name, expected in reference.items():
        assert ours[name] == pytest.approx(expected, rel=1e-12, abs=0, nan_ok=True), name


def _assert_same_firstorder(image, mask, params):
    _assert_same_values(image, mask, params, "firstorder")


@pytest.mark.parametrize("configuration", CONFIGURATIONS, ids=_configuration_id)
def test_translated_spec_gives_the_firstorder_values_of_every_baseline(configuration):
    image, mask = case_images(configuration)
    _assert_same_firstorder(image, mask, parameters(configuration, ["firstorder"]))


def test_translated_spec_gives_the_firstorder_values_of_log_and_wavelet():
    folder = require_data("pyradiomics/cases")
    image = sitk.ReadImage(str(folder / "prostate_phantom_image.nrrd"))
    mask = sitk.ReadImage(str(folder / "prostate_phantom_label.nrrd"))
    _assert_same_firstorder(image, mask, dict(PROSTATE_PARAMETERS, featureClass={"firstorder": []}))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_translated_default_parameter_file_gives_the_firstorder_values_of_random_volumes(seed):
    """feature_specs/pyradiomics_default.yaml on the golden tables' random volumes (float64, off the origin)."""
    params = load_pyradiomics_spec(SPECS / "pyradiomics_default.yaml")
    _assert_same_firstorder(*_random_volume(seed, -50, 200), params)


def _small_case() -> tuple[sitk.Image, sitk.Image]:
    """A 16-bit random image (14 x 12 x 10 voxels, anisotropic) with a lumpy ROI of label 2."""
    rng = np.random.default_rng(7)
    shape = (10, 12, 14)
    z, y, x = np.indices(shape)
    distance = np.sqrt(((z - 4.6) * 1.8) ** 2 + ((y - 5.8) * 1.1) ** 2 + (x - 6.9) ** 2)
    roi = (distance < 5.5 + rng.normal(0, 0.7, shape)).astype(np.uint8) * 2
    image = sitk.GetImageFromArray(rng.integers(-300, 900, size=shape).astype(np.int16))
    mask = sitk.GetImageFromArray(roi)
    for item in (image, mask):
        item.SetSpacing((0.9, 1.1, 1.8))
        item.SetOrigin((-5.0, 3.0, 12.0))
    return image, mask


ALL_CLASSES = {name: [] for name in FEATURE_CLASSES}


@pytest.mark.parametrize("setting", [
    {},
    {"force2D": True, "force2Ddimension": 1, "distances": [1, 2], "weightingNorm": "euclidean",
     "symmetricalGLCM": False, "gldm_a": 1},
], ids=["default", "force2D_distances_weightingNorm"])
def test_translated_default_parameter_file_gives_every_class_on_brain1(setting):
    cases = require_data("pyradiomics/cases")
    image = sitk.ReadImage(str(cases / "brain1_image.nrrd"))
    mask = sitk.ReadImage(str(cases / "brain1_label.nrrd"))
    params = yaml.safe_load((SPECS / "pyradiomics_default.yaml").read_text())
    params["setting"].update(setting)
    _assert_same_values(image, mask, params)


def test_translated_specs_give_every_class_of_log_and_wavelet():
    image, mask = _small_case()
    params = {"imageType": {"Original": {}, "LoG": {"sigma": [1.5]}, "Wavelet": {"binWidth": 10}},
              "featureClass": ALL_CLASSES, "setting": {"label": 2, "distances": [1, 2]}}
    _assert_same_values(image, mask, params)


@pytest.mark.parametrize("axis", [0, 2])
def test_translated_specs_give_shape2d_of_a_single_slice_roi(axis):
    image, mask = _small_case()
    roi = sitk.GetArrayFromImage(mask)
    single = np.zeros_like(roi)
    index = [slice(None)] * 3
    index[axis] = roi.shape[axis] // 2
    single[tuple(index)] = roi[tuple(index)]
    flat = sitk.GetImageFromArray(single)
    flat.CopyInformation(mask)
    params = {"featureClass": ALL_CLASSES, "setting": {"label": 2, "force2D": True, "force2Ddimension": axis}}
    _assert_same_values(image, flat, params)
    assert any("_shape2D_" in name for name in extract_pyradiomics(image, flat, params)["feature"])


@pytest.mark.parametrize("setting", [
    {"normalize": True, "normalizeScale": 50, "removeOutliers": 1.5},
    {"resegmentRange": [-1.0, 1.5], "resegmentMode": "sigma"},
    {"resegmentRange": [0.2], "resegmentMode": "relative"},
    {"resegmentRange": [600, -100]},
    {"binCount": 12, "voxelArrayShift": 500, "minimumROISize": 20},
    {"resampledPixelSpacing": [1.5, 1.5, 0], "interpolator": "sitkLinear", "padDistance": 2},
    {"resampledPixelSpacing": [1.2, 1.2, 1.2], "binWidth": 7},
    {"preCrop": True, "padDistance": 0},
    {"preCrop": True, "padDistance": 1, "normalize": True},
], ids=str)
def test_translated_settings_give_the_same_firstorder_values(setting):
    image, mask = _small_case()
    params = {"imageType": {"Original": {}, "Gradient": {}, "Square": {"binWidth": 400}},
              "featureClass": {"firstorder": []}, "setting": {"label": 2, **setting}}
    _assert_same_firstorder(image, mask, params)


def test_pre_crop_changes_the_filtered_values_it_is_translated_to():
    """preCrop is not a mere speed-up: Square's max|x| and Gradient's border see the cropped block only."""
    image, mask = _small_case()
    image = sitk.ConstantPad(image, (1, 1, 1), (1, 1, 1), 5000)  # a bright frame outside the ROI's box
    mask = sitk.ConstantPad(mask, (1, 1, 1), (1, 1, 1), 0)
    params = {"imageType": {"Square": {}, "Gradient": {}}, "featureClass": {"firstorder": []},
              "setting": {"label": 2, "padDistance": 0}}
    whole = _ordinary_values(image, mask, params)
    cropped = _ordinary_values(image, mask, {**params, "setting": {**params["setting"], "preCrop": True}})
    assert cropped["square_firstorder_Mean"] != whole["square_firstorder_Mean"]
    assert cropped["gradient_firstorder_Mean"] != whole["gradient_firstorder_Mean"]


def test_every_setting_is_expressed_or_listed_with_a_reason():
    fields = {field.name for field in dataclasses.fields(PyradiomicsSettings)}
    assert not EXPRESSED.keys() & NOT_EXPRESSED.keys()
    assert fields <= EXPRESSED.keys() | NOT_EXPRESSED.keys(), fields - EXPRESSED.keys() - NOT_EXPRESSED.keys()
    assert EXPRESSED.keys() <= fields
    assert all(reason for reason in NOT_EXPRESSED.values())


@pytest.mark.parametrize("name, value", [
    ("label_channel", 1), ("correctMask", True), ("minimumROIDimensions", 3), ("minimumROISize", 40),
    ("geometryTolerance", 1e-3), ("normalize", True), ("resampledPixelSpacing", (2.0, 2.0, 2.0)),
    ("resegmentRange", (0.0, 100.0)), ("binWidth", 5.0), ("binCount", 8), ("voxelArrayShift", 10.0),
    ("distances", (1, 2)), ("force2D", True), ("symmetricalGLCM", False), ("weightingNorm", "manhattan"),
    ("gldm_a", 1),
])
def test_every_processing_setting_changes_the_ordinary_spec(name, value):
    default = PyradiomicsSettings(resampledPixelSpacing=None)
    changed = dataclasses.replace(default, **{name: value})
    assert ordinary_spec(changed) != ordinary_spec(default)


@pytest.mark.parametrize("name, value", [
    ("normalizeScale", 3.0), ("removeOutliers", 2.0), ("interpolator", "sitkLinear"), ("padDistance", 1),
    ("resegmentMode", "relative"), ("force2Ddimension", 1),
])
def test_dependent_settings_change_the_ordinary_spec(name, value):
    base = PyradiomicsSettings(normalize=True, resampledPixelSpacing=(2.0, 2.0, 2.0), resegmentRange=(0.5, 0.9),
                               force2D=True)
    assert ordinary_spec(dataclasses.replace(base, **{name: value})) != ordinary_spec(base)


def test_image_type_settings_reach_the_filters_and_names():
    image, _ = _small_case()
    translation = translate(load_pyradiomics_spec({
        "imageType": {"LoG": {"sigma": [1.0, 2]}, "Wavelet": {"level": 2, "wavelet": "haar"}},
        "setting": {"label": 3}}), image)
    assert translation.label == 3
    log, wavelet = translation.image_types
    assert [prefix for _, prefix in log.prefixes] == ["log-sigma-1-0-mm-3D", "log-sigma-2-mm-3D"]
    assert [f.sigma_mm for f in log.spec.filters] == [1.0, 2.0]
    assert len(wavelet.spec.filters) == 2 * 7 + 1 and {f.wavelet for f in wavelet.spec.filters} == {"haar"}
    names = translation.feature_names()
    assert set(names.values()) >= {"wavelet2-LLL_firstorder_Mean", "log-sigma-2-mm-3D_firstorder_Entropy"}
    assert len(names) == len(set(names.values()))


def test_misspelled_keys_remain_errors_with_suggestions():
    with pytest.raises(SpecError, match="binWidth"):
        load_pyradiomics_spec({"setting": {"binwidth": 10}})
    with pytest.raises(SpecError, match="resegmentRange"):
        load_pyradiomics_spec({"imageType": {"Original": {"resegmentRang": [1, 2]}}})


@pytest.mark.parametrize("pixel_type", [sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkUInt32, sitk.sitkFloat32,
                                        sitk.sitkFloat64, sitk.sitkInt64])
def test_masks_of_every_pixel_type_give_the_same_roi(pixel_type):
    """The ordinary mask reader finds label 2 in any pixel type, as pyradiomics' UInt32 cast does."""
    image, mask = _small_case()
    params = {"featureClass": {"firstorder": [], "shape": []}, "setting": {"label": 2}}
    expected = extract_pyradiomics(image, mask, params)
    ours = extract_pyradiomics(image, sitk.Cast(mask, pixel_type), params)
    np.testing.assert_array_equal(ours["value"].to_numpy(), expected["value"].to_numpy())
    assert len(ours) == 18 + 14


def test_errors_name_the_files_the_label_and_the_problem(tmp_path):
    """Mask files are read beside the image (on a thread): their errors still name them."""
    from radiomix.errors import GeometryMismatchError, LabelAbsentError

    image, mask = _small_case()
    image_path, mask_path = tmp_path / "image.nrrd", tmp_path / "mask.nrrd"
    sitk.WriteImage(image, str(image_path))
    sitk.WriteImage(mask, str(mask_path))
    params = {"featureClass": {"firstorder": []}, "setting": {"label": 3}}
    with pytest.raises(LabelAbsentError, match=r"mask\.nrrd: label 3 is not in the mask; labels present: \[0, 2\]"):
        extract_pyradiomics(image_path, mask_path, params)
    nudged = sitk.Image(mask)
    nudged.SetOrigin((-5.0, 3.0, 12.01))
    sitk.WriteImage(nudged, str(mask_path))
    with pytest.raises(GeometryMismatchError, match=r"mask\.nrrd: .*origins are 0\.01 mm apart.*correctMask"):
        extract_pyradiomics(image_path, mask_path, {**params, "setting": {"label": 2}})
    (tmp_path / "broken.nrrd").write_text("not an image")
    with pytest.raises(InputError, match="broken.nrrd"):
        extract_pyradiomics(image_path, tmp_path / "broken.nrrd", params)


def test_pyradiomics_warnings_are_logged_once_per_case(caplog):
    """The preparation asks for the filters silently; the image types warn, as pyradiomics, once."""
    import logging

    image, mask = _small_case()
    params = {"imageType": {"LoG": {"sigma": [1.0, 100.0]}}, "featureClass": {"firstorder": []},
              "setting": {"label": 2}}
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.translation"):
        table = extract_pyradiomics(image, mask, params)
    assert caplog.text.count("must be greater than the size") == 1
    assert {name.split("_")[0] for name in table["feature"]} == {"log-sigma-1-0-mm-3D"}


def test_a_kept_translation_warns_again_at_each_case_and_another_grid_is_translated_anew(caplog):
    """The translation of a spec on a grid is kept, its warnings logged at every case; another grid (or
    another spec object, equal or not) is translated for itself."""
    import logging

    image, mask = _small_case()
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.0, 100.0]}}, "featureClass": {"firstorder": []},
                                  "setting": {"label": 2}})
    first_table = extract_pyradiomics(image, mask, spec)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.translation"):
        second_table = extract_pyradiomics(image, mask, spec)
        first = translate(spec, image)
    assert caplog.text.count("must be greater than the size") == 2
    assert translate(spec, image) is first
    pd.testing.assert_frame_equal(first_table, second_table)
    second_table.loc[0, "feature"] = "edited"  # a user's edit reaches no later table
    pd.testing.assert_frame_equal(extract_pyradiomics(image, mask, spec), first_table)
    equal = load_pyradiomics_spec(spec.to_dict())
    assert equal == spec and translate(equal, image) is not first
    assert translate(equal, image).image_types[0].settings is equal.image_types[0].settings
    larger = sitk.Image([400, 400, 400], sitk.sitkFloat32)  # size only: the 100 mm sigma fits here
    assert [prefix for _, prefix in translate(spec, larger).image_types[0].prefixes] == [
        "log-sigma-1-0-mm-3D", "log-sigma-100-0-mm-3D"]
    assert [prefix for _, prefix in first.image_types[0].prefixes] == ["log-sigma-1-0-mm-3D"]

