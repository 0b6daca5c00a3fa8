"""Sequential reference executor with the same contract as the Rust scheduler."""

from __future__ import annotations

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
    """Run nodes one at a time in index order (a topological order: edges go low → high)."""
    count = len(deps_ok)
    status: list[str] = [""] * count
    seconds = [0.0] * count
    outputs: dict[int, object] = {}
    consumers = [0] * count
    for node_inputs in inputs:
        for producer in node_inputs:
            consumers[producer] += 1
    started: dict[int, float] = {}
    errors: list[str] = []
    interrupted = False
    released = 0
    for node in range(count):
        try:
            if interrupted:
                skip(node, "cancelled")
                status[node] = "cancelled"
            elif any(status[d] != "ok" for d in deps_ok[node]):
                skip(node, "skipped")
                status[node] = "skipped"
            elif timeout is not None and time.monotonic() - started.get(group[node], time.monotonic()) > timeout:
                skip(node, "timeout")
                status[node] = "timeout"
            else:
                started.setdefault(group[node], time.monotonic())
                begin = time.perf_counter()
                try:
                    ok, output, *_ = run(node, [outputs.get(p) for p in inputs[node]])
                except KeyboardInterrupt:
                    raise
                except Exception as error:  # noqa: BLE001
                    ok, output = False, None
                    errors.append(f"node {node}: {error!r}")
                seconds[node] = time.perf_counter() - begin
                status[node] = "ok" if ok else "failed"
                if consumers[node]:
                    outputs[node] = output
        except KeyboardInterrupt:
            interrupted = True
            status[node] = "cancelled"
            skip(node, "cancelled")
        for producer in inputs[node]:
            consumers[producer] -= 1
            if consumers[producer] == 0 and producer in outputs:
                del outputs[producer]
                released += 1
    return {
        "status": status, "seconds": seconds, "interrupted": interrupted,
        "internal_errors": errors, "peak_live_outputs": 0, "released": released,
    }
