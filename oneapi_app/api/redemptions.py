"""Admin redemption codes: create up to 100 at once, list/search/edit/disable/delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models import Redemption
from ..models.schemas import RedemptionCreate, RedemptionEdit, RedemptionPublic
from ..services import redemptions
from .common import Id, Keyword, Page
from .deps import AdminUser, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["redemptions"])


def public(row: Redemption) -> dict:
    return RedemptionPublic.model_validate(row, from_attributes=True).model_dump()


@router.get("/redemption/")
async def list_redemptions(admin: AdminUser, session: SessionDep, p: Page = 0) -> dict:
    return api_success([public(r) for r in await redemptions.list_redemptions(session, p)])


@router.get("/redemption/search")
async def search_redemptions(admin: AdminUser, session: SessionDep, keyword: Keyword = "") -> dict:
    return api_success([public(r) for r in await redemptions.search_redemptions(session, keyword)])


@router.get("/redemption/{redemption_id}")
async def get_redemption(redemption_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(public(await redemptions.get_redemption(session, redemption_id)))


@router.post("/redemption/")
async def create_redemptions(body: RedemptionCreate, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(await redemptions.create_redemptions(session, admin.id, body.name, body.quota, body.count))


@router.put("/redemption/")
async def update_redemption(body: RedemptionEdit, admin: AdminUser, session: SessionDep,
                            status_only: Annotated[str, Query(max_length=10)] = "") -> dict:
    row = await redemptions.update_redemption(session, body.id, body, status_only=bool(status_only))
    return api_success(public(row))


@router.delete("/redemption/{redemption_id}")
async def delete_redemption(redemption_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    await redemptions.delete_redemption(session, redemption_id)
    return api_success(None)
