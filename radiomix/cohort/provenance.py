"""Provenance of a cohort run: versions, spec hashes, input hashes, dates."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import radiomix

DEPENDENCIES = ("numpy", "scipy", "SimpleITK", "pydicom", "pandas", "numba", "scikit-learn", "xgboost",
                "shap", "luigi", "scikit-image", "PyWavelets")


def file_hash(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file, or of every file of a folder (sorted by relative path)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as stream:
            while block := stream.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest()


def dependency_versions() -> dict[str, str]:
    """Installed versions of radiomix's main dependencies ("not installed" where absent)."""
    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


CHECKOUT = Path(__file__).resolve().parents[2]
"""The folder radiomix is imported from (a git checkout when run from one)."""


def git_commit(folder: str | Path = CHECKOUT) -> dict | None:
    """``{"commit": sha, "modified": bool}`` of the git checkout radiomix runs from; None outside one.

    ``modified`` is True when tracked files differ from the commit.
    """
    folder = Path(folder)
    if not (folder / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=30).stdout.strip()
        changes = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "modified": bool(changes)}


def provenance(spec_hashes: dict[str, str], input_hashes: dict[str, str], **extra) -> dict:
    """A JSON-able provenance record.

    Parameters
    ----------
    spec_hashes : dict
        Spec name (e.g. modality) -> :meth:`radiomix.spec.Spec.content_hash`.
    input_hashes : dict
        Input file path -> :func:`file_hash`.
    **extra
        Further entries (counts, parameters), stored as given.
    """
    return {
        "radiomix_version": radiomix.__version__,
        "python": platform.python_version(),
        "dependencies": dependency_versions(),
        "spec_hashes": spec_hashes,
        "input_hashes": input_hashes,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
