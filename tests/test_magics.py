"""The magics in a real IPython shell: capture, run, results, errors, bad input."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from stratum_jupyter import process_state
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


def fails(shell, text: str):
    """Run a cell that must fail with a UsageError; returns the captured output."""
    from IPython.core.error import UsageError

    with capture_output() as captured:
        result = shell.run_cell(text)
    assert isinstance(result.error_in_exec, UsageError), (text, result.error_in_exec)
    return captured


MISUSE = [
    ("%stratum run --jobs 0", "argument --jobs: must be a positive integer, got '0'"),
    ("%stratum run --jobs=abc", "argument --jobs: must be a positive integer, got 'abc'"),
    ("%stratum run --memory lots", "argument --memory: memory budget must look like 4GB"),
    ("%stratum run --timeout -1", "argument --timeout: must be a positive number of seconds"),
    ("%stratum run --backend nowhere", "argument --backend: invalid choice: 'nowhere'"),
    ("%stratum frobnicate", "unknown subcommand 'frobnicate'"),
    ("%stratum", "missing subcommand"),
    ("%stratum explain everything", "%stratum explain: takes no arguments"),
    ("%stratum run --cache-size lots", "argument --cache-size: cache size must look like 2GB"),
    ("%stratum cache", "the following arguments are required: action"),
    ("%stratum cache bogus", "argument action: invalid choice: 'bogus'"),
    ("%%stratum --bogus\nx = 2\n", "unrecognized arguments: --bogus"),
    ("%%stratum -n 1st\nx = 2\n", "pipeline name must be a Python identifier, got '1st'"),
    ("%%stratum -n later\n\n", "the cell is empty"),
    ("%%stratum -n timed --isolated\n%time y = 2\n", "line magics and shell escapes (%time, !pip, …) need IPython"),
]


@pytest.mark.parametrize("cell, message", MISUSE)
def test_misuse_raises_usage_error_and_loses_nothing(shell, cell, message):
    run(shell, "%%stratum -n keep --isolated\nx = 1\n")
    out = fails(shell, cell)
    assert message in out.stderr + out.stdout, out.stderr + out.stdout
    assert "usage: %" in out.stderr + out.stdout
    assert "pending pipelines: keep\n" in run(shell, "%stratum status").stdout
    run(shell, "%stratum run" + BACKEND)
    assert shell.user_ns["x"] == 1


def test_syntax_error_is_shown_like_ipython_and_nothing_is_captured(shell):
    run(shell, "%%stratum -n keep --isolated\nx = 1\n")
    out = fails(shell, "%%stratum -n bad\nok = 1\ndef broken(:\n    pass\n")
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stderr + out.stdout)  # IPython may colour it
    # IPython's syntax error display: the cell's own file name and line, the caret, no traceback
    assert "<cell bad>:2" in text and "def broken(:" in text and "SyntaxError" in text
    assert "Traceback" not in text and "nothing captured" in text
    assert "pending pipelines: keep\n" in run(shell, "%stratum status").stdout


def test_running_an_empty_batch_is_a_usage_error(shell):
    assert "the batch is empty" in fails(shell, "%stratum run").stderr
    assert "the batch is empty" in run(shell, "%stratum explain").stdout  # inspecting it is fine


def test_replacing_a_pending_pipeline_says_so(shell):
    out = run(shell, "%%stratum -n a --isolated\nx = 1\n")
    assert out.stdout == "captured a: 1 step, 0 shared with earlier cells · batch: 1 pipeline, 1 step, 1 unique\n"
    out = run(shell, "%%stratum -n a --isolated\nx = 2\ny = 3\n")
    assert out.stdout.splitlines()[0] == "replaced pending pipeline a"
    assert "batch: 1 pipeline, 2 steps" in out.stdout
    assert "replaced" not in run(shell, "%%stratum -n b --isolated\nz = 1\n").stdout
    out = run(shell, "%stratum run" + BACKEND)
    assert "ran 2 pipelines (2 ok): 3 steps, 3 executed" in out.stdout
    assert (shell.user_ns["x"], shell.user_ns["y"]) == (2, 3)
    # after the run, the name is free again: no longer pending, so nothing is "replaced"
    assert "replaced" not in run(shell, "%%stratum -n a --isolated\nx = 4\n").stdout


def test_a_single_pipeline_and_step_are_singular(shell):
    run(shell, "%%stratum -n only --isolated\nanswer = 42\n")
    out = run(shell, "%stratum run" + BACKEND)
    assert "ran 1 pipeline (1 ok): 1 step, 1 executed" in out.stdout


def test_help_documents_every_subcommand_and_option(shell):
    from stratum_jupyter.magics import SUBCOMMANDS

    line_help = shell.object_inspect_text("%stratum")
    for word in SUBCOMMANDS:
        assert f"\n  {word} " in line_help, word
    for option in ("--jobs N", "--timeout SECONDS", "--memory SIZE", "--backend NAME", "--cache <[DIR]>", "--cache-size SIZE"):
        assert f"\n  {option} " in line_help, option
    for trait in ("jobs", "timeout", "memory", "backend", "cache"):
        assert f"c.StratumMagics.{trait} =" in line_help, trait
    cell_help = shell.object_inspect_text("%%stratum")
    for option in ("-n NAME, --name NAME", "--isolated", "--run", "--show"):
        assert f"\n  {option} " in cell_help, option


def test_show_in_a_terminal_prints_the_graph_as_text(shell):
    run(shell, "%%stratum -n a --isolated\nbase = list(range(5))\ntotal = sum(base)\n")
    run(shell, "%%stratum -n b --isolated\nbase = list(range(5))\nbiggest = max(base)\n")
    out = run(shell, "%stratum show")
    assert "shared steps:" in out.stdout and "base = list(range(5))   (a, b)" in out.stdout
    assert "Widget" not in out.stdout and out.outputs == []  # no rich display, just text


SHARED_THEN_DROPPED = "import numpy as np\nbase = np.arange(100_000)\ntotal = int(base.sum())\nbase = None\n"


@pytest.mark.skipif(not HAS_NATIVE, reason="memory budgets need the Rust runtime")
def test_run_under_a_tiny_memory_budget_spills_and_says_so(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path))
    run(shell, f"%%stratum --isolated -n a\n{SHARED_THEN_DROPPED}")
    run(shell, f"%%stratum --isolated -n b\n{SHARED_THEN_DROPPED}print(total)\n")
    out = run(shell, "%stratum run --jobs 1 --memory 1 --backend threads")  # outputs held by the kernel
    assert "ran 2 pipelines (2 ok)" in out.stdout
    assert "spilled to disk" in out.stdout, out.stdout  # "1 output" or "N outputs", as timing has it
    results = shell.user_ns["stratum_results"]
    assert results.stats["spilled"] >= 1 and results.stats["reloaded"] >= 1
    assert results["b"].namespace == {"np": results["a"].namespace["np"], "base": None, "total": 4999950000}
    assert "4999950000" in out.stdout and [p for p in tmp_path.rglob("*") if "spill" in p.name] == []


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
    plain = {p.stem: run_plain(p.read_text(), f"<cell {p.stem}>") for p in scripts}  # compiled as the cells are
    reset()
    for path in scripts:
        run(shell, f"%%stratum --isolated -n {path.stem}\n{path.read_text()}")
    run(shell, "%stratum run" + BACKEND)
    results = shell.user_ns["stratum_results"]
    for name, reference in plain.items():
        assert results[name].status == reference.status, name
        # a value no process boundary can carry (an open file) is listed, never silently dropped
        expected = {n: v for n, v in reference.namespace.items() if n not in results[name].untransferable}
        assert first_difference(expected, results[name].namespace) is None, name
    assert {r.status for r in results.values()} == {"ok", "failed"}
    untransferable = {n: r.untransferable for n, r in results.items() if r.untransferable}
    files = {"json_roundtrip": ["fh"], "cross_validate_stacking_joblib": ["f"],  # `with open(...) as fh:`
             "fx_logging_a": ["handle"], "fx_logging_b": ["handle"],
             "fx_cached_helper_a": ["region_spend"], "fx_cached_helper_b": ["region_spend"]}  # an lru_cache wrapper
    assert untransferable == (files if HAS_NATIVE else {})  # worker processes only


def test_whole_corpus_as_notebook_cells_leaves_the_kernel_as_sequential_execution(shell, corpus):
    """Every corpus script as a plain `%%stratum` cell (shared kernel namespace), one run."""
    scripts, reset = corpus
    with process_state.restored():  # the batch starts from the settings the plain run found
        plain, per_cell = run_cells_plainly([(p.read_text(), False) for p in scripts], names=[p.stem for p in scripts])
    reset()
    with process_state.restored():  # nor does the batch leave them to later tests
        for path in scripts:
            run(shell, f"%%stratum -n {path.stem}\n{path.read_text()}")
        run(shell, "%stratum run" + BACKEND)
    results = shell.user_ns["stratum_results"]
    assert [results[p.stem].status for p in scripts] == [c["status"] for c in per_cell]
    names = {k: v for k, v in plain.items() if not k.startswith("_")}
    kernel = {k: shell.user_ns[k] for k in names if k in shell.user_ns}
    assert first_difference(names, kernel) is None


def test_run_defaults_come_from_the_ipython_configuration(tmp_path):
    from traitlets import TraitError
    from traitlets.config.loader import PyFileConfigLoader

    (tmp_path / "ipython_config.py").write_text(
        "c.StratumMagics.jobs = 1\n"
        "c.StratumMagics.timeout = 30.0\n"
        "c.StratumMagics.memory = '1GB'\n"
        "c.StratumMagics.backend = 'python'\n"
        f"c.StratumMagics.cache = {str(tmp_path / 'stratum-cache')!r}\n"
    )
    config = PyFileConfigLoader("ipython_config.py", path=str(tmp_path)).load_config()
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config, history_length=0)
    shell.history_manager.enabled = False
    try:
        run(shell, "%load_ext stratum_jupyter")
        magics = shell.magics_manager.registry["StratumMagics"]
        assert (magics.jobs, magics.timeout, magics.memory, magics.backend, magics.cache) == (1, 30.0, "1GB", "python", str(tmp_path / "stratum-cache"))
        calls = []
        real_run = magics.batch.run
        magics.batch.run = lambda **options: calls.append(options) or real_run(**options)
        run(shell, "%%stratum -n a --isolated\nx = 1\n")
        run(shell, "%stratum run")
        assert {k: calls[0][k] for k in ("jobs", "timeout", "memory", "backend", "cache")} == {
            "jobs": 1, "timeout": 30.0, "memory": "1GB", "backend": "python", "cache": str(tmp_path / "stratum-cache")}
        run(shell, "%%stratum -n b --isolated\ny = 2\n")
        run(shell, "%stratum run --jobs 2 --memory 2GB")  # options win over the configuration
        assert (calls[1]["jobs"], calls[1]["memory"], calls[1]["backend"]) == (2, "2GB", "python")
        assert shell.user_ns["y"] == 2
        run(shell, "%config StratumMagics.jobs = 3")
        assert magics.jobs == 3
        with pytest.raises(TraitError, match="StratumMagics.memory memory budget must look like 4GB"):
            magics.memory = "lots"
        with pytest.raises(TraitError, match="StratumMagics.jobs must be a positive integer, got '0'"):
            magics.jobs = 0
        assert (magics.memory, magics.jobs) == ("1GB", 3)
    finally:
        InteractiveShell.clear_instance()


def test_progress_bar_is_drawn_only_on_a_terminal(monkeypatch):
    import io

    from stratum_jupyter.progress import Progress, progress_kind

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((io.StringIO(), False), (Terminal(), True)):
        bar = Progress(2, stream=stream, interval=0)
        for status in ("running", "done", "running", "done"):
            bar({"status": status, "pipeline": "p1"})
        bar.close()
        assert ("\r" in stream.getvalue() and "\x1b[K" in stream.getvalue() and "2/2 steps" in stream.getvalue()) == drawn
        assert (stream.getvalue() == "") != drawn
    monkeypatch.setattr("sys.__stderr__", io.StringIO())
    assert progress_kind(None) is None
    monkeypatch.setattr("sys.__stderr__", Terminal())
    assert progress_kind(None) == "terminal"
    assert progress_kind(type("KernelShell", (), {"kernel": object()})()) == "widget"


def test_terminal_ipython_with_output_redirected_to_a_file_writes_no_control_characters(tmp_path):
    import subprocess
    import sys

    code = (
        "ip = get_ipython(); ip.run_cell('%load_ext stratum_jupyter'); "
        "[ip.run_cell(f'%%stratum --isolated -n c{i}\\nimport time\\ntime.sleep(0.3)\\nv = {i}\\n') for i in range(3)]; "
        "ip.run_cell('%stratum run --jobs 2'); print('values', v)"
    )
    log = tmp_path / "out.log"
    with log.open("wb") as out:
        done = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner", "--colors=nocolor", "-c", code],
                              stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=300)
    text = log.read_bytes()
    assert done.returncode == 0 and b"ran 3 pipelines (3 ok)" in text and b"values 2" in text, text.decode()
    assert b"\r" not in text and b"\x1b" not in text, text


@pytest.mark.skipif(not HAS_NATIVE, reason="worker processes need the Rust runtime")
def test_values_that_cannot_leave_a_worker_are_listed_not_dropped(shell):
    run(shell, "%%stratum --isolated -n gen\nsquares = (i * i for i in range(3))\nx = 1\n")
    out = run(shell, "%stratum run")
    result = shell.user_ns["stratum_results"]["gen"]
    assert result.status == "ok" and result.namespace == {"x": 1} and result.untransferable == ["squares"]
    assert "could not come back from workers: gen.squares" in out.stdout
    assert shell.user_ns["x"] == 1 and "squares" not in shell.user_ns


def test_cache_info_and_clear(shell, tmp_path, monkeypatch):
    from stratum_jupyter.cache import StepCache
    from stratum_jupyter.transfer import publish

    directory = tmp_path / "cache"
    cache = StepCache(directory)
    for key in ("a1", "b2"):
        publish(str(tmp_path / key), {"x": key * 1000}, [], None, {})
        assert cache.put(key, str(tmp_path / key), {})
    size = cache.info()["bytes"]
    assert run(shell, f"%stratum cache info --dir {directory}").stdout == f"step cache {directory}: 2 entries, {size / 1024:.1f} KB\n"
    assert run(shell, f"%stratum cache clear --dir {directory}").stdout == f"step cache {directory}: cleared, 2 entries removed\n"
    assert run(shell, f"%stratum cache info --dir {directory}").stdout == f"step cache {directory}: 0 entries, 0 bytes\n"
    assert cache.get("a1") is None
    # without --dir: the configured directory, else the default one
    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path / "default"))
    assert f"step cache {tmp_path / 'default' / 'steps'}: 0 entries" in run(shell, "%stratum cache info").stdout
    shell.magics_manager.registry["StratumMagics"].cache = str(directory)
    assert f"step cache {directory}: 0 entries" in run(shell, "%stratum cache info").stdout
    (tmp_path / "file").write_text("")
    assert "unusable (NotADirectoryError" in run(shell, f"%stratum cache info --dir {tmp_path / 'file' / 'x'}").stdout


def test_run_cache_options_reach_the_batch(shell, tmp_path):
    magics = shell.magics_manager.registry["StratumMagics"]
    calls = []
    real_run = magics.batch.run
    magics.batch.run = lambda **options: calls.append(options) or real_run(**options)
    for i, options in enumerate(["", f" --cache {tmp_path / 'given'} --cache-size 1GB", " --cache"]):
        run(shell, f"%%stratum -n p{i} --isolated\nx = {i}\n")
        assert "(1 ok)" in run(shell, "%stratum run" + BACKEND + options).stdout
    assert [(c["cache"], c["cache_size"]) for c in calls] == [(None, None), (str(tmp_path / "given"), "1GB"), (True, None)]
    magics.cache = str(tmp_path / "configured")  # the default of --cache, and what bare --cache means
    for i, options in enumerate(["", " --cache", f" --cache {tmp_path / 'given'}"]):
        run(shell, f"%%stratum -n q{i} --isolated\nx = {i}\n")
        assert "(1 ok)" in run(shell, "%stratum run" + BACKEND + options).stdout
    assert [c["cache"] for c in calls[3:]] == [str(tmp_path / "configured")] * 2 + [str(tmp_path / "given")]


THREAD_STATE_CELLS = [
    "import decimal\nimport numpy as np\nimport sklearn\nsklearn.set_config(transform_output='pandas')\n"
    "previous_err = np.seterr(divide='raise')\ndecimal.getcontext().prec = 6\n",
    "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
    "scaled_kind = type(StandardScaler().fit_transform(pd.DataFrame({'a': [1.0, 2.0, 4.0]}))).__name__\n"
    "seventh = str(decimal.Decimal(1) / decimal.Decimal(7))\n"
    "try:\n    np.array([1.0]) / 0\n    divide = 'ignored'\nexcept FloatingPointError:\n    divide = 'raised'\n",
]


@pytest.fixture
def thread_state():
    """The test thread's scikit-learn configuration, numpy error state and decimal context,
    restored afterwards (the cells under test change them, as a notebook's cells do)."""
    import decimal

    import numpy as np
    import sklearn

    config, err, context = sklearn.get_config(), np.geterr(), decimal.getcontext().copy()
    yield lambda: (sklearn.get_config()["transform_output"], np.geterr()["divide"], decimal.getcontext().prec)
    sklearn.set_config(**config)
    np.seterr(**err)
    decimal.setcontext(context)


@pytest.mark.parametrize("backend", ["processes", "threads", "python"])
def test_thread_state_carries_from_cell_to_cell_and_back_to_the_kernel(shell, thread_state, backend):
    """sklearn.set_config, np.seterr and the decimal context are per-thread: set in one notebook
    cell they hold in the next and in the kernel afterwards, whichever thread ran the cells."""
    if backend != "python" and not HAS_NATIVE:
        pytest.skip("Rust extension not built")
    initial = thread_state()
    plain, _ = run_cells_plainly([(code, False) for code in THREAD_STATE_CELLS])
    expected_after = thread_state()
    import decimal

    import numpy as np
    import sklearn

    sklearn.set_config(transform_output=initial[0])
    np.seterr(divide=initial[1])
    decimal.getcontext().prec = initial[2]
    for index, code in enumerate(THREAD_STATE_CELLS):
        run(shell, f"%%stratum -n state{index}\n{code}")
    run(shell, f"%stratum run --backend {backend}")
    assert {n: shell.user_ns[n] for n in ("scaled_kind", "seventh", "divide")} == {
        "scaled_kind": "DataFrame", "seventh": "0.142857", "divide": "raised"}
    assert {n: shell.user_ns[n] for n in ("scaled_kind", "seventh", "divide")} == {n: plain[n] for n in ("scaled_kind", "seventh", "divide")}
    assert thread_state() == expected_after == ("pandas", "raise", 6)
