"""Modality intensity handling: CT in Hounsfield units, MR bias-field correction and normalisation.

PET is handled by :mod:`radiomix.preprocess.suv`.

MR intensities have no physical unit: they differ between scanners, sessions
and even positions in one image (the bias field). :func:`n4_bias_correction`
removes the smooth multiplicative bias field (N4, Tustison et al. 2010), and
:func:`normalise_mr` puts intensities on a common scale, either as z-scores or
between two percentiles, computed within a region: the ROI, a body mask from
:func:`body_mask`, or the whole image (:func:`normalise_whole_image`,
pyradiomics' ``normalize``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import SimpleITK as sitk

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError

MrNormalisation = Literal["zscore", "percentile"]

_HU_AIR_CEILING = -200.0
"""A CT in HU holds air or lung (about -1000 to -500 HU) somewhere; lowest values above this are suspect."""


def ct_hu(image: sitk.Image, rescale_slope: float = 1.0, rescale_intercept: float = 0.0) -> sitk.Image:
    """A CT image in Hounsfield units: ``HU = rescale_slope * value + rescale_intercept``.

    DICOM series read by SimpleITK, and NIfTI files converted from them, are
    already in HU (the defaults leave them unchanged). Raw stored values (for
    instance a NIfTI written without the DICOM rescale) are caught by a check:
    a CT always contains air or lung somewhere, so an image whose lowest value
    is above -200 is refused.

    Parameters
    ----------
    image : SimpleITK.Image
    rescale_slope, rescale_intercept : float
        DICOM Rescale Slope (0028,1053) and Rescale Intercept (0028,1052).

    Returns
    -------
    SimpleITK.Image
        Float32, HU.

    Raises
    ------
    InputError
        The result's lowest value is above -200 HU (no air): the image is not
        in HU; pass the rescale (often ``rescale_intercept=-1024``).
    """
    hu = sitk.Cast(image, sitk.sitkFloat32)
    if (rescale_slope, rescale_intercept) != (1.0, 0.0):
        hu = sitk.Cast(sitk.Cast(image, sitk.sitkFloat64) * rescale_slope + rescale_intercept,
                       sitk.sitkFloat32)
    lowest = float(np.min(sitk.GetArrayViewFromImage(hu)))
    if lowest > _HU_AIR_CEILING:
        raise InputError(
            f"the CT's lowest value is {lowest:g}, but a CT in Hounsfield units holds air or lung "
            "(about -1000 HU) somewhere: it looks like raw stored values. Pass the DICOM "
            "rescale (rescale_slope, rescale_intercept; often intercept -1024)")
    return hu


def body_mask(image: sitk.Image, *, closing_radius_mm: float = 5.0) -> sitk.Image:
    """A mask of the body: Otsu threshold, largest connected part, gaps closed and holes filled.

    Parameters
    ----------
    image : SimpleITK.Image
        MR (or PET or CT) image whose background is darker than the body.
    closing_radius_mm : float
        Radius (mm) of the morphological closing that bridges thin dark gaps
        (lungs, air in the bowel, signal voids) before holes are filled.

    Returns
    -------
    SimpleITK.Image
        UInt8 mask (1 = body) on the image's grid.

    Raises
    ------
    EmptyRoiError
        Nothing is brighter than the Otsu threshold (a constant image).
    """
    foreground = sitk.OtsuThreshold(sitk.Cast(image, sitk.sitkFloat32), 0, 1)
    if not sitk.GetArrayViewFromImage(foreground).any():
        raise EmptyRoiError("no body found: the image is constant, so no threshold separates "
                            "body from background; give a mask instead")
    components = sitk.RelabelComponent(sitk.ConnectedComponent(foreground), sortByObjectSize=True)
    largest = components == 1
    radius = [max(1, int(round(closing_radius_mm / s))) for s in image.GetSpacing()]
    closed = sitk.BinaryMorphologicalClosing(largest, radius)
    filled = sitk.BinaryFillhole(closed)
    return sitk.Cast(filled, sitk.sitkUInt8)


def normalise_whole_image(image: sitk.Image, scale: float = 1.0, clip: float | None = None) -> sitk.Image:
    """z-scores over the whole image, clipped and scaled: pyradiomics' ``normalize``.

    ``scale * clip((x - mean) / sd, -clip, clip)`` with the mean and the
    sample standard deviation of every voxel (SimpleITK's ``Normalize``).

    Parameters
    ----------
    image : SimpleITK.Image
    scale : float
        Factor of the z-scores (pyradiomics' ``normalizeScale``).
    clip : float or None
        z-scores beyond +-``clip`` are set to +-``clip`` (``removeOutliers``);
        None: no clipping.

    Returns
    -------
    SimpleITK.Image
        Float64, on the image's grid.
    """
    normalised = sitk.Normalize(image)
    if clip is not None:
        values = sitk.GetArrayFromImage(normalised)
        np.clip(values, -clip, clip, out=values)
        clipped = sitk.GetImageFromArray(values)
        clipped.CopyInformation(normalised)
        normalised = clipped
    return normalised * scale


def normalise_mr(image: sitk.Image, method: MrNormalisation = "zscore",
                 region: sitk.Image | Literal["body", "image"] = "body",
                 percentiles: tuple[float, float] = (1.0, 99.0), scale: float = 1.0,
                 clip: float | None = None) -> sitk.Image:
    """MR intensities normalised within a region.

    Parameters
    ----------
    image : SimpleITK.Image
    method : {"zscore", "percentile"}
        ``zscore``: ``(I - mean) / standard deviation`` of the region.
        ``percentile``: ``(I - p_low) / (p_high - p_low)`` with the region's
        percentiles, so that they map to 0 and 1 (values beyond are kept).
    region : SimpleITK.Image, "body" or "image"
        Mask (non-zero = inside) on the image's grid, e.g. the ROI; ``"body"``
        computes :func:`body_mask`; ``"image"``: every voxel (a ``zscore``
        is then :func:`normalise_whole_image`'s, float64).
    percentiles : tuple of float
        ``(p_low, p_high)`` in 0-100, for ``percentile``.
    scale : float
        Factor applied last.
    clip : float or None
        Normalised values beyond +-``clip`` are set to +-``clip`` (before ``scale``).

    Returns
    -------
    SimpleITK.Image
        Float32, dimensionless, on the image's grid.

    Raises
    ------
    GeometryMismatchError
        The region is not on the image's grid.
    EmptyRoiError
        The region holds no voxel.
    InputError
        The region is constant (no spread to normalise by).
    """
    if method not in ("zscore", "percentile"):
        raise ValueError(f"method must be 'zscore' or 'percentile', got {method!r}")
    low_percentile, high_percentile = percentiles
    if not 0.0 <= low_percentile < high_percentile <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    if isinstance(region, str) and region == "image":
        if method == "zscore":
            return normalise_whole_image(image, scale, clip)
        values = sitk.GetArrayViewFromImage(image).astype(np.float64).reshape(-1)
    else:
        values = _region_values(image, body_mask(image) if isinstance(region, str) else region)
    if method == "zscore":
        centre, spread = float(values.mean()), float(values.std())
    else:
        low, high = np.percentile(values, percentiles)
        centre, spread = float(low), float(high - low)
    if not spread > 0.0:
        raise InputError(f"the normalisation region is constant (all {centre:g}); "
                         "a z-score or percentile scale needs intensities that vary")
    array = (sitk.GetArrayFromImage(image).astype(np.float64) - centre) / spread
    if clip is not None:
        np.clip(array, -clip, clip, out=array)
    array *= scale
    normalised = sitk.GetImageFromArray(array.astype(np.float32))
    normalised.CopyInformation(image)
    return normalised


def n4_bias_correction(image: sitk.Image, mask: sitk.Image | None = None, *,
                       shrink_factor: int = 2,
                       iterations: tuple[int, ...] = (50, 50, 50, 50),
                       convergence_threshold: float = 1e-3,
                       control_points: int = 4) -> tuple[sitk.Image, sitk.Image]:
    """N4 bias-field correction of an MR image.

    The bias field is estimated on the image shrunk by ``shrink_factor``
    (faster, and the field is smooth) and applied at full resolution.

    Parameters
    ----------
    image : SimpleITK.Image
    mask : SimpleITK.Image, optional
        Where the field is fitted (non-zero = inside), on the image's grid;
        default :func:`body_mask`. Voxels with non-positive intensity are left
        out (N4 works on log intensities).
    shrink_factor : int
        Shrink factor for the estimation (1 = full resolution).
    iterations : tuple of int
        Iterations at each of N4's fitting levels (each level doubles the
        B-spline control-point resolution).
    convergence_threshold : float
        N4's convergence threshold.
    control_points : int
        Control points per dimension of the field at the first level (at least 4).

    Returns
    -------
    corrected : SimpleITK.Image
        Float32, ``image / bias`` on the image's grid.
    bias_field : SimpleITK.Image
        Float32, the multiplicative field (about 1).

    Raises
    ------
    GeometryMismatchError, EmptyRoiError
        The mask is off the image's grid, or no positive voxel lies inside it.
    """
    if shrink_factor < 1:
        raise ValueError(f"shrink_factor must be at least 1, got {shrink_factor}")
    if control_points < 4:
        raise ValueError("control_points must be at least 4 (spline order 3 + 1)")
    source = sitk.Cast(image, sitk.sitkFloat32)
    region = body_mask(source) if mask is None else mask
    _region_values(source, region)
    fit_mask = sitk.Cast((sitk.Cast(region, sitk.sitkUInt8) != 0) & (source > 0), sitk.sitkUInt8)
    if not sitk.GetArrayViewFromImage(fit_mask).any():
        raise EmptyRoiError("N4 needs positive intensities inside the mask; none are")
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations(list(iterations))
    corrector.SetConvergenceThreshold(convergence_threshold)
    corrector.SetNumberOfControlPoints([control_points] * source.GetDimension())
    shrink = [shrink_factor] * source.GetDimension()
    corrector.Execute(sitk.Shrink(source, shrink), sitk.Shrink(fit_mask, shrink))
    bias_field = sitk.Cast(sitk.Exp(corrector.GetLogBiasFieldAsImage(source)), sitk.sitkFloat32)
    return sitk.Cast(source / bias_field, sitk.sitkFloat32), bias_field


def _region_values(image: sitk.Image, region: sitk.Image) -> np.ndarray:
    """Intensities of ``image`` inside ``region`` (checked to share its grid and be non-empty)."""
    same_grid = (region.GetSize() == image.GetSize()
                 and np.allclose(region.GetOrigin(), image.GetOrigin(), atol=1e-3)
                 and np.allclose(region.GetSpacing(), image.GetSpacing(), atol=1e-3)
                 and np.allclose(region.GetDirection(), image.GetDirection(), atol=1e-6))
    if not same_grid:
        raise GeometryMismatchError("the region mask is not on the image's grid (size, origin, "
                                    "spacing, direction); resample it onto the image first")
    inside = sitk.GetArrayViewFromImage(region) != 0
    if not inside.any():
        raise EmptyRoiError("the region mask holds no voxel")
    return sitk.GetArrayViewFromImage(image)[inside].astype(np.float64)
