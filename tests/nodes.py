"""Helpers of the several-process tests (test_workers.py: one machine, test_multinode.py: PostgreSQL + Redis).

A fake upstream (bench/mock_upstream.py), the rows the tests need (one channel on it, tokens), and clients
that open a fresh connection per request (so SO_REUSEPORT spreads them over every worker).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from sqlalchemy import text

from oneapi_app.db import create_sync_db_engine
from oneapi_app.settings import load_settings

from .servers import ROOT, free_port, wait_ready

ROOT_ACCESS = "multi-process-root-access-012345"
BIG = 10**12


@contextmanager
def mock_upstream(*args: str) -> Iterator[str]:
    """bench/mock_upstream.py on a free port (``args``: its options; by default answers take 20 ms)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(port),
                             *(args or ("--latency-ms", "20"))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", proc, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


async def _prepare(env: dict[str, str], mock_url: str, names: list[str]) -> dict[str, str]:
    from oneapi_app.models import ChannelCreate, TokenCreate
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.channels import create_channels
    from oneapi_app.services.tokens import create_token

    runtime = Runtime(load_settings({**env, "REDIS_CONN_STRING": ""}))
    async with runtime.lifespan():
        async with runtime.db.session() as session:
            await create_channels(session, ChannelCreate(type=1, key="sk-mock", name="mock", base_url=mock_url,
                                                         models="gpt-4o-mini"), bus=runtime.changes)
            return {name: (await create_token(session, 1, TokenCreate(name=name, remain_quota=BIG,
                                                                      unlimited_quota=False))).key
                    for name in names}


def prepare(env: dict[str, str], mock_url: str, names: list[str]) -> dict[str, str]:
    """Migrate, create root (INITIAL_ROOT_ACCESS_TOKEN in ``env``), one channel on the mock and the tokens
    ``names`` (a large quota each); returns name -> key."""
    return asyncio.run(_prepare(env, mock_url, names))


def sql(env: dict[str, str], statement: str, **params) -> list:
    settings = load_settings({**env, "REDIS_CONN_STRING": ""})
    engine = create_sync_db_engine(settings.database, settings)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def admin(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": ROOT_ACCESS}, timeout=20)


def token_id(env: dict[str, str], name: str) -> int:
    return sql(env, "SELECT id FROM tokens WHERE name = :n", n=name)[0][0]


def set_token_status(base: str, token: int, status: int) -> None:
    with admin(base) as c:
        reply = c.put("/api/token/", params={"status_only": "1"}, json={"id": token, "status": status}).json()
    assert reply["success"], reply


def set_option(base: str, key: str, value: str) -> None:
    with admin(base) as c:
        reply = c.put("/api/option/", json={"key": key, "value": value}).json()
    assert reply["success"], reply


def system_name(base: str) -> str:
    return httpx.get(f"{base}/api/status", timeout=10).json()["data"]["system_name"]


def wait_for(check, timeout: float = 5.0, step: float = 0.1):
    """Poll ``check()`` until it returns a truthy value (returned) or ``timeout`` passes (the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


async def _chats(bases: list[str], key: str, count: int, concurrency: int) -> list[int]:
    """``count`` non-stream chats with ``key``, round-robin over ``bases``, each on a fresh connection."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 60}
    headers = {"Authorization": f"Bearer sk-{key}"}
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=90)) as client:
        async def one(i: int) -> int:
            async with gate:
                async with client.post(f"{bases[i % len(bases)]}/v1/chat/completions", json=body,
                                       headers=headers) as resp:
                    await resp.read()
                    return resp.status

        return await asyncio.gather(*(one(i) for i in range(count)))


def chats(bases: list[str], key: str, count: int, concurrency: int = 16) -> list[int]:
    return asyncio.run(_chats(bases, key, count, concurrency))


def books(env: dict[str, str], name: str) -> tuple[int, int, int, int]:
    """(remain_quota, used_quota, consume log rows, their quota sum) of the token ``name``."""
    remain, used = sql(env, "SELECT remain_quota, used_quota FROM tokens WHERE name = :n", n=name)[0]
    rows, charged = sql(env, "SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND token_name = :n",
                        n=name)[0]
    return remain, used, rows, charged


def spend_race(env: dict[str, str], bases: list[str], keys: dict[str, str]) -> dict:
    """Measure one request's cost on the token "calibrate"; give "small" six of them; 40 concurrent requests
    on it spread over ``bases``. Returns what happened, for the caller's asserts."""
    small = "small"
    assert chats(bases[:1], keys["calibrate"], 1) == [200]
    cost = wait_for(lambda: books(env, "calibrate")[3], timeout=10)
    assert cost > 0
    quota = 6 * cost
    # ``small`` has not been used yet: no process holds its row in a cache
    sql(env, "UPDATE tokens SET remain_quota = :q WHERE name = :n", q=quota, n=small)
    statuses = chats(bases, keys[small], 40, concurrency=40)

    def settled():
        remain, used, rows, charged = books(env, small)
        return (remain, used, rows, charged) if rows == statuses.count(200) and used == charged else None

    remain, used, rows, charged = wait_for(settled, timeout=10) or books(env, small)
    return {"quota": quota, "cost": cost, "statuses": statuses, "remain": remain, "used": used, "rows": rows,
            "charged": charged}


def within_a_second(probe, timeout: float = 10.0) -> list[float]:
    """Poll ``probe()`` (True once a change shows) until it holds; returns when (seconds after this call) the
    probes sent a second or more after it were sent that still did not see the change -- "within a second" is
    then ``== []``. Timed from when each probe was sent, not when its answer came back (a loaded machine delays
    answers without the change being late)."""
    start = time.monotonic()
    late: list[float] = []

    def seen() -> bool:
        sent = time.monotonic()
        ok = bool(probe())
        if not ok and sent - start >= 1.0:
            late.append(round(sent - start, 3))
        return ok

    assert wait_for(seen, timeout=timeout, step=0.02), f"not seen within {timeout} s"
    return late
