"""The Dialect protocol: what the pipeline asks of a client format.

A dialect reads its client's body (validate, the model, stream or not, the output bound), converts it to the
internal request form (OpenAI chat completions, a dict) when the channel speaks another family, counts the
prompt when no usage came back, applies a channel's system prompt in its own shape, and encodes answers
(``events.Answer``), stream events (``events.EventEncoder``) and errors in its own envelope.

``family`` is the channel family whose wire format equals the dialect's: when the chosen channel is of that
family the request and the answer pass through byte for byte (usage is read, nothing re-encoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ...errors import RelayError
from ..events import Answer, EventEncoder


@dataclass(slots=True)
class Inbound:
    """What the pipeline needs from a client body, whatever its format."""

    model: str
    stream: bool
    max_tokens: int = 0  # the client's output bound (0: none given), for the reservation
    wants_usage: bool = False  # OpenAI stream_options.include_usage; other dialects always report usage


class Dialect(Protocol):
    name: str  # "chat", "messages", "responses", "gemini"
    family: str  # channel family spoken byte for byte: "openai", "anthropic", "gemini"

    def read(self, body: dict, path_model: str | None) -> Inbound: ...  # validates; raises RelayError

    def to_internal(self, body: dict) -> dict: ...  # -> OpenAI chat completions request

    def count_prompt(self, body: dict, model: str) -> int: ...

    def apply_system_prompt(self, body: dict, prompt: str) -> dict: ...  # a new body

    def encode_answer(self, answer: Answer, model: str) -> bytes: ...

    def encoder(self, model: str, request_id: str) -> EventEncoder: ...

    def error_body(self, error: RelayError, request_id: str) -> dict: ...  # the dialect's error envelope
