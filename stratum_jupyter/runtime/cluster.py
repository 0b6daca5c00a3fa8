"""Isolated pipelines on a dask distributed cluster (``--backend dask`` with a ``distributed.Client``).

When a client is connected in the kernel (``distributed.default_client()``), or a scheduler
address is given (``--scheduler ADDRESS``, ``Batch.run(scheduler=...)``), each isolated pipeline
lives on one worker of the cluster and every one of its steps is a task there
(:mod:`.cluster_tasks`): the namespace stays on that worker as a future, a shared step runs once
and the pipelines that reuse it receive its outputs as a future (dask moves them between workers,
never through the kernel), and only each pipeline's final names are gathered back. Notebook
(non-isolated) cells still run in the kernel. The batch's scheduling — step order, statuses, time
limits between steps, skipping after a failure — stays in the kernel (:mod:`.dask`): a step is
submitted when its pipeline reaches it, and the kernel waits for its reply.

:class:`ClusterPool` and :class:`ClusterWorker` stand in for the worker pool and a worker process
(:mod:`.pool`): the execution drives pipelines on the cluster exactly as in worker processes.

Requirements: ``stratum_jupyter`` importable on the workers (same environment), and for files the
cells read, a working directory the workers share with the kernel (a ``LocalCluster``).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

from .pool import WorkerDied
from . import cluster_tasks

#: How long the end of a run waits for its workers to drop the namespaces of pipelines that
#: ended early (a lost worker never answers).
FORGET_SECONDS = 5.0
#: How often a wait for a task checks that its worker is still in the cluster: a task pinned to a
#: worker that left would otherwise wait forever.
POLL_SECONDS = 0.5

class ClusterUnavailable(RuntimeError):
    """A scheduler address was given but no cluster can be used there (or dask.distributed is missing)."""


_clients: dict[str, object] = {}  # scheduler address -> the Client connected to it
_clients_lock = threading.Lock()


def connect(scheduler: str | None = None):
    """The ``distributed.Client`` a run submits to: one connected to ``scheduler`` (kept for later
    runs), else the kernel's default client, else None (dask's local threaded scheduler)."""
    try:
        import distributed
    except ImportError as error:
        if scheduler is not None:
            raise ClusterUnavailable(
                "a scheduler address needs dask.distributed: pip install 'stratum-jupyter[dask]'") from error
        return None
    if scheduler is None:
        try:
            return distributed.default_client()
        except ValueError:  # no client in this process
            return None
    with _clients_lock:
        client = _clients.get(scheduler)
        if client is None or client.status not in ("running", "connecting"):
            try:
                client = distributed.Client(scheduler, set_as_default=False, timeout="10s")
            except (OSError, ValueError) as error:  # unreachable, or not an address
                raise ClusterUnavailable(f"cannot reach the dask scheduler at {scheduler!r}: {error}") from error
            _clients[scheduler] = client
    return client


def open_cluster(scheduler: str | None = None) -> "ClusterPool | None":
    """A run's :class:`ClusterPool` on the cluster :func:`connect` finds, or None without one."""
    client = connect(scheduler)
    return ClusterPool(client) if client is not None else None


class ClusterPool:
    """A run's place for isolated pipelines on a cluster: picks a worker per pipeline (the one
    with the fewest pipelines per thread) and keeps the futures of published step outputs."""

    def __init__(self, client) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.pipelines: dict[str, int] = {}  # worker address -> pipelines living there
        self.assigned: dict[str, int] = {}  # worker address -> pipelines placed there in this run
        self.outputs: dict[str, object] = {}  # exchange path -> future of the published bytes
        self.live: list[ClusterWorker] = []
        self.forgets: list = []  # futures of tasks dropping namespaces of pipelines that ended early

    def workers(self) -> dict[str, int]:
        """Address -> threads of the workers connected now, asked of the scheduler. Not
        ``client.scheduler_info()``: the client refreshes that shared copy in the background
        without the workers, so a read racing with the refresh saw none (and a pipeline's worker
        seemed to have left)."""
        return dict(self.client.nthreads())

    @property
    def jobs(self) -> int:
        """Steps in flight by default: two per cluster thread. A pipeline's steps run on its own
        worker, so with one per thread a worker would idle whenever the steps in flight belong
        to pipelines of another worker; the second keeps one queued on each."""
        return 2 * max(1, sum(self.workers().values()))

    # -- the pool's interface (see .pool.WorkerPool) --------------------------------------------
    def acquire(self, threads: int, modules: list[str]) -> "ClusterWorker":
        """A stand-in worker for one pipeline, pinned to the least loaded cluster worker."""
        slots = self.workers()
        if not slots:
            raise WorkerDied("the dask cluster has no workers")
        with self.lock:  # fewest live pipelines per thread, then fewest so far: spread when idle too
            address = min(slots, key=lambda a: (self.pipelines.get(a, 0) / slots[a], self.assigned.get(a, 0), a))
            self.pipelines[address] = self.pipelines.get(address, 0) + 1
            self.assigned[address] = self.assigned.get(address, 0) + 1
            worker = ClusterWorker(self, address)
            self.live.append(worker)
        return worker

    def release(self, worker: "ClusterWorker", reuse: bool) -> None:  # noqa: ARG002 - cluster workers are shared
        """The pipeline was collected: its state on the cluster can go."""
        worker.kill()

    def learn(self, threads: int, modules: list[str]) -> None:
        """Nothing to learn: a cluster worker process is not forked from a server."""

    def _forget(self, worker: "ClusterWorker") -> None:
        with self.lock:
            if worker in self.live:
                self.live.remove(worker)
                self.pipelines[worker.address] -= 1

    # -- published outputs ------------------------------------------------------------------------
    def register(self, path: str, future) -> None:
        """``future`` (on the cluster) holds what a step published to ``path``."""
        with self.lock:
            self.outputs[path] = future

    def output(self, path: str):
        """The future of the outputs published to ``path``; outputs the kernel wrote there (kernel
        cells, the step cache) are sent to the cluster once."""
        with self.lock:
            future = self.outputs.get(path)
        if future is None:
            future = self.client.scatter(Path(path).read_bytes())
            self.register(path, future)
        return future

    def local_file(self, path: str) -> str:
        """``path`` as a file of the kernel: outputs published on the cluster are fetched when the
        kernel itself binds them (a notebook cell reusing an isolated cell's step)."""
        with self.lock:
            future = self.outputs.get(path)
        if future is not None and not os.path.exists(path):
            temporary = f"{path}.{uuid.uuid4().hex}.tmp"
            Path(temporary).write_bytes(future.result())
            os.replace(temporary, path)
        return path

    def close(self) -> None:
        """Let go of what the run holds on the cluster (an interrupted run's requests cancelled)."""
        with self.lock:
            live, self.live = list(self.live), []
            self.outputs = {}
        for worker in live:
            worker.kill()
        forgets, self.forgets = self.forgets, []
        if forgets:  # held until they ran: a dropped future's task may never run
            from distributed import wait

            try:
                wait(forgets, timeout=FORGET_SECONDS)
            except Exception:  # noqa: BLE001 - a lost worker never answers; its namespaces went with it
                pass


class ClusterWorker:
    """Stands in for a worker process (:class:`.pool.WorkerProcess`): one pipeline whose namespace
    is a future on the cluster worker ``address``, and every request a task pinned there."""

    def __init__(self, pool: ClusterPool, address: str) -> None:
        self.pool = pool
        self.client = pool.client
        self.address = address
        self.state = None  # future of the pipeline's cluster_tasks.PipelineState
        self.running = None  # future of the request in flight
        self.ended = False
        self.label = "pipeline"
        self.token = uuid.uuid4().hex
        self.collected = False

    def alive(self) -> bool:
        return not self.ended

    def send(self, kind: str, **payload) -> None:
        """``start`` a fresh namespace on the cluster; ``import`` hints are not needed there."""
        if kind == "start":
            self.label = Path(payload["filename"]).name.strip("<>").replace(" ", "-")
            self.state = self._submit("start", cluster_tasks.start, self.token, payload["filename"],
                                      payload["code"], payload["cwd"], payload.get("script"))

    def request(self, kind: str, memory_limit: int | None = None, **payload) -> dict:
        """Run ``step`` or ``collect`` on the cluster and return the reply a worker process gives.

        Raises WorkerDied when the cluster worker holding the pipeline ended or left."""
        if self.ended:
            raise WorkerDied("its cluster task was cancelled")
        bindings = [(self.pool.output(b["path"]), b["inputs"], b["rng"]) for b in payload.pop("bindings")]
        if kind == "collect":
            self.collected = True
            return self._wait(self._submit("collect", cluster_tasks.collect, self.state, bindings))
        publish_to = payload.pop("publish_to")
        step_id = uuid.uuid4().hex if publish_to is not None else None
        # one task a step; its result is (the state, which pickles as a token, and the reply)
        self.state = self._submit("step", cluster_tasks.step, self.state, bindings, payload, step_id)
        reply = self._wait(self.state)[1]
        if reply["published"]:  # consumers in other pipelines take it from the cluster
            self.pool.register(publish_to, self._submit("outputs", cluster_tasks.take_outputs, self.state, step_id))
        return reply

    def kill(self) -> None:
        """Let the pipeline's state go (cancelling a request in flight) and free its worker slot."""
        if self.ended:
            return
        self.ended = True
        running, self.state, self.running = self.running, None, None  # dropped futures are released
        if running is not None:
            self.client.cancel([running])
        if not self.collected:  # the namespace leaves the worker (collect did that when it ran)
            self.pool.forgets.append(self._submit("forget", cluster_tasks.forget, self.token))
        self.pool._forget(self)

    def _submit(self, what: str, function, *args):
        # pinned: the namespace never moves (it may hold values that cannot be pickled)
        return self.client.submit(function, *args, key=f"stratum-{what}-{self.label}-{uuid.uuid4().hex[:12]}",
                                  workers=[self.address], allow_other_workers=False, pure=False)

    def _wait(self, future):
        """The task's result; WorkerDied if its worker died or left the cluster meanwhile."""
        self.running = future
        try:
            # a callback rather than result(timeout=...): distributed's timed wait can fail with an
            # internal UnboundLocalError when the future is cancelled meanwhile
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            while not done.wait(POLL_SECONDS):
                if self.ended:
                    raise WorkerDied("its cluster task was cancelled")
                if self.address not in self.pool.workers():
                    raise WorkerDied(f"cluster worker {self.address} left the cluster")
            return future.result()
        except BaseException as error:  # noqa: BLE001 - sorted below
            # KilledWorker, or a future cancelled or lost with its worker (asyncio's CancelledError
            # is a BaseException): the pipeline's worker is gone, as when a worker process dies
            if {"KilledWorker", "CancelledError"} & {c.__name__ for c in type(error).__mro__}:
                raise WorkerDied(f"cluster worker {self.address} ended ({type(error).__name__}: {error})") from error
            raise
        finally:
            self.running = None
