"""A Luigi target for the published results: a symbolic link switched atomically."""

from __future__ import annotations

import os
from pathlib import Path

import luigi


class LinkTarget(luigi.Target):
    """Exists when ``path`` is a symbolic link to ``destination`` (a relative link).

    :meth:`point` switches the link in one atomic rename, so readers see either
    the previous results or the new ones, never a mixture.
    """

    def __init__(self, path: str | Path, destination: str | Path):
        self.path = str(path)
        self.destination = str(destination)

    def exists(self) -> bool:
        return os.path.islink(self.path) and os.readlink(self.path) == self.destination

    def point(self) -> None:
        link = Path(self.path)
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a link to a run's results: move it away")
        temporary = link.with_name(f".{link.name}.tmp-{os.getpid()}")
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(self.destination)
        os.replace(temporary, link)
