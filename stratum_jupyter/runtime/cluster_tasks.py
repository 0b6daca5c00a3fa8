"""What runs on the workers of a dask distributed cluster (``--backend dask`` with a client).

An isolated pipeline's namespace lives on one cluster worker (:class:`PipelineState`, the result
of its latest task); each step is a task there that takes that state and the outputs of shared
steps other pipelines computed (pickled bytes, moved by dask), runs the statement exactly as a
worker process does (:meth:`.worker.Worker.on_step`) and returns the state with the reply the
kernel reads; a step other pipelines reuse keeps its outputs for a :func:`take_outputs` task,
whose result dask moves to them. The kernel side is :mod:`.cluster`.

A worker runs tasks of several pipelines, interleaved and on several threads: what a worker
process keeps for its one pipeline travels in the state instead — the global RNG state of a
pipeline that draws from it (restored under a lock, as the kernel's runtime threads do), its
working directory, its cell's lines for tracebacks and its process settings (warnings filters,
pandas options, …: :mod:`..process_state`), put in place for each of its steps and replaced by
the worker's own after it. The stdlib ``random`` module's functions
draw, in a step's thread, from the step's own generator: distributed's event loop draws from the
shared one meanwhile (``random.choice`` when gathering a step's inputs from other workers), which
the lock does not hold off.
"""

from __future__ import annotations

import linecache
import os
import random
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import process_state
from ..streams import route_process_output
from . import script_namespace
from .worker import Worker, rng_state, set_rng_state

_STEP_LOCK = threading.Lock()  # cwd and the global RNGs are process-wide: one step at a time
_LIVE: dict[str, "PipelineState"] = {}  # token -> the pipelines living in this worker process
_OWN_SETTINGS: list[dict] = []  # the worker process's settings, before any pipeline's step


class _StepRandom:
    """Stands for ``random.NAME``: the running step's generator in its thread, the shared one
    elsewhere. Pickled as ``random.NAME`` (a cell's ``from random import shuffle``)."""

    def __init__(self, name: str, shared: random.Random) -> None:
        self.name = name
        self.shared = shared

    def __call__(self, *args, **kwargs):
        return getattr(getattr(_STEP_RANDOM, "generator", None) or self.shared, self.name)(*args, **kwargs)

    def __reduce__(self):
        return _random_function, (self.name,)


def _random_function(name: str):
    return getattr(random, name)


_STEP_RANDOM = threading.local()


def _route_random() -> None:
    """Replace the module's functions bound to its shared generator, in a cluster worker (the
    first step there does it; functions already replaced are left as they are)."""
    shared = random._inst  # type: ignore[attr-defined]
    for name in dir(shared):
        bound = getattr(random, name, None)
        if not name.startswith("_") and getattr(bound, "__self__", None) is shared:
            setattr(random, name, _StepRandom(name, shared))


class StateLost(RuntimeError):
    """A task found no pipeline state here: its worker restarted since the pipeline started."""


@dataclass
class PipelineState:
    """One isolated pipeline's namespace on a cluster worker, and what goes with it.

    It never leaves its worker (its tasks are pinned there, and its namespace may hold values
    that cannot be pickled): pickled — a task's result gathered by the kernel, or spilled by the
    worker — it is its token, resolved back to the live state in the same worker."""

    token: str
    filename: str
    code: str
    cwd: str
    namespace: dict = field(default_factory=lambda: script_namespace(None))
    rng: tuple | None = None  # (numpy, random) state after its last step that used the global RNG
    published: dict[str, bytes] = field(default_factory=dict)  # step id -> outputs not yet taken
    settings: process_state.Carried | None = None  # its process settings (None: no step ran yet)

    def __reduce__(self):
        return _resolve, (self.token,)


def _resolve(token: str) -> "PipelineState | str":
    return _LIVE.get(token, token)  # elsewhere (the kernel): the token alone


def _live(result: "tuple | PipelineState") -> PipelineState:
    state = result[0] if isinstance(result, tuple) else result
    if not isinstance(state, PipelineState):
        raise StateLost(f"the pipeline's namespace is not in this worker (token {state}): it restarted")
    return state


def start(token: str, filename: str, code: str, cwd: str, script: str | None = None) -> PipelineState:
    """A fresh namespace for a pipeline, as a script starts (``script``: its file)."""
    state = _LIVE[token] = PipelineState(token, filename, code, cwd, script_namespace(script))
    return state


def step(previous: "tuple | PipelineState", bindings: list[tuple[bytes, dict[str, str], bool]], request: dict,
         publish_as: str | None) -> tuple[PipelineState, dict]:
    """Bind ``bindings`` (outputs of steps that ran elsewhere: pickled bytes, the input versions
    their references resolve to, whether they carry the RNG state), run one statement as a
    worker process does (``request``: the arguments of :meth:`Worker.on_step` but those two),
    and return (the state, the reply for the kernel). ``publish_as``: keep the step's outputs
    under this id for :func:`take_outputs` (other pipelines reuse them)."""
    state = _live(previous)
    # A cluster worker interleaves pipelines on its threads, while the working directory and the
    # global RNGs are the process's: one step at a time enters its pipeline's (seen under load
    # before: a stdlib-random candidate of the corpus came out different).
    with tempfile.TemporaryDirectory(prefix="stratum-step-") as scratch:
        items = _files(scratch, bindings)
        target = os.path.join(scratch, "outputs.pkl") if publish_as is not None else None
        with _STEP_LOCK, _settings_of(state):
            _enter(state)
            _route_random()
            _STEP_RANDOM.generator = random.Random()
            try:
                if state.rng is not None:
                    set_rng_state(state.rng)
                reply = _worker(state).on_step(bindings=items, publish_to=target, **request)
                state.rng = rng_state()
            finally:
                _STEP_RANDOM.generator = None
        if target is not None and reply["published"]:
            state.published[publish_as] = Path(target).read_bytes()
    state.cwd = os.getcwd()  # a cell that changed directory goes on there, as a script would
    return state, reply


def take_outputs(result: tuple, step_id: str) -> bytes:
    """The outputs a step published, as a value of their own: dask moves them to the workers of
    the pipelines that reuse them."""
    return _live(result).published.pop(step_id)


def collect(previous: "tuple | PipelineState", bindings: list[tuple[bytes, dict[str, str], bool]]) -> dict:
    """The pipeline's names, pickled together, and those that cannot travel (as a worker
    process collects them), after binding the outputs reused after its last own step. The
    pipeline then leaves this worker."""
    state = _live(previous)
    _enter(state)
    try:
        with tempfile.TemporaryDirectory(prefix="stratum-collect-") as scratch, _STEP_LOCK, _settings_of(state):
            return _worker(state).on_collect(_files(scratch, bindings))  # (bindings may replay settings)
    finally:
        forget(state.token)


@contextmanager
def _settings_of(state: PipelineState) -> Iterator[None]:
    """The pipeline's process settings while the block runs (the worker's own at its first step),
    kept for its next; the worker's own afterwards. Under the step lock: one pipeline at a time."""
    if not _OWN_SETTINGS:
        _OWN_SETTINGS.append(process_state.baseline())
    own = _OWN_SETTINGS[0]
    if state.settings is None:
        state.settings = process_state.Carried(own)
    with state.settings.applied(then=own):
        yield


def forget(token: str) -> None:
    """Drop a pipeline's namespace from this worker (collected, or ended by the kernel)."""
    _LIVE.pop(token, None)


def _enter(state: PipelineState) -> None:
    """Set the process up for one of the pipeline's tasks: output routed per thread, the
    cell's lines for tracebacks, the pipeline's working directory (when it exists here)."""
    route_process_output()
    linecache.cache[state.filename] = (len(state.code), None, state.code.splitlines(True), state.filename)
    if os.path.isdir(state.cwd) and os.getcwd() != state.cwd:
        os.chdir(state.cwd)


def _worker(state: PipelineState) -> Worker:
    worker = Worker(connection=None)
    worker.namespace = state.namespace
    return worker


def _files(directory: str, bindings: list[tuple[bytes, dict[str, str], bool]]) -> list[dict]:
    """The bindings as a worker process receives them: files of published outputs."""
    items = []
    for number, (data, inputs, rng) in enumerate(bindings):
        path = os.path.join(directory, f"binding-{number}.pkl")
        Path(path).write_bytes(data)
        items.append({"path": path, "inputs": inputs, "rng": rng})
    return items
