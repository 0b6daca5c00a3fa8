"""What an agent driving a Jupyter kernel sees: execute_reply status "error" for every misuse of
the magics, "ok" for correct use. One kernel for all checks."""

from __future__ import annotations

import pytest

from conftest import HAS_NATIVE
from kernel_client import execute

jupyter_client = pytest.importorskip("jupyter_client")
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")

MISUSE = {
    "%stratum run --jobs 0": "argument --jobs: must be a positive integer",
    "%stratum frobnicate": "unknown subcommand 'frobnicate'",
    "%%stratum --bogus\nx = 1\n": "unrecognized arguments: --bogus",
    "%%stratum -n bad\nx = 1\ndef broken(:\n    pass\n": "SyntaxError",
    "%stratum run --memory lots": "memory budget must look like 4GB",
    "%%stratum -n not-a-name\nx = 1\n": "pipeline name must be a Python identifier",
}


@pytest.fixture(scope="module")
def client():
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        reply, _ = execute(client, "%load_ext stratum_jupyter")
        assert reply["status"] == "ok"
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_execute_reply_is_error_for_misuse_and_ok_for_correct_use(client):
    reply, out = execute(client, "%%stratum -n keep --isolated\nanswer = 6 * 7\n")
    assert reply["status"] == "ok" and "captured keep: 1 step" in out, out
    for cell, message in MISUSE.items():
        reply, out = execute(client, cell)
        assert reply["status"] == "error", (cell, reply)
        assert message in out, (cell, out)
    reply, out = execute(client, "%stratum status")
    assert reply["status"] == "ok" and "pending pipelines: keep\n" in out, out  # misuse captured nothing
    reply, out = execute(client, "%stratum run --jobs 1 --memory 1GB")
    assert reply["status"] == "ok" and "ran 1 pipeline (1 ok)" in out, out
    reply, out = execute(client, "print(answer, stratum_results['keep'].status)")
    assert reply["status"] == "ok" and out == "42 ok\n"
    reply, out = execute(client, "%stratum run")
    assert reply["status"] == "error" and "the batch is empty" in out
