"""Gemini's native dialect: ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``
(``?alt=sse``), what google-genai and Gemini CLI speak.

The model and stream-or-not come from the path (``{model}:{action}``), the key from ``x-goog-api-key`` or
``?key=`` (relay/auth.py). Towards a Gemini channel (family ``gemini``) the client's body passes through and
the upstream's bytes come back unchanged (usage read from ``usageMetadata`` by the Gemini adaptor). Towards
any other channel the body goes through ``gemini_convert_in.to_chat`` once and the answer comes back as
``events.Answer`` / typed events, encoded here into ``GenerateContentResponse`` bodies and SSE chunks.
Errors use Google's envelope ``{"error": {"code", "message", "status"}}`` (``errors.AppError.gemini_body``).
"""

from __future__ import annotations

import uuid

import orjson

from ...errors import AppError, RelayError, UpstreamFailure
from ...i18n import msg
from ..adaptors.base import Usage
from ..events import Answer, EncoderEnd, Event, ReasoningDelta, Start, TextDelta, ToolCallDelta
from .base import Inbound
from .gemini_convert_in import field, to_chat

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP",
          "function_call": "STOP"}
ACTIONS = {"generateContent": False, "streamGenerateContent": True}


def split_model_action(value: str) -> tuple[str, str]:
    """``gemini-2.0-flash:generateContent`` (or ``models/...``) -> (model, action); errors are Gemini's 400/404."""
    model, sep, action = value.rpartition(":")
    if not sep:
        model, action = value, ""
    model = model.removeprefix("models/")
    if action not in ACTIONS:
        raise RelayError(msg("gemini.bad_action", action=action or "?"), status=404, code="not_found")
    if not model:
        raise RelayError(msg("gemini.model_required"), status=400, code="invalid_argument")
    return model, action


def usage_metadata(usage: Usage | None) -> dict:
    usage = usage or Usage()
    out = {"promptTokenCount": usage.prompt_tokens,
           "candidatesTokenCount": max(usage.completion_tokens - usage.reasoning_tokens, 0),
           "totalTokenCount": usage.prompt_tokens + usage.completion_tokens}
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    return out


def _args(arguments: str) -> dict:
    try:
        value = orjson.loads(arguments) if arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"arguments": arguments}  # keep what the model said rather than drop it
    return value if isinstance(value, dict) else {"value": value}


def _call_part(call_id: str, name: str, arguments: str) -> dict:
    call: dict = {"name": name, "args": _args(arguments)}
    if call_id:
        call["id"] = call_id
    return {"functionCall": call}


def answer_body(answer: Answer, model: str) -> dict:
    parts: list[dict] = []
    if answer.reasoning:
        parts.append({"text": answer.reasoning, "thought": True})
    if answer.text or not answer.tool_calls:
        parts.append({"text": answer.text})
    parts.extend(_call_part(c.id, c.name, c.arguments) for c in answer.tool_calls)
    candidates = [{"content": {"role": "model", "parts": parts},
                   "finishReason": FINISH.get(answer.finish_reason, "STOP"), "index": 0}]
    for index, alt in enumerate(getattr(answer, "alternatives", ()), start=1):
        alt_parts = [{"text": alt.text}] if alt.text or not alt.tool_calls else []
        alt_parts.extend(_call_part(c.id, c.name, c.arguments) for c in alt.tool_calls)
        candidates.append({"content": {"role": "model", "parts": alt_parts},
                           "finishReason": FINISH.get(alt.finish_reason, "STOP"), "index": index})
    return {"candidates": candidates, "usageMetadata": usage_metadata(answer.usage),
            "modelVersion": answer.model or model, "responseId": answer.id or uuid.uuid4().hex}


class GeminiEncoder(EncoderEnd):
    """Typed events -> Gemini SSE chunks (``data: {GenerateContentResponse}``). Text and thoughts go out as
    they come; a function call goes out whole (Gemini never splits one) once its arguments are complete; the
    last chunk carries ``finishReason`` and ``usageMetadata``."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self.response_id = uuid.uuid4().hex
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, arguments...]

    def _chunk(self, parts: list[dict], finish: str | None = None, usage: Usage | None = None) -> bytes:
        candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        body: dict = {"candidates": [candidate], "modelVersion": self.model, "responseId": self.response_id}
        if usage is not None:
            body["usageMetadata"] = usage_metadata(usage)
        return b"data: " + orjson.dumps(body) + b"\r\n\r\n"

    def _calls(self) -> list[dict]:
        parts = [_call_part(c[0], c[1], "".join(c[2:])) for _, c in sorted(self.calls.items())]
        self.calls = {}
        return parts

    def feed(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if isinstance(event, TextDelta):
                if event.text:
                    out.append(self._chunk([{"text": event.text}]))
            elif isinstance(event, ReasoningDelta):
                if event.text:
                    out.append(self._chunk([{"text": event.text, "thought": True}]))
            elif isinstance(event, ToolCallDelta):
                call = self.calls.get(event.index)
                if call is None:
                    self.calls[event.index] = [event.id, event.name, event.arguments]
                else:
                    call.append(event.arguments)
            elif isinstance(event, Start):
                self.model = event.model or self.model
                if event.id:
                    self.response_id = event.id
            else:
                self.note(event)
        return b"".join(out)

    def finish(self) -> bytes:
        parts = self._calls() or [{"text": ""}]
        return self._chunk(parts, FINISH.get(self.finish_reason, "STOP"), self.usage or Usage())

    def error(self, failure: UpstreamFailure, request_id: str) -> bytes:
        return b"data: " + orjson.dumps(failure.gemini_body(request_id)) + b"\r\n\r\n"


class GeminiDialect:
    name = "gemini"
    family = "gemini"
    forward_headers: tuple[str, ...] = ("x-goog-api-client",)

    def __init__(self, stream: bool = False) -> None:
        self.stream = stream

    def read(self, body: dict, path_model: str | None) -> Inbound:
        if not path_model:
            raise RelayError(msg("gemini.model_required"), status=400, code="invalid_argument")
        contents = field(body, "contents")
        if not isinstance(contents, list) or not contents:
            raise RelayError(msg("gemini.contents_required"), status=400, code="invalid_argument")
        config = field(body, "generationConfig")
        bound = field(config, "maxOutputTokens") if isinstance(config, dict) else None
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool) or not 0 <= bound < 1 << 30):
            raise RelayError(msg("relay.bad_integer", field="maxOutputTokens"), status=400, code="invalid_argument")
        return Inbound(path_model, self.stream, int(bound or 0), True)

    def to_internal(self, body: dict) -> dict:
        return to_chat(body, self.stream)

    def count_prompt(self, body: dict, model: str) -> int:
        from ..token_count import count_prompt

        try:
            chat = to_chat(body, False)
        except RelayError:
            return 0
        return count_prompt(chat, model, "chat")

    def apply_system_prompt(self, body: dict, prompt: str) -> dict:
        out = {k: v for k, v in body.items() if k not in ("systemInstruction", "system_instruction")}
        out["systemInstruction"] = {"parts": [{"text": prompt}]}
        return out

    def request_usage(self, body: dict) -> dict | None:
        return None  # Gemini reports usageMetadata in its stream unasked

    def encode_answer(self, answer: Answer, model: str) -> bytes:
        return orjson.dumps(answer_body(answer, model))

    def encoder(self, model: str, request_id: str) -> GeminiEncoder:
        return GeminiEncoder(model)

    def error_body(self, error: AppError, request_id: str) -> dict:
        return error.gemini_body(request_id)


GEMINI = GeminiDialect(False)
GEMINI_STREAM = GeminiDialect(True)
