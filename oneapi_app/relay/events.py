"""The relay's one explicit internal form of an ANSWER: typed events (streams) and ``Answer`` (whole answers).

Requests travel in the internal request form, OpenAI chat completions (a dict in OpenAI's shape): every
inbound dialect (relay/dialects/) converts its client's body to it when the chosen channel speaks another
family, and every provider adaptor (relay/adaptors/) converts from it. Answers travel back as the types
below: a provider translator decodes its upstream's stream into ``Event`` values and its whole answer into
an ``Answer``; the client's dialect encodes them into its own bytes (OpenAI chunks, Anthropic
``content_block_*`` events, Responses events, Gemini candidates). N dialects + M adaptors, never N x M.

When the client's dialect and the channel's family match, none of this runs: the upstream's bytes go to the
client as they came (byte-for-byte pass-through), only usage is read from them.

Finish reasons are OpenAI's words (``stop``, ``length``, ``tool_calls``, ``content_filter``); each dialect maps
them to its own (Anthropic ``end_turn``/``max_tokens``/``tool_use``, Gemini ``STOP``/``MAX_TOKENS``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..errors import UpstreamFailure


# -- usage ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens read from a prompt cache (part of prompt_tokens)
    reasoning_tokens: int = 0  # part of completion_tokens
    cache_creation_tokens: int = 0  # prompt tokens written to a prompt cache (Anthropic; part of prompt_tokens)

    @classmethod
    def from_openai(cls, data: object) -> Usage | None:
        if not isinstance(data, dict):
            return None

        def num(obj: object, key: str) -> int:
            value = obj.get(key) if isinstance(obj, dict) else None
            return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

        prompt = num(data, "prompt_tokens") or num(data, "input_tokens")
        completion = num(data, "completion_tokens") or num(data, "output_tokens")
        total = num(data, "total_tokens")
        if prompt == 0 and completion == 0 and total == 0:
            return None
        if prompt == 0 and completion == 0:  # only a total: treat it as prompt (embeddings-like)
            prompt = total
        details_in = data.get("prompt_tokens_details") or data.get("input_tokens_details")
        details_out = data.get("completion_tokens_details") or data.get("output_tokens_details")
        return cls(prompt, completion, num(details_in, "cached_tokens"), num(details_out, "reasoning_tokens"))



# -- stream events ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class Start:
    """The answer begins (first event of a stream): the upstream's id and model when it says them."""

    id: str = ""
    model: str = ""


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    """Thinking / reasoning text; ``signature`` carries Anthropic's thinking signature (or a redacted block's
    data) when the provider sends one, so a client of the same family can hand it back."""

    text: str = ""
    signature: str = ""


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of tool call number ``index`` (0-based, in the answer's order): the first piece carries id and
    name, later ones append to ``arguments`` (a JSON text, split anywhere)."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class UsageReport:
    """Usage as the provider reported it (may come more than once; the last one wins)."""

    usage: Usage


@dataclass(slots=True)
class Finish:
    reason: str = "stop"


@dataclass(slots=True)
class StreamError:
    """The upstream reported an error after the stream began; the dialect ends the client's stream with
    its own error event."""

    failure: UpstreamFailure


Event = Start | TextDelta | ReasoningDelta | ToolCallDelta | UsageReport | Finish | StreamError


# -- whole answers ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text


@dataclass(slots=True)
class Answer:
    """A whole (non-stream) chat answer in the internal form."""

    id: str = ""
    model: str = ""
    text: str = ""
    reasoning: str = ""
    reasoning_signature: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage | None = None
    created: int = 0
    alternatives: list[Answer] = field(default_factory=list)  # choices 1.. of an n > 1 answer (OpenAI, Gemini)

    def delivered(self) -> str:
        """Everything the answer delivered, for a local count when the provider reported no usage."""
        parts = [self.reasoning, self.text, *(call.arguments for call in self.tool_calls)]
        return "".join(parts) + "".join(a.delivered() for a in self.alternatives)


# -- the two sides' protocols -----------------------------------------------------------------------------
class EventDecoder(Protocol):
    """Provider side: upstream stream frames (an SSE ``data:`` payload, or the adaptor's own framing) ->
    events. Pure: no I/O."""

    def feed(self, payload: bytes) -> list[Event]: ...

    def finish(self) -> list[Event]: ...  # the upstream stream ended normally


class EventEncoder(Protocol):
    """Client side (one per dialect): events -> the client's stream bytes (whole frames, SSE or other)."""

    def feed(self, events: list[Event]) -> bytes: ...

    def finish(self) -> bytes: ...  # normal end (e.g. Anthropic message_stop, OpenAI [DONE])

    def error(self, failure: UpstreamFailure, request_id: str) -> bytes: ...  # end a broken stream


class EncoderEnd:
    """The part of a stream encoder that keeps what carries no content, for its last event: the finish
    reason and the usage. ``note`` takes those events; a StreamError among them raises its failure (the
    pipeline then ends the client's stream with the encoder's ``error``)."""

    __slots__ = ("finish_reason", "usage")

    def __init__(self) -> None:
        self.finish_reason = "stop"
        self.usage: Usage | None = None

    def note(self, event: Event) -> None:
        """A Finish, UsageReport or StreamError (other events are the encoder's own to send)."""
        if isinstance(event, Finish):
            self.finish_reason = event.reason or "stop"
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, StreamError):
            raise event.failure
