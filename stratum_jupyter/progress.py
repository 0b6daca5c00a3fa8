"""Live progress of a batch run: steps done/total, running pipelines, elapsed time.

A notebook gets an ipywidgets bar; a terminal (IPython, the CLI) gets a one-line bar on stderr.
Both are fed by the batch's node events, which arrive from worker threads. Output redirected to
a file or a pipe gets no bar: carriage returns and ESC[K only make sense on a terminal."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time

_FINISHED = {"done", "cached", "failed", "skipped", "cancelled", "timeout"}


def _is_terminal(stream) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_kind(shell=None) -> str | None:
    """Where a progress bar can be drawn: ``"widget"`` in a Jupyter kernel (a frontend renders
    ipywidgets), ``"terminal"`` when stderr is a terminal, else None (no bar)."""
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return "widget" if importlib.util.find_spec("ipywidgets") is not None else None
    return "terminal" if _is_terminal(sys.__stderr__) else None


class Progress:
    """Listener for :meth:`Batch.add_listener` that counts steps and shows them."""

    def __init__(self, total: int, stream=None, widget: bool = False, interval: float = 0.1) -> None:
        self.total = total
        self.done = 0
        self.running: dict[str, int] = {}
        self.start = time.monotonic()
        self.interval = interval
        self.lock = threading.Lock()
        self._last = 0.0
        self.bar = self._make_widget() if widget else None
        stream = stream if stream is not None else sys.__stderr__
        self.stream = stream if self.bar is None and _is_terminal(stream) else None

    def _make_widget(self):
        try:
            import ipywidgets
            from IPython.display import display
        except ImportError:
            return None
        bar = ipywidgets.IntProgress(min=0, max=max(self.total, 1), description="stratum")
        label = ipywidgets.Label()
        box = ipywidgets.HBox([bar, label])
        display(box)
        return bar, label

    def __call__(self, event: dict) -> None:
        with self.lock:
            pipeline = event.get("pipeline") or "?"
            if event["status"] == "running":
                self.running[pipeline] = self.running.get(pipeline, 0) + 1
            elif event["status"] in _FINISHED:
                self.done += 1
                if event["status"] in ("done", "cached", "failed") and self.running.get(pipeline):
                    self.running[pipeline] -= 1
                    if not self.running[pipeline]:
                        del self.running[pipeline]
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                self._render()

    def text(self) -> str:
        """`12/40 steps · running: p3, p4 · 1.2 s`"""
        running = ", ".join(sorted(self.running)[:4]) + (" …" if len(self.running) > 4 else "")
        return f"{self.done}/{self.total} steps · running: {running or '-'} · {time.monotonic() - self.start:.1f} s"

    def _render(self) -> None:
        if self.bar is not None:
            bar, label = self.bar
            bar.value = min(self.done, bar.max)
            label.value = self.text()
        elif self.stream is not None:
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.text()}\033[K")
            self.stream.flush()

    def close(self) -> None:
        """Show the final state; the terminal line is ended."""
        with self.lock:
            self.running.clear()
            self._render()
            if self.bar is None and self.stream is not None:
                self.stream.write("\n")
                self.stream.flush()
