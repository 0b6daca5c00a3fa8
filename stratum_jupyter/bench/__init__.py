"""``stratum bench``: the benchmark suite (DESIGN.md §4).

Workloads come from seeded generators (:mod:`.generators`); each mode (:mod:`.modes`) runs them
in fresh child processes (:mod:`.child`), repeated, modes interleaved per repetition; every
mode's per-script results are checked against the reference mode (:mod:`.fidelity`); the
report (:mod:`.report`) is a JSON file and a Markdown table. A mode may apply to some workloads
only (mode (f), after main-thread OpenMP use, runs on ``aide``; the ``agent-rounds`` workload
runs its rounds (:mod:`.rounds`) in modes (b)-(d) and is reported per round). Exit code 0 when
every mode ran
and matched, 1 on a mismatch or a failed mode, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from .generators import WORKLOADS, generate
from .modes import MODES, ModeError, ModeRun, engine_missing, run_mode
from .fidelity import compare_modes
from .report import WorkloadOutcome, build_report, to_markdown
from .rounds import record_names

__all__ = ["add_arguments", "run_from_args", "main"]

DEFAULTS = {"rows": 200_000, "scripts": 60, "reps": 3}
QUICK = {"rows": 2_000, "scripts": 4, "reps": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``stratum bench`` flags to ``parser``."""
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes (rows={QUICK['rows']}, scripts={QUICK['scripts']}, "
                             f"reps={QUICK['reps']}); explicit flags still win")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the JSON report here")
    parser.add_argument("--rows", type=int, metavar="N",
                        help=f"rows of the agent-session table (default {DEFAULTS['rows']}); "
                             "text uses N/20 documents, grid and aide N/10 rows")
    parser.add_argument("--scripts", type=int, metavar="N",
                        help=f"agent-session scripts (default {DEFAULTS['scripts']}); "
                             "text uses N/5, grid N/10, aide N/5 (at least 3, 2 and 4)")
    parser.add_argument("--reps", type=int, metavar="N",
                        help=f"timed repetitions per mode, the median is reported (default "
                             f"{DEFAULTS['reps']}); each mode also runs once more first, untimed, "
                             f"recording results for the fidelity check and peak memory")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--modes", default=None,
                        help=f"comma-separated subset of {','.join(MODES)} (default: all; "
                             "d-f and dask-distributed are skipped with a warning when the engine is not built; "
                             "f runs on aide only)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")


def _split(value: str, allowed, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown or not items:
        raise ValueError(f"unknown {what} {unknown or value!r}; expected a comma-separated "
                         f"subset of {','.join(allowed)}")
    return list(dict.fromkeys(items))


def _reference(modes: list[str]) -> str:
    return "b" if "b" in modes else modes[0]


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; return the exit code."""
    base = QUICK if args.quick else DEFAULTS
    rows = args.rows if args.rows is not None else base["rows"]
    n_scripts = args.scripts if args.scripts is not None else base["scripts"]
    reps = args.reps if args.reps is not None else base["reps"]
    try:
        workloads = _split(args.workloads, WORKLOADS, "workload")
        modes = _split(args.modes, list(MODES), "mode") if args.modes else list(MODES)
        if rows < 1 or n_scripts < 1 or reps < 1:
            raise ValueError("--rows, --scripts and --reps must be positive")
    except ValueError as exc:
        print(f"stratum bench: error: {exc}", file=sys.stderr)
        return 2
    skipped: dict[str, str] = {}
    if any(MODES[m].needs_engine for m in modes):
        reason = engine_missing()
        if reason is not None:
            if args.modes:  # asked for explicitly: a clear error
                print(f"stratum bench: error: modes d-f and dask-distributed need the engine: {reason}",
                      file=sys.stderr)
                return 2
            skipped = {m: reason for m in modes if MODES[m].needs_engine}
            modes = [m for m in modes if m not in skipped]
            _log(f"skipping modes {','.join(skipped)}: {reason}")
    reference = _reference(modes)
    settings = {"quick": bool(args.quick), "rows": rows, "scripts": n_scripts, "reps": reps,
                "seed": args.seed, "workloads": workloads, "modes": modes,
                "reference": reference, "skipped_modes": skipped}

    outcomes: list[WorkloadOutcome] = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stratum_bench_") as tmp:
        root = Path(tmp)
        for name in workloads:
            own = [m for m in modes if MODES[m].applies_to(name)]
            if not own:
                _log(f"{name}: skipped, none of the modes {','.join(modes)} applies to it")
                continue
            outcomes.append(_run_workload(name, rows, n_scripts, args.seed, own, reps,
                                          _reference(own), root / name))
    report = build_report(settings=settings, outcomes=outcomes)
    report["total_seconds"] = round(time.perf_counter() - t_start, 2)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        _log(f"wrote {args.json}")
    print(to_markdown(report))
    return 0 if report["verdict"] == "ok" else 1


def _run_workload(name: str, rows: int, n_scripts: int, seed: int, modes: list[str],
                  reps: int, reference: str, root: Path) -> WorkloadOutcome:
    """Generate one workload, run every mode ``reps`` times (interleaved), check fidelity."""
    workload = generate(name, rows=rows, scripts=n_scripts, seed=seed)
    data_dir = root / "data"
    workload.write(data_dir)
    _log(f"{name}: {len(workload.scripts)} scripts, {workload.rows} rows")
    runs: dict[str, list] = {m: [] for m in modes}
    recorded: dict[str, ModeRun] = {}
    errors: dict[str, str] = {}
    captures = {m: root / "captures" / m for m in modes}
    # Rep 0 records every script's namespace (fidelity) and samples memory, untimed: sampling
    # PSS costs CPU, more with more processes, and would bias the times against the workers.
    for rep in range(reps + 1):
        for mode in modes:
            if mode in errors:
                continue
            try:
                run = run_mode(mode, workload, data_dir, scratch=root / "scratch" / f"{mode}_{rep}",
                               capture=captures[mode] if rep == 0 else None)
            except ModeError as exc:
                errors[mode] = str(exc)
                lines = str(exc).strip().splitlines()
                _log(f"{name} ({mode}) rep {rep}: ERROR {lines[0]} ... {lines[-1]}")
                continue
            if rep == 0:
                recorded[mode] = run
                _log(f"{name} ({mode}) records and memory: peak PSS {run.peak_pss_kb / 1024:.0f} MB")
            else:
                runs[mode].append(run)
                _log(f"{name} ({mode}) rep {rep}: {run.seconds:.2f} s")
    compared = {m: d for m, d in captures.items() if m not in errors}
    names = record_names(workload) if workload.rounds else [s.name for s in workload.scripts]
    fidelity = compare_modes(compared, names, reference)
    if fidelity["verdict"] == "mismatch":
        _log(f"{name}: fidelity MISMATCH: {fidelity['mismatches'][0]}")
    rounds = {r.label: {"scripts": len(r.scripts), "fresh_process": r.fresh_process,
                        "fidelity": compare_modes(compared, [r.record_name(s) for s in r.scripts],
                                                  reference)}
              for r in workload.rounds}
    return WorkloadOutcome(name=name, rows=workload.rows, script_names=names, runs=runs,
                           recorded=recorded, fidelity=fidelity, errors=errors, info=workload.info,
                           pin_threads=workload.pin_threads, rounds=rounds)


def main(argv: list[str] | None = None) -> int:
    """``python -m stratum_jupyter.bench [flags]``."""
    parser = argparse.ArgumentParser(prog="stratum bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
