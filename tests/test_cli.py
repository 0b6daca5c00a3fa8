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


SCRIPT_BESIDE_ITS_DATA = (
    "import argparse\nimport sys\nfrom pathlib import Path\nimport pandas as pd\n"
    "parser = argparse.ArgumentParser()\nparser.add_argument('--scale', type=int, default=1)\n"
    "args = parser.parse_args()\n"
    "here = Path(__file__).parent\ntotal = int(pd.read_csv(here / 'data.csv')['v'].sum()) * args.scale\n"
    "print('total', total, Path(sys.argv[0]).name)\n"
)


def test_scripts_see_their_own_file_as_python_runs_them(tmp_path):
    """``__file__`` and ``sys.argv`` are the script's (as ``python SCRIPT`` sets them): the same
    statement in scripts of two directories reads each one's own data, ``argparse`` parses no
    arguments (a worker's own argv made it exit with status 2), and verify agrees with Python."""
    scripts = []
    for folder, values in (("first", "1\n2\n"), ("second", "10\n20\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "data.csv").write_text("v\n" + values)
        (tmp_path / folder / f"{folder}.py").write_text(SCRIPT_BESIDE_ITS_DATA)
        scripts.append(f"{folder}/{folder}.py")
    plain = [subprocess.run([sys.executable, s], cwd=tmp_path, capture_output=True, text=True).stdout for s in scripts]
    assert plain == ["total 3 first.py\n", "total 30 second.py\n"]
    done = stratum("run", "--json", *scripts, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import json

    report = {p["name"]: p for p in json.loads(done.stdout)["pipelines"]}
    assert [report[n]["stdout_tail"] for n in ("first", "second")] == plain
    verified = stratum("verify", *scripts, cwd=tmp_path)
    assert verified.returncode == 0 and "2 identical" in verified.stdout, verified.stdout + verified.stderr


def test_warnings_and_tracebacks_name_the_script_as_python_does(tmp_path):
    """``python SCRIPT`` compiles a script as its absolute path: a warning printed to stderr and
    the failing frame of the traceback name that file, and the report's line is the failing one
    (they named ``<cell bad>``)."""
    (tmp_path / "bad.py").write_text('import warnings\nwarnings.warn("careful")\nvalue = {}["k"]\n')
    plain = subprocess.run([sys.executable, "bad.py"], cwd=tmp_path, capture_output=True, text=True).stderr
    path = str(tmp_path / "bad.py")
    assert plain.startswith(f"{path}:2: UserWarning: careful\n") and f'File "{path}", line 3' in plain
    done = stratum("run", "--json", "bad.py", cwd=tmp_path)
    import json

    (bad,) = json.loads(done.stdout)["pipelines"]
    assert (bad["status"], bad["line"], bad["exception"]) == ("failed", 3, "KeyError: 'k'")
    assert bad["stderr_tail"].startswith(f"{path}:2: UserWarning: careful\n"), bad["stderr_tail"]
    assert f'File "{path}", line 3, in <module>' in bad["error"]


def test_a_script_that_exits_with_status_zero_succeeds_as_with_python(tmp_path):
    """``sys.exit(main())`` with ``main`` returning 0 ends ``python SCRIPT`` with status 0: the
    candidate is ok, with the names bound before the exit; ``sys.exit(3)`` fails it."""
    main = "import sys\ndef main():\n    print('trained')\n    return CODE\nscore = 0.5\nsys.exit(main())\nafter = 1\n"
    (tmp_path / "clean.py").write_text(main.replace("CODE", "0"))
    (tmp_path / "dirty.py").write_text(main.replace("CODE", "3"))
    assert [subprocess.run([sys.executable, s], cwd=tmp_path).returncode for s in ("clean.py", "dirty.py")] == [0, 3]
    done = stratum("run", "--json", "clean.py", "dirty.py", cwd=tmp_path)
    import json

    report = {p["name"]: p for p in json.loads(done.stdout)["pipelines"]}
    assert (report["clean"]["status"], report["clean"]["error"], sorted(report["clean"]["names"])) == ("ok", None, ["main", "score", "sys"])
    assert report["clean"]["stdout_tail"] == "trained\n"
    assert report["dirty"]["status"] == "failed" and report["dirty"]["exception"] == "SystemExit: 3"
    verified = stratum("verify", "clean.py", "dirty.py", cwd=tmp_path)
    assert "2 identical" in verified.stdout, verified.stdout + verified.stderr


def test_a_script_importing_a_module_of_its_own_directory_runs_and_its_other_names_come_back(tmp_path):
    """``python SCRIPT`` puts the script's directory first on ``sys.path``: a module the script
    writes there imports (it did not in a worker). The kernel cannot import that module: the
    names holding it are listed as untransferable, the others come back (all were lost)."""
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "solution.py").write_text(
        "from pathlib import Path\n"
        "(Path(__file__).parent / 'helper_mod_7f3a.py').write_text('VALUE = 41\\n')\n"
        "import helper_mod_7f3a\nvalue = helper_mod_7f3a.VALUE + 1\n"
    )
    assert subprocess.run([sys.executable, "agent/solution.py"], cwd=tmp_path).returncode == 0
    done = stratum("run", "--json", "agent/solution.py", cwd=tmp_path)
    import json

    [report] = json.loads(done.stdout)["pipelines"]
    assert report["status"] == "ok", report
    assert report["names"]["value"]["repr"] == "42"
    assert report["untransferable"] == ["helper_mod_7f3a"]


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
    assert set(commands.choices) == {"run", "verify", "bench", "cache"}
    for name, sub in commands.choices.items():
        assert "``" not in sub.format_help(), name
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"stratum {name} {action.option_strings or action.dest} has no help text"


@pytest.mark.parametrize("option, message", [
    (["--jobs", "0"], "argument --jobs: must be a positive integer, got '0'"),
    (["--memory", "lots"], "argument --memory: memory budget must look like 4GB"),
    (["--timeout", "0"], "argument --timeout: must be a positive number of seconds"),
    (["--cache-size", "lots"], "argument --cache-size: cache size must look like 2GB"),
])
def test_bad_option_values_are_usage_errors(tmp_path, option, message):
    (tmp_path / "a.py").write_text("x = 1\n")
    done = stratum("run", *option, "a.py", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "usage: stratum run" in done.stderr


def test_cache_info_and_clear(tmp_path):
    from stratum_jupyter.cache import StepCache
    from stratum_jupyter.transfer import publish

    directory = tmp_path / "cache"
    cache = StepCache(directory)
    for key in ("a1", "b2", "c3"):
        publish(str(tmp_path / key), {"x": key}, [], None, {})
        assert cache.put(key, str(tmp_path / key), {})
    size = cache.info()["bytes"]
    done = stratum("cache", "info", "--dir", str(directory))
    assert (done.returncode, done.stdout) == (0, f"step cache {directory}: 3 entries, {size} bytes\n")
    done = stratum("cache", "clear", "--dir", str(directory))
    assert (done.returncode, done.stdout) == (0, f"step cache {directory}: cleared, 3 entries removed\n")
    assert stratum("cache", "info", "--dir", str(directory)).stdout == f"step cache {directory}: 0 entries, 0 bytes\n"
    assert list(directory.iterdir()) == []
    done = stratum("cache", "frobnicate")
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr


def test_cache_info_uses_the_default_directory(tmp_path, monkeypatch, capsys):
    from stratum_jupyter import cli

    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path))
    assert cli.main(["cache", "info"]) == 0
    assert capsys.readouterr().out == f"step cache {tmp_path / 'steps'}: 0 entries, 0 bytes\n"


@pytest.mark.parametrize("argv, scripts, cache", [
    (["--cache", "a.py", "b.py"], ["a.py", "b.py"], True),  # a file is never the cache directory
    (["--cache", "a.py"], ["a.py"], True),
    (["a.py", "--cache"], ["a.py"], True),
    (["--cache", "dir", "a.py"], ["a.py"], "dir"),
    (["--cache=dir", "a.py", "--cache-size", "2GB"], ["a.py"], "dir"),
    (["a.py"], ["a.py"], None),
])
def test_run_cache_option_parsing(tmp_path, monkeypatch, argv, scripts, cache):
    from stratum_jupyter import cli

    monkeypatch.chdir(tmp_path)
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    args = cli.build_parser().parse_args(cli._bare_cache_last(["run", *argv]))
    assert (args.scripts, args.cache) == (scripts, cache)
    assert args.cache_size == ("2GB" if "2GB" in argv else None)


def test_run_with_a_cache_directory(tmp_path):
    (tmp_path / "a.py").write_text("import pandas as pd\ntotal = int(pd.Series(range(10)).sum())\nprint(total)\n")
    for _ in range(2):
        done = stratum("run", "--cache", str(tmp_path / "cache"), "--cache-size", "100MB", "a.py", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "45" in done.stdout and "CacheWarning" not in done.stderr
    assert (tmp_path / "cache").is_dir()


def test_script_names_become_pipeline_names_in_run_and_verify(tmp_path):
    # A file name that is no identifier, and two scripts with one stem: both commands run them
    # under the same names (a verify of them used to report a false mismatch for each).
    (tmp_path / "my-script.py").write_text("x = 1\nprint(x)\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "my-script.py").write_text("y = 2\nprint(y)\n")
    done = stratum("verify", "my-script.py", "d/my-script.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "_my_script " in done.stdout and "_my_script_2 " in done.stdout and "2 identical" in done.stdout
    done = stratum("run", "my-script.py", "d/my-script.py", cwd=tmp_path)
    assert done.returncode == 0 and "── _my_script ──\n1" in done.stdout and "── _my_script_2 ──\n2" in done.stdout
    done = stratum("verify", "my-script.py", "nope.py", cwd=tmp_path)
    assert done.returncode != 0 and "no such script: nope.py" in done.stderr and "Traceback" not in done.stderr
