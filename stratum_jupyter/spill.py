"""Spilling idle step outputs to disk and reading them back.

When a step cannot start under the memory budget and nothing is running, the runtime asks to
spill the largest outputs that are only waiting for later consumers. An output is written
(pickle protocol 5, array buffers out of band, in the cache directory) only when nothing
outside it refers to its objects: then dropping it really frees memory, and the copy that
comes back cannot be told apart from the original by any pipeline. Anything else is declined
and stays in memory.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import struct
import sys
import tempfile
import time
import types
import weakref
from collections import Counter
from pathlib import Path

import numpy as np
from pandas.api.extensions import ExtensionDtype

_HEADER = struct.Struct("<QQ")  # pickle length, number of out-of-band buffers
#: Seconds between two garbage collections to tell whether an output is held elsewhere.
COLLECT_EVERY = 1.0
_LENGTH = struct.Struct("<Q")
# Objects shared by design (code, classes, modules, dtypes) or immutable: never a reason to decline.
_SHARED_TYPES = (
    type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
    np.dtype, ExtensionDtype, str, bytes, int, float, complex, bool, frozenset, type(None),
)


def cache_dir() -> Path:
    """Where spill files go: ``$STRATUM_CACHE_DIR``, else the user's cache directory."""
    root = os.environ.get("STRATUM_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "stratum-jupyter")
    return Path(root)


class Spilled:
    """Stands for an output written to disk; the file goes when the last holder lets go."""

    def __init__(self, path: Path, nbytes: int) -> None:
        self.path = path
        self.nbytes = nbytes
        weakref.finalize(self, _remove, path)

    def __repr__(self) -> str:
        return f"Spilled({str(self.path)!r}, {self.nbytes} bytes)"


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


class SpillStore:
    """One run's spill directory; ``spill`` and ``reload`` are the runtime's callbacks."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.count = 0
        self.collected_at = -COLLECT_EVERY

    def spill(self, node: int, output: object) -> Spilled | None:
        """Write ``output`` to disk if that frees its memory; None to keep it in memory."""
        if output is None or not (exclusively_held(output) or self._held_after_collecting(output)):
            return None
        buffers: list[pickle.PickleBuffer] = []
        try:
            data = pickle.dumps(output, protocol=5, buffer_callback=buffers.append)
        except Exception:  # noqa: BLE001 - unpicklable (lambdas, open files): keep it in memory
            return None
        if self.directory is None:
            cache = cache_dir()
            cache.mkdir(parents=True, exist_ok=True)
            self.directory = Path(tempfile.mkdtemp(prefix="spill-", dir=cache))
        self.count += 1
        path = self.directory / f"node-{node}-{self.count}.pkl"
        raw = [b.raw() for b in buffers]
        with open(path, "wb") as file:
            file.write(_HEADER.pack(len(data), len(raw)))
            for view in raw:
                file.write(_LENGTH.pack(view.nbytes))
            file.write(data)
            for view in raw:
                file.write(view)
        return Spilled(path, len(data) + sum(v.nbytes for v in raw))

    def _held_after_collecting(self, output: object) -> bool:
        """Whether ``output`` is exclusively held once unreachable cycles are collected: a cycle
        left by an exception (a traceback's frames) or dropped objects still refers to values it
        once saw until the collector runs, at its own moments. At most every COLLECT_EVERY
        seconds: a collection of a large heap is not free."""
        now = time.monotonic()
        if now - self.collected_at < COLLECT_EVERY:
            return False
        self.collected_at = now
        gc.collect()
        return exclusively_held(output)

    def reload(self, node: int, handle: Spilled) -> object:
        """Read back what ``spill`` wrote."""
        with open(handle.path, "rb") as file:
            size, count = _HEADER.unpack(file.read(_HEADER.size))
            lengths = [_LENGTH.unpack(file.read(_LENGTH.size))[0] for _ in range(count)]
            data = file.read(size)
            buffers = [bytearray(file.read(n)) for n in lengths]  # writable, like the originals
        return pickle.loads(data, buffers=buffers)

    def close(self) -> None:
        """Remove the run's spill directory and whatever is left in it."""
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _referents(obj: object) -> list:
    if isinstance(obj, np.ndarray):
        # Arrays are invisible to the garbage collector: follow views and object elements by hand.
        refs = [obj.base] if obj.base is not None else []
        if obj.dtype == object:
            refs.extend(x for x in obj.flat if not isinstance(x, _SHARED_TYPES))
        return refs
    return gc.get_referents(obj)


def exclusively_held(root: object) -> bool:
    """True when no object reachable from ``root`` (``root`` itself aside: a container the
    caller owns) is referred to from outside that graph.

    Counts every reference found while walking the graph and compares with each object's
    reference count; a reference the walk cannot see makes the answer False, which only
    keeps data in memory.
    """
    seen, inside = _walk(root)
    # Our own references to each object: the `seen` dict, `obj`, getrefcount's argument.
    for key in list(seen):
        obj = seen[key]
        if sys.getrefcount(obj) > inside[key] + 3:
            return False
    return True


def _walk(root: object) -> tuple[dict[int, object], Counter[int]]:
    """Objects reachable from ``root`` (without it) and how often the walk saw each referenced."""
    seen: dict[int, object] = {id(root): root}
    inside: Counter[int] = Counter()
    stack = [root]
    while stack:
        for ref in _referents(stack.pop()):
            if isinstance(ref, _SHARED_TYPES):
                continue
            inside[id(ref)] += 1
            if id(ref) not in seen:
                seen[id(ref)] = ref
                stack.append(ref)
    del seen[id(root)]
    return seen, inside
