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
from the mesh's volume and area, the diameters and the axis features of the
covariance eigenvalues are written once for both (:mod:`radiomix.features.surface`).

Which mask (IBSI): every shape feature uses the morphological mask. Integrated
intensity multiplies the mesh volume (morphological mask) by the mean
intensity of the intensity mask; the centre of mass shift compares the
centre of the morphological-mask voxels with the intensity-weighted centre of
the intensity-mask voxels; Moran's I and Geary's C use the intensity-mask
voxels.

Moran's I and Geary's C: :mod:`radiomix.features.spatial_autocorrelation`
(exact pair sums or FFT convolution, whichever is cheaper), bounded by
``max_voxels_moran`` (:class:`~radiomix.spec.MorphologySettings`). Oriented
minimum bounding box and minimum volume enclosing ellipsoid:
:mod:`radiomix.features.geometry`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import ConvexHull

from radiomix.features import registry, surface
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
    "largest distance between two mesh vertices (searched among the vertices that end their "
    "axis-parallel lines, a superset of the convex-hull vertices)")
NON_IBSI_KEYS = tuple(registry.define(
    FAMILY, key, f"Maximum 2D diameter ({plane}: {axes} plane)", "", "mm",
    f"largest distance between two mesh vertices with the same {axis} coordinate; not in IBSI "
    f"(pyradiomics' Maximum2DDiameter{plane.title()}); with non_ibsi_features").key
    for key, plane, axes, axis in zip(surface.PLANE_DIAMETER_KEYS, ("slice", "column", "row"),
                                      ("x-y", "y-z", "x-z"), "zyx"))
NON_IBSI_KEYS += registry.define_table(FAMILY, [
    (key, name, "", unit, f"{formula}; a single-slice ROI's marching-squares contour (pixel positions for the "
                          f"axes), not in IBSI (pyradiomics' shape2D {pyradiomics}); with non_ibsi_features")
    for key, name, unit, formula, pyradiomics in (
        ("perimeter_2d", "Perimeter (2D)", "mm", "P = sum of the contour segment lengths", "Perimeter"),
        ("mesh_surface_2d", "Surface (mesh, 2D)", "mm^2", "S = signed area enclosed by the contour", "MeshSurface"),
        ("pixel_surface_2d", "Surface (pixel counting, 2D)", "mm^2", "N_pixels * pixel area", "PixelSurface"),
        ("perimeter_surface_ratio_2d", "Perimeter to surface ratio (2D)", "mm^-1", "P / S",
         "PerimeterSurfaceRatio"),
        ("sphericity_2d", "Sphericity (2D)", "1", "2 sqrt(pi S) / P", "Sphericity"),
        ("spherical_disproportion_2d", "Spherical disproportion (2D)", "1", "P / (2 sqrt(pi S))",
         "SphericalDisproportion"),
        ("maximum_diameter_2d", "Maximum diameter (2D)", "mm", "largest distance between two contour vertices",
         "MaximumDiameter"),
        ("major_axis_length_2d", "Major axis length (2D)", "mm",
         "4 sqrt(lambda_major), population covariance of the pixel centres", "MajorAxisLength"),
        ("minor_axis_length_2d", "Minor axis length (2D)", "mm", "4 sqrt(lambda_minor)", "MinorAxisLength"),
        ("elongation_2d", "Elongation (2D)", "1", "sqrt(lambda_minor / lambda_major)", "Elongation"))])
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
FLAT_VOXEL_CENTRES = "undefined: morphological-mask voxel centres are coplanar (least axis 0)"
SINGLE_MORPHOLOGICAL_VOXEL = surface.SINGLE_MORPHOLOGICAL_VOXEL


def moran_geary_skipped_status(n_voxels: int, max_voxels: int) -> str:
    """Status of Moran's I and Geary's C when the intensity mask exceeds ``max_voxels_moran``."""
    return (f"skipped: ROI of {n_voxels} voxels exceeds max_voxels_moran ({max_voxels}); "
            "raise features.morphology.max_voxels_moran (or set it to null) to compute Moran's I "
            "and Geary's C, at the cost stated in radiomix.spec.MorphologySettings")


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
        One value per IBSI feature of the family (those of
        ``settings.ibsi_features``) in registry order, then those of
        ``settings.non_ibsi_features``; aggregation ``""``.

    Raises
    ------
    EmptyRoiError
        The morphological mask holds no voxel.
    """
    del dimensions
    morphological = surface.check_mask(roi.morphological_mask)
    intensity_mask = np.asarray(roi.intensity_mask, dtype=bool)
    spacing = tuple(float(s) for s in roi.spacing)
    values, mesh, eigenvalues = surface.shape_features(morphological, spacing, settings)
    volume, area = mesh.volume, mesh.area
    wanted = FEATURE_KEYS if settings.ibsi_features is None else settings.ibsi_features

    def put(key, value, status=""):
        values[key] = (float(value), status) if not status else (math.nan, status)

    intensity_keys = {"centre_of_mass_shift", "integrated_intensity", "morans_i", "gearys_c"} & set(wanted)
    intensities = np.asarray(roi.intensity, dtype=np.float64)[intensity_mask] if intensity_keys else None
    if not intensity_keys:
        pass
    elif len(intensities) == 0:
        for key in ("centre_of_mass_shift", "integrated_intensity", "morans_i", "gearys_c"):
            put(key, math.nan, EMPTY_INTENSITY_MASK)
    else:
        total = float(intensities.sum())
        if total == 0.0:
            put("centre_of_mass_shift", math.nan, ZERO_INTENSITY_SUM)
        else:
            morphological_positions = surface.voxel_positions(morphological, spacing)
            intensity_positions = surface.voxel_positions(intensity_mask, spacing)
            weighted_centre = intensities @ intensity_positions / total
            put("centre_of_mass_shift",
                np.linalg.norm(morphological_positions.mean(axis=0) - weighted_centre))
        put("integrated_intensity", volume * float(intensities.mean()))
        if len(intensities) < 2:
            put("morans_i", math.nan, SINGLE_INTENSITY_VOXEL)
            put("gearys_c", math.nan, SINGLE_INTENSITY_VOXEL)
        elif not {"morans_i", "gearys_c"} & set(wanted):
            pass
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
    if {"volume_density_aabb", "area_density_aabb"} & set(wanted):
        aabb_sides = vertices.max(axis=0) - vertices.min(axis=0)
        put("volume_density_aabb", volume / float(np.prod(aabb_sides)))
        put("area_density_aabb", area / box_surface_area(aabb_sides))

    if {"volume_density_ombb", "area_density_ombb", "volume_density_mvee", "area_density_mvee",
            "volume_density_convex_hull", "area_density_convex_hull"} & set(wanted):
        hull = ConvexHull(vertices)
        hull_vertices = vertices[hull.vertices]
        ombb_sides, _ = oriented_minimum_bounding_box(hull_vertices)
        put("volume_density_ombb", volume / float(np.prod(ombb_sides)))
        put("area_density_ombb", area / box_surface_area(ombb_sides))

        mvee_semi_axes, _, _ = minimum_volume_enclosing_ellipsoid(
            hull_vertices, MVEE_TOLERANCE, MVEE_MAX_ITERATIONS)
        put("volume_density_mvee", 3.0 * volume / (4.0 * math.pi * float(np.prod(mvee_semi_axes))))
        put("area_density_mvee", area / ellipsoid_surface_area(mvee_semi_axes))

        put("volume_density_convex_hull", volume / hull.volume)
        put("area_density_convex_hull", area / hull.area)

    keys = tuple(key for key in FEATURE_KEYS if key in wanted) + tuple(
        key for key in NON_IBSI_KEYS if key in settings.non_ibsi_features)
    return [FeatureValue(key, "", *values[key]) for key in keys]
