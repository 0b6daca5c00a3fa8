"""Running the nodes of a batch graph: the callbacks the runtime's scheduling loop calls.

Each pipeline (isolated cell) has its own namespace dict; the non-isolated cells share the
kernel namespace, in capture order. An *exec* node runs its statement in its pipeline's
namespace; a *reuse* node binds the outputs that an earlier identical node produced.
"""

from __future__ import annotations

import ast
import builtins
import random
import threading
import time
import traceback
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from . import isolation
from .graph import BatchGraph, Node
from .memory import sizeof
from .results import PipelineResult
from .streams import StepOutput, capturing

_RNG_LOCK = threading.Lock()  # the global RNGs are process-wide: one seeded step at a time


@dataclass
class Lineage:
    """A namespace and the global-RNG state that goes with it."""

    namespace: MutableMapping[str, object]
    rng: tuple | None = None  # (numpy state, random state) once the code seeded; None: live global RNG


@dataclass
class Outcome:
    """What an exec node produced; reuse nodes replay it."""

    ok: bool
    bindings: dict[str, object] = field(default_factory=dict)
    deleted: frozenset[str] = frozenset()
    rng: tuple | None = None
    output: StepOutput = field(default_factory=StepOutput)
    value: object = None
    error: BaseException | None = None
    seconds: float = 0.0
    nbytes: int = 0  # accounted size of the bindings
    pipeline: int = 0
    lineno: int = 0


class Execution:
    """State of one batch run, shared by every worker thread."""

    def __init__(
        self,
        graph: BatchGraph,
        kernel_namespace: MutableMapping[str, object],
        listeners: list[Callable[[dict], None]] | None = None,
    ) -> None:
        self.graph = graph
        self.listeners = listeners or []
        self.lock = threading.Lock()
        kernel = Lineage(kernel_namespace)
        self.lineages = [
            kernel if not p.isolated else Lineage({"__name__": "__main__", "__builtins__": builtins})
            for p in graph.pipelines
        ]
        self.kernel = kernel
        self.results = [
            PipelineResult(name=p.name, steps=len(p.steps), shared_steps=graph.shared_with_earlier(i))
            for i, p in enumerate(graph.pipelines)
        ]
        self.bound: list[set[str]] = [set() for _ in graph.pipelines]
        self.done_steps = 0
        self.failed_at: dict[int, int] = {}  # pipeline → node whose error failed it
        self.closed = False  # set when the run returned: abandoned threads must not touch results
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
        if node.kind == "reuse" and isinstance(source, Outcome):
            outcome = source
            self._bind(node, outcome)
            status, nbytes = "cached", 0  # counted once, at the node that produced it
        else:
            outcome = self._execute(node)
            status, nbytes = "done", outcome.nbytes
        self._record(node, outcome)
        self._emit(node_id, status if outcome.ok else "failed", outcome)
        return outcome.ok, outcome, nbytes

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
    def _execute(self, node: Node) -> Outcome:
        pipeline = self.graph.pipelines[node.pipeline]
        lineage = self.lineages[node.pipeline]
        namespace = lineage.namespace
        step = node.step
        outcome = Outcome(ok=True, pipeline=node.pipeline, lineno=step.lineno)
        if node.copy_before:
            present = {n: namespace[n] for n in node.mutated if n in namespace}
            namespace.update(isolation.isolate(present))
        if step.is_last_expression:
            code = compile(ast.Expression(step.tree.value), pipeline.filename, "eval")
        else:
            code = compile(ast.Module([step.tree], type_ignores=[]), pipeline.filename, "exec")
        self._run_code(node, code, lineage, outcome)
        outcome.rng = lineage.rng
        outcome.bindings = {n: namespace[n] for n in node.outputs if n in namespace}
        outcome.deleted = frozenset(n for n in node.outputs if n not in namespace)
        outcome.nbytes = sum(sizeof(v) for v in outcome.bindings.values())
        return outcome

    def _run_code(self, node: Node, code, lineage: Lineage, outcome: Outcome) -> None:
        step = node.step
        namespace = lineage.namespace
        start = time.perf_counter()
        with capturing(outcome.output):
            if node.rng:
                with _RNG_LOCK:
                    self._restore_rng(lineage)
                    self._evaluate(code, namespace, outcome, step.is_last_expression)
                    if lineage.rng is not None or step.rng_seed:
                        lineage.rng = (np.random.get_state(), random.getstate())
            else:
                self._evaluate(code, namespace, outcome, step.is_last_expression)
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
            outcome.error = error

    @staticmethod
    def _restore_rng(lineage: Lineage) -> None:
        if lineage.rng is not None:
            np.random.set_state(lineage.rng[0])
            random.setstate(lineage.rng[1])

    def _bind(self, node: Node, outcome: Outcome) -> None:
        lineage = self.lineages[node.pipeline]
        lineage.namespace.update(outcome.bindings)
        for name in outcome.deleted:
            lineage.namespace.pop(name, None)
        if outcome.rng is not None and node.rng:
            lineage.rng = outcome.rng

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
            self.bound[index] |= node.step.writes | node.mutated
            if outcome.ok and node.step.is_last_expression and outcome.value is not None:
                result.result = outcome.value
        if not outcome.ok:
            self.failed_at[index] = node.id
            self._finish(index, "failed", error=self._format_error(node, outcome))
        elif node.id == self.graph.pipeline_nodes[index][-1]:
            self._finish(index, "ok")

    def _finish(self, index: int, status: str, error: str | None = None, cause: str | None = None) -> None:
        """Freeze a pipeline's result: its status and the names it bound, as they are now."""
        namespace = self.lineages[index].namespace
        if self.graph.pipelines[index].isolated:
            names = {n for n in namespace if not (n.startswith("__") and n.endswith("__"))}
        else:
            names = self.bound[index]
        with self.lock:
            if self.closed:
                return
            result = self.results[index]
            result.status = status
            result.error = error
            result.cause = cause
            result.namespace = {n: namespace[n] for n in sorted(names) if n in namespace}
            if not self.graph.pipelines[index].isolated:
                result.deleted = {n for n in names if n not in namespace}
            result.stdout = "".join(t for s, t in result.outputs if s == "stdout")  # type: ignore[misc]
            result.stderr = "".join(t for s, t in result.outputs if s == "stderr")  # type: ignore[misc]

    def _write_back_isolated(self, index: int) -> None:
        """Make an isolated cell's names visible to the kernel cells captured after it."""
        result = self.results[index]
        self.kernel.namespace.update(result.namespace)

    # -- errors and events -----------------------------------------------------------------
    def _format_error(self, node: Node, outcome: Outcome) -> str:
        """Traceback from the cell's own code down, with this pipeline's cell name and line numbers."""
        error = outcome.error
        if error is None:
            return "unknown error"
        origin = self.graph.pipelines[outcome.pipeline].filename
        target = self.graph.pipelines[node.pipeline]
        shift = node.step.lineno - outcome.lineno
        summary = traceback.TracebackException.from_exception(error)
        frames = list(summary.stack)
        first = next((i for i, f in enumerate(frames) if f.filename.startswith("<cell ")), len(frames))
        kept = []
        for frame in frames[first:]:
            if frame.filename == origin and target.filename != origin:
                lineno = (frame.lineno or 0) + shift
                lines = target.code.splitlines()
                line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
                frame = traceback.FrameSummary(target.filename, lineno, frame.name, line=line)
            kept.append(frame)
        summary.stack = traceback.StackSummary.from_list(kept)
        return "".join(summary.format())

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
            event["output"] = _describe(next(iter(outcome.bindings.values()), None)) if outcome.bindings else None
            if outcome.error is not None:
                event["error"] = f"{type(outcome.error).__name__}: {outcome.error}"
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken display must not break the run
                pass

    def finalize(self, node_status: list[str] | None = None) -> list[PipelineResult]:
        """Results in capture order. A pipeline whose running step the runtime abandoned (time
        limit, interrupt) gets that status; pipelines never reached are cancelled."""
        for node_id, status in enumerate(node_status or []):
            node = self.graph.nodes[node_id]
            if status in ("timeout", "cancelled") and node.pipeline >= 0:
                result = self.results[node.pipeline]
                if result.status == "pending" or self.failed_at.get(node.pipeline) == node_id:
                    what = "pipeline exceeded its time limit" if status == "timeout" else "run interrupted"
                    self._finish(node.pipeline, status, cause=f"{what} (at line {node.step.lineno})")
        for index, result in enumerate(self.results):
            if result.status == "pending":
                self._finish(index, "cancelled", cause="run ended before this pipeline completed")
        self.closed = True
        if self.kernel.rng is not None:  # the kernel continues from the RNG state sequential runs leave
            np.random.set_state(self.kernel.rng[0])
            random.setstate(self.kernel.rng[1])
        return self.results


def _describe(value: object) -> str | None:
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


__all__ = ["Execution", "Outcome"]
