"""Cloudflare Turnstile: the check one-api runs on register, verification mail and password reset."""

from __future__ import annotations

import httpx

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
