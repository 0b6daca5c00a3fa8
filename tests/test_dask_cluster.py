"""``--backend dask`` on a dask distributed cluster (issue 13): a ``LocalCluster`` of 2 worker
processes. Isolated pipelines run there one task per step — shared steps once, their outputs moved
between workers by dask — notebook cells in the kernel, and everything equals plain execution."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stratum_jupyter import Batch
from stratum_jupyter.compare import first_difference
from stratum_jupyter.verify import format_rows, plain_results, run_plain, verify_scripts

distributed = pytest.importorskip("distributed")

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((REPO_ROOT / "tests" / "corpus").glob("*.py"))

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame")


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster (worker processes, one thread each) and its client, the default one."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory) -> Path:
    """A directory laid out as the repository for the corpus scripts (their data under
    tests/corpus/data, their scratch folder): a private one, so other test runs in this
    working tree (which clear the repository's scratch folder) cannot interfere."""
    import shutil

    root = tmp_path_factory.mktemp("corpus-root")
    shutil.copytree(REPO_ROOT / "tests" / "corpus" / "data", root / "tests" / "corpus" / "data")
    return root


@pytest.fixture(autouse=True)
def _corpus_cwd(monkeypatch, corpus_root):
    monkeypatch.chdir(corpus_root)  # corpus scripts use paths relative to the repository root


def worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())


def test_fidelity_corpus_on_the_cluster_equals_plain_execution(client):
    paths = [str(p) for p in CORPUS]
    expected = plain_results(paths)
    rows = verify_scripts(paths, backend="dask", expected=expected)
    print(format_rows(rows))
    assert [r for r in rows if r.verdict != "identical"] == []
    assert "cv_scores_global_rng_kfold" in {r.name for r in rows}   # issue 13's array of scores


def test_steps_run_on_the_cluster_workers_and_shared_steps_run_once(client):
    """Both candidates share their loading step (which records the PID that ran it); each lives
    on its own cluster worker, so the second one received the first one's outputs from the other
    worker through dask instead of computing them."""
    load = "import os\nimport numpy as np\nloaded_by = os.getpid()\nbase = np.arange(6.0)\n"
    batch = Batch()
    batch.add(load + "score, ran_by = float(base.sum()), os.getpid()\n", name="first", isolated=True)
    batch.add(load + "score, ran_by = float(base.mean()), os.getpid()\n", name="second", isolated=True)
    batch.add("import os\nkernel_pid = os.getpid()\n", name="notebook_cell")  # not isolated
    run = batch.run(backend="dask")
    first, second = run["first"].namespace, run["second"].namespace
    assert (run["first"].status, run["second"].status) == ("ok", "ok")
    assert (first["score"], second["score"]) == (15.0, 2.5)
    workers = worker_pids(client)
    assert {first["ran_by"], second["ran_by"]} == workers        # one pipeline per worker
    assert os.getpid() not in workers
    assert first["loaded_by"] == second["loaded_by"] == first["ran_by"]   # computed once, moved
    assert run["notebook_cell"].namespace["kernel_pid"] == os.getpid()    # notebook cells: kernel
    assert run.stats["executed"] < run.stats["captured_steps"]
    assert not [k for k in client.futures if str(k).startswith("stratum-")]   # the run let go of all


def test_a_failing_candidate_fails_alone_with_its_traceback(client):
    good = "import numpy as np\nx = np.arange(4)\ntotal = int(x.sum())\n"
    bad = "import numpy as np\nx = np.arange(4)\nlimit = 2\nvalue = x[limit * 10]\nnever = 1\n"
    batch = Batch()
    batch.add(good, name="good", isolated=True)
    batch.add(bad, name="bad", isolated=True)
    run = batch.run(backend="dask")
    assert run["good"].status == "ok" and run["good"].namespace["total"] == 6
    failed, plain = run["bad"], run_plain(bad, "bad")
    assert failed.status == "failed"
    assert 'File "<cell bad>", line 4' in failed.error
    assert failed.error.strip().splitlines()[-1] == plain.error.strip().splitlines()[-1]
    assert first_difference(plain.namespace, failed.namespace) is None   # names bound before it


def test_scheduler_address_selects_the_cluster(client, tmp_path):
    """``Batch.run(scheduler=...)`` and ``stratum run --scheduler``: the dask backend on that cluster."""
    batch = Batch()
    batch.add("import os\npid = os.getpid()\n", name="p", isolated=True)
    run = batch.run(scheduler=client.scheduler.address)
    assert run["p"].namespace["pid"] in worker_pids(client)
    with pytest.raises(ValueError, match="dask backend"):
        Batch().run(backend="threads", scheduler=client.scheduler.address)
    script = tmp_path / "where.py"
    script.write_text("import os\npid = os.getpid()\nprint('pid', pid)\n")
    cli = [sys.executable, "-m", "stratum_jupyter.cli", "run", str(script)]
    proc = subprocess.run([*cli, "--scheduler", client.scheduler.address], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split("pid ")[1].split()[0]) in worker_pids(client)
    proc = subprocess.run([*cli, "--scheduler", client.scheduler.address, "--backend", "threads"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "dask backend" in proc.stderr


def test_magic_scheduler_option_and_notebook_cells_in_the_kernel(client):
    """``%stratum run --scheduler ADDRESS``: isolated cells on the cluster, a notebook cell in the
    kernel after them sees their names (written back in capture order); misuse is a UsageError."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    try:
        shell.run_cell("%load_ext stratum_jupyter")
        with capture_output():
            shell.run_cell("%%stratum -n remote --isolated\nimport os\nvalues = [1, 2, 3]\nwhere = os.getpid()\n")
            shell.run_cell("%%stratum -n local\nimport os\ntotal = sum(values)\nhere = os.getpid()\n")
            result = shell.run_cell(f"%stratum run --scheduler {client.scheduler.address}")
        assert result.error_in_exec is None, result.error_in_exec
        ns = shell.user_ns
        assert ns["where"] in worker_pids(client) and ns["here"] == os.getpid()
        assert ns["total"] == 6 and ns["stratum_results"]["local"].status == "ok"
        with capture_output():
            shell.run_cell("%%stratum --isolated\nx = 1\n")
            misuse = shell.run_cell(f"%stratum run --scheduler {client.scheduler.address} --backend threads")
        assert type(misuse.error_in_exec).__name__ == "UsageError" and "dask backend" in str(misuse.error_in_exec)
    finally:
        InteractiveShell.clear_instance()


def test_a_steps_stdlib_draws_are_its_own_while_other_threads_draw(monkeypatch):
    """distributed's event loop draws from the shared ``random`` generator (``random.choice``
    when it gathers a step's inputs) while a step runs: the corpus's stdlib-random candidate came
    out different on the cluster under CI. In a step's thread the module draws from the step's
    own generator."""
    import pickle
    import random
    import threading

    from stratum_jupyter.runtime import cluster_tasks

    for name in dir(random):
        monkeypatch.setattr(random, name, getattr(random, name))  # restored after the test
    random.seed(7)
    expected = [random.random(), random.sample(range(100), 5)]
    cluster_tasks._route_random()
    cluster_tasks._STEP_RANDOM.generator = random.Random()
    try:
        random.seed(7)
        first = random.random()
        others = threading.Thread(target=lambda: [random.choice("abc") for _ in range(1000)])
        others.start()
        others.join()
        drawn = [first, random.sample(range(100), 5)]
    finally:
        cluster_tasks._STEP_RANDOM.generator = None
    assert drawn == expected
    assert pickle.loads(pickle.dumps(random.shuffle)) is random.shuffle  # travels as random.shuffle
