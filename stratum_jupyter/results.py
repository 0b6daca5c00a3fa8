"""Results of a batch run: per-pipeline outcome, the leaderboard, and write-back to the kernel."""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .smoke import SmokeReport

STATUSES = ("ok", "failed", "timeout", "crashed", "skipped", "cancelled")


@dataclass
class PipelineResult:
    """What one captured cell left behind, as if it had run on its own."""

    name: str
    status: str = "pending"
    namespace: dict[str, object] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    error: str | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    outputs: list[tuple[str, object]] = field(default_factory=list)  # printed text and displays, in order
    result: object = None  # value of the cell's last expression, as a notebook would show it
    steps: int = 0
    shared_steps: int = 0
    cause: str | None = None  # why it was skipped / cancelled / timed out / crashed
    untransferable: list[str] = field(default_factory=list)  # names whose values could not leave the worker
    filename: str = ""  # what its code ran as (its tracebacks' file): the script's path, else <cell NAME>

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.namespace)[:8])
        return f"<PipelineResult {self.name}: {self.status}, {self.seconds:.3f}s, names: {names}>"


class RunResult(Mapping[str, PipelineResult]):
    """Mapping from pipeline name to :class:`PipelineResult`, in capture order."""

    def __init__(self, results: list[PipelineResult] | None = None) -> None:
        self._results: dict[str, PipelineResult] = {r.name: r for r in results or []}
        self.stats: dict = {}
        self.smoke: SmokeReport | None = None  # the smoke run before this run, if one was asked for

    def __getitem__(self, name: str) -> PipelineResult:
        return self._results[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def update(self, other: "RunResult") -> None:
        """Merge a later run's results (later wins for a name captured again)."""
        self._results.update(other._results)
        self.stats = other.stats
        self.smoke = other.smoke

    def to_json(self, indent: int | None = None) -> str:
        """The agents' form: one JSON document with every pipeline's status, scores, names, output
        tail and error (format: README, "JSON for agents"; built by :mod:`.json_report`)."""
        from .json_report import run_json

        return run_json(self, indent=indent)

    def table(self):
        """Leaderboard as a pandas DataFrame: one row per pipeline, numeric results as columns."""
        import pandas as pd

        rows = []
        for result in self._results.values():
            row = {"pipeline": result.name, "status": result.status, "seconds": round(result.seconds, 4)}
            for key, value in result.namespace.items():
                if is_score_name(key) and isinstance(value, numbers.Real) and not isinstance(value, bool):
                    row[key] = float(value)
            rows.append(row)
        frame = pd.DataFrame(rows)
        if frame.empty:
            return pd.DataFrame(columns=["pipeline", "status", "seconds"])
        metrics = [c for c in frame.columns if c not in ("pipeline", "status", "seconds")]
        preferred = [c for c in metrics if any(w in c.lower() for w in ("score", "acc", "auc", "r2", "f1"))]
        if preferred:
            frame = frame.sort_values(preferred[0], ascending=False, na_position="last", kind="stable")
        return frame.set_index("pipeline")

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table())


SCORE_WORDS = ("score", "acc", "auc", "r2", "f1", "rmse", "mae", "mse", "loss", "precision", "recall")


def is_score_name(name: str) -> bool:
    """Whether a bound name looks like a metric (``score``, ``cv_scores``, ``rmse``, ``val_acc``…):
    the leaderboard's columns and the JSON report's ``scores``."""
    return not name.startswith("_") and any(w in name.lower() for w in SCORE_WORDS)


def failure_line(result: PipelineResult) -> int | None:
    """The line of the cell where a pipeline stopped: the innermost frame of the cell in its
    traceback, else the line its cause names (time limit, crash); None when it completed."""
    if result.status == "ok":
        return None
    frames = re.findall(rf'File "{re.escape(result.filename or f"<cell {result.name}>")}", line (\d+)',
                        result.error or "")
    if frames:
        return int(frames[-1])
    found = re.search(r"(?:at|running) line (\d+)", result.cause or "")
    return int(found.group(1)) if found else None


def exception_line(error: str | None) -> str | None:
    """The last line of a traceback: ``KeyError: 'price'``."""
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def write_back(namespace: MutableMapping[str, object], results: list[PipelineResult]) -> None:
    """Apply every pipeline's bindings in capture order: last writer wins, deletions too."""
    for result in results:
        for name in result.deleted:
            namespace.pop(name, None)
        namespace.update(result.namespace)
