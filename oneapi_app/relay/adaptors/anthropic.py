"""The Anthropic (Claude) adaptor: channel type 14, family ``anthropic``.

OpenAI chat completions go to ``POST {base}/v1/messages`` (``x-api-key`` + ``anthropic-version``); the
answer, its stream and its errors come back in OpenAI shape (conversion helpers: anthropic_messages.py).

Only chat is served. Other kinds (completions, embeddings, moderations, edits) fail in ``build_request``
with a 501 ``channel_type_not_supported`` marked retryable, exactly like a channel type without adaptor:
the pipeline then tries another channel of the group, and the client sees the 501 when none is left.

A stream's ``error`` event (e.g. ``overloaded_error`` after the first bytes) raises ``UpstreamFailure``
from ``feed``: the pipeline ends the client's stream the way it ends every broken stream (an OpenAI error
event, then ``[DONE]``) and bills what was delivered.
"""

from __future__ import annotations

import time

import orjson

from ...catalog.channel_types import channel_type
from ...errors import UpstreamFailure
from ...i18n import msg
from ..upstream import UpstreamRequest, status_failure
from .anthropic_messages import convert_request, convert_response, finish_reason, openai_usage, usage_of
from .base import Call, Parsed, Target, Usage, not_supported, unreadable_answer

API_VERSION = "2023-06-01"
DONE = b"data: [DONE]\n\n"
# Anthropic error type -> HTTP status (for errors that arrive in a 200 body or inside a stream).
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529}
RETRYABLE_TYPES = {"rate_limit_error", "api_error", "overloaded_error", "timeout_error"}


def messages_url(target: Target) -> str:
    base = (target.base_url or channel_type(target.channel_type).base_url or "https://api.anthropic.com").rstrip("/")
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def anthropic_failure(status: int, body: bytes | dict) -> UpstreamFailure:
    """An Anthropic error body ``{"type": "error", "error": {"type", "message"}}`` -> UpstreamFailure whose
    OpenAI error object keeps Anthropic's type (so authentication_error/permission_error disable the channel);
    any other body is read the OpenAI way."""
    data: object = body
    if isinstance(body, bytes):
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not (error.get("type") or error.get("message")):
        return status_failure(status, body if isinstance(body, bytes) else orjson.dumps(body))
    kind = str(error.get("type") or "upstream_error")
    message = str(error.get("message") or kind)
    retryable = status == 429 or status >= 500 or kind in RETRYABLE_TYPES
    return UpstreamFailure(message, status=status, retryable=retryable,
                           body={"message": message, "type": kind, "param": "", "code": kind})


def _failure_in_body(data: dict) -> UpstreamFailure:
    error = v if isinstance(v := data.get("error"), dict) else {}
    return anthropic_failure(ERROR_STATUS.get(str(error.get("type")), 500), data)


class AnthropicStream:
    """Anthropic SSE events -> OpenAI ``chat.completion.chunk`` events.

    message_start gives the id, model and input tokens and opens the stream with the assistant role;
    text/thinking/tool deltas become content/reasoning_content/tool_calls deltas; message_delta brings the
    stop reason (the finish chunk) and the output tokens; message_stop sends the usage chunk (only when the
    client wants it) and ``[DONE]``. ``usage`` is set once the output tokens are known, so a stream broken
    before message_delta is counted locally from ``text()``.
    """

    def __init__(self, keep_usage: bool) -> None:
        self.keep_usage = keep_usage
        self.usage: Usage | None = None
        self.done = False
        self.created = int(time.time())
        self.id = ""
        self.model = ""
        self._start: dict = {}  # message_start's usage (input and cache tokens)
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index
        self._text: list[str] = []

    def _chunk(self, delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
        event: dict = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                       "model": self.model,
                       "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            event["usage"] = usage
        return b"data: " + orjson.dumps(event) + b"\n\n"

    def feed(self, payload: bytes) -> bytes | None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(event, dict):
            return None
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_start":
            message = v if isinstance(v := event.get("message"), dict) else {}
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or "")
            self._start = v if isinstance(v := message.get("usage"), dict) else {}
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                index = self._tools[event.get("index", -1)] = len(self._tools)
                call = {"index": index, "id": block.get("id", ""), "type": "function",
                        "function": {"name": block.get("name", ""), "arguments": ""}}
                return self._chunk({"tool_calls": [call]})
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                self._text.append(block["text"])
                return self._chunk({"content": block["text"]})
            return None
        if kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, dict):
                self.usage = usage_of({**self._start, **{k: v for k, v in usage.items() if v is not None}})
            delta = v if isinstance(v := event.get("delta"), dict) else {}
            reason = finish_reason(delta.get("stop_reason"))
            return self._chunk({}, reason) if reason else None
        if kind == "message_stop":
            self.done = True
            if self.keep_usage and self.usage is not None:
                return self._chunk(None, usage=openai_usage(self.usage)) + DONE
            return DONE
        if kind == "error":
            raise _failure_in_body(event)
        return None  # ping, content_block_stop, unknown event types

    def _delta(self, event: dict) -> bytes | None:
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return None
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            self._text.append(delta["text"])
            return self._chunk({"content": delta["text"]})
        if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            index = self._tools.get(event.get("index", -1))
            if index is None or not delta["partial_json"]:
                return None
            self._text.append(delta["partial_json"])
            return self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta["partial_json"]}}]})
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            self._text.append(delta["thinking"])
            return self._chunk({"reasoning_content": delta["thinking"]})
        return None  # signature_delta and others carry nothing for an OpenAI client

    def finish(self) -> None:
        """Nothing to add at the end: message_stop already sent the usage chunk (if asked) and [DONE]."""

    def text(self) -> str:
        return "".join(self._text)


class AnthropicAdaptor:
    name = "anthropic"

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind != "chat":
            raise not_supported(msg("relay.anthropic_chat_only", kind=call.kind))
        headers = {"x-api-key": target.key, "anthropic-version": API_VERSION, "content-type": "application/json",
                   "accept": "text/event-stream" if call.stream else "application/json"}
        body = convert_request(call.body, call.model, call.stream)
        return UpstreamRequest("POST", messages_url(target), headers, orjson.dumps(body))

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise unreadable_answer() from None
        if not isinstance(data, dict):
            raise unreadable_answer("the upstream answered JSON that is not an object")
        if data.get("type") == "error" or isinstance(data.get("error"), dict):
            raise _failure_in_body(data)
        answer, usage, text = convert_response(data)
        return Parsed(orjson.dumps(answer), usage, text, "application/json")

    def stream_translator(self, call: Call, client_wants_usage: bool) -> AnthropicStream:
        return AnthropicStream(client_wants_usage)

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return anthropic_failure(status, body)
