"""The FastAPI backend: /api management routes, the /v1 relay, error envelopes and middleware.

``create_api(runtime)`` builds it. In ``oneapi serve --api-only`` it is the whole server and owns the
lifespan; in the full appliance Reflex mounts its frontend under it (see oneapi_app.py) and Reflex's
lifespan starts the runtime.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..errors import InvalidURL
from ..middleware import (
    ApiSecurityHeadersMiddleware,
    FrontendRedirectMiddleware,
    GunzipRequestMiddleware,
    RelayCORSMiddleware,
    RequestIdMiddleware,
    WebRateLimitMiddleware,
    observed,
)
from ..relay import routes as relay_routes
from ..relay.fastlane import RelayFastLane
from ..runtime import Runtime
from . import account, channels, health, logs, oauth, options, redemptions, status, tokens, users, web_session
from .common import reject_nul_in_url
from .deps import SameSiteOnly, global_api_rate_limit
from .envelopes import install_error_handlers
from .gocompat import GoJSONResponse, slash_twin

# The relay's router first: routing scans the included routers in order, and /v1 is the hot path
# (no /api path overlaps a relay path, so the order changes nothing else).
ROUTERS: list[APIRouter] = [
    relay_routes.router, status.router, account.router, web_session.router, users.router, tokens.router,
    channels.router, redemptions.router, logs.router, options.router, oauth.router, health.router,
]


def _fallback_router(routes: list[Route]) -> APIRouter:
    """Unknown /v1 and /api paths get the JSON 404 (not the dashboard's page) -- unless the path only differs
    from one of ``routes`` by its trailing slash: then gin's redirect to it (301 for GET, 307 otherwise)."""
    router = APIRouter(include_in_schema=False)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    async def invalid_url(request: Request) -> Response:
        twin = slash_twin(request.scope, routes)
        if twin is None:
            raise InvalidURL(request.method, request.url.path)
        query = request.scope.get("query_string", b"").decode("latin-1")
        return RedirectResponse(twin + (f"?{query}" if query else ""),
                                status_code=301 if request.method == "GET" else 307)

    for prefix in ("/v1", "/api"):
        router.add_api_route(prefix, invalid_url, methods=methods)
        router.add_api_route(prefix + "/{rest:path}", invalid_url, methods=methods)
    return router


def create_app(runtime: Runtime, *, own_lifespan: bool = False) -> ASGIApp:
    """What the server runs: the FastAPI app behind the relay's fast lane (relay/fastlane.py)."""
    return observed(RelayFastLane(create_api(runtime, own_lifespan=own_lifespan), runtime), runtime)


def create_api(runtime: Runtime, *, own_lifespan: bool = False) -> FastAPI:
    lifespan = None
    if own_lifespan:
        @asynccontextmanager
        async def lifespan(_app: FastAPI):
            async with runtime.lifespan():
                yield

    # FastAPI's native OpenTelemetry hooks are off: no provider is configured here, and checking for one
    # costs an environment lookup on every request.
    api = FastAPI(title="One API", version=runtime.version, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    api.state.runtime = runtime
    install_error_handlers(api)
    for router in ROUTERS:
        if router.prefix == "/api":
            api.include_router(router, default_response_class=GoJSONResponse,
                               dependencies=[Depends(global_api_rate_limit), SameSiteOnly, Depends(reject_nul_in_url)])
        else:
            api.include_router(router)
    served = [route for router in ROUTERS for route in router.routes if isinstance(route, Route)]
    api.include_router(_fallback_router(served))
    api.add_middleware(RelayCORSMiddleware)
    api.add_middleware(ApiSecurityHeadersMiddleware)
    settings = runtime.settings
    if settings.frontend_base_url and (own_lifespan or not settings.is_master):
        api.add_middleware(FrontendRedirectMiddleware, base_url=settings.frontend_base_url)
    api.add_middleware(WebRateLimitMiddleware, runtime=runtime)
    api.add_middleware(GunzipRequestMiddleware)
    api.add_middleware(RequestIdMiddleware)
    return api
