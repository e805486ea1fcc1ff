"""The Responses dialect as a pure translator: request conversion golden tests (fixtures from OpenAI's API
reference and a Codex request), answers and stream encoding (tool-call deltas split across chunks,
reasoning, usage, errors), and the pass-through reader."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from oneapi_app.errors import RelayError, UpstreamFailure
from oneapi_app.relay.adaptors.base import Usage
from oneapi_app.relay.dialects.responses import (
    ResponsesDialect,
    ResponsesEncoder,
    ResponsesPassThrough,
    answer_response,
)
from oneapi_app.relay.dialects.responses_convert import replay_items, to_chat
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

FIXTURES = Path(__file__).parent / "fixtures" / "responses"


def fixture(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def events_of(stream: bytes) -> list[dict]:
    """SSE bytes -> the data objects, checking each ``event:`` line names its data's type."""
    out = []
    for block in stream.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        data = orjson.loads(lines[1][6:])
        assert data["type"] == lines[0][7:]
        out.append(data)
    return out


@pytest.mark.parametrize("name", ["request_codex", "request_vision_json"])
def test_request_conversion_matches_the_golden_chat_request(name):
    assert to_chat(fixture(f"{name}.json")) == fixture(f"{name}.chat.json")


def test_read_validates_model_input_and_bound():
    inbound = ResponsesDialect().read({"model": "m", "input": "hi", "stream": True, "max_output_tokens": 50}, None)
    assert (inbound.model, inbound.stream, inbound.max_tokens, inbound.wants_usage) == ("m", True, 50, True)
    for body, param in (({"input": "hi"}, "model"), ({"model": "m"}, "input"), ({"model": "m", "input": []}, "input"),
                        ({"model": "m", "input": "x", "max_output_tokens": "9"}, "max_output_tokens")):
        with pytest.raises(RelayError) as caught:
            ResponsesDialect().read(body, None)
        assert caught.value.status == 400 and caught.value.param == param


def test_codex_tools_built_ins_are_left_out_and_namespaces_flattened():
    tools = fixture("codex_tools.json")
    chat = to_chat({"model": "m", "input": "hi", "tools": tools})
    assert [t["function"]["name"] for t in chat["tools"]] == ["exec_command", "close_agent", "spawn_agent"]
    assert chat["tools"][0]["function"]["parameters"]["properties"]["cmd"] == {"type": "string"}


def test_unsupported_tools_and_items_are_refused_clearly():
    with pytest.raises(RelayError, match="type"):
        to_chat({"model": "m", "input": "hi", "tools": ["web_search"]})
    with pytest.raises(RelayError, match="item_reference"):
        to_chat({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]})
    with pytest.raises(RelayError, match="image_url"):
        to_chat({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]})


def test_system_prompt_replaces_instructions_and_prompt_is_counted():
    body = {"model": "gpt-4o", "input": "hello there", "instructions": "old"}
    assert ResponsesDialect().apply_system_prompt(body, "new")["instructions"] == "new"
    assert body["instructions"] == "old"
    assert ResponsesDialect().count_prompt(body, "gpt-4o") > 3


def test_replay_keeps_reasoning_only_with_encrypted_content_and_drops_minted_ids():
    items = [{"type": "message", "role": "user", "content": "hi"}]
    output = [{"type": "reasoning", "id": "rs_1", "summary": []},
              {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAA"},
              {"type": "message", "id": "msg_1", "role": "assistant",
               "content": [{"type": "output_text", "text": "yo", "logprobs": []}]},
              {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}"}]
    replayed = replay_items(items, output)
    assert replayed == [items[0], output[1],
                        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "yo"}]},
                        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]


def test_previous_response_history_is_replayed_into_the_relayed_body():
    history = [{"type": "message", "role": "user", "content": "first"},
               {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "one"}]}]
    dialect = ResponsesDialect(history)
    body = {"model": "m", "input": "second", "previous_response_id": "resp_1", "store": True}
    inbound = dialect.read(body, None)
    assert inbound.body is not None and "previous_response_id" not in inbound.body
    assert inbound.body["input"] == [*history, {"type": "message", "role": "user", "content": "second"}]
    assert dialect.items == inbound.body["input"] and dialect.request is body
    chat = to_chat(inbound.body)
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "user"]
    assert ResponsesDialect().read({"model": "m", "input": "x"}, None).body is None


def test_which_channels_serve_the_responses_api_is_the_registry_s_and_the_channel_s():
    assert ResponsesDialect().serves(1, {}) and not ResponsesDialect().serves(36, {})  # OpenAI yes, DeepSeek no
    assert ResponsesDialect().serves(8, {"responses_api": True}) and not ResponsesDialect().serves(1, {"responses_api": "false"})


def test_whole_answer_becomes_a_response_object():
    answer = Answer(id="x", model="gpt-4o", text="Hi!", reasoning="thinking",
                    tool_calls=[ToolCall("call_1", "get_weather", '{"location":"Paris"}')],
                    finish_reason="tool_calls", usage=Usage(10, 20, 4, 6))
    request = {"model": "gpt-4o", "input": "x", "instructions": "be nice", "store": False}
    response = answer_response(answer, "gpt-4o", request, "resp_1")
    assert response["id"] == "resp_1" and response["object"] == "response" and response["status"] == "completed"
    assert response["instructions"] == "be nice" and response["store"] is False
    kinds = [item["type"] for item in response["output"]]
    assert kinds == ["reasoning", "message", "function_call"]
    assert response["output"][1]["content"][0] == {"type": "output_text", "text": "Hi!", "annotations": [],
                                                   "logprobs": []}
    call = response["output"][2]
    assert (call["call_id"], call["name"], call["arguments"]) == ("call_1", "get_weather", '{"location":"Paris"}')
    assert response["usage"] == {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
                                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 6},
                                 "total_tokens": 30}
    truncated = answer_response(Answer(text="abc", finish_reason="length"), "m", {}, "resp_2")
    assert truncated["status"] == "incomplete"
    assert truncated["incomplete_details"] == {"reason": "max_output_tokens"}


def test_stream_with_reasoning_text_and_tool_calls_split_across_chunks():
    stored: list[dict] = []
    encoder = ResponsesEncoder("gpt-4o", {"model": "gpt-4o", "input": "x"}, "resp_s", stored.append)
    out = encoder.feed([Start(id="chatcmpl-1", model="gpt-4o-2024")])
    out += encoder.feed([ReasoningDelta("Let me "), ReasoningDelta("think.")])
    out += encoder.feed([TextDelta("Checking")])
    out += encoder.feed([ToolCallDelta(0, id="call_a", name="get_weather", arguments='{"loc')])
    out += encoder.feed([ToolCallDelta(0, arguments='ation": "Par')])
    out += encoder.feed([ToolCallDelta(0, arguments='is"}'), ToolCallDelta(1, id="call_b", name="get_time")])
    out += encoder.feed([ToolCallDelta(1, arguments="{}")])
    out += encoder.feed([ToolCallDelta(2, id="call_c", name="no_args")])
    out += encoder.feed([Finish("tool_calls"), UsageReport(Usage(12, 30, 0, 5))])
    out += encoder.finish()
    events = events_of(out)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.done", "response.output_item.done",
        "response.completed"]
    assert events[0]["response"]["id"] == "resp_s" and events[0]["response"]["status"] == "in_progress"
    arguments_done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [e["arguments"] for e in arguments_done] == ['{"location": "Paris"}', "{}", "{}"]
    assert [e["output_index"] for e in arguments_done] == [2, 3, 4]
    completed = events[-1]["response"]
    assert completed["status"] == "completed" and completed["model"] == "gpt-4o-2024"
    assert completed["usage"]["output_tokens_details"] == {"reasoning_tokens": 5}
    assert [i["type"] for i in completed["output"]] == ["reasoning", "message", *["function_call"] * 3]
    assert completed["output"][2]["call_id"] == "call_a" and completed["output"][3]["name"] == "get_time"
    assert stored == [completed]


def test_usage_only_stream_and_empty_answer_still_complete():
    encoder = ResponsesEncoder("m", {}, "resp_e")
    out = encoder.feed([UsageReport(Usage(3, 0))]) + encoder.finish()
    events = events_of(out)
    assert [e["type"] for e in events][-1] == "response.completed"
    completed = events[-1]["response"]
    assert completed["usage"]["input_tokens"] == 3
    assert completed["output"][0]["content"][0]["text"] == ""


def test_length_finish_is_response_incomplete():
    encoder = ResponsesEncoder("m", {}, "resp_l")
    events = events_of(encoder.feed([TextDelta("abc"), Finish("length")]) + encoder.finish())
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_error_mid_stream_is_response_failed():
    encoder = ResponsesEncoder("m", {}, "resp_f")
    out = encoder.feed([TextDelta("partial")])
    failure = UpstreamFailure("upstream broke", status=502, retryable=False, code="bad_gateway")
    with pytest.raises(UpstreamFailure):
        encoder.feed([StreamError(failure)])
    ending = events_of(ResponsesEncoder("m", {}, "resp_f").error(failure, "req-1"))  # (the pipeline's own encoder)
    assert [e["type"] for e in ending] == ["response.failed"]
    events = events_of(out) + ending
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"]["code"] == "bad_gateway"
    assert "req-1" in events[-1]["response"]["error"]["message"]


def test_pass_through_keeps_events_and_reads_usage_and_stored_output():
    stored: list[dict] = []
    reader = ResponsesPassThrough(stored.append)
    completed = {"type": "response.completed", "sequence_number": 5,
                 "response": {"id": "resp_up", "output": [{"type": "message"}],
                              "usage": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13,
                                        "output_tokens_details": {"reasoning_tokens": 1}}}}
    delta = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n'
    assert reader.raw and reader.feed(delta) == delta  # the upstream's bytes, unchanged
    spaced = orjson.dumps(completed).replace(b'","', b'", "')  # not OpenAI's own spelling: still read
    head, tail = b"event: response.completed\ndata: " + spaced[:20], spaced[20:] + b"\n\n"
    assert reader.feed(head) == head and reader.usage is None  # cut inside the line: read once it ends
    assert reader.feed(tail) == tail
    assert reader.usage == Usage(9, 4, 0, 1)
    assert reader.text() == "Hi" and reader.done and reader.finish() is None
    assert stored == [completed["response"]]


def test_per_request_dialect_stores_whole_answers():
    stored: list[dict] = []
    dialect = ResponsesDialect(None, stored.append, "resp_w")
    dialect.read({"model": "m", "input": "hi"}, None)
    body = orjson.loads(dialect.encode_answer(Answer(text="ok", usage=Usage(1, 1)), "m"))
    assert body["id"] == "resp_w" and stored == [body]
