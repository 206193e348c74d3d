"""Shared fixtures: where the test data lives, and the IBSI digital phantom."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The shared test-data folder: ``$RADIOMIX_TEST_DATA`` or ``../shared/data``."""
    return Path(os.environ.get("RADIOMIX_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))


def require_data(relative: str) -> Path:
    """Path of a file or folder under the data root; skip the test, naming it, if absent."""
    path = data_root() / relative
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set RADIOMIX_TEST_DATA to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def digital_phantom_arrays():
    """The IBSI digital phantom as ``(intensity, mask, spacing)``: arrays (z, y, x), spacing mm (z, y, x)."""
    import SimpleITK as sitk

    folder = require_data("ibsi/digital_phantom")
    image = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkFloat64)
    intensity = sitk.GetArrayFromImage(image)
    roi = np.rint(sitk.GetArrayFromImage(mask)) == 1
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    return intensity, roi, spacing


@pytest.fixture(scope="session")
def digital_phantom_roi(digital_phantom_arrays):
    """The digital phantom as a :class:`RoiImage` with no discretisation (levels = intensities)."""
    from radiomix.features.base import RoiImage

    intensity, roi, spacing = digital_phantom_arrays
    levels = np.where(roi, np.rint(intensity), 0).astype(np.int32)
    return RoiImage(
        intensity=intensity, morphological_mask=roi, intensity_mask=roi.copy(), spacing=spacing,
        discretised=levels, n_levels=int(levels.max()), bin_width=1.0,
        lower_bound=float(intensity[roi].min()), resegmentation_range=(-np.inf, np.inf),
    )


@pytest.fixture(scope="session")
def ct_phantom_config_a_roi():
    """The IBSI CT phantom under configuration A as a :class:`RoiImage`, through radiomix's own chain.

    NIfTI image and mask read as float64 and rounded (mask label 1), then
    :func:`radiomix.preprocess.roi.prepare_roi` with ``feature_specs/ibsi/config_A.yaml``:
    no interpolation, re-segmentation to [-500, 400] HU, fixed bin size 25 HU from -500 HU
    (levels ``floor((HU + 500) / 25) + 1``, 36 levels present).
    """
    import SimpleITK as sitk

    from radiomix.preprocess.roi import prepare_roi
    from radiomix.spec import load_spec

    folder = require_data("ibsi/ct_phantom/nifti")
    image = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat64)
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkFloat64)
    intensity = np.rint(sitk.GetArrayFromImage(image))
    roi = np.rint(sitk.GetArrayFromImage(mask)) == 1
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    return prepare_roi(intensity, roi, spacing, load_spec(REPO_ROOT / "feature_specs" / "ibsi" / "config_A.yaml"))
