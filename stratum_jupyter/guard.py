"""The run-time guard: a missed effect is detected where it happens and made harmless.

The effect analysis (:mod:`.capture`, :mod:`.effects`) decides which steps may change which values;
sharing is only as safe as it. So after a step runs, the values it read that another pipeline or
a reused step still observes (``Node.guarded``, decided by the graph) are checked unchanged with
cheap structural fingerprints taken before and after: the object bound to the name, buffer
addresses, shapes, strides, dtypes and flags of arrays, the arrays of a frame and its axes,
lengths and element identities of containers, ``__dict__`` keys and values of objects, RNG and
iterator positions, and a content hash of small buffers (a sample of large ones).

A change the analysis did not declare is a *violation*: later reuses of the step or of what it
read run the code themselves instead, and after the run the isolated pipelines that could have
seen it are run again without sharing (:meth:`stratum_jupyter.Batch.run`), so results equal plain
execution; the run's stats, summary line and JSON report say so.
"""

from __future__ import annotations

import ctypes
import hashlib
import types
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Buffers up to this size are hashed whole; larger ones through an evenly spaced sample.
HASH_WHOLE_BYTES = 1 << 16
SAMPLE_ITEMS = 2048
#: How deep containers and object attributes are followed.
DEPTH = 3
#: Containers with more elements are described by their length and a sample of their elements.
ELEMENTS = 64

_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), types.ModuleType, types.FunctionType,
              types.BuiltinFunctionType, type, range)


@dataclass(frozen=True)
class Violation:
    """Values a step changed though the analysis said it would not."""

    node: int
    pipeline: str
    line: int
    names: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.pipeline} line {self.line} changed {', '.join(self.names)}"


def snapshot(namespace: Mapping[str, object], names: frozenset[str] | list[str]) -> dict[str, tuple[object, tuple]]:
    """The objects bound to ``names`` now, with their fingerprints (unbound names are left out)."""
    return {name: (namespace[name], fingerprint(namespace[name])) for name in names if name in namespace}


def changed(namespace: Mapping[str, object], before: dict[str, tuple[object, tuple]], rebound: frozenset[str] | list[str]) -> list[str]:
    """Names whose object changed in place since ``before``, or that were bound to another object
    though not among the names the step was expected to bind (``rebound``); sorted."""
    return sorted(
        name for name, (value, print_before) in before.items()
        if (name not in rebound and namespace.get(name, _MISSING) is not value) or fingerprint(value) != print_before
    )


_MISSING = object()


def fingerprint(value: object, depth: int = DEPTH) -> tuple:
    """A structural fingerprint of ``value``: equal before and after a step that left it alone."""
    if isinstance(value, _IMMUTABLE):
        return ()
    try:
        return _fingerprint(value, depth)
    except Exception:  # noqa: BLE001 - an object that cannot be inspected is described by identity
        return (type(value).__name__, id(value))


def _fingerprint(value: object, depth: int) -> tuple:
    if isinstance(value, np.ndarray):
        return _array(value)
    kind = type(value)
    module = kind.__module__
    if module.split(".")[0] == "pandas":  # DataFrame and Series say "pandas", not "pandas.core…"
        frame = _pandas(value, depth)
        if frame is not None:
            return frame
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value) if len(value) <= ELEMENTS else list(value)[:: max(1, len(value) // ELEMENTS)]
        return (kind.__name__, len(value), tuple(_element(v, depth) for v in items))
    if isinstance(value, dict):
        keys = list(value)
        picked = keys if len(keys) <= ELEMENTS else keys[:: max(1, len(keys) // ELEMENTS)]
        return ("dict", len(keys), tuple((_element(k, 0), _element(value[k], depth)) for k in picked))
    if isinstance(value, types.GeneratorType):
        frame = value.gi_frame
        return ("generator", frame.f_lasti if frame is not None else -1)
    state = _rng_state(value)
    if state is not None:
        return state
    if hasattr(kind, "__next__") and hasattr(value, "__reduce__"):  # list/range/dict iterators: their position
        try:
            return ("iterator", repr(value.__reduce__()[2:]))
        except Exception:  # noqa: BLE001
            pass
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return (kind.__name__, tuple((k, _element(v, depth)) for k, v in list(attributes.items())[: ELEMENTS * 4]))
    return (kind.__name__,)


def _element(value: object, depth: int) -> object:
    """A contained value: by identity, and by structure while depth remains."""
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    if depth <= 0:
        return id(value)
    return (id(value), fingerprint(value, depth - 1))


def _array(array: np.ndarray) -> tuple:
    interface = array.__array_interface__
    description = (interface["data"][0], array.shape, array.strides, array.dtype.str, array.flags.writeable)
    if array.dtype.hasobject:
        flat = array.ravel()
        step = max(1, flat.size // SAMPLE_ITEMS)
        return (*description, _identities(np.ascontiguousarray(flat[::step])))
    if array.nbytes <= HASH_WHOLE_BYTES:
        data = np.ascontiguousarray(array)
    else:
        flat = array.reshape(-1) if array.flags.c_contiguous else array.ravel()
        data = np.ascontiguousarray(flat[:: max(1, flat.size // SAMPLE_ITEMS)])
    return (*description, hashlib.blake2b(data.view(np.uint8), digest_size=8).digest())


def _identities(objects: np.ndarray) -> bytes:
    """Digest of the identities of a contiguous object array's elements: its buffer holds their
    addresses, which are what ``id`` gives (CPython), read in one go instead of per element."""
    if not objects.size:
        return b""
    pointers = (ctypes.c_void_p * objects.size).from_address(objects.__array_interface__["data"][0])
    return hashlib.blake2b(memoryview(pointers).cast("B"), digest_size=16).digest()


def _pandas(value: object, depth: int) -> tuple | None:
    """Frames and series: their arrays (addresses, shapes, content) and axes; an index: its values
    (lookups fill its ``_cache``, no change); None for other pandas objects."""
    import pandas as pd  # only reached for pandas objects: pandas is imported

    if isinstance(value, pd.Index):
        return _axis(value)
    manager = getattr(value, "_mgr", None)
    if manager is None:
        return None
    if hasattr(value, "columns"):
        arrays = list(manager.arrays)
        axes = (_axis(value.columns), _axis(value.index))  # type: ignore[attr-defined]
    else:
        arrays = [manager.array]
        axes = (_axis(value.index), _element(getattr(value, "name", None), 0))  # type: ignore[attr-defined]
    return (type(value).__name__, axes, tuple(_array(a) if isinstance(a, np.ndarray) else _extension(a) for a in arrays))


def _axis(index: object) -> tuple:
    values = getattr(index, "_values", None)
    inner = _array(values) if isinstance(values, np.ndarray) else _extension(values)
    return (id(index), len(index), inner)  # type: ignore[arg-type]


def _extension(array: object) -> tuple:
    """Extension arrays (strings, categoricals, nullable): their own buffers where they expose them."""
    buffers = []
    for attribute in ("_ndarray", "_data", "_mask", "_codes"):
        inner = getattr(array, attribute, None)
        if isinstance(inner, np.ndarray):
            buffers.append(_array(inner))
        elif inner is not None:
            buffers.append(id(inner))
    return (type(array).__name__, id(array), len(array), tuple(buffers))  # type: ignore[arg-type]


def _rng_state(value: object) -> tuple | None:
    """Random generators change on every draw: their state (hashed) is their fingerprint."""
    import random

    if isinstance(value, random.Random):
        return ("random", hash(value.getstate()))
    if type(value).__module__.startswith("numpy.random"):
        if isinstance(value, np.random.Generator):
            return ("generator", repr(value.bit_generator.state))
        if isinstance(value, np.random.RandomState):
            state = value.get_state()
            return ("randomstate", hashlib.blake2b(state[1].tobytes(), digest_size=8).digest(), state[2])
    return None
