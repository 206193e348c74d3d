"""Reading compressed MetaImage files (``.mha``, ``.mhd``) with one checked inflation.

ITK's MetaImage reader inflates a damaged compressed voxel block without complaint.
:func:`read_compressed_metaimage` inflates the block itself, once (with ISA-L when it is
installed), to the end of its stream, checks that it holds exactly the bytes the header
announces, and builds the image with the pixel type and geometry (origin, spacing,
direction, in ITK's LPS world coordinates) that SimpleITK reads from the same header
(``ImageFileReader.ReadImageInformation``), so the result is the image SimpleITK would
read. The test suite checks this against ``SimpleITK.ReadImage``. (One difference: big-endian
compressed data, ``BinaryDataByteOrderMSB = True``, is byte-swapped here as the header says;
SimpleITK 2.5 swaps big-endian raw data but not compressed data.)

Raw (uncompressed) files, and compressed ones outside this path (several channels,
file lists, pixel types other than SimpleITK's scalar ones), return None and are read by
SimpleITK; a compressed one is still inflated here first, to check it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiomix.io.completeness import inflate_all, metaimage_layout

_PIXEL_TYPES = {
    sitk.sitkInt8: np.int8, sitk.sitkUInt8: np.uint8, sitk.sitkInt16: np.int16, sitk.sitkUInt16: np.uint16,
    sitk.sitkInt32: np.int32, sitk.sitkUInt32: np.uint32, sitk.sitkInt64: np.int64, sitk.sitkUInt64: np.uint64,
    sitk.sitkFloat32: np.float32, sitk.sitkFloat64: np.float64,
}
"""NumPy voxel type of each scalar SimpleITK pixel type."""


def read_compressed_metaimage(path: Path) -> sitk.Image | None:
    """Read a compressed single-channel MetaImage as SimpleITK would, inflating it once; else None.

    Parameters
    ----------
    path : Path
        A ``.mha`` or ``.mhd`` file.

    Returns
    -------
    SimpleITK.Image or None
        The image, or None for a file outside this path (see the module docstring).

    Raises
    ------
    UnreadableFileError
        The compressed block is damaged, ends early, or does not hold the announced bytes.
    RuntimeError
        SimpleITK cannot read the header.
    """
    layout = metaimage_layout(path)
    if layout is None or not layout.compressed:
        return None
    data = inflate_all(layout.data_path, layout.offset, layout.expected)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    dtype = _PIXEL_TYPES.get(reader.GetPixelID())
    size = reader.GetSize()
    if dtype is None or reader.GetNumberOfComponents() != 1 or np.dtype(dtype).itemsize * math.prod(size) != len(data):
        return None
    fields = layout.fields
    big_endian = "true" in (fields.get("BinaryDataByteOrderMSB", "").lower(),
                            fields.get("ElementByteOrderMSB", "").lower())
    stored = np.dtype(dtype).newbyteorder(">" if big_endian else "<")
    voxels = np.frombuffer(data, dtype=stored).astype(np.dtype(dtype), copy=False).reshape(size[::-1])
    return image_with_header(voxels, reader)


def image_with_header(voxels: np.ndarray, reader: sitk.ImageFileReader) -> sitk.Image:
    """A SimpleITK image of ``voxels`` (z, y, x) with the geometry and metadata ``reader`` read from a header."""
    image = sitk.GetImageFromArray(voxels)
    image.SetOrigin(reader.GetOrigin())
    image.SetSpacing(reader.GetSpacing())
    image.SetDirection(reader.GetDirection())
    for key in reader.GetMetaDataKeys():
        image.SetMetaData(key, reader.GetMetaData(key))
    return image
