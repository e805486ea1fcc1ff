"""FastAPI dependencies: the runtime and its parts, the web session, and the role gates of /api.

Auth as one-api: the session cookie wins, else ``Authorization: <access token>`` (``Bearer `` stripped).
Unlike one-api the user row is re-read on every request, so a disabled or deleted user (or a demoted admin)
loses access at once, sessions included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .. import netaddr
from ..auth import sessions, turnstile
from ..auth.ratelimit import CRITICAL_WINDOW, critical_limiter, per_ip_limiter
from ..errors import AppError, RateLimited
from ..i18n import msg
from ..models import Role, User, UserStatus
from ..runtime import Runtime
from ..services.options import Options

NOT_LOGGED_IN = msg("api.not_logged_in")
BAD_ACCESS_TOKEN = msg("api.bad_access_token")
BANNED = msg("user.banned")
NO_PERMISSION = msg("api.no_permission")


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


class WebSession:
    """The signed cookie of this request; ``save()`` (re)writes it on the response."""

    def __init__(self, request: Request, response: Response, secret: str) -> None:
        self.request = request
        self.response = response
        self.secret = secret
        self.data: dict[str, Any] = sessions.read_session(request, secret)

    def save(self) -> None:
        self._drop_pending_cookie()
        sessions.write_session(self.response, self.request, self.secret, self.data)

    def clear(self) -> None:
        self.data = {}
        self._drop_pending_cookie()
        sessions.clear_session(self.response, self.request)

    def login(self, user: User) -> None:
        keep = {k: v for k, v in self.data.items() if k == "turnstile"}
        self.data = keep | {"id": user.id, "username": user.username, "role": user.role, "status": user.status,
                            "pw": sessions.password_stamp(self.secret, user.password)}
        self.save()

    def _drop_pending_cookie(self) -> None:
        prefix = f"{sessions.COOKIE_NAME}=".encode()
        self.response.raw_headers[:] = [
            (k, v) for k, v in self.response.raw_headers if not (k == b"set-cookie" and v.startswith(prefix))
        ]


def get_web_session(request: Request, response: Response, runtime: RuntimeDep) -> WebSession:
    return WebSession(request, response, runtime.settings.session_secret)


WebSessionDep = Annotated[WebSession, Depends(get_web_session)]


async def _resolve_user(request: Request, web: WebSession, session: AsyncSession) -> User:
    user_id = web.data.get("id")
    if isinstance(user_id, int) and user_id > 0:
        user = await session.get(User, user_id)
        if user is not None and not sessions.is_current(web.secret, web.data, user.password):
            web.clear()  # the password changed since this session began
            raise AppError(NOT_LOGGED_IN, status=401)
        if user is None or user.status != UserStatus.ENABLED:
            web.clear()
            raise AppError(BANNED, status=200)
        return user
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise AppError(NOT_LOGGED_IN, status=401)
    token = header.removeprefix("Bearer ").strip()
    user = None
    if 0 < len(token) <= 64:
        user = (await session.exec(select(User).where(User.access_token == token))).first()
    if user is None or not user.username:
        raise AppError(BAD_ACCESS_TOKEN, status=200)
    if user.status != UserStatus.ENABLED:
        raise AppError(BANNED, status=200)
    return user


def require_role(min_role: int):
    async def dependency(request: Request, web: WebSessionDep, session: SessionDep) -> User:
        user = await _resolve_user(request, web, session)
        if user.role < min_role:
            raise AppError(NO_PERMISSION, status=200)
        return user

    dependency.__name__ = f"require_role_{min_role}"
    return dependency


CurrentUser = Annotated[User, Depends(require_role(Role.COMMON))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
RootUser = Annotated[User, Depends(require_role(Role.ROOT))]


async def global_api_rate_limit(request: Request, runtime: RuntimeDep) -> None:
    """one-api's global API limit on /api: GLOBAL_API_RATE_LIMIT requests per IP per 3 minutes."""
    ip = netaddr.client_ip(request.scope, runtime.settings.trusted_proxies)
    if not await per_ip_limiter(runtime, "api", runtime.settings.global_api_rate_limit, 180).allow("GA", ip):
        raise RateLimited()


async def critical_rate_limit(request: Request, runtime: RuntimeDep) -> None:
    ip = netaddr.client_ip(request.scope, runtime.settings.trusted_proxies)
    if not await critical_limiter(runtime).allow("CT", ip):
        raise RateLimited(CRITICAL_WINDOW)


CriticalRateLimit = Depends(critical_rate_limit)


# --- cross-site requests ----------------------------------------------------------------------------------
CROSS_SITE = msg("api.cross_site")
# Public reads that change nothing and need no login: any site may link to them.
PUBLIC_READS = frozenset({"/api/status", "/api/notice", "/api/about", "/api/home_page_content"})
# OAuth callbacks check their own one-time state against the session: a cross-site caller cannot know it, and
# a provider's redirect back to us is itself a cross-site navigation.
STATE_CHECKED = frozenset({"/api/oauth/github", "/api/oauth/oidc", "/api/oauth/lark"})
UNGUARDED_READS = PUBLIC_READS | STATE_CHECKED
SAFE_FETCH_SITES = frozenset({"same-origin", "same-site", "none"})


async def same_site_only(request: Request, runtime: RuntimeDep) -> None:
    """Browsers' ambient credentials (the session cookie) only work from this site: a request without an
    access token is refused when the browser says it comes from another site -- ``Sec-Fetch-Site:
    cross-site``, or (browsers that do not send it) an ``Origin`` that is neither this host nor ServerAddress.
    Covers every write and the GETs that change state (/api/user/token rotates the access token,
    /api/channel/test tests every channel, /api/user/session logs in). Clients that send neither header
    (scripts, curl) carry no browser cookie to abuse and pass; so do requests with ``Authorization``, which a
    cross-site page cannot add without a CORS preflight that /api never grants."""
    headers = request.headers
    if headers.get("authorization", "").strip():
        return
    if request.method in ("GET", "HEAD") and request.url.path in UNGUARDED_READS:
        return
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() not in SAFE_FETCH_SITES:
            raise AppError(CROSS_SITE, status=403)
        return
    origin = headers.get("origin")
    if origin is not None and not _own_origin(origin, request, runtime):
        raise AppError(CROSS_SITE, status=403)


def _own_origin(origin: str, request: Request, runtime: Runtime) -> bool:
    """The Origin names this host (as the client reached it, or a trusted proxy's X-Forwarded-Host) or the
    configured ServerAddress."""
    netloc = urlsplit(origin.strip()).netloc.lower() if "://" in origin else ""
    if not netloc:
        return False  # "null" (sandboxed frames, cross-origin redirects) or garbage
    ours = {request.headers.get("host", "").lower(), urlsplit(runtime.options.ServerAddress).netloc.lower()}
    if netaddr.is_trusted(request.client.host if request.client else "", runtime.settings.trusted_proxies):
        ours.update(h.strip().lower() for h in request.headers.get("x-forwarded-host", "").split(","))
    return netloc in ours - {""}


SameSiteOnly = Depends(same_site_only)


async def turnstile_check(request: Request, runtime: RuntimeDep, web: WebSessionDep) -> None:
    """When TurnstileCheckEnabled: the ``turnstile`` query parameter must verify; success is remembered."""
    if not runtime.options.TurnstileCheckEnabled or web.data.get("turnstile"):
        return
    ip = netaddr.client_ip(request.scope, runtime.settings.trusted_proxies)
    await turnstile.check(runtime, request.query_params.get("turnstile", ""), ip)
    web.data["turnstile"] = True
    web.save()


TurnstileCheck = Depends(turnstile_check)
