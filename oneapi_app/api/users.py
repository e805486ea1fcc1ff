"""Admin user management (role >= 10) and POST /api/topup for payment systems. Never returns password
hashes or access tokens (one-api's list leaks them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models.schemas import TopUp, UserCreate, UserEdit, UserManage
from ..services import users
from .account import public_user
from .common import Id, Keyword, Page
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


@router.post("/user/")
async def create_user(body: UserCreate, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await users.create_user(runtime.db, session, runtime.options, username=body.username, password=body.password,
                            display_name=body.display_name)
    return api_success(None)


@router.post("/user/manage")
async def manage_user(body: UserManage, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    user = await users.manage_user(session, admin, body.username, body.action, bus=runtime.changes)
    return api_success({"role": user.role, "status": user.status})


@router.put("/user/")
async def update_user(body: UserEdit, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    user = await users.update_user_by_admin(runtime.db, session, admin, runtime.options, body.id, body,
                                            bus=runtime.changes)
    return api_success(public_user(user))


@router.get("/user/{user_id}")
async def get_user(user_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(public_user(await users.get_user_for(session, admin, user_id)))


@router.delete("/user/{user_id}")
async def delete_user(user_id: Id, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await users.delete_user_by_admin(session, admin, user_id, bus=runtime.changes)
    return api_success(None)


@router.post("/topup")
async def top_up(body: TopUp, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await users.top_up(runtime.db, session, runtime.options, body.user_id, body.quota, body.remark,
                       bus=runtime.changes)
    return api_success(None)


@router.get("/group/")
async def groups(admin: AdminUser, runtime: RuntimeDep) -> dict:
    try:
        names = list(runtime.options.group_ratios())
    except ValueError:
        names = []
    return api_success(names)
