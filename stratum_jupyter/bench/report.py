"""Benchmark report: a JSON document and a Markdown table.

JSON layout (``schema: "stratum-bench/1"``)::

    created, machine{cores_logical, cores_physical, cores_available, platform, python,
                     versions{...}, thread_env{...}},
    settings{quick, rows, scripts, reps, seed, workloads, modes},
    modes{KEY: {title, description}},
    workloads{NAME: {
        rows, scripts, script_names, info, thread_env{...} ({} = the libraries' defaults),
        modes{KEY: {seconds[], wall_seconds[], capture_seconds[], setup_seconds[], median,
                    peak_rss_mb, peak_pss_mb, statuses{status: count}, error}},
        medians{KEY: seconds},
        ratios{vs_a{KEY: x}, vs_b{KEY: x}},   # x = median(a or b) / median(KEY): times faster
        fidelity{reference, comparator, verdict, modes{KEY: verdict}, mismatches[]},
        rounds{LABEL: {scripts, fresh_process, fidelity{...},   # agent-rounds only
                       modes{KEY: {seconds[], median, statuses{}, steps{captured_steps,
                                   unique_steps, executed[], cache_hits[]} or null}},
                       ratios{vs_b{KEY: x}}}}}},
    verdict: "ok" | "mismatch" | "error"

``seconds`` are wall seconds of the mode's child process(es) minus the time they spent
pickling namespaces for the fidelity check (and, in mode (f), warming up OpenMP). A workload
lists only the modes that apply to it. ``peak_rss_mb``: the largest VmHWM of a child process
(its own address space only); ``peak_pss_mb``: the largest PSS summed over a child and all its
descendants (worker processes), sampled every 50 ms, so shared pages count once — in an extra,
untimed first run per mode that also records the namespaces for the fidelity check, since
sampling costs CPU (more with more processes) and would bias the timed runs. A rounds
workload's ``seconds`` are the sums of its rounds' seconds, each timed inside its child process
(see ``child.run_rounds``); ``steps`` are the ``%stratum run``'s counts per repetition (null for
modes that run scripts plainly: they execute every step).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .modes import MODES, THREAD_ENV, ModeRun

SCHEMA = "stratum-bench/1"


@dataclass
class WorkloadOutcome:
    """Everything measured for one workload."""

    name: str
    rows: int
    script_names: list[str]
    runs: dict[str, list[ModeRun]]                     # mode -> one timed run per repetition
    recorded: dict[str, ModeRun]                       # mode -> the untimed run: records, memory
    fidelity: dict
    errors: dict[str, str] = field(default_factory=dict)  # mode -> harness/engine error
    info: dict = field(default_factory=dict)
    pin_threads: bool = True                           # THREAD_ENV applied to its children
    rounds: dict[str, dict] = field(default_factory=dict)  # label -> scripts, fresh_process, fidelity


def machine_info() -> dict:
    """Cores, platform and library versions of this machine."""
    try:
        import psutil
        physical = psutil.cpu_count(logical=False)
    except Exception:
        physical = None
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count()
    versions = {}
    for mod in ("numpy", "pandas", "sklearn", "joblib", "IPython"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = None
    return {"cores_logical": os.cpu_count(), "cores_physical": physical,
            "cores_available": available, "platform": platform.platform(),
            "python": sys.version.split()[0], "versions": versions,
            "thread_env": {k: os.environ.get(k, v) for k, v in THREAD_ENV.items()}}


def _ratio(base: float | None, value: float | None) -> float | None:
    if base is None or value is None or value <= 0:
        return None
    return round(base / value, 3)


def _peak_mb(runs: list[ModeRun], attr: str) -> float | None:
    return round(max(getattr(r, attr) for r in runs) / 1024, 1) if runs else None


def workload_entry(outcome: WorkloadOutcome, modes: list[str]) -> dict:
    """The report entry of one workload: per-mode timings, medians, ratios, fidelity."""
    modes = [m for m in modes if m in outcome.runs]
    entries: dict[str, dict] = {}
    medians: dict[str, float | None] = {}
    for mode in modes:
        runs = outcome.runs.get(mode, [])
        secs = [round(r.seconds, 4) for r in runs]
        median = round(statistics.median(secs), 4) if secs else None
        memory = [outcome.recorded[mode]] if mode in outcome.recorded else []
        counts: dict[str, int] = {}
        for status in ((memory or runs)[0].statuses.values() if memory or runs else []):
            counts[status] = counts.get(status, 0) + 1
        entries[mode] = {
            "seconds": secs,
            "wall_seconds": [round(r.wall_seconds, 4) for r in runs],
            "capture_seconds": [round(r.capture_seconds, 4) for r in runs],
            "setup_seconds": [round(r.setup_seconds, 4) for r in runs],
            "median": median,
            "peak_rss_mb": _peak_mb(memory + runs, "peak_rss_kb"),
            "peak_pss_mb": _peak_mb(memory, "peak_pss_kb"),
            "statuses": counts,
            "error": outcome.errors.get(mode),
        }
        medians[mode] = median
    ratios = {f"vs_{base}": {m: _ratio(medians.get(base), medians[m]) for m in modes}
              for base in ("a", "b")}
    entry = {"rows": outcome.rows, "scripts": len(outcome.script_names),
             "script_names": outcome.script_names, "info": outcome.info,
             "thread_env": dict(THREAD_ENV) if outcome.pin_threads else {}, "modes": entries,
             "medians": medians, "ratios": ratios, "fidelity": outcome.fidelity}
    if outcome.rounds:
        entry["rounds"] = {label: rounds_entry(outcome, label, modes) for label in outcome.rounds}
    return entry


def rounds_entry(outcome: WorkloadOutcome, label: str, modes: list[str]) -> dict:
    """One round of a rounds workload: per mode its seconds, median, statuses and step counts."""
    per_mode: dict[str, dict] = {}
    for mode in modes:
        runs = [next(r for r in run.rounds if r["label"] == label)
                for run in outcome.runs.get(mode, []) if run.rounds]
        secs = [round(r["seconds"], 4) for r in runs]
        steps = None
        if runs and runs[0].get("steps"):
            first = runs[0]["steps"]
            steps = {"captured_steps": first["captured_steps"], "unique_steps": first["unique_steps"],
                     "executed": [r["steps"]["executed"] for r in runs],
                     "cache_hits": [r["steps"]["cache_hits"] for r in runs]}
        counts: dict[str, int] = {}
        for status in (runs[0]["statuses"].values() if runs else []):
            counts[status] = counts.get(status, 0) + 1
        per_mode[mode] = {"seconds": secs,
                          "median": round(statistics.median(secs), 4) if secs else None,
                          "statuses": counts, "steps": steps}
    base = per_mode.get("b", {}).get("median")
    return {**outcome.rounds[label], "modes": per_mode,
            "ratios": {"vs_b": {m: _ratio(base, e["median"]) for m, e in per_mode.items()}}}


def build_report(*, settings: dict, outcomes: list[WorkloadOutcome],
                 machine: dict | None = None) -> dict:
    """The full JSON-ready report (see the module docstring for its layout)."""
    modes = list(settings["modes"])
    workloads = {o.name: workload_entry(o, modes) for o in outcomes}
    if any(o.errors for o in outcomes):
        verdict = "error"
    elif any(w["fidelity"].get("verdict") == "mismatch" for w in workloads.values()):
        verdict = "mismatch"
    else:
        verdict = "ok"
    return {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine if machine is not None else machine_info(),
        "settings": settings,
        "modes": {k: {"title": MODES[k].title, "description": MODES[k].description}
                  for k in modes},
        "workloads": workloads,
        "verdict": verdict,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def rounds_markdown(name: str, workload: dict, modes: dict) -> list[str]:
    """The per-round table of a rounds workload: seconds, × vs (b), executed/captured steps."""
    lines = [f"{name} ({workload['rows']} rows), per round:", "",
             "| round | mode | median s | × vs (b) | executed / captured steps | ok/failed "
             "| fidelity |", "|---|---|---:|---:|---|---|---|"]
    for label, r in workload["rounds"].items():
        where = "new process" if r["fresh_process"] else "same process"
        for key, entry in r["modes"].items():
            steps = entry["steps"]
            if steps is None:
                counted = "all (runs the scripts)"
            else:
                counted = (f"{statistics.median_low(steps['executed'])} / {steps['captured_steps']} "
                           f"({steps['unique_steps']} unique)")
            st = entry["statuses"]
            lines.append(
                f"| {label} ({r['scripts']} scripts, {where}) | ({key}) {modes[key]['title']} | "
                f"{_fmt(entry['median'], '.2f')} | {_fmt(r['ratios']['vs_b'].get(key), '.2f')} | "
                f"{counted} | {st.get('ok', 0)}/{sum(st.values()) - st.get('ok', 0)} | "
                f"{r['fidelity'].get('modes', {}).get(key, '–')} |")
    return lines


def to_markdown(report: dict) -> str:
    """A Markdown summary: one row per workload and mode, then the fidelity verdicts."""
    m = report["machine"]
    s = report["settings"]
    lines = [
        f"## stratum bench — {m.get('cores_available')} cores available "
        f"({m.get('cores_logical')} logical), Python {m.get('python')}, "
        f"reps={s.get('reps')}, seed={s.get('seed')}",
        "",
        "| workload | mode | median s | × vs (a) | × vs (b) | peak RSS MB | peak PSS MB "
        "| ok/failed | fidelity |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, w in report["workloads"].items():
        for key, entry in w["modes"].items():
            title = f"({key}) {report['modes'][key]['title']}"
            st = entry["statuses"]
            verdict = w["fidelity"].get("modes", {}).get(key, "–")
            if entry["error"]:
                verdict = "ERROR"
            lines.append(
                f"| {name} ({w['scripts']} scripts, {w['rows']} rows) | {title} | "
                f"{_fmt(entry['median'], '.2f')} | {_fmt(w['ratios']['vs_a'].get(key), '.2f')} | "
                f"{_fmt(w['ratios']['vs_b'].get(key), '.2f')} | "
                f"{_fmt(entry['peak_rss_mb'], '.0f')} | {_fmt(entry.get('peak_pss_mb'), '.0f')} | "
                f"{st.get('ok', 0)}/{sum(st.values()) - st.get('ok', 0)} | {verdict} |")
    for name, w in report["workloads"].items():
        if w.get("rounds"):
            lines += ["", *rounds_markdown(name, w, report["modes"])]
    lines.append("")
    lines.append("× = median of the baseline / median of the mode (higher is faster). "
                 "Peak RSS: the largest child process alone; peak PSS: a child process and "
                 "all its worker processes together, shared pages counted once.")
    pinned = [n for n, w in report["workloads"].items() if w.get("thread_env")]
    free = [n for n, w in report["workloads"].items() if not w.get("thread_env", True)]
    if pinned and free:
        lines.append(f"Native threads pinned to 1 ({', '.join(sorted(THREAD_ENV))}) for "
                     f"{', '.join(pinned)}; library defaults for {', '.join(free)}.")
    for name, w in report["workloads"].items():
        f = w["fidelity"]
        lines.append(f"- {name}: fidelity {f.get('verdict')} (reference ({f.get('reference')}), "
                     f"comparator {f.get('comparator')})")
        for mm in f.get("mismatches", [])[:5]:
            lines.append(f"  - ({mm['mode']}) {mm['script']}: {mm['difference'][:300]}")
        for key, entry in w["modes"].items():
            if entry["error"]:
                lines.append(f"  - ({key}) error: {entry['error'].splitlines()[0][:300]}")
    lines.append(f"\nverdict: {report['verdict']}")
    return "\n".join(lines)
