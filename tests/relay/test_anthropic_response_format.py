"""OpenAI's ``response_format`` on Claude channels (Anthropic, and Claude on Bedrock and Vertex, which share the
converter): json_schema through a forced response tool whose input is the answer's text, json_object through
the system prompt. Conversions on JSON, then the openai SDK's ``parse()`` and a stream through the gateway
against a fake Anthropic upstream that answers through the tool it is forced to call."""

from __future__ import annotations

import openai
import orjson
import pytest
from aiohttp import web
from pydantic import BaseModel

from oneapi_app.relay.adaptors.anthropic import AnthropicAdaptor
from oneapi_app.relay.adaptors.anthropic_messages import answer_of, convert_request
from oneapi_app.relay.adaptors.anthropic_stream import AnthropicDecoder
from oneapi_app.relay.adaptors.bedrock_claude import claude_body
from oneapi_app.relay.adaptors.response_format import JSON_OBJECT_INSTRUCTION
from oneapi_app.relay.events import Finish, TextDelta, ToolCallDelta
from tests.local_server import serving

from .conftest import add_channel, add_token, logs, sdk

MODEL = "claude-sonnet-4-6"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
          "required": ["city", "temp"], "additionalProperties": False}
WEATHER = {"type": "json_schema", "json_schema": {"name": "Weather", "schema": SCHEMA, "strict": True}}
USER = [{"role": "user", "content": "Weather in Paris?"}]
LOOKUP = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def test_json_schema_forces_the_response_tool():
    out = convert_request({"messages": USER, "response_format": WEATHER}, MODEL, False)
    assert out["tools"] == [{"name": "Weather", "description": out["tools"][0]["description"], "input_schema": SCHEMA}]
    assert out["tool_choice"] == {"type": "tool", "name": "Weather"}


def test_with_the_clients_tools_some_tool_is_required_and_a_named_choice_kept():
    out = convert_request({"messages": USER, "response_format": WEATHER, "tools": [LOOKUP]}, MODEL, False)
    assert [t["name"] for t in out["tools"]] == ["lookup", "Weather"] and out["tool_choice"] == {"type": "any"}
    named = {"type": "function", "function": {"name": "lookup"}}
    out = convert_request({"messages": USER, "response_format": WEATHER, "tools": [LOOKUP], "tool_choice": named},
                          MODEL, False)
    assert out["tool_choice"] == {"type": "tool", "name": "lookup"}
    out = convert_request({"messages": USER, "response_format": WEATHER, "tools": [LOOKUP], "tool_choice": "none"},
                          MODEL, False)
    assert out["tool_choice"] == {"type": "tool", "name": "Weather"}


def test_json_object_is_an_instruction_and_other_formats_are_refused():
    out = convert_request({"messages": [{"role": "system", "content": "Be brief."}, *USER],
                           "response_format": {"type": "json_object"}}, MODEL, False)
    assert out["system"] == f"Be brief.\n\n{JSON_OBJECT_INSTRUCTION}" and "tools" not in out
    assert "system" not in convert_request({"messages": USER, "response_format": {"type": "text"}}, MODEL, False)
    with pytest.raises(Exception) as caught:
        convert_request({"messages": USER, "response_format": {"type": "xml"}}, MODEL, False)
    assert getattr(caught.value, "status", None) == 400


def test_with_thinking_the_forced_choice_becomes_an_instruction():
    body = {"messages": USER, "response_format": WEATHER, "reasoning_effort": "low"}
    out = claude_body(body, MODEL, "bedrock-2023-05-31", False)
    assert out["thinking"]["type"] == "enabled" and out["tool_choice"] == {"type": "auto"}
    assert out["system"].endswith("Answer by calling Weather.")


def test_the_response_tools_input_is_the_answer():
    data = {"id": "m", "model": MODEL, "stop_reason": "tool_use", "usage": {"input_tokens": 9, "output_tokens": 7},
            "content": [{"type": "text", "text": "Sure, here it is."},
                        {"type": "tool_use", "id": "t1", "name": "Weather", "input": {"city": "Paris", "temp": 21}}]}
    answer = answer_of(data, "Weather")
    assert answer.text == '{"city":"Paris","temp":21}' and answer.tool_calls == [] and answer.finish_reason == "stop"
    plain = answer_of(data)  # without response_format: a tool call, as before
    assert plain.text == "Sure, here it is." and plain.tool_calls[0].name == "Weather"


def _events(decoder: AnthropicDecoder, events: list[dict]) -> list:
    return [e for event in events for e in decoder.feed(orjson.dumps(event))] + decoder.finish()


STREAM = [
    {"type": "message_start", "message": {"id": "m", "model": MODEL, "usage": {"input_tokens": 9}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Here:"}},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t", "name": "Weather",
                                                                  "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": "Pa'}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'ris", "temp": 21}'}},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
]


def test_stream_gives_the_tools_input_as_text_and_drops_the_preamble():
    events = _events(AnthropicDecoder("Weather"), STREAM)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == '{"city": "Paris", "temp": 21}'
    assert not any(isinstance(e, ToolCallDelta) for e in events)
    assert [e.reason for e in events if isinstance(e, Finish)] == ["stop"]


def test_stream_without_the_tool_gives_the_held_text_before_the_finish():
    events = _events(AnthropicDecoder("Weather"), [*STREAM[:3], STREAM[-1] | {"delta": {"stop_reason": "end_turn"}}])
    kinds = [(type(e).__name__, getattr(e, "text", getattr(e, "reason", None))) for e in events[1:]]
    assert kinds[:2] == [("TextDelta", "Here:"), ("Finish", "stop")]


# -- end to end -------------------------------------------------------------------------------------------
class FakeClaude:
    """Answers through the tool it is forced to call (or the first tool), with a preamble text block."""

    def __init__(self) -> None:
        self.url = ""
        self.bodies: list[dict] = []

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.bodies.append(body)
        choice = body.get("tool_choice") or {}
        tool = choice.get("name") or body["tools"][0]["name"]
        usage = {"input_tokens": 20, "output_tokens": 10}
        head = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"]}
        weather = {"city": "Paris", "temp": 21}
        if not body.get("stream"):
            return web.json_response({**head, "stop_reason": "tool_use", "usage": usage, "content": [
                {"type": "text", "text": "Let me answer."},
                {"type": "tool_use", "id": "toolu_1", "name": tool, "input": weather}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        text = orjson.dumps(weather).decode()
        events = [{"type": "message_start", "message": {**head, "content": [], "usage": {**usage, "output_tokens": 1}}},
                  {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                  {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me."}},
                  {"type": "content_block_stop", "index": 0},
                  {"type": "content_block_start", "index": 1,
                   "content_block": {"type": "tool_use", "id": "toolu_1", "name": tool, "input": {}}},
                  *({"type": "content_block_delta", "index": 1,
                     "delta": {"type": "input_json_delta", "partial_json": text[i:i + 7]}} for i in range(0, len(text), 7)),
                  {"type": "content_block_stop", "index": 1},
                  {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 10}},
                  {"type": "message_stop"}]
        for event in events:
            await resp.write(f"event: {event['type']}\n".encode() + b"data: " + orjson.dumps(event) + b"\n\n")
        return resp


@pytest.fixture
async def claude():
    state = FakeClaude()
    app = web.Application()
    app.router.add_post("/v1/messages", state.messages)
    async with serving(app) as state.url:
        yield state


class Weather(BaseModel):
    city: str
    temp: float


async def test_sdk_parse_and_stream_get_the_json_and_are_billed(runtime, gateway, claude):
    await add_channel(runtime, claude.url, key="ok", models=MODEL, type=14)
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    client = sdk(gateway, key)

    parsed = await client.chat.completions.parse(model=MODEL, messages=USER, response_format=Weather)
    message = parsed.choices[0].message
    assert message.parsed == Weather(city="Paris", temp=21) and not message.tool_calls
    assert parsed.choices[0].finish_reason == "stop"
    assert claude.bodies[-1]["tool_choice"] == {"type": "tool", "name": "Weather"}

    stream = await client.chat.completions.create(model=MODEL, messages=USER, stream=True,
                                                  response_format={"type": "json_schema", "json_schema": {
                                                      "name": "Weather", "schema": SCHEMA}})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert orjson.loads(text) == {"city": "Paris", "temp": 21}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]

    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model=MODEL, messages=USER, response_format={"type": "xml"})  # type: ignore[arg-type,typeddict-item]
    entries = await logs(runtime)
    assert len(entries) == 2 and all(e["prompt_tokens"] == 20 and e["completion_tokens"] == 10 for e in entries)


def test_the_adaptor_passes_the_response_tool_to_its_answer_and_decoder():
    from oneapi_app.relay.adaptors.base import Call

    body = {"model": MODEL, "messages": USER, "response_format": WEATHER}
    call = Call(kind="chat", path="/v1/chat/completions", model=MODEL, body=body, raw=orjson.dumps(body),
                rewritten=False, stream=True)
    assert AnthropicAdaptor().decoder(call).response_tool == "Weather"
