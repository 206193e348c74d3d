"""YAML reading for settings files: ``yaml.safe_load`` that refuses duplicate keys.

``yaml.safe_load`` keeps the last of two equal keys of a mapping silently, so a
spec with ``bin_width`` given twice runs with whichever came last. :func:`load_yaml`
builds only what ``safe_load`` builds (its loader is a ``yaml.SafeLoader``) and raises
a ``yaml.constructor.ConstructorError`` (a ``yaml.YAMLError``) naming the key and
both lines instead.
"""

from __future__ import annotations

import yaml
from yaml.constructor import ConstructorError


class _UniqueKeySafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose mappings refuse a key given twice."""


def _construct_unique_mapping(loader: _UniqueKeySafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    first_line = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            line = first_line.setdefault(key, key_node.start_mark.line)
        except TypeError:  # an unhashable key: construct_mapping reports it
            continue
        if line != key_node.start_mark.line:
            raise ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r} (first given on line {line + 1})", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeySafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_yaml(text: str):
    """The data of a YAML document, as ``yaml.safe_load`` gives it, refusing duplicate keys.

    Raises
    ------
    yaml.YAMLError
        Invalid YAML, or a mapping with a key given twice (the message names the key and its lines).
    """
    return yaml.load(text, Loader=_UniqueKeySafeLoader)  # noqa: S506 (a SafeLoader subclass)
