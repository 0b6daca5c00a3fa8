"""Reuse across runs (issue 12): a step that ran before — same code, same inputs, same content of
the files it read — is bound from its kept outputs instead of running again, in the same
session and, with ``cache=``, in another process; the results stay those of plain execution."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from stratum_jupyter import Batch
from stratum_jupyter.compare import first_difference

from conftest import HAS_NATIVE, run_cells_plainly

pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")

CANDIDATE = textwrap.dedent(
    """
    import pandas as pd
    import numpy as np
    df = pd.read_csv(PATH)
    df["ratio"] = df["a"] / (df["b"] + 1)
    heavy = float(sum(np.sqrt(i) for i in range(300_000)))
    np.random.seed(3)
    noise = np.random.rand(len(df))
    score = float((df["ratio"] * {alpha} + noise).mean())
    print("score", round(score, 6))
    """
)


@pytest.fixture
def csv_path(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": rng.integers(0, 100, 300), "b": rng.integers(0, 50, 300)}).to_csv(path, index=False)
    return str(path)


def _cells(path: str, alphas) -> list[str]:
    return [f"PATH = {path!r}\n" + CANDIDATE.format(alpha=a) for a in alphas]


def _run(batch: Batch, cells: list[str], prefix: str, backend: str, **options):
    for i, code in enumerate(cells):
        batch.add(code, name=f"{prefix}{i}", isolated=True)
    events: list[tuple[str, str]] = []
    batch.add_listener(lambda e: events.append((e["pipeline"], e["status"])))
    return batch.run(jobs=2, backend=backend, **options), events


def _run_watching(batch: Batch, cells: list[str], prefix: str, labels: tuple[str, ...]):
    """Run ``cells`` with processes; how the steps whose label starts with each of ``labels``
    ended ("done": computed, "cached": bound from kept or shared outputs)."""
    for i, code in enumerate(cells):
        batch.add(code, name=f"{prefix}{i}", isolated=True)
    ids = {n["id"]: next(l for l in labels if n["label"].startswith(l))
           for n in batch.graph_view()["nodes"] if n["label"].startswith(labels)}
    seen: dict[str, list[str]] = {label: [] for label in labels}
    batch.add_listener(lambda e: e["node"] in ids and e["status"] in ("done", "cached") and seen[ids[e["node"]]].append(e["status"]))
    return batch.run(jobs=2, backend="processes"), seen


def _assert_plain(results, cells, prefix):
    _, plain = run_cells_plainly([(c, True) for c in cells])
    for i, reference in enumerate(plain):
        got = results[f"{prefix}{i}"]
        assert got.status == reference["status"] and got.stdout == reference["stdout"]
        assert first_difference(reference["namespace"], got.namespace) is None


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_a_later_run_in_the_session_binds_what_an_earlier_one_computed(csv_path, backend):
    batch = Batch()
    first, _ = _run(batch, _cells(csv_path, [1.0, 2.0]), "a", backend)
    assert first.stats["cache_hits"] == 0
    # round 2: the same candidates under new names, plus one whose last parameter changed
    cells = _cells(csv_path, [1.0, 2.0, 3.0])
    for i, code in enumerate(cells):
        batch.add(code, name=f"b{i}", isolated=True)
    heavy = next(n["id"] for n in batch.graph_view()["nodes"] if n["label"].startswith("heavy = "))
    seen: list[str] = []
    batch.add_listener(lambda e: e["node"] == heavy and seen.append(e["status"]))
    second = batch.run(jobs=2, backend=backend)
    assert second.stats["cache_hits"] >= 1
    assert "done" not in seen and seen.count("cached") == 3, seen  # kept from round 1, bound by all three
    _assert_plain(second, cells, "b")


def test_a_changed_input_file_is_never_served_from_the_cache(csv_path, tmp_path, monkeypatch):
    import pandas as pd

    import stratum_jupyter.execution as execution

    monkeypatch.setattr(execution, "worth_keeping", lambda seconds, nbytes: True)  # every step, the read included
    batch = Batch()
    _run(batch, _cells(csv_path, [1.0]), "a", "threads", cache=tmp_path / "steps")  # the patched policy applies in-process
    frame = pd.read_csv(csv_path)
    frame.loc[0, "a"] += 1
    frame.to_csv(csv_path, index=False)
    cells = _cells(csv_path, [1.0])
    again, events = _run(Batch(), cells, "b", "threads", cache=tmp_path / "steps")
    _assert_plain(again, cells, "b")  # a stale frame would give another score
    assert again.stats["cache_hits"] >= 3, "steps that do not read the file still come from the cache"
    assert again.stats["executed"] >= 4, "the read and every step after it that uses the frame ran again"


def test_the_persistent_cache_serves_another_process(csv_path, tmp_path):
    """Round 1 in a child process with cache=DIR; here, a new process, the same steps come from disk."""
    cache = tmp_path / "steps"
    cells = _cells(csv_path, [1.0, 2.0])
    child = textwrap.dedent(
        f"""
        from stratum_jupyter import Batch
        b = Batch()
        for i, code in enumerate({cells!r}):
            b.add(code, name=f"c{{i}}", isolated=True)
        r = b.run(jobs=2, cache={str(cache)!r})
        assert all(x.status == "ok" for x in r.values()), r
        """
    )
    subprocess.run([sys.executable, "-c", child], check=True, timeout=300)
    results, events = _run(Batch(), cells, "d", "processes", cache=cache)
    assert results.stats["cache_hits"] >= 2
    _assert_plain(results, cells, "d")


def test_what_cell_functions_compute_is_kept_and_comes_back_as_the_later_runs_own_objects():
    """A kept instance of a cell-defined class refers to its class as the step's input version,
    so in a later run it is an instance of that run's own class, not of a copy."""
    code = textwrap.dedent(
        """
        import numpy as np
        def slow_sum(n):
            return float(sum(np.sqrt(i) for i in range(n)))
        total = slow_sum(300_000)
        class Box:
            def __init__(self, value):
                self.value = value
        def make_box(n):
            slow_sum(n)
            return Box(n)
        box = make_box(300_000)
        same_class = isinstance(box, Box)
        """
    )
    batch = Batch()
    _run(batch, [code], "a", "processes")
    second, events = _run_watching(batch, [code], "b", ("total = ", "box = "))
    assert events == {"total = ": ["cached"], "box = ": ["cached"]}
    assert second["b0"].namespace["same_class"] is True and second["b0"].namespace["box"].value == 300_000
    assert second["b0"].namespace["total"] == batch.results["a0"].namespace["total"]


def test_outputs_holding_code_made_in_the_step_are_not_kept():
    """A function created by the step itself would travel by value: not kept for later runs."""
    code = "import numpy as np\nscale = (lambda s: (lambda v: v * s))(float(sum(np.sqrt(i) for i in range(300_000))))\nout = scale(2)\n"
    batch = Batch()
    _run(batch, [code], "a", "processes")
    second, events = _run_watching(batch, [code], "b", ("scale = ",))
    assert events == {"scale = ": ["done"]}, "computed again, not bound from the cache"
    _assert_plain(second, [code], "b")
