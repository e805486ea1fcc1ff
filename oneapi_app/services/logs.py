"""Log rows written by the management side (top-up, manage, system, test) and every log query.

The logs table may live in its own database (LOG_SQL_DSN), so everything here takes the ``Database`` and
opens ``log_session()``. The relay's batched consume-log writer is separate (services/ledger/settlements.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, delete, desc, or_, select

from ..db import Database
from ..models import Log, LogType, now
from ..scrub import scrub_text
from .search import starts_with

log = logging.getLogger(__name__)
PAGE_SIZE = 10


async def record(db: Database, *, user_id: int, type: LogType, content: str, username: str = "",
                 quota: int = 0, channel_id: int = 0, model_name: str = "", elapsed_time: int = 0) -> None:
    """Write one log row now. A failure is logged, never raised: the change it describes already happened.
    The content is scrubbed of secret-shaped strings (callers quoting an upstream also pass its key)."""
    content = scrub_text(content)
    try:
        async with db.log_session() as session:
            session.add(Log(user_id=user_id, created_at=now(), type=int(type), content=content, username=username,
                            quota=quota, channel_id=channel_id, model_name=model_name, elapsed_time=elapsed_time))
            await session.commit()
    except Exception:
        log.exception("could not write a %s log row for user %s", type.name, user_id)


@dataclass
class LogFilter:
    type: int = 0
    start_timestamp: int = 0
    end_timestamp: int = 0
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    user_id: int | None = None  # the self routes pin the user

    def apply(self, stmt):
        if self.user_id is not None:
            stmt = stmt.where(Log.user_id == self.user_id)
        if self.type:
            stmt = stmt.where(Log.type == self.type)
        if self.username:
            stmt = stmt.where(Log.username == self.username)
        if self.token_name:
            stmt = stmt.where(Log.token_name == self.token_name)
        if self.model_name:
            stmt = stmt.where(Log.model_name == self.model_name)
        if self.start_timestamp:
            stmt = stmt.where(Log.created_at >= self.start_timestamp)
        if self.end_timestamp:
            stmt = stmt.where(Log.created_at <= self.end_timestamp)
        if self.channel:
            stmt = stmt.where(Log.channel_id == self.channel)
        return stmt


async def list_logs(db: Database, flt: LogFilter, page: int) -> list[Log]:
    async with db.log_session() as session:
        stmt = flt.apply(select(Log)).order_by(desc(Log.id)).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
        rows = list((await session.exec(stmt)).all())
    return _shown(rows)


async def search_logs(db: Database, keyword: str, user_id: int | None = None) -> list[Log]:
    """Admin: type number or content prefix; self: type number only (one-api). At most 100 rows."""
    keyword = keyword.strip()
    stmt = select(Log)
    type_value = int(keyword) if keyword.isdigit() and len(keyword) < 10 else None
    if user_id is not None:
        stmt = stmt.where(Log.user_id == user_id)
        if type_value is not None:
            stmt = stmt.where(Log.type == type_value)
        elif keyword:
            return []
    elif keyword:
        prefix = starts_with(Log.content, keyword)
        stmt = stmt.where(or_(Log.type == type_value, prefix) if type_value is not None else prefix)
    async with db.log_session() as session:
        rows = list((await session.exec(stmt.order_by(desc(Log.id)).limit(100))).all())
    return _shown(rows)


def _shown(rows: list[Log]) -> list[Log]:
    """Rows as every reader (/api/log, the Logs page) sees them: content scrubbed again, for rows written
    before the rule existed. Their session is closed, so nothing is written back."""
    for row in rows:
        if row.content:
            row.content = scrub_text(row.content)
    return rows


async def sum_quota(db: Database, flt: LogFilter) -> int:
    """Total quota of the consume logs matching the filter (``/log/stat``)."""
    consume = LogFilter(**{**flt.__dict__, "type": int(LogType.CONSUME)})
    async with db.log_session() as session:
        total = (await session.exec(consume.apply(select(func.coalesce(func.sum(Log.quota), 0))))).one()
    return int(total or 0)


async def purge_before(db: Database, timestamp: int) -> int:
    async with db.log_session() as session:
        result = await session.exec(delete(Log).where(col(Log.created_at) < timestamp))  # type: ignore[call-overload]
        await session.commit()
        return int(result.rowcount or 0)


async def dashboard(db: Database, user_id: int, days: int = 7) -> list[dict]:
    """Consume logs of the last ``days`` days per UTC day and model, with one-api's Go field names."""
    since = now() - days * 86400
    day = (col(Log.created_at) - col(Log.created_at) % 86400).label("day")
    columns = (day, Log.model_name, func.count(), func.sum(Log.quota), func.sum(Log.prompt_tokens),
               func.sum(Log.completion_tokens))
    stmt = (select(*columns)  # type: ignore[call-overload]  # sqlmodel types select() for at most 4 columns
            .where(Log.user_id == user_id, Log.type == int(LogType.CONSUME), Log.created_at >= since)
            .group_by(day, Log.model_name).order_by(day, Log.model_name))
    async with db.log_session() as session:
        rows = (await session.exec(stmt)).all()
    return [{
        "Day": datetime.fromtimestamp(int(d), UTC).strftime("%Y-%m-%d"),
        "ModelName": model, "RequestCount": int(count), "Quota": int(quota or 0),
        "PromptTokens": int(prompt or 0), "CompletionTokens": int(completion or 0),
    } for d, model, count, quota, prompt, completion in rows]


def format_quota(quota: int, quota_per_unit: float, in_currency: bool) -> str:
    if in_currency:
        return f"＄{quota / (quota_per_unit or 500000):.6f} 额度"
    return f"{quota} 点额度"
