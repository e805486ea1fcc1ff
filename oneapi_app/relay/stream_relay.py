"""One upstream stream turned into the client's bytes: the relay's per-event path.

``UpstreamStream`` feeds each upstream chunk to the frame reader (SSE lines, an adaptor's own framing, or the
raw chunk) and the translator, and produces the bytes the client gets. It is consumed in two ways:

- pulled: ``async for`` (``SSEResponse``'s pump awaits each chunk, then writes it);
- pushed: ``push(write)`` translates and writes each chunk from the upstream connection's own callback, the
  moment it arrives: no future, no task switch, no coroutine chain resumed per event (the burst of 1,000
  streams spends most of its time relaying events). The push ends when the stream ends, or when the client's
  buffer is full (the pump goes on, waiting for the client) or the client leaves.

Either way the stream ends once, with the same last bytes (the translator's tail and ``[DONE]``, or the
dialect's error event after a broken or failed upstream), and settles once: at the end of a complete or
broken answer, or in ``aclose`` when the client went away first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..errors import UpstreamFailure
from ..services.ledger import Settlement
from .adaptors.base import FrameReader, StreamTranslator
from .context import RelayContext
from .convert import BrokenStream
from .streaming import DONE_EVENT, SSEReader, is_event
from .upstream import NETWORK_ERRORS, UpstreamResponse, network_failure


class RawChunks:
    """The frames of a raw pass-through: each upstream chunk as it came."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> list[bytes]:
        return [chunk]

    def finish(self) -> list[bytes]:
        return []


def _unset(_: bytes) -> bool:
    return False


class UpstreamStream:
    """The client's bytes of one upstream stream, pulled (``async for``) or pushed (``push``)."""

    def __init__(self, ctx: RelayContext, resp: UpstreamResponse, first: bytes, translator: StreamTranslator,
                 reader: SSEReader | FrameReader, sse: bool, settle: Callable[[], Settlement],
                 committed: Callable[[Settlement], Awaitable[None]], timeout: float | None = None) -> None:
        self.ctx = ctx
        self.resp = resp
        self.translator = translator
        self.reader = reader
        self.sse = sse  # SSE payloads: garbage (not a JSON object or [DONE]) never reaches the client
        self._settle = settle
        self._committed = committed
        self._first: bytes | None = first or None
        self._held = b""  # produced while pushing, not written (the client's buffer was full)
        self.ended = False  # the last bytes were produced
        self.finished = False  # the upstream answer ran to its end or broke (release), else the client left (close)
        self.closed = False
        self._pushing: asyncio.Future[None] | None = None
        self.timeout = timeout  # seconds a push may last (RELAY_TIMEOUT; the pump's read then times out)
        self._write: Callable[[bytes], bool] = _unset

    # -- the steps ------------------------------------------------------------------------------------------
    def _events(self, payloads: list[bytes]) -> bytes:
        feed = self.translator.feed
        if len(payloads) == 1:  # the usual case: one event per upstream chunk
            return (feed(payloads[0]) or b"") if not self.sse or is_event(payloads[0]) else b""
        done: list[bytes] = []  # the events of one read before a broken one still reach the client
        try:
            for payload in filter(is_event, payloads) if self.sse else payloads:
                out = feed(payload)
                if out:
                    done.append(out)
        except BrokenStream as broken:
            raise BrokenStream(b"".join(done) + broken.out, broken.failure) from None
        except UpstreamFailure as failure:
            raise BrokenStream(b"".join(done), failure) from None
        return b"".join(done)

    def _step(self, chunk: bytes) -> bytes:
        """One upstream chunk's bytes for the client (the last ones when it broke the stream)."""
        try:
            return self._events(self.reader.feed(chunk))
        except BrokenStream as broken:
            return self._broken(broken.out, broken.failure)
        except UpstreamFailure as failure:
            return self._broken(b"", failure)

    def _tail(self) -> bytes:
        """The end of the upstream answer: what the reader and translator still hold, then ``[DONE]``."""
        try:
            out = self._events(self.reader.finish())
        except BrokenStream as broken:
            return self._broken(broken.out, broken.failure)
        except UpstreamFailure as failure:
            return self._broken(b"", failure)
        try:
            tail = self.translator.finish()
        except BrokenStream as broken:
            return self._broken(out + broken.out, broken.failure)
        except UpstreamFailure as failure:
            return self._broken(out, failure)
        if tail:
            out += tail
        self.ended = self.finished = True
        if not self.translator.done:
            out += DONE_EVENT
        return out

    def _broken(self, out: bytes, failure: UpstreamFailure) -> bytes:
        """The upstream broke after bytes reached the client: what it sent, then the dialect's error event."""
        self.ended = self.finished = True
        ctx = self.ctx
        return out + ctx.dialect.encoder(ctx.model, ctx.request_id).error(failure, ctx.request_id)

    # -- pulled ---------------------------------------------------------------------------------------------
    def __aiter__(self) -> UpstreamStream:
        return self

    async def __anext__(self) -> bytes:
        held, self._held = self._held, b""
        if held:
            return held
        while not self.ended:
            chunk = self._first
            if chunk is not None:
                self._first = None
            else:
                try:
                    chunk = await self.resp.readany()
                except NETWORK_ERRORS as exc:
                    return self._broken(b"", network_failure(exc))
                if not chunk:
                    out = self._tail()
                    if out:
                        return out
                    break
            out = self._step(chunk)
            if out:
                return out
        if not self.closed:  # the answer is over: settle (and with SETTLEMENT_WAIT, end once it is committed)
            settlement = self._close()
            if settlement is not None and settlement.done is not None:
                await self._committed(settlement)
        raise StopAsyncIteration

    # -- pushed ---------------------------------------------------------------------------------------------
    async def push(self, write: Callable[[bytes], bool], client_gone: asyncio.Future) -> bool:
        """Relay from the upstream connection's callbacks with ``write`` (writes to the client now; False when
        it did not: the client's buffer is full or the client left) until the stream ends, the client's buffer
        fills, ``client_gone`` is done or RELAY_TIMEOUT passes (the pump's read then times out). True when the
        stream ended this way; otherwise the pull way relays whatever is left."""
        if self.ended or self._first is not None or self._held:
            return False
        pushing = self._pushing = asyncio.get_running_loop().create_future()
        self._write = write
        if not self.resp.ring(self._ring):
            self._pushing = None
            return False
        self._ring(None)  # what arrived before the push began
        try:
            await asyncio.wait((pushing, client_gone), timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop_push()
        if pushing.done() and (error := pushing.exception()) is not None:
            raise error
        return self.ended and not client_gone.done()

    def stop_push(self) -> None:
        """End the push (the client left, or it took too long): the upstream is not read from callbacks any more."""
        self.resp.unring()
        pushing, self._pushing = self._pushing, None
        if pushing is not None and not pushing.done():
            pushing.set_result(None)

    def _ring(self, error: BaseException | None) -> None:
        """The upstream connection got data, its end or an error (called right after its protocol's callback)."""
        pushing = self._pushing
        if pushing is None:
            return
        self.resp.unring()
        try:
            if error is not None:
                self._push_out(self._failed(error))
            # Read until nothing is buffered: reading can make aiohttp feed more at once (it resumes a paused
            # connection and parses what it held back), which rings no doorbell (none is armed while reading).
            while not self.ended and self._pushing is not None:
                try:
                    chunk = self.resp.take()
                except BaseException as exc:  # noqa: BLE001 - the reader's stored error
                    self._push_out(self._failed(exc))
                    break
                if chunk:
                    self._push_out(self._step(chunk))
                elif self.resp.at_eof():
                    self._push_out(self._tail())
                else:  # all read: wait for the next ring
                    if not self.resp.ring(self._ring):
                        self.stop_push()
                    return
            self.stop_push()
        except BaseException as exc:  # noqa: BLE001 - never into the upstream's protocol: to the response
            self.resp.unring()
            self._pushing = None
            if not pushing.done():
                pushing.set_exception(exc)

    def _push_out(self, out: bytes) -> None:
        if out and not self._write(out):
            self._held = out  # the pump writes it once the client takes more
            self.stop_push()

    def _failed(self, exc: BaseException) -> bytes:
        if isinstance(exc, NETWORK_ERRORS):
            return self._broken(b"", network_failure(exc))
        raise exc

    # -- the end --------------------------------------------------------------------------------------------
    def _close(self) -> Settlement | None:
        self.closed = True
        self.resp.unring()
        if self.finished:
            self.resp.release()
        else:
            self.resp.close()  # the client went away: drop the upstream request at once
        if self.ctx.settled:
            return None
        return self._settle()

    async def aclose(self) -> None:
        """The response is over, however it ended: a stream the client left settles here."""
        self.stop_push()
        if not self.closed:
            self._close()
