"""IBSI-2 convolutional filters: mean, LoG, Laws, Gabor, separable and Simoncelli wavelets, Riesz.

* :func:`filter_image`: a SimpleITK image (or file) and one filter -> the
  response map as a SimpleITK image on the same grid.
* :func:`response_map`: the same on a ``(z, y, x)`` array with its spacing.
* :mod:`~radiomix.preprocess.filters.settings`: the typed settings of each
  filter kind, :data:`FILTER_SETTINGS`, :func:`filter_image_type_name`.

Separable filters (mean, LoG, Laws, wavelets) run as 1D numba convolutions in
parallel over lines; Gabor, Simoncelli and Riesz filters run as FFTs on all
cores. Nothing is cached between calls.

The filters of pyradiomics' image types are filter kinds too, each computing
its response on a sub-box of the image with the arithmetic of the library
pyradiomics calls (:func:`response_maps_on_box`): :mod:`.recursive_log`
(ITK's recursive LoG), :mod:`.stationary_wavelet` (PyWavelets' SWT),
:mod:`.gradient` (ITK's gradient magnitude), :mod:`.local_binary_pattern`
(scikit-image's 2D LBP), :mod:`.local_binary_pattern_3d` (pyradiomics'
spherical-harmonic LBP) and :mod:`.intensity_transforms` (square, square
root, logarithm, exponential). :func:`radiomix.pyradiomics.translation.image_type_filters`
builds their settings from pyradiomics' ``imageType`` settings.
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

__all__ = ["BOX_KINDS", "FILTER_SETTINGS", "filter_image", "filter_image_type_name", "filter_kind", "filter_to_dict",
           "parse_filter", "parse_filters", "response_map", "response_maps_on_box"]

_BOX_MODULES = {
    "recursive_log": "recursive_log",
    "stationary_wavelet": "stationary_wavelet",
    "gradient": "gradient",
    "local_binary_pattern": "local_binary_pattern",
    "local_binary_pattern_3d": "local_binary_pattern_3d",
    "square": "intensity_transforms",
    "square_root": "intensity_transforms",
    "logarithm": "intensity_transforms",
    "exponential": "intensity_transforms",
}
"""Kind of a pyradiomics image type's filter -> module (of this package) exposing
``response_maps(array, spacing, group, box, roi)``."""

BOX_KINDS = frozenset(_BOX_MODULES)
"""Filter kinds computed on a box of the image only, those of one kind together (:func:`response_maps_on_box`)."""

_MODULES = {kind: f"radiomix.preprocess.filters.{_BOX_MODULES.get(kind, kind)}" for kind in FILTER_SETTINGS}
"""Filter kind -> module exposing ``response_map(image, spacing, settings)`` (IBSI-2 filters) or
``response_maps`` (:data:`_BOX_MODULES`)."""


def response_maps_on_box(array: np.ndarray, spacing: tuple[float, float, float], group,
                         box: tuple[slice, slice, slice], roi: np.ndarray | None = None) -> list[np.ndarray]:
    """Responses of filters of one pyradiomics image-type kind, on a box of the image only, computed together.

    Parameters
    ----------
    array : ndarray, (z, y, x)
        The whole image, in its own pixel type (the filters compute in the
        precision pyradiomics' libraries use for it).
    spacing : tuple of float
        Voxel size ``(z, y, x)`` in mm.
    group : sequence of filter settings
        Settings of one kind of :data:`_BOX_MODULES` (a shared decomposition,
        such as a wavelet's sub-bands, is computed once).
    box : tuple of 3 slices
        The region wanted (steps of 1).
    roi : ndarray of bool, optional
        Voxels computed by ``local_binary_pattern_3d`` (default: all).

    Returns
    -------
    list of ndarray, shape of the box
        One response per settings, in the pixel type of the library
        pyradiomics calls (float32 for LoG and gradient).
    """
    kinds = {filter_kind(settings) for settings in group}
    if len(kinds) != 1 or not kinds <= set(_BOX_MODULES):
        raise ValueError(f"a group holds filters of one kind of {', '.join(_BOX_MODULES)}, got {sorted(kinds)}")
    module = importlib.import_module(_MODULES[kinds.pop()])
    return module.response_maps(array, spacing, group, box, roi)


def response_map(image: np.ndarray, spacing: tuple[float, float, float],
                 spec: Mapping | FilterSettings, keep_pixel_type: bool = False) -> np.ndarray:
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
    keep_pixel_type : bool
        Filter ``image`` in its own pixel type and return the response in the
        type its library gives for it (``intensity.pixel_type: image``;
        pyradiomics' filters: :func:`response_maps_on_box`); other filters
        compute in float64 anyway.

    Returns
    -------
    ndarray of float64 (or the library's type, ``keep_pixel_type``)
        Same shape as ``image``.
    """
    settings = parse_filter(spec)
    image = np.asarray(image, dtype=None if keep_pixel_type else np.float64)
    if image.ndim != 3:
        raise ValueError(f"image must be a 3D (z, y, x) array, got {image.ndim} dimensions")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"spacing must be three positive voxel sizes (z, y, x) in mm, got {spacing}")
    spacing = tuple(float(s) for s in spacing)
    if filter_kind(settings) in _BOX_MODULES:
        whole = tuple(slice(0, n) for n in image.shape)
        response = response_maps_on_box(image, spacing, [settings], whole)[0]
        return np.asarray(response, dtype=None if keep_pixel_type else np.float64)
    module = importlib.import_module(_MODULES[filter_kind(settings)])
    return module.response_map(np.asarray(image, dtype=np.float64), spacing, settings)


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
