"""POST /v1/messages end to end through the real gateway with the official ``anthropic`` SDK, against local
fake upstreams: an Anthropic-shaped one (pass-through: bytes, headers, thinking signatures and citations
kept), the OpenAI-shaped one of conftest and a tool-calling OpenAI one (converted), Gemini's (converted).
The books balance after every call: remain + used == start, and the logs add up to used -- also when the
client disconnects mid-stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anthropic
import httpx
import orjson
import pytest
from aiohttp import web

from tests.local_server import Seen, serving

from .conftest import REPLY_WORDS, add_channel, add_token, logs, row
from .test_adaptor_gemini import gemini_upstream  # noqa: F401 - the fake Gemini upstream fixture

CLAUDE = "claude-sonnet-4-5"
START = 1_000_000
FIXTURES = Path(__file__).parent / "fixtures" / "messages"
USAGE = {"input_tokens": 25, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 100, "output_tokens": 40}
THINKING = {"type": "thinking", "thinking": "27 * 453 = 12231", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgx"}
CITED = {"type": "text", "text": "The grass is green.", "citations": [
    {"type": "char_location", "cited_text": "The grass is green.", "document_index": 0, "document_title": "Facts",
     "start_char_index": 0, "end_char_index": 19}]}


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n"


class FakeClaude:
    """Anthropic's API: /v1/messages (JSON and SSE) and /v1/messages/count_tokens. Key ``slow`` streams text
    deltas every 20 ms until the gateway hangs up; ``overloaded`` answers 529."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[Seen] = []
        self.disconnected = asyncio.Event()

    async def count(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        return web.json_response({"input_tokens": 42})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        key = request.headers.get("x-api-key", "")
        if key == "overloaded":
            return web.json_response({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                                     status=529)
        body = orjson.loads(raw)
        message = {"id": "msg_01Fake", "type": "message", "role": "assistant", "model": body["model"]}
        if not body.get("stream"):
            return web.json_response({**message, "content": [THINKING, CITED], "stop_reason": "end_turn",
                                      "stop_sequence": None, "usage": USAGE}, headers={"request-id": "req_fake"})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        try:
            await resp.write(_sse({"type": "message_start", "message": {
                **message, "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {**USAGE, "output_tokens": 1}}}))
            await resp.write(_sse({"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "thinking", "thinking": ""}}))
            await resp.write(_sse({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "thinking_delta", "thinking": THINKING["thinking"]}}))
            await resp.write(_sse({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "signature_delta", "signature": THINKING["signature"]}}))
            await resp.write(_sse({"type": "content_block_stop", "index": 0}))
            await resp.write(_sse({"type": "ping"}))
            await resp.write(_sse({"type": "content_block_start", "index": 1,
                                   "content_block": {"type": "text", "text": ""}}))
            for i in range(1000 if key == "slow" else 3):
                await resp.write(_sse({"type": "content_block_delta", "index": 1,
                                       "delta": {"type": "text_delta", "text": f"word{i} "}}))
                if key == "slow":
                    await asyncio.sleep(0.02)
            await resp.write(_sse({"type": "content_block_stop", "index": 1}))
            await resp.write(_sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                   "usage": {"output_tokens": USAGE["output_tokens"]}}))
            await resp.write(_sse({"type": "message_stop"}))
        except (ConnectionError, asyncio.CancelledError):
            self.disconnected.set()
            raise
        return resp


@pytest.fixture
async def claude():
    state = FakeClaude()
    app = web.Application()
    app.router.add_post("/v1/messages", state.messages)
    app.router.add_post("/v1/messages/count_tokens", state.count)
    async with serving(app) as state.url:
        yield state


@pytest.fixture
async def tools_upstream():
    """An OpenAI chat completions server answering with two tool calls (the stream: the fixture's chunks)."""
    seen: list[dict] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        seen.append(body)
        if not body.get("stream"):
            return web.json_response({"id": "chatcmpl-t", "object": "chat.completion", "created": 1, "model": body["model"],
                                      "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                                          "role": "assistant", "content": None, "tool_calls": [
                                              {"id": "call_1", "type": "function", "function": {
                                                  "name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]}}],
                                      "usage": {"prompt_tokens": 50, "completion_tokens": 15, "total_tokens": 65}})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write((FIXTURES / "openai_stream_tools.txt").read_bytes())
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    async with serving(app) as url:
        yield url, seen


_CLIENTS: list[anthropic.AsyncAnthropic] = []


@pytest.fixture(autouse=True)
async def _close_clients():
    yield
    while _CLIENTS:
        await _CLIENTS.pop().close()


def client(gateway: str, key: str, **extra) -> anthropic.AsyncAnthropic:
    sdk = anthropic.AsyncAnthropic(base_url=gateway, api_key=f"sk-{key}", max_retries=0, **extra)
    _CLIENTS.append(sdk)
    return sdk


async def books(runtime, key: str, count: int) -> list[dict]:
    """The token's books balance and the logs add up to what it used."""
    entries = await logs(runtime)
    assert len(entries) == count
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token["remain_quota"] + token["used_quota"] == START
    assert sum(e["quota"] for e in entries) == token["used_quota"] > 0
    return entries


ASK = [{"role": "user", "content": "What is 27 * 453?"}]


# -- pass-through ---------------------------------------------------------------------------------------
async def test_pass_through_keeps_bytes_headers_thinking_and_citations(runtime, gateway, claude):
    await add_channel(runtime, claude.url, key="claude-key", models=CLAUDE, type=14)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    sent = {"model": CLAUDE, "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024},
            "system": [{"type": "text", "text": "Be exact.", "cache_control": {"type": "ephemeral"}}],
            "messages": ASK}
    message = await client(gateway, key).messages.create(
        **sent, extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14", "anthropic-version": "2023-06-01"})
    assert [b.model_dump(exclude_none=True) for b in message.content] == [THINKING, CITED]
    assert message.usage.cache_read_input_tokens == 100 and message.usage.output_tokens == 40
    seen = claude.seen[-1]
    assert seen.json == sent  # the client's body as sent (cache_control, thinking kept)
    assert seen.headers["x-api-key"] == "claude-key" and "Authorization" not in seen.headers
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    [entry] = await books(runtime, key, 1)
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (128, 40)
    assert "cached 100" in entry["content"] and "cache write 3" in entry["content"]


async def test_pass_through_stream_with_the_sdk(runtime, gateway, claude):
    await add_channel(runtime, claude.url, key="claude-key", models=CLAUDE, type=14)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    async with client(gateway, key).messages.stream(model=CLAUDE, max_tokens=100, messages=ASK) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "word0 word1 word2 "
    assert final.content[0].model_dump(exclude_none=True) == THINKING and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 40
    [entry] = await books(runtime, key, 1)
    assert entry["is_stream"] and (entry["prompt_tokens"], entry["completion_tokens"]) == (128, 40)


# -- converted ------------------------------------------------------------------------------------------
async def test_openai_channel_answer_and_stream(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    claude_client = client(gateway, key)
    message = await claude_client.messages.create(model="gpt-4o-mini", max_tokens=64, system="Be brief.",
                                                  messages=[{"role": "user", "content": "hi"}], stop_sequences=["END"])
    assert message.content[0].text == "".join(REPLY_WORDS) and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 20)
    assert message.type == "message" and message.role == "assistant" and message.model == "gpt-4o-mini"
    body = upstream.seen[-1].json
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 64 and body["stop"] == ["END"] and upstream.seen[-1].path == "/v1/chat/completions"

    async with claude_client.messages.stream(model="gpt-4o-mini", max_tokens=64, messages=ASK) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "".join(REPLY_WORDS) and final.usage.output_tokens == len(REPLY_WORDS)
    assert final.usage.input_tokens == 10 and final.stop_reason == "end_turn"
    assert upstream.seen[-1].json["stream_options"] == {"include_usage": True}
    entries = await books(runtime, key, 2)
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries] == [(10, 20), (10, len(REPLY_WORDS))]


async def test_tool_calls_from_an_openai_channel(runtime, gateway, tools_upstream):
    url, seen = tools_upstream
    await add_channel(runtime, url, models="gpt-4.1")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    tools = [{"name": "get_weather", "description": "Weather of a place",
              "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}}]
    history = [{"role": "user", "content": "Weather in Paris and Tokyo?"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_0", "name": "get_weather",
                                                  "input": {"location": "Oslo"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "3C"}]}]
    message = await client(gateway, key).messages.create(model="gpt-4.1", max_tokens=256, tools=tools,
                                                         messages=history, tool_choice={"type": "any"})
    assert message.stop_reason == "tool_use"
    [call] = message.content
    assert (call.type, call.id, call.name, call.input) == ("tool_use", "call_1", "get_weather", {"location": "Paris"})
    assert seen[-1]["tool_choice"] == "required" and seen[-1]["messages"][2] == {
        "role": "tool", "tool_call_id": "toolu_0", "content": "3C"}
    async with client(gateway, key).messages.stream(model="gpt-4.1", max_tokens=256, tools=tools,
                                                    messages=history) as stream:
        final = await stream.get_final_message()
    assert [(b.type, getattr(b, "input", None)) for b in final.content] == [
        ("thinking", None), ("text", None), ("tool_use", {"location": "Paris"}), ("tool_use", {"location": "Tokyo"})]
    assert final.stop_reason == "tool_use" and final.usage.cache_read_input_tokens == 64
    await books(runtime, key, 2)


async def test_gemini_channel(runtime, gateway, gemini_upstream):  # noqa: F811
    url, seen = gemini_upstream
    await add_channel(runtime, url, type=24, key="AIza-test-key", models="gemini-2.0-flash")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    message = await client(gateway, key).messages.create(model="gemini-2.0-flash", max_tokens=64, messages=ASK)
    assert message.content[0].text == "Paris." and message.usage.output_tokens == 8
    assert seen[-1]["path"].endswith(":generateContent")
    async with client(gateway, key).messages.stream(model="gemini-2.0-flash", max_tokens=64, messages=ASK) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text == "Bonjour le monde"
    await books(runtime, key, 2)


# -- errors, count_tokens, models -----------------------------------------------------------------------
async def test_errors_answer_in_anthropics_envelope(runtime, gateway, upstream, claude):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    await add_channel(runtime, claude.url, key="overloaded", models=CLAUDE, type=14)
    key = await add_token(runtime)
    with pytest.raises(anthropic.AuthenticationError) as auth:
        await client(gateway, "wrong").messages.create(model="gpt-4o-mini", max_tokens=5, messages=ASK)
    assert auth.value.body["type"] == "error" and auth.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError) as missing:
        await client(gateway, key).messages.create(model="no-such-model", max_tokens=5, messages=ASK)
    assert missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        await client(gateway, key).messages.create(model=CLAUDE, max_tokens=5, messages=ASK)
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"
    async with httpx.AsyncClient(base_url=gateway) as http:
        for body in (b"{not json", b"[]", orjson.dumps({"model": "gpt-4o-mini", "messages": ASK})):
            resp = await http.post("/v1/messages", content=body, headers={"x-api-key": f"sk-{key}"})
            assert resp.status_code == 400, resp.text
            assert resp.json()["type"] == "error" and resp.json()["error"]["type"] == "invalid_request_error"
        gzip = await http.post("/v1/messages", content=b"not gzip", headers={
            "x-api-key": f"sk-{key}", "content-encoding": "gzip"})
        assert gzip.status_code == 400 and gzip.json()["type"] == "error"
    poor = await add_token(runtime, unlimited=False, remain_quota=1)
    with pytest.raises(anthropic.PermissionDeniedError) as quota:
        await client(gateway, poor).messages.create(model="gpt-4o-mini", max_tokens=4000, messages=ASK)
    assert quota.value.body["error"]["type"] == "billing_error"


async def test_count_tokens_and_models(runtime, gateway, upstream, claude):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    await add_channel(runtime, claude.url, key="claude-key", models=CLAUDE, type=14)
    key = await add_token(runtime)
    sdk = client(gateway, key)
    local = await sdk.messages.count_tokens(model="gpt-4o-mini", messages=ASK, system="Be brief.")
    assert 10 < local.input_tokens < 40
    upstream_count = await sdk.messages.count_tokens(model=CLAUDE, messages=ASK)
    assert upstream_count.input_tokens == 42 and claude.seen[-1].path == "/v1/messages/count_tokens"
    assert claude.seen[-1].headers["x-api-key"] == "claude-key"
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.count_tokens(model="gpt-4o-mini", messages=[])
    models = [m async for m in sdk.models.list()]
    assert {m.id for m in models} == {"gpt-4o-mini", CLAUDE} and all(m.type == "model" for m in models)
    assert (await sdk.models.retrieve(CLAUDE)).id == CLAUDE
    assert await logs(runtime) == []  # counting is free


# -- disconnects ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["openai", "anthropic"])
async def test_client_disconnect_mid_stream_keeps_the_books(runtime, gateway, upstream, claude, channel):
    if channel == "openai":
        await add_channel(runtime, upstream.url, key="slow", models="gpt-4o-mini")
        model, gone = "gpt-4o-mini", upstream.disconnected
    else:
        await add_channel(runtime, claude.url, key="slow", models=CLAUDE, type=14)
        model, gone = CLAUDE, claude.disconnected
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    async with httpx.AsyncClient() as http:
        async with http.stream("POST", f"{gateway}/v1/messages", headers={"x-api-key": f"sk-{key}"},
                               json={"model": model, "max_tokens": 100, "messages": ASK, "stream": True}) as resp:
            assert resp.status_code == 200
            deltas = 0
            async for line in resp.aiter_lines():
                if line == "event: content_block_delta":
                    deltas += 1
                if deltas == 5:
                    break
    await asyncio.wait_for(gone.wait(), 30)
    async with asyncio.timeout(30):  # bounded: a lost log row fails here instead of hanging the suite
        while not await logs(runtime):
            await asyncio.sleep(0.05)
    [entry] = await books(runtime, key, 1)
    assert entry["is_stream"] and "estimated" in entry["content"] and entry["completion_tokens"] >= 3


async def test_model_mapping_and_system_prompt_on_both_ways(runtime, gateway, claude, upstream):
    """A channel's model mapping and system prompt apply in the client's shape (pass-through) or in the internal
    form (converted)."""
    await add_channel(runtime, claude.url, key="claude-key", models="team-claude", type=14,
                      model_mapping=orjson.dumps({"team-claude": CLAUDE}).decode(), system_prompt="Be formal.")
    await add_channel(runtime, upstream.url, models="team-gpt", model_mapping='{"team-gpt": "gpt-4o-mini"}',
                      system_prompt="Be formal.")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    sdk = client(gateway, key)
    await sdk.messages.create(model="team-claude", max_tokens=20, system="Be casual.", messages=ASK)
    assert claude.seen[-1].json == {"model": CLAUDE, "max_tokens": 20, "system": "Be formal.", "messages": ASK}
    await sdk.messages.create(model="team-gpt", max_tokens=20, system="Be casual.", messages=ASK)
    sent = upstream.seen[-1].json
    assert sent["model"] == "gpt-4o-mini" and sent["messages"][0] == {"role": "system", "content": "Be formal."}
    entries = await books(runtime, key, 2)
    assert [e["model_name"] for e in entries] == [CLAUDE, "gpt-4o-mini"]
