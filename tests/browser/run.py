"""Browser test of the graph widget: JupyterLab on 127.0.0.1, driven in Debian's chromium.

Starts ``jupyter lab`` from the current interpreter's environment in a scratch directory with a
generated notebook (3 captured pipelines, ``%stratum show``, ``%stratum run``, then a 300-pipeline
graph), runs ``lab.mjs`` (playwright-core, /usr/bin/chromium, never a downloaded browser), and
always stops the server. Screenshots go to ``test-artifacts/``. Exit status: the script's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

PIPELINE = """%%stratum -n {name}
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
Xs = StandardScaler().fit_transform(X)
model = LogisticRegression(C={C}, max_iter=500).fit(Xs, y)
score = model.score(Xs, y)
print("{name}", round(score, 3))"""

BIG = '''import time
from stratum_jupyter import Batch
from stratum_jupyter.widget import show_graph
code = """from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
Xs = StandardScaler().fit_transform(X)
model = LogisticRegression(C={C}, max_iter=200)
model = model.fit(Xs, y)
score = model.score(Xs, y)
"""
big = Batch()
t0 = time.perf_counter()
for i in range(300):
    big.add(code.format(C=round(0.01 * (i + 1), 2)), name=f"cand{i}", isolated=True)
t1 = time.perf_counter()
w = show_graph(big)
t2 = time.perf_counter()
print(f"BIG capture={t1 - t0:.2f}s layout+widget={t2 - t1:.2f}s steps={len(w.nodes)} groups={len(w.groups)}")'''

EXPECTED = """_m = get_ipython().magics_manager.registry.get("StratumMagics")
print("EXPECTED_NODES=%d" % (len(_m.batch.graph_view()["nodes"]) if _m is not None else -1))"""


def make_notebook(path: Path) -> None:
    cells = [nbformat.v4.new_code_cell("%load_ext stratum_jupyter")]
    for i, C in enumerate((0.1, 1.0, 10.0)):
        cells.append(nbformat.v4.new_code_cell(PIPELINE.format(name=f"p{i + 1}", C=C)))
    cells += [
        nbformat.v4.new_code_cell(EXPECTED),
        nbformat.v4.new_code_cell("%stratum show"),
        nbformat.v4.new_code_cell("%stratum run"),
        nbformat.v4.new_code_cell(BIG),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer {url.split('?')[0]} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def main() -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"browser test: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        print("browser test: run `npm ci` in tests/browser first (make browser-test does)", file=sys.stderr)
        return 1
    ARTIFACTS.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="stratum-lab-"))
    work = tmp / "work"
    work.mkdir()
    make_notebook(work / "browser_demo.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        IPYTHONDIR=str(tmp / "ipython"),
    )
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--ServerApp.allow_root=True",
    ]
    log_path = ARTIFACTS / "jupyter-lab.log"
    base = f"http://127.0.0.1:{port}"
    rc = 1
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(proc, f"{base}/api/status?token={token}", timeout=120)
            node_env = dict(env, LAB_URL=base, LAB_TOKEN=token, ARTIFACTS=str(ARTIFACTS), USER_DATA_DIR=str(tmp / "chromium"))
            try:
                rc = subprocess.run(["node", str(HERE / "lab.mjs")], env=node_env, cwd=HERE, timeout=900).returncode
            except subprocess.TimeoutExpired:
                print("browser test: lab.mjs took more than 900 s; stopped", file=sys.stderr)
                rc = 1
        except Exception as e:  # noqa: BLE001 - report and fail
            print(f"browser test: {e}", file=sys.stderr)
            rc = 1
        finally:
            stop(proc)
    if rc != 0:
        print(f"browser test failed; server log: {log_path}", file=sys.stderr)
        print("".join(log_path.read_text(errors="replace").splitlines(True)[-30:]), file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
