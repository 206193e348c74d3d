"""pyradiomics' LBP3D image type (``imageoperations.getLBP3DImage``).

For every ROI voxel, pyradiomics samples the image (cubic spline,
``scipy.ndimage.map_coordinates(order=3)``, 0 outside) at the vertices of an
icosphere of radius ``lbp3DIcosphereRadius`` voxels and ``lbp3DIcosphereSubdivision``
subdivisions centred on the voxel, thresholds the samples at the voxel's
value, projects the binary pattern on spherical harmonics and keeps, per
harmonic degree ``n < lbp3DLevels``, the rotation-invariant norm
``sqrt(sum_v (sum_m c_nm Y_nm(v))^2)`` (images ``lbp-3D-m1``, ``lbp-3D-m2``,
...), plus the kurtosis of the samples (``lbp-3D-k``).

pyradiomics' conventions reproduced here:

- icosphere vertices are trimesh's (``trimesh.creation.icosphere``): the
  icosahedron with coordinates ``(+-a, +-b, 0)``, ``(0, +-a, +-b)``,
  ``(+-b, 0, +-a)`` (a = 0.5257311121191336, b = 0.85065080835204), each
  subdivision adding edge midpoints, every vertex then moved onto the sphere
  as ``v + v / |v| (R - |v|)``; a vertex ``(v0, v1, v2)`` offsets the voxel's
  array index ``(z, y, x)``;
- spherical harmonics are SciPy's legacy ``sph_harm(m, n, theta, phi)``
  (``theta`` azimuth, ``phi`` polar angle), called with
  ``theta = arccos(v2 / R)`` and ``phi = arctan2(v1, v0)``;
  :func:`legacy_spherical_harmonic` evaluates it (SciPy >= 1.15 no longer has it);
- the sums stay complex and the square root is complex; the real part is kept;
- samples have the image's pixel type (``map_coordinates`` keeps the input dtype);
- pyradiomics leaves voxels outside the ROI uninitialised; here they are 0.

pyradiomics itself needs ``trimesh`` and SciPy < 1.15 for this image type
(it logs a warning and yields nothing otherwise); radiomix needs neither.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

ICOSAHEDRON_A = 0.5257311121191336
ICOSAHEDRON_B = 0.85065080835204
"""Coordinates of trimesh's unit icosahedron (its stored values)."""


def icosphere_vertices(subdivisions: int, radius: float) -> np.ndarray:
    """Vertices of trimesh's icosphere (see the module docstring), shape (n, 3)."""
    a, b = ICOSAHEDRON_A, ICOSAHEDRON_B
    vertices = np.array([[-a, b, 0], [a, b, 0], [-a, -b, 0], [a, -b, 0],
                         [0, -a, b], [0, a, b], [0, -a, -b], [0, a, -b],
                         [b, 0, -a], [b, 0, a], [-b, 0, -a], [-b, 0, a]], dtype=np.float64)
    faces = _icosahedron_faces(vertices)
    for _ in range(subdivisions):
        vertices, faces = _subdivided(vertices, faces)
        vertices = _onto_sphere(vertices, radius)
    if subdivisions <= 0:
        vertices = _onto_sphere(vertices, radius)
    return vertices


def _icosahedron_faces(vertices: np.ndarray) -> np.ndarray:
    """The 20 triangles of an icosahedron: triples of mutually nearest vertices."""
    distances = np.linalg.norm(vertices[:, None] - vertices[None], axis=2)
    edge = distances[distances > 0].min()
    adjacent = np.isclose(distances, edge)
    return np.array([triple for triple in itertools.combinations(range(len(vertices)), 3)
                     if adjacent[triple[0], triple[1]] and adjacent[triple[1], triple[2]]
                     and adjacent[triple[0], triple[2]]], dtype=np.int64)


def _subdivided(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each triangle split in four at its edge midpoints ``(u + w) / 2`` (one vertex per edge)."""
    edges = {}
    new_vertices = list(vertices)

    def midpoint(u, w):
        key = (min(u, w), max(u, w))
        if key not in edges:
            edges[key] = len(new_vertices)
            new_vertices.append(vertices[[u, w]].mean(axis=0))
        return edges[key]

    new_faces = []
    for u, v, w in faces:
        uv, vw, wu = midpoint(u, v), midpoint(v, w), midpoint(w, u)
        new_faces += [(u, uv, wu), (uv, v, vw), (wu, vw, w), (uv, vw, wu)]
    return np.array(new_vertices), np.array(new_faces, dtype=np.int64)


def _onto_sphere(vertices: np.ndarray, radius: float) -> np.ndarray:
    """trimesh's projection of vertices onto the sphere of ``radius``."""
    scalar = np.sqrt(np.dot(vertices ** 2, [1, 1, 1]))
    unit = vertices / scalar.reshape((-1, 1))
    return vertices + unit * (radius - scalar).reshape((-1, 1))


def legacy_spherical_harmonic(m: int, n: int, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """SciPy's legacy ``sph_harm(m, n, theta, phi)`` (removed in SciPy 1.15).

    ``sqrt((2n + 1) / (4 pi) (n - m)! / (n + m)!) P_n^m(cos phi) exp(i m theta)``
    with ``P_n^m`` the associated Legendre function with the Condon-Shortley
    phase (``scipy.special.lpmv``), ``P_n^-m = (-1)^m (n - m)! / (n + m)! P_n^m``;
    ``theta`` is the azimuth and ``phi`` the polar angle (any real values).
    """
    from scipy import special  # imported here: SciPy is needed by LBP3D only

    order = abs(m)
    value = special.lpmv(order, n, np.cos(phi)).astype(np.complex128)
    if m < 0:
        value *= (-1) ** order * special.poch(n + order + 1, -2 * order)
    value *= math.sqrt((2 * n + 1) / 4.0 / math.pi)
    value *= math.sqrt(special.poch(n + m + 1, -2 * m))
    value *= np.exp(1j * m * theta)
    return value


def response_maps(array: np.ndarray, spacing_zyx, group, box: tuple[slice, slice, slice],
                  roi: np.ndarray | None = None) -> list[np.ndarray]:
    """The maps of ``LocalBinaryPattern3DFilterSettings`` ``group`` on ``box`` (float64, 0 outside ``roi``).

    Settings sharing an icosphere are computed together, up to their
    highest degree. ``roi``: the voxels computed (default: all of them).
    """
    roi = np.ones(array.shape, dtype=bool) if roi is None else roi
    maps = {}
    for sphere in dict.fromkeys((s.icosphere_radius, s.icosphere_subdivisions) for s in group):
        members = [s for s in group if (s.icosphere_radius, s.icosphere_subdivisions) == sphere]
        levels = max((s.degree + 1 for s in members if s.map == "norm"), default=1)
        norms, kurtosis = local_binary_pattern_3d(np.asarray(array), roi, levels, *sphere)
        for settings in members:
            maps[settings] = (norms[settings.degree] if settings.map == "norm" else kurtosis)[box]
    return [maps[settings] for settings in group]


def local_binary_pattern_3d(array: np.ndarray, roi: np.ndarray, levels: int, radius: float,
                            subdivisions: int) -> tuple[list[np.ndarray], np.ndarray]:
    """pyradiomics' LBP3D maps of a (z, y, x) array at the voxels of ``roi``.

    Parameters
    ----------
    array : ndarray, shape (nz, ny, nx)
        The whole image.
    roi : ndarray of bool, same shape
        Voxels to compute (the ROI, label ``label`` of the mask).
    levels : int
        ``lbp3DLevels``: spherical-harmonic degrees 0..levels-1.
    radius : float
        ``lbp3DIcosphereRadius`` (voxels).
    subdivisions : int
        ``lbp3DIcosphereSubdivision``.

    Returns
    -------
    norms : list of ndarray of float64, shape (nz, ny, nx)
        One map per degree (``lbp-3D-m1``, ...), 0 outside ``roi``.
    kurtosis : ndarray of float64, shape (nz, ny, nx)
        The samples' kurtosis (``lbp-3D-k``), 0 outside ``roi``.
    """
    from scipy import ndimage, stats  # imported here: SciPy is needed by LBP3D only

    vertices = icosphere_vertices(subdivisions, radius)
    theta = np.arccos(np.true_divide(vertices[:, 2], radius))
    phi = np.arctan2(vertices[:, 1], vertices[:, 0])
    degrees = [(n, m) for n in range(levels) for m in range(-n, n + 1)]
    harmonics = np.column_stack([legacy_spherical_harmonic(m, n, theta, phi) for n, m in degrees])
    degree_of = np.array([n for n, _ in degrees])

    coordinates = np.nonzero(roi)
    points = np.array(coordinates).T[None, :, :] + vertices[:, None, :]  # (n_vertices, n_voxels, 3)
    samples = ndimage.map_coordinates(array, points.T, order=3)  # (n_voxels, n_vertices)
    kurtosis = stats.kurtosis(samples, axis=1)
    above = np.greater_equal(samples, array[coordinates][:, None]).astype(int)
    projections = np.multiply(above[:, :, None], harmonics[None, :, :]).sum(axis=1)  # (n_voxels, n_harmonics)

    norms = []
    for n in range(levels):
        selected = degree_of == n
        per_vertex = np.sum(np.multiply(projections[:, None, selected], harmonics[None, :, selected]), axis=2)
        norm = np.real(np.sqrt(np.sum(per_vertex ** 2, axis=1)))
        image = np.zeros(array.shape)
        image[coordinates] = norm
        norms.append(image)
    kurtosis_image = np.zeros(array.shape)
    kurtosis_image[coordinates] = np.real(kurtosis)
    return norms, kurtosis_image
