"""Typed, frozen settings of the IBSI-2 convolutional filters, and their names.

One settings class per filter kind; :data:`FILTER_SETTINGS` maps the kind
written in a spec to its class. Besides the IBSI-2 filters, the filters of
pyradiomics' image types are kinds too (``recursive_log``,
``stationary_wavelet``, ``gradient``, ``local_binary_pattern``,
``local_binary_pattern_3d``, ``square``, ``square_root``, ``logarithm``,
``exponential``), each computed with the arithmetic of the library
pyradiomics calls. In a YAML spec a filter is a one-key mapping
``{kind: {settings}}``, for example::

    filters:
      - log: {sigma_mm: 1.5, truncate: 4.0, dimensions: 3D, boundary_condition: mirror}
      - laws: {kernel: L5E5E5, energy_delta: 7, rotation_invariance: true, pooling: max}

:func:`parse_filter` turns such a mapping into a settings object (unknown keys
are errors with a suggestion) and :func:`filter_image_type_name` gives the
self-describing ``image_type`` of its response map.

Conventions shared by every filter
----------------------------------
- Arrays are ``(z, y, x)``; "2D" filters each slice (axis 0) in its ``(y, x)``
  plane, "3D" filters the volume.
- Per-axis parameters given as letters or lists (Laws kernels, wavelet
  sub-bands, Riesz orders) are in the IBSI order ``x, y, z`` (NIfTI ``i, j, k``).
- Boundary conditions say how the image is extended beyond its border:
  ``zero`` (constant 0), ``nearest`` (edge value repeated), ``periodic``
  (wrapped around) and ``mirror`` (reflected about the border, the edge voxel
  repeated: ``... b a | a b ...``).
- Sizes the IBSI-2 standard gives in mm (LoG and Gabor scales and wavelength)
  are in mm here; kernel supports of mean, Laws and wavelet filters are in voxels.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from radiomix.errors import SpecError
from radiomix.typed_settings import build_settings, closest_match

BoundaryCondition = Literal["zero", "nearest", "periodic", "mirror"]
FilterDimension = Literal["2D", "3D"]
PoolingMethod = Literal["max", "mean"]
GaborResponse = Literal["modulus", "real"]
GaborPlanes = Literal["axial", "orthogonal"]

LAWS_KERNELS = ("L5", "E5", "S5", "W5", "R5", "L3", "E3", "S3")
"""The 1D Laws kernels (level, edge, spot, wave, ripple; 5 and 3 taps)."""


def _axis_count(dimensions: str) -> int:
    """Number of filtered axes: 2 for ``2D`` (slice-wise), 3 for ``3D``."""
    return 2 if dimensions == "2D" else 3


@dataclass(frozen=True)
class MeanFilterSettings:
    """Mean filter: the average over a cube (3D) or square (2D) of voxels.

    Attributes
    ----------
    support : int
        Width of the averaging window in voxels along each filtered axis; odd.
    dimensions : {"2D", "3D"}
        ``2D``: a ``support x support`` square in each slice; ``3D``: a cube.
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border.
    """

    support: int = 3
    dimensions: FilterDimension = "3D"
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        if self.support < 1 or self.support % 2 == 0:
            raise SpecError(f"support must be an odd number of voxels (1, 3, 5, ...), got {self.support}")


@dataclass(frozen=True)
class LogFilterSettings:
    """Laplacian of Gaussian (IBSI-2 LoG): the sampled analytic kernel.

    The kernel ``-(1/sigma^2) (2 pi sigma^2)^(-D/2) (D - |x|^2/sigma^2)
    exp(-|x|^2 / (2 sigma^2))`` is sampled at voxel centres on a cube of
    ``1 + 2 floor(truncate * sigma / spacing + 0.5)`` voxels per axis and is
    not renormalised. Responses are in voxel units (per voxel^2); with
    anisotropic voxels the unit length is the geometric mean voxel size.

    Attributes
    ----------
    sigma_mm : float
        Scale (standard deviation) of the Gaussian, in mm.
    truncate : float
        Half-width of the kernel in units of ``sigma`` (IBSI uses 4).
    dimensions : {"2D", "3D"}
        ``2D``: the 2D LoG in each slice; ``3D``: the 3D LoG.
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border.
    """

    sigma_mm: float
    truncate: float = 4.0
    dimensions: FilterDimension = "3D"
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        if not self.sigma_mm > 0:
            raise SpecError(f"sigma_mm must be a positive scale in mm, got {self.sigma_mm}")
        if not self.truncate > 0:
            raise SpecError(f"truncate must be positive (IBSI uses 4), got {self.truncate}")


@dataclass(frozen=True)
class LawsFilterSettings:
    """Laws kernels: a separable product of 1D Laws kernels, optionally its energy map.

    The 1D kernels (``L5 = [1 4 6 4 1]``, ``E5 = [-1 -2 0 2 1]``,
    ``S5 = [-1 0 2 0 -1]``, ``W5 = [-1 2 0 -2 1]``, ``R5 = [1 -4 6 -4 1]``,
    ``L3 = [1 2 1]``, ``E3 = [-1 0 1]``, ``S3 = [-1 2 -1]``) are scaled to unit
    L2 norm and convolved along ``x``, ``y`` (and ``z``) in the order written.
    With rotation invariance, the responses of the kernel turned by every
    right angle (4 rotations in a plane, 24 in 3D) are pooled; the energy map
    is then the mean of the absolute (pooled) response over a
    ``(2 delta + 1)`` window along each filtered axis.

    Attributes
    ----------
    kernel : str
        1D kernel names along ``x, y[, z]``, e.g. ``L5E5`` (2D) or ``E5L5S5`` (3D).
    dimensions : {"2D", "3D"}
        Must match the number of kernels in ``kernel`` (2 or 3).
    rotation_invariance : bool
        Pool the responses over right-angle rotations of the kernel.
    pooling : {"max", "mean"}
        Voxel-wise pooling of the rotated responses (IBSI uses ``max``).
    energy_delta : int or None
        Distance ``delta`` (voxels, Chebyshev) of the energy map window;
        ``null``: no energy map, the response itself.
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border (also for the energy map).
    """

    kernel: str
    dimensions: FilterDimension = "3D"
    rotation_invariance: bool = False
    pooling: PoolingMethod = "max"
    energy_delta: int | None = None
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        names = self.kernel_names()
        if len(self.kernel) % 2 or any(name not in LAWS_KERNELS for name in names):
            raise SpecError(f"kernel {self.kernel!r} must be a sequence of the 1D Laws kernels "
                            f"{', '.join(LAWS_KERNELS)}, e.g. 'L5E5E5'")
        if len(names) != _axis_count(self.dimensions):
            raise SpecError(f"kernel {self.kernel!r} names {len(names)} kernels but dimensions is "
                            f"{self.dimensions}: give 2 kernels for 2D (e.g. 'L5E5') or 3 for 3D (e.g. 'L5E5E5')")
        if self.energy_delta is not None and self.energy_delta < 0:
            raise SpecError(f"energy_delta must be a distance >= 0 in voxels (IBSI uses 7), got {self.energy_delta}")

    def kernel_names(self) -> tuple[str, ...]:
        """The 1D kernel names along ``x, y[, z]`` (upper case)."""
        text = self.kernel.upper()
        return tuple(text[i:i + 2] for i in range(0, len(text), 2))


@dataclass(frozen=True)
class GaborFilterSettings:
    """Gabor filter, applied in 2D planes (IBSI-2).

    ``h(x, y) = exp(-(u^2 + gamma^2 v^2) / (2 sigma^2)) exp(i 2 pi u / lambda)``
    with ``u = x cos(theta) + y sin(theta)``, ``v = -x sin(theta) + y cos(theta)``
    (``x``, ``y`` in mm from the kernel centre along the plane's second and
    first array axes). The kernel is sampled at voxel centres up to
    ``truncate`` times the larger envelope scale (``sigma`` or ``sigma / gamma``)
    and is not normalised.

    Attributes
    ----------
    sigma_mm : float
        Scale of the Gaussian envelope along ``u``, in mm.
    lambda_mm : float
        Wavelength of the complex sinusoid, in mm.
    gamma : float
        Spatial aspect ratio: the envelope's scale along ``v`` is ``sigma / gamma``.
    theta_deg : float
        Orientation of the filter in degrees (counter-clockwise from ``x``
        towards ``y``); the first orientation when ``theta_step_deg`` is set.
    theta_step_deg : float or None
        Rotation invariance: the responses at ``theta, theta + step, ...`` over
        the full circle are pooled; ``step`` must divide 360. ``null``: the
        single orientation ``theta``.
    pooling : {"max", "mean"}
        Voxel-wise pooling over orientations and planes (IBSI uses ``mean``).
    response : {"modulus", "real"}
        The modulus or the real part of the complex response.
    planes : {"axial", "orthogonal"}
        ``axial``: each slice (``(y, x)`` plane); ``orthogonal``: pooled over
        the axial, coronal and sagittal planes (IBSI's 3D rotation invariance).
    truncate : float
        Half-width of the kernel in units of the larger envelope scale.
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border.
    """

    sigma_mm: float
    lambda_mm: float
    gamma: float = 1.0
    theta_deg: float = 0.0
    theta_step_deg: float | None = None
    pooling: PoolingMethod = "mean"
    response: GaborResponse = "modulus"
    planes: GaborPlanes = "axial"
    truncate: float = 4.0
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        for name in ("sigma_mm", "lambda_mm", "gamma", "truncate"):
            if not getattr(self, name) > 0:
                raise SpecError(f"{name} must be positive, got {getattr(self, name)}")
        step = self.theta_step_deg
        if step is not None:
            count = 360.0 / step if step > 0 else 0.0
            if step <= 0 or abs(count - round(count)) > 1e-9:
                raise SpecError(f"theta_step_deg must be a positive divisor of 360 degrees "
                                f"(e.g. 22.5 or 45), got {step}")

    def orientations_deg(self) -> tuple[float, ...]:
        """Orientations (degrees) whose responses are pooled."""
        if self.theta_step_deg is None:
            return (self.theta_deg,)
        count = round(360.0 / self.theta_step_deg)
        return tuple(self.theta_deg + k * self.theta_step_deg for k in range(count))


@dataclass(frozen=True)
class WaveletFilterSettings:
    """Separable wavelet, undecimated (stationary, a trous) decomposition (IBSI-2).

    The decomposition filters of a PyWavelets wavelet (``dec_lo`` = L,
    ``dec_hi`` = H) are convolved along ``x, y[, z]``; an ``n``-tap filter with
    ``n`` even is centred on tap ``n/2`` (counting from 0). Level ``j > 1``
    filters the level ``j - 1`` all-low-pass response (``LL`` / ``LLL``) with
    the filters upsampled by ``2^(j-1)`` (zeros between taps). With rotation
    invariance the responses of the whole decomposition turned by every right
    angle (4 in a plane, 24 in 3D) are pooled.

    Attributes
    ----------
    wavelet : str
        A discrete PyWavelets wavelet name, e.g. ``db3``, ``coif1``, ``haar``.
    subband : str
        Filters along ``x, y[, z]``: ``L`` or ``H`` each, e.g. ``LH`` or ``LHL``.
    level : int
        Decomposition level (1 = the first).
    dimensions : {"2D", "3D"}
        Must match the number of letters of ``subband``.
    rotation_invariance : bool
        Pool the responses over right-angle rotations.
    pooling : {"max", "mean"}
        Voxel-wise pooling of the rotated responses (IBSI uses ``mean``).
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image (and each level's response) is extended beyond its border.
    """

    wavelet: str
    subband: str
    level: int = 1
    dimensions: FilterDimension = "3D"
    rotation_invariance: bool = False
    pooling: PoolingMethod = "mean"
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        _check_wavelet_name(self.wavelet)
        letters = self.subband.upper()
        if not letters or set(letters) - {"L", "H"}:
            raise SpecError(f"subband {self.subband!r} must be L/H letters along x, y[, z], e.g. 'LHL'")
        if len(letters) != _axis_count(self.dimensions):
            raise SpecError(f"subband {self.subband!r} has {len(letters)} letters but dimensions is "
                            f"{self.dimensions}: give 2 letters for 2D (e.g. 'LH') or 3 for 3D (e.g. 'LLH')")
        if self.level < 1:
            raise SpecError(f"level must be at least 1, got {self.level}")


@dataclass(frozen=True)
class SimoncelliFilterSettings:
    """Non-separable isotropic Simoncelli wavelet, one decomposition level (IBSI-2).

    In the Fourier domain, with ``rho`` the frequency norm relative to the
    Nyquist frequency and ``m = 2^(1 - level)``: ``cos(pi/2 log2(2 rho / m))``
    for ``m/4 <= rho <= m``, 0 elsewhere. Frequencies are sampled on the
    centred grid ``(k - (n-1)/2) / ((n-1)/2)``, ``k = 0..n-1`` (the IBSI-2
    reference convention, which puts the outermost frequency bins at the
    Nyquist frequency); the response is the real part. The image is padded by
    half its size along each filtered axis (not at all for ``periodic``).
    Frequencies are per voxel: use isotropic voxels.

    Attributes
    ----------
    level : int
        Decomposition level (1 = the highest-frequency band).
    dimensions : {"2D", "3D"}
        ``2D``: the 2D wavelet in each slice; ``3D``: the 3D wavelet.
    boundary_condition : {"zero", "nearest", "periodic", "mirror"}
        How the image is extended beyond its border.
    """

    level: int = 1
    dimensions: FilterDimension = "3D"
    boundary_condition: BoundaryCondition = "mirror"

    def __post_init__(self):
        if self.level < 1:
            raise SpecError(f"level must be at least 1, got {self.level}")


@dataclass(frozen=True)
class RieszFilterSettings:
    """Riesz transform of a LoG or Simoncelli filter (IBSI-2).

    In the Fourier domain the base filter is multiplied by
    ``(-i)^L sqrt(L! / prod(l_k!)) prod(omega_k^l_k) / |omega|^L``, ``L = sum l_k``
    (0 at the zero frequency), on the frequency grid of
    :class:`SimoncelliFilterSettings`; the response is the real part. The
    image is padded (base filter's boundary condition) by half its size along
    each filtered axis, not at all for ``periodic``.

    Attributes
    ----------
    order : tuple of int
        Riesz orders ``l_k`` along ``x, y[, z]`` (2 values for a 2D base
        filter, 3 for 3D), e.g. ``[1, 0, 0]``.
    log : LogFilterSettings or None
        The base LoG filter (give exactly one of ``log`` and ``simoncelli``).
    simoncelli : SimoncelliFilterSettings or None
        The base Simoncelli wavelet.
    """

    order: tuple[int, ...]
    log: LogFilterSettings | None = None
    simoncelli: SimoncelliFilterSettings | None = None

    def __post_init__(self):
        if (self.log is None) == (self.simoncelli is None):
            raise SpecError("give exactly one base filter, 'log' or 'simoncelli'")
        if any(order < 0 for order in self.order):
            raise SpecError(f"order must hold non-negative integers, got {list(self.order)}")
        if len(self.order) != _axis_count(self.base.dimensions):
            raise SpecError(f"order {list(self.order)} must have one value per axis of the base filter "
                            f"({self.base.dimensions}: {_axis_count(self.base.dimensions)} values along x, y[, z])")

    @property
    def base(self) -> LogFilterSettings | SimoncelliFilterSettings:
        """The filter being Riesz-transformed."""
        return self.log if self.log is not None else self.simoncelli


SliceAxis = Literal[0, 1, 2]
LbpMethod = Literal["default", "ror", "uniform", "var"]
LbpMap = Literal["norm", "kurtosis"]


@functools.cache
def _discrete_wavelets() -> tuple[str, ...]:
    """PyWavelets' discrete wavelet names (listed once per process)."""
    import pywt

    return tuple(pywt.wavelist(kind="discrete"))


def _check_wavelet_name(wavelet: str) -> None:
    """A discrete PyWavelets wavelet name, or a SpecError with a suggestion."""
    known = _discrete_wavelets()
    if wavelet not in known:
        close = closest_match(wavelet, known)
        hint = f"; did you mean {close!r}?" if close else " (see pywt.wavelist(kind='discrete'))"
        raise SpecError(f"wavelet {wavelet!r} is not a discrete PyWavelets wavelet{hint}")


@dataclass(frozen=True)
class RecursiveLogFilterSettings:
    """ITK's recursive Laplacian of Gaussian, normalised across scale (pyradiomics' LoG image type).

    SimpleITK's ``LaplacianRecursiveGaussian``: Deriche's recursive
    approximation of the Gaussian's second derivatives along x, y, z, each
    times ``sigma^2`` and divided by the voxel size squared, summed in float32
    (:mod:`~radiomix.preprocess.filters.recursive_log`). 3D only; every side
    of the image must be at least 4 voxels.

    Attributes
    ----------
    sigma_mm : float
        Width of the Gaussian, in mm.
    """

    sigma_mm: float

    def __post_init__(self):
        if not self.sigma_mm > 0:
            raise SpecError(f"sigma_mm must be a positive scale in mm, got {self.sigma_mm}")


@dataclass(frozen=True)
class StationaryWaveletFilterSettings:
    """PyWavelets' stationary wavelet transform as pyradiomics repeats it (its Wavelet image type).

    Each level is a one-level ``pywt.swtn`` (undilated filters, periodic
    boundary after an odd axis is padded with its first voxel) of the previous
    level's all-low-pass image, in the image's precision (float32 stays
    float32, else float64; :mod:`~radiomix.preprocess.filters.stationary_wavelet`).

    Attributes
    ----------
    wavelet : str
        A discrete PyWavelets wavelet name (pyradiomics' default ``coif1``).
    subband : str
        ``L`` (low pass) or ``H`` (high pass) along each transformed axis, in
        the order x, y, z (the slice axis left out in 2D), e.g. ``LLH``; all
        ``L`` is the level's approximation.
    level : int
        Decomposition level (1 = the first).
    dimensions : {"2D", "3D"}
        ``2D``: the axes of each slice across ``slice_axis`` only.
    slice_axis : {0, 1, 2}
        Array axis (z = 0, y = 1, x = 2) across which a 2D transform slices
        the image (pyradiomics' ``force2Ddimension``); unused in 3D.
    """

    subband: str
    wavelet: str = "coif1"
    level: int = 1
    dimensions: FilterDimension = "3D"
    slice_axis: SliceAxis = 0

    def __post_init__(self):
        _check_wavelet_name(self.wavelet)
        letters = self.subband.upper()
        if not letters or set(letters) - {"L", "H"} or len(letters) != _axis_count(self.dimensions):
            raise SpecError(f"subband {self.subband!r} must be {_axis_count(self.dimensions)} L/H letters "
                            f"(dimensions {self.dimensions}), e.g. {'LH' if self.dimensions == '2D' else 'LLH'}")
        if self.level < 1:
            raise SpecError(f"level must be at least 1, got {self.level}")

    def axes(self) -> tuple[int, ...]:
        """The transformed array axes, in transform order (x, y, z without the slice axis in 2D)."""
        return tuple(axis for axis in (2, 1, 0) if self.dimensions == "3D" or axis != self.slice_axis)


@dataclass(frozen=True)
class GradientFilterSettings:
    """SimpleITK's gradient magnitude (pyradiomics' Gradient image type).

    Central differences along x, y, z, the edge voxel repeated beyond the
    border, ``sqrt`` of their sum of squares in float32
    (:mod:`~radiomix.preprocess.filters.gradient`).

    Attributes
    ----------
    use_spacing : bool
        Differences per mm (pyradiomics' ``gradientUseSpacing``), else per voxel.
    """

    use_spacing: bool = True


@dataclass(frozen=True)
class LocalBinaryPatternFilterSettings:
    """scikit-image's 2D local binary pattern of every slice (pyradiomics' LBP2D image type).

    ``samples`` points on a circle of ``radius`` pixels, bilinearly
    interpolated (0 outside the slice), each compared with the centre
    (:mod:`~radiomix.preprocess.filters.local_binary_pattern`).

    Attributes
    ----------
    radius : float
        Circle radius in pixels (``lbp2DRadius``).
    samples : int
        Number of points on the circle (``lbp2DSamples``).
    method : {"default", "ror", "uniform", "var"}
        scikit-image's pattern code (``lbp2DMethod``).
    slice_axis : {0, 1, 2}
        Array axis (z = 0, y = 1, x = 2) across which the image is sliced
        (``force2Ddimension``).
    """

    radius: float = 1.0
    samples: int = 8
    method: LbpMethod = "uniform"
    slice_axis: SliceAxis = 0

    def __post_init__(self):
        if not self.radius > 0:
            raise SpecError(f"radius must be positive (pixels), got {self.radius}")
        if self.samples < 1:
            raise SpecError(f"samples must be at least 1, got {self.samples}")


@dataclass(frozen=True)
class LocalBinaryPattern3DFilterSettings:
    """pyradiomics' spherical-harmonic 3D local binary pattern (its LBP3D image type).

    The image is sampled (cubic spline) on an icosphere around each voxel,
    the samples thresholded at the voxel's value and projected on spherical
    harmonics (:mod:`~radiomix.preprocess.filters.local_binary_pattern_3d`).
    In a spec's ``filters:`` every voxel of the image is computed (pyradiomics
    computes the ROI's voxels only: same values there).

    Attributes
    ----------
    map : {"norm", "kurtosis"}
        ``norm``: the rotation-invariant norm of spherical-harmonic degree
        ``degree`` (pyradiomics' ``lbp-3D-m<degree + 1>``); ``kurtosis``: the
        samples' kurtosis (``lbp-3D-k``).
    degree : int
        Spherical-harmonic degree of ``norm`` (0 = the first).
    icosphere_radius : float
        Icosphere radius in voxels (``lbp3DIcosphereRadius``).
    icosphere_subdivisions : int
        Icosphere subdivisions (``lbp3DIcosphereSubdivision``).
    """

    map: LbpMap = "norm"
    degree: int = 0
    icosphere_radius: float = 1.0
    icosphere_subdivisions: int = 1

    def __post_init__(self):
        if self.degree < 0:
            raise SpecError(f"degree must be at least 0, got {self.degree}")
        if not self.icosphere_radius > 0:
            raise SpecError(f"icosphere_radius must be positive (voxels), got {self.icosphere_radius}")
        if self.icosphere_subdivisions < 0:
            raise SpecError(f"icosphere_subdivisions must be at least 0, got {self.icosphere_subdivisions}")


@dataclass(frozen=True)
class SquareFilterSettings:
    """``(x / sqrt(M))^2``, ``M`` the image's largest magnitude (pyradiomics' Square image type)."""


@dataclass(frozen=True)
class SquareRootFilterSettings:
    """``sign(x) sqrt(|x| M)``, ``M`` the image's largest magnitude (pyradiomics' SquareRoot image type)."""


@dataclass(frozen=True)
class LogarithmFilterSettings:
    """``sign(x) log(|x| + 1) M / log(M + 1)``, ``M`` the image's largest magnitude (pyradiomics' Logarithm)."""


@dataclass(frozen=True)
class ExponentialFilterSettings:
    """``exp(x log(M) / M)``, ``M`` the image's largest magnitude (pyradiomics' Exponential image type)."""


FilterSettings = (MeanFilterSettings | LogFilterSettings | LawsFilterSettings | GaborFilterSettings
                  | WaveletFilterSettings | SimoncelliFilterSettings | RieszFilterSettings
                  | RecursiveLogFilterSettings | StationaryWaveletFilterSettings | GradientFilterSettings
                  | LocalBinaryPatternFilterSettings | LocalBinaryPattern3DFilterSettings | SquareFilterSettings
                  | SquareRootFilterSettings | LogarithmFilterSettings | ExponentialFilterSettings)

FILTER_SETTINGS = {
    "mean": MeanFilterSettings,
    "log": LogFilterSettings,
    "laws": LawsFilterSettings,
    "gabor": GaborFilterSettings,
    "wavelet": WaveletFilterSettings,
    "simoncelli": SimoncelliFilterSettings,
    "riesz": RieszFilterSettings,
    "recursive_log": RecursiveLogFilterSettings,
    "stationary_wavelet": StationaryWaveletFilterSettings,
    "gradient": GradientFilterSettings,
    "local_binary_pattern": LocalBinaryPatternFilterSettings,
    "local_binary_pattern_3d": LocalBinaryPattern3DFilterSettings,
    "square": SquareFilterSettings,
    "square_root": SquareRootFilterSettings,
    "logarithm": LogarithmFilterSettings,
    "exponential": ExponentialFilterSettings,
}
"""Filter kind (the key written in a spec) -> settings class (the IBSI-2 filters, then pyradiomics' image types)."""


def filter_kind(settings: FilterSettings) -> str:
    """The spec key of a settings object (``"log"`` for :class:`LogFilterSettings`, ...)."""
    for kind, cls in FILTER_SETTINGS.items():
        if type(settings) is cls:
            return kind
    raise TypeError(f"not a filter settings object: {settings!r}")


def parse_filter(entry: Mapping | FilterSettings, where: str = "filter") -> FilterSettings:
    """Build filter settings from a one-key mapping ``{kind: {settings}}`` (or pass settings through).

    Raises
    ------
    SpecError
        Not a one-key mapping, unknown kind or setting (with a suggestion),
        wrong type or invalid value.
    """
    if isinstance(entry, tuple(FILTER_SETTINGS.values())):
        return entry
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise SpecError(f"{where}: a filter is a one-key mapping {{kind: {{settings}}}} with kind one of "
                        f"{', '.join(FILTER_SETTINGS)}, got {entry!r}")
    (kind, data), = entry.items()
    if kind not in FILTER_SETTINGS:
        close = closest_match(kind, FILTER_SETTINGS, cutoff=0.5)
        hint = f"; did you mean {close!r}?" if close else f"; valid kinds: {', '.join(FILTER_SETTINGS)}"
        raise SpecError(f"{where}: unknown filter {kind!r}{hint}")
    try:
        return build_settings(FILTER_SETTINGS[kind], {} if data is None else data, f"{where}.{kind}")
    except SpecError as exc:
        if str(exc).startswith(where):
            raise
        raise SpecError(f"{where}.{kind}: {exc}") from None


def parse_filters(entries, where: str = "filters") -> tuple[FilterSettings, ...]:
    """Build a spec's ``filters:`` list (each entry a one-key mapping)."""
    if entries is None:
        return ()
    if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, (list, tuple)):
        raise SpecError(f"{where}: expected a list of one-key mappings {{kind: {{settings}}}}, got {entries!r}")
    return tuple(parse_filter(entry, f"{where}[{i}]") for i, entry in enumerate(entries))


def filter_to_dict(settings: FilterSettings) -> dict:
    """The one-key mapping form ``{kind: {settings}}`` (tuples as lists), loadable by :func:`parse_filter`."""
    def plain(value):
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return value

    return {filter_kind(settings): plain(settings)}


def _number(value: float) -> str:
    """Compact number text for names: 1.5 -> '1.5', 3.0 -> '3'."""
    return f"{value:g}" if math.isfinite(value) else str(value)


def filter_image_type_name(settings: FilterSettings) -> str:
    """The self-describing ``image_type`` of a filter's response map.

    Examples: ``mean-support5-3D``, ``log-sigma-1.5mm-3D``,
    ``laws-L5E5E5-energy-delta7-max-3D``, ``wavelet-db3-LLH-level1-mean``,
    ``gabor-sigma-5mm-lambda-2mm-gamma-1.5-theta-0deg-step-22.5deg-mean-modulus-orthogonal``,
    ``simoncelli-level1-3D``, ``riesz-order-1-0-0-log-sigma-3mm-3D``. The
    boundary condition and kernel truncation are not part of the name.
    """
    if isinstance(settings, MeanFilterSettings):
        return f"mean-support{settings.support}-{settings.dimensions}"
    if isinstance(settings, LogFilterSettings):
        return f"log-sigma-{_number(settings.sigma_mm)}mm-{settings.dimensions}"
    if isinstance(settings, LawsFilterSettings):
        parts = ["laws", "".join(settings.kernel_names())]
        if settings.energy_delta is not None:
            parts += ["energy", f"delta{settings.energy_delta}"]
        if settings.rotation_invariance:
            parts.append(settings.pooling)
        return "-".join(parts + [settings.dimensions])
    if isinstance(settings, GaborFilterSettings):
        parts = ["gabor", f"sigma-{_number(settings.sigma_mm)}mm", f"lambda-{_number(settings.lambda_mm)}mm",
                 f"gamma-{_number(settings.gamma)}", f"theta-{_number(settings.theta_deg)}deg"]
        if settings.theta_step_deg is not None:
            parts += [f"step-{_number(settings.theta_step_deg)}deg"]
        if settings.theta_step_deg is not None or settings.planes == "orthogonal":
            parts.append(settings.pooling)
        return "-".join(parts + [settings.response, settings.planes])
    if isinstance(settings, WaveletFilterSettings):
        name = f"wavelet-{settings.wavelet}-{settings.subband.upper()}-level{settings.level}"
        return f"{name}-{settings.pooling}" if settings.rotation_invariance else name
    if isinstance(settings, SimoncelliFilterSettings):
        return f"simoncelli-level{settings.level}-{settings.dimensions}"
    if isinstance(settings, RieszFilterSettings):
        order = "-".join(str(o) for o in settings.order)
        return f"riesz-order-{order}-{filter_image_type_name(settings.base)}"
    return _pyradiomics_filter_name(settings)


def _pyradiomics_filter_name(settings: FilterSettings) -> str:
    """:func:`filter_image_type_name` of the filters of pyradiomics' image types."""
    if isinstance(settings, RecursiveLogFilterSettings):
        return f"recursive-log-sigma-{_number(settings.sigma_mm)}mm-3D"
    if isinstance(settings, StationaryWaveletFilterSettings):
        name = f"stationary-wavelet-{settings.wavelet}-{settings.subband.upper()}-level{settings.level}"
        return f"{name}-2D-axis{settings.slice_axis}" if settings.dimensions == "2D" else f"{name}-3D"
    if isinstance(settings, GradientFilterSettings):
        return "gradient" if settings.use_spacing else "gradient-per-voxel"
    if isinstance(settings, LocalBinaryPatternFilterSettings):
        return (f"lbp-2D-radius{_number(settings.radius)}-samples{settings.samples}-{settings.method}"
                f"-axis{settings.slice_axis}")
    if isinstance(settings, LocalBinaryPattern3DFilterSettings):
        what = f"norm-degree{settings.degree}" if settings.map == "norm" else "kurtosis"
        return (f"lbp-3D-{what}-radius{_number(settings.icosphere_radius)}"
                f"-subdivisions{settings.icosphere_subdivisions}")
    kinds = {SquareFilterSettings: "square", SquareRootFilterSettings: "square-root",
             LogarithmFilterSettings: "logarithm", ExponentialFilterSettings: "exponential"}
    if type(settings) in kinds:
        return kinds[type(settings)]
    raise TypeError(f"not a filter settings object: {settings!r}")
