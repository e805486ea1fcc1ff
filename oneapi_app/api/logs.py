"""Logs: the admin list/search/stat/purge and the user's own list/search/stat (ids omitted there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..i18n import t
from ..models import Log
from ..models.schemas import OWN_ROW_HIDDEN, LogPublic
from ..services import logs
from .common import Keyword, Page, Timestamp
from .deps import AdminUser, CurrentUser, RuntimeDep
from .envelopes import api_success
from .gocompat import GoInt

router = APIRouter(prefix="/api", tags=["logs"])
Name = Annotated[str, Query(max_length=100)]
LogTypeQuery = Annotated[int, Query(ge=0, le=5), GoInt]
ChannelQuery = Annotated[int, Query(ge=0, le=2**53 - 1), GoInt]


def row(entry: Log, *, hide_ids: bool = False) -> dict:
    return LogPublic.model_validate(entry, from_attributes=True).model_dump(
        exclude=set(OWN_ROW_HIDDEN) if hide_ids else None)


@router.get("/log/")
async def list_all(admin: AdminUser, runtime: RuntimeDep, p: Page = 0, type: LogTypeQuery = 0,
                   username: Name = "", token_name: Name = "", model_name: Name = "",
                   start_timestamp: Timestamp = 0, end_timestamp: Timestamp = 0, channel: ChannelQuery = 0) -> dict:
    flt = logs.LogFilter(type=type, username=username, token_name=token_name, model_name=model_name,
                         start_timestamp=start_timestamp, end_timestamp=end_timestamp, channel=channel)
    return api_success([row(e) for e in await logs.list_logs(runtime.db, flt, p)])


@router.delete("/log/")
async def purge(admin: AdminUser, runtime: RuntimeDep, target_timestamp: Timestamp = 0) -> dict:
    if not target_timestamp:
        return {"success": False, "message": t("log.target_required")}
    return api_success(await logs.purge_before(runtime.db, target_timestamp))


@router.get("/log/stat")
async def stat_all(admin: AdminUser, runtime: RuntimeDep, type: LogTypeQuery = 0, username: Name = "",
                   token_name: Name = "", model_name: Name = "", start_timestamp: Timestamp = 0,
                   end_timestamp: Timestamp = 0, channel: ChannelQuery = 0) -> dict:
    flt = logs.LogFilter(username=username, token_name=token_name, model_name=model_name,
                         start_timestamp=start_timestamp, end_timestamp=end_timestamp, channel=channel)
    return api_success({"quota": await logs.sum_quota(runtime.db, flt)})


@router.get("/log/search")
async def search_all(admin: AdminUser, runtime: RuntimeDep, keyword: Keyword = "") -> dict:
    return api_success([row(e) for e in await logs.search_logs(runtime.db, keyword)])


@router.get("/log/self")
async def list_self(user: CurrentUser, runtime: RuntimeDep, p: Page = 0, type: LogTypeQuery = 0,
                    token_name: Name = "", model_name: Name = "", start_timestamp: Timestamp = 0,
                    end_timestamp: Timestamp = 0) -> dict:
    flt = logs.LogFilter(user_id=user.id, type=type, token_name=token_name, model_name=model_name,
                         start_timestamp=start_timestamp, end_timestamp=end_timestamp)
    return api_success([row(e, hide_ids=True) for e in await logs.list_logs(runtime.db, flt, p)])


@router.get("/log/self/stat")
async def stat_self(user: CurrentUser, runtime: RuntimeDep, type: LogTypeQuery = 0, token_name: Name = "",
                    model_name: Name = "", start_timestamp: Timestamp = 0, end_timestamp: Timestamp = 0) -> dict:
    flt = logs.LogFilter(user_id=user.id, token_name=token_name, model_name=model_name,
                         start_timestamp=start_timestamp, end_timestamp=end_timestamp)
    return api_success({"quota": await logs.sum_quota(runtime.db, flt)})


@router.get("/log/self/search")
async def search_self(user: CurrentUser, runtime: RuntimeDep, keyword: Keyword = "") -> dict:
    return api_success([row(e, hide_ids=True) for e in await logs.search_logs(runtime.db, keyword, user.id)])
