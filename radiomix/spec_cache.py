"""Specs parsed once per process: :func:`load_spec_cached`, the spec loader of :func:`radiomix.extract_features`.

A spec file is parsed again only when it changes (size or modification time), a mapping only for
new content; the settings returned are immutable, so a cached one is shared safely.
"""

from __future__ import annotations

import collections
import functools
import json
from collections.abc import Mapping
from pathlib import Path

from radiomix.pyradiomics.params import PyradiomicsSpec
from radiomix.spec import Spec, load_spec


def load_spec_cached(spec: str | Path | Mapping | Spec | PyradiomicsSpec) -> Spec | PyradiomicsSpec:
    """:func:`radiomix.spec.load_spec`, parsing each spec once per process.

    Parameters
    ----------
    spec : path, dict, Spec or PyradiomicsSpec
        A spec file (parsed again only when its size or modification time changes), a
        mapping (parsed once per content, :func:`_load_spec_mapping`), or settings
        (returned as they are).

    Returns
    -------
    Spec or PyradiomicsSpec
        The settings (immutable; the same object for the same unchanged file or content).

    Raises
    ------
    radiomix.errors.SpecError
        As :func:`radiomix.spec.load_spec`, at every call with the same invalid spec.
    """
    if isinstance(spec, Mapping):
        return _load_spec_mapping(spec)
    if not isinstance(spec, (str, Path)):
        return load_spec(spec)
    path = Path(spec)
    try:
        status = path.stat()
    except OSError:
        return load_spec(spec)  # names the file in its error
    return _load_spec_file(str(path.resolve()), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=32)
def _load_spec_file(path: str, mtime_ns: int, size: int) -> Spec | PyradiomicsSpec:
    """A spec file's settings (immutable), cached by path, modification time and size."""
    del mtime_ns, size  # part of the cache key only
    return load_spec(path)


_MAPPING_SPECS: collections.OrderedDict[str, Spec | PyradiomicsSpec] = collections.OrderedDict()
"""Settings of the latest spec mappings, by their text (:func:`_load_spec_mapping`)."""

_MAPPING_SPECS_KEPT = 32
"""Spec mappings whose settings are kept."""


def _load_spec_mapping(spec: Mapping) -> Spec | PyradiomicsSpec:
    """The settings (immutable) of a spec mapping, parsed once per content.

    A mapping of plain values (those JSON holds: mappings, lists, tuples, strings, numbers,
    booleans, None) is known by its ``repr``, which tells every such content apart (a tuple from
    a list, ``1`` from ``"1"``, keys in their order); other mappings are parsed every time.
    """
    try:
        json.dumps(spec)
    except (TypeError, ValueError):  # paths, arrays...: no exact text to know the content by
        return load_spec(spec)
    content = repr(spec)
    settings = _MAPPING_SPECS.get(content)
    if settings is None:
        settings = load_spec(spec)
        _MAPPING_SPECS[content] = settings
        if len(_MAPPING_SPECS) > _MAPPING_SPECS_KEPT:
            _MAPPING_SPECS.popitem(last=False)
    return settings
