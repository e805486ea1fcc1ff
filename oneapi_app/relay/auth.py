"""Token authentication of relay requests (one-api's TokenAuth), from the cache: no database on a hit.

Keys come from ``Authorization: Bearer sk-<key>[-<channelId>]``, or the ``x-api-key`` / ``api-key`` headers
(Anthropic- and Azure-style clients). Errors carry one-api's statuses and messages in its two-key envelope.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from starlette.requests import Request

from ..errors import AuthError
from ..i18n import msg
from ..models import Role
from ..netaddr import client_ip
from ..services.cache import RelayCache, TokenInfo, UserInfo


@dataclass(slots=True)
class Auth:
    token: TokenInfo
    user: UserInfo
    pinned_channel: int | None


def parse_key(request: Request) -> tuple[str, str | None]:
    """(key, channel id part) from the request headers (``Authorization: Bearer``, ``x-api-key``, ``api-key``,
    Gemini's ``x-goog-api-key``) or Gemini's ``?key=`` query; ("", None) when no key was sent."""
    headers = request.headers
    raw = headers.get("authorization") or ""
    if raw[:7].lower() == "bearer ":
        raw = raw[7:]
    raw = raw.strip() or (headers.get("x-api-key") or headers.get("api-key") or headers.get("x-goog-api-key")
                          or "").strip()
    if not raw and b"key=" in request.scope.get("query_string", b""):  # Gemini clients: ?key=
        raw = (request.query_params.get("key") or "").strip()
    raw = raw.removeprefix("sk-")
    key, _, rest = raw.partition("-")
    channel = rest.split("-", 1)[0] if rest else None
    return key, channel


def _in_subnets(token: TokenInfo, ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in token.networks())


async def authenticate(cache: RelayCache, request: Request) -> Auth:
    key, channel_part = parse_key(request)
    if not key:
        raise AuthError(msg("relay.no_key"), 401)
    token = await cache.token(key)
    if token is not None and not token.unlimited_quota and token.remain_quota <= 0:
        token = await cache.token(key, fresh=True)  # a cached balance never refuses: the row decides
    if token is None:
        raise AuthError(msg("relay.invalid_key"), 401)
    if token.status == 4:
        raise AuthError(msg("relay.key_exhausted", name=token.name, id=token.id), 401)
    if token.status == 3:
        raise AuthError(msg("relay.key_expired"), 401)
    if token.status != 1:
        raise AuthError(msg("relay.key_unavailable"), 401)
    if token.expired_time != -1 and token.expired_time < time.time():
        raise AuthError(msg("relay.key_expired"), 401)
    if not token.unlimited_quota and token.remain_quota <= 0:
        raise AuthError(msg("relay.key_exhausted", name=token.name, id=token.id), 401)
    if token.subnet:
        ip = client_ip(request.scope, cache.runtime.settings.trusted_proxies)
        if not _in_subnets(token, ip):
            raise AuthError(msg("relay.key_subnet", subnet=token.subnet, ip=ip), 403)
    user = await cache.user(token.user_id)
    if user is None or user.status != 1:
        raise AuthError(msg("user.banned"), 403)
    pinned = None
    if channel_part:
        if user.role < Role.ADMIN:
            raise AuthError(msg("relay.pin_not_admin"), 403)
        if not channel_part.isdigit():
            raise AuthError(msg("relay.bad_channel_id"), 400)
        pinned = int(channel_part)
    return Auth(token, user, pinned)


def check_model_allowed(token: TokenInfo, model: str) -> None:
    if token.models is not None and model not in token.models:
        raise AuthError(msg("relay.model_not_allowed", model=model), 403)
