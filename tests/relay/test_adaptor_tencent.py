"""Tencent Hunyuan: the TC3 signer against Tencent's published example, request conversion, answers,
streams and errors on fixtures from the Hunyuan API documentation."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.base import Target, Usage
from oneapi_app.relay.adaptors.tencent import TencentAdaptor, tc3_authorization
from oneapi_app.relay.upstream import should_disable_channel

from .cn_helpers import call, decode, errors, finishes, last_usage, load, raw, text

ADAPTOR = TencentAdaptor()
KEY = "1300000000|AKIDexample|secretexample"


# -- the signer: Tencent Cloud API 3.0 "signature v3" document, its worked example ---------------------------
def test_tc3_signature_matches_tencents_published_example():
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    authorization = tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                                      service="cvm", host="cvm.tencentcloudapi.com", timestamp=1551113065,
                                      payload=payload, content_type="application/json; charset=utf-8")
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")


def test_request_is_signed_with_the_action_header():
    body = load("tencent", "request_openai.json")
    request = ADAPTOR.build_request(Target(23, "", KEY), call(body, stream=True))
    assert request.method == "POST" and request.url == "https://hunyuan.tencentcloudapi.com/"
    headers = request.headers
    assert headers["X-TC-Action"] == "ChatCompletions" and headers["X-TC-Version"] == "2023-09-01"
    assert headers["Content-Type"] == "application/json" and headers["Host"] == "hunyuan.tencentcloudapi.com"
    expected = tc3_authorization("AKIDexample", "secretexample", service="hunyuan", host="hunyuan.tencentcloudapi.com",
                                 timestamp=int(headers["X-TC-Timestamp"]), payload=request.body,
                                 action="ChatCompletions")
    assert headers["Authorization"] == expected
    assert "SignedHeaders=content-type;host;x-tc-action" in expected
    assert "X-TC-Region" not in headers
    assert ADAPTOR.build_request(Target(23, "", KEY, {"region": "ap-guangzhou"}), call(body)).headers[
        "X-TC-Region"] == "ap-guangzhou"


def test_golden_request_conversion():
    body = load("tencent", "request_openai.json")
    request = ADAPTOR.build_request(Target(23, "", KEY), call(body, stream=True))
    assert orjson.loads(request.body) == load("tencent", "request_hunyuan.json")


def test_forced_tool_and_embeddings_and_other_kinds():
    body = {**load("tencent", "request_openai.json"), "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
    out = orjson.loads(ADAPTOR.build_request(Target(23, "", KEY), call(body)).body)
    assert out["ToolChoice"] == "custom" and out["CustomTool"]["Function"]["Name"] == "get_weather"
    embed = ADAPTOR.build_request(Target(23, "", KEY), call({"model": "hunyuan-embedding", "input": ["a", "b"]},
                                                            kind="embeddings"))
    assert embed.headers["X-TC-Action"] == "GetEmbedding" and orjson.loads(embed.body) == {"InputList": ["a", "b"]}
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(23, "", KEY), call({"model": "m", "prompt": "x"}, kind="completions"))
    assert caught.value.status == 501 and caught.value.retryable


def test_bad_key_is_a_clear_auth_error():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(23, "", "only-one-part"), call({"model": "m", "messages": []}))
    assert caught.value.status == 401 and "AppId|SecretId|SecretKey" in caught.value.message


# -- answers ----------------------------------------------------------------------------------------------
def test_answer_text_and_usage():
    answer = ADAPTOR.parse_answer(call({"model": "hunyuan-pro"}), raw("tencent", "response.json"), "application/json")
    assert answer.text == "深圳今天晴，25度。" and answer.finish_reason == "stop"
    assert answer.usage == Usage(12, 9) and answer.id == "e1f4cd2c-2d6a-4e3a-9e3b-8b52e5c6d8b4"


def test_answer_tool_calls():
    answer = ADAPTOR.parse_answer(call({"model": "hunyuan-pro"}), raw("tencent", "response_tool_calls.json"), "")
    assert answer.finish_reason == "tool_calls" and len(answer.tool_calls) == 1
    assert answer.tool_calls[0].id == "call_abc" and answer.tool_calls[0].name == "get_weather"
    assert orjson.loads(answer.tool_calls[0].arguments) == {"city": "深圳"}


def test_error_in_a_200_body_disables_on_auth_failure():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(call({"model": "m"}), raw("tencent", "error_auth.json"), "")
    assert caught.value.status == 401 and should_disable_channel(caught.value)
    assert caught.value.body["code"] == "AuthFailure.SignatureFailure"
    limit = ADAPTOR.map_error(200, b'{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow"}}}')
    assert limit.status == 429 and limit.retryable and not should_disable_channel(limit)
    param = ADAPTOR.map_error(400, b'{"Response":{"Error":{"Code":"InvalidParameter","Message":"bad"}}}')
    assert param.status == 400 and not param.retryable
    assert ADAPTOR.map_error(502, b"<html>").status == 502


# -- streams ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [0, 1, 7, 50])
def test_stream_deltas_split_across_chunks(chunk):
    events = decode(ADAPTOR, call({"model": "hunyuan-pro"}, stream=True), raw("tencent", "stream.txt"), chunk)
    assert text(events) == "深圳今天晴。" and finishes(events) == ["stop"]
    assert last_usage(events) == Usage(12, 4) and not errors(events)


def test_stream_error_event_and_tool_call_deltas():
    err = b'data: {"Response":{"Error":{"Code":"InternalError","Message":"engine busy"}}}\n\n'
    events = decode(ADAPTOR, call({"model": "m"}, stream=True), err)
    assert errors(events)[0].status == 500 and errors(events)[0].retryable
    tools = (b'data: {"Choices":[{"Delta":{"Role":"assistant","Content":"","ToolCalls":[{"Id":"c1","Type":"function",'
             b'"Function":{"Name":"f","Arguments":"{\\"a\\""}}]},"FinishReason":""}],"Id":"x"}\n\n'
             b'data: {"Choices":[{"Delta":{"ToolCalls":[{"Id":"c1","Function":{"Arguments":":1}"}}]},'
             b'"FinishReason":"tool_calls"}],"Id":"x","Usage":{"PromptTokens":3,"CompletionTokens":2}}\n\n')
    from oneapi_app.relay.adaptors.cn_common import fold

    answer = fold(decode(ADAPTOR, call({"model": "m"}, stream=True), tools, 9))
    assert answer.tool_calls[0].name == "f" and answer.tool_calls[0].arguments == '{"a":1}'
    assert answer.finish_reason == "tool_calls" and answer.usage == Usage(3, 2)


def test_usage_only_chunk():
    only = b'data: {"Choices":[],"Id":"x","Usage":{"PromptTokens":5,"CompletionTokens":6}}\n\n'
    events = decode(ADAPTOR, call({"model": "m"}, stream=True), only)
    assert last_usage(events) == Usage(5, 6) and not text(events)
