"""Boundary conditions: how an image is extended beyond its border.

``zero`` (constant 0), ``nearest`` (edge value repeated), ``periodic``
(wrapped around) and ``mirror`` (reflected about the border with the edge voxel
repeated, ``... c b a | a b c ...``; scipy.ndimage's ``reflect``, NumPy's
``symmetric``). Kernels far wider than the image are handled: mirror reflects
again at the opposite border.
"""

from __future__ import annotations

from radiomix._numba import njit

BOUNDARY_CODES = {"zero": 0, "nearest": 1, "periodic": 2, "mirror": 3}
"""Boundary condition name -> integer code passed to numba kernels."""

NUMPY_PAD_MODES = {"zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}
"""Boundary condition name -> ``numpy.pad`` mode."""

SCIPY_MODES = {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
"""Boundary condition name -> ``scipy.ndimage`` mode (used by the tests' comparisons)."""


@njit
def source_index(index: int, size: int, boundary: int) -> int:
    """Index inside ``[0, size)`` that the (possibly outside) ``index`` reads; -1 means the value 0.

    Parameters
    ----------
    index : int
        Position along an axis, possibly outside the image.
    size : int
        Length of the axis (voxels), at least 1.
    boundary : int
        Code from :data:`BOUNDARY_CODES`.
    """
    if 0 <= index < size:
        return index
    if boundary == 0:
        return -1
    if boundary == 1:
        return 0 if index < 0 else size - 1
    if boundary == 2:
        return index % size
    period = 2 * size
    index = index % period
    return index if index < size else period - 1 - index

