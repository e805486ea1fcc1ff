"""Pure ASGI middleware for every route: the request id header, gzip request bodies, CORS on the relay, the
security headers of /api answers, the access log (with the HTTP metrics) and the dashboard's rate limit."""

from __future__ import annotations

import logging
import random
import time
import zlib
from typing import Any

import orjson
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import AppError, GzipBodyError
from .i18n import msg
from .netaddr import client_ip

REQUEST_ID_HEADER = b"x-oneapi-request-id"
MAX_BODY = 64 * 1024 * 1024


def new_request_id() -> str:
    """yyyyMMddHHmmss + nanoseconds of the second + 8 random digits, as one-api."""
    ns = time.time_ns()
    seconds, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y%m%d%H%M%S", time.localtime(seconds)) + f"{nanos:09d}" + f"{random.randrange(10**8):08d}"


def request_id(request: HTTPConnection) -> str:
    """The id this request was given (by RequestIdMiddleware, or by the relay's fast lane); "" before that."""
    return request.scope.get("state", {}).get("request_id", "")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        scope.setdefault("oneapi.raw_send", send)  # streaming bodies skip the send wrappers (relay/streaming.py)
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


class GunzipRequestMiddleware:
    """Accept ``Content-Encoding: gzip`` request bodies (one-api does), bounded to MAX_BODY bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(
            k == b"content-encoding" and v.strip().lower() == b"gzip" for k, v in scope["headers"]
        ):
            await self.app(scope, receive, send)
            return
        chunks, more, size = [], True, 0
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY:  # never read an unbounded compressed body (the relay's own limit follows)
                error = GzipBodyError(msg("relay.gzip_too_large"), status=413, code="request_body_too_large")
                await send_error(send, error, envelope=envelope_for(scope["path"], error))
                return
        try:
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = decoder.decompress(b"".join(chunks), MAX_BODY)
            if decoder.unconsumed_tail:
                raise ValueError("too large")
        except (zlib.error, ValueError):
            error = GzipBodyError()
            await send_error(send, error, envelope=envelope_for(scope["path"], error))
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        headers.append((b"content-length", str(len(body)).encode()))
        scope = {**scope, "headers": headers}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


ANTHROPIC_PATHS = ("/v1/messages",)  # Anthropic's API: its error envelope (relay/dialects/messages.py)


def envelope_for(path: str, error: AppError, request_id: str = "") -> dict | None:
    """The error body of a relay path whose clients expect another envelope than OpenAI's, else None."""
    return error.anthropic_body(request_id) if path.startswith(ANTHROPIC_PATHS) else None


async def send_error(send: Send, error: AppError, request_id: str = "", envelope: dict | None = None) -> None:
    """An error in OpenAI's envelope (or the given one: a dialect's) straight to ASGI (for what runs outside
    FastAPI's handlers)."""
    body = orjson.dumps(envelope if envelope is not None else error.openai_body(request_id))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (error.headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


RELAY_PREFIXES = ("/v1/", "/v1", "/dashboard/billing/")


class RelayCORSMiddleware:
    """Open CORS on the relay paths only (any origin, bearer keys, no cookies), as one-api's relay does.
    /api and the dashboard stay same-origin: no CORS headers for foreign origins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                                   allow_headers=["*"], expose_headers=["X-Oneapi-Request-Id"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(RELAY_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


API_PREFIXES = ("/api/", "/api", *RELAY_PREFIXES, "/openapi.json")

# /api answers are JSON (or redirects) that no page should sniff, frame, cache or follow with a Referer.
API_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
)


class ApiSecurityHeadersMiddleware:
    """The headers above on every /api answer, and ``Cache-Control: no-store`` unless the route set one
    (answers carry access tokens, keys of tokens, user data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not (path == "/api" or path.startswith("/api/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in API_SECURITY_HEADERS if h[0] not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FrontendRedirectMiddleware:
    """FRONTEND_BASE_URL on a slave or API-only node: dashboard paths answer 301 to the main site."""

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIXES) or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        location = (self.base_url + scope["path"] + ("?" + query.decode("latin-1") if query else "")).encode()
        await send({"type": "http.response.start", "status": 301,
                    "headers": [(b"location", location), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


# -- access log, per-request metrics, the dashboard's rate limit (GLOBAL_WEB_RATE_LIMIT) --------------------
access_log = logging.getLogger("oneapi_app.access")


def observed(app: ASGIApp, runtime: Any) -> ASGIApp:
    """``app`` behind the access log and HTTP metrics, unless both are off (ACCESS_LOG=false, no metrics)."""
    if runtime.settings.access_log or runtime.metrics is not None:
        return AccessLogMiddleware(app, runtime)
    return app


class AccessLogMiddleware:
    """Outermost: one log line per HTTP request (``oneapi_app.access`` at INFO: method, path without the query,
    status, milliseconds to the end of the answer, request id, client address; a JSON object per line when
    LOG_FORMAT=json, see logjson.py) and the HTTP metrics when ENABLE_PROMETHEUS is set."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime
        self.enabled = runtime.settings.access_log
        self.json = runtime.settings.log_format == "json"  # the fields as attributes, for logjson.py

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        if "state" not in scope:
            scope["state"] = {}  # shared with the inner layers: the request id they set is read below
        scope["oneapi.raw_send"] = send  # a stream's body messages skip the wrappers: this one reads the start only

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            metrics = self.runtime.metrics
            if metrics is not None:
                metrics.http(path, status or 500, elapsed)
            if self.enabled and access_log.isEnabledFor(logging.INFO):
                request_id = scope["state"].get("request_id", "")
                ip = client_ip(scope, self.runtime.settings.trusted_proxies)
                ms = round(elapsed * 1000, 1)
                extra = {"request_id": request_id, "method": scope["method"], "path": path, "status": status,
                         "duration_ms": ms, "client_ip": ip} if self.json else None
                access_log.info("%s %s %s %sms id=%s ip=%s", scope["method"], path, status, ms, request_id, ip,
                                extra=extra)


WEB_WINDOW = 180  # seconds: GLOBAL_WEB_RATE_LIMIT counts dashboard requests per address over it (one-api's)
NOT_WEB = (*API_PREFIXES, "/metrics", "/_event", "/_upload", "/ping", "/_health", "/_next/", "/favicon")


class WebRateLimitMiddleware:
    """GLOBAL_WEB_RATE_LIMIT (one-api's GlobalWebRateLimit): dashboard page loads per client address per 3
    minutes (a 429 past it). Counted: paths that are not /api, the relay, /metrics, the dashboard's websocket
    and uploads, or static files (a path whose last part has a file extension other than .html) -- a page load
    fetches dozens of scripts, which must not use up the allowance. /api has its own GLOBAL_API_RATE_LIMIT."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._counted(scope["path"]):
            limiter = self._limiter()
            ip = client_ip(scope, self.runtime.settings.trusted_proxies)
            if not await limiter.allow("GW", ip):
                body = b"Too Many Requests"
                await send({"type": "http.response.start", "status": 429,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode()),
                                        (b"retry-after", str(WEB_WINDOW).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _counted(path: str) -> bool:
        if path.startswith(NOT_WEB):
            return False
        last = path.rsplit("/", 1)[-1]
        return "." not in last or last.endswith(".html")

    def _limiter(self):
        from .auth.ratelimit import per_ip_limiter

        return per_ip_limiter(self.runtime, "web", self.runtime.settings.global_web_rate_limit, WEB_WINDOW)
