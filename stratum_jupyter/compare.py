"""Deep equality of Python values, for checking a batch run against plain execution.

``values_equal`` answers "would a user see the same value?" for the values ML scripts
bind: pandas and numpy objects (dtypes included, NaN equal to NaN), scikit-learn
estimators (parameters and fitted attributes), containers, functions and classes
(by name, so the same code run in two namespaces compares equal) and arbitrary
objects (by ``==`` when the type defines it, else by their state).

``first_difference`` compares two namespaces and names the first differing name.

Neither function ever raises: a comparison that cannot be carried out counts as
"not equal", since a fidelity check must never report "identical" without proof.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import types
from typing import Any, Callable

__all__ = ["values_equal", "first_difference", "explain_difference"]

_REPR_LIMIT = 60
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# Wall-clock measurements that scikit-learn stores on fitted search objects: never
# reproducible between two runs, so they are not part of a result's identity.
_TIMING_ATTRS = frozenset({"refit_time_"})
_TIMING_CV_KEYS = frozenset({"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"})
#: The timing keys of ``cross_validate``'s result (a dict holding both).
_TIMING_RESULT_KEYS = frozenset({"fit_time", "score_time"})

_Memo = set[tuple[int, int]]


# --------------------------------------------------------------------------- public API


def values_equal(a: Any, b: Any) -> bool:
    """Return True when ``a`` and ``b`` are the same value for a user; never raises."""
    try:
        return _equal(a, b, set())
    except Exception:  # RecursionError, a broken __eq__, ...
        return False


def first_difference(expected: dict[str, Any], actual: dict[str, Any]) -> str | None:
    """Compare two namespaces; None if identical, else a short message on the first difference.

    Names starting with ``_`` (dunders included) are ignored. Names are visited in
    sorted order; the message names the first missing, extra or differing name.
    """
    try:
        names = sorted({n for n in (*expected, *actual) if not n.startswith("_")})
        for name in names:
            if name not in actual:
                return f"{name}: missing (expected {_short_repr(expected[name])})"
            if name not in expected:
                return f"{name}: unexpected name (value {_short_repr(actual[name])})"
            if not values_equal(expected[name], actual[name]):
                return f"{name}: {explain_difference(expected[name], actual[name])}"
        return None
    except Exception as exc:  # pragma: no cover - defensive, keys are strings
        return f"namespaces could not be compared: {type(exc).__name__}: {exc}"


def explain_difference(a: Any, b: Any) -> str:
    """A short human description of how ``a`` differs from ``b``; never raises."""
    try:
        return _explain(a, b, depth=0)
    except Exception:
        return f"{_short_repr(a)} != {_short_repr(b)}"


# --------------------------------------------------------------------------- dispatch


def _equal(a: Any, b: Any, memo: _Memo) -> bool:
    if a is b:
        return True
    if not _types_equal(type(a), type(b)):
        return False
    key = (id(a), id(b))
    if key in memo:  # a cycle: assume equal, the rest of the walk decides
        return True
    memo.add(key)
    try:
        return _dispatch(a, b, memo)
    finally:
        memo.discard(key)


def _dispatch(a: Any, b: Any, memo: _Memo) -> bool:
    for predicate, compare in _HANDLERS:
        if predicate(a):
            return compare(a, b, memo)
    return _equal_generic(a, b, memo)


def _types_equal(ta: type, tb: type) -> bool:
    """Same class, or classes of the same module and qualified name (re-executed code)."""
    return ta is tb or _name_of(ta) == _name_of(tb)


def _name_of(obj: Any) -> tuple[str, str]:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return (str(module), str(qualname) if qualname is not None else f"<{type(obj).__name__}>")


# --------------------------------------------------------------------------- type families


def _module(name: str) -> Any:
    """A module only if the user's code already imported it (never import on our own)."""
    return sys.modules.get(name)


def _is_pandas(obj: Any) -> bool:
    pd = _module("pandas")
    return pd is not None and isinstance(obj, (pd.DataFrame, pd.Series, pd.Index))


def _equal_pandas(a: Any, b: Any, memo: _Memo) -> bool:
    return _pandas_assertion(a, b) is None or _equal_object_values(a, b, memo)


def _equal_object_values(a: Any, b: Any, memo: _Memo) -> bool:
    """Pandas compares object values with ``==``, which fails for values of classes each run
    defines anew (an enum member is equal only to itself): such columns are compared here value
    by value, the rest by pandas."""
    pd = _module("pandas")
    if isinstance(a, pd.Index):
        return False
    if isinstance(a, pd.Series):
        a, b = a.to_frame(), b.to_frame()
    if a.shape != b.shape or not (a.dtypes == object).equals(b.dtypes == object):
        return False
    columns = [i for i in range(a.shape[1]) if a.dtypes.iloc[i] == object]
    if not columns:
        return False
    rest_a, rest_b = a.copy(deep=False), b.copy(deep=False)
    for i in columns:
        rest_a.isetitem(i, 0)
        rest_b.isetitem(i, 0)
    return _pandas_assertion(rest_a, rest_b) is None and all(
        _equal(x, y, memo) for i in columns for x, y in zip(a.iloc[:, i], b.iloc[:, i]))


def _pandas_assertion(a: Any, b: Any) -> str | None:
    """None if equal, else pandas' own assertion message."""
    pd = _module("pandas")
    testing = pd.testing
    try:
        if isinstance(a, pd.DataFrame):
            testing.assert_frame_equal(a, b, check_exact=True, check_flags=True)
        elif isinstance(a, pd.Series):
            testing.assert_series_equal(a, b, check_exact=True, check_flags=True)
        else:
            testing.assert_index_equal(a, b, check_exact=True)
        if hasattr(a, "attrs") and not _equal(dict(a.attrs), dict(b.attrs), set()):
            return "attrs are different"
    except AssertionError as exc:
        return str(exc) or "pandas objects differ"
    return None


def _is_extension_array(obj: Any) -> bool:
    pd = _module("pandas")
    return pd is not None and isinstance(obj, pd.api.extensions.ExtensionArray)


def _equal_extension_array(a: Any, b: Any, memo: _Memo) -> bool:
    pd = _module("pandas")
    try:
        pd.testing.assert_extension_array_equal(a, b, check_exact=True)
    except AssertionError:
        return False
    return True


def _is_ndarray(obj: Any) -> bool:
    np = _module("numpy")
    return np is not None and isinstance(obj, np.ndarray)


def _equal_ndarray(a: Any, b: Any, memo: _Memo) -> bool:
    np = _module("numpy")
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if isinstance(a, np.ma.MaskedArray):
        mask_a, mask_b = np.ma.getmaskarray(a), np.ma.getmaskarray(b)
        if not np.array_equal(mask_a, mask_b):
            return False
        a, b = np.asarray(a.data)[~mask_a], np.asarray(b.data)[~mask_b]
    if a.dtype.kind == "O":
        return all(_equal(x, y, memo) for x, y in zip(a.ravel(), b.ravel()))
    if a.dtype.kind in "fcmM":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _is_numpy_scalar(obj: Any) -> bool:
    np = _module("numpy")
    return np is not None and isinstance(obj, np.generic)


def _equal_numpy_scalar(a: Any, b: Any, memo: _Memo) -> bool:
    np = _module("numpy")
    return _equal_ndarray(np.asarray(a), np.asarray(b), memo)


def _is_estimator(obj: Any) -> bool:
    base = _module("sklearn.base")
    return base is not None and isinstance(obj, base.BaseEstimator) and not isinstance(obj, type)


def _equal_estimator(a: Any, b: Any, memo: _Memo) -> bool:
    return _estimator_difference(a, b, memo) is None


def _estimator_difference(a: Any, b: Any, memo: _Memo) -> str | None:
    """None if the estimators are equal, else which parameter or fitted attribute differs."""
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    for key in sorted(set(params_a) | set(params_b)):
        if key not in params_a or key not in params_b:
            return f"parameter {key} is set on only one of them"
        if not _equal(params_a[key], params_b[key], memo):
            return f"parameter {key}: {_short_repr(params_a[key])} != {_short_repr(params_b[key])}"
    fitted_a, fitted_b = _fitted_attributes(a), _fitted_attributes(b)
    if set(fitted_a) != set(fitted_b):
        only = sorted(set(fitted_a) ^ set(fitted_b))
        return f"fitted attributes differ in presence: {', '.join(only[:3])}"
    for key in sorted(fitted_a):
        if not _equal(fitted_a[key], fitted_b[key], memo):
            return f"fitted attribute {key}: {_explain(fitted_a[key], fitted_b[key], 1)}"
    return None


def _fitted_attributes(est: Any) -> dict[str, Any]:
    attrs = {
        k: v
        for k, v in vars(est).items()
        if k.endswith("_") and not k.startswith("_") and k not in _TIMING_ATTRS
    }
    if isinstance(attrs.get("cv_results_"), dict):
        attrs["cv_results_"] = {k: v for k, v in attrs["cv_results_"].items() if k not in _TIMING_CV_KEYS}
    return attrs


def _is_float(obj: Any) -> bool:
    return isinstance(obj, (float, complex))


def _equal_float(a: Any, b: Any, memo: _Memo) -> bool:
    if a == b:
        return True
    return _isnan(a) and _isnan(b)


def _isnan(x: Any) -> bool:
    if isinstance(x, complex):
        return math.isnan(x.real) or math.isnan(x.imag)
    return math.isnan(x)


def _is_sequence(obj: Any) -> bool:
    return isinstance(obj, (list, tuple))


def _equal_sequence(a: Any, b: Any, memo: _Memo) -> bool:
    return len(a) == len(b) and all(_equal(x, y, memo) for x, y in zip(a, b)) and _equal_extra_state(a, b, memo)


def _is_mapping(obj: Any) -> bool:
    return isinstance(obj, dict) or isinstance(obj, types.MappingProxyType)


def _without_timing(mapping: Any) -> Any:
    """A ``cross_validate`` result without its wall-clock ``fit_time`` and ``score_time``, and a
    search's ``cv_results_`` (held under a name of the user's) without its fit and score times."""
    if isinstance(mapping, dict):
        for timing in (_TIMING_RESULT_KEYS, _TIMING_CV_KEYS):
            if timing <= mapping.keys():
                return {k: v for k, v in mapping.items() if k not in timing}
    return mapping


def _equal_mapping(a: Any, b: Any, memo: _Memo) -> bool:
    a, b = _without_timing(a), _without_timing(b)
    if len(a) != len(b):
        return False
    try:
        keys_match = set(a) == set(b)
    except TypeError:
        return False
    if not keys_match:
        return False
    return all(_equal(a[k], b[k], memo) for k in a) and _equal_extra_state(a, b, memo)


def _equal_extra_state(a: Any, b: Any, memo: _Memo) -> bool:
    """Subclasses of builtin containers (Bunch, namedtuple with attributes) may carry a __dict__."""
    da, db = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    if da is None and db is None:
        return True
    return isinstance(da, dict) and isinstance(db, dict) and _equal_mapping(da, db, memo)


def _is_set(obj: Any) -> bool:
    return isinstance(obj, (set, frozenset))


def _equal_set(a: Any, b: Any, memo: _Memo) -> bool:
    if len(a) != len(b):
        return False
    try:
        if a == b:
            return True
    except Exception:
        pass
    if len(a) > 200:  # matching element by element is quadratic; == already said no
        return False
    remaining = list(b)
    for x in a:
        match = next((i for i, y in enumerate(remaining) if _equal(x, y, memo)), None)
        if match is None:
            return False
        remaining.pop(match)
    return True


def _is_module(obj: Any) -> bool:
    return isinstance(obj, types.ModuleType)


def _equal_module(a: Any, b: Any, memo: _Memo) -> bool:
    return a.__name__ == b.__name__


def _is_named_code(obj: Any) -> bool:
    return isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType))


def _equal_named_code(a: Any, b: Any, memo: _Memo) -> bool:
    return _name_of(a) == _name_of(b)


def _is_method(obj: Any) -> bool:
    return isinstance(obj, types.MethodType)


def _equal_method(a: Any, b: Any, memo: _Memo) -> bool:
    return _equal(a.__func__, b.__func__, memo) and _equal(a.__self__, b.__self__, memo)


def _is_partial(obj: Any) -> bool:
    return isinstance(obj, functools.partial)


def _equal_partial(a: Any, b: Any, memo: _Memo) -> bool:
    return (
        _equal(a.func, b.func, memo)
        and _equal(a.args, b.args, memo)
        and _equal(a.keywords, b.keywords, memo)
    )


def _is_nat_like(obj: Any) -> bool:
    pd = _module("pandas")
    return pd is not None and (obj is pd.NaT or obj is pd.NA)


def _equal_singleton(a: Any, b: Any, memo: _Memo) -> bool:
    return a is b


# Order matters: the first matching predicate decides.
_HANDLERS: list[tuple[Callable[[Any], bool], Callable[[Any, Any, _Memo], bool]]] = [
    (_is_nat_like, _equal_singleton),
    (_is_pandas, _equal_pandas),
    (_is_extension_array, _equal_extension_array),
    (_is_ndarray, _equal_ndarray),
    (_is_numpy_scalar, _equal_numpy_scalar),
    (_is_estimator, _equal_estimator),
    (_is_float, _equal_float),
    (_is_sequence, _equal_sequence),
    (_is_mapping, _equal_mapping),
    (_is_set, _equal_set),
    (_is_module, _equal_module),
    (_is_named_code, _equal_named_code),
    (_is_method, _equal_method),
    (_is_partial, _equal_partial),
]


# --------------------------------------------------------------------------- other objects


def _equal_generic(a: Any, b: Any, memo: _Memo) -> bool:
    """``==`` when the type defines it and answers a bool, else the objects' state, else repr."""
    if type(a).__eq__ is not object.__eq__:
        verdict = _try_eq(a, b)
        if verdict is True:
            return True
        if verdict is False and type(a) is type(b):
            return False
        # Same-named classes from two executions: a generated __eq__ (dataclasses) refuses
        # the "foreign" class, so fall through to comparing state.
    state = _state(a)
    if state is not None:
        other = _state(b)
        return other is not None and _equal(state, other, memo)
    return _ADDRESS.sub("", _safe_repr(a)) == _ADDRESS.sub("", _safe_repr(b))


def _try_eq(a: Any, b: Any) -> bool | None:
    try:
        result = a == b
    except Exception:
        return None
    return result if isinstance(result, bool) else None


def _state(obj: Any) -> Any:
    """vars() for ordinary objects; the pickle state for extension types (sklearn trees, RNGs)."""
    try:
        if isinstance(getattr(obj, "__dict__", None), dict) and not hasattr(type(obj), "__slots__"):
            return dict(vars(obj))
        reduced = obj.__reduce_ex__(4)
    except Exception:
        return None
    if isinstance(reduced, str) or not isinstance(reduced, tuple):
        return None
    # (callable, args, state, listitems, dictitems): compare all but the iterators' identity.
    parts = list(reduced[:3])
    if len(reduced) > 3:
        parts.extend(list(it) if it is not None else None for it in reduced[3:5])
    return tuple(parts)


# --------------------------------------------------------------------------- messages


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"


def _short_repr(obj: Any, limit: int = _REPR_LIMIT) -> str:
    """A one-line repr cut to ``limit`` characters; frames and arrays get a summary."""
    summary = _summary(obj)
    if summary is not None:
        return summary
    text = " ".join(_safe_repr(obj).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(obj: Any) -> str | None:
    pd, np = _module("pandas"), _module("numpy")
    try:
        if pd is not None and isinstance(obj, pd.DataFrame):
            return f"<DataFrame {obj.shape[0]}x{obj.shape[1]}>"
        if pd is not None and isinstance(obj, (pd.Series, pd.Index)):
            return f"<{type(obj).__name__} len={len(obj)} dtype={obj.dtype}>"
        if np is not None and isinstance(obj, np.ndarray) and obj.size > 6:
            return f"<ndarray shape={obj.shape} dtype={obj.dtype}>"
    except Exception:
        return None
    return None


def _explain(a: Any, b: Any, depth: int) -> str:
    """Walk into the first difference (bounded depth) and describe it in one line."""
    plain = f"{_short_repr(a)} != {_short_repr(b)}"
    if not _types_equal(type(a), type(b)):
        return f"type {type(a).__name__} != {type(b).__name__}"
    if depth > 4:
        return plain
    if _is_pandas(a):
        message = _pandas_assertion(a, b) or ""
        text = " ".join(" ".join(message.splitlines()[:4]).split())
        return f"{_short_repr(a)}: {text[:160]}" if text else plain
    if _is_ndarray(a) and (a.shape != b.shape or a.dtype != b.dtype):
        return f"shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype}"
    if _is_estimator(a):
        reason = _estimator_difference(a, b, set())
        return f"{type(a).__name__}: {reason}" if reason else plain
    if _is_mapping(a):
        a, b = _without_timing(a), _without_timing(b)
        for key in sorted(set(a) | set(b), key=repr):
            if key not in a or key not in b:
                return f"key {key!r} present on only one side"
            if not values_equal(a[key], b[key]):
                return f"[{key!r}] {_explain(a[key], b[key], depth + 1)}"
        return plain
    if _is_sequence(a):
        if len(a) != len(b):
            return f"length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if not values_equal(x, y):
                return f"[{i}] {_explain(x, y, depth + 1)}"
    return plain
