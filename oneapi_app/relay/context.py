"""RelayContext: everything one relay request carries from authentication to the log row."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..services.cache import ChannelInfo, TokenInfo, UserInfo
from ..services.ledger import Hold
from ..services.pricing import Price
from .adaptors.base import Kind
from .dialects.base import Dialect

if TYPE_CHECKING:
    from .limits import Ticket


@dataclass(slots=True)
class RelayContext:
    request_id: str
    kind: Kind
    path: str  # client path with query
    token: TokenInfo
    user: UserInfo
    body: dict
    raw: bytes
    model: str  # as the client asked
    dialect: Dialect  # the client's format (relay/dialects/)
    stream: bool = False
    client_wants_usage: bool = False
    max_tokens: int = 0  # the client's output bound, for the reservation
    forward: dict[str, str] = field(default_factory=dict)  # client headers for a channel of the dialect's family
    pinned: int | None = None
    started: float = field(default_factory=time.perf_counter)
    created_at: int = field(default_factory=lambda: int(time.time()))
    # Filled as the pipeline goes.
    channel: ChannelInfo | None = None
    upstream_model: str = ""
    price: Price | None = None
    reserved: int = 0
    hold: Hold | None = None  # the ledger's reservation (settled or refunded exactly once)
    body_rewritten: bool = False  # ctx.body differs from the client's bytes already
    internal: dict | None = None  # the body in the internal form (OpenAI chat), made once when first needed
    settled: bool = False
    tried: set[int] = field(default_factory=set)
    system_prompt_reset: bool = False
    limit: Ticket | None = None  # what the rate limiter holds for this request (relay/limits.py)

    @property
    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)
