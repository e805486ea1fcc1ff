"""The ledger's rules, written once: what a hold, a settlement and a release do to the database.

A rule is a *plan*: a generator that yields statements (``Exec`` / ``Fetch``) and receives their row counts
or rows. The same plan runs on SQLite's sqlite3 connection (``run_sync``) and on an SQLAlchemy connection
(``run_async``, MySQL/MariaDB and PostgreSQL), so SQLite and MySQL share one reservation rule and every
database shares one settlement rule. PostgreSQL reserves with one statement (``PG_RESERVE``), its own rule.

Reservation (tokens by id, then users by id, then the journal row -- the lock order of every writer):
``UPDATE tokens ... WHERE id = :id AND remain_quota >= :x`` (skipped for unlimited tokens), then the same on
the user; a user that cannot pay gives the token's hold back in the same transaction: both or neither. Each
hold gets its journal row (``ledger_holds``) in the same transaction.

Settlement: one UPDATE per token, user and channel of the batch (aggregated), the batch's journal rows
deleted, and the log rows inserted -- one transaction. A journal row that is gone means a recovery released
that hold already (its process was taken for dead): the settlement then charges the whole actual cost
(the reserved part was given back), and a recovery's own release is skipped (another node did it).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

from ...models import LogType


# -- what moves -----------------------------------------------------------------------------------------
@dataclass(slots=True)
class Hold:
    """Quota held for one request. ``seq`` 0: nothing was held (amount 0), so there is no journal row."""

    token_id: int
    unlimited: bool
    user_id: int
    amount: int
    instance: str = ""
    seq: int = 0
    request_id: str = ""
    created_at: int = 0


@dataclass(slots=True)
class ConsumeLog:
    """The consume-log row of one request (logs table, type 2)."""

    user_id: int
    username: str
    token_name: str
    model_name: str
    channel_id: int
    prompt_tokens: int
    completion_tokens: int
    content: str
    request_id: str
    elapsed_ms: int
    is_stream: bool
    system_prompt_reset: bool
    created_at: int


@dataclass(slots=True)
class Settlement:
    hold: Hold
    channel_id: int
    actual: int
    log: ConsumeLog | None  # None: a refund of a request that produced nothing
    note: str = ""  # a system log row instead (recovery after a crash)
    recovered: bool = False  # a recovery's: skipped when the hold is gone (another node recovered it)
    counted: bool = False  # counts as a request without a ConsumeLog (recovery settling from a log row)
    log_written: bool = False  # its log row is in the separate log database already (LOG_SQL_DSN)
    done: asyncio.Future | None = None  # SETTLEMENT_WAIT: resolved when committed

    @property
    def reserved(self) -> int:
        return self.hold.amount

    @property
    def delta(self) -> int:
        return self.actual - self.hold.amount


class JournalMismatch(Exception):
    """Fewer journal rows were deleted than the batch held: roll back and settle again with a check."""


# -- statements -----------------------------------------------------------------------------------------
TOKEN_RESERVE = ("UPDATE tokens SET remain_quota = remain_quota - :x, used_quota = used_quota + :x "
                 "WHERE id = :id AND remain_quota >= :x")
TOKEN_RELEASE = "UPDATE tokens SET remain_quota = remain_quota + :x, used_quota = used_quota - :x WHERE id = :id"
USER_RESERVE = "UPDATE users SET quota = quota - :x WHERE id = :id AND quota >= :x"
HOLD_INSERT = ("INSERT INTO ledger_holds (instance, seq, token_id, user_id, unlimited, amount, request_id, "
               "created_at) VALUES (:instance, :seq, :token_id, :user_id, :unlimited, :amount, :request_id, "
               ":created_at)")
TOKENS = "UPDATE tokens SET remain_quota = remain_quota - :d, used_quota = used_quota + :d WHERE id = :id"
TOKENS_UNLIMITED = "UPDATE tokens SET used_quota = used_quota + :u WHERE id = :id"
USERS = ("UPDATE users SET quota = quota - :d, used_quota = used_quota + :u, request_count = request_count + :n "
         "WHERE id = :id")
CHANNELS = "UPDATE channels SET used_quota = used_quota + :u WHERE id = :id"
LOG_COLUMNS = ("user_id", "created_at", "type", "content", "username", "token_name", "model_name", "quota",
               "prompt_tokens", "completion_tokens", "channel_id", "request_id", "elapsed_time", "is_stream",
               "system_prompt_reset")
LOG_INSERT = f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join(':' + c for c in LOG_COLUMNS)})"
HOLD_COLUMNS = "instance, seq, token_id, user_id, unlimited, amount, request_id, created_at"

# PostgreSQL: one statement per hold. Its lock CTE takes the token row first (FOR UPDATE re-checks the
# balance on the newest row version, which then cannot move), then it debits the user only if the token can
# pay, the token only if the user was debited, and writes the journal row only then: both or neither, and
# the reason when neither. A batch of several holds locks all its tokens first, in id order.
PG_LOCK_TOKENS = "SELECT id FROM tokens WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
PG_RESERVE = """
WITH lock AS (
    SELECT id FROM tokens WHERE %(limited)s AND id = %(tid)s AND remain_quota >= %(x)s FOR UPDATE),
u AS (
    UPDATE users SET quota = quota - %(x)s
    WHERE id = %(uid)s AND quota >= %(x)s AND (NOT %(limited)s OR EXISTS (SELECT 1 FROM lock))
    RETURNING 1),
t AS (
    UPDATE tokens SET remain_quota = remain_quota - %(x)s, used_quota = used_quota + %(x)s
    WHERE %(limited)s AND id = %(tid)s AND EXISTS (SELECT 1 FROM u)
    RETURNING 1),
h AS (
    INSERT INTO ledger_holds (instance, seq, token_id, user_id, unlimited, amount, request_id, created_at)
    SELECT %(instance)s, %(seq)s, %(tid)s, %(uid)s, NOT %(limited)s, %(x)s, %(rid)s, %(at)s
    WHERE EXISTS (SELECT 1 FROM u)
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM u), NOT %(limited)s OR EXISTS (SELECT 1 FROM lock)
"""


def pg_params(hold: Hold) -> dict:
    return {"x": hold.amount, "uid": hold.user_id, "tid": hold.token_id, "limited": not hold.unlimited,
            "instance": hold.instance, "seq": hold.seq, "rid": hold.request_id, "at": hold.created_at}


def hold_row(hold: Hold) -> dict:
    return {"instance": hold.instance, "seq": hold.seq, "token_id": hold.token_id, "user_id": hold.user_id,
            "unlimited": hold.unlimited, "amount": hold.amount, "request_id": hold.request_id,
            "created_at": hold.created_at}


# -- plans ----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Exec:
    sql: str
    params: dict | list[dict]  # a list: executemany


@dataclass(slots=True)
class Fetch:
    sql: str
    params: dict


Plan = Generator[Exec | Fetch, Any, Any]


def reserve_plan(batch: list[Hold]) -> Plan:
    """SQLite and MySQL. Returns per hold None (held) or "token"/"user" (refused, nothing held)."""
    refused: list[str | None] = [None] * len(batch)
    single = len(batch) == 1  # the usual inline hold: nothing to order
    for i in [0] if single else sorted(range(len(batch)), key=lambda i: batch[i].token_id):
        hold = batch[i]
        if not hold.unlimited and (yield Exec(TOKEN_RESERVE, {"x": hold.amount, "id": hold.token_id})) != 1:
            refused[i] = "token"
    for i in [0] if single else sorted(range(len(batch)), key=lambda i: batch[i].user_id):
        hold = batch[i]
        if refused[i] is None and (yield Exec(USER_RESERVE, {"x": hold.amount, "id": hold.user_id})) != 1:
            refused[i] = "user"
            if not hold.unlimited:  # this transaction holds the token row already: no new lock
                yield Exec(TOKEN_RELEASE, {"x": hold.amount, "id": hold.token_id})
    held = [hold_row(h) for h, r in zip(batch, refused, strict=True) if r is None]
    if held:
        yield Exec(HOLD_INSERT, held if len(held) > 1 else held[0])
    return refused


def settle_plan(batch: list[Settlement], log_rows: Callable[[list[Settlement]], list[dict]] | None,
                checked: bool) -> Plan:
    """Balances, journal and (when ``log_rows`` is given: same database) log rows of ``batch``.

    Unchecked (the usual case) it assumes every journal row is there and raises ``JournalMismatch`` when the
    DELETE finds fewer; checked, it reads which are there first."""
    keys = _journal_keys(batch)
    gone: set[tuple[str, int]] = set()
    if checked and keys:
        present: set[tuple[str, int]] = set()
        for instance, seqs in keys.items():
            for chunk in _chunks(seqs):
                rows = yield Fetch(f"SELECT seq FROM ledger_holds WHERE instance = :i AND seq IN ({chunk})",
                                   {"i": instance})
                present.update((instance, int(r[0])) for r in rows)
        gone = {(i, s) for i, seqs in keys.items() for s in seqs} - present
        batch = [s for s in batch if not (s.recovered and (s.hold.instance, s.hold.seq) in gone)]
        keys = _journal_keys([s for s in batch if (s.hold.instance, s.hold.seq) not in gone])
    for sql, rows in aggregate(batch, gone):
        yield Exec(sql, rows)
    expected = sum(len(seqs) for seqs in keys.values())
    deleted = 0
    for instance, seqs in keys.items():
        for chunk in _chunks(seqs):
            deleted += yield Exec(f"DELETE FROM ledger_holds WHERE instance = :i AND seq IN ({chunk})",
                                  {"i": instance})
    if deleted != expected:
        raise JournalMismatch(f"{expected - deleted} of {expected} holds were released meanwhile")
    if log_rows is not None:
        rows = log_rows(batch)
        if rows:
            yield Exec(LOG_INSERT, rows)
    return batch


def _journal_keys(batch: list[Settlement]) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = defaultdict(list)
    for s in batch:
        if s.hold.seq:
            keys[s.hold.instance].append(s.hold.seq)
    return keys


def _chunks(seqs: list[int], size: int = 500) -> Generator[str, None, None]:
    ordered = sorted(seqs)
    for start in range(0, len(ordered), size):  # integers we made ourselves: safe to inline
        yield ",".join(str(int(s)) for s in ordered[start:start + size])


def aggregate(batch: list[Settlement], gone: frozenset[tuple[str, int]] | set[tuple[str, int]] = frozenset()
              ) -> list[tuple[str, list[dict]]]:
    """The batch as (statement, rows) pairs: one row per token, user and channel, in id order."""
    tokens: dict[int, int] = defaultdict(int)
    unlimited_tokens: dict[int, int] = defaultdict(int)
    users: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    channels: dict[int, int] = defaultdict(int)
    for s in batch:
        hold = s.hold
        reserved = 0 if (hold.instance, hold.seq) in gone else hold.amount  # released already: charge it all
        delta = s.actual - reserved
        if hold.unlimited:
            unlimited_tokens[hold.token_id] += s.actual
        else:
            tokens[hold.token_id] += delta
        user = users[hold.user_id]
        user[0] += delta
        user[1] += s.actual
        user[2] += 1 if (s.log is not None or s.counted) else 0
        if s.channel_id and s.actual:
            channels[s.channel_id] += s.actual
    pairs = ((TOKENS, [{"id": k, "d": v} for k, v in sorted(tokens.items()) if v]),
             (TOKENS_UNLIMITED, [{"id": k, "u": v} for k, v in sorted(unlimited_tokens.items()) if v]),
             (USERS, [{"id": k, "d": v[0], "u": v[1], "n": v[2]} for k, v in sorted(users.items()) if any(v)]),
             (CHANNELS, [{"id": k, "u": v} for k, v in sorted(channels.items()) if v]))
    return [(sql, rows) for sql, rows in pairs if rows]


def log_row(s: Settlement) -> dict | None:
    entry = s.log
    if entry is None:
        if not s.note:
            return None
        return {"user_id": s.hold.user_id, "created_at": int(time.time()), "type": int(LogType.SYSTEM),
                "content": s.note, "username": "", "token_name": "", "model_name": "", "quota": 0,
                "prompt_tokens": 0, "completion_tokens": 0, "channel_id": 0, "request_id": s.hold.request_id,
                "elapsed_time": 0, "is_stream": False, "system_prompt_reset": False}
    return {
        "user_id": entry.user_id, "created_at": entry.created_at, "type": int(LogType.CONSUME),
        "content": entry.content, "username": entry.username, "token_name": entry.token_name,
        "model_name": entry.model_name, "quota": s.actual, "prompt_tokens": entry.prompt_tokens,
        "completion_tokens": entry.completion_tokens, "channel_id": entry.channel_id,
        "request_id": entry.request_id, "elapsed_time": entry.elapsed_ms, "is_stream": entry.is_stream,
        "system_prompt_reset": entry.system_prompt_reset,
    }


# -- drivers --------------------------------------------------------------------------------------------
def run_sync(conn: Any, plan: Plan) -> Any:
    """Run a plan on a sqlite3 connection (inside the caller's transaction)."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Fetch):
                result: Any = conn.execute(step.sql, step.params).fetchall()
            elif isinstance(step.params, list):
                result = conn.executemany(step.sql, step.params).rowcount
            else:
                result = conn.execute(step.sql, step.params).rowcount
            step = plan.send(result)
    except StopIteration as done:
        return done.value


async def run_async(conn: Any, plan: Plan) -> Any:
    """Run a plan on an SQLAlchemy AsyncConnection (inside the caller's transaction)."""
    try:
        step = next(plan)
        while True:
            result = await conn.execute(_text(step.sql), step.params)
            step = plan.send(result.fetchall() if isinstance(step, Fetch) else result.rowcount)
    except StopIteration as done:
        return done.value


@lru_cache(maxsize=256)
def _text(sql: str) -> TextClause:
    return text(sql)
