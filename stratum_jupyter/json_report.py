"""The JSON document agents read: ``%stratum run --json``, ``stratum run --json`` and
``stratum_results.to_json()`` all print or return :func:`run_json`.

The format is documented in the README ("JSON for agents") and pinned by
``tests/test_json_report.py``; :data:`FORMAT` changes when a key changes meaning.
"""

from __future__ import annotations

import json
import math
import numbers
import reprlib
import types
from collections.abc import Mapping

from .results import PipelineResult, RunResult, exception_line, failure_line, is_score_name

FORMAT = "stratum-results/1"
TAIL_CHARS = 2000  # of stdout / stderr: enough for the last prints and warnings
ARRAY_VALUES = 100  # score arrays longer than this report their mean and length only
REPR_CHARS = 100
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def run_document(run: RunResult) -> dict:
    """The whole document: format, summary, the smoke run (or None), pipelines in capture order."""
    statuses: dict[str, int] = {}
    for result in run.values():
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return {
        "format": FORMAT,
        "summary": {"pipelines": len(run), "statuses": statuses},
        "smoke": smoke_document(run.smoke) if run.smoke is not None else None,
        # changes the effect analysis missed and the guard caught, and the pipelines run again (or None)
        "guard": run.stats.get("guard"),
        "pipelines": [pipeline_document(result) for result in run.values()],
    }


def run_json(run: RunResult, indent: int | None = None) -> str:
    """:func:`run_document` as strict JSON (NaN and infinities become null)."""
    return json.dumps(run_document(run), indent=indent, allow_nan=False)


def pipeline_document(result: PipelineResult) -> dict:
    return {
        "name": result.name,
        "status": result.status,
        "cause": result.cause,
        "line": failure_line(result),
        "exception": exception_line(result.error),
        "error": result.error,
        "seconds": round(result.seconds, 4),
        "steps": result.steps,
        "shared_steps": result.shared_steps,
        "own_steps": result.steps - result.shared_steps,
        "scores": scores(result.namespace),
        "names": {name: {"type": type(value).__name__, "repr": short_repr(value)} for name, value in result.namespace.items()},
        "untransferable": list(result.untransferable),
        "stdout_tail": result.stdout[-TAIL_CHARS:],
        "stderr_tail": result.stderr[-TAIL_CHARS:],
    }


def smoke_document(report) -> dict:
    """A :class:`~stratum_jupyter.smoke.SmokeReport` as JSON."""
    return {
        "rows": report.rows,
        "seconds": round(report.seconds, 4),
        "tested": list(report.tested),
        "failed": [
            {"name": f.name, "status": f.status, "line": f.line, "exception": f.exception, "error": f.error, "cause": f.cause}
            for f in report.failed
        ],
        "skipped": dict(report.skipped),
    }


def scores(namespace: Mapping[str, object]) -> dict[str, object]:
    """Metrics among the bound names: a number; ``{"mean", "n", "values"}`` for an array of them
    (``cross_val_score``); ``{"mean": {key: mean}}`` for a dict of arrays (``cross_validate``,
    recognised by its ``fit_time``/``score_time`` keys whatever its name)."""
    found = {}
    for name, value in namespace.items():
        cross_validate = isinstance(value, Mapping) and {"fit_time", "score_time"} <= set(value)
        if not (is_score_name(name) or cross_validate):
            continue
        score = score_value(value)
        if score is not _NOT_A_SCORE:
            found[name] = score
    return found


_NOT_A_SCORE = object()


def score_value(value: object) -> object:
    """The JSON form of a metric value, or ``_NOT_A_SCORE``."""
    number = _number(value)
    if number is not _NOT_A_SCORE:
        return number
    if isinstance(value, Mapping):
        means = {str(k): array["mean"] for k, v in value.items() if (array := _array(v)) is not None}
        return {"mean": means} if means else _NOT_A_SCORE
    array = _array(value)
    return array if array is not None else _NOT_A_SCORE


def _number(value: object) -> object:
    """A real number (numpy scalars and 0-d arrays too) as a float, non-finite as None."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()  # type: ignore[attr-defined]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return _NOT_A_SCORE
    number = float(value)
    return number if math.isfinite(number) else None


def _array(value: object) -> dict | None:
    """``{"mean", "n", "values"}`` of a 1-d sequence of real numbers (list, tuple, array, Series)."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__") or getattr(value, "ndim", 1) != 1:
        return None
    try:
        items = [_number(v) for v in value]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - not iterable after all
        return None
    if not items or any(v is _NOT_A_SCORE for v in items):
        return None
    finite = [v for v in items if v is not None]
    mean = math.fsum(finite) / len(finite) if len(finite) == len(items) else None  # a NaN fold: no mean
    return {"mean": mean, "n": len(items), "values": items if len(items) <= ARRAY_VALUES else None}


def short_repr(value: object) -> str:
    """One line of at most :data:`REPR_CHARS` characters: ``DataFrame (442, 11)`` for anything
    with a shape larger than a few elements, ``<module pandas>``, ``<function f>``, else a
    truncated repr."""
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        kind = "class" if isinstance(value, type) else "function"
        return f"<{kind} {getattr(value, '__qualname__', value.__name__)}>"
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and shape and getattr(value, "size", 7) > 6:
        return f"{type(value).__name__} {shape}"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break the report
        return f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= REPR_CHARS else text[: REPR_CHARS - 1] + "…"


__all__ = ["FORMAT", "pipeline_document", "run_document", "run_json", "scores", "short_repr"]
