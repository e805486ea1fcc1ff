"""rx.App wiring: the dashboard pages plus the FastAPI backend (relay + /api) on one port.

``server_app`` is what the server runs: relay paths go straight to the FastAPI app (open CORS for browser
chat apps, no Reflex middleware on the hot path); everything else goes through Reflex's app, which serves
the dashboard, its websocket and -- mounted under the same FastAPI -- the /api routes.
"""

from __future__ import annotations

import reflex as rx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from . import pages  # noqa: F401 - registers the pages
from .api import create_api
from .appliance import runtime
from .middleware import RELAY_PREFIXES, observed
from .pages.components.layout import add_pages
from .relay.fastlane import RelayFastLane


class Backend:
    """The api_transformer: builds a fresh FastAPI around Reflex's app and remembers it for server_app."""

    api: FastAPI | None = None

    def __call__(self, reflex_asgi: ASGIApp) -> ASGIApp:
        api = create_api(runtime())
        api.mount("", reflex_asgi)
        self.api = api
        return api


class RelayFirst:
    """Route relay paths to the FastAPI app directly and the rest (and the lifespan) to Reflex's app."""

    def __init__(self, relay: ASGIApp, rest: ASGIApp) -> None:
        self.relay, self.rest = relay, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(RELAY_PREFIXES):
            await self.relay(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


backend = Backend()
app = rx.App(
    api_transformer=backend,
    head_components=[rx.el.link(rel="icon", href="/favicon.ico")],
)
app.register_lifespan_task(runtime().lifespan)
add_pages(app)


def server_app() -> ASGIApp:
    """The ASGI app of the full appliance (a factory: uvicorn calls it once at start)."""
    top = app()
    if app.sio is not None:
        # Accept the dashboard's websocket from its own origin, whatever host name or port the user
        # reaches the appliance by (NAS address, Docker port mapping, X-Forwarded-Host behind a proxy).
        app.sio.eio.cors_allowed_origins = None
    assert backend.api is not None
    return observed(RelayFastLane(RelayFirst(relay=backend.api, rest=top), runtime()), runtime())
