"""Single-use login tickets: how a dashboard login becomes the HttpOnly session cookie.

The dashboard (Reflex, over a websocket) cannot set an HttpOnly cookie itself. After a dashboard login it
stores a ticket (60 s, in the shared code store so any node accepts it) and sends the browser to
``/api/user/session?ticket=...&next=/`` (api/web_session.py), which redeems it and sets the cookie.
"""

from __future__ import annotations

import secrets

from ..services.verification import CodeStore

TICKET = "ticket"
TICKET_TTL = 60


async def issue_ticket(runtime, user_id: int) -> str:
    """A new ticket for ``user_id``: ``<id>.<secret>``."""
    secret = secrets.token_hex(16)
    await CodeStore.of(runtime).put(TICKET, str(user_id), secret, ttl=TICKET_TTL)
    return f"{user_id}.{secret}"


async def redeem_ticket(runtime, ticket: str) -> int | None:
    """The user id of a valid ticket, consumed; None for a malformed, forged, used or expired one."""
    user_id_text, _, secret = ticket.partition(".")
    if not user_id_text.isdigit() or len(user_id_text) > 15 or not secret:
        return None
    if not await CodeStore.of(runtime).check(TICKET, user_id_text, secret):
        return None
    return int(user_id_text)


def safe_next(next_path: str) -> str:
    """Only same-site relative paths (no open redirect)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path
