"""Fold-level sharing inside model selection (issue 10): equal to scikit-learn, and really shared.

Every recognized form — ``cross_val_score``, ``cross_validate(return_estimator=True)``,
``cross_val_predict``, ``GridSearchCV``, ``RandomizedSearchCV``, a hand-written ``KFold`` loop
fitting a Pipeline, a Pipeline fitted directly — runs as a batch of two candidates that differ in
the final model, with the worker processes (default) and with ``--backend threads``; every bound
name (scores, fitted attributes, ``cv_results_`` but its timings, ``estimators_``, the user's own
pipeline after ``fit``), the printed output and the status equal plain sequential execution, and
the fold events count the prefix fits that ran and were reused. Failing folds (``error_score``
NaN and ``"raise"``), warnings raised by a shared fit, and the fallbacks (estimators and
parameters that cannot be shown exact) are checked the same way.
"""

from __future__ import annotations

import uuid
import warnings

import numpy as np
import pandas as pd
import pytest

from stratum_jupyter import Batch, model_selection
from stratum_jupyter.fold_tasks import TASK
from stratum_jupyter.compare import first_difference, values_equal
from stratum_jupyter.folds import NotFingerprintable, fingerprint
from stratum_jupyter.verify import run_plain

BACKENDS = ["processes", "threads"]

DATA = """\
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.model_selection import (GridSearchCV, KFold, RandomizedSearchCV, cross_val_predict,
                                     cross_val_score, cross_validate)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

rng = np.random.default_rng(0)
# built in one statement: a later in-place column would be isolated by a copy, which under
# pandas 2.2 changes the block layout (and so the last bits of column means) for plain reasons
X = pd.DataFrame(rng.normal(size=(240, 4)), columns=["a", "b", "c", "d"]).assign(
    city=rng.choice(["lyon", "nice", "pau"], 240))
y = 2 * X["a"] - X["b"] + (X["city"] == "nice") + rng.normal(scale=0.3, size=240)
numeric = ["a", "b", "c", "d"]
pipe = Pipeline([
    ("pre", ColumnTransformer([("num", StandardScaler(), numeric),
                               ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])])),
    ("model", MODEL),
])
"""

FORMS = {
    "cross_val_score": (
        'scores = cross_val_score(pipe, X, y, cv=KFold(5, shuffle=True, random_state=42), '
        'scoring="neg_mean_squared_error")\nprint(f"{scores.mean():.6f}")\n',
        5, 5),
    "cross_validate": (
        "result = cross_validate(pipe, X, y, cv=KFold(4, shuffle=True, random_state=0),\n"
        "                        return_estimator=True, return_train_score=True)\n"
        "for key in [k for k in result if k.endswith('_time')]:\n"
        "    del result[key]\n"
        "first = result['estimator'][0].named_steps['pre'].transformers_[0][1].mean_\n",
        4, 4),
    "cross_val_predict": (
        "predicted = cross_val_predict(pipe, X, y, cv=KFold(3, shuffle=True, random_state=7))\n",
        3, 3),
    "grid_search": (
        'search = GridSearchCV(pipe, {"model__alpha": [0.01, 0.1, 1.0]}, cv=3)\n'
        "search.fit(X, y)\nbest = search.best_params_\nprint(search.best_score_)\n",
        # per candidate: 3 folds x 3 grid points + the refit on all rows: 4 inputs, fitted once each
        4, 2 * 10 - 4),
    "randomized_search": (
        'search = RandomizedSearchCV(pipe, {"model__alpha": [0.01, 0.05, 0.1, 0.5, 1.0]}, n_iter=3,\n'
        "                            cv=KFold(3, shuffle=True, random_state=3), random_state=0)\n"
        "search.fit(X, y)\nbest = search.best_params_\n",
        4, 2 * 10 - 4),
    "manual_loop": (
        "kf = KFold(5, shuffle=True, random_state=1)\nfold_scores = []\n"
        "for train_idx, valid_idx in kf.split(X):\n"
        "    pipe.fit(X.iloc[train_idx], y.iloc[train_idx])\n"
        "    fold_scores.append(pipe.score(X.iloc[valid_idx], y.iloc[valid_idx]))\n"
        'print(f"{np.mean(fold_scores):.6f}")\n',
        5, 5),
    "plain_fit": (
        "pipe.fit(X, y)\npreprocessor = pipe.named_steps['pre']\nscaled = preprocessor.transform(X)\n",
        1, 1),
}

# Lasso seeded: an unseeded one draws its coordinate-descent seed from numpy's global RNG, and with
# --backend threads a draw in one candidate's thread while the other computes a shared prefix fit
# makes that fit look as if it drew: it is (rightly, conservatively) not kept, and reuses vary.
MODELS = ["Ridge(alpha=1.0)", "Lasso(alpha=0.05, random_state=0)"]


def cells(body: str, models: list[str] = MODELS, data: str = DATA) -> dict[str, str]:
    """One candidate per final model: the same data and prefix, then ``body``."""
    return {f"cand_{i}": data.replace("MODEL", model) + body for i, model in enumerate(models)}


def two_searches(data: str, grid: str, more: str) -> dict[str, str]:
    """Two grid searches as agents write them: the wide one's grid holds the narrow one's points
    (``grid``) and more (``more``: another parameter's values, or more values of the same one)."""
    search = ("search = GridSearchCV(pipe, GRID, cv=KFold(3, shuffle=True, random_state=0))\n"
              "search.fit(X, y)\nbest = search.best_params_\n"
              "results = {k: v for k, v in search.cv_results_.items() if 'time' not in k}\n")
    key, _, values = more.partition(": ")
    wide = grid[:-1] + ", " + values[1:] if grid.startswith(key) else f"{grid}, {more}"
    return {"narrow": data + search.replace("GRID", "{" + grid + "}"), "wide": data + search.replace("GRID", "{" + wide + "}")}


def run_and_compare(candidates: dict[str, str], backend: str):
    """Run the candidates plainly (one after another) and as one batch; assert every candidate
    ends alike (status, error line, every bound name, stdout). Returns the batch's run result."""
    plain = {name: run_plain(code, name) for name, code in candidates.items()}
    batch = Batch()
    for name, code in candidates.items():
        batch.add(code, name=name, isolated=True)
    result = batch.run(jobs=2, backend=backend)
    for name, expected in plain.items():
        got = result[name]
        assert got.status == expected.status, (name, got.error, expected.error)
        if expected.status == "failed":
            assert got.error.strip().splitlines()[-1] == expected.error.strip().splitlines()[-1]
        assert first_difference(expected.namespace, got.namespace) is None, (
            name, first_difference(expected.namespace, got.namespace))
        assert got.stdout == expected.stdout, name
    result.batch = batch
    return result


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_equals_scikit_learn_and_shares_prefix_fits(form: str, backend: str) -> None:
    body, fits, reuses = FORMS[form]
    result = run_and_compare(cells(body), backend)
    sharing = result.batch.fold_sharing
    # (what each pipeline did, should a count be off: CI once saw 6 reuses of 16 for grid_search)
    seen = {k: result.stats.get(k) for k in ("fold_fits", "fold_reuses", "fold_helped", "fold_ahead")}, \
        [s.describe() for s in sharing]
    assert result.stats["fold_fits"] >= fits, seen  # and the models' own fits (never reused here)
    assert result.stats["fold_reuses"] == reuses, seen
    # (a search's tasks an idle worker computed ahead, on a loaded machine, are listed too)
    fits_shared = [s for s in sharing if s.verb != TASK]
    assert [s.label for s in fits_shared] == ["ColumnTransformer(StandardScaler, OneHotEncoder)"], seen
    assert fits_shared[0].pipelines == ["cand_0", "cand_1"] and fits_shared[0].fits == fits
    assert "fold-level sharing (last run):" in result.batch.explain()


def test_fitted_state_is_the_computed_one_including_private_attributes() -> None:
    """Beyond compare.py's public fitted attributes: the whole state of a reused transformer."""
    body = FORMS["cross_validate"][0]
    result = run_and_compare(cells(body), "threads")
    plain = run_plain(cells(body)["cand_1"], "cand_1")
    for ours, theirs in zip(result["cand_1"].namespace["result"]["estimator"], plain.namespace["result"]["estimator"]):
        pre_ours, pre_theirs = ours.named_steps["pre"], theirs.named_steps["pre"]
        assert list(vars(pre_ours)) == list(vars(pre_theirs))
        assert values_equal(vars(pre_ours), vars(pre_theirs))
        # the fitted column lists are the transformer's own parameter objects, as after a fit
        assert pre_ours.transformers_[0][2] is pre_ours.transformers[0][2]


def test_user_transformer_object_is_fitted_in_place_when_reused() -> None:
    code = DATA.replace("MODEL", "Ridge()") + (
        "scaler = StandardScaler()\n"
        'own = Pipeline([("scale", scaler), ("model", MODEL2)])\n'
        "own.fit(X[numeric], y)\n"
        "scale_mean = scaler.mean_\n"
        "same_object = own.steps[0][1] is scaler\n"
    )
    result = run_and_compare({"a": code.replace("MODEL2", "Ridge()"), "b": code.replace("MODEL2", "Lasso(random_state=0)")}, "threads")
    assert result["b"].namespace["same_object"] is True
    assert result.stats["fold_reuses"] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_failing_folds_score_error_score_or_raise_as_scikit_learn(backend: str) -> None:
    data = DATA.replace("rng.normal(scale=0.3, size=240)", "0") + (
        # sorted labels and unshuffled folds: the last fold's training rows hold one class only
        "labels = (np.arange(240) >= 200).astype(int)\n"
    )
    body_nan = "scores = cross_val_score(pipe, X, labels, cv=KFold(5), error_score=np.nan)\nprint(scores)\n"
    body_raise = "scores = cross_val_score(pipe, X, labels, cv=KFold(5), error_score='raise')\n"
    models = ["LogisticRegression(C=1.0)", "LogisticRegression(C=0.1)"]
    result = run_and_compare({**cells(body_nan, models, data), **{
        f"raise_{k}": v for k, v in cells(body_raise, models, data).items()}}, backend)
    assert np.isnan(result["cand_0"].namespace["scores"]).sum() == 1
    if backend == "processes":  # in the kernel, the plain run above already showed it once
        assert "FitFailedWarning" in result["cand_0"].stderr + result["cand_1"].stderr
    assert result["raise_cand_0"].status == "failed"
    assert result.stats["fold_reuses"] > 0  # the failing folds' prefix fits were shared all the same


def test_warnings_of_a_shared_fit_are_raised_again_for_the_reuser() -> None:
    """The fit is computed once; each caller sees its warnings, through the current filters."""
    import tempfile

    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Lasso, Ridge
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    column = f"empty_{uuid.uuid4().hex[:8]}"  # a message no registry has seen: shown every time
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), column: np.nan})
    y = rng.normal(size=60)

    def messages(model) -> list[str]:
        pipe = Pipeline([("impute", SimpleImputer()), ("model", model)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cross_val_score(pipe, X, y, cv=3)
        return [f"{w.category.__name__}: {w.message}" for w in caught]

    expected = [messages(Ridge()), messages(Lasso())]
    with tempfile.TemporaryDirectory() as directory:
        model_selection.activate(directory)
        try:
            shared = [messages(Ridge()), messages(Lasso())]
            store = model_selection.active_store()
            assert store.reuses == 3  # the imputer's 3 folds (the models' own fits differ)
        finally:
            model_selection.uninstall()
    assert shared == expected
    assert any(column in m for m in expected[1])


def test_warnings_reach_the_reusing_pipelines_stderr() -> None:
    column = f"empty_{uuid.uuid4().hex[:8]}"
    data = DATA.replace('numeric = ["a", "b", "c", "d"]', f'X["{column}"] = np.nan\nnumeric = ["a", "b", "c", "d", "{column}"]')
    data = data.replace("StandardScaler(), numeric", "Pipeline([('imp', __import__('sklearn.impute').impute.SimpleImputer()), ('sc', StandardScaler())]), numeric")
    body = "scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0))\n"
    result = run_and_compare(cells(body, data=data), "processes")
    assert result.stats["fold_reuses"] == 3
    for name in ("cand_0", "cand_1"):
        assert f"Skipping features without any observed values: ['{column}']" in result[name].stderr


FALLBACKS = {
    "function_transformer": "FunctionTransformer(np.abs)",
    "cell_defined_class": "Doubler()",
    "parallel_step": "ColumnTransformer([('num', StandardScaler(), numeric)], n_jobs=2)",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_fallback_runs_scikit_learn_itself(case: str, backend: str) -> None:
    data = DATA.replace(
        "pipe = Pipeline([",
        "from sklearn.base import BaseEstimator, TransformerMixin\n"
        "from sklearn.decomposition import PCA\n"
        "from sklearn.preprocessing import FunctionTransformer\n"
        "class Doubler(TransformerMixin, BaseEstimator):\n"
        "    def fit(self, X, y=None):\n"
        "        self.n_ = len(X)\n"
        "        return self\n"
        "    def transform(self, X):\n"
        "        return np.asarray(X) * 2\n"
        "pipe = Pipeline([",
    ).replace('("pre", ColumnTransformer([("num", StandardScaler(), numeric),\n'
              '                               ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])])),',
              f'("pre", {FALLBACKS[case]}),').replace("numeric = [\"a\", \"b\", \"c\", \"d\"]\n",
                                                    "numeric = [\"a\", \"b\", \"c\", \"d\"]\nX = X[numeric]\nnp.random.seed(0)\n")
    body = "scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=5))\n"
    # Lasso sets an attribute in __init__, so its own fits never go through the store either
    result = run_and_compare(cells(body, models=["Lasso(alpha=0.05)", "Lasso(alpha=0.1)"], data=data), backend)
    assert result.stats["fold_fits"] == 0 and result.stats["fold_reuses"] == 0
    assert result.batch.fold_sharing == []


def unseeded_prefix(step: str, imports: str, seed: int) -> str:
    """DATA with ``step`` (random_state=None) as the whole prefix, on the numeric columns, after
    ``np.random.seed(seed)``."""
    return DATA.replace('("pre", ColumnTransformer([("num", StandardScaler(), numeric),\n'
                        '                               ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])])),',
                        f'("pre", {step}),').replace(
        "numeric = [\"a\", \"b\", \"c\", \"d\"]\n",
        f"numeric = [\"a\", \"b\", \"c\", \"d\"]\nX = X[numeric]\nnp.random.seed({seed})\n{imports}\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unseeded_fit_that_draws_is_computed_by_every_candidate(backend: str) -> None:
    # random_state=None: a randomized SVD draws from the global RNG. Reused, the second candidate
    # would not draw, and its next draw (`after`) would differ from a plain run's.
    data = unseeded_prefix('PCA(n_components=2, svd_solver="randomized")', "from sklearn.decomposition import PCA", 0)
    body = "scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=5))\nafter = np.random.rand()\n"
    result = run_and_compare(cells(body, data=data), backend)
    assert result.stats["fold_reuses"] == 0 and result.stats["fold_fits"] >= 6  # 3 folds, each candidate


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unseeded_model_that_never_draws_is_shared(backend: str) -> None:
    # Ridge's solver draws nothing: with random_state=None its fit is still a function of its
    # parameters and data, and the grid points two searches share are fitted once.
    data = DATA.replace("MODEL", "Ridge()")
    result = run_and_compare(two_searches(data, '"model__alpha": [0.1, 1.0]', '"model__alpha": [10.0]'), backend)
    models = [s for s in result.batch.fold_sharing if s.verb == "fit"]
    assert [s.label for s in models] == ["Ridge"] * 2 and sum(s.reuses for s in models) >= 6, models


def test_seeded_random_state_is_shared() -> None:
    """A prefix step with a fixed seed is a function of its key: shared (contrast with None)."""
    data = DATA.replace("from sklearn.pipeline", "from sklearn.decomposition import PCA\nfrom sklearn.pipeline").replace(
        '("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])', "").replace(
        "    (\"model\", MODEL),", '    ("pca", PCA(n_components=2, svd_solver="randomized", random_state=0)),\n    ("model", MODEL),')
    body = "scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=5))\n"
    result = run_and_compare(cells(body, data=data), "threads")
    labels = [s.label for s in result.batch.fold_sharing]
    assert labels == ["ColumnTransformer(StandardScaler)", "PCA"]
    assert result.stats["fold_fits"] == 6 + 3 and result.stats["fold_reuses"] == 6  # + Ridge's own 3 fits


def test_sklearn_config_and_output_settings_are_part_of_the_key() -> None:
    """set_output(transform="pandas") changes what the step returns: not shared with the default."""
    body = FORMS["cross_val_score"][0]
    dense = DATA.replace('OneHotEncoder(handle_unknown="ignore")', 'OneHotEncoder(handle_unknown="ignore", sparse_output=False)')
    first = cells(body, data=dense)["cand_0"]
    second = cells(body, data=dense)["cand_1"].replace("scores = cross_val_score", 'pipe.named_steps["pre"].set_output(transform="pandas")\nscores = cross_val_score')
    result = run_and_compare({"plain_output": first, "pandas_output": second}, "threads")
    assert result.stats["fold_fits"] == 10 + 5 and result.stats["fold_reuses"] == 0  # + Ridge's own 5 fits


def test_kernel_is_left_as_it_was() -> None:
    import sklearn.pipeline

    original = sklearn.pipeline._fit_transform_one
    run_and_compare(cells(FORMS["plain_fit"][0]), "threads")
    assert sklearn.pipeline._fit_transform_one is original
    assert model_selection.active_store() is None


# -- fingerprints -----------------------------------------------------------------------------
def test_fingerprint_sees_values_types_layout_and_labels() -> None:
    array = np.arange(12.0).reshape(3, 4)
    assert fingerprint(array) == fingerprint(array.copy())
    assert fingerprint(array) != fingerprint(np.asfortranarray(array))  # summation order may differ
    assert fingerprint(array) != fingerprint(array.astype(np.float32))
    assert fingerprint(np.array([1, "1"], dtype=object)) != fingerprint(np.array(["1", "1"], dtype=object))
    assert fingerprint(np.array([None], dtype=object)) != fingerprint(np.array(["None"], dtype=object))
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) != fingerprint(frame[["b", "a"]])
    assert fingerprint(frame) != fingerprint(frame.set_axis([5, 6]))
    assert fingerprint(frame) != fingerprint(frame.rename(columns={"a": "A"}))
    assert fingerprint(frame["a"]) != fingerprint(frame["a"].rename("z"))
    assert fingerprint(None) != fingerprint(np.array(None))
    with pytest.raises(NotFingerprintable):
        fingerprint(object())


def test_fingerprint_of_sparse_and_lists() -> None:
    import scipy.sparse as sp

    matrix = sp.random(20, 10, density=0.2, format="csr", random_state=0)
    assert fingerprint(matrix) == fingerprint(matrix.copy())
    changed = matrix.copy()
    changed.data[0] += 1
    assert fingerprint(matrix) != fingerprint(changed)
    assert fingerprint(["a b", "c"]) != fingerprint(["a b", "d"])


def test_refit_in_place_ends_in_the_state_of_a_fresh_fit() -> None:
    """The classes treated as resetting on refit (a transformer fitted fold after fold)."""
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.choice(["u", "v"], 50)})
    frame.loc[3, "a"] = np.nan
    texts = ["alpha beta", "beta gamma", "gamma delta alpha"] * 5
    cases = [
        (StandardScaler(), frame[["a"]].fillna(0)), (MinMaxScaler(), frame[["a"]].fillna(0)),
        (SimpleImputer(), frame[["a"]]), (OneHotEncoder(), frame[["b"]]), (OrdinalEncoder(), frame[["b"]]),
        (ColumnTransformer([("n", SimpleImputer(), ["a"]), ("c", OneHotEncoder(), ["b"])]), frame),
        (CountVectorizer(), texts), (TfidfVectorizer(), texts),
    ]
    for estimator, data in cases:
        refitted = clone(estimator).fit(data[:20] if isinstance(data, list) else data.iloc[:20])
        refitted.fit(data)
        fresh = clone(estimator).fit(data)
        assert sorted(vars(refitted)) == sorted(vars(fresh)), type(estimator).__name__
        assert values_equal(vars(refitted), vars(fresh)), type(estimator).__name__
        assert type(estimator).__name__ in model_selection._REFIT_RESETS


def test_unsafe_estimators_are_recognised() -> None:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    spec = model_selection._estimator_spec
    assert spec(StandardScaler())[1] == "StandardScaler"
    assert spec(StandardScaler(with_mean=False))[0] != spec(StandardScaler())[0]
    for unsafe in (FunctionTransformer(np.log1p), PCA(random_state=np.random.RandomState(0))):
        with pytest.raises(model_selection._Unsafe):
            spec(unsafe)
    assert "random_state=NoneType:None" in spec(PCA())[0]  # shared if its fit draws nothing
    fitted = PCA(n_components=1, random_state=0).fit(np.arange(10.0).reshape(5, 2))
    with pytest.raises(model_selection._Unsafe):  # fitted before, and not known to reset on refit
        spec(fitted)



@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_transforms_of_a_shared_fit_are_shared(backend: str) -> None:
    """Scoring a fold transforms its validation rows with the fold's fitted prefix: the second
    candidate reuses those transforms too."""
    result = run_and_compare(cells(FORMS["cross_val_score"][0]), backend)
    assert result.stats["fold_transform_reuses"] == 5
    assert "transform: 5 run, 5 reused" in result.batch.explain()


def test_transform_after_the_state_changed_is_not_shared() -> None:
    """set_output after the fit, or a refit outside the store, gives the transformer other
    attributes: its transforms run as scikit-learn's again, and equal plain execution."""
    body = (
        "pipe.fit(X, y)\nprep = pipe.named_steps['pre']\nbefore = prep.transform(X.iloc[:50])\n"
        "prep.set_output(transform='pandas')\nafter_output = prep.transform(X.iloc[:50])\n"
        "prep.fit(X.iloc[:100], y.iloc[:100])\nafter_refit = prep.transform(X.iloc[:50])\n"
    )
    dense = DATA.replace('OneHotEncoder(handle_unknown="ignore")', 'OneHotEncoder(handle_unknown="ignore", sparse_output=False)')
    result = run_and_compare(cells(body, data=dense), "threads")
    assert result.stats["fold_transform_reuses"] == 1  # `before` only
    assert isinstance(result["cand_1"].namespace["after_output"], pd.DataFrame)


def test_california_workload_shares_its_preprocessing_folds(tmp_path, monkeypatch) -> None:
    """The benchmark's four candidates, batched: each fold's scaling is fitted once for all four
    and its validation rows transformed once; every candidate equals plain execution."""
    from stratum_jupyter.bench.generators import generate

    workload = generate("california", rows=10_000, scripts=4, seed=3)  # 1,032 rows
    workload.write(tmp_path)
    monkeypatch.chdir(tmp_path)
    candidates = {s.name: s.code for s in workload.scripts}
    assert len(candidates) == 4 and workload.warm
    result = run_and_compare(candidates, "processes")
    # 5 scalings fitted and reused 15 times; the LinearRegression, Ridge and ElasticNet candidates'
    # 5 model fits each go through the store in case another candidate fits the same model on the
    # same rows (none does; ElasticNet's draw from the global RNG, so they are not kept; Lasso sets
    # an attribute in __init__ and never goes through it)
    assert (result.stats["fold_fits"], result.stats["fold_reuses"]) == (5 + 3 * 5, 15)
    assert result.stats["fold_transform_reuses"] == 15
    assert [s.label for s in result.batch.fold_sharing] == ["ColumnTransformer(StandardScaler)"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_two_searches_fit_alike_is_fitted_once(backend: str) -> None:
    # As agents write them: the second search's grid holds the first one's points and more. The
    # same model with the same parameters on the same fold rows (and, when both pick the same
    # point, the same refit on all rows) is fitted once, for both.
    data = "from sklearn.ensemble import HistGradientBoostingRegressor\n" + DATA.replace(
        "MODEL", "HistGradientBoostingRegressor(max_iter=15, random_state=0)")
    result = run_and_compare(two_searches(data, '"model__learning_rate": [0.05, 0.2]', '"model__max_depth": [None, 3]'), backend)
    # one spec per grid point both searches have: learning rates 0.05 and 0.2 (depth None), each
    # fitted on 3 folds by each search (+ the refits on all rows); the depth-3 points are the wide
    # search's alone
    models = [s for s in result.batch.fold_sharing if s.verb == "fit"]
    assert [s.label for s in models] == ["HistGradientBoostingRegressor"] * 2
    assert sum(s.reuses for s in models) >= 6 and all(s.fits + s.reuses >= 6 for s in models), models
    assert all(s.pipelines == ["narrow", "wide"] for s in models)
    assert "HistGradientBoostingRegressor fit: " in result.batch.explain()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_keeping_the_callers_data_is_never_shared(backend: str) -> None:
    # Kernel ridge (like k-neighbours) keeps the array it was fitted on, the caller's own when it
    # needs no conversion: written to afterwards, a plain run's model sees the change. A model
    # fitted for another candidate would hold a copy, so such fits are never shared.
    # (The two build the same data in different statements: each candidate fits on its own
    # array, which no other pipeline sees, so the write needs no copy.)
    code = (
        "import numpy as np\nfrom sklearn.model_selection import GridSearchCV\n"
        "from sklearn.kernel_ridge import KernelRidge\n"
        "rng = np.random.default_rng(0)\nXn = rng.normal(size=(90, 3)) * SCALE\nyn = Xn[:, 0] + rng.normal(scale=0.1, size=90)\n"
        "search = GridSearchCV(KernelRidge(), {'alpha': [0.1, 1.0]}, cv=3).fit(Xn, yn)\n"
        "Xn[:10] += 100.0\n"
        "kept_changed = bool(search.best_estimator_.X_fit_[0, 0] > 50)\n"
        "predicted = search.predict(Xn[:5])\n"
    )
    result = run_and_compare({"first": code.replace("SCALE", "1"), "second": code.replace("SCALE", "1.0")}, backend)
    assert result["first"].namespace["kept_changed"] is True
    assert not [s for s in result.batch.fold_sharing if s.verb == "fit"]


def test_waiting_for_a_fold_another_computes_is_announced_and_gets_its_result(tmp_path, monkeypatch) -> None:
    # The runtime lends a waiting step's place (see test_runtime); here: the store tells it when
    # a key is being computed by someone else, and only then, and the waiter gets that result.
    import threading

    from stratum_jupyter import folds

    notices: list[tuple[str, bool]] = []
    monkeypatch.setattr(folds, "wait_notice", lambda waiting: notices.append((threading.current_thread().name, waiting)))
    store = folds.FoldStore(tmp_path)
    computing, release = threading.Event(), threading.Event()

    def slow() -> tuple[object, bytes]:
        computing.set()
        release.wait(10)
        return "fitted", b"kept"

    first = threading.Thread(target=lambda: store.get_or_compute("k", slow), name="first")
    first.start()
    computing.wait(10)
    got: list = []
    second = threading.Thread(target=lambda: got.append(store.get_or_compute("k", lambda: ("again", b"x"))), name="second")
    second.start()
    for _ in range(500):  # until the second announces its wait (at most 5 s)
        if notices:
            break
        second.join(0.01)
    release.set()
    first.join()
    second.join()
    assert notices == [("second", True), ("second", False)]
    assert got == [(None, b"kept")]
    assert store.get_or_compute("other", lambda: ("own", None)) == ("own", None)
    assert notices == [("second", True), ("second", False)]  # an uncontended key waits for no one


def test_a_short_wait_for_a_fold_lends_nothing(tmp_path, monkeypatch) -> None:
    # Lending may start a fresh worker (its first calls cost ~0.1 s): a wait shorter than
    # LEND_AFTER (one fold's scaler) is cheaper, and goes unannounced.
    import threading

    from stratum_jupyter import folds

    notices: list[bool] = []
    monkeypatch.setattr(folds, "wait_notice", notices.append)
    monkeypatch.setattr(folds, "LEND_AFTER", 5.0)
    store = folds.FoldStore(tmp_path)
    computing = threading.Event()

    def quick() -> tuple[object, bytes]:
        computing.set()
        threading.Event().wait(0.2)
        return "fitted", b"kept"

    first = threading.Thread(target=lambda: store.get_or_compute("k", quick))
    first.start()
    computing.wait(10)
    assert store.get_or_compute("k", lambda: ("again", b"x")) == (None, b"kept")
    first.join()
    assert notices == []


def test_after_a_long_fold_of_its_kind_a_wait_lends_at_once(tmp_path, monkeypatch) -> None:
    # How patient a contended wait is depends on the last fold of the same kind here: one that
    # took longer than LEND_AFTER (a vectorizer's fit) means the wait will be long too.
    import fcntl
    import threading

    from stratum_jupyter import folds

    patience: list[float] = []
    real = folds.lock_within
    monkeypatch.setattr(folds, "lock_within", lambda handle, seconds: patience.append(seconds) or real(handle, seconds))
    monkeypatch.setattr(folds, "LEND_AFTER", 0.05)
    store = folds.FoldStore(tmp_path)
    store.get_or_compute("vectorized 1", lambda: (threading.Event().wait(0.1), b"kept"), group="vectorizer")
    store.get_or_compute("scaled 1", lambda: ("quick", b"q"), group="scaler")
    assert store.took["vectorizer"] > 0.05 > store.took["scaler"]
    for key, group in (("vectorized 2", "vectorizer"), ("scaled 2", "scaler")):
        patience.clear()
        with open(tmp_path / f"{key}.lock", "a+b") as other:  # someone else computes it
            fcntl.flock(other, fcntl.LOCK_EX)
            waiter = threading.Thread(target=lambda: store.get_or_compute(key, lambda: ("x", None), group=group))
            waiter.start()
            for _ in range(500):  # until it tried once, then with its patience
                if len(patience) >= 2:
                    break
                waiter.join(0.01)
            fcntl.flock(other, fcntl.LOCK_UN)
        waiter.join()
        assert patience[:2] == [0.0, 0.0 if group == "vectorizer" else 0.05], group


def test_our_functions_work_in_a_process_that_never_installed_them(monkeypatch) -> None:
    # sklearn.compose imported while ours was installed binds our _fit_transform_one; a joblib
    # worker of ColumnTransformer(n_jobs=2) then unpickles a reference to it, in a process where
    # nothing was installed: it must be scikit-learn's function there (it called None).
    from sklearn.preprocessing import StandardScaler

    monkeypatch.setattr(model_selection, "_original", None)
    monkeypatch.setattr(model_selection, "_original_split", None)
    monkeypatch.setattr(model_selection, "_store", None)
    X = np.arange(12.0).reshape(6, 2)
    Xt, fitted = model_selection._fit_transform_one(StandardScaler(), X, None, None)
    assert np.array_equal(Xt, StandardScaler().fit_transform(X)) and fitted.n_samples_seen_ == 6
    X_sub, _ = model_selection._safe_split(StandardScaler(), X, None, [0, 2])
    assert np.array_equal(X_sub, X[[0, 2]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_transforms_of_a_fit_that_drew_are_never_shared(backend: str) -> None:
    # Both candidates fit the same Nystroem map (random_state=None: its fit samples components
    # from the global RNG) on the same folds, from different RNG states: their fits differ, so
    # the validation rows each transforms for scoring must be its own (they were keyed by the
    # fit's key and shared: the second candidate scored with the first one's map).
    body = "scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=5))\n"
    candidates = {
        f"seed_{seed}": unseeded_prefix("Nystroem(n_components=20)", "from sklearn.kernel_approximation import Nystroem",
                                        seed).replace("MODEL", "Ridge(alpha=1.0)") + body
        for seed in (0, 1)
    }
    result = run_and_compare(candidates, backend)
    assert not np.array_equal(result["seed_0"].namespace["scores"], result["seed_1"].namespace["scores"])


def test_a_meta_estimators_fit_is_never_memoized_whole():
    # Routed as one model fit, a search's (or an ensemble's) whole fit ran nested, so none of the
    # fits inside it were shared — and the route, installed on the class, stayed in the worker: a
    # later candidate's top-level `search.fit` there shared nothing either (CI: 6 reuses of 16).
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.model_selection._search import BaseSearchCV

    try:
        model_selection._route_model_fit(GridSearchCV(Ridge(), {"alpha": [1.0, 2.0]}))
        model_selection._route_model_fit(StackingRegressor([("r", Ridge())]))
        assert not any(cls in (BaseSearchCV, StackingRegressor) or issubclass(StackingRegressor, cls) and name == "fit"
                       and cls is not object for cls, name in model_selection._originals), model_selection._originals
        model_selection._route_model_fit(Ridge())
        assert any(issubclass(Ridge, cls) for cls, _ in model_selection._originals)
    finally:
        model_selection.uninstall()


def test_top_level_searches_share_fold_fits_in_a_worker_that_ran_a_nested_search():
    nested = DATA.replace("MODEL", "Ridge()") + (
        "from sklearn.model_selection import GridSearchCV, cross_val_score\n"
        'inner = GridSearchCV(pipe, {"model__alpha": [0.1, 1.0]}, cv=3)\n'
        "outer = cross_val_score(inner, X, y, cv=3)\n"
    )
    first = Batch()
    first.add(nested, name="nested", isolated=True)
    assert first.run(jobs=2)["nested"].status == "ok"  # its worker serves a candidate next (same budget)
    body, fits, reuses = FORMS["grid_search"]
    result = run_and_compare(cells(body), "processes")
    assert result.stats["fold_reuses"] == reuses, [s.describe() for s in result.batch.fold_sharing]
