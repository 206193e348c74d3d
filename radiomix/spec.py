"""Typed, frozen extraction settings and their loader.

A spec is a YAML file (read with ``yaml.safe_load``, refusing duplicate keys: :mod:`radiomix.safe_yaml`),
a dict, or a :class:`Spec`.
Every setting has one canonical name and one default, declared once: the feature
families' settings below; the mask checks (:class:`MaskSettings`, in
:mod:`radiomix.io.validation`), the processing steps before the features
(:mod:`radiomix.preprocess.settings`) and the filters
(:mod:`radiomix.preprocess.filters.settings`) next to the code that uses them,
and importable from here too. :func:`~radiomix.typed_settings.build_settings`
builds them: unknown or misspelled keys are :class:`~radiomix.errors.SpecError`
with a "did you mean" suggestion; values are checked against their declared type.

Example (``feature_specs/ibsi/digital_phantom.yaml``)::

    discretisation:
      method: none
    texture:
      dimensions: [2D, 2.5D, 3D]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from radiomix.errors import SpecError
from radiomix.io.validation import MaskSettings
from radiomix.preprocess.filters.settings import FilterSettings, filter_to_dict, parse_filters
from radiomix.preprocess.settings import (
    DiscretisationMethod,
    DiscretisationSettings,
    IntensitySettings,
    InterpolationSettings,
    ResegmentationSettings,
)
from radiomix.pyradiomics.params import PyradiomicsSpec, is_pyradiomics_parameters, load_pyradiomics_spec
from radiomix.typed_settings import build_settings, read_settings_file

Dimension = Literal["2D", "2.5D", "3D"]


@dataclass(frozen=True)
class TextureSettings:
    """Which texture aggregations to compute.

    Attributes
    ----------
    dimensions : tuple of {"2D", "2.5D", "3D"}
        2D: per slice (axis z); 2.5D: slices merged; 3D: the volume.
    """

    dimensions: tuple[Dimension, ...] = ("3D",)


HistogramFeature = Literal[
    "mean", "variance", "skewness", "kurtosis", "median", "minimum", "percentile_10", "percentile_90", "maximum",
    "mode", "interquartile_range", "range", "mean_absolute_deviation", "robust_mean_absolute_deviation",
    "median_absolute_deviation", "coefficient_of_variation", "quartile_coefficient_of_dispersion", "entropy",
    "uniformity", "maximum_gradient", "maximum_gradient_intensity", "minimum_gradient", "minimum_gradient_intensity"]
"""Keys of the intensity histogram family's features (:attr:`HistogramSettings.ibsi_features`)."""

MorphologyFeature = Literal[
    "volume_mesh", "volume_voxel_counting", "surface_area_mesh", "surface_to_volume_ratio", "compactness_1",
    "compactness_2", "spherical_disproportion", "sphericity", "asphericity", "centre_of_mass_shift",
    "maximum_3d_diameter", "major_axis_length", "minor_axis_length", "least_axis_length", "elongation", "flatness",
    "volume_density_aabb", "area_density_aabb", "volume_density_ombb", "area_density_ombb", "volume_density_aee",
    "area_density_aee", "volume_density_mvee", "area_density_mvee", "volume_density_convex_hull",
    "area_density_convex_hull", "integrated_intensity", "morans_i", "gearys_c"]
"""Keys of the morphology family's IBSI features (:attr:`MorphologySettings.ibsi_features`)."""

UnreferencedMorphologyFeature = Literal[
    "volume_density_ombb", "area_density_ombb", "volume_density_mvee", "area_density_mvee"]
"""The morphology family's IBSI features without an IBSI-1 reference value, computed on request only
(:attr:`MorphologySettings.unreferenced_ibsi_features`)."""


@dataclass(frozen=True)
class MorphologySettings:
    """Morphological features.

    Attributes
    ----------
    max_voxels_moran : int or None
        Largest intensity mask (voxels) for which Moran's I and Geary's C,
        sums over every voxel pair, are computed; above it both are NaN with
        a ``skipped: ROI of N voxels exceeds max_voxels_moran`` status.
        ``null``: no bound. Both are exact (pair sums for small ROIs, FFT
        convolution from about 800 voxels of a compact ROI, chosen by a
        time model, see :mod:`radiomix.features.spatial_autocorrelation`);
        the FFT's cost grows with the ROI's bounding box: on 2 cores about
        0.03-0.06 s for 46,000 voxels, 1-2 s and 0.8 GB for a 1.6-million-voxel
        ball. The default, 2 million, bounds one extraction to a few seconds
        and about 1 GB.
    mesh : {"lewiner", "pyradiomics"}
        The surface mesh of the morphological mask. ``lewiner`` (IBSI):
        scikit-image's marching cubes (Lewiner), closed and outward-wound,
        volume summed about the vertices' centroid. ``pyradiomics``:
        pyradiomics' marching cubes (the classic table's first 128 cases, a
        cube with its last corner inside triangulated as its complement with
        a negative volume sign), volume summed about the origin of the ROI's
        bounding box padded by one voxel
        (:mod:`radiomix.features.marching_cubes`). Both put the vertices at
        the midpoints of the grid edges crossing the surface.
    axis_covariance : {"sample", "population"}
        Covariance of the voxel-centre positions whose eigenvalues give the
        axis lengths, elongation and flatness (and the approximate enclosing
        ellipsoid): ``sample`` (IBSI, divided by N - 1; eigenvalues below
        1e-10 of the largest are 0; fewer than two voxels: undefined) or
        ``population`` (pyradiomics, divided by N; eigenvalues in
        (-1e-10, 0) are 0, other negative ones make their features NaN).
    non_ibsi_features : tuple of str
        Features outside IBSI to add. ``maximum_2d_diameter_slice``,
        ``_column``, ``_row`` (pyradiomics' Maximum2DDiameterSlice, Column,
        Row): the largest distance (mm) between two mesh vertices with the
        same z, the same y, the same x coordinate. The 2D features of a
        single-slice ROI (pyradiomics' shape2D, on its marching-squares
        contour, :mod:`radiomix.features.marching_squares`):
        ``perimeter_2d``, ``mesh_surface_2d``, ``pixel_surface_2d``,
        ``perimeter_surface_ratio_2d``, ``sphericity_2d``,
        ``spherical_disproportion_2d``, ``maximum_diameter_2d``,
        ``major_axis_length_2d``, ``minor_axis_length_2d``,
        ``elongation_2d`` (NaN when the ROI spans more than one slice along
        ``slice_axis``).
    slice_axis : {0, 1, 2}
        The array axis (0 = z, 1 = y, 2 = x) across which a single-slice ROI
        lies, for the 2D features (pyradiomics' ``force2Ddimension``).
    ibsi_features : tuple of str or None
        The IBSI features to compute, by key (``volume_mesh``, ...,
        ``gearys_c``); ``null``: all of them but the four of
        ``unreferenced_ibsi_features``, which are computed when named here or
        there. Leaving out the bounding volumes (convex hull) and Moran's I /
        Geary's C saves their cost (pyradiomics' shape class needs none of them).
    unreferenced_ibsi_features : tuple of str
        IBSI features without an IBSI-1 reference value, computed only when
        named (here or in ``ibsi_features``), as MIRP computes them only when
        not IBSI-compliant: ``volume_density_ombb``, ``area_density_ombb``
        (oriented minimum bounding box, :func:`radiomix.features.geometry.oriented_minimum_bounding_box`),
        ``volume_density_mvee``, ``area_density_mvee`` (minimum volume
        enclosing ellipsoid). Default: none. Their cost, measured warm on the
        shared 2-core machine: the box 13-15 ms per ROI (real PET of 555
        voxels, real MR, CT phantom at 2 mm; 38 ms on a large synthetic ROI),
        the ellipsoid 1-2 ms (8 ms); their kernels, compiled only when asked
        for, take 6-9 s (box) and 2 s (ellipsoid) on one core on first use.
    """

    max_voxels_moran: int | None = 2_000_000
    mesh: Literal["lewiner", "pyradiomics"] = "lewiner"
    axis_covariance: Literal["sample", "population"] = "sample"
    non_ibsi_features: tuple[Literal["maximum_2d_diameter_slice", "maximum_2d_diameter_column",
                                     "maximum_2d_diameter_row", "perimeter_2d", "mesh_surface_2d",
                                     "pixel_surface_2d", "perimeter_surface_ratio_2d", "sphericity_2d",
                                     "spherical_disproportion_2d", "maximum_diameter_2d", "major_axis_length_2d",
                                     "minor_axis_length_2d", "elongation_2d"], ...] = ()
    slice_axis: Literal[0, 1, 2] = 0
    ibsi_features: tuple[MorphologyFeature, ...] | None = None
    unreferenced_ibsi_features: tuple[UnreferencedMorphologyFeature, ...] = ()


@dataclass(frozen=True)
class LocalIntensitySettings:
    """Local intensity features.

    Attributes
    ----------
    peak_radius_mm : float
        Radius (mm) of the sphere around a voxel over which the peak is
        averaged; 6.2035 mm gives the IBSI 1 cm^3 sphere.
    """

    peak_radius_mm: float = 6.2035


@dataclass(frozen=True)
class StatisticsSettings:
    """Intensity-based statistical features; the defaults are IBSI's.

    Attributes
    ----------
    kurtosis : {"excess", "non_excess"}
        ``excess`` (IBSI): ``m4 / m2^2 - 3``; ``non_excess`` (pyradiomics'
        Kurtosis): ``m4 / m2^2``. Either way 0 when the variance is 0.
    voxel_shift : float
        Intensity (intensity units) added to every intensity in the energy,
        root mean square and total energy (pyradiomics' ``voxelArrayShift``);
        IBSI: 0.
    non_ibsi_features : tuple of {"total_energy", "standard_deviation"}
        Features outside IBSI to add: ``total_energy`` (the energy times the
        voxel volume, intensity^2 mm^3; pyradiomics' TotalEnergy) and
        ``standard_deviation`` (square root of the variance, intensity units).
    """

    kurtosis: Literal["excess", "non_excess"] = "excess"
    voxel_shift: float = 0.0
    non_ibsi_features: tuple[Literal["total_energy", "standard_deviation"], ...] = ()


@dataclass(frozen=True)
class HistogramSettings:
    """Intensity histogram features (bins from ``discretisation``); the default is IBSI's.

    Attributes
    ----------
    entropy_epsilon : float
        Added to ``p_i`` inside the logarithm of the entropy (dimensionless):
        IBSI 0; pyradiomics ``numpy.spacing(1)`` (2.2e-16), which makes the
        entropy of a single-level ROI -3.2e-16 instead of 0.
    ibsi_features : tuple of str or None
        The features to compute, by key (``mean``, ..., ``minimum_gradient_intensity``);
        ``null``: all of them. Entropy and uniformity alone skip the distribution
        statistics (pyradiomics' firstorder needs only those two).
    """

    entropy_epsilon: float = 0.0
    ibsi_features: tuple[HistogramFeature, ...] | None = None


@dataclass(frozen=True)
class IvhFeatureSettings:
    """Intensity-volume histogram features and their own discretisation (IBSI-1 IVH).

    Attributes
    ----------
    method : {"none", "fixed_bin_size", "fixed_bin_number"}
        ``none`` uses the intensities as they are (calibrated discrete
        intensities such as CT HU: bin width 1).
    bin_width : float or None
        Bin width for ``fixed_bin_size`` (e.g. 2.5 HU).
    n_bins : int or None
        Number of bins for ``fixed_bin_number`` (e.g. 1000).
    use_resegmentation_range : bool
        Take the intensity range of the fractions from the re-segmentation
        range where it is set (IBSI), rather than from the ROI. Applies to
        ``none`` and ``fixed_bin_size``; ``fixed_bin_number`` always uses the
        ROI's range (IBSI).
    extra_bin_above_range : bool
        ``fixed_bin_size`` only: the total range ``G`` spans one bin more than
        the bins covering ``[X_min, X_max]`` (``ceil((X_max - X_min) / w) + 1``
        bins, MIRP's convention) instead of IBSI's ``[X_min + w/2, X_max - w/2]``.
        See docs/ibsi.md.
    """

    method: DiscretisationMethod = "none"
    bin_width: float | None = None
    n_bins: int | None = None
    use_resegmentation_range: bool = True
    extra_bin_above_range: bool = False


DegenerateMatrixConvention = Literal["radiomix", "mirp", "pyradiomics"]

WeightingNorm = Literal["none", "infinity", "euclidean", "manhattan", "no_weighting"]


@dataclass(frozen=True)
class GlcmSettings:
    """Grey level co-occurrence matrix.

    Attributes
    ----------
    distance : int
        Chebyshev distance (voxels) between the voxel pairs counted.
    symmetric : bool
        Count each pair in both orders (IBSI: symmetric).
    degenerate_matrices : {"radiomix", "mirp", "pyradiomics"}
        Values of the features IBSI leaves open for a non-empty matrix whose
        pairs all join equal grey levels. ``radiomix``: correlation and
        information correlation 1 (0/0) are NaN and left out of averages such
        as ``2D, averaged``; inverse variance (an empty sum) is 0 and counted.
        ``mirp``: correlation and information correlation 1 are 1 and counted;
        inverse variance is NaN and left out. ``pyradiomics``: pyradiomics'
        guard ``eps = 2.2e-16`` (``numpy.spacing(1)``) added inside every
        logarithm and to correlation's denominator, so that correlation is 1
        and both information correlations 0 for a single grey level; inverse
        variance 0 when the discretisation has one level. See docs/ibsi.md.
    offsets : {"ibsi", "pyradiomics"}
        Neighbour offsets. ``ibsi``: the 13 (3D) or 4 (2D) directions at
        ``distance``, aggregated as ``texture.dimensions`` says.
        ``pyradiomics``: every offset whose Chebyshev length is one of
        ``distances`` and that fits in the ROI's bounding box (one of each
        opposite pair), not moving along ``slice_axis`` when that is set;
        one matrix per offset over the whole ROI, features averaged over
        offsets (``3D, averaged``; ``2.5D, direction-merged`` with
        ``slice_axis``), or the offset matrices summed with
        ``weighting_norm`` (``3D, merged`` / ``2.5D, merged``);
        ``texture.dimensions`` is not used.
    distances : tuple of int
        Chebyshev lengths (voxels, >= 1) of the offsets with ``offsets:
        pyradiomics`` (pyradiomics' ``distances``).
    slice_axis : {0, 1, 2} or None
        With ``offsets: pyradiomics``: array axis (z, y, x) along which no
        offset moves (pyradiomics' ``force2D`` with ``force2Ddimension``);
        None: 3D offsets.
    weighting_norm : {"none", "infinity", "euclidean", "manhattan", "no_weighting"}
        With ``offsets: pyradiomics``: ``none`` averages the features of the
        offset matrices; otherwise the matrices are summed, each weighted by
        ``exp(-d^2)`` with ``d`` the offset's length in mm under that norm
        (largest component, Euclidean length, sum of components), or by 1 for
        ``no_weighting`` (pyradiomics' ``weightingNorm``).
    non_ibsi_features : tuple of {"maximal_correlation_coefficient"}
        Features outside IBSI to compute as well: pyradiomics' MCC (one
        eigenvalue problem per matrix, the costliest GLCM feature).
    """

    distance: int = 1
    symmetric: bool = True
    degenerate_matrices: DegenerateMatrixConvention = "radiomix"
    offsets: Literal["ibsi", "pyradiomics"] = "ibsi"
    distances: tuple[int, ...] = (1,)
    slice_axis: Literal[0, 1, 2] | None = None
    weighting_norm: WeightingNorm = "none"
    non_ibsi_features: tuple[Literal["maximal_correlation_coefficient"], ...] = ()

    def __post_init__(self):
        _check_offset_settings("glcm", self)


_PYRADIOMICS_OFFSET_DEFAULTS = {"distances": (1,), "slice_axis": None, "weighting_norm": "none",
                                "undefined_values": "ibsi"}
"""Settings that apply only with ``offsets: pyradiomics``, and their values otherwise."""


def _check_offset_settings(family: str, settings) -> None:
    """Refuse the settings of pyradiomics' offsets (``slice_axis``, ``weighting_norm``, ...) with IBSI offsets."""
    distances = getattr(settings, "distances", (1,))
    if not distances or min(distances) < 1:
        raise SpecError(f"features.{family}.distances must be integers >= 1, got {list(distances)}")
    changed = [name for name, default in _PYRADIOMICS_OFFSET_DEFAULTS.items()
               if getattr(settings, name, default) != default]
    if settings.offsets == "ibsi" and changed:
        raise SpecError(f"features.{family}: {', '.join(changed)} apply only with offsets: pyradiomics "
                        "(offsets: ibsi uses distance and texture.dimensions)")


@dataclass(frozen=True)
class GlrlmSettings:
    """Grey level run length matrix.

    Attributes
    ----------
    offsets : {"ibsi", "pyradiomics"}
        Run directions. ``ibsi``: the 13 (3D) or 4 (2D) directions,
        aggregated as ``texture.dimensions`` says. ``pyradiomics``: the unit
        offsets that fit in the ROI's bounding box (one of each opposite
        pair), not moving along ``slice_axis`` when that is set; one matrix
        per offset over the whole ROI, aggregated as the GLCM's
        (:class:`GlcmSettings`); ``texture.dimensions`` is not used.
    slice_axis : {0, 1, 2} or None
        With ``offsets: pyradiomics``: array axis (z, y, x) along which no
        offset moves (pyradiomics' ``force2D``); None: 3D offsets.
    weighting_norm : {"none", "infinity", "euclidean", "manhattan", "no_weighting"}
        With ``offsets: pyradiomics``: ``none`` averages the features of the
        offset matrices; otherwise the matrices are summed, each weighted by
        the offset's length ``d`` in mm under that norm (not ``exp(-d^2)`` as
        the GLCM), or by 1 for ``no_weighting`` (pyradiomics' ``weightingNorm``).
    undefined_values : {"ibsi", "pyradiomics"}
        ``pyradiomics`` (with ``offsets: pyradiomics``): run entropy with
        ``log2(p + 2.2e-16)``; an offset along which no line of the ROI box
        holds two ROI voxels is emptied (pyradiomics' flat-ROI test), and a
        single matrix without runs gives NaN, run entropy and run length
        variance 0. ``ibsi``: ``log2 p``; empty matrices take no part.
    """

    offsets: Literal["ibsi", "pyradiomics"] = "ibsi"
    slice_axis: Literal[0, 1, 2] | None = None
    weighting_norm: WeightingNorm = "none"
    undefined_values: Literal["ibsi", "pyradiomics"] = "ibsi"

    def __post_init__(self):
        _check_offset_settings("glrlm", self)


@dataclass(frozen=True)
class ZoneSettings:
    """Grey level size zone / distance zone matrices.

    Attributes
    ----------
    linkage_distance : int
        Chebyshev distance (voxels) within which same-level voxels form one
        zone; 1 gives 26-connectivity in 3D and 8-connectivity in 2D.
    slice_axis : {0, 1, 2}
        Array axis (z, y, x) across which 2D and 2.5D zones are split into
        slices (IBSI: 0, z; pyradiomics' ``force2Ddimension``).
    undefined_values : {"ibsi", "pyradiomics"}
        ``pyradiomics``: the zone entropy with ``log2(p + 2.2e-16)``
        (pyradiomics' guard); ``ibsi``: ``log2 p``.
    """

    linkage_distance: int = 1
    slice_axis: Literal[0, 1, 2] = 0
    undefined_values: Literal["ibsi", "pyradiomics"] = "ibsi"


@dataclass(frozen=True)
class NgtdmSettings:
    """Neighbourhood grey tone difference matrix.

    Attributes
    ----------
    distance : int
        Chebyshev radius (voxels) of the neighbourhood (``offsets: ibsi``).
    offsets : {"ibsi", "pyradiomics"}
        ``ibsi``: the neighbourhood of ``distance`` (in-plane for 2D and
        2.5D), aggregated as ``texture.dimensions`` says. ``pyradiomics``:
        the offsets of the Chebyshev shells in ``distances`` that fit in the
        ROI's bounding box, both directions, not moving along ``slice_axis``
        when that is set; one matrix of the whole ROI (``3D``, or ``2.5D``
        with a slice axis); ``texture.dimensions`` is not used.
    distances : tuple of int
        Chebyshev lengths (voxels, >= 1) of the offsets with ``offsets: pyradiomics``.
    slice_axis : {0, 1, 2} or None
        With ``offsets: pyradiomics``: array axis (z, y, x) along which no
        offset moves (pyradiomics' ``force2D``); None: 3D offsets.
    count_isolated_voxels : bool
        ``n_i`` also counts the voxels without any neighbour in the ROI (with
        a difference of 0), as pyradiomics; IBSI leaves them out.
    undefined_values : {"ibsi", "pyradiomics"}
        ``ibsi``: coarseness at most 1e6, busyness NaN when every ``i p_i``
        is equal. ``pyradiomics`` (with ``offsets: pyradiomics``): coarseness
        1e6 only when ``sum p_i s_i = 0``, busyness 0 then.
    """

    distance: int = 1
    offsets: Literal["ibsi", "pyradiomics"] = "ibsi"
    distances: tuple[int, ...] = (1,)
    slice_axis: Literal[0, 1, 2] | None = None
    count_isolated_voxels: bool = False
    undefined_values: Literal["ibsi", "pyradiomics"] = "ibsi"

    def __post_init__(self):
        _check_offset_settings("ngtdm", self)


@dataclass(frozen=True)
class NgldmSettings:
    """Neighbouring grey level dependence matrix.

    Attributes
    ----------
    distance : int
        Chebyshev radius (voxels) of the neighbourhood.
    alpha : float
        Coarseness: a neighbour depends on the centre when
        ``|level difference| <= alpha`` (pyradiomics' GLDM ``gldm_a``).
    offsets : {"ibsi", "pyradiomics"}
        ``ibsi``: the neighbourhood of ``distance``, aggregated as
        ``texture.dimensions`` says. ``pyradiomics`` (pyradiomics' GLDM): the
        offsets of the Chebyshev shells in ``distances`` that fit in the ROI's
        bounding box, both directions, not moving along ``slice_axis`` when
        that is set; one matrix of the whole ROI (``3D``, or ``2.5D`` with a
        slice axis), rows the grey levels present; ``texture.dimensions`` is
        not used.
    distances : tuple of int
        Chebyshev lengths (voxels, >= 1) of the offsets with ``offsets: pyradiomics``.
    slice_axis : {0, 1, 2} or None
        With ``offsets: pyradiomics``: array axis (z, y, x) along which no
        offset moves (pyradiomics' ``force2D``); None: 3D offsets.
    undefined_values : {"ibsi", "pyradiomics"}
        ``pyradiomics`` (with ``offsets: pyradiomics``): dependence count
        entropy with ``log2(p + 2.2e-16)``; ``ibsi``: ``log2 p``.
    """

    distance: int = 1
    alpha: float = 0.0
    offsets: Literal["ibsi", "pyradiomics"] = "ibsi"
    distances: tuple[int, ...] = (1,)
    slice_axis: Literal[0, 1, 2] | None = None
    undefined_values: Literal["ibsi", "pyradiomics"] = "ibsi"

    def __post_init__(self):
        _check_offset_settings("ngldm", self)


@dataclass(frozen=True)
class FeatureSettings:
    """Enabled feature families and their settings; ``null`` disables a family.

    In a YAML spec, listing ``features:`` enables only the families named
    there (with ``{}`` for defaults); omitting ``features:`` enables all.
    """

    morphology: MorphologySettings | None = MorphologySettings()
    local_intensity: LocalIntensitySettings | None = LocalIntensitySettings()
    statistics: StatisticsSettings | None = StatisticsSettings()
    histogram: HistogramSettings | None = HistogramSettings()
    ivh: IvhFeatureSettings | None = IvhFeatureSettings()
    glcm: GlcmSettings | None = GlcmSettings()
    glrlm: GlrlmSettings | None = GlrlmSettings()
    glszm: ZoneSettings | None = ZoneSettings()
    gldzm: ZoneSettings | None = ZoneSettings()
    ngtdm: NgtdmSettings | None = NgtdmSettings()
    ngldm: NgldmSettings | None = NgldmSettings()

    def enabled(self) -> dict[str, object]:
        """The enabled families, in extraction order, with their settings."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Spec:
    """Complete extraction settings (one object per concern).

    Attributes
    ----------
    name, description : str
        Free text, kept in provenance.
    mask, intensity, interpolation, resegmentation, discretisation, texture, features
        See the corresponding settings classes.
    filters : tuple of filter settings
        IBSI-2 filters (:mod:`radiomix.preprocess.filters`), each written in
        YAML as a one-key mapping ``{kind: {settings}}``; every filter adds a
        filtered image type whose features are extracted with the same
        settings as the original image.
    """

    name: str = ""
    description: str = ""
    mask: MaskSettings = MaskSettings()
    intensity: IntensitySettings = IntensitySettings()
    interpolation: InterpolationSettings = InterpolationSettings()
    resegmentation: ResegmentationSettings = ResegmentationSettings()
    discretisation: DiscretisationSettings = DiscretisationSettings()
    texture: TextureSettings = TextureSettings()
    features: FeatureSettings = field(default_factory=FeatureSettings)
    filters: tuple[FilterSettings, ...] = ()

    def __post_init__(self):
        _validate(self)

    def to_dict(self) -> dict:
        """Plain-data form (tuples as lists), loadable by :func:`load_spec`."""
        data = {f.name: dataclasses.asdict(getattr(self, f.name)) if dataclasses.is_dataclass(getattr(self, f.name))
                else getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "filters"}
        data = json.loads(json.dumps(data))
        if self.filters:  # absent when empty, so specs without filters keep their hash
            data["filters"] = [filter_to_dict(settings) for settings in self.filters]
        return data

    def content_hash(self) -> str:
        """SHA-256 (hex, first 16 characters) of the canonical JSON of the settings."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _validate(spec: Spec) -> None:
    """Cross-field checks that a single type annotation cannot express."""
    binnings = [("discretisation", spec.discretisation)]
    if spec.features.ivh is not None:
        binnings.append(("features.ivh", spec.features.ivh))
    for where, settings in binnings:
        if settings.method == "fixed_bin_size" and not (settings.bin_width and settings.bin_width > 0):
            raise SpecError(f"{where}.method is fixed_bin_size: set {where}.bin_width to a positive number")
        if settings.method == "fixed_bin_number" and not (settings.n_bins and settings.n_bins >= 1):
            raise SpecError(f"{where}.method is fixed_bin_number: set {where}.n_bins to a positive integer")
    spacing = spec.interpolation.spacing_mm
    keeps_axes = spec.interpolation.grid == "pyradiomics"  # a 0 spacing keeps that axis' own spacing
    if spacing is not None and (len(spacing) not in (2, 3) or min(spacing) < 0
                                or (min(spacing) == 0 and not keeps_axes)):
        raise SpecError("interpolation.spacing_mm must be [x, y] (in-plane) or [x, y, z], in mm, all positive "
                        "(0 keeps an axis' own spacing with grid: pyradiomics)")
    low_percentile, high_percentile = spec.intensity.percentiles
    if not 0 <= low_percentile < high_percentile <= 100:
        raise SpecError("intensity.percentiles must be [low, high] with 0 <= low < high <= 100")
    if not 0 < spec.interpolation.mask_threshold <= 1:
        raise SpecError("interpolation.mask_threshold must lie in (0, 1] (IBSI uses 0.5)")
    low, high = spec.resegmentation.range
    if low is not None and high is not None and low > high:
        raise SpecError(f"resegmentation.range: lower bound {low} is above upper bound {high}")
    if spec.resegmentation.outlier_sigma is not None and spec.resegmentation.outlier_sigma <= 0:
        raise SpecError("resegmentation.outlier_sigma must be positive (IBSI uses 3)")
    if not spec.texture.dimensions:
        raise SpecError("texture.dimensions is empty: give at least one of 2D, 2.5D, 3D")
    if spec.mask.min_roi_voxels < 1:
        raise SpecError("mask.min_roi_voxels must be at least 1")
    local_intensity = spec.features.local_intensity
    if local_intensity is not None and not local_intensity.peak_radius_mm > 0:
        raise SpecError(f"features.local_intensity.peak_radius_mm must be positive (mm; IBSI's 1 cm^3 sphere: "
                        f"6.2035), got {local_intensity.peak_radius_mm}")
    morphology = spec.features.morphology
    if morphology is not None and morphology.max_voxels_moran is not None and morphology.max_voxels_moran < 2:
        raise SpecError("features.morphology.max_voxels_moran must be at least 2 (or null for no bound)")
    for name, settings in spec.features.enabled().items():
        for attr in ("distance", "linkage_distance"):
            if getattr(settings, attr, 1) < 1:
                raise SpecError(f"features.{name}.{attr} must be at least 1")


def load_spec(spec: str | Path | Mapping | Spec | PyradiomicsSpec) -> Spec | PyradiomicsSpec:
    """Load a spec from a YAML path, a dict, or return a spec object unchanged.

    A pyradiomics parameter file (keys ``imageType``, ``featureClass``,
    ``setting``, ``voxelSetting``; YAML or JSON) gives a
    :class:`~radiomix.pyradiomics.params.PyradiomicsSpec`, which extraction
    runs with pyradiomics' conventions, names and numbers.

    Raises
    ------
    SpecError
        Unknown key (with a suggestion), wrong type, invalid combination, or an
        unreadable file (named in the message).
    """
    if isinstance(spec, (Spec, PyradiomicsSpec)):
        return spec
    where = str(Path(spec)) if isinstance(spec, (str, Path)) else "spec"
    data = read_settings_file(spec, "spec file") if isinstance(spec, (str, Path)) else spec
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: a spec must be a mapping of settings, got {type(data).__name__}")
    if is_pyradiomics_parameters(data):
        return load_pyradiomics_spec(spec if isinstance(spec, (str, Path)) else data)
    try:
        return build_settings(Spec, data, where, parsers=_SPEC_PARSERS)
    except SpecError as exc:
        if where != "spec" and not str(exc).startswith(where):
            raise SpecError(f"{where}: {exc}") from None
        raise


def _listed_families(value, where: str) -> FeatureSettings:
    """A spec's ``features:`` section: only the families listed there are enabled (``{}`` for defaults)."""
    none_enabled = FeatureSettings(**{f.name: None for f in dataclasses.fields(FeatureSettings)})
    return build_settings(FeatureSettings, {} if value is None else value, where, base=none_enabled)


_SPEC_PARSERS = {"features": _listed_families, "filters": parse_filters}
"""Spec sections whose values need more than their annotation: the listed feature families, the filters."""
