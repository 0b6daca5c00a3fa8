"""``--smoke ROWS``: candidates first run on the first ROWS rows of the files they read; the report
lists those that failed there, and the full run alone decides statuses, as plain execution would."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pandas.io.parsers
import pytest
from IPython.core.error import UsageError

from conftest import HAS_NATIVE, run_cells_plainly
from stratum_jupyter import Batch
from stratum_jupyter.magics import RUN_PARSER
from stratum_jupyter.smoke import run_smoke, sampled_readers

ROWS = 20
HEAD = "import pandas as pd\ndf = pd.read_csv('data.csv')\n"
CELLS = {  # name → (code, isolated)
    # crashes early, on the sample too: a wrong column name
    "early": (HEAD + "total = df['prize'].sum()\nprint('never')\n", True),
    # crashes late: a value past the sample's rows does not parse
    "late_data": (HEAD + "n = len(df)\nprice = df['price'].astype(float)\n", True),
    # crashes at its last statement, on the sample too
    "late_statement": (
        HEAD + "from sklearn.linear_model import LinearRegression\n"
        "model = LinearRegression().fit(df[['a']], df['b'])\nfinal = model.predict(df[['a', 'missing']])\n", True,
    ),
    # fails on the sample only (one class in the first rows), succeeds in full
    "sample_only": (
        HEAD + "from sklearn.linear_model import LogisticRegression\n"
        "accuracy = LogisticRegression().fit(df[['a', 'b']], df['y']).score(df[['a', 'b']], df['y'])\n", True,
    ),
    # succeeds; draws from a seeded global RNG the smoke run must not disturb
    "good": (
        HEAD + "import numpy as np\nnp.random.seed(0)\nnoise = np.random.rand()\nscore = float(df['b'].mean()) + noise\n"
        "print('rows', len(df))\n", True,
    ),
    # writes files: left out of the smoke run, so its log has one line afterwards
    "writer": (HEAD + "df.to_csv('copy.csv', index=False)\nwith open('log.txt', 'a') as log:\n    log.write('ran\\n')\n", True),
    # a notebook cell: reads and writes the kernel namespace, not smoke-tested
    "notebook": ("import pandas as pd\nkernel_rows = len(pd.read_csv('data.csv'))\n", False),
}


def write_data(directory) -> None:
    rows = 300
    pd.DataFrame({
        "a": range(rows), "b": [i % 7 for i in range(rows)], "y": [int(i >= 150) for i in range(rows)],
        "price": [str(i) if i < 200 else "unknown" for i in range(rows)],
    }).to_csv(directory / "data.csv", index=False)


@pytest.fixture
def plain(tmp_path, monkeypatch):
    """Statuses and namespaces of the cells run one by one on the full data, in their own directory."""
    directory = tmp_path / "plain"
    directory.mkdir()
    write_data(directory)
    monkeypatch.chdir(directory)
    _, per_cell = run_cells_plainly(list(CELLS.values()))
    monkeypatch.chdir(tmp_path)
    return dict(zip(CELLS, per_cell))


@pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")
@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_smoke_reports_sample_failures_and_the_full_run_equals_plain_execution(plain, tmp_path, backend):
    write_data(tmp_path)
    batch = Batch()
    for name, (code, isolated) in CELLS.items():
        batch.add(code, name=name, isolated=isolated)
    reports, states = [], []

    def on_smoke(report):  # the moment between the smoke run and the full run
        reports.append(report)
        states.append((np.random.get_state()[1].copy(), pd.read_csv is pandas.io.parsers.read_csv))

    np.random.seed(123)
    kernel_state = np.random.get_state()[1].copy()
    run = batch.run(backend=backend, jobs=2, smoke=ROWS, on_smoke=on_smoke)

    report = run.smoke
    assert reports == [report]  # handed over before the full run
    assert report.rows == ROWS
    assert report.tested == ["early", "late_data", "late_statement", "sample_only", "good"]
    assert report.skipped == {"writer": "writes files", "notebook": "not isolated: it runs in the kernel namespace"}
    assert [(f.name, f.status, f.line) for f in report.failed] == [
        ("early", "failed", 3), ("late_statement", "failed", 5), ("sample_only", "failed", 4),
    ]
    early, late_statement, sample_only = report.failed
    assert early.exception == "KeyError: 'prize'" and 'File "<cell early>", line 3' in early.error
    assert late_statement.exception == "KeyError: \"['missing'] not in index\""
    assert "2 classes" in sample_only.exception  # the sample holds one class only
    text = report.text()
    assert "smoke run on 20 rows: 5 candidates" in text and "early           line 3: KeyError: 'prize'" in text

    # the full run: statuses and values as plain execution gives them
    assert {n: r.status for n, r in run.items()} == {n: p["status"] for n, p in plain.items()}
    assert run["sample_only"].status == "ok" and run["late_data"].status == "failed"
    for name in ("good", "sample_only", "notebook"):
        for key in ("score", "noise", "accuracy", "kernel_rows"):
            if key in plain[name]["namespace"]:
                assert run[name].namespace[key] == plain[name]["namespace"][key], (name, key)
    assert run["good"].stdout == "rows 300\n"
    assert len(batch.namespace["df"]) == 300 and batch.namespace["kernel_rows"] == 300
    assert (tmp_path / "log.txt").read_text() == "ran\n"  # the writer ran once: in full
    assert len(pd.read_csv(tmp_path / "copy.csv")) == 300
    # the smoke run left this process's global RNG and readers as they were
    [(state, unpatched)] = states
    assert (state == kernel_state).all() and unpatched


@pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")
def test_workers_forget_the_sample_after_a_smoke_run(tmp_path, monkeypatch):
    # one worker serves the smoke run and then the full run: it must read every row again
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    batch = Batch()
    batch.add(HEAD + "n = len(df)\n", name="count", isolated=True)
    run = batch.run(jobs=1, smoke=5)
    assert run.smoke.tested == ["count"] and run.smoke.failed == [] and run["count"].namespace["n"] == 300
    later = Batch()
    later.add(HEAD + "n = len(df)\n", name="plain", isolated=True)
    assert later.run(jobs=1)["plain"].namespace["n"] == 300


def test_readers_are_cut_and_restored(tmp_path):
    write_data(tmp_path)
    pd.DataFrame({"a": range(50)}).to_json(tmp_path / "data.json")
    (tmp_path / "lines.json").write_text("".join(json.dumps({"a": i}) + "\n" for i in range(50)))
    pd.read_csv(tmp_path / "data.csv").to_pickle(tmp_path / "data.pkl")
    originals = pd.read_csv, pd.read_pickle, pd.read_json
    random.seed(7)
    expected = random.random()
    random.seed(7)
    with sampled_readers(10):
        assert len(pd.read_csv(tmp_path / "data.csv")) == 10
        assert len(pd.read_csv(tmp_path / "data.csv", nrows=4)) == 4  # a smaller nrows of the cell's own wins
        assert len(pd.read_pickle(tmp_path / "data.pkl")) == 10  # readers without nrows: cut after reading
        assert len(pd.read_json(tmp_path / "data.json")) == 10
        assert len(pd.read_json(tmp_path / "lines.json", lines=True)) == 10
        assert sum(len(chunk) for chunk in pd.read_csv(tmp_path / "data.csv", chunksize=3)) == 10
        random.random()  # the smoke run draws
    assert (pd.read_csv, pd.read_pickle, pd.read_json) == originals
    assert random.random() == expected  # as if it had not


def test_writers_their_readers_and_candidates_without_readers_are_left_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path)
    batch = Batch()
    batch.add(HEAD + "df.head(3).to_csv('small.csv', index=False)\n", name="producer", isolated=True)
    batch.add("import pandas as pd\nsmall = pd.read_csv('small.csv')\n", name="consumer", isolated=True)
    batch.add("from sklearn.datasets import load_iris\nX, y = load_iris(return_X_y=True)\n", name="no_reader", isolated=True)
    report = run_smoke(batch, 5, backend="python")
    assert report.tested == [] and report.skipped == {
        "producer": "writes files", "consumer": "reads a file another candidate writes",
        "no_reader": "calls no pandas reader: nothing to sample",
    }
    assert not (tmp_path / "small.csv").exists() and batch.pending  # nothing ran, the batch is untouched


def test_smoke_rows_must_be_positive():
    with pytest.raises(ValueError, match="smoke must be a positive number of rows"):
        Batch().run(smoke=0)
    with pytest.raises(UsageError, match="must be a positive integer"):
        RUN_PARSER.parse_argstring("--smoke 0")


@pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")
def test_cli_smoke_and_json(tmp_path):
    write_data(tmp_path)
    for name in ("early", "late_data", "good"):
        (tmp_path / f"{name}.py").write_text(CELLS[name][0])
    done = subprocess.run(
        [sys.executable, "-m", "stratum_jupyter.cli", "run", "--json", "--smoke", str(ROWS), "--jobs", "2",
         "early.py", "late_data.py", "good.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 1, done.stderr  # two candidates failed in full
    document = json.loads(done.stdout)  # stdout is the document alone
    assert [(p["name"], p["status"]) for p in document["pipelines"]] == [("early", "failed"), ("late_data", "failed"), ("good", "ok")]
    assert [f["name"] for f in document["smoke"]["failed"]] == ["early"]
    assert document["pipelines"][1]["line"] == 4 and "could not convert string to float" in document["pipelines"][1]["exception"]
    assert "smoke run on 20 rows: 3 candidates" in done.stderr and "early  line 3: KeyError: 'prize'" in done.stderr
