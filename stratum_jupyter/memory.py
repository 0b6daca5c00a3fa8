"""Memory sizes and budgets: parsing ``--memory 4GB``, the default budget, the size of a value.

Admission under the budget (a step whose start would push the process past it waits; idle
outputs are spilled when nothing can run) lives in the Rust runtime, ``rust/src/memory.rs``."""

from __future__ import annotations

import re
import sys

import numpy as np
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


#: Python objects sampled to estimate what a pandas object column (all of a frame's together) holds.
SAMPLE_OBJECTS = 1024


def sizeof(value: object) -> int:
    """Bytes held by a value: deep for pandas (the Python objects of object and python-string
    columns estimated from a sample), buffer size for numpy, shallow otherwise. Taken for every
    step's outputs, so it costs per column, not per cell (pandas' exact ``deep=True`` visits every
    string: 5 ms for a 3,000 x 80 frame)."""
    memory_usage = getattr(value, "memory_usage", None)
    if callable(memory_usage) and hasattr(value, "index") and hasattr(value, "ndim"):
        try:
            return _pandas_bytes(value)
        except Exception:  # noqa: BLE001 - an unusual subclass: its own measure
            pass
    if callable(memory_usage):
        try:
            return int(memory_usage(deep=True))
        except Exception:  # noqa: BLE001
            pass
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    try:
        return sys.getsizeof(value)
    except TypeError:
        return 0


def _pandas_bytes(value) -> int:
    """A DataFrame's or Series' buffers, plus its objects' estimated sizes. The buffers come from
    the dtypes (pandas' ``memory_usage`` builds a Series per call: 1 ms for 80 columns); the
    objects from one sample of rows across all object columns."""
    rows = len(value)
    frame = value if value.ndim == 2 else value.to_frame()
    total = int(value.index.memory_usage(deep=False))
    objects = []
    for i, dtype in enumerate(frame.dtypes):
        if isinstance(dtype, np.dtype):
            total += rows * dtype.itemsize
        elif getattr(dtype, "storage", None) == "python":  # pandas' strings in an object array
            total += rows * np.dtype(object).itemsize
        else:  # an extension array (strings, categories, nullable, Arrow): its own buffers
            total += int(frame.iloc[:, i].array.nbytes)
        if _holds_objects(dtype):
            objects.append(i)
    if objects and rows:
        picked = range(0, rows, max(1, rows // max(SAMPLE_OBJECTS // len(objects), 8)))
        sample = frame.iloc[picked, objects].to_numpy(dtype=object).ravel()
        total += round(sum(map(sys.getsizeof, sample)) * rows * len(objects) / len(sample))
    if _holds_objects(value.index.dtype) and rows:
        sample = value.index[:: max(1, rows // SAMPLE_OBJECTS)].to_numpy(dtype=object)
        total += round(sum(map(sys.getsizeof, sample)) * rows / len(sample))
    return total


def _holds_objects(dtype) -> bool:
    """Whether a pandas column of ``dtype`` stores Python objects (not buffers)."""
    return dtype == object or getattr(dtype, "storage", None) == "python"


def process_rss(pid: int) -> int:
    """Resident bytes of process ``pid`` (0 once it is gone)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0
