"""A package's public entries imported from their modules on first use (a PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def entry_importer(package: str, module_of: Mapping[str, str]) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package``: each name of ``module_of`` imported from its module when first read.

    Parameters
    ----------
    package : str
        The package's dotted name (in the error for an unknown name).
    module_of : mapping of str to str
        Public name -> dotted name of the module that defines it.
    """
    def __getattr__(name: str) -> object:
        if name in module_of:
            return getattr(importlib.import_module(module_of[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
