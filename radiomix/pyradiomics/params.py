"""pyradiomics parameter files, read and translated into a frozen :class:`PyradiomicsSpec`.

A pyradiomics parameter file is YAML or JSON with up to four sections::

    imageType:            # image types and their own settings (default: Original only)
      Original: {}
      LoG: {sigma: [1.0, 2.0, 3.0]}
      Wavelet: {binWidth: 10}
    featureClass:         # classes and, optionally, the features to compute (default: all)
      firstorder: []
      glcm: [Contrast, Correlation]
    setting:              # settings of the whole extraction
      binWidth: 25
      resampledPixelSpacing: [1, 1, 1]
    voxelSetting: {}      # voxel-based settings (stored, segment-based extraction only)

Every setting pyradiomics knows is a field of :class:`PyradiomicsSettings`, under
pyradiomics' own name, with the value pyradiomics uses when the file leaves it
out, so that the spec says everything the extraction does. Unknown keys are
:class:`~radiomix.errors.SpecError` with a "did you mean" suggestion; asking for
a feature that does not exist names the valid ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from radiomix.errors import SpecError
from radiomix.pyradiomics.mapping import FEATURE_CLASSES, feature_names
from radiomix.typed_settings import (
    build_settings,
    check_choice,
    closest_match,
    coerce,
    read_settings_file,
    reject_unknown_keys,
)

IMAGE_TYPES = ("Original", "LoG", "Wavelet", "Square", "SquareRoot", "Logarithm", "Exponential",
               "Gradient", "LBP2D", "LBP3D")
"""pyradiomics' image types (``imageType`` keys), in pyradiomics' spelling."""

INTERPOLATORS = {
    "sitkNearestNeighbor": 1, "sitkLinear": 2, "sitkBSpline": 3, "sitkGaussian": 4,
    "sitkLabelGaussian": 5, "sitkHammingWindowedSinc": 6, "sitkCosineWindowedSinc": 7,
    "sitkWelchWindowedSinc": 8, "sitkLanczosWindowedSinc": 9, "sitkBlackmanWindowedSinc": 10,
}
"""SimpleITK interpolator names accepted for ``interpolator``, with the integer codes pyradiomics
also accepts (SimpleITK 1.x numbering, in which 3 was the cubic B-spline); the name is kept."""

WEIGHTING_NORMS = ("euclidean", "manhattan", "infinity", "no_weighting")

ResegmentMode = Literal["absolute", "relative", "sigma"]
Lbp2DMethod = Literal["default", "ror", "uniform", "var"]


@dataclass(frozen=True)
class PyradiomicsSettings:
    """Every pyradiomics setting, under its pyradiomics name, with pyradiomics' default.

    The defaults are what pyradiomics' feature extractor does when a parameter
    file leaves a setting out (its extractor defaults, else the default of the
    function that reads the setting).

    Attributes
    ----------
    label : int
        Label value of the ROI in the mask.
    label_channel : int
        Channel of a vector-valued (segmentation) mask holding the ROI.
    additionalInfo : bool
        pyradiomics writes ``diagnostics_*`` provenance columns; radiomix keeps
        provenance apart from the feature table, so this has no effect on it.
    geometryTolerance : float or None
        Largest accepted difference between image and mask origins and
        spacings, as a fraction of the image's first voxel size (also the
        tolerance on the direction cosines). ``None``: ITK's default, 1e-6.
    correctMask : bool
        When image and mask grids differ: resample the mask onto the image grid
        (nearest neighbour) if the ROI lies inside the image (to within 1e-3
        voxel), instead of failing.
    minimumROIDimensions : int
        Least number of axes (1-3) along which the ROI spans more than one
        voxel; a single-voxel ROI always fails.
    minimumROISize : int or None
        The ROI must hold more than this many voxels; ``None`` skips the check.
    normalize : bool
        Normalise the whole image to mean 0 and standard deviation 1 (over all
        voxels, not just the ROI) before anything else.
    normalizeScale : float
        Factor applied after normalisation.
    removeOutliers : float or None
        After normalisation and before scaling, clip intensities to
        ``[-removeOutliers, removeOutliers]`` standard deviations.
    resampledPixelSpacing : tuple of float or None
        New voxel size ``(x, y, z)`` in mm; 0 keeps that axis' spacing. The new
        grid is aligned with the mask's first voxel corner, covers the ROI's
        bounding box plus ``padDistance`` new voxels, and is not resampled
        along an axis on which the ROI spans one voxel. ``None``: no resampling.
    interpolator : str or None
        SimpleITK interpolator of the image (the mask always uses nearest
        neighbour); resampling happens only when both this and
        ``resampledPixelSpacing`` are set. The resampled image keeps the input's
        pixel type.
    padDistance : int
        Voxels kept around the ROI's bounding box when resampling or
        pre-cropping (filters see them); feature classes always see the
        bounding box without padding.
    preCrop : bool
        Without resampling, crop image and mask to the ROI's bounding box plus
        ``padDistance`` before filtering (speed only, but filters then see
        less of the image).
    binWidth : float
        Fixed bin width in intensity units. Bin edges lie at integer multiples
        of ``binWidth``: the first edge is ``min - (min mod binWidth)``, bins are
        half-open ``[edge, edge + binWidth)``, levels count from 1 at the bin
        holding the ROI minimum.
    binCount : int or None
        Fixed bin number instead of ``binWidth``: ``binCount`` equal bins over
        ``[min, max]`` of the ROI, the maximum in the top bin.
    resegmentRange : tuple of float or None
        One (lower) or two (lower, upper) inclusive thresholds applied to the
        ROI after resampling; ``None``: no resegmentation.
    resegmentMode : {"absolute", "relative", "sigma"}
        Thresholds as intensities, as fractions of the ROI maximum, or as
        numbers of (population) standard deviations from the ROI mean.
    resegmentShape : bool
        Compute shape features on the resegmented ROI too (default: shape uses
        the ROI before resegmentation).
    distances : tuple of int
        Neighbour distances (Chebyshev, voxels) of the texture matrices.
    force2D : bool
        Texture (and LBP2D) computed per slice; slices are along
        ``force2Ddimension``.
    force2Ddimension : int
        Array axis (0 = z, 1 = y, 2 = x) across which ``force2D`` slices.
    voxelArrayShift : float
        Added to intensities in firstorder Energy, TotalEnergy and
        RootMeanSquared (pyradiomics' guard against negative intensities).
    symmetricalGLCM : bool
        Count each GLCM pair in both orders.
    weightingNorm : str or None
        Weighting of GLCM/GLRLM direction matrices by the distance between
        neighbours (``euclidean``, ``manhattan``, ``infinity``,
        ``no_weighting``) before summing them into one matrix; ``None`` keeps
        one matrix per direction (features averaged over directions).
    gldm_a : int
        GLDM coarseness: a neighbour depends on the centre when their levels
        differ by at most ``gldm_a``.
    sigma : tuple of float or int
        LoG filter widths in mm (LoG image type); an integer stays an integer,
        as it names the image type differently (``log-sigma-1-mm-3D`` for 1,
        ``log-sigma-1-0-mm-3D`` for 1.0).
    start_level, level : int
        Wavelet decomposition levels: first level kept and number of levels.
    wavelet : str
        PyWavelets wavelet name.
    gradientUseSpacing : bool
        Gradient magnitude in physical units (per mm) rather than per voxel.
    lbp2DRadius : float
        LBP2D sampling radius (pixels).
    lbp2DSamples : int
        LBP2D number of samples.
    lbp2DMethod : {"default", "ror", "uniform", "var"}
        LBP2D pattern method (scikit-image's ``local_binary_pattern``).
    lbp3DLevels : int
        LBP3D number of spherical-harmonic levels.
    lbp3DIcosphereRadius : float
        LBP3D sampling radius (voxels).
    lbp3DIcosphereSubdivision : int
        LBP3D icosphere subdivisions.
    """

    label: int = 1
    label_channel: int = 0
    additionalInfo: bool = True
    geometryTolerance: float | None = None
    correctMask: bool = False
    minimumROIDimensions: int = 2
    minimumROISize: int | None = None
    normalize: bool = False
    normalizeScale: float = 1.0
    removeOutliers: float | None = None
    resampledPixelSpacing: tuple[float, ...] | None = None
    interpolator: str | None = "sitkBSpline"
    padDistance: int = 5
    preCrop: bool = False
    binWidth: float = 25.0
    binCount: int | None = None
    resegmentRange: tuple[float, ...] | None = None
    resegmentMode: ResegmentMode = "absolute"
    resegmentShape: bool = False
    distances: tuple[int, ...] = (1,)
    force2D: bool = False
    force2Ddimension: int = 0
    voxelArrayShift: float = 0.0
    symmetricalGLCM: bool = True
    weightingNorm: str | None = None
    gldm_a: int = 0
    sigma: tuple[float | int, ...] = ()
    start_level: int = 0
    level: int = 1
    wavelet: str = "coif1"
    gradientUseSpacing: bool = True
    lbp2DRadius: float = 1.0
    lbp2DSamples: int = 8
    lbp2DMethod: Lbp2DMethod = "uniform"
    lbp3DLevels: int = 2
    lbp3DIcosphereRadius: float = 1.0
    lbp3DIcosphereSubdivision: int = 1


GLOBAL_ONLY_SETTINGS = frozenset({
    "label", "label_channel", "additionalInfo", "geometryTolerance", "correctMask",
    "minimumROIDimensions", "minimumROISize", "normalize", "normalizeScale", "removeOutliers",
    "resampledPixelSpacing", "interpolator", "padDistance", "preCrop", "resegmentRange",
    "resegmentMode", "resegmentShape",
})
"""Settings that act on the whole extraction (mask, normalisation, resampling,
resegmentation): pyradiomics applies them before any image type, so an image
type cannot override them."""


@dataclass(frozen=True)
class VoxelSettings:
    """pyradiomics' ``voxelSetting`` section (voxel-based extraction).

    radiomix extracts segment-based features only (what pyradiomics'
    extractor does unless ``voxelBased=True`` is passed to ``execute``); these
    settings are validated and kept so that a parameter file round-trips.

    Attributes
    ----------
    kernelRadius : int
        Radius (voxels) of the neighbourhood of each voxel.
    maskedKernel : bool
        Use only ROI voxels inside the neighbourhood.
    initValue : float
        Value of voxels outside the ROI in the feature maps.
    voxelBatch : int
        Voxels per batch; -1: all at once.
    """

    kernelRadius: int = 1
    maskedKernel: bool = True
    initValue: float = 0.0
    voxelBatch: int = -1


@dataclass(frozen=True)
class ImageTypeSpec:
    """One enabled image type and the settings in force for it.

    Attributes
    ----------
    name : str
        pyradiomics' image type name, one of :data:`IMAGE_TYPES`.
    settings : PyradiomicsSettings
        The extraction's settings updated with this image type's own ones
        (e.g. a different ``binWidth`` or the LoG ``sigma`` list).
    overridden : tuple of str
        Names of the settings this image type sets itself.
    """

    name: str
    settings: PyradiomicsSettings
    overridden: tuple[str, ...] = ()


@dataclass(frozen=True)
class PyradiomicsSpec:
    """A pyradiomics parameter file, complete and explicit.

    Attributes
    ----------
    settings : PyradiomicsSettings
        The ``setting`` section with pyradiomics' defaults filled in.
    image_types : tuple of ImageTypeSpec
        Enabled image types in file order (``Original`` alone when the file
        names none).
    feature_classes : tuple of (str, tuple of str)
        Enabled feature classes in file order, each with the features asked
        for; an empty tuple means all of the class' features that pyradiomics
        enables by default (deprecated ones are left out). All classes when the
        file names none.
    voxel_settings : VoxelSettings
        The ``voxelSetting`` section.
    source : str
        Where the parameters came from (file path or ``"dict"``), for messages.
    """

    settings: PyradiomicsSettings = PyradiomicsSettings()
    image_types: tuple[ImageTypeSpec, ...] = (ImageTypeSpec("Original", PyradiomicsSettings()),)
    feature_classes: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
        (name, ()) for name in FEATURE_CLASSES)
    voxel_settings: VoxelSettings = VoxelSettings()
    source: str = "dict"

    def enabled_features(self, feature_class: str) -> tuple[str, ...]:
        """Feature names computed for ``feature_class`` (empty if the class is not enabled)."""
        for name, features in self.feature_classes:
            if name == feature_class:
                return features or feature_names(feature_class, include_deprecated=False)
        return ()

    def to_dict(self) -> dict:
        """The spec as a pyradiomics parameter dict (every setting written out)."""
        def plain(settings, only=None):
            values = dataclasses.asdict(settings)
            keys = values if only is None else only
            return {k: list(values[k]) if isinstance(values[k], tuple) else values[k] for k in keys}

        return {
            "imageType": {it.name: plain(it.settings, it.overridden) for it in self.image_types},
            "featureClass": {name: list(features) for name, features in self.feature_classes},
            "setting": plain(self.settings),
            "voxelSetting": plain(self.voxel_settings),
        }

    def content_hash(self) -> str:
        """SHA-256 (hex, first 16 characters) of the canonical JSON of :meth:`to_dict` (as ``Spec``)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


TOP_LEVEL_KEYS = ("imageType", "featureClass", "setting", "voxelSetting")


def is_pyradiomics_parameters(data) -> bool:
    """True when ``data`` (a mapping) looks like a pyradiomics parameter file."""
    return isinstance(data, Mapping) and bool(set(TOP_LEVEL_KEYS) & set(data))


def read_parameter_file(path: str | Path) -> dict:
    """Read a YAML or JSON pyradiomics parameter file into a dict.

    JSON is a subset of YAML for these files; ``.json`` files are read with
    :mod:`json` so that their errors are reported as JSON errors. YAML is read
    as every radiomix settings file (:func:`radiomix.typed_settings.read_settings_file`):
    a key given twice is an error, not the last value silently kept.

    Raises
    ------
    SpecError
        Unreadable file or invalid YAML/JSON (the message names the file).
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        return read_settings_file(path, "parameter file")
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SpecError(f"{path}: cannot read parameter file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not valid JSON ({exc})") from exc
    return {} if data is None else data


def load_pyradiomics_spec(params: str | Path | Mapping | PyradiomicsSpec) -> PyradiomicsSpec:
    """Translate a pyradiomics parameter file (path, dict or spec) into a :class:`PyradiomicsSpec`.

    Raises
    ------
    SpecError
        Unknown section, setting, image type or feature class (with a
        suggestion), a feature that the class does not have (the valid ones
        are named), or a value of the wrong type or range.
    """
    if isinstance(params, PyradiomicsSpec):
        return params
    source = "dict"
    if isinstance(params, (str, Path)):
        source = str(params)
        params = read_parameter_file(params)
    if not isinstance(params, Mapping):
        raise SpecError(f"{source}: a pyradiomics parameter file is a mapping with sections "
                        f"{', '.join(TOP_LEVEL_KEYS)}; got {type(params).__name__}")
    try:
        return _translate(params, source)
    except SpecError as exc:
        if source != "dict" and not str(exc).startswith(source):
            raise SpecError(f"{source}: {exc}") from None
        raise


def _translate(params: Mapping, source: str) -> PyradiomicsSpec:
    reject_unknown_keys(params, TOP_LEVEL_KEYS, "top level", noun="key")
    settings = build_settings(PyradiomicsSettings, _section(params, "setting"), "setting",
                              parsers=_SETTING_CHECKS, noun="key")
    voxel = build_settings(VoxelSettings, _section(params, "voxelSetting"), "voxelSetting",
                           parsers=_VOXEL_SETTING_CHECKS, noun="key")

    image_types_data = _section(params, "imageType")
    image_types = []
    for name, custom in image_types_data.items():
        _check_choice(name, IMAGE_TYPES, "imageType", "image type")
        custom = {} if custom is None else custom
        image_settings = build_settings(PyradiomicsSettings, custom, f"imageType.{name}", base=settings,
                                        parsers=_IMAGE_TYPE_SETTING_CHECKS, noun="key")
        image_types.append(ImageTypeSpec(name, image_settings, tuple(custom)))
    if not image_types:
        image_types.append(ImageTypeSpec("Original", settings))

    classes_data = _section(params, "featureClass")
    feature_classes = []
    for name, features in classes_data.items():
        _check_choice(name, FEATURE_CLASSES, "featureClass", "feature class")
        if features is None:
            features = []
        if isinstance(features, str) or not isinstance(features, (list, tuple)):
            raise SpecError(f"featureClass.{name}: expected a list of feature names (or [] for all), "
                            f"got {features!r}")
        valid = feature_names(name, include_deprecated=True)
        for feature in features:
            if feature not in valid:
                close = closest_match(feature, valid)
                hint = f"did you mean {close!r}? " if close else ""
                raise SpecError(f"featureClass.{name}: no feature {feature!r} in class {name}; {hint}"
                                f"valid features: {', '.join(valid)}")
        feature_classes.append((name, tuple(features)))
    if not feature_classes:
        feature_classes = [(name, ()) for name in FEATURE_CLASSES]

    return PyradiomicsSpec(settings=settings, image_types=tuple(image_types),
                           feature_classes=tuple(feature_classes), voxel_settings=voxel, source=source)


def _section(params: Mapping, key: str) -> Mapping:
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{key}: expected a mapping, got {value!r}")
    return value


def _check_choice(value, choices, where: str, what: str) -> None:
    if value not in choices:
        close = closest_match(value, choices)
        hint = f"did you mean {close!r}? " if close else ""
        raise SpecError(f"{where}: unknown {what} {value!r}; {hint}valid: {', '.join(choices)}")


def _voxel_batch(value, where):
    """A positive batch size, or -1 (pyradiomics' default: all voxels in one batch)."""
    value = _integer()(value, where)
    if value != -1 and value <= 0:
        raise SpecError(f"{where}: must be positive, or -1 for all voxels at once; got {value!r}")
    return value


def _boolean(value, where):
    return coerce(bool, value, where)


def _integer(minimum=None, maximum=None, minimum_exclusive=None, optional=False):
    def check(value, where):
        if value is None and optional:
            return None
        _check_range(coerce(int, value, where), where, minimum, maximum, minimum_exclusive)
        return value
    return check


def _number(minimum=None, minimum_exclusive=None, optional=False, keep_integers=False):
    """A number check; the value becomes a float unless ``keep_integers`` (then an int stays an int)."""
    def check(value, where):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise SpecError(f"{where}: expected a number, got {value!r}")
        _check_range(value, where, minimum, None, minimum_exclusive)
        return value if keep_integers and isinstance(value, int) else float(value)
    return check


def _check_range(value, where, minimum, maximum, minimum_exclusive):
    if minimum is not None and value < minimum:
        raise SpecError(f"{where}: must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise SpecError(f"{where}: must be at most {maximum}, got {value!r}")
    if minimum_exclusive is not None and value <= minimum_exclusive:
        raise SpecError(f"{where}: must be greater than {minimum_exclusive}, got {value!r}")


def _sequence(item_check, optional=False, lengths=None):
    def check(value, where):
        if value is None and optional:
            return None
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list, got {value!r}")
        if lengths is not None and len(value) not in lengths:
            raise SpecError(f"{where}: expected {' or '.join(map(str, lengths))} values, got {value!r}")
        return tuple(item_check(v, f"{where}[{i}]") for i, v in enumerate(value))
    return check


def _distinct(check_sequence):
    """A sequence check that also rejects repeated values (pyradiomics never finishes on ``distances: [1, 1]``)."""
    def check(value, where):
        values = check_sequence(value, where)
        if len(set(values)) != len(values):
            raise SpecError(f"{where}: repeated values in {list(values)}; give each once")
        return values
    return check


def _choice(choices, optional=False):
    def check(value, where):
        if value is None and optional:
            return None
        return check_choice(value, choices, where)
    return check


def _interpolator(value, where):
    """A SimpleITK interpolator name or code (1-10), returned as the name; ``None`` disables resampling."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        names = {code: name for name, code in INTERPOLATORS.items()}
        if value not in names:
            raise SpecError(f"{where}: interpolator code must be 1-10, got {value}")
        return names[value]
    return _choice(tuple(INTERPOLATORS))(value, where)


def _wavelet(value, where):
    import pywt

    if not isinstance(value, str):
        raise SpecError(f"{where}: expected a PyWavelets wavelet name, got {value!r}")
    return _choice(tuple(pywt.wavelist(kind="discrete")))(value, where)


_SETTING_CHECKS = {
    "label": _integer(minimum_exclusive=0),
    "label_channel": _integer(minimum=0),
    "additionalInfo": _boolean,
    "geometryTolerance": _number(minimum_exclusive=0, optional=True),
    "correctMask": _boolean,
    "minimumROIDimensions": _integer(minimum=1, maximum=3),
    "minimumROISize": _integer(minimum_exclusive=0, optional=True),
    "normalize": _boolean,
    "normalizeScale": _number(minimum_exclusive=0),
    "removeOutliers": _number(minimum_exclusive=0, optional=True),
    "resampledPixelSpacing": _sequence(_number(minimum=0), optional=True),
    "interpolator": _interpolator,
    "padDistance": _integer(minimum=0),
    "preCrop": _boolean,
    "binWidth": _number(minimum_exclusive=0),
    "binCount": _integer(minimum_exclusive=0, optional=True),
    "resegmentRange": _sequence(_number(), optional=True, lengths=(1, 2)),
    "resegmentMode": _choice(("absolute", "relative", "sigma")),
    "resegmentShape": _boolean,
    "distances": _distinct(_sequence(_integer(minimum_exclusive=0))),
    "force2D": _boolean,
    "force2Ddimension": _integer(minimum=0, maximum=2),
    "voxelArrayShift": _number(),
    "symmetricalGLCM": _boolean,
    "weightingNorm": _choice(WEIGHTING_NORMS, optional=True),
    "gldm_a": _integer(minimum=0),
    "sigma": _sequence(_number(minimum_exclusive=0, keep_integers=True)),
    "start_level": _integer(minimum=0),
    "level": _integer(minimum_exclusive=0),
    "wavelet": _wavelet,
    "gradientUseSpacing": _boolean,
    "lbp2DRadius": _number(minimum_exclusive=0),
    "lbp2DSamples": _integer(minimum=1),
    "lbp2DMethod": _choice(("default", "ror", "uniform", "var")),
    "lbp3DLevels": _integer(minimum=1),
    "lbp3DIcosphereRadius": _number(minimum_exclusive=0),
    "lbp3DIcosphereSubdivision": _integer(minimum=0),
}
assert set(_SETTING_CHECKS) == {f.name for f in dataclasses.fields(PyradiomicsSettings)}, \
    "every setting needs exactly one check"


def _global_only(value, where):
    raise SpecError(f"{where}: this setting acts on the whole extraction (pyradiomics applies "
                    "it before the image types, ignoring image-type values); move it to `setting`")


_IMAGE_TYPE_SETTING_CHECKS = {key: _global_only if key in GLOBAL_ONLY_SETTINGS else check
                              for key, check in _SETTING_CHECKS.items()}
"""The checks of an image type's own settings: those of :data:`GLOBAL_ONLY_SETTINGS` are refused."""

_VOXEL_SETTING_CHECKS = {"kernelRadius": _integer(minimum_exclusive=0), "maskedKernel": _boolean,
                         "initValue": _number(), "voxelBatch": _voxel_batch}
