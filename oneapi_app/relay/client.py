"""The client side of a relay request: its body, read within MAX_REQUEST_BODY_SIZE, and its departure,
watched while the upstream works (a client that leaves cancels the upstream call at once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import ClientDisconnect, Request

from ..errors import ClientGone, RelayError
from ..i18n import msg
from ..middleware import request_id
from .streaming import wait_disconnect
from .upstream import MB

log = logging.getLogger(__name__)
T = TypeVar("T")
WATCH_AFTER = 0.02  # seconds of upstream work before the client is watched


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes before it is read (by its Content-Length, or
    as soon as a chunked body passes the limit)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    try:
        if length is not None:
            return await request.body()  # the server stops at Content-Length
        parts, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            parts.append(chunk)
        return b"".join(parts)
    except ClientDisconnect:
        log.info("client went away while sending its request body (request id %s)", request_id(request))
        raise ClientGone("the client closed the connection") from None


def _too_large(limit: int) -> RelayError:
    return RelayError(msg("relay.body_too_large", mb=limit // MB), status=413,
                      code="request_body_too_large")


async def until_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """Run ``work`` (the upstream calls up to the response object) while watching the client: when it
    disconnects, the work is cancelled at once, which closes the upstream connection in every mode (a
    stalled non-stream upstream included) and refunds the reservation. The watcher starts only once the work
    has taken WATCH_AFTER (a timer costs less than a task, and an answer that quick needs no watching)."""
    task = asyncio.current_task()
    assert task is not None
    gone = False
    watcher: asyncio.Future | None = None

    async def watch() -> None:
        nonlocal gone
        await wait_disconnect(request.receive)
        gone = True
        task.cancel()

    def start() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER, start)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
        raise ClientGone("the client closed the connection") from None
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()
