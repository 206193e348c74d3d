"""Run every benchmark, each measurement in a fresh process, and write the results table.

For each benchmark and tool: ``cold`` runs with an empty numba cache (a new
``NUMBA_CACHE_DIR``), ``cold_cached`` in a new process reusing that cache, and
``warm`` repeats the call in one process after compiling. The ratio columns are
pyradiomics' time (or peak memory) over radiomix's, measured in the same run.
Writes ``results.csv`` and ``results.md`` to ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
BENCHMARKS = {
    "texture_ct_phantom": [HERE / "texture.py"],
    "texture_ct_phantom_all_ibsi": [HERE / "texture.py", "--set", "all"],
    "config_c_ct_phantom": [HERE / "config_c.py"],
    "filters_ct_phantom": [HERE / "filters.py"],
    "pyradiomics_dropin_brain1_default": [HERE / "pyradiomics_dropin.py", "--case", "brain1", "--params", "default"],
    "pyradiomics_dropin_ct_phantom_default": [HERE / "pyradiomics_dropin.py", "--case", "ct_phantom", "--params",
                                              "default"],
    "pyradiomics_dropin_tiny_default": [HERE / "pyradiomics_dropin.py", "--case", "tiny", "--params", "default"],
    "pyradiomics_dropin_brain1_filters": [HERE / "pyradiomics_dropin.py", "--case", "brain1", "--params", "filters"],
    "pyradiomics_dropin_ct_phantom_filters": [HERE / "pyradiomics_dropin.py", "--case", "ct_phantom", "--params",
                                              "filters"],
}
"""Benchmark name -> script (and its arguments) taking ``--tool`` and ``--mode``, printing one JSON record."""
TOOLS = ("radiomix", "pyradiomics")
MODES = ("cold", "cold_cached", "warm")


def run_one(script: list, tool: str, mode: str, cache_dir: str) -> dict:
    """One measurement in a fresh Python process; the last stdout line is its JSON record."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    done = subprocess.run([sys.executable, *map(str, script), "--tool", tool, "--mode", mode],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, script))} --tool {tool} --mode {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="benchmarks to run (default all)")
    args = parser.parse_args()
    from radiomix.io.atomic import write_csv_atomic, write_text_atomic

    records = []
    for name in args.only or BENCHMARKS:
        for tool in TOOLS:
            with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
                for mode in MODES:
                    record = run_one(BENCHMARKS[name], tool, mode, cache_dir)
                    print(f"{name:24s} {tool:12s} {mode:12s} {record['seconds']:9.3f} s "
                          f"{record['peak_rss_mib']:8.0f} MiB", flush=True)
                    records.append(record)
    table = pd.DataFrame(records)
    wide = table.pivot_table(index=["benchmark", "mode"], columns="tool", values=["seconds", "peak_rss_mib"])
    summary = pd.DataFrame({
        "radiomix_s": wide[("seconds", "radiomix")],
        "pyradiomics_s": wide[("seconds", "pyradiomics")],
        "speed_ratio": wide[("seconds", "pyradiomics")] / wide[("seconds", "radiomix")],
        "radiomix_peak_MiB": wide[("peak_rss_mib", "radiomix")],
        "pyradiomics_peak_MiB": wide[("peak_rss_mib", "pyradiomics")],
    }).reset_index()
    write_csv_atomic(table, args.out / "results.csv")
    markdown = summary.to_markdown(index=False, floatfmt=".3g")
    write_text_atomic(markdown + "\n", args.out / "results.md")
    print()
    print(markdown)


if __name__ == "__main__":
    main()
