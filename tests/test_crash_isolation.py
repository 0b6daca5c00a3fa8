"""One bad candidate never costs the others or the kernel (issue 9), in a real Jupyter kernel.

Candidates that segfault, call ``os._exit``, sleep in C and hold the GIL in C run next to
healthy ones under ``--timeout 3``: the healthy ones equal plain execution, the bad ones get
"crashed" / "timeout" with causes that say why, the run returns within 10 s, the kernel keeps
answering, nothing of the run executes afterwards, and no worker outlives the kernel.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest import HAS_NATIVE
from kernel_client import execute

jupyter_client = pytest.importorskip("jupyter_client")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")

BAD = {
    "segfaults": "import ctypes\nbefore = 1\nctypes.string_at(0)\n",
    "exits": "import os\nbefore = 2\nos._exit(3)\n",
    "sleeps_in_c": "import ctypes\nbefore = 3\nctypes.CDLL(None).sleep(100)\n",
    "holds_gil": "import re\nbefore = 4\nre.match(r'(a+)+$', 'a' * 40 + 'b')\n",
}
HEALTHY = {
    f"healthy{seed}": (
        "import numpy as np\nimport pandas as pd\n"
        f"rng = np.random.default_rng({seed})\n"
        "df = pd.DataFrame(rng.normal(size=(200, 3)), columns=list('abc'))\n"
        "df['d'] = df.a * df.b\n"
        "score = float(df.d.mean())\n"
    )
    for seed in range(3)
}



def _value(client, expression: str):
    reply, text = execute(client, f"import json as _json\nprint(_json.dumps({expression}))")
    assert reply["status"] == "ok", text
    return json.loads(text)


def _busy(pids: list[int], seconds: float = 1.0) -> list[int]:
    """Processes among ``pids`` that used CPU during ``seconds``."""
    procs = [p for p in (_process(pid) for pid in pids) if p is not None]
    before = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
    time.sleep(seconds)
    return [p.pid for p in procs if p.is_running() and sum(p.cpu_times()[:2]) - before[p.pid] > 0.05]


def _process(pid: int):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def test_crashes_hangs_and_gil_holders_end_only_their_own_pipeline(kernel):
    manager, client = kernel
    assert execute(client, "%load_ext stratum_jupyter")[0]["status"] == "ok"
    for name, code in {**BAD, **HEALTHY}.items():
        reply, text = execute(client, f"%%stratum --isolated -n {name}\n{code}")
        assert reply["status"] == "ok", text

    start = time.monotonic()
    reply, text = execute(client, "%stratum run --timeout 3", timeout=60)
    elapsed = time.monotonic() - start
    assert reply["status"] == "ok", text
    assert elapsed < 10, f"the run took {elapsed:.1f} s"

    results = _value(client, "{n: [r.status, r.cause or ''] for n, r in stratum_results.items()}")
    assert results["segfaults"][0] == "crashed" and "SIGSEGV" in results["segfaults"][1]
    assert "line 3" in results["segfaults"][1] and "ctypes.string_at(0)" in results["segfaults"][1]
    assert results["exits"][0] == "crashed" and "exited with code 3" in results["exits"][1]
    assert results["sleeps_in_c"][0] == "timeout" and "time limit" in results["sleeps_in_c"][1]
    assert results["holds_gil"][0] == "timeout" and "time limit" in results["holds_gil"][1]

    # the healthy candidates equal plain execution, compared inside the kernel
    plain = (
        "from stratum_jupyter.compare import first_difference as _fd\n"
        "from stratum_jupyter.verify import run_plain as _run_plain\n"
        f"_cells = {HEALTHY!r}\n"
        "_diffs = {n: _fd(_run_plain(c, n).namespace, stratum_results[n].namespace) for n, c in _cells.items()}\n"
        "print(_json.dumps({n: [stratum_results[n].status, d] for n, d in _diffs.items()}))"
    )
    reply, text = execute(client, "import json as _json\n" + plain)
    assert reply["status"] == "ok", text
    assert json.loads(text) == {n: ["ok", None] for n in HEALTHY}
    assert _value(client, "1 + 1") == 2, "the kernel still answers"

    # five seconds later nothing of the run is executing (idle warm workers may stay)
    time.sleep(5)
    kernel_pid = manager.provisioner.process.pid
    children = [c.pid for c in psutil.Process(kernel_pid).children(recursive=True)]
    assert set(_value(client, "__import__('stratum_jupyter.runtime.pool', fromlist=['x']).get_pool().pids()")) <= set(children)
    assert _busy(children) == [], "a worker of the run is still executing"

    manager.shutdown_kernel(now=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(pid) and _process(pid) and _process(pid).status() != psutil.STATUS_ZOMBIE for pid in children):
        time.sleep(0.2)
    survivors = [pid for pid in children if psutil.pid_exists(pid) and _process(pid) and _process(pid).status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], "workers outlived the kernel"
