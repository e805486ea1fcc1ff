"""Baidu ERNIE (Wenxin v1): the access-token exchange, the model -> endpoint table, request conversion,
answers, streams and errors, on fixtures from Baidu's Qianfan API documentation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.baidu import BaiduAdaptor, endpoint
from oneapi_app.relay.adaptors.base import Target, Usage
from oneapi_app.relay.upstream import should_disable_channel

from .cn_helpers import call, decode, errors, finishes, last_usage, load, raw, text

ADAPTOR = BaiduAdaptor()
KEY = "ak-123|sk-456"


def test_credential_request_exchanges_ak_sk_and_reads_the_token():
    target = Target(15, "", KEY)
    exchange = ADAPTOR.credential_request(target)
    url = urlsplit(exchange.request.url)
    assert exchange.request.method == "POST"
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://aip.baidubce.com/oauth/2.0/token"
    assert parse_qs(url.query) == {"grant_type": ["client_credentials"], "client_id": ["ak-123"],
                                   "client_secret": ["sk-456"]}
    assert exchange.cache_key.startswith("baidu:") and "sk-456" not in exchange.cache_key
    assert ADAPTOR.credential_request(Target(15, "", "ak-123|other")).cache_key != exchange.cache_key
    token, lifetime = exchange.parse(raw("baidu", "token.json"))
    assert token == "24.6c5e1ff107f0e8bcef8c46d3424a0e78.2592000.1485516651.282335-8574074" and lifetime == 2592000
    with pytest.raises(UpstreamFailure) as caught:
        exchange.parse(b'{"error": "invalid_client", "error_description": "unknown client id"}')
    assert caught.value.status == 401 and "unknown client id" in caught.value.message
    assert should_disable_channel(caught.value)


def test_bad_key_shape():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.credential_request(Target(15, "", "no-bar"))
    assert caught.value.status == 401 and "API Key|Secret Key" in caught.value.message


@pytest.mark.parametrize(("model", "suffix"), [
    ("ERNIE-4.0-8K", "chat/completions_pro"), ("ERNIE-3.5-8K", "chat/completions"),
    ("ERNIE-Speed-128K", "chat/ernie-speed-128k"), ("ERNIE-Lite-8K-0922", "chat/eb-instant"),
    ("ERNIE-Bot-8K", "chat/ernie_bot_8k"), ("BLOOMZ-7B", "chat/bloomz_7b1"), ("Embedding-V1", "embeddings/embedding-v1"),
    ("bge-large-zh", "embeddings/bge_large_zh"), ("tao-8k", "embeddings/tao_8k"), ("Yi-34B-Chat", "chat/yi-34b-chat"),
])
def test_endpoint_table(model, suffix):
    assert endpoint(model) == suffix


def test_golden_request_conversion_with_the_token_in_the_url():
    body = load("baidu", "request_openai.json")
    target = Target(15, "", KEY, credential="24.tok")
    request = ADAPTOR.build_request(target, call(body, stream=True))
    assert request.url == ("https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions_pro"
                           "?access_token=24.tok")
    assert orjson.loads(request.body) == load("baidu", "request_baidu.json")
    assert "Authorization" not in request.headers


def test_embeddings_request_and_answer():
    c = call({"model": "Embedding-V1", "input": ["推荐一些美食", "给我讲个故事"]}, kind="embeddings")
    request = ADAPTOR.build_request(Target(15, "https://proxy.test/", KEY, credential="t"), c)
    assert request.url.startswith("https://proxy.test/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/embedding-v1?")
    assert orjson.loads(request.body) == {"input": ["推荐一些美食", "给我讲个故事"]}
    parsed = ADAPTOR.parse_response(c, raw("baidu", "embeddings.json"), "application/json")
    out = orjson.loads(parsed.body)
    assert [d["index"] for d in out["data"]] == [0, 1] and out["usage"] == {"prompt_tokens": 12, "total_tokens": 12}
    assert parsed.usage == Usage(12, 0)


def test_answer_and_function_call():
    answer = ADAPTOR.parse_answer(call({"model": "ERNIE-4.0-8K"}), raw("baidu", "response.json"), "")
    assert answer.text.startswith("您好，我是文心一言") and answer.usage == Usage(4, 16)
    assert answer.finish_reason == "stop" and answer.id == "as-bcmt5ct4iy" and answer.created == 1680167072
    tool = ADAPTOR.parse_answer(call({"model": "ERNIE-4.0-8K"}), raw("baidu", "response_function_call.json"), "")
    assert tool.finish_reason == "tool_calls" and tool.tool_calls[0].name == "get_weather"
    assert orjson.loads(tool.tool_calls[0].arguments) == {"city": "深圳"}


def test_errors_in_200_bodies():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(call({"model": "m"}), raw("baidu", "error_token.json"), "")
    assert caught.value.status == 500 and caught.value.retryable and not should_disable_channel(caught.value)
    assert caught.value.body["code"] == "110"
    qps = ADAPTOR.map_error(200, b'{"error_code": 18, "error_msg": "Open api qps request limit reached"}')
    assert qps.status == 429 and qps.retryable
    bad = ADAPTOR.map_error(200, b'{"error_code": 336003, "error_msg": "the max length of current question is 4800"}')
    assert bad.status == 400 and not bad.retryable
    denied = ADAPTOR.map_error(200, b'{"error_code": 6, "error_msg": "No permission to access data"}')
    assert denied.status == 403 and should_disable_channel(denied)
    assert ADAPTOR.map_error(503, b"busy").status == 503


@pytest.mark.parametrize("chunk", [0, 3, 64])
def test_stream_split_across_chunks(chunk):
    events = decode(ADAPTOR, call({"model": "ERNIE-4.0-8K"}, stream=True), raw("baidu", "stream.txt"), chunk)
    assert text(events) == "当然可以，以下是一些建议的自驾游路线。"
    assert finishes(events) == ["stop"] and last_usage(events) == Usage(5, 11)


def test_stream_error_and_usage_only_chunk():
    events = decode(ADAPTOR, call({"model": "m"}, stream=True),
                    b'data: {"error_code": 336100, "error_msg": "try again later"}\n\n')
    assert errors(events)[0].status == 500 and errors(events)[0].retryable
    usage_only = (b'data: {"id":"x","result":"","is_end":true,"finish_reason":"length",'
                  b'"usage":{"prompt_tokens":3,"total_tokens":10}}\n\n')
    events = decode(ADAPTOR, call({"model": "m"}, stream=True), usage_only)
    assert last_usage(events) == Usage(3, 7) and finishes(events) == ["length"] and text(events) == ""
