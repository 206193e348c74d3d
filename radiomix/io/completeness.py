"""Checking that an image file holds all the voxel data its header announces.

SimpleITK does not always notice a short or damaged voxel block: ITK's NIfTI reader
fills the missing end of a truncated integer ``.nii``/``.nii.gz`` file with zeros, its
MetaImage reader inflates a damaged compressed block without complaint, and it reports
a short MetaImage file as "No such file or directory". :func:`check_voxel_data` reads
the header, computes the size of the voxel block, and compares it with what the file
holds, before SimpleITK reads the voxels:

* NIfTI-1/NIfTI-2 (``.nii``, ``.hdr``/``.img``): the file size against ``vox_offset``
  plus the voxel bytes. For ``.nii.gz`` the gzip trailer's length field (ISIZE, the
  uncompressed size modulo 2**32) must match; only when it does not is the stream
  inflated (and discarded) to tell a truncated or damaged stream from a multi-member one.
* MetaImage (``.mha``, ``.mhd`` with one data file): raw data against the file size;
  compressed data (``CompressedData = True``) against ``CompressedDataSize``. ITK
  accepts a damaged compressed block silently, so :mod:`radiomix.io.metaimage` inflates
  compressed blocks itself, once, to their end, and checks their length
  (:func:`inflate_all`) while reading them.
* NRRD files are checked by :mod:`radiomix.io.nrrd` (its fast path inflates the
  data itself) or, outside the fast path, by ITK's NRRD reader, which reports a short
  block.

Other formats, and header layouts this module does not parse, are left to SimpleITK.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

from radiomix.errors import UnreadableFileError

try:
    from isal.isal_zlib import decompressobj
    from isal.isal_zlib import error as InflateError
except ImportError:  # ISA-L is an optional accelerator; zlib reads the same streams.
    from zlib import decompressobj
    from zlib import error as InflateError

GZIP_OR_ZLIB_WBITS = 47
"""``wbits`` for a decompressor accepting a gzip or a zlib stream (32 + 15)."""

_CHUNK_BYTES = 1 << 22
"""Bytes of compressed data read at a time when a stream is inflated to check it."""

_NIFTI_HEADER_BYTES = 540
"""Bytes read from a NIfTI file to parse its header (the NIfTI-2 header size; NIfTI-1's is 348)."""

_METAIMAGE_ELEMENT_BYTES = {
    "MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4,
    "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8, "MET_FLOAT": 4,
    "MET_DOUBLE": 8,
}
"""Bytes per element of each MetaImage ``ElementType`` (MetaIO's ``MET_ValueTypeSize``)."""

_METAIMAGE_HEADER_LIMIT = 1 << 16
"""Largest MetaImage header (bytes) parsed; a longer one is left to SimpleITK."""


def _short(path: Path, have: int, expected: int, what: str = "voxel data") -> UnreadableFileError:
    return UnreadableFileError(
        f"is truncated or damaged: it holds {have} bytes of {what}, its header announces {expected} "
        "(copy the file again from its source)", path)


def _inflated_size(path: Path, offset: int, expected: int, header_bytes: int = 0) -> int:
    """Inflate the compressed stream(s) from ``offset`` to the end of the file; their total length.

    ``header_bytes`` leading inflated bytes are a header, not voxel data: messages count
    voxel bytes only, against ``expected`` (the voxel bytes announced).

    Raises
    ------
    UnreadableFileError
        The stream is damaged, or ends before its end-of-stream marker.
    """
    return _inflate(path, offset, expected, header_bytes, keep=False)[0]


def inflate_all(path: Path, offset: int, expected: int) -> bytes:
    """The inflated bytes of the compressed stream(s) from ``offset`` to the end of ``path``.

    Raises
    ------
    UnreadableFileError
        The stream is damaged, ends before its end-of-stream marker, or does not inflate
        to exactly ``expected`` bytes.
    """
    total, data = _inflate(path, offset, expected, 0, keep=True)
    if total != expected:
        raise _short(path, total, expected)
    return data


def _inflate(path: Path, offset: int, expected: int, header_bytes: int, keep: bool) -> tuple[int, bytes]:
    """Inflated length (less ``header_bytes``) and, with ``keep``, the inflated bytes."""
    total = 0
    pieces = []
    with open(path, "rb") as stream:
        stream.seek(offset)
        inflater = decompressobj(GZIP_OR_ZLIB_WBITS)
        try:
            while chunk := stream.read(-1 if keep else _CHUNK_BYTES):  # kept: inflated in one call (faster)
                while chunk:
                    piece = inflater.decompress(chunk)
                    total += len(piece)
                    if keep:
                        pieces.append(piece)
                    if not inflater.eof:
                        break
                    chunk = inflater.unused_data.lstrip(b"\0")
                    inflater = decompressobj(GZIP_OR_ZLIB_WBITS) if chunk else inflater
        except InflateError as error:
            raise UnreadableFileError(
                f"is damaged: its compressed voxel data cannot be inflated ({error}); "
                f"{max(total - header_bytes, 0)} of {expected} bytes of voxel data were read "
                "(copy the file again from its source)", path) from error
    if not inflater.eof:
        raise _short(path, max(total - header_bytes, 0), expected,
                     "voxel data (the compressed stream stops before its end)")
    return total - header_bytes, b"".join(pieces)


def nifti_layout(header: bytes) -> tuple[int, int] | None:
    """``(vox_offset, voxel bytes)`` from a NIfTI-1 or NIfTI-2 header, or None if not one."""
    if len(header) < 348:
        return None
    for byte_order in "<>":
        header_size = struct.unpack_from(f"{byte_order}i", header, 0)[0]
        if header_size == 348:
            dims = struct.unpack_from(f"{byte_order}8h", header, 40)
            bitpix = struct.unpack_from(f"{byte_order}h", header, 72)[0]
            offset = int(struct.unpack_from(f"{byte_order}f", header, 108)[0])
            break
        if header_size == 540 and len(header) >= 540:
            bitpix = struct.unpack_from(f"{byte_order}h", header, 14)[0]
            dims = struct.unpack_from(f"{byte_order}8q", header, 16)
            offset = int(struct.unpack_from(f"{byte_order}q", header, 168)[0])
            break
    else:
        return None
    rank = dims[0]
    if not 1 <= rank <= 7 or bitpix <= 0 or bitpix % 8 or any(d < 1 for d in dims[1:rank + 1]):
        return None
    count = 1
    for size in dims[1:rank + 1]:
        count *= int(size)
    return offset, count * (bitpix // 8)


def _check_nifti_gzip(path: Path) -> None:
    try:
        with gzip.open(path, "rb") as stream:
            header = stream.read(_NIFTI_HEADER_BYTES)
    except (OSError, EOFError, InflateError, zlib.error) as error:
        raise UnreadableFileError(
            f"is truncated or damaged: its NIfTI header cannot be inflated ({error})", path) from error
    layout = nifti_layout(header)
    if layout is None:
        return
    offset, voxel_bytes = layout
    expected = offset + voxel_bytes
    with open(path, "rb") as stream:
        stream.seek(-4, 2)
        trailer_size = struct.unpack("<I", stream.read(4))[0]
    if trailer_size == expected % (1 << 32):
        return
    inflated = _inflated_size(path, 0, voxel_bytes, header_bytes=offset)
    if inflated < voxel_bytes:
        raise _short(path, max(inflated, 0), voxel_bytes)


def _check_nifti(path: Path, data_path: Path) -> None:
    with open(path, "rb") as stream:
        layout = nifti_layout(stream.read(_NIFTI_HEADER_BYTES))
    if layout is None:
        return
    offset, voxel_bytes = layout
    have = data_path.stat().st_size - max(offset, 0)
    if have < voxel_bytes:
        raise _short(data_path, max(have, 0), voxel_bytes)


def metaimage_header(path: Path) -> tuple[dict[str, str], int] | None:
    """The MetaImage header fields and the offset just past the ``ElementDataFile`` line, or None."""
    with open(path, "rb") as stream:
        head = stream.read(_METAIMAGE_HEADER_LIMIT)
    fields = {}
    position = 0
    while position < len(head):
        end = head.find(b"\n", position)
        if end < 0:
            return None
        line = head[position:end].decode("latin-1").strip()
        position = end + 1
        name, separator, value = line.partition("=")
        if not separator:
            continue
        fields[name.strip()] = value.strip()
        if name.strip() == "ElementDataFile":
            return fields, position
    return None


class MetaImageLayout(NamedTuple):
    """Where a single-file MetaImage keeps its voxels, and how many bytes they take."""

    fields: dict[str, str]
    data_path: Path
    offset: int
    expected: int
    compressed: bool


def metaimage_layout(path: Path) -> MetaImageLayout | None:
    """The voxel block of a MetaImage file (None for layouts left to SimpleITK: lists, patterns...).

    Raises
    ------
    UnreadableFileError
        The header names a data file that is missing.
    """
    parsed = metaimage_header(path)
    if parsed is None:
        return None
    fields, local_offset = parsed
    element_bytes = _METAIMAGE_ELEMENT_BYTES.get(fields.get("ElementType", ""))
    data_file = fields["ElementDataFile"]
    if element_bytes is None or data_file.upper() == "LIST" or "%" in data_file or " " in data_file:
        return None
    try:
        sizes = [int(v) for v in fields.get("DimSize", "").split()]
        channels = int(fields.get("ElementNumberOfChannels", "1"))
        header_size = int(fields.get("HeaderSize", "0"))
    except ValueError:
        return None
    if not sizes or any(size < 1 for size in sizes) or channels < 1:
        return None
    expected = element_bytes * channels
    for size in sizes:
        expected *= size
    if data_file.upper() == "LOCAL":
        data_path, offset = path, local_offset
    else:
        data_path = path.parent / data_file
        if not data_path.is_file():
            raise UnreadableFileError(f"its voxel data file {data_file!r} is missing", path)
        offset = max(header_size, 0)
    compressed = fields.get("CompressedData", "False").lower() == "true"
    return MetaImageLayout(fields, data_path, offset, expected, compressed)


def _check_metaimage(path: Path) -> None:
    layout = metaimage_layout(path)
    if layout is None:
        return
    have = layout.data_path.stat().st_size - layout.offset
    if layout.compressed:
        try:
            announced = int(layout.fields.get("CompressedDataSize", "0"))
        except ValueError:
            return
        if have < announced:
            raise _short(layout.data_path, max(have, 0), announced, "compressed voxel data")
        return
    if have < layout.expected:
        raise _short(layout.data_path, max(have, 0), layout.expected)


def check_voxel_data(path: str | Path) -> None:
    """Check that an image file holds the whole voxel block its header announces.

    Parameters
    ----------
    path : str or Path
        An image file; NIfTI (``.nii``, ``.nii.gz``, ``.hdr``) and MetaImage (``.mha``,
        ``.mhd``) files are checked, others are left to their reader.

    Raises
    ------
    UnreadableFileError
        The voxel data is shorter than announced, or its compressed stream is damaged or
        ends early; names the file and both byte counts.
    """
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".nii.gz"):
            _check_nifti_gzip(path)
        elif name.endswith(".nii"):
            _check_nifti(path, path)
        elif name.endswith(".hdr") and path.with_suffix(".img").is_file():
            _check_nifti(path, path.with_suffix(".img"))
        elif name.endswith((".mha", ".mhd")):
            _check_metaimage(path)
    except OSError as error:
        raise UnreadableFileError(f"cannot be read ({error.strerror or error})", path) from error
