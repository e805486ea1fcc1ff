"""Quota moves outside the relay (redemption codes, admin edits, top-ups): a delta in SQL and its log row.

``add_quota`` is the one statement (``UPDATE users SET quota = quota + :delta``, never read-modify-write).
``move_user_quota`` adds the delta and writes the log row in the session's transaction and commits both at
once when the logs table lives in the main database; with a separate log database (LOG_SQL_DSN) the row is
written right after the commit (a crash between the two loses that row, not the quota change).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ...db import Database
from ...models import Log, LogType, User, now
from ..logs import record


async def add_quota(session: AsyncSession, user_id: int, delta: int) -> None:
    """Atomic in the database: UPDATE users SET quota = quota + :delta (never read-modify-write)."""
    await session.exec(update(User).where(col(User.id) == user_id)  # type: ignore[call-overload]
                       .values(quota=User.quota + delta))


async def move_user_quota(db: Database, session: AsyncSession, *, user_id: int, delta: int, type: LogType,
                          username: str, content: str | Callable[[int], str], log_quota: int = 0) -> int:
    """Add ``delta`` to the user's quota with its log row (``content`` may be built from the new balance),
    commit the session's transaction with them, and return the new balance."""
    await add_quota(session, user_id, delta)
    balance = int((await session.exec(select(User.quota).where(User.id == user_id))).one())
    message = content(balance) if callable(content) else content
    if db.log_engine is db.engine:
        session.add(Log(user_id=user_id, created_at=now(), type=int(type), content=message, username=username,
                        quota=log_quota))
        await session.commit()
    else:
        await session.commit()
        await record(db, user_id=user_id, type=type, username=username, content=message, quota=log_quota)
    return balance
