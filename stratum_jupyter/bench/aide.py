"""The ``aide`` workload: candidates shaped like a public AIDE run on Kaggle's house prices.

AIDE (an LLM agent for tabular competitions) writes each candidate as a whole script: load
``train.csv``/``test.csv``, engineer a few features, encode the categoricals, then a hand-written
``KFold`` loop around LightGBM, XGBoost or HistGradientBoosting that prints the mean RMSE of
``log1p(SalePrice)``, refits on all rows and writes ``submission.csv``. Its search tree starts
with a few independent *drafts* (each with its own preprocessing style), then *improves* the best
nodes (a parameter or a feature changed, the rest copied) and *debugs* crashed ones. About a third
of the candidates crash, at different points:

- ``bad_column``: a misspelt column in the feature engineering (``KeyError``, right after loading);
- ``dtype``: a string interaction feature added after the encoding, so the first fit in the loop
  fails (``ValueError``, in the middle, after the shared steps ran);
- ``last_statement``: the submission goes to ``submission/`` which does not exist (``OSError``,
  after all the folds and the refit).

Parameters are set as agents set them: ``random_state``/``seed`` explicit, no thread counts (the
libraries' defaults use every core), ``verbose=-1`` for LightGBM.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

NEIGHBORHOODS = {  # name -> log-price effect
    "NAmes": -0.05, "CollgCr": 0.05, "OldTown": -0.2, "Edwards": -0.18, "Somerst": 0.15,
    "Gilbert": 0.06, "NridgHt": 0.35, "Sawyer": -0.1, "NWAmes": 0.04, "SawyerW": 0.02,
    "BrkSide": -0.22, "Crawfor": 0.08, "Mitchel": -0.03, "NoRidge": 0.38, "Timber": 0.18,
    "IDOTRR": -0.35, "ClearCr": 0.12, "StoneBr": 0.4, "SWISU": -0.15, "MeadowV": -0.3,
    "Blmngtn": 0.1, "BrDale": -0.28, "Veenker": 0.2, "NPkVill": -0.05, "Blueste": -0.1,
}
QUALITY = ["Po", "Fa", "TA", "Gd", "Ex"]


def house_prices(rows: int, test_rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): a table shaped like Kaggle's house prices (Ames), ``SalePrice`` in train only.

    Numeric and categorical columns under the competition's names, missing values where the real
    data has them (LotFrontage, MasVnr*, Bsmt*, FireplaceQu, Garage*, Fence), a right-skewed price.
    """
    n = rows + test_rows
    rng = np.random.default_rng(seed)

    def pick(values, p=None):  # p: relative frequencies
        return rng.choice(np.array(values, dtype=object), n,
                          p=None if p is None else np.asarray(p) / np.sum(p))

    hood = pick(list(NEIGHBORHOODS))
    hood_effect = np.array([NEIGHBORHOODS[h] for h in hood])
    qual = np.clip(np.round(rng.normal(6.1 + 4 * hood_effect, 1.3)), 1, 10).astype(int)
    year_built = np.clip(np.round(rng.normal(1972 + 60 * hood_effect + 3 * (qual - 6), 25)),
                         1872, 2010).astype(int)
    year_sold = rng.integers(2006, 2011, n)
    year_built = np.minimum(year_built, year_sold)
    remod = np.where(rng.random(n) < 0.5, year_built,
                     np.minimum(year_built + rng.integers(0, 60, n), year_sold))
    first = np.round(rng.normal(1000 + 60 * (qual - 6), 280).clip(330)).astype(int)
    has_second = rng.random(n) < 0.43
    second = np.where(has_second, np.round(rng.normal(780, 250, n).clip(100)), 0).astype(int)
    grliv = first + second + np.where(rng.random(n) < 0.02, rng.integers(50, 500, n), 0)
    has_bsmt = rng.random(n) > 0.025
    bsmt_total = np.where(has_bsmt, np.round(first * rng.uniform(0.6, 1.2, n)), 0).astype(int)
    bsmt_fin = np.round(bsmt_total * rng.uniform(0, 0.9, n)).astype(int)
    garage_cars = np.clip(np.round(rng.normal(1.2 + 0.25 * (qual - 5), 0.7)), 0, 4).astype(int)
    has_garage = garage_cars > 0
    garage_area = np.where(has_garage, np.round(garage_cars * rng.normal(240, 40, n)), 0)
    garage_year = np.where(has_garage, np.maximum(year_built, year_built + rng.integers(-2, 10, n)),
                           np.nan)
    fireplaces = rng.choice([0, 1, 2, 3], n, p=[0.47, 0.45, 0.075, 0.005])
    full_bath = np.clip(1 + (grliv > 1500) + (rng.random(n) < 0.15), 1, 3)
    half_bath = (rng.random(n) < 0.38).astype(int)
    bedrooms = np.clip(np.round(grliv / 520 + rng.normal(0, 0.7, n)), 1, 6).astype(int)
    lot_frontage = np.round(rng.normal(70, 22, n).clip(21, 313))
    lot_area = np.round(lot_frontage * rng.normal(140, 35, n).clip(40)).astype(int)
    mas_area = np.where(rng.random(n) < 0.4, np.round(rng.gamma(2.0, 120.0, n)), 0.0)
    exter_qual = np.array(QUALITY, dtype=object)[np.clip((qual - 1) // 2, 1, 4)]
    kitchen_qual = np.array(QUALITY, dtype=object)[np.clip((qual + rng.integers(-2, 2, n)) // 2,
                                                           1, 4)]
    sale_condition = pick(["Normal", "Partial", "Abnorml", "Family", "Alloca", "AdjLand"],
                          p=[0.82, 0.085, 0.07, 0.014, 0.008, 0.003])
    log_price = (10.75 + 0.085 * qual + 0.00032 * grliv + 0.00011 * bsmt_total
                 + 0.06 * garage_cars + 0.0022 * (remod - 1970) + 0.0015 * (year_built - 1970)
                 + 0.9 * hood_effect + 0.04 * fireplaces + 0.02 * full_bath
                 + 0.015 * np.log(lot_area) - 0.12 * (sale_condition == "Abnorml")
                 + 0.08 * (sale_condition == "Partial") + rng.normal(0, 0.11, n))
    frame = pd.DataFrame({
        "Id": np.arange(1, n + 1),
        "MSSubClass": pick([20, 30, 50, 60, 70, 80, 90, 120, 160, 190],
                           p=[37, 5, 10, 20, 4, 4, 4, 6, 5, 5]).astype(int),
        "MSZoning": pick(["RL", "RM", "FV", "RH", "C (all)"], p=[0.79, 0.15, 0.04, 0.011, 0.009]),
        "LotFrontage": lot_frontage,
        "LotArea": lot_area,
        "Street": pick(["Pave", "Grvl"], p=[0.996, 0.004]),
        "LotShape": pick(["Reg", "IR1", "IR2", "IR3"], p=[0.63, 0.33, 0.03, 0.01]),
        "LandContour": pick(["Lvl", "Bnk", "HLS", "Low"], p=[0.9, 0.04, 0.035, 0.025]),
        "Neighborhood": hood,
        "BldgType": pick(["1Fam", "TwnhsE", "Duplex", "Twnhs", "2fmCon"],
                         p=[0.83, 0.08, 0.036, 0.03, 0.004]),
        "HouseStyle": np.where(has_second, pick(["2Story", "1.5Fin", "2.5Unf"], p=[0.8, 0.18, 0.02]),
                               pick(["1Story", "SLvl", "SFoyer"], p=[0.88, 0.08, 0.04])),
        "OverallQual": qual,
        "OverallCond": pick(range(1, 10), p=[1, 1, 2, 4, 56, 17, 14, 4, 1]).astype(int),
        "YearBuilt": year_built,
        "YearRemodAdd": remod,
        "RoofStyle": pick(["Gable", "Hip", "Flat", "Gambrel"], p=[0.78, 0.2, 0.01, 0.01]),
        "Exterior1st": pick(["VinylSd", "HdBoard", "MetalSd", "Wd Sdng", "Plywood", "CemntBd",
                             "BrkFace"], p=[0.36, 0.16, 0.15, 0.14, 0.07, 0.07, 0.05]),
        "MasVnrType": np.where(mas_area > 0, pick(["BrkFace", "Stone", "BrkCmn"],
                                                  p=[0.7, 0.25, 0.05]), None),
        "MasVnrArea": mas_area,
        "ExterQual": exter_qual,
        "Foundation": pick(["PConc", "CBlock", "BrkTil", "Slab", "Stone"],
                           p=[0.44, 0.43, 0.1, 0.02, 0.01]),
        "BsmtQual": np.where(has_bsmt, pick(["Ex", "Gd", "TA", "Fa"], p=[0.08, 0.43, 0.45, 0.04]),
                             None),
        "BsmtFinSF1": bsmt_fin,
        "TotalBsmtSF": bsmt_total,
        "HeatingQC": pick(["Ex", "Gd", "TA", "Fa"], p=[0.51, 0.16, 0.29, 0.04]),
        "CentralAir": pick(["Y", "N"], p=[0.935, 0.065]),
        "1stFlrSF": first,
        "2ndFlrSF": second,
        "GrLivArea": grliv,
        "BsmtFullBath": (has_bsmt & (rng.random(n) < 0.42)).astype(int),
        "FullBath": full_bath,
        "HalfBath": half_bath,
        "BedroomAbvGr": bedrooms,
        "KitchenQual": kitchen_qual,
        "TotRmsAbvGrd": np.clip(bedrooms + 2 + rng.integers(0, 4, n), 2, 14),
        "Fireplaces": fireplaces,
        "FireplaceQu": np.where(fireplaces > 0, pick(["Ex", "Gd", "TA", "Fa", "Po"],
                                                     p=[0.04, 0.5, 0.4, 0.04, 0.02]), None),
        "GarageType": np.where(has_garage, pick(["Attchd", "Detchd", "BuiltIn", "Basment"],
                                                p=[0.63, 0.28, 0.07, 0.02]), None),
        "GarageYrBlt": garage_year,
        "GarageCars": garage_cars,
        "GarageArea": garage_area,
        "WoodDeckSF": np.where(rng.random(n) < 0.48, np.round(rng.gamma(2.0, 90.0, n)), 0),
        "OpenPorchSF": np.where(rng.random(n) < 0.55, np.round(rng.gamma(1.8, 35.0, n)), 0),
        "PoolArea": np.where(rng.random(n) < 0.005, rng.integers(400, 800, n), 0),
        "Fence": np.where(rng.random(n) < 0.19, pick(["MnPrv", "GdPrv", "GdWo", "MnWw"],
                                                     p=[0.6, 0.2, 0.19, 0.01]), None),
        "MoSold": pick(range(1, 13), p=[5, 6, 9, 14, 17, 19, 20, 12, 7, 8, 6, 4]).astype(int),
        "YrSold": year_sold,
        "SaleType": pick(["WD", "New", "COD", "ConLD", "Oth"], p=[0.87, 0.083, 0.03, 0.009, 0.008]),
        "SaleCondition": sale_condition,
        "SalePrice": np.round(np.exp(log_price)).astype(int),
    })
    frame.loc[rng.random(n) < 0.177, "LotFrontage"] = np.nan
    frame.loc[rng.random(n) < 0.006, "MasVnrArea"] = np.nan
    train = frame.iloc[:rows].reset_index(drop=True)
    test = frame.iloc[rows:].drop(columns=["SalePrice"]).reset_index(drop=True)
    return train, test


# --------------------------------------------------------------------------------------------
# Candidate scripts

#: Model family -> (import line, constructor name, parameter choices). Draft parameters are each
#: list's first value; improvements move one parameter to another value.
MODELS: dict[str, tuple[str, str, dict[str, list[object]]]] = {
    "lgb": ("import lightgbm as lgb", "lgb.LGBMRegressor", {
        "n_estimators": [300, 500, 200, 800],
        "learning_rate": [0.05, 0.03, 0.1],
        "num_leaves": [31, 15, 63],
        "min_child_samples": [20, 10, 40],
        "colsample_bytree": [0.8, 1.0, 0.6],
        "reg_lambda": [0.0, 1.0, 5.0],
    }),
    "xgb": ("import xgboost as xgb", "xgb.XGBRegressor", {
        "n_estimators": [400, 300, 600],
        "learning_rate": [0.05, 0.1, 0.03],
        "max_depth": [6, 4, 8],
        "subsample": [0.8, 1.0, 0.7],
        "colsample_bytree": [0.8, 0.6, 1.0],
        "min_child_weight": [1, 3, 5],
    }),
    "hgb": ("from sklearn.ensemble import HistGradientBoostingRegressor",
            "HistGradientBoostingRegressor", {
                "max_iter": [300, 500, 200],
                "learning_rate": [0.05, 0.1, 0.03],
                "max_leaf_nodes": [31, 15, 63],
                "l2_regularization": [0.0, 1.0, 0.1],
                "min_samples_leaf": [20, 10, 40],
            }),
}
#: Fixed arguments as agents write them: seeds explicit, thread counts left to the library.
FIXED = {"lgb": {"random_state": 42, "verbose": -1},
         "xgb": {"tree_method": "hist", "random_state": 42},
         "hgb": {"random_state": 42}}

#: Tables smaller than this (the quick suite's) get a fifth of the trees, to keep smoke runs short.
SMALL_ROWS = 1000
_TREE_PARAMS = ("n_estimators", "max_iter")

BUGS = ("bad_column", "dtype", "last_statement")
#: The exception each bug raises when the script runs.
BUG_ERRORS = {"bad_column": "KeyError", "dtype": "ValueError", "last_statement": "OSError"}

# Preprocessing styles, one per draft: "category" (pandas categoricals, as LightGBM likes),
# "label" (train+test concatenated, LabelEncoder), "dummies" (get_dummies after imputation).
STYLES = ("category", "label", "dummies")

_FEATURES = [  # (name, expression over a frame called {f}), added by drafts and improvements
    ("TotalSF", '{f}["TotalBsmtSF"] + {f}["1stFlrSF"] + {f}["2ndFlrSF"]'),
    ("HouseAge", '{f}["YrSold"] - {f}["YearBuilt"]'),
    ("RemodAge", '{f}["YrSold"] - {f}["YearRemodAdd"]'),
    ("TotalBath", '{f}["FullBath"] + 0.5 * {f}["HalfBath"] + {f}["BsmtFullBath"]'),
    ("QualSF", '{f}["OverallQual"] * {f}["GrLivArea"]'),
    ("HasGarage", '({f}["GarageArea"] > 0).astype(int)'),
    ("PorchSF", '{f}["OpenPorchSF"] + {f}["WoodDeckSF"]'),
    ("LotRatio", '{f}["LotArea"] / ({f}["LotFrontage"] + 1)'),
]
# The misspelt variant of a feature (the "bad_column" bug): real column names, one letter off.
_TYPOS = {"TotalSF": ("1stFlrSF", "1stFloorSF"), "HouseAge": ("YearBuilt", "YearBuild"),
          "RemodAge": ("YearRemodAdd", "YearRemodeled"), "TotalBath": ("BsmtFullBath",
                                                                      "BsmtFullBaths")}


@dataclass(frozen=True)
class Candidate:
    """One AIDE node: what its script does."""

    model: str                                  # key of MODELS
    style: str                                  # key of STYLES
    features: tuple[str, ...]                   # names from _FEATURES
    params: tuple[tuple[str, object], ...]
    cv_seed: int                                # KFold random_state
    inline_kfold: bool                          # `for ... in KFold(...).split(X):` vs `kf = ...`
    early_stopping: bool                        # eval_set + early stopping inside the loop
    params_dict: bool = False                   # `params = {...}` then `Model(**params)`
    bug: str | None = None
    score: float = 0.0                          # stand-in for the node's metric, lower is better


def _kwargs(c: Candidate) -> dict[str, object]:
    kwargs = dict(c.params)
    kwargs.update(FIXED[c.model])
    if c.model == "xgb" and c.style == "category":
        kwargs["enable_categorical"] = True
    return kwargs


def _literal(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _params_block(c: Candidate) -> list[str]:
    """``params = {...}`` (one entry a line) when the candidate passes its parameters that way."""
    if not c.params_dict:
        return []
    return ["params = {", *(f'    "{k}": {_literal(v)},' for k, v in _kwargs(c).items()), "}"]


def _ctor(c: Candidate, extra: str = "") -> str:
    """The model's constructor call (``extra``: one more keyword argument)."""
    if c.params_dict:
        args = "**params"
    else:
        args = ", ".join(f"{k}={_literal(v)}" for k, v in _kwargs(c).items())
    return f"{MODELS[c.model][1]}({args}{', ' + extra if extra else ''})"


def _feature_lines(c: Candidate, frame: str, indent: str = "") -> list[str]:
    exprs = dict(_FEATURES)
    typo = [name for name in c.features if name in _TYPOS][-1] if c.bug == "bad_column" else None
    lines = []
    for name in c.features:
        expr = exprs[name].format(f=frame)
        if name == typo:
            right, wrong = _TYPOS[name]
            expr = expr.replace(f'"{right}"', f'"{wrong}"')
        lines.append(f'{indent}{frame}["{name}"] = {expr}')
    return lines


def _preprocess(c: Candidate) -> str:
    """Loading, feature engineering and encoding: X, y, X_test and test_ids."""
    if c.style == "category":
        body = ["# Load the data", 'train = pd.read_csv("train.csv")', 'test = pd.read_csv("test.csv")',
                "", "", "def add_features(df):", "    df = df.copy()",
                *_feature_lines(c, "df", "    "), "    return df", "", "",
                "train = add_features(train)", "test = add_features(test)", "",
                'y = np.log1p(train["SalePrice"])',
                'X = train.drop(columns=["Id", "SalePrice"])',
                'X_test = test.drop(columns=["Id"])',
                'test_ids = test["Id"]', "",
                "# Categorical columns, with the same categories in train and test",
                'cat_cols = X.select_dtypes(exclude="number").columns.tolist()',
                "for col in cat_cols:",
                '    X[col] = X[col].astype("category")',
                "    X_test[col] = pd.Categorical(X_test[col], categories=X[col].cat.categories)"]
    elif c.style == "label":
        body = ['train_df = pd.read_csv("train.csv")', 'test_df = pd.read_csv("test.csv")', "",
                "# Log-transform the target (the metric is RMSE on log prices)",
                'y = np.log1p(train_df["SalePrice"])',
                'test_ids = test_df["Id"]',
                'all_data = pd.concat([train_df.drop(columns=["SalePrice"]), test_df], '
                'ignore_index=True)',
                'all_data = all_data.drop(columns=["Id"])', "",
                "# Feature engineering",
                *_feature_lines(c, "all_data"), "",
                "# Fill missing values and label-encode categoricals",
                'categorical = all_data.select_dtypes(exclude="number").columns',
                'numerical = all_data.select_dtypes(include="number").columns',
                'all_data[categorical] = all_data[categorical].fillna("None")',
                "all_data[numerical] = all_data[numerical].fillna(all_data[numerical].median())",
                "for col in categorical:",
                "    all_data[col] = LabelEncoder().fit_transform(all_data[col])", ""]
        body += ["X = all_data.iloc[: len(train_df)]", "X_test = all_data.iloc[len(train_df):]"]
    else:  # dummies
        body = ['train = pd.read_csv("train.csv")', 'test = pd.read_csv("test.csv")', "",
                'y = np.log1p(train["SalePrice"].values)',
                "n_train = len(train)",
                'test_ids = test["Id"]',
                'features = pd.concat([train.drop(["SalePrice"], axis=1), test])'
                '.reset_index(drop=True)',
                'features = features.drop("Id", axis=1)', "",
                "# Missing values: LotFrontage by neighborhood median, the rest median / 'None'",
                'features["LotFrontage"] = features.groupby("Neighborhood")["LotFrontage"]'
                ".transform(lambda s: s.fillna(s.median()))",
                "num_cols = features.select_dtypes(include=np.number).columns",
                "cat_cols = features.columns.difference(num_cols)",
                'features[cat_cols] = features[cat_cols].fillna("None")',
                "features[num_cols] = features[num_cols].fillna(features[num_cols].median())", "",
                *_feature_lines(c, "features")]
        body += ["", 'features = pd.get_dummies(features, dtype=float)',
                 "X = features.iloc[:n_train]", "X_test = features.iloc[n_train:]"]
    if c.bug == "dtype":  # a string feature added after the encoding: the first fit fails
        body += ["", "# Quality x condition interaction",
                 'X["QualCond"] = X["OverallQual"].astype(str) + "/" + X["OverallCond"].astype(str)',
                 'X_test["QualCond"] = X_test["OverallQual"].astype(str) + "/" + '
                 'X_test["OverallCond"].astype(str)']
    return "\n".join(body) + "\n"


def _loop(c: Candidate) -> str:
    y_iloc = "y[train_idx], y[val_idx]" if c.style == "dummies" else \
        "y.iloc[train_idx], y.iloc[val_idx]"
    if c.inline_kfold:
        head = [f"for train_idx, val_idx in KFold(n_splits=5, shuffle=True, "
                f"random_state={c.cv_seed}).split(X):"]
        pre = ["fold_rmse = []"]
    else:
        pre = [f"kf = KFold(n_splits=5, shuffle=True, random_state={c.cv_seed})", "fold_rmse = []"]
        head = ["for train_idx, val_idx in kf.split(X):"]
    xgb_stop = c.early_stopping and c.model == "xgb"
    body = ["    X_train, X_val = X.iloc[train_idx], X.iloc[val_idx]",
            f"    y_train, y_val = {y_iloc}",
            f"    model = {_ctor(c, 'early_stopping_rounds=50' if xgb_stop else '')}"]
    if c.early_stopping and c.model == "lgb":
        body += ["    model.fit(X_train, y_train, eval_set=[(X_val, y_val)],",
                 "              callbacks=[lgb.early_stopping(50, verbose=False)])"]
    elif xgb_stop:
        body += ["    model.fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)"]
    else:
        body += ["    model.fit(X_train, y_train)"]
    body += ["    preds = model.predict(X_val)",
             "    fold_rmse.append(np.sqrt(mean_squared_error(y_val, preds)))"]
    block = _params_block(c)
    return "\n".join(["", *block, *([""] if block else []), "# 5-fold cross-validation", *pre,
                      *head, *body]) + "\n"


def render(c: Candidate) -> str:
    """The candidate's script text."""
    imports = ["import numpy as np", "import pandas as pd"]
    imports.append(MODELS[c.model][0])
    imports += ["from sklearn.metrics import mean_squared_error",
                "from sklearn.model_selection import KFold"]
    if c.style == "label":
        imports.append("from sklearn.preprocessing import LabelEncoder")
    final = _ctor(c)
    out_dir = "submission/" if c.bug == "last_statement" else ""
    tail = ['print(f"Mean CV RMSE: {np.mean(fold_rmse):.5f}")', "",
            "# Train on the full training set and predict the test set",
            f"final_model = {final}",
            "final_model.fit(X, y)",
            "test_pred = np.expm1(final_model.predict(X_test))",
            'submission = pd.DataFrame({"Id": test_ids, "SalePrice": test_pred})',
            f'submission.to_csv("{out_dir}submission.csv", index=False)']
    return ("\n".join(imports) + "\n\n" + _preprocess(c) + _loop(c) + "\n" + "\n".join(tail)
            + "\n")


def candidates(n: int, seed: int, small: bool = False) -> list[Candidate]:
    """``n`` AIDE nodes: three drafts (one per model family and style), then improvements of the
    three best working nodes; about a third crash, the bugs in turn. ``small``: a fifth of the
    trees (see SMALL_ROWS)."""
    rng = random.Random(seed)
    families = list(MODELS)
    styles = list(STYLES)
    rng.shuffle(families)
    rng.shuffle(styles)
    n_bugs = max(1, round(n / 3))
    # bug positions: never the first draft (a run needs a working baseline to improve)
    bug_at = sorted(rng.sample(range(1, n), min(n_bugs, n - 1))) if n > 1 else []
    bug_kind = {i: BUGS[k % len(BUGS)] for k, i in enumerate(bug_at)}
    nodes: list[Candidate] = []
    for i in range(n):
        bug = bug_kind.get(i)
        if i < min(3, n):   # a draft
            model, style = families[i], styles[i]
            params = tuple((k, v[0]) for k, v in MODELS[model][2].items())
            node = Candidate(model, style, tuple(f for f, _ in _FEATURES[:2 + i]), params,
                             cv_seed=rng.choice([42, 42, 0]), inline_kfold=rng.random() < 0.5,
                             early_stopping=False, params_dict=rng.random() < 0.5,
                             score=rng.uniform(0.12, 0.16))
        else:               # improve one of the three best working nodes (AIDE's greedy step)
            ranked = sorted((c for c in nodes if c.bug is None), key=lambda c: c.score)
            parent = ranked[rng.randrange(min(3, len(ranked)))]
            node = _improve(parent, rng)
        if bug == "bad_column" and node.features[-1] not in _TYPOS:
            node = replace(node, features=tuple(f for f in node.features if f in _TYPOS))
        nodes.append(replace(node, bug=bug))
    if small:
        nodes = [replace(c, params=tuple((k, v // 5 if k in _TREE_PARAMS else v)
                                         for k, v in c.params)) for c in nodes]
    return nodes


def _improve(parent: Candidate, rng: random.Random) -> Candidate:
    kind = rng.choice(["param", "param", "param", "feature", "early_stopping"])
    score = parent.score - rng.uniform(-0.002, 0.006)
    if kind == "feature" and len(parent.features) < len(_FEATURES):
        nxt = next(f for f, _ in _FEATURES if f not in parent.features)
        return replace(parent, features=parent.features + (nxt,), score=score)
    if kind == "early_stopping" and parent.model != "hgb" and not parent.early_stopping:
        return replace(parent, early_stopping=True, score=score)
    params = dict(parent.params)
    key = rng.choice(sorted(params))
    params[key] = rng.choice([v for v in MODELS[parent.model][2][key] if v != params[key]])
    return replace(parent, params=tuple(params.items()), score=score)


def aide_workload(rows: int, n_scripts: int, seed: int):
    """The ``aide`` Workload: ``train.csv`` (``rows``), ``test.csv`` (half as many), scripts."""
    from .generators import Script, Workload, _csv_bytes

    train, test = house_prices(rows, max(rows // 2, 20), seed)
    nodes = candidates(n_scripts, seed, small=rows < SMALL_ROWS)
    scripts = []
    for i, c in enumerate(nodes):
        code = render(c)
        scripts.append(Script(f"aide_{i:03d}_{c.model}", code, code))
    failing = {s.name: BUG_ERRORS[c.bug] for s, c in zip(scripts, nodes) if c.bug}
    return Workload("aide", rows, seed,
                    {"train.csv": _csv_bytes(train), "test.csv": _csv_bytes(test)}, scripts,
                    info={"failing_by_design": sorted(failing), "expected_errors": failing,
                          "models": {s.name: c.model for s, c in zip(scripts, nodes)}},
                    pin_threads=False)
