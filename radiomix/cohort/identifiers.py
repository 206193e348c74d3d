"""Patient IDs and modality names: checked where they enter, and the case folders built from them.

A cohort run writes each case's files to ``<workdir>/cases/<patient_id>/<modality>``.
Both names come from the manifest, so both must be safe as one folder name on every
file system: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or a
digit, no ``..``, at most :data:`MAX_IDENTIFIER_LENGTH` characters. That rules out
path separators, absolute paths, parent references, spaces, markup (``<script>``)
and control characters. A validated name is its own folder name (the encoding is the
identity), and :func:`case_folder` checks again that the folder lies inside the
work folder before anything is written there.

Two IDs that differ only in letter case (``P1`` and ``p1``) would share a folder on
case-insensitive file systems (macOS, Windows), so the manifest refuses them too
(:func:`radiomix.cohort.manifest.read_manifest`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from radiomix.errors import InputError

MAX_IDENTIFIER_LENGTH = 64
"""Longest accepted patient ID or modality name (characters)."""

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def identifier_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be a patient ID or modality name, or None if it can.

    Parameters
    ----------
    value : str
        The ID as given.
    what : str
        ``"patient_id"`` or ``"modality"``, named in the message.
    """
    if not value:
        return f"empty {what}"
    shown = ascii(value)
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return f"{what} {shown[:40]}... is {len(value)} characters long; at most {MAX_IDENTIFIER_LENGTH} are accepted"
    if not _SAFE.fullmatch(value) or ".." in value:
        return (f"{what} {shown} is not a safe folder name: use letters, digits, '.', '_' and '-' only, "
                "starting with a letter or a digit, without '..' (no path separators, spaces or markup)")
    return None


def check_identifier(value: str, what: str, source: str | os.PathLike | None = None) -> str:
    """``value`` itself if it is a safe patient ID or modality name.

    Raises
    ------
    InputError
        It is empty, too long, or holds characters outside the safe set (see the module docstring).
    """
    problem = identifier_problem(value, what)
    if problem is not None:
        raise InputError(problem, None if source is None else str(source))
    return value


def case_folder(workdir: str | os.PathLike, patient_id: str, modality: str) -> Path:
    """The folder of one case's files: ``<workdir>/cases/<patient_id>/<modality>``.

    Parameters
    ----------
    workdir : str or PathLike
        The run's work folder.
    patient_id, modality : str
        The manifest's names of the case; checked with :func:`check_identifier`.

    Returns
    -------
    Path
        The folder (not created).

    Raises
    ------
    InputError
        An unsafe name, or a folder that would lie outside ``<workdir>/cases``.
    """
    cases = Path(workdir) / "cases"
    folder = cases / check_identifier(patient_id, "patient_id") / check_identifier(modality, "modality")
    if not folder.resolve().is_relative_to(cases.resolve()):
        raise InputError(f"the folder of patient {patient_id}, {modality} would lie outside the work folder "
                         f"{cases}", str(folder))
    return folder
