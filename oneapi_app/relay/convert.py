"""A converted stream: the adaptor's decoder (upstream frames -> typed events) joined to the client's dialect
encoder (events -> the client's bytes), behind the StreamTranslator interface the pipeline streams with.

It keeps what billing needs: the last usage reported, and the text delivered (for a local count when the
upstream reported none). Usage reaches the encoder only when the client gets usage (``keep_usage``).
"""

from __future__ import annotations

from ..errors import UpstreamFailure
from .adaptors.base import Usage
from .events import (
    Event,
    EventDecoder,
    EventEncoder,
    ReasoningDelta,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)


class BrokenStream(Exception):
    """The upstream broke mid-stream: ``out`` is what was encoded from the events before the error (the client
    gets it, then the dialect's error ending), ``failure`` the upstream's error."""

    def __init__(self, out: bytes, failure: UpstreamFailure) -> None:
        super().__init__()
        self.out = out
        self.failure = failure


class Converter:
    __slots__ = ("_text", "decoder", "done", "encoder", "keep_usage", "usage")

    def __init__(self, decoder: EventDecoder, encoder: EventEncoder, keep_usage: bool) -> None:
        self.decoder = decoder
        self.encoder = encoder
        self.keep_usage = keep_usage
        self.usage: Usage | None = None
        self.done = False
        self._text: list[str] = []

    def _encode(self, events: list[Event]) -> bytes | None:
        if not events:
            return None
        kept = events
        for event in events:
            if isinstance(event, TextDelta | ReasoningDelta):
                if event.text:
                    self._text.append(event.text)
            elif isinstance(event, ToolCallDelta):
                if event.arguments:
                    self._text.append(event.arguments)
            elif isinstance(event, UsageReport):
                self.usage = event.usage
                if not self.keep_usage:
                    kept = [e for e in events if not isinstance(e, UsageReport)]
            elif isinstance(event, StreamError):  # the events before it still reach the client
                before = kept[:kept.index(event)]
                out = self.encoder.feed(before) if before else b""
                if not out:
                    raise event.failure
                raise BrokenStream(out, event.failure)
        return self.encoder.feed(kept) or None

    def feed(self, payload: bytes) -> bytes | None:
        return self._encode(self.decoder.feed(payload))

    def finish(self) -> bytes | None:
        out = self._encode(self.decoder.finish()) or b""
        self.done = True
        return out + self.encoder.finish()

    def text(self) -> str:
        return "".join(self._text)
