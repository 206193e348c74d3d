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

This module only maps pyradiomics' image-type settings to the filters of
:mod:`radiomix.preprocess.filters` (``recursive_log``, ``stationary_wavelet``,
``intensity_transforms``, ``gradient``, ``local_binary_pattern``,
``local_binary_pattern_3d``) and names their images. Every filter is computed
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

import logging
from collections.abc import Iterator

import numpy as np
import SimpleITK as sitk

from radiomix.preprocess.filters import intensity_transforms
from radiomix.preprocess.filters.gradient import gradient_magnitude
from radiomix.preprocess.filters.local_binary_pattern import local_binary_pattern_2d
from radiomix.preprocess.filters.local_binary_pattern_3d import local_binary_pattern_3d
from radiomix.preprocess.filters.recursive_log import laplacian_of_gaussian
from radiomix.preprocess.filters.stationary_wavelet import stationary_wavelet
from radiomix.pyradiomics.params import PyradiomicsSettings, PyradiomicsSpec
from radiomix.pyradiomics.preprocessing import BoundingBox

logger = logging.getLogger(__name__)

Box = BoundingBox | tuple[slice, slice, slice]


def image_types(image: sitk.Image, mask: sitk.Image, spec: PyradiomicsSpec,
                box: Box | None = None) -> Iterator[tuple[str, np.ndarray, PyradiomicsSettings]]:
    """The filtered images of every enabled image type, as pyradiomics' extractor generates them.

    Parameters
    ----------
    image : SimpleITK.Image
        The 3D image after pyradiomics' loading chain (normalised, resampled
        or pre-cropped as configured).
    mask : SimpleITK.Image
        Label map on ``image``'s grid (the resegmented ROI if any); LBP3D
        uses the voxels of label ``settings.label``.
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
    for image_type in spec.image_types:
        generator = _GENERATORS[image_type.name]
        for prefix, values in generator(array, image, mask, image_type.settings, slices):
            yield prefix, values, image_type.settings


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


def _spacing_zyx(image: sitk.Image) -> tuple[float, float, float]:
    return tuple(float(s) for s in reversed(image.GetSpacing()))


def _original(array, image, mask, settings, slices):
    yield "original", np.array(array[slices])


def _log(array, image, mask, settings, slices):
    size = np.array(image.GetSize())
    spacing = np.array(image.GetSpacing())
    if np.min(size) < 4:
        logger.warning("Image too small to apply LoG filter, size: %s", size)
        return
    for sigma in settings.sigma:
        if sigma <= 0.0:
            logger.warning("applyLoG: sigma must be greater than 0.0: %g", sigma)
        elif not np.all(size >= np.ceil(sigma / spacing) + 1):
            logger.warning("applyLoG: sigma(%g)/spacing(%s) + 1 must be greater than the size(%s) of the inputImage",
                           sigma, spacing, size)
        else:
            name = "log-sigma-{}-mm-3D".format(str(sigma).replace(".", "-"))
            yield name, laplacian_of_gaussian(array, _spacing_zyx(image), float(sigma), slices)


def _wavelet(array, image, mask, settings, slices):
    axes = [2, 1, 0]
    if settings.force2D:
        axes.remove(settings.force2Ddimension)
    levels, approximation = stationary_wavelet(array, settings.wavelet, settings.start_level, settings.level,
                                               tuple(axes), slices)
    for index, level in enumerate(levels, start=1):
        for decomposition, values in level.details.items():
            yield (f"wavelet-{decomposition}" if index == 1 else f"wavelet{index}-{decomposition}"), values
    low = "L" * len(axes)
    yield (f"wavelet-{low}" if len(levels) == 1 else f"wavelet{len(levels)}-{low}"), approximation


def _intensity_transform(prefix, transform):
    """Generator of one point-wise image type of :mod:`~radiomix.preprocess.filters.intensity_transforms`."""
    def generate(array, image, mask, settings, slices):
        yield prefix, transform(array, slices)

    return generate


def _gradient(array, image, mask, settings, slices):
    yield "gradient", gradient_magnitude(array, _spacing_zyx(image), settings.gradientUseSpacing, slices)


def _lbp_2d(array, image, mask, settings, slices):
    if not settings.force2D:
        logger.warning("Calculating Local Binary Pattern in 2D, but extracting features in 3D. Use with caution!")
    values = local_binary_pattern_2d(array, settings.force2Ddimension, settings.lbp2DSamples,
                                     settings.lbp2DRadius, settings.lbp2DMethod, slices)
    stored = np.empty(values.shape, dtype=array.dtype)
    with np.errstate(invalid="ignore"):
        stored[...] = values  # pyradiomics writes the LBP values into the image's own pixel type
    yield "lbp-2D", stored


def _lbp_3d(array, image, mask, settings, slices):
    if settings.force2D:
        logger.warning("Calculating Local Binary Pattern in 3D, but extracting features in 2D. Use with caution!")
    roi = sitk.GetArrayViewFromImage(mask) == settings.label
    norms, kurtosis = local_binary_pattern_3d(np.asarray(array), roi, settings.lbp3DLevels,
                                              settings.lbp3DIcosphereRadius, settings.lbp3DIcosphereSubdivision)
    for level, norm in enumerate(norms, start=1):
        yield f"lbp-3D-m{level}", norm[slices]
    yield "lbp-3D-k", kurtosis[slices]


_GENERATORS = {
    "Original": _original,
    "LoG": _log,
    "Wavelet": _wavelet,
    "Square": _intensity_transform("square", intensity_transforms.square),
    "SquareRoot": _intensity_transform("squareroot", intensity_transforms.square_root),
    "Logarithm": _intensity_transform("logarithm", intensity_transforms.logarithm),
    "Exponential": _intensity_transform("exponential", intensity_transforms.exponential),
    "Gradient": _gradient,
    "LBP2D": _lbp_2d,
    "LBP3D": _lbp_3d,
}
"""pyradiomics image type name -> generator of ``(prefix, values on the box)``."""
