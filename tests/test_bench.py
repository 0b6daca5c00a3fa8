"""The benchmark suite: deterministic generators, runnable scripts, report layout, a smoke run."""

from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from stratum_jupyter.bench import add_arguments, run_from_args
from stratum_jupyter.bench.aide import BUG_ERRORS, candidates
from stratum_jupyter.bench.generators import WORKLOADS, generate
from stratum_jupyter.bench.modes import CHILD, MODES, THREAD_ENV, ModeRun, child_env
from stratum_jupyter.bench.pss import tree_pss_bytes
from stratum_jupyter.bench.report import WorkloadOutcome, build_report, to_markdown
from stratum_jupyter.bench.rounds import processes


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", WORKLOADS)
def test_generators_are_deterministic(name: str, tmp_path: Path) -> None:
    a = generate(name, rows=400, scripts=9, seed=3)
    b = generate(name, rows=400, scripts=9, seed=3)
    c = generate(name, rows=400, scripts=9, seed=4)
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    c.write(tmp_path / "c")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert a.data != c.data
    if name in ("agent-session", "aide", "agent-rounds"):  # the script mix depends on the seed too
        assert [s.code for s in a.scripts] != [s.code for s in c.scripts]


@pytest.mark.parametrize("name", WORKLOADS)
def test_scripts_are_valid_python(name: str) -> None:
    wl = generate(name, rows=200, scripts=30, seed=0)
    assert len({s.name for s in wl.scripts}) == len(wl.scripts)
    for s in wl.scripts:
        ast.parse(s.code)
        ast.parse(s.code_memory)
        assert "memory=" in s.code_memory or not s.uses_pipeline


def test_agent_scripts_share_loading_and_features() -> None:
    scripts = generate("agent-session", rows=200, scripts=30, seed=0).scripts
    shared = 'df = pd.read_csv("data.csv")\n\n\ndef add_date_features(frame):'
    assert all(shared in s.code for s in scripts)
    assert all("n_jobs=1" in s.code for s in scripts if "RandomForest" in s.code)
    assert any("Pipeline(" in s.code for s in scripts)
    assert any("for train_idx, valid_idx in kf.split(X):" in s.code for s in scripts)


def test_generated_scripts_run_plainly(tmp_path: Path) -> None:
    """A few scripts of each workload run as plain ``python`` on tiny data (memory variant too)."""
    for name in WORKLOADS:
        wl = generate(name, rows=400, scripts=6, seed=0)
        wl.write(tmp_path / name)
        failing = set(wl.info.get("failing_by_design", []))
        ok = [s for s in wl.scripts if s.name not in failing]
        piped = [s for s in ok if s.uses_pipeline]
        for memory, picks in ((False, ok[:1]), (True, piped[:1])):
            env = (child_env("c", tmp_path / "cache", pin_threads=wl.pin_threads) if memory
                   else child_env("b", pin_threads=wl.pin_threads))
            for script in picks:
                sub = "scripts_memory" if memory else "scripts"
                proc = subprocess.run([sys.executable, f"{sub}/{script.name}.py"],
                                      cwd=tmp_path / name, env=env, capture_output=True,
                                      text=True, timeout=120)
                assert proc.returncode == 0, proc.stderr[-2000:]
                assert proc.stdout.strip()


def test_failing_scripts_fail_like_scripts(tmp_path: Path) -> None:
    wl = generate("agent-session", rows=300, scripts=6, seed=0)
    wl.write(tmp_path)
    failing = wl.info["failing_by_design"]
    assert failing
    meta = tmp_path / "meta.json"
    paths = [str(p) for p in wl.script_paths(tmp_path) if p.stem in failing]
    subprocess.run([sys.executable, str(CHILD), "exec", "--meta", str(meta), *paths],
                   cwd=tmp_path, env=child_env("b"), check=True, timeout=120)
    assert set(json.loads(meta.read_text())["statuses"].values()) == {"failed"}


def test_aide_candidates_look_like_an_aide_run() -> None:
    nodes = candidates(12, seed=0)
    assert {c.model for c in nodes} == {"lgb", "xgb", "hgb"}
    assert len({c.style for c in nodes}) == 3               # three drafts, three styles
    assert {c.bug for c in nodes} == {None, *BUG_ERRORS}    # every kind of crash
    assert 3 <= sum(c.bug is not None for c in nodes) <= 5
    wl = generate("aide", rows=2000, scripts=60, seed=0)
    assert len(wl.scripts) == 12 and not wl.pin_threads
    codes = [s.code for s in wl.scripts]
    assert any("KFold(n_splits=5, shuffle=True, random_state=" in c and ").split(X):" in c
               for c in codes)
    assert any("xgb.XGBRegressor(" in c and ('tree_method="hist"' in c or
                                            '"tree_method": "hist"' in c) for c in codes)
    assert all("random_state=" in c for c in codes)
    assert not any("n_jobs" in c or "nthread" in c for c in codes)   # library default threads
    # later candidates copy their parent's loading and feature engineering statement for statement
    first_lines = [c.split("\n# 5-fold")[0] for c in codes]
    assert len(set(first_lines)) < len(first_lines)


def test_aide_scripts_fail_where_intended(tmp_path: Path) -> None:
    """All candidates of a small aide run in one plain process: the ok ones print their mean RMSE;
    each crashing one raises its intended error at its intended point."""
    wl = generate("aide", rows=300, scripts=45, seed=0)
    wl.write(tmp_path)
    expected = wl.info["expected_errors"]
    assert set(expected.values()) == {"KeyError", "ValueError", "OSError"}
    out, meta = tmp_path / "records", tmp_path / "meta.json"
    out.mkdir()
    # pinned threads: behaviour is the same, and a loaded test machine stays fast
    subprocess.run([sys.executable, str(CHILD), "exec", "--meta", str(meta), "--out", str(out),
                    *map(str, wl.script_paths(tmp_path))],
                   cwd=tmp_path, env=child_env("b"), check=True, timeout=600)
    for script in wl.scripts:
        record = pickle.loads((out / f"{script.name}.pkl").read_bytes())
        names = set(record["values"])
        error = expected.get(script.name)
        if error is None:
            assert record["status"] == "ok", record["error"]
            assert record["stdout"].startswith("Mean CV RMSE: ")
            assert {"fold_rmse", "final_model", "submission"} <= names
            continue
        assert record["status"] == "failed"
        assert record["error"].strip().splitlines()[-1].startswith(f"{error}:"), record["error"]
        if error == "KeyError":        # early: in the feature engineering, before X exists
            assert "X" not in names and record["stdout"] == ""
        elif error == "ValueError":    # in the middle: the first fit of the loop
            assert pickle.loads(record["values"]["fold_rmse"]) == [] and "model" in names
        else:                          # the last statement: everything else ran
            assert record["stdout"].startswith("Mean CV RMSE: ") and "submission" in names


def test_thread_env_applies_per_workload() -> None:
    pinned = child_env("b", pin_threads=True)
    assert all(pinned[k] == os.environ.get(k, v) for k, v in THREAD_ENV.items())
    free = child_env("b", pin_threads=False)
    assert all(free.get(k) == os.environ.get(k) for k in THREAD_ENV)


def test_tree_pss_counts_child_processes() -> None:
    code = "import time; b = bytearray(120 * 2**20); b[::4096] = b'x' * len(b[::4096]); " \
           "print('ready', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"ready"
        alone = tree_pss_bytes(child.pid)
        assert alone >= 120 * 2**20
        assert tree_pss_bytes(os.getpid()) >= alone     # this process plus that child
    finally:
        child.kill()
        child.wait()
    assert tree_pss_bytes(child.pid) == 0               # gone


def test_mode_seconds_exclude_capture_and_setup() -> None:
    assert ModeRun(wall_seconds=10.0, capture_seconds=1.0, setup_seconds=2.5).seconds == 6.5
    assert MODES["f"].applies_to("aide") and not MODES["f"].applies_to("grid")
    assert MODES["dask-distributed"].applies_to("agent-session")
    assert not MODES["dask-distributed"].applies_to("aide")


def _fake_outcome(name: str) -> WorkloadOutcome:
    def runs(base: float) -> list[ModeRun]:
        return [ModeRun(wall_seconds=base + d, capture_seconds=0.1 if d == 0 else 0.0,
                        peak_rss_kb=200_000, statuses={"s0": "ok", "s1": "failed"})
                for d in (0.0, 0.5, 1.0)]

    def recording(base: float) -> ModeRun:  # untimed: never in the median
        return ModeRun(wall_seconds=base * 100, peak_rss_kb=200_000, peak_pss_kb=300_000 + 1024,
                       statuses={"s0": "ok", "s1": "failed"})
    return WorkloadOutcome(
        name=name, rows=100, script_names=["s0", "s1"],
        runs={"a": runs(10.0), "b": runs(4.0), "c": runs(3.0)},
        recorded={"a": recording(10.0), "b": recording(4.0), "c": recording(3.0)},
        fidelity={"reference": "b", "comparator": "test", "verdict": "identical",
                  "modes": {"a": "identical", "b": "reference", "c": "identical"},
                  "mismatches": []})


def test_report_has_documented_keys() -> None:
    settings = {"quick": True, "rows": 100, "scripts": 2, "reps": 3, "seed": 0,
                "workloads": ["agent-session", "text"], "modes": ["a", "b", "c"]}
    report = build_report(settings=settings,
                          outcomes=[_fake_outcome("agent-session"), _fake_outcome("text")])
    assert {"schema", "created", "machine", "settings", "modes", "workloads",
            "verdict"} <= set(report)
    assert {"cores_logical", "cores_available"} <= set(report["machine"])
    w = report["workloads"]["agent-session"]
    assert {"rows", "scripts", "modes", "medians", "ratios", "fidelity"} <= set(w)
    a = w["modes"]["a"]
    assert {"seconds", "wall_seconds", "capture_seconds", "setup_seconds", "median",
            "peak_rss_mb", "peak_pss_mb", "statuses"} <= set(a)
    assert a["peak_pss_mb"] == pytest.approx(300_000 / 1024 + 1, abs=0.1)   # the recording run
    assert w["thread_env"] == THREAD_ENV
    assert a["median"] == pytest.approx(10.5)       # median of 9.9, 10.5, 11.0
    assert a["statuses"] == {"ok": 1, "failed": 1}
    assert w["ratios"]["vs_a"]["b"] == pytest.approx(10.5 / 4.5, rel=1e-3)
    assert w["ratios"]["vs_b"]["c"] == pytest.approx(4.5 / 3.5, rel=1e-3)
    assert report["verdict"] == "ok"
    json.dumps(report)
    md = to_markdown(report)
    assert "| agent-session" in md and "(c) warm + sklearn memory" in md and "peak PSS MB" in md


# The whole suite end to end (every workload and mode, fidelity checked) is `make bench-smoke`,
# which `make test` runs: not repeated here.


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run_from_args(parser.parse_args(["--modes", "a,z"])) == 2
    assert "unknown mode" in capsys.readouterr().err


def test_agent_rounds_resubmit_candidates_with_changed_final_models() -> None:
    wl = generate("agent-rounds", rows=400, scripts=60, seed=0)
    first, second, third = wl.rounds
    changed = wl.info["changed"]
    assert len(first.scripts) == 15 and len(changed) == 2          # issue 12's session
    assert second.scripts == first.scripts + tuple(changed) == third.scripts
    assert [[r.label for r in group] for group in processes(wl)] == [["round1", "round2"], ["round3"]]
    code = {s.name: s.code for s in wl.scripts}
    for name in changed:
        original = code[name.removesuffix("_changed")].splitlines()
        tweaked = code[name].splitlines()
        differing = [(a, b) for a, b in zip(original, tweaked) if a != b]
        assert len(original) == len(tweaked) and len(differing) == 1, differing
        assert "model" in differing[0][1]                      # only the final model's parameters


def test_agent_rounds_reuse_steps_and_match_plain_execution(tmp_path: Path) -> None:
    """The rounds at tiny size, %%stratum --cache against one warm process: every round's
    results equal plain execution, and rounds 2 and 3 execute fewer steps than round 1."""
    pytest.importorskip("stratum_jupyter._native")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "bench.json"
    args = parser.parse_args(["--workloads", "agent-rounds", "--modes", "b,d", "--rows", "3000",
                              "--scripts", "16", "--reps", "1", "--json", str(out)])
    assert run_from_args(args) == 0
    w = json.loads(out.read_text())["workloads"]["agent-rounds"]
    assert w["fidelity"]["verdict"] == "identical"
    rounds = w["rounds"]
    assert list(rounds) == ["round1", "round2", "round3"]
    for r in rounds.values():
        assert r["fidelity"]["modes"] == {"b": "reference", "d": "identical"}
        assert r["modes"]["b"]["statuses"] == r["modes"]["d"]["statuses"]
        assert r["modes"]["b"]["steps"] is None                 # plain scripts: every step runs
    steps = {label: r["modes"]["d"]["steps"] for label, r in rounds.items()}
    (executed1,), (executed2,), (executed3,) = (steps[k]["executed"] for k in rounds)
    assert executed1 >= steps["round1"]["unique_steps"] > 0   # nothing kept before round 1
    assert steps["round2"]["captured_steps"] > steps["round1"]["captured_steps"]
    assert steps["round3"]["captured_steps"] == steps["round2"]["captured_steps"]
    assert 0 < executed2 < executed1                            # the changed models run again
    assert executed3 < executed1                                # kept on disk across the restart
    assert steps["round1"]["cache_hits"] == [0] and steps["round3"]["cache_hits"][0] > executed3
