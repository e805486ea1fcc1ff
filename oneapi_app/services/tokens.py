"""Tokens: the ``sk-`` keys users create. Quota changes are atomic SQL updates, never read-modify-write.

The write rules of both front doors live here (validation, the status-only toggle, what an edit keeps), and
every change of a stored token is announced on ``bus`` ("token", key) after its commit, so the relay's cache
drops the stale key at once. A new token needs no notice: no cache holds its key yet.
"""

from __future__ import annotations

import ipaddress

from sqlmodel import desc, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..changes import Changes
from ..errors import AppError, BadRequest, NotFound
from ..i18n import msg
from ..models import Token, TokenStatus, now
from ..models.schemas import TokenCreate, TokenUpdate
from . import keys
from .channels import split_list
from .search import starts_with


def normalize_subnets(value: str | None) -> str:
    """Validate a comma list of CIDRs (or single addresses); return it normalized."""
    nets = []
    for item in split_list(value):
        try:
            nets.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise BadRequest(msg("token.bad_subnet", item=repr(item))) from None
    return ",".join(nets)


def _validate(token: Token) -> None:
    if len(token.name.encode("utf-8")) > 30:
        raise BadRequest(msg("token.name_length"))
    if token.remain_quota < 0:
        raise BadRequest(msg("token.negative_quota"))
    if token.expired_time != -1 and token.expired_time < 0:
        raise BadRequest(msg("token.bad_expiry"))
    token.subnet = normalize_subnets(token.subnet)
    if len(token.subnet) > 191:
        raise BadRequest(msg("token.subnet_length"))
    token.models = ",".join(split_list(token.models)) or None


async def create_token(session: AsyncSession, user_id: int, data: TokenCreate) -> Token:
    t = now()
    token = Token.model_validate(data.model_dump() | {"user_id": user_id, "key": keys.token_key(), "created_time": t,
                                                      "accessed_time": t, "status": TokenStatus.ENABLED})
    _validate(token)
    session.add(token)
    await session.commit()
    return token


async def get_token(session: AsyncSession, token_id: int, user_id: int | None = None) -> Token:
    token = await session.get(Token, token_id)
    if token is None or (user_id is not None and token.user_id != user_id):
        raise NotFound(msg("token.not_found", id=token_id))
    return token


async def update_token(session: AsyncSession, token_id: int, data: TokenUpdate, user_id: int | None = None, *,
                       status_only: bool = False, bus: Changes) -> Token:
    """An edit: the fields given (null = keep), never the status; with ``status_only`` the status alone."""
    if status_only:
        if data.status is None:
            raise AppError(msg("token.status_required"), status=200)
        return await set_token_status(session, token_id, data.status, user_id, bus=bus)
    token = await get_token(session, token_id, user_id)
    for field, value in data.model_dump(exclude_unset=True, exclude_none=True, exclude={"id", "status"}).items():
        setattr(token, field, value)
    _validate(token)
    session.add(token)
    await session.commit()
    await bus.publish("token", token.key)
    return token


async def delete_token(session: AsyncSession, token_id: int, user_id: int | None = None, *, bus: Changes) -> None:
    token = await get_token(session, token_id, user_id)
    key = token.key
    await session.delete(token)
    await session.commit()
    await bus.publish("token", key)


PAGE_SIZE = 10
TOKEN_ORDERS = {"remain_quota": Token.remain_quota, "used_quota": Token.used_quota}


async def list_tokens(session: AsyncSession, user_id: int, page: int, order: str = "") -> list[Token]:
    column = TOKEN_ORDERS.get(order)
    stmt = select(Token).where(Token.user_id == user_id)
    stmt = stmt.order_by(desc(column), desc(Token.id)) if column is not None else stmt.order_by(desc(Token.id))
    return list((await session.exec(stmt.offset(page * PAGE_SIZE).limit(PAGE_SIZE))).all())


async def search_tokens(session: AsyncSession, user_id: int, keyword: str) -> list[Token]:
    stmt = (select(Token).where(Token.user_id == user_id, starts_with(Token.name, keyword.strip()))
            .order_by(desc(Token.id)).limit(100))
    return list((await session.exec(stmt)).all())


def _refuse_enabling_spent(token: Token) -> None:
    if token.expired_time != -1 and token.expired_time <= now():
        raise BadRequest(msg("token.enable_expired"))
    if not token.unlimited_quota and token.remain_quota <= 0:
        raise BadRequest(msg("token.enable_exhausted"))


async def set_token_status(session: AsyncSession, token_id: int, status: int, user_id: int | None = None, *,
                           bus: Changes) -> Token:
    """The status-only toggle: enabling an expired or exhausted token is refused."""
    token = await get_token(session, token_id, user_id)
    if status not in (TokenStatus.ENABLED, TokenStatus.DISABLED):
        raise BadRequest(msg("status.bad"))
    if status == TokenStatus.ENABLED:
        _refuse_enabling_spent(token)
    token.status = status
    session.add(token)
    await session.commit()
    await bus.publish("token", token.key)
    return token
