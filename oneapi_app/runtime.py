"""The running appliance: settings, database, Redis, the shared HTTP client, options and background work.

One Runtime per process, created by the entry point and started by the ASGI lifespan (FastAPI's in
``--api-only`` mode, Reflex's in the full appliance). Routes reach it as ``request.app.state.runtime``
through ``api.deps``; nothing else holds these objects.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis
from sqlalchemy import inspect, text

from . import __version__, i18n
from .auth.ratelimit import SlidingWindow
from .background import Background
from .changes import Changes
from .db import Database
from .limitd import LIMITS_FD_ENV, LimitLink
from .locks import Locks
from .metrics import Metrics
from .migrations import migrate
from .relay import probe
from .relay.adaptors.base import ProviderSettings
from .relay.credentials import Credentials
from .relay.limits import Limiter
from .relay.upstream import Upstream
from .scrub import scrub_text
from .services.cache import RelayCache
from .services.health import ChannelHealth
from .services.ledger import Ledger
from .services.options import Options, load_options
from .services.reminders import QuotaReminder
from .services.responses_store import ResponsesStore
from .services.users import ensure_root_user
from .settings import Settings, ensure_session_secret
from .workers import PEER_FD_ENV

if TYPE_CHECKING:
    from .metrics import Relayed
    from .models import Channel
    from .services.channel_checks import TestResult

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The appliance cannot start; the message says what to do."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        i18n.set_language(settings.language)  # the texts of every error from now on
        self.version = __version__
        self.started_at = int(time.time())
        self.options = Options()
        self.background = Background()
        self.changes = Changes()
        self.limiters: dict[str, SlidingWindow] = {}  # per-IP rate limits, made at first use (auth/ratelimit.py)
        self.limit_link: LimitLink | None = None  # a worker's link to the master's rate limits (limitd.py)
        self._db: Database | None = None
        self._http: httpx.AsyncClient | None = None
        self.redis: Redis | None = None
        # The relay's hot-path helpers: read cache, upstream client (aiohttp), the ledger (quota moves).
        self.cache = RelayCache(self)
        self.upstream = Upstream(settings)
        self._responses_store: ResponsesStore | None = None
        self.credentials = Credentials(self.upstream)  # adaptors' credentials exchanges (relay/credentials.py)
        self.provider_settings = ProviderSettings(settings.gemini_version, settings.gemini_safety_setting)
        self.ledger = Ledger(settings, self.background, lambda: self.options)
        self._init_reliability(settings)
        self.started = False

    # -- accessors that fail loudly when used outside the lifespan ---------------------------------
    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the runtime is not started (use it inside the app lifespan)")
        return self._db

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the runtime is not started (use it inside the app lifespan)")
        return self._http

    @property
    def responses_store(self) -> ResponsesStore:
        """The stored Responses API answers (services/responses_store.py), made at first use."""
        if self._responses_store is None:
            self._responses_store = ResponsesStore(self.db, self.background)
        return self._responses_store

    async def probe_channel(self, channel: Channel, asked_model: str) -> tuple[TestResult, str]:
        """One test request to a channel's upstream through the relay's adaptor (for services/channel_checks)."""
        return await probe.run_test(self.http, channel, asked_model, self.settings.test_prompt, self.provider_settings)

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.settings = settings = ensure_session_secret(self.settings)
        if settings.is_master:
            for report in await asyncio.to_thread(migrate, settings):
                log.info("migrations: %s", report)
        self._db = Database.open(settings)
        if not settings.is_master and not await self._has_schema():
            await self._db.close()
            self._db = None
            raise StartupError(f"the database {settings.database.display} has no One API schema: "
                               "start the master node first or run `oneapi migrate`")
        async with self.db.session() as session:
            await ensure_root_user(session, settings)
            self.options = await load_options(session)
        # An option saved by another process (node or local worker) applies here within a second.
        self.changes.subscribe("options", self._options_changed_elsewhere, remote_only=True)
        self.changes.subscribe("resync", self._options_changed_elsewhere)
        peer_fd = os.environ.get(PEER_FD_ENV)  # set by the master of `oneapi serve --workers N` (workers.py)
        if peer_fd:
            peer = socket.socket(fileno=int(peer_fd))
            self.background.spawn(self.changes.relay_from_peers(peer, self.background.stopping), "changes-workers")
        if settings.redis_enabled:
            self.redis = _open_redis(settings)
            # A Redis unreachable at start is a configuration to fix (refused); once running, an outage only
            # degrades (changes.py, services/cache.py, auth/ratelimit.py).
            await self.redis.ping()  # type: ignore[misc]  # redis-py types ping() for sync and async clients
            ready = asyncio.Event()
            self.background.spawn(self.changes.relay_from_redis(
                self.redis, f"{settings.redis_key_prefix}changes", self.background.stopping, ready), "changes-relay")
            await asyncio.wait_for(ready.wait(), timeout=10)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.relay_timeout or None, connect=10.0),
            proxy=settings.relay_proxy or None,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=60),
            follow_redirects=False,
        )
        await self._start_reliability()
        self.background.every(settings.sync_frequency, self.reload_options, "sync-options")
        self.cache.start()
        await self.upstream.start()
        await self.ledger.start(self.db)
        self.ledger.settlements.listeners.append(self.reminders.settled)
        if settings.channel_test_frequency:  # minutes, as one-api
            from .services.channel_checks import periodic_test_all

            self.background.every(settings.channel_test_frequency * 60, lambda: periodic_test_all(self),
                                  "channel-test-all")
        self.started = True
        # Everything loaded so far lives as long as the process: keep it out of the cyclic GC's full passes
        # (they otherwise walk the whole framework heap and stall requests for tens of milliseconds), and
        # collect less often: request garbage is acyclic and freed by reference counting anyway.
        gc.freeze()
        gc.set_threshold(7000, 20, 100)
        log.info("One API %s started (database %s)", self.version, self.db.url.display)

    # -- reliability and observability: channel health, rate limits, metrics, leases of periodic jobs -----
    def _init_reliability(self, settings: Settings) -> None:
        self.health = ChannelHealth(self)  # failure-rate queues, automatic disable/enable (services/health.py)
        self.limiter = Limiter(self)  # RPM/TPM/concurrency per token and user (relay/limits.py)
        self.metrics = Metrics.create(settings.enable_prometheus)  # None unless ENABLE_PROMETHEUS (metrics.py)
        self.locks = Locks(prefix=settings.redis_key_prefix)  # replaced at start by the configured backend
        self.reminders = QuotaReminder(self)  # QuotaRemindThreshold mails (services/reminders.py)

    async def _start_reliability(self) -> None:
        """After the database and Redis are open: the lease backend (Redis, else a table when several nodes
        or local workers share the database, else memory); the rate limits' backend (Redis, else the master
        process of --workers N, else memory)."""
        several = self.db.url.kind != "sqlite" or bool(os.environ.get(PEER_FD_ENV))  # other nodes, or workers
        shared_sql = self.redis is None and several
        self.locks = Locks(redis=self.redis, db=self.db if shared_sql else None, prefix=self.settings.redis_key_prefix)
        limits_fd = os.environ.pop(LIMITS_FD_ENV, "")  # set by the master of `oneapi serve --workers N`
        if limits_fd:
            try:
                sock = socket.socket(fileno=int(limits_fd))
            except (OSError, ValueError):  # not this process's link (an inherited environment)
                log.warning("ignored %s=%s: not a socket of this process", LIMITS_FD_ENV, limits_fd)
            else:
                if self.redis is None:
                    self.limiter.link = self.limit_link = await LimitLink.open(sock)
                else:  # Redis shares the limits with every node already
                    sock.close()
        if self.metrics is not None:
            self.metrics.start(self)  # several workers: their values to the shared directory (metrics.py)

    def relay_done(self, ctx: Relayed, prompt_tokens: int, completion_tokens: int, quota: int,
                   ok: bool) -> None:
        """A relay request (any path: the pipeline, media, proxy) settled (``ok``) or was refunded: free its
        rate-limit share, count it."""
        self.limiter.release(ctx, prompt_tokens + completion_tokens)
        if self.metrics is not None:
            self.metrics.relay_done(ctx, prompt_tokens, completion_tokens, quota, ok)

    async def readiness(self) -> dict[str, str]:
        """/api/health: each dependency -> "ok" or what is wrong with it."""
        checks: dict[str, str] = {}
        engines = {"database": self.db.engine}
        if self.db.log_engine is not self.db.engine:
            engines["log_database"] = self.db.log_engine  # LOG_SQL_DSN
        for name, engine in engines.items():
            try:
                async with engine.connect() as conn:
                    await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - reported as the check's result
                checks[name] = scrub_text(f"{type(exc).__name__}: {exc}")[:200]
        if self.settings.redis_enabled:
            try:
                if self.redis is None:
                    raise ConnectionError("not connected")
                await asyncio.wait_for(self.redis.ping(), timeout=5)  # type: ignore[misc,arg-type]
                checks["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001 - reported as the check's result
                checks["redis"] = scrub_text(f"{type(exc).__name__}: {exc}")[:200]
        return checks

    async def _has_schema(self) -> bool:
        async with self.db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return "users" in tables

    async def reload_options(self) -> None:
        """Re-read the options table (other nodes may have changed it); runs every SYNC_FREQUENCY seconds.
        Told to this process's subscribers only: every node reloads on its own schedule."""
        async with self.db.session() as session:
            self.options = await load_options(session)
        await self.changes.publish("options", local=True)

    async def _options_changed_elsewhere(self, _key: object) -> None:
        await self.reload_options()

    async def stop(self) -> None:
        await self.background.close(timeout=self.settings.shutdown_timeout)
        if self.limit_link is not None:  # after the last request: its releases leave with the link's last write
            self.limit_link.close()
            self.limit_link = self.limiter.link = None
        await self.ledger.stop()
        await self.upstream.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        if self._db is not None:
            await self._db.close()
            self._db = None
        self._responses_store = None
        self.started = False
        log.info("One API stopped")

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[Runtime]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()


def _open_redis(settings: Settings) -> Redis:
    if settings.redis_master_name:
        from redis.asyncio.sentinel import Sentinel

        hosts = [tuple(part.strip().rsplit(":", 1)) for part in settings.redis_conn_string.split(",")]
        sentinel = Sentinel([(h, int(p)) for h, p in hosts], password=settings.redis_password or None)
        return sentinel.master_for(settings.redis_master_name, password=settings.redis_password or None)
    # Bounded waits: an unreachable Redis must degrade requests (caches fall back to the database), not hang them.
    return Redis.from_url(settings.redis_conn_string, socket_connect_timeout=2, socket_timeout=5)
