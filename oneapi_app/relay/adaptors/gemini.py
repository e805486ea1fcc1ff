"""The Google Gemini adaptor (channel family ``gemini``, type 24): the Generative Language API behind the
OpenAI shapes.

- chat: ``POST {base}/{version}/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse`` when
  streaming), the key in the ``x-goog-api-key`` header (never in the URL, so it never reaches a log). The
  version is the channel config's ``api_version``, else its ``other`` field, else ``v1beta``.
- embeddings: ``:batchEmbedContents``. Gemini reports no token counts for embeddings: the client's body
  carries a local tokenizer count, and ``Parsed.usage`` stays None so the gateway bills that same local
  count and marks the log entry as estimated.
- completions, moderations and edits are refused with a retryable 501 (another channel of the group may
  serve them).

Request conversion lives in gemini_convert.py; this module builds URLs and turns answers and stream chunks
into ``events.Answer`` / typed events (candidate 0 streams; a whole answer keeps the others as alternatives),
and errors into the error tree. A client of a Gemini dialect passes through: its body goes as sent, the
answer's bytes come back unchanged (``parse_response`` / ``stream_translator``, usage read from
usageMetadata).
"""

from __future__ import annotations

import time
import uuid

import orjson

from ...catalog.channel_types import channel_type
from ...errors import UpstreamFailure
from ...i18n import msg
from ..events import (
    Answer,
    Event,
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageReport,
)
from ..upstream import UpstreamRequest, status_failure
from .base import Call, FrameReader, Parsed, Target, Usage, not_supported, unreadable_answer
from .gemini_convert import chat_request, embeddings_request, gemini_thinking, model_path

DEFAULT_VERSION = "v1beta"
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
                  "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
                  "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
                  "IMAGE_SAFETY": "content_filter"}


def api_version(target: Target, default: str = DEFAULT_VERSION) -> str:
    version = target.config.get("api_version") if isinstance(target.config, dict) else None
    return str(version or (target.other or "").strip() or default)


def request_url(target: Target, call: Call, action: str, default_version: str = DEFAULT_VERSION) -> str:
    base = (target.base_url or channel_type(target.channel_type).base_url).rstrip("/")
    last = base.rsplit("/", 1)[-1]
    if not (last.startswith("v1") and "." not in last):  # a base that already names a version keeps it
        base = f"{base}/{api_version(target, default_version)}"
    return f"{base}/{model_path(call.model)}:{action}"


# -- answers --------------------------------------------------------------------------------------------
def _num(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def usage_of(metadata: object) -> Usage | None:
    """usageMetadata -> Usage: thinking tokens are completion tokens (Google bills them as output)."""
    if not isinstance(metadata, dict):
        return None
    prompt = _num(metadata, "promptTokenCount") + _num(metadata, "toolUsePromptTokenCount")
    thoughts = _num(metadata, "thoughtsTokenCount")
    completion = _num(metadata, "candidatesTokenCount") + thoughts
    if prompt == 0 and completion == 0:
        return None
    return Usage(prompt, completion, _num(metadata, "cachedContentTokenCount"), thoughts)


def _call_id(call: dict) -> str:
    return str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")


def _split_parts(candidate: dict) -> tuple[str, str, list[dict]]:
    """-> (text, thought text, functionCall objects) of one candidate."""
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict] = []
    content = candidate.get("content")
    for part in (content.get("parts") if isinstance(content, dict) else None) or ():
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("functionCall"), dict):
            calls.append(part["functionCall"])
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else text).append(part["text"])
    return "".join(text), "".join(thoughts), calls


def _finish(candidate: dict, has_calls: bool) -> str | None:
    reason = candidate.get("finishReason")
    if not reason or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if has_calls and reason == "STOP":
        return "tool_calls"
    return FINISH_REASONS.get(str(reason), "stop")


def _check_blocked(data: dict) -> None:
    feedback = v if isinstance(v := data.get("promptFeedback"), dict) else {}
    reason = feedback.get("blockReason")
    if reason and not data.get("candidates"):
        message = f"Gemini refused the prompt (blockReason {reason})"
        if isinstance(feedback.get("blockReasonMessage"), str):
            message += f": {feedback['blockReasonMessage']}"
        raise UpstreamFailure(message, status=400, retryable=False, code="prompt_blocked",
                              body={"message": message, "type": "upstream_error", "param": None,
                                    "code": "prompt_blocked"})


def _response_id(data: dict) -> str:
    return f"chatcmpl-{data['responseId']}" if isinstance(data.get("responseId"), str) else \
        f"chatcmpl-{uuid.uuid4().hex}"


def _load(body: bytes) -> dict:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, list) and data and isinstance(data[0], dict):  # a JSON-array (non-SSE) answer
        data = data[0]
    if not isinstance(data, dict):
        raise unreadable_answer("the upstream answered a body that is not a JSON object")
    if isinstance(data.get("error"), dict):
        raise map_error(500, body)
    return data


def _answer(candidate: dict) -> Answer:
    text, thoughts, calls = _split_parts(candidate)
    tool_calls = [ToolCall(_call_id(c), str(c.get("name") or ""), orjson.dumps(c.get("args") or {}).decode())
                  for c in calls]
    return Answer(text=text, reasoning=thoughts, tool_calls=tool_calls,
                  finish_reason=_finish(candidate, bool(calls)) or "stop")


def chat_answer(call: Call, data: dict) -> Answer:
    """A GenerateContentResponse -> Answer (candidate 0; the others as alternatives)."""
    _check_blocked(data)
    answers = [_answer(c) for c in data.get("candidates") or () if isinstance(c, dict)] or [Answer()]
    first = answers[0]
    first.id, first.model, first.created = _response_id(data), call.model, int(time.time())
    first.usage = usage_of(data.get("usageMetadata"))
    first.alternatives = answers[1:]
    return first


def _native_text(data: dict) -> str:
    return "".join("".join(_split_parts(c)[:2]) for c in data.get("candidates") or () if isinstance(c, dict))


def embeddings_response(call: Call, data: dict) -> Parsed:
    from ..token_count import count_prompt

    vectors = [e.get("values") or [] for e in data.get("embeddings") or () if isinstance(e, dict)]
    estimated = count_prompt(call.body, call.model, "embeddings")
    answer = {"object": "list", "model": call.model,
              "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
              "usage": {"prompt_tokens": estimated, "total_tokens": estimated}}
    return Parsed(orjson.dumps(answer), None, "")


# -- streams --------------------------------------------------------------------------------------------
class GeminiDecoder:
    """GenerateContentResponse chunks (candidate 0) -> typed events. Usage is cumulative: the last counts."""

    __slots__ = ("_calls", "_started", "model")

    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._calls = 0  # tool calls sent

    def feed(self, payload: bytes) -> list[Event]:
        if payload == b"[DONE]":
            return []
        try:
            data = _load(payload)
            _check_blocked(data)
        except UpstreamFailure as failure:
            return [StreamError(failure)]
        out: list[Event] = []
        if not self._started:
            self._started = True
            out.append(Start(_response_id(data), self.model))
        candidates = data.get("candidates") or ()
        candidate = candidates[0] if candidates and isinstance(candidates[0], dict) else None
        if candidate is not None:
            text, thoughts, calls = _split_parts(candidate)
            if thoughts:
                out.append(ReasoningDelta(thoughts))
            if text:
                out.append(TextDelta(text))
            for call in calls:
                out.append(ToolCallDelta(self._calls, _call_id(call), str(call.get("name") or ""),
                                         orjson.dumps(call.get("args") or {}).decode()))
                self._calls += 1
            finish = _finish(candidate, self._calls > 0)
            if finish:
                out.append(Finish(finish))
        usage = usage_of(data.get("usageMetadata"))
        if usage is not None:
            out.append(UsageReport(usage))
        return out

    def finish(self) -> list[Event]:
        return []


class GeminiPassStream:
    """Gemini chunks to a Gemini client as they came; usage read from each chunk's usageMetadata."""

    __slots__ = ("_text", "done", "usage")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = True
        self._text: list[str] = []

    def feed(self, payload: bytes) -> bytes | None:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        if isinstance(data, dict):
            usage = usage_of(data.get("usageMetadata"))
            if usage is not None:
                self.usage = usage
            self._text.append(_native_text(data))
        return b"data: " + payload + b"\r\n\r\n"

    def finish(self) -> bytes | None:
        return None

    def text(self) -> str:
        return "".join(self._text)


# -- errors ---------------------------------------------------------------------------------------------
def map_error(status: int, body: bytes) -> UpstreamFailure:
    """``{"error": {"code", "message", "status", "details"}}`` -> an OpenAI-like error. A dead key (400
    API_KEY_INVALID / "API key not valid", 401, 403 PERMISSION_DENIED) carries the types and codes that
    make the gateway disable the channel."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return status_failure(status, body)
    message = str(error["message"])
    grpc_status = str(error.get("status") or "")
    reasons = {str(d.get("reason")) for d in error.get("details") or () if isinstance(d, dict) and d.get("reason")}
    kind, code = "upstream_error", grpc_status or str(error.get("code") or status)
    if "API_KEY_INVALID" in reasons or "api key not valid" in message.lower() or grpc_status == "UNAUTHENTICATED":
        kind, code = "authentication_error", "invalid_api_key"
    elif status == 403 or grpc_status == "PERMISSION_DENIED":
        kind = "permission_error"
    return UpstreamFailure(message, status=status, retryable=status == 429 or status >= 500,
                           body={"message": message, "type": kind, "param": None, "code": code})


class GeminiAdaptor:
    name = "gemini"
    family = "gemini"

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        if call.kind == "chat" and call.native:  # a Gemini client: its body as sent
            body = call.body
            action = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
        elif call.kind == "chat":
            body = chat_request(call.body, target.provider.gemini_safety_setting)
            thinking = gemini_thinking(call.body, call.model)  # reasoning_effort -> thinkingConfig (2.5 models)
            if thinking is not None:
                body.setdefault("generationConfig", {})["thinkingConfig"] = thinking
            action = "streamGenerateContent?alt=sse" if call.stream else "generateContent"
        elif call.kind == "embeddings":
            body = embeddings_request(call.body, call.model)
            action = "batchEmbedContents"
        else:
            raise not_supported(msg("relay.gemini_no_endpoint", kind=call.kind))
        headers = {"Content-Type": "application/json", "x-goog-api-key": target.key,
                   "Accept": "text/event-stream" if call.stream else "application/json"}
        version = target.provider.gemini_version or DEFAULT_VERSION
        data = call.raw if call.native and not call.rewritten else orjson.dumps(body)
        return UpstreamRequest("POST", request_url(target, call, action, version), headers, data)

    # -- converted --
    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        return chat_answer(call, _load(body))

    def decoder(self, call: Call) -> GeminiDecoder:
        return GeminiDecoder(call.model)

    def frame_reader(self) -> FrameReader | None:
        return None

    # -- embeddings (converted to OpenAI's shape) and the pass-through of a Gemini client --
    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        data = _load(body)
        if call.kind == "embeddings":
            return embeddings_response(call, data)
        _check_blocked(data)
        return Parsed(body, usage_of(data.get("usageMetadata")), _native_text(data), content_type)

    def stream_translator(self, call: Call, client_wants_usage: bool) -> GeminiPassStream:
        return GeminiPassStream()

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return map_error(status, body)
