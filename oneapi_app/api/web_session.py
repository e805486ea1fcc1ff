"""Hand-over of a login between the dashboard and the session cookie (tickets: auth/tickets.py).

``/api/user/session?ticket=...&next=/`` redeems a dashboard login's single-use ticket, sets the same session
cookie /api uses and redirects back; ``/api/user/session/end`` clears it (dashboard logout).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse

from ..auth import sessions
from ..auth.tickets import redeem_ticket, safe_next
from ..errors import AppError
from ..i18n import msg
from ..models import User, UserStatus
from .deps import CriticalRateLimit, RuntimeDep, SessionDep, WebSessionDep

router = APIRouter(prefix="/api", tags=["account"])


@router.get("/user/session", dependencies=[CriticalRateLimit])
async def session_from_ticket(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep,
                              ticket: Annotated[str, Query(max_length=100)] = "",
                              next: Annotated[str, Query(max_length=500)] = "/"):
    user_id = await redeem_ticket(runtime, ticket)
    if user_id is None:
        raise AppError(msg("login.bad_ticket"), status=200)
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ENABLED:
        raise AppError(msg("user.banned"), status=200)
    web.login(user)
    response = RedirectResponse(safe_next(next), status_code=302)
    sessions.write_session(response, web.request, web.secret, web.data)
    return response


@router.get("/user/session/end")
async def end_session(web: WebSessionDep, next: Annotated[str, Query(max_length=500)] = "/login"):
    response = RedirectResponse(safe_next(next), status_code=302)
    sessions.clear_session(response, web.request)
    return response
