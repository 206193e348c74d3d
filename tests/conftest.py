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
