"""Seeded generators for the benchmark workloads: data files and the scripts that use them.

Every workload is a directory of data files plus a list of scripts that read them with paths
relative to that directory (the scripts run with it as the working directory). Generation is
deterministic: the same arguments give byte-identical data and script text.

Workloads
- ``agent-session``: scripts in the style of an LLM agent searching for a model over a mixed-type
  customer table, in three rounds where later rounds copy and tweak the best earlier scripts.
  Scripts share their loading and feature steps statement for statement, as agent scripts do.
- ``text``: TF-IDF / CountVectorizer + linear classifiers over generated documents.
- ``grid``: ``Pipeline(ColumnTransformer -> model)`` inside ``GridSearchCV``.
- ``aide``: candidates shaped like a public AIDE run on house prices: KFold loops around
  LightGBM, XGBoost or HistGradientBoosting, a third of them crashing (see :mod:`.aide`).
- ``california``: four agent-style candidates on California-housing columns, a Pipeline with a
  scaling ColumnTransformer scored by ``cross_val_score`` (see :mod:`.california`).
- ``agent-rounds``: agent-session candidates submitted in three rounds (the same ones again plus
  a few with a changed final model, then again after a restart): reuse across runs
  (see :mod:`.rounds`).

Each script also comes in a "memory" variant for mode (c): its top-level ``Pipeline`` gets
``memory=joblib.Memory(...)`` (scikit-learn's own caching). Scripts without a Pipeline have an
identical variant. The cache location comes from the ``STRATUM_BENCH_SKLEARN_CACHE`` variable.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .rounds import Round

WORKLOADS: tuple[str, ...] = ("agent-session", "text", "grid", "aide", "agent-rounds", "california")

#: Environment variable naming the joblib.Memory directory of the mode (c) variants.
CACHE_ENV = "STRATUM_BENCH_SKLEARN_CACHE"
#: Names bound only by the mode (c) variants start with this prefix; comparisons ignore them.
BENCH_PREFIX = "_bench"

_MEMORY_HEADER = (
    "import os\n"
    f"from joblib import Memory as {BENCH_PREFIX}_Memory\n"
    f"{BENCH_PREFIX}_memory = {BENCH_PREFIX}_Memory(os.environ[\"{CACHE_ENV}\"], verbose=0)\n"
)


@dataclass(frozen=True)
class Script:
    """One generated script: plain text and its ``Pipeline(memory=...)`` variant."""

    name: str
    code: str
    code_memory: str

    @property
    def uses_pipeline(self) -> bool:
        """True when the memory variant differs (the script builds a top-level Pipeline)."""
        return self.code != self.code_memory


@dataclass
class Workload:
    """A generated workload: data files (name -> bytes) and scripts in run order."""

    name: str
    rows: int
    seed: int
    data: dict[str, bytes]
    scripts: list[Script]
    info: dict[str, object] = field(default_factory=dict)
    #: Run with native thread pools pinned to one thread (``modes.THREAD_ENV``); False: the
    #: libraries' defaults, as an agent runs them.
    pin_threads: bool = True
    #: Timed from a warm start (modes (b)-(f)): the libraries the scripts import are loaded, and
    #: for %%stratum the worker processes are up with them, before the clock starts — as in a
    #: kernel that already worked; for workloads whose whole run is shorter than those imports.
    warm: bool = False
    #: Submissions in order (``agent-rounds``); empty: the scripts are one submission.
    rounds: list["Round"] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        """Write data files to ``directory`` and scripts to ``scripts/`` and ``scripts_memory/``."""
        directory.mkdir(parents=True, exist_ok=True)
        for fname, blob in self.data.items():
            (directory / fname).write_bytes(blob)
        for sub, attr in (("scripts", "code"), ("scripts_memory", "code_memory")):
            (directory / sub).mkdir(exist_ok=True)
            for s in self.scripts:
                (directory / sub / f"{s.name}.py").write_text(getattr(s, attr))

    def script_paths(self, directory: Path, memory: bool = False) -> list[Path]:
        """Paths of the written scripts (plain or memory variant), in run order."""
        sub = "scripts_memory" if memory else "scripts"
        return [directory / sub / f"{s.name}.py" for s in self.scripts]


def generate(name: str, *, rows: int, scripts: int, seed: int = 0) -> Workload:
    """Generate workload ``name`` sized by ``rows`` (table rows) and ``scripts`` (agent scripts).

    ``rows`` and ``scripts`` size the agent session; the text and grid workloads scale from them
    (see :func:`workload_sizes`) so one pair of flags sizes the whole suite.
    """
    n_rows, n_scripts = workload_sizes(name, rows=rows, scripts=scripts)
    if name == "agent-session":
        return _agent_session(n_rows, n_scripts, seed)
    if name == "text":
        return _text(n_rows, n_scripts, seed)
    if name == "grid":
        return _grid(n_rows, n_scripts, seed)
    if name == "aide":
        from .aide import aide_workload
        return aide_workload(n_rows, n_scripts, seed)
    if name == "california":
        from .california import california_workload
        return california_workload(n_rows, n_scripts, seed)
    if name == "agent-rounds":
        from .rounds import agent_rounds_workload
        return agent_rounds_workload(n_rows, n_scripts, seed)
    raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}")


def workload_sizes(name: str, *, rows: int, scripts: int) -> tuple[int, int]:
    """(rows or documents, number of scripts) of workload ``name`` for the suite-wide sizes."""
    if name == "agent-session":
        return max(rows, 50), max(scripts, 3)
    if name == "text":
        return max(rows // 20, 200), max(scripts // 5, 3)
    if name == "grid":
        return max(rows // 10, 300), max(scripts // 10, 2)
    if name == "aide":
        return max(rows // 10, 200), max(scripts // 5, 4)
    if name == "california":  # the suite's defaults: 20,640 rows (the real data's size), 4 candidates
        from .california import FULL_ROWS
        return max(round(rows * FULL_ROWS / 200_000), 100), max(scripts // 15, 4)
    if name == "agent-rounds":  # 60 scripts x 200,000 rows: 15 candidates x 20,000 (issue 12)
        return max(rows // 10, 200), max(scripts // 4, 3)
    raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}")


# --------------------------------------------------------------------------------------------
# Data


CITIES = ["Lyon", "Paris", "Nantes", "Lille", "Nice", "Brest", "Dijon", "Metz", "Rennes",
          "Tours", "Reims", "Pau"]
NUM_BASE = ["age", "income", "n_visits", "avg_basket", "tenure_months", "is_member",
            "satisfaction"]
CAT_COLS = ["city", "segment", "channel"]


def customer_table(rows: int, seed: int) -> pd.DataFrame:
    """A mixed-type customer table with missing values and two targets (churned, spend)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows).astype(float)
    income = np.round(rng.lognormal(10.4, 0.5, rows), 2)
    city = rng.choice(np.array(CITIES, dtype=object), rows)
    segment = rng.choice(np.array(list("ABCD"), dtype=object), rows, p=[0.4, 0.3, 0.2, 0.1])
    channel = rng.choice(np.array(["web", "store", "phone", "partner"], dtype=object), rows)
    start = np.datetime64("2015-01-01")
    signup = (start + rng.integers(0, 3000, rows).astype("timedelta64[D]")).astype(str)
    n_visits = rng.poisson(6, rows)
    avg_basket = np.round(rng.gamma(2.0, 25.0, rows), 2)
    tenure = rng.integers(1, 121, rows)
    is_member = rng.integers(0, 2, rows)
    satisfaction = np.round(np.clip(rng.normal(3.5, 1.0, rows), 1, 5), 1)
    seg_effect = np.select([segment == "A", segment == "B", segment == "C"], [0.0, 0.4, 0.8], 1.2)
    logit = (-1.0 + 0.8 * (satisfaction < 3) - 0.01 * tenure + 0.5 * (channel == "web")
             - 0.6 * is_member + 0.3 * seg_effect + 0.02 * (age - 45) / 10
             + rng.normal(0, 0.7, rows))
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    spend = np.round(avg_basket * n_visits * (1 + 0.3 * is_member) * (1 + seg_effect / 4)
                     + income / 1000 + rng.normal(0, 40, rows), 2)
    # Missing values, as in real exports.
    age[rng.random(rows) < 0.05] = np.nan
    income[rng.random(rows) < 0.08] = np.nan
    satisfaction[rng.random(rows) < 0.10] = np.nan
    city[rng.random(rows) < 0.03] = None
    return pd.DataFrame({
        "customer_id": np.arange(1, rows + 1), "age": age, "income": income, "city": city,
        "segment": segment, "channel": channel, "signup_date": signup, "n_visits": n_visits,
        "avg_basket": avg_basket, "tenure_months": tenure, "is_member": is_member,
        "satisfaction": satisfaction, "spend": spend, "churned": churned,
    })


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode()


_SYLLABLES = ["ka", "lo", "mi", "ru", "te", "shi", "na", "vo", "pe", "di", "zu", "fa",
              "gro", "bel", "tur", "min", "sa", "quo", "rex", "li"]
TOPICS = ["sports", "finance", "science", "travel"]


def documents(n_docs: int, seed: int) -> pd.DataFrame:
    """Generated documents (``text``, ``label``): topic words mixed with common words."""
    rng = np.random.default_rng(seed)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < 1400:
        w = "".join(rng.choice(_SYLLABLES, rng.integers(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    common = np.array(words[:600])
    topical = [np.array(words[600 + 200 * i: 800 + 200 * i]) for i in range(len(TOPICS))]
    zipf_c = 1 / np.arange(1, len(common) + 1)
    zipf_c /= zipf_c.sum()
    zipf_t = 1 / np.arange(1, 201) ** 0.8
    zipf_t /= zipf_t.sum()
    labels = rng.integers(0, len(TOPICS), n_docs)
    texts: list[object] = []
    for lab in labels:
        length = int(rng.integers(12, 60))
        n_topic = int(rng.binomial(length, 0.3))
        toks = np.concatenate([rng.choice(topical[lab], n_topic, p=zipf_t),
                               rng.choice(common, length - n_topic, p=zipf_c)])
        rng.shuffle(toks)
        text = " ".join(toks)
        if rng.random() < 0.1:
            text = text.capitalize() + "!"
        texts.append(text if rng.random() > 0.02 else None)
    noisy = rng.random(n_docs) < 0.08
    labels = np.where(noisy, rng.integers(0, len(TOPICS), n_docs), labels)
    return pd.DataFrame({"doc_id": np.arange(n_docs), "text": texts,
                         "label": np.array(TOPICS, dtype=object)[labels]})


# --------------------------------------------------------------------------------------------
# agent-session

# Model catalogue: key -> (task, import line, constructor template, tweakable params, prior).
# The prior is a stand-in for "how well this kind of model tends to score", used to pick the
# "best" scripts to copy in later rounds without running anything.
_MODELS: dict[str, tuple[str, str, str, dict[str, list[object]], float]] = {
    "ridge": ("regression", "from sklearn.linear_model import Ridge",
              "Ridge(alpha={alpha})", {"alpha": [0.1, 1.0, 10.0, 100.0]}, 1.0),
    "lasso": ("regression", "from sklearn.linear_model import Lasso",
              "Lasso(alpha={alpha}, max_iter=5000)", {"alpha": [0.01, 0.1, 1.0]}, 0.8),
    "rf_reg": ("regression", "from sklearn.ensemble import RandomForestRegressor",
               "RandomForestRegressor(n_estimators={n_estimators}, max_depth={max_depth}, "
               "max_features=0.5, min_samples_leaf=5, random_state=0, n_jobs=1)",
               {"n_estimators": [10, 20], "max_depth": [6, 8]}, 1.6),
    "hgb_reg": ("regression", "from sklearn.ensemble import HistGradientBoostingRegressor",
                "HistGradientBoostingRegressor(max_iter={max_iter}, "
                "learning_rate={learning_rate}, random_state=0)",
                {"max_iter": [30, 60], "learning_rate": [0.1, 0.2]}, 2.0),
    "knn_reg": ("regression", "from sklearn.neighbors import KNeighborsRegressor",
                "KNeighborsRegressor(n_neighbors={n_neighbors}, n_jobs=1)",
                {"n_neighbors": [5, 15, 25]}, 0.7),
    "logreg": ("classification", "from sklearn.linear_model import LogisticRegression",
               "LogisticRegression(C={C}, max_iter=1000)", {"C": [0.1, 1.0, 10.0]}, 1.0),
    "rf_clf": ("classification", "from sklearn.ensemble import RandomForestClassifier",
               "RandomForestClassifier(n_estimators={n_estimators}, max_depth={max_depth}, "
               "min_samples_leaf=5, random_state=0, n_jobs=1)",
               {"n_estimators": [10, 20], "max_depth": [6, 8]}, 1.6),
    "hgb_clf": ("classification", "from sklearn.ensemble import HistGradientBoostingClassifier",
                "HistGradientBoostingClassifier(max_iter={max_iter}, "
                "learning_rate={learning_rate}, random_state=0)",
                {"max_iter": [30, 60], "learning_rate": [0.1, 0.2]}, 2.0),
    "knn_clf": ("classification", "from sklearn.neighbors import KNeighborsClassifier",
                "KNeighborsClassifier(n_neighbors={n_neighbors}, n_jobs=1)",
                {"n_neighbors": [5, 15, 25]}, 0.7),
}
#: Parameter grids of the models (what a tweak or a changed final model picks from).
MODEL_GRIDS: dict[str, dict[str, list[object]]] = {k: spec[3] for k, spec in _MODELS.items()}
_SCALE_FREE = {"rf_reg", "hgb_reg", "rf_clf", "hgb_clf"}
_KNN = {"knn_reg", "knn_clf"}
# Round-1 draw weights: agents try linear models and boosting first, forests less (they're slow).
_ROUND1_WEIGHTS = {"ridge": 3, "lasso": 2, "rf_reg": 1, "hgb_reg": 3, "knn_reg": 1,
                   "logreg": 3, "rf_clf": 1, "hgb_clf": 3, "knn_clf": 1}

# One-line feature tweaks: key -> (statement, new numeric column).
_EXTRA_FEATURES: dict[str, tuple[str, str]] = {
    "visits_per_month": ('df["visits_per_month"] = df["n_visits"] / df["tenure_months"]',
                         "visits_per_month"),
    "age_bucket": ('df["age_bucket"] = pd.cut(df["age"], bins=[0, 30, 45, 60, 100], '
                   'labels=False)', "age_bucket"),
    "satisfaction_sq": ('df["satisfaction_sq"] = df["satisfaction"] ** 2', "satisfaction_sq"),
    "city_freq": ('df["city_freq"] = df["city"].map(df["city"].value_counts(normalize=True))',
                  "city_freq"),
}
# A feature tweak with a typo: fails with KeyError after the shared steps ran (agents do this).
_TYPO_FEATURE = 'df["visits_per_month"] = df["n_visit"] / df["tenure_months"]'

_BASE_FEATURES = '''\
def add_date_features(frame):
    dates = pd.to_datetime(frame["signup_date"])
    frame["signup_year"] = dates.dt.year
    frame["signup_month"] = dates.dt.month
    frame["signup_dow"] = dates.dt.day_of_week


add_date_features(df)
df["income_per_visit"] = df["income"] / (df["n_visits"] + 1)
df["log_income"] = np.log1p(df["income"])
df["basket_x_visits"] = df["avg_basket"] * df["n_visits"]
'''
_BASE_NUM = NUM_BASE + ["signup_year", "signup_month", "signup_dow", "income_per_visit",
                        "log_income", "basket_x_visits"]
_EXTENDED_FEATURES = '''\
df["tenure_years"] = df["tenure_months"] / 12
df["is_big_city"] = df["city"].isin(["Paris", "Lyon", "Lille"]).astype(int)
'''
_EXTENDED_NUM = ["tenure_years", "is_big_city"]

_PREPROCESSOR_DEF = '''\
def make_preprocessor(num_cols, cat_cols):
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")),
                        ("scale", StandardScaler())])
    categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                     sparse_output=False))])
    return ColumnTransformer([("num", numeric, num_cols), ("cat", categorical, cat_cols)])
'''


@dataclass(frozen=True)
class AgentPlan:
    """What one agent script does; rendered to text by :func:`render_agent`."""

    task: str                       # "classification" (churned) | "regression" (spend)
    features: str                   # "base" | "extended"
    extras: tuple[str, ...]         # extra one-line features (keys of _EXTRA_FEATURES)
    encoding: str                   # "dummies" | "ordinal" | "pipeline"
    model: str                      # key of _MODELS
    params: tuple[tuple[str, object], ...]
    cv: str                         # "cross_val_score" | "manual"
    bug: str | None = None          # None | "typo" | "bad_param"
    prior: float = 0.0              # proxy score used to pick the "best" scripts


def render_agent(plan: AgentPlan, memory: bool = False) -> str:
    """Render an agent script; ``memory`` adds ``Pipeline(memory=...)`` when it has a Pipeline."""
    task, model_import, ctor, _, _ = _MODELS[plan.model]
    memory = memory and plan.encoding == "pipeline"
    classification = task == "classification"
    imports = ["import numpy as np", "import pandas as pd",
               "from sklearn.model_selection import KFold, cross_val_score"]
    if plan.encoding == "ordinal":
        imports += ["from sklearn.impute import SimpleImputer",
                    "from sklearn.preprocessing import OrdinalEncoder"]
    if plan.encoding == "pipeline":
        imports += ["from sklearn.compose import ColumnTransformer",
                    "from sklearn.impute import SimpleImputer",
                    "from sklearn.pipeline import Pipeline",
                    "from sklearn.preprocessing import OneHotEncoder, StandardScaler"]
    if plan.cv == "manual":
        imports.append("from sklearn.metrics import roc_auc_score" if classification
                       else "from sklearn.metrics import r2_score")
    imports.append(model_import)
    out = ["\n".join(imports) + "\n"]
    if memory:
        out.append(_MEMORY_HEADER)
    if plan.encoding == "pipeline":
        out.append("\n" + _PREPROCESSOR_DEF)
    out.append('\ndf = pd.read_csv("data.csv")\n\n\n' + _BASE_FEATURES)

    num = list(_BASE_NUM)
    lines: list[str] = []
    if plan.features == "extended":
        lines.append(_EXTENDED_FEATURES.rstrip("\n"))
        num += _EXTENDED_NUM
    for key in plan.extras:
        stmt, col = _EXTRA_FEATURES[key]
        lines.append(stmt)
        num.append(col)
    if plan.bug == "typo":
        lines.append(_TYPO_FEATURE)
    lines.append("")
    lines.append(f"num_cols = {num!r}")
    lines.append(f"cat_cols = {CAT_COLS!r}")
    target = "churned" if classification else "spend"
    params = dict(plan.params)
    model_expr = ctor.format(**params)
    if plan.encoding == "dummies":
        lines += ["df[num_cols] = df[num_cols].fillna(df[num_cols].median())",
                  'df[cat_cols] = df[cat_cols].fillna("missing")',
                  "X = pd.get_dummies(df[num_cols + cat_cols], columns=cat_cols, dtype=float)"]
    elif plan.encoding == "ordinal":
        lines += ['imputer = SimpleImputer(strategy="median")',
                  "df[num_cols] = imputer.fit_transform(df[num_cols])",
                  'df[cat_cols] = df[cat_cols].fillna("missing")',
                  "encoder = OrdinalEncoder()",
                  "df[cat_cols] = encoder.fit_transform(df[cat_cols])",
                  "X = df[num_cols + cat_cols]"]
    else:
        lines.append("X = df[num_cols + cat_cols]")
    lines.append(f'y = df["{target}"]')
    if plan.encoding != "pipeline" and plan.model not in _SCALE_FREE:
        lines.append("X = (X - X.mean()) / (X.std() + 1e-9)")
    if plan.model in _KNN:
        lines += ["", "# kNN is slow on the full table: subsample.",
                  "sample_idx = X.sample(n=min(len(X), 20000), random_state=0).index",
                  "X = X.loc[sample_idx]", "y = y.loc[sample_idx]"]
    lines.append("")
    if plan.encoding == "pipeline":
        mem = f", memory={BENCH_PREFIX}_memory" if memory else ""
        lines.append('model = Pipeline([("pre", make_preprocessor(num_cols, cat_cols)),\n'
                     f'                  ("model", {model_expr})]{mem})')
    else:
        lines.append(f"model = {model_expr}")
    if plan.cv == "cross_val_score":
        scoring = "roc_auc" if classification else "r2"
        lines += ["cv = KFold(n_splits=5, shuffle=True, random_state=42)",
                  f'scores = cross_val_score(model, X, y, cv=cv, scoring="{scoring}", n_jobs=1)',
                  "score = scores.mean()"]
    else:
        pred = ("model.predict_proba(X.iloc[valid_idx])[:, 1]" if classification
                else "model.predict(X.iloc[valid_idx])")
        metric = "roc_auc_score" if classification else "r2_score"
        lines += ["kf = KFold(n_splits=5, shuffle=True, random_state=42)",
                  "fold_scores = []",
                  "for train_idx, valid_idx in kf.split(X):",
                  "    model.fit(X.iloc[train_idx], y.iloc[train_idx])",
                  f"    pred = {pred}",
                  f"    fold_scores.append({metric}(y.iloc[valid_idx], pred))",
                  "score = float(np.mean(fold_scores))"]
    label = "AUC" if classification else "R2"
    lines.append(f'print(f"{plan.model} {label}: {{score:.4f}}")')
    out.append("\n".join(lines) + "\n")
    return "".join(out)


def _default_params(model: str) -> tuple[tuple[str, object], ...]:
    grid = MODEL_GRIDS[model]
    return tuple((k, v[len(v) // 2] if len(v) > 2 else v[0]) for k, v in grid.items())


def _tweak(plan: AgentPlan, rng: random.Random, bug: str | None) -> AgentPlan:
    """Copy ``plan`` with one change: a parameter, one feature, or the model (same task)."""
    kind = rng.choice(["param", "param", "feature", "model"])
    if bug == "typo":
        kind = "feature"
    prior = plan.prior + rng.uniform(-0.3, 0.4)
    if kind == "param":
        params = dict(plan.params)
        key = rng.choice(sorted(params))
        choices = [v for v in MODEL_GRIDS[plan.model][key] if v != params[key]]
        params[key] = rng.choice(choices)
        new = replace(plan, params=tuple(params.items()), prior=prior)
    elif kind == "feature":
        if bug == "typo":
            new = replace(plan, prior=prior)
        else:
            unused = [k for k in _EXTRA_FEATURES if k not in plan.extras]
            extras = plan.extras + (rng.choice(unused),) if unused else plan.extras[:-1]
            new = replace(plan, extras=extras, prior=prior)
    else:
        task = _MODELS[plan.model][0]
        others = [m for m, spec in _MODELS.items() if spec[0] == task and m != plan.model]
        model = rng.choice(others)
        new = replace(plan, model=model, params=_default_params(model),
                      prior=_MODELS[model][4] + rng.uniform(0, 0.5))
    if bug == "bad_param":
        # An out-of-range value: every fit fails, so cross_val_score / the loop raises.
        key = sorted(dict(new.params))[0]
        params = dict(new.params)
        params[key] = -1 if isinstance(params[key], int) else -1.0
        new = replace(new, params=tuple(params.items()))
    return replace(new, bug=bug)


def agent_plans(n_scripts: int, seed: int) -> list[AgentPlan]:
    """Plans for ``n_scripts`` agent scripts in three rounds (exploration, two refinements)."""
    rng = random.Random(seed)
    r1 = max(1, -(-n_scripts // 3))
    r2 = max(0, -(-(n_scripts - r1) // 2))
    plans: list[AgentPlan] = []
    names = sorted(_ROUND1_WEIGHTS)
    weights = [_ROUND1_WEIGHTS[m] for m in names]
    for i in range(r1):
        model = rng.choices(names, weights)[0]
        if i < 2:  # the first two explore both framings of the task
            task = "regression" if i == 0 else "classification"
            model = [m for m in ("hgb_reg", "ridge", "logreg", "hgb_clf")
                     if _MODELS[m][0] == task][rng.randrange(2)]
        plans.append(AgentPlan(
            task=_MODELS[model][0], features=rng.choice(["base", "base", "extended"]), extras=(),
            encoding=rng.choice(["dummies", "ordinal", "pipeline"]), model=model,
            params=_default_params(model), cv=rng.choice(["cross_val_score", "manual"]),
            prior=_MODELS[model][4] + rng.uniform(0, 0.5)))
    later = list(range(r1, n_scripts))
    n_bugs = max(1, round(0.1 * len(later))) if later else 0
    bugs = {i: rng.choice(["typo", "bad_param"]) for i in sorted(rng.sample(later, n_bugs))}
    for i in later:
        done = r1 if i < r1 + r2 else r1 + r2     # parents come from earlier rounds only
        ranked = sorted(plans[:done], key=lambda p: (p.bug is None, p.prior), reverse=True)
        parent = ranked[rng.randrange(min(3, len(ranked)))]
        plans.append(_tweak(replace(parent, bug=None), rng, bugs.get(i)))
    return plans


def _agent_session(rows: int, n_scripts: int, seed: int) -> Workload:
    plans = agent_plans(n_scripts, seed)
    scripts = [Script(f"agent_{i:03d}", render_agent(p), render_agent(p, memory=True))
               for i, p in enumerate(plans)]
    return Workload("agent-session", rows, seed, {"data.csv": _csv_bytes(customer_table(rows, seed))},
                    scripts, info={"failing_by_design": [s.name for s, p in zip(scripts, plans)
                                                         if p.bug]})


# --------------------------------------------------------------------------------------------
# text

_VECTORIZERS = {
    "tfidf": ("TfidfVectorizer", "TfidfVectorizer(min_df=2, sublinear_tf=True)"),
    "tfidf_bigram": ("TfidfVectorizer",
                     "TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50000, "
                     "sublinear_tf=True)"),
    "count": ("CountVectorizer", "CountVectorizer(min_df=2)"),
}
_TEXT_CLASSIFIERS = {
    "logreg_c1": ("from sklearn.linear_model import LogisticRegression",
                  "LogisticRegression(C=1.0, max_iter=1000)"),
    "logreg_c4": ("from sklearn.linear_model import LogisticRegression",
                  "LogisticRegression(C=4.0, max_iter=1000)"),
    "svc": ("from sklearn.svm import LinearSVC", "LinearSVC(C=0.5)"),
    "nb": ("from sklearn.naive_bayes import MultinomialNB", "MultinomialNB(alpha=0.1)"),
    "ridge": ("from sklearn.linear_model import RidgeClassifier", "RidgeClassifier(alpha=1.0)"),
    "sgd": ("from sklearn.linear_model import SGDClassifier",
            "SGDClassifier(alpha=0.0001, random_state=0)"),
}


def render_text(vec: str, clf: str, style: str, memory: bool = False) -> str:
    """A text-classification script: vectorizer + classifier, prefit or in a Pipeline."""
    memory = memory and style == "pipeline"
    vec_cls, vec_expr = _VECTORIZERS[vec]
    clf_import, clf_expr = _TEXT_CLASSIFIERS[clf]
    imports = ["import pandas as pd",
               f"from sklearn.feature_extraction.text import {vec_cls}",
               "from sklearn.model_selection import StratifiedKFold, cross_val_score"]
    if style == "pipeline":
        imports.append("from sklearn.pipeline import Pipeline")
    imports.append(clf_import)
    body = ["", 'docs = pd.read_csv("docs.csv")',
            'docs["text"] = docs["text"].fillna("").str.lower()',
            'docs["text"] = docs["text"].str.replace(r"[^a-z ]", " ", regex=True)',
            'y = docs["label"]',
            "cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)", ""]
    if style == "pipeline":
        mem = f", memory={BENCH_PREFIX}_memory" if memory else ""
        body += [f'pipe = Pipeline([("vec", {vec_expr}), ("clf", {clf_expr})]{mem})',
                 'scores = cross_val_score(pipe, docs["text"], y, cv=cv, n_jobs=1)']
    else:
        body += [f"vectorizer = {vec_expr}",
                 'X = vectorizer.fit_transform(docs["text"])',
                 f"clf = {clf_expr}",
                 "scores = cross_val_score(clf, X, y, cv=cv, n_jobs=1)"]
    body += ["score = scores.mean()", f'print(f"{vec} + {clf}: {{score:.4f}}")']
    head = "\n".join(imports) + "\n" + (_MEMORY_HEADER if memory else "")
    return head + "\n".join(body) + "\n"


def _text(n_docs: int, n_scripts: int, seed: int) -> Workload:
    rng = random.Random(seed)
    vecs = sorted(_VECTORIZERS)
    rng.shuffle(vecs)
    combos = []
    # A few vectorizers, each with several classifier/parameter variants.
    for vec in vecs:
        clfs = sorted(_TEXT_CLASSIFIERS)
        rng.shuffle(clfs)
        combos += [(vec, c, rng.choice(["pipeline", "prefit"])) for c in clfs]
    combos = sorted(combos[: max(n_scripts, 1)], key=lambda c: vecs.index(c[0]))
    combos = (combos * (n_scripts // len(combos) + 1))[:n_scripts]
    scripts = [Script(f"text_{i:03d}", render_text(*c), render_text(*c, memory=True))
               for i, c in enumerate(combos)]
    return Workload("text", n_docs, seed, {"docs.csv": _csv_bytes(documents(n_docs, seed))},
                    scripts)


# --------------------------------------------------------------------------------------------
# grid

_GRID_MODELS = {
    "logreg": ("from sklearn.linear_model import LogisticRegression",
               "LogisticRegression(max_iter=1000)", {"model__C": [0.1, 1.0, 10.0]}),
    "rf": ("from sklearn.ensemble import RandomForestClassifier",
           "RandomForestClassifier(n_estimators=20, min_samples_leaf=5, random_state=0, n_jobs=1)",
           {"model__max_depth": [6, 10]}),
    "hgb": ("from sklearn.ensemble import HistGradientBoostingClassifier",
            "HistGradientBoostingClassifier(max_iter=40, random_state=0)",
            {"model__learning_rate": [0.05, 0.2]}),
    "knn": ("from sklearn.neighbors import KNeighborsClassifier",
            "KNeighborsClassifier(n_jobs=1)", {"model__n_neighbors": [5, 25]}),
}


def render_grid(model: str, tune_imputer: bool, memory: bool = False) -> str:
    """A GridSearchCV script over Pipeline(ColumnTransformer -> model)."""
    model_import, model_expr, grid = _GRID_MODELS[model]
    grid = dict(grid)
    if tune_imputer:
        grid["pre__num__impute__strategy"] = ["mean", "median"]
    mem = f", memory={BENCH_PREFIX}_memory" if memory else ""
    return (
        "import pandas as pd\n"
        "from sklearn.compose import ColumnTransformer\n"
        "from sklearn.impute import SimpleImputer\n"
        "from sklearn.model_selection import GridSearchCV, KFold\n"
        "from sklearn.pipeline import Pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder, StandardScaler\n"
        f"{model_import}\n"
        + (_MEMORY_HEADER if memory else "")
        + "\n"
        'df = pd.read_csv("grid.csv")\n'
        'X = df.drop(columns=["customer_id", "spend", "churned"])\n'
        'y = df["churned"]\n'
        f"num_cols = {NUM_BASE!r}\n"
        f"cat_cols = {CAT_COLS!r}\n"
        "preprocessor = ColumnTransformer([\n"
        '    ("num", Pipeline([("impute", SimpleImputer(strategy="median")),\n'
        '                      ("scale", StandardScaler())]), num_cols),\n'
        '    ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),\n'
        '                      ("onehot", OneHotEncoder(handle_unknown="ignore"))]), cat_cols),\n'
        "])\n"
        f'pipe = Pipeline([("pre", preprocessor), ("model", {model_expr})]{mem})\n'
        f"param_grid = {grid!r}\n"
        "search = GridSearchCV(pipe, param_grid, cv=KFold(n_splits=3, shuffle=True, "
        'random_state=0), scoring="roc_auc", n_jobs=1)\n'
        "search.fit(X, y)\n"
        "score = search.best_score_\n"
        f'print(f"{model}: {{score:.4f}} {{search.best_params_}}")\n'
    )


def _grid(rows: int, n_scripts: int, seed: int) -> Workload:
    rng = random.Random(seed)
    combos = [(m, t) for t in (False, True) for m in ("logreg", "hgb", "rf", "knn")]
    first, rest = combos[:4], combos[4:]
    rng.shuffle(first)
    rng.shuffle(rest)
    combos = first + rest
    combos = (combos * (n_scripts // len(combos) + 1))[:n_scripts]
    scripts = [Script(f"grid_{i:03d}", render_grid(*c), render_grid(*c, memory=True))
               for i, c in enumerate(combos)]
    return Workload("grid", rows, seed, {"grid.csv": _csv_bytes(customer_table(rows, seed + 1))},
                    scripts)
