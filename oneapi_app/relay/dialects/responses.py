"""The OpenAI Responses dialect: ``POST /v1/responses`` (what Codex and ``client.responses.*`` speak).

Towards a channel whose API serves /v1/responses itself (``ChannelType.responses_api``, or a channel's
``responses_api`` config) the client's bytes pass through and the upstream's come back unchanged; usage is
read from the ``response.completed`` event (``ResponsesPassThrough``). Towards any other channel the body goes
through ``responses_convert.to_chat`` once and the answer comes back as ``events.Answer`` / typed events,
encoded here into a ``response`` object and the Responses stream events the SDK reads:
``response.created``, ``response.in_progress``, ``response.output_item.added``/``done``,
``response.content_part.added``/``done``, ``response.output_text.delta``/``done``,
``response.reasoning_summary_*``, ``response.function_call_arguments.delta``/``done`` and
``response.completed`` (``response.incomplete`` when the output bound was hit) with usage, or
``response.failed`` when the upstream broke mid-stream. The pass-through stream is raw: the upstream's bytes as they came.

A stored response (``store`` not false) is kept by the gateway (services/responses_store.py): the encoders
call ``on_done(response)`` with the final response object so the store can save its output items.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import orjson

from ...catalog.channel_types import serves_responses
from ...errors import AppError, RelayError, UpstreamFailure
from ...i18n import msg
from ..adaptors.base import RawPassStream, Usage
from ..events import Answer, EncoderEnd, Event, ReasoningDelta, Start, TextDelta, ToolCallDelta
from .base import Inbound
from .responses_convert import as_items, to_chat

MAX_TOKENS_LIMIT = 1 << 30
# The fields of the request a response object echoes back (the SDK reads some, Codex none).
ECHOED = ("instructions", "max_output_tokens", "metadata", "parallel_tool_calls", "previous_response_id",
          "reasoning", "temperature", "text", "tool_choice", "tools", "top_p", "truncation", "user")
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}

OnDone = Callable[[dict], None]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def responses_usage(usage: Usage | None) -> dict:
    usage = usage or Usage()
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def response_shell(response_id: str, model: str, request: dict, status: str, created_at: int) -> dict:
    """A response object without output (``response.created``), echoing the request's settings."""
    shell: dict = {"id": response_id, "object": "response", "created_at": created_at, "status": status,
                   "background": False, "error": None, "incomplete_details": None, "model": model, "output": [],
                   "parallel_tool_calls": True, "store": request.get("store") is not False, "temperature": 1.0,
                   "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
                   "truncation": "disabled", "usage": None, "metadata": {}, "instructions": None,
                   "max_output_tokens": None, "previous_response_id": None,
                   "reasoning": {"effort": None, "summary": None}, "user": None}
    for name in ECHOED:
        if request.get(name) is not None:
            shell[name] = request[name]
    return shell


def _finish_status(response: dict, finish_reason: str) -> None:
    reason = INCOMPLETE.get(finish_reason)
    response["status"] = "incomplete" if reason else "completed"
    response["incomplete_details"] = {"reason": reason} if reason else None


def message_item(item_id: str, text: str, status: str = "completed") -> dict:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def reasoning_item(item_id: str, text: str) -> dict:
    return {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict:
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments, "call_id": call_id,
            "name": name}


def answer_response(answer: Answer, model: str, request: dict, response_id: str) -> dict:
    """A whole internal answer -> a Responses ``response`` object."""
    response = response_shell(response_id, answer.model or model, request, "completed",
                              answer.created or int(time.time()))
    output: list[dict] = []
    if answer.reasoning:
        output.append(reasoning_item(new_id("rs"), answer.reasoning))
    if answer.text or not answer.tool_calls:
        output.append(message_item(new_id("msg"), answer.text))
    for call in answer.tool_calls:
        output.append(call_item(new_id("fc"), call.id or new_id("call"), call.name, call.arguments or "{}"))
    response["output"] = output
    response["usage"] = responses_usage(answer.usage)
    _finish_status(response, answer.finish_reason)
    return response


def sse(event: dict) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class _Item:
    __slots__ = ("call_id", "id", "index", "kind", "name", "parts")

    def __init__(self, kind: str, item_id: str, index: int, call_id: str = "", name: str = "") -> None:
        self.kind, self.id, self.index, self.call_id, self.name = kind, item_id, index, call_id, name
        self.parts: list[str] = []


class ResponsesEncoder(EncoderEnd):
    """Typed events -> Responses stream events. Items open as their first piece arrives and close when
    another kind of item starts or the answer finishes; ``finish`` sends ``response.completed`` (or
    ``response.incomplete``) with the usage and every output item."""

    def __init__(self, model: str, request: dict, response_id: str, on_done: OnDone | None = None) -> None:
        super().__init__()
        self.model = model
        self.request = request
        self.response_id = response_id
        self.on_done = on_done
        self.created_at = int(time.time())
        self.seq = 0
        self.started = False
        self.output: list[dict] = []
        self.open: _Item | None = None
        self.calls: dict[int, _Item] = {}  # tool call index -> its item

    def _event(self, kind: str, **fields: object) -> bytes:
        event = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return sse(event)

    def _shell(self, status: str) -> dict:
        return response_shell(self.response_id, self.model, self.request, status, self.created_at)

    def _start(self, out: list[bytes]) -> None:
        if not self.started:
            self.started = True
            out.append(self._event("response.created", response=self._shell("in_progress")))
            out.append(self._event("response.in_progress", response=self._shell("in_progress")))

    def _close(self, out: list[bytes]) -> None:
        item = self.open
        if item is None:
            return
        self.open = None
        text = "".join(item.parts)
        if item.kind == "message":
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out.append(self._event("response.output_text.done", item_id=item.id, output_index=item.index,
                                   content_index=0, text=text, logprobs=[]))
            out.append(self._event("response.content_part.done", item_id=item.id, output_index=item.index,
                                   content_index=0, part=part))
            done = message_item(item.id, text)
        elif item.kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            out.append(self._event("response.reasoning_summary_text.done", item_id=item.id,
                                   output_index=item.index, summary_index=0, text=text))
            out.append(self._event("response.reasoning_summary_part.done", item_id=item.id,
                                   output_index=item.index, summary_index=0, part=part))
            done = reasoning_item(item.id, text)
        else:
            text = text or "{}"  # a call without arguments: an empty JSON object, as OpenAI sends it
            out.append(self._event("response.function_call_arguments.done", item_id=item.id,
                                   output_index=item.index, name=item.name, arguments=text))
            done = call_item(item.id, item.call_id, item.name, text)
        self.output.append(done)
        out.append(self._event("response.output_item.done", output_index=item.index, item=done))

    def _open(self, out: list[bytes], kind: str, call_id: str = "", name: str = "") -> _Item:
        self._close(out)
        prefix = {"message": "msg", "reasoning": "rs", "function_call": "fc"}[kind]
        item = _Item(kind, new_id(prefix), len(self.output), call_id, name)
        self.open = item
        if kind == "message":
            added = {"id": item.id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
            out.append(self._event("response.output_item.added", output_index=item.index, item=added))
            out.append(self._event("response.content_part.added", item_id=item.id, output_index=item.index,
                                   content_index=0, part={"type": "output_text", "text": "", "annotations": [],
                                                          "logprobs": []}))
        elif kind == "reasoning":
            out.append(self._event("response.output_item.added", output_index=item.index,
                                   item={"id": item.id, "type": "reasoning", "summary": []}))
            out.append(self._event("response.reasoning_summary_part.added", item_id=item.id,
                                   output_index=item.index, summary_index=0,
                                   part={"type": "summary_text", "text": ""}))
        else:
            out.append(self._event("response.output_item.added", output_index=item.index,
                                   item=call_item(item.id, call_id, name, "", "in_progress")))
        return item

    def feed(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if isinstance(event, TextDelta):
                if not event.text:
                    continue
                self._start(out)
                item = self.open if self.open is not None and self.open.kind == "message" else self._open(out, "message")
                item.parts.append(event.text)
                out.append(self._event("response.output_text.delta", item_id=item.id, output_index=item.index,
                                       content_index=0, delta=event.text, logprobs=[]))
            elif isinstance(event, ToolCallDelta):
                self._start(out)
                call = self.calls.get(event.index)
                if call is None:
                    call = self._open(out, "function_call", event.id or new_id("call"), event.name)
                    self.calls[event.index] = call
                if event.arguments and call is self.open:  # (OpenAI-style upstreams send calls one by one)
                    call.parts.append(event.arguments)
                    out.append(self._event("response.function_call_arguments.delta", item_id=call.id,
                                           output_index=call.index, delta=event.arguments))
            elif isinstance(event, ReasoningDelta):
                if not event.text:
                    continue
                self._start(out)
                item = self.open if self.open is not None and self.open.kind == "reasoning" else self._open(
                    out, "reasoning")
                item.parts.append(event.text)
                out.append(self._event("response.reasoning_summary_text.delta", item_id=item.id,
                                       output_index=item.index, summary_index=0, delta=event.text))
            elif isinstance(event, Start):
                self.model = event.model or self.model
                self._start(out)
            else:
                self.note(event)
        return b"".join(out)

    def finish(self) -> bytes:
        out: list[bytes] = []
        self._start(out)
        self._close(out)
        if not self.output:  # an empty answer is still one (empty) message, as OpenAI sends it
            self._open(out, "message")
            self._close(out)
        response = self._shell("completed")
        response["output"] = self.output
        response["usage"] = responses_usage(self.usage)
        _finish_status(response, self.finish_reason)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, response=response))
        if self.on_done is not None:
            self.on_done(response)
        return b"".join(out)

    def error(self, failure: UpstreamFailure, request_id: str) -> bytes:
        """``response.failed`` (the stream already began: the pipeline ends it with this one event)."""
        out: list[bytes] = []
        response = self._shell("failed")
        response["output"] = self.output
        body = failure.openai_body(request_id)["error"]
        response["error"] = {"code": str(body.get("code") or "server_error"), "message": str(body.get("message"))}
        out.append(self._event("response.failed", response=response))
        return b"".join(out)


class ResponsesPassThrough(RawPassStream):
    """A Responses stream passed through byte for byte (RawPassStream: chunk boundaries, ``event:`` and
    comment lines kept). Only the data line of ``response.completed`` (``.incomplete``, ``.failed``), found by
    a byte search, is parsed: the usage and the stored output. The chunks are kept (compacted to the text
    deltas) only for a local count when no usage came."""

    __slots__ = ("on_done", "response")
    MAX_LINE = 64 * 1024 * 1024  # an unfinished line longer than this is dropped (never a final event we read)
    FINAL = (b"response.completed", b"response.incomplete", b"response.failed")
    COMPACT_NEEDLE = b"response.output_text.delta"

    def __init__(self, on_done: OnDone | None = None) -> None:
        super().__init__()  # done: a Responses stream has no terminator of its own, nothing is appended
        self.response: dict | None = None
        self.on_done = on_done

    def _wants(self, data: bytes, cut: int) -> bool:
        return bool(cut) and (b"response.completed" in data or b"response.incomplete" in data
                              or b"response.failed" in data)

    def _read(self, lines: bytes) -> None:
        for event in self.data_events(lines.split(b"\n"), *self.FINAL):
            kind = event.get("type") if isinstance(event, dict) else None
            response = event.get("response") if isinstance(event, dict) else None
            if kind not in ("response.completed", "response.incomplete", "response.failed") \
                    or not isinstance(response, dict):
                continue
            self.response = response
            self.usage = Usage.from_openai(response.get("usage")) or self.usage
            if self.on_done is not None and kind != "response.failed":
                self.on_done(response)

    def _take(self, event: object) -> None:
        if isinstance(event, dict) and isinstance(event.get("delta"), str) \
                and event.get("type") == "response.output_text.delta":
            self._text.append(event["delta"])

    def text(self) -> str:
        self._chunks.append(b"\n")  # the last line, unterminated, still counts
        return super().text()


def read_request(body: dict, path_model: str | None = None) -> Inbound:
    model = body.get("model") if isinstance(body.get("model"), str) else ""
    if not model:
        raise RelayError(msg("relay.field_required", field="model"), status=400, code="invalid_request_error",
                         param="model")
    items = body.get("input")
    if not ((isinstance(items, str) and items) or (isinstance(items, list) and items)):
        raise RelayError(msg("responses.input_required"), status=400, code="invalid_request_error", param="input")
    bound = body.get("max_output_tokens")
    if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)
                              or not 0 <= bound < MAX_TOKENS_LIMIT):
        raise RelayError(msg("relay.bad_integer", field="max_output_tokens"), status=400,
                         code="invalid_request_error", param="max_output_tokens")
    return Inbound(model, body.get("stream") is True, int(bound or 0), True)


class ResponsesDialect:
    """One instance per request (the routes make it): ``history`` is the stored conversation a
    ``previous_response_id`` continues (its input and output items), ``on_done`` stores the final response.
    ``response_id`` is the id the gateway gives a converted answer (a pass-through keeps the upstream's)."""

    name = "responses"
    family = "openai"
    forward_headers: tuple[str, ...] = ()

    def __init__(self, history: list | None = None, on_done: OnDone | None = None, response_id: str = "") -> None:
        self.history = history
        self.on_done = on_done
        self.response_id = response_id or new_id("resp")
        self.request: dict = {}
        self.items: list = []  # every input item of the conversation so far (what a stored response keeps)

    def read(self, body: dict, path_model: str | None) -> Inbound:
        inbound = read_request(body, path_model)
        self.request = body
        self.items = as_items(body.get("input"))
        if self.history is not None:
            self.items = [*self.history, *self.items]
            expanded = {k: v for k, v in body.items() if k != "previous_response_id"}
            expanded["input"] = self.items
            inbound.body = expanded
        return inbound

    def serves(self, channel_type: int, config: dict) -> bool:
        return serves_responses(channel_type, config)

    def stream_translator(self) -> ResponsesPassThrough:
        return ResponsesPassThrough(self.on_done)

    def to_internal(self, body: dict) -> dict:
        return to_chat(body)

    def count_prompt(self, body: dict, model: str) -> int:
        from ..token_count import count_prompt

        try:
            chat = to_chat(body)
        except RelayError:
            return 0
        return count_prompt(chat, model, "chat")

    def apply_system_prompt(self, body: dict, prompt: str) -> dict:
        return {**body, "instructions": prompt}

    def request_usage(self, body: dict) -> dict | None:
        return None  # a Responses stream always ends with response.completed and its usage

    def encode_answer(self, answer: Answer, model: str) -> bytes:
        response = answer_response(answer, model, self.request, self.response_id)
        if self.on_done is not None:
            self.on_done(response)
        return orjson.dumps(response)

    def encoder(self, model: str, request_id: str) -> ResponsesEncoder:
        return ResponsesEncoder(model, self.request, self.response_id, self.on_done)

    def error_body(self, error: AppError, request_id: str) -> dict:
        return error.openai_body(request_id)
