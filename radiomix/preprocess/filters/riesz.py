"""Riesz transforms (IBSI-2) of the LoG and Simoncelli filters, in the Fourier domain."""

from __future__ import annotations

import numpy as np

from radiomix.preprocess.filters import log
from radiomix.preprocess.filters.fourier import apply_transfer
from radiomix.preprocess.filters.settings import RieszFilterSettings
from radiomix.preprocess.filters.simoncelli import FILTERED_AXES


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 settings: RieszFilterSettings) -> np.ndarray:
    """Riesz-transformed LoG or Simoncelli response of ``image`` (``(z, y, x)``, ``spacing`` in mm)."""
    base = settings.base
    axes = FILTERED_AXES[base.dimensions]
    # orders are given along x, y[, z]; the filtered array axes are increasing (z, y, x)
    orders = tuple(reversed(settings.order))
    if settings.log is not None:
        return apply_transfer(image, axes, base.boundary_condition, riesz_orders=orders,
                              kernel=log.kernel(spacing, settings.log))
    return apply_transfer(image, axes, base.boundary_condition, level=settings.simoncelli.level,
                          riesz_orders=orders)
