"""The Gemini adaptor: pure conversions on JSON fixtures, then end to end through the real gateway with the
official openai SDK against a small fake Gemini upstream (aiohttp)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import openai
import orjson
import pytest
from aiohttp import web

from oneapi_app.errors import RelayError, UpstreamFailure
from oneapi_app.relay.adaptors import adaptor_for
from oneapi_app.relay.adaptors.base import Call, Target, Usage
from oneapi_app.relay.adaptors.gemini import GeminiAdaptor
from oneapi_app.relay.convert import Converter
from oneapi_app.relay.dialects.chat import CHAT, answer_dict
from oneapi_app.relay.streaming import SSEReader
from oneapi_app.relay.upstream import should_disable_channel
from oneapi_app.services.options import Options
from oneapi_app.services.pricing import price_for
from tests.local_server import serving

from .conftest import add_channel, add_token, logs, row

FIXTURES = Path(__file__).parent / "fixtures" / "gemini"
ADAPTOR = GeminiAdaptor()


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _call(body: dict, kind: str = "chat", model: str = "gemini-2.0-flash", stream: bool = False) -> Call:
    return Call(kind=kind, path=f"/v1/{kind}", model=model, body=body, raw=orjson.dumps(body), rewritten=False,
                stream=stream)


def _chat(stream: bool = False, **extra) -> Call:
    return _call({"model": "gemini-2.0-flash", "messages": [{"role": "user", "content": "hi"}], **extra},
                 stream=stream)


def _strip(event: dict) -> dict:
    return {k: v for k, v in event.items() if k not in ("id", "created")}


# -- requests -------------------------------------------------------------------------------------------
def test_registered_for_type_24():
    assert isinstance(adaptor_for(24), GeminiAdaptor)


def test_chat_request_conversion_fixture():
    pair = fixture("chat_request.json")
    call = _call(pair["openai"], stream=True)
    request = ADAPTOR.build_request(Target(24, "", "AIza-secret-key"), call)
    assert request.method == "POST"
    assert request.url == ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash"
                           ":streamGenerateContent?alt=sse")
    assert request.headers["x-goog-api-key"] == "AIza-secret-key" and "AIza" not in request.url
    assert orjson.loads(request.body) == pair["gemini"]


def test_urls_versions_and_tool_choice_modes():
    call = _chat()
    assert ADAPTOR.build_request(Target(24, "https://proxy.test/", "k"), call).url == \
        "https://proxy.test/v1beta/models/gemini-2.0-flash:generateContent"
    assert ADAPTOR.build_request(Target(24, "", "k", {"api_version": "v1"}), call).url == \
        "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:generateContent"
    assert ADAPTOR.build_request(Target(24, "", "k", {}, "v1"), call).url.split("/")[3] == "v1"
    assert ADAPTOR.build_request(Target(24, "https://p.test/v1beta", "k"), call).url == \
        "https://p.test/v1beta/models/gemini-2.0-flash:generateContent"
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
                                                                          "properties": {"a": {"type": "integer"}}}}}]
    for choice, expected in (("auto", {"mode": "AUTO"}), ("none", {"mode": "NONE"}), ("required", {"mode": "ANY"})):
        body = orjson.loads(ADAPTOR.build_request(Target(24, "", "k"), _chat(tools=tools, tool_choice=choice)).body)
        assert body["toolConfig"] == {"functionCallingConfig": expected}
    call = _chat(max_tokens=5, stop=["a", "b"], response_format={"type": "json_object"})
    plain = orjson.loads(ADAPTOR.build_request(Target(24, "", "k"), call).body)
    assert plain == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                     "generationConfig": {"maxOutputTokens": 5, "stopSequences": ["a", "b"],
                                          "responseMimeType": "application/json"}}


def test_settings_choose_default_version_and_safety_threshold(make_settings):
    from oneapi_app.runtime import Runtime

    adaptor = adaptor_for(24)
    provider = Runtime(make_settings(GEMINI_VERSION="v1", GEMINI_SAFETY_SETTING="BLOCK_ONLY_HIGH")).provider_settings
    request = adaptor.build_request(Target(24, "", "k", provider=provider), _chat())
    assert "/v1/models/" in request.url
    assert orjson.loads(request.body)["safetySettings"][0] == {"category": "HARM_CATEGORY_HARASSMENT",
                                                               "threshold": "BLOCK_ONLY_HIGH"}
    assert "/v1beta/" in adaptor.build_request(Target(24, "", "k", {"api_version": "v1beta"}, provider=provider),
                                               _chat()).url
    request = adaptor.build_request(Target(24, "", "k"), _chat())
    assert "/v1beta/models/" in request.url and "safetySettings" not in orjson.loads(request.body)


def test_unusable_requests():
    with pytest.raises(RelayError):  # only a system prompt: nothing for Gemini to answer
        ADAPTOR.build_request(Target(24, "", "k"), _call({"messages": [{"role": "system", "content": "x"}]}))
    with pytest.raises(RelayError):
        ADAPTOR.build_request(Target(24, "", "k"), _call({"messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}))
    for kind in ("completions", "moderations", "edits"):
        with pytest.raises(UpstreamFailure) as info:
            ADAPTOR.build_request(Target(24, "", "k"), _call({"prompt": "x", "input": "x"}, kind=kind))
        assert info.value.status == 501 and info.value.retryable and kind in info.value.message
        assert not should_disable_channel(info.value)


# -- answers --------------------------------------------------------------------------------------------
def test_chat_response_fixture():
    parsed = ADAPTOR.parse_answer(_chat(), (FIXTURES / "chat_response.json").read_bytes(), "application/json")
    answer = answer_dict(parsed, "gemini-2.0-flash")
    assert answer["id"] == "chatcmpl-resp123" and answer["object"] == "chat.completion"
    assert answer["model"] == "gemini-2.0-flash"
    first, second, third = answer["choices"]
    [tool_call] = first["message"]["tool_calls"]
    assert tool_call["id"].startswith("call_") and tool_call["type"] == "function"
    assert tool_call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris","unit":"c"}'}
    assert first["message"]["content"] == "Checking the weather."
    assert first["message"]["reasoning_content"] == "Let me check."
    assert first["finish_reason"] == "tool_calls"
    assert (second["index"], second["message"]["content"], second["finish_reason"]) == (1, "Too long", "length")
    assert third["finish_reason"] == "content_filter"
    assert answer["usage"] == {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
                               "prompt_tokens_details": {"cached_tokens": 64},
                               "completion_tokens_details": {"reasoning_tokens": 30}}
    assert parsed.usage == Usage(prompt_tokens=100, completion_tokens=50, cached_tokens=64, reasoning_tokens=30)
    assert "Checking the weather." in parsed.delivered() and "Paris" in parsed.delivered()


def test_blocked_prompt_is_a_clear_non_retryable_400():
    body = orjson.dumps({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})
    with pytest.raises(UpstreamFailure) as info:
        ADAPTOR.parse_answer(_chat(), body, "application/json")
    assert info.value.status == 400 and not info.value.retryable and "SAFETY" in info.value.message
    assert not should_disable_channel(info.value)


def _run_stream(keep_usage: bool, chunk: int = 11):
    raw = (FIXTURES / "stream.txt").read_bytes()
    translator = Converter(ADAPTOR.decoder(_chat(stream=True)), CHAT.encoder("gemini-2.0-flash", "rid"), keep_usage)
    reader = SSEReader()
    out = []
    for i in range(0, len(raw), chunk):
        out += [translator.feed(p) for p in reader.feed(raw[i:i + chunk])]
    out += [translator.feed(p) for p in reader.finish()]
    out.append(translator.finish())
    return translator, [e for e in out if e is not None]


def test_stream_fixture_to_openai_chunks():
    translator, events = _run_stream(keep_usage=True)
    assert translator.done and events[-1].endswith(b"data: [DONE]\n\n")
    events = [e for e in b"".join(events).split(b"\n\n") if e and e != b"data: [DONE]"]
    assert all(e.startswith(b"data: {") and e.endswith(b"}") for e in events)
    decoded = [orjson.loads(e[6:]) for e in events]
    assert {d["id"] for d in decoded} == {"chatcmpl-abc"} and len({d["created"] for d in decoded}) == 1
    base = {"object": "chat.completion.chunk", "model": "gemini-2.0-flash"}
    [tool_delta] = decoded[3]["choices"][0]["delta"]["tool_calls"]
    assert tool_delta.pop("id").startswith("call_")
    assert [_strip(d) for d in decoded] == [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}]},
            "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 11, "total_tokens": 20,
                                          "prompt_tokens_details": {"cached_tokens": 2},
                                          "completion_tokens_details": {"reasoning_tokens": 4}}},
    ]
    assert translator.usage == Usage(9, 11, 2, 4)
    assert translator.text() == 'Hello world{"q":"x"}'


def test_stream_without_usage_request_sends_no_usage_chunk():
    translator, events = _run_stream(keep_usage=False, chunk=1000)
    assert not any(b'"usage"' in e for e in events)
    assert translator.usage == Usage(9, 11, 2, 4)  # still captured for billing


def test_stream_error_event_raises():
    translator = Converter(ADAPTOR.decoder(_chat(stream=True)), CHAT.encoder("m", "rid"), False)
    with pytest.raises(UpstreamFailure) as info:
        translator.feed(orjson.dumps({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}))
    assert info.value.message == "internal"


# -- embeddings -----------------------------------------------------------------------------------------
def test_embeddings_request_and_response():
    call = _call({"model": "text-embedding-004", "input": ["a", "b c"], "dimensions": 3}, kind="embeddings",
                 model="text-embedding-004")
    request = ADAPTOR.build_request(Target(24, "", "k"), call)
    assert request.url.endswith("/v1beta/models/text-embedding-004:batchEmbedContents")
    assert orjson.loads(request.body) == {"requests": [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b c"}]}, "outputDimensionality": 3}]}
    parsed = ADAPTOR.parse_response(call, (FIXTURES / "embed_response.json").read_bytes(), "application/json")
    answer = orjson.loads(parsed.body)
    assert parsed.usage is None  # Gemini reports none: the gateway counts locally (and marks it estimated)
    assert answer["object"] == "list" and answer["model"] == "text-embedding-004"
    assert answer["data"] == [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 0.3]},
                              {"object": "embedding", "index": 1, "embedding": [0.4, 0.5, -0.6]}]
    assert answer["usage"]["prompt_tokens"] == answer["usage"]["total_tokens"] > 0
    with pytest.raises(RelayError):
        ADAPTOR.build_request(Target(24, "", "k"), _call({"input": [[1, 2]]}, kind="embeddings"))


# -- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "status", "retryable", "disable", "code"), [
    ("error_key_invalid.json", 400, False, True, "invalid_api_key"),
    ("error_permission.json", 403, False, True, "PERMISSION_DENIED"),
    ("error_quota.json", 429, True, False, "RESOURCE_EXHAUSTED"),
    ("error_bad_request.json", 400, False, False, "INVALID_ARGUMENT"),
])
def test_error_mapping(name, status, retryable, disable, code):
    failure = ADAPTOR.map_error(status, (FIXTURES / name).read_bytes())
    message = fixture(name)[0]["error"]["message"] if name == "error_quota.json" else fixture(name)["error"]["message"]
    assert failure.message == message and failure.status == status
    assert failure.retryable is retryable and should_disable_channel(failure) is disable
    error = failure.openai_body("rid")["error"]
    assert error["code"] == code and error["message"] == f"{message} (request id: rid)"
    assert ADAPTOR.map_error(502, b"<html>bad gateway</html>").retryable


# -- end to end -----------------------------------------------------------------------------------------
MODEL = "gemini-2.0-flash"
STREAM_WORDS = ["Bonjour", " le", " monde"]


def _usage(prompt: int, candidates: int, thoughts: int = 0) -> dict:
    return {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt + candidates + thoughts}


@pytest.fixture
async def gemini_upstream():
    seen: list[dict] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen.append({"path": request.path, "query": request.query_string, "headers": dict(request.headers),
                     "json": orjson.loads(raw)})
        if request.headers.get("x-goog-api-key") == "badkey":
            return web.Response(status=400, body=(FIXTURES / "error_key_invalid.json").read_bytes(),
                                content_type="application/json")
        action = request.path.rsplit(":", 1)[-1]
        if action == "generateContent":
            return web.json_response({"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris."}]},
                                                      "finishReason": "STOP", "index": 0}],
                                      "usageMetadata": _usage(12, 3, 5), "responseId": "r1"})
        if action == "batchEmbedContents":
            count = len(orjson.loads(raw)["requests"])
            return web.json_response({"embeddings": [{"values": [0.5, 0.25]} for _ in range(count)]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(STREAM_WORDS):
            chunk: dict = {"candidates": [{"content": {"role": "model", "parts": [{"text": word}]}, "index": 0}],
                           "usageMetadata": _usage(8, i + 1), "responseId": "s1"}
            if i == len(STREAM_WORDS) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
                chunk["usageMetadata"] = _usage(8, 3, 4)
            await resp.write(b"data: " + orjson.dumps(chunk) + b"\r\n\r\n")
        return resp

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    async with serving(app) as url:
        yield url, seen


def _quota(prompt: int, completion: int, model: str = MODEL) -> int:
    price = price_for(Options(), model, 24, "default")
    return math.ceil((prompt + completion * price.completion_ratio) * price.ratio)


async def test_gemini_channel_end_to_end(runtime, gateway, gemini_upstream):
    url, seen = gemini_upstream
    await add_channel(runtime, url, type=24, key="AIza-test-key", models=f"{MODEL},text-embedding-004")
    token = await add_token(runtime)
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)

    answer = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital?"}])
    assert answer.choices[0].message.content == "Paris." and answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (12, 8)
    assert seen[-1]["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert seen[-1]["headers"]["x-goog-api-key"] == "AIza-test-key" and "Authorization" not in seen[-1]["headers"]
    assert seen[-1]["json"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}

    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(STREAM_WORDS)
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"
    assert seen[-1]["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent" and seen[-1]["query"] == "alt=sse"
    assert "stream_options" not in seen[-1]["json"]

    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                  stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert chunks[-1].choices == [] and (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (8, 7)
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 4

    result = await client.embeddings.create(model="text-embedding-004", input=["one", "two words"])
    assert [d.embedding for d in result.data] == [[0.5, 0.25], [0.5, 0.25]]
    assert seen[-1]["path"] == "/v1beta/models/text-embedding-004:batchEmbedContents"

    entries = await logs(runtime)
    assert [(e["prompt_tokens"], e["completion_tokens"], e["is_stream"]) for e in entries[:3]] == [
        (12, 8, False), (8, 7, True), (8, 7, True)]
    assert [e["quota"] for e in entries[:3]] == [_quota(12, 8), _quota(8, 7), _quota(8, 7)]
    assert all("estimated" not in e["content"] for e in entries[:3])
    embedding = entries[3]
    assert embedding["prompt_tokens"] == result.usage.prompt_tokens > 0 and "estimated" in embedding["content"]
    assert embedding["quota"] == _quota(embedding["prompt_tokens"], 0, "text-embedding-004")


async def test_gemini_dead_key_is_refused_and_disables_the_channel(runtime, gateway, gemini_upstream):
    url, seen = gemini_upstream
    runtime.options.AutomaticDisableChannelEnabled = True
    channel_id = await add_channel(runtime, url, type=24, key="badkey", models=MODEL)
    token = await add_token(runtime)
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert "API key not valid" in str(info.value) and "badkey" not in str(info.value)
    async with asyncio.timeout(30):
        while (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=channel_id))["status"] != 3:
            await asyncio.sleep(0.02)  # auto-disabled in the background
    assert seen[-1]["headers"]["x-goog-api-key"] == "badkey"
