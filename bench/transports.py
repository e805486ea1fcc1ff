#!/usr/bin/env python3
"""Upstream client transports, measured the way the relay uses them: 16 concurrent POSTs to the mock
upstream for a few seconds from one process pinned to one core; req/s and process CPU ms per request.

  python bench/transports.py [--concurrency 16] [--duration 5]

Candidates: httpx with its own pool, httpx over the httpx-aiohttp transport (when installed), aiohttp
directly. The relay's upstream.py uses the winner (aiohttp); everything else in the appliance uses httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":64}'
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-mock"}


async def _drive(send, concurrency: int, duration: float) -> tuple[int, float]:
    stop = time.perf_counter() + duration
    count = 0

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await send()
            count += 1

    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count, time.process_time() - cpu0


async def run_httpx(url: str, concurrency: int, duration: float, transport=None) -> tuple[int, float]:
    import httpx

    kwargs = {"transport": transport} if transport is not None else {
        "limits": httpx.Limits(max_connections=1000, max_keepalive_connections=200)}
    async with httpx.AsyncClient(**kwargs) as client:
        async def send() -> None:
            resp = await client.post(url, content=BODY, headers=HEADERS)
            await resp.aread()

        await send()
        return await _drive(send, concurrency, duration)


async def run_httpx_aiohttp(url: str, concurrency: int, duration: float) -> tuple[int, float]:
    from httpx_aiohttp import AiohttpTransport

    return await run_httpx(url, concurrency, duration, transport=AiohttpTransport())


async def run_aiohttp(url: str, concurrency: int, duration: float) -> tuple[int, float]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def send() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as resp:
                await resp.read()

        await send()
        return await _drive(send, concurrency, duration)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=5)
    args = ap.parse_args()
    port = free_port()
    mock_cmd = [sys.executable, str(HERE / "mock_upstream.py"), "--port", str(port)]
    if (os.cpu_count() or 1) > 1:
        mock_cmd = ["taskset", "-c", "1", *mock_cmd]
        os.sched_setaffinity(0, {0})
    mock = subprocess.Popen(mock_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        import uvloop

        print(f"| client (C={args.concurrency}, one core, uvloop) | req/s | CPU ms/request |")
        print("|---|---:|---:|")
        candidates = [("httpx (own pool)", run_httpx), ("httpx + httpx-aiohttp transport", run_httpx_aiohttp),
                      ("aiohttp directly (the relay's choice)", run_aiohttp)]
        for name, fn in candidates:
            try:
                count, cpu = uvloop.run(fn(url, args.concurrency, args.duration))
            except ImportError as exc:
                print(f"| {name} | not installed ({exc.name}) | |")
                continue
            print(f"| {name} | {count / args.duration:,.0f} | {cpu * 1000 / max(count, 1):.3f} |", flush=True)
    finally:
        mock.terminate()
        mock.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
