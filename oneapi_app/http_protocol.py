"""uvicorn's HTTP/1.1 protocol, writing each response's head together with its body.

uvicorn writes a response's status line and headers as soon as the app sends ``http.response.start``, then
the body in a second write: two syscalls and two TCP segments per answer, and a client that wakes up twice
(once for a head without its body). ``Protocol`` gives each connection a transport that holds a written head
until the next write on that connection (the body, or the first event of a stream), which joins it: one
segment. A head whose body is not written in the same pass of the event loop (a stream whose first event is
still awaited, ``100 Continue``) is written at the end of that pass, so nothing waits longer than one pass.
Order is kept whatever is written; ``close`` writes a held head first.

``body_writer`` gives a relayed stream a plain function that writes its next body chunk at once, from a
callback (stream_relay.py pushes each upstream event from the upstream connection's own callback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

_HEAD = b"HTTP/"


class HeadJoiningTransport:
    """A connection's transport that joins a held response head to the next write."""

    __slots__ = ("_flush", "_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if self._flush is not None:
                self._flush.cancel()
                self._flush = None
            self._transport.write(head + bytes(data))
        elif data[:5] == _HEAD and not self._transport.is_closing():  # a response head: wait for its body
            self._head = bytes(data)
            self._flush = self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        self._flush = None
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._head or b"")

    def __getattr__(self, name: str) -> Any:  # everything else (abort, pause_reading, set_protocol...) as is
        return getattr(self._transport, name)


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a ``HeadJoiningTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = HeadJoiningTransport(transport, self.loop)  # type: ignore[assignment]


def body_writer(send: Callable[..., object]) -> Callable[[bytes], bool] | None:
    """For ``send`` of a started chunked response on this protocol: ``write(chunk)`` sends a body chunk now,
    exactly as ``send({"type": "http.response.body", "body": chunk, "more_body": True})`` would, and says
    whether it did; it does not when the client's buffer is full (``send`` would wait for it to drain) or the
    client left. None for any other server or response: use ``send``."""
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle or not cycle.response_started or not cycle.chunked_encoding:
        return None
    transport, flow = cycle.transport, cycle.flow

    def write(chunk: bytes) -> bool:
        if flow.write_paused or cycle.disconnected or cycle.response_complete:
            return False
        if chunk:
            transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        return True

    return write
