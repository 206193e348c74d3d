"""Short or damaged image and mask files are an UnreadableFileError naming the file, never zeros.

Each test writes a good file with SimpleITK into ``tmp_path``, checks that it reads back
exactly, then cuts it (or flips bytes inside its compressed block) and expects the typed
error from :func:`radiomix.io.read_image` and :func:`radiomix.io.read_mask`.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import UnreadableFileError
from radiomix.io import read_image, read_mask
from radiomix.io.completeness import check_voxel_data

SHAPE = (12, 20, 24)


def _voxels(dtype) -> np.ndarray:
    values = np.random.default_rng(7).integers(1, 120, size=SHAPE)
    return values.astype(dtype)


def _write(path, voxels, compress: bool):
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(path), useCompression=compress)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(path)), voxels)
    return path


def _truncate(path, fraction: float = 0.6) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as stream:
        stream.truncate(int(size * fraction))


CASES = [
    ("ct.nii.gz", np.int16, True),
    ("mask.nii.gz", np.uint8, True),
    ("pet.nii.gz", np.float32, True),
    ("ct.nii", np.int16, False),
    ("pet.nii", np.float32, False),
    ("ct.nrrd", np.int16, True),
    ("ct_raw.nrrd", np.int16, False),
    ("ct.mha", np.int16, False),
    ("ct_compressed.mha", np.int16, True),
    ("pet.mha", np.float64, False),
]


@pytest.mark.parametrize(("name", "dtype", "compress"), CASES)
def test_a_truncated_image_is_an_unreadable_file_error_naming_the_file(tmp_path, name, dtype, compress):
    path = _write(tmp_path / name, _voxels(dtype), compress)
    _truncate(path)
    with pytest.raises(UnreadableFileError, match=rf"{name}: is truncated or damaged") as raised:
        read_image(path)
    assert "No such file" not in str(raised.value)


@pytest.mark.parametrize(("name", "compress"), [
    ("mask.nii.gz", True), ("mask.nii", False), ("mask.nrrd", True), ("mask.mha", False),
])
def test_a_truncated_uint8_mask_is_an_unreadable_file_error(tmp_path, name, compress):
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[2:10, 3:17, 4:20] = 1
    path = _write(tmp_path / name, mask, compress)
    path.write_bytes(path.read_bytes()[:-24])  # the voxel block's end (a compressed box is small)
    with pytest.raises(UnreadableFileError, match=rf"{name}: is truncated or damaged"):
        read_mask(path)


def test_a_metaimage_header_whose_raw_data_file_is_short(tmp_path):
    path = _write(tmp_path / "ct.mhd", _voxels(np.int16), False)
    _truncate(tmp_path / "ct.raw", 0.9)
    with pytest.raises(UnreadableFileError, match=r"ct\.raw: is truncated or damaged: it holds 10368 bytes"):
        read_image(path)


def test_a_damaged_compressed_metaimage_block_is_an_error(tmp_path):
    """ITK inflates a damaged compressed MetaImage block without complaint."""
    path = _write(tmp_path / "ct.mha", _voxels(np.int16), True)
    content = bytearray(path.read_bytes())
    middle = len(content) * 2 // 3
    content[middle:middle + 40] = bytes(b ^ 0x5A for b in content[middle:middle + 40])
    path.write_bytes(bytes(content))
    with pytest.raises(UnreadableFileError, match=r"ct\.mha: is (truncated or )?damaged"):
        read_image(path)


def test_a_nifti_gzip_missing_its_last_member_bytes_is_inflated_and_reported(tmp_path):
    """Cut just before the gzip trailer: the stream stops before its end-of-stream marker."""
    path = _write(tmp_path / "ct.nii.gz", _voxels(np.int16), True)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(UnreadableFileError, match="stops before its end"):
        read_image(path)


def test_a_multi_member_gzip_nifti_is_complete(tmp_path):
    """The trailer's length covers only the last member: the stream is then inflated to the end."""
    voxels = _voxels(np.int16)
    plain = _write(tmp_path / "ct.nii", voxels, False).read_bytes()
    path = tmp_path / "ct.nii.gz"
    path.write_bytes(gzip.compress(plain[:1000]) + gzip.compress(plain[1000:]))
    check_voxel_data(path)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(path)), voxels)


@pytest.mark.parametrize("name", ["ct.nii.gz", "ct.nii", "ct.mha", "ct.nrrd"])
def test_a_file_with_extra_trailing_bytes_still_reads(tmp_path, name):
    voxels = _voxels(np.int16)
    path = _write(tmp_path / name, voxels, name != "ct.nii")
    if name.endswith(".nii"):
        with open(path, "ab") as stream:
            stream.write(b"\0" * 16)
    check_voxel_data(path)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(path)), voxels)


def test_a_nifti_pair_whose_img_file_is_short(tmp_path):
    path = _write(tmp_path / "ct.hdr", _voxels(np.int16), False)
    _truncate(tmp_path / "ct.img", 0.5)
    with pytest.raises(UnreadableFileError, match=r"ct\.img: is truncated or damaged: it holds 5760 bytes"):
        read_image(path)


@pytest.mark.parametrize(("name", "compress"), [
    ("ct.nii.gz", True), ("ct.nii", False), ("ct.nrrd", True), ("ct_raw.nrrd", False), ("ct.mha", False),
    ("ct_compressed.mha", True),
])
def test_every_cut_is_an_unreadable_file_error(tmp_path, name, compress):
    """Cut anywhere (header, voxels, gzip trailer): a typed error, never other values or another exception."""
    good = _write(tmp_path / name, _voxels(np.int16), compress).read_bytes()
    cut_path = tmp_path / f"cut_{name}"
    cuts = sorted({*np.linspace(0, len(good) - 1, 25).astype(int), *(len(good) - k for k in range(1, 9))})
    for cut in cuts:
        cut_path.write_bytes(good[:cut])
        with pytest.raises(UnreadableFileError, match=rf"cut_{name}"):
            read_image(cut_path)
