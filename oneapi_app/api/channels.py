"""Admin channel management: CRUD with abilities kept in step, batch create, search, test one / test all in
the background with visible progress, balance queries, delete-all-disabled, and the channel-type registry.
Channel keys are never returned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from ..models import Channel, ChannelCreate, ChannelPublic, ChannelStatus, ChannelUpdate
from ..services import channel_checks, channels
from ..services.channel_registry import channel_types
from .common import MAX_ID, Body, Id, Keyword, Page
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
    from ..relay.routes import model_entry
    from ..services.pricing import MODEL_RATIOS

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
    count = await channels.delete_disabled_channels(session)
    await runtime.changes.publish("channels")
    return api_success(count)


@router.get("/channel/{channel_id}")
async def get_channel(channel_id: Id, admin: AdminUser, session: SessionDep) -> dict:
    return api_success(public(await channels.get_channel(session, channel_id)))


class ChannelBody(Body):
    type: int = Field(default=1, ge=0, le=1000)
    key: str = Field(max_length=16_000)
    name: str = Field(default="", max_length=100)
    weight: int | None = Field(default=0, ge=0, le=2**31)
    base_url: str | None = Field(default="", max_length=191)
    other: str | None = Field(default=None, max_length=191)
    models: str = Field(default="", max_length=100_000)
    group: str = Field(default="default", max_length=32)
    model_mapping: str | None = Field(default="", max_length=1024)
    priority: int | None = Field(default=0, ge=-(2**31), le=2**31)
    config: str = Field(default="", max_length=100_000)
    system_prompt: str | None = Field(default=None, max_length=16_000)


@router.post("/channel/")
async def create_channels(body: ChannelBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    created = await channels.create_channels(session, ChannelCreate(**body.model_dump(exclude={"other"})))
    await runtime.changes.publish("channels")
    return api_success([public(c) for c in created] if len(created) > 1 else None,
                       message=f"created {len(created)} channel(s)")


class ChannelUpdateBody(Body):
    id: int = Field(ge=1, le=MAX_ID)
    status: int | None = Field(default=None, ge=1, le=3)
    type: int | None = Field(default=None, ge=0, le=1000)
    key: str | None = Field(default=None, max_length=16_000)
    name: str | None = Field(default=None, max_length=100)
    weight: int | None = Field(default=None, ge=0, le=2**31)
    base_url: str | None = Field(default=None, max_length=191)
    other: str | None = Field(default=None, max_length=191)
    models: str | None = Field(default=None, max_length=100_000)
    group: str | None = Field(default=None, max_length=32)
    model_mapping: str | None = Field(default=None, max_length=1024)
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31)
    config: str | None = Field(default=None, max_length=100_000)
    system_prompt: str | None = Field(default=None, max_length=16_000)


@router.put("/channel/")
async def update_channel(body: ChannelUpdateBody, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    changes = body.model_dump(exclude_unset=True, exclude={"id", "status"})
    # one-api: zero/empty values keep the stored ones.
    for name in ("type", "name", "models", "group", "key", "base_url"):
        if changes.get(name) in (0, ""):
            changes.pop(name, None)
    channel = await channels.update_channel(session, body.id, ChannelUpdate(**changes))
    if body.status is not None and body.status != channel.status:
        channel = await channels.set_channel_status(session, body.id, ChannelStatus(body.status))
    await runtime.changes.publish("channels")
    return api_success(public(channel))


@router.delete("/channel/{channel_id}")
async def delete_channel(channel_id: Id, admin: AdminUser, session: SessionDep, runtime: RuntimeDep) -> dict:
    await channels.delete_channel(session, channel_id)
    await runtime.changes.publish("channels")
    return api_success(None)
