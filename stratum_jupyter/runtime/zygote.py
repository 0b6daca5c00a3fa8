"""The fork server: one spawned process per native-thread budget that imports the batch's
libraries once and forks warm workers from itself on request.

Why: a spawned worker imports pandas, scikit-learn and a booster library itself — several
CPU-seconds and a few hundred MB of private heap per worker. Forked from a process that already
holds them, a worker starts in milliseconds and shares that heap copy-on-write (``gc.freeze``
keeps the collector from touching, and so copying, the inherited objects).

Forking is safe here and only here: this process is single-threaded and never runs user code,
so no OpenMP region has ever run in it (libgomp's thread pool does not survive a fork; loading
the library is harmless). It is started with the thread limits of its budget in its environment,
which its workers inherit.

Protocol, over a ``SOCK_SEQPACKET`` socket (one pickled message per packet):

- ``("import", modules)``, no reply (a later request is answered after the imports);
- ``("fork",)`` with the worker's end of a kernel connection as the one passed descriptor →
  ``("forked", pid)``; the child serves that connection (:class:`.worker.Worker`);
- ``("reap", pid)`` → ``("reaped", exit code or -signal, or None if it did not end in 2 s)``.
  Children are reaped only when asked, so a pid can never be reused while the kernel may still
  signal it.
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import signal
import socket
import sys
import time
import traceback

MAX_MESSAGE = 1 << 16
REAP_SECONDS = 2.0


def send(sock: socket.socket, message: tuple, fds: list[int] | None = None) -> None:
    """One message (and descriptors) as one packet."""
    socket.send_fds(sock, [pickle.dumps(message)], fds or [])


def receive(sock: socket.socket) -> tuple[tuple, list[int]]:
    """One message and the descriptors that came with it; EOFError when the peer is gone."""
    data, fds, _flags, _address = socket.recv_fds(sock, MAX_MESSAGE, 4)
    if not data:
        raise EOFError
    return pickle.loads(data), fds


def import_all(modules: list[str]) -> None:
    """Import what the cells import, ahead of them; a failure is the cell's to report."""
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the cell reports its own import errors
            pass


class Zygote:
    """The request loop of the fork server."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: set[int] = set()  # forked workers not yet reaped

    def end_children(self) -> None:
        """End every worker with what it started (each is its own process group): when this
        server ends, the OS ends its workers, but not their children (loky's, subprocesses)."""
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def serve(self) -> None:
        while True:
            try:
                message, fds = receive(self.sock)
            except (EOFError, OSError):
                return  # the kernel went away
            kind, *args = message
            if kind == "import":
                self.load(args[0])
            elif kind == "fork":
                send(self.sock, ("forked", self.fork(fds[0])))
            elif kind == "reap":
                send(self.sock, ("reaped", self.reap(args[0])))

    @staticmethod
    def load(modules: list[str]) -> None:
        import_all(modules)
        gc.freeze()  # inherited objects stay shared: the child's collector never writes to them

    def fork(self, fd: int) -> int:
        """The child's pid here; in the child, serves ``fd`` as a worker and never returns."""
        zygote = os.getpid()
        pid = os.fork()
        if pid:
            os.close(fd)
            self.children.add(pid)
            return pid
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's handler would end the siblings
            self.sock.close()
            from . import worker

            worker.serve(fd, zygote)
        except BaseException:  # noqa: BLE001 - a bug of ours: say so, as an uncaught error would
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)

    def reap(self, pid: int) -> int | None:
        deadline = time.monotonic() + REAP_SECONDS
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                self.children.discard(pid)
                return None
            if done:
                self.children.discard(pid)  # its pid may be reused from now on
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)


def main() -> None:
    """Entry point: ``python -c "...; main()" FD KERNEL_PID`` (spawned by :class:`.pool.ForkServer`)."""
    from . import worker  # loaded once here, so forked workers start with it

    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    zygote = Zygote(socket.socket(fileno=fd))

    def end(_signum, _frame) -> None:  # the kernel died or ends us: our workers' children too
        zygote.end_children()
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    worker.die_with_parent(parent, signal.SIGTERM)
    try:
        zygote.serve()
    finally:
        zygote.end_children()
