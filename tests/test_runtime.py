"""The Rust runtime seen from the batch: parallel runs, failure isolation, time limits."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from stratum_jupyter import Batch
from stratum_jupyter.compare import first_difference

from conftest import HAS_NATIVE, run_cells_plainly

pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")

HEALTHY = "import numpy as np\nrng = np.random.default_rng({seed})\nvalues = rng.normal(size=1000)\nmean = float(values.mean())\n"


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_failures_and_hangs_are_isolated_and_time_limited(backend):
    batch = Batch()
    batch.add("x = 1\nraise ValueError('bad candidate')\n", name="raises", isolated=True)
    batch.add("y = 2\nwhile True:\n    pass\n", name="spins", isolated=True)
    batch.add("import time\nz = 3\ntime.sleep(600)\nafter = 1\n", name="sleeps", isolated=True)
    for seed in range(3):
        batch.add(HEALTHY.format(seed=seed), name=f"ok{seed}", isolated=True)
    start = time.monotonic()
    results = batch.run(jobs=2, timeout=5, backend=backend)
    elapsed = time.monotonic() - start
    assert elapsed < 15
    assert [results[n].status for n in ("raises", "spins", "sleeps")] == ["failed", "timeout", "timeout"]
    assert results["raises"].namespace == {"x": 1}
    if backend == "threads":  # the abandoned thread's namespace is still here
        assert results["spins"].namespace == {"y": 2}
        assert results["sleeps"].namespace["z"] == 3 and "after" not in results["sleeps"].namespace
    else:  # the worker was ended, and the names with it: the cause says so
        assert results["spins"].namespace == {} and "names the cell had bound are lost" in results["spins"].cause
        assert "exceeded its time limit (at line 2)" in results["spins"].cause
    _, plain = run_cells_plainly([(HEALTHY.format(seed=s), True) for s in range(3)])
    for seed, reference in enumerate(plain):
        assert results[f"ok{seed}"].status == "ok"
        assert first_difference(reference["namespace"], results[f"ok{seed}"].namespace) is None
    # the next run works
    batch.add("w = 40 + 2\n", name="next", isolated=True)
    assert batch.run(jobs=2, backend=backend)["next"].namespace == {"w": 42}


PROFILED_AFTER_RUNS = """
import sys
from stratum_jupyter import Batch
statuses = []
for backend in ("threads", "processes"):
    batch = Batch()
    batch.add("x = 1\\n", name="quick", isolated=True)
    batch.add("x = 0\\nwhile True:\\n    x += 1\\n", name="spins", isolated=True)
    results = batch.run(jobs=2, backend=backend, timeout=1)
    statuses += [results["quick"].status, results["spins"].status]
events = []
sys.setprofile(lambda frame, event, arg: events.append(event))
def traced():
    return 1
traced()
sys.setprofile(None)
print(*statuses, "call" in events)
"""


def test_a_profiler_or_debugger_still_works_after_runs_with_interrupted_calls():
    """Clearing a late interrupt with ``PyThreadState_SetAsyncExc(id, NULL)`` left Python 3.11's
    "async exception pending" signal set: the next profiled (``%prun``) or traced (a debugger)
    function call then looped forever at its first line. Run in a child: that hang must not
    hang the test session."""
    child = subprocess.run([sys.executable, "-c", PROFILED_AFTER_RUNS], capture_output=True, text=True, timeout=120)
    assert child.stdout.split() == ["ok", "timeout", "ok", "timeout", "True"], child.stderr


def test_a_failing_shared_step_fails_every_pipeline_that_contains_it():
    batch = Batch()
    shared = "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\nbad = df['missing']\n"
    batch.add(shared + "r = 1\n", name="one", isolated=True)
    batch.add(shared + "r = 2\n", name="two", isolated=True)
    batch.add("r = 3\n", name="three", isolated=True)
    results = batch.run(jobs=2)
    assert results["one"].status == results["two"].status == "failed"
    assert 'File "<cell two>", line 3' in results["two"].error
    assert results["three"].status == "ok"


@pytest.mark.parametrize("jobs", [1, 2])
def test_many_pipelines_identical_with_one_or_two_jobs(jobs):
    cells = [HEALTHY.format(seed=s) + f"scaled = values * {s}\n" for s in range(12)]
    batch = Batch()
    for i, code in enumerate(cells):
        batch.add(code, name=f"p{i}", isolated=True)
    results = batch.run(jobs=jobs)
    _, plain = run_cells_plainly([(c, True) for c in cells])
    for i, reference in enumerate(plain):
        assert first_difference(reference["namespace"], results[f"p{i}"].namespace) is None


def test_isolated_pipelines_hold_at_most_jobs_worker_processes():
    # Each pipeline starts with a step of its own, then waits for a slow step they all share:
    # while the first runs it, the others' own steps are ready and a job is free. A started
    # pipeline keeps its worker process until it ends, so none but the first two may start
    # before one of those ends: never more than two workers alive at once, and the later
    # candidates run in the workers those leave.
    import threading

    from stratum_jupyter.runtime.pool import get_pool

    shared = "import os\nimport time\ntime.sleep(0.5)\n"
    batch = Batch()
    for i in range(6):
        batch.add(f"label = 'candidate {i}'\n" + shared + "who = (os.getpid(), label)\n", name=f"p{i}", isolated=True)
    alive: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            alive.append(len(get_pool().pids()))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = batch.run(jobs=2, backend="processes")
    finally:
        done.set()
        sampler.join()
    assert [results[f"p{i}"].namespace["who"][1] for i in range(6)] == [f"candidate {i}" for i in range(6)]
    assert len({results[f"p{i}"].namespace["who"][0] for i in range(6)}) == 2  # later ones reuse the workers
    assert 1 <= max(alive) <= 2, max(alive)


def test_progress_counts_every_step_and_names_running_pipelines():
    import io

    from stratum_jupyter.progress import Progress

    batch = Batch()
    for seed in range(4):
        batch.add(HEALTHY.format(seed=seed), name=f"p{seed}", isolated=True)
    class Terminal(io.StringIO):  # the bar draws only on a terminal
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = Progress(batch.graph().captured_steps(), stream=stream, interval=0.0)
    seen_running = set()
    batch.add_listener(bar)
    batch.add_listener(lambda e: e["status"] == "running" and seen_running.add(e["pipeline"]))
    batch.run(jobs=2)
    assert bar.done == bar.total == 16
    assert seen_running == {"p0", "p1", "p2", "p3"}
    assert "16/16 steps" in stream.getvalue()


def test_memory_budget_admits_large_steps_one_at_a_time():
    code = "import numpy as np\nbig = np.full(8_000_000, {seed}.0)\ntotal = float(big.sum())\ndel big\n"
    batch = Batch()
    for seed in range(4):
        batch.add(code.format(seed=seed), name=f"m{seed}", isolated=True)
    import psutil

    results = batch.run(jobs=2, memory=psutil.Process().memory_info().rss + 40 * 2**20)
    assert results.stats["memory_waits"] > 0
    assert [results[f"m{s}"].namespace["total"] for s in range(4)] == [8_000_000.0 * s for s in range(4)]
    assert all("big" not in results[f"m{s}"].namespace for s in range(4))


def test_memory_sizes_parse_and_bad_ones_are_rejected():
    from stratum_jupyter.memory import parse_size, sizeof

    assert parse_size("4GB") == 4 * 2**30 and parse_size("500mb") == 500 * 2**20 and parse_size(1024) == 1024
    for bad in ("lots", "-1GB", "0", "4XB"):
        with pytest.raises(ValueError, match="memory budget"):
            parse_size(bad)
    import numpy as np
    import pandas as pd

    assert sizeof(np.zeros(1000)) == 8000
    assert sizeof(pd.DataFrame({"a": np.zeros(1000)})) >= 8000


SPILL_FIRST = (
    "import numpy as np\n"
    "big = np.arange(30_000_000, dtype=np.float64)\n"
    "total = float(big.sum())\n"
    "big = None\n"
    "work = np.ones(30_000_000)\n"
    "work_total = float(work.sum())\n"
    "import psutil\n"
    "rss_during_work = psutil.Process().memory_info().rss\n"
    "del work\n"
)
SPILL_SECOND = "import numpy as np\nbig = np.arange(30_000_000, dtype=np.float64)\nhalf = float(big[::2].sum())\n"


def test_idle_outputs_are_spilled_to_disk_and_reloaded_by_their_consumer(tmp_path, monkeypatch):
    """The 240 MB array the second cell reuses waits on disk while the first cell needs memory."""
    import psutil

    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path))
    batch = Batch()
    batch.add(SPILL_FIRST, name="first", isolated=True)
    batch.add(SPILL_SECOND, name="second", isolated=True)
    baseline = psutil.Process().memory_info().rss
    results = batch.run(jobs=1, memory=baseline + 100 * 2**20, backend="threads")  # outputs held in this process
    assert results.stats["spilled"] >= 1 and results.stats["reloaded"] == 1
    assert results["first"].status == results["second"].status == "ok"
    # the spilled array was really out of memory while `work` existed
    assert results["first"].namespace["rss_during_work"] < baseline + 400 * 2**20
    _, plain = run_cells_plainly([(SPILL_FIRST, True), (SPILL_SECOND, True)])
    for name, reference in zip(("first", "second"), plain):
        namespace = dict(results[name].namespace)
        expected = dict(reference["namespace"])
        namespace.pop("rss_during_work", None), expected.pop("rss_during_work", None)
        assert first_difference(expected, namespace) is None
    assert [p for p in tmp_path.rglob("*") if "spill" in p.name] == [], "spill files are removed after the run"


def test_outputs_referenced_elsewhere_are_never_spilled():
    """Spilling a value a namespace still refers to would free nothing and break identity."""
    import numpy as np

    from stratum_jupyter.execution import Outcome
    from stratum_jupyter.spill import SpillStore, exclusively_held

    shared = np.ones(10)
    # computed outside `assert`: pytest's rewriting would hold extra references to the values
    verdicts = [
        exclusively_held(Outcome(ok=True, bindings={"a": shared})),
        exclusively_held(Outcome(ok=True, bindings={"v": shared[2:]})),
        exclusively_held(Outcome(ok=True, bindings={"nested": [[shared]]})),
        exclusively_held(Outcome(ok=True, bindings={"a": np.ones(10), "pair": [1, 2]})),
    ]
    assert verdicts == [False, False, False, True]
    store = SpillStore()
    assert store.spill(0, Outcome(ok=True, bindings={"f": lambda x: x})) is None, "unpicklable stays in memory"
    store.close()


def test_an_output_only_a_garbage_cycle_still_refers_to_is_spilled(tmp_path, monkeypatch):
    """A cycle the collector has not reached yet (a traceback's frames, dropped objects) holds a
    reference to the value: the store collects it before it declines (the spill frees memory)."""
    import gc

    import numpy as np

    from stratum_jupyter.execution import Outcome
    from stratum_jupyter.spill import SpillStore

    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path))
    value = np.arange(1000)
    cycle: list = [value]
    cycle.append(cycle)  # unreachable once dropped, until a collection
    outcome = Outcome(ok=True, bindings={"base": value})
    del value, cycle
    gc.disable()
    try:
        store = SpillStore()
        handle = store.spill(0, outcome)
    finally:
        gc.enable()
    assert handle is not None
    assert store.reload(0, handle).bindings["base"].tolist() == list(range(1000))
    store.close()


def test_shared_intermediates_are_released_after_their_last_consumer(monkeypatch):
    """A value every pipeline reuses is held only until the last reuse, never kept afterwards."""
    import gc
    import sys
    import types

    tracker = types.ModuleType("stratum_test_tracker")
    exec("import weakref\nclass Big:\n    pass\nalive = weakref.WeakSet()\ndef make():\n    b = Big()\n    alive.add(b)\n    return b\n", tracker.__dict__)  # noqa: S102
    monkeypatch.setitem(sys.modules, "stratum_test_tracker", tracker)
    batch = Batch()
    for i in range(3):
        batch.add(f"import stratum_test_tracker\ntmp = stratum_test_tracker.make()\nkind = type(tmp).__name__\ndel tmp\nn = {i}\n", name=f"p{i}", isolated=True)
    results = batch.run(jobs=2, backend="threads")  # the weakrefs can only see this process
    assert [results[f"p{i}"].namespace["n"] for i in range(3)] == [0, 1, 2]
    assert all(results[f"p{i}"].namespace["kind"] == "Big" and "tmp" not in results[f"p{i}"].namespace for i in range(3))
    assert results.stats["executed"] < results.stats["captured_steps"], "the make() step ran once"
    assert results.stats["released"] >= 2 and results.stats["peak_live_outputs"] >= 1
    gc.collect()
    assert len(tracker.alive) == 0, "nothing holds the shared intermediate after the run"


def test_the_kernel_unpickles_candidates_namespaces_after_the_run():
    # Unpickling in the kernel while workers still fit would take a core from their native threads:
    # a namespace comes back pickled and is loaded when the run is over, on the kernel's thread.
    # One that cannot be loaded there lists every name as untransferable instead of failing the run.
    import builtins
    import threading

    probe = (
        "import builtins, threading\n"
        "def _record():\n"
        "    builtins.__dict__.setdefault('stratum_loaded_on', []).append(threading.current_thread().name)\n"
        "    return 'loaded'\n"
        "class Probe:\n"
        "    def __reduce__(self):\n"
        "        return (_record, ())\n"
        "value = Probe()\n"
    )
    broken = "def _refuse():\n    raise RuntimeError('not here')\nclass Refused:\n    def __reduce__(self):\n        return (_refuse, ())\nkept = 1\nthing = Refused()\n"
    batch = Batch()
    batch.add(probe, name="probe", isolated=True)
    batch.add(broken, name="broken", isolated=True)
    try:
        results = batch.run(jobs=2, backend="processes")
        assert results["probe"].namespace["value"] == "loaded"
        assert builtins.stratum_loaded_on == [threading.current_thread().name]
        assert results["broken"].status == "ok" and results["broken"].namespace == {}
        assert results["broken"].untransferable == ["Refused", "_refuse", "kept", "thing"]
    finally:
        builtins.__dict__.pop("stratum_loaded_on", None)


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_a_step_waiting_for_another_workers_fold_lends_its_place(tmp_path, backend):
    # One job: the waiter (first) waits for a file the maker writes, telling the runtime it waits
    # as a fold fit another worker computes does (folds.wait_notice). The maker can only run
    # meanwhile if the waiter's place is lent: otherwise the waiter gives up after 10 s.
    flag = str(tmp_path / "flag")
    waiter = (
        "import pathlib, time\n"
        "from stratum_jupyter import folds\n"
        f"flag = pathlib.Path({flag!r})\n"
        "def wait_for_flag():\n"
        "    before = flag.exists()\n"
        "    folds.wait_notice(True)\n"
        "    try:\n"
        "        deadline = time.time() + 10\n"
        "        while not flag.exists() and time.time() < deadline:\n"
        "            time.sleep(0.02)\n"
        "    finally:\n"
        "        folds.wait_notice(False)\n"
        "    return before, flag.exists()\n"
        "seen = wait_for_flag()\n"
        "import os\npid = os.getpid()\n"
    )
    maker = f"import os, pathlib\npathlib.Path({flag!r}).write_text('made')\nmade = True\npid = os.getpid()\n"
    batch = Batch()
    batch.add(waiter, name="waiter", isolated=True)
    batch.add(maker, name="maker", isolated=True)
    results = batch.run(jobs=1, backend=backend)
    assert results["maker"].namespace["made"] is True
    assert results["waiter"].namespace["seen"] == (False, True)  # made while the waiter waited
    if backend == "processes":  # two workers ran at once; one job keeps one idle after the run
        from stratum_jupyter.runtime.pool import get_pool

        assert results["maker"].namespace["pid"] != results["waiter"].namespace["pid"]
        assert len(get_pool().idle) <= 1


def test_the_size_of_a_frame_of_strings_is_estimated_within_a_few_percent():
    # sizeof is taken for every step's outputs: it samples the Python objects of a column rather
    # than visiting each (pandas' deep=True took 5 ms for a 3,000 x 80 frame), and stays close.
    import numpy as np
    import pandas as pd

    from stratum_jupyter.memory import sizeof

    rng = np.random.default_rng(0)
    words = np.array(["a", "bb", "ccc" * 5, "d" * 40, "naïve"], dtype=object)
    frame = pd.DataFrame({
        "text": rng.choice(words, 5000), "n": rng.normal(size=5000),
        "mixed": pd.Series(rng.choice(words, 5000), dtype=object).where(rng.random(5000) > 0.1),
    }, index=[f"row{i}" for i in range(5000)])
    for value in (frame, frame["text"], frame.astype({"text": "string"}), frame[["n"]]):
        exact = int(value.memory_usage(deep=True).sum() if value.ndim == 2 else value.memory_usage(deep=True))
        assert abs(sizeof(value) - exact) <= 0.05 * exact, (sizeof(value), exact)
