"""The proxy channel (type 43) end to end with raw httpx: admin tokens only, any method forwarded with the
channel's key, every call logged and billed at the channel's proxy_price."""

from __future__ import annotations

import httpx

from tests.local_server import free_port

from .conftest import add_channel, add_token, add_user, logs, row

START = 100_000


async def test_proxy_forwards_logs_and_bills_admin_calls(runtime, gateway, media_upstream):
    channel_id = await add_channel(runtime, media_upstream.url + "/base", type=43, key="Token upstream-secret",
                                   models="proxy", config='{"proxy_price": 250}')
    admin_id = await add_user(runtime, role=10)
    key = await add_token(runtime, user_id=admin_id, unlimited=False, remain_quota=START)
    headers = {"Authorization": f"Bearer sk-{key}", "X-Custom": "kept"}
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/{channel_id}/v2/things?x=1&y=2", headers=headers)
        assert resp.status_code == 200 and resp.headers["x-proxy-upstream"] == "1"
        assert resp.json() == {"method": "GET", "path": "/base/v2/things", "query": "x=1&y=2"}
        seen = media_upstream.seen[-1]
        assert seen.headers["Authorization"] == "Token upstream-secret"  # the channel key, verbatim
        assert seen.headers["x-custom"] == "kept" and key not in str(seen.headers)
        resp = await client.put(f"{gateway}/v1/oneapi/proxy/{channel_id}/items/7", headers=headers,
                                content=b'{"a": 1}')
        assert resp.status_code == 201 and media_upstream.seen[-1].raw == b'{"a": 1}'
        resp = await client.delete(f"{gateway}/v1/oneapi/proxy/{channel_id}/items/7", headers=headers)
        assert resp.status_code == 200 and media_upstream.seen[-1].method == "DELETE"
    entries = await logs(runtime)
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert [e["quota"] for e in entries] == [250, 250, 250]
    assert token == {"remain_quota": START - 750, "used_quota": 750}
    assert entries[0]["content"].startswith("proxy GET /v2/things -> 200") and entries[0]["channel_id"] == channel_id
    assert entries[1]["content"].startswith("proxy PUT /items/7 -> 201")
    channel = await row(runtime, "SELECT used_quota FROM channels WHERE id = :id", id=channel_id)
    assert channel["used_quota"] == 750


async def test_proxy_refuses_non_admin_and_wrong_channels(runtime, gateway, media_upstream):
    proxy_id = await add_channel(runtime, media_upstream.url, type=43, key="k", models="proxy")
    openai_id = await add_channel(runtime, media_upstream.url, models="gpt-4o-mini")
    user_key = await add_token(runtime, user_id=await add_user(runtime), unlimited=False, remain_quota=START)
    admin_key = await add_token(runtime, user_id=await add_user(runtime, role=10), unlimited=False, remain_quota=START)
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/{proxy_id}/x",
                                headers={"Authorization": f"Bearer sk-{user_key}"})
        assert resp.status_code == 403 and resp.json()["error"]["type"] == "one_api_error"
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/{proxy_id}/x")
        assert resp.status_code == 401
        admin = {"Authorization": f"Bearer sk-{admin_key}"}
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/{openai_id}/x", headers=admin)
        assert resp.status_code == 400 and "43" in resp.json()["error"]["message"]
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/99999/x", headers=admin)
        assert resp.status_code == 400
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/abc/x", headers=admin)
        assert resp.status_code == 400
    assert media_upstream.seen == []
    assert await logs(runtime) == []


async def test_proxy_free_calls_are_logged_and_upstream_errors_pass_through(runtime, gateway, media_upstream):
    channel_id = await add_channel(runtime, media_upstream.url, type=43, key="fail503", models="proxy")
    admin_key = await add_token(runtime, user_id=await add_user(runtime, role=10), unlimited=False,
                                remain_quota=START)
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{gateway}/v1/oneapi/proxy/{channel_id}/status",
                                 headers={"Authorization": f"Bearer sk-{admin_key}"}, json={"q": 1})
    assert resp.status_code == 503 and resp.text == "down"
    [entry] = await logs(runtime)
    assert entry["quota"] == 0 and entry["content"].startswith("proxy POST /status -> 503")
    # a channel whose upstream cannot be reached: an error envelope, the reservation given back, no log row
    dead = await add_channel(runtime, f"http://127.0.0.1:{free_port()}", type=43, key="k", models="proxy",
                             config='{"proxy_price": 99}')
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"{gateway}/v1/oneapi/proxy/{dead}/x",
                                headers={"Authorization": f"Bearer sk-{admin_key}"})
    assert resp.status_code == 502 and resp.json()["error"]["code"] == "do_request_failed"
    assert len(await logs(runtime)) == 1
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=admin_key)
    assert token == {"remain_quota": START, "used_quota": 0}
