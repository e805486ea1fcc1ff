"""Quota reservation and settlement. Every balance change is one SQL statement that does its own arithmetic.

* ``reserve``: before a request, ONE conditional UPDATE on the token
  (``remain_quota = remain_quota - :x ... WHERE id = :id AND remain_quota >= :x``; skipped for unlimited tokens)
  and the same on the user's quota, in one transaction. Nothing is read into Python first, so concurrent
  requests can never spend the same quota twice; a failed condition undoes both. The transaction is shared
  by the requests that arrive together (group commit): services/sqlite_writer.py on SQLite,
  services/reservations.py on PostgreSQL and MySQL.
* ``Settlement``: after a request, the exact difference (actual - reserved; negative = refund) plus the
  consume log row, handed to the batching ``LogWriter`` (services/log_writer.py). Every failure path settles
  with actual = 0, which refunds the whole reservation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import AppError
from .sqlite_writer import BUSY

if TYPE_CHECKING:
    from ..runtime import Runtime


class TokenQuotaExhausted(AppError):
    status = 403
    code = "pre_consume_token_quota_failed"

    def __init__(self) -> None:
        super().__init__("令牌额度不足 (token quota is not enough)")


class UserQuotaExhausted(AppError):
    status = 403
    code = "insufficient_user_quota"

    def __init__(self) -> None:
        super().__init__("user quota is not enough")


async def reserve(runtime: Runtime, *, token_id: int, unlimited: bool, user_id: int, amount: int) -> None:
    """Hold ``amount`` quota on the token (unless unlimited) and the user, atomically, or raise.

    On SQLite it runs inline on the loop's own connection (no thread hop) unless the database is locked.
    Otherwise the database work is shielded from the request's cancellation: a client that goes away while
    its reservation commits gets it refunded as soon as the commit is known, never leaked.
    """
    if amount <= 0:
        return
    sqlite = runtime.log_writer.sqlite
    if sqlite is None:  # PostgreSQL / MySQL: group-committed by services/reservations.py
        assert runtime.log_writer.reservations is not None
        refused = await runtime.log_writer.reservations.reserve(token_id, unlimited, user_id, amount)
    else:
        refused = sqlite.reserve_inline(token_id, unlimited, user_id, amount)
        if refused == BUSY:
            refused = await _reserve_shielded(runtime, token_id, unlimited, user_id, amount)
    if refused == "token":
        raise TokenQuotaExhausted()
    if refused == "user":
        raise UserQuotaExhausted()


async def _reserve_shielded(runtime: Runtime, token_id: int, unlimited: bool, user_id: int, amount: int) -> str | None:
    task = runtime.background.spawn(_reserve(runtime, token_id, unlimited, user_id, amount), name="reserve")
    try:
        refused = await asyncio.shield(task)
    except asyncio.CancelledError:
        def refund_if_held(done: asyncio.Task) -> None:
            if not done.cancelled() and done.exception() is None and done.result() is None:
                runtime.log_writer.submit(Settlement(token_id, unlimited, user_id, 0, amount, 0, None))

        task.add_done_callback(refund_if_held)
        raise
    return refused


async def _reserve(runtime: Runtime, token_id: int, unlimited: bool, user_id: int, amount: int) -> str | None:
    sqlite = runtime.log_writer.sqlite
    assert sqlite is not None
    return await sqlite.reserve(token_id, unlimited, user_id, amount)  # group commit on the writer thread


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
    token_id: int
    unlimited: bool
    user_id: int
    channel_id: int
    reserved: int
    actual: int
    log: ConsumeLog | None  # None: a refund of a request that produced nothing

    @property
    def delta(self) -> int:
        return self.actual - self.reserved
