"""Laws kernels (IBSI-2): separable 1D Laws kernels, rotation-invariant pooling, energy map."""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters.pooling import IMAGE_AXES, pooled_separable_response
from radiomix.preprocess.filters.separable import box_kernel, convolve_separable
from radiomix.preprocess.filters.settings import LawsFilterSettings

_LAWS_TAPS = {
    "L5": (1.0, 4.0, 6.0, 4.0, 1.0),
    "E5": (-1.0, -2.0, 0.0, 2.0, 1.0),
    "S5": (-1.0, 0.0, 2.0, 0.0, -1.0),
    "W5": (-1.0, 2.0, 0.0, -2.0, 1.0),
    "R5": (1.0, -4.0, 6.0, -4.0, 1.0),
    "L3": (1.0, 2.0, 1.0),
    "E3": (-1.0, 0.0, 1.0),
    "S3": (-1.0, 2.0, -1.0),
}


def laws_kernel(name: str) -> np.ndarray:
    """The 1D Laws kernel ``name`` (e.g. ``"E5"``) scaled to unit L2 norm."""
    taps = np.array(_LAWS_TAPS[name.upper()])
    return taps / np.sqrt(np.sum(taps ** 2))


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: LawsFilterSettings) -> np.ndarray:
    """Laws response (or energy map) of ``image`` (``(z, y, x)``); ``spacing`` is not used (kernels in voxels)."""
    kernels = [laws_kernel(name) for name in settings.kernel_names()]
    response = pooled_separable_response(image, [kernels], settings.boundary_condition,
                                         settings.rotation_invariance, settings.pooling)
    if settings.energy_delta is None:
        return response
    window = box_kernel(2 * settings.energy_delta + 1)
    axes = IMAGE_AXES[len(kernels)]
    return convolve_separable(np.abs(response), {axis: window for axis in axes}, settings.boundary_condition)
