"""Check the "batch = sequential" contract on real scripts.

``run_plain`` is the reference: a script executed statement by statement in a fresh
``__main__`` namespace, as ``python script.py`` would, but in this process.
``verify_scripts`` runs scripts that way one after another, then all of them as one
batch through the engine, and reports per script whether everything observable
(status, the error raised, the names bound, printed output) is identical.
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import random
import shutil
import traceback
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import process_state
from .capture import future_flags
from .compare import first_difference
from .errors import is_clean_exit
from .runtime import script_argv, script_namespace, script_sys_path

__all__ = ["PlainResult", "VerifyRow", "run_plain", "plain_results", "verify_scripts", "format_rows", "SCRATCH_DIR"]

SCRATCH_DIR = ".stratum_tmp"
"""The only folder corpus scripts write to; cleared before each run so both start alike."""

_HIDDEN_NAMES = frozenset({"__builtins__", "__name__", "__file__"})


@dataclass
class PlainResult:
    """What plain sequential execution of one script produced."""

    status: str  # "ok" | "failed"
    namespace: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""
    error: str | None = None


@dataclass
class VerifyRow:
    """The verdict for one script: batch result vs plain execution."""

    name: str
    verdict: str  # "identical" | "mismatch"
    detail: str | None = None


# --------------------------------------------------------------------------- plain execution


def run_plain(code: str, name: str, script: str | None = None) -> PlainResult:
    """Execute ``code`` top-level statement by statement in a fresh ``__main__`` namespace
    (with ``__file__``, as ``python SCRIPT`` sets it, when ``script`` names its file).

    Output printed to stdout is captured. On an exception execution stops and the
    names bound so far are kept (status "failed"); the error is the traceback with
    the script's own line numbers (its file: ``script``'s absolute path, else ``name``). The process settings it changes
    (warnings filters, pandas options, scikit-learn's configuration, …) are put back after, so
    the next script starts from the same ones, as a new ``python`` process would.
    """
    namespace: dict[str, Any] = script_namespace(script)
    out = io.StringIO()
    filename = namespace.get("__file__", name)  # python SCRIPT compiles it as its absolute path
    _register_source(code, filename)
    try:
        module = ast.parse(code, filename=filename)
    except SyntaxError as exc:
        return PlainResult("failed", {}, "", _format_error(exc))
    flags = 0
    with process_state.restored(), contextlib.redirect_stdout(out), _as_run(script):
        for stmt in module.body:
            try:
                unit = compile(ast.Module(body=[stmt], type_ignores=[]), filename, "exec", flags=flags,
                               dont_inherit=True)
                flags |= future_flags(stmt)
                exec(unit, namespace)
            except (Exception, SystemExit) as exc:
                if script is not None and is_clean_exit(exc):  # python SCRIPT exits with status 0
                    return PlainResult("ok", _bound_names(namespace), out.getvalue(), None)
                return PlainResult("failed", _bound_names(namespace), out.getvalue(), _format_error(exc))
    return PlainResult("ok", _bound_names(namespace), out.getvalue(), None)


@contextlib.contextmanager
def _as_run(script: str | None) -> Iterator[None]:
    """``sys.argv`` and ``sys.path`` as ``python SCRIPT`` sets them, for the script's run."""
    saved = sys.argv, sys.path
    sys.argv, sys.path = script_argv(script), script_sys_path(script)
    try:
        yield
    finally:
        sys.argv, sys.path = saved


def _register_source(code: str, name: str) -> None:
    """Let tracebacks and ``inspect.getsource`` show the script's lines."""
    lines = code.splitlines(keepends=True)
    linecache.cache[name] = (len(code), None, lines, name)


def _bound_names(namespace: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in namespace.items() if k not in _HIDDEN_NAMES}


def _format_error(exc: BaseException) -> str:
    """The traceback without this module's own frames."""
    te = traceback.TracebackException.from_exception(exc)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename != __file__])
    return "".join(te.format())


# --------------------------------------------------------------------------- verification


def verify_scripts(
    paths: list[str], jobs: int | None = None, memory: str | int | None = None, backend: str | None = None,
    expected: dict[str, PlainResult] | None = None,
) -> list[VerifyRow]:
    """Run ``paths`` plainly one after another, then as one batch; compare per script.

    Each script's name is as :func:`read_scripts` gives it.
    The working directory is left as it is; ``.stratum_tmp`` is deleted before each of
    the two runs and the global random generators are reset to the same state, so both
    runs start alike. Names a worker could not send back (``untransferable``) are not compared:
    the row's detail lists them. ``expected``: plain results from an earlier call of
    :func:`plain_results` on the same paths, to compare several batch runs with one reference.
    """
    scripts = read_scripts(paths)
    rng_state = _rng_state()
    if expected is None:
        expected = plain_results(paths)

    _clear_scratch()
    _restore_rng_state(rng_state)
    try:
        actual = _run_batch(scripts, jobs, memory, backend)
    except Exception as exc:  # the engine failed as a whole: every script is a mismatch
        reason = f"batch run raised {type(exc).__name__}: {_one_line(str(exc))}"
        return [VerifyRow(name, "mismatch", reason) for name, _, _ in scripts]

    rows = []
    for name, _, _ in scripts:
        detail = _compare_one(expected[name], actual, name)
        untransferable = getattr(actual.get(name), "untransferable", None)
        note = f"untransferable: {', '.join(untransferable)}" if detail is None and untransferable else detail
        rows.append(VerifyRow(name, "identical" if detail is None else "mismatch", note))
    return rows


def plain_results(paths: list[str]) -> dict[str, PlainResult]:
    """Each script run plainly, one after another from a clean scratch folder (the reference
    :func:`verify_scripts` compares with); the global random generators are left as they were."""
    rng_state = _rng_state()
    _clear_scratch()
    results = {}
    for name, code, path in read_scripts(paths):
        results[name] = run_plain(code, name, path)
    _restore_rng_state(rng_state)
    return results


def read_scripts(paths: list[str]) -> list[tuple[str, str, str]]:
    """(name, code, path) of each script: the name is the file stem as an identifier (a pipeline
    name; ``my-script.py`` → ``_my_script``), with a suffix when stems repeat (``x``, ``x_2``).
    FileNotFoundError (``no such script: PATH``) when one is missing."""
    scripts: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise FileNotFoundError(f"no such script: {path}")
        stem = file.stem if file.stem.isidentifier() else "_" + "".join(c if c.isalnum() else "_" for c in file.stem)
        name, n = stem, 2
        while name in seen:
            name, n = f"{stem}_{n}", n + 1
        seen.add(name)
        scripts.append((name, file.read_text(encoding="utf-8"), path))
    return scripts


def _run_batch(scripts: list[tuple[str, str, str]], jobs: int | None, memory: str | int | None, backend: str | None) -> Any:
    from stratum_jupyter import Batch  # the engine; imported late so this module works without it

    batch = Batch()
    for name, code, path in scripts:
        batch.add(code, name=name, isolated=True, script=path)
    return batch.run(jobs=jobs, memory=memory, **({"backend": backend} if backend else {}))


def _compare_one(plain: PlainResult, batch: Any, name: str) -> str | None:
    """None if the batch result for ``name`` matches the plain one, else why not."""
    try:
        got = batch[name]
    except Exception:
        return "missing from the batch result"
    status = getattr(got, "status", None)
    if status != plain.status:
        why = _last_line(getattr(got, "error", None)) or _last_line(plain.error)
        return f"status: {plain.status} != {status}" + (f" ({why})" if why else "")
    if plain.status == "failed" and _last_line(plain.error) != _last_line(getattr(got, "error", None)):
        return f"error: {_last_line(plain.error)!r} != {_last_line(getattr(got, 'error', None))!r}"
    untransferable = set(getattr(got, "untransferable", None) or ())
    expected = {n: v for n, v in plain.namespace.items() if n not in untransferable}
    difference = first_difference(expected, dict(getattr(got, "namespace", None) or {}))
    if difference is not None:
        return difference
    stdout = getattr(got, "stdout", None) or ""
    if stdout != plain.stdout:
        return "stdout: " + _first_line_difference(plain.stdout, stdout)
    return None


def _last_line(text: str | None) -> str:
    """The exception line of a traceback ("KeyError: 'x'")."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _first_line_difference(expected: str, actual: str) -> str:
    exp_lines, act_lines = expected.splitlines(), actual.splitlines()
    for i, (e, a) in enumerate(zip(exp_lines, act_lines), start=1):
        if e != a:
            return f"line {i}: {_one_line(e)!r} != {_one_line(a)!r}"
    if len(exp_lines) != len(act_lines):
        return f"{len(exp_lines)} lines != {len(act_lines)} lines"
    return "differs in whitespace or line endings"


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clear_scratch() -> None:
    shutil.rmtree(SCRATCH_DIR, ignore_errors=True)


def _rng_state() -> tuple[Any, Any]:
    import numpy as np

    return random.getstate(), np.random.get_state()


def _restore_rng_state(state: tuple[Any, Any]) -> None:
    import numpy as np

    random.setstate(state[0])
    np.random.set_state(state[1])


# --------------------------------------------------------------------------- report


def format_rows(rows: list[VerifyRow]) -> str:
    """A small text table (name, verdict, detail) and a one-line summary."""
    header = ("script", "verdict", "detail")
    body = [(r.name, r.verdict, r.detail or "") for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in [header, *body]]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 6}")
    mismatches = sum(r.verdict != "identical" for r in rows)
    lines.append(f"{len(rows) - mismatches} identical, {mismatches} mismatch")
    return "\n".join(lines)
