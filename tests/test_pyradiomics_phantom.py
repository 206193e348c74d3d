"""radiomix against the installed pyradiomics on the prostate phantom: same names, same numbers.

Parameters: ``feature_specs/pyradiomics_default.yaml`` (pyradiomics' defaults) with the image
types Original, LoG (sigma 1, 2, 3 mm) and Wavelet (coif1, 8 decompositions). Every
non-diagnostic column pyradiomics writes must be a row of radiomix's table with the same name
and a value within relative 1e-4 (absolute 1e-6 near zero), and radiomix must write no other.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import yaml

from radiomix.features.table import COLUMNS

from conftest import require_data

DEFAULT_PARAMETERS = Path(__file__).resolve().parents[1] / "feature_specs" / "pyradiomics_default.yaml"
IMAGE_TYPES = {"Original": {}, "LoG": {"sigma": [1.0, 2.0, 3.0]}, "Wavelet": {}}
RELATIVE_TOLERANCE = 1e-4
ABSOLUTE_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def phantom():
    """Paths of the prostate phantom's image and mask."""
    folder = require_data("pyradiomics/cases")
    return str(folder / "prostate_phantom_image.nrrd"), str(folder / "prostate_phantom_label.nrrd")


@pytest.fixture(scope="module")
def parameters():
    params = yaml.safe_load(DEFAULT_PARAMETERS.read_text())
    params["imageType"] = IMAGE_TYPES
    return params


@pytest.fixture(scope="module")
def installed(phantom, parameters):
    """The installed pyradiomics' features (diagnostics left out)."""
    featureextractor = pytest.importorskip("radiomics.featureextractor")
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    result = featureextractor.RadiomicsFeatureExtractor(parameters).execute(*phantom)
    return {key: float(value) for key, value in result.items() if not key.startswith("diagnostics_")}


@pytest.fixture(scope="module")
def ours(phantom, parameters):
    from radiomix.pyradiomics.extract import extract_pyradiomics

    return extract_pyradiomics(*phantom, parameters)


def test_same_feature_names(installed, ours):
    names = list(ours["feature"])
    assert len(names) == len(set(names)), "a feature name appears twice"
    assert set(names) == set(installed), (sorted(set(installed) - set(names))[:20],
                                          sorted(set(names) - set(installed))[:20])


def test_same_numbers(installed, ours):
    values = dict(zip(ours["feature"], ours["value"]))
    misses = []
    for name, expected in installed.items():
        value = values.get(name, math.nan)
        if not abs(value - expected) <= max(RELATIVE_TOLERANCE * abs(expected), ABSOLUTE_TOLERANCE):
            misses.append(f"{name}: pyradiomics {expected!r}, radiomix {value!r}")
    assert not misses, f"{len(misses)} of {len(installed)} values differ:\n" + "\n".join(misses)


def test_table_columns_and_provenance(ours):
    assert list(ours.columns) == COLUMNS
    assert set(ours["image_type"]) == {"original", "log-sigma-1-0-mm-3D", "log-sigma-2-0-mm-3D",
                                       "log-sigma-3-0-mm-3D"} | {f"wavelet-{d}" for d in (
                                           "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")}
    glcm = ours[ours["family"] == "glcm"]
    assert set(glcm["aggregation"]) == {"3D, averaged"}
    contrast = ours[ours["feature"] == "original_glcm_JointEnergy"].iloc[0]
    assert (contrast["ibsi_code"], contrast["name"]) == ("8ZQL", "Angular second moment")
    total_energy = ours[ours["feature"] == "original_firstorder_TotalEnergy"].iloc[0]
    assert total_energy["ibsi_code"] == "" and total_energy["status"] == ""
    assert (ours.loc[ours["value"].isna(), "status"] != "").all()


# --------------------------------------------------------------------------- pyradiomics' checks


def _images(phantom):
    import SimpleITK as sitk

    return sitk.ReadImage(phantom[0]), sitk.ReadImage(phantom[1])


@pytest.mark.parametrize("settings, error", [
    ({"label": 5}, "LabelAbsentError"),
    ({"minimumROISize": 10 ** 7}, "RoiTooSmallError"),
    ({"resegmentRange": [10 ** 6]}, "EmptyRoiError"),  # the ordinary chain: no voxel left after re-segmentation
])
def test_roi_checks_fail_where_pyradiomics_fails(phantom, settings, error):
    featureextractor = pytest.importorskip("radiomics.featureextractor")
    from radiomix import errors
    from radiomix.pyradiomics.extract import extract_pyradiomics

    params = {"setting": settings, "featureClass": {"firstorder": []}}
    with pytest.raises(ValueError):
        featureextractor.RadiomicsFeatureExtractor(params).execute(*phantom)
    with pytest.raises(getattr(errors, error)):
        extract_pyradiomics(*phantom, params)


def test_mask_on_another_grid_needs_correct_mask(phantom):
    import SimpleITK as sitk

    from radiomix.errors import GeometryMismatchError
    from radiomix.pyradiomics.extract import extract_pyradiomics

    featureextractor = pytest.importorskip("radiomics.featureextractor")
    image, mask = _images(phantom)
    params = {"featureClass": {"firstorder": [], "shape": []}}
    nudged = sitk.Image(mask)
    nudged.SetOrigin(tuple(o + 1e-4 for o in mask.GetOrigin()))
    with pytest.raises(GeometryMismatchError, match="correctMask"):
        extract_pyradiomics(image, nudged, params)
    tolerant = extract_pyradiomics(image, nudged, {**params, "setting": {"geometryTolerance": 1e-3}})
    assert list(tolerant["value"]) == list(extract_pyradiomics(image, mask, params)["value"])
    padded = sitk.ConstantPad(mask, (3, 2, 1), (1, 2, 2))
    with pytest.raises(GeometryMismatchError):
        extract_pyradiomics(image, padded, params)
    corrected = {**params, "setting": {"correctMask": True}}
    expected = featureextractor.RadiomicsFeatureExtractor(corrected).execute(image, padded)
    ours = extract_pyradiomics(image, padded, corrected)
    assert len(ours) == 14 + 18
    for name, value in zip(ours["feature"], ours["value"]):
        assert value == pytest.approx(float(expected[name]), rel=RELATIVE_TOLERANCE, abs=ABSOLUTE_TOLERANCE)


def test_label_override_and_vector_masks(phantom):
    import numpy as np
    import SimpleITK as sitk

    from radiomix.pyradiomics.extract import extract_pyradiomics

    image, mask = _images(phantom)
    params = {"featureClass": {"firstorder": ["Mean"]}, "setting": {"label": 2}}
    relabelled = sitk.Cast(mask, sitk.sitkUInt8) * 2
    mean = extract_pyradiomics(image, mask, params, label=1)["value"].iloc[0]
    assert extract_pyradiomics(image, relabelled, params)["value"].iloc[0] == mean
    channels = sitk.Compose(sitk.Cast(mask, sitk.sitkUInt8) * 0, sitk.Cast(mask, sitk.sitkUInt8))
    channels.CopyInformation(mask)
    second = {"featureClass": {"firstorder": ["Mean"]}, "setting": {"label_channel": 1}}
    assert extract_pyradiomics(image, channels, second)["value"].iloc[0] == mean
    assert np.isfinite(mean)
