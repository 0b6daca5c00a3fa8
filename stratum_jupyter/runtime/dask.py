"""dask's threaded scheduler as the executor (``--backend dask``), same contract as the others.

Time limits are checked before each step starts (a running step is not abandoned) and an
interrupt cancels the steps that have not started."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def run_plan(
    deps_ok: list[list[int]],
    deps_any: list[list[int]],
    inputs: list[list[int]],
    priority: list[float],
    group: list[int],
    run: Callable[[int, list], tuple],
    skip: Callable[[int, str], None],
    jobs: int = 1,
    timeout: float | None = None,
    grace: float = 5.0,
    poll_ms: int = 50,
    **_local: object,  # memory budget and worker slots: only the local runtime has them
) -> dict:
    """Build a dask graph whose tasks carry (status, output) and run it on a thread pool."""
    try:
        import dask
        from dask.threaded import get
    except ImportError as error:
        raise RuntimeError("the dask backend needs dask: pip install 'stratum-jupyter[dask]'") from error
    count = len(deps_ok)
    status = [""] * count
    seconds = [0.0] * count
    errors: list[str] = []
    used: dict[int, float] = {}
    lock = threading.Lock()
    cancelled = threading.Event()

    def task(node: int, *predecessors: tuple[str, object]) -> tuple[str, object]:
        by_node = dict(zip(_predecessors(node), predecessors))
        reason = None
        if cancelled.is_set():
            reason = "cancelled"
        elif any(by_node[d][0] != "ok" for d in deps_ok[node]):
            reason = "skipped"
        elif timeout is not None and used.get(group[node], 0.0) >= timeout:
            reason = "timeout"
        if reason is not None:
            skip(node, reason)
            status[node] = reason
            return reason, None
        begin = time.perf_counter()
        try:
            ok, output, *_ = run(node, [by_node[p][1] for p in inputs[node]])
        except Exception as error:  # noqa: BLE001
            ok, output = False, None
            errors.append(f"node {node}: {error!r}")
        seconds[node] = time.perf_counter() - begin
        with lock:
            used[group[node]] = used.get(group[node], 0.0) + seconds[node]
        status[node] = "ok" if ok else "failed"
        return status[node], output

    def _predecessors(node: int) -> list[int]:
        return sorted(set(deps_ok[node]) | set(deps_any[node]) | set(inputs[node]))

    graph = {f"n{i}": (task, i, *[f"n{p}" for p in _predecessors(i)]) for i in range(count)}
    interrupted = False
    try:
        with dask.config.set(num_workers=jobs):
            get(graph, [f"n{i}" for i in range(count)])
    except KeyboardInterrupt:
        interrupted = True
        cancelled.set()
        for node in range(count):
            if not status[node]:
                skip(node, "cancelled")
                status[node] = "cancelled"
    return {
        "status": status, "seconds": seconds, "interrupted": interrupted,
        "internal_errors": errors, "peak_live_outputs": 0, "released": 0,
    }
