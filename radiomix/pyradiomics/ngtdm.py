"""pyradiomics' NGTDM class (``ngtdm``): features with pyradiomics' names and numbers.

The matrix is pyradiomics' ``RadiomicsNGTDM`` matrix: for each grey level
``i`` present in the ROI, the number of ROI voxels ``n_i`` and the sum ``s_i``
over those voxels of ``|i - mean level of its neighbours|``, the neighbours
being the ROI voxels at the offsets of ``distances`` (both directions;
in-plane with ``force2D``; offsets that do not fit in the ROI box are left
out). Unlike IBSI, a voxel without any neighbour in the ROI still counts in
``n_i`` (with a difference of 0). Formulas: :func:`radiomix.features.ngtdm.ngtdm_feature_values`
(coarseness 1e6 only when ``sum p_i s_i = 0``; busyness 0 when undefined).
"""

from __future__ import annotations

import numpy as np

from radiomix.features.neighbourhood import neighbourhood_matrices
from radiomix.features.ngtdm import FEATURE_KEYS, ngtdm_feature_values
from radiomix.features.texture import PresentLevels
from radiomix.pyradiomics import _texture_kernels as kernels

NAMES = {"coarseness": "Coarseness", "contrast": "Contrast", "busyness": "Busyness", "complexity": "Complexity",
         "strength": "Strength"}
"""IBSI NGTDM feature key -> pyradiomics name."""

FEATURE_NAMES = tuple(sorted(NAMES.values()))
"""The NGTDM features this module computes (pyradiomics' names)."""


def matrix(levels: np.ndarray | PresentLevels, n_levels: int,
           settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pyradiomics' NGTDM columns ``n_i``, ``s_i`` and ``i``, for the grey levels present.

    Parameters are those of :func:`radiomix.pyradiomics.gldm.matrix` (``settings.gldm_a`` is not read).

    Returns
    -------
    counts, differences, grey_levels : ndarray of float64, shape (n,)

    Notes
    -----
    The columns are the IBSI NGTDM's of the volume
    (:func:`radiomix.features.neighbourhood.neighbourhood_matrices`) for
    pyradiomics' offsets, counting voxels without neighbours.
    """
    present, angles = kernels.levels_and_angles(levels, n_levels, settings.distances, True, settings)
    counted = neighbourhood_matrices(present.levels, present.n_levels, angles, 0, dependences=False,
                                     count_isolated=True)
    counts = counted.volume_counts[0][present.rows].astype(np.float64)
    return counts, counted.volume_sums[0][present.rows], present.grey_levels


def features(levels: np.ndarray | PresentLevels, n_levels: int, spacing_zyx, settings) -> dict[str, float]:
    """pyradiomics' NGTDM features of ``levels``: ``{pyradiomics feature name: value}`` for :data:`FEATURE_NAMES`.

    ``levels``, ``n_levels`` and ``settings`` are those of :func:`matrix`; ``spacing_zyx`` (voxel
    size in mm) is not used: neighbourhoods are in voxels.
    """
    counts, differences, grey_levels = matrix(levels, n_levels, settings)
    values = ngtdm_feature_values(counts[None], differences[None], grey_levels, capped_coarseness=False,
                                  undefined_busyness=0.0)[0]
    return dict(sorted((NAMES[key], float(value)) for key, value in zip(FEATURE_KEYS, values)))
