"""The relay's two special transports, both described purely by an adaptor's ``UpstreamRequest``:

- calls in steps (Replicate's streams): ``follow(body)`` turns the first answer into the next request (the
  created prediction -> its stream URL); a step that needs no follow-up answers with its body;
- the websocket transport (iFlytek Spark v1): an adaptor describes the call purely, as an
  ``UpstreamRequest`` whose ``url`` is ws(s):// and whose ``websocket_message`` is the first message; this
  module opens the socket on the relay's aiohttp session, sends that message and hands back a response
  object shaped like ``upstream.UpstreamResponse``: ``chunks()`` yields one received message per chunk (the
  adaptor's frame reader passes them through as frames), ``read()`` returns every message, each followed
  by an RS byte (0x1e, never inside JSON text), for a whole answer.

A refused handshake (a bad signature is a 401/403 there) becomes a response with that status and a small
JSON body ``{"message": ...}`` for the adaptor's ``map_error``; network errors are the relay's
``network_failure``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import orjson

from ..errors import UpstreamFailure
from .upstream import NETWORK_ERRORS, Upstream, UpstreamRequest, UpstreamResponse, network_failure, too_large

RECORD = b"\x1e"
HANDSHAKE_TIMEOUT = 10.0
MAX_STEPS = 5
MAX_STEP_BODY = 16 * 1024 * 1024


class WebSocketResponse:
    """A websocket call in the shape of UpstreamResponse (status, headers, read, chunks, close, release)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | None, status: int = 200, body: bytes = b"") -> None:
        self._ws = ws
        self.status = status
        self.headers: list[tuple[str, str]] = []
        self.content_type = "application/json" if ws is None else "application/x-websocket-messages"
        self._body = body
        self._reading: AsyncIterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        return None

    async def _messages(self) -> AsyncIterator[bytes]:
        ws = self._ws
        if ws is None:
            if self._body:
                yield self._body
            return
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    yield message.data.encode()
                elif message.type == aiohttp.WSMsgType.BINARY:
                    yield message.data
                elif message.type == aiohttp.WSMsgType.ERROR:
                    raise aiohttp.ClientConnectionError(str(ws.exception() or "websocket error"))
                else:  # CLOSE / CLOSING / CLOSED
                    break
        finally:
            await ws.close()

    async def read(self, limit: int) -> bytes:
        body, complete = await self.read_head(limit)
        if not complete:
            self.close()
            raise too_large(limit)
        return body

    async def read_head(self, limit: int) -> tuple[bytes, bool]:
        if self._ws is None:
            return self._body, True
        parts: list[bytes] = []
        size = 0
        try:
            async for message in self._messages():
                parts.append(message + RECORD)
                size += len(message) + 1
                if size > limit:
                    return b"".join(parts), False
        except NETWORK_ERRORS as exc:
            self.close()
            raise network_failure(exc) from None
        except BaseException:
            self.close()
            raise
        return b"".join(parts), True

    def chunks(self) -> AsyncIterator[bytes]:
        return self._messages()

    async def readany(self) -> bytes:
        """The next message; b"" after the last."""
        if self._reading is None:
            self._reading = self._messages()
        return await anext(self._reading, b"")

    def ring(self, callback: object) -> bool:  # (messages are read, never pushed: see UpstreamResponse.ring)
        return False

    def unring(self) -> None:
        pass

    def close(self) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            asyncio.ensure_future(ws.close())

    def release(self) -> None:
        self.close()


async def send(upstream: Upstream, request: UpstreamRequest) -> UpstreamResponse:
    """A websocket call (``websocket_message``) or a call in steps (``follow``), answered as an object shaped
    like UpstreamResponse, which the pipeline reads."""
    if request.websocket_message is not None:
        return cast(UpstreamResponse, await open_websocket(upstream.session, request, upstream.settings.relay_proxy or None))
    for _ in range(MAX_STEPS):
        follow = request.follow
        resp = await upstream.send(request)
        if follow is None or resp.status not in (200, 201):
            return resp
        body = await resp.read(MAX_STEP_BODY)
        following = follow(body)
        if following is None:  # the step's own answer is the answer
            return cast(UpstreamResponse, WebSocketResponse(None, resp.status, body))
        request = following
    raise UpstreamFailure("the upstream call took too many steps", status=502, retryable=True,
                          code="too_many_steps", type="one_api_error")


async def open_websocket(session: aiohttp.ClientSession, request: UpstreamRequest,
                         proxy: str | None = None) -> WebSocketResponse:
    try:
        ws = await session.ws_connect(request.url, headers=request.headers or None, proxy=proxy,
                                      timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=HANDSHAKE_TIMEOUT),
                                      autoping=True, max_msg_size=64 * 1024 * 1024)
    except aiohttp.WSServerHandshakeError as exc:
        status = exc.status if exc.status and exc.status != 101 else 502
        body = orjson.dumps({"message": f"websocket handshake refused: {exc.status} {exc.message}".strip()})
        return WebSocketResponse(None, status, body)
    except NETWORK_ERRORS as exc:
        raise network_failure(exc) from None
    try:
        await ws.send_str((request.websocket_message or b"").decode())
    except NETWORK_ERRORS as exc:
        await ws.close()
        raise network_failure(exc) from None
    except BaseException:
        await ws.close()
        raise
    return WebSocketResponse(ws)
