"""Issue 10: the relay can be trusted with quota and resources.

No false lockouts (a balance at 0 for a moment never refuses a token that has quota), no over-reservation of
large prompts, the upstream released whenever the client leaves, bounded request and response bodies, and
the smaller items (one log line for a client that leaves mid-body, Retry-After, garbage SSE lines,
User-Agent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import logging
import uuid

import httpx
import orjson
import pytest

from oneapi_app import __version__
from oneapi_app.api import create_app
from oneapi_app.relay import token_count
from oneapi_app.runtime import Runtime

from .conftest import BIG, GARBAGE, _chunk, add_channel, add_token, add_user, logs, row

MODEL = "gpt-4o-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


async def until(check, timeout: float = 15.0) -> None:
    """Wait for a condition the test caused (bounded, so a bug fails instead of hanging)."""
    async def loop() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


def asgi_client(runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw", timeout=60)


def use_settings(runtime, **changes) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, **changes)


async def remain(runtime, key: str) -> int:
    await runtime.ledger.flush()
    return (await row(runtime, "SELECT remain_quota FROM tokens WHERE key = :k", k=key))["remain_quota"]


# -- false lockouts ---------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql", "redis"])
async def db_runtime(request, make_settings):
    env: dict[str, str] = {}
    if request.param == "postgresql":
        env["SQL_DSN"] = request.getfixturevalue("postgres_dsn")
    prefix = f"oneapi-test-{uuid.uuid4().hex[:8]}:"
    if request.param == "redis":
        env.update(REDIS_CONN_STRING="redis://127.0.0.1:6379/0", REDIS_KEY_PREFIX=prefix, SYNC_FREQUENCY="150")
    runtime = Runtime(make_settings(**env))
    async with runtime.lifespan():
        yield runtime
        if runtime.redis is not None:
            keys = [k async for k in runtime.redis.scan_iter(match=f"{prefix}*")]
            if keys:
                await runtime.redis.delete(*keys)


async def test_a_moment_at_zero_does_not_lock_a_token_out(db_runtime, upstream):
    runtime = db_runtime
    await add_channel(runtime, upstream.url, key="hold")
    user_id = await add_user(runtime, quota=100_000_000)
    probe = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=1_000_000)
    body = {**BODY, "max_tokens": 50}

    async with asgi_client(runtime) as client:
        async def post(key: str) -> httpx.Response:
            return await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer sk-{key}"})

        first = asyncio.create_task(post(probe))  # one request's reservation, measured
        await until(lambda: upstream.arrived == 1)
        held = 1_000_000 - await remain(runtime, probe)
        upstream.gate.set()
        assert (await first).status_code == 200 and held > 0
        upstream.gate.clear()

        key = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=3 * held)
        assert (await client.get("/v1/models", headers={"Authorization": f"Bearer sk-{key}"})).status_code == 200
        in_flight = [asyncio.create_task(post(key)) for _ in range(3)]
        await until(lambda: upstream.arrived == 4)
        assert await remain(runtime, key) == 0  # everything is held by requests in flight
        refused = [await post(key) for _ in range(3)]  # truly nothing left right now: refused
        assert {r.status_code for r in refused} <= {401, 403}, [r.text for r in refused]
        upstream.gate.set()
        assert [(await t).status_code for t in in_flight] == [200, 200, 200]
        assert await remain(runtime, key) > held  # settled: the unused part of the holds came back

        answer = await post(key)  # fits: must pass at once, not after the cache entry expires
        assert answer.status_code == 200, answer.text


# -- over-reservation ----------------------------------------------------------------------------------------
async def test_a_large_prompt_the_token_can_pay_for_is_not_refused(runtime, client, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o")
    user_id = await add_user(runtime, quota=100_000_000)
    key = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=500_000)
    prompt = "hello " * 100_000  # 600 KB, about 100k tokens: half the bytes would be 300k
    assert token_count.count_text(prompt, "gpt-4o") < 101_000
    resp = await client.post("/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"},
                             json={"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
    assert resp.status_code == 200, resp.text
    [entry] = await logs(runtime)
    assert await remain(runtime, key) == 500_000 - entry["quota"]


async def test_a_token_that_cannot_pay_is_still_refused(runtime, client, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    prompt = "hello " * 100_000  # about 250k quota of prompt alone at gpt-4o's ratio
    resp = await client.post("/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"},
                             json={"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "pre_consume_token_quota_failed"
    assert await remain(runtime, key) == 100_000 and not upstream.seen


async def test_ordinary_requests_reserve_without_the_tokenizer(runtime, client, upstream, monkeypatch):
    calls = []
    real = token_count.count_prompt
    monkeypatch.setattr(token_count, "count_prompt", lambda *a: calls.append(a) or real(*a))
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime, unlimited=False, remain_quota=500_000)
    for _ in range(3):
        resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status_code == 200
    assert calls == []


# -- the upstream is released when the client leaves -----------------------------------------------------
async def raw_request(gateway: str, path: str, body: bytes, headers: dict[str, str] | None = None,
                      length: int | None = None):
    host, port = gateway.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
            f"Content-Length: {len(body) if length is None else length}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    return reader, writer


@pytest.mark.parametrize("mode", ["fast-lane", "full-stack", "stream"])
async def test_a_stalled_upstream_is_dropped_when_the_client_leaves(runtime, gateway, upstream, mode):
    assert runtime.settings.relay_timeout == 0  # no timeout would ever end it
    await add_channel(runtime, upstream.url, key="stall")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    body = orjson.dumps({**BODY, "stream": mode == "stream"})
    headers = {"Authorization": f"Bearer sk-{key}"}
    if mode == "full-stack":  # a gzip body takes the FastAPI stack instead of the fast lane
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    _reader, writer = await raw_request(gateway, "/v1/chat/completions", body, headers)
    await until(lambda: upstream.arrived == 1)
    writer.close()
    await asyncio.wait_for(upstream.disconnected.wait(), 15)
    if mode != "stream":
        assert await remain(runtime, key) == 100_000  # refunded
        assert await logs(runtime) == []
    else:  # a stream had started: billed for its prompt, as any abandoned stream
        async with asyncio.timeout(30):  # bounded: a lost log row fails here instead of hanging the suite
            while not (entries := await logs(runtime)):
                await asyncio.sleep(0.05)
        [entry] = entries
        assert entry["completion_tokens"] == 0 and await remain(runtime, key) == 100_000 - entry["quota"]


async def test_an_endless_answer_is_dropped_when_the_client_leaves(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="endless")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions", json=BODY,
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            assert resp.status_code == 200
            received = 0
            async for chunk in resp.aiter_raw():
                received += len(chunk)
                if received > 3 * 1024 * 1024:
                    break
    await asyncio.wait_for(upstream.disconnected.wait(), 15)
    sent = upstream.bytes_sent
    assert sent < 32 * 1024 * 1024  # what the sockets buffered, not what the upstream would have sent
    async with asyncio.timeout(30):  # bounded: a lost log row fails here instead of hanging the suite
        while not (entries := await logs(runtime)):
            await asyncio.sleep(0.05)
    [entry] = entries
    assert "estimated" in entry["content"]  # no usage at the end: billed as an answer without usage


async def test_a_stream_to_a_client_that_reads_late_arrives_whole_and_in_order(runtime, gateway, upstream):
    """The gateway writes a stream's events from the upstream's callbacks (relay/stream_relay.py) until the
    client's buffer is full, then waits for the client: nothing is lost, duplicated or reordered."""
    from tests.relay.conftest import FLOOD

    await add_channel(runtime, upstream.url, key="flood")
    key = await add_token(runtime, unlimited=False, remain_quota=10_000_000)
    async with httpx.AsyncClient(timeout=60) as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions",
                                 json={**BODY, "stream": True, "stream_options": {"include_usage": True}},
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            assert resp.status_code == 200
            await asyncio.sleep(1)  # the client reads nothing yet: the upstream's 12 MB fill the buffers
            events = [line[6:] async for line in resp.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    numbers = [int(c["choices"][0]["delta"]["content"][:5]) for c in chunks
               if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert numbers == list(range(FLOOD))
    assert chunks[-1]["usage"]["completion_tokens"] == FLOOD
    async with asyncio.timeout(30):
        while not (entries := await logs(runtime)):
            await asyncio.sleep(0.05)
    [entry] = entries
    assert entry["completion_tokens"] == FLOOD and "estimated" not in entry["content"]
    assert await remain(runtime, key) == 10_000_000 - entry["quota"]


async def test_a_converted_answer_past_the_cap_is_a_502_and_refunded(runtime, gateway, upstream):
    use_settings(runtime, relay_max_response_size=1)
    await add_channel(runtime, upstream.url, key="endless", type=14, models="claude-3-haiku-20240307")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(f"{gateway}/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"},
                                 json={**BODY, "model": "claude-3-haiku-20240307"})
    assert resp.status_code == 502
    error = resp.json()["error"]
    assert error["code"] == "upstream_response_too_large" and "RELAY_MAX_RESPONSE_SIZE" in error["message"]
    await asyncio.wait_for(upstream.disconnected.wait(), 15)
    assert upstream.bytes_sent < 16 * 1024 * 1024
    assert await remain(runtime, key) == 100_000 and await logs(runtime) == []


async def test_a_100_mb_answer_streams_through(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="big")
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    received, tail = 0, b""
    async with httpx.AsyncClient(timeout=60) as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions", json=BODY,
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
            async for chunk in resp.aiter_raw():
                received += len(chunk)
                tail = (tail + chunk)[-4096:]
                if received > 4 * 1024 * 1024:
                    # the upstream waits after 8 MB until this is set: the client got bytes that the
                    # upstream had not finished sending, so the gateway did not buffer the answer
                    upstream.gate.set()
    assert received > BIG and tail.endswith(b'"total_tokens":33,"prompt_tokens_details":{"cached_tokens":0}}}')
    [entry] = await logs(runtime)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (11, 22)  # usage read from the tail
    assert "estimated" not in entry["content"]


# -- request bodies are bounded -------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/engines/text-embedding-3-small/embeddings"])
async def test_a_too_large_body_is_refused_before_it_is_read(runtime, upstream, path):
    """Fast lane (chat) and the FastAPI stack (engines path) alike, by Content-Length or while chunked."""
    use_settings(runtime, max_request_body_size=1)
    await add_channel(runtime, upstream.url, models="gpt-4o-mini,text-embedding-3-small")
    key = await add_token(runtime)
    app = create_app(runtime)
    for declared in (70 * 1024 * 1024, None):
        consumed = 0
        sent: list[dict] = []

        async def receive() -> dict:
            nonlocal consumed
            consumed += 65536
            return {"type": "http.request", "body": b" " * 65536, "more_body": True}

        async def send(message: dict, sent: list[dict] = sent) -> None:  # this iteration's list
            sent.append(message)

        headers = [(b"authorization", f"Bearer sk-{key}".encode()), (b"content-type", b"application/json")]
        if declared is not None:
            headers.append((b"content-length", str(declared).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("gw", 80)}
        await app(scope, receive, send)
        assert sent[0]["status"] == 413
        error = orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))["error"]
        assert error["code"] == "request_body_too_large" and "MAX_REQUEST_BODY_SIZE" in error["message"]
        assert consumed == 0 if declared else consumed <= 1024 * 1024 + 65536
    assert not upstream.seen


async def test_a_too_large_body_gets_413_over_http(runtime, gateway, upstream):
    use_settings(runtime, max_request_body_size=1)
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    reader, writer = await raw_request(gateway, "/v1/chat/completions", b"{" * 65536,
                                       {"Authorization": f"Bearer sk-{key}"}, length=70 * 1024 * 1024)
    status_line = await asyncio.wait_for(reader.readline(), 15)
    writer.close()
    assert b" 413 " in status_line and not upstream.seen


# -- the smaller items ------------------------------------------------------------------------------------
async def test_a_client_leaving_mid_body_logs_one_line(runtime, gateway, upstream, caplog):
    caplog.set_level(logging.INFO, logger="oneapi_app")
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    _reader, writer = await raw_request(gateway, "/v1/chat/completions", b'{"model": "gpt-4o-mini", ',
                                        {"Authorization": f"Bearer sk-{key}"}, length=10_000)
    writer.close()
    await until(lambda: any("went away" in r.getMessage() for r in caplog.records))
    lines = [r for r in caplog.records if r.name.startswith("oneapi_app") and r.name != "oneapi_app.access"]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and lines[0].exc_info is None
    # (the gateway fixture fails the test on any logged traceback)


async def test_retry_after_passes_through_and_is_sent_on_our_429(runtime, client, upstream):
    await add_channel(runtime, upstream.url, key="retry429")
    key = await add_token(runtime)
    headers = {"Authorization": f"Bearer sk-{key}"}
    resp = await client.post("/v1/chat/completions", json=BODY, headers=headers)
    assert resp.status_code == 429 and resp.headers["retry-after"] == "7"


async def test_our_saturated_429_has_retry_after(runtime, client, upstream):
    runtime.options.RetryTimes = 3
    await add_channel(runtime, upstream.url, key="fail429", priority=5)
    await add_channel(runtime, upstream.url, key="fail429b")
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1


async def test_the_api_rate_limit_429_has_retry_after(runtime, client):
    use_settings(runtime, global_api_rate_limit=1)
    assert (await client.get("/api/status")).status_code == 200
    resp = await client.get("/api/status")
    assert resp.status_code == 429 and resp.headers["retry-after"] == "180"


async def test_garbage_sse_lines_never_reach_the_client(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="garbage")
    key = await add_token(runtime)
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(f"{gateway}/v1/chat/completions", json={**BODY, "stream": True},
                                 headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200
    for junk in GARBAGE.split(b"\n"):
        if junk:
            assert junk not in resp.content
    valid = b"".join(_chunk(MODEL, word) for word in ["Hello", " from", " the", " fake", " upstream", "."])
    assert resp.content.startswith(valid)  # valid events pass byte for byte
    assert resp.content.endswith(b"data: [DONE]\n\n")


async def test_the_gateway_sends_a_user_agent(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY,
                             headers={"Authorization": f"Bearer sk-{key}", "User-Agent": "my-script/1"})
    assert resp.status_code == 200
    assert upstream.seen[-1].headers["User-Agent"] == f"one-api-python/{__version__}"


def test_an_sse_line_without_end_is_capped():
    from oneapi_app.errors import UpstreamFailure
    from oneapi_app.relay.streaming import SSEReader

    reader = SSEReader(limit=1024)
    assert reader.feed(b'data: {"a":1}\n\ndata: {"b":') == [b'{"a":1}']
    with pytest.raises(UpstreamFailure) as failure:
        for _ in range(100):
            reader.feed(b"x" * 100)
    assert failure.value.status == 502 and failure.value.code == "upstream_response_too_large"


def test_usage_is_read_from_the_tail_of_a_streamed_through_answer():
    from oneapi_app.relay.passthrough import TAIL, Tail

    tail = Tail()
    tail.feed(b'{"choices":[{"message":{"content":"' + b"u" * (3 * TAIL))
    tail.feed(b'"}}],"usage": {"prompt_tokens":5,"completion_tokens":6,"completion_tokens_details":'
              b'{"reasoning_tokens":2}},"system_fingerprint":"fp"}')
    usage = tail.usage()
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (5, 6, 2)
    assert len(tail.data) <= TAIL
    broken = Tail()
    broken.feed(b'..."usage":{"prompt_tokens":5,')
    assert broken.usage() is None
