"""The Dialect protocol: what the pipeline asks of a client format.

A dialect reads its client's body (validate, the model, stream or not, the output bound), converts it to the
internal request form (OpenAI chat completions, a dict) when the channel speaks another family, counts the
prompt when no usage came back, applies a channel's system prompt in its own shape, asks a pass-through
upstream for its usage, and encodes answers (``events.Answer``), stream events (``events.EventEncoder``) and
errors in its own envelope.

``family`` is the channel family whose wire format equals the dialect's: when the chosen channel is of that
family the request and the answer pass through byte for byte (usage is read, nothing re-encoded); otherwise
the body goes through ``to_internal`` once and the answer comes back through the adaptor's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ...errors import AppError
from ..events import Answer, EventEncoder


@dataclass(slots=True)
class Inbound:
    """What the pipeline needs from a client body, whatever its format."""

    model: str
    stream: bool
    max_tokens: int = 0  # the client's output bound (0: none given), for the reservation
    # Usage reported to the client in its stream. False only for an OpenAI chat client that did not ask
    # (stream_options.include_usage); other dialects always report usage: the encoder gets UsageReport events.
    wants_usage: bool = True
    # The body to relay instead of the client's, when the dialect expanded it (the Responses API's
    # previous_response_id replayed into ``input``); None: the client's body as sent.
    body: dict | None = None


class Dialect(Protocol):
    name: str  # "chat", "messages", "responses", "gemini"
    family: str  # channel family spoken byte for byte: "openai", "anthropic", "gemini"
    forward_headers: tuple[str, ...]  # client headers (lower case) passed on to a channel of ``family``
    # Optional, read with getattr by the pipeline:
    #   def serves(self, channel_type: int, config: dict) -> bool    # False: a channel of ``family`` that does
    #       not speak this API itself (e.g. a chat-only OpenAI-compatible channel for the Responses API): convert
    #   def stream_translator(self) -> StreamTranslator              # the pass-through stream reader, when the
    #       adaptor's own (made for the family's main format) does not read this dialect's stream

    def read(self, body: dict, path_model: str | None) -> Inbound: ...  # validates; raises RelayError

    def to_internal(self, body: dict) -> dict: ...  # -> OpenAI chat completions request (validated)

    def count_prompt(self, body: dict, model: str) -> int: ...  # the client's body, tiktoken (off the hot path)

    def apply_system_prompt(self, body: dict, prompt: str) -> dict: ...  # a new body, in the dialect's shape

    # A pass-through stream's body asking the upstream to report usage, or None when nothing is needed.
    def request_usage(self, body: dict) -> dict | None: ...

    def encode_answer(self, answer: Answer, model: str) -> bytes: ...

    def encoder(self, model: str, request_id: str) -> EventEncoder: ...

    def error_body(self, error: AppError, request_id: str) -> dict: ...  # the dialect's error envelope
