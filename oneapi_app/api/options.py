"""Root-only options: GET lists every stored/known option except secrets (the ratio tables whole); PUT validates
and stores one."""

from __future__ import annotations

from fastapi import APIRouter

from ..models.schemas import OptionUpdate
from ..services.options import admin_view, update_option
from .deps import RootUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["options"])


@router.get("/option/")
async def list_options(root: RootUser, runtime: RuntimeDep) -> dict:
    return api_success(admin_view(runtime.options))


@router.put("/option/")
async def put_option(body: OptionUpdate, root: RootUser, runtime: RuntimeDep, session: SessionDep) -> dict:
    runtime.options = await update_option(session, runtime.options, body.key, body.value, bus=runtime.changes)
    return api_success(None)
