"""Compressed MetaImage files are inflated once, checked, and read exactly as SimpleITK reads them."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.io import read_image
from radiomix.io.metaimage import read_compressed_metaimage

PIXEL_TYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64, np.float32,
               np.float64]


def _assert_same_image(ours: sitk.Image, theirs: sitk.Image) -> None:
    assert ours.GetPixelID() == theirs.GetPixelID() and ours.GetSize() == theirs.GetSize()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ours), sitk.GetArrayViewFromImage(theirs))
    np.testing.assert_allclose(ours.GetOrigin(), theirs.GetOrigin())
    np.testing.assert_allclose(ours.GetSpacing(), theirs.GetSpacing())
    np.testing.assert_allclose(ours.GetDirection(), theirs.GetDirection())


@pytest.mark.parametrize("dtype", PIXEL_TYPES)
@pytest.mark.parametrize("shape", [(5, 7, 9), (6, 11)])
def test_compressed_files_read_as_simpleitk_reads_them(tmp_path, dtype, shape):
    rng = np.random.default_rng(len(shape) * 100 + PIXEL_TYPES.index(dtype))
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    voxels = (rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype) if info
              else rng.normal(0, 1e3, size=shape).astype(dtype))
    image = sitk.GetImageFromArray(voxels)
    dimension = len(shape)
    image.SetSpacing(rng.uniform(0.3, 3.0, dimension).tolist())
    image.SetOrigin(rng.uniform(-200, 200, dimension).tolist())
    rotation, _ = np.linalg.qr(rng.normal(size=(dimension, dimension)))
    image.SetDirection(rotation.ravel().tolist())
    path = tmp_path / "image.mha"
    sitk.WriteImage(image, str(path), useCompression=True)
    ours = read_compressed_metaimage(path)
    assert ours is not None
    _assert_same_image(ours, sitk.ReadImage(str(path)))


def test_a_detached_compressed_data_file(tmp_path):
    voxels = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    path = tmp_path / "image.mhd"
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(path), useCompression=True)
    ours = read_compressed_metaimage(path)
    assert ours is not None
    _assert_same_image(ours, sitk.ReadImage(str(path)))


def test_big_endian_compressed_data(tmp_path):
    voxels = np.arange(-30, 30, dtype=np.float32).reshape(3, 4, 5)
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = True\n"
              "CompressedData = True\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 1 2 3\n"
              "ElementSpacing = 0.5 0.5 2\nDimSize = 5 4 3\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n")
    path = tmp_path / "big.mha"
    path.write_bytes(header.encode() + zlib.compress(voxels.astype(">f4").tobytes()))
    ours = read_compressed_metaimage(path)
    assert ours is not None
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ours), voxels)
    # SimpleITK 2.5 reads raw big-endian data right but does not swap compressed big-endian data;
    # the geometry is the header's in both.
    theirs = sitk.ReadImage(str(path))
    assert ours.GetPixelID() == theirs.GetPixelID() == sitk.sitkFloat32
    assert ours.GetOrigin() == theirs.GetOrigin() == (1.0, 2.0, 3.0) and ours.GetSpacing() == (0.5, 0.5, 2.0)


def test_raw_and_vector_files_are_left_to_simpleitk(tmp_path):
    voxels = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    raw = tmp_path / "raw.mha"
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(raw))
    assert read_compressed_metaimage(raw) is None
    vector = tmp_path / "vector.mha"
    sitk.WriteImage(sitk.GetImageFromArray(np.stack([voxels, voxels], axis=-1), isVector=True), str(vector),
                    useCompression=True)
    assert read_compressed_metaimage(vector) is None
    assert read_image(raw).GetSize() == (5, 4, 3)
