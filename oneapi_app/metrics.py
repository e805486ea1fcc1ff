"""Prometheus metrics at ``GET /metrics`` (text exposition format), when ENABLE_PROMETHEUS is set.

Decision: the prometheus-client library is imported only when ENABLE_PROMETHEUS=true (at start-up, by
``Metrics.create``); without it ``runtime.metrics`` is None, every hook is one ``is None`` test, and /metrics
answers 404. Each Runtime has its own registry (several runtimes in one process, as in tests, never mix).

Several workers (``oneapi serve --workers N``): any worker may answer a scrape, and it answers for the whole
machine, through prometheus-client's multiprocess mode. The master creates a fresh directory before forking
(``shared_directory``, removed when it exits) and names it in ONEAPI_METRICS_DIR; each worker writes its
values there, one file per kind and process id, in the library's mmap format (``MmapedDict``), and the
answering worker merges every file with the library's ``MultiProcessCollector``: counters and histograms
summed over every worker that ever ran (a restarted worker's predecessor keeps its counts), the in-flight
and writer-queue gauges summed over the live ones (``livesum``), the success rate the lowest any live worker
sees (``livemin``: each worker judges its own attempts); files of dead workers' live gauges are dropped with
``mark_process_dead``. The channel status is read from the database by the answering worker.
Why not the library's PROMETHEUS_MULTIPROC_DIR switch: it makes every increment an mmap write (measured here:
2 us a counter increment, 8.3 us a histogram observation, against 0.5 and 1.3 us in memory), about 20 us
more per relay request, over the 5% budget. The hooks therefore stay in memory as with one process, and each
worker writes its values to its files once a second when they changed (EXPORT_INTERVAL), at each scrape it
answers, and when it stops: a scrape may miss the last second of another worker (and a killed worker's).

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

import contextlib
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Protocol

    from prometheus_client.metrics_core import Metric

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
DIRECTORY_ENV = "ONEAPI_METRICS_DIR"  # set by the master of `oneapi serve --workers N` (cli.py)
EXPORT_INTERVAL = 1.0  # seconds between a worker's writes of its values to the shared directory
# The gauges a worker writes to the shared directory, and how the library merges them across workers.
SHARED_GAUGES = {"oneapi_relay_reservations_in_flight": "livesum", "oneapi_ledger_settlement_queue": "livesum",
                 "oneapi_channel_success_rate": "livemin"}


def route_of(path: str) -> str:
    if path.startswith(("/v1", "/dashboard/billing")):
        return "relay"
    if path.startswith("/api"):
        return "api"
    if path == "/metrics":
        return "metrics"
    return "web"


@contextlib.contextmanager
def shared_directory(enabled: bool) -> Iterator[str | None]:
    """The master of several workers (cli.py): a fresh directory for the workers' metrics, named to them in
    ONEAPI_METRICS_DIR (set before they are forked), removed at exit. Nothing when metrics are off."""
    if not enabled:
        yield None
        return
    path = tempfile.mkdtemp(prefix="oneapi-metrics-")
    os.environ[DIRECTORY_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(DIRECTORY_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


class _Families:
    """A collector answering fixed metric families (read at the scrape: the channel status)."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return self.families


class SharedFiles:
    """This worker's values in the shared directory, in prometheus-client's multiprocess file format: one
    ``MmapedDict`` per kind (``counter_<pid>.db``, ``histogram_<pid>.db``, ``gauge_<mode>_<pid>.db``), each
    value under the library's key (``mmap_key``); histogram buckets not cumulative (the collector adds them
    up and derives ``_count``). Counters and histograms only grow and are written in place; the gauge files
    are small and replaced whole (a series that went away goes with them)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._files: dict[str, Any] = {}
        self._gauges: dict[str, dict[str, float]] = {}
        self._keys: dict[tuple, str] = {}  # (family, sample, labels) -> the library's key (json: built once)
        self._written: dict[str, float] = {}  # key -> the value in the file

    def _file(self, prefix: str):
        from prometheus_client.mmap_dict import MmapedDict

        mapped = self._files.get(prefix)
        if mapped is None:
            mapped = self._files[prefix] = MmapedDict(os.path.join(self.path, f"{prefix}_{self.pid}.db"))
        return mapped

    def _key(self, family: Metric, name: str, labels: dict[str, str]) -> str:
        cache_key = (family.name, name, *labels.items())
        key = self._keys.get(cache_key)
        if key is None:
            from prometheus_client.mmap_dict import mmap_key

            key = self._keys[cache_key] = mmap_key(family.name, name, list(labels), list(labels.values()),
                                                   family.documentation)
        return key

    def write(self, gauge_families: Iterable[Metric], count_families: Iterable[Metric]) -> None:
        """Write the gauges (when changed), and the counters and histograms (the values that changed)."""
        gauges: dict[str, dict[str, float]] = {}
        for family in gauge_families:
            values = gauges.setdefault(f"gauge_{SHARED_GAUGES[family.name]}", {})
            for s in family.samples:
                values[self._key(family, s.name, s.labels)] = s.value
        written = self._written
        for family in count_families:
            mapped = self._file(family.type)
            below: dict[tuple, float] = {}  # a histogram's cumulative count below the current bucket
            for s in family.samples:
                if s.name.endswith("_bucket"):
                    series = tuple((k, v) for k, v in s.labels.items() if k != "le")
                    value = s.value - below.get(series, 0.0)
                    below[series] = s.value
                elif s.name.endswith(("_total", "_sum")):
                    value = s.value
                else:  # _created, _count
                    continue
                key = self._key(family, s.name, s.labels)
                if written.get(key) != value:
                    mapped.write_value(key, value, 0.0)
                    written[key] = value
        for prefix, values in gauges.items():
            if self._gauges.get(prefix) != values:
                self._replace(prefix, values)
        self._gauges = gauges

    def _replace(self, prefix: str, values: dict[str, float]) -> None:
        from prometheus_client.mmap_dict import MmapedDict

        final = os.path.join(self.path, f"{prefix}_{self.pid}.db")
        partial = final + ".partial"  # (the collector reads *.db only)
        mapped = MmapedDict(partial)
        try:
            for key, value in values.items():
                mapped.write_value(key, value, 0.0)
        finally:
            mapped.close()
        os.replace(partial, final)

    def forget_dead(self) -> None:
        """Drop the live gauges of workers that are gone (crashed, replaced, stopped)."""
        from prometheus_client.multiprocess import mark_process_dead

        for name in glob.glob(os.path.join(self.path, "gauge_live*_*.db")):
            pid = int(name.rsplit("_", 1)[1][:-3])
            if pid == self.pid:
                continue
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                mark_process_dead(pid, self.path)
            except PermissionError:  # alive, someone else's: not ours to judge
                pass

    def close(self) -> None:
        for mapped in self._files.values():
            mapped.close()
        self._files.clear()


class Metrics:
    def __init__(self, shared_path: str | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.shared = SharedFiles(shared_path) if shared_path else None
        self._changed = False  # counts changed since they were last written to the shared directory
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
        self._status = _Families()  # oneapi_channel_status, read at each scrape
        registry.register(self._status)
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
        """The runtime's metrics: None when off; shared with the other workers when the master of several
        named a directory (ONEAPI_METRICS_DIR, in the worker it forked)."""
        if not enabled:
            return None
        from .workers import PEER_FD_ENV

        path = os.environ.get(DIRECTORY_ENV, "")
        return cls(path if path and os.environ.get(PEER_FD_ENV) and os.path.isdir(path) else None)

    def start(self, runtime: Any) -> None:
        """With several workers: write this worker's values to the shared directory every EXPORT_INTERVAL
        seconds (when they changed) and once more when it stops."""
        if self.shared is None:
            return

        async def export() -> None:
            self.export(runtime)

        async def last_export() -> None:
            self.export(runtime, force=True)
            assert self.shared is not None
            self.shared.close()

        runtime.background.every(EXPORT_INTERVAL, export, "metrics-export")
        runtime.background.add_flusher(last_export)

    def export(self, runtime: Any, force: bool = False) -> None:
        assert self.shared is not None
        self._read_gauges(runtime)
        gauges = [family for gauge in (self.in_flight, self.settlement_queue, self.success_rate)
                  for family in gauge.collect()]
        counted: list[Metric] = []
        if self._changed or force:
            self._changed = False
            counted = [family for metric in (self.http_requests, self.http_duration, self.relay_requests,
                                             self.relay_duration, self.tokens, self.quota, self.attempts)
                       for family in metric.collect()]
        self.shared.write(gauges, counted)

    # -- hooks (hot path: one dict lookup for the label children, then additions) -----------------------
    def http(self, path: str, status: int, seconds: float) -> None:
        key = (route_of(path), status)
        children = self._http.get(key)
        if children is None:
            children = self._http[key] = (self.http_requests.labels(key[0], str(status)),
                                          self.http_duration.labels(key[0]))
        children[0].inc()
        children[1].observe(seconds)
        self._changed = True

    def attempt(self, channel_id: int, ok: bool) -> None:
        key = (channel_id, ok)
        child = self._attempts.get(key)
        if child is None:
            child = self._attempts[key] = self.attempts.labels(str(channel_id), "ok" if ok else "failed")
        child.inc()
        self._changed = True

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
        self._changed = True
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
        """The exposition text, with the gauges read now (with several workers: every worker's values)."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.core import GaugeMetricFamily
        from prometheus_client.multiprocess import MultiProcessCollector
        from sqlmodel import select

        from .models import Channel

        status = GaugeMetricFamily("oneapi_channel_status", "Channel status (1 enabled, 2 manual, 3 auto-disabled)",
                                   labels=["channel", "name"])
        async with runtime.db.session() as session:
            for channel_id, name, value in (await session.exec(select(Channel.id, Channel.name, Channel.status))):
                status.add_metric([str(channel_id), name or ""], value)
        self._status.families = [status]
        if self.shared is None:
            self._read_gauges(runtime)
            return generate_latest(self.registry)
        self.export(runtime)
        self.shared.forget_dead()
        machine = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(machine, path=self.shared.path)
        machine.register(self._status)
        return generate_latest(machine)

    def _read_gauges(self, runtime: Any) -> None:
        self.success_rate.clear()
        for channel_id, rate in runtime.health.success_rates().items():
            self.success_rate.labels(str(channel_id)).set(rate)
        try:
            self.settlement_queue.set(runtime.ledger.settlements.backlog)
        except RuntimeError:  # the ledger is not started
            self.settlement_queue.set(0)
        self.in_flight.set(runtime.limiter.in_flight)
