"""The kernel's side of fold-level work stealing: idle cores compute posted search tasks ahead.

A search running in a worker posts the tasks it has not reached yet (:mod:`..fold_tasks`) and
its worker tells the kernel. While fewer steps run than the run has jobs — the batch's last
search running alone, say — the :class:`HelpDesk` has an extra worker compute the tasks of the
oldest open board from the last backwards; when a step needs the core again, the helper is told
to stop after its current task. Helpers are forked for the job and end with it (their process
never serves a pipeline); nothing of them outlives the run.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

from ..fold_tasks import close_board
from .pool import WorkerDied, WorkerPool, WorkerProcess

#: A freed core is offered to a helper only after this long without a step taking it: the runtime
#: dispatches the next step of a pipeline within milliseconds, and a helper that must stop at
#: once has started for nothing.
SETTLE_SECONDS = 0.05


class HelpDesk:
    """Open boards of one run and the helpers working on them."""

    def __init__(
        self, pool: WorkerPool, threads: int, modules: list[str], jobs: int, folds: str,
        idle: Callable[[], bool] = lambda: False, helpers: bool = True,
    ) -> None:
        """``idle``: work of the kernel's own for a free core no board needs (unpickling what
        finished pipelines sent back); returns whether it found any. ``helpers``: whether boards
        get helpers (not under a memory budget the user chose: the runtime's admission does not
        count their processes)."""
        self.pool = pool
        self.may_help = helpers
        self.idle = idle
        self.idle_lock = threading.Lock()  # held while ``idle`` runs: close() waits for it
        self.threads = threads
        self.modules = modules
        self.jobs = jobs
        self.folds = folds
        self.lock = threading.Lock()
        self.boards: list[str] = []  # open, oldest first
        self.running = 0  # steps executing now
        self.helpers: dict[str, WorkerProcess | None] = {}  # board → its helper (None: starting)
        self.threads_started: list[threading.Thread] = []
        self.closed = False
        self.timer: threading.Timer | None = None

    # -- what the run tells the desk --------------------------------------------------------
    def board(self, path: str, posted: bool) -> None:
        """A search posted (or is past) the board at ``path``."""
        with self.lock:
            if posted and path not in self.boards:
                self.boards.append(path)
            elif not posted and path in self.boards:
                self.boards.remove(path)
        self._settle()

    def close_boards(self, paths: list[str]) -> None:
        """The step that posted ``paths`` is over, however it ended: they close (a helper stops
        after its current task), as its search would have closed them."""
        with self.lock:
            self.boards = [b for b in self.boards if b not in paths]
        for path in set(paths):
            close_board(path)

    def step_started(self) -> None:
        with self.lock:
            self.running += 1
            excess = self.running + len(self.helpers) - self.jobs
            busy = [w for w in self.helpers.values() if w is not None]
        for worker in busy[:max(excess, 0)]:
            _stop(worker)

    def step_ended(self) -> None:
        with self.lock:
            self.running -= 1
        self._settle()

    def nudge(self) -> None:
        """There is idle work for the kernel now (see ``idle``)."""
        self._settle()

    def close(self) -> None:
        """End every helper now (the run is over)."""
        with self.lock:
            self.closed = True
            workers = [w for w in self.helpers.values() if w is not None]
            timer = self.timer
        if timer is not None:
            timer.cancel()
        with self.idle_lock:
            pass  # the kernel's own idle work is over
        for worker in workers:
            worker.kill()
        for thread in self.threads_started:
            thread.join(timeout=5)

    # -- helpers ---------------------------------------------------------------------------
    def _settle(self) -> None:
        with self.lock:
            if self.closed or self.timer is not None:
                return
            self.timer = threading.Timer(SETTLE_SECONDS, self._staff)
            self.timer.daemon = True
            self.timer.start()

    def _staff(self) -> None:
        """While a core is free: the kernel's idle work first — it is done at the end of the run
        otherwise, so doing it now shortens the run by its whole length, while a helper started
        that much later loses half of it (it shares the remaining tasks) —, else a helper for the
        oldest open board without one."""
        with self.lock:
            self.timer = None
        if self.jobs >= 2:  # one job has every core: between its steps there is a moment, not a free core
            while self._core_free():  # piece after piece, while no step takes the core back
                with self.idle_lock:
                    if self.closed or not self.idle():
                        break
        with self.lock:
            if not self._free() or not self.may_help:
                return
            board = next((b for b in self.boards if b not in self.helpers), None)
            if board is None:
                return
            self.helpers[board] = None
            thread = threading.Thread(target=self._help, args=(board,), name="stratum-helper", daemon=True)
            self.threads_started.append(thread)
        thread.start()

    def _core_free(self) -> bool:
        with self.lock:
            return self._free()

    def _free(self) -> bool:  # (under self.lock)
        return not self.closed and self.running + len(self.helpers) < self.jobs

    def _help(self, board: str) -> None:
        worker, stopped = None, False
        try:
            worker = self.pool.acquire(self.threads, self.modules)
            with self.lock:
                if self.closed:
                    return
                self.helpers[board] = worker
            reply = worker.request("help", board=board, folds_directory=self.folds, cwd=os.getcwd(), path=list(sys.path))
            stopped = reply["stopped"]
        except (WorkerDied, OSError, EOFError):
            pass  # the search computes what the helper did not
        finally:
            if worker is not None:
                self.pool.release(worker, reuse=False)
            with self.lock:
                self.helpers.pop(board, None)
                if not stopped and board in self.boards:  # nothing left to claim: done with it
                    self.boards.remove(board)
        self._settle()


def _stop(worker: WorkerProcess) -> None:
    """Ask a helper to stop after its current task (it polls between tasks)."""
    try:
        worker.send("stop")
    except WorkerDied:
        pass


__all__ = ["HelpDesk", "SETTLE_SECONDS"]
