"""``make demo``: a small pipeline search on scikit-learn's bundled breast-cancer data, as one batch."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .batch import Batch

PREFIX = """\
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data = load_breast_cancer(as_frame=True)
df = data.frame
df["area_ratio"] = df["worst area"] / df["mean area"]
df["log_radius"] = np.log1p(df["mean radius"])
X = df.drop(columns=["target"])
y = df["target"]
"""

MODELS = {
    "logreg_c0_1": ("from sklearn.linear_model import LogisticRegression", "LogisticRegression(C=0.1, max_iter=2000)"),
    "logreg_c1": ("from sklearn.linear_model import LogisticRegression", "LogisticRegression(C=1.0, max_iter=2000)"),
    "logreg_c10": ("from sklearn.linear_model import LogisticRegression", "LogisticRegression(C=10.0, max_iter=2000)"),
    "knn_5": ("from sklearn.neighbors import KNeighborsClassifier", "KNeighborsClassifier(n_neighbors=5)"),
    "knn_15": ("from sklearn.neighbors import KNeighborsClassifier", "KNeighborsClassifier(n_neighbors=15)"),
    "forest_100": ("from sklearn.ensemble import RandomForestClassifier", "RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)"),
    "forest_300": ("from sklearn.ensemble import RandomForestClassifier", "RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1)"),
    "hgb": ("from sklearn.ensemble import HistGradientBoostingClassifier", "HistGradientBoostingClassifier(random_state=0)"),
}


def pipeline_code(model_import: str, model: str) -> str:
    """One candidate script, the way an agent writes it."""
    return (
        PREFIX
        + f"{model_import}\n"
        + f"pipe = make_pipeline(StandardScaler(), {model})\n"
        + "score = cross_val_score(pipe, X, y, cv=5).mean()\n"
        + 'print(f"accuracy: {score:.4f}")\n'
    )


def main() -> None:
    """Capture the candidates, show what is shared, run them as one batch, print the leaderboard."""
    batch = Batch()
    for name, (model_import, model) in MODELS.items():
        batch.add(pipeline_code(model_import, model), name=name, isolated=True)
    print(batch.explain())
    start = time.perf_counter()
    results = batch.run()
    elapsed = time.perf_counter() - start
    print(f"\nran {len(results)} pipelines in {elapsed:.2f} s "
          f"({results.stats['executed']} of {results.stats['captured_steps']} steps executed)\n")
    print(results.table().to_string())
    print(next_steps())


def next_steps() -> str:
    """What to try after the demo, with paths as seen from the current directory."""
    bin_dir = Path(sys.executable).parent
    if bin_dir.is_relative_to(Path.cwd()):
        bin_dir = bin_dir.relative_to(Path.cwd())
    notebooks = "notebooks/" if Path("notebooks").is_dir() else "<checkout>/notebooks/"
    commands = [
        (f"{bin_dir / 'jupyter'} lab {notebooks}", "the notebooks, in JupyterLab:"),
        ("  agent_session.ipynb", "22 candidates as one batch vs one by one: leaderboard and chart"),
        ("  notebook_workflow.ipynb", "notebook cells, %stratum explain, the graph widget, inspecting results"),
        ("  fidelity.ipynb", "batch = sequential, checked script by script"),
        (f"{bin_dir / 'stratum'} run SCRIPT...", "candidate scripts from files, as one batch"),
        (f"{bin_dir / 'stratum'} verify tests/corpus/*.py", "batch vs plain execution, script by script"),
        ("make test", "every test"),
    ]
    width = max(len(c) for c, _ in commands) + 3
    lines = [f"  {c:<{width}}{what}" for c, what in commands]
    return "\n".join(["", "Next:", *lines,
                      "In a notebook: %load_ext stratum_jupyter, then %%stratum cells and %stratum run (see %stratum?)."])


if __name__ == "__main__":
    main()
