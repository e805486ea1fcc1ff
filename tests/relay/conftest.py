"""Relay fixtures: a fake OpenAI-shaped upstream (aiohttp server on a free port), the gateway served by a
real uvicorn server (so streaming and disconnects behave as in production), and data helpers.

The fake upstream's behaviour is chosen by the channel key it receives (``Bearer <key>``):
``ok`` answers normally, ``fail500``/``fail429``/``fail400`` answer that status with an OpenAI error body,
``drop`` streams two chunks then breaks the connection, ``slow`` streams one chunk every 20 ms for a long
time, ``nousage`` answers without a usage object. For the resource tests: ``hold`` answers once
``state.gate`` is set, ``stall`` never answers, ``endless`` sends a JSON body that never ends, ``big``
sends a 100 MB answer (pausing after 8 MB until ``state.gate`` is set), ``garbage`` streams garbage lines
between its events, ``retry429`` answers 429 with ``Retry-After: 7``. Each marks ``state.disconnected``
when it sees the gateway hang up, and counts what it wrote in ``state.bytes_sent``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field

import openai
import orjson
import pytest
import uvicorn
from aiohttp import web
from sqlalchemy import text

from oneapi_app.http_protocol import Protocol
from oneapi_app.models import ChannelCreate, TokenCreate, User
from oneapi_app.services.channels import create_channels
from oneapi_app.services.tokens import create_token
from tests.fakes_cn import running_fake
from tests.local_server import (
    Seen,
    free_port,  # noqa: F401 -- re-exported: tests/faults import it from here
    serving,
)

from . import media_fake
from .fake_dialect_upstream import FakeProvider, provider_app

REPLY_WORDS = ["Hello", " from", " the", " fake", " upstream", "."]


@dataclass
class FakeUpstream:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    slow_chunks_sent: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: int = 0  # requests that reached a handler (before any waiting)
    bytes_sent: int = 0


def _key(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ") or request.headers.get("api-key", "") or request.headers.get("x-api-key", "")


GARBAGE = b"this is not an event\ndata: not json at all\ndata: <html>oops</html>\n\n"
BIG = 100 * 1024 * 1024
BLOCK = 64 * 1024


async def _until_gone(request: web.Request, state: FakeUpstream) -> web.Response:
    """Never answer; note when the gateway closes the connection."""
    while request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(0.01)
    state.disconnected.set()
    return web.Response(status=204)


async def _write(resp: web.StreamResponse, state: FakeUpstream, data: bytes) -> None:
    try:
        await resp.write(data)
    except (ConnectionError, asyncio.CancelledError):
        state.disconnected.set()
        raise
    state.bytes_sent += len(data)


async def _special(request: web.Request, state: FakeUpstream, key: str, body: dict) -> web.StreamResponse | None:
    """The resource-test behaviours (non-stream answers), or None for the ordinary ones."""
    model = body.get("model", "")
    if key == "hold":
        await state.gate.wait()
        return None
    if key == "stall":
        return await _until_gone(request, state)
    if key == "retry429":
        return web.json_response({"error": {"message": "slow down", "type": "rate_limit", "code": "rate"}},
                                 status=429, headers={"Retry-After": "7"})
    if key not in ("endless", "big"):
        return None
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    filler = b"x" * BLOCK
    try:
        if key == "endless":
            await _write(resp, state, b'{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"')
            while True:
                await _write(resp, state, filler)
        await _write(resp, state, b'{"id":"big","object":"chat.completion","model":"' + model.encode()
                     + b'","choices":[{"index":0,"message":{"role":"assistant","content":"')
        for _ in range(BIG // BLOCK):
            await _write(resp, state, filler)
            if state.bytes_sent >= 8 * 1024 * 1024 and not state.gate.is_set():
                await state.gate.wait()
        await _write(resp, state, b'"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":'
                     b'22,"total_tokens":33,"prompt_tokens_details":{"cached_tokens":0}}}')
    except (ConnectionError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "test_error", "param": None,
                                        "code": f"code_{status}"}}, status=status)


FLOOD = 3000  # chunks of 4 KB: 12 MB, more than the sockets between the gateway and a client buffer


def _chunk(model: str, content: str | None = None, finish: str | None = None, usage: dict | None = None) -> bytes:
    event: dict = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
                   "choices": [] if usage else [{"index": 0, "delta": {} if content is None else {"content": content},
                                                 "finish_reason": finish}]}
    if usage:
        event["usage"] = usage
    return b"data: " + orjson.dumps(event) + b"\n\n"


async def _upstream_app(state: FakeUpstream) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        state.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        key = _key(request)
        state.arrived += 1
        if key.startswith("fail"):
            status = int(key[4:7])
            return _error(status, f"upstream says {status}")
        body = orjson.loads(raw)
        model = body.get("model", "")
        if not body.get("stream"):
            special = await _special(request, state, key, body)
            if special is not None:
                return special
            answer = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(REPLY_WORDS)},
                                   "finish_reason": "stop"}]}
            if key != "nousage":
                answer["usage"] = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
            return web.Response(body=orjson.dumps(answer), content_type="application/json",
                                headers={"X-Upstream": "fake"})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b": keep-alive comment\n\n")
        if key == "stall":
            return await _until_gone(request, state)
        if key == "slow":
            try:
                for _ in range(1000):
                    await resp.write(_chunk(model, "tick "))
                    state.slow_chunks_sent += 1
                    await asyncio.sleep(0.02)
            except (ConnectionResetError, asyncio.CancelledError):
                state.disconnected.set()
                raise
            return resp
        if key == "flood":  # as fast as the gateway reads: a slow client's buffer fills (test_relay_trust.py)
            for i in range(FLOOD):
                await resp.write(_chunk(model, f"{i:05d}" + "x" * 4000 + " "))
            await resp.write(_chunk(model, None, "stop"))
            await resp.write(_chunk(model, usage={"prompt_tokens": 10, "completion_tokens": FLOOD,
                                                  "total_tokens": 10 + FLOOD}))
            await resp.write(b"data: [DONE]\n\n")
            return resp
        words = REPLY_WORDS[:2] if key == "drop" else REPLY_WORDS
        for word in words:
            await resp.write(_chunk(model, word))
            if key == "garbage":
                await resp.write(GARBAGE)
        if key == "drop":
            request.transport.abort()  # type: ignore[union-attr]
            return resp
        await resp.write(_chunk(model, None, "stop"))
        options = body.get("stream_options") or {}
        if options.get("include_usage") and key != "nousage":
            await resp.write(_chunk(model, usage={"prompt_tokens": 10, "completion_tokens": len(REPLY_WORDS),
                                                  "total_tokens": 10 + len(REPLY_WORDS)}))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    async def embeddings(request: web.Request) -> web.Response:
        raw = await request.read()
        state.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        body = orjson.loads(raw)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response({"object": "list", "model": body.get("model"),
                                  "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2]}
                                           for i in range(len(inputs))],
                                  "usage": {"prompt_tokens": 7, "total_tokens": 7}})

    async def generic(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        state.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        state.arrived += 1
        special = await _special(request, state, _key(request), orjson.loads(raw) if raw else {})
        if special is not None:
            return special
        if _key(request).startswith("fail"):
            status = int(_key(request)[4:7])
            return _error(status, f"upstream says {status}")
        return web.json_response({"id": "x", "object": "generic", "path": request.path,
                                  "choices": [{"index": 0, "text": "done"}],
                                  "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/{tail:.*}", generic)
    return app


@pytest.fixture
async def upstream():
    state = FakeUpstream()
    async with serving(await _upstream_app(state)) as state.url:
        yield state


@pytest.fixture
async def cn_fake():
    """The fake Chinese and smaller providers of the native adaptors' end-to-end tests (tests/fakes_cn.py)."""
    async with running_fake() as state:
        yield state


@pytest.fixture
async def media_upstream():
    """The fake images/audio/rerank upstream of the media and proxy tests (media_fake.py)."""
    state = media_fake.MediaUpstream()
    async with serving(media_fake.app(state)) as state.url:
        yield state


@pytest.fixture
async def provider():
    """The fake provider of the Responses and Gemini dialects' end-to-end tests (fake_dialect_upstream.py)."""
    state = FakeProvider()
    async with serving(await provider_app(state)) as state.url:
        yield state


@pytest.fixture
async def gateway(runtime, caplog):
    """The gateway on a real server. A request that ends in an unexpected exception (a bug, even when the
    client already got its answer) fails the test."""
    from oneapi_app.api import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), lifespan="off", log_level="warning", http=Protocol,
                                           timeout_graceful_shutdown=2, access_log=False,
                                           timeout_keep_alive=runtime.settings.keep_alive_timeout))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()
    crashes = [r.getMessage() for r in caplog.records if r.exc_info and r.name.startswith(("oneapi_app", "uvicorn"))]
    assert not crashes, crashes


def sdk(gateway: str, key: str) -> openai.AsyncOpenAI:
    """The official openai SDK on the gateway with token ``key`` (no retries: a test sees every answer)."""
    return openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{key}", max_retries=0)


# -- data helpers ---------------------------------------------------------------------------------------
async def add_channel(runtime, base_url: str, *, key: str = "ok", models: str = "gpt-4o-mini", type: int = 1,
                      priority: int = 0, weight: int = 0, group: str = "default", **extra) -> int:
    async with runtime.db.session() as session:
        [channel] = await create_channels(session, ChannelCreate(
            type=type, key=key, name=f"ch-{key}"[:100], base_url=base_url, models=models, group=group,
            priority=priority, weight=weight, **extra), bus=runtime.changes)
    return channel.id


async def add_token(runtime, *, user_id: int = 1, remain_quota: int = 0, unlimited: bool = True, **extra) -> str:
    async with runtime.db.session() as session:
        token = await create_token(session, user_id, TokenCreate(name="t", remain_quota=remain_quota,
                                                                  unlimited_quota=unlimited, **extra))
    return token.key


async def add_user(runtime, *, quota: int = 1_000_000, role: int = 1, status: int = 1, group: str = "default") -> int:
    async with runtime.db.session() as session:
        user = User(username=f"u{time.perf_counter_ns() % 10**9}", password="x", quota=quota, role=role,
                    status=status, group=group)
        session.add(user)
        await session.commit()
        return user.id


async def row(runtime, sql: str, **params) -> dict:
    async with runtime.db.engine.connect() as conn:
        return dict((await conn.execute(text(sql), params)).mappings().one())


async def logs(runtime) -> list[dict]:
    await runtime.ledger.flush()
    async with runtime.db.log_engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text("SELECT * FROM logs WHERE type = 2 ORDER BY id")))
                .mappings().all()]


async def add_customer(runtime, start: int) -> tuple[int, str]:
    """A user holding twice ``start`` and a limited token of ``start``: (user id, token key)."""
    user_id = await add_user(runtime, quota=start * 2)
    return user_id, await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=start)


async def books_balance(runtime, user_id: int, start: int) -> list[dict]:
    """The books of a customer (add_customer) balance: the token's remain + used == ``start``, and the user's log
    entries add up to used. Returns those entries."""
    await runtime.ledger.flush()
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE user_id = :u", u=user_id)
    assert token["remain_quota"] + token["used_quota"] == start
    entries = [e for e in await logs(runtime) if e["user_id"] == user_id]
    assert sum(e["quota"] for e in entries) == token["used_quota"]
    return entries


async def settled(runtime, user_id: int) -> None:
    """Wait (30 s at most: a loaded machine) until a request of ``user_id`` is logged: one the client left settles
    after it."""
    for _ in range(600):
        await runtime.ledger.flush()
        if [e for e in await logs(runtime) if e["user_id"] == user_id]:
            return
        await asyncio.sleep(0.05)
