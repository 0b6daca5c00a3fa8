"""The Python API: capture pipelines, run them as one batch, get results back."""

from __future__ import annotations

import atexit
import linecache
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, MutableMapping

from .cache import DEFAULT_MAX_BYTES, StepCache, default_cache_dir, environment_key
from .capture import Context, Step, capture_steps, kernel_flags
from .effects import kind_of_value, open_log_files, qualified_name
from .execution import Execution, Workers
from .folds import FoldSharing, summarize
from .graph import BatchGraph, Pipeline
from .memory import default_budget, parse_size
from .plan import Plan, build_plan
from .progress import Progress
from .rerun import FilesBeforeRun
from .results import PipelineResult, RunResult, write_back
from .runtime import get_backend, resolve_backend
from .runtime.cluster import open_cluster
from .runtime.pool import get_pool, threads_per_worker
from .smoke import SmokeReport, run_smoke
from .spill import SpillStore, cache_dir
from .streams import routed_output

INTERRUPT_GRACE = 4.0  # seconds running steps get after Ctrl-C before they are abandoned


class Batch:
    """Pipelines captured for one batched run.

    >>> b = Batch()
    >>> _ = b.add("x = 1 + 1", name="p1", isolated=True)
    >>> b.run(backend="python")["p1"].namespace
    {'x': 2}
    """

    def __init__(self, namespace: MutableMapping[str, object] | None = None, shell=None) -> None:
        self.namespace: MutableMapping[str, object] = namespace if namespace is not None else {}
        self.shell = shell
        self.pending: list[Pipeline] = []
        self.results = RunResult()
        self.listeners: list[Callable[[dict], None]] = []
        self._captured = 0
        self._last_graph: BatchGraph | None = None
        self._imports: set[str] = set()  # modules the pending isolated cells import: workers load them early
        self._session_cache: StepCache | None = None
        self.sample_rows: int | None = None  # set on a smoke run's batch: readers return this many rows
        self.fold_sharing: list[FoldSharing] = []  # fold-level sharing of the last run (model_selection)
        self._environment_keyed = False

    # -- capture ------------------------------------------------------------------------------
    def add(self, code: str, name: str | None = None, isolated: bool = False, script: str | None = None) -> Pipeline:
        """Capture ``code`` as pipeline ``name`` (default ``p1``, ``p2``, …); nothing runs yet.

        ``script``: the file an isolated pipeline's code was read from; it runs with that
        ``__file__``, as ``python SCRIPT`` would. Raises SyntaxError (with the cell's own line
        numbers) and captures nothing if the code does not parse. A pending pipeline with the
        same name is replaced.
        """
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise ValueError(f"pipeline name must be an identifier, got {name!r}")
        if script is not None and not isolated:
            raise ValueError("script= is for isolated pipelines: a notebook cell has no __file__ of its own")
        name = name or self._next_name()
        # tracebacks and warnings name the script's file, as under python SCRIPT; a cell its name
        filename = os.path.abspath(script) if script is not None else f"<cell {name}>"
        # registered first: a syntax error's display reads the offending line from here
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        steps = capture_steps(code, filename, self._context(isolated))
        pipeline = Pipeline(name=name, code=code, isolated=isolated, steps=steps, filename=filename, path=script)
        if isolated:
            self._imports.update(m for s in steps for m in _imported(s))
        replaced = any(p.name == name for p in self.pending)
        self.pending = [p for p in self.pending if p.name != name] + [pipeline]
        self._captured += 1
        if replaced or self._last_graph is None or len(self._last_graph.pipelines) != len(self.pending) - 1:
            self._last_graph = None  # rebuilt when asked for
        else:
            self._last_graph.add(pipeline)  # capture costs time in proportion to the cell
        return pipeline

    def _next_name(self) -> str:
        taken = {p.name for p in self.pending} | set(self.results)
        number = self._captured + 1
        while f"p{number}" in taken:
            number += 1
        return f"p{number}"

    def _context(self, isolated: bool) -> Context:
        """What capture knows before the cell: an isolated cell starts from nothing; a kernel cell
        from the kernel's names resolved to their objects (library modules and callables, stateful
        values), moved past the pending cells that run before it."""
        context = Context()
        if isolated:
            return context
        context.log_files.update(open_log_files())
        for name, value in list(self.namespace.items()):
            module = qualified_name(value)
            if module is not None:
                context.modules[name] = module
            else:
                kind = kind_of_value(value)
                if kind is not None:
                    context.kinds[name] = kind
        for pipeline in self.pending:  # isolated cells' names reach the kernel after them
            for step in pipeline.steps:
                context.apply(step)
        return context

    def clear(self) -> None:
        """Forget pending pipelines and past results."""
        self.pending = []
        self.results = RunResult()
        self._captured = 0
        self._last_graph = None

    # -- inspection -----------------------------------------------------------------------------
    def graph(self) -> BatchGraph:
        """The merged graph of the pending pipelines (or of the last run when none is pending)."""
        if self.pending:
            if self._last_graph is None:
                self._last_graph = BatchGraph(self.pending, self.namespace, os.getcwd())
            return self._last_graph
        if self._last_graph is not None:
            return self._last_graph
        return BatchGraph([], self.namespace, os.getcwd())

    def explain(self) -> str:
        """Pipelines, steps captured, unique steps after merging, and which steps are shared."""
        text = self.graph().explain()
        if not self.pending and self.fold_sharing:  # what the last run shared inside model selection
            text += "\nfold-level sharing (last run):\n" + "\n".join(f"  {s.describe()}" for s in self.fold_sharing)
        return text

    def graph_view(self) -> dict:
        """Graph description for the widget (nodes are unique steps, edges are dataflow)."""
        return self.graph().view()

    def add_listener(self, listener: Callable[[dict], None]) -> None:
        """Call ``listener(event)`` for every node status change during runs."""
        self.listeners.append(listener)

    def remove_listener(self, listener: Callable[[dict], None]) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    # -- running ------------------------------------------------------------------------------
    def run(
        self,
        jobs: int | None = None,
        timeout: float | None = None,
        backend: str | None = None,
        progress: str | None = None,
        memory: str | int | None = None,
        smoke: int | None = None,
        on_smoke: Callable[[SmokeReport], None] | None = None,
        cache: bool | str | os.PathLike | None = None,
        cache_size: str | int | None = None,
        scheduler: str | None = None,
    ) -> RunResult:
        """Run every pending pipeline as one batch; returns the results of this run.

        The kernel namespace (``self.namespace``) ends up as running the cells one after
        another in capture order would leave it. ``progress``: None (quiet), "terminal"
        (a bar on stderr) or "widget" (an ipywidgets bar, in notebooks). ``memory``: budget
        such as "4GB" (default: half the machine's memory); steps that would exceed it wait.
        ``backend``: "processes" (isolated pipelines in worker processes, the default), "threads",
        "python" or "dask" (see :mod:`stratum_jupyter.runtime`); with "dask", isolated pipelines
        run on the dask cluster of ``scheduler`` (an address; implies "dask") or of the kernel's
        ``distributed.Client`` when one is connected (see :mod:`stratum_jupyter.runtime.cluster`),
        else on dask's local threaded scheduler. ``smoke``: first run the isolated
        candidates on the first ``smoke`` rows of each file read with pandas, then everything in
        full; the result's ``.smoke`` (also passed to ``on_smoke`` as soon as it is known) says
        which failed on the sample and why (see :mod:`stratum_jupyter.smoke`).

        Steps of isolated pipelines that ran before in this session (same code, same inputs,
        same content of the files they read) are not run again: their kept outputs are bound.
        ``cache``: also keep them on disk for other kernels and later sessions — True for the
        default directory (``$STRATUM_CACHE_DIR/steps`` or the user cache directory), or a
        directory; ``cache_size`` bounds it (default 10 GB; least recently used go first).
        """
        if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
            raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if smoke is not None and (not isinstance(smoke, int) or isinstance(smoke, bool) or smoke < 1):
            raise ValueError(f"smoke must be a positive number of rows, got {smoke!r}")
        backend = resolve_backend(backend, scheduler)
        budget = parse_size(memory) if memory is not None else default_budget()
        run_plan = get_backend(backend)
        if not self.pending:
            return RunResult()
        # a smoke run stays local: its pandas readers are cut in the processes that run it
        cluster = open_cluster(scheduler) if backend == "dask" and self.sample_rows is None else None
        jobs = jobs or (cluster.jobs if cluster is not None else os.cpu_count()) or 1
        report = None
        if smoke is not None:
            report = run_smoke(self, smoke, jobs=jobs, timeout=timeout, backend=backend, memory=memory)
            if on_smoke is not None:
                on_smoke(report)
        # Built anew: the kernel namespace, the working directory and files read may have
        # changed since the cells were captured.
        graph = self._last_graph = BatchGraph(self.pending, self.namespace, os.getcwd())
        plan = build_plan(graph)
        listeners = list(self.listeners)
        bar = Progress(graph.captured_steps(), widget=progress == "widget") if progress else None
        if bar is not None:
            listeners.append(bar)
        workers = self._workers(jobs, budget if memory is not None else None) if backend == "processes" else None
        if cluster is not None and any(p.isolated for p in self.pending):
            workers = Workers(pool=cluster, threads=1, modules=[], memory_limit=None)
        # Isolated pipelines sharing this process with settings statements (a warnings filter, a
        # pandas option) take turns: one step at a time, each under its own pipeline's settings.
        take_turns = workers is None and _changes_settings(self.pending)
        jobs = 1 if take_turns else jobs
        exchange = _exchange_directory()
        # steps run on a cluster are not kept: keeping them would bring every output to the kernel
        steps = self._step_cache(cache, cache_size) if cluster is None else None
        execution = Execution(graph, self.namespace, listeners, workers, exchange, steps, kernel_flags(self.shell),
                              take_turns=take_turns)
        files = FilesBeforeRun(graph, os.path.join(exchange, "files-before-run"))  # for a guard re-run
        store = SpillStore()
        try:
            try:
                with routed_output(self.shell):
                    # a budget the user chose is enforced strictly: new kinds of steps are measured alone
                    stats = _run(run_plan, plan, execution, store, jobs, timeout, budget, memory is not None, workers)
            finally:
                store.close()
                if bar is not None:
                    bar.close()
            results = execution.finalize(stats.get("status"))
            guarded = self._rerun_unshared(graph, execution, results, run_plan, jobs, timeout, workers, exchange, files)
        finally:  # after finalize: pipelines collected there may still bind files
            execution.flush_kept()
            if cluster is not None:
                cluster.close()
            elif workers is not None:
                workers.pool.trim(jobs)  # idle workers beyond the jobs: started while steps lent places
            shutil.rmtree(exchange, ignore_errors=True)
        # Kernel cells ran in the kernel namespace, and isolated cells a kernel cell followed were
        # written there before it: only the rest is written now (never a stale value over a name a
        # later cell changed through `global` or `exec`).
        write_back(self.namespace, [
            r for i, r in enumerate(results) if graph.pipelines[i].isolated and i not in execution.written_back
        ])
        if self.shell is not None:  # a cell's `from __future__` import applies to later cells, as in IPython
            self.shell.compile.flags |= graph.kernel_future
        run = RunResult(results)
        run.stats = dict(stats)
        run.smoke = report
        run.stats.update(
            pipelines=len(results), captured_steps=graph.captured_steps(), unique_steps=graph.unique_steps(),
            executed=sum(1 for n in graph.nodes if n.kind == "exec") - execution.cache_hits,
            cache_hits=execution.cache_hits,
            fold_fits=sum(1 for e in execution.fold_events if e.kind == "fit"),
            fold_reuses=sum(1 for e in execution.fold_events if e.kind == "reuse"),
            fold_helped=sum(1 for e in execution.fold_events if e.kind == "helped"),
            fold_ahead=sum(1 for e in execution.fold_events if e.kind == "ahead"),
            fold_transform_reuses=sum(1 for e in execution.fold_events if e.kind == "transform-reuse"),
            memory_budget=budget,
        )
        run.stats["guard"] = guarded
        run.stats["guard_seconds"] = execution.guard_seconds
        self.fold_sharing = summarize(execution.fold_events, [p.name for p in graph.pipelines])
        self.pending = []
        self._imports = set()
        self.results.update(run)
        if stats.get("interrupted"):
            raise KeyboardInterrupt("stratum run interrupted; completed pipelines were written back")
        return run

    def _rerun_unshared(
        self, graph: BatchGraph, execution: Execution, results: list[PipelineResult], run_plan: Callable,
        jobs: int, timeout: float | None, workers: Workers | None, exchange: str, files: FilesBeforeRun,
    ) -> dict | None:
        """When the guard saw a change the analysis missed (see guard.py), run the isolated
        pipelines that could have seen it again, without sharing, and put their results in
        ``results``; the files they write first get their content from before the run back
        (:mod:`.rerun`). Kernel cells are not run twice: their reuses of a changed value were
        already computed instead. Returns what happened, for the run's stats (None: nothing)."""
        if not execution.violations:
            return None
        affected = set().union(*(graph.affected_by(v.node, list(v.names)) for v in execution.violations))
        rerun = sorted(i for i in affected if graph.pipelines[i].isolated)
        written_twice = files.restore(rerun)
        if rerun:
            unshared = BatchGraph([graph.pipelines[i] for i in rerun], {}, graph.cwd, share=False)
            plan = build_plan(unshared)
            directory = os.path.join(exchange, "unshared")
            os.makedirs(directory)
            again = Execution(unshared, {}, [], workers, directory, take_turns=workers is None and _changes_settings(unshared.pipelines))
            store = SpillStore()
            try:
                with routed_output(self.shell):
                    stats = _run(run_plan, plan, again, store, jobs, timeout, default_budget(), False, workers)
            finally:
                store.close()
            for index, result in zip(rerun, again.finalize(stats.get("status"))):
                results[index] = result
        return {
            "changes": [v.describe() for v in execution.violations],
            "rerun": [graph.pipelines[i].name for i in rerun],
            "written_twice": written_twice,  # files the re-run wrote again as they were
        }

    def prewarm(self, jobs: int | None = None) -> None:
        """Start the fork server of a later ``run(jobs=jobs)`` now, importing the libraries the
        pending isolated pipelines import, so that its workers start warm."""
        if any(p.isolated for p in self.pending):
            get_pool().prewarm(threads_per_worker(jobs or os.cpu_count() or 1), self._isolated_imports())
        if not self._environment_keyed:  # the run's step-cache keys need it: computed off its path
            self._environment_keyed = True
            threading.Thread(target=environment_key, name="stratum-environment", daemon=True).start()

    def _isolated_imports(self) -> list[str]:
        return sorted(self._imports)

    def _workers(self, jobs: int, memory_limit: int | None) -> Workers | None:
        if not any(p.isolated for p in self.pending):
            return None
        self.prewarm(jobs)
        return Workers(
            pool=get_pool(), threads=threads_per_worker(jobs), modules=self._isolated_imports(),
            memory_limit=memory_limit, sample_rows=self.sample_rows, jobs=jobs,
        )

    def _step_cache(self, cache: bool | str | os.PathLike | None, size: str | int | None) -> StepCache | None:
        """The persistent cache asked for, else this session's (gone when the process ends)."""
        if self.sample_rows is not None:
            return None  # outputs computed on a sample must never be reused for the full data
        limit = parse_size(size) if size is not None else DEFAULT_MAX_BYTES
        if cache:
            return StepCache(default_cache_dir() if cache is True else cache, limit)
        if self._session_cache is None:
            directory = tempfile.mkdtemp(prefix="session-", dir=_scratch_root())
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            self._session_cache = StepCache(directory, limit)
        return self._session_cache


def _run(
    run_plan: Callable, plan: Plan, execution: Execution, store: SpillStore, jobs: int, timeout: float | None,
    budget: int | None, probe: bool, workers: Workers | None,
) -> dict:
    """``plan`` on the runtime ``run_plan``. With worker processes, at most ``jobs`` isolated
    pipelines hold one at once: a started pipeline finishes before another takes a new worker
    (fewer processes, warm ones reused, less memory). A step the cache holds takes no worker."""
    opens = [o and not execution.kept(i) for i, o in enumerate(plan.opens)] if workers is not None else None
    return run_plan(
        plan.deps_ok, plan.deps_any, plan.inputs, plan.priority, plan.group, execution.run_node, execution.skip_node,
        jobs=jobs, timeout=timeout, grace=INTERRUPT_GRACE, poll_ms=50, memory=budget, shape=plan.shape, probe=probe,
        spill=store.spill, reload=store.reload,
        slots=jobs if workers is not None else None, opens=opens,
    )


def _changes_settings(pipelines: list[Pipeline]) -> bool:
    """Whether isolated pipelines are among ``pipelines`` and some statement changes process
    settings (a notebook cell's change reaches isolated cells run beside it too)."""
    return any(p.isolated for p in pipelines) and any(s.settings for p in pipelines for s in p.steps)


def _scratch_root() -> str:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def _exchange_directory() -> str:
    """A run's directory for outputs crossing processes (and cached ones bound during it)."""
    return tempfile.mkdtemp(prefix="exchange-", dir=_scratch_root())


def _imported(step: Step) -> list[str]:
    """Modules an import statement loads (``from . import x`` and the like load nothing known)."""
    tree = step.tree
    if type(tree).__name__ == "Import":
        return [alias.name for alias in tree.names]  # type: ignore[attr-defined]
    if type(tree).__name__ == "ImportFrom" and tree.module and not tree.level:  # type: ignore[attr-defined]
        return [tree.module]  # type: ignore[attr-defined]
    return []


__all__ = ["Batch", "PipelineResult", "RunResult"]
