"""Fail fast: a smoke run of the candidates on the first rows of the files they read.

``Batch.run(smoke=ROWS)`` (``%stratum run --smoke ROWS``, ``stratum run --smoke ROWS``) first runs
the isolated candidates as a throwaway batch in which pandas readers return at most ROWS rows,
reports which failed and why (:class:`SmokeReport`), then runs every pipeline in full. The smoke
run is advisory: statuses come from the full run alone, so a candidate that only fails on the
sample (too few rows for its CV folds, say) is reported ``ok``.

What keeps the smoke run from touching the full run:

- it binds nothing in the kernel namespace (its own batch, with a throwaway namespace);
- kernel cells (not ``--isolated``) are not smoke-tested: they read and mutate kernel state;
- candidates that write files, or read a file another pending candidate writes, are not
  smoke-tested: the full run must not see sample-derived files; nor are candidates that call no
  pandas reader: on their data the smoke run would be the full run again;
- the readers are patched only for the smoke run — in the kernel around it, and in each worker
  process from ``start`` to ``collect`` (and undone at the next ``start`` in any case) — and the
  global RNG states (numpy, random) are put back as they were before it.
"""

from __future__ import annotations

import ast
import functools
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .frontend import plural
from .results import PipelineResult, exception_line, failure_line

if TYPE_CHECKING:
    from .batch import Batch
    from .graph import Pipeline

#: Readers that take ``nrows=``: the file is not even read past the sample.
ROW_LIMITED = ("read_csv", "read_table", "read_fwf", "read_excel")
#: Readers whose result is cut to the sample after reading.
CUT_AFTER = (
    "read_parquet", "read_json", "read_feather", "read_pickle", "read_orc", "read_hdf", "read_sql",
    "read_sql_query", "read_sql_table", "read_stata", "read_sas", "read_spss", "read_xml", "read_html",
)

_active: dict | None = None  # {"originals": {name: function}, "rng": (numpy state, random state)}


def begin(rows: int) -> None:
    """Patch pandas' readers to return at most ``rows`` rows and remember the global RNG states;
    :func:`end` undoes both. Process-wide: only for the duration of a smoke run."""
    global _active
    end()
    import numpy as np

    originals: dict = {}
    try:
        import pandas as pd
    except ImportError:  # nothing to cut
        pd = None
    for name in (*ROW_LIMITED, *CUT_AFTER) if pd is not None else ():
        original = getattr(pd, name, None)
        if original is not None:
            originals[name] = original
            setattr(pd, name, _sampled(original, rows, name in ROW_LIMITED))
    _active = {"originals": originals, "rng": (np.random.get_state(), random.getstate())}


def end() -> None:
    """Put the readers and the RNG states back as :func:`begin` found them (no-op when inactive)."""
    global _active
    if _active is None:
        return
    import numpy as np

    if _active["originals"]:
        import pandas as pd

        for name, original in _active["originals"].items():
            setattr(pd, name, original)
    np.random.set_state(_active["rng"][0])
    random.setstate(_active["rng"][1])
    _active = None


@contextmanager
def sampled_readers(rows: int) -> Iterator[None]:
    """:func:`begin` for the block, :func:`end` after it, whatever happens."""
    begin(rows)
    try:
        yield
    finally:
        end()


def _sampled(reader, rows: int, row_limited: bool):
    @functools.wraps(reader)
    def sampled(*args, **kwargs):
        # nrows is refused with skipfooter and by the pyarrow engine: cut after reading there
        if row_limited and not kwargs.get("skipfooter") and kwargs.get("engine") != "pyarrow":
            given = kwargs.get("nrows")
            kwargs["nrows"] = rows if given is None else min(given, rows)
            return reader(*args, **kwargs)
        if reader.__name__ == "read_json" and kwargs.get("lines") and not kwargs.get("chunksize"):
            kwargs["nrows"] = rows if kwargs.get("nrows") is None else min(kwargs["nrows"], rows)
            return reader(*args, **kwargs)
        return _cut(reader(*args, **kwargs), rows)

    return sampled


def _cut(value, rows: int):
    """The first ``rows`` rows of a frame or series (a copy: no chained-assignment warnings),
    of each frame of a list or dict of them; anything else (an iterator of chunks) as it is."""
    if hasattr(value, "iloc") and hasattr(value, "copy"):
        return value.iloc[:rows].copy()
    if isinstance(value, list):
        return [_cut(item, rows) for item in value]
    if isinstance(value, dict):
        return {key: _cut(item, rows) for key, item in value.items()}
    return value


@dataclass
class SmokeFailure:
    """A candidate that did not complete on the sample: where and why."""

    name: str
    status: str
    line: int | None
    exception: str | None  # last line of the traceback, e.g. ``KeyError: 'price'``
    error: str | None  # the traceback, with the cell's own line numbers
    cause: str | None  # for timeout / crashed: why

    @classmethod
    def from_result(cls, result: PipelineResult) -> "SmokeFailure":
        return cls(result.name, result.status, failure_line(result), exception_line(result.error), result.error, result.cause)


@dataclass
class SmokeReport:
    """Outcome of the smoke run: which candidates ran on the sample, which failed, which were left out."""

    rows: int
    tested: list[str] = field(default_factory=list)
    failed: list[SmokeFailure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # name → why it was not smoke-tested
    seconds: float = 0.0

    def text(self) -> str:
        """Human-readable report, one line per failure and per left-out candidate."""
        head = (f"smoke run on {plural(self.rows, 'row')}: {plural(len(self.tested), 'candidate')} in "
                f"{self.seconds:.1f} s, {len(self.failed)} failed")
        lines = [head + (" (the full run decides their status)" if self.failed else "")]
        width = max((len(f.name) for f in self.failed), default=0)
        for failure in self.failed:
            where = f"line {failure.line}" if failure.line is not None else failure.status
            lines.append(f"  {failure.name:<{width}}  {where}: {failure.exception or failure.cause or failure.status}")
        for name, reason in self.skipped.items():
            lines.append(f"  not smoke-tested: {name} ({reason})")
        return "\n".join(lines)


def smoke_exclusions(pipelines: list["Pipeline"]) -> dict[str, str]:
    """Pipelines the smoke run leaves out, with why (see the module docstring)."""
    written = {f.path for p in pipelines for s in p.steps for f in s.files if f.mode == "w" and f.path}
    excluded = {}
    for pipeline in pipelines:
        files = [f for s in pipeline.steps for f in s.files]
        if not pipeline.isolated:
            excluded[pipeline.name] = "not isolated: it runs in the kernel namespace"
        elif any(f.mode == "w" for f in files):
            excluded[pipeline.name] = "writes files"
        elif any(f.mode == "r" and f.path in written for f in files):
            excluded[pipeline.name] = "reads a file another candidate writes"
        elif not _calls_a_reader(pipeline):
            excluded[pipeline.name] = "calls no pandas reader: nothing to sample"
    return excluded


def _calls_a_reader(pipeline: "Pipeline") -> bool:
    """Whether the cell calls ``pd.read_csv(...)``, ``read_parquet(...)`` or another sampled reader
    anywhere, functions it defines included."""
    readers = {*ROW_LIMITED, *CUT_AFTER}
    return any(
        isinstance(node, ast.Call) and (getattr(node.func, "attr", None) in readers or getattr(node.func, "id", None) in readers)
        for step in pipeline.steps for node in ast.walk(step.tree)
    )


def run_smoke(batch: "Batch", rows: int, **run_options) -> SmokeReport:
    """Run ``batch``'s pending candidates on ``rows``-row samples; nothing of it reaches ``batch``,
    its namespace or the files the full run reads. ``run_options`` go to :meth:`Batch.run`."""
    from .batch import Batch

    start = time.perf_counter()
    report = SmokeReport(rows=rows, skipped=smoke_exclusions(batch.pending))
    trial = Batch(namespace={})
    trial.pending = [p for p in batch.pending if p.name not in report.skipped]
    trial.sample_rows = rows
    if trial.pending:
        with sampled_readers(rows):  # in this process; workers cut their own readers
            results = trial.run(**run_options)
        report.tested = list(results)
        report.failed = [SmokeFailure.from_result(r) for r in results.values() if r.status != "ok"]
    report.seconds = time.perf_counter() - start
    return report


__all__ = ["SmokeFailure", "SmokeReport", "run_smoke", "sampled_readers"]
