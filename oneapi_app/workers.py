"""Several processes on one port: ``oneapi serve --workers N`` (or WORKERS; 0 = min(cores, 4)).

The master process binds the port N times with SO_REUSEPORT (the kernel spreads connections evenly over
the sockets), then forks one worker per socket; each worker runs its own server, Runtime and event loop.
The master keeps the sockets: a worker that dies is forked again on the same socket (connections queued
meanwhile wait in its backlog), and SIGTERM/SIGINT is passed to every worker, which finishes its in-flight
requests and flushes its writers before exiting. A worker whose master dies gets SIGTERM (Linux
PR_SET_PDEATHSIG), so a killed master leaves no orphan holding the port.

What the workers share:

* the database: SQLite in WAL mode with a busy timeout on every connection (db.py; the ledger's writer
  thread waits for the lock, services/ledger/sqlite.py), or PostgreSQL/MySQL;
* change notices (token disabled, channel edited, option saved): each worker has a socket pair to the
  master, which passes every line on to the other workers (changes.py) -- no Redis needed on one machine;
  with REDIS_CONN_STRING they also go through Redis, to the other nodes;
* quota: never cached for a decision; the reservation is a conditional UPDATE in the shared database;
* rate limits (per token and user: RPM, TPM, concurrency; per IP: GLOBAL_API/WEB_RATE_LIMIT, login
  attempts): in Redis when configured; without Redis, in the master, which serves them to each worker over
  a second socket pair (limitd.py: one round trip per check, releases batched), so the machine admits a
  limit once. A worker the master does not answer counts alone meanwhile; the slots of a worker that dies
  are freed when the master sees its link close (or reaps it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .limitd import LIMITS_FD_ENV, LimitConn, LimitServer

log = logging.getLogger("oneapi.workers")
PEER_FD_ENV = "ONEAPI_PEER_FD"  # a worker's end of its socket pair to the master (changes.py)
WORKER_ENV = "ONEAPI_WORKER"  # the worker's number, 0..N-1
MAX_AUTO = 4  # WORKERS=0: min(cores, 4) -- a NAS has few cores and little memory per process
RESPAWN_WINDOW = 30.0  # seconds: a worker dying this soon after start counts as a crash loop
MAX_QUICK_DEATHS = 5


def worker_count(requested: int) -> int:
    """WORKERS/--workers: the number asked for, or (0) the machine's cores, at most 4."""
    if requested > 0:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO))


def bind_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one address (SO_REUSEPORT); OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(2048)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _die_with_parent() -> None:
    """Linux: this process gets SIGTERM when its parent (the master) dies."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class _Worker:
    index: int
    sock: socket.socket
    pid: int = 0
    link: socket.socket | None = None  # the master's end of the change link
    started: float = 0.0
    buffer: bytes = field(default=b"")
    limits: LimitConn | None = None  # the master's end of the rate-limit link (limitd.py)


class Supervisor:
    """Forks the workers, relays change notices between them, restarts the ones that die, stops them all."""

    def __init__(self, sockets: list[socket.socket], serve: Callable[[socket.socket], int],
                 shutdown_timeout: float) -> None:
        self.workers = [_Worker(i, sock) for i, sock in enumerate(sockets)]
        self.serve = serve
        self.shutdown_timeout = shutdown_timeout
        self.stopping = False
        self.failed = False
        self._quick_deaths = 0
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.limits = LimitServer(self._selector)  # the machine's rate limits, without Redis (limitd.py)

    # -- forking --------------------------------------------------------------------------------------
    def _spawn(self, worker: _Worker) -> None:
        mine, theirs = socket.socketpair()
        limits_theirs = self._open_limits(worker)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                mine.close()
                self._selector.close()
                for other in self.workers:
                    if other.link is not None:
                        other.link.close()
                    if other is not worker:
                        other.sock.close()
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._limits_in_child(limits_theirs)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _die_with_parent()
                theirs.set_inheritable(False)
                os.environ[PEER_FD_ENV] = str(theirs.detach())
                os.environ[WORKER_ENV] = str(worker.index)
                code = self.serve(worker.sock)
            except BaseException:
                log.exception("worker %d failed", worker.index)
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        theirs.close()
        limits_theirs.close()
        mine.setblocking(False)
        worker.pid, worker.link, worker.started, worker.buffer = pid, mine, time.monotonic(), b""
        self._selector.register(mine, selectors.EVENT_READ, worker)
        log.info("worker %d started (pid %d)", worker.index, pid)

    def _forget_link(self, worker: _Worker) -> None:
        if worker.link is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(worker.link)
            worker.link.close()
            worker.link = None

    # -- the rate-limit link (limitd.py) ------------------------------------------------------------------
    def _open_limits(self, worker: _Worker) -> socket.socket:
        """A new rate-limit link for ``worker``: the master keeps its end, the worker's end is returned."""
        self._close_limits(worker)
        worker.limits, theirs = self.limits.attach()
        return theirs

    def _limits_in_child(self, theirs: socket.socket) -> None:
        """In the forked worker: drop the master's ends, hand this worker's end to its Runtime."""
        self.limits.close_in_child()
        theirs.set_inheritable(False)
        os.environ[LIMITS_FD_ENV] = str(theirs.detach())

    def _close_limits(self, worker: _Worker) -> None:
        """The worker is gone: the slots it held are freed."""
        if worker.limits is not None:
            self.limits.drop(worker.limits)
            worker.limits = None

    # -- the change link --------------------------------------------------------------------------------
    def _relay(self, worker: _Worker) -> None:
        assert worker.link is not None
        try:
            data = worker.link.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._forget_link(worker)
            return
        worker.buffer += data
        *lines, worker.buffer = worker.buffer.split(b"\n")
        payload = b"".join(line + b"\n" for line in lines if line)
        if not payload:
            return
        for other in self.workers:
            if other is worker or other.link is None:
                continue
            try:
                other.link.setblocking(True)
                other.link.settimeout(2)
                other.link.sendall(payload)
            except OSError:
                log.warning("could not pass a change notice to worker %d", other.index)
            finally:
                if other.link is not None:
                    other.link.setblocking(False)

    # -- the loop -----------------------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != signal.SIGCHLD:
            self.stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = next((w for w in self.workers if w.pid == pid), None)
            if worker is None:
                continue
            worker.pid = 0
            self._forget_link(worker)
            self._close_limits(worker)
            if self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            quick = time.monotonic() - worker.started < RESPAWN_WINDOW
            self._quick_deaths = self._quick_deaths + 1 if quick else 0
            if self._quick_deaths >= MAX_QUICK_DEATHS:
                log.error("workers keep dying at start (last exit %s): stopping", code)
                self.failed = self.stopping = True
                return
            log.warning("worker %d (pid %d) exited with %s: starting it again", worker.index, pid, code)
            self._spawn(worker)

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, self._on_signal)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        for worker in self.workers:
            self._spawn(worker)
        while not self.stopping:
            self._serve(1.0)
            self._reap()
        self._stop_all()
        return 1 if self.failed else 0

    def _serve(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the workers' links (change notices, rate-limit questions) or a
        signal, and serve what came."""
        for key, events in self._selector.select(timeout=timeout):
            if key.data is None:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 512)
            elif isinstance(key.data, LimitConn):
                self.limits.ready(key.data, events)
            else:
                self._relay(key.data)

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_timeout + 15
        while any(w.pid for w in self.workers) and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                self._serve(0.1)  # the workers finishing their requests still ask for their rate limits
                continue
            for worker in self.workers:
                if worker.pid == pid:
                    worker.pid = 0
                    self._forget_link(worker)
                    self._close_limits(worker)
        for worker in self.workers:
            if worker.pid:
                log.warning("worker %d did not stop in time: killing it", worker.index)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(worker.pid, 0)
        for worker in self.workers:
            worker.sock.close()
        log.info("all workers stopped")
