"""Moving values between the kernel and worker processes.

Values travel as cloudpickle (protocol 5), so functions and classes defined in cells go by value.
Identity survives the trip where sequential execution would observe it: when a step's outputs
are pickled, an object that is also the value of one of the step's inputs is written as a
reference to that input's *version*; the consumer, which read the same versions (that is why it
reuses the step), resolves it to its own object. ``a = df`` reused in another process therefore
binds ``a`` to that process's ``df``, not to a copy. Likewise an object that is a global of the
module defining its class (``from scipy.stats import loguniform``, ``pd.NaT``, the global
``RandomState`` an estimator with ``random_state=None`` holds) is written as a reference to that
global: the receiver binds its own library's object, as sequential execution would, not a copy
frozen at pickling time.
"""

from __future__ import annotations

import gc
import importlib
import io
import os
import sys
import pickle
import struct
import types
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

import cloudpickle

#: Values whose identity nobody can observe: never worth a reference.
_VALUE_TYPES = (int, float, complex, str, bytes, bool, type(None))


#: Module name → (its number of globals, {id(global of a type of its own): name}): built once
#: per module (a large module's index costs a millisecond, and every step's outputs are pickled).
_globals_index: dict[str, tuple[int, dict[int, str]]] = {}


class _Pickler(cloudpickle.Pickler):
    def __init__(self, file, known: list[object]) -> None:
        super().__init__(file, protocol=5)
        self.cell_code = False  # a function or class defined in a cell went by value
        self.frames = {id(obj): obj for obj in known}  # frames a slice may link to (see copy_parent)
        if known:
            # The inputs' objects are the first memo entries: pickle writes a reference to the
            # entry wherever one occurs, and the reader fills the entries with its own objects
            # (see loads). A persistent_id hook would cost a Python call per pickled object.
            self.memo = {id(obj): (index, obj) for index, obj in enumerate(known)}

    def reducer_override(self, obj):  # noqa: D102 - pickle's hook
        if is_frame(obj):
            parent = copy_parent(obj)
            if parent is not None and id(parent) in self.frames:  # the reader has it: link to its own
                function, args, state, *_ = obj.__reduce_ex__(5)
                return function, args, (state, parent), None, None, _restore_copy_parent
            self.frames[id(obj)] = obj  # pickled before a slice of it: memoized, a reference there
        if is_bunch(obj):
            return reduce_bunch(obj)
        if isinstance(obj, (types.FunctionType, type)):
            if getattr(obj, "__module__", None) == "__main__":
                self.cell_code = True
        elif not isinstance(obj, types.ModuleType):
            name = self._module_global(obj)
            if name is not None:
                return _module_global, (type(obj).__module__, name)
        return super().reducer_override(obj)

    def _module_global(self, obj: object) -> str | None:
        """The name under which ``obj`` is a global of its class's module, if it is one."""
        module_name = getattr(type(obj), "__module__", None)
        if not isinstance(module_name, str) or module_name in ("__main__", "builtins"):
            return None
        module = sys.modules.get(module_name)
        if not isinstance(module, types.ModuleType):
            return None
        names = vars(module)
        cached = _globals_index.get(module_name)
        if cached is None or cached[0] != len(names):  # new module, or globals added since
            index = {id(value): name for name, value in list(names.items())
                     if not name.startswith("__") and type(value).__module__ == module_name}
            cached = _globals_index[module_name] = (len(names), index)
        name = cached[1].get(id(obj))
        return name if name is not None and names.get(name) is obj else None  # rebound since: a copy


def _module_global(module: str, name: str) -> object:
    """The receiving process's own object for a module global (see the module docstring)."""
    return getattr(importlib.import_module(module), name)


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a pandas DataFrame or Series (their classes report the module
    ``pandas``, the public one); without importing pandas."""
    return type(obj).__name__ in ("DataFrame", "Series") and type(obj).__module__.split(".")[0] == "pandas"


def copy_parent(obj: object) -> object | None:
    """The live frame a pandas 2.x object was taken from (``sub = df[mask]``): pandas warns
    (SettingWithCopyWarning) when ``sub`` is then written to. The link is a weakref that pickling
    and copying drop, so a travelled or copied ``sub`` is relinked to the receiver's own frame."""
    if not is_frame(obj):
        return None
    ref = vars(obj).get("_is_copy")
    return ref() if isinstance(ref, weakref.ref) else None


def set_copy_parent(obj: object, parent: object) -> None:
    """Link ``obj`` to ``parent`` as pandas does for an object taken from it (see :func:`copy_parent`)."""
    object.__setattr__(obj, "_is_copy", weakref.ref(parent))


def _restore_copy_parent(obj: object, state: tuple) -> None:
    own_state, parent = state
    obj.__setstate__(own_state)  # type: ignore[attr-defined]
    set_copy_parent(obj, parent)


def is_bunch(obj: object) -> bool:
    """Whether ``obj`` is a scikit-learn ``Bunch`` (see :func:`reduce_bunch`)."""
    return type(obj).__name__ == "Bunch" and type(obj).__module__ == "sklearn.utils._bunch"


def reduce_bunch(bunch: object) -> tuple:
    """How to rebuild a scikit-learn ``Bunch`` with its attributes: ``Bunch.__setstate__`` drops
    them on purpose (pickles from old versions), but a value moved between processes, or copied
    apart for a pipeline (:mod:`.isolation`), must keep them."""
    return _rebuild_bunch, (type(bunch), dict(bunch), dict(bunch.__dict__))  # type: ignore[call-overload]


def _rebuild_bunch(cls: type, items: dict, attributes: dict) -> object:
    bunch = cls.__new__(cls)  # not cls(**items): __init__ adds attributes the original may lack
    dict.update(bunch, items)
    bunch.__dict__.update(attributes)
    return bunch


def dumps(value: object, inputs: Mapping[str, object] | None = None) -> bytes:
    """Pickle ``value``; with ``inputs`` (version → object), objects identical to one of them are
    written as references to that version (read it back with :func:`loads` and the reader's
    ``inputs``)."""
    return _dump(value, inputs)[0]


def _dump(value: object, inputs: Mapping[str, object] | None) -> tuple[bytes, bool]:
    buffer = io.BytesIO()
    known = {}
    if inputs is not None:
        seen: set[int] = set()  # one memo entry per object, under its first version
        for version, obj in inputs.items():
            if not isinstance(obj, _VALUE_TYPES) and id(obj) not in seen:
                seen.add(id(obj))
                known[version] = obj
        buffer.write(_preamble(list(known)))
    pickler = _Pickler(buffer, list(known.values()))
    pickler.dump(value)
    return buffer.getvalue(), pickler.cell_code


def _preamble(versions: list[str]) -> bytes:
    """A pickle that loads to None and leaves the reader's objects of ``versions`` as its memo
    entries 0, 1, …, where the value's pickle refers to them (pickle's opcodes, by hand: each
    version a persistent id, memoized and popped)."""
    parts = [pickle.PROTO, b"\x05"]
    for version in versions:
        text = version.encode("utf-8")
        parts += [pickle.BINUNICODE, struct.pack("<I", len(text)), text, pickle.BINPERSID, pickle.MEMOIZE, pickle.POP]
    parts += [pickle.NONE, pickle.STOP]
    return b"".join(parts)


class _Unresolved:
    """Stands for a version the reader lacks: an error if the value refers to it."""


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, inputs: Mapping[str, object]) -> None:
        super().__init__(file)
        self.inputs = inputs
        self.lacking: list[str] = []

    def persistent_load(self, pid):  # noqa: D102 - pickle's hook, called once per version
        if pid in self.inputs:
            return self.inputs[pid]
        self.lacking.append(pid)
        return _Unresolved()


def loads(data: bytes, inputs: Mapping[str, object] | None = None) -> object:
    """Inverse of :func:`dumps`: references resolve to ``inputs[version]`` (KeyError if the
    value refers to a version ``inputs`` lacks)."""
    if inputs is None:
        return pickle.loads(data)
    unpickler = _Unpickler(io.BytesIO(data), inputs)
    unpickler.load()  # the preamble: the memo holds the inputs' objects
    value = unpickler.load()
    if unpickler.lacking and _reaches(value, lambda item: isinstance(item, _Unresolved)):
        raise KeyError(f"the value refers to input versions this process does not hold: {unpickler.lacking}")
    return value


class _Missing:
    """Stands for a module, or an object of a class, that the loading process cannot import (a
    module a candidate wrote into its working directory): marks the names that hold one."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _import_or_missing(name: str) -> object:
    try:
        return cloudpickle.cloudpickle.subimport(name)
    except ImportError:
        return _Missing()


class _TolerantUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        try:
            found = super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (_Missing,), {})
        return _import_or_missing if found is cloudpickle.cloudpickle.subimport else found


def loads_namespace(data: bytes) -> tuple[dict, list[str]]:
    """Inverse of :func:`dumps_namespace`: the names, and those whose values refer to a module
    or class this process cannot import (left out: one such name must not cost the others)."""
    try:
        return pickle.loads(data), []
    except Exception:  # noqa: BLE001 - load what can be loaded
        pass
    namespace = _TolerantUnpickler(io.BytesIO(data)).load()
    missing = sorted(name for name, value in namespace.items() if _holds_missing(value))
    return {n: v for n, v in namespace.items() if n not in missing}, missing


def _holds_missing(value: object) -> bool:
    """Whether ``value`` reaches a :class:`_Missing`."""
    return _reaches(value, lambda item: isinstance(item, _Missing) or (isinstance(item, type) and issubclass(item, _Missing)))


def _reaches(value: object, found: Callable[[object], bool], limit: int = 1_000_000) -> bool:
    """Whether ``value`` reaches an object ``found`` accepts (past ``limit`` objects: assumed so)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if found(item):
            return True
        if id(item) in seen or isinstance(item, (str, bytes, int, float, types.ModuleType)):
            continue
        seen.add(id(item))
        if len(seen) > limit:
            return True
        stack.extend(gc.get_referents(item))
    return False


def dumps_namespace(namespace: Mapping[str, object]) -> tuple[bytes, list[str]]:
    """Pickle a whole namespace at once (names sharing an object still share it on arrival).

    Returns the data and the names whose values cannot be pickled (a generator, an open file,
    a lock): those are left out and listed, never silently dropped.
    """
    try:
        return dumps(dict(namespace)), []
    except Exception:  # noqa: BLE001 - find which names are the problem
        pass
    untransferable = []
    for name, value in namespace.items():
        try:
            dumps(value)
        except Exception:  # noqa: BLE001
            untransferable.append(name)
    rest = {n: v for n, v in namespace.items() if n not in untransferable}
    try:
        return dumps(rest), sorted(untransferable)
    except Exception:  # noqa: BLE001 - values that pickle alone but not together: give up on all
        return dumps({}), sorted(namespace)


def publish(
    path: str, bindings: dict, deleted: list[str], rng: tuple | None, inputs: dict[str, object], replay: str | None = None,
) -> bool:
    """Write a step's outputs for other processes; returns whether they hold functions or
    classes defined in a cell (travelling by value: a later run must not reuse them, its own
    definitions are other objects). ``replay``: the statement's source when it set process state
    (:func:`.effects.replay_source`), for consumer processes to run too."""
    data, cell_code = _dump({"bindings": bindings, "deleted": deleted, "rng": rng, "replay": replay}, inputs)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as file:
        file.write(data)
    os.replace(tmp, path)  # readers never see half a file
    return cell_code


def load_published(path: str, inputs: dict[str, object]) -> dict:
    """Read what :func:`publish` wrote; references to input versions resolve to ``inputs``."""
    return loads(Path(path).read_bytes(), inputs)  # type: ignore[return-value]


def bind_published(namespace: dict, path: str, inputs: Mapping[str, str]) -> tuple[tuple | None, str | None]:
    """Bind into ``namespace`` what :func:`publish` wrote; ``inputs`` (version → name) says which
    of the namespace's values references resolve to. Returns the RNG state kept with it and the
    statement to replay, if any."""
    known = {version: namespace[name] for version, name in inputs.items() if name in namespace}
    published = load_published(path, known)
    namespace.update(published["bindings"])
    for name in published["deleted"]:
        namespace.pop(name, None)
    return published["rng"], published.get("replay")
