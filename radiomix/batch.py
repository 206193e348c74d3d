"""Batch extraction: the cases of a case list, one spec, in one process (or a few), for ``radiomix extract-batch``.

A case list is a CSV with one row per case::

    case_id, image, mask [, label, roi]

``image`` and ``mask`` are as for :func:`radiomix.extract.extract_features`;
relative paths are relative to the case list's folder. ``label`` is an integer,
a list ``1,2`` or ``all`` (empty: 1); ``roi`` is an RTSTRUCT ROI name (empty:
none). Case IDs are checked as a cohort manifest's patient IDs are
(:mod:`radiomix.cohort.identifiers`) and name the rows of every output: the
outputs carry the case list's IDs only, never DICOM patient tags.

Every case is extracted in this process (``workers=1``) or in a pool of worker
processes, each importing radiomix and loading its kernels once instead of
once per case (a new ``radiomix extract`` process per case spends 1-2 s on
that). One bad case (unreadable file, absent label, empty ROI, geometry
mismatch) becomes a row of the failures table and never stops the others.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from radiomix.cohort.console import EXIT_BUG, EXIT_CASES_FAILED, EXIT_DONE
from radiomix.cohort.identifiers import identifier_problem
from radiomix.cohort.manifest import resolve_listed_path
from radiomix.errors import InputError, RadiomixError
from radiomix.extract import extract_features
from radiomix.features.table import COLUMNS
from radiomix.io.atomic import write_csv_atomic
from radiomix.spec import load_spec
from radiomix.typed_settings import closest_match

REQUIRED_COLUMNS = ("case_id", "image", "mask")
OPTIONAL_COLUMNS = ("label", "roi")
FAILURE_COLUMNS = ["case_id", "image", "mask", "label", "roi", "error_type", "file", "message"]
"""The failures table: the case, its inputs, the error's class, the file it concerns (if any) and the problem."""

Label = int | list[int] | str


class CaseListError(InputError):
    """The case list cannot be used (unreadable, wrong columns, bad case IDs or labels); nothing was extracted."""


@dataclass(frozen=True)
class BatchCase:
    """One row of a case list: paths absolute, ``label`` parsed, ``roi`` None when empty."""

    case_id: str
    image: str
    mask: str
    label: Label = 1
    roi: str | None = None


@dataclass(frozen=True)
class CaseOutcome:
    """What extracting one case gave: its tidy table, or the error (``traceback`` for a bug in radiomix)."""

    case: BatchCase
    seconds: float
    table: pd.DataFrame | None = None
    error_type: str = ""
    file: str = ""
    message: str = ""
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.table is not None

    @property
    def bug(self) -> bool:
        """An unexpected exception (not an input problem) ended this case."""
        return bool(self.traceback)


@dataclass(frozen=True)
class BatchResult:
    """The outcomes of a batch, in case-list order, and its wall time (s)."""

    outcomes: list[CaseOutcome]
    seconds: float

    @property
    def features(self) -> pd.DataFrame:
        """The tidy table of every extracted case, ``case_id`` first (then ``label``/``roi`` where present)."""
        tables = [outcome.table.assign(case_id=outcome.case.case_id) for outcome in self.outcomes if outcome.ok]
        if not tables:
            return pd.DataFrame(columns=["case_id", *COLUMNS])
        table = pd.concat(tables, ignore_index=True)
        first = ["case_id"] + [column for column in ("label", "roi") if column in table.columns]
        return table[first + [column for column in table.columns if column not in first]]

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failed case (:data:`FAILURE_COLUMNS`)."""
        rows = [{"case_id": o.case.case_id, "image": o.case.image, "mask": o.case.mask,
                 "label": _label_text(o.case.label), "roi": o.case.roi or "", "error_type": o.error_type,
                 "file": o.file, "message": o.message} for o in self.outcomes if not o.ok]
        return pd.DataFrame(rows, columns=FAILURE_COLUMNS)

    @property
    def wide(self) -> pd.DataFrame:
        """One row per extracted case: ``case_id`` then one column per feature (statisticians' layout).

        When a case has several regions (a label list, ``all``, or every ROI of an
        RTSTRUCT), each column is named ``<region>__<feature>``, the region being
        ``label<k>`` or the ROI name, for every case.
        """
        long = self.features
        if long.empty:
            return pd.DataFrame(columns=["case_id"])
        region = pd.Series("", index=long.index)
        if "label" in long.columns:
            region = region.where(long["label"].isna(), "label" + long["label"].astype("Int64").astype(str))
        if "roi" in long.columns:
            region = region.where(long["roi"].isna(), long["roi"].astype(str))
        several = long.assign(region=region).groupby("case_id", sort=False)["region"].nunique().gt(1).any()
        column = region + "__" + long["feature"] if several else long["feature"]
        keyed = long.assign(column=column)
        wide = keyed.pivot(index="case_id", columns="column", values="value")
        wide = wide.reindex(index=keyed["case_id"].unique(), columns=keyed["column"].unique())
        wide.columns.name = None
        return wide.rename_axis("case_id").reset_index()

    @property
    def exit_status(self) -> int:
        """0 every case extracted; 1 some case failed on its input; 3 some case met a bug in radiomix."""
        if any(outcome.bug for outcome in self.outcomes):
            return EXIT_BUG
        return EXIT_DONE if all(outcome.ok for outcome in self.outcomes) else EXIT_CASES_FAILED


def read_case_list(path: str | Path) -> list[BatchCase]:
    """Read and check a case list (see the module docstring).

    Raises
    ------
    CaseListError
        The file is missing or unreadable; a column is missing or unknown (with
        the closest valid name); or rows hold unsafe, empty or duplicate case IDs,
        empty image or mask paths, or labels that are not integers, lists or
        ``all``; every such row is named at once.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CaseListError(f"cannot read the case list ({exc})", str(path)) from exc
    table.columns = [str(column).strip() for column in table.columns]
    _check_columns(list(table.columns), path)
    cases, problems, seen = [], [], {}
    for number, row in enumerate(table.to_dict("records"), start=1):
        case_id = row["case_id"].strip()
        row_problems = [problem for problem in [identifier_problem(case_id, "case_id")] if problem]
        if case_id in seen:
            row_problems.append(f"duplicate case_id {case_id!r} (row {seen[case_id]})")
        seen.setdefault(case_id, number)
        row_problems += [f"empty {column} path" for column in ("image", "mask") if not row[column].strip()]
        label = _parse_label(row.get("label", ""))
        if isinstance(label, ValueError):
            row_problems.append(str(label))
        problems += [f"row {number} ({case_id or 'no case_id'}): {problem}" for problem in row_problems]
        if not row_problems:
            roi = row.get("roi", "").strip() or None
            cases.append(BatchCase(case_id, resolve_listed_path(path.parent, row["image"]),
                                   resolve_listed_path(path.parent, row["mask"]), label, roi))
    if problems:
        raise CaseListError(f"{len(problems)} problem(s): {'; '.join(problems)}", str(path))
    if not cases:
        raise CaseListError("lists no case (a header line, then one row per case)", str(path))
    return cases


def _check_columns(columns: list[str], path: Path) -> None:
    """Raise on missing or unknown columns, suggesting the closest name."""
    valid = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = []
    unknown = [column for column in columns if column not in valid]
    for column in [c for c in REQUIRED_COLUMNS if c not in columns]:
        close = closest_match(column, unknown)
        problems.append(f"missing column {column!r}" + (f" (is {close!r} meant to be it?)" if close else ""))
    for column in unknown:
        close = closest_match(column, valid)
        problems.append(f"unknown column {column!r}" + (f"; did you mean {close!r}?" if close else ""))
    if problems:
        raise CaseListError(f"{'; '.join(problems)}. A case list has the columns {', '.join(REQUIRED_COLUMNS)} "
                            f"and optionally {', '.join(OPTIONAL_COLUMNS)}", str(path))


def _parse_label(text: str) -> Label | ValueError:
    """A case list's ``label``: empty -> 1, ``all``, an integer, or a list ``1,2``; a ValueError when none."""
    text = text.strip()
    if not text:
        return 1
    if text == "all":
        return text
    try:
        values = [int(value) for value in text.split(",")]
    except ValueError:
        return ValueError(f"label {text!r} is not an integer, a list such as 1,2 or 'all'")
    return values[0] if len(values) == 1 else values


def _label_text(label: Label) -> str:
    return ",".join(str(value) for value in label) if isinstance(label, list) else str(label)


def extract_case(case: BatchCase, spec: str | Path) -> CaseOutcome:
    """Extract one case; an input problem or a bug becomes a failed outcome, never an exception.

    An input problem is a :class:`~radiomix.errors.RadiomixError` or an ``OSError``
    (``file`` is the file it names); a case too large for the memory is a
    ``MemoryError``. Any other exception is a bug in radiomix: its outcome says so,
    and keeps the traceback.
    """
    started = time.perf_counter()
    try:
        table = extract_features(case.image, case.mask, spec, label=case.label, roi=case.roi)
    except (RadiomixError, OSError) as error:
        file = getattr(error, "path", None) or getattr(error, "filename", None) or ""
        return CaseOutcome(case, time.perf_counter() - started, error_type=type(error).__name__, file=str(file),
                           message=str(error) or type(error).__name__)
    except MemoryError as error:
        return CaseOutcome(case, time.perf_counter() - started, error_type=type(error).__name__,
                           message=f"out of memory while extracting image {case.image}, mask {case.mask}")
    except Exception as error:  # a bug: reported with its traceback (not hidden); the other cases go on
        message = (f"bug in radiomix (unexpected {type(error).__name__}: {error}) on image {case.image}, mask "
                   f"{case.mask}; please report it with the traceback printed on the console")
        return CaseOutcome(case, time.perf_counter() - started, error_type=type(error).__name__, message=message,
                           traceback="".join(traceback.format_exception(error)))
    if "label" not in table.columns and not isinstance(case.label, str) and case.roi is None:
        table = table.assign(label=case.label)
    elif "roi" not in table.columns and case.roi is not None:
        table = table.assign(roi=case.roi)
    return CaseOutcome(case, time.perf_counter() - started, table=table)


def extract_batch(cases: Sequence[BatchCase], spec: str | Path, workers: int = 1,
                  stream: TextIO | None = None) -> BatchResult:
    """Extract every case with one spec; print one line per finished case to ``stream``.

    Parameters
    ----------
    cases : sequence of BatchCase
        The cases (:func:`read_case_list`).
    spec : str or Path
        The spec file (or a pyradiomics parameter file), read once per process.
    workers : int
        1: every case in this process. More: that many worker processes, each
        extracting one case at a time. Where processes can fork, the first case
        is extracted here first, so that the workers, forked afterwards, start
        with radiomix imported and the spec's kernels loaded (once, not once per
        worker).
    stream : file, optional
        Where the progress lines go (default ``sys.stdout``).

    Returns
    -------
    BatchResult
        The outcome of every case, in the order of ``cases`` whatever order they
        finished in (so any number of workers gives the same tables).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    stream = stream or sys.stdout
    started = time.perf_counter()
    outcomes: dict[int, CaseOutcome] = {}

    def finished(index: int, outcome: CaseOutcome) -> None:
        outcomes[index] = outcome
        stream.write(_progress_line(len(outcomes), len(cases), outcome) + "\n")
        stream.flush()

    fork = "fork" in multiprocessing.get_all_start_methods()
    here = len(cases) if workers == 1 or len(cases) <= 2 else int(fork)
    for index in range(here):
        finished(index, extract_case(cases[index], spec))
    if here < len(cases):
        _extract_in_pool(cases, here, spec, min(workers, len(cases) - here), fork, finished)
    return BatchResult([outcomes[index] for index in range(len(cases))], time.perf_counter() - started)


def _extract_in_pool(cases: Sequence[BatchCase], start: int, spec: str | Path, workers: int, fork: bool,
                     finished) -> None:
    """Extract ``cases[start:]`` in a pool of ``workers`` processes; a dead worker fails the cases left unfinished."""
    context = multiprocessing.get_context("fork" if fork else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: dict[Future, int] = {pool.submit(extract_case, cases[index], spec): index
                                      for index in range(start, len(cases))}
        for future in as_completed(futures):
            index = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool as error:
                case = cases[index]
                outcome = CaseOutcome(case, 0.0, error_type=type(error).__name__, message=(
                    f"a worker process ended abruptly (killed, out of memory, or crashed) while this case or another "
                    f"was running; run case {case.case_id} again (alone: --workers 1) to see which"))
            finished(index, outcome)


def _progress_line(done: int, total: int, outcome: CaseOutcome) -> str:
    """``[ 3/10] case_id: 120 values, 0.41 s`` or ``[ 4/10] case_id: FAILED (ErrorType) message``."""
    width = len(str(total))
    head = f"[{done:>{width}}/{total}] {outcome.case.case_id}:"
    if outcome.ok:
        return f"{head} {int(outcome.table['value'].notna().sum())} values, {outcome.seconds:.2f} s"
    return f"{head} FAILED ({outcome.error_type}) {outcome.message}"


def failures_path(output: str | Path) -> Path:
    """The default failures table of an output ``features.csv``: ``features_failures.csv`` beside it."""
    output = Path(output)
    return output.with_name(f"{output.stem}_failures.csv")


def run_batch(case_list: str | Path, spec: str | Path, output: str | Path, *, workers: int = 1,
              wide: str | Path | None = None, failures: str | Path | None = None,
              stream: TextIO | None = None) -> int:
    """``radiomix extract-batch``: read the case list, extract, write the tables, return the exit status.

    Parameters
    ----------
    case_list : str or Path
        The case list CSV (:func:`read_case_list`).
    spec : str or Path
        The spec file; loaded once here first, so that a bad spec stops the batch before any case.
    output : str or Path
        The tidy table of every extracted case (``case_id`` first).
    workers : int
        Worker processes (:func:`extract_batch`).
    wide : str or Path, optional
        Also write the wide table (one row per case, :attr:`BatchResult.wide`).
    failures : str or Path, optional
        The failures table (default :func:`failures_path` of ``output``); written
        on every run, empty when no case failed, so that an old one never misleads.
    stream : file, optional
        Progress and summary lines (default ``sys.stdout``); a bug's traceback goes to ``sys.stderr``.

    Returns
    -------
    int
        0 every case extracted; 1 some case failed (listed); 3 some case met a bug in radiomix.
        Every table is written atomically in each case.

    Raises
    ------
    CaseListError, radiomix.errors.SpecError
        A bad case list or spec, found before any extraction.
    """
    if workers < 1:
        raise RadiomixError(f"--workers must be at least 1, got {workers}")
    stream = stream or sys.stdout
    cases = read_case_list(case_list)
    load_spec(spec)
    result = extract_batch(cases, spec, workers=workers, stream=stream)
    for outcome in result.outcomes:
        if outcome.bug:
            print(f"radiomix extract-batch: case {outcome.case.case_id}: {outcome.message}\n{outcome.traceback}",
                  file=sys.stderr)
    failures = failures_path(output) if failures is None else Path(failures)
    write_csv_atomic(result.features, Path(output))
    written = [str(output)]
    if wide is not None:
        write_csv_atomic(result.wide, Path(wide))
        written.append(str(wide))
    write_csv_atomic(result.failures, failures)
    failed = sum(not outcome.ok for outcome in result.outcomes)
    where = f"; failures listed in {failures}" if failed else ""
    stream.write(f"{len(cases)} cases in {result.seconds:.1f} s ({workers} worker{'s' if workers > 1 else ''}): "
                 f"{len(cases) - failed} extracted, {failed} failed; written {', '.join(written)}{where}\n")
    return result.exit_status
