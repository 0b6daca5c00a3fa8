"""Worker processes for isolated pipelines, forked warm from fork servers kept for the session.

Each worker runs one pipeline at a time (:mod:`.worker`), so ending it — on a crash, a time
limit, an interrupt or memory over budget — costs no other pipeline; it serves the next only if
its process is as the last pipeline found it (see :class:`WorkerPool`). Workers are started with
their native thread limits in the environment: GNU OpenMP reads ``OMP_THREAD_LIMIT`` once, when
it loads, and limiting it afterwards (threadpoolctl) makes LightGBM pathologically slow; so
``threads`` is fixed per worker, and a run with another ``--jobs`` gets other workers.

Workers are forked from a fork server per thread budget (:mod:`.zygote`) that has imported the
batch's libraries and never runs user code, so a new worker is warm in milliseconds and shares
the libraries' heap. The kernel itself never forks (libgomp is not fork-safe once it has run):
fork servers are spawned from one long-lived thread, because Linux delivers the parent-death
signal when the *thread* that started a child exits; with it, nothing outlives the kernel, even
one killed with SIGKILL (workers die with their server the same way).
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Pipe
from pathlib import Path

from ..folds import lend_here
from ..memory import process_rss
from . import zygote

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


class ForkServer:
    """The kernel's side of one fork server (:mod:`.zygote`): workers with ``threads`` native
    threads are forked from it, warm with every module it has imported."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from stratum_jupyter.runtime.zygote import main; main()", str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()], env=worker_environment(threads), stdin=subprocess.DEVNULL,
            start_new_session=True,  # a kernel interrupt (SIGINT to its process group) is ours to handle
        )
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.imported: set[str] = set()

    def alive(self) -> bool:
        return self.process.poll() is None

    def load(self, modules: list[str]) -> None:
        """Import ``modules`` in the server (no reply: a later fork waits for them)."""
        missing = [m for m in modules if m not in self.imported]
        if missing:
            with self.lock:
                zygote.send(self.sock, ("import", missing))
            self.imported.update(missing)

    def _ask(self, message: tuple, fds: list[int] | None = None) -> tuple:
        with self.lock:
            try:
                zygote.send(self.sock, message, fds)
                reply, _ = zygote.receive(self.sock)
            except (EOFError, OSError) as error:
                raise WorkerDied("the fork server ended") from error
        return reply

    def fork(self) -> "WorkerProcess":
        """A new worker with everything this server has imported."""
        ours, theirs = Pipe(duplex=True)
        try:
            _, pid = self._ask(("fork",), [theirs.fileno()])
        finally:
            theirs.close()
        return WorkerProcess(pid, ours, self)

    def reap(self, pid: int) -> int | None:
        """The exit code (or -signal) of an ended worker; None when unknown."""
        try:
            return self._ask(("reap", pid))[1]
        except WorkerDied:
            return None  # the server is gone; the worker ended with it (parent-death signal)

    def kill(self) -> None:
        if self.alive():
            self.process.terminate()  # it ends its workers' process groups first (zygote.main)
            try:
                self.process.wait(1.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        self.sock.close()


class WorkerProcess:
    """One worker (a child of a :class:`ForkServer`) and the connection to it."""

    def __init__(self, pid: int, connection, server: ForkServer) -> None:
        self.pid = pid
        self.connection = connection
        self.server = server
        self.threads = server.threads
        # Not our child, so no waitpid: a pidfd tells when it ends and signals it safely (the
        # server reaps it only when asked, so the pid cannot be reused before that).
        self.pidfd = os.pidfd_open(pid)
        self.exit_code: int | None = None
        self.reaped = False
        # The runtime's timer thread and the pipeline's thread may both end a worker: reaping
        # (and closing the pidfd, whose number the OS reuses) happens once, under this lock.
        self._end_lock = threading.RLock()

    def alive(self) -> bool:
        with self._end_lock:
            return not self.reaped and not select.select([self.pidfd], [], [], 0)[0]

    def send(self, kind: str, **payload) -> None:
        try:
            self.connection.send((kind, payload))
        except (OSError, ValueError) as error:  # broken pipe: it died
            raise WorkerDied(self.death()) from error

    def request(
        self, kind: str, memory_limit: int | None = None, on_board: Callable[[str, bool], object] | None = None,
        **payload,
    ) -> dict:
        """Send a request and wait for its reply, watching the worker's memory meanwhile.
        Notices the worker sends meanwhile: its step waits for another worker's fold (the
        runtime lends its place), or its search posted or closed a board of tasks (``on_board``).

        Interruptible: the runtime injects TimeoutError / KeyboardInterrupt into the waiting
        thread when it gives up on the step; the worker is then ended, with whatever it runs.
        """
        self.send(kind, **payload)
        limit = max(memory_limit, MEMORY_LIMIT_FLOOR) if memory_limit is not None else None
        try:
            while True:
                while not self.connection.poll(POLL_SECONDS):
                    if limit is not None and process_rss(self.pid) > limit:
                        self.kill()
                        raise WorkerDied(f"worker exceeded the memory budget ({limit / 2**20:.0f} MB) and was ended")
                reply = self.connection.recv()
                if not isinstance(reply, tuple):
                    return reply
                if reply[0] == "waiting":
                    lend_here(reply[1])  # the worker's step waits for another worker's fold (or goes on)
                elif on_board is not None:
                    on_board(reply[1], reply[2])
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
        with self._end_lock:
            if not self.reaped and not select.select([self.pidfd], [], [], 2)[0]:
                self.kill()
                return "worker stopped answering and was ended"
            code = self._reap()
        if code is None:
            return "worker ended"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"worker killed by signal {name}{hint}"
        return f"worker exited with code {code}"

    def _reap(self) -> int | None:
        with self._end_lock:
            if not self.reaped:
                self._end_group()
                self.exit_code = self.server.reap(self.pid)
                self.reaped = True
                os.close(self.pidfd)
            return self.exit_code

    def _end_group(self) -> None:
        """End what the worker started (its process group: joblib's loky workers, subprocesses),
        which would otherwise outlive it — idle loky workers linger for 300 s, holding their
        memory and any pipe they inherited. Only before the worker is reaped: until then its pid,
        which names the group, cannot be reused."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # nothing left in the group

    def kill(self) -> None:
        with self._end_lock:
            if self.alive():
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                # the server reaps at once what has ended: it is never kept from forking meanwhile
                select.select([self.pidfd], [], [], zygote.REAP_SECONDS)
            self._reap()
            self.connection.close()  # idempotent, but not thread-safe: under the lock too


class WorkerPool:
    """Fork servers by thread limit, the workers forked from them, and idle workers. A busy
    worker belongs to one pipeline until released. An isolated cell runs like a separate
    script, so a worker serves the next pipeline only if the last one left its process as it
    found it (:meth:`.worker.Worker._as_found`: its ``warnings`` filters, pandas options,
    scikit-learn configuration, …); otherwise it ends and a new one is forked (milliseconds, the
    libraries warm from the server). A reused worker is faster than a new fork: it already copied
    the pages of the libraries' objects it writes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[WorkerProcess] = []
        self.all: list[WorkerProcess] = []
        self.servers: dict[int, ForkServer] = {}
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stratum-spawner")

    def _server(self, threads: int, modules: list[str]) -> ForkServer:
        """The live fork server for ``threads``, importing ``modules``; servers for other
        budgets are retired (each holds the libraries' heap)."""
        with self.lock:
            server = self.servers.get(threads)
            retired = [s for t, s in self.servers.items() if t != threads or not s.alive()]
            self.servers = {t: s for t, s in self.servers.items() if s not in retired}
        for old in retired:
            old.kill()
        if server is None or not server.alive():
            server = self._spawner.submit(ForkServer, threads).result()
            with self.lock:
                self.servers[threads] = server
        server.load(modules)
        return server

    def acquire(self, threads: int, modules: list[str]) -> WorkerProcess:
        """An idle worker with ``threads`` (others are retired), or a new one forked after its
        server imported ``modules``."""
        with self.lock:
            self.all = [w for w in self.all if w.alive()]
            stale = [w for w in self.idle if w.threads != threads or not w.alive()]
            self.idle = [w for w in self.idle if w not in stale]
            worker = self.idle.pop() if self.idle else None
        for old in stale:
            self.release(old, reuse=False)
        if worker is None:
            worker = self._server(threads, modules).fork()
            with self.lock:
                self.all.append(worker)
        return worker

    def release(self, worker: WorkerProcess, reuse: bool) -> None:
        """The worker's pipeline is done with it: back to the idle list (``reuse``), or ended off
        the caller's path (the next pipeline's start need not wait for the process to go)."""
        if reuse and worker.alive():
            with self.lock:
                self.idle.append(worker)
        else:
            threading.Thread(target=worker.kill, name="stratum-release", daemon=True).start()

    def trim(self, keep: int) -> None:
        """End idle workers beyond the ``keep`` last released: a run with steps that lent their
        places (:func:`.folds.wait_notice`) may have started more workers than its jobs, and each
        idle one holds the pages it copied."""
        with self.lock:
            extra = self.idle[:-keep] if keep > 0 else list(self.idle)
            self.idle = [w for w in self.idle if w not in extra]
        for worker in extra:
            self.release(worker, reuse=False)

    def learn(self, threads: int, modules: list[str]) -> None:
        """Modules a worker imported while it ran (lazily, inside the libraries: first calls
        cost that much): its server imports them too, so later forks start with them."""
        with self.lock:
            server = self.servers.get(threads)
        if modules and server is not None and server.alive():
            server.load(modules)

    def prewarm(self, threads: int, modules: list[str], *, here: bool = True) -> None:
        """Start the fork server for ``threads`` importing ``modules``, and (``here``) import them
        in this process too, in the background: it unpickles what workers send back. Neither
        waits. Not ``here`` while this process may be importing them itself: two threads importing
        one package at once can see it half-initialized (pandas fails so)."""
        if here:
            _import_in_background([m for m in modules if m not in sys.modules])
        self._server(threads, modules)

    def pids(self) -> list[int]:
        with self.lock:
            return [w.pid for w in self.all if w.alive()]

    def shutdown(self) -> None:
        """End every worker and fork server (at exit, and when a test wants a clean slate)."""
        with self.lock:
            workers, self.all, self.idle = self.all, [], []
            servers, self.servers = list(self.servers.values()), {}
        for worker in workers:
            worker.kill()
        for server in servers:
            server.kill()


#: What a fork server started with the extension imports (:func:`start_early`): the libraries
#: nearly every pipeline imports, ~0.85 s of the ~1 s a server takes to import a typical
#: scikit-learn candidate's modules here; the cells' own modules follow when captured.
EARLY_MODULES = ["numpy", "pandas", "sklearn"]


def start_early(jobs: int | None) -> None:
    """Start the fork server a run with ``jobs`` uses, importing :data:`EARLY_MODULES`, before
    this process imports anything heavy (``%load_ext``): its imports overlap the kernel's own
    and the capture of the first cells, instead of delaying the first run's first step."""
    get_pool().prewarm(threads_per_worker(jobs or os.cpu_count() or 1), EARLY_MODULES, here=False)


_importing: list[threading.Thread] = []


def _import_in_background(modules: list[str]) -> None:
    if modules:
        thread = threading.Thread(target=zygote.import_all, args=(modules,), name="stratum-imports", daemon=True)
        _importing.append(thread)
        thread.start()


def wait_for_imports(seconds: float | None = None) -> bool:
    """Whether this process's background imports are over, waiting up to ``seconds`` (None:
    as long as they take). Unpickling meanwhile could meet a package half-imported."""
    for thread in list(_importing):
        thread.join(seconds)
        if thread.is_alive():
            return False
        if thread in _importing:
            _importing.remove(thread)
    return True


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

