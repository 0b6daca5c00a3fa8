"""Executors of a plan. All share one contract: ``run_plan(deps_ok, deps_any, inputs, priority,
group, run, skip, jobs=..., timeout=..., grace=..., poll_ms=..., memory=..., shape=...,
probe=..., spill=..., reload=...) -> stats dict`` (see rust/README.md). ``run`` returns
``(ok, output)`` or ``(ok, output, nbytes)``. Only the Rust runtime admits steps by memory and
spills; the others accept and ignore those options.

- ``processes`` (default): the Rust scheduler; isolated pipelines run in warm worker processes
  (:mod:`.pool`, :mod:`.worker`), so a crash, a hang in C code or a time limit ends only that
  pipeline, and native thread pools are budgeted per worker. Kernel cells run in the kernel.
- ``threads``: the Rust scheduler with every step on a thread of the kernel process (shared
  objects, no pickling; a crash or a stuck C call affects the kernel).
- ``python``: a sequential reference implementation, for debugging and comparison.
- ``dask``: dask's threaded scheduler (time limits checked between steps only); with a
  ``distributed.Client`` connected in the kernel, or a scheduler address, isolated pipelines run
  on that cluster's workers, one task per step (:mod:`.cluster`).
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable

BACKENDS = ("processes", "threads", "python", "dask")
DEFAULT_BACKEND = "processes"


def resolve_backend(backend: str | None, scheduler: str | None = None) -> str:
    """The backend a run uses: ``backend`` as given, else "dask" when a scheduler address is
    given (a cluster runs on the dask backend only), else the default."""
    if scheduler is not None and backend not in (None, "dask"):
        raise ValueError(f"a dask scheduler address needs the dask backend, not {backend!r}")
    return backend or ("dask" if scheduler is not None else DEFAULT_BACKEND)


def script_namespace(script: str | None) -> dict:
    """The globals an isolated pipeline starts with, as ``python SCRIPT`` gives them:
    ``__name__`` is ``"__main__"`` and, for a script file, ``__file__`` its absolute path (a
    notebook cell has none)."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    if script is not None:
        namespace["__file__"] = os.path.abspath(script)
    return namespace


def script_argv(script: str | None) -> list[str]:
    """``sys.argv`` as the pipeline's code would see it run plainly: ``[SCRIPT]`` for a script
    file (``python SCRIPT``), the kernel's own for a cell (``parse_args()`` sees what it sees in
    the kernel)."""
    return [script] if script is not None else list(sys.argv)


def script_sys_path(script: str | None) -> list[str]:
    """``sys.path`` as the pipeline's code would see it run plainly: the script's directory first
    (``python SCRIPT``: its own modules import), else the kernel's."""
    path = list(sys.path)
    return [os.path.dirname(os.path.abspath(script)), *path[1:]] if script is not None else path


def get_backend(name: str) -> Callable[..., dict]:
    """The ``run_plan`` function of a backend, with a clear error for unknown names."""
    if name in ("processes", "threads"):
        from .local import run_plan

        return run_plan
    if name == "python":
        from .python import run_plan

        return run_plan
    if name == "dask":
        from .dask import run_plan

        return run_plan
    raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
