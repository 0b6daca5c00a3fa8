"""Smoke tests of the compiled runtime, `stratum_jupyter._native.run_plan`.

Runs under pytest (`pytest rust/tests_py/smoke_run_plan.py`) or as a script, which also prints
timings. Needs the extension module built (maturin); skips under pytest when it is missing.
"""

from __future__ import annotations

import gc
import glob
import importlib.util
import os
import signal
import sys
import threading
import time
import weakref


def _load_native():
    try:
        from stratum_jupyter import _native  # the normal way, inside an installed package

        return _native
    except ImportError:
        pass
    # The package's __init__ may need dependencies this environment lacks: load the
    # extension file directly without executing the package.
    spec = importlib.util.find_spec("stratum_jupyter")
    dirs = list(spec.submodule_search_locations or []) if spec else []
    for d in dirs:
        for path in glob.glob(os.path.join(d, "_native*.so")) + glob.glob(os.path.join(d, "_native*.pyd")):
            s = importlib.util.spec_from_file_location("stratum_jupyter._native", path)
            mod = importlib.util.module_from_spec(s)
            s.loader.exec_module(mod)
            return mod
    return None


native = _load_native()

if "pytest" in sys.modules:
    import pytest

    if native is None:
        pytest.skip("stratum_jupyter._native is not built", allow_module_level=True)


class Out:
    """A weak-referenceable output object, to see when the runtime lets go of it."""

    def __init__(self, value):
        self.value = value


def plan(n, deps_ok=None, deps_any=None, inputs=None, priority=None, group=None):
    return dict(
        deps_ok=[list((deps_ok or {}).get(i, [])) for i in range(n)],
        deps_any=[list((deps_any or {}).get(i, [])) for i in range(n)],
        inputs=[list((inputs or {}).get(i, [])) for i in range(n)],
        priority=list(priority or [0.0] * n),
        group=list(group or [0] * n),
    )


class Recorder:
    def __init__(self, step):
        self.step = step
        self.order = []
        self.seen = {}
        self.skipped = {}
        self.lock = threading.Lock()

    def run(self, node, objs):
        with self.lock:
            self.order.append(node)
            self.seen[node] = [o.value if isinstance(o, Out) else o for o in objs]
        return self.step(node, objs)

    def skip(self, node, reason):
        with self.lock:
            assert node not in self.skipped, f"skip called twice for {node}"
            self.skipped[node] = reason


def test_chain_runs_in_order_and_passes_outputs():
    rec = Recorder(lambda n, objs: (True, Out(n if not objs else objs[0].value * 10 + n)))
    stats = native.run_plan(**plan(3, deps_ok={1: [0], 2: [1]}, inputs={1: [0], 2: [1]}),
                            run=rec.run, skip=rec.skip)
    assert rec.order == [0, 1, 2]
    assert rec.seen == {0: [], 1: [0], 2: [1]}
    assert stats["status"] == ["ok", "ok", "ok"]
    assert stats["released"] == 2 and stats["peak_live_outputs"] == 1
    assert stats["interrupted"] is False and stats["internal_errors"] == []
    assert len(stats["seconds"]) == 3


def test_failure_skips_deps_ok_successors_only():
    def step(n, objs):
        if n == 0:
            return (False, Out("why 0 failed"))
        if n == 3:
            raise ValueError("boom")
        return (True, Out(n))

    # 1 needs 0 ok; 2 needs 1 ok (transitive skip); 4 merely waits for 0 and gets its
    # failure object; 5 consumes 3 (raised: None) and 2 (skipped: None).
    rec = Recorder(step)
    stats = native.run_plan(
        **plan(6, deps_ok={1: [0], 2: [1]}, deps_any={4: [0]}, inputs={4: [0], 5: [3, 2]}),
        run=rec.run, skip=rec.skip)
    assert stats["status"] == ["failed", "skipped", "skipped", "failed", "ok", "ok"]
    assert rec.skipped == {1: "skipped", 2: "skipped"}
    assert rec.seen[4] == ["why 0 failed"]
    assert rec.seen[5] == [None, None]
    assert len(stats["internal_errors"]) == 1
    assert stats["internal_errors"][0].startswith("node 3: ValueError('boom')")


def test_priority_orders_ready_nodes():
    rec = Recorder(lambda n, objs: (True, None))
    native.run_plan(**plan(4, priority=[0.0, 2.0, 1.0, 2.0]), run=rec.run, skip=rec.skip)
    assert rec.order == [1, 3, 2, 0]


def test_two_sleeps_overlap_with_two_jobs():
    rec = Recorder(lambda n, objs: (time.sleep(0.5), (True, None))[1])
    t0 = time.perf_counter()
    stats = native.run_plan(**plan(2), run=rec.run, skip=rec.skip, jobs=2)
    wall = time.perf_counter() - t0
    assert stats["status"] == ["ok", "ok"]
    assert wall < 0.9, wall


def test_a_step_waiting_for_another_lends_its_place():
    # One job and one slot: group 1 could never start while group 0's only step waits for it,
    # unless the waiting step lends its place (as a fold fit another worker computes does).
    # Once it is back, one job means one step at a time again (group 2 could run three).
    other_ran = threading.Event()
    lock = threading.Lock()
    running, overlap = [0], {}

    def step(n, objs):
        if n == 0:
            assert native.lend(True)
            waited = other_ran.wait(10)
            assert native.lend(False)
            return (waited, None)
        with lock:
            running[0] += 1
            overlap[n] = running[0]
        if n == 1:
            other_ran.set()
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return (True, None)

    rec = Recorder(step)
    stats = native.run_plan(**plan(5, group=[0, 1, 2, 2, 2], priority=[3, 2, 1, 1, 1]),
                            run=rec.run, skip=rec.skip, jobs=1, slots=1, timeout=20)
    assert stats["status"] == ["ok"] * 5, stats
    assert overlap[2] == overlap[3] == overlap[4] == 1, overlap
    assert native.lend(True) is False  # no run on this thread


def test_group_timeout_abandons_a_busy_loop():
    ended = threading.Event()

    def step(n, objs):
        if n == 0:
            try:
                while True:
                    pass
            except TimeoutError:
                ended.set()
                raise
        return (True, Out(n))

    # Group 1: 0 (spins) -> 1. Group 2: 2 consumes 0's output (its clock starts only when 2
    # starts). Group 3: 3 is independent.
    rec = Recorder(step)
    t0 = time.perf_counter()
    stats = native.run_plan(**plan(4, deps_ok={1: [0]}, inputs={2: [0]}, group=[1, 1, 2, 3]),
                            run=rec.run, skip=rec.skip, jobs=2, timeout=0.3)
    wall = time.perf_counter() - t0
    assert stats["status"] == ["timeout", "timeout", "ok", "ok"], stats
    assert rec.skipped == {1: "timeout"}
    assert rec.seen[2] == [None]
    assert wall < 0.8, wall
    assert stats["internal_errors"] == []
    assert ended.wait(2.0), "the abandoned call got TimeoutError and ended"


def test_timeout_replaces_a_stuck_worker():
    # jobs=1 and node 0 cannot be interrupted before its sleep returns: node 1 (another
    # group) must still run right after the timeout, on a replacement worker.
    def step(n, objs):
        if n == 0:
            time.sleep(1.5)
        return (True, None)

    t0 = time.perf_counter()
    stats = native.run_plan(**plan(2, priority=[1.0, 0.0], group=[0, 1]), run=step,
                            skip=lambda n, r: None, jobs=1, timeout=0.2)
    wall = time.perf_counter() - t0
    assert stats["status"] == ["timeout", "ok"]
    assert wall < 0.6, wall


def measure_gil_releasing_overlap():
    import hashlib

    data = os.urandom(1 << 20)

    def step(n, objs):
        h = hashlib.sha256()
        for _ in range(150):
            h.update(data)  # releases the GIL for large buffers
        return (True, h.hexdigest())

    native.run_plan(**plan(1), run=step, skip=lambda n, r: None)  # warm up
    t0 = time.perf_counter()
    native.run_plan(**plan(2), run=step, skip=lambda n, r: None, jobs=1)
    serial = time.perf_counter() - t0
    # Baseline: what two plain Python threads achieve on this machine right now (a loaded or
    # single-core machine cannot overlap anything, and then neither can we).
    t0 = time.perf_counter()
    threads = [threading.Thread(target=step, args=(i, [])) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    threaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    native.run_plan(**plan(2), run=step, skip=lambda n, r: None, jobs=2)
    parallel = time.perf_counter() - t0
    if threaded < 0.8 * serial:
        assert parallel < 1.25 * threaded + 0.02, (serial, threaded, parallel)
    return serial, threaded, parallel


def test_gil_releasing_steps_overlap():
    measure_gil_releasing_overlap()


def test_outputs_are_released_and_nothing_is_held_after_return():
    refs = []

    def step(n, objs):
        o = Out(n)
        refs.append(weakref.ref(o))
        return (True, o)

    # 0 feeds 1 and 2; 3 has no consumer.
    stats = native.run_plan(**plan(4, inputs={1: [0], 2: [0]}), run=step, skip=lambda n, r: None)
    assert stats["released"] == 1
    gc.collect()
    assert all(r() is None for r in refs)


def test_bad_plans_raise_value_error():
    ok = lambda n, objs: (True, None)
    for bad, msg in [
        (dict(plan(2), priority=[0.0]), "priority has 1"),
        (plan(2, deps_ok={1: [5]}), "deps_ok[1] contains 5"),
        (plan(2, inputs={0: [1]}), "lower to a higher"),
        (plan(2, deps_any={1: [-1]}), "deps_any[1] contains -1"),
    ]:
        try:
            native.run_plan(**bad, run=ok, skip=ok)
        except ValueError as e:
            assert msg in str(e), (msg, str(e))
        else:
            raise AssertionError(f"no ValueError for {msg}")
    for kwargs, msg in [(dict(jobs=0), "jobs"), (dict(timeout=0), "timeout"),
                        (dict(grace=1e300), "grace"), (dict(poll_ms=0), "poll_ms")]:
        try:
            native.run_plan(**plan(1), run=ok, skip=ok, **kwargs)
        except ValueError as e:
            assert msg in str(e), (msg, str(e))
        else:
            raise AssertionError(f"no ValueError for {kwargs}")


def test_empty_plan():
    stats = native.run_plan(**plan(0), run=print, skip=print, jobs=3, timeout=1)
    assert stats["status"] == [] and stats["interrupted"] is False


def test_callback_errors_are_recorded_not_raised():
    def skip(n, reason):
        raise RuntimeError(f"skip {n}")

    stats = native.run_plan(**plan(3, deps_ok={1: [0]}), run=lambda n, o: 42 if n == 2 else (n != 0, None),
                            skip=skip)
    assert stats["status"] == ["failed", "skipped", "failed"]
    errs = sorted(stats["internal_errors"])
    assert errs[0].startswith("node 1: RuntimeError('skip 1')")
    assert "returned 42, expected a tuple" in errs[1]


def test_interrupt_cancels_and_returns_then_runs_again():
    def step(n, objs):
        if n == 0:
            time.sleep(0.3)  # finishes within the grace period
        if n == 2:
            while True:  # never finishes: abandoned after grace
                pass
        return (True, None)

    threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    rec = Recorder(step)
    t0 = time.perf_counter()
    stats = native.run_plan(**plan(4, deps_ok={1: [0], 3: [2]}), run=rec.run, skip=rec.skip,
                            jobs=2, grace=0.5)
    wall = time.perf_counter() - t0
    assert stats["interrupted"] is True
    assert stats["status"] == ["ok", "cancelled", "cancelled", "cancelled"], stats
    assert rec.skipped == {1: "cancelled", 3: "cancelled"}
    assert wall < 1.2, wall
    # Callable again afterwards.
    stats = native.run_plan(**plan(2), run=lambda n, o: (True, None), skip=rec.skip, jobs=2)
    assert stats["status"] == ["ok", "ok"] and stats["interrupted"] is False


def long_chain(n=10_000, jobs=2):
    stats = None
    t0 = time.perf_counter()
    stats = native.run_plan(**plan(n, deps_ok={i: [i - 1] for i in range(1, n)},
                                   inputs={i: [i - 1] for i in range(1, n)}),
                            run=lambda node, objs: (True, node), skip=lambda n, r: None, jobs=jobs)
    wall = time.perf_counter() - t0
    assert stats["status"] == ["ok"] * n
    assert stats["peak_live_outputs"] == 1 and stats["released"] == n - 1
    return wall


def test_long_chain_finishes():
    long_chain()



def test_spill_and_reload_under_a_memory_budget():
    """Budget of 1 byte: always over it. Node 1 must wait until node 0's idle output is
    spilled; node 2 then receives the reloaded object."""
    calls = []

    def run(node, inputs):
        calls.append((node, [getattr(x, "value", x) for x in inputs]))
        return True, Out(f"out{node}"), 1000

    def spill(node, output):
        calls.append(("spill", node, output.value))
        return ("handle", output.value)

    def reload(node, handle):
        calls.append(("reload", node, handle))
        return Out(handle[1])

    stats = native.run_plan(
        **plan(3, inputs={2: [0]}, priority=[2.0, 1.0, 0.0], group=[0, 1, 2]), run=run, skip=lambda n, r: None,
        memory=1, spill=spill, reload=reload,
    )
    assert stats["status"] == ["ok"] * 3
    assert calls == [
        (0, []), ("spill", 0, "out0"), (1, []), ("reload", 0, ("handle", "out0")), (2, ["out0"]),
    ]
    assert (stats["spilled"], stats["reloaded"], stats["peak_live_bytes"]) == (1, 1, 1000)
    assert stats["memory_waits"] >= 1


if __name__ == "__main__":
    if native is None:
        sys.exit("stratum_jupyter._native is not built")
    tests = [(k, v) for k, v in sorted(globals().items()) if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        t0 = time.perf_counter()
        fn()
        print(f"ok   {name}  ({time.perf_counter() - t0:.3f} s)")
    serial, threaded, parallel = measure_gil_releasing_overlap()
    print(f"two GIL-releasing hash steps: jobs=1 {serial:.3f} s, jobs=2 {parallel:.3f} s "
          f"(two plain threads: {threaded:.3f} s)")
    for jobs in (1, 2):
        wall = long_chain(10_000, jobs)
        print(f"10,000-node chain, jobs={jobs}: {wall:.3f} s, {wall / 10_000 * 1e6:.1f} us/step")
    print(f"{len(tests)} passed, 0 failed")
