"""A fast reader for the common kind of NRRD file: one 3D scalar volume, raw or gzip-encoded.

Most radiomics NRRD files (3D Slicer's, pyradiomics' test cases) are a single
attached, gzip-compressed scalar volume with ``space directions`` and ``space
origin``. For those, :func:`read_simple_nrrd` parses the header and inflates the
voxels itself, with ISA-L (``isal``) when it is installed, which is about twice as
fast as zlib; ITK inflates with zlib. The result is the image SimpleITK would read:
the same pixel type, voxels, spacing (the lengths of the space direction vectors),
direction (the unit vectors) and origin, in ITK's LPS world coordinates (a
right-anterior-superior or left-anterior-superior file has its x and/or y
components negated, as ITK does). The test suite checks this against
``SimpleITK.ReadImage``.

Anything else (detached data, other encodings, skipped bytes or lines, vector or
2D/4D data, ``spacings`` without ``space directions``, another world space) is
left to SimpleITK: the reader then returns ``None``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.errors import UnreadableFileError
from radiomix.io.metaimage import read_compressed_metaimage
from radiomix.io.nifti import read_unscaled_nifti

try:
    from isal.isal_zlib import decompress as inflate
    from isal.isal_zlib import error as InflateError
except ImportError:  # ISA-L is an optional accelerator; zlib reads the same streams.
    from zlib import decompress as inflate
    from zlib import error as InflateError

GZIP_OR_ZLIB_WBITS = 47
"""``wbits`` for :func:`inflate` accepting a gzip or a zlib stream (32 + 15)."""

NRRD_TYPES = {
    np.dtype(np.int8): ("signed char", "int8", "int8_t"),
    np.dtype(np.uint8): ("uchar", "unsigned char", "uint8", "uint8_t"),
    np.dtype(np.int16): ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    np.dtype(np.uint16): ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    np.dtype(np.int32): ("int", "signed int", "int32", "int32_t"),
    np.dtype(np.uint32): ("uint", "unsigned int", "uint32", "uint32_t"),
    np.dtype(np.int64): ("longlong", "long long", "long long int", "signed long long", "signed long long int",
                         "int64", "int64_t"),
    np.dtype(np.uint64): ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
    np.dtype(np.float32): ("float",),
    np.dtype(np.float64): ("double",),
}
"""NumPy voxel type of each NRRD ``type`` spelling."""

DTYPE_OF_NRRD_TYPE = {spelling: dtype for dtype, spellings in NRRD_TYPES.items() for spelling in spellings}

LPS_SIGNS = {
    "left-posterior-superior": np.array([1.0, 1.0, 1.0]),
    "lps": np.array([1.0, 1.0, 1.0]),
    "right-anterior-superior": np.array([-1.0, -1.0, 1.0]),
    "ras": np.array([-1.0, -1.0, 1.0]),
    "left-anterior-superior": np.array([1.0, -1.0, 1.0]),
    "las": np.array([1.0, -1.0, 1.0]),
}
"""Sign changes taking each supported NRRD world space to ITK's LPS coordinates."""

HANDLED_FIELDS = {"type", "dimension", "space", "sizes", "space directions", "kinds", "endian", "encoding",
                  "space origin", "space units", "measurement frame", "content", "labels", "units",
                  "byte skip", "centers", "centerings"}
"""Header fields the fast path understands or may ignore; any other field leaves the file to SimpleITK."""

_VECTOR = re.compile(r"\(([^)]*)\)")


def _header(content: bytes) -> tuple[dict[str, str], int] | None:
    """The header fields (lower-case names) and the offset of the data, or None if not an NRRD header."""
    if not content.startswith(b"NRRD000"):
        return None
    end = content.find(b"\n\n")
    if end < 0:
        return None
    fields = {}
    for line in content[:end].decode("latin-1").splitlines()[1:]:
        if line.startswith("#") or ":=" in line:
            continue
        name, separator, value = line.partition(": ")
        if not separator:
            return None
        fields[name.strip().lower()] = value.strip()
    return fields, end + 2


def voxel_bytes(head: bytes) -> int | None:
    """Bytes of voxel data an NRRD header announces (sizes x type), from the file's first bytes; None if ``head``
    holds no whole NRRD header with known ``sizes`` and ``type``."""
    parsed = _header(head)
    dtype = DTYPE_OF_NRRD_TYPE.get(parsed[0].get("type", "").lower()) if parsed else None
    try:
        return int(np.prod([int(v) for v in parsed[0]["sizes"].split()])) * dtype.itemsize if dtype else None
    except (KeyError, ValueError):
        return None


def _vectors(text: str) -> np.ndarray | None:
    """The ``(a,b,c) (d,e,f) ...`` vectors of a header field, one per row; None on ``none`` entries."""
    vectors = _VECTOR.findall(text)
    if not vectors or len(vectors) != len(text.split()):
        return None
    return np.array([[float(v) for v in vector.split(",")] for vector in vectors])


def read_simple_nrrd(path: Path) -> sitk.Image | None:
    """Read a single-file, raw or gzip 3D scalar NRRD volume as SimpleITK would; None for any other file.

    Parameters
    ----------
    path : Path
        An ``.nrrd`` file.

    Returns
    -------
    SimpleITK.Image or None
        The volume with SimpleITK's pixel type and geometry (spacing and origin
        in mm, LPS world coordinates), or None when the file is outside the
        fast path (see the module docstring) or inconsistent, so that SimpleITK
        reads it and reports any problem.

    Raises
    ------
    UnreadableFileError
        The voxel data is shorter than the header announces, or its gzip stream is
        damaged or ends before its end-of-stream marker.
    """
    content = path.read_bytes()
    parsed = _header(content)
    if parsed is None:
        return None
    fields, offset = parsed
    if set(fields) - HANDLED_FIELDS or fields.get("dimension") != "3":
        return None
    if fields.get("byte skip", "0") != "0" or "data file" in fields:
        return None
    dtype = DTYPE_OF_NRRD_TYPE.get(fields.get("type", "").lower())
    encoding = fields.get("encoding", "").lower()
    signs = LPS_SIGNS.get(fields.get("space", "").lower())
    kinds = fields.get("kinds", "domain domain domain").lower().split()
    if dtype is None or encoding not in ("raw", "gzip", "gz") or signs is None:
        return None
    if kinds != ["domain"] * 3 and kinds != ["space"] * 3:
        return None
    if dtype.itemsize > 1:
        endian = fields.get("endian", "").lower()
        if endian not in ("little", "big"):
            return None
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    sizes = [int(v) for v in fields.get("sizes", "").split()]
    directions = _vectors(fields.get("space directions", ""))
    origin = _vectors(fields.get("space origin", ""))
    if len(sizes) != 3 or directions is None or directions.shape != (3, 3) or origin is None or origin.shape != (1, 3):
        return None
    data = content[offset:]
    if encoding != "raw":
        try:
            data = inflate(data, GZIP_OR_ZLIB_WBITS)
        except InflateError as error:
            raise UnreadableFileError(
                f"is truncated or damaged: its gzip voxel data cannot be inflated ({error}) "
                "(copy the file again from its source)", path) from error
    expected = int(np.prod(sizes)) * dtype.itemsize
    if len(data) < expected:
        raise UnreadableFileError(
            f"is truncated or damaged: it holds {len(data)} bytes of voxel data, its header announces "
            f"{expected} (copy the file again from its source)", path)
    if len(data) != expected:
        return None
    voxels = np.frombuffer(data, dtype=dtype)
    spacing = np.sqrt((directions * directions).sum(axis=1))
    if np.any(spacing == 0):
        return None
    image = sitk.GetImageFromArray(voxels.astype(dtype.newbyteorder("="), copy=False).reshape(sizes[::-1]))
    image.SetSpacing(spacing.tolist())
    image.SetOrigin((origin[0] * signs).tolist())
    image.SetDirection(((directions * (1.0 / spacing)[:, None]) * signs).T.ravel().tolist())
    return image


def read_as_simpleitk(path: Path) -> sitk.Image:
    """An image file as ``SimpleITK.ReadImage`` reads it; plain NRRD volumes through :func:`read_simple_nrrd`,
    compressed MetaImage files through :func:`radiomix.io.metaimage.read_compressed_metaimage`, unscaled
    single-file NIfTI images through :func:`radiomix.io.nifti.read_unscaled_nifti`.

    Raises
    ------
    RuntimeError
        SimpleITK cannot read the file.
    UnreadableFileError
        A fast-path NRRD, compressed MetaImage or NIfTI file whose voxel data is short or damaged.
    """
    name = path.name.lower()
    if name.endswith(".nrrd"):
        image = read_simple_nrrd(path)
        if image is not None:
            return image
    if name.endswith((".mha", ".mhd")):
        image = read_compressed_metaimage(path)
        if image is not None:
            return image
    image = read_unscaled_nifti(path, keep_non_finite=False)
    if image is not None:
        return image
    return sitk.ReadImage(str(path))
