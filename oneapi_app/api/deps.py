"""FastAPI dependencies: the runtime and its parts, for routes. (CurrentUser/AdminUser join with accounts.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from ..runtime import Runtime
from ..services.options import Options


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_options(runtime: RuntimeDep) -> Options:
    return runtime.options


OptionsDep = Annotated[Options, Depends(get_options)]
