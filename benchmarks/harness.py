"""Shared command line of the benchmark scripts: time one tool in one mode, print one JSON record.

A benchmark script defines a callable per tool that prepares its inputs and returns a
function doing the measured work (returning the number of values computed), then calls
:func:`main`. Modes: ``cold`` and ``cold_cached`` time the first call in a fresh process
(``benchmarks/run.py`` sets an empty or a filled ``NUMBA_CACHE_DIR``); ``warm`` is the
median of repeated calls after the first.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable

Runner = Callable[[], Callable[[], int]]


def measure(benchmark: str, tool: str, make_run: Runner, mode: str, repeats: int) -> dict:
    """Time ``make_run()``'s work once (cold modes) or as the median of ``repeats`` (warm).

    ``setup_seconds`` is the time of ``make_run()`` itself: the tool's imports and the
    preparation of its inputs, which the measured work does not include.
    """
    start = time.perf_counter()
    run = make_run()
    setup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    n_values = run()
    seconds = time.perf_counter() - start
    if mode == "warm":
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
    return {"benchmark": benchmark, "tool": tool, "mode": mode, "seconds": seconds, "setup_seconds": setup_seconds,
            "values": n_values,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(benchmark: str, runners: dict[str, Runner], description: str, repeats: int = 5) -> None:
    """Parse ``--tool``, ``--mode`` and ``--repeats``, measure, print the JSON record."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", choices=sorted(runners), required=True)
    parser.add_argument("--mode", choices=("cold", "cold_cached", "warm"), required=True)
    parser.add_argument("--repeats", type=int, default=repeats)
    args = parser.parse_args()
    print(json.dumps(measure(benchmark, args.tool, runners[args.tool], args.mode, args.repeats)))
