"""Child-process entry of the benchmark: run scripts, save statuses and final namespaces.

Run by path (``python .../child.py ...``), never as ``-m stratum_jupyter...``, so that modes (a)-(c)
import nothing beyond the standard library before the scripts do: the package ``__init__`` may
import the engine. Usage::

    child.py exec   --meta META [--out DIR] SCRIPT...       # modes (a) (one script), (b), (c)
    child.py magics --meta META [--out DIR] [--jobs N] [--warm-openmp] SCRIPT...  # (d)-(f)
    child.py exec|magics --warm ...   # a warm start: libraries (and workers) ready, untimed
    child.py exec|magics --meta META [--out DIR] --rounds PLAN [--cache DIR]  # agent-rounds
    child.py magics --cluster N ...   # dask-distributed: --backend dask on a LocalCluster of N

The working directory is the workload's data directory. Each script runs like
``python SCRIPT`` would (``__name__ == "__main__"``, fresh namespace, ``sys.argv[0]``), its
stdout captured. With ``--out`` every script's record (status, stdout, error, its namespace
filtered to picklable values, each pickled on its own) is pickled to ``DIR/NAME.pkl``; the time
spent capturing is reported so the parent can subtract it. ``META`` receives a JSON summary.
``--warm-openmp`` (mode (f)) first fits small LightGBM, XGBoost and HistGradientBoosting models
on the main thread, as a kernel that used them before the batch; its time is reported as
``setup_seconds``. ``--warm`` first imports the libraries the scripts import (``magics``: also
loads the extension and runs a throwaway batch importing them, so the worker processes are up
and warm), as in a kernel that already worked, and reports that time as ``setup_seconds`` too.
``--cluster N`` starts a LocalCluster of N worker processes with its client first (untimed, as
``setup_seconds``) and runs the batch with ``--backend dask`` on it (:func:`start_cluster`).
``run_seconds`` in META is the time from the set-up to the last result (with the set-up and the
time saving records, both reported apart): a ``--warm`` workload is timed by it, without the
interpreter's start and the workers' teardown at exit, which are no part of a warm kernel's run.
``--rounds`` runs rounds of scripts in this process (see :func:`run_rounds`)
and reports each round's seconds, statuses and, for ``magics``, the run's step counts.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import io
import json
import os
import pickle
import resource
import sys
import time
import traceback
import types
from pathlib import Path

BENCH_PREFIX = "_bench"  # names bound by the mode (c) cache header (see generators.py)
#: The step counts of a ``%stratum run`` reported per round (``RunResult.stats``).
STEP_COUNTS = ("captured_steps", "unique_steps", "executed", "cache_hits")


def _normalize(obj: object, seen: set[int], depth: int = 0) -> None:
    """Remove what legitimately differs between equal runs, in place, before comparison.

    ``Pipeline.memory`` (set only by the mode (c) variants) and the wall-clock timings that
    search estimators record (``cv_results_[*_time]``, ``refit_time_``).
    """
    if depth > 8 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _normalize(item, seen, depth + 1)
        return
    if isinstance(obj, dict):
        for item in obj.values():
            _normalize(item, seen, depth + 1)
        return
    if "sklearn" not in sys.modules:
        return
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    if not isinstance(obj, BaseEstimator):
        return
    if isinstance(obj, Pipeline):
        obj.memory = None
    results = getattr(obj, "cv_results_", None)
    if isinstance(results, dict):
        for key in [k for k in results if k.endswith("_time")]:
            del results[key]
    if hasattr(obj, "refit_time_"):
        obj.refit_time_ = 0.0
    for value in vars(obj).values():
        _normalize(value, seen, depth + 1)


def _picklable_namespace(ns: dict) -> tuple[dict[str, bytes], list[str]]:
    """Pickle each user-bound value of ``ns`` on its own; return (name -> bytes, dropped names)."""
    kept: dict[str, bytes] = {}
    dropped: list[str] = []
    seen: set[int] = set()
    for name, value in ns.items():
        if (name.startswith("__") and name.endswith("__")) or name.startswith(BENCH_PREFIX):
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType, type)):
            continue
        try:
            _normalize(value, seen)
            kept[name] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # unpicklable (locks, generators, ...): not compared
            dropped.append(name)
    return kept, dropped


def save_record(out: Path, name: str, status: str, ns: dict, stdout: str, error: str) -> float:
    """Write ``out/NAME.pkl``; return the seconds it took (excluded from the mode's time)."""
    t0 = time.perf_counter()
    values, dropped = _picklable_namespace(ns)
    record = {"name": name, "status": status, "stdout": stdout, "error": error,
              "values": values, "dropped": dropped}
    (out / f"{name}.pkl").write_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    return time.perf_counter() - t0


def run_script(path: Path) -> tuple[str, dict, str, str, float]:
    """Run one script like ``python path``: (status, namespace, stdout, error, seconds)."""
    code = path.read_text()
    ns: dict = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins}
    sys.argv = [str(path)]
    sys.path[0] = str(path.parent)
    buf = io.StringIO()
    status, error = "ok", ""
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(code, str(path), "exec"), ns)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            status, error = "failed", traceback.format_exc()
    except BaseException:  # noqa: BLE001 - a crashing script is data, not a harness error
        status, error = "failed", traceback.format_exc()
    return status, ns, buf.getvalue(), error, time.perf_counter() - t0


def run_exec(paths: list[Path], out: Path | None, names: list[str] | None = None) -> dict:
    """Modes (a)-(c): run scripts one after another in this process (``names``: their record
    names, default the file stems)."""
    summary: dict = {"statuses": {}, "script_seconds": {}, "capture_seconds": 0.0}
    for path, name in zip(paths, names or [p.stem for p in paths]):
        status, ns, stdout, error, secs = run_script(path)
        summary["statuses"][name] = status
        summary["script_seconds"][name] = secs
        if out is not None:
            summary["capture_seconds"] += save_record(out, name, status, ns, stdout, error)
        del ns
    return summary


def imported_modules(paths: list[Path]) -> list[str]:
    """Modules the scripts import (``import a.b``, ``from a.b import c``), in first-seen order."""
    import ast

    found: dict[str, None] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found[node.module] = None
    return list(found)


def warm_start(how: str, paths: list[Path], jobs: int | None) -> None:
    """Import what the scripts import; for ``magics`` also run a throwaway batch of one
    candidate per job importing it (worker processes started and warm), then forget it."""
    import importlib

    modules = imported_modules(paths)
    for name in modules:
        importlib.import_module(name)
    if how != "magics":
        return
    shell, cell = _stratum_shell(jobs)
    cell("%load_ext stratum_jupyter")
    imports = "\n".join(f"import {m}" for m in modules)
    for i in range(jobs or os.cpu_count() or 1):  # distinct sleeps: not merged into one worker
        cell(f"%%stratum --isolated -n _warm_{i}\n{imports}\nimport time\ntime.sleep(0.5 + {i} / 1000)")
    cell("%stratum run")
    cell("%stratum clear")


def warm_openmp() -> list[str]:
    """Fit small models of every installed OpenMP library on this (the main) thread, with the
    libraries' default thread counts; return the libraries used."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 10))
    y = X[:, 0] + rng.normal(scale=0.1, size=2000)
    used = []
    from sklearn.ensemble import HistGradientBoostingRegressor

    HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    used.append("sklearn")
    try:
        import lightgbm
        lightgbm.LGBMRegressor(n_estimators=20, verbose=-1, random_state=0).fit(X, y)
        used.append("lightgbm")
    except ImportError:
        pass
    try:
        import xgboost
        xgboost.XGBRegressor(n_estimators=20, tree_method="hist", random_state=0).fit(X, y)
        used.append("xgboost")
    except ImportError:
        pass
    return used


def _stratum_shell(jobs: int | None):
    """An IPython shell as a kernel has it (history off; ``jobs`` configured, as a user who
    always runs with N jobs would: workers warm up for N) and its cell runner, which raises on
    a failing cell."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.enabled = False
    if jobs:
        cfg.StratumMagics.jobs = jobs
    shell = InteractiveShell.instance(config=cfg)

    def cell(text: str) -> None:
        res = shell.run_cell(text, store_history=False)
        err = res.error_before_exec or res.error_in_exec
        if err is not None:
            raise RuntimeError(f"cell failed: {text.splitlines()[0]!r}: {err!r}") from err

    return shell, cell


def _stratum_batch(shell, cell, named: list[tuple[str, Path]], out: Path | None,
                   run_options: str = "") -> dict:
    """Capture each (name, script) with ``%%stratum --isolated``, run them with one
    ``%stratum run``, save their records; the summary of the run."""
    for name, path in named:
        cell(f"%%stratum --isolated -n {name}\n{path.read_text()}")
    cell(f"%stratum run {run_options}".rstrip())
    results = shell.user_ns["stratum_results"]
    summary: dict = {"statuses": {}, "script_seconds": {}, "capture_seconds": 0.0,
                     "steps": {k: results.stats.get(k) for k in STEP_COUNTS}}
    for name, _ in named:
        res = results[name]
        summary["statuses"][name] = str(res.status)
        summary["script_seconds"][name] = float(res.seconds or 0.0)
        if out is not None:
            summary["capture_seconds"] += save_record(
                out, name, str(res.status), dict(res.namespace or {}),
                str(res.stdout or ""), str(getattr(res, "error", "") or getattr(res, "cause", "") or ""))
    return summary


def run_magics(paths: list[Path], jobs: int | None, out: Path | None, run_options: str = "") -> dict:
    """Modes (d)-(f) and dask-distributed: capture every script with ``%%stratum --isolated``,
    then ``%stratum run`` (with ``run_options``)."""
    shell, cell = _stratum_shell(jobs)
    cell("%load_ext stratum_jupyter")
    return _stratum_batch(shell, cell, [(p.stem, p) for p in paths], out, run_options)


def start_cluster(workers: int):
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes and its
    client, the kernel's default one (what ``--backend dask`` finds), with the libraries the
    scripts use imported on the workers, as on a cluster that served earlier work."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    client.run(lambda: [__import__(m) for m in ("numpy", "pandas", "sklearn.ensemble")])
    return cluster, client


def run_rounds(how: str, rounds: list[dict], out: Path | None, jobs: int | None,
               cache: Path | None) -> dict:
    """Rounds of an agent's search in this process, one after another: ``exec`` runs each
    round's scripts one by one, ``magics`` captures them and runs them as one batch with
    ``--cache DIR``. A round's seconds run from its first statement (``%load_ext`` for the first
    round of a process: a restarted kernel loads the extension again) to its last result, minus
    the time spent saving records; records are named ``ROUND_SCRIPT``."""
    shell = cell = None
    if how == "magics":
        shell, cell = _stratum_shell(jobs)
    summary: dict = {"statuses": {}, "script_seconds": {}, "capture_seconds": 0.0, "rounds": []}
    for number, spec in enumerate(rounds):
        named = [(f"{spec['label']}_{Path(p).stem}", Path(p)) for p in spec["scripts"]]
        t0 = time.perf_counter()
        if how == "exec":
            part = run_exec([p for _, p in named], out, names=[n for n, _ in named])
        else:
            if number == 0:
                cell("%load_ext stratum_jupyter")
            part = _stratum_batch(shell, cell, named, out, f"--cache {cache}" if cache else "")
        seconds = time.perf_counter() - t0 - part["capture_seconds"]
        summary["rounds"].append({"label": spec["label"], "seconds": seconds,
                                  "statuses": part["statuses"], "steps": part.get("steps")})
        for key in ("statuses", "script_seconds"):
            summary[key].update(part[key])
        summary["capture_seconds"] += part["capture_seconds"]
    return summary


def peak_rss_kb() -> int:
    """This process's own peak resident memory in KiB.

    Not ru_maxrss on Linux: it survives exec, so a process spawned (vfork + exec) by a large
    parent reports the parent's peak. VmHWM belongs to the process's own address space."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="child.py")
    parser.add_argument("how", choices=["exec", "magics"])
    parser.add_argument("scripts", nargs="*", type=Path)
    parser.add_argument("--meta", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--warm-openmp", action="store_true")
    parser.add_argument("--warm", action="store_true", help="libraries and workers ready, untimed")
    parser.add_argument("--rounds", type=Path, help="JSON list of {label, scripts}: run rounds")
    parser.add_argument("--cache", type=Path, help="the step cache directory of --rounds magics")
    parser.add_argument("--cluster", type=int, metavar="N", help="magics on a LocalCluster of N workers")
    args = parser.parse_intermixed_args(argv)  # SCRIPT... may follow options (nargs="*")
    paths = [p.resolve() for p in args.scripts]
    setup: dict = {}
    started = time.perf_counter()  # run_seconds: set-up (subtracted as setup_seconds) and scripts
    if args.warm_openmp:
        t0 = time.perf_counter()
        setup["warmed"] = warm_openmp()
        setup["setup_seconds"] = time.perf_counter() - t0
    if args.warm:
        t0 = time.perf_counter()
        warm_start(args.how, paths, args.jobs)
        setup["setup_seconds"] = setup.get("setup_seconds", 0.0) + time.perf_counter() - t0
    if args.cluster:
        t0 = time.perf_counter()
        setup["cluster"] = start_cluster(args.cluster)  # kept alive for the run, closed at exit
        setup["setup_seconds"] = setup.get("setup_seconds", 0.0) + time.perf_counter() - t0
    if args.rounds is not None:
        summary = run_rounds(args.how, json.loads(args.rounds.read_text()), args.out, args.jobs,
                             args.cache)
    elif args.how == "exec":
        summary = run_exec(paths, args.out)
    else:
        summary = run_magics(paths, args.jobs, args.out, "--backend dask" if args.cluster else "")
    cluster = setup.pop("cluster", None)
    summary["run_seconds"] = time.perf_counter() - started
    summary.update(setup)
    summary["maxrss_kb"] = peak_rss_kb()
    args.meta.write_text(json.dumps(summary))
    if cluster is not None:
        cluster[1].close()
        cluster[0].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
