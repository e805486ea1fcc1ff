"""Gemini's native dialect as a pure translator: request conversion golden tests (fixtures from Google's
generateContent reference, both JSON spellings), answers and stream encoding (function calls whose arguments
arrive split, thoughts, usage, errors in Google's envelope) and the pass-through reader."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from oneapi_app.errors import AuthError, RelayError, TokenQuotaExhausted, UpstreamFailure
from oneapi_app.relay.adaptors.base import Usage
from oneapi_app.relay.dialects.gemini import (
    GEMINI,
    GEMINI_STREAM,
    GeminiEncoder,
    answer_body,
    split_model_action,
)
from oneapi_app.relay.dialects.gemini_convert_in import to_chat
from oneapi_app.relay.events import (
    Answer,
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageReport,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gemini_native"


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def chunks_of(stream: bytes) -> list[dict]:
    out = []
    for block in stream.split(b"\r\n\r\n"):
        if block.strip():
            assert block.startswith(b"data: ")
            out.append(orjson.loads(block[6:]))
    return out


@pytest.mark.parametrize(("name", "stream"), [("request", True), ("request_snake", False)])
def test_request_conversion_matches_the_golden_chat_request(name, stream):
    assert to_chat(fixture(f"{name}.json"), stream) == fixture(f"{name}.chat.json")


def test_function_responses_pair_with_their_calls_by_id_or_name():
    body = {"contents": [
        {"role": "user", "parts": [{"text": "weather and time?"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "g1", "name": "weather", "args": {}}},
                                    {"functionCall": {"name": "time", "args": {"tz": "UTC"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "time", "response": {"now": "12:00"}}},
                                   {"functionResponse": {"id": "g1", "name": "weather", "response": {"t": 20}}}]}]}
    messages = to_chat(body, False)["messages"]
    ids = [c["id"] for c in messages[1]["tool_calls"]]
    assert ids == ["g1", "call_2"]
    assert [(m["tool_call_id"], m["content"]) for m in messages[2:]] == [("call_2", '{"now":"12:00"}'),
                                                                          ("g1", '{"t":20}')]


def test_read_takes_the_model_from_the_path_and_validates():
    inbound = GEMINI_STREAM.read({"contents": [{"parts": [{"text": "hi"}]}],
                                  "generationConfig": {"maxOutputTokens": 99}}, "gemini-2.5-flash")
    assert (inbound.model, inbound.stream, inbound.max_tokens) == ("gemini-2.5-flash", True, 99)
    with pytest.raises(RelayError) as caught:
        GEMINI.read({"contents": []}, "m")
    assert GEMINI.error_body(caught.value, "") == {"error": {"code": 400, "message": caught.value.message,
                                                             "status": "INVALID_ARGUMENT"}}
    with pytest.raises(RelayError, match="unknownPart"):
        to_chat({"contents": [{"parts": [{"unknownPart": {}}]}]}, False)
    assert split_model_action("models/gemini-2.0-flash:streamGenerateContent") == ("gemini-2.0-flash",
                                                                                     "streamGenerateContent")
    with pytest.raises(RelayError) as bad:
        split_model_action("gemini-2.0-flash:countTokens")
    assert bad.value.status == 404


def test_error_envelopes_are_googles():
    assert AuthError("no key", 401).gemini_body("r1") == {
        "error": {"code": 401, "message": "no key (request id: r1)", "status": "UNAUTHENTICATED"}}
    assert TokenQuotaExhausted().gemini_body()["error"]["status"] == "PERMISSION_DENIED"
    assert UpstreamFailure("busy", status=429, retryable=True).gemini_body()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_system_prompt_and_count():
    body = {"system_instruction": {"parts": [{"text": "old"}]}, "contents": [{"parts": [{"text": "hello world"}]}]}
    out = GEMINI.apply_system_prompt(body, "new")
    assert out["systemInstruction"] == {"parts": [{"text": "new"}]} and "system_instruction" not in out
    assert GEMINI.count_prompt(body, "gemini-2.0-flash") > 2


def test_whole_answer_becomes_generate_content_response():
    answer = Answer(id="r1", model="gpt-4o", text="It is sunny.", reasoning="hmm",
                    tool_calls=[ToolCall("call_1", "weather", '{"city":"Paris"}')], finish_reason="tool_calls",
                    usage=Usage(10, 25, 2, 5))
    body = answer_body(answer, "gemini-x")
    candidate = body["candidates"][0]
    assert candidate["finishReason"] == "STOP" and candidate["content"]["role"] == "model"
    assert candidate["content"]["parts"] == [{"text": "hmm", "thought": True}, {"text": "It is sunny."},
                                             {"functionCall": {"name": "weather", "args": {"city": "Paris"},
                                                               "id": "call_1"}}]
    assert body["usageMetadata"] == {"promptTokenCount": 10, "candidatesTokenCount": 20, "totalTokenCount": 35,
                                     "thoughtsTokenCount": 5, "cachedContentTokenCount": 2}
    assert answer_body(Answer(text="x", finish_reason="length"), "m")["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_stream_sends_text_as_it_comes_and_whole_function_calls_at_the_end():
    encoder = GeminiEncoder("m")
    out = encoder.feed([Start(id="abc", model="gemini-up"), ReasoningDelta("plan"), TextDelta("Let me check")])
    out += encoder.feed([ToolCallDelta(0, id="call_1", name="weather", arguments='{"ci')])
    out += encoder.feed([ToolCallDelta(0, arguments='ty": "Paris"}')])
    out += encoder.feed([Finish("tool_calls"), UsageReport(Usage(7, 9))])
    out += encoder.finish()
    chunks = chunks_of(out)
    assert [c["candidates"][0]["content"]["parts"] for c in chunks] == [
        [{"text": "plan", "thought": True}], [{"text": "Let me check"}],
        [{"functionCall": {"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}}]]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 16
    assert {c["responseId"] for c in chunks} == {"abc"} and chunks[0]["modelVersion"] == "gemini-up"


def test_usage_only_stream_ends_with_an_empty_final_chunk():
    encoder = GeminiEncoder("m")
    chunks = chunks_of(encoder.feed([UsageReport(Usage(4, 0))]) + encoder.finish())
    assert chunks == [{"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "index": 0,
                                       "finishReason": "STOP"}],
                       "modelVersion": "m", "responseId": encoder.response_id,
                       "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 0, "totalTokenCount": 4}}]


def test_error_mid_stream_is_googles_error_chunk():
    encoder = GeminiEncoder("m")
    failure = UpstreamFailure("overloaded", status=503, retryable=True)
    with pytest.raises(UpstreamFailure):
        encoder.feed([TextDelta("a"), StreamError(failure)])
    assert chunks_of(encoder.error(failure, "r9")) == [
        {"error": {"code": 503, "message": "overloaded (request id: r9)", "status": "UNAVAILABLE"}}]
