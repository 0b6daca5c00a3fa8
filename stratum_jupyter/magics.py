"""``%%stratum`` and ``%stratum``: thin IPython front end over :class:`~stratum_jupyter.Batch`."""

from __future__ import annotations

import sys

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .batch import Batch
from .results import RunResult
from .memory import MEMORY_HELP
from .runtime import BACKENDS

SUBCOMMANDS = ("run", "show", "explain", "results", "clear", "status")
USAGE = (
    "usage: %stratum run [--jobs N] [--timeout SECONDS] [--memory 4GB] [--backend local|python|dask]\n"
    "       %stratum show | explain | results | clear | status\n"
    "       %%stratum [-n NAME] [--isolated] [--run] [--show]   (cell magic: capture the cell)"
)


class _UsageError(Exception):
    pass


def _parse(magic, line: str):
    """parse_argstring, turning argparse's SystemExit into a usage message."""
    try:
        return parse_argstring(magic, line)
    except SystemExit as exit_:
        raise _UsageError(str(exit_) if str(exit_) not in ("0", "2", "None") else "") from None
    except Exception as error:  # UsageError from IPython's argparse wrapper
        raise _UsageError(str(error)) from None


@magics_class
class StratumMagics(Magics):
    """Capture cells into one batch; run it; inspect it."""

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.batch = Batch(namespace=shell.user_ns, shell=shell)
        shell.user_ns.setdefault("stratum_results", self.batch.results)

    @no_var_expand
    @magic_arguments()
    @argument("-n", "--name", default=None, help="pipeline name (default p1, p2, … in capture order)")
    @argument("--isolated", action="store_true", help="start from an empty namespace, like a separate script")
    @argument("--run", action="store_true", help="run the batch right after capturing this cell")
    @argument("--show", action="store_true", help="display the batch graph after capturing")
    @cell_magic
    def stratum(self, line: str, cell: str) -> None:
        """Capture this cell as a pipeline of the batch; it runs with ``%stratum run``."""
        try:
            args = _parse(self.stratum, line)
        except _UsageError as error:
            print(f"%%stratum: {error}\n{USAGE}", file=sys.stderr)
            return
        code = self.shell.transform_cell(cell)
        try:
            pipeline = self.batch.add(code, name=args.name, isolated=args.isolated)
        except SyntaxError:
            self.shell.showsyntaxerror()
            print("nothing captured", file=sys.stderr)
            return
        except ValueError as error:
            print(f"%%stratum: {error}", file=sys.stderr)
            return
        graph = self.batch.graph()
        index = graph.pipelines.index(pipeline)
        shared = graph.shared_with_earlier(index)
        print(
            f"captured {pipeline.name}: {len(pipeline.steps)} steps, {shared} shared with earlier cells · "
            f"batch: {len(graph.pipelines)} pipelines, {graph.captured_steps()} steps, "
            f"{graph.unique_steps()} unique"
        )
        if args.show:
            self._show()
        if args.run:
            self._run(jobs=None, timeout=None, backend="local")

    @no_var_expand
    @line_magic("stratum")
    def stratum_line(self, line: str) -> object:
        """``%stratum run|show|explain|results|clear|status``."""
        words = line.split()
        if not words or words[0] not in SUBCOMMANDS:
            what = f"unknown subcommand {words[0]!r}" if words else "missing subcommand"
            print(f"%stratum: {what}\n{USAGE}", file=sys.stderr)
            return None
        command, rest = words[0], " ".join(words[1:])
        if command == "run":
            try:
                args = _parse(self._run_arguments, rest)
            except _UsageError as error:
                print(f"%stratum run: {error}\n{USAGE}", file=sys.stderr)
                return None
            return self._run(args.jobs, args.timeout, args.backend, args.memory)
        if rest:
            print(f"%stratum {command}: takes no arguments, got {rest!r}\n{USAGE}", file=sys.stderr)
            return None
        if command == "show":
            self._show()
        elif command == "explain":
            print(self.batch.explain() if self.batch.pending or self.batch.results else "the batch is empty")
        elif command == "results":
            display(self.batch.results.table())
        elif command == "clear":
            self.batch.clear()
            self.shell.user_ns["stratum_results"] = self.batch.results
            print("batch cleared")
        elif command == "status":
            print(self._status())
        return None

    @magic_arguments()
    @argument("--jobs", type=int, default=None, help="worker threads (default: CPU count)")
    @argument("--timeout", type=float, default=None, help="per-pipeline time limit in seconds")
    @argument("--backend", default="local", choices=BACKENDS, help="executor (default: local, the Rust runtime)")
    @argument("--memory", default=None, help=MEMORY_HELP)
    def _run_arguments(self, line: str) -> None:
        """%stratum run [--jobs N] [--timeout SECONDS] [--backend local|python|dask]"""

    def _run(self, jobs: int | None, timeout: float | None, backend: str, memory: str | None = None) -> None:
        if not self.batch.pending:
            print("the batch is empty: capture cells with %%stratum first")
            return
        pending = [p.name for p in self.batch.pending]
        try:
            run = self.batch.run(jobs=jobs, timeout=timeout, backend=backend, progress=self._progress_kind(), memory=memory)
        except KeyboardInterrupt:
            self.shell.user_ns["stratum_results"] = self.batch.results
            self._replay(RunResult([self.batch.results[n] for n in pending if n in self.batch.results]))
            print("interrupted: completed pipelines were written back", file=sys.stderr)
            return
        except (ValueError, RuntimeError) as error:
            print(f"%stratum run: {error}", file=sys.stderr)
            return
        self.shell.user_ns["stratum_results"] = self.batch.results
        self._replay(run)
        counts = {}
        for result in run.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        stats = run.stats
        memory = ""
        if stats.get("memory_waits") or stats.get("spilled"):
            memory = (f"; {stats.get('memory_waits', 0)} waits for memory, "
                      f"{stats.get('spilled', 0)} outputs spilled to disk")
        print(
            f"ran {len(run)} pipelines ({summary}): {stats.get('captured_steps', 0)} steps, "
            f"{stats.get('executed', 0)} executed{memory} — results in stratum_results"
        )

    def _progress_kind(self) -> str:
        """A widget bar in a notebook kernel, a terminal bar in terminal IPython."""
        return "widget" if type(self.shell).__name__ == "ZMQInteractiveShell" else "terminal"

    def _replay(self, run: RunResult) -> None:
        """Printed output and displays, grouped per pipeline in capture order."""
        for result in run.values():
            if not (result.outputs or result.error or result.result is not None or result.status != "ok"):
                continue
            print(f"── {result.name} [{result.status}] " + "─" * max(0, 40 - len(result.name)))
            for kind, item in result.outputs:
                if kind == "stdout":
                    sys.stdout.write(item)  # type: ignore[arg-type]
                elif kind == "stderr":
                    sys.stderr.write(item)  # type: ignore[arg-type]
                else:
                    data, metadata = item  # type: ignore[misc]
                    display(data, metadata=metadata, raw=True)
            if result.result is not None:
                display(result.result)
            if result.error:
                sys.stderr.write(result.error)
            elif result.cause:
                print(f"{result.status}: {result.cause}", file=sys.stderr)
        sys.stdout.flush()

    def _show(self) -> None:
        try:
            from .widget import show_graph
        except ImportError as error:
            print(f"%stratum show: the graph widget is unavailable ({error})\n{self.batch.explain()}")
            return
        show_graph(self.batch)

    def _status(self) -> str:
        pending = ", ".join(p.name for p in self.batch.pending) or "none"
        done = self.batch.results
        counts: dict[str, int] = {}
        for result in done.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        finished = ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"
        return f"pending pipelines: {pending}\nresults: {finished}"
