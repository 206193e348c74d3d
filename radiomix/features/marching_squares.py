"""pyradiomics' marching squares: the perimeter mesh of a single-slice ROI (the morphology family's 2D features).

The ROI must be one slice thick along the slice axis
(:attr:`radiomix.spec.MorphologySettings.slice_axis`, pyradiomics'
``force2Ddimension``); the slice is padded by one empty pixel. Marching squares puts a vertex halfway along every
pixel edge joining an ROI pixel centre to a non-ROI one (physical coordinates
``index * spacing`` of the padded slice) and joins them with line segments:
for every run of consecutive ROI corners of a 2 x 2 square (corners in the
order (0, 0), (0, 1), (1, 1), (1, 0)), one segment from the edge before the
run to the edge after it. At a saddle (two diagonal ROI corners) the two
corners stay apart, as in pyradiomics.

- surface ``S = sum_segments (a_0 b_1 - b_0 a_1) / 2`` (signed, so that
  triangles with the origin outside the ROI cancel);
- perimeter ``P = sum_segments |a - b|``;
- maximum diameter: the largest distance between two vertices.

:func:`perimeter_coefficients` validates and calls :func:`_squares_kernel`
and :func:`~radiomix.features.marching_cubes.farthest_pair_distance`; :func:`slice_mask` takes the slice;
:func:`radiomix.features.surface.planar_features` gives the features.
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import njit
from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.marching_cubes import farthest_pair_distance

SQUARE_CORNERS = np.array([(0, 0), (0, 1), (1, 1), (1, 0)], dtype=np.int64)
"""Offsets (y, x) of the 4 corners of a marching square, in order around it."""

EDGE_MIDPOINTS_2D = np.array([(0.0, 0.5), (0.5, 1.0), (1.0, 0.5), (0.5, 0.0)])
"""Offset (y, x), in pixels, of the vertex on edge k, which joins corners k and k + 1 (mod 4)."""


def _segment_table() -> np.ndarray:
    """Segments (edge pairs) of each square case 0-15, -1 after the last."""
    table = np.full((16, 4), -1, dtype=np.int64)
    for case in range(1, 15):
        inside = [bool(case >> corner & 1) for corner in range(4)]
        segments = []
        for start in range(4):
            if inside[start] and not inside[start - 1]:  # a run of ROI corners begins here
                end = start
                while inside[(end + 1) % 4]:
                    end = (end + 1) % 4
                segments += [(start - 1) % 4, end]
        table[case, :len(segments)] = segments
    return table


SEGMENT_TABLE = _segment_table()
"""Edges joined by the segments of each square case."""


@njit
def _squares_kernel(mask, spacing, segments, midpoints):
    """Perimeter, twice the signed surface and vertices of the marching-squares contour.

    ``mask`` is a uint8 (y, x) array padded with empty pixels. Returns
    ``(perimeter_mm, twice_surface_mm2, vertices (n, 2) mm)``.
    """
    ny, nx = mask.shape
    vertices = np.empty((2 * (ny - 1) * (nx - 1), 2))
    n_vertices = 0
    perimeter = 0.0
    surface2 = 0.0
    for iy in range(ny - 1):
        for ix in range(nx - 1):
            case = 0
            if mask[iy, ix]:
                case |= 1
            if mask[iy, ix + 1]:
                case |= 2
            if mask[iy + 1, ix + 1]:
                case |= 4
            if mask[iy + 1, ix]:
                case |= 8
            if case == 0 or case == 15:
                continue
            t = 0
            while t < 2 and segments[case, 2 * t] >= 0:
                ay = (iy + midpoints[segments[case, 2 * t], 0]) * spacing[0]
                ax = (ix + midpoints[segments[case, 2 * t], 1]) * spacing[1]
                by = (iy + midpoints[segments[case, 2 * t + 1], 0]) * spacing[0]
                bx = (ix + midpoints[segments[case, 2 * t + 1], 1]) * spacing[1]
                surface2 += ay * bx - by * ax
                perimeter += np.sqrt((ay - by) * (ay - by) + (ax - bx) * (ax - bx))
                t += 1
            if case > 7:  # complement: corner 3 outside, so edges 3 and 2 have a vertex iff corners 0, 2 are in
                case ^= 15
            if case & 1:
                vertices[n_vertices, 0] = (iy + midpoints[3, 0]) * spacing[0]
                vertices[n_vertices, 1] = (ix + midpoints[3, 1]) * spacing[1]
                n_vertices += 1
            if case & 4:
                vertices[n_vertices, 0] = (iy + midpoints[2, 0]) * spacing[0]
                vertices[n_vertices, 1] = (ix + midpoints[2, 1]) * spacing[1]
                n_vertices += 1
    return perimeter, surface2, vertices[:n_vertices].copy()


def slice_mask(mask: np.ndarray, slice_axis: int) -> np.ndarray:
    """The single slice of a 3D ROI mask along ``slice_axis`` (axis 0 = z, 1 = y, 2 = x), as 2D bool.

    Raises
    ------
    InputError
        The ROI spans more than one slice along that axis.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 2:
        return mask
    occupied = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != slice_axis)))
    if len(occupied) > 1:
        raise InputError(f"2D shape features need an ROI one slice thick along axis {slice_axis}; "
                         f"it spans {occupied[-1] - occupied[0] + 1} slices")
    return np.take(mask, occupied[0] if len(occupied) else 0, axis=slice_axis)


def perimeter_coefficients(mask2d: np.ndarray, spacing) -> tuple[float, float, float]:
    """Perimeter (mm), surface (mm^2) and maximum diameter (mm) of a 2D ROI's marching-squares contour.

    Parameters
    ----------
    mask2d : ndarray of bool, shape (rows, columns)
        The ROI slice (at least one pixel); padded by one empty pixel here.
    spacing : sequence of 2 float
        Pixel size (rows, columns) in mm.
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    if spacing.shape != (2,) or not np.all(spacing > 0):
        raise ValueError(f"spacing must be 2 positive pixel sizes in mm, got {spacing!r}")
    mask2d = np.asarray(mask2d, dtype=bool)
    if not mask2d.any():
        raise EmptyRoiError("the ROI holds no pixel: no shape2D features")
    padded = np.pad(mask2d, 1).astype(np.uint8)
    perimeter, surface2, vertices = _squares_kernel(padded, spacing, SEGMENT_TABLE, EDGE_MIDPOINTS_2D)
    diameter = farthest_pair_distance(vertices)
    return float(perimeter), float(surface2 / 2.0), diameter
