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


def password_stamp(secret: str, password_hash: str) -> str:
    """A short keyed digest of the password hash, kept in the session: changing the password (or a reset)
    ends every other session of the user."""
    return hmac.new(secret.encode("utf-8"), b"oneapi-pw:" + (password_hash or "").encode("utf-8"),
                    hashlib.sha256).hexdigest()[:16]


def is_current(secret: str, payload: dict[str, Any], password_hash: str) -> bool:
    stamp = payload.get("pw")
    return isinstance(stamp, str) and hmac.compare_digest(stamp, password_stamp(secret, password_hash))


def session_from_cookie_header(secret: str, cookie_header: str) -> dict[str, Any]:
    """The payload of a valid session cookie in a raw ``Cookie:`` header (the dashboard's websocket has one)."""
    from http.cookies import CookieError, SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except CookieError:
        return {}
    morsel = jar.get(COOKIE_NAME)
    return unsign(secret, morsel.value if morsel else None)


def user_id_from_cookie_header(secret: str, cookie_header: str) -> int:
    user_id = session_from_cookie_header(secret, cookie_header).get("id")
    return user_id if isinstance(user_id, int) and user_id > 0 else 0
