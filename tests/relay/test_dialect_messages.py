"""The Anthropic Messages dialect on JSON fixtures shaped after Anthropic's and OpenAI's public API docs:
request conversion (golden files), answers, stream conversion (tool-call deltas split across chunks,
thinking with its signature, usage-only and error events), validation and the error envelope."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from oneapi_app.errors import AuthError, ModelNotFound, TokenQuotaExhausted, UpstreamFailure
from oneapi_app.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi_app.relay.adaptors.base import Call
from oneapi_app.relay.adaptors.gemini import GeminiAdaptor
from oneapi_app.relay.adaptors.openai import OpenAIAdaptor
from oneapi_app.relay.convert import Converter
from oneapi_app.relay.dialects import dialect_for
from oneapi_app.relay.dialects.chat import CHAT
from oneapi_app.relay.dialects.messages import MESSAGES
from oneapi_app.relay.events import Answer, StreamError, ToolCall, Usage
from oneapi_app.relay.streaming import SSEReader

FIXTURES = Path(__file__).parent / "fixtures" / "messages"
MODEL = "claude-sonnet-4-5"


def load(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _call(stream: bool = True) -> Call:
    return Call(kind="chat", path="/v1/messages", model=MODEL, body={}, raw=b"", rewritten=True, stream=stream)


def events_of(data: bytes) -> list[tuple[str, dict]]:
    """Anthropic SSE bytes -> [(event name, data)], checking each event line matches its data's type."""
    out = []
    for block in data.split(b"\n\n"):
        if not block:
            continue
        name_line, data_line = block.split(b"\n")
        name = name_line.removeprefix(b"event: ").decode()
        payload = orjson.loads(data_line.removeprefix(b"data: "))
        assert payload["type"] == name
        out.append((name, payload))
    return out


def run(converter: Converter, raw: bytes, step: int = 23) -> bytes:
    reader, out = SSEReader(), []
    for i in range(0, len(raw), step):  # chunk boundaries anywhere, as the network cuts them
        out += [converter.feed(p) for p in reader.feed(raw[i:i + step])]
    out += [converter.feed(p) for p in reader.finish()]
    out.append(converter.finish())
    return b"".join(e for e in out if e)


# -- requests ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["request_tools", "request_documents"])
def test_request_conversion_golden(name):
    body = load(f"{name}.json")
    inbound = MESSAGES.read(body, None)
    assert inbound.model == MODEL and inbound.wants_usage
    assert MESSAGES.to_internal(body) == load(f"{name}_openai.json")


def test_read_stream_and_max_tokens():
    body = load("request_tools.json")
    inbound = MESSAGES.read(body, None)
    assert (inbound.stream, inbound.max_tokens) == (True, 1024)
    assert dialect_for("messages", "chat") is MESSAGES and dialect_for("chat", "embeddings").kind == "embeddings"


@pytest.mark.parametrize(("change", "words"), [
    ({"model": None}, "model"),
    ({"max_tokens": None}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
    ({"messages": [{"role": "user", "content": 3}]}, "content"),
    ({"stream": "yes"}, "stream"),
])
def test_bad_bodies_are_invalid_request_errors(change, words):
    body = {**load("request_tools.json"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(Exception) as caught:
        MESSAGES.read(body, None)
    error = MESSAGES.error_body(caught.value, "rid")  # type: ignore[arg-type]
    assert caught.value.status == 400  # type: ignore[attr-defined]
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert words in error["error"]["message"] and error["request_id"] == "rid"


def test_system_prompt_and_local_count():
    body = load("request_documents.json")
    assert MESSAGES.apply_system_prompt(body, "Be terse.")["system"] == "Be terse."
    assert body["system"] == "Answer from the documents."  # a new body, the client's untouched
    counted = MESSAGES.count_prompt(load("request_tools.json"), "gpt-4o")
    assert 60 < counted < 400


# -- error envelope ---------------------------------------------------------------------------------------
def test_error_envelope_types():
    def kind(error) -> str:
        return MESSAGES.error_body(error, "r")["error"]["type"]

    assert kind(AuthError("no key", 401)) == "authentication_error"
    assert kind(ModelNotFound("x")) == "not_found_error"
    assert kind(TokenQuotaExhausted()) == "billing_error"
    overloaded = UpstreamFailure("Overloaded", status=529, retryable=True,
                                 body={"message": "Overloaded", "type": "overloaded_error"})
    assert MESSAGES.error_body(overloaded, "r") == {"type": "error", "request_id": "r", "error": {
        "type": "overloaded_error", "message": "Overloaded (request id: r)"}}
    assert kind(UpstreamFailure("x", status=502, retryable=True)) == "api_error"


# -- answers ----------------------------------------------------------------------------------------------
def test_openai_answer_to_a_message():
    data = {"id": "chatcmpl-123", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check.", "reasoning_content": "Need weather.",
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39,
                      "prompt_tokens_details": {"cached_tokens": 10}}}
    answer = OpenAIAdaptor().parse_answer(_call(False), orjson.dumps(data), "application/json")
    message = orjson.loads(MESSAGES.encode_answer(answer, MODEL))
    assert message == {
        "id": "msg_chatcmpl-123", "type": "message", "role": "assistant", "model": MODEL,
        "content": [{"type": "thinking", "thinking": "Need weather.", "signature": ""},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10,
                  "output_tokens": 9}}


@pytest.mark.parametrize(("finish", "reason"), [("stop", "end_turn"), ("length", "max_tokens"),
                                                ("content_filter", "refusal"), ("tool_calls", "tool_use")])
def test_stop_reasons(finish, reason):
    message = orjson.loads(MESSAGES.encode_answer(Answer(text="x", finish_reason=finish), MODEL))
    assert message["stop_reason"] == reason and message["id"].startswith("msg_")


def test_anthropic_answer_round_trips_through_the_internal_form():
    data = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "stop_reason": "tool_use",
            "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig=="},
                        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
            "usage": {"input_tokens": 5, "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3,
                      "output_tokens": 2}}
    answer = AnthropicAdaptor().parse_answer(_call(False), orjson.dumps(data), "")
    assert answer.tool_calls == [ToolCall("toolu_1", "f", '{"a":1}')] and answer.reasoning_signature == "sig=="
    assert answer.usage == Usage(15, 2, 7, cache_creation_tokens=3)
    again = orjson.loads(MESSAGES.encode_answer(answer, MODEL))
    assert again["content"] == data["content"] and again["usage"] == {**data["usage"]}


# -- streams ----------------------------------------------------------------------------------------------
def test_openai_stream_with_split_tool_calls_and_reasoning_to_anthropic_events():
    converter = Converter(OpenAIAdaptor().decoder(_call()), MESSAGES.encoder(MODEL, "rid"), True)
    events = events_of(run(converter, (FIXTURES / "openai_stream_tools.txt").read_bytes()))
    names = [n for n, _ in events]
    assert names == ["message_start", "ping",
                     "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                     "message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["id"] == "msg_chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" and start["model"] == MODEL
    blocks = [e["content_block"] for n, e in events if n == "content_block_start"]
    assert blocks == [{"type": "thinking", "thinking": "", "signature": ""}, {"type": "text", "text": ""},
                      {"type": "tool_use", "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "name": "get_weather", "input": {}},
                      {"type": "tool_use", "id": "call_ABC", "name": "get_weather", "input": {}}]
    deltas = [(e["index"], e["delta"]) for n, e in events if n == "content_block_delta"]
    assert deltas == [(0, {"type": "thinking_delta", "thinking": "Two cities, "}),
                      (0, {"type": "thinking_delta", "thinking": "two calls."}),
                      (1, {"type": "text_delta", "text": "Checking "}), (1, {"type": "text_delta", "text": "both."}),
                      (2, {"type": "input_json_delta", "partial_json": "{\"loc"}),
                      (2, {"type": "input_json_delta", "partial_json": "ation\": \"Paris\"}"}),
                      (3, {"type": "input_json_delta", "partial_json": "{\"location\": "}),
                      (3, {"type": "input_json_delta", "partial_json": "\"Tokyo\"}"})]
    stops = [e["index"] for n, e in events if n == "content_block_stop"]
    assert stops == [0, 1, 2, 3]
    assert events[-2][1] == {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"input_tokens": 18, "cache_creation_input_tokens": 0,
                                       "cache_read_input_tokens": 64, "output_tokens": 37}}
    assert converter.usage == Usage(82, 37, 64, 12)
    assert converter.text() == 'Two cities, two calls.Checking both.{"location": "Paris"}{"location": "Tokyo"}'


def test_anthropic_thinking_stream_keeps_its_signature_in_both_dialects():
    raw = (FIXTURES / "anthropic_stream_thinking.txt").read_bytes()
    converter = Converter(AnthropicAdaptor().decoder(_call()), MESSAGES.encoder(MODEL, "rid"), True)
    events = events_of(run(converter, raw, step=41))
    deltas = [e["delta"] for n, e in events if n == "content_block_delta"]
    assert deltas[2] == {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}
    assert [d["type"] for d in deltas] == ["thinking_delta", "thinking_delta", "signature_delta", "text_delta"]
    assert events[-2][1]["usage"] == {"input_tokens": 36, "cache_creation_input_tokens": 0,
                                      "cache_read_input_tokens": 100, "output_tokens": 40}
    chat = Converter(AnthropicAdaptor().decoder(_call()), CHAT.encoder(MODEL, "rid"), False)
    chunks = [orjson.loads(c[6:]) for c in run(chat, raw).split(b"\n\n") if c.startswith(b"data: {")]
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"])
    assert reasoning.startswith("Let me solve this step by step") and chat.usage == Usage(136, 40, 100)


def test_usage_only_chunk_and_a_stream_without_start():
    converter = Converter(OpenAIAdaptor().decoder(_call()), MESSAGES.encoder(MODEL, "rid"), True)
    out = converter.feed(b'{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}')
    out = (out or b"") + converter.finish()
    names = [n for n, _ in events_of(out)]
    assert names == ["message_start", "ping", "message_delta", "message_stop"]
    assert events_of(out)[2][1]["usage"]["input_tokens"] == 3


def test_error_events_end_the_stream_in_the_dialects_envelope():
    decoder = AnthropicAdaptor().decoder(_call())
    [error] = decoder.feed(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert isinstance(error, StreamError) and error.failure.status == 529
    converter = Converter(decoder, MESSAGES.encoder(MODEL, "rid"), True)
    with pytest.raises(UpstreamFailure) as caught:
        converter.feed(b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    [(name, data)] = events_of(MESSAGES.encoder(MODEL, "rid").error(caught.value, "rid"))
    assert name == "error" and data["error"] == {"type": "overloaded_error", "message": "Overloaded (request id: rid)"}
    openai_error = OpenAIAdaptor().decoder(_call()).feed(b'{"error":{"message":"boom","type":"server_error"}}')
    assert isinstance(openai_error[0], StreamError) and openai_error[0].failure.message == "boom"


def test_gemini_stream_to_anthropic_events():
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Think", "thought": True}]}, "index": 0}],
         "responseId": "g1"},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "index": 0}]},
        {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}}]},
                         "finishReason": "STOP", "index": 0}],
         "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2}},
    ]
    raw = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)
    converter = Converter(GeminiAdaptor().decoder(_call()), MESSAGES.encoder(MODEL, "rid"), True)
    events = events_of(run(converter, raw))
    blocks = [e["content_block"]["type"] for n, e in events if n == "content_block_start"]
    assert blocks == ["thinking", "text", "tool_use"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use" and events[-2][1]["usage"]["output_tokens"] == 5
    tool = [e["delta"] for n, e in events if n == "content_block_delta"][-1]
    assert tool == {"type": "input_json_delta", "partial_json": '{"x":1}'}


@pytest.mark.parametrize("step", [1, 7, 64, 100_000])
def test_anthropic_pass_through_stream_is_byte_for_byte_and_reads_usage(step):
    from oneapi_app.relay.adaptors.anthropic_stream import AnthropicPassStream

    raw = (FIXTURES / "anthropic_stream_thinking.txt").read_bytes()
    passing = AnthropicAdaptor().stream_translator(_call(), False)
    assert isinstance(passing, AnthropicPassStream) and passing.raw and passing.done
    out = b"".join(passing.feed(raw[i:i + step]) or b"" for i in range(0, len(raw), step))
    assert out == raw and passing.usage == Usage(136, 40, 100)
    broken = AnthropicPassStream()  # no message_delta: no usage, the delivered text is counted locally
    cut = raw.index(b"event: message_delta")
    for i in range(0, cut, step):
        broken.feed(raw[i:min(i + step, cut)])
    assert broken.usage is None and broken.text().endswith("453 = 400 + 50 + 327 * 453 = 12,231")


def test_tool_result_images_follow_the_tool_message():
    body = {"model": MODEL, "max_tokens": 10, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "screenshot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "Here it is"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]}]}]}
    messages = MESSAGES.to_internal(body)["messages"]
    assert messages[1] == {"role": "tool", "tool_call_id": "toolu_1", "content": "Here it is"}
    assert messages[2] == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}]}


def test_claude_code_shapes_mid_conversation_system_adaptive_thinking_and_long_user_ids():
    body = {"model": MODEL, "max_tokens": 32000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "metadata": {"user_id": '{"device_id":"650cef8a84471ee08b31c0b5f182575e20734410bfe7f5","session_id":"d4"}'},
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello.",
                                                       "cache_control": {"type": "ephemeral"}}]},
                         {"role": "system", "content": "Available agent types: claude."}]}
    assert MESSAGES.read(body, None).max_tokens == 32000
    internal = MESSAGES.to_internal(body)
    assert internal["messages"] == [{"role": "user", "content": "Say hello."},
                                    {"role": "system", "content": "Available agent types: claude."}]
    assert "user" not in internal and "reasoning_effort" not in internal
