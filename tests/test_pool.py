"""The worker pool: workers are forked warm from a fork server per thread budget (issue 9), end
alone when they crash, report how they ended, and nothing outlives the pool."""

from __future__ import annotations

import ast
import os
import signal
import sys
import time

import psutil
import pytest

from stratum_jupyter import transfer
from stratum_jupyter.runtime.pool import WorkerDied, WorkerPool, WorkerProcess


@pytest.fixture()
def pool():
    pool = WorkerPool()
    yield pool
    pool.shutdown()


def run(worker: WorkerProcess, code: str, path: list[str] | None = None) -> dict:
    """Run ``code`` (one statement) as a one-step pipeline in ``worker`` (``sys.path`` set to
    ``path``, by default empty); its namespace."""
    filename = "<cell pool-test>"
    worker.send("start", cwd=os.getcwd(), path=path or [], filename=filename, code=code)
    tree = ast.parse(code).body[0]
    names = sorted({t.id for t in ast.walk(tree) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)})
    reply = worker.request(
        "step", bindings=[], tree=tree, filename=filename, expression=False, copy=[], outputs=names,
        publish_to=None, inputs={}, rng=False,
    )
    assert reply["ok"], reply["error"]
    return transfer.loads(worker.request("collect", bindings=[])["data"])


def test_workers_are_forked_from_the_fork_server_with_its_imports(pool):
    worker = pool.acquire(1, ["wave"])  # a module nothing of ours imports
    server = pool.servers[1]
    assert psutil.Process(worker.pid).ppid() == server.process.pid
    assert run(worker, "warm = 'wave' in __import__('sys').modules")["warm"] is True
    assert psutil.Process(worker.pid).environ()["OMP_THREAD_LIMIT"] == "1"


def test_each_forked_worker_draws_its_own_unseeded_numbers(pool):
    first, second = pool.acquire(1, ["numpy"]), pool.acquire(1, ["numpy"])
    code = "draw = int(__import__('numpy').random.randint(1 << 62))"
    assert run(first, code)["draw"] != run(second, code)["draw"]


def test_a_crashed_worker_reports_its_exit_and_is_replaced(pool):
    worker = pool.acquire(1, [])
    with pytest.raises(WorkerDied, match="exited with code 3"):
        run(worker, "__import__('os')._exit(3)")
    assert not worker.alive()
    pool.release(worker, reuse=True)  # a dead worker is not taken back
    replacement = pool.acquire(1, [])
    assert replacement.pid != worker.pid
    assert run(replacement, "x = 6 * 7")["x"] == 42


def test_a_killed_worker_names_the_signal(pool):
    worker = pool.acquire(1, [])
    worker.send("start", cwd=os.getcwd(), path=[], filename="<cell>", code="")
    os.kill(worker.pid, signal.SIGSEGV)
    with pytest.raises(WorkerDied, match="SIGSEGV"):
        run(worker, "x = 1")


def test_a_dead_fork_server_takes_its_workers_and_is_replaced(pool):
    worker = pool.acquire(1, [])
    server = pool.servers[1]
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 5
    while worker.alive() and time.monotonic() < deadline:  # the parent-death signal ends it
        time.sleep(0.05)
    assert not worker.alive()
    fresh = pool.acquire(1, [])
    assert pool.servers[1] is not server
    assert run(fresh, "x = 'ok'")["x"] == "ok"


def test_another_thread_budget_retires_the_old_server(pool):
    pool.acquire(1, [])
    old = pool.servers[1]
    pool.acquire(2, [])
    assert set(pool.servers) == {2}
    assert old.process.poll() is not None


def test_shutdown_leaves_no_process(pool):
    workers = [pool.acquire(1, []) for _ in range(2)]
    pids = [w.pid for w in workers] + [pool.servers[1].process.pid]
    pool.shutdown()
    deadline = time.monotonic() + 5
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert alive == []


def _gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    """Those of ``pids`` still running after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    return alive


def test_loky_workers_and_subprocesses_a_worker_started_end_with_it(pool):
    """joblib's loky workers (``n_jobs=2`` in a candidate) idle for 300 s after their last task:
    orphaned by a worker that ended, they held their memory and the pipes they inherited (a
    ``stratum verify`` of a script with ``cross_val_score(..., n_jobs=2)`` took 5.5 minutes,
    waiting for their output pipe to close)."""
    ended = []
    for end in ("kill", "crash", "shutdown"):
        worker = pool.acquire(1, [])
        started = run(worker, "pids = (sorted(set(__import__('joblib').Parallel(n_jobs=2)("
                              "__import__('joblib').delayed(__import__('os').getpid)() for _ in range(8)))),"
                              " __import__('subprocess').Popen(['sleep', '60']).pid)", path=sys.path)["pids"]
        children = [*started[0], started[1]]
        assert worker.pid not in children and all(psutil.pid_exists(p) for p in children)
        if end == "kill":
            worker.kill()
        elif end == "crash":
            worker.send("start", cwd=os.getcwd(), path=[], filename="<cell>", code="")
            with pytest.raises(WorkerDied, match="exited with code 3"):
                run(worker, "__import__('os')._exit(3)")
        else:
            pool.shutdown()
        assert _gone(children) == [], end
        ended.append(end)
    assert ended == ["kill", "crash", "shutdown"]


def test_a_worker_ended_from_two_threads_at_once_is_reaped_once(pool):
    """The run's thread abandons a running step (kill) while the step's thread sees the pipe
    break (death): both reap; the pidfd is closed once and the exit is reported (CI saw EBADF)."""
    import threading

    for _ in range(5):
        worker = pool.acquire(1, [])
        worker.send("start", cwd=os.getcwd(), path=[], filename="<cell>", code="")
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def end(how):
            barrier.wait()
            try:
                how()
            except BaseException as error:  # noqa: BLE001 - collected for the assertion
                errors.append(error)

        threads = [threading.Thread(target=end, args=(f,)) for f in (worker.kill, worker.death, worker.kill)]
        for thread in threads:
            thread.start()
        barrier.wait()
        for thread in threads:
            thread.join()
        assert errors == []
        assert not worker.alive() and worker.reaped


def test_modules_a_worker_imports_lazily_are_imported_by_its_server_for_later_workers(pool):
    # First calls into the libraries import more of them (scikit-learn loads narwhals on its
    # first DataFrame): a worker reports those, and later forks start with them.
    worker = pool.acquire(1, [])
    filename = "<cell pool-test>"
    worker.send("start", cwd=os.getcwd(), path=list(sys.path), filename=filename, code="")
    code = "name = __import__('importlib').import_module('wave').__name__"
    reply = worker.request("step", bindings=[], tree=ast.parse(code).body[0], filename=filename, expression=False,
                           copy=[], outputs=["name"], publish_to=None, inputs={}, rng=False)
    assert reply["ok"], reply["error"]
    assert "wave" in reply["imported"], reply["imported"]
    pool.learn(1, reply["imported"])
    later = pool.acquire(1, [])
    assert run(later, "warm = 'wave' in __import__('sys').modules")["warm"] is True


def test_a_batch_teaches_the_server_what_its_candidates_imported(pool, monkeypatch):
    from stratum_jupyter import Batch
    from stratum_jupyter.runtime import pool as pool_module

    monkeypatch.setattr(pool_module, "_pool", pool)
    batch = Batch()
    batch.add("import importlib\nname = importlib.import_module('chunk').__name__\n", name="lazy", isolated=True)
    batch.add("import sys\nwarm = 'chunk' in sys.modules\n", name="later", isolated=True)
    results = batch.run(jobs=1)
    assert results["lazy"].namespace["name"] == "chunk"
    assert results["later"].namespace["warm"] is True  # its worker was forked after the server learned


_LOAD_EXT = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

cfg = Config()
cfg.HistoryManager.enabled = False
{config}
shell = InteractiveShell.instance(config=cfg)
import stratum_jupyter
from stratum_jupyter.runtime import pool

assert "pandas" not in sys.modules, "importing the package imports pandas"
seen = {{}}

class Watch:  # records whether a fork server was up when this process first imported pandas
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" and "servers" not in seen:
            seen["servers"] = {{t: s.imported for t, s in pool.get_pool().servers.items()}}

sys.meta_path.insert(0, Watch())
shell.run_cell("%load_ext stratum_jupyter", store_history=False)
print(repr({{t: sorted(m) for t, m in seen["servers"].items()}}))
"""


@pytest.mark.parametrize("config, expected", [
    ("", {1: ["numpy", "pandas", "sklearn"]}),  # one job per core: one thread per worker
    ("cfg.StratumMagics.jobs = 1", {os.cpu_count() or 1: ["numpy", "pandas", "sklearn"]}),
    ("cfg.StratumMagics.backend = 'threads'", {}),
])
def test_loading_the_extension_starts_the_fork_server_before_the_kernel_imports_pandas(config, expected):
    # The server's imports (~1 s) then overlap the kernel's own and the first captures, instead
    # of delaying the first run; a kernel configured for another backend starts none.
    import subprocess

    done = subprocess.run([sys.executable, "-c", _LOAD_EXT.format(config=config)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert ast.literal_eval(done.stdout.strip().splitlines()[-1]) == expected


def test_a_killed_kernel_takes_its_workers_children_along(tmp_path):
    """A kernel killed outright (SIGKILL: no atexit) ends its fork server and, through the OS, its
    workers; the server first ends each worker's process group, so what a candidate started (a
    subprocess, joblib's loky workers) does not outlive it."""
    import subprocess

    kernel = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path[:0] = {sys.path!r}
from stratum_jupyter.runtime.pool import WorkerPool
from tests.test_pool import run
pool = WorkerPool()  # kept: its fork server ends with it
worker = pool.acquire(1, [])
print(run(worker, "child = __import__('subprocess').Popen(['sleep', '60']).pid", path=sys.path)["child"], worker.pid, flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        child, worker = map(int, kernel.stdout.readline().split())
        assert psutil.pid_exists(child) and psutil.pid_exists(worker)
    finally:
        kernel.kill()
        kernel.wait()
    assert _gone([child, worker]) == []
