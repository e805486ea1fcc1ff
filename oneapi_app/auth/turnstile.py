"""Cloudflare Turnstile: the check one-api runs on register, verification mail and password reset."""

from __future__ import annotations

import httpx

from ..errors import AppError
from ..i18n import msg

VERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify"


async def verify(http: httpx.AsyncClient, secret: str, response_token: str, remote_ip: str = "") -> bool:
    if not response_token:
        return False
    data = {"secret": secret, "response": response_token}
    if remote_ip:
        data["remoteip"] = remote_ip
    try:
        reply = await http.post(VERIFY_URL, data=data, timeout=10)
        return bool(reply.json().get("success"))
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


async def check(runtime, response_token: str, remote_ip: str = "") -> None:
    """Refuse (AppError) unless TurnstileCheckEnabled is off or ``response_token`` verifies. Callers remember
    a pass for the browser's session (/api in the cookie, the dashboard in its state)."""
    options = runtime.options
    if not options.TurnstileCheckEnabled:
        return
    if not response_token:
        raise AppError(msg("api.turnstile_empty"), status=200)
    if not await verify(runtime.http, options.TurnstileSecretKey, response_token, remote_ip):
        raise AppError(msg("api.turnstile_failed"), status=200)
