"""What the front ends (the magics and the ``stratum`` CLI) share: option types, help texts, wording.

The option types are argparse ``type=`` callables: a bad value becomes argparse's own message,
e.g. ``argument --jobs: must be a positive integer, got '0'`` (a ``UsageError`` in the magics)."""

from __future__ import annotations

import argparse
import warnings

from .cache import CacheWarning, StepCache, parse_cache_size
from .memory import MEMORY_HELP, parse_size
from .runtime import BACKENDS, DEFAULT_BACKEND

JOBS_HELP = "steps run in parallel (default: the CPU count)"
TIMEOUT_HELP = 'per-pipeline time limit; a pipeline past it gets status "timeout" and the batch goes on (default: none)'
BACKEND_HELP = f"executor, one of {', '.join(BACKENDS)} (default: {DEFAULT_BACKEND}; see stratum_jupyter.runtime)"
SCHEDULER_HELP = (
    "run the isolated cells on the dask cluster of this scheduler (e.g. tcp://10.0.0.5:8786), one task per step; "
    "implies --backend dask, which uses the kernel's distributed.Client by itself when one is connected"
)
JSON_HELP = (
    "print only one JSON document on stdout: per pipeline its status, error, scores, bound names and output tail "
    "(format: README, 'JSON for agents'); the summary and the smoke report go to stderr"
)
SMOKE_HELP = (
    "first run the isolated candidates on the first ROWS rows of each file they read with pandas and report which "
    "fail and where; then run everything in full (the full run alone decides statuses)"
)

CACHE_HELP = (
    "keep the outputs of steps worth keeping on disk in DIR and reuse them in later runs, other kernels and after a "
    "restart (without DIR: $STRATUM_CACHE_DIR/steps, else the user cache directory)"
)
CACHE_SIZE_HELP = "bound of the step cache, e.g. 2GB (default: 10GB); least recently used entries go first"
CACHE_DIR_HELP = "the cache directory (default: $STRATUM_CACHE_DIR/steps, else the user cache directory)"


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


def _size(parse):
    """A size option checked here with ``parse``, parsed by the batch: it keeps the user's spelling."""
    def check(text: str) -> str:
        try:
            parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return text
    return check


memory_size = _size(parse_size)
cache_size = _size(parse_cache_size)


def identifier(text: str) -> str:
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"pipeline name must be a Python identifier, got {text!r}")
    return text


def add_run_options(parser, timeout: bool = True, backend: bool = True) -> None:
    """``--jobs``, ``--timeout``, ``--memory``, ``--backend``, ``--scheduler`` with their types and help."""
    parser.add_argument("--jobs", metavar="N", type=positive_int, default=None, help=JOBS_HELP)
    if timeout:
        parser.add_argument("--timeout", metavar="SECONDS", type=positive_seconds, default=None, help=TIMEOUT_HELP)
    parser.add_argument("--memory", metavar="SIZE", type=memory_size, default=None, help=MEMORY_HELP)
    if backend:
        parser.add_argument("--backend", metavar="NAME", default=None, choices=BACKENDS, help=BACKEND_HELP)
        parser.add_argument("--scheduler", metavar="ADDRESS", default=None, help=SCHEDULER_HELP)


def add_agent_options(parser) -> None:
    """``--json`` and ``--smoke ROWS``: the options of ``run`` for agents."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("--smoke", metavar="ROWS", type=positive_int, default=None, help=SMOKE_HELP)


def add_cache_options(parser) -> None:
    """``--cache [DIR]`` (True without DIR: the default directory) and ``--cache-size SIZE``."""
    parser.add_argument("--cache", metavar="DIR", nargs="?", const=True, default=None, help=CACHE_HELP)
    parser.add_argument("--cache-size", metavar="SIZE", type=cache_size, default=None, help=CACHE_SIZE_HELP)


def add_cache_command_arguments(parser) -> None:
    """``info | clear`` and ``--dir DIR``: the arguments of ``cache``."""
    parser.add_argument("action", choices=("info", "clear"), help="info: entries and size; clear: remove every entry")
    parser.add_argument("--dir", metavar="DIR", default=None, help=CACHE_DIR_HELP)


def cache_command(action: str, directory) -> str:
    """What ``cache info`` / ``cache clear`` print, for the cache in ``directory``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)  # the problem is in the line printed
        cache = StepCache(directory)
        removed = cache.clear() if action == "clear" else None
        info = cache.info()
    where = f"step cache {info['directory']}"
    if info["error"]:
        return f"{where}: unusable ({info['error']})"
    if removed is not None:
        return f"{where}: cleared, {removed} {'entry' if removed == 1 else 'entries'} removed"
    entries = info["entries"]
    return f"{where}: {entries} {'entry' if entries == 1 else 'entries'}, {format_size(info['bytes'])}"


def format_size(size: int) -> str:
    """``format_size(1536)`` → ``"1.5 KB"`` (binary units, as ``--memory`` and ``--cache-size`` read them)."""
    value, unit = float(size), "bytes"
    for bigger in ("KB", "MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"


def plural(count: int, noun: str) -> str:
    """``plural(1, "step")`` → ``"1 step"``, ``plural(3, "step")`` → ``"3 steps"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
