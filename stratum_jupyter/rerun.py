"""Files a guard re-run would write a second time, kept as they were before the run.

When the guard saw a change the analysis missed, the isolated pipelines that could have seen it
run again without sharing (:meth:`stratum_jupyter.Batch.run`). Their first run already wrote its
files: run again as they are, an append would be doubled (plain execution wrote it once) and a
rename would fail on the file the first run moved. So before a run with guarded steps, the files
isolated pipelines may write (those of known path) are copied aside, and the ones the re-run
writes are put back before it, which then writes them as plain execution does.
A file is not put back when a pipeline that is not run again (or a kernel cell) writes it too
(that write would be lost), when it is larger than :data:`MAX_BYTES`, or when a pipeline writes
files whose paths are only known at run time: the re-run's summary names those files.
"""

from __future__ import annotations

import os
import shutil

from .graph import BatchGraph

_DIRECTORY = "<a directory>"
#: Files larger than this are not copied aside (a re-run writes them again as they are).
MAX_BYTES = 64 << 20


class FilesBeforeRun:
    """What the files isolated pipelines may write held before the run."""

    def __init__(self, graph: BatchGraph, directory: str) -> None:
        self.graph = graph
        self.directory = directory
        guarded = any(n.guarded for n in graph.nodes)  # else no re-run can happen
        self.writes = {i: _written_paths(graph, i) for i, p in enumerate(graph.pipelines) if guarded and p.isolated}
        self.saved: dict[str, str | None] = {}  # path → its copy (None: it did not exist)
        self.unsaved: dict[str, str] = {}  # path → why it was not copied
        for path in sorted(set().union(*(p for p in self.writes.values() if p is not None))):
            if not os.path.lexists(path):
                self.saved[path] = None
            elif os.path.isdir(path):
                self.saved[path] = _DIRECTORY  # its files are paths of their own
            elif not os.path.isfile(path):
                self.unsaved[path] = "not a regular file"
            elif os.path.getsize(path) > MAX_BYTES:
                self.unsaved[path] = f"larger than {MAX_BYTES >> 20} MB"
            else:
                os.makedirs(directory, exist_ok=True)
                self.saved[path] = shutil.copy2(path, os.path.join(directory, str(len(self.saved))))

    def restore(self, rerun: list[int]) -> list[str]:
        """Put back the files the pipelines ``rerun`` write; returns what could not be put back,
        described for the run's summary."""
        again = set(rerun)
        others: set[str] = set()
        for i in range(len(self.graph.pipelines)):
            if i not in again:
                others |= _written_paths(self.graph, i) or set()
        problems: list[str] = []
        for i in rerun:
            paths = self.writes.get(i, set())
            if paths is None:
                problems.append(f"{self.graph.pipelines[i].name} writes files named at run time")
                continue
            for path in sorted(paths):
                if path in others:
                    problems.append(f"{path} (other cells write it too)")
                elif path in self.unsaved:
                    problems.append(f"{path} ({self.unsaved[path]})")
                elif not _put_back(path, self.saved[path]):
                    problems.append(f"{path} (a directory the first run created)")
        return sorted(set(problems))


def _written_paths(graph: BatchGraph, pipeline: int) -> set[str] | None:
    """Absolute paths the pipeline's steps write; None when some path is only known at run time."""
    paths: set[str] = set()
    for step in graph.pipelines[pipeline].steps:
        for access in step.files:
            if access.mode != "w":
                continue
            if access.path is None:
                return None
            paths.add(os.path.normpath(os.path.join(graph.cwd, access.path)))
    return paths


def _put_back(path: str, copy: str | None) -> bool:
    """Give ``path`` its content from before the run; False if it cannot be (a directory)."""
    if copy == _DIRECTORY:
        os.makedirs(path, exist_ok=True)
    elif copy is not None:
        shutil.copy2(copy, path)
    elif os.path.isdir(path) and not os.path.islink(path):
        try:
            os.rmdir(path)  # only if empty: never a tree of the user's
        except OSError:
            return False
    elif os.path.lexists(path):
        os.remove(path)
    return True
