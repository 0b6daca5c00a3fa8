"""The `stratum` console script as an agent would call it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HAS_NATIVE

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not HAS_NATIVE, reason="Rust extension not built")


def stratum(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stratum_jupyter.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_verify_whole_corpus_exits_zero():
    scripts = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "corpus").glob("*.py"))
    done = stratum("verify", *scripts)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(scripts)} identical, 0 mismatch" in done.stdout


def test_verify_reports_a_mismatch_with_exit_one(tmp_path):
    # The clock differs between the plain and the batch run: verify must say so.
    script = tmp_path / "clock.py"
    script.write_text("import time\nvalue = time.time_ns()\n")
    done = stratum("verify", str(script), cwd=tmp_path)
    assert done.returncode == 1
    assert "mismatch" in done.stdout and "value" in done.stdout


def test_run_prints_a_leaderboard(tmp_path):
    for alpha in (0.1, 10.0):
        (tmp_path / f"ridge_{str(alpha).replace('.', '_')}.py").write_text(
            "from sklearn.datasets import load_diabetes\nfrom sklearn.linear_model import Ridge\n"
            "from sklearn.model_selection import cross_val_score\nX, y = load_diabetes(return_X_y=True)\n"
            f"score = cross_val_score(Ridge(alpha={alpha}), X, y, cv=3).mean()\nprint('score', round(score, 4))\n"
        )
    (tmp_path / "broken.py").write_text("x = 1\nraise RuntimeError('candidate crashed')\n")
    done = stratum("run", *sorted(p.name for p in tmp_path.glob("*.py")), cwd=tmp_path)
    assert done.returncode == 1  # one pipeline failed
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["status", "seconds", "score"])
    board = [line.split()[0] for line in lines[header + 2 :]]
    assert board == ["ridge_0_1", "ridge_10_0", "broken"]
    assert "RuntimeError: candidate crashed" in done.stderr


def test_missing_script_is_a_clear_error(tmp_path):
    done = stratum("run", "nope.py", cwd=tmp_path)
    assert done.returncode != 0 and "no such script: nope.py" in done.stderr


def test_help_has_no_raw_markup_and_every_option_is_explained():
    import argparse

    from stratum_jupyter.cli import build_parser

    parser = build_parser()
    done = stratum("--help")
    assert done.returncode == 0 and "``" not in done.stdout and "run, verify and benchmark" in done.stdout.lower()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == {"run", "verify", "bench"}
    for name, sub in commands.choices.items():
        assert "``" not in sub.format_help(), name
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"stratum {name} {action.option_strings or action.dest} has no help text"


@pytest.mark.parametrize("option, message", [
    (["--jobs", "0"], "argument --jobs: must be a positive integer, got '0'"),
    (["--memory", "lots"], "argument --memory: memory budget must look like 4GB"),
    (["--timeout", "0"], "argument --timeout: must be a positive number of seconds"),
])
def test_bad_option_values_are_usage_errors(tmp_path, option, message):
    (tmp_path / "a.py").write_text("x = 1\n")
    done = stratum("run", *option, "a.py", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "usage: stratum run" in done.stderr
