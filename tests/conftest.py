"""Shared fixtures: both executors, and the plain sequential reference for cells."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import io
from contextlib import redirect_stdout

import pytest

HAS_NATIVE = importlib.util.find_spec("stratum_jupyter._native") is not None


@pytest.fixture(params=["processes", "threads", "python", "dask"])
def backend(request) -> str:
    if request.param in ("processes", "threads") and not HAS_NATIVE:
        pytest.skip("Rust extension not built")
    return request.param


def run_cells_plainly(
    cells: list[tuple[str, bool]], namespace: dict | None = None, names: list[str] | None = None,
) -> tuple[dict, list[dict]]:
    """Reference semantics: cells one after another; isolated ones in a fresh namespace whose
    names are then written to the kernel namespace; errors stop the cell, not the sequence.
    ``names``: the cells' pipeline names, for code compiled as the batch compiles it
    (``<cell NAME>``: the file name a function or a warning records)."""
    kernel = namespace if namespace is not None else {}
    kernel.setdefault("__builtins__", builtins)
    kernel.setdefault("__name__", "__main__")
    per_cell = []
    for i, (code, isolated) in enumerate(cells):
        filename = f"<cell {names[i]}>" if names else "<plain>"
        ns = {"__name__": "__main__", "__builtins__": builtins} if isolated else kernel
        before = dict(ns)
        out = io.StringIO()
        status = "ok"
        with redirect_stdout(out):
            for stmt in ast.parse(code).body:
                try:
                    exec(compile(ast.Module([stmt], []), filename, "exec"), ns)
                except Exception:
                    status = "failed"
                    break
        bound = {k: v for k, v in ns.items() if not k.startswith("__") and (isolated or before.get(k, object()) is not v)}
        if isolated:
            kernel.update(bound)
        per_cell.append({"status": status, "namespace": bound, "stdout": out.getvalue()})
    return kernel, per_cell


@pytest.fixture
def kernel():
    """A real Jupyter kernel and its client (the kernel tests drive it as an agent does)."""
    import jupyter_client

    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
