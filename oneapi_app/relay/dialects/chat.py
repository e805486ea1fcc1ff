"""The OpenAI dialect: /v1/chat/completions (and the other OpenAI kinds: completions, embeddings, moderations,
edits, which only OpenAI-format upstreams or adaptors that convert them serve).

Its body is the internal request form already: ``to_internal`` is the identity, and towards an OpenAI-family
channel the client's bytes pass through unchanged (the pipeline reads usage only). From any other family the
answer comes back as ``events.Answer`` / typed events and is encoded here into ``chat.completion`` bodies and
``chat.completion.chunk`` events ending with ``data: [DONE]``.
"""

from __future__ import annotations

import time

import orjson

from ...errors import AppError, RelayError, UpstreamFailure
from ...i18n import Text, msg
from ..adaptors.base import Kind, Usage
from ..events import Answer, Event, Finish, ReasoningDelta, Start, StreamError, TextDelta, ToolCallDelta, UsageReport
from .base import Inbound

MAX_TOKENS_LIMIT = 1 << 30
DEFAULT_MODELS = {"moderations": "text-moderation-stable"}
DONE_EVENT = b"data: [DONE]\n\n"


def _invalid(message: Text, code: str = "invalid_text_request") -> RelayError:
    return RelayError(message, status=400, code=code)


def validate(kind: Kind, body: dict, model: str) -> None:
    if not model:
        raise _invalid(msg("relay.field_required", field="model"))
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value < MAX_TOKENS_LIMIT):
            raise _invalid(msg("relay.bad_integer", field=name))
    if kind == "chat" and not (isinstance(body.get("messages"), list) and body["messages"]):
        raise _invalid(msg("relay.messages_required"))
    if kind == "completions" and body.get("prompt") in (None, "", []):
        raise _invalid(msg("relay.field_required", field="prompt"), "prompt_missing")
    if kind in ("moderations", "embeddings") and body.get("input") in (None, "", []):
        raise _invalid(msg("relay.field_required", field="input"))
    if kind == "edits" and not body.get("instruction"):
        raise _invalid(msg("relay.field_required", field="instruction"))


def openai_usage(usage: Usage) -> dict:
    out: dict = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                 "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                 "prompt_tokens_details": {"cached_tokens": usage.cached_tokens}}
    if usage.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def _message(answer: Answer) -> dict:
    message: dict = {"role": "assistant", "content": answer.text if answer.text or not answer.tool_calls else None}
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    if answer.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                                 for c in answer.tool_calls]
    return message


def answer_dict(answer: Answer, model: str) -> dict:
    choices = [{"index": i, "message": _message(a), "logprobs": None, "finish_reason": a.finish_reason or "stop"}
               for i, a in enumerate([answer, *answer.alternatives])]
    return {"id": answer.id or f"chatcmpl-{time.time_ns():x}", "object": "chat.completion",
            "created": answer.created or int(time.time()), "model": answer.model or model, "choices": choices,
            "usage": openai_usage(answer.usage or Usage())}


class ChatEncoder:
    """Typed events -> ``chat.completion.chunk`` SSE events. The usage chunk (when a UsageReport reached the
    encoder: the pipeline passes it only to clients that asked) goes last, before ``[DONE]``."""

    __slots__ = ("created", "id", "model", "usage")

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = ""
        self.created = int(time.time())
        self.usage: Usage | None = None

    def _chunk(self, delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
        event: dict = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                       "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            event["usage"] = usage
        return b"data: " + orjson.dumps(event) + b"\n\n"

    def feed(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    out.append(self._chunk({"content": event.text}))
            elif isinstance(event, ToolCallDelta):
                call: dict = {"index": event.index}
                if event.id or event.name:
                    call.update(id=event.id, type="function", function={"name": event.name,
                                                                         "arguments": event.arguments})
                elif event.arguments:
                    call["function"] = {"arguments": event.arguments}
                else:
                    continue
                out.append(self._chunk({"tool_calls": [call]}))
            elif isinstance(event, ReasoningDelta):
                if event.text:
                    out.append(self._chunk({"reasoning_content": event.text}))
            elif isinstance(event, Start):
                self.id = event.id or self.id or f"chatcmpl-{time.time_ns():x}"
                self.model = event.model or self.model
                out.append(self._chunk({"role": "assistant", "content": ""}))
            elif isinstance(event, Finish):
                out.append(self._chunk({}, event.reason))
            elif isinstance(event, UsageReport):
                self.usage = event.usage
            elif isinstance(event, StreamError):
                raise event.failure
        return b"".join(out)

    def finish(self) -> bytes:
        if self.usage is not None:
            return self._chunk(None, usage=openai_usage(self.usage)) + DONE_EVENT
        return DONE_EVENT

    def error(self, failure: UpstreamFailure, request_id: str) -> bytes:
        return b"data: " + orjson.dumps(failure.openai_body(request_id)) + b"\n\n" + DONE_EVENT


class ChatDialect:
    """OpenAI's formats; one instance per kind (the kind decides validation and the local prompt count)."""

    name = "chat"
    family = "openai"
    forward_headers: tuple[str, ...] = ()

    def __init__(self, kind: Kind = "chat") -> None:
        self.kind = kind

    def read(self, body: dict, path_model: str | None) -> Inbound:
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        model = model or path_model or DEFAULT_MODELS.get(self.kind, "")
        validate(self.kind, body, model)
        stream = self.kind in ("chat", "completions") and body.get("stream") is True
        options = body.get("stream_options")
        wants = stream and isinstance(options, dict) and options.get("include_usage") is True
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        return Inbound(model, stream, int(max_tokens), wants)

    def to_internal(self, body: dict) -> dict:
        return body

    def count_prompt(self, body: dict, model: str) -> int:
        from ..token_count import count_prompt

        return count_prompt(body, model, self.kind)

    def apply_system_prompt(self, body: dict, prompt: str) -> dict:
        if self.kind != "chat":
            return body
        return with_system_prompt(body, prompt)

    def request_usage(self, body: dict) -> dict | None:
        """A stream's body asking the upstream for its usage chunk, or None when it already does."""
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            return None
        return {**body, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}

    def encode_answer(self, answer: Answer, model: str) -> bytes:
        return orjson.dumps(answer_dict(answer, model))

    def encoder(self, model: str, request_id: str) -> ChatEncoder:
        return ChatEncoder(model)

    def error_body(self, error: AppError, request_id: str) -> dict:
        return error.openai_body(request_id)


def with_system_prompt(body: dict, prompt: str) -> dict:
    """An OpenAI chat body whose first message is the channel's system prompt (replacing a system one)."""
    messages = list(body.get("messages") or [])
    first = messages[0] if messages and isinstance(messages[0], dict) else None
    if first is not None and first.get("role") == "system":
        messages[0] = {**first, "content": prompt}
    else:
        messages.insert(0, {"role": "system", "content": prompt})
    return {**body, "messages": messages}


CHAT = ChatDialect("chat")
BY_KIND: dict[str, ChatDialect] = {k: (CHAT if k == "chat" else ChatDialect(k))  # type: ignore[arg-type]
                                   for k in ("chat", "completions", "embeddings", "moderations", "edits")}
