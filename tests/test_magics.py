"""The magics in a real IPython shell: capture, run, results, errors, bad input."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from stratum_jupyter.compare import first_difference

from conftest import HAS_NATIVE, run_cells_plainly


@pytest.fixture
def shell():
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance(history_length=0)
    sh.history_manager.enabled = False
    sh.run_cell("%load_ext stratum_jupyter")
    yield sh
    InteractiveShell.clear_instance()


def run(shell, text: str):
    with capture_output() as captured:
        result = shell.run_cell(text)
    assert result.error_in_exec is None, result.error_in_exec
    return captured


BACKEND = "" if HAS_NATIVE else " --backend python"

CELLS = [
    "import pandas as pd\nfrom sklearn.datasets import load_iris\niris = load_iris(as_frame=True).frame\niris['ratio'] = iris['sepal length (cm)'] / iris['sepal width (cm)']\nmean_ratio = iris['ratio'].mean()\nprint('mean', round(mean_ratio, 3))\n",
    "import pandas as pd\nfrom sklearn.datasets import load_iris\niris = load_iris(as_frame=True).frame\niris['ratio'] = iris['sepal length (cm)'] / iris['sepal width (cm)']\nmax_ratio = iris['ratio'].max()\n",
    "counts = iris['target'].value_counts().to_dict()\nmissing = iris['no such column']\nnever = 1\n",
]


def test_capture_prints_one_line_and_runs_nothing(shell):
    out = run(shell, f"%%stratum -n first --isolated\n{CELLS[0]}")
    assert out.stdout.startswith("captured first: 6 steps, 0 shared with earlier cells")
    assert "mean_ratio" not in shell.user_ns
    out = run(shell, f"%%stratum --isolated\n{CELLS[1]}")
    assert "captured p2: 5 steps, 4 shared with earlier cells" in out.stdout


def test_isolated_cells_equal_plain_execution(shell):
    for i, code in enumerate(CELLS[:2]):
        run(shell, f"%%stratum --isolated -n c{i}\n{code}")
    out = run(shell, "%stratum run" + BACKEND)
    assert "ran 2 pipelines (2 ok)" in out.stdout
    assert "mean 1.954" in out.stdout
    _, plain = run_cells_plainly([(c, True) for c in CELLS[:2]])
    results = shell.user_ns["stratum_results"]
    for i, reference in enumerate(plain):
        assert first_difference(reference["namespace"], results[f"c{i}"].namespace) is None
    assert shell.user_ns["max_ratio"] == plain[1]["namespace"]["max_ratio"]
    table = results.table()
    assert list(table.index) == ["c0", "c1"] and set(table["status"]) == {"ok"}


def test_kernel_cells_continue_from_each_other_like_a_notebook(shell):
    for i, code in enumerate(CELLS):
        run(shell, f"%%stratum -n k{i}\n{code}")
    out = run(shell, "%stratum explain")
    assert "3 pipelines, 14 steps captured" in out.stdout
    out = run(shell, "%stratum run" + BACKEND)
    results = shell.user_ns["stratum_results"]
    assert [results[f"k{i}"].status for i in range(3)] == ["ok", "ok", "failed"]
    assert "KeyError" in results["k2"].error and 'File "<cell k2>", line 2' in results["k2"].error
    assert set(results["k2"].namespace) == {"counts"}
    plain, _ = run_cells_plainly([(c, False) for c in CELLS])
    user = {k: v for k, v in shell.user_ns.items() if k in plain and not k.startswith("_")}
    assert first_difference({k: v for k, v in plain.items() if not k.startswith("_")}, user) is None
    assert "never" not in shell.user_ns


def test_bad_input_gets_a_clear_message_and_loses_nothing(shell):
    run(shell, "%%stratum -n keep --isolated\nx = 1\n")
    out = run(shell, "%%stratum --isolated\ndef broken(:\n")
    assert "SyntaxError" in out.stderr + out.stdout and "nothing captured" in out.stderr
    out = run(shell, "%%stratum --bogus\nx = 2\n")
    assert "usage" in out.stderr
    out = run(shell, "%stratum frobnicate")
    assert "unknown subcommand 'frobnicate'" in out.stderr and "usage" in out.stderr
    out = run(shell, "%stratum run --jobs=abc")
    assert "usage" in out.stderr
    out = run(shell, "%stratum status")
    assert "pending pipelines: keep" in out.stdout
    run(shell, "%stratum run" + BACKEND)
    assert shell.user_ns["x"] == 1
    out = run(shell, "%stratum run")
    assert "the batch is empty" in out.stdout


SHARED_THEN_DROPPED = "import numpy as np\nbase = np.arange(100_000)\ntotal = int(base.sum())\nbase = None\n"


@pytest.mark.skipif(not HAS_NATIVE, reason="memory budgets need the Rust runtime")
def test_run_under_a_tiny_memory_budget_spills_and_says_so(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path))
    run(shell, f"%%stratum --isolated -n a\n{SHARED_THEN_DROPPED}")
    run(shell, f"%%stratum --isolated -n b\n{SHARED_THEN_DROPPED}print(total)\n")
    out = run(shell, "%stratum run --jobs 1 --memory 1")
    assert "ran 2 pipelines (2 ok)" in out.stdout
    assert "outputs spilled to disk" in out.stdout, out.stdout
    results = shell.user_ns["stratum_results"]
    assert results.stats["spilled"] >= 1 and results.stats["reloaded"] >= 1
    assert results["b"].namespace == {"np": results["a"].namespace["np"], "base": None, "total": 4999950000}
    assert "4999950000" in out.stdout and list(tmp_path.iterdir()) == []


def test_run_flag_and_clear(shell):
    run(shell, "%%stratum --isolated --run -n now\nvalue = 6 * 7\n" if HAS_NATIVE else "%%stratum --isolated -n now\nvalue = 6 * 7\n")
    if not HAS_NATIVE:
        run(shell, "%stratum run --backend python")
    assert shell.user_ns["value"] == 42
    run(shell, "%stratum clear")
    assert len(shell.user_ns["stratum_results"]) == 0


@pytest.fixture
def corpus(monkeypatch):
    """Corpus scripts, with the file and RNG state reset so plain and batch runs start alike."""
    import random
    import shutil
    from pathlib import Path

    import numpy as np

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    state = np.random.get_state(), random.getstate()

    def reset() -> None:
        shutil.rmtree(".stratum_tmp", ignore_errors=True)
        np.random.set_state(state[0])
        random.setstate(state[1])

    reset()
    return sorted((root / "tests" / "corpus").glob("*.py")), reset


def test_whole_corpus_through_the_magics_equals_plain_execution(shell, corpus):
    """Every corpus script as a `%%stratum --isolated -n NAME` cell, one `%stratum run`."""
    from stratum_jupyter.verify import run_plain

    scripts, reset = corpus
    plain = {p.stem: run_plain(p.read_text(), p.stem) for p in scripts}
    reset()
    for path in scripts:
        run(shell, f"%%stratum --isolated -n {path.stem}\n{path.read_text()}")
    run(shell, "%stratum run" + BACKEND)
    results = shell.user_ns["stratum_results"]
    for name, reference in plain.items():
        assert results[name].status == reference.status, name
        assert first_difference(reference.namespace, results[name].namespace) is None, name
    assert {r.status for r in results.values()} == {"ok", "failed"}


def test_whole_corpus_as_notebook_cells_leaves_the_kernel_as_sequential_execution(shell, corpus):
    """Every corpus script as a plain `%%stratum` cell (shared kernel namespace), one run."""
    scripts, reset = corpus
    plain, per_cell = run_cells_plainly([(p.read_text(), False) for p in scripts])
    reset()
    for path in scripts:
        run(shell, f"%%stratum -n {path.stem}\n{path.read_text()}")
    run(shell, "%stratum run" + BACKEND)
    results = shell.user_ns["stratum_results"]
    assert [results[p.stem].status for p in scripts] == [c["status"] for c in per_cell]
    names = {k: v for k, v in plain.items() if not k.startswith("_")}
    kernel = {k: shell.user_ns[k] for k in names if k in shell.user_ns}
    assert first_difference(names, kernel) is None
