"""Per-thread interpreter state that notebook cells carry from one cell to the next.

In the kernel every cell runs on the main thread, so state a cell sets for "the current thread"
is there for the next cell: context variables (the ``decimal`` context, numpy's ``np.seterr`` /
``errstate``) and scikit-learn's configuration (``sklearn.set_config(transform_output="pandas")``
is thread-local). A batch runs notebook cells on the runtime's threads, one at a time in capture
order; :class:`ThreadState` gives each of them the state the previous one left and, after the
run, hands it back to the kernel's thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

from .process_state import loaded

T = TypeVar("T")


def _sklearn_config() -> dict | None:
    """scikit-learn's configuration of this thread, if scikit-learn is loaded."""
    sklearn = loaded("sklearn")
    return sklearn.get_config() if sklearn is not None else None


def _set_sklearn_config(config: dict | None) -> None:
    sklearn = loaded("sklearn")
    if config is not None and sklearn is not None:
        sklearn.set_config(**config)


class ThreadState:
    """The kernel thread's state, taken when created (on that thread) and carried through the
    notebook cells of a run."""

    def __init__(self) -> None:
        self.context = contextvars.copy_context()
        self.sklearn = _sklearn_config()
        self.lock = threading.Lock()  # a context can be entered by one thread at a time

    def run(self, function: Callable[[], T]) -> T:
        """Call ``function`` on this thread with the carried state, and keep what it changes."""
        with self.lock:
            return self.context.run(self._call, function)

    def _call(self, function: Callable[[], T]) -> T:
        before = _sklearn_config()
        _set_sklearn_config(self.sklearn)
        try:
            return function()
        finally:
            self.sklearn = _sklearn_config()
            _set_sklearn_config(before)  # the runtime thread itself stays as it was

    def restore(self) -> None:
        """Make the carried state the calling thread's (the kernel's, after the run)."""
        for variable, value in self.context.items():
            if variable.get(object()) is not value:
                variable.set(value)
        _set_sklearn_config(self.sklearn)
