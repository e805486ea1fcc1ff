"""A Reflex plugin for the one-port appliance: the dashboard talks to the backend at its own origin.

Reflex bakes the backend URL (``http://localhost:<port>``) into the bundle and, for localhost URLs, swaps in
the page's host name but keeps the baked port. Behind Docker port mapping (``-p 8080:3000``) or a reverse
proxy on another port, the dashboard's websocket would then miss. Since the appliance always serves the
frontend and the backend on one port, this plugin makes the client use ``window.location.host`` instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import reflex_base
from reflex_base.plugins.base import Plugin

_TEMPLATE = Path(reflex_base.__file__).parent / ".templates" / "web" / "utils" / "state.js"
_OLD = """    const frontend_hostname = window.location.hostname;
    endpoint.hostname = frontend_hostname;
    if (window.location.protocol === "https:") {
      if (endpoint.protocol === "ws:") {
        endpoint.protocol = "wss:";
      } else if (endpoint.protocol === "http:") {
        endpoint.protocol = "https:";
      }
      endpoint.port = ""; // Assume websocket is on https port via load balancer.
    }"""
_NEW = """    // One API appliance: the backend is always the page's own origin (host and port).
    endpoint.host = window.location.host;
    if (window.location.protocol === "https:") {
      if (endpoint.protocol === "ws:") {
        endpoint.protocol = "wss:";
      } else if (endpoint.protocol === "http:") {
        endpoint.protocol = "https:";
      }
    }"""


def patched_state_js() -> str:
    source = _TEMPLATE.read_text(encoding="utf-8")
    if _OLD not in source:
        raise RuntimeError(f"{_TEMPLATE}: the backend-URL code changed; update oneapi_app/frontend_plugin.py")
    return source.replace(_OLD, _NEW)


@dataclasses.dataclass
class SameOriginBackendPlugin(Plugin):
    def get_static_assets(self, **context):
        return [(Path("utils/state.js"), patched_state_js())]
