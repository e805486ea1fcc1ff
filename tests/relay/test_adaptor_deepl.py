"""DeepL, Replicate, AIProxy Library and retired PaLM2: request conversion, answers, their one-frame
"streams" and errors on fixtures from the providers' API documentation."""

from __future__ import annotations

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.aiproxy import AIProxyLibraryAdaptor
from oneapi_app.relay.adaptors.base import Target, Usage
from oneapi_app.relay.adaptors.deepl import DeepLAdaptor, target_lang
from oneapi_app.relay.adaptors.palm import PaLMAdaptor
from oneapi_app.relay.adaptors.replicate import ReplicateAdaptor, predictions_url
from oneapi_app.relay.upstream import should_disable_channel

from .cn_helpers import call, decode, errors, finishes, last_usage, raw, text

DEEPL, REPLICATE, LIBRARY = DeepLAdaptor(), ReplicateAdaptor(), AIProxyLibraryAdaptor()
CHAT = {"messages": [{"role": "system", "content": "translate"}, {"role": "user", "content": "Hello, world!"}]}


# -- DeepL ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "lang"), [("deepl-zh", "ZH"), ("deepl-EN", "EN"), ("deepl-en-us", "EN-US"),
                                             ("deepl", "ZH"), ("deepl-ja", "JA")])
def test_target_language_from_the_model(model, lang):
    assert target_lang(model) == lang


def test_deepl_request_and_answer_billed_by_characters():
    c = call({"model": "deepl-zh", **CHAT})
    request = DEEPL.build_request(Target(38, "", "dk-1:fx"), c)
    assert request.url == "https://api-free.deepl.com/v2/translate"
    assert request.headers["Authorization"] == "DeepL-Auth-Key dk-1:fx"
    assert orjson.loads(request.body) == {"text": ["Hello, world!"], "target_lang": "ZH", "show_billed_characters": True}
    assert DEEPL.build_request(Target(38, "", "pro-key"), c).url == "https://api.deepl.com/v2/translate"
    assert DEEPL.build_request(Target(38, "http://127.0.0.1:9/", "k"), c).url == "http://127.0.0.1:9/v2/translate"
    answer = DEEPL.parse_answer(c, raw("deepl", "response.json"), "application/json")
    assert answer.text == "你好，世界！" and answer.usage == Usage(13, 0) and answer.finish_reason == "stop"
    no_billing = DEEPL.parse_answer(c, b'{"translations":[{"text":"x"}]}', "")
    assert no_billing.usage == Usage(len("Hello, world!"), 0)


@pytest.mark.parametrize("chunk", [0, 4])
def test_deepl_stream_is_one_delta(chunk):
    events = decode(DEEPL, call({"model": "deepl-zh", **CHAT}, stream=True), raw("deepl", "response.json"), chunk)
    assert text(events) == "你好，世界！" and last_usage(events) == Usage(13, 0) and finishes(events) == ["stop"]


def test_deepl_errors():
    quota = DEEPL.map_error(456, raw("deepl", "error_quota.json"))
    assert quota.status == 429 and quota.body["type"] == "insufficient_quota" and should_disable_channel(quota)
    auth = DEEPL.map_error(403, b'{"message":"Wrong endpoint. Use https://api.deepl.com"}')
    assert auth.status == 401 and should_disable_channel(auth)
    assert not DEEPL.map_error(400, b'{"message":"Value for target_lang not supported."}').retryable
    with pytest.raises(UpstreamFailure):
        DEEPL.build_request(Target(38, "", "k"), call({"model": "deepl-zh", "input": "x"}, kind="embeddings"))


# -- Replicate --------------------------------------------------------------------------------------------
def test_replicate_urls():
    assert predictions_url(Target(46, "", "k"), "meta/llama") == \
        "https://api.replicate.com/v1/models/meta/llama/predictions"
    assert predictions_url(Target(46, "https://api.replicate.com/v1/models/", "k"), "a/b") == \
        "https://api.replicate.com/v1/models/a/b/predictions"
    assert predictions_url(Target(46, "http://127.0.0.1:9", "k"), "a/b") == "http://127.0.0.1:9/v1/models/a/b/predictions"


def test_replicate_chat_request_and_answer():
    c = call({"model": "meta/meta-llama-3-70b-instruct", **CHAT, "max_tokens": 64, "temperature": 0.2})
    request = REPLICATE.build_request(Target(46, "", "r8_x"), c)
    assert request.headers["Prefer"] == "wait" and request.headers["Authorization"] == "Bearer r8_x"
    assert orjson.loads(request.body) == {"input": {
        "prompt": "system: translate\nuser: Hello, world!\n", "system_prompt": "translate", "max_tokens": 64,
        "temperature": 0.2, "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}}
    answer = REPLICATE.parse_answer(c, raw("replicate", "prediction_chat.json"), "application/json")
    assert answer.text == "Soft wool on the hills\n..." and answer.usage == Usage(18, 7)
    assert answer.id == "chatcmpl-gm3qorzdhgbfurvjtvhg6dckhu"


def test_replicate_image_model_answers_markdown_images():
    c = call({"model": "black-forest-labs/flux-schnell", "messages": [{"role": "user", "content": "a cake"}]})
    assert orjson.loads(REPLICATE.build_request(Target(46, "", "k"), c).body) == \
        {"input": {"prompt": "a cake", "aspect_ratio": "1:1"}}
    answer = REPLICATE.parse_answer(c, raw("replicate", "prediction_image.json"), "")
    assert answer.text == ("![image](https://replicate.delivery/czjl/9MBNrffKcxoqY0iprW66NF8MZaNeH322a27yE0sjFGtKMXLnA"
                           "/out-0.webp)")
    assert answer.usage == Usage(1000, 0)
    events = decode(REPLICATE, call(c.body, stream=True), raw("replicate", "prediction_image.json"), 10)
    assert text(events) == answer.text and last_usage(events) == Usage(1000, 0)


def test_replicate_unfinished_failed_and_errors():
    c = call({"model": "black-forest-labs/flux-dev", "messages": [{"role": "user", "content": "x"}]})
    with pytest.raises(UpstreamFailure) as caught:
        REPLICATE.parse_answer(c, raw("replicate", "prediction_processing.json"), "")
    assert caught.value.status == 504 and not caught.value.retryable
    assert "rrr4z55ocneqzikepnug6xezpe" in caught.value.message
    failed = b'{"id": "p1", "status": "failed", "error": "NSFW content detected", "output": null}'
    with pytest.raises(UpstreamFailure) as caught:
        REPLICATE.parse_answer(c, failed, "")
    assert caught.value.status == 502 and "NSFW content detected" in caught.value.message
    events = decode(REPLICATE, call(c.body, stream=True), failed)
    assert errors(events)[0].status == 502
    auth = REPLICATE.map_error(401, raw("replicate", "error_auth.json"))
    assert auth.status == 401 and should_disable_channel(auth) and "valid authentication token" in auth.message
    assert REPLICATE.map_error(422, b'{"detail": "input.prompt is required", "status": 422}').status == 400


def test_replicate_chat_stream_is_created_then_read_from_its_stream_url():
    c = call({"model": "meta/meta-llama-3-8b-instruct", **CHAT}, stream=True)
    request = REPLICATE.build_request(Target(46, "", "r8_x"), c)
    assert "Prefer" not in request.headers and orjson.loads(request.body)["stream"] is True
    created = b'{"id": "p9", "status": "starting", "urls": {"stream": "https://stream.replicate.com/v1/files/abc"}}'
    step = request.follow(created)
    assert step.method == "GET" and step.url == "https://stream.replicate.com/v1/files/abc"
    assert step.headers["Accept"] == "text/event-stream" and step.headers["Authorization"] == "Bearer r8_x"
    assert request.follow(b'{"id": "p9", "status": "failed", "urls": {"stream": "x"}}') is None
    assert REPLICATE.build_request(Target(46, "", "k"), call(c.body)).follow is None  # non-stream: waited


@pytest.mark.parametrize("chunk", [0, 1, 6])
def test_replicate_stream_events(chunk):
    sse = (b"event: output\nid: 1\ndata: Soft\n\nevent: output\ndata:  wool\n\n"
           b"event: output\ndata: line one\ndata: line two\n\n: keep-alive\n\nevent: done\ndata: {}\n\n")
    events = decode(REPLICATE, call({"model": "meta/x"}, stream=True), sse, chunk)
    assert text(events) == "Soft woolline one\nline two" and finishes(events) == ["stop"] and not errors(events)
    failed = decode(REPLICATE, call({"model": "meta/x"}, stream=True),
                    b'event: error\ndata: {"detail": "CUDA out of memory"}\n\n')
    assert errors(failed)[0].message == "CUDA out of memory" and errors(failed)[0].status == 502


# -- AIProxy Library ----------------------------------------------------------------------------------------
def test_library_request_needs_library_id():
    c = call({"model": "gpt-3.5-turbo", **CHAT, "stream": True}, stream=True)
    request = LIBRARY.build_request(Target(21, "", "ak-1", {"library_id": "lib-9"}), c)
    assert request.url == "https://api.aiproxy.io/api/library/ask"
    assert orjson.loads(request.body) == {"model": "gpt-3.5-turbo", "query": "Hello, world!", "libraryId": "lib-9",
                                          "stream": True}
    with pytest.raises(UpstreamFailure) as caught:
        LIBRARY.build_request(Target(21, "", "ak-1"), c)
    assert "library_id" in caught.value.message


def test_library_answer_and_stream_append_documents():
    answer = LIBRARY.parse_answer(call({"model": "gpt-3.5-turbo"}), raw("aiproxy", "response.json"), "")
    assert answer.text == ("AIProxy 提供 OpenAI 接口的代理服务。\n\n参考文档：\n1. [AIProxy 文档](https://docs.aiproxy.io/)\n"
                           "2. [知识库接口](https://docs.aiproxy.io/library)\n")
    assert answer.usage is None
    events = decode(LIBRARY, call({"model": "gpt-3.5-turbo"}, stream=True), raw("aiproxy", "stream.txt"), 11)
    assert text(events) == "AIProxy 提供代理服务。\n\n参考文档：\n1. [AIProxy 文档](https://docs.aiproxy.io/)\n"
    assert finishes(events) == ["stop"]
    with pytest.raises(UpstreamFailure) as caught:
        LIBRARY.parse_answer(call({"model": "m"}), b'{"success": false, "errCode": 1001, "message": "no library"}', "")
    assert caught.value.message == "no library"


# -- PaLM2 (retired) ----------------------------------------------------------------------------------------
def test_palm_requests_get_a_clear_non_retryable_error():
    with pytest.raises(UpstreamFailure) as caught:
        PaLMAdaptor().build_request(Target(11, "", "k"), call({"model": "chat-bison-001", **CHAT}))
    failure = caught.value
    assert failure.status == 410 and not failure.retryable and not should_disable_channel(failure)
    assert "Gemini" in failure.message and failure.body["code"] == "channel_type_retired"
