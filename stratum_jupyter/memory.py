"""Memory sizes and budgets: parsing ``--memory 4GB``, the default budget, the size of a value.

Admission under the budget (a step whose start would push the process past it waits; idle
outputs are spilled when nothing can run) lives in the Rust runtime, ``rust/src/memory.rs``."""

from __future__ import annotations

import re

import psutil

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


MEMORY_HELP = "memory budget, e.g. 4GB (default: half of RAM); idle outputs spill to disk when nothing fits"


def parse_size(text: str | int | float) -> int:
    """``"4GB"``, ``"500MB"``, ``"1.5g"`` or a number of bytes → bytes."""
    if isinstance(text, (int, float)):
        value = int(text)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"memory budget must look like 4GB, 500MB or a number of bytes, got {text!r}")
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value <= 0:
        raise ValueError(f"memory budget must be positive, got {text!r}")
    return value


def default_budget() -> int:
    """Half of the machine's memory."""
    return psutil.virtual_memory().total // 2


def sizeof(value: object) -> int:
    """Bytes held by a value: deep for pandas, buffer size for numpy, shallow otherwise."""
    memory_usage = getattr(value, "memory_usage", None)
    if callable(memory_usage) and hasattr(value, "columns"):
        try:
            return int(memory_usage(deep=True).sum())
        except Exception:  # noqa: BLE001
            pass
    if callable(memory_usage):
        try:
            return int(memory_usage(deep=True))
        except Exception:  # noqa: BLE001
            pass
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    import sys

    try:
        return sys.getsizeof(value)
    except TypeError:
        return 0


def process_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` (0 once it is gone)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0
