"""The OpenAI-family adaptor: every channel type whose API family is ``openai`` (see channel_types).

URLs follow one-api (spec sections 1 and 3): base + the client's path and query, with Azure's deployment
URL and ``api-key`` header, the "strip /v1" and fixed-prefix rules of the compatible providers, and
Cloudflare AI Gateway bases. Bodies are forwarded byte for byte unless the pipeline rewrote them.
"""

from __future__ import annotations

import orjson

from ...catalog.channel_types import AZURE, OPENROUTER, channel_type
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
from .base import Call, FrameReader, Parsed, Target, Usage, load_object, unreadable_answer

CLOUDFLARE_GATEWAY = "https://gateway.ai.cloudflare.com"
DEFAULT_AZURE_VERSION = "2024-03-01-preview"


def _split_query(path: str) -> tuple[str, str]:
    base, sep, query = path.partition("?")
    return base, (sep + query) if sep else ""


def request_url(target: Target, call: Call) -> str:
    kind = channel_type(target.channel_type)
    base = (target.base_url or kind.base_url).rstrip("/")
    path, query = _split_query(call.path)
    gateway = base.startswith(CLOUDFLARE_GATEWAY)
    rule = kind.url_rule
    if rule == "azure":
        version = str(target.config.get("api_version") or target.other or DEFAULT_AZURE_VERSION)
        deployment = call.model.replace(".", "")
        rest = path.removeprefix("/v1/")
        prefix = "" if gateway else "/openai/deployments"
        sep = "&" if query else "?"
        return f"{base}{prefix}/{deployment}/{rest}{query}{sep}api-version={version}"
    if rule == "minimax" and call.kind == "chat":
        return f"{base}/v1/text/chatcompletion_v2{query}"
    if rule == "cloudflare" and not gateway:
        account = str(target.config.get("user_id") or "").strip()
        if not account:
            raise UpstreamFailure(msg("relay.cloudflare_no_account"),
                                  status=500, retryable=True, code="channel_misconfigured", type="one_api_error")
        return f"{base}/client/v4/accounts/{account}/ai{path}{query}"
    if rule == "strip_v1":
        return f"{base}{path.removeprefix('/v1')}{query}"
    if rule.startswith("fixed:"):
        return f"{base}{rule.removeprefix('fixed:')}{path.removeprefix('/v1')}{query}"
    if gateway and target.channel_type == 1:
        return f"{base}{path.removeprefix('/v1')}{query}"
    return f"{base}{path}{query}"


def _delta_text(choice: dict, kind: str) -> str:
    if kind == "completions":
        text = choice.get("text")
        return text if isinstance(text, str) else ""
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return ""
    parts = []
    content = delta.get("content")
    if isinstance(content, str):
        parts.append(content)
    for key in ("reasoning_content", "reasoning"):
        if isinstance(delta.get(key), str):
            parts.append(delta[key])
    for call in delta.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            parts.append(function["arguments"])
    return "".join(parts)


class OpenAIStream:
    """Forwards each event's bytes unchanged; drops only the usage-only chunk the client did not ask for.

    Per event it does as little as it can: a byte search for ``"usage"`` decides whether the event must be
    parsed (usage capture, and dropping the usage-only chunk); the delivered text is only needed when the
    upstream never reports usage, so the payloads are kept and parsed lazily by ``text()``.
    """

    __slots__ = ("_payloads", "_text", "done", "keep_usage", "kind", "usage")
    COMPACT_AT = 256  # payloads kept before they are reduced to text (bounds the memory of long streams)

    def __init__(self, kind: str, keep_usage: bool) -> None:
        self.kind = kind
        self.keep_usage = keep_usage
        self.usage: Usage | None = None
        self.done = False
        self._payloads: list[bytes] = []
        self._text: list[str] = []

    def feed(self, payload: bytes) -> bytes | None:
        if payload == b"[DONE]":
            self.done = True
            return DONE
        if b'"usage"' in payload:
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                event = None
            if isinstance(event, dict):
                usage = Usage.from_openai(event.get("usage"))
                if usage is not None:
                    self.usage = usage
                    if not event.get("choices"):
                        # usage-only chunk: no text in it
                        return None if not self.keep_usage else b"data: " + payload + b"\n\n"
        payloads = self._payloads
        payloads.append(payload)
        if len(payloads) >= self.COMPACT_AT:
            self._compact()
        return b"data: " + payload + b"\n\n"

    def finish(self) -> bytes | None:
        return None  # the upstream's own events (usage chunk, [DONE]) were forwarded as they came

    def text(self) -> str:
        self._compact()
        return "".join(self._text)

    def _compact(self) -> None:
        parts = self._text
        payloads, self._payloads = self._payloads, []
        for payload in payloads:
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            choices = event.get("choices") if isinstance(event, dict) else None
            if isinstance(choices, list):
                for choice in choices:
                    if isinstance(choice, dict):
                        text = _delta_text(choice, self.kind)
                        if text:
                            parts.append(text)


DONE = b"data: [DONE]\n\n"


def _answer_of_choice(choice: dict) -> Answer:
    message = v if isinstance(v := choice.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):  # content parts (some compatible providers)
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    calls = []
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            arguments = function.get("arguments")
            calls.append(ToolCall(str(call.get("id") or ""), str(function.get("name") or ""),
                                  arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()))
    return Answer(text=content if isinstance(content, str) else "",
                  reasoning=reasoning if isinstance(reasoning, str) else "", tool_calls=calls,
                  finish_reason=str(choice.get("finish_reason") or "stop"))


def answer_of(data: dict) -> Answer:
    """A chat.completion -> Answer (choice 0; the others as alternatives)."""
    choices = [_answer_of_choice(c) for c in data.get("choices") or () if isinstance(c, dict)] or [Answer()]
    first = choices[0]
    first.id, first.model = str(data.get("id") or ""), str(data.get("model") or "")
    first.created = int(data["created"]) if isinstance(data.get("created"), int) else 0
    first.usage = Usage.from_openai(data.get("usage"))
    first.alternatives = choices[1:]
    return first


class OpenAIDecoder:
    """chat.completion.chunk events (choice 0) -> typed events."""

    __slots__ = ("_started",)

    def __init__(self) -> None:
        self._started = False

    def feed(self, payload: bytes) -> list[Event]:
        if payload == b"[DONE]":
            return []
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(event, dict):
            return []
        out: list[Event] = []
        error = event.get("error")
        if isinstance(error, dict) and error.get("message"):
            return [StreamError(status_failure(500, payload))]
        if not self._started:
            self._started = True
            out.append(Start(str(event.get("id") or ""), str(event.get("model") or "")))
        choices = event.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if choice is not None:
            delta = v if isinstance(v := choice.get("delta"), dict) else {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(content))
            for call in delta.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                function = v if isinstance(v := call.get("function"), dict) else {}
                index = call.get("index")
                arguments = function.get("arguments")
                out.append(ToolCallDelta(index if isinstance(index, int) else 0, str(call.get("id") or ""),
                                         str(function.get("name") or ""),
                                         arguments if isinstance(arguments, str) else ""))
            if choice.get("finish_reason"):
                out.append(Finish(str(choice["finish_reason"])))
        usage = Usage.from_openai(event.get("usage"))
        if usage is not None:
            out.append(UsageReport(usage))
        return out

    def finish(self) -> list[Event]:
        return []


class OpenAIAdaptor:
    name = "openai"
    family = "openai"

    def build_request(self, target: Target, call: Call) -> UpstreamRequest:
        headers = {"Content-Type": call.content_type or "application/json",
                   "Accept": call.accept or ("text/event-stream" if call.stream else "application/json")}
        if target.channel_type == AZURE:
            headers["api-key"] = target.key
        else:
            headers["Authorization"] = f"Bearer {target.key}"
        if target.channel_type == OPENROUTER:
            headers["HTTP-Referer"] = "https://github.com/songquanpeng/one-api"
            headers["X-Title"] = "One API"
        body = orjson.dumps(call.body) if call.rewritten else call.raw
        return UpstreamRequest("POST", request_url(target, call), headers, body)

    def parse_response(self, call: Call, body: bytes, content_type: str) -> Parsed:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise unreadable_answer() from None
        if not isinstance(data, dict):
            return Parsed(body, None, "", content_type)
        error = data.get("error")
        if isinstance(error, dict) and (error.get("type") or error.get("message")):
            raise status_failure(500, body)
        text = ""
        if call.kind in ("chat", "completions", "edits"):
            parts = []
            for choice in data.get("choices") or ():
                if not isinstance(choice, dict):
                    continue
                if isinstance(choice.get("text"), str):
                    parts.append(choice["text"])
                message = choice.get("message")
                if isinstance(message, dict) and isinstance(message.get("content"), str):
                    parts.append(message["content"])
            text = "".join(parts)
        return Parsed(body, Usage.from_openai(data.get("usage")), text, content_type)

    def stream_translator(self, call: Call, client_wants_usage: bool) -> OpenAIStream:
        return OpenAIStream(call.kind, client_wants_usage)

    # -- converted (a client of another dialect on an OpenAI-family channel) --
    def parse_answer(self, call: Call, body: bytes, content_type: str) -> Answer:
        data = load_object(body)
        error = data.get("error")
        if isinstance(error, dict) and (error.get("type") or error.get("message")):
            raise status_failure(500, body)
        return answer_of(data)

    def decoder(self, call: Call) -> OpenAIDecoder:
        return OpenAIDecoder()

    def frame_reader(self) -> FrameReader | None:
        return None

    def map_error(self, status: int, body: bytes) -> UpstreamFailure:
        return status_failure(status, body)
