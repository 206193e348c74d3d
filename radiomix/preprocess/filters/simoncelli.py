"""Simoncelli non-separable isotropic wavelet (IBSI-2), applied in the Fourier domain."""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters.fourier import apply_transfer
from radiomix.preprocess.filters.settings import SimoncelliFilterSettings

FILTERED_AXES = {"2D": (1, 2), "3D": (0, 1, 2)}
"""``dimensions`` -> the array axes a Fourier-domain filter transforms."""


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: SimoncelliFilterSettings) -> np.ndarray:
    """Simoncelli band ``level`` of ``image`` (``(z, y, x)``); frequencies are per voxel, ``spacing`` unused."""
    return apply_transfer(image, FILTERED_AXES[settings.dimensions], settings.boundary_condition,
                          level=settings.level)
