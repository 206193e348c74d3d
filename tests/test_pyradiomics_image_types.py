"""radiomix's pyradiomics image types against pyradiomics' generators and the libraries behind them.

- :func:`radiomix.pyradiomics.image_types.image_types` against pyradiomics'
  ``imageoperations.get<Type>Image`` on breast1, the prostate phantom and brain1, on the ROI box
  and on the whole grid (names, order, pixel types, values);
- parallel filters against serial ones; the generator's warnings and box handling.

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
from radiomix.pyradiomics.image_types import BoundingBox, image_types
from radiomix.pyradiomics.params import load_pyradiomics_spec

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


def roi_box(mask: sitk.Image) -> BoundingBox:
    indices = np.nonzero(sitk.GetArrayViewFromImage(mask) == 1)
    return BoundingBox(tuple(int(i.min()) for i in indices), tuple(int(i.max()) for i in indices))


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
    box = roi_box(mask) if boxed else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = list(image_types(image, mask, spec, box=box))
    theirs = pyradiomics_images(image, mask, types, setting)
    assert [prefix for prefix, _, _ in ours] == [prefix for prefix, _, _ in theirs]
    for (prefix, filtered, image_settings), (_, expected, type_name) in zip(ours, theirs):
        assert image_settings is settings_of[type_name]
        assert_close(filtered, expected[box.slices] if box else expected, f"{case} {prefix}")


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
    assert [prefix for prefix, _, _ in image_types(image, mask, spec, box=roi_box(mask))] == [
        "log-sigma-1-mm-3D", "log-sigma-1-5-mm-3D"]


def test_log_is_skipped_as_pyradiomics_does(caplog):
    image, mask = read_case("breast1")
    small = image[:, :, :3]  # 3 slices: too few for ITK's recursive filter
    small_mask = sitk.Image(small.GetSize(), sitk.sitkUInt32)
    small_mask.CopyInformation(small)
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.0]}}})
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.image_types"):
        assert list(image_types(small, small_mask, spec)) == []
    assert "Image too small to apply LoG filter" in caplog.text
    spacing = max(image.GetSpacing())
    too_wide = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1000.0 * spacing, 1.0]}}})
    with caplog.at_level(logging.WARNING, logger="radiomix.pyradiomics.image_types"):
        assert [prefix for prefix, _, _ in image_types(image, mask, too_wide)] == ["log-sigma-1-0-mm-3D"]
    assert "must be greater than the size" in caplog.text


def test_box_outside_the_image_is_rejected():
    image, mask = read_case("breast1")
    with pytest.raises(ValueError, match="within"):
        list(image_types(image, mask, load_pyradiomics_spec({}), box=(slice(0, 1), slice(0, 1), slice(0, 10 ** 6))))


def test_lbp3d_yields_pyradiomics_names_and_roi_values():
    image, mask = read_case("breast1")
    spec = load_pyradiomics_spec({"imageType": {"LBP3D": {"lbp3DLevels": 3}}})
    box = roi_box(mask)
    result = list(image_types(image, mask, spec, box=box))
    assert [prefix for prefix, _, _ in result] == ["lbp-3D-m1", "lbp-3D-m2", "lbp-3D-m3", "lbp-3D-k"]
    roi = sitk.GetArrayViewFromImage(mask)[box.slices] == 1
    for _, values, _ in result:
        assert values.dtype == np.float64 and np.all(values[~roi] == 0)


# ---------------------------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------------------------

def test_parallel_filters_equal_serial_ones(monkeypatch):
    image, mask = read_case("breast1")
    spec = load_pyradiomics_spec({"imageType": {"LoG": {"sigma": [1.5]}, "Wavelet": {}, "Gradient": {},
                                                "LBP2D": {}}})
    box = roi_box(mask)
    serial = {prefix: filtered for prefix, filtered, _ in image_types(image, mask, spec, box)}
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 0)
    parallel = {prefix: filtered for prefix, filtered, _ in image_types(image, mask, spec, box)}
    assert list(serial) == list(parallel)
    for prefix in serial:
        np.testing.assert_array_equal(parallel[prefix], serial[prefix], err_msg=prefix)
