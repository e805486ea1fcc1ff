"""Tracked background work: no fire-and-forget. Everything spawned here is awaited (or cancelled after a
grace period) at shutdown, and registered flushers run before the database closes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._flushers: list[Callable[[], Awaitable[None]]] = []
        self.closing = False
        self._stopping: asyncio.Event | None = None

    @property
    def stopping(self) -> asyncio.Event:
        """Set when shutdown begins: long-running loops wait on it and return."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        return self._stopping

    def every(self, interval: float, job: Callable[[], Awaitable[None]], name: str) -> asyncio.Task:
        """Run ``job`` every ``interval`` seconds until shutdown; a failing run is logged, the loop goes on."""

        async def loop() -> None:
            while not self.stopping.is_set():
                try:
                    await asyncio.wait_for(self.stopping.wait(), timeout=interval)
                    return
                except TimeoutError:
                    pass
                try:
                    await job()
                except Exception:
                    log.exception("periodic job %s failed", name)

        return self.spawn(loop(), name)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        if self.closing:
            coro.close()
            raise RuntimeError(f"shutting down: refusing new background work {name!r}")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def add_flusher(self, flush: Callable[[], Awaitable[None]]) -> None:
        """``flush`` runs at shutdown, after in-flight requests ended and before the database closes."""
        self._flushers.append(flush)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def close(self, timeout: float = 30.0) -> None:
        self.closing = True
        self.stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                log.warning("cancelling background task %s at shutdown", task.get_name())
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for flush in self._flushers:
            try:
                await flush()
            except Exception:  # a failing flusher must not stop the others
                log.exception("flush at shutdown failed")
