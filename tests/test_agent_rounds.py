"""An agent's rounds through one kernel connection (issue 12): round 1 runs N candidates with
``--cache DIR``; round 2 submits them again plus a few whose final model parameters changed;
round 3 repeats round 2 after a kernel restart. Kept steps mean rounds 2 and 3 execute a small
fraction of round 1's steps (counted, not timed: timings belong to ``stratum bench``), and every
result equals plain execution."""

from __future__ import annotations

import json
import re

import pytest

from conftest import HAS_NATIVE
from kernel_client import execute

jupyter_client = pytest.importorskip("jupyter_client")
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")

CANDIDATES, CHANGED, ROWS = 12, 2, 20_000


def changed_final_model(code: str) -> str:
    """The candidate with the first integer parameter of its final model raised by one."""
    lines = code.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("model = "))
    lines[index] = re.sub(r"=(\d+)", lambda m: f"={int(m.group(1)) + 1}", lines[index], count=1)
    return "\n".join(lines) + "\n"


def _round(client, label: str, cells: list[tuple[str, str]], cache) -> dict:
    """Capture ``cells`` and run them with the step cache; the run's step counts."""
    assert execute(client, "%load_ext stratum_jupyter")[0]["status"] == "ok"
    for name, code in cells:
        reply, text = execute(client, f"%%stratum --isolated -n {label}_{name}\n{code}")
        assert reply["status"] == "ok", text
    reply, text = execute(client, f"%stratum run --cache {cache}", timeout=1800)  # generous: a loaded machine
    assert reply["status"] == "ok", text
    reply, text = execute(client, "import json; print(json.dumps(stratum_results.stats))")
    assert reply["status"] == "ok", text
    return json.loads(text.strip().splitlines()[-1])


def _equal_to_plain(client, label: str, cells: list[tuple[str, str]]) -> dict:
    code = (
        "import json as _json\n"
        "from stratum_jupyter.compare import first_difference as _fd\n"
        "from stratum_jupyter.verify import run_plain as _plain\n"
        f"_cells = {dict(cells)!r}\n"
        "_out = {}\n"
        "for _n, _c in _cells.items():\n"
        "    _p, _r = _plain(_c, _n), stratum_results[%r + '_' + _n]\n"
        "    _out[_n] = [_p.status == _r.status, _fd(_p.namespace, _r.namespace)]\n"
        "print(_json.dumps(_out))\n" % label
    )
    reply, text = execute(client, code, timeout=600)
    assert reply["status"] == "ok", text
    return json.loads(text)


def test_rounds_reuse_kept_steps_within_a_session_and_after_a_restart(tmp_path):
    from stratum_jupyter.bench.generators import generate

    workload = generate("agent-session", rows=ROWS, scripts=CANDIDATES, seed=0)
    workload.write(tmp_path)
    cache = tmp_path / "step-cache"
    first = [(s.name, s.code) for s in workload.scripts]
    second = first + [(f"{name}_changed", changed_final_model(code)) for name, code in first[:CHANGED]]
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        round1 = _round(client, "r1", first, cache)
        round2 = _round(client, "r2", second, cache)
        assert _equal_to_plain(client, "r2", second) == {n: [True, None] for n, _ in second}
        client.stop_channels()
        manager.restart_kernel(now=True)
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        round3 = _round(client, "r3", second, cache)
        assert _equal_to_plain(client, "r3", second) == {n: [True, None] for n, _ in second}
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert round1["executed"] >= round1["unique_steps"] > 0, round1  # nothing kept yet
    # only the changed candidates' final-model steps (and what they need that was not kept) run again
    assert round2["captured_steps"] > round1["captured_steps"], (round1, round2)
    assert 0 < round2["executed"] <= 0.35 * round1["executed"], (round1, round2)
    assert 0 < round3["executed"] <= 0.35 * round1["executed"], (round1, round3)
