"""Runtime benchmarks: scheduling overhead, parallel speed-up, peak memory under a budget,
capture cost as the batch grows, the run-time guard's cost.

``python -m stratum_jupyter.bench.runtime [--quick]`` prints a Markdown table. Every figure is
measured side by side in this run (median of repetitions) and results are checked equal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from ..batch import Batch
from ..compare import first_difference

FIT = """\
import numpy as np
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=({rows}, 20))
y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
model = RandomForestClassifier(n_estimators={trees}, random_state={seed}, n_jobs=1).fit(X, y)
accuracy = float(model.score(X, y))
"""

BIG = """\
import numpy as np
big = np.full({count}, {seed}.0)
total = float(big.sum())
del big
"""


def scheduling_overhead(steps: int, reps: int) -> dict:
    """Per-step cost of a batch of trivial steps vs running the same statements plainly."""
    code = "".join(f"x{i} = {i}\n" for i in range(steps))
    plain, batched, native = [], [], []
    for _ in range(reps):
        start = time.perf_counter()
        namespace: dict = {}
        for line in code.splitlines():
            exec(compile(line, "<plain>", "exec"), namespace)  # noqa: S102 - the same per-statement compile
        plain.append(time.perf_counter() - start)
        batch = Batch()
        batch.add(code, name="trivial", isolated=True)
        start = time.perf_counter()
        result = batch.run(jobs=1)
        batched.append(time.perf_counter() - start)
        assert result["trivial"].namespace[f"x{steps - 1}"] == steps - 1
        from .._native import run_plan

        start = time.perf_counter()
        run_plan([[i - 1] if i else [] for i in range(steps)], [[] for _ in range(steps)],
                 [[] for _ in range(steps)], [0.0] * steps, [0] * steps,
                 lambda n, inputs: (True, None), lambda n, reason: None, jobs=1)
        native.append(time.perf_counter() - start)
    return {
        "steps": steps,
        "plain_us_per_step": statistics.median(plain) / steps * 1e6,
        "batch_us_per_step": statistics.median(batched) / steps * 1e6,
        "scheduler_us_per_step": statistics.median(native) / steps * 1e6,
    }


def parallel_speedup(pipelines: int, rows: int, trees: int, reps: int) -> dict:
    """Independent model fits (which release the GIL) with --jobs 2 vs --jobs 1."""
    cells = [FIT.format(rows=rows, trees=trees, seed=s) for s in range(pipelines)]
    timings: dict[int, list[float]] = {1: [], 2: []}
    namespaces: dict[int, dict] = {}
    for _ in range(reps):
        for jobs in (1, 2):
            batch = Batch()
            for i, code in enumerate(cells):
                batch.add(code, name=f"fit{i}", isolated=True)
            start = time.perf_counter()
            result = batch.run(jobs=jobs)
            timings[jobs].append(time.perf_counter() - start)
            namespaces[jobs] = {n: r.namespace for n, r in result.items()}
    identical = all(first_difference(namespaces[1][n], namespaces[2][n]) is None for n in namespaces[1])
    one, two = statistics.median(timings[1]), statistics.median(timings[2])
    return {"pipelines": pipelines, "jobs1_s": one, "jobs2_s": two, "speedup": one / two, "identical": identical}


def _peak_rss_child(cells: list[str], memory: str | None, jobs: int) -> tuple[int, list]:
    script = (
        "import json, sys\n"
        "from stratum_jupyter import Batch\n"
        "from stratum_jupyter.bench.child import peak_rss_kb\n"
        "cells, memory, jobs = json.loads(sys.argv[1])\n"
        "b = Batch()\n"
        "for i, c in enumerate(cells): b.add(c, name=f'p{i}', isolated=True)\n"
        "r = b.run(jobs=jobs, memory=memory)\n"
        "print(json.dumps([peak_rss_kb() * 1024, "
        "[r[n].namespace.get('total') for n in r]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, json.dumps([cells, memory, jobs])],
                         capture_output=True, text=True, check=True)
    peak, totals = json.loads(out.stdout.strip().splitlines()[-1])
    return peak, totals


def peak_memory(pipelines: int, megabytes: int, jobs: int) -> dict:
    """Peak RSS of a batch of pipelines that each hold a large intermediate, vs the heaviest alone."""
    count = megabytes * 2**20 // 8
    cells = [BIG.format(count=count, seed=s) for s in range(pipelines)]
    single, single_totals = _peak_rss_child(cells[-1:], None, 1)
    budget = f"{int(single * 1.3) // 2**20}MB"
    batched, totals = _peak_rss_child(cells, budget, jobs)
    unbounded, _ = _peak_rss_child(cells, None, jobs)
    return {
        "pipelines": pipelines, "intermediate_mb": megabytes, "jobs": jobs, "budget": budget,
        "single_peak_mb": single / 2**20, "batch_peak_mb": batched / 2**20,
        "batch_default_budget_peak_mb": unbounded / 2**20, "ratio": batched / single,
        "identical": totals == [float(count * s) for s in range(pipelines)] and single_totals == totals[-1:],
    }


def capture_scaling(candidates: int) -> dict:
    """Capturing the agent workload's candidates one ``%%stratum --isolated`` cell at a time, as
    an agent does: total time, and the first and last cells' (median of ten) — flat when adding a
    cell costs time in proportion to the cell, not to the batch."""
    import contextlib
    import io

    from IPython.core.interactiveshell import InteractiveShell

    from .generators import generate

    scripts = generate("agent-session", rows=1_000, scripts=candidates, seed=0).scripts
    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    shell.run_line_magic("load_ext", "stratum_jupyter")
    seconds = []
    for script in scripts:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            shell.run_cell_magic("stratum", f"--isolated -n {script.name}", script.code)
        seconds.append(time.perf_counter() - start)
    shell.run_line_magic("stratum", "clear")
    first, last = statistics.median(seconds[:10]), statistics.median(seconds[-10:])
    return {"candidates": candidates, "total_s": sum(seconds), "first_ms": first * 1e3, "last_ms": last * 1e3,
            "last_over_first": last / first}


def guard_cost(rows: int, candidates: int, reps: int) -> dict:
    """What the run-time guard (guard.py) costs on the agent-session workload, run as ``%stratum
    run`` would (worker processes, every core): the time spent fingerprinting — in the kernel and
    in the workers — as a share of the time spent running steps, and of the run's wall time.
    Measured inside the run rather than against a run without the guard: on a loaded machine
    the wall-time noise between two runs exceeds the few percent at stake."""
    import tempfile

    from .generators import generate

    workload = generate("agent-session", rows=rows, scripts=candidates, seed=0)
    shares, walls, guards = [], [], []
    with tempfile.TemporaryDirectory() as directory:
        here = os.getcwd()
        os.chdir(directory)
        try:
            for name, data in workload.data.items():
                with open(name, "wb") as handle:
                    handle.write(data)
            for _ in range(reps):
                batch = Batch()
                for script in workload.scripts:
                    batch.add(script.code, name=script.name, isolated=True)
                start = time.perf_counter()
                run = batch.run()
                walls.append(time.perf_counter() - start)
                guards.append(run.stats["guard_seconds"])
                shares.append(guards[-1] / sum(r.seconds for r in run.values()))
                assert run.stats["guard"] is None, run.stats["guard"]
        finally:
            os.chdir(here)
    return {"rows": rows, "candidates": candidates, "guard_s": statistics.median(guards),
            "wall_s": statistics.median(walls), "share_of_steps": statistics.median(shares),
            "share_of_wall": statistics.median(g / w for g, w in zip(guards, walls))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    reps = 3
    overhead = scheduling_overhead(2_000 if args.quick else 10_000, reps)
    speed = parallel_speedup(4 if args.quick else 8, 2_000 if args.quick else 4_000, 30 if args.quick else 60, reps)
    memory = peak_memory(8, 50 if args.quick else 300, 2)
    capture = capture_scaling(100 if args.quick else 1_000)
    guarded = guard_cost(2_000 if args.quick else 200_000, 4 if args.quick else 60, reps)
    report = {"cores": os.cpu_count(), "overhead": overhead, "parallel": speed, "memory": memory, "capture": capture,
              "guard": guarded}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    print("| benchmark | result |\n|---|---|")
    print(f"| scheduling, {overhead['steps']:,} trivial steps | batch {overhead['batch_us_per_step']:.1f} µs/step "
          f"(Rust scheduler alone {overhead['scheduler_us_per_step']:.1f} µs, plain exec {overhead['plain_us_per_step']:.1f} µs) |")
    print(f"| {speed['pipelines']} RandomForest fits, --jobs 2 vs --jobs 1 | {speed['jobs1_s']:.2f} s → "
          f"{speed['jobs2_s']:.2f} s, **{speed['speedup']:.2f}×**, identical: {speed['identical']} |")
    print(f"| peak RSS, {memory['pipelines']} pipelines × {memory['intermediate_mb']} MB, --jobs {memory['jobs']} "
          f"--memory {memory['budget']} | {memory['batch_peak_mb']:.0f} MB vs heaviest single "
          f"{memory['single_peak_mb']:.0f} MB: **{memory['ratio']:.2f}×** (default budget: "
          f"{memory['batch_default_budget_peak_mb']:.0f} MB), identical: {memory['identical']} |")
    print(f"| capturing {capture['candidates']:,} agent candidates (`%%stratum --isolated` each) | "
          f"{capture['total_s']:.1f} s in total; a cell {capture['first_ms']:.1f} ms first, "
          f"{capture['last_ms']:.1f} ms last ({capture['last_over_first']:.2f}×) |")
    print(f"| run-time guard, agent-session workload ({guarded['candidates']} candidates, {guarded['rows']:,} rows) | "
          f"{guarded['guard_s']:.2f} s fingerprinting: **{guarded['share_of_steps']:.1%}** of the time running steps, "
          f"{guarded['share_of_wall']:.1%} of the run's {guarded['wall_s']:.1f} s |")
    return 0 if speed["identical"] and memory["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
