"""The JSON document agents read (``--json``, ``stratum_results.to_json()``): pinned key by key,
score extraction, and a real kernel printing it alone on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import HAS_NATIVE
from kernel_client import execute, execute_streams
from stratum_jupyter import Batch
from stratum_jupyter.json_report import FORMAT, scores, short_repr

PIPELINE_KEYS = {
    "name": str, "status": str, "cause": (str, type(None)), "line": (int, type(None)),
    "exception": (str, type(None)), "error": (str, type(None)), "seconds": float, "steps": int,
    "shared_steps": int, "own_steps": int, "scores": dict, "names": dict, "untransferable": list,
    "stdout_tail": str, "stderr_tail": str,
}
SMOKE_KEYS = {"rows": int, "seconds": float, "tested": list, "failed": list, "skipped": dict}
SMOKE_FAILURE_KEYS = {
    "name": str, "status": str, "line": (int, type(None)), "exception": (str, type(None)),
    "error": (str, type(None)), "cause": (str, type(None)),
}

MODEL = """\
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score, cross_validate
X, y = load_diabetes(return_X_y=True)
cv_scores = cross_val_score(Ridge(alpha={alpha}), X, y, cv=3)
results = cross_validate(Ridge(alpha={alpha}), X, y, cv=3, scoring=["r2", "neg_mean_absolute_error"])
score = float(cv_scores.mean())
rmse = float(np.sqrt(-results["test_neg_mean_absolute_error"].mean()))
print("score", round(score, 4))
"""


def assert_keys(document: dict, pinned: dict) -> None:
    assert set(document) == set(pinned), set(document) ^ set(pinned)
    for key, kind in pinned.items():
        assert isinstance(document[key], kind), (key, document[key])


@pytest.fixture(scope="module")
def run():
    batch = Batch()
    batch.add(MODEL.format(alpha=1.0), name="ridge", isolated=True)
    batch.add(MODEL.format(alpha=10.0), name="ridge_10", isolated=True)
    batch.add("values = [1, 2, 3]\nprint('start')\nworst = values[10]\n", name="broken", isolated=True)
    return batch.run(backend="python")


def test_document_keys_and_types_are_pinned(run):
    document = json.loads(run.to_json())
    assert list(document) == ["format", "summary", "smoke", "guard", "pipelines"]
    assert document["format"] == FORMAT == "stratum-results/1"
    assert document["summary"] == {"pipelines": 3, "statuses": {"ok": 2, "failed": 1}}
    assert document["smoke"] is None  # no smoke run was asked for
    assert document["guard"] is None  # no change the effect analysis missed
    assert [p["name"] for p in document["pipelines"]] == ["ridge", "ridge_10", "broken"]  # capture order
    for pipeline in document["pipelines"]:
        assert_keys(pipeline, PIPELINE_KEYS)
        for name, described in pipeline["names"].items():
            assert set(described) == {"type", "repr"} and all(isinstance(v, str) for v in described.values()), name
            assert len(described["repr"]) <= 100 and "\n" not in described["repr"]


def test_pipeline_fields_say_what_happened(run):
    ridge, ridge_10, broken = json.loads(run.to_json())["pipelines"]
    assert ridge["status"] == "ok" and ridge["line"] is None and ridge["error"] is None and ridge["exception"] is None
    assert ridge["steps"] == 10 and ridge["own_steps"] == 10 and ridge["shared_steps"] == 0
    assert ridge_10["shared_steps"] == 5 and ridge_10["own_steps"] == 5  # imports and the load are shared
    assert ridge["stdout_tail"] == f"score {round(run['ridge'].namespace['score'], 4)}\n"
    assert ridge["names"]["X"] == {"type": "ndarray", "repr": "ndarray (442, 10)"}
    assert ridge["names"]["np"] == {"type": "module", "repr": "<module numpy>"}
    assert ridge["names"]["Ridge"]["repr"] == "<class Ridge>"
    assert broken["status"] == "failed" and broken["line"] == 3
    assert broken["exception"] == "IndexError: list index out of range"
    assert 'File "<cell broken>", line 3' in broken["error"]
    assert broken["stdout_tail"] == "start\n"
    assert broken["names"] == {"values": {"type": "list", "repr": "[1, 2, 3]"}}


def test_scores_of_cross_val_score_and_cross_validate(run):
    found = json.loads(run.to_json())["pipelines"][0]["scores"]
    namespace = run["ridge"].namespace
    assert set(found) == {"cv_scores", "results", "score", "rmse"}
    assert found["score"] == pytest.approx(namespace["score"]) and found["rmse"] == pytest.approx(namespace["rmse"])
    assert found["cv_scores"]["values"] == pytest.approx(list(namespace["cv_scores"]))
    assert found["cv_scores"]["n"] == 3 and found["cv_scores"]["mean"] == pytest.approx(namespace["cv_scores"].mean())
    # a cross_validate dict is found by its keys, whatever its name: the mean of every array
    assert set(found["results"]) == {"mean"}
    assert set(found["results"]["mean"]) == {"fit_time", "score_time", "test_r2", "test_neg_mean_absolute_error"}
    assert found["results"]["mean"]["test_r2"] == pytest.approx(namespace["results"]["test_r2"].mean())


def test_score_values_of_every_shape():
    namespace = {
        "accuracy": np.float32(0.5), "auc": np.array(0.75), "val_acc": 1, "mae": float("nan"),
        "f1_scores": pd.Series([0.5, 1.0]), "nan_fold_scores": [0.5, float("nan")],
        "anomaly_scores": np.zeros(500), "score_table": np.zeros((2, 2)), "is_score": True,
        "accuracy_score": len, "score_name": "r2", "_score": 1.0, "x": 3.0,
        "cv": {"fit_time": np.array([0.1, 0.3]), "score_time": np.array([0.0, 0.0]), "test_score": np.array([0.2, 0.4]),
               "estimator": [object(), object()]},
    }
    assert scores(namespace) == {
        "accuracy": 0.5, "auc": 0.75, "val_acc": 1.0, "mae": None,  # NaN is null: strict JSON
        "f1_scores": {"mean": 0.75, "n": 2, "values": [0.5, 1.0]},
        "nan_fold_scores": {"mean": None, "n": 2, "values": [0.5, None]},
        "anomaly_scores": {"mean": 0.0, "n": 500, "values": None},  # too long to list
        "cv": {"mean": {"fit_time": pytest.approx(0.2), "score_time": 0.0, "test_score": pytest.approx(0.3)}},
    }


def test_short_repr_is_one_short_line():
    assert short_repr(pd.DataFrame({"a": range(10)})) == "DataFrame (10, 1)"
    assert short_repr(np.arange(3)) == "array([0, 1, 2])"  # small arrays show their values
    assert len(short_repr("x" * 500)) <= 100 and "..." in short_repr("x" * 500)
    assert len(short_repr(["y" * 70] * 3)) == 100 and short_repr(["y" * 70] * 3).endswith("…")
    assert short_repr({"k": "line1\nline2"}) == "{'k': 'line1\\nline2'}"

    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    assert short_repr(Broken()).startswith("<Broken instance at ")


def test_smoke_section_is_pinned_and_results_accumulate_across_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"a": range(20)}).to_csv("data.csv", index=False)
    batch = Batch()
    batch.add("import pandas as pd\nn = len(pd.read_csv('data.csv'))\n", name="first", isolated=True)
    batch.add("import pandas as pd\nsixth = pd.read_csv('data.csv').loc[5, 'a']\n", name="sixth", isolated=True)
    batch.add("open('out.txt', 'w').write('x')\n", name="writer", isolated=True)
    smoke = json.loads(batch.run(backend="python", smoke=5).to_json())["smoke"]
    assert_keys(smoke, SMOKE_KEYS)
    assert smoke["rows"] == 5 and smoke["tested"] == ["first", "sixth"] and smoke["skipped"] == {"writer": "writes files"}
    [failure] = smoke["failed"]
    assert_keys(failure, SMOKE_FAILURE_KEYS)
    assert (failure["name"], failure["status"], failure["line"], failure["exception"]) == ("sixth", "failed", 2, "KeyError: 5")
    batch.add("y = 2\n", name="second", isolated=True)
    batch.run(backend="python")
    document = json.loads(batch.results.to_json())
    assert [p["name"] for p in document["pipelines"]] == ["first", "sixth", "writer", "second"]
    assert [p["status"] for p in document["pipelines"]] == ["ok", "ok", "ok", "ok"]
    assert document["smoke"] is None  # the last run had no smoke run
    assert batch.results["first"].namespace["n"] == 20


@pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")
def test_run_json_in_a_real_kernel_prints_only_the_document(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": range(200), "b": [i % 7 for i in range(200)]}).to_csv(data, index=False)
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        assert execute(client, "%load_ext stratum_jupyter")[0]["status"] == "ok"
        cells = {
            "good": f"import pandas as pd\ndf = pd.read_csv({str(data)!r})\nscore = df['b'].mean()\nprint('rows', len(df))\n",
            "bad_column": f"import pandas as pd\ndf = pd.read_csv({str(data)!r})\ntotal = df['price'].sum()\n",
        }
        for name, code in cells.items():
            reply, _ = execute(client, f"%%stratum -n {name} --isolated\n{code}")
            assert reply["status"] == "ok"
        reply, streams = execute_streams(client, "%stratum run --json --smoke 10 --jobs 1")
        assert reply["status"] == "ok", streams
        document = json.loads(streams["stdout"])  # nothing else on stdout
        assert "smoke run on 10 rows: 2 candidates" in streams["stderr"]
        assert "ran 2 pipelines (1 ok, 1 failed)" in streams["stderr"]
        good, bad = document["pipelines"]
        assert good["status"] == "ok" and good["scores"] == {"score": pytest.approx(sum(i % 7 for i in range(200)) / 200)}
        assert good["stdout_tail"] == "rows 200\n"  # the full run read every row
        assert bad["status"] == "failed" and bad["line"] == 3 and bad["exception"] == "KeyError: 'price'"
        assert [(f["name"], f["line"], f["exception"]) for f in document["smoke"]["failed"]] == [
            ("bad_column", 3, "KeyError: 'price'")
        ]
        # stratum_results.to_json() returns the same document
        reply, out = execute(client, "print(stratum_results.to_json())")
        assert reply["status"] == "ok" and json.loads(out) == document
        # the kernel holds the full data, and its readers are pandas' own
        reply, out = execute(client, "import pandas.io.parsers\nprint(len(df), pd.read_csv is pandas.io.parsers.read_csv)")
        assert out == "200 True\n", out
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_readme_example_has_the_pinned_keys():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = json.loads(readme.split("### JSON for agents", 1)[1].split("```json\n", 1)[1].split("```", 1)[0])
    assert list(example) == ["format", "summary", "smoke", "guard", "pipelines"] and example["format"] == FORMAT
    assert_keys(example["smoke"], SMOKE_KEYS)
    for failure in example["smoke"]["failed"]:
        assert_keys(failure, SMOKE_FAILURE_KEYS)
    for pipeline in example["pipelines"]:
        assert_keys(pipeline, {**PIPELINE_KEYS, "seconds": (int, float)})
