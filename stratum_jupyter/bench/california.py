"""The ``california`` workload: the research prototype's own benchmark, written for this project.

One generated CSV with the columns of scikit-learn's California-housing data (``MedInc``,
``HouseAge``, ``AveRooms``, ``AveBedrms``, ``Population``, ``AveOccup``, ``Latitude``,
``Longitude`` and the target ``MedHouseVal``; 20,640 rows at the suite's default size), and
agent-style candidates that share the loading and feature engineering statement for statement
and differ in the final model: ``Pipeline([("preprocess", ColumnTransformer([("num",
Pipeline([("scaler", StandardScaler())]), numeric_columns)])), ("regressor", M)])`` scored by
``cross_val_score`` over ``KFold(5, shuffle=True, random_state=42)``. The first four use
LinearRegression, Ridge, Lasso and ElasticNet; more candidates vary their regularisation.

The whole search takes about half a second, less than importing pandas and scikit-learn, so it
is timed from a warm start (``Workload.warm``), as the prototype's benchmark is.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

#: Rows of scikit-learn's California-housing data: the size at the suite's default ``--rows``.
FULL_ROWS = 20_640
COLUMNS = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude",
           "Longitude", "MedHouseVal")

# (class, constructor arguments) of the candidates' final models, in the order they are tried.
_MODELS: tuple[tuple[str, str], ...] = (
    ("LinearRegression", ""),
    ("Ridge", "alpha=1.0"),
    ("Lasso", "alpha=0.01"),
    ("ElasticNet", "alpha=0.01, l1_ratio=0.5"),
)
_ALPHAS = (0.1, 10.0, 0.001, 0.05, 100.0, 0.3)


def california_frame(rows: int, seed: int) -> pd.DataFrame:
    """Generated block groups with California-housing columns and plausible joint distributions."""
    rng = np.random.default_rng(seed)
    # Two coastal metropolitan areas and the inland rest, as in the real data's map.
    region = rng.choice(3, rows, p=[0.35, 0.25, 0.40])
    lat = np.where(region == 0, rng.normal(34.1, 0.35, rows),
                   np.where(region == 1, rng.normal(37.6, 0.35, rows), rng.uniform(32.6, 41.9, rows)))
    lon = np.where(region == 0, rng.normal(-118.3, 0.4, rows),
                   np.where(region == 1, rng.normal(-122.2, 0.3, rows), rng.uniform(-124.3, -114.4, rows)))
    med_inc = np.clip(rng.lognormal(1.25, 0.45, rows) + 0.6 * (region < 2), 0.5, 15.0)
    house_age = np.clip(np.round(rng.normal(29, 12.5, rows)), 1, 52)
    ave_rooms = np.clip(rng.normal(5.0, 1.2, rows) + 0.25 * med_inc - 0.8, 0.85, 140.0)
    ave_bedrms = np.clip(ave_rooms * rng.normal(0.21, 0.03, rows), 0.33, 34.0)
    population = np.clip(np.round(rng.lognormal(7.0, 0.75, rows)), 3, 35_682)
    ave_occup = np.clip(rng.lognormal(1.0, 0.25, rows), 0.7, 1_243.0)
    coast = np.exp(-np.abs(lon + 121.0 - 0.9 * (lat - 36.0)) / 1.5)
    value = (0.45 * med_inc + 0.9 * coast + 0.004 * house_age - 0.05 * ave_occup
             + 0.03 * (ave_rooms - ave_bedrms) + rng.normal(0, 0.45, rows))
    med_house_val = np.clip(np.round(value, 5), 0.14999, 5.00001)
    return pd.DataFrame({
        "MedInc": np.round(med_inc, 4), "HouseAge": house_age, "AveRooms": np.round(ave_rooms, 6),
        "AveBedrms": np.round(ave_bedrms, 6), "Population": population,
        "AveOccup": np.round(ave_occup, 6), "Latitude": np.round(lat, 2),
        "Longitude": np.round(lon, 2), "MedHouseVal": med_house_val,
    }, columns=list(COLUMNS))


def candidate_models(n_scripts: int) -> list[tuple[str, str]]:
    """(class, constructor arguments) of ``n_scripts`` candidates: the four base models, then
    regularisation variants of the three regularised ones."""
    models = list(_MODELS[:n_scripts])
    variants = [(cls, args.replace(args.split(",")[0], f"alpha={alpha}"))
                for alpha in _ALPHAS for cls, args in _MODELS[1:]]
    return models + variants[: max(n_scripts - len(models), 0)]


def render_california(model: str, args: str, memory: bool = False) -> str:
    """One candidate script; ``memory`` adds scikit-learn's ``Pipeline(memory=...)`` (mode (c))."""
    from .generators import BENCH_PREFIX, _MEMORY_HEADER

    mem = f",\n    memory={BENCH_PREFIX}_memory" if memory else ""
    return (
        "import numpy as np\n"
        "import pandas as pd\n"
        "from sklearn.compose import ColumnTransformer\n"
        f"from sklearn.linear_model import {model}\n"
        "from sklearn.model_selection import KFold, cross_val_score\n"
        "from sklearn.pipeline import Pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        + (_MEMORY_HEADER if memory else "")
        + "\n"
        'housing = pd.read_csv("california.csv")\n'
        'housing["RoomsPerHousehold"] = housing["AveRooms"] / housing["AveOccup"]\n'
        'housing["BedroomsPerRoom"] = housing["AveBedrms"] / housing["AveRooms"]\n'
        'housing["PopulationPerHousehold"] = housing["Population"] / housing["AveOccup"]\n'
        'X = housing.drop(columns=["MedHouseVal"])\n'
        'y = housing["MedHouseVal"]\n'
        "numeric_columns = X.select_dtypes(include=np.number).columns.tolist()\n"
        "\n"
        "model = Pipeline([\n"
        '    ("preprocess", ColumnTransformer([\n'
        '        ("num", Pipeline([("scaler", StandardScaler())]), numeric_columns),\n'
        "    ])),\n"
        f'    ("regressor", {model}({args})),\n'
        f"]{mem})\n"
        "scores = cross_val_score(model, X, y, cv=KFold(5, shuffle=True, random_state=42),\n"
        '                         scoring="neg_mean_squared_error")\n'
        "rmse = float(np.sqrt(-scores.mean()))\n"
        f'print(f"{model}({args}): RMSE {{rmse:.4f}}")\n'
    )


def california_workload(rows: int, n_scripts: int, seed: int):
    """The workload: ``california.csv`` and ``n_scripts`` candidates (see the module docstring)."""
    from .generators import Script, Workload

    buf = io.StringIO()
    california_frame(rows, seed).to_csv(buf, index=False, lineterminator="\n")
    scripts = [Script(f"california_{i:03d}", render_california(m, a), render_california(m, a, memory=True))
               for i, (m, a) in enumerate(candidate_models(n_scripts))]
    return Workload("california", rows, seed, {"california.csv": buf.getvalue().encode()}, scripts,
                    info={"timed_from": "a warm start (libraries imported, workers up)"}, warm=True)
