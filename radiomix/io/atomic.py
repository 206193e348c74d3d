"""Atomic file writes: a result appears at its final path complete, or not at all.

Writes go to a temporary file in the destination folder (same file system),
which is flushed, synced, and then renamed over the final path with
:func:`os.replace`; a crash leaves at most a ``.tmp-*`` file, never a partial
result at the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(final: Path | str) -> Iterator[Path]:
    """A temporary path to write to; renamed to ``final`` when the block succeeds.

    The temporary file is removed if the block raises.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".tmp-{final.name}.", dir=final.parent)
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; results are for the team to read
    try:
        yield temporary
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, final)
    finally:
        if temporary.exists():
            temporary.unlink()


def _umask() -> int:
    """The process's file-creation mask (read by setting it and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(text: str, final: Path | str) -> None:
    """Write ``text`` (UTF-8) to ``final`` atomically."""
    with atomic_path(final) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_csv_atomic(table: pd.DataFrame, final: Path | str) -> None:
    """Write ``table`` as CSV (no index) to ``final`` atomically."""
    with atomic_path(final) as temporary:
        table.to_csv(temporary, index=False)
