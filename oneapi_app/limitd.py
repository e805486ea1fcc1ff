"""Rate limits shared by the workers of ``oneapi serve --workers N`` on one machine, without Redis.

The master process keeps the limits' state -- the same memory backend a single process uses
(relay/limits_local.py: the per-token and per-user buckets and slots, the per-IP windows) -- and answers its
workers over one socket pair each (``LimitServer``, run by the master's loop in workers.py). A worker asks in
one round trip per check (``LimitLink``): every bucket and slot of a request's token and user at once, or one
per-IP window. Releases are not answered: they leave in the next write, batched with whatever else is going.
The master's clock is the only clock, so every worker sees the same buckets.

Failures: a worker whose question is not answered within ``ANSWER_TIMEOUT`` counts in its own memory (the
limits of one process) for ``RETRY`` seconds, then asks again; a link that closes leaves the worker on its
own memory for good (its master is gone: the worker gets SIGTERM). Both are logged once. An answer that
arrives too late to be used is given back at once. A worker that dies, or whose link closes, has every
slot it held freed in the master.

Wire format: one JSON array per line. Worker to master: ``[1, n, [[scope, rpm, tpm, concurrency], ...]]``
(check), ``[2, n, tokens]`` (release of check n), ``[3, n, key, limit, seconds]`` (a per-IP window).
Master to worker: ``[n, 1]`` (admitted / allowed), ``[n, 0]`` (window refused) or ``[n, 0, scope index,
kind, wait ms, rpm, remaining requests, reset ms, tpm, remaining tokens, reset ms]`` (check refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import selectors
import socket
import time

import orjson

from .relay.limits_local import Buckets, Refused, Scope, Windows

log = logging.getLogger(__name__)
LIMITS_FD_ENV = "ONEAPI_LIMITS_FD"  # a worker's end of its limits socket pair to the master
ANSWER_TIMEOUT = 1.0  # seconds a worker waits for the master before counting alone
RETRY = 1.0  # seconds a worker counts alone after an unanswered question, before asking again
MAX_OUT = 4 * 1024 * 1024  # bytes of answers a worker leaves unread before the master drops its link
CHECK, RELEASE, WINDOW = 1, 2, 3


# -- the master's side --------------------------------------------------------------------------------------
class LimitConn:
    """The master's end of one worker's link, and what that worker holds."""

    __slots__ = ("buffer", "held", "out", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.buffer = b""
        self.out = b""
        self.held: dict[int, list[Scope]] = {}  # check number -> the scopes it holds until released


class LimitServer:
    """The machine's limits, served to the workers from the master's selector loop (never blocks)."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self.selector = selector
        self.buckets = Buckets()
        self.windows = Windows()
        self.conns: list[LimitConn] = []

    def attach(self) -> tuple[LimitConn, socket.socket]:
        """A new link: the master's end (registered) and the worker's end (to pass to the worker)."""
        mine, theirs = socket.socketpair()
        mine.setblocking(False)
        conn = LimitConn(mine)
        self.selector.register(mine, selectors.EVENT_READ, conn)
        self.conns.append(conn)
        return conn, theirs

    def close_in_child(self) -> None:
        """In a freshly forked worker: close the master's ends it inherited (the state is the master's)."""
        for conn in self.conns:
            if conn.sock is not None:
                conn.sock.close()
        self.conns = []

    def drop(self, conn: LimitConn) -> None:
        """The worker is gone (or its link is broken): free every slot it held."""
        if conn.sock is None:
            return
        now = time.monotonic() * 1000
        for scopes in conn.held.values():
            self.buckets.give(scopes, 0, now)
        if conn.held:
            log.info("freed %d rate-limit slots held by a worker that left", len(conn.held))
        conn.held.clear()
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        conn.sock.close()
        conn.sock = None
        conn.out = conn.buffer = b""
        with contextlib.suppress(ValueError):
            self.conns.remove(conn)

    def ready(self, conn: LimitConn, events: int) -> None:
        """The selector says ``conn`` can be read (questions) or written (answers left over)."""
        sock = conn.sock
        if sock is None:
            return
        if events & selectors.EVENT_READ:
            try:
                data = sock.recv(262144)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data == b"":
                self.drop(conn)
                return
            if data:
                answers = self.answer(conn, data)
                if answers:
                    conn.out += answers
        if conn.out:
            self._send(conn)

    def answer(self, conn: LimitConn, data: bytes) -> bytes:
        """The answers to the complete lines in ``data`` (after what was left over of the last read)."""
        *lines, conn.buffer = (conn.buffer + data).split(b"\n")
        out = []
        now = time.monotonic()
        for line in lines:
            try:
                question = orjson.loads(line)
                op, seq = question[0], question[1]
                if op == CHECK:
                    scopes = [Scope(*scope) for scope in question[2]]
                    refused = self.buckets.take(scopes, now * 1000)
                    if refused is None:
                        conn.held[seq] = scopes
                        out.append(b"[%d,1]\n" % seq)
                    else:
                        index, kind, wait, numbers = refused
                        out.append(orjson.dumps([seq, 0, index, kind, wait, *numbers]) + b"\n")
                elif op == RELEASE:
                    held = conn.held.pop(seq, None)
                    if held is not None:
                        self.buckets.give(held, question[2], now * 1000)
                elif op == WINDOW:
                    allowed = self.windows.allow(question[2], question[3], question[4], now)
                    out.append(b"[%d,%d]\n" % (seq, allowed))
            except (orjson.JSONDecodeError, IndexError, TypeError, ValueError):
                log.warning("ignored a malformed rate-limit question from a worker")
        return b"".join(out)

    def _send(self, conn: LimitConn) -> None:
        assert conn.sock is not None
        try:
            sent = conn.sock.send(conn.out)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.drop(conn)
            return
        conn.out = conn.out[sent:]
        if len(conn.out) > MAX_OUT:  # the worker stopped reading: it counts alone (its slots are freed)
            log.warning("a worker does not read its rate-limit answers: dropping its link")
            self.drop(conn)
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        if self.selector.get_key(conn.sock).events != wanted:
            self.selector.modify(conn.sock, wanted, conn)


# -- a worker's side ----------------------------------------------------------------------------------------
class LimitLink(asyncio.Protocol):
    """A worker's link to the master's limits (``runtime.limit_link``). ``check`` and ``window`` answer None
    when the master cannot be used: the caller then counts in its own memory."""

    def __init__(self, timeout: float = ANSWER_TIMEOUT, retry: float = RETRY) -> None:
        self.timeout = timeout
        self.retry = retry
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = 0
        self._pending: dict[int, tuple[asyncio.Future, float]] = {}  # question number -> (answer, asked at)
        self._out: list[bytes] = []
        self._buffer = b""
        self._watchdog: asyncio.TimerHandle | None = None
        self._alone_until = 0.0  # loop time until which questions are not asked (the master did not answer)
        self.degraded = False  # counting alone: the master did not answer, or the link closed
        self.closed = False

    @classmethod
    async def open(cls, sock: socket.socket, **kwargs: float) -> LimitLink:
        loop = asyncio.get_running_loop()
        link = cls(**kwargs)
        link._loop = loop
        await loop.create_unix_connection(lambda: link, sock=sock)
        return link

    def close(self) -> None:
        """This worker stops (its last releases leave first)."""
        if self._transport is not None:
            self._flush()
            self.degraded = True  # not worth a warning
            self._transport.close()

    # -- the two questions ---------------------------------------------------------------------------------
    async def check(self, scopes: list[Scope]) -> tuple[int, Refused | None] | None:
        """Take a request from every scope in the master: (its number, None) when admitted (release it with
        that number), (0, the refusal) when refused, None when the master cannot be asked."""
        seq = self._seq + 1
        answer = await self._ask(seq, orjson.dumps([CHECK, seq, [[s.name, s.rpm, s.tpm, s.concurrency]
                                                                  for s in scopes]]))
        if answer is None:
            return None
        if answer[1] == 1:
            return seq, None
        return 0, (answer[2], answer[3], answer[4], tuple(answer[5:11]))

    async def window(self, key: str, limit: int, duration: float) -> bool | None:
        """Count a request in the master's sliding window ``key``; None when the master cannot be asked."""
        seq = self._seq + 1
        answer = await self._ask(seq, orjson.dumps([WINDOW, seq, key, limit, duration]))
        return None if answer is None else answer[1] == 1

    def release(self, seq: int, tokens: int) -> None:
        """Check ``seq`` ended having used ``tokens`` (sent with the next write; never answered)."""
        if self._transport is not None and not self.closed:
            self._queue(b"[2,%d,%d]\n" % (seq, max(tokens, 0)))

    async def _ask(self, seq: int, question: bytes) -> list | None:
        if self.closed or self._transport is None:
            return None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        if now < self._alone_until:
            return None
        self._seq = seq
        future = loop.create_future()
        self._pending[seq] = (future, now)
        self._queue(question + b"\n")
        if self._watchdog is None:
            self._watchdog = loop.call_at(now + self.timeout, self._watch)
        return await future

    def _queue(self, line: bytes) -> None:
        if not self._out:
            assert self._loop is not None
            self._loop.call_soon(self._flush)  # the questions of this loop turn leave in one write
        self._out.append(line)

    def _flush(self) -> None:
        if self._out and self._transport is not None and not self.closed:
            self._transport.write(b"".join(self._out))
        self._out = []

    # -- answers, silence, the end ---------------------------------------------------------------------------
    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            try:
                answer = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            entry = self._pending.pop(answer[0], None)
            if entry is not None and not entry[0].done():
                entry[0].set_result(answer)
                if self.degraded:
                    self.degraded = False
                    log.warning("the master process answers again: rate limits are shared by the workers again")
            elif answer[1] == 1:  # admitted too late to be used (the request was counted here): give it back
                self.release(answer[0], 0)

    def _watch(self) -> None:
        assert self._loop is not None
        self._watchdog = None
        now = self._loop.time()
        late = [seq for seq, (_f, asked) in self._pending.items() if now - asked >= self.timeout]
        for seq in late:
            future, _asked = self._pending.pop(seq)
            if not future.done():
                future.set_result(None)
        if late:
            self._alone_until = now + self.retry
            if not self.degraded:
                self.degraded = True
                log.warning("the master process did not answer a rate-limit question within %.1f s: this worker "
                            "counts the limits alone meanwhile (up to N times a limit across N workers)",
                            self.timeout)
        if self._pending:
            oldest = next(iter(self._pending.values()))[1]
            self._watchdog = self._loop.call_at(oldest + self.timeout, self._watch)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._transport = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for future, _asked in self._pending.values():
            if not future.done():
                future.set_result(None)
        self._pending.clear()
        if not self.degraded:
            self.degraded = True
            log.warning("the link to the master process closed: this worker counts the rate limits alone")
