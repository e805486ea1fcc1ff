"""A fake provider for the Responses and Gemini dialects' end-to-end tests (aiohttp on a free port), answering
in each provider's documented wire format:

- ``POST /v1/chat/completions`` (OpenAI chat, for converted requests): a streamed answer with reasoning,
  text, and -- when the request has tools -- two tool calls whose arguments arrive split across chunks, then
  the usage chunk; or the whole answer;
- ``POST /v1/responses`` (OpenAI's Responses API, for pass-through): a ``response`` object, or its stream
  events with their ``event:`` lines;
- ``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent?alt=sse`` (Gemini).

The channel key picks a behaviour: ``ok``; ``slow`` streams a chunk every 20 ms for a long time (the client
leaves mid-stream); ``fail500`` answers 500.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from tests.local_server import Seen

IDS = itertools.count(1)
USAGE = {"prompt_tokens": 21, "completion_tokens": 13, "total_tokens": 34}


@dataclass
class FakeProvider:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    slow_sent: int = 0


def _key(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return auth or request.headers.get("x-goog-api-key", "") or request.headers.get("api-key", "")


def _chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    event: dict = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
                   "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        event["usage"] = usage
    return b"data: " + orjson.dumps(event) + b"\n\n"


def _tool_chunks() -> list[bytes]:
    def call(index: int, **fields) -> bytes:
        return _chunk({"tool_calls": [{"index": index, **fields}]})

    return [call(0, id="call_w", type="function", function={"name": "get_weather", "arguments": ""}),
            call(0, function={"arguments": '{"loca'}), call(0, function={"arguments": 'tion": "Paris"}'}),
            call(1, id="call_t", type="function", function={"name": "get_time", "arguments": '{"tz":'}),
            call(1, function={"arguments": ' "UTC"}'})]


async def _stream(request: web.Request, state: FakeProvider, parts: list[bytes], key: str,
                  content_type: str = "text/event-stream") -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": content_type})
    await resp.prepare(request)
    try:
        if key == "slow":
            for part in parts[:1]:
                await resp.write(part)
            for _ in range(2000):
                await resp.write(parts[1])
                state.slow_sent += 1
                await asyncio.sleep(0.02)
            return resp
        for part in parts:
            await resp.write(part)
    except (ConnectionError, asyncio.CancelledError):
        state.disconnected.set()
        raise
    return resp


def shell_call(tools: list) -> tuple[str, str] | None:
    """(name, arguments) running ``echo codex-was-here > proof.txt`` with whichever shell tool a coding agent
    (Codex) offers, its arguments shaped by the tool's schema."""
    for tool in tools:
        function = tool.get("function") or {}
        name = function.get("name", "")
        props = (function.get("parameters") or {}).get("properties") or {}
        command = "echo codex-was-here > proof.txt"
        if "cmd" in props:
            return name, orjson.dumps({"cmd": command}).decode()
        if "command" in props and name in ("shell", "shell_command", "exec_command", "local_shell"):
            value = ["bash", "-lc", command] if props["command"].get("type") == "array" else command
            return name, orjson.dumps({"command": value}).decode()
    return None


def _agent_turn(body: dict) -> list[bytes]:
    """An agent's turn: run the shell tool first, then (once its output came back) say it is done."""
    messages = body.get("messages") or []
    call = shell_call(body.get("tools") or [])
    parts = [_chunk({"role": "assistant", "content": ""})]
    if call is not None and not any(m.get("role") == "tool" for m in messages):
        name, arguments = call
        parts += [_chunk({"tool_calls": [{"index": 0, "id": "call_sh", "type": "function",
                                          "function": {"name": name, "arguments": arguments[:10]}}]}),
                  _chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[10:]}}]}),
                  _chunk({}, "tool_calls")]
    else:
        parts += [_chunk({"content": "All done: proof.txt written."}), _chunk({}, "stop")]
    return [*parts, _chunk(None, usage=USAGE), b"data: [DONE]\n\n"]


async def chat(request: web.Request, state: FakeProvider) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    tools = bool(body.get("tools"))
    key = _key(request)
    if key == "agent":
        return await _stream(request, state, _agent_turn(body), key)
    if not body.get("stream"):
        message: dict = {"role": "assistant", "content": "Hello from chat.", "reasoning_content": "Thinking."}
        if tools:
            message["tool_calls"] = [{"id": "call_w", "type": "function",
                                      "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'}}]
        answer = {"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up-model",
                  "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tools else "stop"}],
                  "usage": USAGE}
        return web.json_response(answer)
    parts = [_chunk({"role": "assistant", "content": ""}), _chunk({"reasoning_content": "Thinking."}),
             _chunk({"content": "Hello"}), _chunk({"content": " from chat."})]
    if tools:
        parts += _tool_chunks()
    parts.append(_chunk({}, "tool_calls" if tools else "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        parts.append(_chunk(None, usage=USAGE))
    parts.append(b"data: [DONE]\n\n")
    return await _stream(request, state, parts, key)


def response_object(status: str = "completed", number: int = 1) -> dict:
    return {"id": f"resp_upstream{number}", "object": "response", "created_at": 1, "status": status, "model": "up-model",
            "output": [{"id": "msg_up", "type": "message", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "Hello from responses.", "annotations": []}]}],
            "usage": {"input_tokens": 17, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 22}}


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def response_events(number: int = 1) -> list[bytes]:
    final = response_object(number=number)
    shell = {**final, "status": "in_progress", "output": [], "usage": None}
    item = final["output"][0]
    return [_event({"type": "response.created", "sequence_number": 0, "response": shell}),
            _event({"type": "response.in_progress", "sequence_number": 1, "response": shell}),
            _event({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
                    "item": {**item, "status": "in_progress", "content": []}}),
            _event({"type": "response.content_part.added", "sequence_number": 3, "item_id": "msg_up",
                    "output_index": 0, "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []}}),
            _event({"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_up",
                    "output_index": 0, "content_index": 0, "delta": "Hello", "logprobs": []}),
            _event({"type": "response.output_text.delta", "sequence_number": 5, "item_id": "msg_up",
                    "output_index": 0, "content_index": 0, "delta": " from responses.", "logprobs": []}),
            _event({"type": "response.output_text.done", "sequence_number": 6, "item_id": "msg_up",
                    "output_index": 0, "content_index": 0, "text": "Hello from responses.", "logprobs": []}),
            _event({"type": "response.content_part.done", "sequence_number": 7, "item_id": "msg_up",
                    "output_index": 0, "content_index": 0, "part": item["content"][0]}),
            _event({"type": "response.output_item.done", "sequence_number": 8, "output_index": 0, "item": item}),
            _event({"type": "response.completed", "sequence_number": 9, "response": final})]


def _agent_events(body: dict, number: int) -> list[bytes]:
    """An agent's turn in Responses events: a function_call item running the shell tool, then (once its output
    came back) a message."""
    tools = [{"function": t} for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") == "function"]
    call = shell_call(tools)
    answered = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in body.get("input") or ())
    final = response_object(number=number)
    if call is not None and not answered:
        item = {"id": "fc_up", "type": "function_call", "status": "completed", "call_id": "call_sh", "name": call[0],
                "arguments": call[1]}
        final["output"] = [item]
        events = [{"type": "response.output_item.added", "output_index": 0,
                   "item": {**item, "arguments": "", "status": "in_progress"}},
                  {"type": "response.function_call_arguments.delta", "item_id": "fc_up", "output_index": 0,
                   "delta": call[1]},
                  {"type": "response.function_call_arguments.done", "item_id": "fc_up", "output_index": 0,
                   "arguments": call[1]},
                  {"type": "response.output_item.done", "output_index": 0, "item": item}]
    else:
        item = {**final["output"][0], "content": [{"type": "output_text", "text": "All done: proof.txt written.",
                                                   "annotations": []}]}
        final["output"] = [item]
        events = [{"type": "response.output_item.added", "output_index": 0,
                   "item": {**item, "status": "in_progress", "content": []}},
                  {"type": "response.output_text.delta", "item_id": "msg_up", "output_index": 0, "content_index": 0,
                   "delta": "All done: proof.txt written.", "logprobs": []},
                  {"type": "response.output_item.done", "output_index": 0, "item": item}]
    shell = {**final, "status": "in_progress", "output": [], "usage": None}
    events = [{"type": "response.created", "response": shell}, *events,
              {"type": "response.completed", "response": final}]
    return [_event({**e, "sequence_number": i}) for i, e in enumerate(events)]


async def responses(request: web.Request, state: FakeProvider) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    if _key(request) == "agent":
        return await _stream(request, state, _agent_events(body, next(IDS)), "agent")
    if not body.get("stream"):
        return web.json_response(response_object(number=next(IDS)))
    return await _stream(request, state, response_events(next(IDS)), _key(request))


def gemini_chunk(parts: list[dict], finish: str | None = None, usage: bool = False) -> dict:
    candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    data: dict = {"candidates": [candidate], "modelVersion": "gemini-up", "responseId": "gem-1"}
    if usage:
        data["usageMetadata"] = {"promptTokenCount": 11, "candidatesTokenCount": 6, "totalTokenCount": 17}
    return data


async def gemini(request: web.Request, state: FakeProvider) -> web.StreamResponse:
    await request.read()
    action = request.match_info["action"]
    if action == "generateContent":
        return web.json_response(gemini_chunk([{"text": "Hello from Gemini."}], "STOP", usage=True))
    chunks = [gemini_chunk([{"text": "Hello"}]), gemini_chunk([{"text": " from Gemini."}], "STOP", usage=True)]
    return await _stream(request, state, [b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks],
                         _key(request))


async def provider_app(state: FakeProvider) -> web.Application:
    def handler(serve):
        async def handle(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            state.seen.append(Seen(request.path, request.query_string, dict(request.headers), raw))
            if _key(request).startswith("fail"):
                return web.json_response({"error": {"message": "upstream says 500", "type": "server_error",
                                                    "code": "boom"}}, status=500)
            return await serve(request, state)

        return handle

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler(chat))
    app.router.add_post("/v1/responses", handler(responses))
    app.router.add_post("/v1beta/models/{model}:{action}", handler(gemini))
    return app
