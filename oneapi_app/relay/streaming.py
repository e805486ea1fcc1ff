"""The one SSE reader and writer of the relay.

``SSEReader`` splits upstream bytes into ``data:`` payloads (comments, ``event:`` lines and blank lines are
dropped; CRLF tolerated); ``is_event`` tells the payloads the relay forwards (a JSON object or ``[DONE]``)
from garbage, which never reaches a client; valid events pass byte for byte. A line longer than the reader's limit (an upstream that never sends a
newline) fails the stream instead of growing a buffer. ``SSEResponse`` is a small ASGI response that sends each event as soon as it is
produced and watches the client: when the client disconnects, the producer is cancelled at once (its
``finally`` closes the upstream connection and settles the bill) instead of waiting for the next write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..http_protocol import body_writer
from .upstream import too_large

DONE_EVENT = b"data: [DONE]\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]


class SSEReader:
    __slots__ = ("_buffer", "limit")

    def __init__(self, limit: int = 64 * 1024 * 1024) -> None:
        self._buffer = b""
        self.limit = limit  # bytes of one unfinished line

    def feed(self, chunk: bytes) -> list[bytes]:
        # Fast path: the usual upstream chunk is exactly one ``data: ...\n\n`` event.
        if (not self._buffer and chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
                and chunk.find(b"\n") == len(chunk) - 2):
            payload = chunk[6:-2]
            if payload and not payload.endswith(b"\r") and not payload.startswith(b" "):
                return [payload]
        data = self._buffer + chunk if self._buffer else chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        if len(self._buffer) > self.limit:
            self._buffer = b""
            raise too_large(self.limit)
        return [p for p in map(_payload, lines) if p is not None]

    def finish(self) -> list[bytes]:
        rest, self._buffer = self._buffer, b""
        payload = _payload(rest)
        return [payload] if payload is not None else []


def _payload(line: bytes) -> bytes | None:
    if not line.startswith(b"data:"):
        return None
    payload = line[5:]
    if payload.endswith(b"\r"):
        payload = payload[:-1]
    if payload.startswith(b" "):
        payload = payload[1:]
    return payload or None


def is_event(payload: bytes) -> bool:
    """A JSON object (by its first and last byte: no parse on the per-event path) or ``[DONE]``: what the
    relay's streams carry. Anything else an upstream sends on a data line is garbage, never forwarded."""
    return (payload[:1] == b"{" and payload[-1:] == b"}") or payload == b"[DONE]"


RAW_SEND = "oneapi.raw_send"  # scope key: the server's own ``send`` (set by RequestIdMiddleware)


class SSEResponse(Response):
    """Stream ``events`` (bytes) to the client; cancel them when the client goes away.

    The response start goes through the middleware chain (request id and CORS headers are added there);
    the body messages, which no middleware changes, go straight to the server's ``send`` when the
    outermost middleware left it in the scope. The first event is produced and written inline (no task
    hop); a pump task then relays the rest while a watcher waits for the client's disconnect.
    """

    def __init__(self, events: AsyncIterator[bytes], status: int = 200,
                 finalize: Callable[[], None] | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.events = events
        self.status = self.status_code = status
        self.background = None
        self.finalize = finalize  # runs last, whatever happened (even if the events never started)
        self.start_headers = SSE_HEADERS if headers is None else headers  # another body streamed through

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = watch = None
        error: BaseException | None = None
        body_send = scope.get(RAW_SEND) or send
        me = asyncio.current_task()
        first_pending = True

        def cancel_first(_: asyncio.Future) -> None:  # the client left while the first event was awaited
            if first_pending and me is not None:
                me.cancel()

        try:
            watch = asyncio.ensure_future(wait_disconnect(receive))
            watch.add_done_callback(cancel_first)
            await send({"type": "http.response.start", "status": self.status, "headers": self.start_headers})
            try:
                first = await self.events.__anext__()
            except StopAsyncIteration:
                first = None
            except asyncio.CancelledError:
                if not watch.done():
                    raise
                if me is not None:
                    me.uncancel()
                first = None
            except Exception as exc:  # noqa: BLE001 - reported below, after the cleanup
                error, first = exc, None
            first_pending = False
            if first is None:
                if error is None and not watch.done():
                    await body_send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await body_send({"type": "http.response.body", "body": first, "more_body": True})
                if await self._push(body_send, watch):  # the stream ended while pushed: its end, in this task
                    await self._pump(body_send)
                elif not watch.done():
                    pump = asyncio.ensure_future(self._pump(body_send))
                    await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            first_pending = False
            tasks = [t for t in (pump, watch) if t is not None]
            for task in tasks:
                if not task.done():
                    task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await self.events.aclose()  # type: ignore[attr-defined]
            finally:
                if self.finalize is not None:
                    self.finalize()
        if pump is not None and pump.done() and not pump.cancelled() and pump.exception() is not None:
            error = pump.exception()
        if error is not None and not isinstance(error, OSError):
            raise error

    async def _push(self, send: Send, watch: asyncio.Future) -> bool:
        """Let the events write themselves from the upstream's callbacks while they can (stream_relay.py's
        ``push``); True when the stream ended that way. The pump relays whatever is left."""
        push = getattr(self.events, "push", None)
        write = body_writer(send) if push is not None else None
        return write is not None and await push(write, watch)  # type: ignore[misc]

    async def _pump(self, send: Send) -> None:
        async for chunk in self.events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
