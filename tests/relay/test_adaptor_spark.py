"""iFlytek Spark v1: the URL signature against Xunfei's published example, versions and domains, the
first websocket message, frames -> events, whole answers and errors."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.base import Target, Usage
from oneapi_app.relay.adaptors.spark import SparkAdaptor, api_version, authorization, domain, signed_url
from oneapi_app.relay.upstream import should_disable_channel

from .cn_helpers import FIXTURES, call, decode, errors, finishes, last_usage, load, raw, text

ADAPTOR = SparkAdaptor()
KEY = "12345678|MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi|addd2272b6d8b7c8abdd79531420ca3b"
MESSAGES = (FIXTURES / "spark" / "messages.jsonl").read_bytes().splitlines()


def test_signature_matches_xunfeis_published_example():
    # Xunfei's "general URL authentication" document: APISecret MjlmNz..., APIKey addd22..., that date and path
    value = authorization("addd2272b6d8b7c8abdd79531420ca3b", "MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi",
                          "spark-api.xf-yun.com", "Fri, 05 May 2023 10:43:39 GMT", "/v1.1/chat")
    assert base64.b64decode(value).decode() == (
        'api_key="addd2272b6d8b7c8abdd79531420ca3b", algorithm="hmac-sha256", headers="host date request-line", '
        'signature="z5gHdu3pxVV4ADMyk467wOWDQ9q6BQzR3nfMTjc/DaQ="')


def test_signed_url_carries_authorization_date_and_host():
    url = signed_url("wss://spark-api.xf-yun.com", "/v1.1/chat", "addd2272b6d8b7c8abdd79531420ca3b",
                     "MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi", now=1683283419)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "wss" and parts.path == "/v1.1/chat" and query["host"] == ["spark-api.xf-yun.com"]
    assert query["date"] == ["Fri, 05 May 2023 10:43:39 GMT"]
    assert query["authorization"][0].startswith("YXBpX2tleT0iYWRkZDIyNzJiNmQ4YjdjOGFiZGQ3OTUzMTQyMGNhM2Ii")


@pytest.mark.parametrize(("model", "config", "version", "dom"), [
    ("Spark-Lite", {}, "v1.1", "lite"), ("Spark-Pro", {}, "v3.1", "generalv3"), ("Spark-Max", {}, "v3.5", "generalv3.5"),
    ("Spark-Max-32K", {}, "v3.5-32K", "max-32k"), ("Spark-4.0-Ultra", {}, "v4.0", "4.0Ultra"),
    ("SparkDesk-v2.1", {}, "v2.1", "generalv2"), ("SparkDesk", {"api_version": "v3.1"}, "v3.1", "generalv3"),
    ("SparkDesk", {}, "v1.1", "lite"),
])
def test_versions_and_domains(model, config, version, dom):
    assert api_version(Target(18, "", KEY, config), model) == version and domain(version) == dom


def test_request_is_a_pure_websocket_description():
    request = ADAPTOR.build_request(Target(18, "", KEY), call(load("spark", "request_openai.json"), stream=True))
    assert request.url.startswith("wss://spark-api.xf-yun.com/v3.5/chat?authorization=")
    assert orjson.loads(request.websocket_message) == load("spark", "request_spark.json")
    assert ADAPTOR.build_request(Target(18, "ws://127.0.0.1:9/", KEY), call({"model": "Spark-Pro-128K", "messages": []})
                                 ).url.startswith("ws://127.0.0.1:9/chat/pro-128k?")
    lite = orjson.loads(ADAPTOR.build_request(Target(18, "", KEY), call({**load("spark", "request_openai.json"),
                                                                         "model": "Spark-Lite"})).websocket_message)
    assert "functions" not in lite["payload"]  # v1.1 has no function calling
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(18, "", "a|b"), call({"model": "Spark-Lite", "messages": []}))
    assert caught.value.status == 401 and "APPID|APISecret|APIKey" in caught.value.message


def test_frames_to_events():
    events = decode(ADAPTOR, call({"model": "Spark-Max"}, stream=True), b"", 0)
    assert events == []
    decoder = ADAPTOR.decoder(call({"model": "Spark-Max"}, stream=True))
    events = [e for m in MESSAGES for e in decoder.feed(m)]
    assert text(events) == "你好！我是讯飞星火认知大模型。" and finishes(events) == ["stop"]
    assert last_usage(events) == Usage(5, 16)


def test_whole_answer_from_rs_separated_messages_and_function_call():
    body = b"".join(m + b"\x1e" for m in MESSAGES)
    answer = ADAPTOR.parse_answer(call({"model": "Spark-Max"}), body, "")
    assert answer.text == "你好！我是讯飞星火认知大模型。" and answer.usage == Usage(5, 16)
    assert answer.id == "cht000cb087@dx18793cd421fb894542"
    tool = ADAPTOR.parse_answer(call({"model": "Spark-Max"}), raw("spark", "function_call.json") + b"\x1e", "")
    assert tool.finish_reason == "tool_calls" and tool.tool_calls[0].name == "weather"
    assert orjson.loads(tool.tool_calls[0].arguments) == {"location": "合肥"}


def test_errors():
    events = ADAPTOR.decoder(call({"model": "m"}, stream=True)).feed(raw("spark", "error.json"))
    assert errors(events)[0].status == 403 and should_disable_channel(errors(events)[0])
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(call({"model": "m"}), raw("spark", "error.json"), "")
    assert caught.value.status == 403
    refused = ADAPTOR.map_error(401, b'{"message": "websocket handshake refused: 401 Unauthorized"}')
    assert refused.status == 401 and should_disable_channel(refused)
    audit = ADAPTOR.map_error(200, b'{"header": {"code": 10013, "message": "input content audit failed"}}')
    assert audit.status == 400 and not audit.retryable
