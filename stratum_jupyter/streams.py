"""Per-thread capture of printed output and rich displays while steps run on worker threads."""

from __future__ import annotations

import io
import sys
import threading
from contextlib import contextmanager
from collections.abc import Iterator

_current = threading.local()


class _Router(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: writes go to the running step's buffer, if any."""

    def __init__(self, original, stream: str) -> None:
        self.original = original
        self.stream = stream

    def write(self, text: str) -> int:
        capture = getattr(_current, "capture", None)
        if capture is None:
            return self.original.write(text)
        capture.write(self.stream, text)
        return len(text)

    def flush(self) -> None:
        if getattr(_current, "capture", None) is None:
            self.original.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")


class StepOutput:
    """What one step printed and displayed, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []  # ("stdout"|"stderr", text) or ("display", (data, metadata))

    def write(self, stream: str, text: str) -> None:
        if self.items and self.items[-1][0] == stream:
            self.items[-1] = (stream, self.items[-1][1] + text)  # type: ignore[operator]
        else:
            self.items.append((stream, text))

    def display(self, data: dict, metadata: dict | None) -> None:
        self.items.append(("display", (data, metadata or {})))

    def text(self, stream: str = "stdout") -> str:
        return "".join(t for s, t in self.items if s == stream)  # type: ignore[misc]


class _DisplayRouter:
    """Wraps IPython's display publisher so displays made by a step are kept with the step."""

    def __init__(self, original) -> None:
        self.original = original

    def publish(self, data, metadata=None, **kwargs) -> None:
        capture = getattr(_current, "capture", None)
        if capture is None:
            self.original.publish(data, metadata=metadata, **kwargs)
        else:
            capture.display(data, metadata)

    def __getattr__(self, name):
        return getattr(self.original, name)


@contextmanager
def routed_output(shell=None) -> Iterator[None]:
    """Install the routers for the duration of a batch run."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Router(saved[0], "stdout"), _Router(saved[1], "stderr")
    publisher = getattr(shell, "display_pub", None)
    if publisher is not None:
        shell.display_pub = _DisplayRouter(publisher)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        if publisher is not None:
            shell.display_pub = publisher


def route_process_output() -> None:
    """Install the routers for the rest of this process's life (idempotent): a process that runs
    steps on threads it does not own (a dask worker) cannot undo them safely between steps."""
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout, "stdout")
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr, "stderr")


@contextmanager
def capturing(output: StepOutput) -> Iterator[StepOutput]:
    """Send this thread's output to ``output`` while the block runs."""
    previous = getattr(_current, "capture", None)
    _current.capture = output
    try:
        yield output
    finally:
        _current.capture = previous
