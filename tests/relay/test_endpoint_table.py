"""One table of relay endpoints (relay/endpoints.py) for the routes and the fast lane."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from oneapi_app.relay import fastlane, routes
from oneapi_app.relay.endpoints import FAST_PATHS, RELAY_ENDPOINTS, RelayEndpoint


def test_every_row_is_a_route_and_every_fast_row_is_in_the_fast_lane():
    registered = {(r.path, method) for r in routes.router.routes if isinstance(r, Route) for method in r.methods or ()}
    for endpoint in RELAY_ENDPOINTS:
        assert (endpoint.path, endpoint.method) in registered
    assert fastlane.FAST_PATHS is FAST_PATHS
    assert set(FAST_PATHS) == {e.path for e in RELAY_ENDPOINTS if e.fast}
    assert "/v1/engines/{model}/embeddings" not in FAST_PATHS and FAST_PATHS["/v1/chat/completions"].kind == "chat"


def test_the_fast_lane_takes_plain_post_paths_only():
    with pytest.raises(ValueError):
        RelayEndpoint("/v1/x/{model}", "chat")
    with pytest.raises(ValueError):
        RelayEndpoint("/v1/x", "chat", method="GET")
    assert not RelayEndpoint("/v1/x/{model}", "chat", fast=False).fast
