"""The core promise: a batch run equals running the cells one by one, with shared work done once."""

from __future__ import annotations

import logging
import textwrap

import numpy as np
import pandas as pd
import pytest

from stratum_jupyter import Batch
from stratum_jupyter.compare import first_difference

from conftest import run_cells_plainly

LOAD = textwrap.dedent(
    """
    import pandas as pd
    import numpy as np
    df = pd.read_csv(PATH)
    df["ratio"] = df["a"] / (df["b"] + 1)
    df["log_a"] = np.log1p(df["a"])
    """
)


@pytest.fixture
def csv_path(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 100, 200), "b": rng.integers(0, 50, 200), "y": rng.normal(size=200)})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _user_names(ns: dict) -> dict:
    return {k: v for k, v in ns.items() if not k.startswith("_") and k != "stratum_results"}


def _count_runs(batch: Batch, label: str) -> dict[str, int]:
    """How often the unique step labelled ``label`` ran ("done") and was reused ("cached"):
    seen through run events, so it holds for steps in worker processes too."""
    view_id = next(n["id"] for n in batch.graph_view()["nodes"] if n["label"] == label)
    counts = {"done": 0, "cached": 0}
    batch.add_listener(lambda e: e["node"] == view_id and e["status"] in counts and counts.__setitem__(e["status"], counts[e["status"]] + 1))
    return counts


def test_identical_loading_and_features_run_once(csv_path, backend):
    batch = Batch()
    prefix = f"PATH = {csv_path!r}\n" + LOAD
    for alpha in (0.1, 1.0, 10.0):
        batch.add(prefix + f"score = float((df['ratio'] * {alpha}).sum())\n", name=f"a{int(alpha * 10)}", isolated=True)
    graph = batch.graph()
    assert graph.captured_steps() == 3 * 7
    assert graph.unique_steps() == 7 + 2  # the six shared steps (import, PATH, …) once, plus three scores
    explain = batch.explain()
    assert "×3  df = pd.read_csv(PATH)" in explain
    runs = _count_runs(batch, "df = pd.read_csv(PATH)")
    results = batch.run(backend=backend)
    assert runs == {"done": 1, "cached": 2}
    assert results.stats["executed"] == 9
    expected = {f"a{int(a * 10)}": float((pd.read_csv(csv_path).eval("a / (b + 1)") * a).sum()) for a in (0.1, 1.0, 10.0)}
    for name, score in expected.items():
        assert results[name].status == "ok"
        assert results[name].namespace["score"] == pytest.approx(score)


def test_kernel_cells_reading_the_same_csv_share_it(csv_path, backend):
    ns = {"PATH": csv_path}
    batch = Batch(namespace=ns)
    batch.add(LOAD + "s1 = df['ratio'].sum()\ndf['extra'] = 1\n", name="c1")
    batch.add(LOAD + "s2 = df['log_a'].sum()\ncols = list(df.columns)\n", name="c2")
    assert "×2  df = pd.read_csv(PATH)" in batch.explain()
    runs = _count_runs(batch, "df = pd.read_csv(PATH)")
    batch.run(backend=backend)
    assert runs == {"done": 1, "cached": 1}
    plain, _ = run_cells_plainly([(LOAD + "s1 = df['ratio'].sum()\ndf['extra'] = 1\n", False),
                                  (LOAD + "s2 = df['log_a'].sum()\ncols = list(df.columns)\n", False)],
                                 {"PATH": csv_path})
    assert "extra" not in ns["cols"]  # c2 reloaded: c1's in-place column must not leak
    assert first_difference(_user_names(plain), _user_names(ns)) is None


MUTATION_CELLS = [
    "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ndf['b'] = df.a * 2\nout = df.copy()\n",
    "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ndf['c'] = -df.a\nout = df.copy()\n",
    "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\nalias = df\nalias.drop(columns=['a'], inplace=True)\nout = df.copy()\n",
    "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ndef add(d):\n    d['f'] = 1\nadd(df)\nout = df.copy()\n",
    "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ntrain, test = df.iloc[:2].copy(), df.iloc[2:].copy()\nfor d in (train, test):\n    d['g'] = d.a + 1\nout = df.copy()\n",
    "import numpy as np\narr = np.arange(5)\narr += 1\nlst = [1]\nlst.append(2)\nout = arr.sum()\n",
    "import numpy as np\narr = np.arange(5)\nout = arr.sum()\nsnap = list(arr)\n",
]


def test_no_pipeline_sees_another_pipelines_in_place_change(backend):
    batch = Batch()
    for i, code in enumerate(MUTATION_CELLS):
        batch.add(code, name=f"m{i}", isolated=True)
    results = batch.run(backend=backend)
    _, plain = run_cells_plainly([(c, True) for c in MUTATION_CELLS])
    for i, reference in enumerate(plain):
        got = results[f"m{i}"]
        assert got.status == reference["status"]
        assert first_difference(reference["namespace"], got.namespace) is None, f"m{i}"


def test_without_isolation_copies_a_mutation_leaks(backend, monkeypatch):
    """The check above can fail: sabotage the copy and the shared frame is corrupted."""
    import stratum_jupyter.isolation as isolation

    if backend == "processes":
        pytest.skip("worker processes never share objects: the copies under test are in-process ones")
    monkeypatch.setattr(isolation, "isolate", lambda values: values)
    batch = Batch()
    for i, code in enumerate(MUTATION_CELLS[:2]):
        batch.add(code, name=f"m{i}", isolated=True)
    results = batch.run(backend=backend)
    _, plain = run_cells_plainly([(c, True) for c in MUTATION_CELLS[:2]])
    assert any(first_difference(plain[i]["namespace"], results[f"m{i}"].namespace) for i in range(2))


def test_failed_cell_keeps_names_bound_before_the_error(backend):
    batch = Batch()
    batch.add("x = 1\ny = [1, 2]\n\nz = y[5]\nw = 3\n", name="bad", isolated=True)
    batch.add("x = 10\n", name="good", isolated=True)
    results = batch.run(backend=backend)
    bad = results["bad"]
    assert bad.status == "failed"
    assert bad.namespace == {"x": 1, "y": [1, 2]}
    assert 'File "<cell bad>", line 4' in bad.error
    assert "IndexError" in bad.error
    assert results["good"].status == "ok"
    table = results.table()
    assert isinstance(table, pd.DataFrame)
    assert table.loc["bad", "status"] == "failed"


def test_kernel_namespace_matches_sequential_run_with_failures(backend):
    cells = [
        ("import math\nvalues = [1, 2, 3]\ntotal = sum(values)\n", False),
        ("values.append(4)\nboom = values[10]\nafter = 1\n", False),
        ("total2 = sum(values)\nsq = [math.sqrt(v) for v in values]\n", False),
        ("iso = 5\ntotal = -1\n", True),
        ("final = total + iso\n", False),
    ]
    ns: dict = {}
    batch = Batch(namespace=ns)
    for i, (code, isolated) in enumerate(cells):
        batch.add(code, name=f"c{i}", isolated=isolated)
    results = batch.run(backend=backend)
    plain, per_cell = run_cells_plainly(cells)
    assert [r.status for r in results.values()] == [c["status"] for c in per_cell]
    assert first_difference(_user_names(plain), _user_names(ns)) is None
    assert ns["final"] == 4 and "after" not in ns


def test_seeded_global_rng_draws_match_plain_execution(backend):
    code = "import numpy as np\nimport random\nnp.random.seed(0)\nrandom.seed(1)\na = np.random.rand(3)\nb = random.random()\nc = np.random.randint(0, 100, 4)\n"
    other = "import numpy as np\nnp.random.seed(5)\nd = np.random.rand(2)\n"
    batch = Batch()
    batch.add(code, name="r1", isolated=True)
    batch.add(other, name="r2", isolated=True)
    batch.add(code, name="r3", isolated=True)
    results = batch.run(jobs=2, backend=backend)
    _, plain = run_cells_plainly([(code, True), (other, True), (code, True)])
    for name, reference in zip(("r1", "r2", "r3"), plain):
        assert first_difference(reference["namespace"], results[name].namespace) is None


def test_files_written_earlier_in_the_batch_are_read_back(tmp_path, backend, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = "import pandas as pd\npd.DataFrame({'v': [VALUE]}).to_csv('shared.csv', index=False)\n"
    reader = "import pandas as pd\nseen = pd.read_csv('shared.csv')['v'].tolist()\n"
    cells = [(writer.replace("VALUE", "1"), True), (reader, True), (writer.replace("VALUE", "2"), True), (reader, True)]
    batch = Batch()
    for i, (code, isolated) in enumerate(cells):
        batch.add(code, name=f"f{i}", isolated=isolated)
    results = batch.run(jobs=2, backend=backend)
    assert results["f1"].namespace["seen"] == [1]
    assert results["f3"].namespace["seen"] == [2]
    assert pd.read_csv(tmp_path / "shared.csv")["v"].tolist() == [2]


def test_every_record_logged_to_a_kernel_log_file_is_written_in_order(tmp_path, backend):
    """The kernel's file handlers name its log files: a record a cell logs appends to them, so
    two cells logging the same message write it twice, and a later read sees both."""
    logger = logging.getLogger(f"stratum-test-log-{backend}")
    handler = logging.FileHandler(tmp_path / "kernel.log")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    path = str(tmp_path / "kernel.log")
    try:
        batch = Batch(namespace={"log": logger, "path": path})
        batch.add("log.info('step done')\n", name="c1")
        batch.add("log.info('step done')\nwith open(path) as f:\n    lines = f.read().splitlines()\n", name="c2")
        results = batch.run(backend=backend)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert results["c2"].status == "ok"
    assert batch.namespace["lines"] == ["step done", "step done"]


def test_a_logged_record_shares_nothing_of_its_log_file_but_the_work_around_it_is_shared(tmp_path, monkeypatch):
    """Isolated candidates logging to one file: every record is each candidate's own (a write),
    while the load between two records, and the logger, are computed once."""
    monkeypatch.chdir(tmp_path)
    code = (
        "import logging\nimport pandas as pd\n"
        "logging.basicConfig(filename='run.log', level=logging.INFO, format='%(message)s', force=True)\n"
        "log = logging.getLogger('agent')\nlog.info('loading')\n"
        "frame = pd.DataFrame({'v': range(5)})\nlog.info('rows %d', len(frame))\n"
        "from logging import info\ninfo('done')\n"
    )
    batch = Batch()
    batch.add(code, name="a", isolated=True)
    batch.add(code, name="b", isolated=True)
    kinds = {n.step.source.split("(")[0]: n.kind for n in batch.graph().nodes if n.pipeline == 1}
    assert kinds["log.info"] == "exec" and kinds["logging.basicConfig"] == "exec" and kinds["info"] == "exec"
    assert kinds["log = logging.getLogger"] == "reuse" and kinds["frame = pd.DataFrame"] == "reuse"


def test_an_isolated_cell_sees_the_kernels_command_line(backend):
    """In the kernel, ``sys.argv`` is the kernel's (``argparse`` in a notebook cell parses it):
    a worker shows the cell the kernel's, not the fork server's own."""
    import sys

    batch = Batch()
    batch.add("import sys\nargv = list(sys.argv)\n", name="cell", isolated=True)
    assert batch.run(backend=backend)["cell"].namespace["argv"] == sys.argv


def test_clock_reads_are_never_merged(backend):
    code = "import time\nt = time.perf_counter_ns()\n"
    batch = Batch()
    batch.add(code, name="t1", isolated=True)
    batch.add(code, name="t2", isolated=True)
    assert batch.graph().unique_steps() == 3
    results = batch.run(backend=backend)
    assert results["t1"].namespace["t"] != results["t2"].namespace["t"]


def test_output_and_last_expression_are_kept_per_pipeline(backend):
    batch = Batch()
    batch.add("print('hello')\nx = 2\nx * 21\n", name="a", isolated=True)
    batch.add("print('hello')\nimport sys\nprint('oops', file=sys.stderr)\n", name="b", isolated=True)
    results = batch.run(jobs=2, backend=backend)
    assert results["a"].stdout == "hello\n" and results["a"].result == 42
    assert results["b"].stdout == "hello\n" and results["b"].stderr == "oops\n"


def test_functions_see_globals_bound_after_their_definition(backend):
    code = "def scale(v):\n    return v * FACTOR\nFACTOR = {}\nout = scale(3)\n"
    batch = Batch()
    batch.add(code.format(2), name="s2", isolated=True)
    batch.add(code.format(5), name="s5", isolated=True)
    results = batch.run(backend=backend)
    assert results["s2"].namespace["out"] == 6
    assert results["s5"].namespace["out"] == 15


def test_bad_arguments_are_rejected_clearly():
    batch = Batch()
    with pytest.raises(SyntaxError):
        batch.add("def broken(:\n")
    assert batch.pending == []
    with pytest.raises(ValueError, match="identifier"):
        batch.add("x = 1", name="not a name")
    batch.add("x = 1")
    with pytest.raises(ValueError, match="jobs"):
        batch.run(jobs=0)
    with pytest.raises(ValueError, match="backend"):
        batch.run(backend="nope")
    assert len(Batch().run()) == 0


def test_kernel_aliases_change_together(backend):
    shared = [1, 2]
    ns = {"a": shared, "b": shared}
    batch = Batch(namespace=ns)
    batch.add("n1 = len(b)\n", name="k1")
    batch.add("a.append(3)\n", name="k2")
    batch.add("n1 = len(b)\n", name="k3")
    batch.run(backend=backend)
    assert ns["n1"] == 3 and ns["b"] == [1, 2, 3]


def test_listeners_see_objects_whose_len_raises(backend):
    """An unfitted ensemble's __len__ raises AttributeError: describing it must not break the run."""
    batch = Batch()
    batch.add("from sklearn.ensemble import RandomForestClassifier\nmodel = RandomForestClassifier(n_estimators=3)\nafter = 1\n", name="rf", isolated=True)
    events = []
    batch.add_listener(events.append)
    results = batch.run(backend=backend)
    assert results["rf"].status == "ok" and results["rf"].namespace["after"] == 1
    assert any(e["output"] == "RandomForestClassifier" for e in events)


def test_pathlib_writes_are_ordered_before_reads(tmp_path, backend, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = "from pathlib import Path\nPath('note.txt').write_text('v{}')\n"
    reader = "from pathlib import Path\nseen = Path('note.txt').read_text()\n"
    batch = Batch()
    for i, code in enumerate([writer.format(1), reader, writer.format(2), reader]):
        batch.add(code, name=f"f{i}", isolated=True)
    results = batch.run(jobs=2, backend=backend)
    assert results["f1"].namespace["seen"] == "v1" and results["f3"].namespace["seen"] == "v2"


def test_graph_grown_cell_by_cell_equals_the_graph_built_at_once(csv_path):
    """Capture adds each cell to the graph (cost in proportion to the cell, not the batch); the
    result must be the graph a full build gives, write-backs before later kernel cells included."""
    from stratum_jupyter.graph import BatchGraph
    from stratum_jupyter.plan import build_plan

    batch = Batch(namespace={"PATH": csv_path})
    cells = [
        (LOAD + "s = df['ratio'].sum()\n", True),
        (LOAD + "df['x'] = 1\nt = df['x'].sum()\n", True),
        ("u = s + 1\n", False),
        (LOAD + "v = df['log_a'].mean()\n", True),
        ("w = u + v\nimport numpy as np\nnp.random.seed(0)\nr = np.random.rand()\n", False),
    ]
    graph = None
    for i, (code, isolated) in enumerate(cells):
        batch.add(code, name=f"c{i}", isolated=isolated)
        assert graph is None or batch.graph() is graph, "the graph grows in place"
        graph = batch.graph()
    fresh = BatchGraph(batch.pending, batch.namespace)
    summary = lambda g: [(n.key, n.kind, n.source, sorted(n.deps_any), n.position, n.lineage == -1) for n in g.nodes]
    assert summary(graph) == summary(fresh)
    assert (graph.unique_steps(), graph.captured_steps()) == (fresh.unique_steps(), fresh.captured_steps())
    assert [graph.shared_with_earlier(i) for i in range(5)] == [fresh.shared_with_earlier(i) for i in range(5)]
    assert build_plan(graph) == build_plan(fresh)
    assert [n.copy_before for n in graph.nodes] == [n.copy_before for n in fresh.nodes]


def test_a_joining_worker_binds_only_the_last_version_of_a_shared_frame(csv_path, tmp_path):
    # Three shared statements rebuild `df`: a candidate that joins after them needs the last
    # version only (its worker binds one frame, not three); a value a later shared statement
    # refers to (`cols` inside `spec`) still travels, so the aliasing holds.
    shared = LOAD.replace("PATH", repr(csv_path)) + "cols = ['a', 'b']\nspec = {'cols': cols}\n"
    cells = [shared + f"total = df[spec['cols']].sum().sum() * {n}\nsame = spec['cols'] is cols\n" for n in (1, 2)]
    batch = Batch()
    for i, code in enumerate(cells):
        batch.add(code, name=f"c{i}", isolated=True)
    graph = batch.graph()
    superseded = graph.superseded()
    second = [graph.nodes[i] for i in graph.pipeline_nodes[1]]
    rebuilding_df = [n.id for n in second if "df" in n.outputs]
    assert len(rebuilding_df) == 3 and superseded == set(rebuilding_df[:-1])  # not `cols`: `spec` refers to it
    results = batch.run(jobs=2)
    for i, code in enumerate(cells):
        _, (plain,) = run_cells_plainly([(code, True)])
        assert results[f"c{i}"].status == "ok", results[f"c{i}"].error
        assert first_difference(_user_names(results[f"c{i}"].namespace), _user_names(plain["namespace"])) is None
        assert results[f"c{i}"].namespace["same"] is True
