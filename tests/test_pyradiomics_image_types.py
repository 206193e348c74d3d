"""radiomix's pyradiomics image types against pyradiomics' generators and the libraries behind them.

- the translated image types' filtered images (:func:`radiomix.pyradiomics.translation.translate`,
  :func:`radiomix.preprocess.roi.filter_responses`, as :func:`radiomix.extract_features` computes
  them) against pyradiomics' ``imageoperations.get<Type>Image`` on breast1, the prostate phantom
  and brain1, on the block the families read and on the whole grid (names, order, pixel types,
  values);
- parallel filters against serial ones; pyradiomics' warnings.

The filter kernels themselves are tested against their oracles in
``tests/test_filters_pyradiomics_kernels.py``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
import SimpleITK as sitk
from test_filters_pyradiomics_kernels import assert_close

from radiomix import _numba
from radiomix.preprocess.roi import ProcessedImage, filter_responses, roi_crop
from radiomix.pyradiomics.params import load_pyradiomics_spec
from radiomix.pyradiomics.translation import translate

from conftest import require_data

radiomics = pytest.importorskip("radiomics")
from radiomics import imageoperations  # noqa: E402

logging.getLogger("radiomics").setLevel(logging.ERROR)

ALL_TYPES = {"Original": {}, "LoG": {"sigma": [1.0, 2.5]}, "Wavelet": {}, "Square": {}, "SquareRoot": {},
             "Logarithm": {}, "Exponential": {}, "Gradient": {}, "LBP2D": {}}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def read_case(name: str) -> tuple[sitk.Image, sitk.Image]:
    folder = require_data("pyradiomics/cases")
    image = sitk.ReadImage(str(folder / f"{name}_image.nrrd"))
    mask = imageoperations.getMask(sitk.ReadImage(str(folder / f"{name}_label.nrrd")))
    return image, mask


def image_types(image: sitk.Image, mask: sitk.Image, spec, whole: bool = False):
    """``(prefix, values, image type settings)`` of every translated image, on the block the families
    read (the ROI's box plus a voxel), or on the whole grid; and that block."""
    roi = sitk.GetArrayFromImage(mask) == 1
    processed = ProcessedImage(sitk.GetArrayFromImage(image), np.ones_like(roi) if whole else roi, roi,
                               tuple(image.GetSpacing()[::-1]), (-np.inf, np.inf))
    translation = translate(spec, image)
    crop = roi_crop(processed, translation.processing)
    images = []
    for part in translation.image_types:
        responses = iter(filter_responses(processed, part.spec))
        for ordinary, prefix in part.prefixes:
            values = processed.intensity[crop] if ordinary == "original" else next(responses)[1]
            images.append((prefix, values, part.settings))
    return images, crop


def pyradiomics_images(image, mask, types: dict, setting: dict) -> list[tuple[str, np.ndarray, str]]:
    """pyradiomics' ``(prefix, array, image type)`` of every enabled image type, in order."""
    out = []
    for name, custom in types.items():
        arguments = dict(setting, **custom)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out += [(prefix, sitk.GetArrayFromImage(filtered), name)
                    for filtered, prefix, _ in getattr(imageoperations, f"get{name}Image")(image, mask, **arguments)]
    return out


def check_generator(case: str, types: dict, setting: dict, boxed: bool) -> None:
    image, mask = read_case(case)
    spec = load_pyradiomics_spec({"imageType": types, "setting": setting})
    settings_of = {it.name: it.settings for it in spec.image_types}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, crop = image_types(image, mask, spec, whole=not boxed)
    theirs = pyradiomics_images(image, mask, types, setting)
    assert [prefix for prefix, _, _ in ours] == [prefix for prefix, _, _ in theirs]
    for (prefix, filtered, image_settings), (_, expected, type_name) in zip(ours, theirs):
        assert image_settings is settings_of[type_name]
        assert_close(filtered, expected[crop], f"{case} {prefix}")


# ---------------------------------------------------------------------------------------------
# pyradiomics' generators on the test cases
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["breast1", "prostate_phantom"])
@pytest.mark.parametrize("boxed", [True, False], ids=["roi-box", "whole-grid"])
def test_every_image_type_equals_pyradiomics(case, boxed):
    check_generator(case, ALL_TYPES, {}, boxed)


@pytest.mark.parametrize("types, setting", [
    ({"Wavelet": {"wavelet": "db2", "start_level": 1, "level": 2}, "Gradient": {"gradientUseSpacing": False},
      "LBP2D": {"lbp2DMethod": "default", "lbp2DRadius": 1.5, "lbp2DSamples": 12}},
     {"force2D": True, "force2Ddimension": 2}),
    ({"LBP2D": {"lbp2DMethod": "ror"}, "LoG": {"sigma": [3]}, "Wavelet": {"wavelet": "haar"}},
     {"force2D": True, "force2Ddimension": 1}),
    ({"LBP2D": {"lbp2DMethod": "var"}, "Wavelet": {"wavelet": "sym3", "level": 2}}, {}),
], ids=["force2D-z", "force2D-y", "var-level2"])
@pytest.mark.parametrize("case", ["breast1", "prostate_phantom"])
def test_image_type_settings_equal_pyradiomics(case, types, setting):
    check_generator(case, types, setting, True)


def test_brain1_filters_equal_pyradiomics():
    check_generator("brain1", {"Original": {}, "LoG": {"sigma": [2.0]}, "Wavelet": {}, "Gradient": {},
                               "LBP2D": {}}, {"force2D": True}, True)


def test_integer_sigma_keeps_pyradiomics_name():
    image, mask = read_case("breast1")
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1, 1.5]}}})
    assert [prefix for prefix, _, _ in image_types(image, mask, spec)[0]] == [
        "log-sigma-1-mm-3D", "log-sigma-1-5-mm-3D"]


def test_log_is_skipped_as_pyradiomics_does(caplog):
    image, mask = read_case("breast1")
    small = image[:, :, :3]  # 3 slices: too few for ITK's recursive filter
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.0]}}})
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.translation"):
        assert translate(spec, small).image_types == ()
    assert "Image too small to apply LoG filter" in caplog.text
    spacing = max(image.GetSpacing())
    too_wide = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1000.0 * spacing, 1.0]}}})
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.translation"):
        assert [prefix for prefix, _, _ in image_types(image, mask, too_wide)[0]] == ["log-sigma-1-0-mm-3D"]
    assert "must be greater than the size" in caplog.text


def test_lbp3d_yields_pyradiomics_names_and_roi_values():
    image, mask = read_case("breast1")
    spec = load_pyradiomics_spec({"imageType": {"LBP3D": {"lbp3DLevels": 3}}})
    result, crop = image_types(image, mask, spec)
    assert [prefix for prefix, _, _ in result] == ["lbp-3D-m1", "lbp-3D-m2", "lbp-3D-m3", "lbp-3D-k"]
    roi = sitk.GetArrayViewFromImage(mask)[crop] == 1
    for _, values, _ in result:
        assert values.dtype == np.float64 and np.all(values[~roi] == 0)


# ---------------------------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------------------------

def test_parallel_filters_equal_serial_ones(monkeypatch):
    image, mask = read_case("breast1")
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.5]}, "Wavelet": {}, "Gradient": {},
                                                "LBP2D": {}}})
    serial = {prefix: filtered for prefix, filtered, _ in image_types(image, mask, spec)[0]}
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    parallel = {prefix: filtered for prefix, filtered, _ in image_types(image, mask, spec)[0]}
    assert list(serial) == list(parallel)
    for prefix in serial:
        np.testing.assert_array_equal(parallel[prefix], serial[prefix], err_msg=prefix)
