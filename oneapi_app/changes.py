"""Change notifications: services' callers announce that a kind of row changed, caches listen.

Kinds: "channels" (a channel or its abilities), "token" (key), "user" (id), "options". In-process callbacks
run at once; with Redis configured the runtime also relays them to the other nodes (see runtime.py).
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Callback = Callable[[object], Awaitable[None] | None]


class Changes:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)

    def subscribe(self, kind: str, callback: Callback) -> None:
        self._subscribers[kind].append(callback)

    async def publish(self, kind: str, key: object = None) -> None:
        for callback in self._subscribers.get(kind, ()):
            try:
                result = callback(key)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("change subscriber for %s failed", kind)
