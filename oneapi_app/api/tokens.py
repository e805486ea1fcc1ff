"""The user's tokens (``sk-`` keys): CRUD, search and the status toggle. Always the caller's own tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models import Token
from ..models.schemas import TokenCreate, TokenEdit, TokenPublic
from ..services import tokens
from .common import Id, Keyword, Page
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


@router.post("/token/")
async def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> dict:
    return api_success(public(await tokens.create_token(session, user.id, body)))


@router.put("/token/")
async def update_token(body: TokenEdit, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
                       status_only: Annotated[str, Query(max_length=10)] = "") -> dict:
    token = await tokens.update_token(session, body.id, body, user.id, status_only=bool(status_only),
                                      bus=runtime.changes)
    return api_success(public(token))


@router.delete("/token/{token_id}")
async def delete_token(token_id: Id, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await tokens.delete_token(session, token_id, user.id, bus=runtime.changes)
    return api_success(None)
