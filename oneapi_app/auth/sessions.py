"""The signed session cookie shared by /api and the dashboard.

The cookie holds ``base64url(json payload).base64url(HMAC-SHA256)`` keyed by SESSION_SECRET. It carries the
user id plus small flags (OAuth state, Turnstile passed); the user's role and status are re-read from the
database on every request, so disabling a user takes effect at once, sessions included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "session"
MAX_AGE = 30 * 24 * 3600  # one-api keeps sessions for 30 days


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), b"oneapi-session:" + body.encode("ascii"), hashlib.sha256).digest())


def sign(secret: str, payload: dict[str, Any], *, now: float | None = None) -> str:
    data = dict(payload, iat=int(now if now is not None else time.time()))
    body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{body}.{_mac(secret, body)}"


def unsign(secret: str, value: str | None, *, max_age: int = MAX_AGE, now: float | None = None) -> dict[str, Any]:
    """The payload of a valid, unexpired cookie; {} for anything else (never raises)."""
    if not value or value.count(".") != 1 or len(value) > 4096:
        return {}
    body, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        return {}
    try:
        data = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    issued = data.get("iat")
    current = now if now is not None else time.time()
    if not isinstance(issued, int) or issued > current + 60 or current - issued > max_age:
        return {}
    return data


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def read_session(request: Request, secret: str) -> dict[str, Any]:
    return unsign(secret, request.cookies.get(COOKIE_NAME))


def write_session(response: Response, request: Request, secret: str, payload: dict[str, Any]) -> None:
    response.set_cookie(COOKIE_NAME, sign(secret, payload), max_age=MAX_AGE, path="/", httponly=True,
                        samesite="lax", secure=is_https(request))


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=is_https(request))


def user_id_from_cookie_header(secret: str, cookie_header: str) -> int:
    """The user id of a valid session cookie in a raw ``Cookie:`` header (the dashboard's websocket has one)."""
    from http.cookies import CookieError, SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except CookieError:
        return 0
    morsel = jar.get(COOKIE_NAME)
    user_id = unsign(secret, morsel.value if morsel else None).get("id")
    return user_id if isinstance(user_id, int) and user_id > 0 else 0
