"""A model file whose compressed member is damaged is a ModelFileError naming the file (not a zlib.error)."""

from __future__ import annotations

import struct
import zipfile

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from radiomix.model.persistence import ModelFileError, load_model, save_model


@pytest.mark.parametrize("member", ["schema.json", None])
def test_a_damaged_deflate_stream_is_a_model_file_error(tmp_path, member):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    path = tmp_path / "model.skops"
    save_model(DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, X[:, 0] > 0), path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        deflated = [info for info in archive.infolist() if info.compress_type == zipfile.ZIP_DEFLATED]
    info = next(i for i in deflated if i.filename == member) if member else deflated[-1]
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start] = 0xFF  # a deflate block of the reserved type 3: "invalid block type"
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"damaged\.skops: the model file is damaged"):
        load_model(damaged)
