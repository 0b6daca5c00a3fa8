"""values_equal / first_difference: equal and unequal cases for each family of values."""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stratum_jupyter.compare import explain_difference, first_difference, values_equal  # noqa: E402

NAN = float("nan")


def _frame(**overrides):
    data = {"a": [1, 2, 3], "b": [0.5, NAN, 2.5], "c": ["x", "y", None]}
    data.update(overrides)
    return pd.DataFrame(data)


def _exec_namespace(code: str) -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(code, "<script>", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    "a, b",
    [(1, 1), (NAN, NAN), (1.5, 1.5), ("s", "s"), (None, None), (complex(NAN, 1), complex(NAN, 1)),
     (np.float64(NAN), np.float64(NAN)), (np.int32(3), np.int32(3)), (b"x", b"x"), (True, True)],
)
def test_equal_scalars(a, b):
    assert values_equal(a, b)


@pytest.mark.parametrize(
    "a, b",
    [(1, 2), (1, 1.0), (True, 1), (0.81, 0.79), (NAN, 0.0), ("s", "t"), (None, 0),
     (np.float64(1.0), 1.0), (np.int32(3), np.int64(3)), (np.float32(0.5), np.float64(0.5))],
)
def test_unequal_scalars(a, b):
    assert not values_equal(a, b)


def test_pandas_missing_scalars():
    assert values_equal(pd.NaT, pd.NaT)
    assert values_equal(pd.NA, pd.NA)
    assert not values_equal(pd.NA, pd.NaT)
    assert values_equal(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01"))
    assert not values_equal(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"))


# --------------------------------------------------------------------------- pandas


def test_frames_equal_with_nan():
    assert values_equal(_frame(), _frame())


def test_frames_differ_in_value_column_and_dtype():
    assert not values_equal(_frame(), _frame(b=[0.5, NAN, 2.6]))
    assert not values_equal(_frame(), _frame(a=[1.0, 2.0, 3.0]))  # int64 vs float64
    assert not values_equal(_frame(), _frame().assign(d=1))
    assert not values_equal(_frame(), _frame()[["b", "a", "c"]])
    assert not values_equal(_frame(), _frame().iloc[::-1])


def test_frames_with_extra_columns_are_different_even_when_same_object_changed():
    df = _frame()
    snapshot = df.copy()
    df["x"] = 1
    assert not values_equal(snapshot, df)


def test_series_and_index():
    s = pd.Series([1.0, NAN], name="s")
    assert values_equal(s, pd.Series([1.0, NAN], name="s"))
    assert not values_equal(s, pd.Series([1.0, NAN], name="t"))
    assert not values_equal(s, pd.Series([1.0, NAN], name="s", dtype="float32"))
    assert values_equal(pd.Index(["a", "b"]), pd.Index(["a", "b"]))
    assert not values_equal(pd.Index(["a", "b"]), pd.Index(["a", "c"]))
    assert not values_equal(pd.Series([1, 2]), pd.DataFrame({"a": [1, 2]}))


def test_categorical_and_extension_arrays():
    cat = pd.Categorical(["a", "b", "a"])
    assert values_equal(cat, pd.Categorical(["a", "b", "a"]))
    assert not values_equal(cat, pd.Categorical(["a", "b", "b"]))
    assert values_equal(pd.array([1, None], dtype="Int64"), pd.array([1, None], dtype="Int64"))
    assert not values_equal(pd.array([1, None], dtype="Int64"), pd.array([1, 2], dtype="Int64"))


# --------------------------------------------------------------------------- numpy


def test_arrays():
    a = np.array([1.0, NAN, 3.0])
    assert values_equal(a, a.copy())
    assert not values_equal(a, np.array([1.0, NAN, 4.0]))
    assert not values_equal(a, a.astype(np.float32))
    assert not values_equal(a, a.reshape(1, 3))
    assert values_equal(np.arange(4), np.arange(4))
    assert not values_equal(np.arange(4), np.arange(4.0))
    assert values_equal(np.array(["a", "b"]), np.array(["a", "b"]))


def test_object_and_datetime_arrays():
    obj = np.array(["a", NAN, None], dtype=object)
    assert values_equal(obj, np.array(["a", NAN, None], dtype=object))
    assert not values_equal(obj, np.array(["a", NAN, "z"], dtype=object))
    dt = np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")
    assert values_equal(dt, dt.copy())
    assert not values_equal(dt, np.array(["2024-01-02", "NaT"], dtype="datetime64[D]"))


def test_masked_arrays():
    m = np.ma.masked_array([1, 2, 3], mask=[False, True, False])
    assert values_equal(m, np.ma.masked_array([1, 99, 3], mask=[False, True, False]))
    assert not values_equal(m, np.ma.masked_array([1, 2, 3], mask=[False, False, False]))


# --------------------------------------------------------------------------- containers


def test_containers():
    assert values_equal([1, NAN, {"k": (1, 2)}], [1, NAN, {"k": (1, 2)}])
    assert not values_equal([1, 2], [1, 2, 3])
    assert not values_equal([1, 2], (1, 2))
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})
    assert not values_equal({"a": 1}, {"b": 1})
    assert values_equal({"a": np.array([1.0, NAN])}, {"a": np.array([1.0, NAN])})
    assert values_equal({1, 2, 3}, {3, 2, 1})
    assert not values_equal({1, 2}, {1, 3})
    assert values_equal(frozenset({"a"}), frozenset({"a"}))
    assert values_equal([_frame(), np.zeros(2)], [_frame(), np.zeros(2)])
    assert not values_equal([_frame(), np.zeros(2)], [_frame(), np.ones(2)])


def test_cycles_do_not_recurse_forever():
    a, b = [1], [1]
    a.append(a)
    b.append(b)
    assert values_equal(a, b)
    c = [2]
    c.append(c)
    assert not values_equal(a, c)


# --------------------------------------------------------------------------- code objects


def test_modules_functions_and_classes():
    assert values_equal(np, np)
    assert values_equal(sys.modules["math"], math)
    assert not values_equal(np, pd)
    code = "import math\ndef f(x):\n    return x + 1\nclass C:\n    pass\ng = lambda y: y\n"
    one, two = _exec_namespace(code), _exec_namespace(code)
    assert one["f"] is not two["f"]
    assert values_equal(one["f"], two["f"])
    assert values_equal(one["C"], two["C"])
    assert values_equal(one["g"], two["g"])
    assert not values_equal(one["f"], one["C"])
    assert not values_equal(one["f"], _exec_namespace("def h(x):\n    return x\n")["h"])
    assert values_equal(len, len)
    assert values_equal(functools.partial(int, base=2), functools.partial(int, base=2))
    assert not values_equal(functools.partial(int, base=2), functools.partial(int, base=8))


def test_instances_of_classes_from_two_executions():
    code = (
        "import dataclasses\n"
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "@dataclasses.dataclass\nclass Point:\n    x: float\n"
        "box, point = Box([1, 2]), Point(1.5)\n"
    )
    one, two = _exec_namespace(code), _exec_namespace(code)
    assert values_equal(one["box"], two["box"])
    assert values_equal(one["point"], two["point"])
    two["box"].v.append(3)
    assert not values_equal(one["box"], two["box"])
    assert not values_equal(one["point"], two["Point"](2.5))


def test_frames_holding_enum_members_of_classes_from_two_executions():
    """An enum member equals only itself, so pandas' ``==`` finds two runs' columns of members
    different; they compare value by value (a false mismatch in ``stratum verify``)."""
    code = (
        "import enum\nimport pandas as pd\n"
        "class Stage(enum.Enum):\n    TRAIN = 'train'\n    VALID = 'valid'\n"
        "df = pd.DataFrame({'x': [1.0, 2.0], 'stage': [Stage.TRAIN, Stage.VALID]})\n"
    )
    one, two = _exec_namespace(code), _exec_namespace(code)
    assert values_equal(one["df"], two["df"]) and values_equal(one["df"]["stage"], two["df"]["stage"])
    changed = two["df"].copy()
    changed.loc[1, "stage"] = two["Stage"].TRAIN
    assert not values_equal(one["df"], changed)
    changed = two["df"].assign(x=[1.0, 3.0])
    assert not values_equal(one["df"], changed)


def test_plain_objects_compare_by_state():
    @dataclasses.dataclass
    class P:
        x: int

    class Plain:
        def __init__(self, v):
            self.v = v

    assert values_equal(P(1), P(1))
    assert not values_equal(P(1), P(2))
    assert values_equal(Plain({"a": 1}), Plain({"a": 1}))
    assert not values_equal(Plain({"a": 1}), Plain({"a": 2}))
    assert values_equal(np.random.RandomState(0), np.random.RandomState(0))
    assert not values_equal(np.random.RandomState(0), np.random.RandomState(1))


def test_never_raises():
    class Hostile:
        def __eq__(self, other):
            raise RuntimeError("no")

        def __repr__(self):
            raise RuntimeError("no repr")

        @property
        def __dict__(self):
            raise RuntimeError("no dict")

    assert values_equal(Hostile(), Hostile()) in (True, False)
    assert isinstance(first_difference({"h": Hostile()}, {"h": Hostile()}) or "", str)


# --------------------------------------------------------------------------- scikit-learn


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_estimators_params(iris):
    assert values_equal(LogisticRegression(C=1.0), LogisticRegression(C=1.0))
    assert not values_equal(LogisticRegression(C=1.0), LogisticRegression(C=2.0))
    assert not values_equal(LogisticRegression(), RandomForestClassifier())
    assert values_equal(
        make_pipeline(StandardScaler(), LogisticRegression()), make_pipeline(StandardScaler(), LogisticRegression())
    )
    assert not values_equal(
        make_pipeline(StandardScaler(), LogisticRegression()), make_pipeline(StandardScaler(), LogisticRegression(C=3))
    )


def test_estimators_fitted_vs_unfitted(iris):
    X, y = iris
    fitted = LogisticRegression(max_iter=500).fit(X, y)
    assert not values_equal(fitted, LogisticRegression(max_iter=500))
    assert values_equal(fitted, LogisticRegression(max_iter=500).fit(X, y))
    assert not values_equal(fitted, LogisticRegression(max_iter=500).fit(X[:120], y[:120]))


def test_forests_compare_their_trees(iris):
    X, y = iris
    a = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert values_equal(a, RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y))
    assert not values_equal(a, RandomForestClassifier(n_estimators=5, random_state=1).fit(X, y))


def test_grid_search_ignores_wall_clock_timings(iris):
    X, y = iris

    def search():
        return GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=3).fit(X, y)

    a, b = search(), search()
    assert values_equal(a, b)
    b.cv_results_["mean_test_score"][0] += 0.5
    assert not values_equal(a, b)
    # the explanation walks into the fitted attribute to the key that differs
    assert "fitted attribute cv_results_: ['mean_test_score']" in explain_difference(a, b)


# --------------------------------------------------------------------------- first_difference


def test_first_difference_identical():
    ns = {"df": _frame(), "score": 0.81, "model": LogisticRegression(), "np": np}
    assert first_difference(ns, {**ns, "df": _frame()}) is None


def test_first_difference_ignores_private_and_dunder_names():
    assert first_difference({"__name__": "a", "_tmp": 1, "x": 1}, {"__name__": "b", "_tmp": 2, "x": 1}) is None


def test_first_difference_messages():
    assert first_difference({"score": 0.81}, {"score": 0.79}) == "score: 0.81 != 0.79"
    assert "missing" in first_difference({"a": 1, "b": 2}, {"b": 2})
    assert first_difference({"a": 1, "b": 2}, {"b": 2}).startswith("a:")
    message = first_difference({"b": 2}, {"a": 1, "b": 2})
    assert message.startswith("a:") and "unexpected" in message
    # sorted order: "alpha" is reported before "zeta"
    assert first_difference({"zeta": 1, "alpha": 1}, {"zeta": 2, "alpha": 2}).startswith("alpha:")


def test_first_difference_truncates_and_explains():
    long_a, long_b = "x" * 500, "y" * 500
    message = first_difference({"s": long_a}, {"s": long_b})
    assert len(message) < 200
    message = first_difference({"df": _frame()}, {"df": _frame().assign(d=1)})
    assert message.startswith("df:") and len(message) < 300 and "\n" not in message
    message = first_difference({"m": LogisticRegression(C=1.0)}, {"m": LogisticRegression(C=2.0)})
    assert "C" in message
    assert "[1]" in explain_difference([1, 2], [1, 3])


def test_cross_validate_results_ignore_wall_clock_timings(iris):
    X, y = iris

    def scores():
        return cross_validate(LogisticRegression(max_iter=500), X, y, cv=3, return_train_score=True)

    a, b = scores(), scores()
    b["fit_time"] = b["fit_time"] + 1.0
    assert values_equal(a, b)
    assert first_difference({"res": a}, {"res": b}) is None
    b["test_score"] = b["test_score"] + 0.5
    assert not values_equal(a, b)
    assert first_difference({"res": a}, {"res": b}).startswith("res: ['test_score']")
    # a dict that merely has a "fit_time" key is compared whole
    assert not values_equal({"fit_time": 1.0}, {"fit_time": 2.0})


def test_a_searchs_cv_results_held_under_a_name_ignore_wall_clock_timings(iris):
    """``res = search.cv_results_`` (agents print from it): its fit and score times never
    reproduce, as on the search itself (``stratum verify`` reported a false mismatch)."""
    X, y = iris

    def results():
        return GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=3).fit(X, y).cv_results_

    a, b = results(), results()
    b["mean_fit_time"] = b["mean_fit_time"] + 1.0
    b["std_score_time"] = b["std_score_time"] + 1.0
    assert values_equal(a, b)
    assert first_difference({"res": a}, {"res": b}) is None
    b["mean_test_score"] = b["mean_test_score"] + 0.5
    assert first_difference({"res": a}, {"res": b}).startswith("res: ['mean_test_score']")
