"""The one background writer of settlements and their log rows: group commit, at least every 200 ms.

Requests hand it a ``Settlement`` synchronously (no await, so a cancelled request still settles). A flush
runs rules.settle_plan: one UPDATE per token, user and channel of the batch (executemany), the batch's
journal rows deleted and its log rows inserted -- ONE transaction when the logs table lives in the main
database, so balances and log rows always agree, even after kill -9. With a separate log database
(LOG_SQL_DSN) the log rows are committed first and the balances second; a crash between the two leaves
log rows whose holds are still journaled, and the recovery settles those from the log rows (recovery.py).

A failed flush keeps the batch for the next try (rows already in a separate log database are not written
twice); the shutdown flush writes whatever is left, so a SIGTERM loses nothing. What kill -9 can lose is
the batch not yet committed: at most FLUSH_INTERVAL of settled requests, whose holds stay journaled and are
released at the next start. With SETTLEMENT_WAIT a response waits for its settlement's commit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from sqlalchemy import insert

from ...background import Background
from ...db import Database
from ...models import Log, table_of
from ..options import Options
from .rules import JournalMismatch, Plan, Settlement, log_row, run_async, settle_plan
from .sqlite import BUSY, SqliteWriter, in_transaction

log = logging.getLogger(__name__)
FLUSH_INTERVAL = 0.2
BATCH_WAKE = 512  # flush early when this many settlements wait
SLOW_FLUSH = 0.05  # seconds: a flush or checkpoint slower than this is logged
CHECKPOINT_INTERVAL = 1.0  # seconds between SQLite WAL checkpoints (off the writer thread)
ATTEMPTS = 3  # a batch whose holds a recovery released meanwhile is settled again, checked


class SettlementWriter:
    def __init__(self, db: Database, background: Background, options: Callable[[], Options],
                 sqlite: SqliteWriter | None) -> None:
        self.db = db
        self.background = background
        self.options = options
        self.sqlite = sqlite
        self._pending: list[Settlement] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        # Called (synchronously, errors logged) with the user ids of each committed batch: the low-quota
        # reminder (services/reminders.py) reads their balances after the commit, off the request path.
        self.listeners: list[Callable[[set[int]], None]] = []

    def start(self) -> None:
        self._task = self.background.spawn(self._run(), name="ledger-settlements")
        self.background.add_flusher(self.flush)

    def submit(self, settlement: Settlement) -> None:
        self._pending.append(settlement)
        if settlement.done is not None or len(self._pending) >= BATCH_WAKE:
            self._wake.set()  # someone waits for this commit: group-commit now

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def _run(self) -> None:
        background = self.background
        loop = asyncio.get_running_loop()
        next_checkpoint = loop.time() + CHECKPOINT_INTERVAL
        while not background.closing:
            try:
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                started = loop.time()
                await self.flush()
                if loop.time() - started > SLOW_FLUSH:
                    log.warning("writing settlements took %.0f ms", (loop.time() - started) * 1000)
                if self.sqlite is not None and loop.time() >= next_checkpoint:
                    next_checkpoint = loop.time() + CHECKPOINT_INTERVAL
                    started = loop.time()
                    await self.sqlite.checkpoint()
                    if loop.time() - started > SLOW_FLUSH:
                        log.warning("SQLite checkpoint took %.0f ms", (loop.time() - started) * 1000)
            except Exception:  # keep the batch and the loop alive; the next tick retries
                log.exception("writing settlements failed; will retry")
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            except BaseException:
                self._pending[:0] = batch
                raise
        for settlement in batch:
            if settlement.done is not None and not settlement.done.done():
                settlement.done.set_result(None)
        if self.listeners:
            users = {s.hold.user_id for s in batch}
            for listener in self.listeners:
                try:
                    listener(users)
                except Exception:
                    log.exception("a settlement listener failed")

    async def write_now(self, batch: list[Settlement]) -> None:
        """Write ``batch`` at once, in its own transaction (the recovery's releases)."""
        async with self._lock:
            await self._write(batch)

    async def _write(self, batch: list[Settlement]) -> None:
        consume_logs = self.options().LogConsumeEnabled

        def rows(settled: list[Settlement]) -> list[dict]:
            return [row for s in settled if (s.log is None or consume_logs) and (row := log_row(s)) is not None]

        same_database = self.db.log_engine is self.db.engine
        if not same_database:  # logs first; recovery settles what the balances then miss
            unwritten = [s for s in batch if not s.log_written]
            log_rows = rows(unwritten)
            if log_rows:
                async with self.db.log_engine.begin() as conn:
                    await conn.execute(insert(table_of(Log)), log_rows)
            for s in unwritten:
                s.log_written = True
        in_transaction_logs = rows if same_database else None
        for attempt in range(ATTEMPTS):
            checked = attempt > 0
            try:
                await self._apply(functools.partial(settle_plan, batch, in_transaction_logs, checked))
                return
            except JournalMismatch as exc:
                log.warning("settling %d requests: %s; settling again", len(batch), exc)
        raise RuntimeError("settlements kept conflicting with a recovery; will retry")

    async def _apply(self, plan: Callable[[], Plan]) -> None:
        """Run a fresh ``plan()`` in one transaction on the main database."""
        if self.sqlite is not None:
            if self.sqlite.run_inline(in_transaction, plan()) == BUSY:
                await self.sqlite.run(in_transaction, plan())
            return
        async with self.db.engine.begin() as conn:
            await run_async(conn, plan())
