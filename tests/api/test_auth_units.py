"""Session signing, the Redis-backed rate limit shared by nodes, and equal bcrypt work for wrong logins."""

import uuid

from redis.asyncio import Redis

from oneapi_app.auth import sessions
from oneapi_app.auth.ratelimit import SlidingWindow
from oneapi_app.services import users as user_service


def test_session_signature_and_expiry():
    value = sessions.sign("secret", {"id": 3}, now=1000)
    assert sessions.unsign("secret", value, now=1000)["id"] == 3
    assert sessions.unsign("other", value, now=1000) == {}
    assert sessions.unsign("secret", value, now=1000 + sessions.MAX_AGE + 1) == {}
    _body, mac = value.split(".")
    forged = sessions._b64(b'{"iat":1000,"id":1}') + "." + mac
    assert sessions.unsign("secret", forged, now=1000) == {}
    assert sessions.unsign("secret", "garbage", now=1000) == {}
    assert sessions.unsign("secret", None) == {}


async def test_rate_limit_in_redis_is_shared_by_nodes():
    redis = Redis.from_url("redis://127.0.0.1:6379/14")
    try:
        prefix = f"test-rl-{uuid.uuid4().hex}:"
        node_a = SlidingWindow(3, 60, redis=redis, prefix=prefix)
        node_b = SlidingWindow(3, 60, redis=redis, prefix=prefix)
        assert [await node_a.allow("CT", "1.2.3.4"), await node_b.allow("CT", "1.2.3.4"),
                await node_a.allow("CT", "1.2.3.4")] == [True, True, True]
        assert not await node_b.allow("CT", "1.2.3.4")
        assert await node_b.allow("CT", "5.6.7.8")
        keys = [k async for k in redis.scan_iter(prefix + "*")]
        await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_memory_rate_limit_and_off_switch():
    limiter = SlidingWindow(2, 60)
    assert [await limiter.allow("CT", "ip") for _ in range(3)] == [True, True, False]
    off = SlidingWindow(0, 60)
    assert all([await off.allow("CT", "ip") for _ in range(50)])


async def test_wrong_logins_do_the_same_bcrypt_work(runtime, monkeypatch):
    calls = []
    real = user_service.verify_password

    def counting(password, hashed):
        calls.append(hashed is not None)
        return real(password, hashed)

    monkeypatch.setattr(user_service, "verify_password", counting)
    async with runtime.db.session() as s:
        assert await user_service.authenticate(s, "nobody", "whatever1") is None
        assert await user_service.authenticate(s, "root", "wrong-password") is None
        assert await user_service.authenticate(s, "root", "123456") is not None
    # One bcrypt check per attempt; an unknown user is checked against a dummy hash (hashed=None).
    assert calls == [False, True, True]


async def test_two_nodes_on_one_redis_share_the_login_limit_and_codes(make_settings, tmp_path):
    import httpx

    from oneapi_app.api import create_api
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.verification import PASSWORD_RESET, CodeStore

    prefix = f"t{uuid.uuid4().hex[:8]}:"
    settings = make_settings(REDIS_CONN_STRING="redis://127.0.0.1:6379/15", SYNC_FREQUENCY="60",
                             CRITICAL_RATE_LIMIT="4", REDIS_KEY_PREFIX=prefix)
    runtime = Runtime(settings)
    async with runtime.lifespan():
        assert runtime.redis is not None
        ip = f"test-{uuid.uuid4().hex}"
        nodes = [create_api(runtime), create_api(runtime)]  # each app has its own limiter object
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(n), base_url="http://t",
                                     headers={"X-Forwarded-For": ip}) for n in nodes]
        try:
            codes = []
            for i in range(5):
                r = await clients[i % 2].post("/api/user/login", json={"username": "x", "password": "y"})
                codes.append(r.status_code)
            assert codes == [200, 200, 200, 200, 429]
            # A reset token stored by one node is accepted by another (Redis, not process memory).
            await CodeStore.of(runtime).put(PASSWORD_RESET, "nobody@example.com", "f" * 32)
            assert await runtime.redis.get(prefix + "verification:reset:nobody@example.com") is not None
        finally:
            for c in clients:
                await c.aclose()
            keys = [k async for k in runtime.redis.scan_iter(f"{prefix}*")]
            assert any(k.startswith(f"{prefix}rateLimit:".encode()) for k in keys)
            await runtime.redis.delete(*keys)
