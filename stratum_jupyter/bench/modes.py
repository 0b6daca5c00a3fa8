"""How each benchmark mode runs a workload's scripts.

Every mode runs in fresh child processes (``child.py``), so imports and caches never leak
between modes. Modes (b)-(f) pay one interpreter start and one set of imports per run, which
is the point of comparing them with (a). The parent samples each child's process tree for peak
PSS (``pss.py``) while it runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .generators import CACHE_ENV, Workload
from .pss import PeakPss

CHILD = Path(__file__).with_name("child.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Per child process; a hung mode fails the benchmark instead of hanging it.
CHILD_TIMEOUT = 4 * 3600
#: Thread pools pinned to one thread, like ``n_jobs=1`` for OpenMP/BLAS (HistGradientBoosting,
#: numpy): parallelism comes from the mode, not from inside one fit. Kept if already set.
#: Applied per workload (``Workload.pin_threads``): the scikit-learn workloads were written
#: with ``n_jobs=1`` in mind, while ``aide`` runs with the libraries' default thread pools
#: (every core), as agents run LightGBM/XGBoost, because sharing the cores between concurrent
#: steps is the runtime's job (DESIGN.md §3) and pinning here would hide exactly that.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Worker processes of the dask-distributed mode's LocalCluster (one thread each): the cores.
CLUSTER_WORKERS = 2


@dataclass(frozen=True)
class Mode:
    """One way of running a batch of scripts."""

    key: str
    title: str
    description: str
    needs_engine: bool = False
    #: Workloads this mode applies to (None: all but ``excluded``).
    workloads: tuple[str, ...] | None = None
    excluded: tuple[str, ...] = ()

    def applies_to(self, workload: str) -> bool:
        return (self.workloads is None or workload in self.workloads) and workload not in self.excluded


MODES: dict[str, Mode] = {m.key: m for m in (
    Mode("a", "process per script",
         "one `python` process per script, one after another (what agents do today); "
         "the script runs through child.py, which also records its namespace",
         excluded=("agent-rounds",)),
    Mode("b", "one warm process",
         "all scripts in one process, one after another, each in a fresh namespace"),
    Mode("c", "warm + sklearn memory",
         "as (b), with `Pipeline(memory=joblib.Memory(tmpdir))` in scripts that build a "
         "Pipeline (scikit-learn's own caching)"),
    Mode("d", "%%stratum, default jobs",
         "every script captured with `%%stratum --isolated`, then `%stratum run` "
         "(agent-rounds: `%stratum run --cache DIR` per round)", True),
    Mode("e", "%%stratum --jobs 1",
         "as (d), with one job (`c.StratumMagics.jobs = 1`, so workers warm up for it)", True,
         excluded=("agent-rounds",)),
    Mode("f", "%%stratum after main-thread OpenMP",
         "as (d), in a kernel that first fitted small LightGBM, XGBoost and "
         "HistGradientBoosting models on its main thread (GNU OpenMP then slows fits on other "
         "threads); that warm-up is not timed", True, workloads=("aide",)),
    Mode("dask-distributed", "%%stratum --backend dask on a 2-worker LocalCluster",
         "as (d), with a `distributed.Client` of a `LocalCluster` of 2 single-threaded worker "
         "processes connected in the kernel (started before the batch, not timed) and "
         "`%stratum run --backend dask`: every step a task on the cluster", True,
         workloads=("agent-session",)),
)}


class ModeError(RuntimeError):
    """A mode's child process failed (not a script: the harness or the engine)."""


@dataclass
class ModeRun:
    """One timed run of one mode over one workload."""

    wall_seconds: float
    capture_seconds: float = 0.0
    setup_seconds: float = 0.0
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    #: Per round of a rounds workload: label, seconds, statuses, steps (step counts or None).
    rounds: list[dict] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall time minus the time spent pickling namespaces for the fidelity check and the
        untimed set-up of mode (f); for a rounds workload, the sum of its rounds' seconds."""
        if self.rounds:
            return sum(r["seconds"] for r in self.rounds)
        return max(self.wall_seconds - self.capture_seconds - self.setup_seconds, 0.0)


def engine_missing() -> str | None:
    """Why modes (d)/(e) cannot run here, or None when ``stratum_jupyter._native`` is importable."""
    try:
        found = importlib.util.find_spec("stratum_jupyter._native") is not None
    except Exception as exc:  # the package itself fails to import
        return f"importing stratum_jupyter failed: {exc!r}"
    if not found:
        return ("stratum_jupyter._native is not built; build the Rust extension first "
                "(`make setup`, or `maturin develop --release` in the project root)")
    return None


def child_env(mode: str, cache_dir: Path | None = None, *,
              pin_threads: bool = True) -> dict[str, str]:
    """Environment of a mode's child processes (``pin_threads``: apply THREAD_ENV)."""
    env = dict(os.environ)
    if pin_threads:
        for key, value in THREAD_ENV.items():
            env.setdefault(key, value)
    if cache_dir is not None:
        env[CACHE_ENV] = str(cache_dir)
    if MODES[mode].needs_engine:  # the engine must import even when not pip-installed
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _child(args: list[str], *, cwd: Path, env: dict[str, str], meta: Path, log: Path,
           sample_memory: bool) -> dict:
    """Run ``child.py args`` and return its JSON summary plus ``peak_pss_kb`` of its process
    tree (0 unless ``sample_memory``); raise ModeError if it failed."""
    cmd = [sys.executable, str(CHILD), *args, "--meta", str(meta)]
    with open(log.with_suffix(".out"), "ab") as out, open(log.with_suffix(".err"), "ab") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        with PeakPss(proc.pid) if sample_memory else contextlib.nullcontext() as peak:
            try:
                proc.wait(timeout=CHILD_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                raise ModeError(f"child timed out after {CHILD_TIMEOUT} s: {cmd}") from exc
    if proc.returncode != 0 or not meta.exists():
        tail = log.with_suffix(".err").read_text(errors="replace")[-2000:]
        raise ModeError(f"child exited with {proc.returncode}: {' '.join(cmd)}\n{tail}")
    return {**json.loads(meta.read_text()), "peak_pss_kb": peak.peak_kb if peak else 0}


def run_mode(mode: str, workload: Workload, workdir: Path, *, capture: Path | None,
             scratch: Path) -> ModeRun:
    """Run ``workload`` (written to ``workdir``) once in ``mode``.

    ``capture``: directory for the per-script records (namespaces) or None to skip them; a
    recording run also samples the peak PSS of its process tree (:class:`.pss.PeakPss`), which
    costs CPU (reading smaps walks page tables, more so with several worker processes): a
    timed run is never sampled.
    ``scratch``: a directory for logs, summaries and caches of this run.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if not MODES[mode].applies_to(workload.name):
        raise ValueError(f"mode {mode!r} does not apply to workload {workload.name!r}")
    scratch.mkdir(parents=True, exist_ok=True)
    out = ["--out", str(capture)] if capture is not None else []
    if capture is not None:
        capture.mkdir(parents=True, exist_ok=True)
    log = scratch / f"mode_{mode}"
    scripts = workload.script_paths(workdir, memory=(mode == "c"))
    cache_dir = Path(tempfile.mkdtemp(prefix="skcache_", dir=scratch)) if mode == "c" else None
    env = child_env(mode, cache_dir, pin_threads=workload.pin_threads)
    run = ModeRun(wall_seconds=0.0)
    try:
        if workload.rounds:
            _run_rounds(mode, workload, workdir, out, env, scratch, log, run)
        elif mode == "a":
            t0 = time.perf_counter()
            for i, script in enumerate(scripts):
                meta = _child(["exec", *out, str(script)], cwd=workdir, env=env,
                              meta=scratch / f"meta_a_{i}.json", log=log,
                              sample_memory=capture is not None)
                _merge(run, meta)
            run.wall_seconds = time.perf_counter() - t0
        else:
            how = ["exec"] if mode in ("b", "c") else ["magics"]
            if mode == "e":
                how += ["--jobs", "1"]
            if mode == "f":
                how += ["--warm-openmp"]
            if mode == "dask-distributed":
                how += ["--cluster", str(CLUSTER_WORKERS)]
            if workload.warm:
                how += ["--warm"]
            t0 = time.perf_counter()
            meta = _child([*how, *out, *map(str, scripts)], cwd=workdir, env=env,
                          meta=scratch / f"meta_{mode}.json", log=log,
                          sample_memory=capture is not None)
            run.wall_seconds = time.perf_counter() - t0
            if workload.warm and "run_seconds" in meta:  # from the first script on, in the child
                run.wall_seconds = float(meta["run_seconds"])
            _merge(run, meta)
    finally:
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
    return run


def _run_rounds(mode: str, workload: Workload, workdir: Path, out: list[str],
                env: dict[str, str], scratch: Path, log: Path, run: ModeRun) -> None:
    """A rounds workload: one child per process of its rounds (a fresh process is a restart),
    sharing one step cache directory (mode (d)) or sklearn memory directory (mode (c))."""
    from .rounds import processes

    how = ["exec"] if mode in ("b", "c") else ["magics", "--cache", str(scratch / "step-cache")]
    scripts = {p.stem: p for p in workload.script_paths(workdir, memory=(mode == "c"))}
    t0 = time.perf_counter()
    for i, group in enumerate(processes(workload)):
        plan = scratch / f"rounds_{i}.json"
        plan.write_text(json.dumps([{"label": r.label, "scripts": [str(scripts[s]) for s in r.scripts]}
                                    for r in group]))
        meta = _child([*how, *out, "--rounds", str(plan)], cwd=workdir, env=env,
                      meta=scratch / f"meta_{mode}_{i}.json", log=log, sample_memory=bool(out))
        _merge(run, meta)
        run.rounds.extend(meta["rounds"])
    run.wall_seconds = time.perf_counter() - t0


def _merge(run: ModeRun, meta: dict) -> None:
    run.capture_seconds += float(meta.get("capture_seconds", 0.0))
    run.setup_seconds += float(meta.get("setup_seconds", 0.0))
    run.peak_rss_kb = max(run.peak_rss_kb, int(meta.get("maxrss_kb", 0)))
    run.peak_pss_kb = max(run.peak_pss_kb, int(meta.get("peak_pss_kb", 0)))
    run.statuses.update(meta.get("statuses", {}))
