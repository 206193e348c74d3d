"""Typed, frozen extraction settings and their loader.

A spec is a YAML file (read with ``yaml.safe_load``, refusing duplicate keys: :mod:`radiomix.safe_yaml`),
a dict, or a :class:`Spec`.
Every setting has one canonical name and one default, declared once below.
Unknown or misspelled keys are :class:`~radiomix.errors.SpecError` with a
"did you mean" suggestion; values are checked against their declared type.

Example (``feature_specs/ibsi/digital_phantom.yaml``)::

    discretisation:
      method: none
    texture:
      dimensions: [2D, 2.5D, 3D]
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import yaml

from radiomix.errors import SpecError
from radiomix.preprocess.filters.settings import FilterSettings, filter_to_dict, parse_filters
from radiomix.pyradiomics.params import PyradiomicsSpec, is_pyradiomics_parameters, load_pyradiomics_spec
from radiomix.safe_yaml import load_yaml

DiscretisationMethod = Literal["none", "fixed_bin_size", "fixed_bin_number"]
Dimension = Literal["2D", "2.5D", "3D"]


@dataclass(frozen=True)
class MaskSettings:
    """Checks applied to the ROI before extraction.

    Attributes
    ----------
    min_roi_voxels : int
        Smallest accepted number of ROI voxels; fewer is a ``RoiTooSmallError``.
    geometry_tolerance_mm : float
        Largest accepted difference (mm) between image and mask origins, and
        between their voxel sizes, before a ``GeometryMismatchError``.
    """

    min_roi_voxels: int = 1
    geometry_tolerance_mm: float = 1e-3


IntensityConversion = Literal["none", "hu", "suv"]
Normalisation = Literal["none", "zscore", "percentile"]
NormalisationRegion = Literal["roi", "body"]


@dataclass(frozen=True)
class IntensitySettings:
    """Modality intensity handling before the IBSI chain (cohort runs).

    Applied by the cohort pipeline's ``preprocess`` stage
    (:func:`radiomix.cohort.case.preprocess`), which knows each case's PET
    parameters; :func:`radiomix.extract_features` itself starts from the
    intensities it is given. Order: conversion, bias-field correction,
    normalisation.

    Attributes
    ----------
    conversion : {"none", "hu", "suv"}
        ``hu``: CT checked to be in Hounsfield units; ``suv``: PET converted
        to body-weight SUV (g/ml) from its DICOM header or the manifest's
        ``weight_kg``, ``injected_dose_bq``, ``injection_time``,
        ``series_time`` and ``half_life_s``.
    bias_field_correction : bool
        N4 bias-field correction (MR), within the body mask.
    normalisation : {"none", "zscore", "percentile"}
        MR intensity normalisation: z-score, or the percentiles mapped to 0 and 1.
    normalisation_region : {"roi", "body"}
        Where the normalisation statistics are taken.
    percentiles : tuple of float
        ``[low, high]`` (0-100) for ``percentile``.
    """

    conversion: IntensityConversion = "none"
    bias_field_correction: bool = False
    normalisation: Normalisation = "none"
    normalisation_region: NormalisationRegion = "body"
    percentiles: tuple[float, float] = (1.0, 99.0)


ImageInterpolation = Literal["nearest", "linear", "cubic"]
MaskInterpolation = Literal["nearest", "linear"]


@dataclass(frozen=True)
class InterpolationSettings:
    """Interpolation to a new voxel size (IBSI-1 "interpolation").

    The new grid has ``ceil(n * old / new)`` voxels per axis and is centred on
    the original grid; intensities beyond the original grid take the nearest
    boundary value. Images and masks are interpolated as 64-bit floats.

    Attributes
    ----------
    spacing_mm : tuple of float or None
        New voxel size in mm, ``[x, y, z]`` (3D interpolation) or ``[x, y]``
        (in-plane only, slice thickness kept); ``null``: no interpolation.
    image_method : {"nearest", "linear", "cubic"}
        Image interpolation: nearest neighbour, (tri/bi)linear, or cubic
        B-spline.
    mask_method : {"nearest", "linear"}
        Mask interpolation; ``linear`` is followed by the partial-volume threshold.
    mask_threshold : float
        A voxel belongs to the interpolated ROI when its interpolated mask
        value is at least this (IBSI: 0.5).
    round_intensities : bool
        Round interpolated intensities to the nearest integer (IBSI, for CT).
    """

    spacing_mm: tuple[float, ...] | None = None
    image_method: ImageInterpolation = "linear"
    mask_method: MaskInterpolation = "linear"
    mask_threshold: float = 0.5
    round_intensities: bool = False


@dataclass(frozen=True)
class ResegmentationSettings:
    """Re-segmentation of the intensity mask (IBSI-1 "re-segmentation").

    Attributes
    ----------
    range : tuple of (float or None)
        ``[low, high]`` intensity range kept in the intensity mask (inclusive);
        ``null`` leaves that side open.
    outlier_sigma : float or None
        Remove voxels outside mean +/- ``outlier_sigma`` standard deviations
        of the ROI intensities (IBSI uses 3); ``null`` disables it. Mean and
        standard deviation come from the whole ROI; with a range, the intensity
        mask keeps the voxels inside both (IBSI: the intersection).
    """

    range: tuple[float | None, float | None] = (None, None)
    outlier_sigma: float | None = None


@dataclass(frozen=True)
class DiscretisationSettings:
    """Intensity discretisation for the intensity histogram and texture families.

    Attributes
    ----------
    method : {"none", "fixed_bin_size", "fixed_bin_number"}
        ``none`` takes the intensities themselves as grey levels (they must be
        integers >= 1, as in the IBSI digital phantom).
    bin_width : float or None
        Bin width in intensity units, for ``fixed_bin_size``.
    n_bins : int or None
        Number of bins, for ``fixed_bin_number``.
    lower_bound : float or None
        Lower edge of the first bin for ``fixed_bin_size``; ``null`` takes the
        lower bound of the re-segmentation range when set, else the ROI
        minimum (IBSI-1).
    """

    method: DiscretisationMethod = "fixed_bin_number"
    bin_width: float | None = None
    n_bins: int | None = 32
    lower_bound: float | None = None


@dataclass(frozen=True)
class TextureSettings:
    """Which texture aggregations to compute.

    Attributes
    ----------
    dimensions : tuple of {"2D", "2.5D", "3D"}
        2D: per slice (axis z); 2.5D: slices merged; 3D: the volume.
    """

    dimensions: tuple[Dimension, ...] = ("3D",)


@dataclass(frozen=True)
class MorphologySettings:
    """Morphological features.

    Attributes
    ----------
    max_voxels_moran : int or None
        Largest intensity mask (voxels) for which Moran's I and Geary's C,
        sums over every voxel pair, are computed; above it both are NaN with
        a ``skipped: ROI of N voxels exceeds max_voxels_moran`` status.
        ``null``: no bound. Both are exact (pair sums below about 5,000
        voxels, FFT convolution above, see
        :mod:`radiomix.features.spatial_autocorrelation`); the FFT's cost
        grows with the ROI's bounding box: on 2 cores about 0.3 s for
        50,000 voxels, 5 s and 1.5 GB for a 1.6-million-voxel ball. The
        default, 2 million, bounds one extraction to about 15 s and 2 GB.
    """

    max_voxels_moran: int | None = 2_000_000


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
    """Intensity-based statistical features (no settings)."""


@dataclass(frozen=True)
class HistogramSettings:
    """Intensity histogram features (no settings; bins from ``discretisation``)."""


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


DegenerateMatrixConvention = Literal["radiomix", "mirp"]


@dataclass(frozen=True)
class GlcmSettings:
    """Grey level co-occurrence matrix.

    Attributes
    ----------
    distance : int
        Chebyshev distance (voxels) between the voxel pairs counted.
    symmetric : bool
        Count each pair in both orders (IBSI: symmetric).
    degenerate_matrices : {"radiomix", "mirp"}
        Values of the features IBSI leaves open for a non-empty matrix whose
        pairs all join equal grey levels. ``radiomix``: correlation and
        information correlation 1 (0/0) are NaN and left out of averages such
        as ``2D, averaged``; inverse variance (an empty sum) is 0 and counted.
        ``mirp``: correlation and information correlation 1 are 1 and counted;
        inverse variance is NaN and left out. See docs/ibsi.md.
    """

    distance: int = 1
    symmetric: bool = True
    degenerate_matrices: DegenerateMatrixConvention = "radiomix"


@dataclass(frozen=True)
class GlrlmSettings:
    """Grey level run length matrix (no settings)."""


@dataclass(frozen=True)
class ZoneSettings:
    """Grey level size zone / distance zone matrices.

    Attributes
    ----------
    linkage_distance : int
        Chebyshev distance (voxels) within which same-level voxels form one
        zone; 1 gives 26-connectivity in 3D and 8-connectivity in 2D.
    """

    linkage_distance: int = 1


@dataclass(frozen=True)
class NgtdmSettings:
    """Neighbourhood grey tone difference matrix.

    Attributes
    ----------
    distance : int
        Chebyshev radius (voxels) of the neighbourhood.
    """

    distance: int = 1


@dataclass(frozen=True)
class NgldmSettings:
    """Neighbouring grey level dependence matrix.

    Attributes
    ----------
    distance : int
        Chebyshev radius (voxels) of the neighbourhood.
    alpha : float
        Coarseness: a neighbour depends on the centre when
        ``|level difference| <= alpha``.
    """

    distance: int = 1
    alpha: float = 0.0


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
    if spacing is not None and (len(spacing) not in (2, 3) or min(spacing) <= 0):
        raise SpecError("interpolation.spacing_mm must be [x, y] (in-plane) or [x, y, z], in mm, all positive")
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
    where = "spec"
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        where = str(path)
        try:
            data = load_yaml(path.read_text())
        except OSError as exc:
            raise SpecError(f"{path}: cannot read spec file ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML ({exc})") from exc
        data = {} if data is None else data
    else:
        data = spec
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: a spec must be a mapping of settings, got {type(data).__name__}")
    if is_pyradiomics_parameters(data):
        return load_pyradiomics_spec(spec if isinstance(spec, (str, Path)) else data)
    try:
        return build_settings(Spec, data, where)
    except SpecError as exc:
        if where != "spec" and not str(exc).startswith(where):
            raise SpecError(f"{where}: {exc}") from None
        raise


def build_settings(cls, data: Mapping, where: str):
    """Build the settings dataclass ``cls`` from ``data``, rejecting unknown keys with a suggestion.

    Every typed settings object of radiomix (specs, filters, registration,
    evaluation) is built by this one function; ``where`` names the place in
    error messages.
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: expected a mapping of settings, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(fields)}"
        raise SpecError(f"{where}: unknown setting {key!r}{hint}")
    kwargs = {}
    if cls is FeatureSettings:
        kwargs = {name: None for name in fields}  # listed families only
    for key, value in data.items():
        if cls is Spec and key == "filters":
            kwargs[key] = parse_filters(value, f"{where}.filters")
        else:
            kwargs[key] = _coerce(hints[key], value, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _coerce(tp, value, where: str):
    """Check ``value`` against type annotation ``tp`` and convert it."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(inner[0], value, where)
        raise SpecError(f"{where}: unsupported annotation {tp}")
    if dataclasses.is_dataclass(tp):
        return build_settings(tp, {} if value is None else value, where)
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"{where}: {value!r} is not one of {list(args)}{hint}")
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SpecError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpecError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected text, got {value!r}")
        return value
    raise SpecError(f"{where}: unsupported annotation {tp}")

