"""Quality measures of a registration: overlap, Jacobian determinant, target registration error."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class StageReport:
    """How one optimisation stage (rigid, affine or B-spline) ended.

    Attributes
    ----------
    kind : str
        ``rigid``, ``affine`` or ``bspline``.
    iterations_per_level : tuple of int
        Optimiser iterations at each pyramid level, coarse to fine.
    stop_condition : str
        The optimiser's own description of why the finest level stopped.
    converged : bool
        Whether the finest level met its convergence criterion (rather than
        its iteration limit).
    """

    kind: str
    iterations_per_level: tuple[int, ...]
    stop_condition: str
    converged: bool


@dataclass(frozen=True)
class RegistrationQuality:
    """Quality record of a registration.

    Attributes
    ----------
    metric_before, metric_after : float
        Mattes mutual information metric (ITK's sign: the negative mutual
        information, lower is better) at full resolution with the initial and
        the final transform.
    converged : bool
        Whether every stage converged (see :class:`StageReport`).
    stages : tuple of StageReport
    overlap_before, overlap_after : float
        Fraction (0-1) of the fixed region mapped inside the moving field of
        view by the initial and the final transform.
    jacobian_determinant_min, jacobian_determinant_max : float or None
        Range of the Jacobian determinant of the final transform over the fixed
        grid (B-spline registrations only; 1 means volume preserved).
    folding_count : int or None
        Fixed voxels where that determinant is not positive (the transform
        folds space there); B-spline registrations only.
    elapsed_s : float
        Wall-clock time of the registration (s).
    initial_offset_mm : float
        Shift (mm) the initialisation applied before optimising (0 for
        ``identity``; the re-centring of ``geometry`` or ``moments``).
    """

    metric_before: float
    metric_after: float
    converged: bool
    stages: tuple[StageReport, ...]
    overlap_before: float
    overlap_after: float
    jacobian_determinant_min: float | None
    jacobian_determinant_max: float | None
    folding_count: int | None
    elapsed_s: float
    initial_offset_mm: float = 0.0

    def to_dict(self) -> dict:
        """Plain-data form (for JSON)."""
        return asdict(self)


def overlap_fraction(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform,
                     fixed_mask: sitk.Image | None = None) -> float:
    """Fraction of the fixed region that ``transform`` maps inside the moving field of view.

    Parameters
    ----------
    fixed, moving : SimpleITK.Image
        Only their grids are used.
    transform : SimpleITK.Transform
        Maps fixed physical points to moving physical points.
    fixed_mask : SimpleITK.Image, optional
        The fixed region (non-zero voxels, on the fixed grid); default the whole fixed image.

    Returns
    -------
    float
        In [0, 1]; 0 when the region is empty.
    """
    ones = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(moving)
    inside = sitk.GetArrayFromImage(
        sitk.Resample(ones, fixed, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)) > 0
    if fixed_mask is None:
        return float(inside.mean())
    region = sitk.GetArrayViewFromImage(fixed_mask) != 0
    return float(inside[region].mean()) if region.any() else 0.0


def jacobian_determinant_range(transform: sitk.Transform, reference: sitk.Image) -> tuple[float, float, int]:
    """Range of the Jacobian determinant of ``transform`` over ``reference``'s grid.

    The displacement field of the transform is sampled at the voxel centres and
    differentiated by finite differences (central inside, second-order
    one-sided at the borders, exact for affine transforms).

    Returns
    -------
    minimum, maximum : float
        Smallest and largest determinant (1 = volume preserved, <= 0 = folding).
    folding_count : int
        Voxels where the determinant is not positive.
    """
    dimension = reference.GetDimension()
    field = sitk.TransformToDisplacementField(
        transform, sitk.sitkVectorFloat64, reference.GetSize(), reference.GetOrigin(),
        reference.GetSpacing(), reference.GetDirection())
    displacement = sitk.GetArrayFromImage(field)  # (..., component), array axes reversed
    index_axes = tuple(range(dimension - 1, -1, -1))  # array axis of index dimension 0, 1, ...
    edge_order = 2 if min(reference.GetSize()) >= 3 else 1
    by_index = np.stack([np.gradient(displacement, axis=axis, edge_order=edge_order)
                         for axis in index_axes], axis=-1)  # d u_component / d index_k
    direction = np.asarray(reference.GetDirection()).reshape(dimension, dimension)
    index_per_mm = np.diag(1.0 / np.asarray(reference.GetSpacing())) @ direction.T
    jacobian = np.eye(dimension) + by_index @ index_per_mm
    determinant = np.linalg.det(jacobian)
    return float(determinant.min()), float(determinant.max()), int((determinant <= 0).sum())


def mask_points(mask: sitk.Image, label: int | None = None) -> np.ndarray:
    """Physical positions (mm) of the voxels of a mask, shape ``(n, dimension)``.

    Parameters
    ----------
    mask : SimpleITK.Image
    label : int, optional
        Voxels equal to ``label``; default every non-zero voxel.
    """
    array = sitk.GetArrayViewFromImage(mask)
    selected = array != 0 if label is None else array == label
    indices = np.argwhere(selected)[:, ::-1].astype(float)
    direction = np.asarray(mask.GetDirection()).reshape(mask.GetDimension(), -1)
    return (indices * np.asarray(mask.GetSpacing())) @ direction.T + np.asarray(mask.GetOrigin())


def target_registration_error(estimated: sitk.Transform, true: sitk.Transform,
                              points: np.ndarray) -> np.ndarray:
    """Distance (mm) between where the estimated and the true transform send each point.

    Parameters
    ----------
    estimated, true : SimpleITK.Transform
        Both map fixed physical points to moving physical points.
    points : ndarray, shape (n, dimension)
        Fixed physical points (mm), e.g. from :func:`mask_points`.

    Returns
    -------
    ndarray, shape (n,)
    """
    errors = np.empty(len(points))
    for i, point in enumerate(points):
        point = tuple(float(c) for c in point)
        errors[i] = np.linalg.norm(np.subtract(estimated.TransformPoint(point), true.TransformPoint(point)))
    return errors
