"""Interrupting a real Jupyter kernel during `%stratum run`."""

from __future__ import annotations

import time

import pytest

from conftest import HAS_NATIVE
from kernel_client import execute

jupyter_client = pytest.importorskip("jupyter_client")
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")



def test_interrupt_returns_quickly_and_keeps_completed_results(kernel, tmp_path):
    manager, client = kernel
    done = tmp_path / "quick.done"
    execute(client, "%load_ext stratum_jupyter")
    execute(client, f"%%stratum --isolated -n quick\nanswer = 6 * 7\nopen({str(done)!r}, 'w').close()\n")
    execute(client, "%%stratum --isolated -n slow1\nimport time\ntime.sleep(60)\n")
    execute(client, "%%stratum --isolated -n slow2\nx = 0\nwhile True:\n    x += 1\n")
    msg_id = client.execute("%stratum run --jobs 2")
    deadline = time.monotonic() + 120  # interrupt once "quick" is through (a loaded machine is slow to start workers)
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.exists(), "the quick pipeline never ran"
    time.sleep(1.0)  # its last step's reply reaches the kernel
    start = time.monotonic()
    manager.interrupt_kernel()
    while True:  # wait for the run cell to finish
        reply = client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.monotonic() - start
    # the running steps get INTERRUPT_GRACE (4 s) to stop, then their workers are ended: well
    # under the 30 s a hung run would take, with room for a loaded CI machine (5.07 s was seen)
    assert elapsed < 8.0, f"interrupt took {elapsed:.1f} s"
    _, out = execute(client, "1 + 1")
    assert out == "2"
    _, out = execute(client, "print({n: r.status for n, r in stratum_results.items()}, answer)")
    assert "Error" not in out, out
    statuses = eval(out.rsplit(" ", 1)[0])
    assert statuses["quick"] == "ok" and out.strip().endswith("42")
    assert statuses["slow1"] == statuses["slow2"] == "cancelled"
