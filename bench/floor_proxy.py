"""The stack's floor: a bare streaming proxy on the gateway's server, doing none of the gateway's work.

  MOCK_URL=http://127.0.0.1:PORT FLOOR_CLIENT=aiohttp|raw \\
      python -m uvicorn floor_proxy:app --app-dir bench --loop uvloop --http httptools --workers N

Run by ``bench/relay.py --burst N --floor aiohttp|raw``, beside the gateway, so that a burst's added first-token
time can be read against what the server and client alone cost on the same machine in the same run. Every POST
is sent to the mock upstream and its answer is relayed chunk by chunk: no authentication, no quota, no
database, no log, no translation. A GET answers ``{}`` (the loader's warm-up).

- ``aiohttp``: the gateway's own upstream client (one ClientSession, the gateway's pool settings), the answer's
  body relayed as it arrives;
- ``raw``: no HTTP client at all: one plain asyncio connection per request (``Connection: close``) whose bytes,
  the upstream's head included, are relayed as they come -- a lower bound, not a proxy a client could use.
"""

from __future__ import annotations

import asyncio
import os

import aiohttp

MOCK_URL = os.environ.get("MOCK_URL", "http://127.0.0.1:8000")
CLIENT = os.environ.get("FLOOR_CLIENT", "aiohttp")
START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
_session: list[aiohttp.ClientSession] = []  # the lifespan's session (one per worker process)


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if CLIENT == "raw":
        await relay_raw(scope["path"], body, send)
    else:
        await relay_aiohttp(scope["path"], body, send)


async def lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
            _session.append(aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()))
            await send({"type": "lifespan.startup.complete"})
        else:
            for session in _session:
                await session.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def relay_aiohttp(path: str, body: bytes, send) -> None:
    headers = {"Authorization": "Bearer floor", "Content-Type": "application/json"}
    async with _session[0].post(MOCK_URL + path, data=body, headers=headers) as resp:
        await send(START)
        async for chunk in resp.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


class _Reader(asyncio.Protocol):
    def __init__(self) -> None:
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

    def data_received(self, data: bytes) -> None:
        self.chunks.put_nowait(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chunks.put_nowait(None)


async def relay_raw(path: str, body: bytes, send) -> None:
    host, port = MOCK_URL.split("//", 1)[1].rsplit(":", 1)
    transport, reader = await asyncio.get_running_loop().create_connection(_Reader, host, int(port))
    transport.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                    f"Authorization: Bearer floor\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    started = False
    while (chunk := await reader.chunks.get()) is not None:
        if not started:
            started = True
            await send(START)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if not started:
        await send(START)
    await send({"type": "http.response.body", "body": b""})
