"""SETTLEMENT_WAIT: a response is sent only after its settlement (balances + log row) is committed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from oneapi_app.api import create_app
from oneapi_app.runtime import Runtime

from .conftest import add_channel, add_token


@pytest.fixture(params=["sqlite", "postgresql"])
async def waiting_runtime(request, make_settings):
    env = {"SETTLEMENT_WAIT": "true"}
    if request.param == "postgresql":
        env["SQL_DSN"] = request.getfixturevalue("postgres_dsn")
    rt = Runtime(make_settings(**env))
    async with rt.lifespan():
        yield rt


@pytest.mark.parametrize("stream", [False, True])
async def test_the_answer_waits_for_its_settlement_commit(waiting_runtime, upstream, stream):
    runtime = waiting_runtime
    assert runtime.ledger.wait
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw") as client:
        for n in (1, 2, 3):
            resp = await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer sk-{key}"})
            assert resp.status_code == 200
            async with runtime.db.engine.connect() as conn:  # no flush: committed before the answer ended
                logged = (await conn.execute(text("SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2"))).one()
                used = (await conn.execute(text("SELECT used_quota FROM tokens WHERE used_quota > 0"))).scalar_one()
                holds = (await conn.execute(text("SELECT COUNT(*) FROM ledger_holds"))).scalar_one()
            assert logged[0] == n and logged[1] == used and holds == 0
