"""Executors of a plan. All share one contract: ``run_plan(deps_ok, deps_any, inputs, priority,
group, run, skip, jobs=..., timeout=..., grace=..., poll_ms=..., memory=..., shape=...,
probe=..., spill=..., reload=...) -> stats dict`` (see rust/README.md). ``run`` returns
``(ok, output)`` or ``(ok, output, nbytes)``. Only ``local`` admits steps by memory and spills;
the others accept and ignore those options.

- ``local``: the Rust scheduler (parallel worker threads, timeouts, interrupts).
- ``python``: a sequential reference implementation, for debugging and comparison.
- ``dask``: dask's threaded scheduler (time limits checked between steps only).
"""

from __future__ import annotations

from collections.abc import Callable

BACKENDS = ("local", "python", "dask")


def get_backend(name: str) -> Callable[..., dict]:
    """The ``run_plan`` function of a backend, with a clear error for unknown names."""
    if name == "local":
        from .local import run_plan

        return run_plan
    if name == "python":
        from .python import run_plan

        return run_plan
    if name == "dask":
        from .dask import run_plan

        return run_plan
    raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
