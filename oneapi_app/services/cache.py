"""Read cache for the relay's hot path: tokens, users, channels and abilities.

In memory per process; with REDIS_CONN_STRING tokens and users are also shared through Redis
(``<prefix>token:<key>``, ``<prefix>user:<id>``, TTL SYNC_FREQUENCY). Entries are dropped when
``runtime.changes`` announces a change ("token" key, "user" id, "channels") and expire after a bounded
age anyway. Balances are never decided from the cache: the reservation is an atomic UPDATE (services/ledger).
A cached balance is a hint that may only let a request try: a token cached at 0 or less is re-read from its
row (``token(key, fresh=True)``) before anything is refused, and a refused reservation re-reads it too, so
a balance that was 0 for a moment (in-flight reservations) never locks a token out until the entry expires.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Protocol

import orjson
from sqlalchemy import select

from ..models import Ability, Channel, ChannelStatus, Token, User, table_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..changes import Changes
    from ..db import Database
    from ..settings import Settings

log = logging.getLogger(__name__)
MEMORY_TTL = 60.0  # seconds an in-memory entry lives without a change notice (bounds multi-node staleness)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user_id: int
    key: str
    name: str
    status: int
    expired_time: int
    remain_quota: int
    unlimited_quota: bool
    models: tuple[str, ...] | None
    subnet: str
    rpm_limit: int = 0  # 0 = the group's default, -1 = none (relay/limits.py)
    tpm_limit: int = 0
    concurrency_limit: int = 0

    def networks(self) -> list[ipaddress._BaseNetwork]:
        return [ipaddress.ip_network(s.strip(), strict=False) for s in self.subnet.split(",") if s.strip()]


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    role: int
    status: int
    group: str
    quota: int
    used_quota: int


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: int
    type: int
    name: str
    key: str = field(repr=False)
    status: int
    base_url: str
    weight: int
    priority: int
    model_mapping: dict[str, str]
    system_prompt: str
    config: dict = field(repr=False)  # may hold secrets (AWS sk and session_token, a service account)
    other: str


@dataclass
class ChannelSnapshot:
    """Enabled abilities grouped as (group, model) -> tiers [(priority, [channel ids])], best first.

    ``known``: the (group, model) pairs some enabled or auto-disabled channel lists. A model outside it is
    unknown to the group (404); a known one without a usable channel right now is a 503.
    """

    channels: dict[int, ChannelInfo]
    routes: dict[tuple[str, str], list[tuple[int, list[int]]]]
    group_models: dict[str, list[str]]
    built_at: float
    known: frozenset[tuple[str, str]] = frozenset()

    def knows(self, group: str, model: str) -> bool:
        return (group, model) in self.routes or (group, model) in self.known


def _split(value: str | None) -> tuple[str, ...] | None:
    items = tuple(dict.fromkeys(p.strip() for p in (value or "").split(",") if p.strip()))
    return items or None


def _json_obj(raw: str | None) -> dict:
    if not raw or not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class CacheHost(Protocol):
    """What the cache reads of the runtime (the Runtime is one; services never import runtime.py)."""

    settings: Settings
    changes: Changes
    redis: Redis | None

    @property
    def db(self) -> Database: ...


class RelayCache:
    def __init__(self, runtime: CacheHost) -> None:
        self.runtime = runtime
        self._tokens: dict[str, tuple[float, TokenInfo]] = {}
        self._users: dict[int, tuple[float, UserInfo]] = {}
        self._snapshot: ChannelSnapshot | None = None
        self._snapshot_lock = asyncio.Lock()
        self._loading: dict[str, asyncio.Future] = {}  # name -> the one load in flight (single flight)
        self.prefix = runtime.settings.redis_key_prefix
        self._redis_down_until = 0.0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        changes = self.runtime.changes
        changes.subscribe("token", self._on_token)
        changes.subscribe("user", self._on_user)
        changes.subscribe("channels", self._on_channels)
        changes.subscribe("resync", self._on_resync)

    async def _on_token(self, key: object) -> None:
        self._loading.pop(f"token:{key}", None)  # a load already in flight may have read the old row
        if key is None:
            self._tokens.clear()
        else:
            self._tokens.pop(str(key), None)
            await self._shared("delete", f"{self.prefix}token:{key}")

    async def _on_user(self, user_id: object) -> None:
        self._loading.pop(f"user:{user_id}", None)
        if user_id is None:
            self._users.clear()
        else:
            self._users.pop(int(user_id), None)  # type: ignore[call-overload]
            await self._shared("delete", f"{self.prefix}user:{user_id}")

    def _on_channels(self, _key: object) -> None:
        self._snapshot = None

    async def _on_resync(self, _key: object) -> None:
        """Notices were missed (Redis was away): forget every row, here and in Redis (deletions missed)."""
        self._loading.clear()
        self._tokens.clear()
        self._users.clear()
        self._snapshot = None
        redis = self.runtime.redis
        if redis is None:
            return
        try:
            for pattern in (f"{self.prefix}token:*", f"{self.prefix}user:*"):
                batch = [key async for key in redis.scan_iter(match=pattern, count=500)]
                for start in range(0, len(batch), 500):
                    await redis.delete(*batch[start:start + 500])
        except Exception:  # entries expire after SYNC_FREQUENCY anyway
            log.warning("could not drop the shared cache entries after a Redis outage", exc_info=True)

    async def _shared(self, op: str, *args, **kwargs):
        """One Redis command of the shared cache, or None when there is no Redis or it does not answer: the
        relay then reads the database (degraded: logged once per outage, retried after a second)."""
        redis = self.runtime.redis
        if redis is None or time.monotonic() < self._redis_down_until:
            return None
        try:
            result = await getattr(redis, op)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any Redis failure degrades to the database
            if not self._redis_down_until:
                log.warning("Redis does not answer (%s): the cache reads the database meanwhile", type(exc).__name__)
            self._redis_down_until = time.monotonic() + 1.0
            return None
        if self._redis_down_until:
            self._redis_down_until = 0.0
        return result

    # -- tokens and users -------------------------------------------------------------------------
    async def token(self, key: str, *, fresh: bool = False) -> TokenInfo | None:
        """The token of ``key``; ``fresh``: read its row now (skipping memory and Redis) and store that."""
        if fresh:
            return await self._reload(self._tokens, key, f"token:{key}", lambda: self._token_from_db(key))
        return await self._cached(self._tokens, key, f"token:{key}", TokenInfo, lambda: self._token_from_db(key))

    async def user(self, user_id: int) -> UserInfo | None:
        return await self._cached(self._users, user_id, f"user:{user_id}", UserInfo,
                                  lambda: self._user_from_db(user_id))

    async def _cached(self, table: dict, key, name: str, cls: type, load):
        """Memory first (MEMORY_TTL), then Redis, then the database."""
        now = time.monotonic()
        hit = table.get(key)
        if hit is not None and now - hit[0] < MEMORY_TTL:
            return hit[1]
        # Single flight: a burst of requests for one key (a cold start, an expired entry) waits for ONE read
        # instead of queueing a thousand identical ones on the database's connections.
        loading = self._loading.get(name)
        if loading is None:
            loading = self._loading[name] = asyncio.ensure_future(self._load_shared(name, cls, load))
            loading.add_done_callback(lambda done: self._loaded(name, done))
        info = await asyncio.shield(loading)  # a waiter that leaves does not cancel the others' read
        if info is not None:
            table[key] = (now, info)
        return info

    def _loaded(self, name: str, done: asyncio.Future) -> None:
        if self._loading.get(name) is done:
            del self._loading[name]
        if not done.cancelled():
            done.exception()  # retrieved here: the waiters (if any are left) get it raised to them

    async def _reload(self, table: dict, key, name: str, load):
        info = await load()
        if info is None:
            table.pop(key, None)
            await self._shared("delete", self.prefix + name)
            return None
        table[key] = (time.monotonic(), info)
        await self._shared("set", self.prefix + name, orjson.dumps(asdict(info)),
                           ex=self.runtime.settings.sync_frequency)
        return info

    async def _load_shared(self, name: str, cls: type, load):
        raw = await self._shared("get", self.prefix + name)
        if raw:
            data = orjson.loads(raw)
            if cls is TokenInfo and data.get("models") is not None:
                data["models"] = tuple(data["models"])
            return cls(**data)
        info = await load()
        if info is not None:
            await self._shared("set", self.prefix + name, orjson.dumps(asdict(info)),
                               ex=self.runtime.settings.sync_frequency)
        return info

    async def _token_from_db(self, key: str) -> TokenInfo | None:
        async with self.runtime.db.engine.connect() as conn:
            t = table_of(Token).c
            row = (await conn.execute(select(
                t.id, t.user_id, t.key, t.name, t.status, t.expired_time, t.remain_quota, t.unlimited_quota, t.models,
                t.subnet, t.rpm_limit, t.tpm_limit, t.concurrency_limit).where(t.key == key))).first()
        if row is None:
            return None
        return TokenInfo(id=row.id, user_id=row.user_id, key=row.key, name=row.name or "", status=row.status,
                         expired_time=row.expired_time if row.expired_time is not None else -1,
                         remain_quota=row.remain_quota or 0, unlimited_quota=bool(row.unlimited_quota),
                         models=_split(row.models), subnet=row.subnet or "", rpm_limit=row.rpm_limit or 0,
                         tpm_limit=row.tpm_limit or 0, concurrency_limit=row.concurrency_limit or 0)

    async def _user_from_db(self, user_id: int) -> UserInfo | None:
        async with self.runtime.db.engine.connect() as conn:
            u = table_of(User).c
            row = (await conn.execute(select(u.id, u.username, u.role, u.status, u.group, u.quota, u.used_quota)
                                      .where(u.id == user_id))).first()
        if row is None:
            return None
        return UserInfo(id=row.id, username=row.username or "", role=row.role, status=row.status,
                        group=row.group or "default", quota=row.quota or 0, used_quota=row.used_quota or 0)

    # -- channels -----------------------------------------------------------------------------------
    async def channels(self) -> ChannelSnapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - snap.built_at < self.runtime.settings.sync_frequency:
            return snap
        async with self._snapshot_lock:
            snap = self._snapshot
            if snap is None or time.monotonic() - snap.built_at >= self.runtime.settings.sync_frequency:
                snap = self._snapshot = await self._build_snapshot()
        return snap

    async def _build_snapshot(self) -> ChannelSnapshot:
        c, a = table_of(Channel).c, table_of(Ability).c
        async with self.runtime.db.engine.connect() as conn:
            channel_rows = (await conn.execute(select(
                c.id, c.type, c.name, c.key, c.status, c.base_url, c.weight, c.priority, c.model_mapping,
                c.system_prompt, c.config, c.other))).all()
            ability_rows = (await conn.execute(select(a.group.label("grp"), a.model, a.channel_id, a.priority,
                                                      a.enabled))).all()
        channels = {
            r.id: ChannelInfo(id=r.id, type=r.type or 0, name=r.name or "", key=r.key or "", status=r.status,
                              base_url=(r.base_url or "").strip(), weight=max(int(r.weight or 0), 0),
                              priority=int(r.priority or 0),
                              model_mapping={k: v for k, v in _json_obj(r.model_mapping).items()
                                             if isinstance(v, str) and v},
                              system_prompt=r.system_prompt or "", config=_json_obj(r.config), other=r.other or "")
            for r in channel_rows
        }
        tiers: dict[tuple[str, str], dict[int, list[int]]] = {}
        group_models: dict[str, set[str]] = {}
        known: set[tuple[str, str]] = set()
        for r in ability_rows:
            channel = channels.get(r.channel_id)
            if channel is not None and channel.status == ChannelStatus.AUTO_DISABLED:
                known.add((r.grp, r.model))  # down for now, not gone: its models stay known (503, not 404)
            if channel is None or channel.status != 1 or not r.enabled:
                continue
            tiers.setdefault((r.grp, r.model), {}).setdefault(int(r.priority or 0), []).append(r.channel_id)
            group_models.setdefault(r.grp, set()).add(r.model)
        routes = {k: sorted(v.items(), key=lambda kv: -kv[0]) for k, v in tiers.items()}
        return ChannelSnapshot(channels=channels, routes=routes,
                               group_models={g: sorted(m) for g, m in group_models.items()},
                               built_at=time.monotonic(), known=frozenset(known))
