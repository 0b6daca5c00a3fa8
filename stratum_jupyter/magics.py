"""``%%stratum`` and ``%stratum``: thin IPython front end over :class:`~stratum_jupyter.Batch`.

Misuse raises IPython's ``UsageError`` (the kernel reports the cell as an error, which agents
driving a kernel rely on); defaults come from the IPython configuration (``c.StratumMagics.*``)."""

from __future__ import annotations

import ast
import sys
from argparse import ArgumentTypeError

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser, argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Enum, Float, Integer, TraitError, Unicode, validate

from .batch import Batch
from .cache import default_cache_dir
from .frontend import (
    add_agent_options, add_cache_command_arguments, add_cache_options, add_run_options, cache_command, identifier,
    memory_size, plural, positive_int, positive_seconds,
)
from .memory import MEMORY_HELP
from .progress import progress_kind
from .results import RunResult
from .runtime import BACKENDS, DEFAULT_BACKEND
from .runtime.cluster import ClusterUnavailable

SUBCOMMANDS = ("run", "show", "explain", "results", "clear", "status", "cache")
_RUN = (f"%stratum run [--jobs N] [--timeout SECONDS] [--memory SIZE] [--backend {'|'.join(BACKENDS)}] "
        "[--scheduler ADDRESS] [--json] [--smoke ROWS] [--cache [DIR]] [--cache-size SIZE]")
_CACHE = "%stratum cache info | clear [--dir DIR]"
_CELL = "%%stratum [-n NAME] [--isolated] [--run] [--show]   (first line of a cell: capture the cell)"
RUN_USAGE, CELL_USAGE, CACHE_USAGE = f"usage: {_RUN}", f"usage: {_CELL}", f"usage: {_CACHE}"
USAGE = f"usage: {_RUN}\n       %stratum show | explain | results | clear | status\n       {_CACHE}\n       {_CELL}"


# `%stratum run`'s options; MagicArgumentParser raises UsageError where argparse would exit.
RUN_PARSER = MagicArgumentParser(prog="%stratum run", description="Run every captured, not yet run pipeline as one batch.")
add_run_options(RUN_PARSER)
add_agent_options(RUN_PARSER)
add_cache_options(RUN_PARSER)
CACHE_PARSER = MagicArgumentParser(prog="%stratum cache", description="Show or empty the persistent step cache.")
add_cache_command_arguments(CACHE_PARSER)


def _as_python(shell, cell: str) -> str:
    """The cell with IPython syntax (``%magic``, ``!cmd``, ``obj?``) turned into Python.

    A cell that already parses as Python and starts on its first line is kept as it is: no
    IPython transform changes such a cell, and tokenizing it costs more than capturing it.
    """
    if cell[:1].strip():
        try:
            ast.parse(cell)
            return cell
        except SyntaxError:
            pass
    return shell.transform_cell(cell)


def _parse(parse, line: str, command: str, usage: str):
    """``parse(line)``; any failure is a UsageError that names the command and shows its usage."""
    try:
        return parse(line)
    except (UsageError, ValueError) as error:  # ValueError: unbalanced quotes
        raise UsageError(f"{command}: {error}\n{usage}") from None


@magics_class
class StratumMagics(Magics):
    """Capture cells into one batch; run it; inspect it.

    Defaults of ``%stratum run`` are configurable, e.g. in ``ipython_config.py``::

        c.StratumMagics.jobs = 4
        c.StratumMagics.memory = "8GB"
    """

    jobs = Integer(None, allow_none=True, help="Parallel jobs of %stratum run (default: CPU count).").tag(config=True)
    memory = Unicode(None, allow_none=True, help=f"Memory budget of %stratum run: {MEMORY_HELP}.").tag(config=True)
    backend = Enum(BACKENDS, default_value=DEFAULT_BACKEND, help="Executor of %stratum run.").tag(config=True)
    timeout = Float(None, allow_none=True, help="Per-pipeline time limit of %stratum run, in seconds (default: none).").tag(config=True)
    scheduler = Unicode(
        None, allow_none=True,
        help="Address of a dask scheduler whose cluster runs the isolated cells (default of %stratum run --scheduler; "
             "implies the dask backend).",
    ).tag(config=True)
    cache = Unicode(
        None, allow_none=True,
        help="Directory of the persistent step cache: the default of %stratum run --cache and of %stratum cache "
             "(unset: runs use no persistent cache unless --cache is given).",
    ).tag(config=True)

    @validate("jobs", "timeout", "memory")
    def _check_default(self, proposal):
        """The same checks as the options these traits are defaults of."""
        check = {"jobs": positive_int, "timeout": positive_seconds, "memory": memory_size}[proposal.trait.name]
        if proposal.value is not None:
            try:
                check(str(proposal.value))
            except ArgumentTypeError as error:
                raise TraitError(f"StratumMagics.{proposal.trait.name} {error}") from None
        return proposal.value

    def __init__(self, shell=None, **kwargs) -> None:
        # Magics makes the shell the parent: its config (ipython_config.py, %config) applies
        super().__init__(shell=shell, **kwargs)
        self.batch = Batch(namespace=shell.user_ns, shell=shell)
        shell.user_ns.setdefault("stratum_results", self.batch.results)

    @no_var_expand
    @magic_arguments()
    @argument("-n", "--name", default=None, type=identifier,
              help="pipeline name, a Python identifier (default p1, p2, … in capture order); "
                   "a pending pipeline of the same name is replaced")
    @argument("--isolated", action="store_true", help="start from an empty namespace, like a separate script")
    @argument("--run", action="store_true", help="run the batch right after capturing this cell, with the configured defaults")
    @argument("--show", action="store_true", help="show the batch graph after capturing")
    @cell_magic
    def stratum(self, line: str, cell: str) -> None:
        """Capture this cell as a pipeline of the batch; nothing runs until ``%stratum run``.

        Prints one line: the cell's steps, how many are shared with earlier cells, batch totals.
        A syntax error is shown as IPython shows it, and nothing is captured."""
        args = _parse(lambda text: parse_argstring(self.stratum, text), line, "%%stratum", CELL_USAGE)
        if not cell.strip():
            raise UsageError(f"%%stratum: the cell is empty, nothing to capture\n{CELL_USAGE}")
        replaced = args.name is not None and any(p.name == args.name for p in self.batch.pending)
        code = _as_python(self.shell, cell)
        if args.isolated and "get_ipython()" in code and "get_ipython()" not in cell:
            raise UsageError(
                "%%stratum --isolated: line magics and shell escapes (%time, !pip, …) need IPython, which an "
                "isolated cell does not have (it runs like a separate script, in a worker process); remove "
                f"them, or capture the cell without --isolated\n{CELL_USAGE}"
            )
        try:
            pipeline = self.batch.add(code, name=args.name, isolated=args.isolated)
        except SyntaxError:
            self.shell.showsyntaxerror()
            # a UsageError so the cell is reported as an error without a second traceback
            raise UsageError("%%stratum: nothing captured, the cell has a syntax error (shown above)") from None
        if replaced:
            print(f"replaced pending pipeline {pipeline.name}")
        graph = self.batch.graph()
        shared = graph.shared_with_earlier(graph.pipelines.index(pipeline))
        print(
            f"captured {pipeline.name}: {plural(len(pipeline.steps), 'step')}, {shared} shared with earlier cells · "
            f"batch: {plural(len(graph.pipelines), 'pipeline')}, {plural(graph.captured_steps(), 'step')}, "
            f"{graph.unique_steps()} unique"
        )
        if args.isolated and self.backend == "processes" and not self.scheduler:
            self.batch.prewarm(self.jobs)  # worker processes import the cell's libraries meanwhile
        if args.show:
            self._show()
        if args.run:
            self._run(self.jobs, self.timeout, None, self.memory, cache=self.cache)

    @no_var_expand
    @line_magic("stratum")
    def stratum_line(self, line: str) -> None:
        words = line.split()
        if not words:
            raise UsageError(f"%stratum: missing subcommand\n{USAGE}")
        command, rest = words[0], " ".join(words[1:])
        if command not in SUBCOMMANDS:
            raise UsageError(f"%stratum: unknown subcommand {command!r}; one of: {', '.join(SUBCOMMANDS)}\n{USAGE}")
        if command == "run":
            args = _parse(RUN_PARSER.parse_argstring, rest, "%stratum run", RUN_USAGE)
            return self._run(
                args.jobs if args.jobs is not None else self.jobs,
                args.timeout if args.timeout is not None else self.timeout,
                args.backend,
                args.memory if args.memory is not None else self.memory,
                as_json=args.json, smoke=args.smoke, cache=self._cache_option(args.cache), cache_size=args.cache_size,
                scheduler=args.scheduler,
            )
        if command == "cache":
            args = _parse(CACHE_PARSER.parse_argstring, rest, "%stratum cache", CACHE_USAGE)
            print(cache_command(args.action, args.dir or self.cache or default_cache_dir()))
            return None
        if rest:
            raise UsageError(f"%stratum {command}: takes no arguments, got {rest!r}\n{USAGE}")
        if command == "show":
            self._show()
        elif command == "explain":
            print(self._explain())
        elif command == "results":
            display(self.batch.results.table())
        elif command == "clear":
            self.batch.clear()
            self.shell.user_ns["stratum_results"] = self.batch.results
            print("batch cleared")
        elif command == "status":
            print(self._status())
        return None

    def _run(
        self, jobs: int | None, timeout: float | None, backend: str | None, memory: str | None,
        as_json: bool = False, smoke: int | None = None, cache: bool | str | None = None, cache_size: str | None = None,
        scheduler: str | None = None,
    ) -> None:
        """``backend``, ``scheduler``: as given (None: configured); a scheduler means the dask backend."""
        scheduler = scheduler or self.scheduler
        backend = backend or ("dask" if scheduler else self.backend)
        if not self.batch.pending:
            raise UsageError("%stratum run: the batch is empty: capture cells with %%stratum first")
        pending = [p.name for p in self.batch.pending]
        notes = sys.stderr if as_json else sys.stdout  # with --json, stdout carries the document alone
        try:
            run = self.batch.run(
                jobs=jobs, timeout=timeout, backend=backend, progress=progress_kind(self.shell), memory=memory,
                smoke=smoke, on_smoke=lambda report: print(report.text(), file=notes, flush=True),
                cache=cache, cache_size=cache_size, scheduler=scheduler,
            )
        except KeyboardInterrupt:
            self.shell.user_ns["stratum_results"] = self.batch.results
            self._show_results(RunResult([self.batch.results[n] for n in pending if n in self.batch.results]), as_json)
            print("interrupted: completed pipelines were written back", file=sys.stderr)
            return
        except (ValueError, ClusterUnavailable) as error:  # a bad value (e.g. from configuration), no cluster there
            raise UsageError(f"%stratum run: {error}") from None
        self.shell.user_ns["stratum_results"] = self.batch.results
        self._show_results(run, as_json)
        counts: dict[str, int] = {}
        for result in run.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        stats = run.stats
        memory_note = ""
        if stats.get("memory_waits") or stats.get("spilled"):
            memory_note = (f"; {plural(stats.get('memory_waits', 0), 'wait')} for memory, "
                           f"{plural(stats.get('spilled', 0), 'output')} spilled to disk")
        lost = [f"{r.name}.{n}" for r in run.values() for n in r.untransferable]
        untransferable = f"; could not come back from workers: {', '.join(lost)}" if lost else ""
        guard = stats.get("guard")
        if guard:  # a change the effect analysis missed (guard.py): say what and what ran again
            untransferable += (f"; guard: {'; '.join(guard['changes'])} unexpectedly — "
                               f"{plural(len(guard['rerun']), 'pipeline')} run again without sharing")
            if guard["written_twice"]:
                untransferable += f" (files written twice: {', '.join(guard['written_twice'])})"
        print(
            f"ran {plural(len(run), 'pipeline')} ({summary}): {plural(stats.get('captured_steps', 0), 'step')}, "
            f"{stats.get('executed', 0)} executed{memory_note}{untransferable} — results in stratum_results",
            file=notes,
        )

    def _show_results(self, run: RunResult, as_json: bool) -> None:
        """The JSON document alone on stdout, or each pipeline's output replayed."""
        if as_json:
            print(run.to_json(), flush=True)
        else:
            self._replay(run)

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

    def _cache_option(self, option: bool | str | None) -> bool | str | None:
        """``--cache DIR`` as given; bare ``--cache`` or none: the configured directory, else the
        default one (bare) or no persistent cache (none)."""
        if option is None or option is True:
            return self.cache or option
        return option

    def _explain(self) -> str:
        return self.batch.explain() if self.batch.pending or self.batch.results else "the batch is empty"

    def _show(self) -> None:
        """The graph widget where a frontend can draw it (a kernel); its text form in a terminal."""
        if getattr(self.shell, "kernel", None) is None:
            print(self._explain())
            return
        try:
            from .widget import show_graph
        except ImportError as error:
            print(f"%stratum show: the graph widget is unavailable ({error})\n{self._explain()}")
            return
        show_graph(self.batch)

    def _status(self) -> str:
        pending = ", ".join(p.name for p in self.batch.pending) or "none"
        counts: dict[str, int] = {}
        for result in self.batch.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        finished = ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"
        return f"pending pipelines: {pending}\nresults: {finished}"


# `%stratum?` shows this: every subcommand, and run's options from the parser that parses them.
StratumMagics.stratum_line.__doc__ = f"""Run and inspect the batch of cells captured with ``%%stratum`` (see ``%%stratum?``).

::

  {_RUN}
  %stratum show | explain | results | clear | status
  {_CACHE}

Subcommands:
  run      run every captured, not yet run pipeline as one batch; results are written back to the
           kernel namespace as if the cells had run one by one, and ``stratum_results[NAME]`` has
           each pipeline's status, namespace, error, output and time
  show     the batch graph: a live widget in a notebook, its text form in a terminal
  explain  pipelines, steps captured, unique steps after merging, and the shared steps
  results  the leaderboard, ``stratum_results.table()``
  clear    drop pending pipelines and results
  status   pending pipelines and the statuses of finished ones
  cache    ``info``: entries and size of the persistent step cache; ``clear``: remove every entry
           (``--dir DIR``, default: ``c.StratumMagics.cache``, else ``$STRATUM_CACHE_DIR/steps``
           or the user cache directory)

Options of run:
{RUN_PARSER.format_help().split("options:", 1)[1].rstrip()}

The defaults of run's options come from the IPython configuration, e.g. ``ipython_config.py``::

  c.StratumMagics.jobs = 4          # --jobs
  c.StratumMagics.timeout = 600     # --timeout
  c.StratumMagics.memory = "8GB"    # --memory
  c.StratumMagics.backend = "{DEFAULT_BACKEND}"  # --backend
  c.StratumMagics.scheduler = "tcp://10.0.0.5:8786"  # --scheduler
  c.StratumMagics.cache = "~/stratum-cache"  # --cache

With ``--json`` the pipelines' printed output is not replayed: stdout carries only the JSON
document (also ``stratum_results.to_json()``; format in the README, "JSON for agents"), and the
summary line and the smoke report go to stderr. With ``--smoke ROWS`` the smoke report is
printed as soon as the smoke run ends, before the full run; statuses come from the full run.

Misuse (unknown subcommand or option, a bad value, running an empty batch) raises UsageError.
"""
