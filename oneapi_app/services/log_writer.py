"""The one background writer of settlements and consume logs: group commit, at least every 200 ms.

Requests hand it a ``Settlement`` synchronously (no await, so a cancelled request still settles). A flush
aggregates the batch into one UPDATE per token, user and channel (executemany) in one transaction, then
inserts the log rows in one statement on the log database. A failed flush keeps the batch for the next
try; the runtime's shutdown flush writes whatever is left, so a SIGTERM loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import insert, text

from ..models import Log, LogType, table_of
from .billing import Settlement
from .reservations import ReservationBatcher
from .sqlite_writer import BUSY, SqliteWriter

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)
FLUSH_INTERVAL = 0.2
BATCH_WAKE = 512  # flush early when this many settlements wait
SLOW_FLUSH = 0.05  # seconds: a flush or checkpoint slower than this is logged
CHECKPOINT_INTERVAL = 1.0  # seconds between SQLite WAL checkpoints (off the writer thread)

_LOG_COLUMNS = ("user_id", "created_at", "type", "content", "username", "token_name", "model_name", "quota",
                "prompt_tokens", "completion_tokens", "channel_id", "request_id", "elapsed_time", "is_stream",
                "system_prompt_reset")
_LOG_INSERT = (f"INSERT INTO logs ({', '.join(_LOG_COLUMNS)}) "
               f"VALUES ({', '.join(':' + c for c in _LOG_COLUMNS)})")
_TOKENS = text("UPDATE tokens SET remain_quota = remain_quota - :d, used_quota = used_quota + :d WHERE id = :id")
_TOKENS_UNLIMITED = text("UPDATE tokens SET used_quota = used_quota + :u WHERE id = :id")
_USERS = text("UPDATE users SET quota = quota - :d, used_quota = used_quota + :u, "
              "request_count = request_count + :n WHERE id = :id")
_CHANNELS = text("UPDATE channels SET used_quota = used_quota + :u WHERE id = :id")
_SQL = {stmt: stmt.text for stmt in (_TOKENS, _TOKENS_UNLIMITED, _USERS, _CHANNELS)}  # for the sqlite3 path


class LogWriter:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pending: list[Settlement] = []
        self._pending_logs: list[dict] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.sqlite: SqliteWriter | None = None
        self.reservations: ReservationBatcher | None = None  # PostgreSQL / MySQL

    async def start(self) -> None:
        db = self.runtime.db
        if db.url.kind == "sqlite":
            self.sqlite = SqliteWriter(db.url.sync_url.removeprefix("sqlite:///"),
                                       self.runtime.settings.sqlite_busy_timeout)
            await self.sqlite.start()
        else:
            self.reservations = ReservationBatcher(self.runtime)
            self.reservations.start()
        self._task = self.runtime.background.spawn(self._run(), name="relay-log-writer")
        self.runtime.background.add_flusher(self.flush)

    async def stop(self) -> None:
        """After the runtime's shutdown flush."""
        if self.sqlite is not None:
            await self.sqlite.stop()
            self.sqlite = None

    def submit(self, settlement: Settlement) -> None:
        self._pending.append(settlement)
        if len(self._pending) >= BATCH_WAKE:
            self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending) + len(self._pending_logs)

    async def _run(self) -> None:
        background = self.runtime.background
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
            if self.sqlite is not None and self.runtime.db.log_engine is self.runtime.db.engine:
                await self._flush_sqlite(self.sqlite)
                return
            if self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._apply(batch)
                except BaseException:
                    self._pending[:0] = batch
                    raise
                if self.runtime.options.LogConsumeEnabled:
                    self._pending_logs.extend(_log_row(s) for s in batch if s.log is not None)
            if self._pending_logs:
                rows, self._pending_logs = self._pending_logs, []
                try:
                    async with self.runtime.db.log_engine.begin() as conn:
                        await conn.execute(insert(table_of(Log)), rows)
                except BaseException:
                    self._pending_logs[:0] = rows
                    raise

    async def _flush_sqlite(self, sqlite: SqliteWriter) -> None:
        """Balances and log rows in one transaction on the SQLite writer thread."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        log_rows = [_log_row(s) for s in batch if s.log is not None] if self.runtime.options.LogConsumeEnabled else []
        statements = [(_SQL[stmt], rows) for stmt, rows in _aggregate(batch)]
        try:
            if sqlite.run_inline(_apply_sqlite, statements, log_rows) == BUSY:
                await sqlite.run(_apply_sqlite, statements, log_rows)
        except BaseException:
            self._pending[:0] = batch
            raise

    async def _apply(self, batch: list[Settlement]) -> None:
        statements = _aggregate(batch)
        if not statements:
            return
        async with self.runtime.db.engine.begin() as conn:
            for stmt, rows in statements:
                await conn.execute(stmt, rows)


def _apply_sqlite(conn, statements: list[tuple[str, list[dict]]], log_rows: list[dict]) -> None:
    conn.execute("BEGIN IMMEDIATE")  # raises "database is locked" at once on the inline connection
    try:
        for sql, rows in statements:
            conn.executemany(sql, rows)
        if log_rows:
            conn.executemany(_LOG_INSERT, log_rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _aggregate(batch: list[Settlement]) -> list[tuple]:
    """The batch as (statement, rows) pairs: one row per token, user and channel."""
    tokens: dict[int, int] = defaultdict(int)
    unlimited_tokens: dict[int, int] = defaultdict(int)
    users: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    channels: dict[int, int] = defaultdict(int)
    for s in batch:
        if s.unlimited:
            unlimited_tokens[s.token_id] += s.actual
        else:
            tokens[s.token_id] += s.delta
        user = users[s.user_id]
        user[0] += s.delta
        user[1] += s.actual
        user[2] += 1 if s.log is not None else 0
        if s.channel_id and s.actual:
            channels[s.channel_id] += s.actual
    token_rows = [{"id": k, "d": v} for k, v in sorted(tokens.items()) if v]
    unlimited_rows = [{"id": k, "u": v} for k, v in sorted(unlimited_tokens.items()) if v]
    user_rows = [{"id": k, "d": v[0], "u": v[1], "n": v[2]} for k, v in sorted(users.items()) if any(v)]
    channel_rows = [{"id": k, "u": v} for k, v in sorted(channels.items()) if v]
    pairs = ((_TOKENS, token_rows), (_TOKENS_UNLIMITED, unlimited_rows), (_USERS, user_rows),
             (_CHANNELS, channel_rows))
    return [(stmt, rows) for stmt, rows in pairs if rows]


def _log_row(s: Settlement) -> dict:
    entry = s.log
    assert entry is not None
    return {
        "user_id": entry.user_id, "created_at": entry.created_at, "type": int(LogType.CONSUME),
        "content": entry.content, "username": entry.username, "token_name": entry.token_name,
        "model_name": entry.model_name, "quota": s.actual, "prompt_tokens": entry.prompt_tokens,
        "completion_tokens": entry.completion_tokens, "channel_id": entry.channel_id,
        "request_id": entry.request_id, "elapsed_time": entry.elapsed_ms, "is_stream": entry.is_stream,
        "system_prompt_reset": entry.system_prompt_reset,
    }
