"""The benchmark suite: deterministic generators, runnable scripts, report layout, a smoke run."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from stratum_jupyter.bench import add_arguments, run_from_args
from stratum_jupyter.bench.generators import WORKLOADS, generate
from stratum_jupyter.bench.modes import CHILD, ModeRun, child_env
from stratum_jupyter.bench.report import WorkloadOutcome, build_report, to_markdown


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
    if name == "agent-session":  # the script mix depends on the seed too
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
            env = child_env("c", tmp_path / "cache") if memory else child_env("b")
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


def _fake_outcome(name: str) -> WorkloadOutcome:
    def runs(base: float) -> list[ModeRun]:
        return [ModeRun(wall_seconds=base + d, capture_seconds=0.1 if d == 0 else 0.0,
                        peak_rss_kb=200_000, statuses={"s0": "ok", "s1": "failed"})
                for d in (0.0, 0.5, 1.0)]
    return WorkloadOutcome(
        name=name, rows=100, script_names=["s0", "s1"],
        runs={"a": runs(10.0), "b": runs(4.0), "c": runs(3.0)},
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
    assert {"seconds", "wall_seconds", "capture_seconds", "median", "peak_rss_mb",
            "statuses"} <= set(a)
    assert a["median"] == pytest.approx(10.5)       # median of 9.9, 10.5, 11.0
    assert a["statuses"] == {"ok": 1, "failed": 1}
    assert w["ratios"]["vs_a"]["b"] == pytest.approx(10.5 / 4.5, rel=1e-3)
    assert w["ratios"]["vs_b"]["c"] == pytest.approx(4.5 / 3.5, rel=1e-3)
    assert report["verdict"] == "ok"
    json.dumps(report)
    md = to_markdown(report)
    assert "| agent-session" in md and "(c) warm + sklearn memory" in md


def _smoke(tmp_path: Path, modes: str) -> dict:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "bench.json"
    args = parser.parse_args(["--quick", "--rows", "300", "--scripts", "3", "--reps", "1",
                              "--modes", modes, "--json", str(out)])
    assert run_from_args(args) == 0
    report = json.loads(out.read_text())
    assert set(report["workloads"]) == set(WORKLOADS)
    for w in report["workloads"].values():
        assert set(w["medians"]) == set(modes.split(","))
        assert all(v is not None and v > 0 for v in w["medians"].values())
        assert set(w["ratios"]) == {"vs_a", "vs_b"}
        assert w["fidelity"]["verdict"] == "identical"
    return report


def test_smoke_modes_abc(tmp_path: Path) -> None:
    report = _smoke(tmp_path, "a,b,c")
    assert report["verdict"] == "ok"
    assert report["workloads"]["agent-session"]["ratios"]["vs_a"]["a"] == 1.0


def test_smoke_modes_de(tmp_path: Path) -> None:
    pytest.importorskip("stratum_jupyter._native")
    _smoke(tmp_path, "b,d,e")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run_from_args(parser.parse_args(["--modes", "a,z"])) == 2
    assert "unknown mode" in capsys.readouterr().err
