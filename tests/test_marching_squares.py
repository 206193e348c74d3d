"""pyradiomics' marching squares (:mod:`radiomix.features.marching_squares`), the morphology family's 2D features.

- the contour kernel against a plain NumPy marching squares and the installed pyradiomics'
  C extension on random single-slice masks; saddles;
- the 2D features (:func:`radiomix.features.surface.planar_features`, pyradiomics' shape2D) of
  a slice, and NaN with a status for an ROI thicker than one slice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_marching_cubes import installed_cshape, masks

from radiomix.errors import InputError
from radiomix.features import marching_squares as ms
from radiomix.features import surface
from radiomix.pyradiomics.mapping import SHAPE2D_SOURCES

PROPERTY = settings(max_examples=40, deadline=None)


def shape2d_values(mask: np.ndarray, spacing, slice_axis: int) -> tuple[dict, dict]:
    """pyradiomics' shape2D values by name, and their statuses: the morphology family's 2D features."""
    results = surface.planar_features(mask, spacing, slice_axis)
    return ({name: results[key][0] for name, key in SHAPE2D_SOURCES.items()},
            {name: results[key][1] for name, key in SHAPE2D_SOURCES.items() if results[key][1]})


def naive_squares(mask2d: np.ndarray, spacing) -> tuple[float, float, list]:
    """Marching squares one square at a time: perimeter, surface, vertices."""
    padded = np.pad(np.asarray(mask2d, bool), 1)
    spacing = np.asarray(spacing, dtype=float)
    perimeter = surface2 = 0.0
    vertices = []
    for iy in range(padded.shape[0] - 1):
        for ix in range(padded.shape[1] - 1):
            origin = np.array([iy, ix])
            case = sum(1 << k for k, corner in enumerate(ms.SQUARE_CORNERS) if padded[tuple(origin + corner)])
            if case in (0, 15):
                continue
            edges = [e for e in ms.SEGMENT_TABLE[case] if e >= 0]
            for t in range(0, len(edges), 2):
                a, b = ((origin + ms.EDGE_MIDPOINTS_2D[e]) * spacing for e in edges[t:t + 2])
                surface2 += a[0] * b[1] - b[0] * a[1]
                perimeter += float(np.linalg.norm(a - b))
            flipped = case ^ 15 if case > 7 else case
            for corner, edge in ((0, 3), (2, 2)):
                if flipped >> corner & 1:
                    vertices.append(tuple((origin + ms.EDGE_MIDPOINTS_2D[edge]) * spacing))
    return perimeter, surface2 / 2.0, vertices


@PROPERTY
@given(masks(max_shape=(1, 7, 7)), st.tuples(st.floats(0.3, 4.0), st.floats(0.3, 4.0)))
def test_squares_kernel_matches_the_reference_and_pyradiomics(mask, spacing):
    plane = mask[0]
    perimeter, surface, diameter = ms.perimeter_coefficients(plane, spacing)
    naive_perimeter, naive_surface, vertices = naive_squares(plane, spacing)
    assert perimeter == pytest.approx(naive_perimeter, rel=1e-12)
    assert surface == pytest.approx(naive_surface, rel=1e-12, abs=1e-12)
    naive_diameter = max((math.dist(a, b) for i, a in enumerate(vertices) for b in vertices[:i]), default=0.0)
    assert diameter == pytest.approx(naive_diameter, rel=1e-13)
    c_shape = installed_cshape()
    expected = c_shape.calculate_coefficients2D(np.pad(plane, 1), np.asarray(spacing))
    assert np.allclose((perimeter, surface, diameter), expected, rtol=1e-12, atol=1e-12)


def test_saddle_corners_stay_apart():
    checker = np.array([[True, False], [False, True]])
    perimeter, surface, _ = ms.perimeter_coefficients(checker, (1.0, 1.0))
    assert surface == pytest.approx(2 * 0.5)  # two diamonds of area 1/2
    assert perimeter == pytest.approx(8 * np.sqrt(0.5))


def test_2d_features_need_a_single_slice():
    with pytest.raises(InputError, match="one slice thick"):
        ms.slice_mask(np.ones((2, 3, 3), bool), 0)
    thick = surface.planar_features(np.ones((2, 3, 3), bool), (1.0, 1.0, 1.0), 0)
    assert all(math.isnan(value) and "spans 2 slices along axis 0" in status for value, status in thick.values())
    values, _ = shape2d_values(np.ones((1, 3, 4), bool), (5.0, 1.0, 2.0), 0)
    assert values["PixelSurface"] == pytest.approx(12 * 2.0)
    assert values["MajorAxisLength"] >= values["MinorAxisLength"]
    across_x, _ = shape2d_values(np.ones((3, 4, 1), bool), (5.0, 1.0, 2.0), 2)
    assert across_x["PixelSurface"] == pytest.approx(12 * 5.0)


def test_2d_features_follow_pyradiomics_formulas():
    plane = np.zeros((1, 6, 7), bool)
    plane[0, 1:5, 2:6] = True
    plane[0, 2, 1] = True
    values, statuses = shape2d_values(plane, (3.0, 0.5, 0.8), 0)
    perimeter, mesh_surface, diameter = ms.perimeter_coefficients(plane[0, 1:5, 1:6], (0.5, 0.8))  # ROI box
    assert not statuses
    assert (values["Perimeter"], values["MeshSurface"], values["MaximumDiameter"]) == (perimeter, mesh_surface,
                                                                                       diameter)
    assert values["Sphericity"] == pytest.approx(2 * math.sqrt(math.pi * mesh_surface) / perimeter, rel=1e-15)
    assert values["SphericalDisproportion"] == pytest.approx(1 / values["Sphericity"], rel=1e-15)
    assert values["PerimeterSurfaceRatio"] == pytest.approx(perimeter / mesh_surface, rel=1e-15)
    positions = np.argwhere(plane[0]) * np.array([0.5, 0.8])
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(positions.T, bias=True)))[::-1]
    assert values["MajorAxisLength"] == pytest.approx(4 * math.sqrt(eigenvalues[0]), rel=1e-12)
    assert values["MinorAxisLength"] == pytest.approx(4 * math.sqrt(eigenvalues[1]), rel=1e-12)
    assert values["Elongation"] == pytest.approx(math.sqrt(eigenvalues[1] / eigenvalues[0]), rel=1e-12)
