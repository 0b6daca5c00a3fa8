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


_PROCESS = psutil.Process()


def resident_bytes() -> int:
    return _PROCESS.memory_info().rss


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

    IDLE_WAIT = 1.0  # seconds a step waits with nothing admitted running: replays may free memory

    def __init__(self, limit: int, probe: bool = True, jobs: int = 1) -> None:
        self.limit = limit
        self.probe = probe  # learn shapes and run a new shape alone first; on for budgets the user chose
        self.jobs = jobs
        self.condition = threading.Condition()
        self.running: list[str] = []  # shapes of the admitted steps still running
        self.growth: dict[str, int] = {}  # shape → resident growth seen when it last ran
        self.probing: set[str] = set()  # shapes running for the first time
        self.waits = 0

    def _must_wait(self, shape: str, waited: float) -> bool:
        if not self.running and (self.jobs == 1 or waited >= self.IDLE_WAIT):
            return False  # a step always runs eventually: a budget never deadlocks
        if self.probe and shape in self.probing:
            return True
        # Running steps may not have allocated yet: count what they are expected to take.
        projected = resident_bytes() + self.growth.get(shape, 0) + sum(self.growth.get(s, 0) for s in self.running)
        return projected > self.limit

    @contextmanager
    def admit(self, shape: str) -> Iterator[None]:
        """Block until this step may start, then account for it while it runs."""
        waited = 0.0
        with self.condition:
            while self._must_wait(shape, waited):
                self.waits += 1
                self.condition.wait(0.05)
                waited += 0.05
            self.running.append(shape)
            if shape not in self.growth:
                self.probing.add(shape)
        before = resident_bytes() if self.probe else 0
        try:
            yield
        finally:
            grown = max(0, resident_bytes() - before) if self.probe else 0
            with self.condition:
                self.running.remove(shape)
                self.growth[shape] = max(grown, self.growth.get(shape, 0))
                self.probing.discard(shape)
                self.condition.notify_all()
