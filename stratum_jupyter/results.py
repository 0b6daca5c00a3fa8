"""Results of a batch run: per-pipeline outcome, the leaderboard, and write-back to the kernel."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

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

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.namespace)[:8])
        return f"<PipelineResult {self.name}: {self.status}, {self.seconds:.3f}s, names: {names}>"


class RunResult(Mapping[str, PipelineResult]):
    """Mapping from pipeline name to :class:`PipelineResult`, in capture order."""

    def __init__(self, results: list[PipelineResult] | None = None) -> None:
        self._results: dict[str, PipelineResult] = {r.name: r for r in results or []}
        self.stats: dict = {}

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

    def table(self):
        """Leaderboard as a pandas DataFrame: one row per pipeline, numeric results as columns."""
        import pandas as pd

        rows = []
        for result in self._results.values():
            row = {"pipeline": result.name, "status": result.status, "seconds": round(result.seconds, 4)}
            for key, value in result.namespace.items():
                if _is_score(key, value):
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


def _is_score(name: str, value: object) -> bool:
    if name.startswith("_") or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    lowered = name.lower()
    return any(w in lowered for w in ("score", "acc", "auc", "r2", "f1", "rmse", "mae", "mse", "loss", "precision", "recall"))


def write_back(namespace: MutableMapping[str, object], results: list[PipelineResult]) -> None:
    """Apply every pipeline's bindings in capture order: last writer wins, deletions too."""
    for result in results:
        for name in result.deleted:
            namespace.pop(name, None)
        namespace.update(result.namespace)
