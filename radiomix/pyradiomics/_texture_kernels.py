"""Shared helpers of radiomix's pyradiomics GLRLM, GLSZM, GLDM and NGTDM classes.

pyradiomics builds its texture matrices in a C extension (``_cmatrices``)
whose conventions these kernels follow:

- Neighbour offsets ("angles") come from
  :func:`~radiomix.features.texture.pyradiomics_offsets`: every
  ``(dz, dy, dx)`` whose largest absolute component (Chebyshev distance) is
  one of the requested distances, that fits in the array (``|offset| < size``
  along each axis) and that does not move along ``force2Ddimension`` when
  ``force2D`` is set; listed from ``(d, d, d)`` downwards. GLCM and GLRLM use
  one offset of each opposite pair (13 in 3D at distance 1), GLDM, NGTDM and
  the GLSZM's zone linkage use both.
- Voxels outside the array or outside the ROI (level 0) are never neighbours.

The matrices are counted by the IBSI engine's public matrix functions
(:func:`radiomix.features.glcm.glcm_matrices`,
:func:`radiomix.features.glrlm.glrlm_matrices`,
:func:`radiomix.features.neighbourhood.neighbourhood_matrices`,
:func:`radiomix.features.zones.label_zones`) with these offsets, from the
ROI box's levels ranked among the levels present (matrices only hold the
grey levels present in the ROI, as pyradiomics' after it removes empty
ones); one image's levels are ranked once and shared by its classes
(:func:`present`).

The features are the IBSI engine's formulas with pyradiomics' conventions as
parameters (its ``eps = numpy.spacing(1)`` guards, see the class modules).
"""

from __future__ import annotations

import numpy as np

from radiomix.features.texture import (
    EMPHASIS_FEATURES,
    PresentLevels,
    emphasis_features,
    nanmean_columns,
    present_levels,
    pyradiomics_offsets,
)
from radiomix.features.texture import PYRADIOMICS_EPS as EPS

# ----------------------------------------------------------------------------------------------
# Inputs and neighbour offsets
# ----------------------------------------------------------------------------------------------

def present(levels, n_levels: int) -> PresentLevels:
    """``levels`` ranked among the grey levels present (:func:`~radiomix.features.texture.present_levels`).

    Levels already ranked are returned as they are: one image's levels are
    ranked once and shared by its texture classes.
    """
    return levels if isinstance(levels, PresentLevels) else present_levels(levels, n_levels)


def levels_and_angles(levels, n_levels: int, distances, bidirectional: bool,
                      settings) -> tuple[PresentLevels, np.ndarray]:
    """:func:`present` levels and pyradiomics' offsets for their box
    (:func:`~radiomix.features.texture.pyradiomics_offsets`).

    ``settings`` gives ``force2D`` and ``force2Ddimension``.
    """
    ranked = present(levels, n_levels)
    return ranked, pyradiomics_offsets(ranked.levels.shape, distances, bidirectional, force2d_axis(settings))


def force2d_axis(settings) -> int | None:
    """The axis excluded from the offsets: ``force2Ddimension`` when ``force2D``, else None."""
    return int(settings.force2Ddimension) if settings.force2D else None


def named_emphasis_features(matrices: np.ndarray, row_values: np.ndarray, column_values: np.ndarray,
                            names: dict[str, str]) -> dict[str, float]:
    """pyradiomics' GLRLM, GLSZM or GLDM features of a stack of matrices, averaged over matrices.

    Parameters
    ----------
    matrices : ndarray of float64, shape (n_matrices, n_rows, n_columns)
        Counts by grey level and run length, zone size or dependence.
    row_values, column_values : ndarray of float64
        Grey level of each row; run length, zone size or dependence of each column.
    names : dict
        Key of :data:`~radiomix.features.texture.EMPHASIS_FEATURES` -> pyradiomics name.

    Returns
    -------
    dict of str to float
        ``{pyradiomics name: value}`` of :func:`radiomix.features.texture.emphasis_features`
        with pyradiomics' ``eps`` in the entropy; matrices without counts
        (NaN) are left out of the average, as pyradiomics' ``nanmean``.
    """
    values = nanmean_columns(emphasis_features(matrices, row_values, column_values, EPS).T)
    return {names[key]: float(value) for key, value in zip(EMPHASIS_FEATURES, values) if key in names}
