"""Memory budget: a step whose start would push the process past the budget waits.

Steps are estimated by *shape* (their code with constants blanked): the growth of the process's
resident memory while a shape runs is remembered. With a budget the user chose, the first step
of a shape also runs alone among its kind, so eight candidates that each build a large
intermediate are measured once and then admitted as memory allows, instead of all at once.
A step always runs when nothing else is running, so a budget never deadlocks."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


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


def resident_bytes() -> int:
    return psutil.Process().memory_info().rss


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


class MemoryBudget:
    """Admission control for steps, shared by all worker threads of one run."""

    def __init__(self, limit: int, probe: bool = True) -> None:
        self.limit = limit
        self.probe = probe  # run a new shape alone first; on for budgets the user chose
        self.condition = threading.Condition()
        self.running = 0
        self.growth: dict[str, int] = {}  # shape → resident growth seen when it last ran
        self.probing: set[str] = set()  # shapes running for the first time
        self.waits = 0

    @contextmanager
    def admit(self, shape: str) -> Iterator[None]:
        """Block until this step may start, then account for it while it runs."""
        with self.condition:
            while self.running > 0 and (
                (self.probe and shape in self.probing) or resident_bytes() + self.growth.get(shape, 0) > self.limit
            ):
                self.waits += 1
                self.condition.wait(0.05)
            self.running += 1
            if shape not in self.growth:
                self.probing.add(shape)
        measure = self.probe or shape in self.probing  # the default budget learns each shape once
        before = resident_bytes() if measure else 0
        try:
            yield
        finally:
            grown = max(0, resident_bytes() - before) if measure else 0
            with self.condition:
                self.running -= 1
                self.growth[shape] = max(grown, self.growth.get(shape, 0))
                self.probing.discard(shape)
                self.condition.notify_all()
