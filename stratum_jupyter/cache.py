"""The persistent step cache: published step outputs kept on disk under the step's key.

A later run (same kernel, another kernel, after a restart) looks a step's key up and binds the
cached file instead of running the step. The directory holds, per entry:

* ``KEY.entry``: a small pickle (format marker, key, data file name, size, sha256, the caller's
  ``meta``); its mtime is the entry's LRU time;
* ``KEY-SHA256.data``: the published file (:func:`stratum_jupyter.transfer.publish`), named by its
  content, so a path handed out never has other data written under it.

Writes go to a unique ``.tmp-*`` name in the directory and are moved into place with
``os.replace``: kernels sharing one directory, even writing the same key at once, never leave
half an entry. Every read checks the recorded size and sha256; anything wrong (corrupted,
truncated, unreadable, foreign format) is ignored with a :class:`CacheWarning` naming the key and
the reason, and removed. A cache problem never fails a run: an unusable directory warns once and
acts as an always-missing, never-storing cache.

Size is bounded (``max_bytes``, default :data:`DEFAULT_MAX_BYTES`): after each store the least
recently used entries go. A data file used (stored or read) within the last :data:`GRACE_SECONDS`
outlives the eviction of its entry by that long, so a path just returned by :meth:`StepCache.get`
stays readable while a worker loads it; it is removed by a later store or by :meth:`StepCache.clear`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import shutil
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from .memory import parse_size
from .spill import cache_dir

#: Default bound on the cache directory: 10 GiB (``--cache-size`` changes it).
DEFAULT_MAX_BYTES = 10 << 30
#: How long a data file outlives its evicted entry after its last use (seconds).
GRACE_SECONDS = 60.0
SCAN_EVERY = 256
#: Libraries whose versions go into :func:`environment_key` (those installed).
ENVIRONMENT_PACKAGES = (
    "stratum-jupyter", "numpy", "pandas", "scikit-learn", "scipy", "lightgbm", "xgboost", "cloudpickle",
)

_FORMAT = "stratum-step-cache/1"
_ENTRY, _DATA, _TMP = ".entry", ".data", ".tmp-"
_KEY = re.compile(r"[0-9A-Za-z_-]{1,200}")
_DATA_NAME = re.compile(r"(?P<key>[0-9A-Za-z_-]{1,200})-(?P<sha>[0-9a-f]{64})\.data")
_CHUNK = 1 << 20
_warned: set[tuple[str, str, str]] = set()


class CacheWarning(UserWarning):
    """Something in the step cache was ignored or failed; the run goes on without it."""


@dataclass
class CachedStep:
    """A cache hit: a published file (read it with ``transfer.load_published``) and its meta."""

    path: str
    meta: dict


def default_cache_dir() -> Path:
    """``$STRATUM_CACHE_DIR/steps``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)``/stratum-jupyter/steps``."""
    return cache_dir() / "steps"


def parse_cache_size(text: str | int | float) -> int:
    """``"2GB"``, ``"500MB"`` or a number of bytes → bytes; ValueError with a cache wording."""
    try:
        return parse_size(text)
    except ValueError:
        raise ValueError(f"cache size must look like 2GB, 500MB or a positive number of bytes, got {text!r}") from None


def _hash_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_digests: dict[str, tuple[tuple, str]] = {}
_DIGESTS_KEPT = 4096


def file_digest(path: str) -> str:
    """sha256 (hex) of a file's content, remembered within the process while the file's stat
    (size, mtime, ctime, inode) is unchanged: rewriting it and restoring the mtime still changes
    the ctime, so the content is hashed again."""
    path = os.fspath(path)

    def signature() -> tuple:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    before = signature()
    known = _digests.get(path)
    if known is not None and known[0] == before:
        return known[1]
    digest = _hash_file(path)
    if signature() == before:  # not changed while being read: safe to remember
        if len(_digests) >= _DIGESTS_KEPT:
            del _digests[next(iter(_digests))]
        _digests[path] = (before, digest)
    return digest


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """stratum_jupyter's own source: in a development tree the version number stays put. The
    benchmark suite (``bench/``) never runs inside a step: changing it keeps the cache valid."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for file in sorted(root.rglob("*.py")):
        if file.relative_to(root).parts[0] == "bench":
            continue
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def environment_key() -> str:
    """Short hash of the Python version and of the installed versions of :data:`ENVIRONMENT_PACKAGES`
    (and of stratum_jupyter's source); part of every step key, so another version never hits."""
    versions = {name: _version(name) for name in ENVIRONMENT_PACKAGES}
    described = {
        "python": f"{sys.implementation.name} {sys.version}",
        "packages": versions,
        "stratum_jupyter_source": _source_digest(),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except OSError:
        return False


class StepCache:
    """Step outputs on disk, by key; see the module docstring. Never raises on a cache problem."""

    def __init__(self, directory: str | os.PathLike, max_bytes: int | str | None = None) -> None:
        self.directory = Path(directory).expanduser()
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else parse_cache_size(max_bytes)
        # The directory is scanned for eviction only when the size this process knows of passes
        # the bound, or every SCAN_EVERY stores (other kernels' entries, orphans): a scan per store
        # would make keeping n steps cost n².
        self._known_bytes: int | None = None
        self._stores_since_scan = 0
        #: Why the cache is unusable (then it never hits and never stores), else None.
        self.error: str | None = None
        self._prepare()

    def __repr__(self) -> str:
        state = f", unusable: {self.error}" if self.error else ""
        return f"StepCache({str(self.directory)!r}, max_bytes={self.max_bytes}{state})"

    # -- warnings -----------------------------------------------------------------------------

    def _warn(self, cause: str, key: str, message: str) -> None:
        """Warn once per directory, cause and entry."""
        marker = (str(self.directory), cause, key)
        if marker not in _warned:
            _warned.add(marker)
            warnings.warn(f"stratum cache: {message}", CacheWarning, stacklevel=3)

    def _ignore(self, key: str, cause: str, reason: str) -> None:
        self._warn(cause, key, f"entry {key} ignored ({reason}); the step is recomputed")

    # -- setup --------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create the directory (mode 0700, parents too) and check it takes files."""
        try:
            missing = [p for p in (self.directory, *self.directory.parents) if not p.exists()]
            for path in reversed(missing):
                try:
                    path.mkdir(mode=0o700)
                except FileExistsError:  # another process made it meanwhile
                    continue
                os.chmod(path, 0o700)  # whatever the umask
            probe = self.directory / f"{_TMP}{os.getpid()}-{uuid.uuid4().hex}.probe"
            probe.write_bytes(b"")
            probe.unlink()
            self.error = None
        except OSError as error:
            self.error = f"{type(error).__name__}: {error.strerror or error}"
            self._warn("directory", "", f"cannot use the cache directory {self.directory} ({self.error}); "
                                         "running without the persistent cache")

    def _check_key(self, key: str) -> bool:
        if isinstance(key, str) and _KEY.fullmatch(key):
            return True
        self._warn("key", str(key), f"key {key!r} ignored: a key is a hex string")
        return False

    def _entry_path(self, key: str) -> Path:
        return self.directory / f"{key}{_ENTRY}"

    # -- lookup -------------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (unchecked: :meth:`get` may still refuse it)."""
        return self.error is None and self._check_key(key) and self._entry_path(key).exists()

    def get(self, key: str) -> CachedStep | None:
        """The entry stored under ``key``, checked, or None; refreshes its LRU time."""
        if self.error is not None or not self._check_key(key):
            return None
        entry = self._entry_path(key)
        for _ in range(3):  # an entry replaced or evicted while being read: look again
            try:
                stat = entry.stat()
                record_bytes = entry.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as error:
                self._ignore(key, "unreadable", f"unreadable entry file: {error.strerror or error}")
                return None
            try:
                record = pickle.loads(record_bytes)
            except Exception as error:  # noqa: BLE001 - garbage can fail in any way
                self._discard(key, entry, stat, None, "garbage", f"unreadable entry metadata: {type(error).__name__}")
                return None
            problem = _check_record(record, key)
            if problem:
                self._discard(key, entry, stat, None, "format", problem)
                return None
            data = self.directory / record["data"]
            try:
                size = data.stat().st_size
                sha = _hash_file(data) if size == record["size"] else None
            except FileNotFoundError:
                if not _same_file(entry, stat):
                    continue
                self._discard(key, entry, stat, None, "missing", "its data file is missing")
                return None
            except OSError as error:
                self._ignore(key, "unreadable", f"unreadable data file: {error.strerror or error}")
                return None
            if size != record["size"]:
                self._discard(key, entry, stat, data, "truncated",
                              f"truncated or resized data file: {size} bytes, {record['size']} recorded")
                return None
            if sha != record["sha256"]:
                self._discard(key, entry, stat, data, "corrupted", "corrupted data file: sha256 does not match")
                return None
            for path in (entry, data):
                try:
                    os.utime(path)  # LRU time; the data file's keeps it past an eviction for a while
                except OSError:
                    pass
            return CachedStep(str(data), record["meta"])
        return None

    def _discard(self, key: str, entry: Path, stat: os.stat_result, data: Path | None, cause: str, reason: str) -> None:
        """Warn, then remove the bad entry (if it is still the one read) and its bad data file."""
        self._ignore(key, cause, reason)
        if data is not None:
            _unlink(data)  # its content does not match its name: useless to anyone
        if _same_file(entry, stat):
            _unlink(entry)

    # -- store --------------------------------------------------------------------------------

    def put(self, key: str, published: str, meta: dict) -> bool:
        """Store a copy of the published file (a hard link when possible) and ``meta`` under
        ``key``; evict least recently used entries beyond ``max_bytes``. Returns whether stored."""
        if self.error is not None or not self._check_key(key):
            return False
        if not self.directory.is_dir():  # removed while in use: make it again
            self._prepare()
            if self.error is not None:
                return False
        temporary = [self._temporary(_DATA), self._temporary(_ENTRY)]
        try:
            try:
                os.link(published, temporary[0])
            except OSError:  # another filesystem, or no hard links here
                shutil.copyfile(published, temporary[0])
            size = temporary[0].stat().st_size
            sha = _hash_file(temporary[0])
            record = {"format": _FORMAT, "key": key, "data": f"{key}-{sha}{_DATA}", "size": size, "sha256": sha,
                      "stored": time.time(), "meta": meta}
            try:
                record_bytes = pickle.dumps(record, protocol=5)
            except Exception as error:  # noqa: BLE001 - whatever pickling raises
                self._warn("meta", key, f"entry {key} not stored: its meta cannot be pickled ({type(error).__name__})")
                return False
            if size + len(record_bytes) > self.max_bytes:
                self._warn("too large", key, f"entry {key} not stored: {size} bytes exceed the cache size "
                                             f"({self.max_bytes} bytes)")
                return False
            data = self.directory / record["data"]
            os.replace(temporary[0], data)
            os.utime(data)  # keeps the data file through the instant before its entry is written
            temporary[1].write_bytes(record_bytes)
            os.replace(temporary[1], self._entry_path(key))
        except OSError as error:
            self._warn("store", key, f"entry {key} not stored ({type(error).__name__}: {error.strerror or error})")
            return False
        finally:
            for path in temporary:
                if path.exists():
                    _unlink(path)
        for cause in ("garbage", "format", "missing", "truncated", "corrupted", "unreadable", "store"):
            _warned.discard((str(self.directory), cause, key))  # a new entry may warn again
        self._stores_since_scan += 1
        if self._known_bytes is not None:
            self._known_bytes += size + len(record_bytes)
        if self._known_bytes is None or self._known_bytes > self.max_bytes or self._stores_since_scan >= SCAN_EVERY:
            try:
                self._evict(keep=key)
            except OSError as error:
                self._warn("evict", "", f"eviction in {self.directory} failed ({error})")
        return True

    def _temporary(self, suffix: str) -> Path:
        return self.directory / f"{_TMP}{os.getpid()}-{uuid.uuid4().hex}{suffix}"

    # -- size bound ---------------------------------------------------------------------------

    def _scan(self) -> tuple[dict[str, os.stat_result], dict[str, list[tuple[Path, os.stat_result]]], list[tuple[Path, os.stat_result]]]:
        """Entry files by key, data files by key, and other files (temporaries, strays)."""
        entries: dict[str, os.stat_result] = {}
        data: dict[str, list[tuple[Path, os.stat_result]]] = {}
        other: list[tuple[Path, os.stat_result]] = []
        with os.scandir(self.directory) as listing:
            for item in listing:
                try:
                    stat = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                name = item.name
                matched = _DATA_NAME.fullmatch(name)
                if name.endswith(_ENTRY) and _KEY.fullmatch(name[: -len(_ENTRY)]):
                    entries[name[: -len(_ENTRY)]] = stat
                elif matched:
                    data.setdefault(matched["key"], []).append((Path(item.path), stat))
                else:
                    other.append((Path(item.path), stat))
        return entries, data, other

    def _evict(self, keep: str) -> None:
        """Drop least recently used entries until the entries fit ``max_bytes``; remove data files
        and temporaries nobody uses any more (unused for :data:`GRACE_SECONDS`)."""
        entries, data, other = self._scan()
        stale = time.time() - GRACE_SECONDS
        sizes = {key: stat.st_size + sum(s.st_size for _, s in data.get(key, ())) for key, stat in entries.items()}
        total = sum(sizes.values())
        for key in sorted(entries, key=lambda k: entries[k].st_mtime):
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            if _same_file(self._entry_path(key), entries[key]):
                _unlink(self._entry_path(key))
            total -= sizes[key]
            del entries[key]
        for key, files in data.items():
            if len(files) == 1 and key in entries:
                continue
            current = self._current_data(key) if key in entries else None
            for path, stat in files:
                if path.name != current and stat.st_mtime < stale:
                    _unlink(path)
        for path, stat in other:
            if path.name.startswith(_TMP) and stat.st_mtime < stale:
                _unlink(path)
        self._known_bytes, self._stores_since_scan = total, 0

    def _current_data(self, key: str) -> str | None:
        try:
            record = pickle.loads(self._entry_path(key).read_bytes())
            return record["data"]
        except Exception:  # noqa: BLE001 - a bad entry: get() reports it
            return None

    # -- front end ----------------------------------------------------------------------------

    def info(self) -> dict:
        """``directory``, ``entries``, ``bytes`` (every file in the directory) and ``max_bytes``;
        ``error`` says why the cache is unusable (None when it is fine)."""
        described = {"directory": str(self.directory), "entries": 0, "bytes": 0, "max_bytes": self.max_bytes,
                     "error": self.error}
        if self.error is None:
            try:
                entries, data, other = self._scan()
            except OSError as error:
                described["error"] = f"{type(error).__name__}: {error.strerror or error}"
                return described
            described["entries"] = len(entries)
            described["bytes"] = sum(s.st_size for s in entries.values()) + sum(
                s.st_size for files in data.values() for _, s in files) + sum(s.st_size for _, s in other)
        return described

    def clear(self) -> int:
        """Remove every entry, data file and temporary; returns how many entries there were."""
        if self.error is not None:
            return 0
        try:
            entries, data, other = self._scan()
        except OSError as error:
            self._warn("clear", "", f"cannot clear {self.directory} ({error})")
            return 0
        removed = sum(_unlink(self._entry_path(key)) for key in entries)
        for path, _ in [*(f for files in data.values() for f in files), *other]:
            if path.name.startswith(_TMP) or _DATA_NAME.fullmatch(path.name):
                _unlink(path)
        return removed


def _check_record(record: object, key: str) -> str | None:
    """Why an entry's metadata is not one this version wrote for ``key``, or None."""
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        return "foreign entry format"
    if record.get("key") != key:
        return f"entry file holds key {record.get('key')!r}"
    name, size, sha = record.get("data"), record.get("size"), record.get("sha256")
    if not (isinstance(name, str) and _DATA_NAME.fullmatch(name) and isinstance(size, int) and name == f"{key}-{sha}{_DATA}"):
        return "malformed entry metadata"
    if not isinstance(record.get("meta"), dict):
        return "malformed entry metadata"
    return None


def _same_file(path: Path, stat: os.stat_result) -> bool:
    """``path`` is still the file ``stat`` described (not replaced by a newer entry)."""
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_ino, now.st_dev) == (stat.st_ino, stat.st_dev)
