"""The user's tokens (``sk-`` keys): CRUD, search and the status toggle. Always the caller's own tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from ..errors import AppError
from ..models import Token, TokenCreate, TokenPublic, TokenUpdate
from ..services import tokens
from .common import MAX_ID, Body, Id, Keyword, Page, Quota
from .deps import CurrentUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["tokens"])


def public(token: Token) -> dict:
    return TokenPublic.model_validate(token, from_attributes=True).model_dump()


@router.get("/token/")
async def list_tokens(user: CurrentUser, session: SessionDep, p: Page = 0,
                      order: Annotated[str, Query(max_length=20)] = "") -> dict:
    return api_success([public(t) for t in await tokens.list_tokens(session, user.id, p, order)])


@router.get("/token/search")
async def search_tokens(user: CurrentUser, session: SessionDep, keyword: Keyword = "") -> dict:
    return api_success([public(t) for t in await tokens.search_tokens(session, user.id, keyword)])


@router.get("/token/{token_id}")
async def get_token(token_id: Id, user: CurrentUser, session: SessionDep) -> dict:
    return api_success(public(await tokens.get_token(session, token_id, user.id)))


class TokenBody(Body):
    name: str = Field(default="", max_length=30)
    expired_time: int = Field(default=-1, ge=-1, le=2**40)
    remain_quota: Quota = 0
    unlimited_quota: bool = False
    models: str | None = Field(default=None, max_length=10000)
    subnet: str | None = Field(default="", max_length=2000)


@router.post("/token/")
async def create_token(body: TokenBody, user: CurrentUser, session: SessionDep) -> dict:
    token = await tokens.create_token(session, user.id, TokenCreate(**body.model_dump()))
    return api_success(public(token))


class TokenUpdateBody(Body):
    id: int = Field(ge=1, le=MAX_ID)
    status: int | None = Field(default=None, ge=1, le=4)
    name: str | None = Field(default=None, max_length=30)
    expired_time: int | None = Field(default=None, ge=-1, le=2**40)
    remain_quota: Quota | None = None
    unlimited_quota: bool | None = None
    models: str | None = Field(default=None, max_length=10000)
    subnet: str | None = Field(default=None, max_length=2000)


@router.put("/token/")
async def update_token(body: TokenUpdateBody, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
                       status_only: Annotated[str, Query(max_length=10)] = "") -> dict:
    if status_only:
        if body.status is None:
            raise AppError("status is required with status_only", status=200)
        token = await tokens.set_token_status(session, body.id, body.status, user.id)
    else:
        changes = body.model_dump(exclude_unset=True, exclude={"id", "status"})
        token = await tokens.update_token(session, body.id, TokenUpdate(**changes), user.id)
    await runtime.changes.publish("token", token.key)
    return api_success(public(token))


@router.delete("/token/{token_id}")
async def delete_token(token_id: Id, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    token = await tokens.get_token(session, token_id, user.id)
    key = token.key
    await tokens.delete_token(session, token_id, user.id)
    await runtime.changes.publish("token", key)
    return api_success(None)
