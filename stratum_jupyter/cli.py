"""The ``stratum`` console script: run, verify and benchmark batches of scripts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .frontend import add_agent_options, add_cache_command_arguments, add_cache_options, add_run_options, cache_command
from .progress import progress_kind
from .runtime.cluster import ClusterUnavailable


def _scripts(paths: list[str]) -> list[tuple[str, str, str]]:
    from .verify import read_scripts

    try:
        return read_scripts(paths)
    except FileNotFoundError as error:
        raise SystemExit(f"stratum: {error}") from None


def _command_run(args: argparse.Namespace) -> int:
    from .batch import Batch

    batch = Batch()
    for name, code, path in _scripts(args.scripts):
        try:
            batch.add(code, name=name, isolated=True, script=path)
        except SyntaxError as error:
            print(f"{name}: syntax error, line {error.lineno}: {error.msg}", file=sys.stderr)
    if not batch.pending:
        print("stratum run: nothing to run", file=sys.stderr)
        return 1
    notes = sys.stderr if args.json else sys.stdout  # with --json, stdout carries the document alone
    try:
        results = batch.run(
            jobs=args.jobs, timeout=args.timeout, backend=args.backend, progress=progress_kind(), memory=args.memory,
            smoke=args.smoke, on_smoke=lambda report: print(report.text(), file=notes, flush=True),
            cache=args.cache, cache_size=args.cache_size, scheduler=args.scheduler,
        )
    except (ValueError, ClusterUnavailable) as error:  # e.g. --scheduler with another backend, or unreachable
        print(f"stratum run: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(results.to_json())
        return _exit_code(results)
    for result in results.values():
        if result.stdout:
            print(f"── {result.name} ──\n{result.stdout}", end="" if result.stdout.endswith("\n") else "\n")
        if result.error:
            print(f"── {result.name} [{result.status}] ──\n{result.error}", file=sys.stderr)
    print(results.table().to_string())
    return _exit_code(results)


def _command_cache(args: argparse.Namespace) -> int:
    from .cache import default_cache_dir

    print(cache_command(args.action, args.dir or default_cache_dir()))
    return 0


def _exit_code(results) -> int:
    return 0 if all(r.status == "ok" for r in results.values()) else 1


def _command_verify(args: argparse.Namespace) -> int:
    from .verify import format_rows, verify_scripts

    _scripts(args.scripts)  # a missing one is an error before anything runs
    rows = verify_scripts(args.scripts, jobs=args.jobs, memory=args.memory)
    print(format_rows(rows))
    return 0 if all(row.verdict == "identical" for row in rows) else 1


def _command_bench(args: argparse.Namespace) -> int:
    from . import bench

    return bench.run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stratum",
        description="Run, verify and benchmark batches of pandas/scikit-learn scripts: identical work "
        "across scripts runs once, independent work in parallel.",
        epilog="stratum COMMAND --help describes a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    script_help = "a Python script; each runs isolated, as `python SCRIPT` would, in the current directory"
    run = commands.add_parser(
        "run", help="run scripts as one batch (each isolated) and print the leaderboard",
        description="Run scripts as one batch, each isolated, and print the leaderboard (or, with --json, one JSON "
        "document); exit 1 if any failed.",
    )
    run.add_argument("scripts", nargs="+", metavar="SCRIPT", help=script_help)
    add_run_options(run)
    add_agent_options(run)
    add_cache_options(run)
    run.set_defaults(handler=_command_run)  # backend None: the default, or dask with --scheduler
    cache = commands.add_parser(
        "cache", help="show or empty the persistent step cache",
        description="info: entries and size of the persistent step cache; clear: remove every entry.",
    )
    add_cache_command_arguments(cache)
    cache.set_defaults(handler=_command_cache)
    verify = commands.add_parser(
        "verify", help="compare batch results with plain sequential execution",
        description="Run scripts as one batch and one after another in plain Python; print, per script, "
        "identical or the first difference; exit 1 on a mismatch.",
    )
    verify.add_argument("scripts", nargs="+", metavar="SCRIPT", help=script_help)
    add_run_options(verify, timeout=False, backend=False)
    verify.set_defaults(handler=_command_verify)
    bench = commands.add_parser(
        "bench", help="benchmark suite: batch vs the ways pipelines run today",
        description="The benchmark suite: every workload in every mode, median times, peak memory, fidelity.",
    )
    try:
        from . import bench as bench_module

        bench_module.add_arguments(bench)
    except ImportError:
        pass
    bench.set_defaults(handler=_command_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stratum`` console script."""
    args = build_parser().parse_args(_bare_cache_last(sys.argv[1:] if argv is None else list(argv)))
    return args.handler(args)


def _bare_cache_last(argv: list[str]) -> list[str]:
    """``stratum run --cache a.py``: a cache directory is never a file, so ``a.py`` is a script and
    ``--cache`` has no value; moved last, argparse reads it so."""
    if argv[:1] == ["run"] and "--cache" in argv:
        at = argv.index("--cache")
        if at + 1 < len(argv) and Path(argv[at + 1]).is_file():
            return [*argv[:at], *argv[at + 1:], "--cache"]
    return argv


if __name__ == "__main__":
    sys.exit(main())
