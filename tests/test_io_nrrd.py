"""The fast NRRD reader gives exactly what SimpleITK reads, and leaves every other file to SimpleITK.

Files are written by SimpleITK (its NRRD writer: ``left-posterior-superior``,
gzip when compressed) or by hand (other world spaces, big-endian and raw data),
then read both ways and compared voxel for voxel and in geometry.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import UnreadableFileError
from radiomix.io import read_image
from radiomix.io.nrrd import read_as_simpleitk, read_simple_nrrd

from conftest import require_data

PIXEL_TYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
               np.float32, np.float64]


def assert_same_image(fast: sitk.Image, reference: sitk.Image) -> None:
    assert fast.GetPixelID() == reference.GetPixelID()
    assert fast.GetSize() == reference.GetSize()
    assert fast.GetSpacing() == reference.GetSpacing()
    assert fast.GetOrigin() == reference.GetOrigin()
    assert fast.GetDirection() == reference.GetDirection()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(fast), sitk.GetArrayViewFromImage(reference))


def rotation(angles) -> np.ndarray:
    """A 3x3 rotation matrix from three angles (radians) about x, y and z."""
    a, b, c = angles
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def test_pyradiomics_cases_read_as_simpleitk_reads_them():
    folder = require_data("pyradiomics/cases")
    files = sorted(folder.glob("*.nrrd"))
    assert files
    for path in files:
        fast = read_simple_nrrd(path)
        assert fast is not None, f"{path.name} left the fast path"
        assert_same_image(fast, sitk.ReadImage(str(path)))


@settings(max_examples=30, deadline=None)
@given(pixel_type=st.sampled_from(PIXEL_TYPES),
       shape=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
       spacing=st.tuples(*[st.floats(0.1, 7.0)] * 3),
       origin=st.tuples(*[st.floats(-300.0, 300.0)] * 3),
       angles=st.tuples(*[st.floats(-np.pi, np.pi)] * 3),
       compress=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_files_written_by_simpleitk_read_identically(tmp_path_factory, pixel_type, shape, spacing, origin, angles,
                                                      compress, seed):
    info = np.iinfo(pixel_type) if np.issubdtype(pixel_type, np.integer) else None
    rng = np.random.default_rng(seed)
    if info is None:
        voxels = rng.normal(0, 1000, size=shape).astype(pixel_type)
    else:
        voxels = rng.integers(info.min, info.max, size=shape, dtype=pixel_type, endpoint=True)
    image = sitk.GetImageFromArray(voxels)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(rotation(angles).ravel().tolist())
    path = tmp_path_factory.mktemp("nrrd") / "image.nrrd"
    sitk.WriteImage(image, str(path), compress)
    fast = read_simple_nrrd(path)
    assert fast is not None
    assert_same_image(fast, sitk.ReadImage(str(path)))


def write_nrrd(path, voxels: np.ndarray, fields: dict[str, str], encoding: str = "gzip") -> None:
    """A hand-written attached NRRD file (array (z, y, x) -> sizes x y z)."""
    header = ["NRRD0004", f"type: {fields.pop('type')}", "dimension: 3",
              f"sizes: {' '.join(str(n) for n in voxels.shape[::-1])}", f"encoding: {encoding}"]
    header += [f"{name}: {value}" for name, value in fields.items()]
    data = voxels.tobytes()
    if encoding == "gzip":
        data = gzip.compress(data)
    path.write_bytes(("\n".join(header) + "\n\n").encode() + data)


@pytest.mark.parametrize("space", ["right-anterior-superior", "left-anterior-superior", "left-posterior-superior"])
def test_world_spaces_become_lps_as_in_itk(tmp_path, space):
    path = tmp_path / "image.nrrd"
    voxels = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    write_nrrd(path, voxels, {"type": "short", "endian": "little", "space": space,
                              "space directions": "(0.8,0.1,0) (0,-0.9,0.05) (0.2,0,3)",
                              "space origin": "(-10.5,20.25,3)", "kinds": "domain domain domain"})
    fast = read_simple_nrrd(path)
    assert fast is not None
    assert_same_image(fast, sitk.ReadImage(str(path)))


def test_big_endian_raw_data(tmp_path):
    path = tmp_path / "image.nrrd"
    voxels = np.arange(-30, 30, dtype=">f8").reshape(3, 4, 5)
    write_nrrd(path, voxels, {"type": "double", "endian": "big", "space": "left-posterior-superior",
                              "space directions": "(1,0,0) (0,1,0) (0,0,2.5)", "space origin": "(0,0,0)"},
               encoding="raw")
    fast = read_simple_nrrd(path)
    assert fast is not None
    assert_same_image(fast, sitk.ReadImage(str(path)))


@pytest.mark.parametrize("fields", [
    {"spacings": "1 1 1"},                                    # no space directions: ITK's own rules
    {"space": "scanner-xyz", "space directions": "(1,0,0) (0,1,0) (0,0,1)", "space origin": "(0,0,0)"},
    {"space": "left-posterior-superior", "space directions": "(1,0,0) (0,1,0) (0,0,1)",
     "space origin": "(0,0,0)", "line skip": "1"},
])
def test_other_files_are_left_to_simpleitk(tmp_path, fields):
    path = tmp_path / "image.nrrd"
    write_nrrd(path, np.zeros((2, 2, 2), dtype=np.uint8), {"type": "uchar", **fields})
    assert read_simple_nrrd(path) is None


def test_a_two_dimensional_file_is_left_to_simpleitk_and_read_as_a_volume(tmp_path):
    path = tmp_path / "slice.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(12, dtype=np.int16).reshape(3, 4)), str(path), True)
    assert read_simple_nrrd(path) is None
    volume = read_image(path)
    assert volume.GetSize() == (4, 3, 1)
    assert_same_image(read_as_simpleitk(path), sitk.ReadImage(str(path)))


def test_truncated_data_is_an_unreadable_file_error_naming_the_file(tmp_path):
    path = tmp_path / "image.nrrd"
    write_nrrd(path, np.zeros((2, 3, 4), dtype=np.int16),
               {"type": "short", "endian": "little", "space": "left-posterior-superior",
                "space directions": "(1,0,0) (0,1,0) (0,0,1)", "space origin": "(0,0,0)"}, encoding="raw")
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(UnreadableFileError, match=r"image\.nrrd: .*holds 42 bytes of voxel data.*announces 48"):
        read_simple_nrrd(path)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("pixel_type", [np.uint8, np.int16, np.float64])
def test_the_voxel_bytes_of_an_nrrd_file_come_from_its_header(tmp_path, compress, pixel_type):
    from radiomix.extract import NRRD_HEADER_BYTES, _stored_voxel_bytes
    from radiomix.io.nrrd import voxel_bytes

    voxels = np.zeros((7, 11, 13), dtype=pixel_type)
    voxels[2:5, 3:8, 4:9] = 1
    path = tmp_path / "mask.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(voxels), str(path), useCompression=compress)
    assert voxel_bytes(path.read_bytes()[:NRRD_HEADER_BYTES]) == voxels.nbytes
    assert _stored_voxel_bytes(path) == voxels.nbytes  # compressed: more than the file holds
    assert voxel_bytes(b"P5 not an NRRD file\n\n") is None
    assert voxel_bytes(b"NRRD0004\ntype: uchar\n\n") is None  # no sizes
