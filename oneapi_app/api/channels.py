"""Admin channel management: CRUD with abilities kept in step, batch create, search, test one / test all in
the background with visible progress, balance queries, delete-all-disabled, and the channel-type registry.
Channel keys are never returned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..models import Channel
from ..models.schemas import ChannelCreate, ChannelEdit, ChannelPublic
from ..services import channel_checks, channels
from ..services.channel_registry import channel_types
from .common import Id, Keyword, Page
from .deps import AdminUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["channels"])


def public(channel: Channel) -> dict:
    data = ChannelPublic.model_validate(channel, from_attributes=True).model_dump()
    data["config"] = channels.redact_config(data.get("config") or "")
    return data


@router.get("/channel/")
async def list_channels(admin: AdminUser, session: SessionDep, p: Page = 0) -> dict:
    return api_success([public(c) for c in await channels.list_channels(session, p)])


@router.get("/channel/search")
async def search_channels(admin: AdminUser, session: SessionDep, keyword: Keyword = "") -> dict:
    return api_success([public(c) for c in await channels.search_channels(session, keyword)])


@router.get("/channel/models")
async def channel_models(admin: AdminUser, session: SessionDep) -> dict:
    """one-api answers this one without the envelope: {object: "list", data: [...]}: every model it knows (the
    price catalog) plus the ones channels serve, shaped as the relay's /v1/models entries."""
    from ..catalog.prices import MODEL_RATIOS
    from ..relay.routes import model_entry

    names = sorted(set(MODEL_RATIOS) | set(await channels.all_models(session)))
    return {"object": "list", "data": [model_entry(n) for n in names]}


@router.get("/channel/types")
async def list_channel_types(admin: AdminUser) -> dict:
    return api_success(channel_types())


@router.get("/channel/test")
async def test_all(admin: AdminUser, runtime: RuntimeDep,
                   scope: Annotated[str, Query(max_length=20)] = "all") -> dict:
    state = channel_checks.start_test_all(runtime, scope or "all")
    return api_success(state.snapshot())


@router.get("/channel/test/progress")
async def test_all_progress(admin: AdminUser, runtime: RuntimeDep) -> dict:
    return api_success(channel_checks.progress(runtime).snapshot())


@router.get("/channel/test/{channel_id}")
async def test_one(channel_id: Id, admin: AdminUser, runtime: RuntimeDep,
                   model: Annotated[str, Query(max_length=100)] = "") -> dict:
    result = await channel_checks.test_channel(runtime, channel_id, model)
    return {"success": result.success, "message": result.message, "time": round(result.time, 3),
            "modelName": model}


@router.get("/channel/update_balance")
async def update_all_balances(admin: AdminUser) -> dict:
    return api_success(None)


@router.get("/channel/update_balance/{channel_id}")
async def update_balance(channel_id: Id, admin: AdminUser, runtime: RuntimeDep) -> dict:
    balance = await channel_checks.update_balance(runtime, channel_id)
    return {"success": True, "message": "", "balance": balance}


@router.delete("/channel/disabled")
async def delete_disabled(admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    return api_success(await channels.delete_disabled_channels(session, bus=runtime.changes))


@router.get("/channel/{channel_id}")
async def get_channel(channel_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(public(await channels.get_channel(session, channel_id)))


@router.post("/channel/")
async def create_channels(body: ChannelCreate, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    created = await channels.create_channels(session, body, bus=runtime.changes)
    return api_success([public(c) for c in created] if len(created) > 1 else None,
                       message=f"created {len(created)} channel(s)")


@router.put("/channel/")
async def update_channel(body: ChannelEdit, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    return api_success(public(await channels.update_channel(session, body.id, body, bus=runtime.changes)))


@router.delete("/channel/{channel_id}")
async def delete_channel(channel_id: Id, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await channels.delete_channel(session, channel_id, bus=runtime.changes)
    return api_success(None)
