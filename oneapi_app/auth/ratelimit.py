"""Per-IP sliding-window rate limits: one-api's critical limit (20 requests per 20 minutes on login etc.),
GLOBAL_API_RATE_LIMIT on /api and GLOBAL_WEB_RATE_LIMIT on the dashboard's pages.

Where a window lives: with Redis configured, in Redis (a sorted set per IP), so every node counts the same
requests (while Redis does not answer, in this process's memory); else, in a worker of ``oneapi serve
--workers N``, in the master process, so the workers count together (limitd.py; while it does not answer,
in this process's memory); else in this process's memory (relay/limits_local.py's Windows).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from ..relay.limits_local import Windows

if TYPE_CHECKING:
    from ..limitd import LimitLink

log = logging.getLogger(__name__)
CRITICAL_WINDOW = 20 * 60  # seconds: CRITICAL_RATE_LIMIT counts login, register, mail and OAuth calls over it


class SlidingWindow:
    def __init__(self, limit: int, duration: float, *, redis: Redis | None = None, prefix: str = "rateLimit:",
                 link: LimitLink | None = None) -> None:
        self.limit = limit
        self.duration = duration
        self.redis = redis
        self.link = link
        self.prefix = prefix
        self._memory = Windows()
        self._redis_down_until = 0.0  # Redis failed: memory until then (retried every second)

    async def allow(self, mark: str, ip: str) -> bool:
        """Record a request from ``ip``; False when it is over the limit (the refused request is not counted)."""
        if self.limit <= 0:
            return True
        key = f"{self.prefix}{mark}{ip}"
        if self.redis is not None:
            if time.monotonic() >= self._redis_down_until:
                try:
                    return await self._allow_redis(key)
                except Exception as exc:  # noqa: BLE001 - Redis away: count in this process meanwhile
                    if not self._redis_down_until:
                        log.warning("rate limit: Redis does not answer (%s), counting in this process meanwhile",
                                    type(exc).__name__)
                    self._redis_down_until = time.monotonic() + 1.0
        elif self.link is not None:
            allowed = await self.link.window(key, self.limit, self.duration)
            if allowed is not None:
                return allowed
        return self._memory.allow(key, self.limit, self.duration, time.monotonic())

    async def _allow_redis(self, key: str) -> bool:
        now = time.time()
        assert self.redis is not None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, 0, now - self.duration)
            pipe.zcard(key)
            _, count = await pipe.execute()
        self._redis_down_until = 0.0
        if count >= self.limit:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{now}:{uuid.uuid4().hex[:8]}": now})
            pipe.expire(key, int(self.duration) + 1)
            await pipe.execute()
        return True


def per_ip_limiter(runtime, name: str, limit: int, duration: float) -> SlidingWindow:
    """The runtime's limiter ``name`` (made at first use, after the runtime opened Redis or its link to the
    master process): ``limit`` requests per IP per ``duration`` seconds, none in DEBUG mode."""
    limiter = runtime.limiters.get(name)
    if limiter is None:
        settings = runtime.settings
        limiter = SlidingWindow(0 if settings.debug else limit, duration, redis=runtime.redis,
                                prefix=f"{settings.redis_key_prefix}rateLimit:", link=runtime.limit_link)
        runtime.limiters[name] = limiter
    return limiter


def critical_limiter(runtime) -> SlidingWindow:
    """The runtime's one critical limiter, shared by /api and the dashboard's sign-in pages."""
    return per_ip_limiter(runtime, "critical", runtime.settings.critical_rate_limit, CRITICAL_WINDOW)
