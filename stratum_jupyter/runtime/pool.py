"""Warm worker processes for isolated pipelines, kept for the whole session.

Each worker runs one pipeline at a time (:mod:`.worker`), so ending it — on a crash, a time
limit, an interrupt or memory over budget — costs no other pipeline. Workers are started with
their native thread limits in the environment: GNU OpenMP reads ``OMP_THREAD_LIMIT`` once, when
it loads, and limiting it afterwards (threadpoolctl) makes LightGBM pathologically slow; so
``threads`` is fixed per worker, and a run with another ``--jobs`` gets other workers.

Workers are spawned (never forked: libgomp is not fork-safe) from one long-lived thread, because
Linux delivers the parent-death signal when the *thread* that started a child exits: with it,
no worker outlives the kernel, even one killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Pipe
from pathlib import Path

from ..memory import process_rss

POLL_SECONDS = 0.05
#: A worker is ended when its resident memory passes the user's budget, but never below this:
#: a warm worker (pandas, scikit-learn, a booster library) alone takes a few hundred MB, and a
#: tiny budget is meant to delay and spill, not to end every candidate.
MEMORY_LIMIT_FLOOR = 512 << 20
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerDied(Exception):
    """The worker process ended while a request was in flight; the message says how."""


def threads_per_worker(jobs: int) -> int:
    """Native threads each of ``jobs`` concurrent workers may use: together, all the cores."""
    return max(1, (os.cpu_count() or 1) // jobs)


def worker_environment(threads: int) -> dict[str, str]:
    """The kernel's environment with native thread pools capped at ``threads`` (an explicit
    lower setting of the user's is kept)."""
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = str(min(threads, _int(env.get("OMP_THREAD_LIMIT"), threads)))
    for name in _THREAD_VARIABLES:
        env[name] = str(min(threads, _int(env.get(name), threads)))
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


class WorkerProcess:
    """One worker and the connection to it."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        ours, theirs = Pipe(duplex=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stratum_jupyter.runtime.worker", str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()], env=worker_environment(threads), stdin=subprocess.DEVNULL,
            start_new_session=True,  # a kernel interrupt (SIGINT to its process group) is ours to handle
        )
        theirs.close()
        self.connection = ours
        self.imported: set[str] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, kind: str, **payload) -> None:
        try:
            self.connection.send((kind, payload))
        except (OSError, ValueError) as error:  # broken pipe: it died
            raise WorkerDied(self.death()) from error

    def request(self, kind: str, memory_limit: int | None = None, **payload) -> dict:
        """Send a request and wait for its reply, watching the worker's memory meanwhile.

        Interruptible: the runtime injects TimeoutError / KeyboardInterrupt into the waiting
        thread when it gives up on the step; the worker is then ended, with whatever it runs.
        """
        self.send(kind, **payload)
        limit = max(memory_limit, MEMORY_LIMIT_FLOOR) if memory_limit is not None else None
        try:
            while not self.connection.poll(POLL_SECONDS):
                if limit is not None and process_rss(self.pid) > limit:
                    self.kill()
                    raise WorkerDied(f"worker exceeded the memory budget ({limit / 2**20:.0f} MB) and was ended")
            return self.connection.recv()
        except TimeoutError:  # injected by the runtime (and an OSError: caught before those)
            self.kill()
            raise
        except (EOFError, OSError) as error:
            raise WorkerDied(self.death()) from error
        except BaseException:
            self.kill()
            raise

    def death(self) -> str:
        """How the process ended, for the pipeline's cause."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return "worker stopped answering and was ended"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"worker killed by signal {name}{hint}"
        return f"worker exited with code {code}"

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait for anything
            pass
        self.connection.close()


class WorkerPool:
    """Idle warm workers by thread limit; a busy worker belongs to one pipeline until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[WorkerProcess] = []
        self.all: list[WorkerProcess] = []
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stratum-spawner")

    def _spawn(self, threads: int) -> WorkerProcess:
        worker = self._spawner.submit(WorkerProcess, threads).result()
        with self.lock:
            self.all.append(worker)
        return worker

    def acquire(self, threads: int, modules: list[str]) -> WorkerProcess:
        """A live idle worker with ``threads`` (others are retired), or a new one."""
        with self.lock:
            self.all = [w for w in self.all if w.alive()]
            stale = [w for w in self.idle if w.threads != threads or not w.alive()]
            self.idle = [w for w in self.idle if w not in stale]
            worker = self.idle.pop() if self.idle else None
        for old in stale:
            old.kill()
        worker = worker or self._spawn(threads)
        self.warm(worker, modules)
        return worker

    def release(self, worker: WorkerProcess) -> None:
        """Back to the idle list, if it is still alive."""
        if worker.alive():
            with self.lock:
                self.idle.append(worker)

    def prewarm(self, count: int, threads: int, modules: list[str]) -> None:
        """Make sure ``count`` idle workers with ``threads`` exist and are importing ``modules``;
        this process imports them too, in the background: it unpickles what workers send back."""
        _import_in_background([m for m in modules if m not in sys.modules])
        with self.lock:
            ready = [w for w in self.idle if w.threads == threads and w.alive()]
        for worker in ready[:count]:
            self.warm(worker, modules)
        for _ in range(count - len(ready)):
            worker = self._spawn(threads)
            self.warm(worker, modules)
            self.release(worker)

    @staticmethod
    def warm(worker: WorkerProcess, modules: list[str]) -> None:
        missing = [m for m in modules if m not in worker.imported]
        if missing:
            try:
                worker.send("import", modules=missing)
            except WorkerDied:
                return
            worker.imported.update(missing)

    def pids(self) -> list[int]:
        with self.lock:
            return [w.pid for w in self.all if w.alive()]

    def shutdown(self) -> None:
        """End every worker (at exit, and when a test wants a clean slate)."""
        with self.lock:
            workers, self.all, self.idle = self.all, [], []
        for worker in workers:
            worker.kill()


def _import_in_background(modules: list[str]) -> None:
    if modules:
        threading.Thread(target=_import_all, args=(modules,), name="stratum-imports", daemon=True).start()


def _import_all(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the cell reports its own import errors
            pass


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> WorkerPool:
    """The session's pool, created on first use and ended at exit."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
            atexit.register(_pool.shutdown)
        return _pool

