"""What a failing step raised, in a form that crosses process boundaries."""

from __future__ import annotations

import traceback
from dataclasses import dataclass


def is_clean_exit(error: BaseException) -> bool:
    """``sys.exit()`` / ``sys.exit(0)``: ``python SCRIPT`` ends there with status 0 (a notebook
    cell, as in IPython, fails)."""
    return isinstance(error, SystemExit) and error.code in (None, 0)


@dataclass
class StepError:
    """An exception reduced to what the results show: its type, message and the cell's frames.

    Frames before the cell's own code (the runner's) are dropped; frames of library code the
    cell called are kept, as a traceback in a notebook shows them.
    """

    type_name: str
    message: str
    stack: list[traceback.FrameSummary]
    exception_lines: list[str]
    clean_exit: bool = False  # sys.exit(0) or sys.exit(): a script run with python succeeds there

    @classmethod
    def from_exception(cls, error: BaseException, filename: str) -> "StepError":
        """``error`` raised by code compiled as ``filename`` (the pipeline's): its frames from the
        first of that file on (none when the pipeline's code is not on the stack)."""
        summary = traceback.TracebackException.from_exception(error)
        frames = list(summary.stack)
        first = next((i for i, f in enumerate(frames) if f.filename == filename), len(frames))
        return cls(type(error).__name__, str(error), frames[first:], list(summary.format_exception_only()),
                   clean_exit=is_clean_exit(error))

    def format(self, stack: list[traceback.FrameSummary] | None = None) -> str:
        """The traceback text, optionally with ``stack`` in place of the recorded frames."""
        frames = traceback.StackSummary.from_list(self.stack if stack is None else stack)
        header = "Traceback (most recent call last):\n" if frames else ""
        return header + "".join(frames.format()) + "".join(self.exception_lines)

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"
