"""Hot-path cache: invalidation through runtime.changes, Redis sharing, and nothing lost at shutdown."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from oneapi_app.api import create_app
from oneapi_app.models import ChannelStatus
from oneapi_app.runtime import Runtime
from oneapi_app.services.channels import set_channel_status

from .conftest import add_channel, add_token

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_changes_invalidate_tokens_and_channels(runtime, client, upstream):
    channel_id = await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    headers = {"Authorization": f"Bearer sk-{key}"}
    assert (await client.post("/v1/chat/completions", json=BODY, headers=headers)).status_code == 200
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE tokens SET status = 2 WHERE id = (SELECT MAX(id) FROM tokens)"))
    await runtime.changes.publish("token", key)
    assert (await client.post("/v1/chat/completions", json=BODY, headers=headers)).status_code == 401
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE tokens SET status = 1 WHERE id = (SELECT MAX(id) FROM tokens)"))
    await runtime.changes.publish("token", None)
    async with runtime.db.session() as session:
        await set_channel_status(session, channel_id, ChannelStatus.MANUALLY_DISABLED, bus=runtime.changes)
    await runtime.changes.publish("channels")
    # its only channel switched off by hand: the model is no longer served (404; 503 when auto-disabled)
    assert (await client.post("/v1/chat/completions", json=BODY, headers=headers)).status_code == 404


async def test_redis_shares_tokens_and_drops_them_on_change(make_settings, upstream):
    prefix = f"oneapi-test-{uuid.uuid4().hex[:8]}:"
    runtime = Runtime(make_settings(REDIS_CONN_STRING="redis://127.0.0.1:6379/0", REDIS_KEY_PREFIX=prefix))
    async with runtime.lifespan():
        try:
            await add_channel(runtime, upstream.url)
            key = await add_token(runtime)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw") as c:
                resp = await c.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
            assert resp.status_code == 200
            assert await runtime.redis.exists(f"{prefix}token:{key}", f"{prefix}user:1") == 2
            await runtime.changes.publish("token", key)
            assert await runtime.redis.exists(f"{prefix}token:{key}") == 0
        finally:
            keys = [k async for k in runtime.redis.scan_iter(match=f"{prefix}*")]
            if keys:
                await runtime.redis.delete(*keys)


async def test_shutdown_flushes_pending_settlements(make_settings, upstream):
    settings = make_settings()
    runtime = Runtime(settings)
    async with runtime.lifespan():
        await add_channel(runtime, upstream.url)
        key = await add_token(runtime, unlimited=False, remain_quota=50_000)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://gw") as c:
            for _ in range(3):
                resp = await c.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
                assert resp.status_code == 200
    # stopped right after the requests: the shutdown flush wrote everything
    reopened = Runtime(settings)
    async with reopened.lifespan():
        async with reopened.db.engine.connect() as conn:
            logged = (await conn.execute(text("SELECT COUNT(*), SUM(quota) FROM logs WHERE type = 2"))).one()
            token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE user_id = 1 "
                                             "AND unlimited_quota = :f"), {"f": False})).one()
    assert logged[0] == 3 and token[1] == logged[1] and token[0] + token[1] == 50_000
