"""The notebooks in notebooks/ run top to bottom in a real kernel and show what they say they show."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import HAS_NATIVE

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")


def _execute(name: str, cwd: Path):
    """Execute notebooks/NAME.ipynb with ``cwd`` as its working directory; fail on any error output."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    return nb


def _text(cell) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def _cell(nb, source_start: str):
    """The one code cell whose source starts with ``source_start``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    return cell


def _table_rows(cell) -> dict[str, list[str]]:
    """A displayed DataFrame's text/plain, as {index: other columns}, header lines dropped."""
    table = next(o["data"]["text/plain"] for o in cell.outputs if "text/plain" in o.get("data", {}))
    return {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:]}


def test_agent_session_batches_22_candidates_and_charts_batch_vs_one_by_one(tmp_path):
    nb = _execute("agent_session", tmp_path)
    # at least two candidates are real %%stratum cells, the rest come from the search loop
    real = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%stratum") and "--isolated" in c.source]
    assert len(real) >= 2
    # candidates share everything but their model: its import, the model, the score and its print
    for name, output in (("forest_d6", _text(real[1])), ("knn_25", _text(_cell(nb, "TEMPLATE")))):
        steps, shared = map(int, re.search(rf"captured {name}: (\d+) steps, (\d+) shared", output).groups())
        assert shared == steps - 4, output
    assert "batch: 22 pipelines" in _text(_cell(nb, "TEMPLATE"))
    run = _text(_cell(nb, "import time"))
    assert "ran 22 pipelines (20 ok, 2 failed)" in run
    assert "── forest_d6_typo [failed]" in run and "KeyError: 'n_visit'" in run
    # the leaderboard: every candidate, best AUC first, the crashed ones last with no score
    rows = _table_rows(_cell(nb, "stratum_results.table()"))
    assert len(rows) == 22
    statuses = [r[0] for r in rows.values()]
    assert statuses.count("ok") == 20 and statuses[-2:] == ["failed", "failed"]
    assert {name for name, r in rows.items() if r[0] == "failed"} == {"logreg_bad_kwarg", "forest_d6_typo"}
    scores = [float(r[2]) for r in rows.values() if r[0] == "ok"]
    assert scores == sorted(scores, reverse=True) and all(0.5 < s < 1 for s in scores)
    # the same candidates run plainly one by one end the same way, and the chart is drawn
    assert "same status and score in both runs: 22 of 22" in _text(_cell(nb, "from stratum_jupyter.verify import run_plain"))
    chart = _cell(nb, "import matplotlib")
    assert any("image/png" in o.get("data", {}) for o in chart.outputs)
    # small outputs: the notebook stays readable (the chart is the only image)
    assert sum(len(str(o)) for c in nb.cells if c.cell_type == "code" for o in c.outputs) < 120_000


def test_notebook_workflow_inspects_results_and_exports_the_svg_graph(tmp_path):
    nbconvert = pytest.importorskip("nbconvert")
    nb = _execute("notebook_workflow", tmp_path)
    explain = _text(_cell(nb, "%stratum explain"))
    assert "5 pipelines, 22 steps captured, 19 unique after merging" in explain
    assert "×2  from sklearn.linear_model import Ridge   (ridge, ridge_10)" in explain
    assert "ran 5 pipelines (4 ok, 1 failed)" in _text(_cell(nb, "%stratum run --jobs 2"))
    rows = _table_rows(_cell(nb, "stratum_results.table()"))
    assert {name: r[0] for name, r in rows.items()} == {"ridge": "ok", "load": "ok", "ridge_10": "ok", "forest": "ok", "by_age": "failed"}
    # the failing cell: its names up to the failing line, not after; the error with the cell's line number
    inspected = _text(_cell(nb, 'failed = stratum_results["by_age"]'))
    assert inspected.startswith("('failed', '55+', False,") and "bmi2" in inspected
    assert "bmi_by_band bound: False" in _text(_cell(nb, 'print(f"ridge'))
    assert 'File "<cell by_age>", line 4' in _text(_cell(nb, "%stratum run --jobs 2"))
    # fixed and run again: only the pending cell runs, and its names reach the kernel
    rerun = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == "%stratum run")
    assert "ran 1 pipeline (1 ok): 4 steps" in _text(rerun)
    assert _text(_cell(nb, 'stratum_results["by_age"].status')).startswith("('ok', {'<40':")
    # the graph: a widget in JupyterLab, its static SVG in the export
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert "<svg" in html and "stratum_n0" in html
    os.makedirs(ROOT / "test-artifacts", exist_ok=True)
    (ROOT / "test-artifacts" / "notebook_workflow.html").write_text(html)


def test_fidelity_notebook_explains_the_merge_and_verifies_identical(tmp_path):
    # a copy of the corpus: verify clears .stratum_tmp/ in the working directory, which other
    # test runs in the checkout use
    shutil.copytree(ROOT / "tests" / "corpus", tmp_path / "tests" / "corpus")
    (tmp_path / "notebooks").mkdir()
    nb = _execute("fidelity", tmp_path / "notebooks")
    explain = _text(_cell(nb, "%stratum explain"))
    assert "9 pipelines" in explain and "×7  df = pd.read_csv(" in explain
    assert "×2  import time   (clock_a, clock_b)" in explain and "stamp" not in explain  # the clock read is not merged
    verify = _text(_cell(nb, "from stratum_jupyter.verify import format_rows"))
    assert "7 identical, 0 mismatch" in verify
    assert re.search(r"^raises_midway_keyerror +identical", verify, re.M)
    clock = _text(_cell(nb, "import tempfile"))
    assert re.search(r"^clock +mismatch +stamp: [\d.]+ != [\d.]+", clock, re.M) and "0 identical, 1 mismatch" in clock


def test_notebooks_are_the_three_the_readme_and_make_demo_point_to(monkeypatch):
    from stratum_jupyter.demo import next_steps

    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["agent_session.ipynb", "fidelity.ipynb", "notebook_workflow.ipynb"]
    readme = (ROOT / "README.md").read_text()
    assert all(f"notebooks/{name}" in readme for name in names) and ".venv/bin/jupyter lab notebooks/" in readme
    monkeypatch.chdir(ROOT)
    hint = next_steps()  # what `make demo` prints last
    assert "jupyter lab notebooks/" in hint and all(name in hint for name in names)
    nbformat = pytest.importorskip("nbformat")
    for name in names:  # committed without outputs: Binder and `jupyter lab` readers run them
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert not [c for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)], name


def test_labextension_is_installed_and_enabled():
    import subprocess
    import sys

    pytest.importorskip("jupyterlab")
    listing = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120)
    text = listing.stdout + listing.stderr
    line = next((l for l in text.splitlines() if "stratum-jupyter" in l), "")
    assert "enabled" in line and "OK" in line, text
