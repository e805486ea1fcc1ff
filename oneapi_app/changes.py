"""Change notifications: the services announce, after the commit, that a kind of row changed; caches listen.

Kinds: "channels" (a channel or its abilities), "token" (key), "user" (id), "options". In-process callbacks
run at once. With Redis configured, every notice is also published on one Redis channel and each node
replays the other nodes' notices to its own subscribers, so in-memory caches agree across nodes within
milliseconds instead of waiting for their expiry.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import orjson

log = logging.getLogger(__name__)
Callback = Callable[[object], Awaitable[None] | None]


class Changes:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)
        self.node_id = uuid.uuid4().hex
        self._redis = None
        self._topic = ""

    def subscribe(self, kind: str, callback: Callback) -> None:
        self._subscribers[kind].append(callback)

    async def publish(self, kind: str, key: object = None) -> None:
        await self._deliver(kind, key)
        if self._redis is not None:
            message = orjson.dumps({"node": self.node_id, "kind": kind, "key": key})
            try:
                await self._redis.publish(self._topic, message)
            except Exception:  # the local caches are right; other nodes fall back to expiry
                log.warning("could not publish a %s change to the other nodes", kind, exc_info=True)

    async def _deliver(self, kind: str, key: object) -> None:
        for callback in self._subscribers.get(kind, ()):
            try:
                result = callback(key)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("change subscriber for %s failed", kind)

    async def relay_from_redis(self, redis, topic: str, stopping: asyncio.Event,
                               ready: asyncio.Event | None = None) -> None:
        """Publish to ``topic`` from now on, and replay other nodes' notices until ``stopping`` is set."""
        self._redis, self._topic = redis, topic
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(topic)
        if ready is not None:
            ready.set()
        try:
            while not stopping.is_set():
                message = await pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                try:
                    notice = orjson.loads(message["data"])
                except orjson.JSONDecodeError:
                    continue
                if notice.get("node") != self.node_id and isinstance(notice.get("kind"), str):
                    await self._deliver(notice["kind"], notice.get("key"))
        finally:
            self._redis = None
            await pubsub.aclose()
