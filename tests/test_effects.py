"""Issue 11: no missed effect can change another pipeline or the kernel.

Notebook-cell sequences of ``tests/corpus/cells`` (cells separated by ``# %%``) run once plainly in
an IPython shell and once as ``%%stratum`` cells with one ``%stratum run``, for both backends and
1 and 2 jobs: statuses, printed output and the kernel namespace must be identical. (The isolated
effect pairs ``tests/corpus/fx_*.py`` run with the whole corpus in ``test_fidelity.py``.)
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from stratum_jupyter import Batch
from stratum_jupyter.compare import first_difference

from conftest import HAS_NATIVE

REPO_ROOT = Path(__file__).resolve().parent.parent
SEQUENCES = sorted((REPO_ROOT / "tests" / "corpus" / "cells").glob("*.py"))
SHELL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "stratum_results"})
CONFIGS = [("processes", 1), ("processes", 2), ("threads", 1), ("threads", 2)]

pytestmark = [
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame"),
    pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built"),
]


def cells_of(path: Path) -> list[str]:
    """A sequence's cells: the text between ``# %%`` lines (the header comment belongs to the first)."""
    return [c.strip("\n") + "\n" for c in re.split(r"^# %%[^\n]*\n", path.read_text(encoding="utf-8"), flags=re.M)]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    yield
    shutil.rmtree(REPO_ROOT / ".stratum_tmp", ignore_errors=True)


def fresh_shell() -> InteractiveShell:
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    random.seed(0)
    np.random.seed(0)
    return shell


def user_names(shell: InteractiveShell) -> dict[str, object]:
    return {k: v for k, v in shell.user_ns.items() if not k.startswith("_") and k not in SHELL_NAMES}


def run_plainly(cells: list[str]) -> tuple[dict, list[tuple[str, str]]]:
    """The reference: each cell run by IPython itself; per cell (status, last error line or stdout)."""
    shell = fresh_shell()
    per_cell = []
    for cell in cells:
        with capture_output() as out:
            result = shell.run_cell(cell)
        error = result.error_in_exec
        per_cell.append(("failed", f"{type(error).__name__}: {error}") if error is not None else ("ok", out.stdout))
    names = user_names(shell)
    InteractiveShell.clear_instance()
    return names, per_cell


def run_batched(cells: list[str], backend: str, jobs: int) -> tuple[dict, list[tuple[str, str]], dict]:
    """The cells captured with ``%%stratum`` and run as one batch; also the run's stats."""
    shell = fresh_shell()
    shell.run_cell("%load_ext stratum_jupyter")
    for i, cell in enumerate(cells):
        with capture_output():
            captured = shell.run_cell(f"%%stratum -n c{i}\n{cell}")
        assert captured.error_in_exec is None, captured.error_in_exec
    with capture_output():
        ran = shell.run_cell(f"%stratum run --backend {backend} --jobs {jobs}")
    assert ran.error_in_exec is None, ran.error_in_exec
    results = shell.user_ns["stratum_results"]
    per_cell = []
    for i in range(len(cells)):
        result = results[f"c{i}"]
        last = (result.error or "").strip().splitlines()[-1:] or [""]
        per_cell.append((result.status, last[0] if result.status != "ok" else result.stdout))
    names = user_names(shell)
    stats = dict(results.stats)
    InteractiveShell.clear_instance()
    return names, per_cell, stats


@pytest.fixture(scope="module")
def plain_sequences():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        return {path.stem: run_plainly(cells_of(path)) for path in SEQUENCES}


def test_every_class_has_two_sequences_and_two_effect_pairs():
    classes = {p.stem.split("_")[0] for p in SEQUENCES}
    assert classes == {"wrappers", "container", "global", "stateful", "library", "kernel"}
    for kind in classes:
        assert sum(p.stem.startswith(kind) for p in SEQUENCES) >= 2, kind
    pairs = {p.stem.rsplit("_", 1)[0] for p in (REPO_ROOT / "tests" / "corpus").glob("fx_*_a.py")}
    assert len(pairs) >= 7
    for pair in pairs:  # the second of a pair merges its first statements with the first's
        batch = Batch()
        for side in "ab":
            batch.add((REPO_ROOT / "tests" / "corpus" / f"{pair}_{side}.py").read_text(), name=side, isolated=True)
        assert batch.graph().shared_with_earlier(1) >= 3, pair


@pytest.mark.parametrize("backend, jobs", CONFIGS, ids=[f"{b}-{j}" for b, j in CONFIGS])
@pytest.mark.parametrize("path", SEQUENCES, ids=lambda p: p.stem)
def test_notebook_sequence_equals_plain_ipython(plain_sequences, path: Path, backend: str, jobs: int):
    expected_names, expected_cells = plain_sequences[path.stem]
    names, per_cell, _ = run_batched(cells_of(path), backend, jobs)
    assert per_cell == expected_cells
    assert first_difference(expected_names, names) is None


# --------------------------------------------------------------------------- the guard

SABOTAGE_SCRIPTS = {
    "drops": "import pandas as pd\ndf = pd.read_csv('tests/corpus/data/customers.csv')\n"
             "df.drop(columns=['region'], inplace=True)\ncolumns = list(df.columns)\nprint(len(columns))\n",
    "renames": "import pandas as pd\ndf = pd.read_csv('tests/corpus/data/customers.csv')\n"
               "df.drop(columns=['region'], inplace=True)\ndf.rename(columns={'age': 'years'}, inplace=True)\n"
               "columns = list(df.columns)\nprint(len(columns))\n",
    "reads": "import pandas as pd\ndf = pd.read_csv('tests/corpus/data/customers.csv')\ncolumns = list(df.columns)\n",
}
SABOTAGE_CELLS = [
    "import pandas as pd\ndf = pd.read_csv('tests/corpus/data/customers.csv')\nwidth = len(df.columns)\n",
    "df.drop(columns=['region'], inplace=True)\n",
    "width = len(df.columns)\nprint(width)\n",
]


@pytest.fixture
def inplace_counts_as_pure(monkeypatch):
    """Sabotage: the analysis no longer sees that `inplace=True` changes the receiver."""
    import stratum_jupyter.capture as capture
    import stratum_jupyter.effects as effects

    monkeypatch.setattr(effects, "INPLACE_KEYWORDS", frozenset())
    monkeypatch.setattr(capture, "_ANALYSES", {})  # analyses remembered with the real knowledge base
    batch = Batch()
    batch.add("df.drop(columns=['a'], inplace=True)", name="probe")
    assert not batch.pending[0].steps[0].mutates, "the sabotage must blind the analysis"


@pytest.mark.parametrize("backend, jobs", CONFIGS, ids=[f"{b}-{j}" for b, j in CONFIGS])
def test_guard_repairs_what_the_sabotaged_analysis_misses_in_isolated_pipelines(inplace_counts_as_pure, backend, jobs):
    from stratum_jupyter.verify import run_plain

    plain = {name: run_plain(code, name) for name, code in SABOTAGE_SCRIPTS.items()}
    batch = Batch()
    for name, code in SABOTAGE_SCRIPTS.items():
        batch.add(code, name=name, isolated=True)
    run = batch.run(backend=backend, jobs=jobs)
    for name, reference in plain.items():
        assert run[name].status == reference.status == "ok"
        assert first_difference(reference.namespace, run[name].namespace) is None, name
        assert run[name].stdout == reference.stdout
    guard = run.stats["guard"]
    assert guard is not None and any("drops line 3 changed df" == c for c in guard["changes"]), guard
    # The drop is shared by the two droppers, and `reads` shares the frame they changed.
    assert sorted(guard["rerun"]) == ["drops", "reads", "renames"]
    assert json.loads(run.to_json())["guard"] == guard
    assert run.stats["guard_seconds"] > 0  # fingerprinting is timed, in the kernel and in workers


@pytest.mark.parametrize("backend, jobs", CONFIGS, ids=[f"{b}-{j}" for b, j in CONFIGS])
def test_guard_repairs_what_the_sabotaged_analysis_misses_in_kernel_cells(inplace_counts_as_pure, backend, jobs):
    expected_names, expected_cells = run_plainly(SABOTAGE_CELLS)
    names, per_cell, stats = run_batched(SABOTAGE_CELLS, backend, jobs)
    assert per_cell == expected_cells
    assert first_difference(expected_names, names) is None
    assert stats["guard"] == {"changes": ["c1 line 1 changed df"], "rerun": [], "written_twice": []}  # kernel cells are not run twice


@pytest.mark.parametrize("backend, jobs", CONFIGS, ids=[f"{b}-{j}" for b, j in CONFIGS])
def test_a_pipeline_run_again_by_the_guard_writes_its_files_as_plain_execution(inplace_counts_as_pure, backend, jobs, tmp_path):
    # The re-run repeats every statement: the files it writes get their content from before the
    # run back first, so an append is written once and a move finds its file, as in plain runs.
    from stratum_jupyter.verify import run_plain

    def scripts(directory: Path) -> dict[str, str]:
        (directory / "kept.txt").write_text("from before\n")
        appends = (f"with open({str(directory / 'log.txt')!r}, 'a') as log:\n    log.write(str(len(df.columns)) + '\\n')\n"
                   f"import os\nos.replace({str(directory / 'kept.txt')!r}, {str(directory / 'moved.txt')!r})\n")
        return {name: code + (appends if name == "drops" else "") for name, code in SABOTAGE_SCRIPTS.items()}

    (tmp_path / "plain").mkdir()
    (tmp_path / "batch").mkdir()
    plain = {name: run_plain(code, name) for name, code in scripts(tmp_path / "plain").items()}
    batch = Batch()
    for name, code in scripts(tmp_path / "batch").items():
        batch.add(code, name=name, isolated=True)
    run = batch.run(backend=backend, jobs=jobs)
    assert sorted(run.stats["guard"]["rerun"]) == ["drops", "reads", "renames"] and run.stats["guard"]["written_twice"] == []
    assert {n: r.status for n, r in run.items()} == {n: p.status for n, p in plain.items()}
    for name in ("log.txt", "moved.txt"):
        assert (tmp_path / "batch" / name).read_text() == (tmp_path / "plain" / name).read_text(), name
    assert len((tmp_path / "plain" / "log.txt").read_text().splitlines()) == 1
    assert not (tmp_path / "batch" / "kept.txt").exists()


def test_without_the_guard_the_sabotage_shows(inplace_counts_as_pure, monkeypatch):
    """The check above can fail: with the guard also switched off, the kernel keeps a stale width."""
    import stratum_jupyter.guard as guard

    monkeypatch.setattr(guard, "changed", lambda namespace, before, rebound: [])
    expected_names, _ = run_plainly(SABOTAGE_CELLS)
    names, _, stats = run_batched(SABOTAGE_CELLS, "threads", 1)
    assert stats["guard"] is None
    assert expected_names["width"] == names["width"] - 1


def test_index_lookups_are_no_change_to_the_guard():
    """``X.loc[idx]`` fills ``idx``'s lookup cache: the guard saw "changed" and re-ran a whole
    60-candidate batch without sharing (the agent-session workload at full size)."""
    import pandas as pd

    from stratum_jupyter.guard import fingerprint

    frame = pd.DataFrame({"a": np.arange(100)}, index=np.arange(100) * 3)
    for index in (frame.sample(n=50, random_state=0).index, pd.MultiIndex.from_arrays([[1, 2], ["x", "y"]])):
        before = fingerprint(index)
        index.get_loc(index[1]), index.is_unique, index.is_monotonic_increasing
        assert fingerprint(index) == before
    before = fingerprint(frame.index)
    frame.index = frame.index + 1  # a new index: a change
    assert fingerprint(frame.index) != before


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_a_shared_sample_index_runs_without_a_guard_alarm(backend):
    from stratum_jupyter.verify import run_plain

    head = ("import numpy as np\nimport pandas as pd\n"
            "X = pd.DataFrame({'a': np.arange(500), 'b': np.arange(500) % 7})\n"
            "sample_idx = X.sample(n=200, random_state=0).index\n"
            "X = X.loc[sample_idx]\n")
    scripts = {"s1": head + "total = int(X['a'].sum())\n", "s2": head + "total = int(X['b'].sum())\n"}
    batch = Batch()
    for name, code in scripts.items():
        batch.add(code, name=name, isolated=True)
    run = batch.run(backend=backend, jobs=2)
    assert run.stats["guard"] is None
    for name, code in scripts.items():
        assert first_difference(run_plain(code, name).namespace, run[name].namespace) is None


PLAIN_HELPERS = REPO_ROOT / "tests" / "corpus" / "fx_plain_helper_a.py"


def _step(pipeline, prefix: str):
    return next(s for s in pipeline.steps if s.source.startswith(prefix))


def test_plain_helpers_are_analysed_not_feared():
    """A cell function that only builds objects from its arguments changes nothing it is given:
    the pipeline it builds holds its arguments, not the function, and fitting that pipeline in a
    fold loop changes neither the function nor the frames (agent candidates' usual shape)."""
    pipeline = Batch().add(PLAIN_HELPERS.read_text(), name="a", isolated=True)
    build = _step(pipeline, "model = Pipeline")
    assert build.mutates == frozenset() and dict(build.aliases) == {"model": frozenset({"num_cols"})}
    assert dict(_step(pipeline, "view = pick(df)").aliases) == {"view": frozenset({"df"})}
    assert dict(_step(pipeline, "X = df[").aliases) == {"X": frozenset({"df"})}  # not the column list
    loop = _step(pipeline, "for train_idx")
    assert loop.mutates == frozenset({"model", "fold_scores"})


def test_helpers_reading_globals_or_changing_arguments_stay_unknown():
    code = ("import pandas as pd\ndf = pd.DataFrame({'a': [1]})\n"
            "def get():\n    return df\n"
            "def grow(frame):\n    frame['b'] = 2\n    return frame\n"
            "x = get()\ny = grow(df)\n")
    pipeline = Batch().add(code, name="a", isolated=True)
    kinds = {name: kind for name, _, kind in _step(pipeline, "def get").resolved}
    assert kinds.get("get") is None
    assert _step(pipeline, "y = grow(df)").mutates >= {"df"}


def test_a_fold_loop_around_a_helper_built_pipeline_is_kept_for_the_next_run(tmp_path):
    """Its outputs used to include the helper (cell code travels by value and is never kept), so
    every later run fitted the folds again."""
    runs = []
    for _ in range(2):
        batch = Batch()
        batch.add(PLAIN_HELPERS.read_text(), name="a", isolated=True)
        runs.append(batch.run(cache=tmp_path))
    assert runs[0]["a"].status == runs[1]["a"].status == "ok"
    assert runs[1].stats["executed"] == 2  # the two definitions: functions are never kept
    assert first_difference(runs[0]["a"].namespace, runs[1]["a"].namespace) is None


def test_a_fitted_model_holds_its_training_data_without_changing_it():
    """k-neighbours and kernel models keep the very array they were fitted on: the model holds
    X (a later write to X reaches it, so they are copied together), but fitting changes only
    the model (see fx_fit_keeps_array_a/b in the corpus)."""
    code = ("import numpy as np\nfrom sklearn.neighbors import KNeighborsRegressor\n"
            "X = np.ones((5, 2))\ny = np.ones(5)\nknn = KNeighborsRegressor(n_neighbors=1)\n"
            "knn.fit(X, y)\nsearch = KNeighborsRegressor(n_neighbors=2).fit(X, y)\n"
            "chain = knn.fit(X, y)\nrows = []\nrows.append(X)\n")
    pipeline = Batch().add(code, name="a", isolated=True)
    fit = _step(pipeline, "knn.fit")
    assert fit.mutates == frozenset({"knn"}) and dict(fit.aliases) == {"knn": frozenset({"X", "y"})}
    chained = _step(pipeline, "search =")
    assert chained.mutates == frozenset() and dict(chained.aliases) == {"search": frozenset({"X", "y"})}
    returned = _step(pipeline, "chain =")  # the model itself (may be knn) holding X and y
    assert returned.mutates == frozenset({"knn", "chain"})
    assert dict(returned.aliases) == {"knn": frozenset({"X", "y"}), "chain": frozenset({"knn", "X", "y"})}
    stored = _step(pipeline, "rows.append")
    assert stored.mutates == frozenset({"rows"}) and dict(stored.aliases) == {"rows": frozenset({"X"})}
