"""The relay's fast lane: the POST relay paths (``fast`` rows of relay/endpoints.py) served without the
FastAPI stack.

Every request of a chat app or SDK is one of a handful of ``POST /v1/...`` calls. Going through FastAPI's
middleware, exception and routing layers costs more per request than the relay's own work, and each layer
allocates per-request objects (closures, exit stacks, events) that show up as memory under load. This
ASGI wrapper sits in front of the whole app and serves exactly those calls itself, doing what the stack
would have done for them:

- ``X-Oneapi-Request-Id`` (``middleware.new_request_id``) and the request id in ``scope["state"]``;
- the relay's open CORS headers (what ``RelayCORSMiddleware`` adds to a simple request);
- the error envelope of the endpoint's dialect (OpenAI's, Anthropic's...) for typed errors, and a logged 500
  in that envelope for anything unexpected.

Everything else -- other methods and paths, preflight requests, gzip bodies, ``/v1/engines/{m}/embeddings``
-- goes to the wrapped app unchanged. The FastAPI routes for these paths stay registered (and are what the
wrapped app would use), so the two ways in run the same ``pipeline.relay``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AppError, InternalError
from ..middleware import REQUEST_ID_HEADER, new_request_id, send_error
from .dialects import dialect_for
from .endpoints import FAST_PATHS, RelayEndpoint
from .pipeline import relay
from .streaming import RAW_SEND

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

_CORS_NAMES = (b"access-control-allow-origin", b"access-control-expose-headers")
_CORS_HEADERS = [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", b"X-Oneapi-Request-Id")]


class RelayFastLane:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = FAST_PATHS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        origin = False
        for name, _value in scope["headers"]:
            if name == b"content-encoding":  # gzip bodies: the full stack inflates them
                await self.app(scope, receive, send)
                return
            if name == b"origin":
                origin = True
        await self.serve(scope, receive, send, endpoint, origin)

    async def serve(self, scope: Scope, receive: Receive, send: Send, endpoint: RelayEndpoint, origin: bool) -> None:
        request_id = new_request_id()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = request_id
        scope.setdefault(RAW_SEND, send)  # the server's own, when the access log left it (its wrapper reads the start)
        extra = [(REQUEST_ID_HEADER, request_id.encode()), (b"vary", b"Origin")]

        async def send_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if origin:
                    headers = [h for h in headers if h[0].lower() not in _CORS_NAMES] + _CORS_HEADERS
                message["headers"] = [*headers, *extra]
            await send(message)

        dialect = dialect_for(endpoint.dialect, endpoint.kind)
        try:
            response = await relay(self.runtime, Request(scope, receive), endpoint.kind, dialect=dialect)
        except Exception as exc:  # never a stack trace to the client
            if not isinstance(exc, AppError):
                log.exception("unexpected error on POST %s (request id %s)", scope["path"], request_id)
                exc = InternalError()
            await send_error(send_start, exc, request_id, dialect.error_body(exc, request_id))
            return
        try:
            await response(scope, receive, send_start)
        except OSError:  # the client went away while the answer was written
            pass
        except Exception:  # the answer had started: log it; the server closes the connection
            log.exception("unexpected error while answering POST %s (request id %s)", scope["path"], request_id)

