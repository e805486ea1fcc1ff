"""Local fake servers for tests, on free ports of 127.0.0.1: an aiohttp app (a fake provider or webhook), an
SMTP server (aiosmtpd), and the record of a request such a fake saw."""

from __future__ import annotations

import fcntl
import random
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web

_CLAIMS = Path(tempfile.gettempdir()) / "oneapi-test-ports"
_claimed: list = []  # the claims' open lock files: this process keeps their ports until it exits


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port of 127.0.0.1 for a server a test starts later, that nobody else will take meanwhile.

    A port bind(0) gave and closed again could go to anyone before the server binds it: to an outgoing connection
    (they take ports of the kernel's ephemeral range), or to the other pytest process (./test.sh runs two). So the
    port comes from below the ephemeral range, and is claimed with a lock file this process holds until it exits.
    """
    low, high = 20000, _ephemeral_low() - 1
    if high - low < 1000:  # an unusual ephemeral range: take one of it (a small race)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    _CLAIMS.mkdir(exist_ok=True)
    for _ in range(1000):
        port = random.randint(low, high)
        claim = open(_CLAIMS / str(port), "a")  # noqa: SIM115 -- kept open: the lock is the claim
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:  # claimed by another process (or by this one), or in use
            claim.close()
            continue
        _claimed.append(claim)
        return port
    raise RuntimeError("no free port below the ephemeral range")


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` while the block runs; gives its base URL (``http://127.0.0.1:<port>``)."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # the kernel's choice, bound at once: no race
    port = runner.addresses[0][1]
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
