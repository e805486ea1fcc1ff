"""Quota reservations on PostgreSQL and MySQL, group-committed.

Each request's reservation is still its own conditional UPDATE on the token and on the user
(``... WHERE id = :id AND remain_quota >= :x``), so no two requests can spend the same quota. What is
shared is the transaction: one worker takes every reservation that arrived while the previous batch was
committing and runs them in ONE transaction, so a busy node pays one commit (one WAL flush) per batch
instead of one per request, and the hot token and user rows are locked once per batch instead of being
passed from transaction to transaction.

The worker keeps one connection of its own (no pool checkout or pre-ping per batch). Lock order is the
same as the settlement writer's (tokens by id, then users by id), so batches of several nodes and the
writer do not deadlock each other. A batch that failed before its COMMIT was sent (a connection that died
while idle, a database restart) or that the database certainly rolled back (deadlock victim) runs once
more on a fresh connection; any other failure fails its requests with a clear 503 and is not retried: a
connection lost during COMMIT leaves it unknown whether the batch was written, and a retry could hold the
quota twice.

A request that goes away while its reservation is being committed does not leak it: the worker sees the
abandoned waiter and refunds the hold through the settlement writer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import AppError

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

TOKEN_RESERVE = text(
    "UPDATE tokens SET remain_quota = remain_quota - :x, used_quota = used_quota + :x "
    "WHERE id = :id AND remain_quota >= :x")
TOKEN_RELEASE = text("UPDATE tokens SET remain_quota = remain_quota + :x, used_quota = used_quota - :x WHERE id = :id")
USER_RESERVE = text("UPDATE users SET quota = quota - :x WHERE id = :id AND quota >= :x")
MAX_BATCH = 1000


class NotCommitted(Exception):
    """The batch failed before COMMIT was sent: the database holds nothing of it."""


class ReservationUnavailable(AppError):
    status = 503
    code = "reserve_quota_failed"

    def __init__(self) -> None:
        super().__init__("the database could not reserve quota for this request; please retry")


@dataclass(slots=True)
class Hold:
    token_id: int
    unlimited: bool
    user_id: int
    amount: int
    future: asyncio.Future


class ReservationBatcher:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: list[Hold] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batches = 0  # committed batches (tests and benchmarks read it)
        self._conn: AsyncConnection | None = None

    def start(self) -> None:
        self._task = self.runtime.background.spawn(self._run(), name="quota-reservations")

    async def reserve(self, token_id: int, unlimited: bool, user_id: int, amount: int) -> str | None:
        """None when held; "token" or "user" when that balance is short."""
        if self._task is None or self._task.done():
            raise ReservationUnavailable()
        future = asyncio.get_running_loop().create_future()
        self._queue.append(Hold(token_id, unlimited, user_id, amount, future))
        self._wake.set()
        return await future  # cancelled while committing -> the worker refunds (see _deliver)

    async def _run(self) -> None:
        stopping = self.runtime.background.stopping
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
                batch = [h for h in batch if not h.future.cancelled()]
                if batch:
                    await self._commit(batch)
        finally:
            await self.close()
            for hold in self._queue:
                if not hold.future.done():
                    hold.future.set_exception(ReservationUnavailable())
            self._queue = []

    async def _commit(self, batch: list[Hold]) -> None:
        for attempt in (1, 2):
            try:
                refused = await self._apply(batch)
            except (NotCommitted, DBAPIError, OSError) as exc:
                if attempt == 1 and (isinstance(exc, NotCommitted) or _rolled_back(exc)):
                    log.warning("reserving quota for %d requests failed (%s); retrying", len(batch),
                                type(exc).__name__)
                    continue
                log.error("reserving quota for %d requests failed again: %s", len(batch), exc)
                for hold in batch:
                    if not hold.future.done():
                        hold.future.set_exception(ReservationUnavailable())
                return
            self.batches += 1
            for hold, outcome in zip(batch, refused, strict=True):
                self._deliver(hold, outcome)
            return

    def _deliver(self, hold: Hold, outcome: str | None) -> None:
        if not hold.future.cancelled():
            hold.future.set_result(outcome)
        elif outcome is None:  # the request is gone: give the hold back
            from .billing import Settlement

            self.runtime.log_writer.submit(Settlement(hold.token_id, hold.unlimited, hold.user_id, 0, hold.amount,
                                                      0, None))

    async def _apply(self, batch: list[Hold]) -> list[str | None]:
        refused: list[str | None] = [None] * len(batch)
        conn = await self._connection()
        committing = False
        try:
            await conn.begin()
            for i in sorted(range(len(batch)), key=lambda i: batch[i].token_id):
                hold = batch[i]
                if not hold.unlimited:
                    result = await conn.execute(TOKEN_RESERVE, {"x": hold.amount, "id": hold.token_id})
                    if result.rowcount != 1:
                        refused[i] = "token"
            for i in sorted(range(len(batch)), key=lambda i: batch[i].user_id):
                hold = batch[i]
                if refused[i] is not None:
                    continue
                result = await conn.execute(USER_RESERVE, {"x": hold.amount, "id": hold.user_id})
                if result.rowcount != 1:
                    refused[i] = "user"
                    if not hold.unlimited:  # this transaction holds the token row already: no new lock
                        await conn.execute(TOKEN_RELEASE, {"x": hold.amount, "id": hold.token_id})
            committing = True
            await conn.commit()
        except BaseException as exc:
            await self._discard()
            if not committing and isinstance(exc, DBAPIError | OSError):
                raise NotCommitted() from exc  # nothing was written: safe to run the batch again
            raise
        return refused

    async def _connection(self) -> AsyncConnection:
        """One connection kept by the worker: no pool checkout (and no pre-ping round trip) per batch."""
        if self._conn is None:
            self._conn = await self.runtime.db.engine.connect()
        return self._conn

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()  # a broken or half-done connection never goes back to the pool
                await conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

def _rolled_back(exc: BaseException) -> bool:
    """True for errors after which the database certainly rolled the transaction back (deadlock victim,
    serialization failure, lock wait timeout): the batch can run again without holding anything twice."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in ("40P01", "40001"):  # PostgreSQL
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in (1213, 1205)  # MySQL/MariaDB: deadlock, lock wait timeout
