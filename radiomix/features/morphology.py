"""Morphological features (IBSI-1 chapter "Morphological features", HCUG).

Morphology is always 3D (also in 2D configurations) and describes the ROI
through three representations (IBSI):

- the **voxel set**: the voxels of the morphological mask, each of volume
  ``prod(spacing)`` mm^3;
- the **voxel-centre point set**: their centres in mm, ``index * spacing``
  (the array origin is irrelevant: every feature is translation invariant);
- the **surface mesh**: marching cubes (Lewiner, :func:`skimage.measure.marching_cubes`)
  at iso-level 0.5 on the morphological mask zero-padded by one voxel, with
  vertices in mm, triangles wound so that their normals point outwards; or,
  with ``mesh: pyradiomics``, pyradiomics' marching cubes
  (:mod:`radiomix.features.marching_cubes`), which may leave the mesh open.

The conventions of pyradiomics' shape class are settings
(:class:`~radiomix.spec.MorphologySettings`): ``mesh``, ``axis_covariance``
and the per-plane maximum diameters in ``non_ibsi_features``; the formulas
from the mesh's volume and area (:func:`volume_area_features`) and from the
covariance eigenvalues (:func:`axis_features`) are the same for both.

Which mask (IBSI): every shape feature uses the morphological mask. Integrated
intensity multiplies the mesh volume (morphological mask) by the mean
intensity of the intensity mask; the centre of mass shift compares the
centre of the morphological-mask voxels with the intensity-weighted centre of
the intensity-mask voxels; Moran's I and Geary's C use the intensity-mask
voxels.

Moran's I and Geary's C: :mod:`radiomix.features.spatial_autocorrelation`
(exact pair sums or FFT convolution, whichever is cheaper), bounded by
``max_voxels_moran`` (:class:`~radiomix.spec.MorphologySettings`). Maximum
diameter, oriented minimum bounding box and minimum volume enclosing
ellipsoid: :mod:`radiomix.features.geometry`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial import ConvexHull
from skimage.measure import marching_cubes as lewiner_marching_cubes

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features import marching_cubes, registry
from radiomix.features.base import FeatureValue, RoiImage
from radiomix.features.geometry import (
    MVEE_MAX_ITERATIONS,
    MVEE_TOLERANCE,
    box_surface_area,
    ellipsoid_surface_area,
    minimum_volume_enclosing_ellipsoid,
    oriented_minimum_bounding_box,
)
from radiomix.features.spatial_autocorrelation import grid_morans_i_gearys_c
from radiomix.spec import MorphologySettings

FAMILY = "morphology"

COPLANAR_EIGENVALUE_RATIO = 1.0e-10
"""Voxel-centre covariance eigenvalues below this fraction of the largest are zero.

Rounding leaves ~1e-17 instead of an exact zero for coplanar or collinear
voxel centres (a single slice, a single row); those are degenerate, not tiny.
"""

registry.define(
    FAMILY, "volume_mesh", "Volume (mesh)", "RNU0", "mm^3",
    "V = (1/6) sum over mesh triangles (a . (b x c)) with outward-wound triangles, "
    "vertices a, b, c in mm")
registry.define(
    FAMILY, "volume_voxel_counting", "Volume (voxel counting)", "YEKZ", "mm^3",
    "V_voxel = N_v * (voxel volume), N_v the number of morphological-mask voxels")
registry.define(
    FAMILY, "surface_area_mesh", "Surface area (mesh)", "C0JK", "mm^2",
    "A = sum over mesh triangles |(b - a) x (c - a)| / 2")
registry.define(
    FAMILY, "surface_to_volume_ratio", "Surface to volume ratio", "2PR5", "mm^-1",
    "A / V")
registry.define(
    FAMILY, "compactness_1", "Compactness 1", "SKGS", "1",
    "V / (pi^(1/2) A^(3/2))")
registry.define(
    FAMILY, "compactness_2", "Compactness 2", "BQWJ", "1",
    "36 pi V^2 / A^3")
registry.define(
    FAMILY, "spherical_disproportion", "Spherical disproportion", "KRCK", "1",
    "A / (36 pi V^2)^(1/3)")
registry.define(
    FAMILY, "sphericity", "Sphericity", "QCFX", "1",
    "(36 pi V^2)^(1/3) / A")
registry.define(
    FAMILY, "asphericity", "Asphericity", "25C7", "1",
    "(A^3 / (36 pi V^2))^(1/3) - 1")
registry.define(
    FAMILY, "centre_of_mass_shift", "Centre of mass shift", "KLMA", "mm",
    "|| mean of morphological-mask voxel centres - sum_k I_k x_k / sum_k I_k over "
    "intensity-mask voxels ||, positions in mm")
registry.define(
    FAMILY, "maximum_3d_diameter", "Maximum 3D diameter", "L0JK", "mm",
    "largest distance between two mesh vertices (searched among convex-hull vertices)")
NON_IBSI_KEYS = tuple(registry.define(
    FAMILY, f"maximum_2d_diameter_{plane}", f"Maximum 2D diameter ({plane}: {axes} plane)", "", "mm",
    f"largest distance between two mesh vertices with the same {axis} coordinate; not in IBSI "
    f"(pyradiomics' Maximum2DDiameter{plane.title()}); with non_ibsi_features").key
    for plane, axes, axis in (("slice", "x-y", "z"), ("column", "y-z", "y"), ("row", "x-z", "x")))
"""Features computed only when :attr:`MorphologySettings.non_ibsi_features` names them."""
registry.define(
    FAMILY, "major_axis_length", "Major axis length", "TDIC", "mm",
    "4 sqrt(lambda_major), lambda the eigenvalues of the sample covariance (N - 1) of the "
    "morphological-mask voxel centres in mm")
registry.define(
    FAMILY, "minor_axis_length", "Minor axis length", "P9VJ", "mm",
    "4 sqrt(lambda_minor)")
registry.define(
    FAMILY, "least_axis_length", "Least axis length", "7J51", "mm",
    "4 sqrt(lambda_least)")
registry.define(
    FAMILY, "elongation", "Elongation", "Q3CK", "1",
    "sqrt(lambda_minor / lambda_major)")
registry.define(
    FAMILY, "flatness", "Flatness", "N17B", "1",
    "sqrt(lambda_least / lambda_major)")
registry.define(
    FAMILY, "volume_density_aabb", "Volume density (axis-aligned bounding box)", "PBX1", "1",
    "V / V_aabb, the axis-aligned bounding box of the mesh vertices")
registry.define(
    FAMILY, "area_density_aabb", "Area density (axis-aligned bounding box)", "R59B", "1",
    "A / A_aabb, A_aabb = 2 (l1 l2 + l1 l3 + l2 l3)")
registry.define(
    FAMILY, "volume_density_ombb", "Volume density (oriented minimum bounding box)", "ZH1A", "1",
    "V / V_ombb, the minimum-volume box of any orientation enclosing the mesh vertices "
    "(exact in-plane rotating calipers about each candidate axis: convex-hull face normals, "
    "coordinate axes and 2000 sampled directions, the best refined by a local search)")
registry.define(
    FAMILY, "area_density_ombb", "Area density (oriented minimum bounding box)", "IQYR", "1",
    "A / A_ombb, A_ombb = 2 (l1 l2 + l1 l3 + l2 l3) of the oriented minimum bounding box")
registry.define(
    FAMILY, "volume_density_aee", "Volume density (approximate enclosing ellipsoid)", "6BDE", "1",
    "3 V / (4 pi a b c), semi-axes a = 2 sqrt(lambda_major), b = 2 sqrt(lambda_minor), "
    "c = 2 sqrt(lambda_least)")
registry.define(
    FAMILY, "area_density_aee", "Area density (approximate enclosing ellipsoid)", "RDD2", "1",
    "A / A_aee, A_aee = 4 pi a b sum_{nu=0}^{20} (alpha beta)^nu / (1 - 4 nu^2) "
    "P_nu((alpha^2 + beta^2) / (2 alpha beta)), alpha = sqrt(1 - b^2/a^2), "
    "beta = sqrt(1 - c^2/a^2), P_nu the Legendre polynomials")
registry.define(
    FAMILY, "volume_density_mvee", "Volume density (minimum volume enclosing ellipsoid)", "SWZ1", "1",
    "3 V / (4 pi a b c), a >= b >= c the semi-axes of the minimum volume ellipsoid enclosing "
    "the convex-hull vertices of the mesh (Khachiyan's algorithm)")
registry.define(
    FAMILY, "area_density_mvee", "Area density (minimum volume enclosing ellipsoid)", "BRI8", "1",
    "A / A_mvee, A_mvee from the Legendre series of the approximate enclosing ellipsoid "
    "applied to the MVEE semi-axes")
registry.define(
    FAMILY, "volume_density_convex_hull", "Volume density (convex hull)", "R3ER", "1",
    "V / V_convex, the convex hull of the mesh vertices")
registry.define(
    FAMILY, "area_density_convex_hull", "Area density (convex hull)", "7T7F", "1",
    "A / A_convex")
registry.define(
    FAMILY, "integrated_intensity", "Integrated intensity", "99N0", "I*mm^3",
    "V * mean intensity of the intensity-mask voxels")
registry.define(
    FAMILY, "morans_i", "Moran's I index", "N365", "1",
    "N / sum_{k1 != k2} w * sum_{k1 != k2} w (I_k1 - mu)(I_k2 - mu) / sum_k (I_k - mu)^2, "
    "w = 1 / ||x_k1 - x_k2|| (mm), over intensity-mask voxels")
registry.define(
    FAMILY, "gearys_c", "Geary's C measure", "NPT7", "1",
    "(N - 1) / (2 sum_{k1 != k2} w) * sum_{k1 != k2} w (I_k1 - I_k2)^2 / sum_k (I_k - mu)^2, "
    "w = 1 / ||x_k1 - x_k2|| (mm), over intensity-mask voxels")

FEATURE_KEYS = tuple(d.key for d in registry.definitions(FAMILY) if d.key not in NON_IBSI_KEYS)
"""The IBSI features, always computed."""

EMPTY_INTENSITY_MASK = "undefined: empty intensity mask"
SINGLE_INTENSITY_VOXEL = "undefined: fewer than two voxels in the intensity mask"
CONSTANT_INTENSITY = "undefined: constant intensity in the intensity mask"
ZERO_INTENSITY_SUM = "undefined: intensities of the intensity mask sum to zero"
SINGLE_MORPHOLOGICAL_VOXEL = "undefined: fewer than two voxels in the morphological mask"
FLAT_VOXEL_CENTRES = "undefined: morphological-mask voxel centres are coplanar (least axis 0)"
NEGATIVE_EIGENVALUE = "undefined: negative principal-axis eigenvalue"


def moran_geary_skipped_status(n_voxels: int, max_voxels: int) -> str:
    """Status of Moran's I and Geary's C when the intensity mask exceeds ``max_voxels_moran``."""
    return (f"skipped: ROI of {n_voxels} voxels exceeds max_voxels_moran ({max_voxels}); "
            "raise features.morphology.max_voxels_moran (or set it to null) to compute Moran's I "
            "and Geary's C, at the cost stated in radiomix.spec.MorphologySettings")


# --------------------------------------------------------------------------- mesh


def surface_mesh(mask: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Closed triangle mesh of a 3D mask's surface, triangles wound outwards.

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The region; at least one voxel.
    spacing : sequence of 3 float
        Voxel size (z, y, x) in mm.

    Returns
    -------
    vertices : ndarray of float64, shape (n_vertices, 3)
        Vertex positions (z, y, x) in mm (of the mask padded by one voxel).
    faces : ndarray of int64, shape (n_faces, 3)
        Vertex indices of each triangle, wound so that the signed volume
        :func:`mesh_volume` is positive.
    """
    mask = _check_mask(mask)
    padded = np.pad(mask, 1).astype(np.float64)
    vertices, faces, _, _ = lewiner_marching_cubes(
        padded, level=0.5, spacing=tuple(float(s) for s in spacing))
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if _signed_volume(vertices, faces) < 0.0:
        faces = faces[:, ::-1].copy()
    return vertices, faces


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Sum of signed tetrahedron volumes (mm^3) spanned by the centroid and each triangle."""
    centred = vertices - vertices.mean(axis=0)
    a, b, c = centred[faces[:, 0]], centred[faces[:, 1]], centred[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def mesh_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume (mm^3) enclosed by a closed, outward-wound triangle mesh (IBSI RNU0)."""
    return _signed_volume(np.asarray(vertices, dtype=np.float64), np.asarray(faces))


def mesh_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Surface area (mm^2) of a triangle mesh: the sum of its triangle areas (IBSI C0JK)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    return float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum() / 2.0)


# ------------------------------------------------------------------ family


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise InputError(f"morphology needs a 3D (z, y, x) mask, got {mask.ndim} dimensions")
    if not mask.any():
        raise EmptyRoiError("the morphological mask holds no voxel: morphology needs at least one")
    return mask


def _voxel_positions(mask: np.ndarray, spacing) -> np.ndarray:
    """Voxel-centre positions (z, y, x) in mm of the mask's voxels, in C order."""
    return np.argwhere(mask) * np.asarray(spacing, dtype=np.float64)


def _axis_eigenvalues(positions: np.ndarray) -> np.ndarray:
    """Eigenvalues (mm^2, decreasing) of the sample covariance of ``positions``; degenerate ones 0."""
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(positions, rowvar=False)))[::-1]
    eigenvalues[eigenvalues <= COPLANAR_EIGENVALUE_RATIO * eigenvalues[0]] = 0.0
    return eigenvalues


@dataclass
class Surface:
    """The surface mesh of a morphological mask under a mesh convention, and its measures.

    Attributes
    ----------
    volume : float
        Mesh volume (mm^3).
    area : float
        Mesh surface area (mm^2).
    vertices : ndarray of float64, shape (n, 3)
        Vertex positions (z, y, x) in mm.
    grid : ndarray of int64, shape (n, 3)
        The vertices in half voxels (every vertex is the midpoint of a grid edge).
    closed : bool
        True for the closed Lewiner mesh, False for pyradiomics' (maybe open) mesh.
    """

    volume: float
    area: float
    vertices: np.ndarray
    grid: np.ndarray
    closed: bool

    @cached_property
    def hull(self) -> ConvexHull:
        """Convex hull of the vertices."""
        return ConvexHull(self.vertices)

    def diameter_points(self) -> np.ndarray:
        """Vertices among which the farthest pair lies: the hull's (closed mesh) or the line ends (pyradiomics)."""
        if self.closed:
            return self.vertices[self.hull.vertices]
        return marching_cubes.diameter_candidates(self.vertices, self.grid)


def surface(mask: np.ndarray, spacing, mesh: str) -> Surface:
    """The :class:`Surface` of a 3D mask (at least one voxel) with the ``mesh`` convention, spacing (z, y, x) in mm.

    ``mesh``: ``lewiner`` (:func:`surface_mesh`, :func:`mesh_volume`,
    :func:`mesh_area`) or ``pyradiomics`` (:func:`radiomix.features.marching_cubes.padded_mesh`).
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    if mesh == "pyradiomics":
        area, volume, grid = marching_cubes.padded_mesh(marching_cubes.padded_mask(mask), spacing)
        return Surface(volume, area, (grid * 0.5) * spacing, grid, closed=False)
    vertices, faces = surface_mesh(mask, spacing)
    grid = np.rint(vertices / spacing * 2.0).astype(np.int64)  # midpoints of grid edges: exact
    return Surface(mesh_volume(vertices, faces), mesh_area(vertices, faces), vertices, grid, closed=True)


def volume_area_features(volume: float, area: float) -> dict[str, float]:
    """The features of the mesh volume ``volume`` (mm^3) and area ``area`` (mm^2), by key."""
    sphere_term = (36.0 * math.pi * volume ** 2) ** (1.0 / 3.0)
    return {
        "surface_to_volume_ratio": area / volume,
        "compactness_1": volume / (math.sqrt(math.pi) * area ** 1.5),
        "compactness_2": 36.0 * math.pi * volume ** 2 / area ** 3,
        "spherical_disproportion": area / sphere_term,
        "sphericity": sphere_term / area,
        "asphericity": (area ** 3 / (36.0 * math.pi * volume ** 2)) ** (1.0 / 3.0) - 1.0,
    }


AXIS_KEYS = ("major_axis_length", "minor_axis_length", "least_axis_length")
RATIO_KEYS = ("elongation", "flatness")


def axis_features(eigenvalues: np.ndarray) -> dict[str, tuple[float, str]]:
    """Axis lengths ``4 sqrt(lambda)``, elongation and flatness ``sqrt(lambda / lambda_major)``.

    ``eigenvalues`` (mm^2) in decreasing order, 3 (or 2: no least axis, no
    flatness). A negative eigenvalue (or a zero major one) makes its
    features NaN with :data:`NEGATIVE_EIGENVALUE`. Returns key -> (value, status).
    """
    values = {}
    for key, eigenvalue in zip(AXIS_KEYS, eigenvalues):
        values[key] = 4.0 * np.sqrt(eigenvalue) if eigenvalue >= 0 else math.nan
    major = eigenvalues[0]
    for key, eigenvalue in zip(RATIO_KEYS, eigenvalues[1:]):
        values[key] = np.sqrt(eigenvalue / major) if eigenvalue >= 0 and major >= 0 else math.nan
    return {key: (float(value), NEGATIVE_EIGENVALUE if math.isnan(value) else "")
            for key, value in values.items()}


def shape_features(mask: np.ndarray, spacing, settings: MorphologySettings
                   ) -> tuple[dict[str, tuple[float, str]], Surface, np.ndarray | None]:
    """The features of the mesh and the voxel positions, under ``settings``' conventions.

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The morphological mask (at least one voxel).
    spacing : sequence of 3 float
        Voxel size (z, y, x) in mm.
    settings : MorphologySettings
        ``mesh``, ``axis_covariance`` and ``non_ibsi_features``.

    Returns
    -------
    values : dict of str to (float, str)
        Key -> (value, status) of the volumes, the surface area, the features of
        :func:`volume_area_features`, the maximum 3D diameter, the axis
        features and the requested per-plane diameters.
    surface : Surface
        The mesh.
    eigenvalues : ndarray or None
        The covariance eigenvalues (mm^2, decreasing); None when undefined.

    Raises
    ------
    EmptyRoiError
        The mask holds no voxel.
    """
    mask = _check_mask(mask)
    spacing = np.asarray(spacing, dtype=np.float64)
    mesh = surface(mask, spacing, settings.mesh)
    values = {"volume_mesh": (mesh.volume, ""),
              "volume_voxel_counting": (float(np.count_nonzero(mask) * float(np.prod(spacing))), ""),
              "surface_area_mesh": (mesh.area, "")}
    values.update((key, (value, "")) for key, value in volume_area_features(mesh.volume, mesh.area).items())
    values["maximum_3d_diameter"] = (marching_cubes.farthest_pair_distance(mesh.diameter_points()), "")
    if settings.axis_covariance == "population":
        eigenvalues = marching_cubes.principal_eigenvalues(marching_cubes.padded_mask(mask), spacing)[::-1]
        values.update(axis_features(eigenvalues))
    elif np.count_nonzero(mask) < 2:
        eigenvalues = None
        values.update((key, (math.nan, SINGLE_MORPHOLOGICAL_VOXEL)) for key in AXIS_KEYS + RATIO_KEYS)
    else:
        eigenvalues = _axis_eigenvalues(_voxel_positions(mask, spacing))
        values.update(axis_features(eigenvalues))
    if settings.non_ibsi_features:
        diameters = marching_cubes.plane_diameters(mesh.grid, spacing)
        values.update((key, (float(diameter), "")) for key, diameter in zip(NON_IBSI_KEYS, diameters)
                      if key in settings.non_ibsi_features)
    return values, mesh, eigenvalues


def compute(roi: RoiImage, settings: MorphologySettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """All IBSI-1 morphological features of ``roi`` (3D; ``dimensions`` is ignored).

    Parameters
    ----------
    roi : RoiImage
        Uses ``morphological_mask``, ``intensity_mask``, ``intensity`` and
        ``spacing`` (mm).
    settings : MorphologySettings
        The mesh and covariance conventions, the features outside IBSI to add,
        and ``max_voxels_moran``, the bound on the intensity-mask size for
        Moran's I and Geary's C (above it: NaN and a ``skipped`` status).
    dimensions : tuple of str
        Ignored: morphology is always computed in 3D.

    Returns
    -------
    list of FeatureValue
        One value per IBSI feature of the family in registry order, then those
        of ``settings.non_ibsi_features``; aggregation ``""``.

    Raises
    ------
    EmptyRoiError
        The morphological mask holds no voxel.
    """
    del dimensions
    morphological = _check_mask(roi.morphological_mask)
    intensity_mask = np.asarray(roi.intensity_mask, dtype=bool)
    spacing = tuple(float(s) for s in roi.spacing)
    values, mesh, eigenvalues = shape_features(morphological, spacing, settings)
    volume, area = mesh.volume, mesh.area

    def put(key, value, status=""):
        values[key] = (float(value), status) if not status else (math.nan, status)

    morphological_positions = _voxel_positions(morphological, spacing)
    intensity_positions = _voxel_positions(intensity_mask, spacing)
    intensities = np.asarray(roi.intensity, dtype=np.float64)[intensity_mask]
    if len(intensities) == 0:
        for key in ("centre_of_mass_shift", "integrated_intensity", "morans_i", "gearys_c"):
            put(key, math.nan, EMPTY_INTENSITY_MASK)
    else:
        total = float(intensities.sum())
        if total == 0.0:
            put("centre_of_mass_shift", math.nan, ZERO_INTENSITY_SUM)
        else:
            weighted_centre = intensities @ intensity_positions / total
            put("centre_of_mass_shift",
                np.linalg.norm(morphological_positions.mean(axis=0) - weighted_centre))
        put("integrated_intensity", volume * float(intensities.mean()))
        if len(intensities) < 2:
            put("morans_i", math.nan, SINGLE_INTENSITY_VOXEL)
            put("gearys_c", math.nan, SINGLE_INTENSITY_VOXEL)
        elif np.all(intensities == intensities[0]):
            put("morans_i", math.nan, CONSTANT_INTENSITY)
            put("gearys_c", math.nan, CONSTANT_INTENSITY)
        elif settings.max_voxels_moran is not None and len(intensities) > settings.max_voxels_moran:
            skipped = moran_geary_skipped_status(len(intensities), settings.max_voxels_moran)
            put("morans_i", math.nan, skipped)
            put("gearys_c", math.nan, skipped)
        else:
            morans_i, gearys_c = grid_morans_i_gearys_c(intensity_mask, roi.intensity, spacing)
            put("morans_i", morans_i)
            put("gearys_c", gearys_c)

    if eigenvalues is None:
        put("volume_density_aee", math.nan, SINGLE_MORPHOLOGICAL_VOXEL)
        put("area_density_aee", math.nan, SINGLE_MORPHOLOGICAL_VOXEL)
    elif not eigenvalues[2] > 0.0:
        put("volume_density_aee", math.nan, FLAT_VOXEL_CENTRES)
        put("area_density_aee", math.nan, FLAT_VOXEL_CENTRES)
    else:
        semi_axes = 2.0 * np.sqrt(eigenvalues)
        put("volume_density_aee", 3.0 * volume / (4.0 * math.pi * float(np.prod(semi_axes))))
        put("area_density_aee", area / ellipsoid_surface_area(semi_axes))

    vertices = mesh.vertices
    aabb_sides = vertices.max(axis=0) - vertices.min(axis=0)
    put("volume_density_aabb", volume / float(np.prod(aabb_sides)))
    put("area_density_aabb", area / box_surface_area(aabb_sides))

    hull_vertices = vertices[mesh.hull.vertices]
    ombb_sides, _ = oriented_minimum_bounding_box(hull_vertices)
    put("volume_density_ombb", volume / float(np.prod(ombb_sides)))
    put("area_density_ombb", area / box_surface_area(ombb_sides))

    mvee_semi_axes, _, _ = minimum_volume_enclosing_ellipsoid(
        hull_vertices, MVEE_TOLERANCE, MVEE_MAX_ITERATIONS)
    put("volume_density_mvee", 3.0 * volume / (4.0 * math.pi * float(np.prod(mvee_semi_axes))))
    put("area_density_mvee", area / ellipsoid_surface_area(mvee_semi_axes))

    put("volume_density_convex_hull", volume / mesh.hull.volume)
    put("area_density_convex_hull", area / mesh.hull.area)

    keys = FEATURE_KEYS + tuple(key for key in NON_IBSI_KEYS if key in settings.non_ibsi_features)
    return [FeatureValue(key, "", *values[key]) for key in keys]
