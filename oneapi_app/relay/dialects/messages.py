"""The Anthropic Messages dialect: ``POST /v1/messages`` (and the local count of /v1/messages/count_tokens).

On an Anthropic channel the body and the answer pass through byte for byte (thinking signatures,
cache_control, citations, document blocks kept; ``anthropic-version``/``anthropic-beta`` forwarded). On any
other channel the body goes through ``messages_convert.to_chat`` once, and the answer comes back as
``events.Answer`` / typed events that this module encodes as a Messages answer or as Anthropic's stream:
message_start, ping, content_block_start / content_block_delta (text_delta, input_json_delta,
thinking_delta, signature_delta) / content_block_stop, message_delta (stop reason and usage), message_stop,
and ``error`` for a stream broken after it began. Errors use Anthropic's envelope (errors.anthropic_body).
"""

from __future__ import annotations

import time

import orjson

from ...errors import AppError, UpstreamFailure
from ...i18n import msg
from ..events import Answer, EncoderEnd, Event, ReasoningDelta, Start, TextDelta, ToolCallDelta, Usage
from .base import Inbound
from .messages_convert import _invalid, prompt_text, to_chat

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
MAX_TOKENS_LIMIT = 1 << 30


def stop_reason(finish: str) -> str:
    return STOP_REASONS.get(finish, "end_turn")


def anthropic_usage(usage: Usage | None) -> dict:
    usage = usage or Usage()
    fresh = max(usage.prompt_tokens - usage.cached_tokens - usage.cache_creation_tokens, 0)
    return {"input_tokens": fresh, "cache_creation_input_tokens": usage.cache_creation_tokens,
            "cache_read_input_tokens": usage.cached_tokens, "output_tokens": usage.completion_tokens}


def _message_id(upstream_id: str) -> str:
    return upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id or format(time.time_ns(), 'x')}"


def _input(arguments: str) -> object:
    try:
        value = orjson.loads(arguments) if arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def message_dict(answer: Answer, model: str) -> dict:
    content: list[dict] = []
    if answer.reasoning or answer.reasoning_signature:
        content.append({"type": "thinking", "thinking": answer.reasoning, "signature": answer.reasoning_signature})
    if answer.text:
        content.append({"type": "text", "text": answer.text})
    for call in answer.tool_calls:
        content.append({"type": "tool_use", "id": call.id or f"toolu_{time.time_ns():x}", "name": call.name,
                        "input": _input(call.arguments)})
    return {"id": _message_id(answer.id), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason(answer.finish_reason), "stop_sequence": None,
            "usage": anthropic_usage(answer.usage)}


def _event(kind: bytes, data: dict) -> bytes:
    return b"event: " + kind + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessagesEncoder(EncoderEnd):
    """Typed events -> Anthropic's stream events. Blocks open and close in order: a delta of another kind
    than the open block closes it and opens the next one."""

    __slots__ = ("_block", "_index", "_open", "_tools", "model", "started")

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.started = False
        self._index = -1  # index of the last block opened
        self._open = ""  # type of the open block ("" when none)
        self._block = -1  # the open block's tool call index (tool_use blocks)
        self._tools: dict[int, int] = {}  # tool call index -> block index

    def _start(self, upstream_id: str = "") -> bytes:
        self.started = True
        message: dict = {"id": _message_id(upstream_id), "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return _event(b"message_start", {"type": "message_start", "message": message}) + \
            _event(b"ping", {"type": "ping"})

    def _close(self) -> bytes:
        if not self._open:
            return b""
        self._open = ""
        return _event(b"content_block_stop", {"type": "content_block_stop", "index": self._index})

    def _open_block(self, kind: str, block: dict) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        return out + _event(b"content_block_start", {"type": "content_block_start", "index": self._index,
                                                     "content_block": block})

    def _delta(self, delta: dict, index: int | None = None) -> bytes:
        return _event(b"content_block_delta", {"type": "content_block_delta",
                                               "index": self._index if index is None else index, "delta": delta})

    def feed(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        if not self.started:
            first = events[0] if events else None
            out.append(self._start(first.id if isinstance(first, Start) else ""))
        for event in events:
            if isinstance(event, TextDelta):
                if not event.text:
                    continue
                if self._open != "text":
                    out.append(self._open_block("text", {"type": "text", "text": ""}))
                out.append(self._delta({"type": "text_delta", "text": event.text}))
            elif isinstance(event, ToolCallDelta):
                out.append(self._tool(event))
            elif isinstance(event, ReasoningDelta):
                if self._open != "thinking" and (event.text or event.signature):
                    out.append(self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}))
                if event.text:
                    out.append(self._delta({"type": "thinking_delta", "thinking": event.text}))
                if event.signature:
                    out.append(self._delta({"type": "signature_delta", "signature": event.signature}))
            else:
                self.note(event)
        return b"".join(out)

    def _tool(self, event: ToolCallDelta) -> bytes:
        out = b""
        block = self._tools.get(event.index)
        if block is None or ((event.id or event.name) and not (self._open == "tool_use" and self._block == event.index)):
            out = self._open_block("tool_use", {"type": "tool_use", "id": event.id or f"toolu_{time.time_ns():x}",
                                                "name": event.name, "input": {}})
            block = self._tools[event.index] = self._index
            self._block = event.index
        if event.arguments:
            out += self._delta({"type": "input_json_delta", "partial_json": event.arguments}, block)
        return out

    def finish(self) -> bytes:
        out = b"" if self.started else self._start()
        out += self._close()
        usage = anthropic_usage(self.usage)
        out += _event(b"message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop_reason(self.finish_reason), "stop_sequence": None},
                                         "usage": usage})
        return out + _event(b"message_stop", {"type": "message_stop"})

    def error(self, failure: UpstreamFailure, request_id: str) -> bytes:
        return _event(b"error", failure.anthropic_body(request_id))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class MessagesDialect:
    name = "messages"
    family = "anthropic"
    forward_headers: tuple[str, ...] = ("anthropic-version", "anthropic-beta")

    def read(self, body: dict, path_model: str | None) -> Inbound:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _invalid("model: field required")
        max_tokens = body.get("max_tokens")
        if not _is_int(max_tokens) or not 0 < max_tokens < MAX_TOKENS_LIMIT:  # type: ignore[operator]
            raise AppError(msg("relay.max_tokens_required"), status=400, code="invalid_request_error",
                           type="invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _invalid("messages: field required (a non-empty list)")
        for turn in messages:
            if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant", "system"):
                raise _invalid("messages: each message is an object with role 'user' or 'assistant'")
            if not isinstance(turn.get("content"), str | list):
                raise _invalid("messages: content must be a string or a list of content blocks")
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise _invalid("stream: must be a boolean")
        return Inbound(model, stream is True, int(max_tokens), True)  # type: ignore[arg-type]

    def to_internal(self, body: dict) -> dict:
        return to_chat(body)

    def count_prompt(self, body: dict, model: str) -> int:
        from ..token_count import count_text

        texts, turns = prompt_text(body)
        return sum(count_text(t, model) for t in texts if t) + 3 * turns + 3

    def apply_system_prompt(self, body: dict, prompt: str) -> dict:
        return {**body, "system": prompt}

    def request_usage(self, body: dict) -> dict | None:
        return None  # Anthropic always reports usage (message_start and message_delta)

    def encode_answer(self, answer: Answer, model: str) -> bytes:
        return orjson.dumps(message_dict(answer, model))

    def encoder(self, model: str, request_id: str) -> MessagesEncoder:
        return MessagesEncoder(model)

    def error_body(self, error: AppError, request_id: str) -> dict:
        return error.anthropic_body(request_id)


MESSAGES = MessagesDialect()
