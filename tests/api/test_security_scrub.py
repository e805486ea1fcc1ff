"""One scrubbing rule (oneapi_app/scrub.py) for every path that stores or shows an upstream's words: an upstream
that echoes the channel key never gets it into the channel-test answer, the type-5 log row, /api/log, the
Logs page's rows, balance errors, notices to root or relay errors."""

from __future__ import annotations

import asyncio
import json

import httpx
import orjson
import pytest
from aiohttp import web
from sqlmodel import select

from oneapi_app.models import Log, LogType
from oneapi_app.scrub import scrub_text, scrub_value

from .conftest import ROOT, set_option

# No sk- prefix: only the channel-key layer (not the secret-shape layer) can catch it.
KEY = "live0A1b2C3d4E5f6G7h8I9j"


def test_scrub_text_masks_channel_keys_and_secret_shapes():
    assert scrub_text(f"bad key {KEY}!", KEY) == "bad key ***!"
    # each key of a multi-key value, each AK|SK part, each string of a JSON credential
    multi = "firstKEY123456\nsecondKEY654321"
    assert scrub_text("secondKEY654321 and firstKEY123456", multi) == "*** and ***"
    assert scrub_text("ak=AKpart999999 sk=SKpart888888", "AKpart999999|SKpart888888") == "ak=*** sk=***"
    creds = json.dumps({"type": "service_account", "private_key_id": "0123456789abcdef0123",
                        "private_key": "-----BEGIN-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END-----\n"})
    assert scrub_text("id 0123456789abcdef0123 body MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", creds) == "id *** body ***"
    # common shapes, with no key given
    cases = {
        "Incorrect API key provided: sk-abc***wxyz.": "Incorrect API key provided: ***.",
        "key sk-proj-AbCdEf123456 is bad": "key *** is bad",
        "Authorization: Bearer abc123def456ghi": "Authorization: Bearer ***",
        "GET https://x.test/v1?key=AIzaSyA1234567890abcdefghijklmnop&alt=sse": "GET https://x.test/v1?key=***&alt=sse",
        "see https://h.test/s?api_key=whatever-secret": "see https://h.test/s?api_key=***",
        "google AIzaSyA1234567890abcdefghijklmnop": "google ***",
        "aws AKIAABCDEFGHIJKLMNOP": "aws ***",
        "aws ASIAABCDEFGHIJKLMNOP": "aws ***",
        "token IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc= expired": "token *** expired",
        "FwoGZXIvYXdzEBYaDHhBTEST0123456789abcdef/x+y=": "***",
    }
    for text, expected in cases.items():
        assert scrub_text(text) == expected, text
    # ordinary words stay
    for text in ("Bearer authentication failed", "You exceeded your current quota", "model gpt-4o not found",
                 "invalid_api_key", "渠道 #3 测试失败：upstream says 401"):
        assert scrub_text(text) == text
    assert scrub_text("too short abc", "abc") == "too short abc"  # parts under 6 characters are left alone
    # a channel's config secrets (an AWS session token of any shape) when the caller passes them
    from oneapi_app.catalog.channel_types import config_secrets

    secrets = config_secrets('{"ak": "AKIDPUBLIC", "sk": "sk/secret/value", "session_token": "opaqueTokenValue1"}')
    assert sorted(secrets) == ["opaqueTokenValue1", "sk/secret/value"]
    assert scrub_text("bad opaqueTokenValue1 here", "AK|SK|us-east-1", *secrets) == "bad *** here"
    assert config_secrets({"session_token": ""}) == [] and config_secrets("{nope") == []
    assert scrub_value({"message": f"x {KEY}", "param": [KEY], "code": 401}, KEY) == \
        {"message": "x ***", "param": ["***"], "code": 401}


def test_the_relay_keeps_its_scrub_name():
    from oneapi_app.relay.upstream import scrub, status_failure

    body = orjson.dumps({"error": {"message": f"bad {KEY}", "param": KEY, "type": "invalid_request_error"}})
    text = orjson.dumps(scrub(status_failure(401, body), KEY).openai_body("r")).decode()
    assert KEY not in text and "bad ***" in text


@pytest.fixture
async def echo_upstream():
    """A provider that answers 401 quoting the key it received, in the message and in other fields."""

    async def chat(request: web.Request) -> web.Response:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return web.json_response({"error": {
            "message": f"Incorrect API key provided: {key}. Check https://x.test/keys?key={key}",
            "type": "invalid_request_error", "param": key, "code": "invalid_api_key"}}, status=401)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # bound at once: no race for the port
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _channel(client, base_url: str) -> int:
    body = {"type": 1, "key": KEY, "name": "echo", "models": "gpt-4o-mini", "group": "default", "base_url": base_url}
    assert (await client.post("/api/channel/", json=body, headers=ROOT)).json()["success"]
    return (await client.get("/api/channel/", headers=ROOT)).json()["data"][0]["id"]


async def test_a_channel_test_never_shows_or_stores_the_key(client, runtime, echo_upstream):
    from oneapi_app.pages.logs import log_row
    from oneapi_app.services import logs as log_service

    channel_id = await _channel(client, echo_upstream)
    r = await client.get(f"/api/channel/test/{channel_id}", headers=ROOT)
    body = r.json()
    assert not body["success"] and "Incorrect API key provided: ***" in body["message"], body
    assert KEY not in r.text
    # the type-5 row itself, as stored
    async with runtime.db.log_session() as s:
        rows = (await s.exec(select(Log).where(Log.type == int(LogType.TEST)))).all()
    assert len(rows) == 1 and "Incorrect API key provided: ***" in rows[0].content and KEY not in rows[0].content
    # what every admin reads: /api/log and its search
    for url in ("/api/log/?type=5", "/api/log/search?keyword=5"):
        listing = await client.get(url, headers=ROOT)
        assert listing.json()["data"] and KEY not in listing.text, url
    # the Logs page's rows (what its state holds and its HTML and websocket frames carry)
    found = await log_service.list_logs(runtime.db, log_service.LogFilter(), 0)
    assert found and KEY not in json.dumps([log_row(e, False, 500000) for e in found])


async def test_the_relay_answer_never_shows_the_key(client, runtime, echo_upstream):
    await _channel(client, echo_upstream)
    token = (await client.post("/api/token/", json={"name": "t", "remain_quota": 500000, "expired_time": -1},
                               headers=ROOT)).json()
    key = token["data"]["key"]
    r = await client.post("/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"},
                          json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401 and "Incorrect API key provided: ***" in r.text and KEY not in r.text


async def test_old_rows_are_scrubbed_when_shown(client, runtime):
    """A row written before the rule (or by another writer) is still shown without secret-shaped text."""
    async with runtime.db.log_session() as s:
        s.add(Log(user_id=0, created_at=1, type=int(LogType.TEST), content="渠道 #1 测试失败：bad key sk-live-Abc123Def456"))
        await s.commit()
    r = await client.get("/api/log/", headers=ROOT)
    assert "sk-live-Abc123Def456" not in r.text and "bad key ***" in r.text


async def test_balance_errors_are_scrubbed(client, runtime, monkeypatch):
    body = {"type": 10, "key": KEY, "name": "aiproxy", "models": "gpt-4o-mini", "group": "default"}
    assert (await client.post("/api/channel/", json=body, headers=ROOT)).json()["success"]
    channel_id = (await client.get("/api/channel/", headers=ROOT)).json()["data"][0]["id"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": False, "message": f"key {request.headers['Api-Key']} expired"})

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    r = await client.get(f"/api/channel/update_balance/{channel_id}", headers=ROOT)
    assert not r.json()["success"] and "key *** expired" in r.json()["message"] and KEY not in r.text


async def test_notices_to_root_are_scrubbed(client, runtime, monkeypatch):
    """Test-all disables a channel whose upstream quotes the key; the MessagePusher notice does not carry it."""
    channel_id = await _channel(client, "https://bad.test")
    pushed: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "pusher.test":
            pushed.append(json.loads(request.content))
            return httpx.Response(200, json={"success": True})
        key = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {key}",
                                                   "type": "invalid_request_error", "code": "invalid_api_key"}})

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    await set_option(client, "AutomaticDisableChannelEnabled", "true")
    await set_option(client, "MessagePusherAddress", "https://pusher.test/push")
    assert (await client.get("/api/channel/test", headers=ROOT)).json()["success"]
    for _ in range(3000):  # bounded, generous for a loaded machine
        if not (await client.get("/api/channel/test/progress", headers=ROOT)).json()["data"]["running"]:
            break
        await asyncio.sleep(0.01)
    assert len(pushed) == 1 and f"#{channel_id}" in pushed[0]["content"]
    assert "Incorrect API key provided: ***" in pushed[0]["content"] and KEY not in json.dumps(pushed)
