"""The demo notebook runs top to bottom in a real kernel and its HTML export carries the graph."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import HAS_NATIVE

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")


def test_demo_notebook_executes_and_exports_the_svg_graph(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    nb = nbformat.read(ROOT / "notebooks" / "demo.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "captured logreg" in texts and "unique after merging" in texts
    assert "ran 3 pipelines (3 ok)" in texts
    board = next(c for c in nb.cells if c.cell_type == "code" and "stratum_results.table()" in c.source)
    table = board.outputs[0]["data"]["text/plain"]
    assert all(name in table for name in ("logreg", "forest", "knn")) and "failed" not in table
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert "<svg" in html and "stratum_n0" in html
    (tmp_path / "demo.html").write_text(html)
    os.makedirs(ROOT / "test-artifacts", exist_ok=True)
    (ROOT / "test-artifacts" / "demo.html").write_text(html)


def test_labextension_is_installed_and_enabled():
    import subprocess
    import sys

    pytest.importorskip("jupyterlab")
    listing = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120)
    text = listing.stdout + listing.stderr
    line = next((l for l in text.splitlines() if "stratum-jupyter" in l), "")
    assert "enabled" in line and "OK" in line, text
