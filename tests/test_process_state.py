"""Isolated candidates run like separate scripts, also in what they set for their process:
warnings filters, pandas options, scikit-learn's configuration, numpy's error handling. None of
it reaches another candidate, and what a shared step set holds in every process that binds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stratum_jupyter import Batch

SETS_EVERYTHING = """\
import decimal
import warnings
import numpy as np
import pandas as pd
import sklearn
sklearn.set_config(transform_output="pandas")
pd.set_option("display.max_rows", 4)
np.seterr(all="raise")
np.set_printoptions(precision=2)
warnings.simplefilter("error")
decimal.getcontext().prec = 5
print("settings changed")
"""

READS_EVERYTHING = """\
import decimal
import warnings
import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
print(type(StandardScaler().fit_transform(X)).__name__)
print(pd.DataFrame({"x": range(10)}))
print(np.array([1 / 3, 2 / 3]))
ratio = np.array([1.0]) / np.array([0.0])
warnings.warn("a warning of its own")
print(decimal.Decimal(1) / decimal.Decimal(7), ratio)
"""


def _shared_settings(n: int) -> str:
    # The same settings statements in every candidate (merged into shared steps), then steps of
    # each candidate's own that depend on them.
    return f"""\
import warnings
warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
import sklearn
sklearn.set_config(transform_output="pandas")
pd.options.display.max_rows = 4
from sklearn.preprocessing import StandardScaler
X = pd.DataFrame({{"a": np.arange(10.0), "b": np.arange(10.0) ** 2}})
scaled = StandardScaler().fit_transform(X) * {n}
print(type(scaled).__name__)
print(pd.DataFrame({{"x": range(10, 20)}}) * {n})
warnings.warn("silenced {n}")
"""


def _plain(code: str, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, check=False)


def test_what_one_candidate_sets_for_its_process_never_reaches_the_next(tmp_path):
    batch = Batch()
    batch.add(SETS_EVERYTHING, name="sets", isolated=True)
    batch.add(READS_EVERYTHING, name="reads", isolated=True)
    results = batch.run(jobs=1)  # one job: the second candidate runs after the first ends
    plain = _plain(READS_EVERYTHING, tmp_path, "reads")
    assert plain.returncode == 0, plain.stderr
    assert results["sets"].status == "ok"
    assert results["reads"].status == "ok", results["reads"].error
    assert results["reads"].stdout == plain.stdout  # ndarray, all ten rows, full precision, 28 digits
    assert "a warning of its own" in results["reads"].stderr
    assert "divide by zero" in results["reads"].stderr


@pytest.mark.parametrize("jobs", [1, 2])
def test_settings_made_by_a_shared_step_hold_in_every_candidates_process(tmp_path, jobs):
    batch = Batch()
    for n in (1, 2, 3):
        batch.add(_shared_settings(n), name=f"c{n}", isolated=True)
    results = batch.run(jobs=jobs)
    for n in (1, 2, 3):
        plain = _plain(_shared_settings(n), tmp_path, f"c{n}")
        assert plain.returncode == 0, plain.stderr
        result = results[f"c{n}"]
        assert result.status == "ok", result.error
        assert result.stdout == plain.stdout  # a DataFrame and a cut display, in every candidate
        assert type(result.namespace["scaled"]).__name__ == "DataFrame"
        assert result.stderr == plain.stderr == ""  # the warning is filtered in every process
    assert results.stats["unique_steps"] < results.stats["captured_steps"]  # the settings were shared


def _compound_settings(n: int) -> str:
    # Settings made inside a loop and a branch: running the whole statement again where its
    # outputs are bound would redo the rest of it, so each candidate runs it itself.
    return f"""\
import warnings
for category in (UserWarning, RuntimeWarning):
    warnings.filterwarnings("ignore", category=category)
import pandas as pd
if True:
    pd.set_option("display.max_rows", 4)
print(pd.DataFrame({{"x": range(10, 20)}}) * {n})
warnings.warn("silenced {n}")
"""


def test_settings_made_inside_a_compound_statement_hold_in_every_candidates_process(tmp_path):
    batch = Batch()
    for n in (1, 2, 3):
        batch.add(_compound_settings(n), name=f"c{n}", isolated=True)
    results = batch.run(jobs=2)
    for n in (1, 2, 3):
        plain = _plain(_compound_settings(n), tmp_path, f"c{n}")
        assert plain.returncode == 0, plain.stderr
        result = results[f"c{n}"]
        assert result.status == "ok", result.error
        assert result.stdout == plain.stdout and ".." in result.stdout  # the display cut in every one
        assert result.stderr == plain.stderr == ""
    assert results.stats["unique_steps"] < results.stats["captured_steps"]  # the imports were shared


def test_a_notebook_cell_binding_a_shared_settings_step_gets_its_settings_too(tmp_path):
    import warnings

    code = "import warnings\nwarnings.filterwarnings('ignore', message='from the notebook')\nx = 1\n"
    batch = Batch()
    batch.add(code + "y = x + 1\n", name="candidate", isolated=True)  # runs the shared steps, first
    batch.add(code + "import warnings\nwarnings.warn('from the notebook')\n", name="notebook")
    with warnings.catch_warnings():  # the notebook cell's settings are the kernel's: put back after
        warnings.resetwarnings()
        results = batch.run(jobs=2)
        notebook = results["notebook"]
        assert notebook.status == "ok", notebook.error
        assert results.stats["unique_steps"] < results.stats["captured_steps"]
        assert any(f[0] == "ignore" and f[1] is not None and f[1].pattern == "from the notebook" for f in warnings.filters)
    assert "from the notebook" not in notebook.stderr  # filtered, as when the cell runs alone


def test_a_step_is_merged_only_with_steps_run_under_the_same_settings(tmp_path):
    cut = "import pandas as pd\npd.set_option('display.max_rows', 4)\nprint(pd.DataFrame({'x': range(10)}))\n"
    whole = "import pandas as pd\nprint(pd.DataFrame({'x': range(10)}))\n"
    batch = Batch()
    batch.add(cut, name="cut", isolated=True)
    batch.add(whole, name="whole", isolated=True)
    results = batch.run(jobs=2)
    assert results["cut"].stdout == _plain(cut, tmp_path, "cut").stdout
    assert results["whole"].stdout == _plain(whole, tmp_path, "whole").stdout  # all ten rows
    assert "9  9" in results["whole"].stdout and ".." in results["cut"].stdout
    assert results.stats["unique_steps"] == 4  # the import is shared, the two prints are not


def test_verify_starts_every_plain_script_from_the_settings_the_first_one_found(tmp_path, monkeypatch):
    import warnings

    import pandas as pd
    import sklearn

    from stratum_jupyter.verify import verify_scripts

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sets.py").write_text(SETS_EVERYTHING)
    (tmp_path / "reads.py").write_text(READS_EVERYTHING)
    before = (list(warnings.filters), pd.get_option("display.max_rows"), sklearn.get_config()["transform_output"])
    rows = verify_scripts(["sets.py", "reads.py"], jobs=1)
    assert [(r.name, r.verdict) for r in rows] == [("sets", "identical"), ("reads", "identical")], rows
    assert (list(warnings.filters), pd.get_option("display.max_rows"), sklearn.get_config()["transform_output"]) == before


def test_a_worker_serves_the_next_candidate_only_if_its_process_is_as_found_again():
    def pid(name: str) -> str:  # a statement of each candidate's own (a shared one would run once)
        return f"import os\npid = os.getpid() if {name!r} else None\n"

    batch = Batch()
    batch.add(pid("clean") + "total = sum(range(10))\n", name="clean", isolated=True)
    batch.add(pid("after_clean"), name="after_clean", isolated=True)
    batch.add(pid("sets") + "import warnings\nwarnings.simplefilter('error')\n", name="sets", isolated=True)
    batch.add(pid("after_sets") + "import warnings\nerrors = [f for f in warnings.filters if f[0] == 'error']\n",
              name="after_sets", isolated=True)
    batch.add(pid("thread") + "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n",
              name="leaves_a_thread", isolated=True)
    batch.add(pid("after_thread"), name="after_thread", isolated=True)
    results = batch.run(jobs=1)
    pids = {name: results[name].namespace["pid"] for name in results}
    assert pids["after_clean"] == pids["clean"]  # warm: the same process
    assert pids["after_sets"] == pids["sets"]  # the filter was put back: the worker serves on
    assert results["after_sets"].namespace["errors"] == []  # ... without it
    assert pids["after_thread"] != pids["leaves_a_thread"]


def test_settings_a_pipeline_changed_are_put_back_so_its_worker_serves_the_next(tmp_path):
    # Every candidate starts with the same settings (replayed in each worker); the worker puts
    # them back after each pipeline and serves the next, which sets them again itself.
    def candidate(n: int) -> str:
        return _shared_settings(n) + f"import os\npid = os.getpid() if {n} else None\n"

    batch = Batch()
    for n in (1, 2, 3):
        batch.add(candidate(n), name=f"c{n}", isolated=True)
    results = batch.run(jobs=1)
    for n in (1, 2, 3):
        plain = _plain(candidate(n), tmp_path, f"c{n}")
        assert results[f"c{n}"].stdout == plain.stdout and results[f"c{n}"].stderr == plain.stderr == ""
    assert len({results[f"c{n}"].namespace["pid"] for n in (1, 2, 3)}) == 1  # one worker served all three


@pytest.mark.parametrize("backend", ["threads", "python"])
def test_candidates_sharing_the_kernel_process_take_turns_with_their_settings(tmp_path, backend):
    # In-process backends: one process for every candidate, so each step runs under its own
    # pipeline's settings, one at a time, and the kernel gets its own back.
    import warnings

    import pandas as pd

    whole = READS_EVERYTHING
    before = (list(warnings.filters), pd.get_option("display.max_rows"))
    batch = Batch()
    batch.add(SETS_EVERYTHING, name="sets", isolated=True)
    batch.add(_compound_settings(2), name="compound", isolated=True)
    batch.add(whole, name="reads", isolated=True)
    results = batch.run(jobs=2, backend=backend)
    assert (list(warnings.filters), pd.get_option("display.max_rows")) == before
    for name, code in (("sets", SETS_EVERYTHING), ("compound", _compound_settings(2)), ("reads", whole)):
        plain = _plain(code, tmp_path, name)
        assert results[name].status == "ok", results[name].error
        assert results[name].stdout == plain.stdout, name  # "reads" is ok: no "error" filter leaked


def test_a_library_half_imported_on_another_thread_is_not_read(tmp_path, monkeypatch):
    # The kernel imports the candidates' libraries on a background thread while a run starts:
    # a module in sys.modules may not have its functions yet.
    import importlib
    import threading
    import time

    from stratum_jupyter.process_state import loaded

    (tmp_path / "slow_library.py").write_text("import time\ntime.sleep(0.5)\ndef get_config():\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importer = threading.Thread(target=importlib.import_module, args=("slow_library",))
    importer.start()
    while "slow_library" not in sys.modules:
        time.sleep(0.001)
    assert loaded("slow_library") is None
    importer.join()
    assert loaded("slow_library") is sys.modules["slow_library"]
    monkeypatch.delitem(sys.modules, "slow_library")
