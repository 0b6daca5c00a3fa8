"""PEP 517 backend: build the JupyterLab extension with npm when needed, then hand over to maturin.

maturin ships ``build/wheel-data`` (see ``[tool.maturin] data``) in the wheel, so the built
extension must exist before maturin runs; without this backend ``pip install .`` on a clean
checkout stops with "No such data directory". Every hook delegates to maturin; all but the
``get_requires`` ones first make sure the extension is built and current. An sdist carries
both the extension's sources and the built extension, so installing it needs no Node.js.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import maturin

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "labextension"
# Must match "jupyterlab.outputDir" in labextension/package.json.
BUILT = ROOT / "build" / "wheel-data" / "data" / "share" / "jupyter" / "labextensions" / "stratum-jupyter"
# `jupyter labextension build` (the package.json build script) comes from jupyterlab.
JUPYTERLAB = "jupyterlab>=4.2,<5"
NPM_STAMP = SOURCE / "node_modules" / ".ci-stamp"  # shared with the Makefile's node-test rule


def _sources() -> list[Path]:
    files = [SOURCE / "package.json", SOURCE / "package-lock.json", SOURCE / "tsconfig.json"]
    for folder in ("src", "style", "scripts"):
        files += [p for p in (SOURCE / folder).rglob("*") if p.is_file()]
    return [p for p in files if p.exists()]


def labextension_needs_build() -> bool:
    """True when the built extension is missing or older than a source file."""
    marker = BUILT / "install.json"
    if not marker.exists():
        return True
    built = marker.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _sources())


def build_labextension() -> None:
    """``npm install`` then ``npm run build`` in labextension/, with this build's ``jupyter`` on PATH."""
    if not (SOURCE / "package.json").exists():
        raise RuntimeError(f"the JupyterLab extension is neither built ({BUILT}) nor its sources present ({SOURCE})")
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "building stratum-jupyter's JupyterLab extension needs Node.js >= 18 with npm on PATH "
            "(https://nodejs.org, or `apt-get install nodejs npm`); an sdist of the project needs no Node.js"
        )
    # pip and `build` put the isolated build environment's scripts on PATH; a build without
    # isolation (pip --no-build-isolation) finds jupyter next to the interpreter.
    env = dict(os.environ, PATH=os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)]))
    if shutil.which("jupyter", path=env["PATH"]) is None:
        raise RuntimeError(f"building the JupyterLab extension needs `jupyter labextension`: install {JUPYTERLAB!r}")
    lock = SOURCE / "package-lock.json"
    if not NPM_STAMP.exists() or any(p.stat().st_mtime > NPM_STAMP.stat().st_mtime for p in (SOURCE / "package.json", lock) if p.exists()):
        # `npm install --no-save` follows the lock file; `npm ci` rejects lock files that omit other
        # platforms' optional packages (rollup/esbuild binaries), as npm 11 writes them.
        _npm([npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"], env)
        NPM_STAMP.touch()
    _npm([npm, "run", "--silent", "build"], env)
    if not (BUILT / "install.json").exists():
        raise RuntimeError(f"`npm run build` in {SOURCE} finished without writing {BUILT / 'install.json'}")


def _npm(command: list[str], env: dict[str, str]) -> None:
    print(f"stratum_build: {' '.join(command[1:])} in {SOURCE}", file=sys.stderr, flush=True)
    # npm's log goes to stderr, apart from maturin's stdout
    done = subprocess.run(command, cwd=SOURCE, env=env, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command[1:])}` failed in {SOURCE} (exit {done.returncode}); see the output above")


def _ensure_labextension() -> None:
    if labextension_needs_build():
        build_labextension()


def _with_jupyterlab(requires: list[str]) -> list[str]:
    return requires + [JUPYTERLAB] if labextension_needs_build() else requires


def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    return _with_jupyterlab(maturin.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings=None) -> list[str]:
    return _with_jupyterlab(maturin.get_requires_for_build_editable(config_settings))


def get_requires_for_build_sdist(config_settings=None) -> list[str]:
    return _with_jupyterlab(maturin.get_requires_for_build_sdist(config_settings))


# maturin checks that the data directory exists even when it only writes metadata.
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None) -> str:
    _ensure_labextension()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None) -> str:
    _ensure_labextension()
    return maturin.prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    _ensure_labextension()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    _ensure_labextension()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None) -> str:
    _ensure_labextension()
    return maturin.build_sdist(sdist_directory, config_settings)


if __name__ == "__main__":  # `python build_backend/stratum_build.py`: (re)build the extension only
    build_labextension()
