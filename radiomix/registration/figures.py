"""A picture of a registration for a person to check: checkerboard and colour overlay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_VIEWS = ("axial", "coronal", "sagittal")


def save_overlay_figure(fixed: sitk.Image, registered: sitk.Image, path, *,
                        fixed_mask: sitk.Image | None = None,
                        registered_mask: sitk.Image | None = None,
                        title: str = "", checker_size_mm: float = 16.0) -> Path:
    """Write a PNG showing how well ``registered`` lies on ``fixed``.

    Top row: a checkerboard alternating tiles of the two images (edges should
    run on across tile borders); bottom row: the fixed image in magenta and
    the registered image in green (aligned structures turn grey). Columns:
    axial, coronal and sagittal slices through the centre of the masks (or
    of the image). Mask outlines: fixed in red, registered in cyan.

    Parameters
    ----------
    fixed : SimpleITK.Image
        The reference image.
    registered : SimpleITK.Image
        The moving image resampled onto the fixed grid.
    path : str or Path
        PNG to write (folders created).
    fixed_mask, registered_mask : SimpleITK.Image, optional
        Masks on the fixed grid, outlined.
    title : str
        Figure title, e.g. ``"SYN001: MR -> CT (rigid)"``.
    checker_size_mm : float
        Checkerboard tile size (mm).

    Returns
    -------
    Path
        The file written.
    """
    fixed_array = _window(sitk.GetArrayFromImage(fixed).astype(float))
    moving_array = _window(sitk.GetArrayFromImage(registered).astype(float))
    masks = [(sitk.GetArrayFromImage(m) != 0, colour)
             for m, colour in ((fixed_mask, "red"), (registered_mask, "cyan")) if m is not None]
    spacing = np.asarray(fixed.GetSpacing())[::-1]  # (z, y, x) mm
    tile = np.maximum(1, np.round(checker_size_mm / spacing)).astype(int)
    z, y, x = np.indices(fixed_array.shape)
    checker = ((z // tile[0] + y // tile[1] + x // tile[2]) % 2).astype(bool)
    checkerboard = np.where(checker, fixed_array, moving_array)
    overlay = np.stack([fixed_array, moving_array, fixed_array], axis=-1)
    centre = _centre(fixed_array.shape, [m for m, _ in masks])

    figure = Figure(figsize=(12, 8.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 3)
    for column, view in enumerate(_VIEWS):
        extent = _extent(view, fixed_array.shape, spacing)
        origin = "upper" if view == "axial" else "lower"
        for row, volume in enumerate((checkerboard, overlay)):
            ax = axes[row, column]
            ax.imshow(_slice(volume, view, centre), cmap="gray", vmin=0.0, vmax=1.0,
                      extent=extent, aspect="equal", origin=origin, interpolation="nearest")
            for mask, colour in masks:
                section = _slice(mask, view, centre)
                if section.any():
                    ax.contour(section.astype(float), levels=[0.5], colors=colour, linewidths=0.8,
                               extent=extent, origin=origin)
            ax.set_axis_off()
        axes[0, column].set_title(f"{view} (checkerboard)")
        axes[1, column].set_title(f"{view} (fixed magenta, moving green)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _window(array: np.ndarray) -> np.ndarray:
    """Intensities scaled to [0, 1] between the 1st and 99th percentiles."""
    low, high = np.percentile(array, (1.0, 99.0))
    if high <= low:
        return np.zeros_like(array)
    return np.clip((array - low) / (high - low), 0.0, 1.0)


def _centre(shape, masks) -> tuple[int, int, int]:
    """Voxel (z, y, x) at the centre of the masks' voxels, else of the volume."""
    union = np.zeros(shape, dtype=bool)
    for mask in masks:
        union |= mask
    if union.any():
        return tuple(int(round(c)) for c in np.argwhere(union).mean(axis=0))
    return tuple(n // 2 for n in shape)


def _slice(volume: np.ndarray, view: str, centre) -> np.ndarray:
    if view == "axial":
        return volume[centre[0]]
    if view == "coronal":
        return volume[:, centre[1]]
    return volume[:, :, centre[2]]


def _extent(view: str, shape, spacing) -> tuple[float, float, float, float]:
    """Image extent (mm) of a view, so that pixels keep their physical aspect."""
    (nz, ny, nx), (sz, sy, sx) = shape, spacing
    if view == "axial":
        return (0.0, nx * sx, ny * sy, 0.0)
    if view == "coronal":
        return (0.0, nx * sx, 0.0, nz * sz)
    return (0.0, ny * sy, 0.0, nz * sz)
