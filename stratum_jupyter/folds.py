"""The fold store: fold-level results shared by the pipelines of one run, across processes.

A *fold node* is one fit of one pipeline prefix step on one block of data (a fold's training
rows, a grid point's, the full data of a refit), keyed by what determines its result (see
:mod:`.model_selection`). The first process that needs a key computes it while holding the key's
file lock; any other process (or thread) that needs the same key meanwhile waits on the lock
and then loads the result — and, if the wait lasts (:data:`LEND_AFTER`), lends its step's place
in the runtime to another pipeline (:data:`wait_notice`), so the core does not idle. Entries live
in the run's exchange directory, so they are gone with the run; each is published whole
(temporary file + rename), so a reader never sees half of one.

Every fit and every reuse is appended to an events file (one per process, JSON lines), which
:func:`read_events` gathers for ``%stratum explain``. This module also computes the content
fingerprints of the data the keys are made of (:func:`fingerprint`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: What one process may write to a store, in bytes; past it, fits are computed but not kept.
MAX_STORE_BYTES = 2 << 30


def lend_here(waiting: bool) -> object:
    """Tell the runtime of this process that the step on this thread starts (True) or stops
    (False) waiting: it lends the step's place meanwhile (``_native.lend``)."""
    from . import _native

    return _native.lend(waiting)


#: Called with True when a step starts waiting for a fold node another worker computes, and
#: with False when it goes on: the runtime lends the step's place meanwhile (:func:`lend_here`
#: in the process running the runtime; a worker process forwards it there).
wait_notice: Callable[[bool], object] = lend_here


#: Seconds a step waits for a fold before it lends its place, unless the last fold of the same
#: kind (estimator class and fit or transform) took longer here — then it lends at once. Many waits are for a scaler's
#: fit on one fold (milliseconds), shorter than the first calls of the fresh worker that lending
#: may start (~0.1 s: lazy imports, copy-on-write faults): waiting is cheaper then; a vectorizer's
#: fit takes seconds, and every millisecond waited idles a core.
LEND_AFTER = 0.05

_meanwhile = threading.local()  # .work: what this thread does while a fold it needs is computed elsewhere


@contextmanager
def meanwhile(work: Callable[[], bool] | None) -> Iterator[None]:
    """While the block runs, a wait on this thread for a fold node another process or thread is
    computing does ``work()`` first, one piece at a time (it returns False when none is left),
    until the fold is free: a search computes its own later tasks (:mod:`.fold_tasks`) instead
    of idling behind another search on the same folds."""
    previous = getattr(_meanwhile, "work", None)
    _meanwhile.work = work
    try:
        yield
    finally:
        _meanwhile.work = previous


def _work_until_free(handle) -> bool:
    """Do this thread's work meanwhile (not recursively: a wait inside it waits plainly) until
    the lock on ``handle`` is ours (True) or no work is left (False)."""
    work = getattr(_meanwhile, "work", None)
    if work is None:
        return False
    _meanwhile.work = None
    try:
        while work():
            if lock_within(handle, 0.0):
                return True
        return False
    finally:
        _meanwhile.work = work


def lock_within(handle, seconds: float) -> bool:
    """Take the exclusive lock on ``handle`` if it frees within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)


class NotFingerprintable(Exception):
    """A value whose content cannot be digested reliably: its fit is not shared."""


def fingerprint(value: object) -> str:
    """A digest of everything a fit can observe of ``value``: type, shape, dtypes, memory layout
    (summation order can depend on it), index and column labels, and the values themselves.
    Raises NotFingerprintable for values of unknown kinds."""
    digest = hashlib.sha1()  # the fastest of hashlib's here (SHA extensions); nothing adversarial
    _feed(digest, value, 0)
    return digest.hexdigest()


def _feed(digest, value: object, depth: int) -> None:
    if depth > 6:
        raise NotFingerprintable("nested too deeply")
    update = digest.update
    kind = type(value)
    update(f"<{kind.__module__}.{kind.__qualname__}>".encode())
    if value is None or kind in (bool, int, float, complex, str, bytes):
        update(repr(value).encode())
        return
    if kind is np.ndarray:
        _feed_array(digest, value)
        return
    if isinstance(value, (list, tuple)) and kind in (list, tuple):
        update(f"len={len(value)}".encode())
        if all(type(v) in (str, int, float, bool, type(None)) for v in value):
            update(pickle.dumps(value, protocol=5))
            return
        for item in value:
            _feed(digest, item, depth + 1)
        return
    module = kind.__module__
    if module.split(".")[0] == "pandas":
        _feed_pandas(digest, value, depth)
        return
    if module.startswith("scipy.sparse"):
        for part in ("format", "shape", "dtype"):
            update(repr(getattr(value, part)).encode())
        for part in ("data", "indices", "indptr", "row", "col", "offsets"):
            array = getattr(value, part, None)
            if isinstance(array, np.ndarray):
                update(part.encode())
                _feed_array(digest, array)
        return
    if isinstance(value, np.generic):
        update(repr(value.dtype).encode() + value.tobytes())
        return
    raise NotFingerprintable(f"{kind.__qualname__} values are not fingerprinted")


def _feed_array(digest, array: np.ndarray) -> None:
    layout = "C" if array.flags.c_contiguous else "F" if array.flags.f_contiguous else repr(array.strides)
    digest.update(f"{array.dtype.str}{array.shape}{layout}".encode())
    if array.dtype.hasobject:
        digest.update(pickle.dumps(array, protocol=5))  # keeps the types (1 and "1", None and "None")
    elif array.flags.c_contiguous and array.dtype.kind in "biufc":
        digest.update(memoryview(array).cast("B"))  # no copy
    elif array.flags.f_contiguous and array.dtype.kind in "biufc":
        digest.update(memoryview(array.T).cast("B"))
    else:
        digest.update(array.tobytes(order="A"))


def _feed_pandas(digest, value: object, depth: int) -> None:
    import pandas as pd

    update = digest.update
    if isinstance(value, pd.DataFrame):
        _feed_index(digest, value.columns)
        _feed_index(digest, value.index)
        update(repr(value.attrs).encode())
        manager = value._mgr
        blocks = getattr(manager, "blocks", None)
        if blocks is None:
            raise NotFingerprintable("a DataFrame without blocks")
        for block in blocks:  # the block layout decides how the frame converts to an array
            update(repr(block.mgr_locs.as_array.tolist()).encode())
            _feed_values(digest, block.values)
        return
    if isinstance(value, pd.Series):
        update(repr((value.name, value.attrs)).encode())
        _feed_index(digest, value.index)
        _feed_values(digest, value.array if not isinstance(value.dtype, np.dtype) else value.to_numpy(copy=False))
        return
    if isinstance(value, pd.Index):
        _feed_index(digest, value)
        return
    raise NotFingerprintable(f"{type(value).__qualname__} values are not fingerprinted")


def _feed_index(digest, index) -> None:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        digest.update(repr(("range", index.start, index.stop, index.step, index.name)).encode())
        return
    digest.update(repr((type(index).__name__, index.dtype, index.names)).encode())
    _feed_values(digest, index._values)


def _feed_values(digest, values) -> None:
    if isinstance(values, np.ndarray):
        _feed_array(digest, values)
        return
    digest.update(repr(values.dtype).encode())  # an extension array: its own pickle keeps everything
    digest.update(pickle.dumps(values, protocol=5))


@dataclass
class FoldEvent:
    """One fold node needed by one pipeline: ``fit`` (computed here) or ``reuse`` (loaded),
    ``transform`` / ``transform-reuse`` for a transform of a shared fit's state, ``helped``
    for a search's task an idle worker computed ahead, and ``ahead`` for one its own worker
    computed while it waited for another's fold (:mod:`.fold_tasks`)."""

    key: str
    spec: str  # the estimator part of the key: same spec, different data = another fold
    label: str
    pipeline: str
    kind: str
    seconds: float
    step: int = -1  # the graph node whose statement needed it (-1: unknown)
    verb: str = "fit+transform"  # a pipeline prefix step's; "fit" for a model's


class FoldStore:
    """Fold nodes of one run in ``directory`` (created if missing), shared by every process
    and thread that opens it. ``pipeline`` and ``step`` name, per thread, who needs a node (the
    cell's file name and the graph node of its statement, for events)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.written = 0
        self._local = threading.local()
        self._events_lock = threading.Lock()
        self.fits = 0
        self.reuses = 0
        self.took: dict[str, float] = {}  # group → seconds the last fold of that kind took here

    @property
    def pipeline(self) -> str:
        return getattr(self._local, "pipeline", "")

    @pipeline.setter
    def pipeline(self, name: str) -> None:
        self._local.pipeline = name

    @property
    def step(self) -> int:
        return getattr(self._local, "step", -1)

    @step.setter
    def step(self, node: int) -> None:
        self._local.step = node

    def record_event(self, key: str, spec: str, label: str, kind: str, seconds: float, verb: str) -> None:
        """Record what this thread's current step did with fold node ``key`` (``verb``: what
        such a node does, ``fit+transform`` or ``fit``)."""
        self.record(FoldEvent(key, spec, label, self.pipeline, kind, seconds, self.step, verb))

    @contextmanager
    def locked(self, key: str, patience: float) -> Iterator[bool]:
        """Hold ``key``'s lock; yields whether another process or thread held it first."""
        with open(self.directory / f"{key}.lock", "a+b") as handle:
            # released when the file closes, or the process dies
            contended = not lock_within(handle, 0.0)
            if contended and not _work_until_free(handle) and not lock_within(handle, patience):  # lend our place
                wait_notice(True)
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                finally:
                    wait_notice(False)
            try:
                yield contended
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def get_or_compute(
        self, key: str, compute: Callable[[], tuple[object, bytes | None]], group: str = "",
    ) -> tuple[object, bytes | None]:
        """``(result, None)`` from ``compute()`` when no one computed ``key`` yet (its bytes,
        if any, are kept for the others), else ``(None, bytes)`` kept by the one who did.
        An exception of ``compute`` propagates and keeps nothing: the next caller computes.
        ``group``: the kind of fold, whose last computation or wait here says how patient to be
        (:data:`LEND_AFTER`)."""
        path = self.directory / f"{key}.fold"
        start = time.monotonic()
        with self.locked(key, 0.0 if self.took.get(group, 0.0) > LEND_AFTER else LEND_AFTER) as waited:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                data = None
            if data is not None:
                if waited:
                    self.took[group] = time.monotonic() - start
                return None, data
            start = time.monotonic()
            result, data = compute()
            self.took[group] = time.monotonic() - start
            if data is not None and self.written + len(data) <= MAX_STORE_BYTES:
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
                self.written += len(data)
            return result, None

    def record(self, event: FoldEvent) -> None:
        """Append ``event`` to this process's events file."""
        line = json.dumps(event.__dict__) + "\n"
        with self._events_lock:
            if event.kind == "fit":
                self.fits += 1
            elif event.kind == "reuse":
                self.reuses += 1
            with open(self.directory / f"events-{os.getpid()}.jsonl", "a", encoding="utf-8") as events:
                events.write(line)


def read_events(directory: str | os.PathLike) -> list[FoldEvent]:
    """Every event recorded in a store's directory (by any process), in no particular order."""
    events = []
    for path in sorted(Path(directory).glob("events-*.jsonl")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                events.append(FoldEvent(**json.loads(line)))
            except (ValueError, TypeError):  # a line cut short by a crashed worker
                continue
    return events


@dataclass
class FoldSharing:
    """The fold nodes of one estimator spec in a run: how many inputs it was fitted on (folds,
    grid points' data, refits), how often those fits ran and were reused, the same for the
    transforms of its fitted states (the validation rows of each fold), and which pipelines."""

    label: str
    inputs: int
    fits: int
    reuses: int
    pipelines: list[str]
    transforms: int = 0
    transform_reuses: int = 0
    helped: int = 0  # a search's tasks computed ahead by an idle worker
    verb: str = "fit+transform"

    def shared(self) -> bool:
        """Whether anyone's work served another here (worth a line in ``%stratum explain``)."""
        return bool(self.reuses or self.transform_reuses or self.helped)

    def counts(self) -> str:
        """``5 run, 15 reused; transform: 5 run, 15 reused`` (``6 computed ahead by an idle
        worker`` for a search's tasks)"""
        parts = [f"{self.fits} run, {self.reuses} reused"] if self.fits or self.reuses or not self.helped else []
        if self.transforms or self.transform_reuses:
            parts.append(f"transform: {self.transforms} run, {self.transform_reuses} reused")
        if self.helped:
            parts.append(f"{self.helped} computed ahead by an idle worker")
        return "; ".join(parts)

    def describe(self) -> str:
        """``ColumnTransformer(StandardScaler) fit+transform: 5 folds, shared by 4 candidates …``"""
        from .frontend import plural

        names = ", ".join(self.pipelines[:6]) + (", …" if len(self.pipelines) > 6 else "")
        if self.helped and not (self.fits or self.reuses):  # one search's own tasks
            return f"{self.label} {self.verb}: {plural(self.inputs, 'task')} of {names}: {self.counts()}"
        return (f"{self.label} {self.verb}: {plural(self.inputs, 'fold')}, shared by "
                f"{plural(len(self.pipelines), 'candidate')} ({names}): {self.counts()}")


def summarize(events: list[FoldEvent], names: list[str]) -> list[FoldSharing]:
    """Events grouped by estimator spec, in order of first use, the specs whose work someone
    reused (a model each candidate fits alone is not worth a line); ``names``: the pipelines in
    capture order."""
    return [g for g in _by_spec(events, names).values() if g.shared()]


def _by_spec(events: list[FoldEvent], names: list[str]) -> dict[str, FoldSharing]:
    groups: dict[str, FoldSharing] = {}
    keys: dict[str, set[str]] = {}
    order = {name: i for i, name in enumerate(names)}
    counters = {"fit": "fits", "reuse": "reuses", "transform": "transforms", "transform-reuse": "transform_reuses",
                "helped": "helped"}
    for event in sorted(events, key=lambda e: order.get(e.pipeline, len(order))):
        if event.kind not in counters:  # a search's own task computed out of its turn: no sharing
            continue
        group = groups.setdefault(event.spec, FoldSharing(event.label, 0, 0, 0, [], verb=event.verb))
        if event.kind in ("fit", "reuse", "helped"):
            keys.setdefault(event.spec, set()).add(event.key)
            group.inputs = len(keys[event.spec])
        setattr(group, counters[event.kind], getattr(group, counters[event.kind]) + 1)
        if event.pipeline not in group.pipelines:
            group.pipelines.append(event.pipeline)
    return groups


def summarize_steps(events: list[FoldEvent], names: list[str]) -> dict[int, list[str]]:
    """Per graph node, what its statement did with fold nodes, one line per estimator spec:
    ``ColumnTransformer(StandardScaler) fit+transform: 5 folds here: 0 run, 5 reused; transform:
    0 run, 5 reused (shared by 4 candidates)`` — the fold level folded into its statement (specs
    whose work someone reused, as in :func:`summarize`)."""
    from .frontend import plural

    run_wide = _by_spec(events, names)
    by_step: dict[int, list[FoldEvent]] = {}
    for event in events:
        if event.step >= 0:
            by_step.setdefault(event.step, []).append(event)
    lines: dict[int, list[str]] = {}
    for step, own in sorted(by_step.items()):
        for spec, group in _by_spec(own, names).items():
            if not run_wide[spec].shared():
                continue  # as in summarize: work nobody reused is not worth a line
            text = f"{group.label} {group.verb}: {plural(group.inputs, 'fold')} here: {group.counts()}"
            if len(run_wide[spec].pipelines) > 1:
                text += f" (shared by {plural(len(run_wide[spec].pipelines), 'candidate')})"
            lines.setdefault(step, []).append(text)
    return lines


__all__ = [
    "FoldEvent", "FoldSharing", "FoldStore", "NotFingerprintable", "fingerprint", "read_events", "summarize",
    "summarize_steps",
]
