"""Group-committed quota reservations on PostgreSQL and MariaDB (services/ledger/batcher.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from oneapi_app.errors import TokenQuotaExhausted, UserQuotaExhausted
from oneapi_app.runtime import Runtime
from oneapi_app.services.ledger.batcher import _rolled_back


@pytest.fixture(params=["postgres", "mysql"])
async def server_runtime(request, make_settings):
    rt = Runtime(make_settings(SQL_DSN=request.getfixturevalue(f"{request.param}_dsn")))
    async with rt.lifespan():
        yield rt


async def _setup(rt: Runtime, *, user_quota: int, token_quota: int, unlimited: bool = False) -> tuple[int, int]:
    async with rt.db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET quota = :q WHERE id = 1"), {"q": user_quota})
        await conn.execute(text(
            "INSERT INTO tokens (user_id, `key`, status, name, created_time, accessed_time, expired_time, "
            "remain_quota, unlimited_quota, used_quota) VALUES (1, :k, 1, 't', 0, 0, -1, :q, :u, 0)"
            if rt.db.url.kind == "mysql" else
            "INSERT INTO tokens (user_id, key, status, name, created_time, accessed_time, expired_time, "
            "remain_quota, unlimited_quota, used_quota) VALUES (1, :k, 1, 't', 0, 0, -1, :q, :u, 0)"),
            {"k": "k" * 48, "q": token_quota, "u": unlimited})
        token_id = (await conn.execute(text("SELECT id FROM tokens WHERE name = 't'"))).scalar_one()
    return token_id, 1


async def _balances(rt: Runtime, token_id: int) -> tuple[int, int, int]:
    async with rt.db.engine.connect() as conn:
        token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE id = :id"),
                                    {"id": token_id})).one()
        user = (await conn.execute(text("SELECT quota FROM users WHERE id = 1"))).scalar_one()
    return token[0], token[1], user


async def _try(rt: Runtime, token_id: int, unlimited: bool, amount: int) -> str | None:
    try:
        await rt.ledger.reserve(token_id=token_id, unlimited=unlimited, user_id=1, amount=amount)
    except TokenQuotaExhausted:
        return "token"
    except UserQuotaExhausted:
        return "user"
    return None


async def test_concurrent_reservations_share_transactions_and_never_overspend(server_runtime):
    rt = server_runtime
    token_id, _ = await _setup(rt, user_quota=10_000, token_quota=100)
    results = await asyncio.gather(*(_try(rt, token_id, False, 7) for _ in range(60)))
    assert results.count(None) == 14 and results.count("token") == 46  # 14 * 7 = 98 <= 100
    assert await _balances(rt, token_id) == (2, 98, 10_000 - 98)
    assert rt.ledger.batcher.batches < 60  # group-committed


async def test_user_short_releases_the_token_hold(server_runtime):
    rt = server_runtime
    token_id, _ = await _setup(rt, user_quota=20, token_quota=1_000)
    results = await asyncio.gather(*(_try(rt, token_id, False, 7) for _ in range(5)))
    assert results.count(None) == 2 and results.count("user") == 3
    assert await _balances(rt, token_id) == (1_000 - 14, 14, 6)


async def test_unlimited_token_still_spends_user_quota(server_runtime):
    rt = server_runtime
    token_id, _ = await _setup(rt, user_quota=20, token_quota=0, unlimited=True)
    results = await asyncio.gather(*(_try(rt, token_id, True, 7) for _ in range(5)))
    assert results.count(None) == 2 and results.count("user") == 3
    assert (await _balances(rt, token_id))[2] == 6


async def test_a_request_gone_during_commit_is_refunded(server_runtime, monkeypatch):
    rt = server_runtime
    token_id, _ = await _setup(rt, user_quota=1_000, token_quota=1_000)
    batcher = rt.ledger.batcher
    original = batcher._apply
    started, applied = asyncio.Event(), asyncio.Event()

    async def slow_apply(batch):
        started.set()
        result = await original(batch)
        await asyncio.sleep(0.2)  # committed; the request is cancelled meanwhile
        applied.set()
        return result

    monkeypatch.setattr(batcher, "_apply", slow_apply)
    task = asyncio.create_task(_try(rt, token_id, False, 50))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The hold commits, then the worker sees the abandoned waiter and hands the refund to the settlement
    # writer: wait for the commit (bounded), then for the refund to be written.
    await asyncio.wait_for(applied.wait(), 30)
    for _ in range(100):
        await asyncio.sleep(0.05)
        await rt.ledger.flush()
        if await _balances(rt, token_id) == (1_000, 0, 1_000):
            break
    assert await _balances(rt, token_id) == (1_000, 0, 1_000)


def test_only_certain_rollbacks_are_retried():
    class Orig(Exception):
        def __init__(self, *args, sqlstate=None):
            super().__init__(*args)
            self.sqlstate = sqlstate

    class Wrapped(Exception):
        def __init__(self, orig):
            self.orig = orig

    assert _rolled_back(Wrapped(Orig(sqlstate="40P01")))
    assert _rolled_back(Wrapped(Orig(1213, "Deadlock found")))
    assert not _rolled_back(Wrapped(Orig(sqlstate="08006")))  # connection failure: unknown outcome
    assert not _rolled_back(Wrapped(Orig(2013, "Lost connection")))
    assert not _rolled_back(OSError("reset"))


async def test_a_dead_idle_connection_is_replaced_and_the_batch_runs_again(postgres_dsn, make_settings):
    rt = Runtime(make_settings(SQL_DSN=postgres_dsn))
    async with rt.lifespan():
        token_id, _ = await _setup(rt, user_quota=1_000, token_quota=1_000)
        assert await _try(rt, token_id, False, 10) is None  # the worker's connection is open now
        async with rt.db.engine.connect() as conn:  # e.g. a database restart drops it
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert await _try(rt, token_id, False, 10) is None
        assert await _balances(rt, token_id) == (980, 20, 980)
