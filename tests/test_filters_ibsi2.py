"""IBSI-2 reference: phase-1 response maps on the digital phantoms, phase-2 specs.

Phase 1: for every configuration with a consensus response map in
``../shared/data/ibsi2``, the spec ``feature_specs/ibsi2/phase1/<id>.yaml`` is
applied to its phantom (named in the spec's ``# Phantom:`` comment) and every
voxel must lie within 1 % of the reference map's intensity range.

Phase 2: the specs must parse and hold the README's settings; their consensus
values are checked outside this repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml

from radiomix.preprocess.filters import filter_image, parse_filters
from radiomix.preprocess.filters.settings import (
    GaborFilterSettings,
    LawsFilterSettings,
    LogFilterSettings,
    MeanFilterSettings,
    SimoncelliFilterSettings,
    WaveletFilterSettings,
)
from radiomix.spec import load_spec

from conftest import REPO_ROOT, require_data

PHASE1 = REPO_ROOT / "feature_specs" / "ibsi2" / "phase1"
PHASE2 = REPO_ROOT / "feature_specs" / "ibsi2" / "phase2"
PHASE1_IDS = sorted(path.stem for path in PHASE1.glob("*.yaml"))
TOLERANCE_OF_RANGE = 0.01


def phase1_phantom(spec_path: Path) -> str:
    """The phantom named in a phase-1 spec's ``# Phantom: <name>`` comment."""
    match = re.search(r"^# Phantom: (\w+)", spec_path.read_text(), flags=re.MULTILINE)
    assert match, f"{spec_path} names no phantom in a '# Phantom: <name>' comment"
    return match.group(1)


def test_every_reference_map_has_a_spec_and_every_spec_a_reference_map():
    folder = require_data("ibsi2/phase1_reference_response_maps")
    references = sorted(path.name.split("-")[0] for path in folder.glob("*-ValidCRM.nii.gz"))
    assert references == PHASE1_IDS


@pytest.mark.parametrize("configuration", PHASE1_IDS)
def test_phase1_response_map_within_one_percent_of_reference_range(configuration):
    spec_path = PHASE1 / f"{configuration}.yaml"
    data = yaml.safe_load(spec_path.read_text())
    assert list(data) == ["filters"] and len(data["filters"]) == 1
    phantom = phase1_phantom(spec_path)
    image_path = require_data(f"ibsi2/phase1_digital_phantoms/{phantom}/image/{phantom}.nii.gz")
    reference_path = require_data(f"ibsi2/phase1_reference_response_maps/{configuration}-ValidCRM.nii.gz")
    response = filter_image(str(image_path), parse_filters(data["filters"])[0])
    reference_image = sitk.ReadImage(str(reference_path))
    reference = sitk.GetArrayFromImage(reference_image).astype(np.float64)
    computed = sitk.GetArrayFromImage(response)
    assert computed.shape == reference.shape
    assert response.GetSpacing() == pytest.approx(reference_image.GetSpacing())
    deviation = np.abs(computed - reference).max() / (reference.max() - reference.min())
    assert deviation <= TOLERANCE_OF_RANGE, f"{configuration}: max deviation {100 * deviation:.3f} % of the range"


MIRROR = "mirror"
PHASE2_FILTERS = {
    "1": ((), ()),
    "2": ((MeanFilterSettings(5, "2D", MIRROR),), (MeanFilterSettings(5, "3D", MIRROR),)),
    "3": ((LogFilterSettings(1.5, 4.0, "2D", MIRROR),), (LogFilterSettings(1.5, 4.0, "3D", MIRROR),)),
    "4": ((LawsFilterSettings("L5E5", "2D", True, "max", 7, MIRROR),),
          (LawsFilterSettings("L5E5E5", "3D", True, "max", 7, MIRROR),)),
    "5": ((GaborFilterSettings(5.0, 2.0, 1.5, 0.0, 22.5, "mean", "modulus", "axial", 4.0, MIRROR),),
          (GaborFilterSettings(5.0, 2.0, 1.5, 0.0, 22.5, "mean", "modulus", "orthogonal", 4.0, MIRROR),)),
    "6": ((WaveletFilterSettings("db3", "LH", 1, "2D", True, "mean", MIRROR),),
          (WaveletFilterSettings("db3", "LLH", 1, "3D", True, "mean", MIRROR),)),
    "7": ((WaveletFilterSettings("db3", "HH", 2, "2D", True, "mean", MIRROR),),
          (WaveletFilterSettings("db3", "HHH", 2, "3D", True, "mean", MIRROR),)),
    "8": ((SimoncelliFilterSettings(1, "2D", MIRROR),), (SimoncelliFilterSettings(1, "3D", MIRROR),)),
    "9": ((SimoncelliFilterSettings(2, "2D", MIRROR),), (SimoncelliFilterSettings(2, "3D", MIRROR),)),
}
"""The README's phase-2 filters: configuration number -> (A filters, B filters)."""


@pytest.mark.parametrize("number", sorted(PHASE2_FILTERS))
@pytest.mark.parametrize("variant", ["A", "B"])
def test_phase2_spec_follows_the_readme(number, variant):
    data = yaml.safe_load((PHASE2 / f"config_{number}{variant}.yaml").read_text())
    filters = parse_filters(data.pop("filters"))
    assert filters == PHASE2_FILTERS[number][0 if variant == "A" else 1]
    spec = load_spec(data)
    assert spec.resegmentation.range == (-1000.0, 400.0)
    assert list(spec.features.enabled()) == ["statistics"]
    if variant == "A":
        assert spec.interpolation.spacing_mm is None
        assert spec.texture.dimensions == ("2D",)
    else:
        interpolation = spec.interpolation
        assert interpolation.spacing_mm == (1.0, 1.0, 1.0)
        assert (interpolation.image_method, interpolation.mask_method) == ("cubic", "linear")
        assert interpolation.mask_threshold == 0.5 and interpolation.round_intensities
        assert spec.texture.dimensions == ("3D",)
