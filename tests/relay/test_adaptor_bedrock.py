"""The AWS Bedrock adaptor (type 33): pure conversions on fixtures built from AWS's public API docs, SigV4
against AWS's published test vector, and the binary event stream built by hand per its spec (CRCs
included), read in chunks cut anywhere."""

from __future__ import annotations

import datetime
import random
from pathlib import Path

import orjson
import pytest

from oneapi_app.errors import RelayError, UpstreamFailure
from oneapi_app.relay.adaptors import adaptor_for
from oneapi_app.relay.adaptors.base import Call, Target, Usage
from oneapi_app.relay.adaptors.bedrock import BedrockAdaptor, credentials, model_id, sign
from oneapi_app.relay.adaptors.bedrock_claude import claude_body
from oneapi_app.relay.adaptors.bedrock_converse import JSON_OBJECT_INSTRUCTION, ConverseDecoder
from oneapi_app.relay.adaptors.bedrock_stream import EventStreamReader
from oneapi_app.relay.events import (
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from oneapi_app.relay.upstream import should_disable_channel
from tests.fakes_cloud import chunk, event, event_message, exception, sigv4_signature, verify_sigv4

from .cn_helpers import run_frames

FIXTURES = Path(__file__).parent / "fixtures" / "bedrock"
ADAPTOR = BedrockAdaptor()
AK, SK, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1"
CONFIG = {"ak": AK, "sk": SK, "region": REGION}
TEMP_AK, TOKEN = "ASIAEXAMPLETEMPORARY", "IQoJb3JpZ2luX2VjEXAMPLEtoken+for/the/unit/tests0123456789=="
NOVA = "amazon.nova-pro-v1:0"


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def _call(body: dict, model: str | None = None, stream: bool = False, kind: str = "chat") -> Call:
    return Call(kind=kind, path="/v1/chat/completions", model=model or body.get("model", ""), body=body,  # type: ignore[arg-type]
                raw=orjson.dumps(body), rewritten=False, stream=stream)


def _target(**config) -> Target:
    return Target(33, "", "", config or dict(CONFIG))


# -- registration, credentials, models ------------------------------------------------------------------
def test_registered_for_type_33():
    assert isinstance(adaptor_for(33), BedrockAdaptor) and ADAPTOR.family == "bedrock"


def test_credentials_from_config_or_key():
    assert credentials(_target()) == (AK, SK, REGION, "")
    assert credentials(Target(33, "", f"{AK}|{SK}|eu-west-1")) == (AK, SK, "eu-west-1", "")
    assert credentials(Target(33, "", "x|y|eu-west-1", {"region": "us-west-2"})) == ("x", "y", "us-west-2", "")
    with pytest.raises(UpstreamFailure) as info:
        credentials(Target(33, "", "just-a-key"))
    assert info.value.retryable and "ak" in str(info.value.message) and SK not in str(info.value.message)
    assert "session_token" in str(info.value.message)


def test_session_token_from_config_or_the_keys_fourth_part():
    assert credentials(_target(**CONFIG, session_token=f" {TOKEN} ")).session_token == TOKEN
    assert credentials(Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|{TOKEN}")) == (TEMP_AK, SK, REGION, TOKEN)
    # the config's token wins over the key's; the key's token belongs to the key's access key only
    assert credentials(Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|old", {"session_token": TOKEN})).session_token == TOKEN
    assert credentials(Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|{TOKEN}", {**CONFIG, "ak": TEMP_AK})).session_token == TOKEN
    assert credentials(Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|{TOKEN}", CONFIG)).session_token == ""
    with pytest.raises(UpstreamFailure):
        credentials(Target(33, "", f"{TEMP_AK}||{REGION}|{TOKEN}"))
    assert TOKEN not in repr(Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|{TOKEN}", {**CONFIG, "session_token": TOKEN}))


def test_session_token_is_sent_signed():
    """botocore adds X-Amz-Security-Token before signing: the fake's verifier wants it present, equal and in
    SignedHeaders; a channel without a token sends none."""
    body = {"model": NOVA, "messages": [{"role": "user", "content": "hi"}]}
    target = Target(33, "", f"{TEMP_AK}|{SK}|{REGION}|{TOKEN}")
    request = ADAPTOR.build_request(target, _call(body))
    assert request.headers["X-Amz-Security-Token"] == TOKEN and TOKEN not in repr(request)
    assert "x-amz-security-token" in request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    path = request.url.split("amazonaws.com", 1)[1]
    headers = {**request.headers, "Host": "bedrock-runtime.us-east-1.amazonaws.com"}
    raw = request.body or b""
    assert verify_sigv4("POST", path, headers, raw, TEMP_AK, SK, REGION, session_token=TOKEN) == ""
    assert verify_sigv4("POST", path, headers, raw, TEMP_AK, SK, REGION, session_token=TOKEN + "x") == \
        "wrong session token"
    assert verify_sigv4("POST", path, {**headers, "X-Amz-Security-Token": TOKEN + "x"}, raw, TEMP_AK, SK, REGION,
                        session_token=TOKEN + "x") == "signature mismatch"  # the signature covers the token
    plain = ADAPTOR.build_request(_target(), _call(body))
    assert "X-Amz-Security-Token" not in plain.headers
    plain_headers = {**plain.headers, "Host": "bedrock-runtime.us-east-1.amazonaws.com"}
    assert verify_sigv4("POST", path, plain_headers, plain.body or b"", AK, SK, REGION) == ""
    assert verify_sigv4("POST", path, plain_headers, plain.body or b"", AK, SK, REGION, session_token=TOKEN) == \
        "no X-Amz-Security-Token header"


def test_an_expired_session_token_reads_as_a_bad_credential():
    expired = ADAPTOR.map_error(403, orjson.dumps({"message": "The security token included in the request is expired"}))
    assert (expired.body or {})["type"] == "authentication_error" and should_disable_channel(expired)


def test_model_ids_as_one_api_maps_them():
    assert model_id("claude-3-5-sonnet-20240620") == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert model_id("claude-3-5-sonnet-latest") == "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert model_id("llama3-70b-8192") == "meta.llama3-70b-instruct-v1:0"
    assert model_id("amazon.nova-pro-v1:0") == "amazon.nova-pro-v1:0"


def test_other_kinds_are_refused_retryably():
    with pytest.raises(UpstreamFailure) as info:
        ADAPTOR.build_request(_target(), _call({"model": "amazon.nova-pro-v1:0", "input": "x"}, kind="embeddings"))
    assert info.value.status == 501 and info.value.retryable


# -- SigV4 ----------------------------------------------------------------------------------------------
def test_sigv4_get_vanilla_vector(monkeypatch):
    """AWS's published SigV4 test suite, get-vanilla: both the signer used (botocore) and the tests' own
    verifier produce its signature."""
    expected = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    headers = {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}
    assert sigv4_signature("GET", "/", "", headers, ["host", "x-amz-date"], b"", "20150830T123600Z", SK,
                           REGION, "service") == expected
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime.datetime(2015, 8, 30, 12, 36, 0))
    signed = sign("GET", "https://example.amazonaws.com/", b"", {}, AK, SK, REGION, service="service")
    assert signed["X-Amz-Date"] == "20150830T123600Z"
    assert signed["Authorization"] == (f"AWS4-HMAC-SHA256 Credential={AK}/20150830/{REGION}/service/aws4_request, "
                                       f"SignedHeaders=host;x-amz-date, Signature={expected}")


def test_signed_request_verifies_with_the_exact_path_and_body():
    body = {"model": "claude-3-5-sonnet-20240620", "messages": [{"role": "user", "content": "hi"}]}
    request = ADAPTOR.build_request(_target(), _call(body, stream=True))
    assert request.url == ("https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                           "anthropic.claude-3-5-sonnet-20240620-v1:0/invoke-with-response-stream")
    assert request.headers["Accept"] == "application/vnd.amazon.eventstream"
    path = request.url.split("amazonaws.com", 1)[1]
    headers = {**request.headers, "Host": "bedrock-runtime.us-east-1.amazonaws.com"}
    assert verify_sigv4("POST", path, headers, request.body or b"", AK, SK, REGION) == ""
    assert verify_sigv4("POST", path, headers, (request.body or b"") + b" ", AK, SK, REGION) == "signature mismatch"
    assert SK not in orjson.dumps(request.headers).decode()


def test_inference_profile_arn_is_escaped_in_the_path():
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    request = ADAPTOR.build_request(Target(33, "http://127.0.0.1:9", "", CONFIG),
                                    _call({"messages": [{"role": "user", "content": "hi"}]}, model=arn))
    assert request.url == ("http://127.0.0.1:9/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2F"
                           "us.anthropic.claude-3-5-sonnet-20241022-v2:0/invoke")


# -- Claude (invoke) ------------------------------------------------------------------------------------
def test_claude_body_has_bedrock_version_and_no_model():
    body = {"model": "claude-3-5-sonnet-20240620", "max_tokens": 300, "temperature": 0.2,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}
    request = ADAPTOR.build_request(_target(), _call(body))
    sent = orjson.loads(request.body or b"")
    assert sent == {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 300, "system": "Be brief.", "temperature": 0.2}
    assert request.url.endswith("/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke")


def test_reasoning_effort_turns_thinking_on_for_thinking_models():
    body = {"model": "claude-3-7-sonnet-20250219", "max_tokens": 1000, "temperature": 0.3, "reasoning_effort": "low",
            "messages": [{"role": "user", "content": "hi"}]}
    out = claude_body(body, "claude-3-7-sonnet-20250219", "bedrock-2023-05-31", False)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert out["max_tokens"] > 2048 and "temperature" not in out
    older = claude_body(body, "claude-3-5-sonnet-20240620", "bedrock-2023-05-31", False)
    assert "thinking" not in older and older["temperature"] == 0.3


# -- Converse: request ----------------------------------------------------------------------------------
def test_converse_request_golden():
    pair = fixture("converse_request.json")
    request = ADAPTOR.build_request(_target(), _call(pair["openai"]))
    assert request.url == ("https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                           "meta.llama3-1-70b-instruct-v1:0/converse")
    assert orjson.loads(request.body or b"") == pair["converse"]


def test_converse_stream_url_and_nova_reasoning():
    body = {"model": "amazon.nova-2-lite-v1:0", "reasoning_effort": "high",
            "messages": [{"role": "user", "content": "hi"}]}
    request = ADAPTOR.build_request(_target(), _call(body, stream=True))
    assert request.url.endswith("/model/amazon.nova-2-lite-v1:0/converse-stream")
    assert orjson.loads(request.body or b"")["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}


def test_tool_choice_none_declares_no_tools_unless_the_history_uses_them():
    body = {"model": "amazon.nova-pro-v1:0", "tool_choice": "none", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert "toolConfig" not in orjson.loads(ADAPTOR.build_request(_target(), _call(body)).body or b"")
    body["messages"] += [{"role": "assistant", "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "t1", "content": "done"}]
    sent = orjson.loads(ADAPTOR.build_request(_target(), _call(body)).body or b"")
    assert sent["toolConfig"] == {"tools": [{"toolSpec": {"name": "f", "inputSchema": {
        "json": {"type": "object", "properties": {}}}}}]}


def test_image_urls_are_refused_clearly():
    body = {"model": "amazon.nova-pro-v1:0", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}
    with pytest.raises(RelayError) as info:
        ADAPTOR.build_request(_target(), _call(body))
    assert info.value.status == 400 and "data: URL" in str(info.value.message)


# -- Converse: answers ----------------------------------------------------------------------------------
def test_converse_answer():
    body = (FIXTURES / "converse_response.json").read_bytes()
    answer = ADAPTOR.parse_answer(_call({"messages": []}, model="meta.llama3-1-70b-instruct-v1:0"), body,
                                  "application/json")
    assert answer.text == "Let me look that up."
    assert answer.reasoning == "The user wants the top song." and answer.reasoning_signature == "sig-abc"
    assert [(c.id, c.name, orjson.loads(c.arguments)) for c in answer.tool_calls] == [
        ("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "top_song", {"sign": "WZPZ"})]
    assert answer.finish_reason == "tool_calls"
    assert answer.usage == Usage(prompt_tokens=475, completion_tokens=48, cached_tokens=100)
    assert answer.model == "meta.llama3-1-70b-instruct-v1:0" and answer.id.startswith("chatcmpl-")


def test_converse_answer_not_json():
    with pytest.raises(UpstreamFailure) as info:
        ADAPTOR.parse_answer(_call({}, model="amazon.nova-pro-v1:0"), b"<html>", "text/html")
    assert info.value.status == 502


# -- Converse: response_format --------------------------------------------------------------------------
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOP_SONG = {"type": "function", "function": {"name": "top_song", "parameters": {"type": "object", "properties": {}}}}


def _sent(body: dict, stream: bool = False) -> dict:
    return orjson.loads(ADAPTOR.build_request(_target(), _call(body, stream=stream)).body or b"")


def _schema_body(**extra) -> dict:
    return {"model": NOVA, "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER}}, **extra}


def test_json_schema_forces_one_response_tool_golden():
    pair = fixture("converse_json_schema_request.json")
    assert _sent(pair["openai"]) == pair["converse"]  # the name made a valid tool name; strict is not sent


def test_json_schema_answer_is_the_tools_input_as_text():
    call = _call(fixture("converse_json_schema_request.json")["openai"])
    answer = ADAPTOR.parse_answer(call, (FIXTURES / "converse_json_schema_response.json").read_bytes(),
                                  "application/json")
    assert orjson.loads(answer.text) == {"city": "Paris", "temperature_c": 21.5}  # the text beside it is dropped
    assert answer.tool_calls == [] and answer.finish_reason == "stop"
    assert answer.usage == Usage(prompt_tokens=410, completion_tokens=35)
    # without response_format the same answer is a tool call, as before
    plain = ADAPTOR.parse_answer(_call({"model": NOVA, "messages": []}),
                                 (FIXTURES / "converse_json_schema_response.json").read_bytes(), "application/json")
    assert plain.text == "Here is the report." and plain.tool_calls[0].name == "weather_report"
    assert plain.finish_reason == "tool_calls"


def test_json_schema_without_a_name_or_schema_and_a_description():
    sent = _sent({"model": NOVA, "messages": [{"role": "user", "content": "hi"}],
                  "response_format": {"type": "json_schema", "json_schema": {"description": "A greeting."}}})
    assert sent["toolConfig"] == {"tools": [{"toolSpec": {"name": "json_response", "description": "A greeting.",
                                                          "inputSchema": {"json": {"type": "object"}}}}],
                                  "toolChoice": {"tool": {"name": "json_response"}}}


def test_json_schema_with_the_clients_own_tools():
    """The client's tools stay callable (an agent loop): they are declared beside the response tool and the
    model must use one of them (toolChoice any); a named tool_choice is kept; none forces the answer."""
    sent = _sent(_schema_body(tools=[TOP_SONG], tool_choice="auto"))
    assert [t["toolSpec"]["name"] for t in sent["toolConfig"]["tools"]] == ["top_song", "weather"]
    assert sent["toolConfig"]["toolChoice"] == {"any": {}}
    assert _sent(_schema_body(tools=[TOP_SONG]))["toolConfig"]["toolChoice"] == {"any": {}}
    named = _sent(_schema_body(tools=[TOP_SONG], tool_choice={"type": "function", "function": {"name": "top_song"}}))
    assert named["toolConfig"]["toolChoice"] == {"tool": {"name": "top_song"}}
    none = _sent(_schema_body(tools=[TOP_SONG], tool_choice="none"))
    assert none["toolConfig"] == {"tools": [none["toolConfig"]["tools"][0]], "toolChoice": {"tool": {"name": "weather"}}}
    # a client tool with the response tool's name: the response tool takes another one
    clash = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    sent = _sent(_schema_body(tools=[clash]))
    assert [t["toolSpec"]["name"] for t in sent["toolConfig"]["tools"]] == ["weather", "weather_response1"]
    body = _schema_body(tools=[clash])
    data = {"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"q": "Paris"}}}]}}, "stopReason": "tool_use"}
    answer = ADAPTOR.parse_answer(_call(body), orjson.dumps(data), "application/json")
    assert answer.text == "" and answer.tool_calls[0].name == "weather" and answer.finish_reason == "tool_calls"


def test_json_object_adds_a_system_instruction():
    sent = _sent({"model": NOVA, "response_format": {"type": "json_object"},
                  "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]})
    assert sent["system"] == [{"text": "Be brief."}, {"text": JSON_OBJECT_INSTRUCTION}] and "toolConfig" not in sent
    alone = _sent({"model": NOVA, "response_format": {"type": "json_object"},
                   "messages": [{"role": "user", "content": "hi"}]})
    assert alone["system"] == [{"text": JSON_OBJECT_INSTRUCTION}]
    assert "JSON object" in JSON_OBJECT_INSTRUCTION
    text = _sent({"model": NOVA, "response_format": {"type": "text"}, "messages": [{"role": "user", "content": "hi"}]})
    assert "system" not in text and "toolConfig" not in text


@pytest.mark.parametrize("fmt", [{"type": "xml"}, "json", {"type": "json_schema"},
                                 {"type": "json_schema", "json_schema": {"name": "x", "schema": "not an object"}}])
def test_a_malformed_response_format_is_a_clear_400(fmt):
    body = {"model": NOVA, "response_format": fmt, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(RelayError) as info:
        ADAPTOR.build_request(_target(), _call(body))
    assert info.value.status == 400 and "json_schema" in str(info.value.message)
    assert info.value.openai_body()["error"]["code"] == "invalid_response_format"


def _json_stream(*, text_first: bool = True, client_tool: bool = False) -> bytes:
    messages = [event("messageStart", {"role": "assistant"})]
    if text_first:
        messages += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Here it is: "}}),
                     event("contentBlockStop", {"contentBlockIndex": 0})]
    if client_tool:
        messages += [event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {
                         "toolUseId": "tooluse_c", "name": "top_song"}}}),
                     event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{}"}}})]
    else:
        messages += [event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {
                         "toolUseId": "tooluse_j", "name": "weather"}}}),
                     event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"ci"}}}),
                     event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": "ty\": \"Paris\"}"}}}),
                     event("contentBlockStop", {"contentBlockIndex": 1})]
    messages += [event("messageStop", {"stopReason": "tool_use"}),
                 event("metadata", {"usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42}})]
    return b"".join(messages)


@pytest.mark.parametrize("cuts", [0, 9, 120])
def test_json_schema_stream_gives_the_json_as_text(cuts):
    call = _call(_schema_body(), stream=True)
    data = _json_stream()
    events = _decode(data, ADAPTOR.decoder(call), min(cuts, len(data) - 1))
    assert isinstance(events[0], Start)
    assert events[1:] == [TextDelta("{\"ci"), TextDelta("ty\": \"Paris\"}"), UsageReport(Usage(30, 12)),
                          Finish("stop")]


def test_json_schema_stream_with_a_client_tool_call_or_only_text():
    call = _call(_schema_body(tools=[TOP_SONG]), stream=True)
    events = _decode(_json_stream(text_first=False, client_tool=True), ADAPTOR.decoder(call))
    assert events[1:] == [ToolCallDelta(0, id="tooluse_c", name="top_song"), ToolCallDelta(0, arguments="{}"),
                          UsageReport(Usage(30, 12)), Finish("tool_calls")]
    # the model never used the response tool: the held text comes, before the end
    only_text = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "{\"city\":"}}) + \
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": " \"Paris\"}"}}) + \
        event("messageStop", {"stopReason": "end_turn"})
    assert _decode(only_text, ADAPTOR.decoder(call))[1:] == [TextDelta("{\"city\": \"Paris\"}"), Finish("stop")]
    cut = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "partial"}})
    assert _decode(cut, ADAPTOR.decoder(call))[1:] == [TextDelta("partial")]  # a stream ending early keeps it


# -- event stream ---------------------------------------------------------------------------------------
def _converse_stream() -> bytes:
    return b"".join([
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Think."}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sg"}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Checking"}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": " now."}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {
            "toolUseId": "tooluse_1", "name": "top_song"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"si"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "gn\": \"WZPZ\"}"}}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event("contentBlockStart", {"contentBlockIndex": 3, "start": {"toolUse": {
            "toolUseId": "tooluse_2", "name": "weather"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{}"}}}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": {"inputTokens": 20, "outputTokens": 30, "totalTokens": 50,
                                     "cacheReadInputTokens": 5}, "metrics": {"latencyMs": 100}}),
    ])


def _decode(data: bytes, decoder, cuts: int = 0) -> list:
    reader = EventStreamReader()
    rng = random.Random(cuts)
    points = sorted(rng.sample(range(1, len(data)), cuts)) if cuts else []
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    return run_frames(reader, decoder, pieces)


@pytest.mark.parametrize("cuts", [0, 7, 60, 400])
def test_converse_stream_in_any_chunking(cuts):
    data = _converse_stream()
    events = _decode(data, ConverseDecoder("amazon.nova-pro-v1:0"), min(cuts, len(data) - 1))
    assert isinstance(events[0], Start) and events[0].model == "amazon.nova-pro-v1:0"
    assert events[1:] == [
        ReasoningDelta("Think."), ReasoningDelta("", "sg"), TextDelta("Checking"), TextDelta(" now."),
        ToolCallDelta(0, id="tooluse_1", name="top_song"), ToolCallDelta(0, arguments="{\"si"),
        ToolCallDelta(0, arguments="gn\": \"WZPZ\"}"), ToolCallDelta(1, id="tooluse_2", name="weather"),
        ToolCallDelta(1, arguments="{}"),
        UsageReport(Usage(25, 30, 5)), Finish("tool_calls")]


def test_stream_without_metadata_still_finishes():
    data = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}) + \
        event("messageStop", {"stopReason": "max_tokens"})
    assert _decode(data, ConverseDecoder("m"))[1:] == [TextDelta("x"), Finish("length")]


def test_stream_exception_becomes_stream_error():
    data = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}) + \
        exception("throttlingException", "Too many tokens, please wait before trying again.")
    events = _decode(data, ConverseDecoder("m"))
    assert isinstance(events[-1], StreamError)
    failure = events[-1].failure
    assert failure.status == 429 and "Too many tokens" in failure.message
    assert (failure.body or {})["code"] == "throttlingException"


def test_error_message_type_becomes_stream_error():
    data = event_message({":message-type": "error", ":error-code": "InternalFailure",
                          ":error-message": "internal failure"}, b"")
    events = _decode(data, ConverseDecoder("m"))
    assert isinstance(events[-1], StreamError) and events[-1].failure.message == "internal failure"


def test_corrupt_or_truncated_stream_is_a_clear_failure():
    data = bytearray(_converse_stream())
    data[30] ^= 0xFF  # inside the first message: its CRC no longer matches
    with pytest.raises(UpstreamFailure) as info:
        _decode(bytes(data), ConverseDecoder("m"))
    assert info.value.status == 502 and "ChecksumMismatch" in str(info.value.message)
    with pytest.raises(UpstreamFailure):
        _decode(_converse_stream()[:-5], ConverseDecoder("m"))


def test_claude_invoke_stream_through_the_anthropic_decoder():
    """invoke-with-response-stream: chunk events carrying base64 Anthropic events (a tool call's JSON split
    across them, thinking with its signature), then an Anthropic error event inside a chunk."""
    events = [
        {"type": "message_start", "message": {"id": "msg_bdrk_1", "model": "claude-3-7-sonnet-20250219",
                                              "usage": {"input_tokens": 12, "cache_read_input_tokens": 3,
                                                        "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_bdrk_9",
                                                                     "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"lo"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
                                                              "partial_json": "cation\": \"Paris\"}"}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 30}},
    ]
    call = _call({"messages": []}, model="claude-3-7-sonnet-20250219", stream=True)
    decoded = _decode(b"".join(chunk(e) for e in events), ADAPTOR.decoder(call), cuts=50)
    assert decoded[0] == Start("msg_bdrk_1", "claude-3-7-sonnet-20250219")
    assert decoded[1:] == [
        ReasoningDelta("Hmm."), ReasoningDelta("", "EqQB"), ToolCallDelta(0, "toolu_bdrk_9", "get_weather"),
        ToolCallDelta(0, arguments="{\"lo"), ToolCallDelta(0, arguments="cation\": \"Paris\"}"),
        Finish("tool_calls"), UsageReport(Usage(15, 30, 3))]
    broken = chunk({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    [error] = _decode(broken, ADAPTOR.decoder(call))
    assert isinstance(error, StreamError) and error.failure.retryable and error.failure.message == "Overloaded"
    [throttled] = _decode(exception("throttlingException", "slow down"), ADAPTOR.decoder(call))
    assert isinstance(throttled, StreamError) and throttled.failure.status == 429


def test_claude_invoke_answer_through_the_anthropic_adaptor():
    call = _call({"messages": []}, model="claude-3-5-sonnet-20240620")
    answer = ADAPTOR.parse_answer(call, (FIXTURES / "claude_invoke_response.json").read_bytes(), "application/json")
    assert answer.text == "I'll check the weather." and answer.finish_reason == "tool_calls"
    assert [(c.id, c.name, orjson.loads(c.arguments)) for c in answer.tool_calls] == [
        ("toolu_bdrk_01A09q90qw90lq917835lq9", "get_weather", {"location": "San Francisco, CA"})]
    assert answer.usage is not None and (answer.usage.prompt_tokens, answer.usage.completion_tokens,
                                         answer.usage.cached_tokens) == (612, 57, 200)


# -- errors ---------------------------------------------------------------------------------------------
def test_errors_map_to_openai_objects():
    throttled = ADAPTOR.map_error(429, (FIXTURES / "error_throttling.json").read_bytes())
    assert throttled.status == 429 and throttled.retryable and not should_disable_channel(throttled)
    assert throttled.openai_body()["error"]["message"].startswith("Too many requests")
    bad_key = ADAPTOR.map_error(403, (FIXTURES / "error_signature.json").read_bytes())
    assert (bad_key.body or {})["type"] == "authentication_error" and should_disable_channel(bad_key)
    denied = ADAPTOR.map_error(403, (FIXTURES / "error_access_denied.json").read_bytes())
    assert (denied.body or {})["type"] == "permission_error" and not denied.retryable
    invalid = ADAPTOR.map_error(400, (FIXTURES / "error_validation.json").read_bytes())
    assert invalid.status == 400 and not invalid.retryable and not should_disable_channel(invalid)
    assert ADAPTOR.map_error(502, b"<html>bad gateway</html>").status == 502


# -- catalogue ------------------------------------------------------------------------------------------
def test_default_models_and_prices():
    from oneapi_app.services.channel_registry import default_models
    from oneapi_app.services.options import Options
    from oneapi_app.services.pricing import price_for

    models = default_models()
    assert "claude-3-5-sonnet-20240620" in models["33"] and "amazon.nova-pro-v1:0" in models["33"]
    assert "claude-3-5-sonnet-v2@20241022" in models["42"] and "gemini-1.5-pro-002" in models["42"]
    nova = price_for(Options(), "amazon.nova-pro-v1:0", 33, "default")
    assert (nova.model_ratio, nova.completion_ratio) == (0.4, 4)
    sonnet = price_for(Options(), "claude-3-5-sonnet-20240620", 33, "default")
    assert (sonnet.model_ratio, sonnet.completion_ratio) == (1.5, 5)  # Anthropic's own row
    vertex = price_for(Options(), "claude-3-5-sonnet-v2@20241022", 42, "default")
    assert (vertex.model_ratio, vertex.completion_ratio) == (1.5, 5)
