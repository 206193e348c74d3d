"""pyradiomics' image types (``imageType``): the filtered images, with pyradiomics' names and numbers.

:func:`image_types` yields, for each image type enabled in a
:class:`~radiomix.pyradiomics.params.PyradiomicsSpec` (in the file's order),
the images pyradiomics' ``imageoperations.get<Type>Image`` generators yield,
under the same prefixes:

============  =======================================  ==========================================
image type    prefixes                                 what (pyradiomics' definition)
============  =======================================  ==========================================
Original      ``original``                             the image
LoG           ``log-sigma-<sigma>-mm-3D``              SimpleITK's recursive Laplacian of Gaussian,
                                                       normalised across scale, per ``sigma`` (mm)
Wavelet       ``wavelet-LLH`` ... ``wavelet-HHH``,     stationary wavelet decompositions
              ``wavelet-LLL`` (``wavelet<k>-...``      (``wavelet``, ``start_level``, ``level``;
              from the 2nd kept level on)              2 letters with ``force2D``)
Square        ``square``                               ``(x / sqrt(max|x|))^2``
SquareRoot    ``squareroot``                           ``sign(x) sqrt(|x| max|x|)``
Logarithm     ``logarithm``                            ``sign(x) log(|x| + 1)``, rescaled to ``max|x|``
Exponential   ``exponential``                          ``exp(x log(max|x|) / max|x|)``
Gradient      ``gradient``                             gradient magnitude (``gradientUseSpacing``)
LBP2D         ``lbp-2D``                               scikit-image's 2D local binary pattern per
                                                       slice across ``force2Ddimension``
LBP3D         ``lbp-3D-m1``, ``lbp-3D-m2``, ...,       spherical-harmonic LBP and kurtosis
              ``lbp-3D-k``
============  =======================================  ==========================================

``max|x|`` is taken over the whole image. Pixel types follow pyradiomics
(Original and LBP2D: the image's; LoG and Gradient: float32; Wavelet: float32
for a float32 image, else float64; the others and LBP3D: float64).

This module only translates pyradiomics' image-type settings into filter
kinds of :mod:`radiomix.preprocess.filters` (:func:`image_type_filters`:
``recursive_log``, ``stationary_wavelet``, ``square``, ``square_root``,
``logarithm``, ``exponential``, ``gradient``, ``local_binary_pattern``,
``local_binary_pattern_3d``), each named with its pyradiomics prefix, and
computes them with :func:`~radiomix.preprocess.filters.response_maps_on_box`
on a sub-box only (``box``): the feature classes see the filtered image
cropped to the ROI's bounding box, and each value inside it is computed
exactly as pyradiomics computes it on the whole image (same arithmetic, bit
for bit for LoG, Wavelet, Gradient and LBP2D), without computing the rest of
the grid. The filter kernels use numba's threads when the work is large
enough (:mod:`radiomix._numba`).

Filters pyradiomics skips are skipped with pyradiomics' warning (logger
``radiomix.pyradiomics.image_types``): LoG on an image with a side below 4
voxels or a sigma too large for the image.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from radiomix.preprocess.filters import response_maps_on_box
from radiomix.preprocess.filters.settings import (
    ExponentialFilterSettings,
    FilterSettings,
    GradientFilterSettings,
    LocalBinaryPattern3DFilterSettings,
    LocalBinaryPatternFilterSettings,
    LogarithmFilterSettings,
    RecursiveLogFilterSettings,
    SquareFilterSettings,
    SquareRootFilterSettings,
    StationaryWaveletFilterSettings,
)
from radiomix.pyradiomics.params import PyradiomicsSettings, PyradiomicsSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoundingBox:
    """Inclusive index bounds of an ROI, in array order (z, y, x)."""

    lower: tuple[int, int, int]
    upper: tuple[int, int, int]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Slices selecting the box from a (z, y, x) array."""
        return tuple(slice(lo, hi + 1) for lo, hi in zip(self.lower, self.upper))

    @property
    def size(self) -> np.ndarray:
        """Extent of the box in voxels, (z, y, x)."""
        return np.array(self.upper) - np.array(self.lower) + 1


Box = BoundingBox | tuple[slice, slice, slice]
NamedFilter = tuple[str, FilterSettings | None]
"""pyradiomics' prefix of an image and the filter that makes it (None: the original image)."""


def image_types(image: sitk.Image, mask: sitk.Image | np.ndarray, spec: PyradiomicsSpec,
                box: Box | None = None) -> Iterator[tuple[str, np.ndarray, PyradiomicsSettings]]:
    """The filtered images of every enabled image type, as pyradiomics' extractor generates them.

    Parameters
    ----------
    image : SimpleITK.Image
        The 3D image after pyradiomics' loading chain (normalised, resampled
        or pre-cropped as configured).
    mask : SimpleITK.Image or ndarray of bool
        Label map on ``image``'s grid (the resegmented ROI if any), of which
        LBP3D uses the voxels of label ``settings.label``; or those voxels
        themselves, ``(z, y, x)``.
    spec : PyradiomicsSpec
        Enabled image types and their settings.
    box : BoundingBox or tuple of 3 slices, optional
        Region (z, y, x index ranges of ``image``) the images are wanted on,
        usually the ROI's bounding box. Default: the whole grid.

    Yields
    ------
    prefix : str
        pyradiomics' image type name (``original``, ``log-sigma-1-0-mm-3D``,
        ``wavelet-LLH``, ...).
    filtered : ndarray, (z, y, x)
        The filtered image's values on ``box`` (on ``image``'s grid, so with
        its spacing), in the pixel type listed in the module docstring.
    settings : PyradiomicsSettings
        The settings of that image type (``ImageTypeSpec.settings``).
    """
    slices = _box_slices(image, box)
    array = sitk.GetArrayViewFromImage(image)
    spacing = tuple(float(s) for s in reversed(image.GetSpacing()))
    for image_type in spec.image_types:
        settings = image_type.settings
        named = image_type_filters(image_type.name, settings, image)
        if not named:
            continue
        prefixes, group = zip(*named)
        if group[0] is None:
            yield prefixes[0], np.array(array[slices]), settings
            continue
        roi = _lbp3d_roi(mask, settings.label) if image_type.name == "LBP3D" else None
        for prefix, values in zip(prefixes, response_maps_on_box(array, spacing, group, slices, roi)):
            if image_type.name == "LBP2D":
                stored = np.empty(values.shape, dtype=array.dtype)
                with np.errstate(invalid="ignore"):
                    stored[...] = values  # pyradiomics writes the LBP values into the image's own pixel type
                values = stored
            yield prefix, values, settings


def _lbp3d_roi(mask: sitk.Image | np.ndarray, label: int) -> np.ndarray:
    """The voxels of ``label`` of a label map, or a boolean ROI as it is."""
    return mask if isinstance(mask, np.ndarray) else sitk.GetArrayViewFromImage(mask) == label


def image_type_filters(name: str, settings: PyradiomicsSettings, image: sitk.Image,
                       warn: bool = True) -> list[NamedFilter]:
    """The images of one pyradiomics image type: each one's prefix and filter, in pyradiomics' order.

    Parameters
    ----------
    name : str
        pyradiomics' image type (``Original``, ``LoG``, ``Wavelet``, ``Square``,
        ``SquareRoot``, ``Logarithm``, ``Exponential``, ``Gradient``, ``LBP2D``, ``LBP3D``).
    settings : PyradiomicsSettings
        The image type's settings.
    image : SimpleITK.Image
        The image to filter (LoG is skipped, with pyradiomics' warnings, for
        too small an image or too large a sigma).
    warn : bool
        Log pyradiomics' warnings (False: the same filters, silently).
    """
    return _TRANSLATIONS[name](settings, image, logger.warning if warn else _silent)


def _silent(*_) -> None:
    """A warning not logged."""


def _box_slices(image: sitk.Image, box: Box | None) -> tuple[slice, slice, slice]:
    """``box`` as (z, y, x) slices of step 1 within the image (the whole grid when None)."""
    size_zyx = image.GetSize()[::-1]
    if box is None:
        return tuple(slice(0, n) for n in size_zyx)
    slices = box.slices if isinstance(box, BoundingBox) else tuple(box)
    for axis, (part, n) in enumerate(zip(slices, size_zyx)):
        if (part.start is None or part.stop is None or part.step not in (None, 1)
                or not 0 <= part.start < part.stop <= n):
            raise ValueError(f"box axis {axis} ({part}) must be a slice start:stop within 0..{n}")
    return slices


def _log(settings, image, warn):
    size = np.array(image.GetSize())
    spacing = np.array(image.GetSpacing())
    if np.min(size) < 4:
        warn("Image too small to apply LoG filter, size: %s", size)
        return []
    named = []
    for sigma in settings.sigma:
        if sigma <= 0.0:
            warn("applyLoG: sigma must be greater than 0.0: %g", sigma)
        elif not np.all(size >= np.ceil(sigma / spacing) + 1):
            warn("applyLoG: sigma(%g)/spacing(%s) + 1 must be greater than the size(%s) of the inputImage",
                 sigma, spacing, size)
        else:
            named.append(("log-sigma-{}-mm-3D".format(str(sigma).replace(".", "-")),
                          RecursiveLogFilterSettings(float(sigma))))
    return named


def _wavelet(settings, image, warn):
    dimensions = "2D" if settings.force2D else "3D"
    n_axes = 2 if settings.force2D else 3
    subbands = ["".join(letters) for letters in itertools.product("LH", repeat=n_axes)][1:]  # PyWavelets' order
    named = []
    for index in range(1, settings.level + 1):
        stem = "wavelet" if index == 1 else f"wavelet{index}"
        named += [(f"{stem}-{subband}", StationaryWaveletFilterSettings(
            subband, settings.wavelet, settings.start_level + index, dimensions, settings.force2Ddimension))
            for subband in subbands]
    stem = "wavelet" if settings.level == 1 else f"wavelet{settings.level}"
    named.append((f"{stem}-{'L' * n_axes}", StationaryWaveletFilterSettings(
        "L" * n_axes, settings.wavelet, settings.start_level + settings.level, dimensions, settings.force2Ddimension)))
    return named


def _lbp_2d(settings, image, warn):
    if not settings.force2D:
        warn("Calculating Local Binary Pattern in 2D, but extracting features in 3D. Use with caution!")
    return [("lbp-2D", LocalBinaryPatternFilterSettings(settings.lbp2DRadius, settings.lbp2DSamples,
                                                        settings.lbp2DMethod, settings.force2Ddimension))]


def _lbp_3d(settings, image, warn):
    if settings.force2D:
        warn("Calculating Local Binary Pattern in 3D, but extracting features in 2D. Use with caution!")
    sphere = {"icosphere_radius": settings.lbp3DIcosphereRadius,
              "icosphere_subdivisions": settings.lbp3DIcosphereSubdivision}
    return ([(f"lbp-3D-m{degree + 1}", LocalBinaryPattern3DFilterSettings("norm", degree, **sphere))
             for degree in range(settings.lbp3DLevels)]
            + [("lbp-3D-k", LocalBinaryPattern3DFilterSettings("kurtosis", **sphere))])


def _single(prefix, make):
    """Translation of an image type that yields one image, made by ``make(settings)``."""
    return lambda settings, image, warn: [(prefix, make(settings))]


_TRANSLATIONS = {
    "Original": _single("original", lambda settings: None),
    "LoG": _log,
    "Wavelet": _wavelet,
    "Square": _single("square", lambda settings: SquareFilterSettings()),
    "SquareRoot": _single("squareroot", lambda settings: SquareRootFilterSettings()),
    "Logarithm": _single("logarithm", lambda settings: LogarithmFilterSettings()),
    "Exponential": _single("exponential", lambda settings: ExponentialFilterSettings()),
    "Gradient": _single("gradient", lambda settings: GradientFilterSettings(settings.gradientUseSpacing)),
    "LBP2D": _lbp_2d,
    "LBP3D": _lbp_3d,
}
"""pyradiomics image type name -> ``(settings, image, warn) -> [(prefix, filter settings), ...]``."""
