"""The Anthropic adaptor: conversions on JSON fixtures, then end to end through the gateway with the
openai SDK against a fake Anthropic upstream (an aiohttp server answering /v1/messages, JSON and SSE)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import orjson
import pytest
from aiohttp import web

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors import adaptor_for
from oneapi_app.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi_app.relay.adaptors.anthropic_messages import convert_request
from oneapi_app.relay.adaptors.base import Call, Target, Usage
from oneapi_app.relay.convert import Converter
from oneapi_app.relay.dialects.chat import CHAT, answer_dict
from oneapi_app.relay.streaming import SSEReader
from oneapi_app.relay.upstream import should_disable_channel
from tests.local_server import Seen, serving

from .conftest import add_channel, add_token, logs, row, sdk

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
MODEL = "claude-3-haiku-20240307"
ADAPTOR = AnthropicAdaptor()


def load(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _call(body: dict, kind: str = "chat", stream: bool = False) -> Call:
    return Call(kind=kind, path="/v1/chat/completions", model=body.get("model", MODEL), body=body,
                raw=orjson.dumps(body), rewritten=False, stream=stream)


# -- request ----------------------------------------------------------------------------------------------
def test_registered_for_type_14():
    assert isinstance(adaptor_for(14), AnthropicAdaptor)


def test_request_conversion_system_images_tools_and_results():
    body = load("request_openai.json")
    request = ADAPTOR.build_request(Target(14, "", "sk-ant-key"), _call(body, stream=True))
    assert request.method == "POST" and request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers == {"x-api-key": "sk-ant-key", "anthropic-version": "2023-06-01",
                               "content-type": "application/json", "accept": "text/event-stream"}
    assert orjson.loads(request.body) == load("request_anthropic.json")


def test_request_defaults_urls_and_tool_choices():
    body = {"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}
    request = ADAPTOR.build_request(Target(14, "https://proxy.test/v1/", "k"), _call(body))
    assert request.url == "https://proxy.test/v1/messages" and request.headers["accept"] == "application/json"
    assert orjson.loads(request.body) == {"model": "claude-x", "max_tokens": 4096,
                                          "messages": [{"role": "user", "content": "hi"}]}
    assert ADAPTOR.build_request(Target(14, "https://proxy.test", "k"), _call(body)).url == \
        "https://proxy.test/v1/messages"
    assert convert_request({**body, "max_tokens": 10**7}, "m", False)["max_tokens"] == 128_000
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    for choice, expected in [("auto", {"type": "auto"}), ("none", {"type": "none"}),
                             ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"})]:
        assert convert_request({**body, "tools": tools, "tool_choice": choice}, "m", False)["tool_choice"] == expected
    assert "tool_choice" not in convert_request({**body, "tools": tools}, "m", False)
    stop = convert_request({**body, "stop": ["a", "b"], "temperature": 0.3}, "m", False)
    assert stop["stop_sequences"] == ["a", "b"] and stop["temperature"] == 0.3


@pytest.mark.parametrize("kind", ["embeddings", "completions", "moderations", "edits"])
def test_other_kinds_are_a_retryable_501(kind):
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(14, "", "k"), _call({"model": "m", "input": "x"}, kind=kind))
    failure = caught.value
    assert failure.status == 501 and failure.retryable and failure.code == "channel_type_not_supported"
    assert "只支持 chat completions" in failure.message


# -- response ---------------------------------------------------------------------------------------------
def test_response_with_tool_use_and_cache_usage():
    data = load("response_tool_use.json")
    answer = ADAPTOR.parse_answer(_call({"model": MODEL}), orjson.dumps(data), "application/json")
    answer.created = 1700000000
    assert answer_dict(answer, MODEL) == load("response_tool_use_openai.json")
    assert answer.usage == Usage(prompt_tokens=420, completion_tokens=45, cached_tokens=300, cache_creation_tokens=20)
    assert answer.delivered() == 'I\'ll look that up.{"city":"Paris","unit":"celsius"}'
    assert orjson.loads(CHAT.encode_answer(answer, MODEL))["choices"] == load("response_tool_use_openai.json")["choices"]


def test_response_text_only_and_max_tokens():
    data = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "stop_reason": "max_tokens",
            "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
            "usage": {"input_tokens": 3, "output_tokens": 2}}
    answer = answer_dict(ADAPTOR.parse_answer(_call({"model": MODEL}), orjson.dumps(data), ""), MODEL)
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "Hello there"}
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                               "prompt_tokens_details": {"cached_tokens": 0}}


def test_error_shaped_body_is_a_failure():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(_call({"model": MODEL}), (FIXTURES / "error_overloaded.json").read_bytes(), "")
    assert caught.value.status == 529 and caught.value.retryable and caught.value.message == "Overloaded"
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(_call({"model": MODEL}), b"<html>", "text/html")
    assert caught.value.code == "unmarshal_response_body_failed"


# -- stream -----------------------------------------------------------------------------------------------
def _converter(keep_usage: bool) -> Converter:
    encoder = CHAT.encoder(MODEL, "rid")
    encoder.created = 1700000000
    return Converter(ADAPTOR.decoder(_call({"model": MODEL}, stream=True)), encoder, keep_usage)


def _translate(translator: Converter, raw: bytes) -> bytes:
    reader = SSEReader()
    payloads = []
    for i in range(0, len(raw), 37):  # arbitrary chunk boundaries, as the network cuts them
        payloads += reader.feed(raw[i:i + 37])
    payloads += reader.finish()
    return b"".join(e for e in map(translator.feed, payloads) if e) + (translator.finish() or b"")


def test_stream_translates_to_exact_openai_chunks():
    raw = (FIXTURES / "stream_tool_use.txt").read_bytes()
    expected = (FIXTURES / "stream_tool_use_openai.txt").read_bytes()
    translator = _converter(keep_usage=True)
    assert _translate(translator, raw) == expected
    assert translator.done and translator.usage == Usage(482, 89, 10)
    assert translator.text() == 'Okay, let\'s check.{"city": "Paris"}'

    quiet = _converter(keep_usage=False)  # usage captured, never sent
    events = _translate(quiet, raw).split(b"\n\n")
    assert not any(b'"usage"' in e for e in events) and quiet.usage == Usage(482, 89, 10)
    assert [e for e in expected.split(b"\n\n") if b'"usage"' not in e] == events
    first = orjson.loads(events[0][6:])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-2] == b"data: [DONE]"


def test_stream_error_event_raises_and_broken_stream_has_no_usage():
    translator = _converter(keep_usage=False)
    translator.feed(b'{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5}}}')
    translator.feed(b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}')
    assert translator.usage is None and translator.text() == "Hi"  # counted locally if the stream ends here
    with pytest.raises(UpstreamFailure) as caught:
        translator.feed(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert caught.value.status == 529 and caught.value.openai_body()["error"]["type"] == "overloaded_error"


# -- errors -----------------------------------------------------------------------------------------------
def _error(kind: str, message: str = "boom") -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def test_map_error():
    overloaded = ADAPTOR.map_error(529, (FIXTURES / "error_overloaded.json").read_bytes())
    assert overloaded.status == 529 and overloaded.retryable and not should_disable_channel(overloaded)
    assert overloaded.openai_body("rid")["error"] == {"message": "Overloaded (request id: rid)",
                                                      "type": "overloaded_error", "param": "",
                                                      "code": "overloaded_error"}
    assert ADAPTOR.map_error(429, _error("rate_limit_error")).retryable
    assert ADAPTOR.map_error(500, _error("api_error")).retryable
    bad = ADAPTOR.map_error(400, _error("invalid_request_error", "messages: field required"))
    assert not bad.retryable and bad.message == "messages: field required" and not should_disable_channel(bad)
    assert should_disable_channel(ADAPTOR.map_error(401, _error("authentication_error", "invalid x-api-key")))
    denied = ADAPTOR.map_error(403, _error("permission_error", "no access"))
    assert should_disable_channel(denied) and not denied.retryable
    plain = ADAPTOR.map_error(502, b"<html>bad gateway</html>")
    assert plain.status == 502 and plain.retryable and plain.code == "bad_response_status_code"


# -- end to end -------------------------------------------------------------------------------------------
WORDS = ["Hello", " from", " Claude", "."]
USAGE = {"input_tokens": 10, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2, "output_tokens": 12}
# claude-3-haiku: ratio 0.125, completion ratio 5; prompt = 10 + 5 + 2 -> ceil((17 + 12 * 5) * 0.125) = 10
QUOTA = 10


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n"


class FakeAnthropic:
    def __init__(self) -> None:
        self.url = ""
        self.seen: list[Seen] = []

    async def messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
        key = request.headers.get("x-api-key", "")
        if key == "overloaded":
            return web.json_response({"type": "error", "error": {"type": "overloaded_error",
                                                                 "message": "Overloaded"}}, status=529)
        if key == "dead":
            return web.json_response({"type": "error", "error": {"type": "authentication_error",
                                                                 "message": "invalid x-api-key"}}, status=401)
        body = orjson.loads(raw)
        message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"]}
        if not body.get("stream"):
            return web.json_response({**message, "content": [{"type": "text", "text": "".join(WORDS)}],
                                      "stop_reason": "end_turn", "stop_sequence": None, "usage": USAGE})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        start_usage = {**USAGE, "output_tokens": 1}
        await resp.write(_sse({"type": "message_start", "message": {**message, "content": [], "usage": start_usage}}))
        await resp.write(_sse({"type": "content_block_start", "index": 0,
                               "content_block": {"type": "text", "text": ""}}))
        await resp.write(_sse({"type": "ping"}))
        for word in WORDS:
            await resp.write(_sse({"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": word}}))
        await resp.write(_sse({"type": "content_block_stop", "index": 0}))
        await resp.write(_sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": USAGE["output_tokens"]}}))
        await resp.write(_sse({"type": "message_stop"}))
        return resp


@pytest.fixture
async def anthropic_upstream():
    state = FakeAnthropic()
    app = web.Application()
    app.router.add_post("/v1/messages", state.messages)
    async with serving(app) as state.url:
        yield state



async def _claude_channel(runtime, url: str, key: str = "ok", **extra) -> int:
    return await add_channel(runtime, url, key=key, models=MODEL, type=14, **extra)


async def test_e2e_non_stream_bills_anthropic_usage(runtime, gateway, anthropic_upstream):
    channel_id = await _claude_channel(runtime, anthropic_upstream.url)
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    answer = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi"}],
        max_tokens=50, user="alice")
    assert answer.choices[0].message.content == "".join(WORDS) and answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (17, 12)
    assert answer.usage.prompt_tokens_details.cached_tokens == 5
    seen = anthropic_upstream.seen[-1]
    assert seen.path == "/v1/messages" and seen.headers["x-api-key"] == "ok"
    assert seen.headers["anthropic-version"] == "2023-06-01" and "Authorization" not in seen.headers
    assert seen.json == {"model": MODEL, "system": "Be nice.", "messages": [{"role": "user", "content": "hi"}],
                         "max_tokens": 50, "metadata": {"user_id": "alice"}}
    [entry] = await logs(runtime)
    assert (entry["prompt_tokens"], entry["completion_tokens"], entry["quota"]) == (17, 12, QUOTA)
    assert entry["channel_id"] == channel_id and "estimated" not in entry["content"] and "cached 5" in entry["content"]
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": 1_000_000 - QUOTA, "used_quota": QUOTA}


@pytest.mark.parametrize("include_usage", [False, True])
async def test_e2e_stream(runtime, gateway, anthropic_upstream, include_usage):
    await _claude_channel(runtime, anthropic_upstream.url)
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, **extra)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usages = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert len(usages) == 1 and (usages[0].prompt_tokens, usages[0].completion_tokens) == (17, 12)
        assert not chunks[-1].choices
    else:
        assert usages == []
    sent = anthropic_upstream.seen[-1].json
    assert sent["stream"] is True and "stream_options" not in sent and sent["max_tokens"] == 4096
    headers = {k.lower(): v for k, v in anthropic_upstream.seen[-1].headers.items()}
    assert headers["accept"] == "text/event-stream"
    [entry] = await logs(runtime)
    assert entry["is_stream"]
    assert (entry["prompt_tokens"], entry["completion_tokens"], entry["quota"]) == (17, 12, QUOTA)
    assert "estimated" not in entry["content"]


async def test_e2e_overloaded_retries_on_a_second_channel(runtime, gateway, anthropic_upstream):
    runtime.options.RetryTimes = 1
    await _claude_channel(runtime, anthropic_upstream.url, key="overloaded", priority=10)
    second = await _claude_channel(runtime, anthropic_upstream.url, key="ok", priority=0)
    key = await add_token(runtime)
    answer = await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "".join(WORDS)
    assert [s.headers["x-api-key"] for s in anthropic_upstream.seen] == ["overloaded", "ok"]
    [entry] = await logs(runtime)
    assert entry["channel_id"] == second


async def test_e2e_errors_reach_the_client_in_openai_shape(runtime, gateway, anthropic_upstream):
    runtime.options.AutomaticDisableChannelEnabled = True
    await _claude_channel(runtime, anthropic_upstream.url, key="overloaded")
    key = await add_token(runtime)
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 529
    assert caught.value.body["type"] == "overloaded_error" and caught.value.body["message"].startswith("Overloaded")
    dead = await _claude_channel(runtime, anthropic_upstream.url, key="dead", priority=5)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "authentication_error"
    for _ in range(1500):  # bounded, generous for a loaded machine
        if (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=dead))["status"] == 3:
            break
        await asyncio.sleep(0.02)
    assert (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=dead))["status"] == 3


async def test_e2e_embeddings_are_refused_with_a_clear_501(runtime, gateway, anthropic_upstream):
    await add_channel(runtime, anthropic_upstream.url, models="text-embedding-3-small", type=14)
    key = await add_token(runtime)
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk(gateway, key).embeddings.create(model="text-embedding-3-small", input="x")
    assert caught.value.status_code == 501 and "只支持 chat completions" in caught.value.body["message"]
    assert anthropic_upstream.seen == []
