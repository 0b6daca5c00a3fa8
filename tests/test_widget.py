"""The graph widget of ``%stratum show``: model state, SVG layout, live updates, static output."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from stratum_jupyter import widget as W
from stratum_jupyter.widget import GraphvizMissing, GraphWidget, render_svg, restyle_svg, show_graph

ROOT = Path(__file__).resolve().parents[1]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def make_view(n_pipelines: int = 3, private_steps: int = 1) -> dict:
    """n1 -> n2 shared by all pipelines, then `private_steps` steps per pipeline."""
    pls = [f"p{i + 1}" for i in range(n_pipelines)]
    nodes = [
        {"id": "n1", "label": "df = pd.read_csv('data.csv')", "code": "df = pd.read_csv('data.csv')",
         "pipelines": pls, "shared": n_pipelines},
        {"id": "n2", "label": "X = df.drop(columns='y')", "code": "X = df.drop(columns='y')\ny = df['y']",
         "pipelines": pls, "shared": n_pipelines},
    ]
    edges = [["n1", "n2"]]
    for p in pls:
        prev = "n2"
        for k in range(private_steps):
            nid = f"{p}_s{k}"
            nodes.append({"id": nid, "label": f"m{k} = Ridge(alpha={p}).fit(X, y)", "code": f"m{k} = fit_{p}({k})",
                          "pipelines": [p], "shared": 1})
            edges.append([prev, nid])
            prev = nid
    return {
        "pipelines": pls,
        "nodes": nodes,
        "edges": edges,
        "captured_steps": n_pipelines * (2 + private_steps),
        "unique_steps": len(nodes),
    }


class FakeBatch:
    def __init__(self, view: dict):
        self.view = view
        self.listeners: list = []

    def graph_view(self) -> dict:
        return self.view

    def add_listener(self, fn) -> None:
        self.listeners.append(fn)

    def remove_listener(self, fn) -> None:
        self.listeners.remove(fn)

    def emit(self, **event) -> None:
        for fn in list(self.listeners):
            fn(event)


# --------------------------------------------------------------------------- packaging


def test_model_module_and_version_match_the_npm_package():
    pkg = json.loads((ROOT / "labextension" / "package.json").read_text())
    w = GraphWidget()
    assert w._model_module == w._view_module == pkg["name"] == W.NPM_PACKAGE
    assert w._model_module_version == w._view_module_version == pkg["version"]
    ts = (ROOT / "labextension" / "src" / "version.ts").read_text()
    assert f"'{pkg['name']}'" in ts and f"'{pkg['version']}'" in ts
    assert w._model_name == "StratumGraphModel" and w._view_name == "StratumGraphView"
    # the view's class names exist in the TypeScript sources
    view_ts = (ROOT / "labextension" / "src" / "view.ts").read_text()
    assert "class StratumGraphModel" in view_ts and "class StratumGraphView" in view_ts


def test_status_colours_agree_with_typescript():
    ts = (ROOT / "labextension" / "src" / "logic.ts").read_text()
    for status, colour in W.STATUS_COLORS.items():
        assert re.search(rf"{status}: '{colour}'", ts), status


def test_labextension_outputdir_is_the_maturin_data_dir():
    pkg = json.loads((ROOT / "labextension" / "package.json").read_text())
    out = (ROOT / "labextension" / pkg["jupyterlab"]["outputDir"]).resolve()
    # maturin's data dir holds wheel data subdirs; its data/ goes to the environment prefix
    assert out == (ROOT / "build/wheel-data/data/share/jupyter/labextensions/stratum-jupyter").resolve()
    assert 'data = "build/wheel-data"' in (ROOT / "pyproject.toml").read_text()


# --------------------------------------------------------------------------- model state


@needs_dot
def test_from_view_state():
    w = GraphWidget.from_view(make_view())
    assert w.pipelines == ["p1", "p2", "p3"]
    assert [n["id"] for n in w.nodes] == ["n1", "n2", "p1_s0", "p2_s0", "p3_s0"]
    assert all(n["display"] == n["dom_id"] for n in w.nodes)
    assert w.groups == [] and not w.collapsed
    assert w.edges == [["n1", "n2"], ["n2", "p1_s0"], ["n2", "p2_s0"], ["n2", "p3_s0"]]
    assert set(w.status.values()) == {"pending"}
    assert set(w.colors) == {"p1", "p2", "p3"} and len(set(w.colors.values())) == 3
    assert w.message == ""
    assert "3 pipelines" in w.header
    assert "9 steps captured → 5 unique after merging" in w.header
    assert "4 of 9 step runs avoided" in w.header


@needs_dot
def test_svg_has_stable_node_ids_badges_and_restylable_shapes():
    view = make_view()
    svg = render_svg(view)
    assert svg.startswith("<svg")
    ids = re.findall(r'<g id="(stratum_[^"]+)" class="node', svg)
    assert sorted(ids) == sorted(W.dom_id(n["id"]) for n in view["nodes"])
    assert len(re.findall(r'class="stratum-shape"', svg)) == len(view["nodes"])
    assert svg.count("×3") == 2  # the two shared steps carry their count
    assert len(re.findall(r'<g id="stratum_edge_\d+" class="edge"', svg)) == 4
    # same ids on a second layout
    assert re.findall(r'<g id="(stratum_[^"]+)"', render_svg(view)) == re.findall(r'<g id="(stratum_[^"]+)"', svg)


@needs_dot
def test_odd_node_ids_and_labels_are_escaped():
    view = {
        "pipelines": ["a b"],
        "nodes": [{"id": "x-1/<é>", "label": "s = '<b>&</b>'", "code": "s = '<b>&</b>'", "pipelines": ["a b"]}],
        "edges": [],
    }
    svg = render_svg(view)
    did = W.dom_id("x-1/<é>")
    assert re.fullmatch(r"stratum_[A-Za-z0-9_]+", did)
    assert f'id="{did}"' in svg
    assert "<b>" not in svg


@needs_dot
def test_restyle_svg_recolours_without_layout():
    w = GraphWidget.from_view(make_view())
    svg = restyle_svg(w.svg, {W.dom_id("n1"): "done", W.dom_id("n2"): "failed"})
    m = re.search(r'<g id="stratum_n1".*?class="stratum-shape" fill="([^"]+)"', svg, re.S)
    assert m.group(1) == W.STATUS_COLORS["done"]
    m = re.search(r'<g id="stratum_n2".*?class="stratum-shape" fill="([^"]+)"', svg, re.S)
    assert m.group(1) == W.STATUS_COLORS["failed"]
    # geometry untouched
    strip = lambda s: re.sub(r'fill="[^"]*"', "", s)  # noqa: E731
    assert strip(svg) == strip(w.svg)


@needs_dot
def test_events_from_worker_threads_update_status_info_and_header():
    w = GraphWidget.from_view(make_view())
    w.flush_interval = 0.05
    ids = [n["id"] for n in w.nodes]

    def worker(nid: str) -> None:
        w.handle_event({"node": nid, "status": "running", "seconds": None, "output": None, "error": None})
        time.sleep(0.01)
        if nid == "p3_s0":
            w.handle_event({"node": nid, "status": "failed", "seconds": 0.2, "output": None, "error": "ValueError: boom"})
        else:
            w.handle_event({"node": nid, "status": "done", "seconds": 0.5, "output": "DataFrame (150, 4)", "error": None})

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.flush()
    assert w.status == {"n1": "done", "n2": "done", "p1_s0": "done", "p2_s0": "done", "p3_s0": "failed"}
    assert w.info["n1"] == {"seconds": 0.5, "output": "DataFrame (150, 4)", "error": None}
    assert w.info["p3_s0"]["error"] == "ValueError: boom"
    # n1, n2 are shared by 3 pipelines: 2 × 0.5 s saved each
    assert "time saved ≈ 2.0 s" in w.header
    assert "4 done, 1 failed" in w.header
    # unknown node ids are ignored
    w.handle_event({"node": "zzz", "status": "done"})
    w.handle_event({"bogus": 1})
    w.flush()
    assert "zzz" not in w.status


@needs_dot
def test_throttled_events_are_flushed_by_the_timer():
    w = GraphWidget.from_view(make_view())
    w.flush_interval = 0.2
    w.handle_event({"node": "n1", "status": "running"})  # first: immediate
    w.handle_event({"node": "n1", "status": "done", "seconds": 0.1})  # throttled
    assert w.status["n1"] == "running"
    deadline = time.time() + 3
    while w.status["n1"] != "done" and time.time() < deadline:
        time.sleep(0.02)
    assert w.status["n1"] == "done"


@needs_dot
def test_details_of_selected_node():
    w = GraphWidget.from_view(make_view())
    w.handle_event({"node": "n2", "status": "done", "seconds": 1.25, "output": "DataFrame (150, 4)", "error": None})
    w.flush()
    w.selected_node = "n2"
    assert w.details == {
        "id": "n2",
        "label": "X = df.drop(columns='y')",
        "code": "X = df.drop(columns='y')\ny = df['y']",
        "pipelines": ["p1", "p2", "p3"],
        "shared": 3,
        "status": "done",
        "seconds": 1.25,
        "output": "DataFrame (150, 4)",
        "error": None,
        "folds": [],
    }
    w.selected_node = ""
    assert w.details == {}


@needs_dot
def test_mimebundle_carries_static_svg_with_statuses_and_text():
    w = GraphWidget.from_view(make_view())
    for n in w.nodes:
        w.handle_event({"node": n["id"], "status": "done", "seconds": 0.1})
    w.flush()
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg")
    fills = re.findall(r'class="stratum-shape" fill="([^"]+)"', svg)
    assert fills == [W.STATUS_COLORS["done"]] * 5
    text = bundle["text/plain"]
    assert "3 pipelines" in text and "[     done] n1" in text


@needs_dot
def test_big_batches_collapse_and_stay_fast(capsys):
    view = make_view(n_pipelines=300, private_steps=4)  # 1202 unique steps
    t0 = time.perf_counter()
    w = GraphWidget.from_view(view)
    dt = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\n[widget] layout of {len(view['nodes'])} steps / 300 pipelines: {dt:.2f} s")
    assert w.collapsed
    assert len(w.groups) == 300
    assert all(len(g["members"]) == 4 for g in w.groups)
    assert len(re.findall(r'<g id="stratum_[^"]+" class="node', w.svg)) == 302
    # member nodes point at their group; statuses aggregate
    g0 = w.groups[0]
    assert {n["display"] for n in w.nodes if n["id"] in g0["members"]} == {g0["dom_id"]}
    w.handle_event({"node": g0["members"][0], "status": "done"})
    w.flush()
    assert w.display_status()[g0["dom_id"]] == "running"
    w.selected_node = g0["id"]
    assert w.details["members"] == g0["members"] and w.details["status"] == "running"


def test_aggregate_status():
    agg = W.aggregate_status
    assert agg([]) == "pending"
    assert agg(["pending", "done"]) == "running"
    assert agg(["done", "failed", "running"]) == "failed"
    assert agg(["cached", "cached"]) == "cached"
    assert agg(["cached", "done"]) == "done"
    assert agg(["done", "skipped"]) == "skipped"


def test_collapse_never_creates_cycles():
    view = W.normalize_view(make_view(n_pipelines=40, private_steps=3))
    display, edges, display_of = W.collapse_view(view, threshold=10)
    succ: dict = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    state: dict = {}

    def visit(n):
        state[n] = 1
        for m in succ.get(n, []):
            assert state.get(m) != 1, "cycle"
            if m not in state:
                visit(m)
        state[n] = 2

    for d in display:
        if d["id"] not in state:
            visit(d["id"])


# --------------------------------------------------------------------------- graphviz missing


def test_missing_dot_gives_install_hints_and_text_summary(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(GraphvizMissing) as e:
        render_svg(make_view())
    assert isinstance(e.value, RuntimeError)
    msg = str(e.value)
    for hint in ("apt-get install graphviz", "conda install graphviz", "brew install graphviz"):
        assert hint in msg
    w = GraphWidget.from_view(make_view())
    assert w.svg == "" and "apt-get install graphviz" in w.message
    assert len(w.nodes) == 5  # the view still lists steps and updates statuses
    bundle = w._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "apt-get install graphviz" in bundle["text/plain"]
    assert "n1: df = pd.read_csv('data.csv') ×3" in bundle["text/plain"]


# --------------------------------------------------------------------------- show_graph


@needs_dot
def test_show_graph_subscribes_to_the_batch_and_unsubscribes_on_close():
    batch = FakeBatch(make_view())
    w = show_graph(batch, display=False)
    assert isinstance(w, GraphWidget) and len(batch.listeners) == 1
    batch.emit(node="n1", status="cached", seconds=0.0, output="DataFrame (5, 2)", error=None)
    w.flush()
    assert w.status["n1"] == "cached"
    w.close()
    assert batch.listeners == []


@needs_dot
def test_show_graph_displays_widget_and_static_companion(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown = []
    import IPython.display as ipd

    class Handle:
        def update(self, obj, raw=False):
            shown.append(("update", obj))

    def fake_display(obj, raw=False, display_id=None):
        shown.append(("display", obj))
        return Handle() if display_id else None

    monkeypatch.setattr(ipd, "display", fake_display)
    batch = FakeBatch(make_view())
    w = show_graph(batch)
    assert shown[0] == ("display", w)
    static = shown[1][1]
    assert 'class="stratum-static-graph"' in static["text/html"] and "<svg" in static["text/html"]
    batch.emit(node="n1", status="done", seconds=0.1)
    shell.events.trigger("post_run_cell", None)
    assert w.status["n1"] == "done"
    kind, bundle = shown[-1]
    assert kind == "update" and W.STATUS_COLORS["done"] in bundle["text/html"]
    w.close()
    n = len(shown)
    shell.events.trigger("post_run_cell", None)
    assert len(shown) == n


def test_extension_css_hides_the_static_companion_in_lab():
    css = (ROOT / "labextension" / "style" / "index.css").read_text()
    assert ".stratum-static-graph" in css


# --------------------------------------------------------------------------- notebooks


@needs_dot
def test_nbconvert_html_of_executed_notebook_contains_svg(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    nb = nbformat.v4.new_notebook()
    view = make_view()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import json\n"
            "from stratum_jupyter.widget import show_graph\n"
            "class B:\n"
            f"    def graph_view(self): return json.loads({json.dumps(json.dumps(view))})\n"
            "    def add_listener(self, fn): self.fn = fn\n"
            "b = B()\n"
            "w = show_graph(b)"
        ),
        nbformat.v4.new_code_cell("b.fn({'node': 'n1', 'status': 'done', 'seconds': 0.1})"),
    ]
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    widget_out, static_out = nb.cells[0].outputs
    assert "image/svg+xml" in widget_out["data"] and "application/vnd.jupyter.widget-view+json" in widget_out["data"]
    # the static companion was refreshed by the run cell (post_run_cell) with the new status
    assert W.STATUS_COLORS["done"] in static_out["data"]["text/html"]
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    i = html.index('<div class="stratum-static-graph">')
    assert "<svg" in html[i : i + 2000] and 'id="stratum_n1"' in html


@needs_dot
@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_a_run_folds_fold_level_sharing_into_its_statements(backend):
    from stratum_jupyter import Batch

    load = (
        "import numpy as np\nfrom sklearn.model_selection import KFold, cross_val_score\n"
        "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
        "from sklearn.linear_model import Ridge\n"
        "X = np.random.default_rng(0).normal(size=(200, 4))\ny = X @ np.arange(4.0)\n"
    )
    batch = Batch()
    for i, alpha in enumerate((0.5, 2.0)):
        batch.add(load + f"scores = cross_val_score(make_pipeline(StandardScaler(), Ridge(alpha={alpha})), X, y,"
                  " cv=KFold(3, shuffle=True, random_state=0))\n", name=f"c{i}", isolated=True)
    w = show_graph(batch, display=False)
    batch.run(jobs=2, backend=backend)
    w.flush()
    folded = {nid: inf["folds"] for nid, inf in w.info.items() if inf.get("folds")}
    scoring = [n["id"] for n in w.nodes if n["code"].startswith("scores =")]
    assert sorted(folded) == sorted(scoring)  # on the statements that ran them, nowhere else
    lines = [line for nid in scoring for line in folded[nid]]
    assert all(line.startswith("StandardScaler fit+transform: 3 folds here") for line in lines), lines
    assert all(line.endswith("(shared by 2 candidates)") for line in lines), lines
    # each fold's scaling is fitted once, by whichever candidate got there first, and reused by the other
    counts = [re.match(r".*here: (\d+) run, (\d+) reused;", line).groups() for line in lines]
    assert [sum(int(c[i]) for c in counts) for i in (0, 1)] == [3, 3], lines
    assert w.node_details(scoring[0])["folds"] == folded[scoring[0]]
    assert "folds: StandardScaler fit+transform" in w.text_summary()
    w.close()
