"""Process-wide settings a script can change for everything that runs after it in its process.

An ``--isolated`` cell runs like ``python script.py``: it starts with the settings of a new
process and what it sets ends with it. :func:`snapshot` reads those settings — warnings filters,
pandas and numpy options, scikit-learn's configuration, the decimal context, environment
variables, logging's root logger — and :func:`restore` puts them back. A worker process restores
them after each pipeline and serves another only if that made it equal to what the pipeline
found (:mod:`.runtime.worker`); ``stratum verify`` restores them between the plain scripts it
runs in one process.
"""

from __future__ import annotations

import decimal
import importlib
import logging
import os
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def snapshot() -> dict[str, object]:
    """The settings as they are now (of the libraries loaded), comparable with ``==``; the
    number of Python threads too (a thread left running cannot be undone)."""
    context = decimal.getcontext()
    state: dict[str, object] = {
        "warnings": list(warnings.filters),
        "environ": dict(os.environ),
        "decimal": (context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp,
                    sorted(s.__name__ for s, on in context.traps.items() if on)),
        "logging": (logging.root.level, list(logging.root.handlers), logging.root.manager.disable),
        "threads": threading.active_count(),
    }
    numpy = loaded("numpy")
    if numpy is not None:
        state["numpy"] = (numpy.geterr(), numpy.get_printoptions())
    sklearn = loaded("sklearn")
    if sklearn is not None:
        state["sklearn"] = sklearn.get_config()
    pandas = loaded("pandas")
    if pandas is not None:
        state["pandas"] = {key: pandas.get_option(key) for key in _pandas_keys()}
    return state


def loaded(name: str) -> types.ModuleType | None:
    """The module ``name`` once it is fully imported, else None: the kernel imports libraries on
    a background thread (:func:`.runtime.pool.WorkerPool.prewarm`), so one may be in
    ``sys.modules`` half-initialized, without the functions read here yet."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return None if module is None or getattr(spec, "_initializing", False) else module


def restore(state: dict[str, object]) -> None:
    """Put back the settings of a :func:`snapshot` (those of libraries loaded since it was taken
    stay as they are)."""
    if list(warnings.filters) != state["warnings"]:
        warnings.filters[:] = state["warnings"]  # type: ignore[index]
        warnings._filters_mutated()  # noqa: SLF001 - drop the per-module caches of the old filters
    if dict(os.environ) != state["environ"]:
        os.environ.clear()
        os.environ.update(state["environ"])  # type: ignore[arg-type]
    prec, rounding, emin, emax, capitals, clamp, traps = state["decimal"]  # type: ignore[misc]
    decimal.setcontext(decimal.Context(prec, rounding, emin, emax, capitals, clamp, flags=[],
                                       traps=[getattr(decimal, name) for name in traps]))
    level, handlers, disabled = state["logging"]  # type: ignore[misc]
    logging.root.setLevel(level)
    logging.root.handlers[:] = handlers
    logging.disable(disabled)
    numpy, sklearn, pandas = (loaded(m) for m in ("numpy", "sklearn", "pandas"))
    if numpy is not None and "numpy" in state:
        errors, printing = state["numpy"]  # type: ignore[misc]
        numpy.seterr(**errors)
        numpy.set_printoptions(**printing)
    if sklearn is not None and "sklearn" in state:
        sklearn.set_config(**state["sklearn"])  # type: ignore[arg-type]
    if pandas is not None and "pandas" in state:
        for key, value in state["pandas"].items():  # type: ignore[union-attr]
            if pandas.get_option(key) != value:
                pandas.set_option(key, value)


def baseline() -> dict[str, object]:
    """A :func:`snapshot` to start pipelines from and put back after them, with pandas, numpy and
    scikit-learn imported first: restoring a snapshot leaves the settings of a library it did not
    see as they are, so one a pipeline imports and configures would keep its configuration."""
    for library in ("numpy", "pandas", "sklearn"):
        importlib.import_module(library)
    return snapshot()


class Carried:
    """One pipeline's settings while pipelines take turns in a process: put in place for each of
    its steps, and what the step left kept for its next."""

    def __init__(self, settings: dict[str, object]) -> None:
        self.settings = settings

    @contextmanager
    def applied(self, then: dict[str, object] | None = None) -> Iterator[None]:
        """The pipeline's settings while the block runs; ``then`` (if given) after it."""
        restore(self.settings)
        try:
            yield
        finally:
            self.settings = snapshot()
            if then is not None:
                restore(then)


@contextmanager
def restored() -> Iterator[None]:
    """Run the block, then put back the settings it changed (pandas, numpy and scikit-learn are
    imported first, so that settings a script makes through them can be undone)."""
    state = baseline()
    try:
        yield
    finally:
        restore(state)


def _pandas_keys() -> list[str]:
    from pandas._config import config

    return [k for k in config._registered_options if k not in config._deprecated_options]  # noqa: SLF001


__all__ = ["Carried", "baseline", "loaded", "restore", "restored", "snapshot"]
