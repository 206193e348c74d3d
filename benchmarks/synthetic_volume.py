"""The benchmark's large synthetic case: a CT-like 512 x 512 x 300 volume with a large lesion.

Generated deterministically (seed 0) and written once as NIfTI (int16 image, uint8 mask)
under the benchmark's scratch folder, outside the repository. The body is soft tissue
(about 40 HU, noise sd 15 HU) in air (-1000 HU); the lesion is an ellipsoid with semi-axes
60 x 45 x 50 mm (x, y, z), about 0.57 l: some 590,000 voxels of 0.8 x 0.8 x 1.5 mm, 71,000
after IBSI resampling to 2 mm, with a smooth heterogeneous texture (a coarse random field
interpolated to the voxel grid) plus voxel noise, so texture matrices are well filled.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SHAPE_ZYX = (300, 512, 512)
SPACING_XYZ_MM = (0.8, 0.8, 1.5)
SEMI_AXES_XYZ_MM = (60.0, 45.0, 50.0)
SEED = 0


def _write_atomic(image, path: Path) -> None:
    """Write a SimpleITK image (compressed) under a temporary name, then move it into place."""
    import SimpleITK as sitk

    partial = path.with_name(f".{path.name}.{os.getpid()}.partial.nii.gz")
    sitk.WriteImage(image, str(partial), True)
    os.replace(partial, path)


def arrays() -> tuple[np.ndarray, np.ndarray]:
    """The image (int16, HU) and lesion mask (uint8) as ``(z, y, x)`` arrays."""
    from scipy import ndimage

    rng = np.random.default_rng(SEED)
    spacing_zyx = np.array(SPACING_XYZ_MM[::-1])
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(SHAPE_ZYX, spacing_zyx)]
    z, y, x = np.meshgrid(*axes, indexing="ij", sparse=True)
    body = (x / 190.0) ** 2 + (y / 150.0) ** 2 <= 1.0
    semi_z = SEMI_AXES_XYZ_MM[2]
    lesion = ((x - 30.0) / SEMI_AXES_XYZ_MM[0]) ** 2 + ((y + 20.0) / SEMI_AXES_XYZ_MM[1]) ** 2 \
        + (z / semi_z) ** 2 <= 1.0
    coarse = rng.normal(0.0, 1.0, size=(30, 52, 52))
    field = ndimage.zoom(coarse, [n / c for n, c in zip(SHAPE_ZYX, coarse.shape)], order=1)
    image = np.where(body, 40.0, -1000.0) + rng.normal(0.0, 15.0, size=SHAPE_ZYX)
    image += np.where(lesion, 30.0 + 60.0 * field, 0.0)
    return np.clip(np.rint(image), -1024, 3071).astype(np.int16), lesion.astype(np.uint8)


def large_volume(folder: Path) -> tuple[Path, Path]:
    """Paths of the image and mask files under ``folder``, written on first use."""
    import SimpleITK as sitk

    image_path, mask_path = folder / "large_synthetic_image.nii.gz", folder / "large_synthetic_mask.nii.gz"
    if image_path.exists() and mask_path.exists():
        return image_path, mask_path
    folder.mkdir(parents=True, exist_ok=True)
    image, mask = arrays()
    for values, path in ((image, image_path), (mask, mask_path)):
        picture = sitk.GetImageFromArray(values)
        picture.SetSpacing(SPACING_XYZ_MM)
        _write_atomic(picture, path)
    return image_path, mask_path
