"""A pyradiomics parameter file through the one ``extract_features`` chain (#21).

- the case is read and processed once for every image type, and the image types' specs share
  their processing sections (an image type that does not is refused);
- the filters of one pyradiomics kind, computed together on the block the families read, equal
  the whole image's responses there (and the IBSI filters too);
- shape under resegmentation equals installed pyradiomics' (the ROI before resegmentation cut to
  the resegmented ROI's box; ``resegmentShape``);
- ``features.morphology.ibsi_features`` computes the features asked for, with the same values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

import radiomix
import radiomix.extract
from radiomix.preprocess import roi as chain
from radiomix.preprocess.filters import filter_kind, response_map
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.params import ImageTypeSpec, load_pyradiomics_spec
from radiomix.pyradiomics.translation import processing_spec, translate
from radiomix.spec import load_spec


def _case(seed: int = 7) -> tuple[sitk.Image, sitk.Image]:
    """A 16-bit random image (14 x 12 x 10 voxels, anisotropic) with a lumpy ROI of label 1."""
    rng = np.random.default_rng(seed)
    shape = (10, 12, 14)
    z, y, x = np.indices(shape)
    distance = np.sqrt(((z - 4.6) * 1.8) ** 2 + ((y - 5.8) * 1.1) ** 2 + (x - 6.9) ** 2)
    roi = (distance < 5.5 + rng.normal(0, 0.7, shape)).astype(np.uint8)
    image = sitk.GetImageFromArray(rng.integers(-300, 900, size=shape).astype(np.int16))
    mask = sitk.GetImageFromArray(roi)
    for item in (image, mask):
        item.SetSpacing((0.9, 1.1, 1.8))
        item.SetOrigin((-5.0, 3.0, 12.0))
    return image, mask


FILTERS = {"Original": {}, "LoG": {"sigma": [1.0, 2.0]}, "Wavelet": {"binWidth": 10}, "Square": {},
           "Gradient": {}, "LBP2D": {}}


def test_the_case_is_read_and_processed_once_for_every_image_type(monkeypatch):
    image, mask = _case()
    calls = {"read": 0, "process": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(radiomix.extract, "process_image", counted("process", radiomix.extract.process_image))
    monkeypatch.setattr(radiomix.extract.io, "read_image", counted("read", radiomix.extract.io.read_image))
    table = extract_pyradiomics(image, mask, {"imageType": FILTERS})
    assert calls == {"read": 1, "process": 1}
    prefixes = set(table["image_type"])
    assert {"original", "log-sigma-1-0-mm-3D", "wavelet-HHH", "wavelet-LLL", "square", "gradient", "lbp-2D"} <= prefixes


def test_image_types_must_share_their_processing():
    image, _ = _case()
    spec = load_pyradiomics_spec({"imageType": {"Original": {}, "Square": {}}})
    translation = translate(spec, image)
    assert processing_spec(spec, image) == translation.processing
    assert processing_spec(load_pyradiomics_spec({"imageType": FILTERS}), image).filters == tuple(
        f for part in translate(load_pyradiomics_spec({"imageType": FILTERS}), image).parts for f in part.spec.filters)
    assert all(getattr(part.spec, section) == getattr(translation.processing, section)
               for part in translation.parts for section in ("mask", "intensity", "interpolation", "resegmentation"))
    original, square = spec.image_types
    resegmented = dataclasses.replace(square.settings, resegmentRange=(0.0, 100.0))  # refused by the file reader
    forged = dataclasses.replace(spec, image_types=(original, ImageTypeSpec("Square", resegmented)))
    with pytest.raises(AssertionError, match="share their processing"):
        translate(forged, image)


@pytest.mark.parametrize("local_intensity", [False, True])
def test_filters_on_the_block_equal_the_whole_image(local_intensity):
    image, mask = _case(3)
    features = {"statistics": {}, **({"local_intensity": {}} if local_intensity else {})}
    spec = load_spec({"filters": [{"recursive_log": {"sigma_mm": 1.5}}, {"recursive_log": {"sigma_mm": 3.0}},
                                  {"stationary_wavelet": {"subband": "LLH"}},
                                  {"stationary_wavelet": {"subband": "HHL", "wavelet": "db2"}},
                                  {"gradient": {}}, {"square": {}}, {"mean": {"support": 3}},
                                  {"local_binary_pattern_3d": {"map": "kurtosis"}}],
                      "features": features})
    intensity, region, spacing = chain.image_arrays(image, mask)
    processed = chain.process_image(intensity, region, spacing, spec)
    crop = chain.roi_crop(processed, spec)
    responses = list(chain.filter_responses(processed, spec))
    assert [settings for settings, _ in responses] == list(spec.filters)
    roi = processed.intensity_mask[crop]
    for settings, response in responses:
        whole = response_map(processed.intensity, processed.spacing, settings)[crop]
        assert response.dtype == np.float64 and response.shape == whole.shape
        if filter_kind(settings) == "local_binary_pattern_3d" and not local_intensity:
            np.testing.assert_array_equal(response[roi], whole[roi])  # the ROI's voxels only
            assert np.all(response[~roi] == 0)
        else:
            np.testing.assert_array_equal(response, whole, err_msg=str(settings))


def _resegmented_case() -> tuple[sitk.Image, sitk.Image, float]:
    """A case whose resegmentation empties the ROI's first slice (and a threshold doing it)."""
    image, mask = _case(11)
    values = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayViewFromImage(mask) > 0
    first = np.flatnonzero(roi.any(axis=(1, 2)))[0]
    values[first][roi[first]] = -1000  # below the resegmentation range; the rest is in [-300, 900)
    bright = sitk.GetImageFromArray(values)
    bright.CopyInformation(image)
    return bright, mask, -500.0


@pytest.mark.parametrize("reshape", [False, True])
def test_shape_under_resegmentation_equals_pyradiomics(reshape):
    featureextractor = pytest.importorskip("radiomics.featureextractor")
    image, mask, threshold = _resegmented_case()
    params = {"featureClass": {"shape": [], "firstorder": ["Mean"]},
              "setting": {"resegmentRange": [threshold, 5000], "resegmentShape": reshape}}
    expected = featureextractor.RadiomicsFeatureExtractor(params).execute(image, mask)
    ours = extract_pyradiomics(image, mask, params)
    whole = extract_pyradiomics(image, mask, {"featureClass": {"shape": []}}).set_index("feature")["value"]
    for name, value in zip(ours["feature"], ours["value"]):
        assert value == pytest.approx(float(expected[name]), rel=1e-9, abs=1e-9), name
    volume = dict(zip(ours["feature"], ours["value"]))["original_shape_VoxelVolume"]
    assert volume < whole["original_shape_VoxelVolume"]  # the first slice is out of the resegmented box


def test_morphology_computes_the_ibsi_features_asked_for():
    image, mask = _case(5)
    asked = ["volume_mesh", "sphericity", "maximum_3d_diameter", "flatness", "gearys_c"]
    every = radiomix.extract_features(image, mask, {"features": {"morphology": {}}}).set_index("feature")
    some = radiomix.extract_features(image, mask, {"features": {"morphology": {"ibsi_features": asked}}})
    assert list(some["feature"]) == [f"original_morphology_{key}" for key in asked]
    for name, value in zip(some["feature"], some["value"]):
        assert value == every.at[name, "value"], name
