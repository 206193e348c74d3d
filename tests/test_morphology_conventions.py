"""pyradiomics' shape conventions as settings of the morphology family.

- an ordinary YAML spec with ``mesh: pyradiomics``, ``axis_covariance: population`` and the
  per-plane diameters gives exactly the numbers of a pyradiomics ``shape`` parameter file, on a
  synthetic anisotropic case and on pyradiomics' brain1 and breast1; with the 2D features and
  ``slice_axis``, those of ``shape2D`` on the largest slice of brain1's ROI;
- the defaults stay IBSI's (Lewiner mesh, sample covariance, no feature outside IBSI);
- both meshes put their vertices at the same grid-edge midpoints, so the per-plane diameters
  do not depend on the mesh;
- the settings are checked (unknown values are spec errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from test_marching_cubes import masks, spacings

from radiomix.errors import SpecError
from radiomix.extract import extract_features
from radiomix.features import marching_cubes, morphology, surface
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.mapping import SHAPE2D_SOURCES, SHAPE_SOURCES
from radiomix.spec import MorphologySettings, load_spec

from conftest import require_data

PYRADIOMICS_SHAPE_SPEC = """
features:
  morphology:
    mesh: pyradiomics
    axis_covariance: population
    non_ibsi_features: [maximum_2d_diameter_slice, maximum_2d_diameter_column, maximum_2d_diameter_row]
"""

SHAPE_PARAMETERS = {"imageType": {"Original": {}}, "featureClass": {"shape": list(SHAPE_SOURCES)},
                    "setting": {"label": 1}}


def synthetic_case() -> tuple[sitk.Image, sitk.Image]:
    """A non-convex ROI (a ball with a notch and a stray voxel) on an anisotropic grid."""
    z, y, x = np.indices((9, 14, 12))
    roi = ((z - 4) ** 2 / 9 + (y - 7) ** 2 / 25 + (x - 5.5) ** 2 / 16 <= 1).astype(np.uint8)
    roi[3:6, 6:9, 7:] = 0
    roi[8, 1, 1] = 1
    intensity = np.random.default_rng(5).normal(100.0, 20.0, roi.shape)
    image, mask = sitk.GetImageFromArray(intensity), sitk.GetImageFromArray(roi)
    for item in (image, mask):
        item.SetSpacing((0.7, 1.1, 2.5))
        item.SetOrigin((-3.0, 4.0, 10.0))
    return image, mask


def assert_spec_gives_pyradiomics_shape(image, mask, tmp_path):
    spec_path = tmp_path / "pyradiomics_shape.yaml"
    spec_path.write_text(PYRADIOMICS_SHAPE_SPEC)
    ordinary = extract_features(image, mask, spec_path).set_index("feature")
    pyradiomics = extract_pyradiomics(image, mask, SHAPE_PARAMETERS).set_index("feature")
    assert len(pyradiomics) == len(SHAPE_SOURCES)
    for name, key in SHAPE_SOURCES.items():
        expected = pyradiomics.at[f"original_shape_{name}", "value"]
        value = ordinary.at[f"original_morphology_{key}", "value"]
        assert value == expected, (name, value, expected)


def test_yaml_spec_gives_pyradiomics_shape_on_a_synthetic_case(tmp_path):
    assert_spec_gives_pyradiomics_shape(*synthetic_case(), tmp_path)


@pytest.mark.parametrize("case", ["brain1", "breast1"])
def test_yaml_spec_gives_pyradiomics_shape_on_pyradiomics_cases(case, tmp_path):
    folder = require_data("pyradiomics/cases")
    assert_spec_gives_pyradiomics_shape(str(folder / f"{case}_image.nrrd"), str(folder / f"{case}_label.nrrd"),
                                        tmp_path)


def test_yaml_spec_gives_pyradiomics_shape2d(tmp_path):
    folder = require_data("pyradiomics/cases")
    image = sitk.ReadImage(str(folder / "brain1_image.nrrd"))
    label = sitk.ReadImage(str(folder / "brain1_label.nrrd"))
    voxels = sitk.GetArrayFromImage(label) == 1
    single = np.zeros(voxels.shape, np.uint8)  # the ROI's largest slice only
    widest = int(np.argmax(voxels.sum(axis=(1, 2))))
    single[widest] = voxels[widest]
    mask = sitk.GetImageFromArray(single)
    mask.CopyInformation(label)
    spec_path = tmp_path / "pyradiomics_shape2d.yaml"
    spec_path.write_text("features:\n  morphology:\n    slice_axis: 0\n"
                         f"    non_ibsi_features: [{', '.join(SHAPE2D_SOURCES.values())}]\n")
    ordinary = extract_features(image, mask, spec_path).set_index("feature")
    parameters = {"imageType": {"Original": {}}, "featureClass": {"shape2D": list(SHAPE2D_SOURCES)},
                  "setting": {"label": 1, "force2D": True, "force2Ddimension": 0}}
    pyradiomics = extract_pyradiomics(image, mask, parameters).set_index("feature")
    assert len(pyradiomics) == len(SHAPE2D_SOURCES)
    for name, key in SHAPE2D_SOURCES.items():
        value = ordinary.at[f"original_morphology_{key}", "value"]
        assert value == pyradiomics.at[f"original_shape2D_{name}", "value"], name


def test_defaults_are_ibsi():
    defaults = load_spec({}).features.morphology
    assert (defaults.mesh, defaults.axis_covariance, defaults.non_ibsi_features) == ("lewiner", "sample", ())
    assert not set(morphology.NON_IBSI_KEYS) & set(morphology.FEATURE_KEYS)


@pytest.mark.parametrize("key, value", [("mesh", "cubes"), ("axis_covariance", "biased"),
                                        ("non_ibsi_features", ["maximum_2d_diameter"])])
def test_unknown_convention_is_a_spec_error(key, value):
    with pytest.raises(SpecError):
        load_spec({"features": {"morphology": {key: value}}})


def test_ibsi_values_do_not_depend_on_the_non_ibsi_features():
    _, mask = synthetic_case()
    roi = sitk.GetArrayFromImage(mask).astype(bool)
    ibsi, _, _ = surface.shape_features(roi, (2.5, 1.1, 0.7), MorphologySettings())
    extended, _, _ = surface.shape_features(
        roi, (2.5, 1.1, 0.7), MorphologySettings(non_ibsi_features=morphology.NON_IBSI_KEYS))
    assert set(extended) - set(ibsi) == set(morphology.NON_IBSI_KEYS)
    assert all(extended[key] == ibsi[key] for key in ibsi)


@settings(max_examples=40, deadline=None)
@given(masks(), spacings)
def test_both_meshes_share_their_vertices_and_plane_diameters(mask, spacing):
    lewiner = surface.build_surface(mask, spacing, "lewiner")
    pyradiomics = surface.build_surface(mask, spacing, "pyradiomics")
    # the Lewiner mesh lives on the padded full array, pyradiomics' on the padded ROI box
    offset = 2 * np.argwhere(mask).min(axis=0)
    lewiner_grid = np.unique(lewiner.grid - offset, axis=0)
    assert np.array_equal(lewiner_grid, np.unique(pyradiomics.grid, axis=0))
    np.testing.assert_allclose(marching_cubes.plane_diameters(lewiner.grid, spacing),
                               marching_cubes.plane_diameters(pyradiomics.grid, spacing), rtol=1e-14)
    np.testing.assert_array_equal(lewiner.grid * 0.5 * np.asarray(spacing), lewiner.edge_vertices)
    # the vertices left out (inside cubes) are in no farthest pair
    all_pairs = np.sqrt(((lewiner.vertices[:, None] - lewiner.vertices[None]) ** 2).sum(axis=2)).max()
    edge_pairs = np.sqrt(((lewiner.edge_vertices[:, None] - lewiner.edge_vertices[None]) ** 2).sum(axis=2)).max()
    assert edge_pairs == pytest.approx(all_pairs, rel=1e-14)
    features, _, _ = surface.shape_features(mask, spacing, MorphologySettings())
    assert features["maximum_3d_diameter"][0] == pytest.approx(all_pairs, rel=1e-14)


def test_single_voxel_axes_under_each_covariance():
    voxel = np.ones((1, 1, 1), bool)
    population, _, _ = surface.shape_features(voxel, (1.0, 2.0, 3.0), MorphologySettings(axis_covariance="population"))
    assert population["major_axis_length"] == population["least_axis_length"] == (0.0, "")
    assert all(math.isnan(population[key][0]) and population[key][1] == surface.ZERO_MAJOR_AXIS
               for key in ("elongation", "flatness"))
    sample, _, _ = surface.shape_features(voxel, (1.0, 2.0, 3.0), MorphologySettings())
    assert all(math.isnan(sample[key][0]) and sample[key][1] == surface.SINGLE_MORPHOLOGICAL_VOXEL
               for key in ("major_axis_length", "elongation", "flatness"))
