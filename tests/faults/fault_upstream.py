"""A fault-injecting OpenAI/Anthropic-shaped upstream (aiohttp, in the test's event loop, on a free port).

The channel key chooses the fault (``Bearer <key>`` or ``x-api-key``); every request that reaches a handler
is counted in ``FaultUpstream.injected[key]``:

``ok``          a normal answer (JSON with usage, or SSE ending in a usage chunk and ``[DONE]``)
``e500``        500 with an OpenAI error body
``e429``        429 with ``Retry-After: 2``
``reset_head``  the connection is reset before any response byte
``reset_body``  headers and part of the body are sent, then the connection is reset (JSON: a
                ``Content-Length`` promising more; SSE: two content events)
``stall``       headers never come (non-stream) or the stream stops after one comment (stream): only the
                gateway's RELAY_TIMEOUT ends it
``endless``     a body that never ends (``/v1/messages``: the Anthropic answer the gateway converts and so must
                buffer, bounded by RELAY_MAX_RESPONSE_SIZE)
``garbage``     SSE with junk lines between valid events
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from tests.local_server import free_port  # noqa: F401 -- re-exported: test_upstream_faults takes it here

WORDS = ["Hello", " from", " the", " faulty", " upstream", "."]
JUNK = b"this is not an event\ndata: {broken json\ndata: <html>502 Bad Gateway</html>\nevent: \n\n"


@dataclass
class FaultUpstream:
    url: str = ""
    injected: Counter = field(default_factory=Counter)
    gone: int = 0  # connections the gateway closed while we were still writing or waiting


def _key(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ") or request.headers.get("x-api-key", "")


def _chunk(model: str, content: str | None = None, usage: dict | None = None) -> bytes:
    event = {"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [] if usage else [{"index": 0, "delta": {"content": content} if content else {},
                                           "finish_reason": None if content else "stop"}]}
    if usage:
        event["usage"] = usage
    return b"data: " + orjson.dumps(event) + b"\n\n"


async def _wait_gone(request: web.Request, state: FaultUpstream) -> web.StreamResponse:
    while request.transport is not None and not request.transport.is_closing():
        await asyncio.sleep(0.05)
    state.gone += 1
    return web.Response(status=204)


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _chat(request: web.Request, state: FaultUpstream) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    key, model, stream = _key(request), body.get("model", ""), bool(body.get("stream"))
    state.injected[key] += 1
    if key == "e500":
        return web.json_response({"error": {"message": "upstream broke", "type": "server_error"}}, status=500)
    if key == "e429":
        return web.json_response({"error": {"message": "slow down", "type": "rate_limit"}}, status=429,
                                 headers={"Retry-After": "2"})
    if key == "reset_head":
        _abort(request)
        return web.Response(status=204)
    if key == "stall" and not stream:
        return await _wait_gone(request, state)
    if not stream:
        answer = orjson.dumps({"id": "chatcmpl-f", "object": "chat.completion", "created": 1, "model": model,
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "".join(WORDS)}}],
                               "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})
        if key != "reset_body":
            return web.Response(body=answer, content_type="application/json")
        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": str(len(answer))})
        await resp.prepare(request)
        await resp.write(answer[: len(answer) // 2])
        await asyncio.sleep(0.01)
        _abort(request)
        return resp
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    try:
        await resp.write(b": keep-alive\n\n")
        if key == "stall":
            return await _wait_gone(request, state)
        for i, word in enumerate(WORDS):
            await resp.write(_chunk(model, word))
            if key == "garbage":
                await resp.write(JUNK)
            if key == "reset_body" and i == 1:
                await asyncio.sleep(0.01)
                _abort(request)
                return resp
        await resp.write(_chunk(model))
        await resp.write(_chunk(model, usage={"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16}))
        await resp.write(b"data: [DONE]\n\n")
    except ConnectionError:  # the gateway hung up (its RELAY_TIMEOUT, or its client left)
        state.gone += 1
    return resp


async def _messages(request: web.Request, state: FaultUpstream) -> web.StreamResponse:
    """Anthropic Messages: ``endless`` only (a JSON answer that never ends)."""
    await request.read()
    state.injected[_key(request)] += 1
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    filler = b"x" * 65536
    try:
        await resp.write(b'{"id":"msg_f","type":"message","role":"assistant","content":[{"type":"text","text":"')
        while True:
            await resp.write(filler)
    except ConnectionError:  # the gateway hung up (RELAY_MAX_RESPONSE_SIZE)
        state.gone += 1
    return resp


async def start(state: FaultUpstream) -> web.AppRunner:
    async def chat(request: web.Request) -> web.StreamResponse:
        return await _chat(request, state)

    async def messages(request: web.Request) -> web.StreamResponse:
        return await _messages(request, state)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/messages", messages)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # bound at once: no race for the port
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    return runner
