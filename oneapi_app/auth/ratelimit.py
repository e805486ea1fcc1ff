"""Per-IP sliding-window rate limits (one-api's critical limit: 20 requests per 20 minutes on login etc.).

With Redis configured the window lives there (a sorted set per IP), so every node counts the same requests;
otherwise in process memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque

from redis.asyncio import Redis

log = logging.getLogger(__name__)
CRITICAL_WINDOW = 20 * 60  # seconds: CRITICAL_RATE_LIMIT counts login, register, mail and OAuth calls over it


class SlidingWindow:
    def __init__(self, limit: int, duration: float, *, redis: Redis | None = None, prefix: str = "rateLimit:") -> None:
        self.limit = limit
        self.duration = duration
        self.redis = redis
        self.prefix = prefix
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()
        self._redis_down_until = 0.0  # Redis failed: memory until then (retried every second)

    async def allow(self, mark: str, ip: str) -> bool:
        """Record a request from ``ip``; False when it is over the limit (the refused request is not counted)."""
        if self.limit <= 0:
            return True
        key = f"{self.prefix}{mark}{ip}"
        if self.redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                return await self._allow_redis(key)
            except Exception as exc:  # noqa: BLE001 - Redis away: count in this process meanwhile
                if not self._redis_down_until:
                    log.warning("rate limit: Redis does not answer (%s), counting in this process meanwhile",
                                type(exc).__name__)
                self._redis_down_until = time.monotonic() + 1.0
        now = time.monotonic()
        async with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.duration:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory: drop idle windows
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.duration]:
                    del self._hits[k]
            return True

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


def critical_limiter(runtime) -> SlidingWindow:
    """The runtime's one critical limiter, shared by /api and the dashboard's sign-in pages (created at first
    use, after the runtime opened Redis)."""
    limiter = runtime.limiters.get("critical")
    if limiter is None:
        settings = runtime.settings
        limit = 0 if settings.debug else settings.critical_rate_limit
        limiter = SlidingWindow(limit, CRITICAL_WINDOW, redis=runtime.redis,
                                prefix=f"{settings.redis_key_prefix}rateLimit:")
        runtime.limiters["critical"] = limiter
    return limiter
