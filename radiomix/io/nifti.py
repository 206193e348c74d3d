"""Reading single-file NIfTI images (``.nii``, ``.nii.gz``) with one inflation, ISA-L when installed.

ITK's NIfTI reader inflates ``.nii.gz`` files with zlib, and replaces every NaN or infinite
float voxel with 0 (SimpleITK 2.5, ITK 5; fixed in ITK 6, pull request
InsightSoftwareConsortium/ITK#6683). For the usual file (one scalar voxel block stored
unscaled: ``scl_slope`` 0 or 1 and ``scl_inter`` 0), :func:`read_unscaled_nifti` inflates the
file once (ISA-L's ``isal_zlib`` is about twice as fast as zlib), lets ITK read only the header
(pixel type, size, geometry and metadata, with ``ImageFileReader.ReadImageInformation``, from
the inflated header bytes; kept by those bytes, so a header read again is not parsed again) and
takes the voxels from the inflated bytes. The result is the image SimpleITK reads, with either
its zeros in place of non-finite voxels (``keep_non_finite=False``) or the stored NaN and
infinite values. The test suite checks this against ``SimpleITK.ReadImage``.

Scaled files, and any file whose header ITK reads otherwise (another pixel type, another
voxel count), give None: they are for ITK's full read.
"""

from __future__ import annotations

import collections
import gzip
import math
import struct
import tempfile
import threading
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import SimpleITK as sitk

from radiomix.errors import UnreadableFileError
from radiomix.io.completeness import GZIP_OR_ZLIB_WBITS, InflateError, decompressobj, nifti_layout

NIFTI_VOXEL_TYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4",
                     1024: "i8", 1280: "u8"}
"""NIfTI ``datatype`` codes of scalar voxels and their NumPy type codes (without byte order)."""

_ITK_VOXEL_TYPES = {sitk.sitkUInt8: "u1", sitk.sitkInt16: "i2", sitk.sitkInt32: "i4", sitk.sitkFloat32: "f4",
                    sitk.sitkFloat64: "f8", sitk.sitkInt8: "i1", sitk.sitkUInt16: "u2", sitk.sitkUInt32: "u4",
                    sitk.sitkInt64: "i8", sitk.sitkUInt64: "u8"}
"""NumPy type code of each scalar SimpleITK pixel type."""


def is_single_file_nifti(path: Path) -> bool:
    """Whether a file name is a single-file NIfTI image (``.nii`` or ``.nii.gz``)."""
    return path.name.lower().endswith((".nii", ".nii.gz"))


_LARGEST_DEFLATE_RATIO = 1032
"""Most bytes one compressed byte of a deflate stream inflates to (RFC 1951's 258-byte copy in 2 bits)."""


def _inflated_size_hint(content: bytes) -> int:
    """The first output buffer size for inflating a gzip file: its trailer's ISIZE + 1, or 0 (no hint).

    ISA-L's and zlib's decompressors start from the ``max_length`` given and otherwise grow their
    output buffer step by step; the final copies and reallocations of a multi-MB result cost ~40%
    of the inflation (19 against 13 ms for the 9.8 MB CT phantom). ISIZE is the size of the
    last member modulo 2**32: exact for the usual single-member file, and one byte more keeps the
    buffer from filling before the stream's end. Zlib streams (no ISIZE) and implausible sizes give 0.
    """
    if len(content) < 18 or content[:2] != b"\x1f\x8b":
        return 0
    size = struct.unpack_from("<I", content, len(content) - 4)[0]
    return size + 1 if size <= _LARGEST_DEFLATE_RATIO * len(content) else 0


def file_content(path: Path, stored: bytes | None = None) -> bytes:
    """The bytes of a file, inflated when gzip-compressed (one pass for a single-member file).

    ``stored``: the file's bytes as stored, when already read.

    Raises
    ------
    OSError, EOFError, zlib.error
        The file cannot be read, or its gzip stream is damaged or cut short.
    """
    content = path.read_bytes() if stored is None else stored
    if not path.name.lower().endswith(".gz"):
        return content
    inflater = decompressobj(GZIP_OR_ZLIB_WBITS)
    try:
        inflated = inflater.decompress(content, _inflated_size_hint(content))
        if not inflater.eof and inflater.unconsumed_tail:  # the hint was short: inflate the rest
            inflated += inflater.decompress(inflater.unconsumed_tail)
    except InflateError:
        inflated = None  # gzip, below, names the problem
    if inflated is not None and inflater.eof and not inflater.unused_data:
        return inflated
    with gzip.open(path, "rb") as stream:  # several gzip members, or a damaged stream (gzip names the problem)
        return stream.read()


class NiftiVoxels(NamedTuple):
    """The voxel block of a single-file NIfTI file's bytes."""

    voxels: np.ndarray
    """The raw voxels, in file order and stored byte order."""
    unscaled: bool
    """Whether they are stored unscaled (``scl_slope`` 0 or 1 and ``scl_inter`` 0)."""
    header_bytes: int
    """Bytes before the voxels (``vox_offset``: the header and its extensions)."""
    header_size: int
    """348 (NIfTI-1) or 540 (NIfTI-2)."""


def nifti_voxels(content: bytes) -> NiftiVoxels | None:
    """The voxel block of a single-file scalar NIfTI-1/NIfTI-2 file's bytes; None for other files,
    and for files shorter than their header announces."""
    if len(content) < 348:
        return None
    for byte_order in "<>":
        header_size = struct.unpack_from(f"{byte_order}i", content, 0)[0]
        if header_size == 348:
            datatype = struct.unpack_from(f"{byte_order}h", content, 70)[0]
            dims = struct.unpack_from(f"{byte_order}8h", content, 40)
            offset = int(struct.unpack_from(f"{byte_order}f", content, 108)[0])
            slope, intercept = struct.unpack_from(f"{byte_order}2f", content, 112)
            break
        if header_size == 540 and len(content) >= 540:
            datatype = struct.unpack_from(f"{byte_order}h", content, 12)[0]
            dims = struct.unpack_from(f"{byte_order}8q", content, 16)
            offset = int(struct.unpack_from(f"{byte_order}q", content, 168)[0])
            slope, intercept = struct.unpack_from(f"{byte_order}2d", content, 176)
            break
    else:
        return None
    if datatype not in NIFTI_VOXEL_TYPES or not 1 <= dims[0] <= 7 or offset < 0:
        return None
    count = math.prod(int(d) for d in dims[1:dims[0] + 1])
    dtype = np.dtype(byte_order + NIFTI_VOXEL_TYPES[datatype])
    if count < 1 or offset + count * dtype.itemsize > len(content):
        return None
    voxels = np.frombuffer(content, dtype=dtype, count=count, offset=offset)
    return NiftiVoxels(voxels, slope in (0.0, 1.0) and (slope == 0.0 or intercept == 0.0), offset, header_size)


class HeaderReading(NamedTuple):
    """What ITK's ``ImageFileReader.ReadImageInformation`` reads from a NIfTI header."""

    pixel_id: int
    components: int
    size: tuple[int, ...]
    origin: tuple[float, ...]
    spacing: tuple[float, ...]
    direction: tuple[float, ...]
    metadata: tuple[tuple[str, str], ...]
    """``(key, value)`` of every metadata entry, in ITK's order."""

    def image(self, voxels: np.ndarray, metadata: bool = True) -> sitk.Image:
        """A SimpleITK image of ``voxels`` (z, y, x) with this header's geometry and (with ``metadata``)
        metadata."""
        image = sitk.GetImageFromArray(voxels)
        image.SetOrigin(self.origin)
        image.SetSpacing(self.spacing)
        image.SetDirection(self.direction)
        for key, value in self.metadata if metadata else ():
            image.SetMetaData(key, value)
        return image


def _reading(reader: sitk.ImageFileReader) -> HeaderReading:
    """What ``reader`` read (after its ``ReadImageInformation``)."""
    return HeaderReading(reader.GetPixelID(), reader.GetNumberOfComponents(), reader.GetSize(), reader.GetOrigin(),
                         reader.GetSpacing(), reader.GetDirection(),
                         tuple((key, reader.GetMetaData(key)) for key in reader.GetMetaDataKeys()))


_HEADER_READINGS: collections.OrderedDict[tuple[bytes, int | None], HeaderReading] = collections.OrderedDict()
"""ITK's readings of the latest headers, by the header bytes (and file size for a file ITK read itself)."""

_HEADER_READINGS_KEPT = 64
"""Header readings kept (:data:`_HEADER_READINGS`)."""

_HEADER_READINGS_LOCK = threading.Lock()
"""Guards :data:`_HEADER_READINGS` (an image and its mask are read on two threads)."""


def _header_information(path: Path, content: bytes, found: NiftiVoxels) -> HeaderReading | None:
    """ITK's reading of the file's header (pixel type, size, geometry, metadata); None if ITK cannot read it.

    For a ``.nii.gz`` file ITK is given the inflated header (and its extensions) in a temporary
    ``.nii`` file: the same bytes, parsed by the same reader, without inflating the gzip stream
    again (ITK's header read of a compressed file inflates far beyond the header: 1.6 ms against
    0.3 ms for a 150 kB PET). Where no temporary file can be written, ITK reads the file itself.
    A reading depends only on the header bytes (the header and its extensions; and, for a ``.nii``
    file ITK reads itself, on the file's size): the same bytes read again are not given to ITK again
    (0.4 ms each for a small file).
    """
    header = content[:found.header_bytes]
    compressed = path.name.lower().endswith(".gz")
    key = (content[:max(found.header_bytes, found.header_size)], None if compressed else len(content))
    with _HEADER_READINGS_LOCK:
        reading = _HEADER_READINGS.get(key)
        if reading is not None:
            _HEADER_READINGS.move_to_end(key)
            return reading
    reader = sitk.ImageFileReader()
    reader.SetImageIO("NiftiImageIO")
    if compressed and found.header_bytes >= found.header_size:
        try:
            with tempfile.NamedTemporaryFile(suffix=".nii") as header_file:
                header_file.write(header)
                header_file.flush()
                reader.SetFileName(header_file.name)
                reader.ReadImageInformation()
            return _keep(key, _reading(reader))
        except (OSError, RuntimeError):
            pass  # read from the file itself, below
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None
    return _reading(reader) if compressed else _keep(key, _reading(reader))


def _keep(key: tuple[bytes, int | None], reading: HeaderReading) -> HeaderReading:
    """``reading``, kept in :data:`_HEADER_READINGS` under ``key``."""
    with _HEADER_READINGS_LOCK:
        _HEADER_READINGS[key] = reading
        if len(_HEADER_READINGS) > _HEADER_READINGS_KEPT:
            _HEADER_READINGS.popitem(last=False)
    return reading


def read_unscaled_nifti(path: Path, keep_non_finite: bool) -> sitk.Image | None:
    """A single-file scalar NIfTI image stored unscaled, inflated once; None for other files.

    Parameters
    ----------
    path : Path
        A ``.nii`` or ``.nii.gz`` file (other names give None).
    keep_non_finite : bool
        Keep NaN and infinite float voxels as stored; otherwise 0, as ITK's reader gives.

    Returns
    -------
    SimpleITK.Image or None
        The image as SimpleITK reads it (not yet made 3D), or None for files left to ITK
        (see the module docstring).

    Raises
    ------
    UnreadableFileError
        The voxel block cannot be read: a damaged or cut gzip stream.
    """
    if not is_single_file_nifti(path):
        return None
    try:
        content = file_content(path)
    except (OSError, EOFError, zlib.error, InflateError) as error:
        raise UnreadableFileError(f"is truncated or damaged: its voxels cannot be read ({error})", path) from error
    return unscaled_nifti_image(path, content, keep_non_finite)


def complete_nifti_content(path: Path) -> bytes | None:
    """The (inflated) bytes of a single-file NIfTI file read once, when it holds every voxel its header
    announces; None for every other file.

    The completeness check is :func:`radiomix.io.completeness.check_voxel_data`'s, on the bytes read
    for the voxels (at least ``vox_offset`` plus the voxel bytes). None is for the reading that checks
    the file (and names its problem) first: a file that cannot be read or inflated, one shorter than
    its header announces, one with a DICOM preamble, one whose header is not NIfTI's, another name.
    """
    if not is_single_file_nifti(path):
        return None
    try:
        stored = path.read_bytes()
        if stored[128:132] == b"DICM":
            return None
        content = file_content(path, stored)
    except (OSError, EOFError, zlib.error, InflateError):
        return None
    layout = nifti_layout(content[:540])
    if layout is None or len(content) < layout[0] + layout[1]:
        return None
    return content


def unscaled_nifti_image(path: Path, content: bytes, keep_non_finite: bool, metadata: bool = True
                         ) -> sitk.Image | None:
    """:func:`read_unscaled_nifti` of the file's (inflated) bytes ``content`` (already read); without
    the header's metadata unless ``metadata``."""
    found = nifti_voxels(content)
    if found is None or not found.unscaled:
        return None
    reading = _header_information(path, content, found)
    if reading is None or reading.components != 1:
        return None
    raw, size = found.voxels, reading.size
    if raw.dtype.str[1:] != _ITK_VOXEL_TYPES.get(reading.pixel_id) or raw.size != math.prod(size):
        return None
    voxels = raw.astype(raw.dtype.newbyteorder("="), copy=False).reshape(size[::-1])
    if not keep_non_finite and voxels.dtype.kind == "f":
        non_finite = ~np.isfinite(voxels)
        if non_finite.any():
            voxels = np.where(non_finite, voxels.dtype.type(0), voxels)
    return reading.image(voxels, metadata)


def nifti_voxels_of_file(path: Path, content: bytes | None = None) -> NiftiVoxels | None:
    """:func:`nifti_voxels` of a file's (inflated) bytes (``content``, when already read)."""
    return nifti_voxels(file_content(path) if content is None else content)
