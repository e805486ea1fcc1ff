"""Admin user management (role >= 10) and POST /api/topup for payment systems. Never returns password
hashes or access tokens (one-api's list leaks them)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from ..services import users
from .account import public_user
from .common import MAX_ID, Body, Id, Keyword, Page, Quota
from .deps import AdminUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["users"])


@router.get("/user/")
async def list_users(admin: AdminUser, session: SessionDep, p: Page = 0,
                     order: Annotated[str, Query(max_length=20)] = "") -> dict:
    return api_success([public_user(u) for u in await users.list_users(session, p, order)])


@router.get("/user/search")
async def search_users(admin: AdminUser, session: SessionDep, keyword: Keyword = "") -> dict:
    return api_success([public_user(u) for u in await users.search_users(session, keyword)])


class UserCreateBody(Body):
    username: str = Field(max_length=12)
    password: str = Field(max_length=20)
    display_name: str = Field(default="", max_length=20)


@router.post("/user/")
async def create_user(body: UserCreateBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await users.create_user(runtime.db, session, runtime.options, username=body.username, password=body.password,
                            display_name=body.display_name)
    return api_success(None)


class ManageBody(Body):
    username: str = Field(max_length=64)
    action: Literal["disable", "enable", "delete", "promote", "demote"]


@router.post("/user/manage")
async def manage_user(body: ManageBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    user = await users.manage_user(session, admin, body.username, body.action)
    await runtime.changes.publish("user", user.id)
    return api_success({"role": user.role, "status": user.status})


class UserUpdateBody(Body):
    id: int = Field(ge=1, le=MAX_ID)
    username: str | None = Field(default=None, max_length=12)
    password: str | None = Field(default=None, max_length=20)
    display_name: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=50)
    group: str | None = Field(default=None, max_length=32)
    quota: Quota | None = None
    role: int | None = Field(default=None, ge=1, le=100)


@router.put("/user/")
async def update_user(body: UserUpdateBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude={"id"})
    if changes.get("password") == "":
        changes.pop("password")
    user = await users.update_user_by_admin(runtime.db, session, admin, runtime.options, body.id, changes)
    await runtime.changes.publish("user", user.id)
    return api_success(public_user(user))


@router.get("/user/{user_id}")
async def get_user(user_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(public_user(await users.get_user_for(session, admin, user_id)))


@router.delete("/user/{user_id}")
async def delete_user(user_id: Id, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await users.delete_user_by_admin(session, admin, user_id)
    await runtime.changes.publish("user", user_id)
    return api_success(None)


class TopUpBody(Body):
    user_id: int = Field(ge=1, le=MAX_ID)
    quota: int = Field(ge=1, le=2**53 - 1)
    remark: str = Field(default="", max_length=200)


@router.post("/topup")
async def top_up(body: TopUpBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    user = await users.top_up(runtime.db, session, runtime.options, body.user_id, body.quota, body.remark)
    await runtime.changes.publish("user", user.id)
    return api_success(None)


@router.get("/group/")
async def groups(admin: AdminUser, runtime: RuntimeDep) -> dict:
    try:
        names = list(runtime.options.group_ratios())
    except ValueError:
        names = []
    return api_success(names)
