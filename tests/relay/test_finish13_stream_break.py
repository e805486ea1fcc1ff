"""A converted stream broken mid-read: when one upstream network read holds text events and then an error event,
the client gets the text (encoded in its dialect) and then the dialect's error ending, and the log bills exactly
the text delivered (counted locally: no usage came)."""

from __future__ import annotations

import httpx
import orjson
import pytest
from aiohttp import web

from oneapi_app.relay.pipeline import ESTIMATED_MARK
from oneapi_app.relay.token_count import count_text
from tests.local_server import serving

from .conftest import add_channel, add_token, logs, row

START = 1_000_000
WORDS = ["alpha ", "beta ", "gamma"]


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n"


def _claude_burst(model: str) -> bytes:
    """Anthropic's stream up to an ``overloaded_error`` event, all in one write."""
    out = [_sse({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
    out += [_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}})
            for w in WORDS]
    out.append(_sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    return b"".join(out)


def _openai_burst(model: str) -> bytes:
    """OpenAI's chat stream: text chunks then an error payload, all in one write."""
    out = [b"data: " + orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model,
                                     "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]})
           + b"\n\n" for w in WORDS]
    out.append(b'data: {"error":{"message":"the upstream broke","type":"server_error"}}\n\n')
    return b"".join(out)


@pytest.fixture
async def burst_upstream():
    async def claude(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(_claude_burst(body["model"]))
        return resp

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(_openai_burst(body["model"]))
        return resp

    app = web.Application()
    app.router.add_post("/v1/messages", claude)
    app.router.add_post("/v1/chat/completions", chat)
    async with serving(app) as url:
        yield url


async def _billed(runtime, key: str, text: str, model: str) -> None:
    [entry] = await logs(runtime)
    assert entry["completion_tokens"] == count_text(text, model) > 0
    assert ESTIMATED_MARK in entry["content"]
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert token["used_quota"] == entry["quota"] > 0


async def test_chat_client_gets_the_text_before_an_anthropic_error_in_the_same_read(runtime, gateway,
                                                                                     burst_upstream):
    model = "claude-sonnet-4-5"
    await add_channel(runtime, burst_upstream, key="c", models=model, type=14)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(f"{gateway}/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"},
                               json={"model": model, "stream": True,
                                     "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200
    datas = [line[6:] for line in resp.text.split("\n") if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    events = [orjson.loads(d) for d in datas[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in events if c.get("choices"))
    assert text == "".join(WORDS)
    assert "error" in events[-1] and "Overloaded" in events[-1]["error"]["message"]
    assert all("error" not in e for e in events[:-1])
    await _billed(runtime, key, text, model)


async def test_messages_client_gets_the_text_before_an_openai_error_in_the_same_read(runtime, gateway,
                                                                                      burst_upstream):
    model = "gpt-4o-mini"
    await add_channel(runtime, burst_upstream, key="o", models=model, type=1)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(f"{gateway}/v1/messages", headers={"x-api-key": f"sk-{key}"},
                               json={"model": model, "stream": True, "max_tokens": 100,
                                     "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 200
    events = [orjson.loads(line[6:]) for line in resp.text.split("\n") if line.startswith("data: ")]
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "".join(WORDS)
    assert events[-1]["type"] == "error"
    assert [e["type"] for e in events].index("error") == len(events) - 1
    await _billed(runtime, key, text, model)
