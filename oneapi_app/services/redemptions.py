"""Redemption codes: creation in batches, edits, and redeeming as one transaction that credits a code once.

Redeeming starts with the conditional write ``UPDATE redemptions SET status = used WHERE key = :k AND
status = unused``: the database lets exactly one of any number of concurrent attempts match the row (row lock
on PostgreSQL/MySQL, the single writer on SQLite, whose busy timeout makes the others wait rather than fail),
and only that attempt adds the quota, in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, desc, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from ..changes import Changes
from ..db import Database
from ..errors import AppError, BadRequest, NotFound
from ..i18n import msg
from ..models import LogType, Redemption, RedemptionStatus, User, now
from ..models.schemas import MAX_BATCH, RedemptionUpdate
from . import keys
from .ledger import move_user_quota
from .logs import format_quota
from .options import Options
from .search import keyword_filter

PAGE_SIZE = 10


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 20:
        raise BadRequest(msg("redemption.name_length"))
    return name


def _check_quota(quota: int) -> int:
    if quota <= 0:
        raise BadRequest(msg("user.bad_quota"))
    return quota


async def create_redemptions(session: AsyncSession, creator_id: int, name: str, quota: int, count: int) -> list[str]:
    name, quota = _check_name(name), _check_quota(quota)
    if not 1 <= count <= MAX_BATCH:
        raise BadRequest(msg("redemption.bad_count", max=MAX_BATCH))
    created = now()
    codes = [keys.uuid_hex() for _ in range(count)]
    for code in codes:
        session.add(Redemption(user_id=creator_id, key=code, status=RedemptionStatus.UNUSED, name=name, quota=quota,
                               created_time=created))
    await session.commit()
    return codes


async def get_redemption(session: AsyncSession, redemption_id: int) -> Redemption:
    row = await session.get(Redemption, redemption_id)
    if row is None:
        raise NotFound(msg("redemption.not_found", id=redemption_id))
    return row


async def list_redemptions(session: AsyncSession, page: int) -> list[Redemption]:
    stmt = select(Redemption).order_by(desc(Redemption.id)).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
    return list((await session.exec(stmt)).all())


async def search_redemptions(session: AsyncSession, keyword: str) -> list[Redemption]:
    stmt = (select(Redemption).where(keyword_filter(keyword, Redemption.id, Redemption.name))
            .order_by(desc(Redemption.id)).limit(100))
    return list((await session.exec(stmt)).all())


async def update_redemption(session: AsyncSession, redemption_id: int, data: RedemptionUpdate, *,
                            status_only: bool) -> Redemption:
    """With ``status_only`` the status alone (never of a used code); else the name and quota given."""
    status, name, quota = data.status, data.name, data.quota
    row = await get_redemption(session, redemption_id)
    if status_only:
        if status not in (RedemptionStatus.UNUSED, RedemptionStatus.DISABLED):
            raise BadRequest(msg("status.bad"))
        if row.status == RedemptionStatus.USED:
            raise BadRequest(msg("redemption.used"))
        # Conditional, so a code being redeemed right now is not flipped back to unused.
        result = await session.exec(update(Redemption)  # type: ignore[call-overload]
                                    .where(col(Redemption.id) == redemption_id,
                                           col(Redemption.status) != RedemptionStatus.USED)
                                    .values(status=status))
        if not result.rowcount:
            await session.rollback()
            raise BadRequest(msg("redemption.used"))
    else:
        if name is not None:
            row.name = _check_name(name)
        if quota is not None:
            row.quota = _check_quota(quota)
        session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def delete_redemption(session: AsyncSession, redemption_id: int) -> None:
    row = await get_redemption(session, redemption_id)
    await session.delete(row)
    await session.commit()


async def redeem(db: Database, session: AsyncSession, options: Options, user: User, key: str, *, bus: Changes) -> int:
    """Credit the code's quota to ``user`` once; return the quota added (announced on ``bus`` as a user change)."""
    key = (key or "").strip()
    if not key:
        raise AppError(msg("redemption.empty"), status=200)
    if len(key) > 64:
        raise AppError(msg("redemption.invalid"), status=200)
    claim = await session.exec(update(Redemption)  # type: ignore[call-overload]
                               .where(col(Redemption.key) == key, col(Redemption.status) == RedemptionStatus.UNUSED)
                               .values(status=RedemptionStatus.USED, redeemed_time=now()))
    if claim.rowcount != 1:
        await session.rollback()
        status = (await session.exec(select(Redemption.status).where(Redemption.key == key))).first()
        if status is None:
            raise AppError(msg("redemption.invalid"), status=200)
        if status == RedemptionStatus.DISABLED:
            raise AppError(msg("redemption.disabled"), status=200)
        raise AppError(msg("redemption.used"), status=200)
    quota = (await session.exec(select(Redemption.quota).where(Redemption.key == key))).one()
    # The claim, the credit and the top-up log row commit together.
    await move_user_quota(db, session, user_id=user.id, delta=quota, type=LogType.TOPUP, username=user.username,
                          log_quota=quota, content="通过兑换码充值 "
                          + format_quota(quota, options.QuotaPerUnit, options.DisplayInCurrencyEnabled))
    await bus.publish("user", user.id)
    return quota


async def count_redemptions(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(Redemption))).one())
