"""On SQLite, every ledger write goes through one thread holding one sqlite3 connection (or, when the
database is not locked, the event loop's own connection: no thread hop).

SQLite allows one writer at a time; many async connections writing at once wait on the file lock with
busy-sleeps (tens to hundreds of ms). Funnelling the relay's writes through one thread removes that
contention, and lets reservations that arrive together share one transaction (group commit): each is still
its own conditional UPDATE whose outcome is reported to its request, and all are durable before any request
proceeds.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .rules import Hold, Plan, reserve_plan, run_sync

BUSY = "busy"  # the inline attempt found the database locked: use the writer thread
# A PASSIVE checkpoint never catches up with a steady stream of commits (frames keep arriving while it copies),
# so the WAL is never restarted and grows without bound under sustained load (about 14 KB per relayed request:
# 40 MB/s at 3,000 req/s, measured with bench/relay.py). Past this many frames (4 KiB pages: 128 MiB) the
# checkpointer restarts it (the next commits overwrite it from its start, so the file stays about this size):
# the PASSIVE pass has just copied nearly everything, so the RESTART pass only waits for the writer in progress
# and copies the few frames added meanwhile. New writers wait for it at most RESTART_WAIT_MS (the inline
# reservation falls back to the writer thread); a reader on an old snapshot makes it give up until next time.
RESTART_AT_FRAMES = 32768
RESTART_WAIT_MS = 100


def in_transaction(conn: sqlite3.Connection, plan: Plan) -> Any:
    """Run ``plan`` in one BEGIN IMMEDIATE transaction (on the inline connection it fails at once when locked)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = run_sync(conn, plan)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _checkpoint(conn: sqlite3.Connection) -> int:
    """The WAL's frames after a PASSIVE checkpoint (0: restarted)."""
    _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if frames >= RESTART_AT_FRAMES:
        busy, _frames, _copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        if busy == 0:
            return 0
    return max(frames, 0)


class SqliteWriter:
    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None
        self._pending: list[tuple[Hold, asyncio.Future]] = []
        self._running = False
        self._turn: list[tuple[Hold, asyncio.Future]] = []  # this loop turn's group (reserve_now_or_in_turn)
        self._grouping = False  # the last turn's group had several reservations
        self._alone_this_turn = False  # a reservation was committed at once in this turn

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self.busy_timeout_ms / 1000)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (the only fsyncs in WAL mode) run on their own connection and thread, never in the
        # middle of a reservation: see checkpoint().
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn = conn
        self._checkpoint_conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                                timeout=RESTART_WAIT_MS / 1000)
        # The inline connection never waits for the lock (it runs on the event loop): busy -> writer thread.
        inline = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        inline.execute("PRAGMA busy_timeout=0")
        inline.execute("PRAGMA synchronous=NORMAL")
        inline.execute("PRAGMA wal_autocheckpoint=0")
        self._inline = inline

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    async def checkpoint(self) -> int:
        """A PASSIVE WAL checkpoint beside the writer (it never blocks the writer thread), then, when the WAL
        has grown past RESTART_AT_FRAMES, a RESTART one. Returns the WAL's frames (0: restarted)."""
        conn = self._checkpoint_conn
        if conn is None or self._checkpointer is None:
            return 0
        return await asyncio.get_running_loop().run_in_executor(self._checkpointer, _checkpoint, conn)

    async def stop(self) -> None:
        if self._executor is None:
            return
        loop = asyncio.get_running_loop()
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            def checkpoint_and_close() -> None:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                conn.close()

            await loop.run_in_executor(self._executor, checkpoint_and_close)
        self._executor.shutdown(wait=True)
        self._executor = None
        if self._checkpointer is not None:
            checkpoint_conn, self._checkpoint_conn = self._checkpoint_conn, None
            if checkpoint_conn is not None:
                await loop.run_in_executor(self._checkpointer, checkpoint_conn.close)
            self._checkpointer.shutdown(wait=True)
            self._checkpointer = None

    def run_inline(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(connection, *args)`` on the loop's own connection, or return BUSY when locked.

        For short group commits: a few milliseconds on the loop beat a thread that competes for the GIL
        while requests wait for the write lock it holds."""
        if self._inline is None:
            return BUSY
        try:
            return fn(self._inline, *args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return BUSY
            raise

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(connection, *args)`` on the writer thread."""
        if self._executor is None or self._conn is None:
            raise RuntimeError("the SQLite writer is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn, *args)

    def reserve_now_or_in_turn(self, hold: Hold) -> str | None | asyncio.Future:
        """One reservation: None (held) or "token"/"user" (refused), or a future of that.

        Alone in its loop turn (the usual case at low load), it is committed at once on the loop's own
        connection: no thread hop, no wait. When reservations come several per turn (a burst, or many requests
        at once), each joins the turn's group and they are committed together at the end of the turn, in one
        transaction (each still its own conditional UPDATE with its own outcome): one commit instead of one
        each, fewer WAL writes and fewer lock waits between worker processes (bench/RESULTS.md). A group
        continues while the turns bring several; a turn with one returns to committing at once. When another
        connection holds the write lock, the writer thread waits for it. A future must not be cancelled
        (shield it)."""
        if self._turn or self._grouping:
            return self._join_turn(hold)
        if self._alone_this_turn:  # a second reservation in this turn: start grouping
            self._grouping = True
            return self._join_turn(hold)
        self._alone_this_turn = True
        asyncio.get_running_loop().call_soon(self._turn_ended)
        refused = self.run_inline(in_transaction, reserve_plan([hold]))
        if refused == BUSY:
            return self._to_thread([(hold, asyncio.get_running_loop().create_future())])
        return refused[0]

    def _turn_ended(self) -> None:
        self._alone_this_turn = False

    def _join_turn(self, hold: Hold) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._turn.append((hold, future))
        if len(self._turn) == 1:
            loop.call_soon(self._commit_turn)
        return future

    def _commit_turn(self) -> None:
        batch, self._turn = self._turn, []
        self._grouping = len(batch) > 1
        try:
            outcomes = self.run_inline(in_transaction, reserve_plan([hold for hold, _ in batch]))
        except Exception as exc:  # noqa: BLE001 - each request gets the database's error
            for _hold, future in batch:
                future.set_exception(exc)
            return
        if outcomes == BUSY:  # locked by another connection: the writer thread waits for it
            self._to_thread(batch)
            return
        for (_hold, future), refused in zip(batch, outcomes, strict=True):
            future.set_result(refused)

    def _to_thread(self, batch: list[tuple[Hold, asyncio.Future]]) -> asyncio.Future:
        self._pending.extend(batch)
        if not self._running:
            self._next_batch()
        return batch[-1][1]

    def _next_batch(self) -> None:
        if not self._pending or self._executor is None or self._conn is None:
            self._running = False
            return
        batch, self._pending = self._pending, []
        self._running = True
        done = asyncio.get_running_loop().run_in_executor(self._executor, in_transaction, self._conn,
                                                          reserve_plan([hold for hold, _ in batch]))

        def finished(result: asyncio.Future) -> None:
            error = result.exception()
            outcomes = result.result() if error is None else None
            for index, (_item, future) in enumerate(batch):
                if future.done():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(outcomes[index])  # type: ignore[index]
            self._next_batch()

        done.add_done_callback(finished)
