"""`pip install` as a new user does it: a fresh clone, a new virtual environment, no make.

Slow (a Rust release build, an npm build, the dependencies from pip's cache): the package is
built once per module. Select with ``pytest -m install``, leave out with ``-m "not install"``.
The clone is of the committed HEAD, so this tests what is committed, not the working tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.install,
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git repository to clone"),
    pytest.mark.skipif(shutil.which("npm") is None or shutil.which("cargo") is None, reason="needs npm and cargo"),
]

EXTENSION = "build/wheel-data/data/share/jupyter/labextensions/stratum-jupyter"
BATCH = (
    "from stratum_jupyter import Batch\n"
    "b = Batch()\n"
    "b.add('import pandas as pd\\nframe = pd.DataFrame({\"x\": [1, 2, 3]})\\ntotal = int(frame.x.sum())', name='a', isolated=True)\n"
    "b.add('import pandas as pd\\nframe = pd.DataFrame({\"x\": [1, 2, 3]})\\nbiggest = int(frame.x.max())', name='b', isolated=True)\n"
    "r = b.run(jobs=2)\n"
    "print(r['a'].status, r['a'].namespace['total'], r['b'].status, r['b'].namespace['biggest'], r.stats['executed'])\n"
)


def _run(*command: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: float = 900) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


# Compiled Rust dependencies are kept between runs and shared by the wheel and the sdist builds,
# as pip's and npm's caches are: the clone, its build and the virtual environment are new each time.
CARGO_TARGET = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stratum-jupyter-install-test" / "cargo-target"


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["CARGO_TARGET_DIR"] = str(CARGO_TARGET)
    return env


def _extension_enabled(venv: Path) -> bool:
    listing = _run(venv / "bin" / "jupyter", "labextension", "list", env=_environment())
    return any("stratum-jupyter" in line and "enabled" in line and "OK" in line for line in listing.splitlines())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(clone, venv): `git clone` of this repository, `pip install` of the clone into a new venv."""
    root = tmp_path_factory.mktemp("install")
    clone, venv = root / "clone", root / "venv"
    _run("git", "clone", "--quiet", ROOT, clone)
    assert not (clone / EXTENSION).exists() and not (clone / "labextension" / "node_modules").exists()
    _run(sys.executable, "-m", "venv", venv)
    # jupyterlab only to run `jupyter labextension list`; `build` for the sdist test
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", clone, "jupyterlab>=4.2,<5", "build", env=_environment())
    return clone, venv


def test_pip_install_of_a_clean_checkout_runs_a_batch_and_enables_the_extension(installed, tmp_path):
    clone, venv = installed
    assert (clone / EXTENSION / "install.json").exists()  # built by the PEP 517 backend, not by make
    out = _run(venv / "bin" / "python", "-c", BATCH, cwd=tmp_path, env=_environment())
    assert out.split()[-5:] == ["ok", "6", "ok", "3", "4"], out  # 2 of 6 steps shared
    assert _extension_enabled(venv)


def test_sdist_carries_the_built_extension_and_installs_without_node(installed, tmp_path):
    clone, venv = installed
    _run(venv / "bin" / "python", "-m", "build", "--sdist", "--outdir", tmp_path / "dist", clone, env=_environment())
    (sdist,) = (tmp_path / "dist").glob("stratum_jupyter-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for needed in (f"{EXTENSION}/install.json", f"{EXTENSION}/package.json", "build_backend/stratum_build.py",
                   "labextension/package.json", "labextension/src/index.ts", "rust/Cargo.toml", "pyproject.toml"):
        assert needed in names, f"{needed} missing from {sdist.name}"
    # npm and node that fail: the install must use the extension the sdist carries
    shims = tmp_path / "shims"
    shims.mkdir()
    for tool in ("npm", "node"):
        (shims / tool).write_text("#!/bin/sh\necho \"$0 must not run when installing the sdist\" >&2\nexit 1\n")
        (shims / tool).chmod(0o755)
    env = _environment()
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    _run(venv / "bin" / "python", "-m", "pip", "uninstall", "-q", "-y", "stratum-jupyter", env=env)
    assert not _extension_enabled(venv)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", sdist, env=env)
    out = _run(venv / "bin" / "python", "-c", BATCH, cwd=tmp_path, env=env)
    assert out.split()[-5:] == ["ok", "6", "ok", "3", "4"], out
    assert _extension_enabled(venv)


# ---- Binder: binder/environment.yml (conda) then binder/postBuild, replayed in a new venv

# conda installs these on Binder; here they come from the machine, as for the tests above
MACHINE_PROVIDED = {"python", "pip", "nodejs", "rust", "graphviz"}
CONDA_TO_PIP = {"matplotlib-base": "matplotlib"}
NOTEBOOKS = ["agent_session.ipynb", "fidelity.ipynb", "notebook_workflow.ipynb"]


def _binder_pip_requirements(environment: Path) -> list[str]:
    """The dependencies of binder/environment.yml that pip installs here, in pip's spelling."""
    requirements, section = [], None
    for line in environment.read_text().splitlines():
        item = line.split("#", 1)[0].rstrip()
        if item and not item.startswith(" "):
            section = item.rstrip(":")
        item = item.strip()
        if section != "dependencies" or not item.startswith("- "):
            continue
        spec = item[2:].strip()
        name = re.split(r"[<>=!~ ]", spec, maxsplit=1)[0]
        if name not in MACHINE_PROVIDED:
            requirements.append(CONDA_TO_PIP.get(name, name) + spec[len(name):])
    return requirements


def test_binder_install_steps_give_jupyterlab_with_the_extension_and_notebooks_that_run(tmp_path):
    clone, venv = tmp_path / "clone", tmp_path / "venv"
    _run("git", "clone", "--quiet", ROOT, clone)
    _run(sys.executable, "-m", "venv", venv)
    env = _environment()
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"  # the env postBuild runs in: its python, pip, jupyter
    requirements = _binder_pip_requirements(clone / "binder" / "environment.yml")
    assert {r.split(">")[0] for r in requirements} == {"jupyterlab", "matplotlib"}, requirements
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", *requirements, env=env)
    _run("bash", clone / "binder" / "postBuild", env=env)  # pip install ., then its own check of the extension
    assert _extension_enabled(venv)
    assert sorted(p.name for p in (clone / "notebooks").glob("*.ipynb")) == NOTEBOOKS
    # Binder opens notebooks/ in JupyterLab: each notebook runs there with what these steps installed
    _run(venv / "bin" / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", tmp_path / "executed",
         *(clone / "notebooks" / name for name in NOTEBOOKS), cwd=clone / "notebooks", env=env)
    assert sorted(p.name for p in (tmp_path / "executed").glob("*.ipynb")) == NOTEBOOKS
