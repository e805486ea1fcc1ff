"""Change notifications: the services announce, after the commit, that a kind of row changed; caches listen.

Kinds: "channels" (a channel or its abilities), "token" (key), "user" (id), "options", and "resync" (this
process may have missed notices: drop every cached row and re-read the options). In-process callbacks run
at once; ``remote_only`` callbacks run only for notices of other processes (the options reload: this
process already holds the options it just saved).

Other processes hear a notice through up to two links:

* the local workers of one ``oneapi serve --workers N`` (one machine, no Redis needed): a socket pair per
  worker to the master process, which passes each line on to the other workers (cli.py, workers.py);
* every node sharing REDIS_CONN_STRING: one Redis pub/sub channel. When Redis goes away the link logs it
  once, keeps retrying every second (caches fall back to their expiry meanwhile), and on its return
  delivers "resync" locally, because notices of the outage were lost.

A notice heard on both links is applied twice; every subscriber is idempotent (a drop or a reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import orjson

log = logging.getLogger(__name__)
Callback = Callable[[object], Awaitable[None] | None]
RETRY = 1.0  # seconds between attempts to reach Redis again


class Changes:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[tuple[Callback, bool]]] = defaultdict(list)
        self.node_id = uuid.uuid4().hex
        self._redis = None
        self._topic = ""
        self._peers: asyncio.StreamWriter | None = None
        self.redis_up = False

    def subscribe(self, kind: str, callback: Callback, *, remote_only: bool = False) -> None:
        self._subscribers[kind].append((callback, remote_only))

    async def publish(self, kind: str, key: object = None, *, local: bool = False) -> None:
        """Deliver to this process's subscribers, then (unless ``local``) to the other processes."""
        await self._deliver(kind, key, remote=False)
        if local:
            return
        message = orjson.dumps({"node": self.node_id, "kind": kind, "key": key})
        if self._peers is not None and not self._peers.is_closing():
            self._peers.write(message + b"\n")
        if self._redis is not None:
            try:
                await self._redis.publish(self._topic, message)
            except Exception:  # the local caches are right; other nodes resync when the link is back
                log.warning("could not publish a %s change to the other nodes", kind, exc_info=True)

    async def _deliver(self, kind: str, key: object, *, remote: bool) -> None:
        for callback, remote_only in self._subscribers.get(kind, ()):
            if remote_only and not remote:
                continue
            try:
                result = callback(key)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("change subscriber for %s failed", kind)

    async def _heard(self, raw: bytes) -> None:
        try:
            notice = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if isinstance(notice, dict) and notice.get("node") != self.node_id and isinstance(notice.get("kind"), str):
            await self._deliver(notice["kind"], notice.get("key"), remote=True)

    async def resync(self) -> None:
        """Notices may have been missed: every cache drops what it holds, the options are re-read."""
        await self._deliver("resync", None, remote=True)

    # -- the local workers' link (a socket pair to the master of ``--workers N``) -------------------------
    async def relay_from_peers(self, sock: socket.socket, stopping: asyncio.Event) -> None:
        """Send this process's notices to the master and replay the other workers' until ``stopping``."""
        reader, writer = await asyncio.open_connection(sock=sock)
        self._peers = writer
        try:
            while not stopping.is_set():
                try:
                    line = await asyncio.wait_for(reader.readline(), timeout=0.5)
                except TimeoutError:
                    continue
                if not line:  # the master is gone
                    log.warning("the link to the other workers closed")
                    return
                await self._heard(line)
        finally:
            self._peers = None
            writer.close()

    # -- the nodes' link (Redis pub/sub) --------------------------------------------------------------
    async def relay_from_redis(self, redis, topic: str, stopping: asyncio.Event,
                               ready: asyncio.Event | None = None) -> None:
        """Publish to ``topic`` and replay other nodes' notices until ``stopping`` is set; survives Redis
        going away (retried every second; a "resync" is delivered when it is back)."""
        self._topic = topic
        was_down = False
        while not stopping.is_set():
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(topic)
                self._redis, self.redis_up = redis, True
                if ready is not None:
                    ready.set()
                if was_down:
                    log.warning("Redis is reachable again: change notices are shared again (caches resynced)")
                    was_down = False
                    await self.resync()
                while not stopping.is_set():
                    message = await pubsub.get_message(timeout=0.5)
                    if message is not None:
                        await self._heard(message["data"])
            except (OSError, TimeoutError, ConnectionError) as exc:
                self._on_redis_down(was_down, exc)
                was_down = True
            except Exception as exc:  # redis-py's ConnectionError/TimeoutError are not OSError subclasses
                if type(exc).__module__.split(".")[0] != "redis":
                    raise
                self._on_redis_down(was_down, exc)
                was_down = True
            finally:
                self._redis = None
                with contextlib.suppress(Exception):  # the connection may already be broken
                    await pubsub.aclose()
            if was_down:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=RETRY)

    def _on_redis_down(self, was_down: bool, exc: BaseException) -> None:
        self.redis_up = False
        if not was_down:
            log.warning("Redis is unreachable (%s): serving from the database; other nodes' changes reach "
                        "this one by cache expiry until it is back", type(exc).__name__)
