"""Fidelity of batch execution against plain sequential execution, on the script corpus.

(a) every corpus script is deterministic when run plainly (else no comparison means anything);
(b) the whole corpus run as one batch is identical, script by script, to plain execution;
(c) the check can fail: with the engine's isolation disabled, in-place mutations leak.
(b) and (c) need the engine and skip until ``stratum_jupyter._native`` is built.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from stratum_jupyter.compare import first_difference  # noqa: E402
from stratum_jupyter.verify import SCRATCH_DIR, format_rows, plain_results, run_plain, verify_scripts  # noqa: E402

CORPUS = REPO_ROOT / "tests" / "corpus"
SCRIPTS = sorted(CORPUS.glob("*.py"))
EXPECT_FAILURE_MARK = "# stratum-corpus: expect-failure"

# pandas 3.1 deprecates `inplace=` on drop/rename/...; the corpus keeps it on purpose (agents write it).
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame")

# Scripts that load the same frame with identical code and then mutate it in place (plus
# one that only reads it): without isolation, a shared frame carries one script's changes
# into the others.
MUTATING_SCRIPTS = [
    "alias_mutation",
    "baseline_shared_load",
    "del_names",
    "helper_mutates_argument",
    "inplace_column_assign",
    "inplace_true_fillna_drop_rename",
]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    """Corpus scripts use paths relative to the repo root; clean their scratch folder after."""
    monkeypatch.chdir(REPO_ROOT)
    yield
    shutil.rmtree(REPO_ROOT / SCRATCH_DIR, ignore_errors=True)


def _expects_failure(path: Path) -> bool:
    return EXPECT_FAILURE_MARK in path.read_text(encoding="utf-8")


def _clear_scratch() -> None:
    shutil.rmtree(REPO_ROOT / SCRATCH_DIR, ignore_errors=True)


def test_corpus_is_big_enough():
    assert len(SCRIPTS) >= 28
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in SCRIPTS:
        assert path.name in readme, f"{path.name} is not described in tests/corpus/README.md"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_plain_run_is_deterministic(path: Path):
    code = path.read_text(encoding="utf-8")
    _clear_scratch()
    first = run_plain(code, path.stem)
    _clear_scratch()
    second = run_plain(code, path.stem)

    expected_status = "failed" if _expects_failure(path) else "ok"
    assert first.status == expected_status, first.error
    assert second.status == first.status
    assert first_difference(first.namespace, second.namespace) is None
    assert first.stdout == second.stdout
    assert (first.error or "").splitlines()[-1:] == (second.error or "").splitlines()[-1:]


def test_run_plain_keeps_names_bound_before_the_error():
    code = "a = 1\nprint('hi')\nb = {}['missing']\nc = 3\n"
    result = run_plain(code, "demo")
    assert result.status == "failed"
    assert result.namespace == {"a": 1}
    assert result.stdout == "hi\n"
    assert "KeyError: 'missing'" in result.error
    assert 'File "demo", line 3' in result.error


def test_run_plain_reports_syntax_errors():
    result = run_plain("x = (\n", "broken")
    assert result.status == "failed"
    assert result.namespace == {}
    assert "SyntaxError" in result.error


# --------------------------------------------------------------------------- with the engine


def _require_engine() -> None:
    pytest.importorskip("stratum_jupyter._native")


@pytest.fixture(scope="module")
def plain_corpus():
    """The plain reference, computed once for every batch configuration below."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        return plain_results([str(p) for p in SCRIPTS])


@pytest.fixture(
    scope="module",
    params=[
        ("processes", None, None), ("processes", 1, None), ("processes", 2, 1),
        ("threads", None, None), ("threads", 1, 1),
    ],
    # a 1-byte budget: whenever nothing runs, every idle output of the kernel process that may be
    # spilled is written to disk, and each consumer reloads it (with processes, the workers'
    # outputs travel through files anyway, and workers are not ended below a floor budget)
    ids=["processes-jobs-default", "processes-jobs-1", "processes-spill-everything", "threads-jobs-default", "threads-spill-everything"],
)
def corpus_rows(request, tmp_path_factory, plain_corpus):
    _require_engine()
    from stratum_jupyter.spill import SpillStore

    backend, jobs, memory = request.param
    reloads = []
    reload = SpillStore.reload
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        mp.setenv("STRATUM_CACHE_DIR", str(tmp_path_factory.mktemp("spill")))
        mp.setattr(SpillStore, "reload", lambda self, node, handle: reloads.append(node) or reload(self, node, handle))
        rows = verify_scripts([str(p) for p in SCRIPTS], jobs=jobs, memory=memory, backend=backend, expected=plain_corpus)
    print(format_rows(rows))
    if memory is not None and backend == "threads":
        assert len(reloads) >= 10, "the corpus shares loads between scripts: their outputs must have been spilled"
    return {row.name: row for row in rows}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_batch_matches_plain(corpus_rows, path: Path):
    row = corpus_rows[path.stem]
    assert row.verdict == "identical", f"{row.name}: {row.detail}"


def test_check_fails_without_isolation(monkeypatch):
    _require_engine()
    import stratum_jupyter.guard as guard
    import stratum_jupyter.isolation as isolation

    # the run-time guard would repair what the missing copies break: switch it off too
    monkeypatch.setattr(guard, "changed", lambda namespace, before, rebound: [])

    original = isolation.isolate

    def no_copy(values):
        return values

    # Patch the function where it is defined and wherever the engine imported it by name.
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("stratum_jupyter") and getattr(module, "isolate", None) is original:
            monkeypatch.setattr(module, "isolate", no_copy)

    paths = [str(CORPUS / f"{name}.py") for name in MUTATING_SCRIPTS]
    rows = verify_scripts(paths, backend="threads")  # worker processes never share objects
    assert any(row.verdict == "mismatch" for row in rows), format_rows(rows)
