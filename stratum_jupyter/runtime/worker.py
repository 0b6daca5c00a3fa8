"""A worker process: runs the steps of one isolated pipeline at a time, in its own namespace.

Forked by the fork server (:mod:`.zygote`), it inherits the native thread limits of its budget
from the server's environment (libgomp reads ``OMP_THREAD_LIMIT`` once, at load, so the limit
must be there before any library loads). It serves requests from the kernel
over the connection on FD, one at a time:

- ``import``: load libraries ahead of the first step (no reply), so candidates find them warm;
- ``start``: a fresh namespace for the next pipeline, in the kernel's working directory (for a
  smoke run, with pandas readers cut to a sample until ``collect``: :mod:`..smoke`);
- ``step``: bind outputs that other processes computed (files written by :func:`publish`), run
  one statement, and, when other pipelines reuse it or the step cache keeps it, publish its
  outputs to a file;
- ``collect``: the pipeline's namespace, pickled, with the names that cannot travel.

A crash, ``os._exit`` or a kill ends this process only; the kernel sees the connection close.
"""

from __future__ import annotations

import ast
import ctypes
import linecache
import os
import signal
import sys
import threading
import time

from .. import effects, fold_tasks, folds, isolation, model_selection, process_state, smoke, transfer
from . import script_namespace
from ..transfer import bind_published, publish
from ..capture import compile_step
from ..errors import StepError
from ..guard import changed, snapshot
from ..memory import sizeof
from ..streams import StepOutput, capturing, routed_output

_PR_SET_PDEATHSIG = 1


def rng_state() -> tuple:
    import random

    import numpy as np

    return np.random.get_state(), random.getstate()


def set_rng_state(state: tuple) -> None:
    import random

    import numpy as np

    np.random.set_state(state[0])
    random.setstate(state[1])


class Worker:
    """The request loop and the one namespace it hosts."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.sending = threading.Lock()  # replies, and notices sent while a step runs
        folds.wait_notice = self.notify_waiting
        fold_tasks.post_notice = self.notify_board
        self.namespace: dict = {}
        self.reported = set(sys.modules)  # modules the fork server has (or was told about)
        self.module_count = len(sys.modules)
        self.found: dict = {}  # the process settings the current pipeline started with
        self.packages: set[str] = set()  # top-level packages loaded when it started

    def serve(self) -> None:
        with routed_output():
            while True:
                try:
                    kind, payload = self.connection.recv()
                except (EOFError, OSError):
                    return  # the kernel went away
                reply = getattr(self, f"on_{kind}")(**payload)
                if reply is not None:
                    with self.sending:
                        self.connection.send(reply)

    def on_start(
        self, cwd: str, path: list[str], filename: str, code: str, sample_rows: int | None = None, folds: str | None = None,
        script: str | None = None, argv: list[str] | None = None,
    ) -> None:
        model_selection.activate(folds)  # the run's fold store, shared with the other workers
        # A smoke run's reader patches end with its pipeline (here or at collect), never later.
        smoke.end()
        if sample_rows is not None:
            smoke.begin(sample_rows)
        self.namespace = script_namespace(script)
        sys.argv[:] = argv if argv is not None else [""]  # not the fork server's: argparse reads it
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # for tracebacks
        os.chdir(cwd)
        sys.path[:] = path
        self.found = process_state.snapshot()
        self.packages = {name.partition(".")[0] for name in sys.modules}

    def notify_waiting(self, waiting: bool) -> None:
        """Tell the kernel the step waits for a fold another worker computes (or goes on):
        its runtime lends the step's place meanwhile (:data:`.folds.wait_notice`)."""
        with self.sending:
            self.connection.send(("waiting", waiting))

    def notify_board(self, board: str, posted: bool) -> None:
        """Tell the kernel a search posted tasks an idle worker may compute ahead (or is past
        them): :mod:`.fold_tasks`, :class:`.helpers.HelpDesk`."""
        with self.sending:
            self.connection.send(("board", board, posted))

    def on_help(self, board: str, folds_directory: str, cwd: str, path: list[str]) -> dict:
        """Compute tasks of ``board`` ahead of its search until none is left or the kernel
        sends ``stop`` (its core is needed for a step)."""
        model_selection.activate(folds_directory)
        os.chdir(cwd)
        sys.path[:] = path
        stopped = []

        def stop() -> bool:
            if not stopped and self.connection.poll(0):
                stopped.append(self.connection.recv())
            return bool(stopped)

        return {"computed": fold_tasks.help_board(board, stop), "stopped": bool(stopped)}

    def on_stop(self) -> None:
        """A ``stop`` that reached a helper after it finished: nothing to stop."""

    def _bind(self, bindings: list[dict]) -> None:
        for item in bindings:
            rng, replay = bind_published(self.namespace, item["path"], item["inputs"])
            if item["rng"] and rng is not None:
                set_rng_state(rng)
            if replay is not None:
                effects.replay(replay, self.namespace)

    def on_step(
        self, bindings: list[dict], tree: ast.stmt, filename: str, expression: bool, copy: list[str],
        outputs: list[str], publish_to: str | None, inputs: dict[str, str], rng: bool, keep_only: bool = False,
        flags: int = 0, guard: list[str] = (), node: int = -1, pipeline: str = "",
    ) -> dict:
        reply: dict = {"ok": True, "error": None, "output": StepOutput(), "seconds": 0.0, "value": None,
                       "deleted": [], "cell_code": False, "published": False, "internal": None, "changed": [],
                       "guard_seconds": 0.0, "imported": []}
        try:
            self._bind(bindings)
        except BaseException as error:  # noqa: BLE001 - e.g. a published file vanished
            reply.update(ok=False, error=StepError.from_exception(error, filename), internal=repr(error))
            return reply
        namespace = self.namespace
        if copy:
            namespace.update(isolation.isolate({n: namespace[n] for n in copy if n in namespace}))
        code = compile_step(tree, filename, expression, flags)
        start = time.perf_counter()
        guarded = snapshot(namespace, guard) if guard else None  # see guard.py
        reply["guard_seconds"] = time.perf_counter() - start
        model_selection.before_step(pipeline, node)
        start = time.perf_counter()
        value = None
        with capturing(reply["output"]):
            try:
                if expression:
                    value = eval(code, namespace)  # noqa: S307 - the user's own cell
                else:
                    exec(code, namespace)  # noqa: S102
            except BaseException as error:  # noqa: BLE001 - a failing cell fails its pipeline
                reply.update(ok=False, error=StepError.from_exception(error, filename))
        reply["seconds"] = time.perf_counter() - start
        if guarded is not None:
            start = time.perf_counter()
            reply["changed"] = changed(namespace, guarded, outputs)
            reply["guard_seconds"] += time.perf_counter() - start
        bound = {n: namespace[n] for n in outputs if n in namespace}
        reply["deleted"] = [n for n in outputs if n not in namespace]
        if value is not None:
            try:
                reply["value"] = transfer.dumps(value)
            except Exception:  # noqa: BLE001 - shown as its repr instead
                reply["value"] = transfer.dumps(_Shown(repr(value)))
        from ..execution import describe, worth_keeping

        # Published for consumers always; for the step cache alone only when worth keeping.
        if publish_to is not None and (
            not keep_only or (reply["ok"] and worth_keeping(reply["seconds"], sum(sizeof(v) for v in bound.values())))
        ):
            known = {v: namespace[n] for v, n in inputs.items() if n in namespace}
            try:
                reply["cell_code"] = publish(publish_to, bound, reply["deleted"], rng_state() if rng else None, known,
                                             effects.replay_source(tree, namespace))
                reply["published"] = True
            except Exception:  # noqa: BLE001 - unpicklable outputs: consumers run the step themselves
                pass
        reply["describe"] = describe(next(iter(bound.values()), None)) if bound else None
        reply["imported"] = self._newly_imported()
        return reply

    def on_collect(self, bindings: list[dict]) -> dict:
        self._bind(bindings)
        names = {n: v for n, v in self.namespace.items() if not (n.startswith("__") and n.endswith("__"))}
        data, untransferable = transfer.dumps_namespace(names)
        smoke.end()
        return {"data": data, "untransferable": untransferable, "names": sorted(set(names) - set(untransferable)),
                "imported": self._newly_imported(), "reusable": self._as_found()}

    def _as_found(self) -> bool:
        """Put back the settings the pipeline changed (:mod:`.process_state`: a shared
        ``warnings.filterwarnings`` replayed here, its own ``pd.set_option``) and tell whether the
        process is now as a new one would serve the next: the same settings, no thread left
        running, no module of the user's own loaded (its globals may have changed). Otherwise
        the worker ends with the pipeline."""
        try:
            process_state.restore(self.found)
        except Exception:  # noqa: BLE001 - a setting that cannot be put back: not reusable
            return False
        if process_state.snapshot() != self.found:
            return False
        prefixes = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
        return not any(
            name.partition(".")[0] not in self.packages
            and not str(getattr(module, "__file__", None) or sys.prefix).startswith(prefixes)
            for name, module in list(sys.modules.items())
        )

    def _newly_imported(self) -> list[str]:
        """Modules imported here since the last report (see :meth:`.pool.WorkerPool.learn`)."""
        if len(sys.modules) == self.module_count:  # most steps import nothing: skip the set of ~2,000 names
            return []
        self.module_count = len(sys.modules)
        new = sorted(set(sys.modules) - self.reported)
        self.reported.update(new)
        return new


class _Shown:
    """Stands for a last-expression value that cannot travel: the kernel shows its repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def die_with_parent(parent: int, how: int = signal.SIGKILL) -> None:
    """The kernel may be killed without a chance to stop us: the OS ends us with it (sends us
    ``how``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, how)
    except (OSError, AttributeError):  # not Linux: the closed connection ends the loop instead
        pass
    if os.getppid() != parent:
        os._exit(0)


def serve(fd: int, parent: int) -> None:
    """Run as a worker, just forked by the fork server ``parent``, on the kernel connection ``fd``."""
    from multiprocessing.connection import Connection

    die_with_parent(parent)
    # Its own process group, inherited by whatever the run starts here (joblib's loky workers,
    # subprocesses): ending the worker ends them too (:meth:`.pool.WorkerProcess.kill`).
    os.setpgid(0, 0)
    if "numpy" in sys.modules:  # as a spawned process would: fresh entropy, not the server's
        sys.modules["numpy"].random.seed()
    Worker(Connection(fd)).serve()
