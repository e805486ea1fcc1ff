"""Retries across channels, broken streams, client disconnects, and the billing of each."""

from __future__ import annotations

import asyncio

import httpx
import openai
import orjson
import pytest

from tests.relay.conftest import add_channel, add_token, free_port, logs, row

pytestmark = pytest.mark.faults

MODEL = "gpt-4o-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("first_key", ["fail500", "fail429", "refused"])
async def test_retry_moves_to_a_second_channel(runtime, gateway, upstream, first_key):
    runtime.options.RetryTimes = 1
    first_url = f"http://127.0.0.1:{free_port()}" if first_key == "refused" else upstream.url
    await add_channel(runtime, first_url, key=first_key, priority=10)
    second = await add_channel(runtime, upstream.url, key="ok", priority=0)
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{key}", max_retries=0)
    answer = await client.chat.completions.create(**BODY)
    assert answer.choices[0].message.content
    tried = [s.headers["Authorization"] for s in upstream.seen]
    assert tried == (["Bearer ok"] if first_key == "refused" else [f"Bearer {first_key}", "Bearer ok"])
    [entry] = await logs(runtime)
    assert entry["channel_id"] == second
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == 100_000 and token["used_quota"] == entry["quota"]


async def test_retry_exhausted_429_says_saturated(runtime, client, upstream):
    runtime.options.RetryTimes = 3
    await add_channel(runtime, upstream.url, key="fail429", priority=5)
    await add_channel(runtime, upstream.url, key="fail429b", priority=0)
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 429
    assert resp.json()["error"]["message"].startswith("当前分组上游负载已饱和，请稍后再试")
    assert len(upstream.seen) == 2  # each channel once, never the same twice


async def test_no_retry_on_400(runtime, client, upstream):
    runtime.options.RetryTimes = 2
    await add_channel(runtime, upstream.url, key="fail400", priority=5)
    await add_channel(runtime, upstream.url, key="ok")
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 400 and len(upstream.seen) == 1


async def test_stream_retries_before_the_first_byte(runtime, gateway, upstream):
    runtime.options.RetryTimes = 1
    await add_channel(runtime, upstream.url, key="fail503", priority=5)
    await add_channel(runtime, upstream.url, key="ok")
    key = await add_token(runtime)
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{key}", max_retries=0)
    stream = await client.chat.completions.create(**BODY, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from the fake upstream."


async def test_mid_stream_drop_ends_cleanly_and_bills_delivered(runtime, gateway, upstream):
    runtime.options.RetryTimes = 2
    await add_channel(runtime, upstream.url, key="drop", priority=5)
    await add_channel(runtime, upstream.url, key="ok")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions", json={**BODY, "stream": True},
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            lines = [line async for line in resp.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    error = orjson.loads(lines[-2][6:])["error"]
    assert error["code"] == "do_request_failed" and "(request id: " in error["message"]
    delivered = "".join(orjson.loads(l[6:])["choices"][0]["delta"].get("content", "") for l in lines[:-2])
    assert delivered == "Hello from"
    assert len(upstream.seen) == 1  # bytes reached the client: never replayed
    [entry] = await logs(runtime)
    assert "estimated" in entry["content"] and entry["completion_tokens"] == 2
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": 100_000 - entry["quota"], "used_quota": entry["quota"]}


async def test_client_disconnect_closes_upstream_and_bills(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="slow")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions", json={**BODY, "stream": True},
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            received = 0
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    received += 1
                if received == 3:
                    break
    await asyncio.wait_for(upstream.disconnected.wait(), 10)
    sent = upstream.slow_chunks_sent
    assert sent < 1000
    async with asyncio.timeout(30):  # bounded: a lost log row fails here instead of hanging the suite
        while not (entries := await logs(runtime)):
            await asyncio.sleep(0.05)
    [entry] = entries
    assert entry["is_stream"] and "estimated" in entry["content"]
    assert 3 <= entry["completion_tokens"] <= 2 * sent  # "tick " chunks generated before the cut
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": 100_000 - entry["quota"], "used_quota": entry["quota"]}


async def test_dead_key_disables_the_channel_when_enabled(runtime, client, upstream):
    runtime.options.AutomaticDisableChannelEnabled = True
    runtime.options.RetryTimes = 1
    dead = await add_channel(runtime, upstream.url, key="fail401", priority=5)
    await add_channel(runtime, upstream.url, key="ok")
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200  # the refused key is retried on the other channel (as one-api)
    assert [s.headers["Authorization"] for s in upstream.seen] == ["Bearer fail401", "Bearer ok"]
    async with asyncio.timeout(30):  # auto-disabled in the background (bounded)
        while (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=dead))["status"] != 3:
            await asyncio.sleep(0.02)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200 and upstream.seen[-1].headers["Authorization"] == "Bearer ok"


async def test_failures_leave_channels_alone_by_default(runtime, client, upstream):
    dead = await add_channel(runtime, upstream.url, key="fail401")
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 401
    assert (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=dead))["status"] == 1
