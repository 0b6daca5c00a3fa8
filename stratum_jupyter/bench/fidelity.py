"""Fidelity check: every mode must leave, per script, what the reference mode left.

Compares the records the child processes pickled (status, stdout, namespace) with
``stratum_jupyter.compare.first_difference``; a small built-in comparator stands in when that
module is not importable (reported as ``comparator: "fallback"``).
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

Comparator = Callable[[dict, dict], "str | None"]
MAX_MISMATCHES = 20  # per workload, in the report


def get_comparator() -> tuple[Comparator, str]:
    """(first_difference, its origin): the project's comparator, or the fallback."""
    try:
        from stratum_jupyter.compare import first_difference
    except Exception:  # not written yet, or the package fails to import
        return fallback_first_difference, "fallback"
    return first_difference, "stratum_jupyter.compare"


def _equal(a: Any, b: Any) -> bool:
    import numpy as np
    import pandas as pd

    if type(a) is not type(b):
        return False
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        return a.equals(b) and list(getattr(a, "columns", [])) == list(getattr(b, "columns", []))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:
        return bool(a == b)


def fallback_first_difference(expected: dict, actual: dict) -> str | None:
    """First name whose value differs (None if identical): coarse, used only as a stand-in."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing or extra:
        return f"names differ: missing {missing}, extra {extra}"
    for name in sorted(expected):
        if not _equal(expected[name], actual[name]):
            return f"{name}: values differ ({type(expected[name]).__name__})"
    return None


def load_record(path: Path) -> dict:
    """A record pickled by ``child.save_record`` with its namespace values unpickled."""
    record = pickle.loads(path.read_bytes())
    record["namespace"] = {k: pickle.loads(v) for k, v in record.pop("values").items()}
    return record


def compare_modes(captures: dict[str, Path], names: list[str], reference: str,
                  comparator: Comparator | None = None) -> dict:
    """Compare every mode's records with ``reference``'s, script by script.

    ``captures`` maps mode -> directory of ``NAME.pkl`` records. Returns the ``fidelity`` entry
    of the report: reference, comparator, verdict, per-mode verdicts, mismatches.
    """
    origin = "given"
    if comparator is None:
        comparator, origin = get_comparator()
    result: dict = {"reference": reference, "comparator": origin, "modes": {},
                    "mismatches": []}
    if reference not in captures:
        result["verdict"] = "not compared"
        return result
    result["modes"][reference] = "reference"
    for mode, directory in captures.items():
        if mode == reference:
            continue
        differences = 0
        for name in names:
            try:
                expected = load_record(captures[reference] / f"{name}.pkl")
                actual = load_record(directory / f"{name}.pkl")
                diff = _record_difference(expected, actual, comparator)
            except Exception as exc:  # a missing or unreadable record is a mismatch too
                diff = f"could not compare: {exc!r}"
            if diff is not None:
                differences += 1
                if len(result["mismatches"]) < MAX_MISMATCHES:
                    result["mismatches"].append({"mode": mode, "script": name,
                                                 "difference": diff})
        result["modes"][mode] = "identical" if differences == 0 else "mismatch"
    bad = any(v == "mismatch" for v in result["modes"].values())
    result["verdict"] = "mismatch" if bad else "identical"
    return result


def _record_difference(expected: dict, actual: dict, comparator: Comparator) -> str | None:
    if expected["status"] != actual["status"]:
        why = (actual.get("error") or "").strip().splitlines()[-1:] or ["no error message"]
        return f"status {actual['status']!r}, expected {expected['status']!r}: {why[0][:300]}"
    if expected["stdout"] != actual["stdout"]:
        return f"stdout {actual['stdout'][:200]!r}, expected {expected['stdout'][:200]!r}"
    with warnings.catch_warnings():  # comparing sparse matrices etc. may warn; not our concern
        warnings.simplefilter("ignore")
        return comparator(expected["namespace"], actual["namespace"])
