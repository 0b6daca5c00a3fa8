"""Process-wide settings a script can change for everything that runs after it in its process.

An ``--isolated`` cell runs like ``python script.py``: it starts with the settings of a new
process and what it sets ends with it. :func:`snapshot` reads those settings — warnings filters,
pandas and numpy options, scikit-learn's configuration, the decimal context, environment
variables, logging's root level — so that a worker process can tell whether a finished pipeline
left it as it found it (:mod:`.runtime.worker`: only then may it serve another), and
``stratum verify`` can put them back between the plain scripts it runs in one process.
"""

from __future__ import annotations

import decimal
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


def snapshot() -> dict[str, object]:
    """The settings as they are now (of the libraries loaded), comparable with ``==``."""
    state: dict[str, object] = {
        "warnings": [_filter_key(f) for f in warnings.filters],
        "environ": dict(os.environ),
        "decimal": _decimal_key(decimal.getcontext()),
        "logging": (logging.root.level, len(logging.root.handlers), logging.root.manager.disable),
        "threads": threading.active_count(),
    }
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        state["numpy"] = (numpy.geterr(), numpy.get_printoptions())
    sklearn = sys.modules.get("sklearn")
    if sklearn is not None:
        state["sklearn"] = sklearn.get_config()
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        state["pandas"] = {key: pandas.get_option(key) for key in _pandas_keys()}
    return state


@contextmanager
def restored() -> Iterator[None]:
    """Run the block, then put back the settings it changed (pandas, numpy and scikit-learn are
    imported first, so that settings a script makes through them can be undone)."""
    import numpy
    import pandas
    import sklearn

    filters, environ, context = list(warnings.filters), dict(os.environ), decimal.getcontext().copy()
    errors, printing, config = numpy.geterr(), numpy.get_printoptions(), sklearn.get_config()
    options = {key: pandas.get_option(key) for key in _pandas_keys()}
    try:
        yield
    finally:
        warnings.filters[:] = filters
        warnings._filters_mutated()  # noqa: SLF001 - drop the per-module caches of the old filters
        os.environ.clear()
        os.environ.update(environ)
        decimal.setcontext(context)
        numpy.seterr(**errors)
        numpy.set_printoptions(**printing)
        sklearn.set_config(**config)
        for key, value in options.items():
            if pandas.get_option(key) != value:
                pandas.set_option(key, value)


def _pandas_keys() -> list[str]:
    from pandas._config import config

    return [k for k in config._registered_options if k not in config._deprecated_options]  # noqa: SLF001


def _filter_key(entry: tuple) -> tuple:
    action, message, category, module, lineno = entry
    return (action, getattr(message, "pattern", message), category, getattr(module, "pattern", module), lineno)


def _decimal_key(context: decimal.Context) -> tuple:
    flags = tuple(sorted(s.__name__ for s, on in context.traps.items() if on))
    return (context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp, flags)


__all__ = ["restored", "snapshot"]
