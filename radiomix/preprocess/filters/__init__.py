"""IBSI-2 convolutional filters: mean, LoG, Laws, Gabor, separable and Simoncelli wavelets, Riesz.

* :func:`filter_image`: a SimpleITK image (or file) and one filter -> the
  response map as a SimpleITK image on the same grid.
* :func:`response_map`: the same on a ``(z, y, x)`` array with its spacing.
* :mod:`~radiomix.preprocess.filters.settings`: the typed settings of each
  filter kind, :data:`FILTER_SETTINGS`, :func:`filter_image_type_name`.

Separable filters (mean, LoG, Laws, wavelets) run as 1D numba convolutions in
parallel over lines; Gabor, Simoncelli and Riesz filters run as FFTs on all
cores. Nothing is cached between calls.

The filters of pyradiomics' image types are modules here too, each computing
its response on a sub-box of the image with the arithmetic of the library
pyradiomics calls: :mod:`.recursive_log` (ITK's recursive LoG),
:mod:`.stationary_wavelet` (PyWavelets' SWT), :mod:`.gradient` (ITK's gradient
magnitude), :mod:`.local_binary_pattern` (scikit-image's 2D LBP),
:mod:`.local_binary_pattern_3d` (pyradiomics' spherical-harmonic LBP) and
:mod:`.intensity_transforms` (square, square root, logarithm, exponential).
:mod:`radiomix.pyradiomics.image_types` maps pyradiomics' ``imageType``
settings to them; they are not (yet) kinds of a spec's ``filters:`` list.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.preprocess.filters.settings import (
    FILTER_SETTINGS,
    FilterSettings,
    filter_image_type_name,
    filter_kind,
    filter_to_dict,
    parse_filter,
    parse_filters,
)

__all__ = ["FILTER_SETTINGS", "filter_image", "filter_image_type_name", "filter_kind", "filter_to_dict",
           "parse_filter", "parse_filters", "response_map"]

_MODULES = {kind: f"radiomix.preprocess.filters.{kind}" for kind in FILTER_SETTINGS}
"""Filter kind -> module exposing ``response_map(image, spacing, settings)``."""


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 spec: Mapping | FilterSettings) -> np.ndarray:
    """Filter response of a ``(z, y, x)`` array.

    Parameters
    ----------
    image : ndarray
        3D intensities ``(z, y, x)``; 2D filters work slice by slice along axis 0.
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    spec : mapping or settings object
        One filter: ``{kind: {settings}}`` or a settings object from
        :mod:`radiomix.preprocess.filters.settings`.

    Returns
    -------
    ndarray of float64
        Same shape as ``image``.
    """
    settings = parse_filter(spec)
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"image must be a 3D (z, y, x) array, got {image.ndim} dimensions")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"spacing must be three positive voxel sizes (z, y, x) in mm, got {spacing}")
    module = importlib.import_module(_MODULES[filter_kind(settings)])
    return module.response_map(image, tuple(float(s) for s in spacing), settings)


def filter_image(image: str | Path | sitk.Image, spec: Mapping | FilterSettings) -> sitk.Image:
    """The IBSI-2 response map of ``image`` for one filter, as a SimpleITK image.

    Parameters
    ----------
    image : path or SimpleITK.Image
        A scalar 3D image (a file or DICOM series folder is read with
        :func:`radiomix.io.read_image`); a 2D image is filtered as a one-slice
        volume (use ``dimensions: 2D`` filters) and a 2D response returned.
    spec : mapping or settings object
        One filter as a one-key mapping, e.g. ``{"log": {"sigma_mm": 1.5}}``,
        or a settings object such as ``LogFilterSettings(sigma_mm=1.5)``.

    Returns
    -------
    SimpleITK.Image
        Float64 response map with the input's size, origin, spacing and direction.

    Raises
    ------
    radiomix.errors.SpecError
        Unknown filter kind or setting (with a suggestion), or an invalid value.
    """
    from radiomix.io import read_image
    from radiomix.io.images import as_volume

    picture = read_image(image)
    volume = as_volume(picture)
    spacing = tuple(float(s) for s in reversed(volume.GetSpacing()))
    response = response_map(sitk.GetArrayFromImage(volume), spacing, spec)
    result = sitk.GetImageFromArray(response[0] if picture.GetDimension() == 2 else response)
    result.CopyInformation(picture)
    return result
