"""Prometheus metrics at ``GET /metrics`` (text exposition format), when ENABLE_PROMETHEUS is set.

Decision: the prometheus-client library is imported only when ENABLE_PROMETHEUS=true (at start-up, by
``Metrics.create``); without it ``runtime.metrics`` is None, every hook is one ``is None`` test, and /metrics
answers 404. Each Runtime has its own registry (several runtimes in one process, as in tests, never mix).

What is measured:

- every HTTP request (access log middleware): ``oneapi_http_requests_total{route,status}`` and
  ``oneapi_http_request_duration_seconds{route}`` (route = relay, api, metrics, web);
- every relay request that reached a channel (when it settles): ``oneapi_relay_requests_total{model,channel,
  outcome}`` (outcome: success or failure), ``oneapi_relay_request_duration_seconds{model,channel}``,
  ``oneapi_relay_tokens_total{model,channel,kind}`` (prompt, completion) and ``oneapi_relay_quota_total
  {model,channel}`` (quota charged);
- upstream attempts: ``oneapi_channel_attempts_total{channel,result}`` (ok, failed);
- at each scrape: ``oneapi_channel_status{channel}`` (1 enabled, 2 manually disabled, 3 auto-disabled),
  ``oneapi_channel_success_rate{channel}`` (ENABLE_METRIC's queue), ``oneapi_ledger_settlement_queue``
  (settlements waiting for the writer), ``oneapi_relay_reservations_in_flight`` (relay requests between admission
  and settlement: those holding a quota reservation).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Protocol

    from .relay.limits import Admitted
    from .services.cache import ChannelInfo

    class Relayed(Admitted, Protocol):
        """What the limiter and the metrics read of a relay request: the pipeline's RelayContext, media.py's
        MediaJob, proxy.py's ProxyCall."""

        model: str  # as the client asked
        channel: ChannelInfo | None
        started: float  # time.perf_counter() at admission

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_SERIES = 10_000  # (model, channel) pairs counted; past it new pairs are not (unknown models are 404s anyway)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def route_of(path: str) -> str:
    if path.startswith(("/v1", "/dashboard/billing")):
        return "relay"
    if path.startswith("/api"):
        return "api"
    if path == "/metrics":
        return "metrics"
    return "web"


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter("oneapi_http_requests", "HTTP requests answered", ["route", "status"],
                                     registry=registry)
        self.http_duration = Histogram("oneapi_http_request_duration_seconds", "Time to the end of the answer",
                                       ["route"], buckets=BUCKETS, registry=registry)
        self.relay_requests = Counter("oneapi_relay_requests", "Relay requests settled or refunded",
                                      ["model", "channel", "outcome"], registry=registry)
        self.relay_duration = Histogram("oneapi_relay_request_duration_seconds",
                                        "Relay request time until settlement", ["model", "channel"],
                                        buckets=BUCKETS, registry=registry)
        self.tokens = Counter("oneapi_relay_tokens", "Tokens relayed", ["model", "channel", "kind"],
                              registry=registry)
        self.quota = Counter("oneapi_relay_quota", "Quota charged", ["model", "channel"], registry=registry)
        self.attempts = Counter("oneapi_channel_attempts", "Upstream attempts per channel", ["channel", "result"],
                                registry=registry)
        self.channel_status = Gauge("oneapi_channel_status", "Channel status (1 enabled, 2 manual, 3 auto-disabled)",
                                    ["channel", "name"], registry=registry)
        self.success_rate = Gauge("oneapi_channel_success_rate", "Success rate of the channel's last attempts",
                                  ["channel"], registry=registry)
        self.settlement_queue = Gauge("oneapi_ledger_settlement_queue", "Settlements waiting for the writer",
                                      registry=registry)
        self.in_flight = Gauge("oneapi_relay_reservations_in_flight",
                               "Relay requests past admission, not settled yet", registry=registry)
        self._http: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._attempts: dict[tuple[int, bool], Any] = {}
        self._relay: dict[tuple[str, int], tuple[Any, ...]] = {}

    @classmethod
    def create(cls, enabled: bool) -> Metrics | None:
        return cls() if enabled else None

    # -- hooks (hot path: one dict lookup for the label children, then additions) -----------------------
    def http(self, path: str, status: int, seconds: float) -> None:
        key = (route_of(path), status)
        children = self._http.get(key)
        if children is None:
            children = self._http[key] = (self.http_requests.labels(key[0], str(status)),
                                          self.http_duration.labels(key[0]))
        children[0].inc()
        children[1].observe(seconds)

    def attempt(self, channel_id: int, ok: bool) -> None:
        key = (channel_id, ok)
        child = self._attempts.get(key)
        if child is None:
            child = self._attempts[key] = self.attempts.labels(str(channel_id), "ok" if ok else "failed")
        child.inc()

    def relay_done(self, ctx: Relayed, prompt: int, completion: int, quota: int, ok: bool) -> None:
        key = (ctx.model, ctx.channel.id if ctx.channel is not None else 0)
        children = self._relay.get(key)
        if children is None:
            if len(self._relay) > MAX_SERIES:  # clients choose model names: bound the label sets
                return
            model, channel = key[0], str(key[1])
            children = self._relay[key] = (
                self.relay_requests.labels(model, channel, "success"), self.relay_requests.labels(model, channel,
                                                                                                 "failure"),
                self.relay_duration.labels(model, channel), self.tokens.labels(model, channel, "prompt"),
                self.tokens.labels(model, channel, "completion"), self.quota.labels(model, channel))
        children[0 if ok else 1].inc()
        children[2].observe(time.perf_counter() - ctx.started)
        if prompt:
            children[3].inc(prompt)
        if completion:
            children[4].inc(completion)
        if quota:
            children[5].inc(quota)

    # -- a scrape ------------------------------------------------------------------------------------------
    async def render(self, runtime: Any) -> bytes:
        """The exposition text, with the gauges read now."""
        from prometheus_client import generate_latest
        from sqlmodel import select

        from .models import Channel

        self.channel_status.clear()
        async with runtime.db.session() as session:
            for channel_id, name, status in (await session.exec(select(Channel.id, Channel.name, Channel.status))):
                self.channel_status.labels(str(channel_id), name or "").set(status)
        self.success_rate.clear()
        for channel_id, rate in runtime.health.success_rates().items():
            self.success_rate.labels(str(channel_id)).set(rate)
        try:
            self.settlement_queue.set(runtime.ledger.settlements.backlog)
        except RuntimeError:  # the ledger is not started
            self.settlement_queue.set(0)
        self.in_flight.set(runtime.limiter.in_flight)
        return generate_latest(self.registry)
