"""One numba policy: compilation options and threading are set in radiomix/_numba.py only."""

from __future__ import annotations

import ast
from pathlib import Path

import numba
import numpy as np
import pytest

from radiomix import _numba

PACKAGE = Path(__file__).resolve().parents[1] / "radiomix"

COMPILERS = frozenset({"njit", "jit", "vectorize", "guvectorize", "cfunc", "generated_jit", "stencil"})
"""numba entry points that compile a function: each takes its own caching and fast-math options."""

SETTERS = frozenset({"set_num_threads", "set_parallel_chunksize"})
"""numba calls that change the process' threading."""


def _policy_breaches(path: Path) -> list[str]:
    """Lines of ``path`` that compile, configure or thread numba other than through :mod:`radiomix._numba`."""
    breaches = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "numba":
            names = {alias.name for alias in node.names}
            if names & (COMPILERS | SETTERS | {"config"}):
                breaches.append(f"{path.name}:{node.lineno}: from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "numba":
            if node.attr in COMPILERS | SETTERS:
                breaches.append(f"{path.name}:{node.lineno}: numba.{node.attr}")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                text = ast.unparse(target)
                if text.startswith("numba.config.") or "NUMBA_" in text:
                    breaches.append(f"{path.name}:{node.lineno}: {text} = ...")
    return breaches


def test_only_the_policy_module_compiles_configures_or_threads_numba():
    files = [path for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "_numba.py"]
    assert len(files) > 50
    breaches = [breach for path in files for breach in _policy_breaches(path)]
    assert breaches == []


@pytest.mark.parametrize("source, expected", [
    ("import numba\n@numba.njit(cache=True)\ndef f(x):\n    return x\n", "numba.njit"),
    ("from numba import njit, prange\n", "from numba import njit, prange"),
    ("import numba\nnumba.config.THREADING_LAYER = 'omp'\n", "numba.config.THREADING_LAYER = ..."),
    ("import numba\nnumba.set_num_threads(1)\n", "numba.set_num_threads"),
    ("import os\nos.environ['NUMBA_NUM_THREADS'] = '1'\n", "os.environ['NUMBA_NUM_THREADS'] = ..."),
])
def test_the_check_finds_each_kind_of_breach(tmp_path, source, expected):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert [breach.split(": ", 1)[1] for breach in _policy_breaches(path)] == [expected]


def test_policy_caches_kernels_and_keeps_nan_checks_working():
    assert _numba.njit.keywords["cache"] is True and _numba.njit_exact.keywords["cache"] is True
    assert not {"nnan", "ninf"} & set(_numba.njit.keywords["fastmath"])
    options = {**_numba.njit.keywords, "cache": False}  # compiled here without writing a cache beside the tests

    @numba.njit(**options)
    def first_nan(values):
        for i in range(values.size):
            if values[i] != values[i]:
                return i
        return -1

    assert first_nan(np.array([1.0, np.inf, np.nan])) == 2


def test_run_in_threads_returns_every_result_in_order_and_raises_a_failure():
    import threading

    threads = []

    def call(index):
        def run():
            threads.append(threading.get_ident())
            return index * index
        return run

    assert _numba.run_in_threads([call(index) for index in range(5)]) == [0, 1, 4, 9, 16]
    assert len(threads) == 5 and threading.get_ident() not in threads  # several calls: on worker threads
    assert _numba.run_in_threads([call(3)]) == [9] and threads[-1] == threading.get_ident()  # one: here

    def failing():
        raise ValueError("block failed")

    with pytest.raises(ValueError, match="block failed"):
        _numba.run_in_threads([call(1), failing])
    assert _numba.njit_nogil.keywords["nogil"] is True and _numba.njit_nogil.keywords["cache"] is True
