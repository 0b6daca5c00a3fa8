"""Copies that keep one pipeline's in-place changes away from every other pipeline."""

from __future__ import annotations

import copy
import copyreg
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

from .transfer import copy_parent, is_frame, reduce_bunch, set_copy_parent

_ATOMIC = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, types.MethodType)


def isolate(values: dict[str, object]) -> dict[str, object]:
    """Deep-copy a group of values together, so names that shared an object still share its copy.

    Modules, functions and classes are shared as they are. A value that cannot be copied
    (a generator, an open file) is shared too: there is no faithful copy of it.
    """
    memo: dict[int, object] = {}
    for value in values.values():
        _remember_atomic(value, memo)
        if _copy_on_write() and is_frame(value):
            # Under copy-on-write a shallow copy is already independent of the original.
            memo[id(value)] = value.copy(deep=False)
    copies = {}
    with _bunches_keep_attributes():
        for name, value in values.items():
            try:
                copies[name] = copy.deepcopy(value, memo)
            except Exception:  # noqa: BLE001 - uncopyable objects stay shared
                copies[name] = value
    for name, value in values.items():  # a frame taken from another keeps that link (pandas 2.x)
        parent = copy_parent(value)
        if parent is not None and copies[name] is not value and copy_parent(copies[name]) is None:
            set_copy_parent(copies[name], memo.get(id(parent), parent))
    return copies


@contextmanager
def _bunches_keep_attributes() -> Iterator[None]:
    """A deep copy of a scikit-learn ``Bunch`` (``load_iris()``, ``named_estimators_``) keeps
    its attributes while copying here, as it does when it travels (:func:`.transfer.reduce_bunch`)."""
    module = sys.modules.get("sklearn.utils._bunch")
    cls = getattr(module, "Bunch", None)
    if cls is None or cls in copyreg.dispatch_table:
        yield
        return
    copyreg.dispatch_table[cls] = reduce_bunch
    try:
        yield
    finally:
        copyreg.dispatch_table.pop(cls, None)


def _copy_on_write() -> bool:
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


def _remember_atomic(value: object, memo: dict[int, object]) -> None:
    if isinstance(value, _ATOMIC):
        memo[id(value)] = value
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            if isinstance(item, _ATOMIC):
                memo[id(item)] = item
    elif isinstance(value, dict):
        for item in value.values():
            if isinstance(item, _ATOMIC):
                memo[id(item)] = item
