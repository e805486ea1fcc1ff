"""Leases for work that must run on one node at a time (the periodic channel test, reminders).

One small interface, three backends chosen from the settings at start-up:

- Redis (REDIS_CONN_STRING set): ``SET key holder NX PX ttl``; released by a compare-and-delete script, so a
  node never drops a lease another node took after its own expired;
- a row of the ``locks`` table (several nodes sharing PostgreSQL or MySQL without Redis): an INSERT, or an
  UPDATE that only succeeds on an expired row or our own -- the database decides, atomically;
- process memory (SQLite: one node).

``claim(name, ttl)``/``drop(name)``: a marker set once across nodes (the low-quota reminder: once per
crossing). ``once_per(name, period)`` is what periodic jobs use: every node ticks, the first one of the period takes the
lease (not released: it expires a little before the next period), the others skip that tick.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from .models import Lock, table_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .db import Database

log = logging.getLogger(__name__)
MARKER = "marker"  # the holder of markers (claim/drop), never a process's holder id
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Locks:
    def __init__(self, *, redis: Redis | None = None, db: Database | None = None, prefix: str = "") -> None:
        self.redis = redis
        self.db = db  # None: in process memory
        self.prefix = f"{prefix}lock:"
        self.holder = uuid.uuid4().hex
        self._memory: dict[str, tuple[str, float]] = {}

    @property
    def backend(self) -> str:
        return "redis" if self.redis is not None else "database" if self.db is not None else "memory"

    async def acquire(self, name: str, ttl: float) -> bool:
        """Take the lease ``name`` for ``ttl`` seconds; False when another holder has it (re-taking our own
        lease extends it)."""
        ttl_ms = max(int(ttl * 1000), 1)
        if self.redis is not None:
            key = self.prefix + name
            if await self.redis.set(key, self.holder, nx=True, px=ttl_ms):
                return True
            current = await self.redis.get(key)
            if current is not None and current.decode() == self.holder:
                await self.redis.pexpire(key, ttl_ms)
                return True
            return False
        now_ms = int(time.time() * 1000)
        if self.db is None:
            held = self._memory.get(name)
            if held is not None and held[0] != self.holder and held[1] > now_ms:
                return False
            self._memory[name] = (self.holder, now_ms + ttl_ms)
            return True
        return await self._acquire_row(name, now_ms, ttl_ms)

    async def _acquire_row(self, name: str, now_ms: int, ttl_ms: int) -> bool:
        assert self.db is not None
        t = table_of(Lock)
        expires = now_ms + ttl_ms
        async with self.db.engine.begin() as conn:
            taken = await conn.execute(update(t).where(t.c.name == name)
                                       .where((t.c.expires_at < now_ms) | (t.c.holder == self.holder))
                                       .values(holder=self.holder, expires_at=expires))
            if taken.rowcount:
                return True
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(insert(t).values(name=name, holder=self.holder, expires_at=expires))
            return True
        except IntegrityError:  # another node holds it (its row exists and has not expired)
            return False

    async def claim(self, name: str, ttl: float) -> bool:
        """Set the marker ``name`` for ``ttl`` seconds; True only when it was not set (by anyone, this process
        included): "do this once" across nodes until ``drop``."""
        ttl_ms = max(int(ttl * 1000), 1)
        if self.redis is not None:
            return bool(await self.redis.set(self.prefix + name, MARKER, nx=True, px=ttl_ms))
        now_ms = int(time.time() * 1000)
        if self.db is None:
            held = self._memory.get(name)
            if held is not None and held[1] > now_ms:
                return False
            self._memory[name] = (MARKER, now_ms + ttl_ms)
            return True
        t = table_of(Lock)
        async with self.db.engine.begin() as conn:
            taken = await conn.execute(update(t).where(t.c.name == name, t.c.expires_at < now_ms)
                                       .values(holder=MARKER, expires_at=now_ms + ttl_ms))
            if taken.rowcount:
                return True
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(insert(t).values(name=name, holder=MARKER, expires_at=now_ms + ttl_ms))
            return True
        except IntegrityError:
            return False

    async def drop(self, name: str) -> None:
        """Clear the marker ``name`` (whoever set it)."""
        if self.redis is not None:
            await self.redis.delete(self.prefix + name)
        elif self.db is None:
            self._memory.pop(name, None)
        else:
            t = table_of(Lock)
            async with self.db.engine.begin() as conn:
                await conn.execute(delete(t).where(t.c.name == name))

    async def release(self, name: str) -> None:
        """Give the lease back (only ours: a lease another node took meanwhile stays)."""
        if self.redis is not None:
            await self.redis.eval(_RELEASE, 1, self.prefix + name, self.holder)  # type: ignore[misc]
            return
        if self.db is None:
            held = self._memory.get(name)
            if held is not None and held[0] == self.holder:
                del self._memory[name]
            return
        t = table_of(Lock)
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(t).where(t.c.name == name, t.c.holder == self.holder))

    async def once_per(self, name: str, period: float, job: Callable[[], Awaitable[object]]) -> bool:
        """Run ``job`` unless another node already ran it this period; True when it ran here. The lease lasts
        90% of the period, so the next period's first tick (on any node) takes it again."""
        try:
            got = await self.claim(f"period:{name}", period * 0.9)
        except Exception:  # the lock store is down: skip this tick rather than run on every node
            log.exception("could not take the lease %s", name)
            return False
        if not got:
            return False
        await job()
        return True
