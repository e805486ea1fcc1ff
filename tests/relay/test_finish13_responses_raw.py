"""POST /v1/responses passed through to a channel that serves the Responses API (OpenAI, type 1): the client
gets the upstream's stream byte for byte (comment lines, ``event:`` lines, odd chunking kept) and the log bills
the usage of ``response.completed`` exactly."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from aiohttp import web

from oneapi_app.relay.pipeline import ESTIMATED_MARK
from tests.local_server import serving

from .conftest import add_channel, add_token, logs, row

START = 1_000_000
MODEL = "gpt-4o-mini"
USAGE = {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 7,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 18}


def _stream() -> bytes:
    response = {"id": "resp_up", "object": "response", "status": "in_progress", "model": MODEL, "output": []}
    events = [
        b": OPENROUTER PROCESSING\n\n",
        b"event: response.created\ndata: " + orjson.dumps({"type": "response.created", "sequence_number": 0,
                                                           "response": response}) + b"\n\n",
        # the upstream's own spelling (spaces, key order) must survive: nothing is re-serialized
        (b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "sequence_number": 1, '
        b'"item_id": "msg_1", "delta": "Hello"}\n\n'),
        b": keep-alive\n\n",
        (b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":2,'
        b'"item_id":"msg_1","delta":" world"}\n\n'),
        b"event: response.completed\ndata: " + orjson.dumps({"type": "response.completed", "sequence_number": 3,
                                                             "response": {**response, "status": "completed",
                                                                          "usage": USAGE}}) + b"\n\n",
    ]
    return b"".join(events)


CUTS = (3, 40, 41, 200, 260, 261, 330)  # odd places: inside lines, inside the ": " of a comment, ...


@pytest.fixture
async def responses_upstream():
    seen: list[dict] = []

    async def responses(request: web.Request) -> web.StreamResponse:
        seen.append(await request.json())
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        data, start = _stream(), 0
        for cut in (*CUTS, len(data)):
            await resp.write(data[start:cut])
            start = cut
            await asyncio.sleep(0.005)
        return resp

    app = web.Application()
    app.router.add_post("/v1/responses", responses)
    async with serving(app) as url:
        yield url, seen


async def test_responses_stream_passes_through_byte_for_byte(runtime, gateway, responses_upstream):
    url, seen = responses_upstream
    await add_channel(runtime, url, key="o", models=MODEL, type=1)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    body = {"model": MODEL, "stream": True, "input": "hi", "store": False}
    got: list[bytes] = []
    async with httpx.AsyncClient(timeout=10) as http, http.stream(
            "POST", f"{gateway}/v1/responses", headers={"Authorization": f"Bearer sk-{key}"}, json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for chunk in resp.aiter_raw():
            got.append(chunk)
    assert b"".join(got) == _stream()
    assert seen == [body]
    [entry] = await logs(runtime)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (11, 7)
    assert entry["is_stream"] and ESTIMATED_MARK not in entry["content"]
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert token["used_quota"] == entry["quota"] > 0
