"""Peak memory of a process tree: PSS summed over a process and all its descendants.

PSS (proportional set size) charges each shared page to the processes that map it in equal
parts, so summing it over a kernel and its worker processes counts shared pages (libraries,
copy-on-write pages after a fork, shared-memory buffers) once. The sampler runs in a thread of
the benchmark's parent process, not in the measured one, so sampling never holds the measured
process's GIL; each sample reads ``/proc/PID/smaps_rollup`` (through psutil) of every process
in the tree.
"""

from __future__ import annotations

import threading

#: Seconds between samples.
INTERVAL = 0.05


def tree_pss_bytes(pid: int) -> int:
    """PSS of process ``pid`` plus all its descendants now, in bytes (0 if it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # exited between listing and reading: its memory is gone too
    return total


class PeakPss:
    """Sample ``tree_pss_bytes(pid)`` every ``interval`` seconds until :meth:`stop`.

    ``with PeakPss(proc.pid) as peak: proc.wait()`` then ``peak.peak_kb``.
    """

    def __init__(self, pid: int, interval: float = INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pss-{pid}", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, tree_pss_bytes(self.pid))
            self.samples += 1
            if self._stop.wait(self.interval):
                return

    def start(self) -> "PeakPss":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_kb(self) -> int:
        return self.peak_bytes // 1024

    def __enter__(self) -> "PeakPss":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
