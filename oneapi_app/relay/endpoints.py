"""The relay endpoints, one table for both ways in: the routes (relay/routes.py) register every row, the fast
lane (relay/fastlane.py) serves the rows marked ``fast`` without the FastAPI stack.

A new relay call is one row here: its path, the pipeline kind it runs, its method and the client's dialect
(relay/dialects/: ``chat`` is OpenAI's; errors answer in the dialect's envelope). A path with a parameter
(``{model}``) is served by the routes only; the fast lane looks paths up in a plain dict.
"""

from __future__ import annotations

from dataclasses import dataclass

from .adaptors.base import Kind


@dataclass(frozen=True, slots=True)
class RelayEndpoint:
    path: str
    kind: Kind
    method: str = "POST"
    fast: bool = True  # served by the fast lane
    dialect: str = "chat"  # the client's format (dialects.dialect_for)

    def __post_init__(self) -> None:
        if self.fast and (self.method != "POST" or "{" in self.path):
            raise ValueError(f"{self.path}: the fast lane serves POST paths without parameters only")


RELAY_ENDPOINTS: tuple[RelayEndpoint, ...] = (
    RelayEndpoint("/v1/chat/completions", "chat"),
    RelayEndpoint("/v1/completions", "completions"),
    RelayEndpoint("/v1/embeddings", "embeddings"),
    RelayEndpoint("/v1/engines/{model}/embeddings", "embeddings", fast=False),
    RelayEndpoint("/v1/moderations", "moderations"),
    RelayEndpoint("/v1/edits", "edits"),
    RelayEndpoint("/v1/messages", "chat", dialect="messages"),  # Anthropic's Messages API
)

# path -> row, for the fast lane's one dict lookup per request.
FAST_PATHS: dict[str, RelayEndpoint] = {e.path: e for e in RELAY_ENDPOINTS if e.fast}
