"""The single-inflation NIfTI reader (radiomix.io.nifti) gives the image SimpleITK reads.

Every scalar pixel type, compressed or not, with a rotated geometry: pixel type, voxels,
origin, spacing, direction and header metadata equal to ``SimpleITK.ReadImage``'s; NaN and infinite
float voxels are zeros (as ITK reads them) or kept, as asked; scaled and multi-member files.
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import LabelAbsentError, UnreadableFileError
from radiomix.io import read_image, read_mask
from radiomix.io.nifti import file_content, read_unscaled_nifti
from radiomix.io.nrrd import read_as_simpleitk

PIXEL_TYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64, np.float32,
               np.float64]


def _write(path, values: np.ndarray, compress: bool):
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.7, 1.25, 3.0))
    image.SetOrigin((-12.5, 40.25, -300.0))
    angle = 0.3
    image.SetDirection((np.cos(angle), -np.sin(angle), 0.0, np.sin(angle), np.cos(angle), 0.0, 0.0, 0.0, 1.0))
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


def _assert_same_image(image: sitk.Image, itk: sitk.Image) -> None:
    assert image.GetPixelID() == itk.GetPixelID()
    assert image.GetSize() == itk.GetSize()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(itk))
    assert (image.GetOrigin(), image.GetSpacing(), image.GetDirection()) == \
        (itk.GetOrigin(), itk.GetSpacing(), itk.GetDirection())
    assert _printable_metadata(image) == _printable_metadata(itk)


def _printable_metadata(image: sitk.Image) -> dict[str, str]:
    """The header fields; not ITK's ``ITK_original_*`` entries, matrices SimpleITK cannot print or set."""
    return {key: image.GetMetaData(key) for key in image.GetMetaDataKeys() if not key.startswith("ITK_original_")}


@pytest.mark.parametrize("compress", [True, False], ids=["nii.gz", "nii"])
@pytest.mark.parametrize("dtype", PIXEL_TYPES, ids=lambda t: np.dtype(t).name)
def test_every_scalar_type_reads_as_simpleitk_reads_it(tmp_path, dtype, compress):
    rng = np.random.default_rng(11)
    values = (rng.normal(size=(5, 6, 7)) * 50).astype(dtype) if np.dtype(dtype).kind == "f" else \
        rng.integers(np.iinfo(dtype).min // 2, np.iinfo(dtype).max // 2, size=(5, 6, 7), dtype=dtype)
    path = _write(tmp_path / ("image.nii.gz" if compress else "image.nii"), values, compress)
    itk = sitk.ReadImage(str(path))
    fast = read_unscaled_nifti(path, keep_non_finite=False)
    assert fast is not None
    _assert_same_image(fast, itk)
    _assert_same_image(read_as_simpleitk(path), itk)
    _assert_same_image(read_image(path), itk)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_voxels_are_zeros_as_itk_reads_them_or_kept(tmp_path, dtype):
    values = np.arange(60, dtype=dtype).reshape(3, 4, 5)
    values[0, 1, 2], values[1, 2, 3], values[2, 0, 0] = np.nan, np.inf, -np.inf
    path = _write(tmp_path / "pet.nii.gz", values, True)
    itk = sitk.ReadImage(str(path))
    _assert_same_image(read_as_simpleitk(path), itk)
    assert sitk.GetArrayViewFromImage(itk)[0, 1, 2] == 0  # ITK 5's reader, which the fast path follows
    kept = read_unscaled_nifti(path, keep_non_finite=True)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(kept), values)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)), values)


def test_a_scaled_integer_file_is_left_to_itk(tmp_path):
    values = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    plain = _write(tmp_path / "plain.nii", values, False)
    content = bytearray(plain.read_bytes())
    struct.pack_into("<2f", content, 112, 2.0, -5.0)  # scl_slope, scl_inter of NIfTI-1
    path = tmp_path / "scaled.nii.gz"
    path.write_bytes(gzip.compress(bytes(content)))
    assert read_unscaled_nifti(path, keep_non_finite=False) is None
    itk = sitk.ReadImage(str(path))
    _assert_same_image(read_as_simpleitk(path), itk)
    _assert_same_image(read_image(path), itk)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)), values * 2.0 - 5.0)


def test_a_multi_member_gzip_file_reads_whole(tmp_path):
    values = np.arange(210, dtype=np.uint8).reshape(5, 6, 7)
    plain = _write(tmp_path / "plain.nii", values, False).read_bytes()
    path = tmp_path / "mask.nii.gz"
    path.write_bytes(gzip.compress(plain[:400]) + gzip.compress(plain[400:]))
    _assert_same_image(read_unscaled_nifti(path, keep_non_finite=False), sitk.ReadImage(str(path)))


@pytest.mark.parametrize("members", [[(0, 562)], [(0, 400), (400, 562)], [(0, 100), (100, 562)],
                                     [(0, 0), (0, 562)], [(0, 562), (562, 562)]])
def test_gzip_content_inflates_whole_whatever_its_members(tmp_path, members):
    """The output buffer is sized from the last member's ISIZE: members longer or shorter than it, or empty."""
    plain = _write(tmp_path / "plain.nii", np.arange(210, dtype=np.uint8).reshape(5, 6, 7), False).read_bytes()
    assert len(plain) == 562
    path = tmp_path / "image.nii.gz"
    path.write_bytes(b"".join(gzip.compress(plain[start:stop]) for start, stop in members))
    assert file_content(path) == plain


def test_a_zlib_stream_named_gz_inflates_whole(tmp_path):
    """A zlib stream (no gzip trailer, so no size hint) is read as before."""
    plain = _write(tmp_path / "plain.nii", np.arange(210, dtype=np.uint8).reshape(5, 6, 7), False).read_bytes()
    path = tmp_path / "image.nii.gz"
    path.write_bytes(zlib.compress(plain))
    assert file_content(path) == plain


def test_a_cut_gzip_stream_is_an_unreadable_file_error(tmp_path):
    values = np.random.default_rng(5).integers(0, 4000, size=(8, 9, 10), dtype=np.int16)
    path = _write(tmp_path / "ct.nii.gz", values, True)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(UnreadableFileError, match=r"ct\.nii\.gz: is truncated or damaged"):
        read_unscaled_nifti(path, keep_non_finite=False)


def test_an_integer_mask_file_reads_through_the_fast_path(tmp_path):
    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[1:3, 1:4, 2:5] = 2
    image_path = _write(tmp_path / "image.nii.gz", labels.astype(np.float32), True)
    mask_path = _write(tmp_path / "mask.nii.gz", labels, True)
    mask = read_mask(mask_path, reference=image_path, label=2)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(mask), labels == 2)


def test_without_a_writable_temporary_folder_itk_reads_the_compressed_header(tmp_path, monkeypatch):
    import tempfile

    values = np.arange(210, dtype=np.int16).reshape(5, 6, 7)
    path = _write(tmp_path / "ct.nii.gz", values, True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    _assert_same_image(read_unscaled_nifti(path, keep_non_finite=False), sitk.ReadImage(str(path)))



def test_a_binary_uint8_mask_file_is_read_as_the_threshold_gives_it(tmp_path):
    """Label 1 of a 0/1 UInt8 file: the file's voxels, the reference's geometry, no file metadata; an
    in-memory mask image is left as it was."""
    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[1:3, 1:4, 2:5] = 1
    path = _write(tmp_path / "mask.nii.gz", labels, True)
    reference = sitk.Cast(sitk.ReadImage(str(path)), sitk.sitkFloat32)
    origin = reference.GetOrigin()
    reference.SetOrigin((origin[0] + 1e-7, origin[1], origin[2]))  # within the grid tolerance: the mask takes it
    mask = read_mask(path, reference=reference)
    assert mask.GetPixelID() == sitk.sitkUInt8 and mask.GetMetaDataKeys() == ()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(mask), labels)
    assert (mask.GetOrigin(), mask.GetSpacing(), mask.GetDirection()) == \
        (reference.GetOrigin(), reference.GetSpacing(), reference.GetDirection())
    in_memory = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(in_memory, reference=reference)), labels)
    assert in_memory.GetOrigin() == origin and in_memory.GetMetaDataKeys() != ()
    with pytest.raises(LabelAbsentError, match="label 2 is not in the mask; labels present: \\[0, 1\\]"):
        read_mask(path, reference=reference, label=2)


@pytest.mark.parametrize("compress", [True, False], ids=["nii.gz", "nii"])
def test_a_header_read_again_is_not_given_to_itk_again_and_another_header_is(tmp_path, monkeypatch, compress):
    """ITK's reading of a header is kept by its bytes: the same file read again gives the same image without
    ITK; a file with other header bytes (another origin) is read by ITK and gets its own geometry."""
    suffix = ".nii.gz" if compress else ".nii"
    values = np.arange(210, dtype=np.int16).reshape(5, 6, 7)
    first = _write(tmp_path / f"first{suffix}", values, compress)
    _assert_same_image(read_image(first), sitk.ReadImage(str(first)))
    moved = sitk.ReadImage(str(first))
    moved.SetOrigin((1.0, 2.0, 3.0))
    second = tmp_path / f"second{suffix}"
    sitk.WriteImage(moved, str(second), useCompression=compress)
    expected = sitk.ReadImage(str(second))

    def no_itk(*args, **kwargs):
        raise AssertionError("ITK asked to read a header it has read")

    with monkeypatch.context() as patch:
        patch.setattr(sitk.ImageFileReader, "ReadImageInformation", no_itk)
        _assert_same_image(read_image(first), sitk.ReadImage(str(first)))
        with pytest.raises(AssertionError, match="ITK asked"):
            read_image(second)
    _assert_same_image(read_image(second), expected)
    assert read_image(second).GetOrigin() == (1.0, 2.0, 3.0)


@pytest.mark.parametrize("compress", [True, False], ids=["nii.gz", "nii"])
def test_a_complete_file_is_read_once_and_a_short_one_still_names_its_problem(tmp_path, monkeypatch, compress):
    """The completeness check of a whole file runs on the bytes read for its voxels; a cut file is still
    the completeness check's error naming the file."""
    from radiomix.io import images

    suffix = ".nii.gz" if compress else ".nii"
    values = np.random.default_rng(3).integers(0, 4000, size=(8, 9, 10), dtype=np.int16)
    path = _write(tmp_path / f"ct{suffix}", values, compress)
    stored = path.read_bytes()
    with monkeypatch.context() as patch:
        patch.setattr(images, "check_voxel_data", lambda _: pytest.fail("a complete file checked again"))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)), values)
    path.write_bytes(stored[:-30])
    with pytest.raises(UnreadableFileError, match=re.escape(f"ct{suffix}: is truncated or damaged")):
        read_image(path)


def test_a_scaled_float_file_is_inflated_once_and_keeps_its_non_finite_voxels(tmp_path, monkeypatch):
    """A scaled file is ITK's to read; the bytes read for the completeness check also give back the NaN and
    infinite voxels ITK replaced with 0: one inflation, no second check."""
    from radiomix.io import images, nifti

    values = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    values[1, 2, 3], values[2, 0, 1] = np.nan, -np.inf
    plain = bytearray(_write(tmp_path / "plain.nii", values, False).read_bytes())
    struct.pack_into("<2f", plain, 112, 2.0, 0.0)  # scl_slope 2: ITK scales (and zeroes the NaN)
    path = tmp_path / "scaled.nii.gz"
    path.write_bytes(gzip.compress(bytes(plain)))
    inflations = []
    counted = nifti.file_content
    monkeypatch.setattr(nifti, "file_content", lambda *args: inflations.append(1) or counted(*args))
    monkeypatch.setattr(images, "check_voxel_data", lambda _: pytest.fail("a complete file checked again"))
    image = read_image(path)
    assert len(inflations) == 1
    expected = values * 2.0
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), expected)  # NaN where NaN, -inf kept


@pytest.mark.parametrize("name", ["mask.nii.gz", "mask.nii", "scaled.nii.gz", "mask.mha"])
def test_a_file_read_without_metadata_is_the_same_image_without_any(tmp_path, name):
    """``read_image_file(metadata=False)``: the voxels and geometry of the file, no header metadata, whichever
    reader reads it (the NIfTI fast path, ITK's for a scaled file, the MetaImage one)."""
    from radiomix.io.images import read_image_file

    labels = np.zeros((4, 5, 6), dtype=np.uint8)
    labels[1:3, 1:4, 2:5] = 1
    path = tmp_path / name
    if name.startswith("scaled"):
        plain = bytearray(_write(tmp_path / "plain.nii", labels, False).read_bytes())
        struct.pack_into("<2f", plain, 112, 2.0, 0.0)
        path.write_bytes(gzip.compress(bytes(plain)))
    elif name.endswith(".mha"):
        image = sitk.GetImageFromArray(labels)
        image.SetSpacing((0.7, 1.25, 3.0))
        sitk.WriteImage(image, str(path))
    else:
        _write(path, labels, name.endswith(".gz"))
    full = read_image_file(path)
    bare = read_image_file(path, metadata=False)
    assert full.GetMetaDataKeys() and not bare.GetMetaDataKeys()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(bare), sitk.GetArrayViewFromImage(full))
    assert (bare.GetPixelID(), bare.GetOrigin(), bare.GetSpacing(), bare.GetDirection()) == \
        (full.GetPixelID(), full.GetOrigin(), full.GetSpacing(), full.GetDirection())
    assert read_image_file(path).GetMetaDataKeys() == full.GetMetaDataKeys()  # the kept header still has them
    # read_image passes the choice on (extraction reads its image so)
    assert read_image(path).GetMetaDataKeys() == full.GetMetaDataKeys()
    bare_volume, full_volume = read_image(path, metadata=False), read_image(path)  # alive while their views are read
    assert not bare_volume.GetMetaDataKeys()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(bare_volume), sitk.GetArrayViewFromImage(full_volume))
