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

Convex hull: the mesh vertices that can be hull vertices
(:func:`~radiomix.features.marching_cubes.hull_candidates`), whose hull's volume
and area come from exact lattice predicates
(:func:`~radiomix.features.marching_cubes.lattice_hull_volume_and_area`; from
qhull above :data:`LATTICE_HULL_MAX_POINTS` candidates).

Moran's I and Geary's C: :mod:`radiomix.features.spatial_autocorrelation`
(exact pair sums or FFT convolution, whichever is cheaper), bounded by
``max_voxels_moran`` (:class:`~radiomix.spec.MorphologySettings`). Oriented
minimum bounding box and minimum volume enclosing ellipsoid:
:mod:`radiomix.features.geometry`; IBSI-1 gives their four densities no
reference value, so they are computed only on request
(``unreferenced_ibsi_features``, or by name in ``ibsi_features``), and their
kernels are not compiled otherwise.
"""

from __future__ import annotations

import math
import typing

import numpy as np

from radiomix.features import marching_cubes, registry, surface
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
from radiomix.spec import MorphologySettings, UnreferencedMorphologyFeature

FAMILY = "morphology"

FEATURE_KEYS = registry.keys(FAMILY, ibsi=True)
"""The IBSI features."""
UNREFERENCED_KEYS = typing.get_args(UnreferencedMorphologyFeature)
"""IBSI features without an IBSI-1 reference value (oriented minimum bounding box, minimum volume enclosing
ellipsoid): computed only when :attr:`MorphologySettings.unreferenced_ibsi_features` or ``ibsi_features`` names
them."""
DEFAULT_KEYS = tuple(key for key in FEATURE_KEYS if key not in UNREFERENCED_KEYS)
"""The IBSI features computed when :attr:`MorphologySettings.ibsi_features` is None."""
NON_IBSI_KEYS = registry.keys(FAMILY, ibsi=False)
"""Features computed only when :attr:`MorphologySettings.non_ibsi_features` names them."""

EMPTY_INTENSITY_MASK = "undefined: empty intensity mask"
SINGLE_INTENSITY_VOXEL = "undefined: fewer than two voxels in the intensity mask"
CONSTANT_INTENSITY = "undefined: constant intensity in the intensity mask"
ZERO_INTENSITY_SUM = "undefined: intensities of the intensity mask sum to zero"
FLAT_VOXEL_CENTRES = "undefined: morphological-mask voxel centres are coplanar (least axis 0)"
FLAT_MESH = "undefined: the mesh's vertices are coplanar (no convex hull volume)"
LATTICE_HULL_MAX_POINTS = 2000
"""Hull candidates up to which the convex hull's volume and area come from the exact lattice hull
(:func:`~radiomix.features.marching_cubes.lattice_hull_volume_and_area`), above which from qhull: measured on
ellipsoids at 1 mm, 628 candidates 0.9 ms against qhull's 2.2 ms, 1,712: 7.8 and 8.7 ms, 2,844: 17 and 15 ms (the
real PET at 2 mm: 228, the CT phantom: 341). The two agree to about 1e-15 relative."""
SINGLE_MORPHOLOGICAL_VOXEL = surface.SINGLE_MORPHOLOGICAL_VOXEL


def moran_geary_skipped_status(n_voxels: int, max_voxels: int) -> str:
    """Status of Moran's I and Geary's C when the intensity mask exceeds ``max_voxels_moran``."""
    return (f"skipped: ROI of {n_voxels} voxels exceeds max_voxels_moran ({max_voxels}); "
            "raise features.morphology.max_voxels_moran (or set it to null) to compute Moran's I "
            "and Geary's C, at the cost stated in radiomix.spec.MorphologySettings")


def wanted_keys(settings: MorphologySettings) -> tuple[str, ...]:
    """The IBSI features ``settings`` asks for, in registry order.

    ``ibsi_features`` (None: :data:`DEFAULT_KEYS`) and ``unreferenced_ibsi_features`` together.
    """
    chosen = set(DEFAULT_KEYS if settings.ibsi_features is None else settings.ibsi_features)
    chosen.update(settings.unreferenced_ibsi_features)
    return tuple(key for key in FEATURE_KEYS if key in chosen)


def compute(roi: RoiImage, settings: MorphologySettings, dimensions: tuple[str, ...]) -> list[FeatureValue]:
    """The IBSI-1 morphological features of ``roi`` that ``settings`` asks for (3D; ``dimensions`` is ignored).

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
        One value per IBSI feature of the family that ``settings`` asks for
        (:func:`wanted_keys`) in registry order, then those of
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
    wanted = wanted_keys(settings)
    # the voxel positions, found once for the axis features and the centre of mass shift
    morphological_positions = surface.voxel_positions(morphological, spacing)
    values, mesh, eigenvalues = surface.shape_features(morphological, spacing, settings, morphological_positions)
    volume, area = mesh.volume, mesh.area

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
            intensity_positions = morphological_positions if np.array_equal(intensity_mask, morphological) \
                else surface.voxel_positions(intensity_mask, spacing)  # equal unless re-segmented
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
        # by column: max and min over the short axis of (n, 3) take 10x longer (0.18 ms for the PET's mesh)
        aabb_sides = np.array([vertices[:, axis].max() - vertices[:, axis].min() for axis in range(3)])
        put("volume_density_aabb", volume / float(np.prod(aabb_sides)))
        put("area_density_aabb", area / box_surface_area(aabb_sides))

    if {"volume_density_ombb", "area_density_ombb", "volume_density_mvee", "area_density_mvee",
            "volume_density_convex_hull", "area_density_convex_hull"} & set(wanted):
        # the hull of the line ends that are vertices of their planes' hulls: the same polytope as the mesh's,
        # from 5-20x fewer points; its volume and area from exact lattice predicates, 5x quicker than qhull
        hull_points, hull_grid = marching_cubes.hull_candidates(mesh.edge_vertices, mesh.grid)
        from scipy.spatial import ConvexHull  # here, not with the module: pyradiomics' shape never needs it (~12 MiB)
        if {"volume_density_ombb", "area_density_ombb", "volume_density_mvee", "area_density_mvee"} & set(wanted):
            hull = ConvexHull(hull_points)
            hull_vertices = hull_points[hull.vertices]
        if {"volume_density_ombb", "area_density_ombb"} & set(wanted):
            ombb_sides, _ = oriented_minimum_bounding_box(hull_vertices)
            put("volume_density_ombb", volume / float(np.prod(ombb_sides)))
            put("area_density_ombb", area / box_surface_area(ombb_sides))

        if {"volume_density_mvee", "area_density_mvee"} & set(wanted):
            mvee_semi_axes, _, _ = minimum_volume_enclosing_ellipsoid(
                hull_vertices, MVEE_TOLERANCE, MVEE_MAX_ITERATIONS)
            put("volume_density_mvee", 3.0 * volume / (4.0 * math.pi * float(np.prod(mvee_semi_axes))))
            put("area_density_mvee", area / ellipsoid_surface_area(mvee_semi_axes))

        if len(hull_grid) <= LATTICE_HULL_MAX_POINTS:
            hull_volume, hull_area = marching_cubes.lattice_hull_volume_and_area(hull_grid, np.asarray(spacing) * 0.5)
        else:  # the lattice hull's cost grows as points x faces: qhull is quicker on large ROIs
            hull = ConvexHull(hull_points)
            hull_volume, hull_area = hull.volume, hull.area
        if math.isnan(hull_volume):
            put("volume_density_convex_hull", math.nan, FLAT_MESH)
            put("area_density_convex_hull", math.nan, FLAT_MESH)
        else:
            put("volume_density_convex_hull", volume / hull_volume)
            put("area_density_convex_hull", area / hull_area)

    keys = wanted + tuple(
        key for key in NON_IBSI_KEYS if key in settings.non_ibsi_features)
    return [FeatureValue(key, "", *values[key]) for key in keys]
