"""Shared pieces of the native adaptors of the Chinese and smaller providers (baidu, spark, tencent, coze,
deepl, replicate, aiproxy): message text, error objects, a key split, the SSE reader that keeps event names,
and the fold of a list of events into a whole ``Answer`` (for providers whose whole answer is their stream).

Pure: no I/O, no app state.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable

import orjson

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
from ..upstream import status_failure
from .base import Parsed, Target, Usage, not_supported


def text_of(content: object) -> str:
    """A message's content as text: a string as is, the text parts of a parts list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def messages_of(body: dict) -> list[dict]:
    return [m for m in body.get("messages") or () if isinstance(m, dict)]


def last_text(body: dict) -> str:
    messages = messages_of(body)
    return text_of(messages[-1].get("content")) if messages else ""


def number(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def failure(message: str, status: int, *, kind: str = "upstream_error", code: str | int = "",
            retryable: bool | None = None) -> UpstreamFailure:
    """An upstream error as an OpenAI error object (``type`` and ``code`` kept: the auto-disable rules and
    clients read them). Retryable by default for 429 and 5xx."""
    if retryable is None:
        retryable = status == 429 or status >= 500
    code = str(code)
    return UpstreamFailure(message, status=status, retryable=retryable,
                           body={"message": message, "type": kind, "param": "", "code": code})


def status_mapped(status: int, body: bytes, message: str, code: str, invalid: Collection[int]) -> UpstreamFailure:
    """The common end of a provider's error mapping: a status of ``invalid`` is the client's fault
    (``invalid_request_error``, not retried; 422 is answered as 400), 429 and 5xx keep ``code`` and are
    retried, any other status is read the OpenAI way."""
    if status in invalid:
        return failure(message, 400 if status == 422 else status, kind="invalid_request_error", code=code,
                       retryable=False)
    if status == 429 or status >= 500:
        return failure(message, status, code=code)
    return status_failure(status, body)


def auth_failure(message: str, code: str | int = "invalid_api_key") -> UpstreamFailure:
    """A dead key: 401 ``authentication_error`` (the channel is disabled when auto-disable is on); retryable
    on another channel of the group."""
    return failure(message, 401, kind="authentication_error", code=code, retryable=True)


def split_key(target: Target, provider: str, shape: str, parts: int) -> list[str]:
    """The channel key split on ``|`` into exactly ``parts`` non-empty fields, or a clear 401."""
    fields = [f.strip() for f in (target.key or "").split("|")]
    if len(fields) != parts or not all(fields):
        raise auth_failure(str(msg("relay.cn_bad_key", provider=provider, shape=shape)))
    return fields


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def no_endpoint(provider: str, kind: str) -> UpstreamFailure:
    return not_supported(msg("relay.cn_no_endpoint", provider=provider, kind=kind))


def base_url(target: Target, default: str) -> str:
    return (target.base_url or default).rstrip("/")


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def openai_tools(body: dict) -> list[dict]:
    """The function definitions of an OpenAI request (``tools`` of type function, or legacy ``functions``)."""
    out = []
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type", "function") == "function" and isinstance(tool.get("function"), dict):
            out.append(tool["function"])
    for function in body.get("functions") or ():
        if isinstance(function, dict):
            out.append(function)
    return out


def arguments_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value if value is not None else {}).decode()


# -- SSE with event names -----------------------------------------------------------------------------------
class EventSSEReader:
    """A FrameReader for SSE streams whose ``event:`` names matter (Coze v3, Replicate): each event becomes
    one frame ``<event name>\\n<data>`` (the data lines joined by newlines; an event without a name is
    ``message``)."""

    def __init__(self, limit: int = 64 * 1024 * 1024) -> None:
        self._buffer = b""
        self._event = b""
        self._data: list[bytes] = []
        self.limit = limit

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._buffer + chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        if len(self._buffer) > self.limit:
            from ..upstream import too_large

            raise too_large(self.limit)
        frames: list[bytes] = []
        for line in lines:
            self._line(line.removesuffix(b"\r"), frames)
        return frames

    def _line(self, line: bytes, frames: list[bytes]) -> None:
        if not line:
            if self._data or self._event:
                frames.append((self._event or b"message") + b"\n" + b"\n".join(self._data))
            self._event, self._data = b"", []
        elif line.startswith(b"event:"):
            self._event = line[6:].strip()
        elif line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        # comments (":...") and id:/retry: lines carry nothing here

    def finish(self) -> list[bytes]:
        frames: list[bytes] = []
        if self._buffer:
            self._line(self._buffer.removesuffix(b"\r"), frames)
            self._buffer = b""
        self._line(b"", frames)
        return frames


def split_event(frame: bytes) -> tuple[str, bytes]:
    name, _, data = frame.partition(b"\n")
    return name.decode(errors="replace"), data


class WholeBodyReader:
    """A FrameReader for upstreams that answer a stream request with one JSON body (DeepL, Replicate's
    waited prediction): the whole body is one frame, at the end."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        self._parts.append(chunk)
        return []

    def finish(self) -> list[bytes]:
        body, self._parts = b"".join(self._parts), []
        return [body] if body.strip() else []


class ProviderDecoder:
    """The common part of a native provider's stream decoder: ``opening`` gives the Start event once (then
    nothing), ``finish`` adds nothing (these providers end their streams themselves)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False

    def opening(self, upstream_id: str | None = None) -> list[Event]:
        """``[Start]`` the first time (``upstream_id`` None: a new id), ``[]`` after."""
        if self.started:
            return []
        self.started = True
        return [Start(new_id() if upstream_id is None else upstream_id, self.model)]

    def finish(self) -> list[Event]:
        return []


def whole_answer_events(read: Callable[[], Answer]) -> list[Event]:
    """A whole answer (``read()``, which may raise an UpstreamFailure) as the events of a stream."""
    try:
        answer = read()
    except UpstreamFailure as failed:
        return [StreamError(failed)]
    events: list[Event] = [Start(answer.id, answer.model), TextDelta(answer.text)]
    if answer.usage is not None:
        events.append(UsageReport(answer.usage))
    return [*events, Finish("stop")]


# -- events -> a whole answer -------------------------------------------------------------------------------
def fold(events: Iterable[Event], model: str = "") -> Answer:
    """A whole Answer from a provider's events (its stream read to the end). A StreamError raises."""
    answer = Answer(model=model)
    calls: dict[int, ToolCall] = {}
    text: list[str] = []
    reasoning: list[str] = []
    for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = calls.get(event.index)
            if call is None:
                calls[event.index] = ToolCall(event.id, event.name, event.arguments)
            else:
                call.id = call.id or event.id
                call.name = call.name or event.name
                call.arguments += event.arguments
        elif isinstance(event, UsageReport):
            answer.usage = event.usage
        elif isinstance(event, Finish):
            answer.finish_reason = event.reason
        elif isinstance(event, Start):
            answer.id = answer.id or event.id
            answer.model = event.model or answer.model
        elif isinstance(event, StreamError):
            raise event.failure
    answer.text = "".join(text)
    answer.reasoning = "".join(reasoning)
    answer.tool_calls = [calls[i] for i in sorted(calls)]
    if answer.tool_calls and answer.finish_reason == "stop":
        answer.finish_reason = "tool_calls"
    answer.id = answer.id or new_id()
    return answer


def embeddings_answer(model: str, items: list[dict], index_key: str, vector_key: str,
                      found: Usage | None) -> Parsed:
    """A provider's embedding items (``index_key``: the position, ``vector_key``: the vector) -> OpenAI's
    embeddings answer (the usage's prompt tokens as its total)."""
    tokens = found.prompt_tokens if found else 0
    answer = {"object": "list", "model": model,
              "data": [{"object": "embedding", "index": d.get(index_key, i), "embedding": d.get(vector_key) or []}
                       for i, d in enumerate(items)],
              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return Parsed(orjson.dumps(answer), found, "")


def usage(prompt: int, completion: int) -> Usage | None:
    return Usage(prompt, completion) if prompt or completion else None


def obj(value: object) -> dict:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
