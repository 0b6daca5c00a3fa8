"""The persistent step cache (stratum_jupyter.cache): round trips, integrity, a bad directory,
the size bound, kernels sharing one directory, and the parts of a step key it provides."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import stat
import subprocess
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stratum_jupyter import cache as cache_module
from stratum_jupyter.cache import CacheWarning, StepCache, default_cache_dir, environment_key, file_digest
from stratum_jupyter.transfer import load_published, publish


def published(directory: Path, name: str, bindings: dict) -> str:
    path = str(directory / f"{name}.pub")
    publish(path, bindings, ["gone"], None, {})
    return path


def entry_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_round_trip_in_another_instance(tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    path = published(tmp_path, "step", {"df": frame, "arr": np.arange(5)})
    meta = {"ok": True, "outputs": ["df", "arr"], "seconds": 1.5, "deleted": ["gone"]}
    assert StepCache(tmp_path / "cache").put("abc123", path, meta) is True
    os.unlink(path)  # the cache keeps its own copy
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        hit = StepCache(tmp_path / "cache").get("abc123")
    assert hit is not None and hit.meta == meta
    loaded = load_published(hit.path, {})
    pd.testing.assert_frame_equal(loaded["bindings"]["df"], frame)
    np.testing.assert_array_equal(loaded["bindings"]["arr"], np.arange(5))
    assert loaded["deleted"] == ["gone"]
    assert StepCache(tmp_path / "cache").get("fff000") is None  # a miss is silent
    assert StepCache(tmp_path / "cache").has("abc123") and not StepCache(tmp_path / "cache").has("fff000")


def test_data_file_is_named_by_its_content(tmp_path):
    path = published(tmp_path, "step", {"x": 1})
    cache = StepCache(tmp_path / "cache")
    cache.put("k1", path, {})
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert Path(cache.get("k1").path).name == f"k1-{digest}.data"
    # storing other content under the same key leaves the old path's content as it was
    old = cache.get("k1").path
    cache.put("k1", published(tmp_path, "other", {"x": 2}), {})
    assert load_published(old, {})["bindings"] == {"x": 1}
    assert load_published(cache.get("k1").path, {})["bindings"] == {"x": 2}


def _break_data(path: str, how: str) -> None:
    data = Path(path).read_bytes()
    if how == "corrupted":  # same size, one byte changed
        Path(path).write_bytes(data[:10] + bytes([data[10] ^ 0xFF]) + data[11:])
    else:
        Path(path).write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how, reason", [("corrupted", "sha256 does not match"), ("truncated", "truncated")])
def test_broken_data_file_is_ignored_with_a_warning(tmp_path, how, reason):
    path = published(tmp_path, "step", {"x": list(range(100))})
    cache = StepCache(tmp_path / "cache")
    cache.put("deadbeef", path, {"ok": True})
    _break_data(cache.get("deadbeef").path, how)  # also breaks `path`: a hard link to the same file
    path = published(tmp_path, "again", {"x": list(range(100))})
    with pytest.warns(CacheWarning, match=f"deadbeef.*{reason}"):
        assert StepCache(tmp_path / "cache").get("deadbeef") is None
    assert entry_files(tmp_path / "cache") == []  # removed
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert cache.get("deadbeef") is None  # now a plain miss
        assert cache.put("deadbeef", path, {"ok": True}) is True  # and a later put works
        assert load_published(cache.get("deadbeef").path, {})["bindings"] == {"x": list(range(100))}


@pytest.mark.parametrize("content, reason", [
    (b"garbage, not a pickle", "unreadable entry metadata"),
    (pickle.dumps({"format": "someone-else/9", "data": "x"}), "foreign entry format"),
    (b"", "unreadable entry metadata"),
])
def test_bad_entry_file_is_ignored_with_a_warning(tmp_path, content, reason):
    path = published(tmp_path, "step", {"x": 1})
    cache = StepCache(tmp_path / "cache")
    cache.put("cafe01", path, {})
    (tmp_path / "cache" / "cafe01.entry").write_bytes(content)
    with pytest.warns(CacheWarning, match=f"cafe01.*{reason}"):
        assert cache.get("cafe01") is None
    assert not (tmp_path / "cache" / "cafe01.entry").exists()
    assert cache.put("cafe01", path, {"again": 1}) is True
    assert cache.get("cafe01").meta == {"again": 1}


def test_missing_data_file_is_ignored_with_a_warning(tmp_path):
    cache = StepCache(tmp_path / "cache")
    cache.put("0a0b", published(tmp_path, "step", {"x": 1}), {})
    os.unlink(cache.get("0a0b").path)
    with pytest.warns(CacheWarning, match="0a0b.*data file is missing"):
        assert cache.get("0a0b") is None


def test_warns_once_per_cause_and_entry(tmp_path):
    cache = StepCache(tmp_path / "cache")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert cache.put("../escape", published(tmp_path, "s", {}), {}) is False
            assert cache.get("../escape") is None
    assert [str(w.message) for w in caught if w.category is CacheWarning] == [
        "stratum cache: key '../escape' ignored: a key is a hex string"]
    assert not (tmp_path / "escape.entry").exists()


def test_store_failures_warn_and_return_false(tmp_path):
    cache = StepCache(tmp_path / "cache", max_bytes=1000)
    with pytest.warns(CacheWarning, match="1a.*not stored"):
        assert cache.put("1a", str(tmp_path / "no-such-file"), {}) is False
    big = published(tmp_path, "big", {"x": b"x" * 5000})
    with pytest.warns(CacheWarning, match="2b.*exceed the cache size"):
        assert cache.put("2b", big, {}) is False
    with pytest.warns(CacheWarning, match="3c.*meta cannot be pickled"):
        assert cache.put("3c", published(tmp_path, "s", {}), {"f": lambda: 1}) is False
    assert entry_files(tmp_path / "cache") == []  # no temporaries left behind


def test_directory_created_with_mode_0700(tmp_path):
    StepCache(tmp_path / "a" / "b" / "steps")
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "steps"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    existing = tmp_path / "shared"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    StepCache(existing)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # used as is


def _assert_unusable(cache: StepCache, tmp_path: Path) -> None:
    """Never raises; never hits, never stores."""
    assert cache.error
    path = published(tmp_path, "step", {"x": 1})
    assert cache.put("aa", path, {}) is False
    assert cache.get("aa") is None
    assert cache.clear() == 0
    info = cache.info()
    assert (info["entries"], info["bytes"], info["error"]) == (0, 0, cache.error)


@pytest.mark.parametrize("where", ["under a regular file", "is a regular file"])
def test_directory_that_cannot_be_made_warns_once(tmp_path, where):
    (tmp_path / "file").write_text("not a directory")
    directory = tmp_path / "file" / "steps" if where == "under a regular file" else tmp_path / "file"
    with pytest.warns(CacheWarning, match="cannot use the cache directory"):
        cache = StepCache(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # once: the same directory does not warn again
        _assert_unusable(cache, tmp_path)
        _assert_unusable(StepCache(directory), tmp_path)


def _make_read_only(directory: Path) -> None:
    if os.geteuid() == 0:
        # chmod does not stop root; the immutable attribute does (ext4, xfs, btrfs)
        done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"running as root and chattr +i is unsupported here: {done.stderr.decode().strip()}")
    else:
        os.chmod(directory, 0o500)


def _make_writable(directory: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        os.chmod(directory, 0o700)


def test_read_only_directory_never_fails(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    _make_read_only(directory)
    try:
        with pytest.warns(CacheWarning, match="cannot use the cache directory"):
            cache = StepCache(directory)
        _assert_unusable(cache, tmp_path)
    finally:
        _make_writable(directory)


def test_directory_turning_read_only_after_start(tmp_path):
    directory = tmp_path / "ro"
    cache = StepCache(directory)
    assert cache.put("11", published(tmp_path, "one", {"x": 1}), {}) is True
    _make_read_only(directory)
    try:
        with pytest.warns(CacheWarning, match="22.*not stored"):
            assert cache.put("22", published(tmp_path, "two", {"x": 2}), {}) is False
        hit = cache.get("11")  # what is there still reads
        assert load_published(hit.path, {})["bindings"] == {"x": 1}
    finally:
        _make_writable(directory)
    assert cache.put("22", published(tmp_path, "two", {"x": 2}), {}) is True


def test_lru_eviction_keeps_the_most_recently_used(tmp_path, monkeypatch):
    def put(cache, key):
        assert cache.put(key, published(tmp_path, key, {"v": key * 400}), {"key": key})
        time.sleep(0.02)  # distinct LRU times

    probe = StepCache(tmp_path / "probe")
    put(probe, "aa")
    entry_bytes = probe.info()["bytes"]
    cache = StepCache(tmp_path / "cache", max_bytes=int(3.5 * entry_bytes))
    for key in ("aa", "bb", "cc"):
        put(cache, key)
    assert cache.get("aa") is not None  # used: now the most recent
    time.sleep(0.02)
    put(cache, "dd")
    assert cache.get("bb") is None  # the least recently used went
    assert [cache.get(k).meta["key"] for k in ("aa", "cc", "dd")] == ["aa", "cc", "dd"]
    assert cache.info()["entries"] == 3
    # an evicted entry's data file outlives it for a while (a worker may be loading it) ...
    assert any(name.startswith("bb-") for name in entry_files(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "GRACE_SECONDS", 0.0)
    put(cache, "ee")  # ... and is removed by a later store once unused that long
    names = entry_files(tmp_path / "cache")
    assert not any(name.startswith(("bb-", "bb.")) for name in names)
    assert cache.info()["bytes"] <= cache.max_bytes
    assert cache.info()["entries"] == 3


def test_info_and_clear(tmp_path):
    cache = StepCache(tmp_path / "cache", max_bytes="2MB")
    assert cache.info() == {"directory": str(tmp_path / "cache"), "entries": 0, "bytes": 0,
                            "max_bytes": 2 << 20, "error": None}
    for key in ("01", "02"):
        cache.put(key, published(tmp_path, key, {"k": key}), {})
    (tmp_path / "cache" / ".tmp-1-stray.data").write_bytes(b"left by a crash")
    info = cache.info()
    assert info["entries"] == 2 and info["bytes"] > 0
    assert cache.clear() == 2
    assert entry_files(tmp_path / "cache") == []
    assert cache.info()["entries"] == 0 and cache.get("01") is None
    with pytest.raises(ValueError, match="cache size"):
        StepCache(tmp_path / "cache", max_bytes="lots")


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STRATUM_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "steps"
    monkeypatch.delenv("STRATUM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "stratum-jupyter" / "steps"


@pytest.fixture
def fresh_environment_key():
    environment_key.cache_clear()
    yield
    environment_key.cache_clear()


def test_environment_key_changes_with_a_library_version(monkeypatch, fresh_environment_key):
    real = cache_module._version
    first = environment_key()
    assert first == environment_key() and len(first) == 16
    environment_key.cache_clear()
    assert environment_key() == first  # the same versions, the same key
    environment_key.cache_clear()
    monkeypatch.setattr(cache_module, "_version", lambda name: "0.0.1" if name == "pandas" else real(name))
    assert environment_key() != first
    environment_key.cache_clear()
    monkeypatch.setattr(cache_module, "_version", lambda name: None if name == "lightgbm" else real(name))
    if real("lightgbm") is not None:
        assert environment_key() != first  # a library removed counts too


def test_file_digest_sees_a_change_with_the_same_size_and_mtime(tmp_path, monkeypatch):
    path = tmp_path / "train.csv"
    path.write_text("a,b\n1,2\n")
    before = path.stat()
    first = file_digest(str(path))
    assert first == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    calls = []
    real = cache_module._hash_file
    monkeypatch.setattr(cache_module, "_hash_file", lambda p: calls.append(p) or real(p))
    assert file_digest(str(path)) == first and calls == []  # remembered while unchanged
    path.write_text("a,b\n3,4\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert file_digest(str(path)) == hashlib.sha256(b"a,b\n3,4\n").hexdigest()


# -- two kernels writing one directory while a third reads ------------------------------------

KEYS = [f"{i:04x}" for i in range(24)]


def _expected(key: str) -> dict:
    return {"key": key, "values": list(range(int(key, 16) * 50))}


def _writer(directory: str, scratch: str, order: int, rounds: int, max_bytes: int) -> tuple[int, list[str]]:
    cache = StepCache(directory, max_bytes=max_bytes)
    keys = KEYS if order == 0 else KEYS[::-1]
    stored = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(rounds):
            for key in keys:
                path = os.path.join(scratch, f"{order}-{key}.pub")
                publish(path, _expected(key), [], None, {})
                stored += cache.put(key, path, {"key": key, "round": n})
    return stored, [str(w.message) for w in caught]


def _reader(directory: str, seconds: float) -> tuple[int, int, list[str]]:
    cache = StepCache(directory)
    hits = misses = 0
    deadline = time.monotonic() + seconds
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        while time.monotonic() < deadline:
            for key in KEYS:
                found = cache.get(key)
                if found is None:
                    misses += 1
                    continue
                assert found.meta["key"] == key
                assert load_published(found.path, {})["bindings"] == _expected(key)
                hits += 1
    return hits, misses, [str(w.message) for w in caught]


def test_two_processes_writing_one_directory_while_a_third_reads(tmp_path):
    directory = tmp_path / "cache"
    scratch = [tmp_path / "w0", tmp_path / "w1"]
    for path in scratch:
        path.mkdir()
    publish(str(tmp_path / "probe"), _expected(KEYS[-1]), [], None, {})
    max_bytes = 10 * (tmp_path / "probe").stat().st_size  # about half of the keys fit: constant eviction
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        reader = pool.submit(_reader, str(directory), 6.0)
        writers = [pool.submit(_writer, str(directory), str(scratch[i]), i, 12, max_bytes) for i in (0, 1)]
        written = [w.result(timeout=300) for w in writers]
        hits, misses, read_warnings = reader.result(timeout=300)
    assert all(stored == 12 * len(KEYS) for stored, _ in written)
    assert [w for _, ws in written for w in ws] == [] and read_warnings == []
    assert hits > 0
    cache = StepCache(directory, max_bytes=max_bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        found = {key: cache.get(key) for key in KEYS}
    assert 0 < sum(f is not None for f in found.values()) < len(KEYS)
    for key, hit in found.items():
        if hit is not None:
            assert load_published(hit.path, {})["bindings"] == _expected(key)
    assert not [name for name in entry_files(directory) if name.startswith(".tmp-")]
