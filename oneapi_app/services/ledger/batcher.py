"""Quota reservations on PostgreSQL and MySQL, group-committed.

Each request's reservation is still its own conditional UPDATE on the token and on the user
(``... WHERE id = :id AND remain_quota >= :x``), so no two requests can spend the same quota. What is
shared is the transaction: one worker takes every reservation that arrived while the previous batch was
committing and runs them in ONE transaction, so a busy node pays one commit (one WAL flush) per batch
instead of one per request, and the hot token and user rows are locked once per batch instead of being
passed from transaction to transaction.

On PostgreSQL a hold (with its journal row) is a single statement (rules.PG_RESERVE) and a lone hold (a
quiet node) is one autocommit round trip; MySQL runs rules.reserve_plan -- the two conditional UPDATEs per
hold and one INSERT of the batch's journal rows -- in the batch's transaction.

The worker keeps one connection of its own (no pool checkout or pre-ping per batch). Lock order is the
same as the settlement writer's (tokens by id, then users by id), so batches of several nodes and the
writer do not deadlock each other. A batch that failed before its COMMIT was sent (a connection that died
while idle, a database restart) or that the database certainly rolled back (deadlock victim) runs once
more on a fresh connection; any other failure fails its requests with a clear 503 and is not retried: a
connection lost during COMMIT leaves it unknown whether the batch was written, and a retry could hold the
quota twice.

A request that goes away while its reservation is being committed does not leak it: the worker sees the
abandoned waiter and refunds the hold through the settlement writer (``give_back``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ...background import Background
from ...db import Database
from ...errors import ReservationUnavailable
from .rules import PG_LOCK_TOKENS, PG_RESERVE, Hold, pg_params, reserve_plan, run_async

log = logging.getLogger(__name__)
MAX_BATCH = 1000


class NotCommitted(Exception):
    """The batch failed before COMMIT was sent: the database holds nothing of it."""


@dataclass(slots=True)
class Waiting:
    hold: Hold
    future: asyncio.Future


class ReservationBatcher:
    IDLE_PING = 10.0  # seconds: a connection unused this long is checked before a batch

    def __init__(self, db: Database, background: Background, give_back: Callable[[Hold], None]) -> None:
        self.db = db
        self.background = background
        self.give_back = give_back  # refunds a hold whose request went away while it was committed
        self._queue: list[Waiting] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batches = 0  # committed batches (tests and benchmarks read it)
        self._conn: AsyncConnection | None = None  # MySQL (SQLAlchemy)
        self._pg: Any = None  # PostgreSQL: a psycopg AsyncConnection (psycopg is imported only when used)
        self._used = 0.0

    def start(self) -> None:
        self._task = self.background.spawn(self._run(), name="quota-reservations")

    async def reserve(self, hold: Hold) -> str | None:
        """None when held; "token" or "user" when that balance is short."""
        if self._task is None or self._task.done():
            raise ReservationUnavailable()
        future = asyncio.get_running_loop().create_future()
        self._queue.append(Waiting(hold, future))
        self._wake.set()
        return await future  # cancelled while committing -> the worker refunds (see _deliver)

    async def _run(self) -> None:
        stopping = self.background.stopping
        try:
            while True:
                if not self._queue:
                    if stopping.is_set():
                        return
                    self._wake.clear()
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stop = asyncio.ensure_future(stopping.wait())
                    await asyncio.wait((waiter, stop), return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    stop.cancel()
                    continue
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                batch = [w for w in batch if not w.future.cancelled()]
                if batch:
                    await self._commit(batch)
        finally:
            await self.close()
            for waiting in self._queue:
                if not waiting.future.done():
                    waiting.future.set_exception(ReservationUnavailable())
            self._queue = []

    async def _commit(self, batch: list[Waiting]) -> None:
        for attempt in (1, 2):
            try:
                refused = await self._apply([w.hold for w in batch])
            except Exception as exc:  # noqa: BLE001 - every waiter must get an answer
                if attempt == 1 and (isinstance(exc, NotCommitted) or _rolled_back(exc)):
                    log.warning("reserving quota for %d requests failed (%s); retrying", len(batch),
                                type(exc).__name__)
                    continue
                log.error("reserving quota for %d requests failed: %r", len(batch), exc)
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(ReservationUnavailable())
                return
            self.batches += 1
            for waiting, outcome in zip(batch, refused, strict=True):
                self._deliver(waiting, outcome)
            return

    def _deliver(self, waiting: Waiting, outcome: str | None) -> None:
        if not waiting.future.cancelled():
            waiting.future.set_result(outcome)
        elif outcome is None:  # the request is gone: give the hold back
            self.give_back(waiting.hold)

    async def _apply(self, batch: list[Hold]) -> list[str | None]:
        if self.db.url.kind == "postgresql":
            return await self._apply_postgres(batch)
        conn = await self._connection()
        committing = False
        try:
            await conn.begin()
            refused = await run_async(conn, reserve_plan(batch))
            committing = True
            await conn.commit()
        except BaseException as exc:
            await self._discard()
            if not committing and isinstance(exc, DBAPIError | OSError):
                raise NotCommitted() from exc  # nothing was written: safe to run the batch again
            raise
        return refused

    async def _apply_postgres(self, batch: list[Hold]) -> list[str | None]:
        """One hold: ONE statement in autocommit (one round trip, the common case on a quiet node). Several:
        one transaction that locks their tokens in id order, then one statement per hold sorted by user, all
        pipelined (one round trip, then COMMIT)."""
        from psycopg import Error as PsycopgError  # this engine's driver

        conn = await self._postgres()
        order = sorted(range(len(batch)), key=lambda i: batch[i].user_id)
        rows: list[tuple] = []
        committed = False
        try:
            if len(batch) == 1:
                hold = batch[0]
                rows.append(await (await conn.execute(PG_RESERVE, pg_params(hold))).fetchone())
            else:
                async with conn.transaction():
                    token_ids = sorted({h.token_id for h in batch if not h.unlimited})
                    # Pipelined: the lock and every hold's statement go in one round trip (the server still
                    # runs them one after the other, each seeing the previous ones' updates); COMMIT is sent
                    # after their results are back, so a failure before it still means nothing was written.
                    async with conn.pipeline():
                        if token_ids:
                            await conn.execute(PG_LOCK_TOKENS, (token_ids,))
                        cursors = [await conn.execute(PG_RESERVE, pg_params(batch[i])) for i in order]
                    for cursor in cursors:
                        rows.append(await cursor.fetchone())
                    committed = True  # leaving the block sends COMMIT
        except BaseException as exc:
            await self._discard()
            if _rolled_back(exc) or (len(batch) > 1 and not committed and isinstance(exc, PsycopgError | OSError)):
                raise NotCommitted() from exc  # nothing of the batch was written
            raise
        refused: list[str | None] = [None] * len(batch)
        for i, (held, token_ok) in zip(order if len(batch) > 1 else [0], rows, strict=True):
            refused[i] = None if held else ("user" if token_ok else "token")
        return refused

    async def _postgres(self):
        """The worker's own psycopg connection in autocommit mode (pinged after a quiet spell)."""
        import psycopg

        loop = asyncio.get_running_loop()
        if self._pg is not None and (self._pg.closed or loop.time() - self._used > self.IDLE_PING):
            try:
                await self._pg.execute("SELECT 1")
            except (psycopg.Error, OSError):
                await self._discard()
        if self._pg is None:
            url = self.db.engine.url.set(drivername="postgresql")
            self._pg = await psycopg.AsyncConnection.connect(url.render_as_string(hide_password=False),
                                                             autocommit=True)
        self._used = loop.time()
        return self._pg

    async def _connection(self) -> AsyncConnection:
        """One connection kept by the worker: no pool checkout per batch. After a quiet spell it is pinged
        first (one round trip), so a connection the database dropped meanwhile (a restart) is replaced
        before a batch is sent on it -- once sent, a lost connection leaves the outcome unknown."""
        loop = asyncio.get_running_loop()
        if self._conn is not None and loop.time() - self._used > self.IDLE_PING:
            try:
                await self._conn.exec_driver_sql("SELECT 1")
                await self._conn.rollback()
            except (DBAPIError, OSError):
                await self._discard()
        if self._conn is None:
            self._conn = await self.db.engine.connect()
        self._used = loop.time()
        return self._conn

    async def _discard(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            try:
                await pg.close()
            except Exception:  # already broken
                log.debug("closing a broken reservation connection failed", exc_info=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()  # a broken or half-done connection never goes back to the pool
                await conn.close()
            except Exception:  # already broken
                log.debug("closing a broken reservation connection failed", exc_info=True)

    async def close(self) -> None:
        await self._discard()

def _rolled_back(exc: BaseException) -> bool:
    """True for errors after which the database certainly rolled the transaction back (deadlock victim,
    serialization failure, lock wait timeout): the batch can run again without holding anything twice."""
    orig = getattr(exc, "orig", exc)
    # PostgreSQL: deadlock victim, serialization failure; the session was terminated by the server (a restart,
    # pg_terminate_backend) before it could commit anything.
    if getattr(orig, "sqlstate", None) in ("40P01", "40001", "57P01", "57P02"):
        return True
    args: tuple = getattr(orig, "args", ())
    return bool(args) and args[0] in (1213, 1205)  # MySQL/MariaDB: deadlock, lock wait timeout

