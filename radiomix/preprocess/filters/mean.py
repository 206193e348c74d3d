"""Mean filter (IBSI-2): the average over a ``support``-wide square (2D) or cube (3D)."""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters.pooling import IMAGE_AXES
from radiomix.preprocess.filters.separable import box_kernel, convolve_separable
from radiomix.preprocess.filters.settings import MeanFilterSettings


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: MeanFilterSettings) -> np.ndarray:
    """Mean-filtered ``image`` (``(z, y, x)``); ``spacing`` (mm) is not used: the support is in voxels."""
    kernel = box_kernel(settings.support)
    axes = IMAGE_AXES[2 if settings.dimensions == "2D" else 3]
    return convolve_separable(image, {axis: kernel for axis in axes}, settings.boundary_condition)
