"""Typed, frozen settings built from mappings: the one builder behind every settings object.

A settings object is a frozen dataclass whose fields carry one canonical name,
one type annotation and one default each. :func:`build_settings` turns a
mapping (from YAML, JSON or code) into such an object: unknown or misspelled
keys are :class:`~radiomix.errors.SpecError` with a "did you mean"
suggestion, and each value is checked against its field's annotation
(:func:`coerce`) or by a parser the caller names. Extraction specs
(:mod:`radiomix.spec`), filters, pyradiomics parameter files, registration and
evaluation settings are all built here; this module imports nothing of theirs,
so any layer may use it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal, Union

import yaml

from radiomix.errors import SpecError
from radiomix.safe_yaml import load_yaml

Parser = Callable[[object, str], object]
"""``parse(value, where) -> checked value``, raising :class:`SpecError` that names ``where``."""


def closest_match(value, choices: Iterable, cutoff: float = 0.6) -> str | None:
    """The choice spelled most like ``value`` (compared as text), or None when none is close."""
    close = difflib.get_close_matches(str(value), [str(choice) for choice in choices], n=1, cutoff=cutoff)
    return close[0] if close else None


def reject_unknown_keys(data: Mapping, valid: Iterable[str], where: str, noun: str = "setting") -> None:
    """Raise on the first key of ``data`` not in ``valid``, suggesting the closest valid key.

    The message reads ``"{where}: unknown {noun} 'key'; did you mean 'other'?"``,
    or lists the valid keys when none is close.
    """
    valid = list(valid)
    for key in data:
        if key not in valid:
            close = closest_match(key, valid)
            hint = f"did you mean {close!r}?" if close else f"valid keys: {', '.join(valid)}"
            raise SpecError(f"{where}: unknown {noun} {key!r}; {hint}")


def check_choice(value, choices: Iterable, where: str):
    """``value`` when it is one of ``choices``, else a :class:`SpecError` with the closest choice."""
    choices = list(choices)
    if value not in choices:
        close = closest_match(value, choices)
        hint = f"; did you mean {close!r}?" if close else ""
        raise SpecError(f"{where}: {value!r} is not one of {choices}{hint}")
    return value


def build_settings(cls, data: Mapping, where: str, *, base=None, parsers: Mapping[str, Parser] | None = None,
                   noun: str = "setting"):
    """Build the settings dataclass ``cls`` from ``data``, rejecting unknown keys with a suggestion.

    Parameters
    ----------
    cls : dataclass type
        The settings class; its fields are the valid keys.
    data : mapping
        Setting name -> value; fields left out keep their default (or their
        value in ``base``).
    where : str
        The place of ``data`` (file and section), leading every error message.
    base : instance of cls, optional
        Values of the fields ``data`` leaves out, instead of the class defaults.
    parsers : mapping of str to callable, optional
        Field name -> ``parse(value, where)`` for fields whose values need more
        than their annotation says (ranges, several types, lists of settings);
        the other fields are checked by :func:`coerce`.
    noun : str
        What a key is called in the unknown-key message (``setting``, ``key``).

    Raises
    ------
    SpecError
        ``data`` is not a mapping, has an unknown key, a value of the wrong
        type, or ``cls`` rejects the combination (its ``__post_init__``).
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}: expected a mapping of settings, got {data!r}")
    fields = [f.name for f in dataclasses.fields(cls)]
    reject_unknown_keys(data, fields, where, noun)
    parsers = parsers or {}
    hints = typing.get_type_hints(cls)
    values = {key: parsers[key](value, f"{where}.{key}") if key in parsers
              else coerce(hints[key], value, f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**values) if base is None else dataclasses.replace(base, **values)
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from None


def coerce(tp, value, where: str):
    """Check ``value`` against the type annotation ``tp`` and convert it.

    Supported annotations: ``bool``, ``int``, ``float`` (finite; an integer
    becomes a float), ``str``, ``Literal[...]``, ``X | None``, ``tuple[X, ...]``,
    ``tuple[X, Y]`` (from a list), and settings dataclasses (from a mapping,
    ``None`` giving the defaults).
    """
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return coerce(inner[0], value, where)
        raise SpecError(f"{where}: unsupported annotation {tp}")
    if dataclasses.is_dataclass(tp):
        return build_settings(tp, {} if value is None else value, where)
    if origin is Literal:
        return check_choice(value, args, where)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SpecError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SpecError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected text, got {value!r}")
        return value
    raise SpecError(f"{where}: unsupported annotation {tp}")


def read_settings_file(path: str | Path, what: str = "settings file"):
    """The data of a YAML settings file (``yaml.safe_load``, refusing duplicate keys), ``{}`` when empty.

    Raises
    ------
    SpecError
        The file cannot be read or is not valid YAML; the message names the
        file and calls it ``what``.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from exc
    return {} if data is None else data
