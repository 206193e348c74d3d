"""pyradiomics' texture conventions as settings of the ordinary texture families (#21).

- An ordinary YAML spec whose GLCM, GLRLM, NGLDM, NGTDM and GLSZM families carry pyradiomics'
  settings gives, through each family's ``compute``, exactly (``==``) the numbers
  ``extract_pyradiomics`` reports for brain1 under ``feature_specs/pyradiomics_default.yaml``
  and its variants (distances, force2D along z and y, weightingNorm) for every texture class,
  from the same discretised image; NGTDM's ``count_isolated_voxels`` against a NumPy reference.
- The settings are validated like every other spec key: misspelled keys are errors with a
  suggestion, pyradiomics-only settings are refused with IBSI offsets.
- MCC is computed only when ``non_ibsi_features`` asks for it, also with IBSI offsets, where it
  equals a NumPy reference on each aggregation's matrices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml
from test_pyradiomics_texture import naive_mcc, naive_ngtdm

from radiomix.errors import SpecError
from radiomix.features import glcm, glrlm, glszm, ngldm, ngtdm
from radiomix.features.base import RoiImage
from radiomix.features.ngtdm import ngtdm_feature_values
from radiomix.features.texture import pyradiomics_offsets
from radiomix.preprocess import roi as chain
from radiomix.pyradiomics.extract import extract_pyradiomics
from radiomix.pyradiomics.mapping import GLCM_SOURCES, GLDM_SOURCES, GLRLM_SOURCES, GLSZM_SOURCES, NGTDM_SOURCES
from radiomix.pyradiomics.params import load_pyradiomics_spec
from radiomix.pyradiomics.translation import translate
from radiomix.spec import load_spec

from conftest import require_data

DEFAULT_PARAMETERS = Path(__file__).parents[1] / "feature_specs" / "pyradiomics_default.yaml"

SPEC_YAML = """
features:
  glcm:
    offsets: pyradiomics
    distances: {distances}
    slice_axis: {slice_axis}
    weighting_norm: {weighting_norm}
    symmetric: true
    degenerate_matrices: pyradiomics
    non_ibsi_features: [maximal_correlation_coefficient]
  glrlm:
    offsets: pyradiomics
    slice_axis: {slice_axis}
    weighting_norm: {weighting_norm}
    undefined_values: pyradiomics
  ngldm:                      # pyradiomics' GLDM
    alpha: 0                  # gldm_a
    offsets: pyradiomics
    distances: {distances}
    slice_axis: {slice_axis}
    undefined_values: pyradiomics
  ngtdm:
    offsets: pyradiomics
    distances: {distances}
    slice_axis: {slice_axis}
    count_isolated_voxels: true
    undefined_values: pyradiomics
  glszm:
    linkage_distance: 1
    slice_axis: {zone_slice_axis}
    undefined_values: pyradiomics
texture:
  dimensions: [{dimension}]   # the zone family's slices: 2.5D with force2D
"""

FAMILIES = {"glcm": ("glcm", glcm, GLCM_SOURCES), "glrlm": ("glrlm", glrlm, GLRLM_SOURCES),
            "gldm": ("ngldm", ngldm, GLDM_SOURCES), "ngtdm": ("ngtdm", ngtdm, NGTDM_SOURCES),
            "glszm": ("glszm", glszm, GLSZM_SOURCES)}
"""pyradiomics class -> (spec family, family module, pyradiomics name -> family key)."""

_3D = {"distances": "[1]", "slice_axis": "null", "weighting_norm": "none", "zone_slice_axis": 0, "dimension": "3D"}
VARIANTS = {  # pyradiomics setting -> the families' settings in an ordinary spec
    "default": ({}, _3D),
    "distances": ({"distances": [1, 2]}, dict(_3D, distances="[1, 2]")),
    "force2D": ({"force2D": True}, dict(_3D, slice_axis="0", dimension="2.5D")),
    "force2D_y": ({"force2D": True, "force2Ddimension": 1},
                  dict(_3D, slice_axis="1", zone_slice_axis=1, dimension="2.5D")),
    "weightingNorm": ({"weightingNorm": "euclidean"}, dict(_3D, weighting_norm="euclidean")),
}


def roi_image(levels, n_levels, spacing) -> RoiImage:
    """A RoiImage holding only what the GLCM family reads (levels, Ng, spacing)."""
    roi = levels > 0
    return RoiImage(intensity=levels.astype(np.float64), morphological_mask=roi, intensity_mask=roi,
                    spacing=spacing, discretised=levels, n_levels=n_levels, bin_width=None, lower_bound=0.0,
                    resegmentation_range=(-np.inf, np.inf))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_an_ordinary_spec_gives_pyradiomics_glcm_values_on_brain1(variant, tmp_path):
    cases = require_data("pyradiomics/cases")
    image, mask = cases / "brain1_image.nrrd", cases / "brain1_label.nrrd"
    pyradiomics_settings, family_settings = VARIANTS[variant]
    parameters = yaml.safe_load(DEFAULT_PARAMETERS.read_text())
    parameters["featureClass"] = {name: [] for name in FAMILIES}
    parameters["setting"].update(pyradiomics_settings)
    pyspec = load_pyradiomics_spec(parameters)
    table = extract_pyradiomics(image, mask, pyspec)
    expected = dict(zip(table["feature"], table["value"]))

    picture = sitk.ReadImage(str(image))
    (original,) = translate(pyspec, picture).image_types
    ((_, prefix),) = original.prefixes
    processed = chain.process_image(*chain.image_arrays(picture, sitk.ReadImage(str(mask)) == 1), original.spec,
                                    geometry=picture)
    case = chain.roi_image(processed, original.spec)  # the discretised image the families read

    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC_YAML.format(**family_settings))
    spec = load_spec(spec_file)
    roi = roi_image(case.discretised, case.n_levels, case.spacing)
    for name, (spec_family, family, sources) in FAMILIES.items():
        results = family.compute(roi, getattr(spec.features, spec_family), spec.texture.dimensions)
        assert len({result.aggregation for result in results}) == 1
        ours = {result.key: result.value for result in results}
        assert set(sources.values()) <= set(ours)  # GLCM: and IBSI's dissimilarity and sum variance
        for feature, key in sources.items():
            theirs = expected[f"{prefix}_{name}_{feature}"]
            assert ours[key] == theirs or (np.isnan(ours[key]) and np.isnan(theirs)), (feature, ours[key], theirs)


def test_misspelled_texture_settings_are_errors_with_a_suggestion():
    with pytest.raises(SpecError, match="weighting_norm"):
        load_spec({"features": {"glcm": {"weighting_nrom": "euclidean"}}})
    with pytest.raises(SpecError, match="offsets"):
        load_spec({"features": {"glcm": {"offsets": "chebyshev"}}})
    with pytest.raises(SpecError, match="maximal_correlation_coefficient"):
        load_spec({"features": {"glcm": {"non_ibsi_features": ["mcc"]}}})


@pytest.mark.parametrize("family, setting", [
    ("glcm", {"weighting_norm": "manhattan"}), ("glcm", {"slice_axis": 0}), ("glcm", {"distances": [1, 2]}),
    ("glrlm", {"weighting_norm": "euclidean"}), ("glrlm", {"slice_axis": 2}),
    ("glrlm", {"undefined_values": "pyradiomics"}), ("ngldm", {"distances": [2]}), ("ngldm", {"slice_axis": 1}),
    ("ngtdm", {"undefined_values": "pyradiomics"}), ("ngtdm", {"distances": [1, 2]})])
def test_pyradiomics_offset_settings_are_refused_with_ibsi_offsets(family, setting):
    with pytest.raises(SpecError, match=f"features.{family}: .*offsets: pyradiomics"):
        load_spec({"features": {family: setting}})


def test_pyradiomics_distances_must_be_positive():
    with pytest.raises(SpecError, match="distances"):
        load_spec({"features": {"glcm": {"offsets": "pyradiomics", "distances": [0]}}})


LEVELS = np.array([[[1, 2, 2, 3], [1, 1, 3, 3], [2, 0, 1, 3]],
                   [[3, 3, 1, 1], [2, 2, 2, 1], [0, 1, 3, 3]]], dtype=np.int32)


def test_mcc_is_computed_only_when_asked_and_equals_a_reference_with_ibsi_offsets():
    n_levels = 4  # level 4 absent from the ROI: MCC runs over the levels present
    roi = roi_image(LEVELS, n_levels, (2.0, 1.0, 1.0))
    dimensions = ("2D", "2.5D", "3D")
    plain = glcm.compute(roi, load_spec({"features": {"glcm": {}}}).features.glcm, dimensions)
    assert all(result.key != glcm.MCC_KEY for result in plain)
    settings = load_spec({"features": {"glcm": {"non_ibsi_features": ["maximal_correlation_coefficient"]}}})
    results = glcm.compute(roi, settings.features.glcm, dimensions)
    assert [r for r in results if r.key != glcm.MCC_KEY] == plain
    mcc = {r.aggregation: r.value for r in results if r.key == glcm.MCC_KEY}
    assert len(mcc) == 6
    present = np.array([0, 1, 2])  # rows of levels 1..3
    volume = glcm.glcm_matrices_3d(LEVELS, n_levels)[:, present[:, None], present[None, :]]
    assert volume.sum(axis=(1, 2)).all()
    expected_3d = np.mean([np.nan_to_num(naive_mcc(matrix.astype(float))) for matrix in volume])
    assert mcc["3D, averaged"] == pytest.approx(expected_3d, rel=1e-7)
    merged = volume.sum(axis=0).astype(float)
    assert mcc["3D, merged"] == pytest.approx(np.nan_to_num(naive_mcc(merged)), rel=1e-7)
    assert all(np.isfinite(value) for value in mcc.values())


ISOLATED = np.array([[[1, 2, 0, 0, 3], [2, 2, 0, 0, 0], [1, 0, 0, 0, 0]],
                     [[2, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 2]]], dtype=np.int32)  # 3 and one 2 isolated


@pytest.mark.parametrize("count_isolated", [False, True])
def test_ngtdm_counts_voxels_without_neighbours_only_when_asked(count_isolated):
    offsets = pyradiomics_offsets(ISOLATED.shape, (1,), True, None)
    assert len(offsets) == 26
    counts, differences = naive_ngtdm(ISOLATED, offsets)  # every ROI voxel counted, by level present
    if not count_isolated:
        counts[[2, 1]] -= 1  # the voxels of level 3 at (0, 0, 4) and of level 2 at (1, 2, 4)
    expected = ngtdm_feature_values(counts[None], differences[None], np.array([1.0, 2.0, 3.0]))[0]
    spec = load_spec({"features": {"ngtdm": {"count_isolated_voxels": count_isolated}}})
    results = ngtdm.compute(roi_image(ISOLATED, 3, (1.0, 1.0, 1.0)), spec.features.ngtdm, ("3D",))
    np.testing.assert_allclose([r.value for r in results], expected, rtol=1e-12)
