"""What the front ends (the magics and the ``stratum`` CLI) share: option types, help texts, wording.

The option types are argparse ``type=`` callables: a bad value becomes argparse's own message,
e.g. ``argument --jobs: must be a positive integer, got '0'`` (a ``UsageError`` in the magics)."""

from __future__ import annotations

import argparse

from .memory import MEMORY_HELP, parse_size
from .runtime import BACKENDS, DEFAULT_BACKEND

JOBS_HELP = "steps run in parallel (default: the CPU count)"
TIMEOUT_HELP = 'per-pipeline time limit; a pipeline past it gets status "timeout" and the batch goes on (default: none)'
BACKEND_HELP = f"executor, one of {', '.join(BACKENDS)} (default: {DEFAULT_BACKEND}; see stratum_jupyter.runtime)"
JSON_HELP = (
    "print only one JSON document on stdout: per pipeline its status, error, scores, bound names and output tail "
    "(format: README, 'JSON for agents'); the summary and the smoke report go to stderr"
)
SMOKE_HELP = (
    "first run the isolated candidates on the first ROWS rows of each file they read with pandas and report which "
    "fail and where; then run everything in full (the full run alone decides statuses)"
)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def memory_size(text: str) -> str:
    """Checked here, parsed by the batch: the option keeps the user's spelling."""
    try:
        parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def identifier(text: str) -> str:
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"pipeline name must be a Python identifier, got {text!r}")
    return text


def add_run_options(parser, timeout: bool = True, backend: bool = True) -> None:
    """``--jobs``, ``--timeout``, ``--memory``, ``--backend`` with their types and help."""
    parser.add_argument("--jobs", metavar="N", type=positive_int, default=None, help=JOBS_HELP)
    if timeout:
        parser.add_argument("--timeout", metavar="SECONDS", type=positive_seconds, default=None, help=TIMEOUT_HELP)
    parser.add_argument("--memory", metavar="SIZE", type=memory_size, default=None, help=MEMORY_HELP)
    if backend:
        parser.add_argument("--backend", metavar="NAME", default=None, choices=BACKENDS, help=BACKEND_HELP)


def add_agent_options(parser) -> None:
    """``--json`` and ``--smoke ROWS``: the options of ``run`` for agents."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("--smoke", metavar="ROWS", type=positive_int, default=None, help=SMOKE_HELP)


def plural(count: int, noun: str) -> str:
    """``plural(1, "step")`` → ``"1 step"``, ``plural(3, "step")`` → ``"3 steps"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
