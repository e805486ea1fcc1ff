"""Hand-over of a login between the dashboard and the session cookie.

The dashboard (Reflex, over a websocket) cannot set an HttpOnly cookie itself. After a dashboard login it
stores a single-use ticket (60 s, shared store so any node accepts it) and sends the browser to
``/api/user/session?ticket=...&next=/``, which sets the same session cookie /api uses and redirects back.
``/api/user/session/end`` clears it (dashboard logout).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse

from ..auth import sessions
from ..errors import AppError
from ..models import User, UserStatus
from ..services.verification import CodeStore
from .deps import CriticalRateLimit, RuntimeDep, SessionDep, WebSessionDep

router = APIRouter(prefix="/api", tags=["account"])
TICKET = "ticket"
TICKET_TTL = 60


async def issue_ticket(runtime, user_id: int) -> str:
    secret = secrets.token_hex(16)
    await CodeStore.of(runtime).put(TICKET, str(user_id), secret, ttl=TICKET_TTL)
    return f"{user_id}.{secret}"


def _safe_next(next_path: str) -> str:
    """Only same-site relative paths (no open redirect)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path


@router.get("/user/session", dependencies=[CriticalRateLimit])
async def session_from_ticket(runtime: RuntimeDep, session: SessionDep, web: WebSessionDep,
                              ticket: Annotated[str, Query(max_length=100)] = "",
                              next: Annotated[str, Query(max_length=500)] = "/"):
    user_id_text, _, secret = ticket.partition(".")
    if not user_id_text.isdigit() or len(user_id_text) > 15 or not secret:
        raise AppError("invalid or expired login ticket", status=200)
    if not await CodeStore.of(runtime).check(TICKET, user_id_text, secret):
        raise AppError("invalid or expired login ticket", status=200)
    user = await session.get(User, int(user_id_text))
    if user is None or user.status != UserStatus.ENABLED:
        raise AppError("用户已被封禁", status=200)
    web.login(user)
    response = RedirectResponse(_safe_next(next), status_code=302)
    sessions.write_session(response, web.request, web.secret, web.data)
    return response


@router.get("/user/session/end")
async def end_session(web: WebSessionDep, next: Annotated[str, Query(max_length=500)] = "/login"):
    response = RedirectResponse(_safe_next(next), status_code=302)
    sessions.clear_session(response, web.request)
    return response
