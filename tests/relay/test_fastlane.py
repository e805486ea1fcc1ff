"""The relay's fast lane answers exactly what the FastAPI stack answers for the same request."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest

from oneapi_app.api import create_api, create_app
from oneapi_app.relay import fastlane

from .conftest import add_channel, add_token, logs

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
VOLATILE = {"x-oneapi-request-id", "date", "content-length"}


def clients(runtime) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    lane = httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw")
    stack = httpx.AsyncClient(transport=httpx.ASGITransport(create_api(runtime)), base_url="http://gw")
    return lane, stack


def comparable(resp: httpx.Response) -> tuple[int, dict, object]:
    headers = {k: v for k, v in resp.headers.items() if k not in VOLATILE}
    body = resp.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # the request id differs
        body["error"]["message"] = body["error"]["message"].split(" (request id")[0]
    return resp.status_code, headers, body


@pytest.mark.parametrize("origin", [None, "https://chat.example"])
@pytest.mark.parametrize("case", ["ok", "no-key", "bad-key", "bad-json", "empty", "no-model", "stream"])
async def test_fast_lane_answers_like_the_stack(runtime, upstream, case, origin):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    headers = {"Authorization": f"Bearer sk-{key}", "Content-Type": "application/json"}
    body: bytes = orjson.dumps(CHAT)
    if case == "no-key":
        headers.pop("Authorization")
    elif case == "bad-key":
        headers["Authorization"] = "Bearer sk-nope"
    elif case == "bad-json":
        body = b'{"model": '
    elif case == "empty":
        body = b""
    elif case == "no-model":
        body = orjson.dumps({"messages": CHAT["messages"]})
    elif case == "stream":
        body = orjson.dumps({**CHAT, "stream": True})
    if origin:
        headers["Origin"] = origin
    lane, stack = clients(runtime)
    async with lane, stack:
        a = await lane.post("/v1/chat/completions", content=body, headers=headers)
        b = await stack.post("/v1/chat/completions", content=body, headers=headers)
    assert a.headers["x-oneapi-request-id"] and a.headers["x-oneapi-request-id"] != b.headers["x-oneapi-request-id"]
    if case == "stream":
        assert (a.status_code, a.headers["content-type"]) == (b.status_code, b.headers["content-type"])
        assert a.text.endswith("data: [DONE]\n\n") and a.text.count("data: ") == b.text.count("data: ")
        assert {k: v for k, v in a.headers.items() if k not in VOLATILE} == \
            {k: v for k, v in b.headers.items() if k not in VOLATILE}
    else:
        assert comparable(a) == comparable(b)
    if origin:
        assert a.headers["access-control-allow-origin"] == "*"
        assert a.headers["access-control-expose-headers"] == "X-Oneapi-Request-Id"
    else:
        assert "access-control-allow-origin" not in a.headers
    if case in ("ok", "stream"):
        assert len(await logs(runtime)) == 2  # both ways billed and logged


async def test_unexpected_error_is_a_logged_500_envelope(runtime, upstream, monkeypatch, caplog):
    async def broken(*_args, **_kwargs):
        raise RuntimeError("boom: secret detail")

    monkeypatch.setattr(fastlane, "relay", broken)
    key = await add_token(runtime)
    lane, stack = clients(runtime)
    async with lane, stack:
        resp = await lane.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 500
    error = resp.json()["error"]
    assert error["code"] == "internal_error" and "boom" not in error["message"]
    assert resp.headers["x-oneapi-request-id"] in error["message"]
    assert "boom: secret detail" in caplog.text


async def test_other_requests_go_to_the_stack(runtime, upstream):
    """gzip bodies, preflights, GETs and path-model embeddings are the full stack's."""
    await add_channel(runtime, upstream.url, models="gpt-4o-mini,text-embedding-3-small")
    key = await add_token(runtime)
    auth = {"Authorization": f"Bearer sk-{key}"}
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client:
        zipped = await client.post("/v1/chat/completions", content=gzip.compress(orjson.dumps(CHAT)),
                                   headers={**auth, "Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert zipped.status_code == 200 and zipped.json()["choices"]
        preflight = await client.options("/v1/chat/completions", headers={
            "Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"
        models = await client.get("/v1/models", headers=auth)
        assert models.status_code == 200 and models.json()["object"] == "list"
        engines = await client.post("/v1/engines/text-embedding-3-small/embeddings", json={"input": "x"},
                                    headers=auth)
        assert engines.status_code == 200 and engines.json()["data"]
        wrong_method = await client.get("/v1/chat/completions", headers=auth)
        assert wrong_method.status_code == 404
