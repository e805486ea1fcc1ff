"""Local fake servers for tests, on free ports of 127.0.0.1: an aiohttp app (a fake provider or webhook), an
SMTP server (aiosmtpd), and the record of a request such a fake saw."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import orjson
from aiohttp import web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` while the block runs; gives its base URL (``http://127.0.0.1:<port>``)."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def smtp_server(handler: object, **options: object) -> Iterator[int]:
    """An SMTP server handing each message to ``handler.handle_DATA`` while the block runs; gives its port.
    ``options`` go to aiosmtpd's Controller (``tls_context``, ``require_starttls``...)."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class Seen:
    """A request a fake server received."""

    path: str
    query: str
    headers: dict
    raw: bytes

    @property
    def json(self) -> dict:
        return orjson.loads(self.raw)
