"""The console of a cohort run: progress lines, collected warnings, one-line errors, exit codes.

Exit codes of ``radiomix run`` (and of the Luigi command it wraps, for codes 0 and 3):

- :data:`EXIT_DONE` (0): every case extracted and, in a full run, evaluated;
- :data:`EXIT_CASES_FAILED` (1): the run completed, but some cases failed (listed, and in ``failures.csv``);
- :data:`EXIT_BAD_INPUT` (2): bad input or settings, found before any extraction;
- :data:`EXIT_BUG` (3): a task failed or could not be scheduled: a bug (a failing case is a failure record);
- :data:`EXIT_ALREADY_RUNNING` (4): a local-scheduler run refused because the same run is already going on
  (Luigi's pid lock; use ``--no-lock`` or a central scheduler for several workers).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

EXIT_DONE, EXIT_CASES_FAILED, EXIT_BAD_INPUT, EXIT_BUG, EXIT_ALREADY_RUNNING = 0, 1, 2, 3, 4
MAX_LOGGED_PROGRESS_LINES = 20
"""Progress lines written to a non-terminal stream for one cohort run (about; the last case always)."""
WARNINGS_ENVIRONMENT = "RADIOMIX_WARNINGS_DIR"
"""Environment variable naming the folder where the run's processes append the warnings they raise."""
COMMAND_ENVIRONMENT = "RADIOMIX_COMMAND_LINE"
"""Environment variable holding the user's command line (recorded in provenance.json)."""
WARNING_COLUMNS = ["category", "message", "source", "count"]


def duration_text(seconds: float) -> str:
    """``40 s``, ``6 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def progress_line(done: int, failed: int, total: int, eta_seconds: float | None) -> str:
    """``12/153 cases, 1 failed, ETA 6 min`` (no ETA once done or before any estimate)."""
    text = f"{done}/{total} cases, {failed} failed"
    if done < total and eta_seconds is not None:
        text += f", ETA {duration_text(eta_seconds)}"
    return text


def report_progress(records: list[Path], started: float, stream=None) -> str:
    """Print the progress of a cohort from its extraction records, and return the line.

    Parameters
    ----------
    records : list of Path
        The final stage record of every case (present once the case finished).
    started : float
        ``time.time()`` when this run started: records written since then give the
        rate behind the ETA.
    stream : file, optional
        Where to print (default ``sys.stdout``). On a terminal the line is redrawn
        in place; elsewhere (a log file, CI) a finished case adds a line while the
        cohort has at most :data:`MAX_LOGGED_PROGRESS_LINES` cases, and about that
        many lines in all for a larger cohort (every k-th case, and the last).
    """
    stream = stream or sys.stdout
    done = failed = this_run = 0
    for path in records:
        try:
            status = path.stat()
            ok = json.loads(path.read_text(encoding="utf-8"))["ok"]
        except FileNotFoundError:
            continue
        done += 1
        failed += not ok
        this_run += status.st_mtime >= started
    elapsed = time.time() - started
    eta = elapsed / this_run * (len(records) - done) if this_run else None
    line = progress_line(done, failed, len(records), eta)
    if stream.isatty():
        stream.write("\r" + line + "\x1b[K" + ("\n" if done == len(records) else ""))
    elif done == len(records) or done % math.ceil(len(records) / MAX_LOGGED_PROGRESS_LINES) == 0:
        stream.write(line + "\n")
    stream.flush()
    return line


def collect_warnings(folder: Path) -> None:
    """Send every warning this process (and its forks) shows to ``folder/<pid>.jsonl`` instead of the console."""

    def record(message, category, filename, lineno, file=None, line=None):
        folder.mkdir(parents=True, exist_ok=True)
        entry = {"category": category.__name__, "message": str(message).strip(), "source": f"{filename}:{lineno}"}
        with open(folder / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps(entry) + "\n")

    warnings.showwarning = record


def gather_warnings(folder: Path) -> list[dict]:
    """The warnings collected in ``folder``, one row per (category, message, source) with its count."""
    counts: dict[tuple[str, str, str], int] = {}
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for text in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(text)
            key = (entry["category"], entry["message"], entry["source"])
            counts[key] = counts.get(key, 0) + 1
    return [dict(zip(WARNING_COLUMNS, (*key, count))) for key, count in sorted(counts.items())]


def write_warnings(rows: list[dict], path: Path) -> None:
    """Write ``warnings.csv`` (``category, message, source, count``) atomically."""
    from radiomix.io.atomic import atomic_path

    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=WARNING_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def warnings_summary(rows: list[dict], path: Path) -> str:
    """``27 warnings (24 ComBatWarning, 3 PerformanceWarning), listed in W/warnings.csv``."""
    by_category: dict[str, int] = {}
    for row in rows:
        by_category[row["category"]] = by_category.get(row["category"], 0) + row["count"]
    parts = ", ".join(f"{n} {c}" for c, n in sorted(by_category.items(), key=lambda item: -item[1]))
    return f"{sum(by_category.values())} warnings ({parts}), listed in {path}"


def console_lines(lines: Iterable[str], verbose: bool) -> Iterator[str]:
    """The lines of Luigi's log worth showing on the console.

    Without ``verbose``: WARNING and ERROR messages only, and of each traceback
    its last line (the error's type and message); everything else goes to the
    log file only. With ``verbose``: every line.
    """
    showing = False
    in_traceback = False
    for line in lines:
        if verbose:
            yield line
            continue
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
            continue
        if in_traceback:
            if line[:1].isspace() or not line.strip():
                continue
            in_traceback = False
            yield line
            continue
        level = line.split(":", 1)[0]
        if level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            showing = level in {"WARNING", "ERROR", "CRITICAL"}
        if showing:
            yield line
