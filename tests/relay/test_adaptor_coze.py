"""Coze (chat v3): request conversion, the SSE event stream (event names matter), whole answers folded
from the stream, errors; fixtures from Coze's API documentation."""

from __future__ import annotations

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.base import Target, Usage
from oneapi_app.relay.adaptors.coze import CozeAdaptor
from oneapi_app.relay.upstream import should_disable_channel

from .cn_helpers import call, decode, errors, finishes, last_usage, load, raw, text

ADAPTOR = CozeAdaptor()


def test_golden_request_bot_id_and_user_from_config():
    body = load("coze", "request_openai.json")
    request = ADAPTOR.build_request(Target(34, "", "pat_xxx", {"user_id": "123456789"}), call(body))
    assert request.url == "https://api.coze.com/v3/chat" and request.headers["Authorization"] == "Bearer pat_xxx"
    assert orjson.loads(request.body) == load("coze", "request_coze.json")
    fallback = orjson.loads(ADAPTOR.build_request(Target(34, "https://api.coze.cn/", "k"), call(body)).body)
    assert fallback["user_id"] == "client-user"


def test_model_must_name_a_bot():
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(34, "", "k"), call({"model": "gpt-4", "messages": []}))
    assert caught.value.status == 400 and not caught.value.retryable and "bot-<bot id>" in caught.value.message
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.build_request(Target(34, "", "k"), call({"model": "bot-1", "input": "x"}, kind="embeddings"))
    assert caught.value.status == 501


@pytest.mark.parametrize("chunk", [0, 1, 13, 200])
def test_stream_only_answer_deltas_then_usage(chunk):
    events = decode(ADAPTOR, call({"model": "bot-1"}, stream=True), raw("coze", "stream.txt"), chunk)
    assert text(events) == "2024-10-01 is a Tuesday."  # completed messages, verbose and follow_up are skipped
    assert last_usage(events) == Usage(614, 19) and finishes(events) == ["stop"] and not errors(events)


def test_crlf_stream():
    data = raw("coze", "stream.txt").replace(b"\n", b"\r\n")
    assert text(decode(ADAPTOR, call({"model": "bot-1"}, stream=True), data, 5)) == "2024-10-01 is a Tuesday."


def test_whole_answer_is_the_stream_folded():
    answer = ADAPTOR.parse_answer(call({"model": "bot-1"}), raw("coze", "stream.txt"), "text/event-stream")
    assert answer.text == "2024-10-01 is a Tuesday." and answer.usage == Usage(614, 19)
    assert answer.finish_reason == "stop" and answer.id == "7382159487131697202"


def test_failed_chat_is_an_error_event_and_a_failed_answer():
    events = decode(ADAPTOR, call({"model": "bot-1"}, stream=True), raw("coze", "stream_failed.txt"))
    assert errors(events)[0].status == 429 and errors(events)[0].message == "Request too frequent"
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(call({"model": "bot-1"}), raw("coze", "stream_failed.txt"), "text/event-stream")
    assert caught.value.status == 429
    error_event = b'event:error\ndata:{"code":5000,"msg":"internal error"}\n\n'
    assert errors(decode(ADAPTOR, call({"model": "bot-1"}, stream=True), error_event))[0].status == 500


def test_json_error_bodies():
    failure = ADAPTOR.map_error(200, raw("coze", "error_auth.json"))
    assert failure.status == 401 and should_disable_channel(failure)
    with pytest.raises(UpstreamFailure) as caught:
        ADAPTOR.parse_answer(call({"model": "bot-1"}), raw("coze", "error_auth.json"), "application/json")
    assert caught.value.status == 401
    missing = ADAPTOR.map_error(200, b'{"code": 4200, "msg": "Bot not found"}')
    assert missing.status == 404 and not missing.retryable
