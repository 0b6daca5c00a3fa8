"""Fold-level, scikit-learn-aware sharing inside model selection.

Agent candidates spend their time inside single calls — ``cross_val_score``, ``cross_validate``,
``cross_val_predict``, ``GridSearchCV(...).fit``, a ``for tr, va in cv.split(X):`` loop fitting
a Pipeline — that differ between candidates only in the final model or one parameter. All of
them fit a Pipeline's prefix steps through one function, ``sklearn.pipeline._fit_transform_one``
(the hook scikit-learn's own ``Pipeline(memory=...)`` caches). While a run is active, that
function is replaced in the executing process — recognition by the object actually called, not
by the names in the cell — by one that memoizes a prefix step's fit+transform in the run's
:class:`~.folds.FoldStore`, keyed by

- the estimator's class, ``get_params(deep=True)`` (values digested exactly: floats by repr,
  arrays by content), its output configuration and scikit-learn's global configuration;
- the content fingerprint of ``X`` and ``y`` (:func:`.folds.fingerprint`: a fold's training rows,
  a grid point's, the full data of a refit) and the step's weight.

``random_state=None`` is shared only when the fit did not draw from the global RNGs (numpy's and
``random``'s state are the same after it as before): the solvers of Ridge, LogisticRegression
(lbfgs) or PCA (full SVD) never draw, and then the result is a function of the key; a fit that
drew (coordinate descent's seed, a randomized SVD) is not kept, and every caller computes it, so
the global RNG advances in each pipeline as in plain execution.

Candidates and grid points whose pipelines share a prefix step on the same fold therefore fit it
once — inside one search, across the cells of the batch, and across worker processes.

Exactness: scikit-learn's own code runs everything else (cloning, splitting, RNG use, scoring,
``error_score``, ``cv_results_``, ``estimators_``), so only the memoized fit is replaced, and a
reused result is exactly the computed one: the fitted attributes are set on the caller's own
transformer object (objects it shares with its parameters, such as the column lists of a
ColumnTransformer, stay shared), the transformed data is a fresh copy, and the warnings the fit
raised are raised again through the current filters. Whatever cannot be shown to be exact runs
scikit-learn unchanged: estimators not from scikit-learn, ``FunctionTransformer``, parameters
that are functions from elsewhere or objects of unknown kinds, a RandomState as ``random_state``
(the fit would draw from an object the caller keeps), ``n_jobs`` other than None/1, ``verbose``,
``warm_start``, routed fit parameters, an ``error`` warnings filter, data that cannot be
fingerprinted, and Pipeline/FeatureUnion units (their fit changes their parameters: their own
steps are memoized instead).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
import time
import types
import warnings
import weakref
from collections.abc import Mapping

import numpy as np

from . import transfer
from .folds import FoldStore, NotFingerprintable, fingerprint

#: Instance attributes that are configuration, not fit results (``clone`` copies them).
_CONFIG_ATTRIBUTES = frozenset({"_sklearn_output_config", "_metadata_request"})
#: Attributes scikit-learn sets on a sub-estimator only while its parent fits it (the callback
#: context of the parent's task tree): not fit results, never stored, never removed.
_TRANSIENT_ATTRIBUTES = frozenset({"_parent_callback_ctx"})
#: Units whose fit changes their parameters in place, or runs the user's code.
_NOT_SHARED = frozenset({"Pipeline", "FeatureUnion", "FunctionTransformer"})
#: Classes that reset every fitted attribute when fitted again: a refit of one (the same object
#: fitted on fold after fold in a hand-written loop) ends in the state of a fresh fit.
_REFIT_RESETS = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer", "SimpleImputer",
    "OneHotEncoder", "OrdinalEncoder", "PolynomialFeatures", "ColumnTransformer", "CountVectorizer",
    "TfidfVectorizer", "TfidfTransformer", "VarianceThreshold",
})
_LIBRARIES = ("sklearn.", "numpy", "scipy.")
#: Objects with no identity worth keeping (never written as references to a parameter).
_VALUE_TYPES = (int, float, complex, str, bytes, bool, type(None))

#: What a fold node's events did, for ``%stratum explain``.
PREFIX, MODEL = "fit+transform", "fit"

_COMPLEX_WARNING = getattr(getattr(np, "exceptions", np), "ComplexWarning", Warning)
_lock = threading.Lock()
_nested = threading.local()  # depth of prefix fits being computed on this thread
_original_split = None  # sklearn.model_selection._validation._safe_split
_local = threading.local()  # per thread: .base and .derived fingerprints of the current statement
#: Transformers holding a shared fit's state: instance → (fit key, spec, label, its attributes).
_fitted: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: Methods routed through this module: (class, "transform" or "fit") → the class's own function.
_originals: dict[tuple[type, str], types.FunctionType] = {}
_original = None  # sklearn.pipeline._fit_transform_one as scikit-learn defines it
_store: FoldStore | None = None
_module_by_file: dict[str, types.ModuleType | None] = {}


class _Unsafe(Exception):
    """The fit cannot be shown to be reproducible from its key: scikit-learn runs it."""


# -- activation --------------------------------------------------------------------------------
def activate(directory: str | None) -> None:
    """Share fold nodes through the store in ``directory`` from now on (None: stop sharing).
    ``STRATUM_FOLDS=0`` in the environment turns sharing off (to measure or rule it out)."""
    global _store
    if os.environ.get("STRATUM_FOLDS", "1") == "0":
        directory = None
    with _lock:
        if directory is None:
            _store = None
        elif _store is None or str(_store.directory) != str(directory):
            _store = FoldStore(directory)
    if directory is not None:
        ensure_installed()


def active_store() -> FoldStore | None:
    """The store fold nodes go to now, if any."""
    return _store


def before_step(pipeline: str, step: int = -1) -> None:
    """Called before each step runs: while a store is active, make sure prefix fits go through
    it (the step may use scikit-learn loaded by an earlier one) and name the pipeline and the
    graph node this thread runs (fold events are recorded under them)."""
    store = _store
    _local.base, _local.derived = {}, {}  # fingerprints hold for one statement (data may change after)
    if store is not None:
        store.pipeline, store.step = pipeline, step
        ensure_installed()


def ensure_installed() -> None:
    """Route Pipeline prefix fits through :func:`_fit_transform_one` once scikit-learn's pipeline
    module is loaded, and the rows model selection splits off through :func:`_safe_split` once
    its module is. Cheap: called before every step."""
    _install_split()
    from . import fold_tasks

    fold_tasks.install()
    global _original
    module = sys.modules.get("sklearn.pipeline")
    current = getattr(module, "_fit_transform_one", None) if module is not None else None
    if current is None or current is _fit_transform_one or _original not in (None, current):
        return  # not loaded, done, or an unknown scikit-learn (or someone else's patch): leave it
    with _lock:
        if getattr(module, "_fit_transform_one", None) is current:
            _original = current
            module._fit_transform_one = _fit_transform_one


def _install_split() -> None:
    """Name the rows ``_fit_and_score`` splits off by where they came from (see :func:`_safe_split`)."""
    global _original_split
    module = sys.modules.get("sklearn.model_selection._validation")
    current = getattr(module, "_safe_split", None) if module is not None else None
    if current is None or current is _safe_split or _original_split not in (None, current):
        return
    with _lock:
        _original_split = current
        module._safe_split = _safe_split


def uninstall() -> None:
    """Give scikit-learn back its own function and stop sharing (the kernel, after a run)."""
    global _store
    with _lock:
        _store = None
        module = sys.modules.get("sklearn.pipeline")
        if module is not None and _original is not None and getattr(module, "_fit_transform_one", None) is _fit_transform_one:
            module._fit_transform_one = _original
        validation = sys.modules.get("sklearn.model_selection._validation")
        if validation is not None and getattr(validation, "_safe_split", None) is _safe_split:
            validation._safe_split = _original_split
        from . import fold_tasks

        fold_tasks.uninstall()
        for (cls, name), original in _originals.items():
            setattr(cls, name, original)
        _originals.clear()
        _fitted.clear()


# -- the memoized prefix fit -------------------------------------------------------------------
def _fit_transform_one(transformer, X, y, weight, message_clsname="", message=None, params=None):
    """``sklearn.pipeline._fit_transform_one``, with the fit shared through the fold store."""
    store, original = _store, _original or _own("sklearn.pipeline", "_fit_transform_one")
    if (
        store is None or nested() or message is not None
        or any(params.values() if params else ()) or errors_on_warnings()
    ):  # a step inside a step being computed (a Pipeline in a ColumnTransformer) goes with it
        return original(transformer, X, y, weight, message_clsname, message, params)
    try:
        spec, label, refs = _estimator_spec(transformer)
        key = _digest((spec, _fingerprint(X), _fingerprint(y), repr(weight)))
    except (_Unsafe, NotFingerprintable):
        return original(transformer, X, y, weight, message_clsname, message, params)

    def pack(result) -> object:
        Xt, fitted = result
        return (Xt, _fitted_state(transformer)) if fitted is transformer else None

    call = lambda: original(transformer, X, y, weight, message_clsname, message, params)  # noqa: E731
    result, payload, seconds, exact = _shared(store, key, call, pack, refs, f"{label} {PREFIX}")
    if payload is None:  # computed here
        store.record_event(key, spec_id(spec), label, "fit", seconds, PREFIX)
        if exact:  # else its state is this caller's alone: its transforms are not the key's
            _remember_fitted(result[1], key, spec, label)
            _derive(result[0], ("fit output", key))
        return result
    Xt, state = payload
    _set_fitted_state(transformer, state)
    store.record_event(key, spec_id(spec), label, "reuse", seconds, PREFIX)
    _remember_fitted(transformer, key, spec, label)
    _derive(Xt, ("fit output", key))  # the next step's fit need not digest it again
    return Xt, transformer


def _own(module: str, name: str):
    """scikit-learn's own function, in a process where ours was never installed: a joblib worker
    (``n_jobs=2`` inside a step) unpickles a reference to ours when a scikit-learn module bound it
    while it was installed (``sklearn.compose`` imported during a run binds ``_fit_transform_one``)."""
    import importlib

    return getattr(importlib.import_module(module), name)


def _shared(
    store: FoldStore, key: str, call, pack, refs: Mapping[str, object], group: str,
) -> tuple[object, object, float, bool]:
    """Run ``call()`` once per ``key`` in the run: ``(result, None, seconds, exact)`` when it ran
    here (``pack(result)`` is kept for the others, if worth it; ``exact``: it did not draw from
    the global RNGs, so the result is a function of ``key``), ``(None, payload, seconds, True)``
    with what another caller kept. Either way the warnings it raised are raised again here.
    ``group``: the kind of fit, whatever its parameters: fits of one class on one data set take
    about as long (:meth:`.folds.FoldStore.get_or_compute`)."""
    computed: list = []

    def compute() -> tuple[object, bytes | None]:
        start = time.perf_counter()
        caught: list = []
        rng_before = global_rng_state()
        try:
            with warnings.catch_warnings(record=True) as log:
                warnings.simplefilter("always")
                _nested.depth = getattr(_nested, "depth", 0) + 1
                try:
                    result = call()
                finally:
                    _nested.depth -= 1
                    caught = [(w.message, w.category, w.filename, w.lineno) for w in log]
        except BaseException:
            replay(caught)
            raise
        seconds = time.perf_counter() - start
        drew = not same_rng_state(rng_before, global_rng_state())
        computed.append((caught, seconds, not drew))
        if drew:
            return result, None  # every caller must draw too (see the module docstring)
        payload, data = pack(result), None
        if payload is not None:
            try:
                data = transfer.dumps((payload, caught), refs)
            except Exception:  # noqa: BLE001 - an unpicklable result is simply not shared
                data = None
            from .execution import worth_keeping

            if data is not None and not worth_keeping(seconds, len(data)):
                data = None
        return result, data

    start = time.perf_counter()
    result, data = store.get_or_compute(key, compute, group)
    if data is None:
        caught, seconds, exact = computed[0]
        replay(caught)
        return result, None, seconds, exact
    payload, caught = transfer.loads(data, refs)
    replay(caught)
    return None, payload, time.perf_counter() - start, True


def global_rng_state() -> tuple:
    """numpy's and ``random``'s global generator states (what ``random_state=None`` draws from)."""
    from .runtime.worker import rng_state  # (the worker imports this module)

    return rng_state()


def same_rng_state(before: tuple, after: tuple) -> bool:
    (kind, keys, pos, gauss, cached), python = before
    (kind2, keys2, pos2, gauss2, cached2), python2 = after
    return (kind, pos, gauss, cached) == (kind2, pos2, gauss2, cached2) and np.array_equal(keys, keys2) and python == python2


# -- the memoized transform of a shared fit ----------------------------------------------------
def _remember_fitted(transformer, key: str, spec: str, label: str) -> None:
    """Transforms by ``transformer`` (a Pipeline's predict, score, …) are shared while it keeps
    exactly the state this fit gave it: every attribute the same object (a refit, set_params or
    set_output replaces one)."""
    cls = type(transformer)
    if not _route(cls, "transform", _transform):
        return
    with _lock:
        try:
            _fitted[transformer] = (key, spec, label, _attributes(transformer))
        except TypeError:  # not weakly referenceable
            pass


def _attributes(transformer) -> dict[str, object]:
    return {k: v for k, v in vars(transformer).items() if k not in _TRANSIENT_ATTRIBUTES}


def _route(cls: type, name: str, router) -> bool:
    """Route ``cls.<name>(X, ...)`` through ``router(original, self, X, args, kwargs)`` (once per
    class; a class that inherits the method, or defines it as something else than a function, is
    left alone). ``__wrapped__`` keeps the original's signature visible to scikit-learn, which
    reads it (``has_fit_parameter``, metadata routing)."""
    if (cls, name) in _originals:
        return True
    original = cls.__dict__.get(name)
    if not isinstance(original, types.FunctionType):
        return False

    def routed(self, X, *args, **kwargs):
        return router(original, self, X, args, kwargs)

    routed.__wrapped__ = original  # type: ignore[attr-defined]
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(routed, attribute, getattr(original, attribute))
    with _lock:
        if (cls, name) not in _originals:
            _originals[cls, name] = original
            setattr(cls, name, routed)
    return True


def _transform(original, transformer, X, args: tuple, kwargs: dict):
    """``transformer.transform(X)``, shared through the fold store when the transformer holds a
    shared fit's state unchanged (see :func:`_remember_fitted`)."""
    store = _store
    entry = _fitted.get(transformer) if store is not None else None
    if entry is None or args or kwargs or nested() or errors_on_warnings():
        return original(transformer, X, *args, **kwargs)
    fit_key, spec, label, state = entry
    current = _attributes(transformer)
    if len(current) != len(state) or any(current.get(k) is not v for k, v in state.items()):
        return original(transformer, X, *args, **kwargs)
    try:
        from sklearn import get_config

        key = _digest((fit_key, "transform", _fingerprint(X), _describe(get_config(), 0)))
    except (_Unsafe, NotFingerprintable):
        return original(transformer, X, *args, **kwargs)
    result, payload, seconds, exact = _shared(store, key, lambda: original(transformer, X), lambda out: out, {},
                                              f"{label} transform")
    kind = "transform" if payload is None else "transform-reuse"
    store.record_event(key, spec_id(spec), label, kind, seconds, PREFIX)
    output = result if payload is None else payload
    if exact:
        _derive(output, ("transform output", key))
    return output


# -- the memoized fit of a model: a Pipeline's final step, or a bare estimator ----------------
def _route_model_fit(estimator) -> None:
    """Fits of the model ``estimator`` ends in (itself, or a Pipeline's last step) go through
    :func:`_fit` from now on: candidates and grid points fitting the same model with the same
    parameters on the same rows (a grid point two searches share, the same refit) fit it once."""
    model = final_step(estimator)
    cls = type(model)
    owner = next((c for c in cls.__mro__ if "fit" in c.__dict__), None)  # often a base class
    if (
        cls.__module__.startswith("sklearn.") and cls.__name__ not in _NOT_SHARED
        and owner is not None and owner.__module__.startswith("sklearn.")
        and (owner, "fit") not in _originals and not _holds_estimators(model)
    ):  # a search, an ensemble, a wrapper holds estimators: its fit is many fits, shared one by one
        _route(owner, "fit", _fit)


def _holds_estimators(model) -> bool:
    """Whether a parameter of ``model`` is an estimator (or a list of named ones): a
    meta-estimator — GridSearchCV, a stacking or voting ensemble, a wrapper. Memoized as one fit,
    its whole fit would run nested, so none of the fits inside it would be shared with others."""
    try:
        values = list(model.get_params(deep=False).values())
    except Exception:  # noqa: BLE001 - not a scikit-learn estimator: not routed anyway
        return False
    items = [item for v in values if isinstance(v, (list, tuple)) for item in v]
    pairs = [part for item in items if isinstance(item, tuple) for part in item]  # ("name", estimator)
    return any(hasattr(v, "fit") and not isinstance(v, type) for v in values + items + pairs)


def _fit(original, estimator, X, args: tuple, kwargs: dict):
    """``estimator.fit(X, y)``, shared through the fold store when its spec and data determine
    the result (:func:`_estimator_spec`); the caller's own object gets the fitted state."""
    store = _store
    if store is None or len(args) > 1 or kwargs or nested() or errors_on_warnings():
        return original(estimator, X, *args, **kwargs)
    y = args[0] if args else None
    try:
        spec, label, refs = _estimator_spec(estimator)
        key = _digest((spec, "model fit", _fingerprint(X), _fingerprint(y)))
    except (_Unsafe, NotFingerprintable):
        return original(estimator, X, *args)

    def pack(result) -> object:
        if result is not estimator:
            return None
        state = _fitted_state(estimator)
        # A model that keeps its training data (k-neighbours, kernel models) may keep the
        # caller's own array: another caller's fit would keep theirs, not a copy of this one.
        return None if _keeps_any(state, (X, y)) else state

    result, payload, seconds, _exact = _shared(store, key, lambda: original(estimator, X, *args), pack, refs,
                                               f"{label} {MODEL}")
    group = spec_id(spec + "\nmodel fit")  # apart from the same class fitted as a prefix step
    if payload is None:
        store.record_event(key, group, label, "fit", seconds, MODEL)
        return result
    _set_fitted_state(estimator, payload)
    store.record_event(key, group, label, "reuse", seconds, MODEL)
    return estimator


def spec_id(spec: str) -> str:
    """Short id of an estimator spec (same estimator, any data)."""
    return _digest(spec)[:16]


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:40]


def errors_on_warnings() -> bool:
    """A filter turning warnings into errors would stop the fit midway: not reproducible. (Not
    numpy's ComplexWarning, which scikit-learn's input validation turns into an error for a
    moment: with steps on threads, another thread's filters are seen too.)"""
    return any(f[0] == "error" and not issubclass(f[2], _COMPLEX_WARNING) for f in list(warnings.filters))


def _keeps_any(state: Mapping[str, object], data: tuple) -> bool:
    """Whether a fitted attribute (or an item of one, one level down) may share memory with
    the arrays behind ``data``."""
    bases = []
    for value in data:
        if hasattr(value, "tocsr"):  # a sparse matrix: its values
            value = value.data
        try:
            base = np.asarray(value) if value is not None else None  # a frame's block: a view
        except Exception:  # noqa: BLE001 - not array-like: nothing it could share
            base = None
        if base is not None and base.dtype != object:
            bases.append(base)
    values = list(state.values())
    values += [item for v in state.values() if type(v) in (list, tuple) for item in v]
    values += [getattr(v, "data", None) for v in values if hasattr(v, "tocsr")]  # sparse matrices
    return any(isinstance(v, np.ndarray) and np.may_share_memory(v, base) for v in values for base in bases)


# -- fingerprints of fold data -----------------------------------------------------------------
def _safe_split(estimator, X, y, indices, train_indices=None):
    """``sklearn.utils.metaestimators._safe_split`` as ``_fit_and_score`` calls it; the rows it
    returns are named by the data they come from and the indices (content fingerprints of the
    whole data, taken once per statement), so the fits and transforms keyed by them need not
    digest every fold's rows again. A name is used once: by the first fit or transform of those
    rows, before anything else can change them."""
    original = _original_split or _own("sklearn.model_selection._validation", "_safe_split")
    X_sub, y_sub = original(estimator, X, y, indices, train_indices)
    if _store is None or nested():
        return X_sub, y_sub
    if train_indices is None:  # the training rows: the model is fitted next
        _route_model_fit(estimator)
    try:
        from sklearn.utils._tags import get_tags

        where = (_index_digest(indices), _index_digest(train_indices), bool(get_tags(estimator).input_tags.pairwise))
        _derive(X_sub, ("split", _base_fingerprint(X), where))
        if y is not None:
            _derive(y_sub, ("split", _base_fingerprint(y), where[0]))
    except (NotFingerprintable, TypeError, AttributeError, ImportError):
        pass
    return X_sub, y_sub


def _index_digest(indices) -> str | None:
    if indices is None:
        return None
    array = np.asarray(indices)
    return f"{array.dtype.str}{array.shape}:" + hashlib.sha1(np.ascontiguousarray(array).data).hexdigest()


def _base_fingerprint(value) -> str:
    """The content fingerprint of ``value``, computed once per statement and thread."""
    cache = getattr(_local, "base", None)
    if cache is None:
        return fingerprint(value)
    hit = cache.get(id(value))
    if hit is not None and hit[0]() is value:
        return hit[1]
    digest = fingerprint(value)
    try:
        cache[id(value)] = (weakref.ref(value), digest)
    except TypeError:  # not weakly referenceable: digested each time
        pass
    return digest


def _derive(value, origin: tuple) -> None:
    """Name ``value`` by ``origin`` (where its content comes from) for its first fingerprint."""
    derived = getattr(_local, "derived", None)
    if derived is not None:
        try:
            derived[id(value)] = (weakref.ref(value), "derived:" + _digest(origin))
        except TypeError:  # not weakly referenceable: digested when used
            pass


def _fingerprint(value) -> str:
    """The name :func:`_safe_split` gave ``value`` (once), else its content fingerprint."""
    derived = getattr(_local, "derived", None)
    if derived:
        entry = derived.pop(id(value), None)
        if entry is not None and entry[0]() is value:
            return entry[1]
    return fingerprint(value)


# -- what determines a fit ---------------------------------------------------------------------
def _estimator_spec(transformer) -> tuple[str, str, dict[str, object]]:
    """(spec, label, parameter objects by path) of a transformer whose fit is a function of its
    spec and its data; raises _Unsafe otherwise."""
    cls = type(transformer)
    _check_class(cls, unit=True)
    from sklearn import get_config

    params = transformer.get_params(deep=True)
    names = set(_param_names(type(transformer)))
    extra = set(vars(transformer)) - names - _CONFIG_ATTRIBUTES - _TRANSIENT_ATTRIBUTES
    if extra and cls.__name__ not in _REFIT_RESETS:
        raise _Unsafe(f"{cls.__name__} was fitted before")
    if "_metadata_request" in vars(transformer):
        raise _Unsafe("metadata requests set")
    parent = getattr(transformer, "_parent_callback_ctx", None)
    if getattr(transformer, "_skl_callbacks", None) or getattr(parent, "_callbacks", None):
        raise _Unsafe("callbacks run during the fit")
    parts = [f"{cls.__module__}.{cls.__qualname__}"]
    classes: list[str] = []
    for name in sorted(params):
        value = params[name]
        _check_parameter(name.rsplit("__", 1)[-1], value)
        parts.append(f"{name}={_describe(value, 0)}")
    for value in params.values():  # nested estimators, in the order the transformer lists them
        if hasattr(value, "get_params") and hasattr(value, "fit"):
            _check_class(type(value), unit=False)
            if type(value).__name__ not in ("Pipeline", "ColumnTransformer", "FeatureUnion"):
                classes.append(type(value).__name__)
    parts.append(f"output={_describe(getattr(transformer, '_sklearn_output_config', None), 0)}")
    parts.append(f"config={_describe(get_config(), 0)}")
    label = cls.__name__ + (f"({', '.join(dict.fromkeys(classes))})" if classes else "")
    return "\n".join(parts), label, _parameter_objects(transformer, names)


@functools.lru_cache(maxsize=None)
def _param_names(cls: type) -> tuple[str, ...]:
    """An estimator class's parameter names (scikit-learn reads its ``__init__`` signature
    again on every call)."""
    return tuple(cls._get_param_names())


def _check_parameter(leaf: str, value: object) -> None:
    """Raise _Unsafe for a parameter (``leaf``: its name in its own estimator) under which a fit
    is not a function of the estimator's spec and its data."""
    if leaf == "random_state" and not isinstance(value, (int, np.integer, type(None))):
        raise _Unsafe("random_state is a RandomState")  # its state lives on in the caller's object
    if leaf == "n_jobs" and value not in (None, 1):
        raise _Unsafe("n_jobs")
    if leaf in ("verbose", "warm_start") and value:
        raise _Unsafe(leaf)
    if leaf in ("copy", "copy_X") and value is False:
        raise _Unsafe(f"{leaf}=False: the fit may write into the caller's data")
    if leaf == "memory" and value is not None:
        raise _Unsafe("a Pipeline's memory writes files")


def check_movable(estimator) -> None:
    """Raise _Unsafe unless fitting and scoring a clone of ``estimator`` (a Pipeline or any of
    scikit-learn's estimators) in another process gives what it gives here: scikit-learn's
    classes throughout, every parameter under the rules of the fold keys (see :mod:`.fold_tasks`)."""
    _check_class(type(estimator), unit=False)
    for name, value in estimator.get_params(deep=True).items():
        leaf = name.rsplit("__", 1)[-1]
        if hasattr(value, "get_params") and hasattr(value, "fit"):
            # its own parameters are in this deep listing already (as ``name__parameter``):
            # walking them again from each nesting level cost a search 3 ms per task
            _check_parameter(leaf, value)
            _check_class(type(value), unit=False)
        else:
            check_movable_value(value, leaf)


def check_movable_value(value: object, leaf: str = "") -> None:
    """Raise _Unsafe unless ``value`` (a parameter named ``leaf``, or a grid point's value) is
    plain data, a library function or one of scikit-learn's estimators."""
    _check_parameter(leaf, value)
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        check_movable(value)
    else:
        _describe(value, 0)


def check_scorer(scorer) -> None:
    """Raise _Unsafe unless ``scorer`` is one of scikit-learn's scorers of its own metrics (a
    function of the user's own may print or write)."""
    if not type(scorer).__module__.startswith("sklearn."):
        raise _Unsafe(f"scorer {type(scorer).__qualname__}")
    for inner in (getattr(scorer, "_scorers", None) or {}).values():  # several metrics at once
        check_scorer(inner)
    function = getattr(scorer, "_score_func", None)
    if function is not None:
        _describe(function, 0)
    _describe(dict(getattr(scorer, "_kwargs", None) or {}), 0)


def final_step(estimator):
    """The model a Pipeline (nested or not) ends in; any other estimator itself."""
    model = estimator
    while type(model).__name__ == "Pipeline" and getattr(model, "steps", None):
        model = model.steps[-1][1]
    return model


def nested() -> bool:
    """Whether this thread computes a shared fit now (work inside it goes with it)."""
    return bool(getattr(_nested, "depth", 0))


def _check_class(cls: type, unit: bool) -> None:
    if not cls.__module__.startswith("sklearn."):
        raise _Unsafe(f"{cls.__qualname__} is not scikit-learn's")
    if cls.__name__ == "FunctionTransformer" or (unit and cls.__name__ in _NOT_SHARED):
        raise _Unsafe(f"{cls.__name__} is not shared as a unit")


def _describe(value: object, depth: int) -> str:
    """An exact, repr-safe description of a parameter value; raises _Unsafe for unknown kinds."""
    if depth > 8:
        raise _Unsafe("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes, complex):
        return f"{kind.__name__}:{value!r}"
    if isinstance(value, np.generic):
        return f"{value.dtype}:{value!r}"
    if isinstance(value, np.dtype):
        return f"dtype:{value.str}"
    if isinstance(value, type):
        if not (value.__module__.startswith(_LIBRARIES) or value.__module__ == "builtins"):
            raise _Unsafe(f"class {value.__qualname__} from {value.__module__}")
        return f"type:{value.__module__}.{value.__qualname__}"
    if kind in (list, tuple):
        return f"{kind.__name__}[{','.join(_describe(v, depth + 1) for v in value)}]"
    if kind is dict:
        if not all(isinstance(k, str) for k in value):
            raise _Unsafe("a dict with keys that are not strings")
        return "dict{" + ",".join(f"{k!r}:{_describe(value[k], depth + 1)}" for k in sorted(value)) + "}"
    if kind is np.ndarray:
        return f"array:{fingerprint(value)}"
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        return f"estimator:{kind.__module__}.{kind.__qualname__}"  # its parameters are listed too
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
        module = getattr(value, "__module__", None) or ""
        if isinstance(value, np.ufunc) or module.startswith(_LIBRARIES):
            return f"function:{module}.{getattr(value, '__qualname__', value.__name__)}"
        raise _Unsafe(f"a function from {module or 'unknown code'}")
    raise _Unsafe(f"a parameter of type {kind.__qualname__}")


def _parameter_objects(transformer, names: set[str]) -> dict[str, object]:
    """Objects reachable from the transformer's own parameters (through lists, tuples, dicts), by
    path: fitted attributes that share them are stored as references and rebound to the reusing
    transformer's own objects (a ColumnTransformer's ``transformers_`` holds its column lists)."""
    found: dict[str, object] = {}
    seen: set[int] = set()

    def walk(value: object, path: str, depth: int) -> None:
        if isinstance(value, _VALUE_TYPES) or id(value) in seen or depth > 4:
            return
        seen.add(id(value))
        found[path] = value
        if type(value) in (list, tuple):
            for i, item in enumerate(value):
                walk(item, f"{path}/{i}", depth + 1)
        elif type(value) is dict:
            for k, item in value.items():
                walk(item, f"{path}/{k!r}", depth + 1)

    current = vars(transformer)
    for name in sorted(names):
        if name in current:
            walk(current[name], name, 0)
    return found


def _fitted_state(transformer) -> dict[str, object]:
    """What fitting set on the transformer: every attribute that is not a parameter."""
    names = set(_param_names(type(transformer)))
    return {k: v for k, v in vars(transformer).items() if k not in names and k not in _TRANSIENT_ATTRIBUTES}


def _set_fitted_state(transformer, state: Mapping[str, object]) -> None:
    """Give ``transformer`` the state a fit of its spec on the same data leaves: its parameters
    (its own objects) and configuration stay, earlier fit results go, ``state`` comes in."""
    names = set(_param_names(type(transformer)))
    current = vars(transformer)
    kept = names | _CONFIG_ATTRIBUTES | _TRANSIENT_ATTRIBUTES
    for name in [k for k in current if k not in kept]:
        del current[name]
    current.update(state)


# -- warnings ----------------------------------------------------------------------------------
def replay(caught: list) -> None:
    """Raise recorded warnings again, from where they came from, through the current filters and
    the registry of the module that raised them (so "default" shows each once, as it would)."""
    for message, category, filename, lineno in caught:
        module = _module_of(filename)
        namespace = vars(module) if module is not None else {}
        registry = namespace.setdefault("__warningregistry__", {}) if module is not None else None
        warnings.warn_explicit(
            message, category, filename, lineno, module=namespace.get("__name__"), registry=registry,
            module_globals=namespace or None,
        )


def _module_of(filename: str) -> types.ModuleType | None:
    if filename not in _module_by_file:
        found = None
        for module in list(sys.modules.values()):
            if getattr(module, "__file__", None) == filename:
                found = module
                break
        _module_by_file[filename] = found
    return _module_by_file[filename]


__all__ = [
    "activate", "active_store", "before_step", "check_movable", "check_movable_value", "check_scorer",
    "ensure_installed", "errors_on_warnings", "final_step", "global_rng_state", "nested", "replay", "same_rng_state", "spec_id",
    "uninstall",
]
