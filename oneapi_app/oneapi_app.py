"""rx.App wiring: the dashboard pages plus the FastAPI backend (relay + /api) on one port."""

import reflex as rx
from starlette.types import ASGIApp

from . import pages  # noqa: F401 - registers the pages
from .api import create_api
from .appliance import runtime
from .pages.registry import add_pages


def api_transformer(reflex_asgi: ASGIApp) -> ASGIApp:
    """Build a fresh FastAPI (relay + /api) and mount Reflex's app (frontend, websocket) under it."""
    api = create_api(runtime())
    api.mount("", reflex_asgi)
    return api


app = rx.App(
    api_transformer=api_transformer,
    head_components=[rx.el.link(rel="icon", href="/favicon.ico")],
)
app.register_lifespan_task(runtime().lifespan)
add_pages(app)
