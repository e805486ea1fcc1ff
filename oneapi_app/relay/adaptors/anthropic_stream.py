"""Anthropic Messages streams: decoded into typed events (converted path), or passed through (a Messages
client on an Anthropic channel). Pure: no I/O.

Decoding: message_start gives the id, model and input tokens; text/thinking/signature/tool deltas become
TextDelta/ReasoningDelta/ToolCallDelta; message_delta brings the stop reason (Finish) and the usage
(UsageReport: input + cache tokens from message_start, output from message_delta); an ``error`` event becomes
a StreamError. Usage is reported only at message_delta, so a stream broken before it is counted locally.

Pass-through: every event is forwarded as ``event: <type>`` + its ``data:`` payload unchanged (thinking
signatures, citations, server tool blocks included); message_start and message_delta are parsed for usage,
the rest only searched for their type.
"""

from __future__ import annotations

from ..events import Event, Finish, ReasoningDelta, Start, StreamError, TextDelta, ToolCallDelta, Usage, UsageReport
from .anthropic_messages import failure_in_body, finish_reason, usage_of
from .base import RawPassStream, try_object


def _merged_usage(start: dict, usage: dict) -> Usage | None:
    return usage_of({**start, **{k: v for k, v in usage.items() if v is not None}})


class AnthropicDecoder:
    """With a ``response_tool`` (response_format json_schema), that tool's input arrives as text deltas (not a
    tool call); text the model writes is held until it is known whether the response tool comes (then the
    text is dropped: the answer is the JSON), and given before the finish when it never came."""

    __slots__ = ("_held", "_json_block", "_start", "_tools", "response_tool")

    def __init__(self, response_tool: str = "") -> None:
        self._start: dict = {}  # message_start's usage (input and cache tokens)
        self._tools: dict[int, int] = {}  # Anthropic block index -> tool call index
        self.response_tool = response_tool
        self._json_block: int | None = None  # the block index of the response tool's use
        self._held: list[str] = []  # text while the response tool may still come

    def feed(self, payload: bytes) -> list[Event]:
        event = try_object(payload)
        if event is None:
            return []
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_start":
            message = v if isinstance(v := event.get("message"), dict) else {}
            self._start = v if isinstance(v := message.get("usage"), dict) else {}
            return [Start(str(message.get("id") or ""), str(message.get("model") or ""))]
        if kind == "content_block_start":
            block = event.get("content_block")
            if not isinstance(block, dict):
                return []
            if block.get("type") == "tool_use" and self.response_tool and block.get("name") == self.response_tool:
                if self._json_block is None:
                    self._json_block = event.get("index", -1)
                    self._held.clear()
                return []
            if block.get("type") == "tool_use":
                index = self._tools[event.get("index", -1)] = len(self._tools)
                return [ToolCallDelta(index, str(block.get("id") or ""), str(block.get("name") or ""))]
            if block.get("type") == "text" and block.get("text"):
                return self._text(block["text"])
            if block.get("type") == "thinking" and (block.get("thinking") or block.get("signature")):
                return [ReasoningDelta(str(block.get("thinking") or ""), str(block.get("signature") or ""))]
            if block.get("type") == "redacted_thinking" and block.get("data"):
                return [ReasoningDelta("", str(block["data"]))]
            return []
        if kind == "message_delta":
            out: list[Event] = []
            delta = v if isinstance(v := event.get("delta"), dict) else {}
            reason = finish_reason(delta.get("stop_reason"))
            if self._held:  # the response tool never came: the model's text is the answer
                out.append(TextDelta("".join(self._held)))
                self._held.clear()
            if reason == "tool_calls" and self._json_block is not None and not self._tools:
                reason = "stop"  # the answer came through the response tool
            if reason:
                out.append(Finish(reason))
            usage = event.get("usage")
            if isinstance(usage, dict):
                merged = _merged_usage(self._start, usage)
                if merged is not None:
                    out.append(UsageReport(merged))
            return out
        if kind == "error":
            return [StreamError(failure_in_body(event))]
        return []  # ping, content_block_stop, message_stop, unknown event types

    def _delta(self, event: dict) -> list[Event]:
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            return self._text(delta["text"])
        if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            if self._json_block is not None and event.get("index", -1) == self._json_block:
                return [TextDelta(delta["partial_json"])] if delta["partial_json"] else []
            index = self._tools.get(event.get("index", -1))
            if index is None or not delta["partial_json"]:
                return []
            return [ToolCallDelta(index, arguments=delta["partial_json"])]
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            return [ReasoningDelta(delta["thinking"])]
        if kind == "signature_delta" and isinstance(delta.get("signature"), str):
            return [ReasoningDelta("", delta["signature"])]
        return []

    def _text(self, text: str) -> list[Event]:
        if not self.response_tool:
            return [TextDelta(text)]
        if self._json_block is None:
            self._held.append(text)
        return []

    def finish(self) -> list[Event]:
        if self._held:  # a stream that ended without its message_delta
            held, self._held = "".join(self._held), []
            return [TextDelta(held)]
        return []


class AnthropicPassStream(RawPassStream):
    """Anthropic's stream to an Anthropic client byte for byte (RawPassStream). Usage is read from the data
    lines that carry one (message_start: input and cache tokens; message_delta: output tokens), found by a
    byte search; the chunks are kept (compacted to text) only for a local count when no usage came."""

    __slots__ = ("_start",)
    MAX_LINE = 1024 * 1024  # a longer unfinished line is content, never usage: not kept

    def __init__(self) -> None:
        super().__init__()
        self._start: dict = {}

    def _wants(self, data: bytes, cut: int) -> bool:
        return b'"usage"' in data

    def _read(self, lines: bytes) -> None:
        for event in self.data_events(lines.split(b"\n"), b'"usage"'):
            if not isinstance(event, dict):
                continue
            if event.get("type") == "message_start":
                message = v if isinstance(v := event.get("message"), dict) else {}
                self._start = v if isinstance(v := message.get("usage"), dict) else {}
            elif event.get("type") == "message_delta" and isinstance(event.get("usage"), dict):
                self.usage = _merged_usage(self._start, event["usage"])

    def _take(self, event: object) -> None:
        delta = event.get("delta") if isinstance(event, dict) else None
        if isinstance(delta, dict):
            for key in ("text", "partial_json", "thinking"):
                if isinstance(delta.get(key), str):
                    self._text.append(delta[key])
