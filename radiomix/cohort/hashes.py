"""Content hashes of a cohort's input files, cached in the workdir.

Stage keys cover the contents of their inputs (an image file or every file of
a DICOM series folder, a mask), so that an input edited in place reruns what
depends on it. Hashing a cohort's images on every run would cost minutes, so
each file's SHA-256 is kept in ``<workdir>/hashes/`` with the file's size,
modification time (ns) and inode, and recomputed only when one of those
changes. Entries are written atomically: workers sharing a workdir may write
the same entry at once and readers see one complete entry or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CHUNK_BYTES = 1 << 20
UNAVAILABLE = "unavailable"
"""The digest of a path that does not exist or cannot be read (the case fails at validation)."""


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of one file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


class ContentHashes:
    """SHA-256 of files and folders, cached in ``folder`` by (size, mtime_ns, inode).

    Parameters
    ----------
    folder : Path
        Where the cache entries live (one small JSON per hashed file).

    Notes
    -----
    Within one process a file is hashed at most once while its size, mtime and
    inode stay the same (an in-memory copy of the entries); across processes
    and runs the entries in ``folder`` are reused.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._known: dict[str, tuple[tuple[int, int, int], str]] = {}

    def digest(self, path: str | Path) -> str:
        """SHA-256 of a file, or of a folder's files (relative names and contents, sorted by name).

        A missing or unreadable path gives :data:`UNAVAILABLE` (plus the reason),
        so that a stage key can still be formed and the case fails where it is read.
        """
        path = Path(path).absolute()
        try:
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file())
                digest = hashlib.sha256()
                for file in files:
                    digest.update(file.relative_to(path).as_posix().encode() + b"\0")
                    digest.update(self._file_digest(file).encode())
                return digest.hexdigest()
            return self._file_digest(path)
        except OSError as exc:
            return f"{UNAVAILABLE}: {exc.strerror or type(exc).__name__}"

    def _file_digest(self, path: Path) -> str:
        status = path.stat()
        signature = (status.st_size, status.st_mtime_ns, status.st_ino)
        name = str(path)
        known = self._known.get(name)
        if known is not None and known[0] == signature:
            return known[1]
        entry_path = self.folder / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.json"
        digest = _cached(entry_path, name, signature)
        if digest is None:
            digest = sha256_file(path)
            entry = {"path": name, "size": signature[0], "mtime_ns": signature[1], "inode": signature[2],
                     "sha256": digest}
            _write_entry(json.dumps(entry), entry_path)
        self._known[name] = (signature, digest)
        return digest


def _cached(entry_path: Path, name: str, signature: tuple[int, int, int]) -> str | None:
    """The digest stored in ``entry_path`` when it describes ``name`` with ``signature``, else None."""
    try:
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if entry.get("path") != name or (entry.get("size"), entry.get("mtime_ns"), entry.get("inode")) != signature:
        return None
    return entry.get("sha256")


def _write_entry(text: str, path: Path) -> None:
    """Write a cache entry atomically (temporary file + rename), without fsync.

    A cache entry need not survive a crash: an entry lost or left empty is read
    as absent and the file is hashed again. Skipping fsync keeps the first
    hashing of a DICOM series of hundreds of files fast.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    os.chmod(name, 0o644)  # mkstemp makes 0600; workers of other accounts share the workdir
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(name, path)
    finally:
        if os.path.exists(name):
            os.unlink(name)


_BY_FOLDER: dict[str, ContentHashes] = {}


def content_hashes(workdir: str | Path) -> ContentHashes:
    """The process's :class:`ContentHashes` of a workdir (cache in ``<workdir>/hashes``)."""
    folder = os.path.abspath(os.path.join(workdir, "hashes"))
    if folder not in _BY_FOLDER:
        _BY_FOLDER[folder] = ContentHashes(folder)
    return _BY_FOLDER[folder]
