"""Reflex configuration. Values come from oneapi_app.settings (the only reader of configuration)."""

import reflex as rx

from oneapi_app.frontend_plugin import SameOriginBackendPlugin
from oneapi_app.settings import process_settings

_settings = process_settings()

config = rx.Config(
    app_name="oneapi_app",
    # The appliance serves the dashboard and the API on ONE port.
    frontend_port=_settings.port,
    backend_port=_settings.port,
    api_url=f"http://localhost:{_settings.port}",
    show_built_with_reflex=False,
    telemetry_enabled=False,
    # Reflex's own CORS layer covers the dashboard's websocket/upload endpoints only from this origin;
    # the /v1 relay adds its own open CORS policy (bearer keys, no cookies).
    cors_allowed_origins=[f"http://localhost:{_settings.port}", f"http://127.0.0.1:{_settings.port}"],
    plugins=[rx.plugins.RadixThemesPlugin(), SameOriginBackendPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
