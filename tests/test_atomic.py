"""Atomic writes leave either the complete file or nothing at the final path."""

import pandas as pd
import pytest

from radiomix.io.atomic import atomic_path, write_csv_atomic, write_text_atomic


def test_write_replaces_and_leaves_no_temporary(tmp_path):
    final = tmp_path / "sub" / "table.csv"
    write_csv_atomic(pd.DataFrame({"a": [1, 2]}), final)
    write_text_atomic("x\n", tmp_path / "note.txt")
    assert pd.read_csv(final)["a"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["note.txt", "sub", "table.csv"]


def test_failure_keeps_previous_file_and_cleans_up(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as temporary:
            temporary.write_text("half")
            raise RuntimeError("crash mid-write")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
