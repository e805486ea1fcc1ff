"""Root-only options: GET lists every stored/known option except secrets; PUT validates and stores one."""

from __future__ import annotations

from fastapi import APIRouter

from ..models.schemas import OptionUpdate
from ..services.options import Options, is_internal, to_db_value, update_option
from .deps import RootUser, RuntimeDep, SessionDep
from .envelopes import api_success

router = APIRouter(prefix="/api", tags=["options"])


@router.get("/option/")
async def list_options(root: RootUser, runtime: RuntimeDep) -> dict:
    values = runtime.options.model_dump()
    return api_success([{"key": k, "value": to_db_value(v)} for k, v in values.items()
                        if not Options.is_secret(k) and not is_internal(k)])


@router.put("/option/")
async def put_option(body: OptionUpdate, root: RootUser, runtime: RuntimeDep, session: SessionDep) -> dict:
    runtime.options = await update_option(session, runtime.options, body.key, body.value, bus=runtime.changes)
    return api_success(None)
