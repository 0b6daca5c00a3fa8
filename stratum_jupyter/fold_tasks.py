"""Model-selection tasks computed ahead by idle workers (fold-level work stealing).

A search — ``GridSearchCV``/``RandomizedSearchCV(...).fit``, ``cross_validate`` and what is built
on it — runs its (candidate, fold) tasks, scikit-learn's ``_fit_and_score``, one after another
when its ``n_jobs`` is None or 1, as agents write it. Often one such search runs alone at the end
of a batch while the other cores idle. So, in a worker process, a search whose remaining tasks
are worth it posts them on a *board* in the run's fold store and tells the kernel
(:data:`post_notice`); when a core is free, the kernel has an idle worker compute them from the
last backwards (:func:`help_board`, :mod:`.runtime.helpers`) while the search goes on from the
first. Each task is done once, by whoever claims it first (an exclusive file); the search takes a
helper's result — its scores and timings, and the warnings it raised, raised again here —
instead of computing it.

Exact by construction: a helper runs the very call the search would make (the same arguments,
pickled, under the same scikit-learn configuration), and its result is used only when that call
is a function of its arguments: scikit-learn's own estimators and scorers under the rules of the
fold keys (:mod:`.model_selection`), no draw from the global RNGs, nothing printed, no fit error,
no callbacks, verbosity or returned estimators. Otherwise the search computes the task itself.

The same rules let a search use its own waits: when a task finds a fold another search is
computing (two candidates' searches on the same folds), the search computes its own later tasks
meanwhile, from the last (:meth:`Board._work_ahead`; a draw from the global RNGs is undone), and
takes their results in turn.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import itertools
import os
import pickle
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from . import folds, model_selection

#: A search posts its remaining tasks when they would take at least this long (judged by its
#: first task): a helper needs ~0.1 s to start (fork, first calls) and the board costs a pickle.
POST_AFTER_SECONDS = 0.3

#: Set in a worker process: tells the kernel a board was posted (True) or closed (False). None
#: elsewhere (threads, the kernel itself): nobody could help there, nothing is posted.
post_notice: Callable[[str, bool], object] | None = None

_lock = threading.Lock()
_original_call = None  # sklearn.utils.parallel.Parallel.__call__


def install() -> None:
    """Route ``sklearn.utils.parallel.Parallel.__call__`` through :func:`_parallel_call` once
    scikit-learn has loaded it. Cheap: called before every step."""
    global _original_call
    cls = getattr(sys.modules.get("sklearn.utils.parallel"), "Parallel", None)
    current = getattr(cls, "__dict__", {}).get("__call__")
    if current is None or current is _parallel_call or _original_call not in (None, current):
        return
    with _lock:
        if cls.__dict__.get("__call__") is current:
            _original_call = current
            cls.__call__ = _parallel_call


def uninstall() -> None:
    """Give scikit-learn its own ``Parallel.__call__`` back."""
    cls = getattr(sys.modules.get("sklearn.utils.parallel"), "Parallel", None)
    with _lock:
        if cls is not None and cls.__dict__.get("__call__") is _parallel_call:
            cls.__call__ = _original_call


def _parallel_call(self, iterable):
    original = _original_call
    store = model_selection.active_store()
    if post_notice is None or store is None or model_selection.nested() or not _sequential(self):
        return original(self, iterable)
    items = iter(iterable)
    rng_before = model_selection.global_rng_state()
    first = next(items, None)
    if first is None or _task_function(first) is None:
        return original(self, itertools.chain([] if first is None else [first], items))
    if not model_selection.same_rng_state(rng_before, model_selection.global_rng_state()):
        # The splits are drawn from the global RNG as they are taken (a shuffling splitter
        # without random_state, in cross_validate): taking them all now would move those draws
        # before the fits', and a fit that draws too (Lasso seeds its solver) then sees others.
        return original(self, itertools.chain([first], items))
    tasks, function = [first, *items], _task_function(first)
    if len(tasks) < 3 or model_selection.errors_on_warnings():
        return original(self, tasks)
    board = Board(store, f"board-{uuid.uuid4().hex[:12]}", function, tasks)
    try:
        return original(self, [(type(wrapper)(functools.partial(board.run, i)), args, kwargs)
                               for i, (wrapper, args, kwargs) in enumerate(tasks)])
    finally:
        board.close()


def _sequential(parallel) -> bool:
    try:
        return parallel._effective_n_jobs() == 1
    except Exception:  # noqa: BLE001 - another joblib: leave it alone
        return False


def _task_function(item) -> Callable | None:
    """scikit-learn's ``_fit_and_score`` if ``item`` (a delayed call) is one of its tasks."""
    try:
        wrapper, _args, _kwargs = item
    except (TypeError, ValueError):
        return None
    function = getattr(wrapper, "function", None)
    validation = sys.modules.get("sklearn.model_selection._validation")
    return function if function is not None and function is getattr(validation, "_fit_and_score", None) else None


def _movable(function: Callable, item) -> bool:
    """Whether the task's result is a function of its arguments alone, computed anywhere."""
    _wrapper, args, kwargs = item
    try:
        bound = inspect.signature(function).bind(*args, **kwargs).arguments
        if bound.get("verbose") or bound.get("return_estimator") or bound.get("fit_params") or bound.get("score_params"):
            return False
        if getattr(bound.get("callback_ctx"), "_callbacks", None):  # scikit-learn ≥ 1.9: a context always comes
            return False
        model_selection.check_movable(bound["estimator"])
        for value in (bound.get("parameters") or {}).values():
            model_selection.check_movable_value(value)
        model_selection.check_scorer(bound["scorer"])
        return True
    except Exception:  # noqa: BLE001 - _Unsafe, or a signature of another version
        return False


class Board:
    """The remaining tasks of one search, in the fold store: ``NAME.tasks`` (pickled, for
    helpers), and per task ``NAME-I.claim`` (who does it), ``NAME-I.lock`` (held while a helper
    computes it) and ``NAME-I.result``; ``NAME.closed`` once the search is past its tasks."""

    def __init__(self, store: folds.FoldStore, name: str, function: Callable, tasks: list) -> None:
        self.store = store
        self.directory = Path(store.directory)
        self.name = name
        self.function = function
        self.tasks = tasks
        self.posted = False
        self.current = -1  # the task the search runs now
        self.ahead: dict[int, tuple] = {}  # index → (result, warnings) computed while waiting
        self.refused: set[int] = set()  # tried while waiting, but the search must run them itself
        self.checked: dict[int, bool] = {}  # index → whether it may run out of its turn (_movable)

    def movable(self, index: int) -> bool:
        """Whether task ``index`` may run out of its turn or elsewhere (:func:`_movable`): asked
        only of tasks about to, since the search runs its tasks in turn without asking."""
        if index not in self.checked:
            self.checked[index] = _movable(self.function, self.tasks[index])
        return self.checked[index]

    def path(self, suffix: str, index: int | None = None) -> Path:
        return self.directory / (f"{self.name}{'' if index is None else f'-{index}'}.{suffix}")

    def run(self, index: int, *args, **kwargs):
        """Task ``index`` as the search runs it: computed here (meanwhile, a wait for a fold
        another process computes goes to the later tasks: :meth:`_work_ahead`), taken from
        what was computed ahead, or from a helper."""
        ahead = self.ahead.pop(index, None)
        if ahead is not None:
            result, caught = ahead
            model_selection.replay(caught)
            self._record(index, "ahead", args, kwargs)
            return result
        self.current = index
        with folds.meanwhile(self._work_ahead):
            return self._run(index, args, kwargs)

    def _work_ahead(self) -> bool:
        """Compute the last task nobody has taken yet, while the current one waits for a fold
        another process computes: two searches on the same folds then split the folds' shared
        fits between them (one from the first, the other from the last) instead of one idling
        behind the other. False when no task is left. Kept only when exact (:func:`_attempt`);
        otherwise the search runs the task itself, in its turn."""
        for index in range(len(self.tasks) - 1, self.current, -1):
            if index in self.ahead or index in self.refused or (self.posted and not self._claim(index)):
                continue
            if not self.movable(index):
                self.refused.add(index)
                continue
            _wrapper, args, kwargs = self.tasks[index]
            outcome = _attempt(self.function, args, kwargs)
            if outcome is None:
                self.refused.add(index)
            else:
                self.ahead[index] = outcome
            return True
        return False

    def _run(self, index: int, args: tuple, kwargs: dict):
        if index in self.refused:  # tried ahead (and claimed, if posted): runs here, in its turn
            return self.function(*args, **kwargs)
        if not self.posted:
            start = time.perf_counter()
            result = self.function(*args, **kwargs)
            left = sum(1 for later in range(index + 1, len(self.tasks)) if later not in self.ahead and later not in self.refused)
            remaining = (time.perf_counter() - start) * left
            if remaining >= POST_AFTER_SECONDS and self._worth_posting(remaining, args):
                self._post(index + 1)
            return result
        if self._claim(index):
            return self.function(*args, **kwargs)
        taken = self._wait(index)
        if taken is None:  # the helper gave up on it (or died): compute it here
            return self.function(*args, **kwargs)
        result, caught = taken
        model_selection.replay(caught)
        self._record(index, "helped", args, kwargs)
        return result

    def _record(self, index: int, kind: str, args: tuple, kwargs: dict) -> None:
        label = _label(args[0] if args else kwargs.get("estimator"))
        self.store.record_event(f"{self.name}-{index}", self.name, label, kind, 0.0, TASK)

    @staticmethod
    def _worth_posting(remaining: float, args: tuple) -> bool:
        """Whether the data a helper needs (the search's X and y, pickled once, read back by the
        helper) is small for the work it may take over: the step cache's measure of worth."""
        from .execution import worth_keeping
        from .memory import sizeof

        return worth_keeping(remaining, sum(sizeof(value) for value in args[1:3]))

    def _post(self, start: int) -> None:
        """Post tasks ``start``… for helpers (nothing happens when one may not run elsewhere or
        they cannot be pickled)."""
        from sklearn import get_config

        if not all(self.movable(index) for index in range(start, len(self.tasks))):
            return

        try:
            data = pickle.dumps((self.function, get_config(), start, [(a, k) for _, a, k in self.tasks[start:]],
                                 self.store.pipeline, self.store.step), protocol=5)
        except Exception:  # noqa: BLE001 - data that cannot travel: the search goes on alone
            return
        for index in {*self.ahead, *self.refused}:  # done here already: no helper takes them
            self._claim(index)
        temporary = self.path("tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path("tasks"))
        self.posted = True
        post_notice(str(self.path("tasks")), True)

    def _claim(self, index: int) -> bool:
        try:
            os.close(os.open(self.path("claim", index), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            return False

    def _wait(self, index: int) -> tuple | None:
        """The helper's (result, warnings) for a task it claimed, once it let go of its lock (the
        runtime lends this step's place meanwhile)."""
        with self.store.locked(f"{self.name}-{index}", 0.0):
            pass
        try:
            return pickle.loads(self.path("result", index).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            return None

    def close(self) -> None:
        if self.posted:
            close_board(str(self.path("tasks")))
            post_notice(str(self.path("tasks")), False)


def close_board(tasks: str) -> None:
    """Mark the board whose tasks file is ``tasks`` closed: its helpers stop at their next task."""
    closed = Path(tasks).with_suffix(".closed")
    if Path(tasks).exists() and not closed.exists():
        closed.touch()


#: What a task does, for ``%stratum explain``.
TASK = "fit+score"


def _label(estimator) -> str:
    model = model_selection.final_step(estimator)
    return f"{type(estimator).__name__}({type(model).__name__})" if model is not estimator else type(model).__name__


def help_board(path: str, stop: Callable[[], bool]) -> int:
    """Compute the tasks of the board at ``path`` nobody claimed, from the last backwards, until
    none is left, the board closes or ``stop()``; returns how many were computed. Runs in a
    worker process whose fold store is the board's."""
    board_file = Path(path)
    function, config, start, tasks, pipeline, step = pickle.loads(board_file.read_bytes())
    board = Board(model_selection.active_store(), board_file.stem, function, [])
    computed = 0
    for offset in range(len(tasks) - 1, -1, -1):
        if stop() or board.path("closed").exists():
            break
        index = start + offset
        with open(board.path("lock", index), "a+b") as handle:
            if not folds.lock_within(handle, 0.0) or not board._claim(index):
                continue  # the search (or another helper) has it
            args, kwargs = tasks[offset]
            model_selection.before_step(pipeline, step)
            outcome = _compute(function, config, args, kwargs)
            if outcome is not None:
                temporary = board.path("tmp", index)
                temporary.write_bytes(outcome)
                os.replace(temporary, board.path("result", index))
                computed += 1
            # unlocked when the file closes: the search, waiting on the lock, reads the result
    return computed


def _compute(function: Callable, config: dict, args: tuple, kwargs: dict) -> bytes | None:
    """A helper's pickled (result, warnings) of one task, under the search's scikit-learn
    configuration, or None (see :func:`_attempt`)."""
    from sklearn import config_context

    try:
        with config_context(**config):
            outcome = _attempt(function, args, kwargs)
    except BaseException:  # noqa: BLE001 - the search raises it itself, as it would
        return None
    try:
        return pickle.dumps(outcome, protocol=5) if outcome is not None else None
    except Exception:  # noqa: BLE001
        return None


def _attempt(function: Callable, args: tuple, kwargs: dict) -> tuple | None:
    """(result, warnings) of one task run out of its turn, or None when the search must run it
    itself, in its turn: it failed, drew from the global RNGs (their state is put back), printed,
    or its fit failed."""
    from .runtime.worker import set_rng_state

    rng_before = model_selection.global_rng_state()
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(record=True) as log, contextlib.redirect_stdout(printed), \
                contextlib.redirect_stderr(printed):
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the search raises it itself, in its turn
        result = None
    caught = [(w.message, w.category, w.filename, w.lineno) for w in log]
    if not model_selection.same_rng_state(rng_before, model_selection.global_rng_state()):
        set_rng_state(rng_before)
        return None
    if printed.getvalue() or not isinstance(result, dict) or result.get("fit_error") is not None:
        return None
    return result, caught


__all__ = ["Board", "POST_AFTER_SECONDS", "TASK", "close_board", "help_board", "install", "uninstall"]
