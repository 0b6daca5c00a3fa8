"""Running the nodes of a batch graph: the callbacks the runtime's scheduling loop calls.

Each pipeline (isolated cell) has its own namespace; the non-isolated cells share the kernel
namespace, in capture order. An *exec* node runs its statement in its pipeline's namespace; a
*reuse* node binds the outputs that an earlier identical node produced.

With a worker pool, isolated pipelines live in worker processes (:class:`RemotePipeline`): a
node whose outputs other pipelines reuse writes them to a file of the run's exchange directory,
and a consumer in another process binds them from there. Kernel cells run in this process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import random
import threading
import time
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from . import isolation, model_selection, process_state, transfer
from .transfer import bind_published, publish
from .cache import StepCache, environment_key
from .effects import replay, replay_source
from .errors import StepError
from .folds import read_events, summarize_steps
from .capture import compile_step
from . import guard
from .graph import KERNEL, BatchGraph, Node, Pipeline
from .guard import Violation
from .runtime import script_argv, script_namespace, script_sys_path
from .memory import sizeof
from .results import PipelineResult
from .runtime.helpers import HelpDesk
from .runtime.pool import WorkerDied, WorkerPool, WorkerProcess, wait_for_imports
from .thread_state import ThreadState
from .streams import StepOutput, capturing

T = TypeVar("T")

#: The step cache keeps a step's outputs when recomputing them costs more than keeping them: they
#: are small (KEEP_SMALL_BYTES: writing them costs milliseconds, and a candidate whose every step
#: is kept needs no worker at all in a later run), or the step ran at least KEEP_AFTER_SECONDS
#: and its outputs are written and read back (~KEEP_BYTES_PER_SECOND) faster than it ran.
KEEP_SMALL_BYTES = 8 << 20
KEEP_AFTER_SECONDS = 0.05
KEEP_BYTES_PER_SECOND = 400 << 20


def worth_keeping(seconds: float, nbytes: int) -> bool:
    """The step cache's policy (see KEEP_SMALL_BYTES)."""
    return nbytes <= KEEP_SMALL_BYTES or (seconds >= KEEP_AFTER_SECONDS and nbytes <= seconds * KEEP_BYTES_PER_SECOND)

_RNG_LOCK = threading.Lock()  # the global RNGs are process-wide: one seeded step at a time


@dataclass
class Lineage:
    """A namespace, the global-RNG state and the thread state (``sklearn.set_config``, the
    decimal context, …) that go with it: its steps run on whichever runtime thread is free."""

    namespace: MutableMapping[str, object]
    state: ThreadState = field(default_factory=ThreadState)  # created on the kernel's thread
    rng: tuple | None = None  # (numpy state, random state) once the code seeded; None: live global RNG
    # Its process settings, when pipelines sharing this process take turns with them: the run's
    # steps go one at a time, each under its own pipeline's settings.
    settings: process_state.Carried | None = None

    def run(self, function: Callable[[], T]) -> T:
        """Call ``function`` under this lineage's thread state (and process settings, if carried)."""
        if self.settings is None:
            return self.state.run(function)
        return self.state.run(lambda: self._under_settings(function))

    def _under_settings(self, function: Callable[[], T]) -> T:
        with self.settings.applied():  # type: ignore[union-attr] # in the lineage's context: its own decimal context
            return function()


@dataclass
class Outcome:
    """What an exec node produced; reuse nodes replay it."""

    ok: bool
    bindings: dict[str, object] = field(default_factory=dict)
    deleted: frozenset[str] = frozenset()
    rng: tuple | None = None
    output: StepOutput = field(default_factory=StepOutput)
    value: object = None
    error: StepError | None = None
    seconds: float = 0.0
    nbytes: int = 0  # accounted size of the bindings held in this process
    pipeline: int = 0
    lineno: int = 0
    published: str | None = None  # file with the outputs, for consumers in other processes
    remote: bool = False  # produced in a worker: only ``published`` holds the outputs
    crash: str | None = None  # the worker died while running the step: how
    summary: str | None = None  # short description of the first output, for the widget
    settings: str | None = None  # the statement, when it set process or thread settings (to replay)


def reads_by_version(node: Node) -> dict[str, str]:
    """version → name of the values a node read and did not rebind: what references resolve to."""
    return {v: n for n, v in node.reads.items() if not n.startswith("@") and n not in node.outputs}


def local_file(pool: object, path: str) -> str:
    """What a step published to ``path``, as a file of this process: worker processes wrote it
    there; a pool whose outputs stay elsewhere (a dask cluster, :mod:`.runtime.cluster`) fetches it."""
    fetch = getattr(pool, "local_file", None)
    return fetch(path) if fetch is not None else path


class RemotePipeline:
    """An isolated pipeline whose namespace lives in a worker process.

    The worker is taken from the pool at the pipeline's first executed step; reused outputs
    before that are queued and bound in the worker with the next request. ``collect`` brings
    the namespace back once; the worker then serves another pipeline if this one left its process
    as it found it, else it ends (see :mod:`.runtime.pool`).
    """

    def __init__(
        self, pipeline: Pipeline, pool: WorkerPool, threads: int, modules: list[str], memory_limit: int | None,
        sample_rows: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.sample_rows = sample_rows  # a smoke run: the worker cuts pandas readers to this many rows
        self.folds: str | None = None  # the run's fold store (see model_selection)
        self.desk: HelpDesk | None = None  # where its searches post tasks for idle cores
        self.pool = pool
        self.threads = threads
        self.modules = modules
        self.memory_limit = memory_limit
        self.worker: WorkerProcess | None = None
        self.busy = False  # a step request is in flight (on a runtime thread)
        self.lock = threading.Lock()
        self.pending: list[dict] = []
        self.lost: str | None = None  # the worker died: why
        self.collected: list[str] | None = None  # after collect: the names that could not come back
        self.data: bytes | None = None  # the collected namespace, pickled until namespace()
        self.names: list[str] = []  # the names in it
        self.reusable = False  # the worker reported its process as the pipeline found it
        self.loaded: dict = {}  # the namespace once unpickled (or bound here, without a worker)

    def queue(self, node: Node, outcome: Outcome) -> None:
        self.pending.append({"path": outcome.published, "inputs": reads_by_version(node), "rng": node.rng})

    def _worker(self) -> WorkerProcess:
        if self.worker is None:
            self.worker = self.pool.acquire(self.threads, self.modules)
            self.worker.send(
                "start", cwd=os.getcwd(), path=script_sys_path(self.pipeline.path), filename=self.pipeline.filename,
                code=self.pipeline.code,
                script=self.pipeline.path, argv=script_argv(self.pipeline.path),
                sample_rows=self.sample_rows, folds=self.folds,
            )
        return self.worker

    def run(self, node: Node, publish_to: str | None, keep_only: bool) -> dict:
        """Run one step in the worker; raises WorkerDied when the worker ends meanwhile.
        ``keep_only``: outputs are published for the step cache alone, if worth keeping."""
        if self.lost is not None:
            raise WorkerDied(self.lost)
        step = node.step
        bindings, self.pending = self.pending, []
        with self.lock:
            self.busy = True
        posted: list[str] = []  # boards this step's searches posted (see fold_tasks)

        def on_board(path: str, is_posted: bool) -> None:
            if is_posted:
                posted.append(path)
            self.desk.board(path, is_posted)  # type: ignore[union-attr]

        try:
            notices = {"on_board": on_board} if self.desk is not None else {}
            reply = self._worker().request(
                "step", memory_limit=self.memory_limit, **notices, bindings=bindings, tree=step.tree, filename=self.pipeline.filename,
                pipeline=self.pipeline.name,
                expression=step.is_last_expression, copy=sorted(node.mutated) if node.copy_before else [],
                outputs=sorted(node.outputs), publish_to=publish_to, inputs=reads_by_version(node), rng=node.rng,
                keep_only=keep_only, flags=node.future_flags, guard=sorted(node.guarded), node=node.id,
            )
            self.pool.learn(self.threads, reply["imported"])
            return reply
        except WorkerDied as died:
            self.lost = str(died)
            raise
        except BaseException:  # an injected TimeoutError / KeyboardInterrupt ended the worker
            self.lost = "its worker process was ended"
            raise
        finally:
            with self.lock:
                self.busy = False
            if posted:  # a search ended by a crash or time limit never closed its boards: no helper goes on
                self.desk.close_boards(posted)  # type: ignore[union-attr]

    def collect(self) -> list[str]:
        """Bring the pipeline's names back (kept pickled until :meth:`namespace`) and release the
        worker; returns the names that could not come back."""
        if self.collected is None:
            untransferable: list[str] = []
            with self.lock:
                if self.busy:  # the run ended while a step still runs (abandoned): end it
                    self.lost = "its worker process was ended"
                    if self.worker is not None:
                        self.worker.kill()
            if self.lost is None and self.worker is None:  # every step came from elsewhere: no worker needed
                for item in self.pending:
                    bind_published(self.loaded, local_file(self.pool, item["path"]), item["inputs"])  # no process to set
            elif self.lost is None:
                try:
                    reply = self._worker().request("collect", bindings=self.pending)
                    self.data, self.names, untransferable = reply["data"], reply["names"], reply["untransferable"]
                    self.reusable = reply["reusable"]
                    self.pool.learn(self.threads, reply["imported"])
                except WorkerDied as died:
                    self.lost = str(died)
            self.pending = []
            self.collected = untransferable
            self.close()
        return self.collected

    def namespace(self) -> tuple[dict, list[str]]:
        """The collected names and those that could not come back. Unpickled here, on first use:
        the kernel does it when the run is over rather than while workers still compute (it
        competes with their native threads for the cores)."""
        if self.data is not None:
            data, self.data = self.data, None
            try:
                self.loaded, missing = transfer.loads_namespace(data)
                self.collected = sorted({*(self.collected or []), *missing})
            except Exception:  # noqa: BLE001 - never lose silently: every name is listed
                self.collected = sorted({*(self.collected or []), *self.names})
        return self.loaded, self.collected or []

    def close(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        if self.lost is None:
            self.pool.release(worker, reuse=self.reusable)
        else:
            worker.kill()  # now: nothing of the run may go on once it returned


class Execution:
    """State of one batch run, shared by every worker thread."""

    def __init__(
        self,
        graph: BatchGraph,
        kernel_namespace: MutableMapping[str, object],
        listeners: list[Callable[[dict], None]] | None = None,
        workers: "Workers | None" = None,
        exchange: str | None = None,
        cache: StepCache | None = None,
        kernel_flags: int = 0,
        take_turns: bool = False,
    ) -> None:
        """``exchange``: the run's directory for outputs crossing processes (and cached ones);
        ``cache``: where outputs of worthwhile steps are kept for later runs, or None;
        ``kernel_flags``: the kernel's compiler flags (its `__future__` imports), for kernel cells;
        ``take_turns``: pipelines run in this process change process settings, and the runtime runs
        one step at a time: each step runs under its own pipeline's settings (see :class:`Lineage`)."""
        self.graph = graph
        self.kernel_flags = kernel_flags
        self.written_back: set[int] = set()  # isolated pipelines whose names reached the kernel during the run
        self.unloaded: set[int] = set()  # isolated pipelines collected, their names not unpickled yet
        self.unpickling = threading.Lock()
        self.listeners = listeners or []
        self.lock = threading.Lock()
        kernel = Lineage(kernel_namespace)
        self.lineages = [
            kernel if not p.isolated else Lineage(script_namespace(p.path))
            for p in graph.pipelines
        ]
        self.kernel = kernel
        if take_turns:
            found = process_state.baseline()
            for lineage in {id(x): x for x in self.lineages + [kernel]}.values():
                lineage.settings = process_state.Carried(found)
        self.exchange = exchange
        self.cache = cache if exchange is not None else None
        # Kept off the pipelines' path: a put is a few file operations, ~1 ms a step.
        self.keeping = ThreadPoolExecutor(1, thread_name_prefix="stratum-keep") if self.cache is not None else None
        # Pipeline prefix fits shared by every pipeline of the run, in any process (model_selection).
        self.folds = str(Path(exchange) / "folds") if exchange is not None else None
        model_selection.activate(self.folds)
        self.cache_hits = 0
        environment = environment_key() if self.cache is not None else ""
        self.cache_keys = {  # a different library version never finds a kept step
            n.id: hashlib.sha256(f"{environment}:{n.key}".encode()).hexdigest()[:32]
            for n in graph.nodes if n.kind == "exec" and n.cacheable and self.cache is not None
        }
        self.pool = workers.pool if workers is not None else None
        self.remote: list[RemotePipeline | None] = [
            RemotePipeline(p, workers.pool, workers.threads, workers.modules, workers.memory_limit, workers.sample_rows)
            if workers is not None and p.isolated else None
            for p in graph.pipelines
        ]
        # Idle cores compute tasks a running search posted (fold_tasks.py), or the kernel unpickles
        # the names of finished pipelines — only when no step runs here (its imports and ours could
        # meet half-done). Not on a sample (smoke), nor on a dask cluster (no worker processes to lend).
        self.desk = (
            HelpDesk(workers.pool, workers.threads, workers.modules, workers.jobs, self.folds,
                     idle=self._load_one if all(p.isolated for p in graph.pipelines) else lambda: False,
                     helpers=workers.memory_limit is None)
            if workers is not None and isinstance(workers.pool, WorkerPool) and self.folds is not None
            and workers.sample_rows is None else None
        )
        for remote in self.remote:
            if remote is not None:
                remote.folds = self.folds
                remote.desk = self.desk
        # Outputs another process will bind are written when the step runs, before its pipeline
        # moves on and rebinds the names they refer to: outputs of remote steps with any
        # consumer, and of kernel steps with a remote consumer.
        # (Reuse nodes whose outputs a later one rebinds bind nothing: see BatchGraph.superseded.)
        self.superseded = graph.superseded() if workers is not None else set()
        self.superseding = graph.superseded_runs(self.superseded)
        self.publish = {
            n.source for n in graph.nodes
            if n.source is not None and n.id not in self.superseded
            and (self.remote[n.pipeline] or self.remote[graph.nodes[n.source].pipeline])
        }
        self.results = [
            PipelineResult(name=p.name, steps=len(p.steps), shared_steps=graph.shared_with_earlier(i),
                           filename=p.filename)
            for i, p in enumerate(graph.pipelines)
        ]
        self.bound: list[set[str]] = [set() for _ in graph.pipelines]
        self.done_steps = 0
        self.failed_at: dict[int, int] = {}  # pipeline → node whose error failed it
        self.closed = False  # set when the run returned: abandoned threads must not touch results
        # The guard (guard.py): changes the analysis missed, the steps that made them, and the
        # versions (values) they changed: reuses of either compute instead of binding.
        self.violations: list[Violation] = []
        self.changed_nodes: set[int] = set()
        self.changed_versions: set[str] = set()
        self.guard_seconds = 0.0  # time spent fingerprinting, here and in workers (its cost)
        for index, pipeline in enumerate(graph.pipelines):
            if not pipeline.steps:
                self._finish(index, "ok")

    # -- callbacks for the scheduling loop ------------------------------------------------
    def run_node(self, node_id: int, inputs: list) -> tuple[bool, object, int]:
        """Run or replay one node; returns (ok, outcome, bytes the outcome holds), never raises."""
        try:
            return self._run_node(node_id, inputs)
        except Exception as error:  # noqa: BLE001 - a bug of ours fails the pipeline, loudly
            node = self.graph.nodes[node_id]
            if node.pipeline >= 0 and not self.closed:
                self.failed_at[node.pipeline] = node_id
                detail = "".join(traceback.format_exception(error))
                self._finish(node.pipeline, "failed", error=f"stratum internal error (please report):\n{detail}")
            return False, None, 0

    def _run_node(self, node_id: int, inputs: list) -> tuple[bool, object, int]:
        node = self.graph.nodes[node_id]
        if self.closed:
            return False, None, 0
        if node.kind == "writeback":
            self._write_back_isolated(node.writeback_of)  # type: ignore[arg-type]
            return True, None, 0
        self._emit(node_id, "running")
        source = inputs[0] if inputs else None
        if node.kind == "exec" and node.id in self.cache_keys:
            source = self._from_cache(node)
        if isinstance(source, Outcome) and not self._stale(node) and self._bind(node, source):
            outcome = source
            status, nbytes = "cached", 0  # counted once, at the node that produced it
        else:  # a first occurrence, or outputs that could not travel: compute them here
            outcome = self._run_superseded(node) or self._execute(node)
            status, nbytes = "done", outcome.nbytes
        self._record(node, outcome)
        self._emit(node_id, status if outcome.ok else "failed", outcome)
        return outcome.ok, outcome, nbytes

    def _run_superseded(self, node: Node) -> Outcome | None:
        """Before a reuse computes here, the superseded reuses right before it run too: they bound
        nothing, counting on its outputs. The outcome of the first that fails, else None."""
        for earlier in self.superseding.get(node.id, []) if node.kind == "reuse" else []:
            outcome = self._execute(self.graph.nodes[earlier])
            if not outcome.ok:
                return outcome
        return None

    def _stale(self, node: Node) -> bool:
        """Whether a reuse would skip a change the guard saw: of its source, or of what it reads."""
        with self.lock:
            return node.kind == "reuse" and (
                node.source in self.changed_nodes or not self.changed_versions.isdisjoint(node.reads.values())
            )

    def _guard_saw(self, node: Node, names: list[str]) -> bool:
        """Record values ``node`` changed though the analysis said it would not; whether there were any."""
        if not names:
            return False
        versions = self.graph.linked_versions(node.id, names)
        with self.lock:
            pipeline = self.graph.pipelines[node.pipeline].name
            self.violations.append(Violation(node.id, pipeline, node.step.lineno, tuple(names)))
            self.changed_nodes.add(node.id)
            self.changed_versions |= versions
        return True

    def _guard_time(self, seconds: float) -> None:
        with self.lock:
            self.guard_seconds += seconds

    def skip_node(self, node_id: int, reason: str) -> None:
        """A node that will not run: its pipeline stops here with ``reason`` as status."""
        node = self.graph.nodes[node_id]
        self._emit(node_id, reason)
        if node.kind == "writeback":
            return
        with self.lock:
            result = self.results[node.pipeline]
            if result.status != "pending":
                return
        cause = {"timeout": "pipeline exceeded its time limit", "cancelled": "run interrupted"}.get(reason, "an earlier step did not complete")
        self._finish(node.pipeline, reason, cause=f"{cause} (at line {node.step.lineno})")

    # -- execution ---------------------------------------------------------------------------
    def kept(self, node_id: int) -> bool:
        """Whether the step cache holds this node's outputs (a hit binds them: no worker needed)."""
        key = self.cache_keys.get(node_id)
        return key is not None and self.cache is not None and self.cache.has(key)

    def _from_cache(self, node: Node) -> Outcome | None:
        """The outputs an earlier run kept for this step, or None to compute them."""
        hit = self.cache.get(self.cache_keys[node.id])  # type: ignore[union-attr]
        if hit is None:
            return None
        path = self._exchange_path(node)
        try:  # the run's own reference: the cache may evict the entry while the run uses it
            os.link(hit.path, path)
        except OSError:
            try:
                shutil.copyfile(hit.path, path)
            except OSError:
                return None
        meta = hit.meta
        output = StepOutput()
        output.items = list(meta["output"])
        self.cache_hits += 1
        return Outcome(
            ok=True, output=output, value=transfer.loads(meta["value"]) if meta["value"] is not None else None,
            deleted=frozenset(meta["deleted"]), pipeline=node.pipeline, lineno=node.step.lineno,
            published=path, remote=True, summary=meta["summary"],
        )

    def _keep(self, node: Node, outcome: Outcome, value: bytes | None) -> None:
        """Offer a step's published outputs to the cache (only ok steps worth keeping get here)."""
        if self.cache is None or node.id not in self.cache_keys or not outcome.ok or outcome.published is None or self.closed:
            return  # (closed: a call the runtime abandoned returned after the run)
        meta = {"output": outcome.output.items, "value": value, "deleted": sorted(outcome.deleted),
                "summary": outcome.summary, "seconds": outcome.seconds}
        self.keeping.submit(self.cache.put, self.cache_keys[node.id], outcome.published, meta)  # type: ignore[union-attr]

    def flush_kept(self) -> None:
        """Wait until every step offered to the cache is stored (before the run's files go)."""
        if self.keeping is not None:
            self.keeping.shutdown(wait=True)

    def _execute(self, node: Node) -> Outcome:
        if self.desk is None:
            return self._execute_here_or_there(node)
        self.desk.step_started()
        try:
            return self._execute_here_or_there(node)
        finally:
            self.desk.step_ended()

    def _execute_here_or_there(self, node: Node) -> Outcome:
        if self.remote[node.pipeline] is not None:
            return self._execute_remote(node)
        pipeline = self.graph.pipelines[node.pipeline]
        lineage = self.lineages[node.pipeline]
        namespace = lineage.namespace
        step = node.step
        outcome = Outcome(ok=True, pipeline=node.pipeline, lineno=step.lineno)
        if node.copy_before:
            present = {n: namespace[n] for n in node.mutated if n in namespace}
            namespace.update(isolation.isolate(present))
        flags = node.future_flags | (self.kernel_flags if node.lineage == KERNEL else 0)
        code = compile_step(step.tree, pipeline.filename, step.is_last_expression, flags)
        model_selection.before_step(pipeline.name, node.id)
        start = time.perf_counter()
        guarded = guard.snapshot(namespace, node.guarded) if node.guarded else None
        seconds = time.perf_counter() - start
        self._run_code(node, code, lineage, outcome)
        start = time.perf_counter()
        changed = guarded is not None and self._guard_saw(node, guard.changed(namespace, guarded, node.outputs))
        self._guard_time(seconds + time.perf_counter() - start)
        outcome.rng = lineage.rng
        outcome.settings = replay_source(step.tree, namespace)
        outcome.bindings = {n: namespace[n] for n in node.outputs if n in namespace}
        outcome.deleted = frozenset(n for n in node.outputs if n not in namespace)
        outcome.nbytes = sum(sizeof(v) for v in outcome.bindings.values())
        outcome.summary = describe(next(iter(outcome.bindings.values()), None)) if outcome.bindings else None
        keep = node.id in self.cache_keys and outcome.ok and not changed and worth_keeping(outcome.seconds, outcome.nbytes)
        if node.id in self.publish or keep:
            path = self._exchange_path(node)
            known = {v: namespace[n] for v, n in reads_by_version(node).items() if n in namespace}
            try:
                keep &= not publish(path, outcome.bindings, sorted(outcome.deleted), outcome.rng if node.rng else None, known,
                                    outcome.settings)
                outcome.published = path
            except Exception:  # noqa: BLE001 - unpicklable outputs: remote consumers compute them
                pass
        if keep:
            try:
                value = transfer.dumps(outcome.value) if outcome.value is not None else None
            except Exception:  # noqa: BLE001 - a last expression that cannot be kept: neither is the step
                return outcome
            self._keep(node, outcome, value)
        return outcome

    def _exchange_path(self, node: Node) -> str:
        return str(Path(self.exchange) / f"node-{node.id}.pkl")  # type: ignore[arg-type]

    def _execute_remote(self, node: Node) -> Outcome:
        remote = self.remote[node.pipeline]
        outcome = Outcome(ok=False, pipeline=node.pipeline, lineno=node.step.lineno, remote=True)
        consumed, cached = node.id in self.publish, node.id in self.cache_keys
        publish_to = self._exchange_path(node) if consumed or cached else None
        try:
            reply = remote.run(node, publish_to, keep_only=not consumed)  # type: ignore[union-attr]
        except WorkerDied as died:
            outcome.crash = f"{died} while running line {node.step.lineno}: {node.step.label}"
            return outcome
        except BaseException as error:  # noqa: BLE001 - time limit or interrupt: the worker was ended
            outcome.error = StepError.from_exception(error, self.graph.pipelines[node.pipeline].filename)
            return outcome
        outcome.ok, outcome.error, outcome.output = reply["ok"], reply["error"], reply["output"]
        outcome.seconds, outcome.summary = reply["seconds"], reply["describe"]
        outcome.deleted = frozenset(reply["deleted"])
        outcome.published = publish_to if reply["published"] else None
        if reply["value"] is not None:
            outcome.value = transfer.loads(reply["value"])
        self._guard_time(reply["guard_seconds"])
        if not self._guard_saw(node, reply["changed"]) and not reply["cell_code"]:
            self._keep(node, outcome, reply["value"])
        return outcome

    def _run_code(self, node: Node, code, lineage: Lineage, outcome: Outcome) -> None:
        step = node.step
        namespace = lineage.namespace
        start = time.perf_counter()

        def evaluate() -> None:  # each step sees the thread state its pipeline's previous one left
            lineage.run(lambda: self._evaluate(code, namespace, outcome, step.is_last_expression))

        with capturing(outcome.output):
            if node.rng:
                with _RNG_LOCK:
                    self._restore_rng(lineage)
                    evaluate()
                    if lineage.rng is not None or step.rng_seed:
                        lineage.rng = (np.random.get_state(), random.getstate())
            else:
                evaluate()
        outcome.seconds = time.perf_counter() - start

    @staticmethod
    def _evaluate(code, namespace, outcome: Outcome, is_expression: bool) -> None:
        try:
            if is_expression:
                outcome.value = eval(code, namespace)  # noqa: S307 - running the user's own cell
            else:
                exec(code, namespace)  # noqa: S102
        except BaseException as error:  # noqa: BLE001 - a failing cell fails its pipeline, never the batch
            outcome.ok = False
            outcome.error = StepError.from_exception(error, code.co_filename)

    @staticmethod
    def _restore_rng(lineage: Lineage) -> None:
        if lineage.rng is not None:
            np.random.set_state(lineage.rng[0])
            random.setstate(lineage.rng[1])

    def _bind(self, node: Node, outcome: Outcome) -> bool:
        """Bind what ``outcome`` produced into ``node``'s pipeline; False when its outputs could
        not travel to where that pipeline lives (the caller then runs the step itself)."""
        if outcome.crash is not None or node.id in self.superseded:
            return True  # sequential execution would crash here too; or a later reuse binds it all
        remote = self.remote[node.pipeline]
        if outcome.published is None and (remote is not None or outcome.remote):
            return not outcome.ok  # nothing to bind from a failure; an ok step is recomputed
        if remote is not None:
            remote.queue(node, outcome)
            return True
        lineage = self.lineages[node.pipeline]
        if outcome.remote:
            published = local_file(self.pool, outcome.published)  # type: ignore[arg-type]
            rng, settings = bind_published(lineage.namespace, published, reads_by_version(node))
        else:
            lineage.namespace.update(outcome.bindings)
            for name in outcome.deleted:
                lineage.namespace.pop(name, None)
            rng, settings = outcome.rng, outcome.settings
        if settings is not None and outcome.pipeline != node.pipeline:  # as if the statement ran here
            lineage.run(lambda: replay(settings, lineage.namespace))
        if rng is not None and node.rng:
            lineage.rng = rng
        return True

    def _record(self, node: Node, outcome: Outcome) -> None:
        index = node.pipeline
        with self.lock:
            if self.closed:
                return
            result = self.results[index]
            self.done_steps += 1
            result.outputs.extend(outcome.output.items)
            if node.kind == "exec" or outcome.pipeline == index:
                result.seconds += outcome.seconds
            self.bound[index] |= node.outputs
            if outcome.ok and node.step.is_last_expression and outcome.value is not None:
                result.result = outcome.value
        if outcome.crash is not None:
            self.failed_at[index] = node.id
            self._finish(index, "crashed", cause=outcome.crash)
        elif not outcome.ok:
            self.failed_at[index] = node.id  # its later steps do not run
            if self.graph.pipelines[index].path is not None and outcome.error is not None and outcome.error.clean_exit:
                self._finish(index, "ok")  # a script's sys.exit(0): as python SCRIPT, a success
            else:
                self._finish(index, "failed", error=self._format_error(node, outcome))
        elif node.id == self.graph.pipeline_nodes[index][-1]:
            self._finish(index, "ok")

    def _finish(
        self, index: int, status: str, error: str | None = None, cause: str | None = None, final: bool = False
    ) -> None:
        """Freeze a pipeline's result: its status and the names it bound, as they are now."""
        namespace = self.lineages[index].namespace
        untransferable: list[str] = []
        remote = self.remote[index]
        if remote is not None and (final or not self.closed):
            untransferable = remote.collect()
            if remote.lost is not None and status != "crashed":  # ended by a time limit or an interrupt
                cause = f"{cause or status}; {remote.lost} (names the cell had bound are lost with it)"
        with self.lock:
            if self.closed and not final:  # a late return of a call the runtime gave up on
                return
            result = self.results[index]
            result.status = status
            result.error = error
            result.cause = cause
            if remote is not None:  # its names come with :meth:`_load`, on a free core or when the run is over
                self.unloaded.add(index)
                if self.desk is not None:
                    self.desk.nudge()
            else:
                names = self.bound[index] if not self.graph.pipelines[index].isolated else _own_names(namespace)
                result.namespace = {n: namespace[n] for n in sorted(names) if n in namespace}
                if not self.graph.pipelines[index].isolated:
                    result.deleted = {n for n in names if n not in namespace}
            result.untransferable = untransferable
            result.stdout = "".join(t for s, t in result.outputs if s == "stdout")  # type: ignore[misc]
            result.stderr = "".join(t for s, t in result.outputs if s == "stderr")  # type: ignore[misc]

    def _load(self, index: int) -> None:
        """Put an isolated pipeline's collected names into its result (unpickling them here)."""
        with self.lock:
            if index not in self.unloaded:
                return
            self.unloaded.discard(index)
        with self.unpickling:  # one at a time: two threads importing what they unpickle could meet half-done
            namespace, untransferable = self.remote[index].namespace()  # type: ignore[union-attr]
        result = self.results[index]
        result.namespace = {n: namespace[n] for n in sorted(_own_names(namespace))}
        result.untransferable = untransferable

    def _load_one(self) -> bool:
        """Unpickle one finished pipeline's names ahead of the run's end (a core is free);
        whether there was one."""
        with self.lock:
            index = min(self.unloaded, default=None)
        if index is None or not wait_for_imports(0):
            return False
        self._load(index)
        return True

    def _write_back_isolated(self, index: int) -> None:
        """Make an isolated cell's names visible to the kernel cells captured after it."""
        self._load(index)
        result = self.results[index]
        self.kernel.namespace.update(result.namespace)
        self.written_back.add(index)

    # -- errors and events -----------------------------------------------------------------
    def _format_error(self, node: Node, outcome: Outcome) -> str:
        """Traceback from the cell's own code down, with this pipeline's cell name and line numbers."""
        error = outcome.error
        if error is None:
            return "unknown error"
        origin = self.graph.pipelines[outcome.pipeline].filename
        target = self.graph.pipelines[node.pipeline]
        shift = node.step.lineno - outcome.lineno
        kept = []
        for frame in error.stack:
            if frame.filename == origin:
                lineno = (frame.lineno or 0) + shift
                lines = target.code.splitlines()
                line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
                frame = traceback.FrameSummary(target.filename, lineno, frame.name, line=line)
            kept.append(frame)
        return error.format(kept)

    def _emit(self, node_id: int, status: str, outcome: Outcome | None = None) -> None:
        if not self.listeners:
            return
        view_id = self.graph.node_view_id(node_id)
        if view_id is None:
            return
        node = self.graph.nodes[node_id]
        event = {
            "node": view_id, "status": status, "seconds": None, "output": None, "error": None,
            "pipeline": self.graph.pipelines[node.pipeline].name,
        }
        if outcome is not None:
            event["seconds"] = outcome.seconds
            event["bytes"] = outcome.nbytes
            event["output"] = outcome.summary
            if outcome.error is not None:
                event["error"] = str(outcome.error)
            elif outcome.crash is not None:
                event["error"] = outcome.crash
        self._notify(event)

    def _notify(self, event: dict) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken display must not break the run
                pass

    def _emit_folds(self) -> None:
        """Tell listeners (the graph widget) what each statement did with fold-level nodes."""
        names = [p.name for p in self.graph.pipelines]
        for node_id, lines in summarize_steps(self.fold_events, names).items():
            view_id = self.graph.node_view_id(node_id) if node_id < len(self.graph.nodes) else None
            if view_id is not None:
                self._notify({"node": view_id, "folds": lines})

    def finalize(self, node_status: list[str] | None = None) -> list[PipelineResult]:
        """Results in capture order. A pipeline whose running step the runtime abandoned (time
        limit, interrupt) gets that status; pipelines never reached are cancelled."""
        with self.lock:
            self.closed = True  # from here on, calls the runtime abandoned change nothing
        self.flush_kept()
        self.kernel.state.restore()  # finalize runs on the kernel's thread
        if self.kernel.settings is not None:
            process_state.restore(self.kernel.settings.settings)  # the notebook's settings, not a candidate's
        for node_id, status in enumerate(node_status or []):
            node = self.graph.nodes[node_id]
            if status in ("timeout", "cancelled") and node.pipeline >= 0:
                result = self.results[node.pipeline]
                if result.status == "pending" or self.failed_at.get(node.pipeline) == node_id:
                    what = "pipeline exceeded its time limit" if status == "timeout" else "run interrupted"
                    self._finish(node.pipeline, status, cause=f"{what} (at line {node.step.lineno})", final=True)
        for index, result in enumerate(self.results):
            if result.status == "pending":
                self._finish(index, "cancelled", cause="run ended before this pipeline completed", final=True)
        if self.desk is not None:
            self.desk.close()
        for remote in self.remote:
            if remote is not None:
                remote.close()
        for index in sorted(self.unloaded):
            self._load(index)
        self.fold_events = read_events(self.folds) if self.folds is not None else []
        self._emit_folds()
        model_selection.uninstall()
        if self.kernel.rng is not None:  # the kernel continues from the RNG state sequential runs leave
            np.random.set_state(self.kernel.rng[0])
            random.setstate(self.kernel.rng[1])
        return self.results


def _own_names(namespace: Mapping[str, object]) -> set[str]:
    """The names a cell bound: not the interpreter's dunders."""
    return {n for n in namespace if not (n.startswith("__") and n.endswith("__"))}


def describe(value: object) -> str | None:
    """``DataFrame (100, 4)``, ``list len=3``: what the widget shows for a step's output."""
    if value is None:
        return None
    shape = getattr(value, "shape", None)
    kind = type(value).__name__
    if isinstance(shape, tuple):
        return f"{kind} {shape}"
    try:  # __len__ of arbitrary objects may raise anything (an unfitted ensemble does)
        return f"{kind} len={len(value)}" if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else kind
    except Exception:  # noqa: BLE001
        return kind


@dataclass
class Workers:
    """Where isolated pipelines run: the pool, each worker's native threads, libraries to have
    imported, and a memory limit that ends a worker (only a budget the user chose)."""

    pool: WorkerPool
    threads: int
    modules: list[str]
    memory_limit: int | None
    sample_rows: int | None = None  # a smoke run (see smoke.py): pandas readers return this many rows
    jobs: int = 1  # steps at once: cores a running search's tasks may borrow while fewer run (helpers.py)


__all__ = ["Execution", "Outcome", "Workers"]
