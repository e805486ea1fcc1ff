"""Rate limits of the relay (relay/limits.py): requests and tokens per minute and concurrency, per token and per
user, from token fields and the GroupRateLimits option; in memory and through Redis (two app instances on one
Redis share one limit); the 429's headers; the token API's fields; GLOBAL_WEB_RATE_LIMIT on the dashboard;
token counting (/v1/messages/count_tokens, Gemini's :countTokens) under the request limits, not the tokens ones."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import orjson
import pytest

import tests.test_channel_health as health
from oneapi_app.models import TokenCreate
from oneapi_app.relay import limits
from oneapi_app.services.tokens import create_token
from tests.test_channel_health import BODY, add_channel

fake = health.fake  # the fake upstream fixture

ROOT_ACCESS_TOKEN = "0123456789abcdef0123456789abcdef"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings(make_settings, request):
    return make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN, **getattr(request, "param", {}))


def redis_env() -> dict[str, str]:
    return {"REDIS_CONN_STRING": REDIS, "REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex[:10]}:"}


@pytest.fixture
async def client(runtime):
    from oneapi_app.api import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://t") as c:
        yield c


@pytest.fixture
def frozen(monkeypatch):
    """The memory backend's clock, stopped (exact headers)."""
    now = [1_000_000.0]
    monkeypatch.setattr(limits, "clock_ms", lambda: now[0])
    return now


async def token(runtime, user_id: int = 1, **fields) -> str:
    async with runtime.db.session() as session:
        created = await create_token(session, user_id, TokenCreate(name="t", unlimited_quota=True, **fields))
    return f"sk-{created.key}"


async def ask(client, key: str) -> httpx.Response:
    return await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})


MESSAGE = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


async def held_request(client, key: str, fake) -> asyncio.Task:
    """A request to the "hold" channel, returned once the fake upstream holds it (its slot is taken)."""
    first = asyncio.create_task(ask(client, key))
    for _ in range(3000):  # at most 30 s
        if fake.calls.get("hold", 0) >= 1:
            return first
        await asyncio.sleep(0.01)
    raise AssertionError("the request never reached the upstream")


async def count(client, key: str) -> httpx.Response:
    return await client.post("/v1/messages/count_tokens", json={k: v for k, v in MESSAGE.items() if k != "max_tokens"},
                             headers={"x-api-key": key, "anthropic-version": "2023-06-01"})


async def message(client, key: str) -> httpx.Response:
    return await client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": key, "anthropic-version": "2023-06-01"})


def limit_headers(resp: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.startswith("x-ratelimit") or k == "retry-after"}


async def test_requests_per_minute_of_a_token_exact_headers(runtime, client, fake, frozen):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, rpm_limit=3)
    assert [(await ask(client, key)).status_code for _ in range(3)] == [200, 200, 200]
    refused = await ask(client, key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded" and "3" in error["message"]
    headers = {k: v for k, v in refused.headers.items() if k.startswith("x-ratelimit") or k == "retry-after"}
    assert headers == {"retry-after": "20", "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
                       "x-ratelimit-reset-requests": "1m0s"}
    frozen[0] += 20_000  # one request refilled
    assert (await ask(client, key)).status_code == 200
    assert (await ask(client, key)).status_code == 429
    assert fake.calls["ok"] == 4  # refused requests never reach the upstream


async def test_tokens_per_minute_counts_the_answers(runtime, client, fake, frozen):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, tpm_limit=40)  # each answer uses 30 tokens
    assert (await ask(client, key)).status_code == 200  # 40 -> 10
    assert (await ask(client, key)).status_code == 200  # 10 > 0: allowed, -> -20
    refused = await ask(client, key)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"
    headers = {k: v for k, v in refused.headers.items() if k.startswith("x-ratelimit") or k == "retry-after"}
    assert headers == {"retry-after": "32", "x-ratelimit-limit-tokens": "40", "x-ratelimit-remaining-tokens": "0",
                       "x-ratelimit-reset-tokens": "1m30s"}
    frozen[0] += 31_500
    assert (await ask(client, key)).status_code == 200


async def test_concurrency_holds_until_the_request_ends(runtime, client, fake):
    await add_channel(runtime, fake.url, "hold")
    key = await token(runtime, concurrency_limit=1)
    first = await held_request(client, key, fake)
    refused = await ask(client, key)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "1" in refused.json()["error"]["message"]
    fake.gate.set()
    assert (await first).status_code == 200
    assert (await ask(client, key)).status_code == 200
    assert runtime.limiter.in_flight == 0


async def test_group_defaults_per_user_and_token_overrides(runtime, client, fake, frozen):
    await add_channel(runtime, fake.url, "ok")
    runtime.options.GroupRateLimits = orjson.dumps({"default": {"rpm": 1, "user_rpm": 3}}).decode()
    a, b, free = await token(runtime), await token(runtime), await token(runtime, rpm_limit=-1)
    assert (await ask(client, a)).status_code == 200
    assert (await ask(client, a)).status_code == 429  # the group's per-token default
    assert (await ask(client, b)).status_code == 200
    assert (await ask(client, free)).status_code == 200  # -1: no per-token limit...
    refused = await ask(client, free)  # ...but the user's 3 per minute are used up
    assert refused.status_code == 429 and refused.headers["x-ratelimit-limit-requests"] == "3"
    assert "该用户" in refused.json()["error"]["message"]


async def test_group_rate_limits_option_is_validated(client):
    headers = {"Authorization": ROOT_ACCESS_TOKEN}
    bad = await client.put("/api/option/", json={"key": "GroupRateLimits", "value": '{"vip": {"rpm": -1}}'},
                           headers=headers)
    assert bad.json()["success"] is False and "GroupRateLimits" in bad.json()["message"]
    good = await client.put("/api/option/", json={"key": "GroupRateLimits", "value": '{"vip": {"rpm": 60}}'},
                            headers=headers)
    assert good.json()["success"] is True


async def test_token_api_accepts_the_limit_fields(client):
    headers = {"Authorization": ROOT_ACCESS_TOKEN}
    r = await client.post("/api/token/", json={"name": "lim", "unlimited_quota": True, "rpm_limit": 60,
                                               "tpm_limit": 1000, "concurrency_limit": 2}, headers=headers)
    assert r.json()["success"], r.json()
    [row] = [t for t in (await client.get("/api/token/", headers=headers)).json()["data"] if t["name"] == "lim"]
    assert (row["rpm_limit"], row["tpm_limit"], row["concurrency_limit"]) == (60, 1000, 2)
    r = await client.put("/api/token/", json={"id": row["id"], "rpm_limit": -1}, headers=headers)
    assert r.json()["success"] and r.json()["data"]["rpm_limit"] == -1
    r = await client.put("/api/token/", json={"id": row["id"], "rpm_limit": -5}, headers=headers)
    assert r.json()["success"] is False


@pytest.mark.parametrize("settings", [redis_env()], indirect=True)
async def test_limits_through_redis(runtime, client, fake):
    assert runtime.redis is not None
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, rpm_limit=2, concurrency_limit=5)
    assert [(await ask(client, key)).status_code for _ in range(3)] == [200, 200, 429]
    refused = await ask(client, key)
    assert refused.headers["retry-after"] in ("29", "30") and refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert re.fullmatch(r"(5\d(\.\d+)?s|1m0s)", refused.headers["x-ratelimit-reset-requests"])
    await runtime.limiter.flush()
    prefix = runtime.settings.redis_key_prefix
    assert await runtime.redis.zcard(f"{prefix}rc:t:1") == 0  # every slot released


@pytest.mark.parametrize("settings", [redis_env()], indirect=True)
async def test_concurrency_and_tokens_through_redis(runtime, client, fake):
    await add_channel(runtime, fake.url, "hold")
    key = await token(runtime, concurrency_limit=1, tpm_limit=40)
    first = await held_request(client, key, fake)
    assert (await ask(client, key)).status_code == 429
    fake.gate.set()
    assert (await first).status_code == 200
    await runtime.limiter.flush()
    assert (await ask(client, key)).status_code == 200  # slot free; 10 tokens left
    await runtime.limiter.flush()
    refused = await ask(client, key)  # -20 tokens: refused
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"
    assert refused.headers["x-ratelimit-limit-tokens"] == "40"


async def test_two_instances_sharing_redis_enforce_one_limit(make_settings, postgres_dsn, fake):
    from oneapi_app.api import create_app
    from oneapi_app.runtime import Runtime

    env = {"SQL_DSN": postgres_dsn, **redis_env()}
    first = Runtime(make_settings(**env))
    second = Runtime(make_settings(**env, DATA_DIR=str(first.settings.data_dir) + "-2"))
    async with first.lifespan(), second.lifespan():
        await add_channel(first, fake.url, "ok")
        key = await token(first, rpm_limit=3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(first)), base_url="http://a") as a, \
                httpx.AsyncClient(transport=httpx.ASGITransport(create_app(second)), base_url="http://b") as b:
            codes = [(await ask(client, key)).status_code for client in (a, b, a, b)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("settings", [{"GLOBAL_WEB_RATE_LIMIT": "3"}], indirect=True)
async def test_global_web_rate_limit_counts_dashboard_pages(runtime):
    from starlette.responses import PlainTextResponse

    from oneapi_app.api import create_api

    api = create_api(runtime)
    api.add_route("/{page:path}", lambda request: PlainTextResponse("page"))  # stands in for the dashboard
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://t") as c:
        assert [(await c.get("/logs")).status_code for _ in range(3)] == [200, 200, 200]
        for _ in range(5):  # static files and /api are not counted
            assert (await c.get("/_next/static/app.js")).status_code == 200
            assert (await c.get("/api/status")).status_code == 200
        refused = await c.get("/tokens")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "180"


async def test_the_limiter_check_is_cheap_without_limits(runtime):
    """No limit anywhere: no ticket work beyond one attribute test (the bench measures the real cost)."""
    from oneapi_app.services.cache import TokenInfo, UserInfo

    class Ctx:
        def __init__(self) -> None:
            self.token = TokenInfo(1, 1, "k", "t", 1, -1, 0, True, None, "")
            self.user = UserInfo(1, "u", 1, 1, "default", 0, 0)
            self.request_id = "r"
            self.limit = None

    ctx = Ctx()
    await runtime.limiter.check(ctx)
    assert ctx.limit is limits.UNLIMITED and runtime.limiter.in_flight == 1
    runtime.limiter.release(ctx, 10)
    assert ctx.limit is None and runtime.limiter.in_flight == 0


async def test_an_unreachable_redis_counts_in_this_nodes_memory(runtime, caplog):
    """Redis gone: the node keeps serving and enforces the limits alone (in its memory), and says so in the log."""
    from redis.asyncio import Redis

    from oneapi_app.errors import LimitExceeded
    from oneapi_app.services.cache import TokenInfo, UserInfo
    from tests.test_channel_health import free_port

    class Ctx:
        def __init__(self) -> None:
            self.token = TokenInfo(1, 1, "k", "t", 1, -1, 0, True, None, "", rpm_limit=2, concurrency_limit=1)
            self.user = UserInfo(1, "u", 1, 1, "default", 0, 0)
            self.request_id, self.limit = "r", None

    runtime.redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        first, second = Ctx(), Ctx()
        await runtime.limiter.check(first)
        assert first.limit is not None and first.limit.local
        with pytest.raises(LimitExceeded):  # one at a time
            await runtime.limiter.check(second)
        runtime.limiter.release(first, 0)
        await runtime.limiter.check(second)  # the slot came back (to memory, not to Redis)
        runtime.limiter.release(second, 0)
        with pytest.raises(LimitExceeded) as refused:  # two a minute
            await runtime.limiter.check(Ctx())
        assert refused.value.headers["x-ratelimit-limit-requests"] == "2"
    finally:
        await runtime.redis.aclose()
        runtime.redis = None
    assert sum("Redis is unreachable" in r.getMessage() for r in caplog.records) == 1


# -- token counting: requests per minute and concurrency, not tokens per minute ------------------------------
async def test_count_tokens_is_refused_past_the_requests_per_minute(runtime, client, fake, frozen):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, rpm_limit=2)
    first, second = await count(client, key), await count(client, key)
    assert (first.status_code, second.status_code) == (200, 200) and first.json()["input_tokens"] > 0
    refused = await count(client, key)
    assert refused.status_code == 429
    body = refused.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error" and "2" in body["error"]["message"]
    assert limit_headers(refused) == {"retry-after": "30", "x-ratelimit-limit-requests": "2",
                                      "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m0s"}
    assert runtime.limiter.in_flight == 0  # nothing held past the call
    frozen[0] += 30_000  # one request refilled
    assert (await count(client, key)).status_code == 200
    assert fake.calls.get("ok", 0) == 0  # counted locally, never sent


async def test_count_tokens_uses_up_the_requests_of_messages(runtime, client, fake, frozen):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, rpm_limit=2)
    assert (await count(client, key)).status_code == 200
    assert (await message(client, key)).status_code == 200
    refused = await message(client, key)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.headers["retry-after"] == "30" and refused.headers["x-ratelimit-limit-requests"] == "2"
    assert fake.calls["ok"] == 1
    runtime.options.GroupRateLimits = orjson.dumps({"default": {"user_rpm": 5}}).decode()  # the user's limit too
    other = await token(runtime, rpm_limit=-1)
    assert [(await count(client, other)).status_code for _ in range(5)] == [200] * 5
    refused = await ask(client, other)
    assert refused.status_code == 429 and refused.headers["x-ratelimit-limit-requests"] == "5"


async def test_count_tokens_holds_a_concurrency_slot_only_while_it_runs(runtime, client, fake):
    await add_channel(runtime, fake.url, "hold")
    key = await token(runtime, concurrency_limit=1)
    first = await held_request(client, key, fake)
    refused = await count(client, key)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["type"] == "error"
    fake.gate.set()
    assert (await first).status_code == 200
    assert [(await count(client, key)).status_code for _ in range(3)] == [200] * 3
    assert runtime.limiter.in_flight == 0


@pytest.mark.parametrize("settings", [{}, redis_env()], indirect=True, ids=["memory", "redis"])
async def test_count_tokens_neither_spends_nor_minds_the_tokens_per_minute(runtime, client, fake):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, tpm_limit=40, rpm_limit=100)  # each answer uses 30 tokens
    for _ in range(3):
        assert (await count(client, key)).status_code == 200  # a count first: the token bucket is not made empty
    assert (await ask(client, key)).status_code == 200  # 40 -> 10
    await runtime.limiter.flush()
    assert (await ask(client, key)).status_code == 200  # 10 -> -20
    await runtime.limiter.flush()
    assert (await count(client, key)).status_code == 200  # the tokens are used up: counting still answers...
    refused = await ask(client, key)  # ...and left the bucket below zero
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "tokens"


async def test_gemini_count_tokens_is_refused_past_the_requests_per_minute(runtime, client, fake):
    await add_channel(runtime, fake.url, "ok")
    key = await token(runtime, rpm_limit=1)
    url = "/v1beta/models/gpt-4o-mini:countTokens"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    counted = await client.post(url, json=body, headers={"x-goog-api-key": key})
    assert counted.status_code == 200 and counted.json()["totalTokens"] > 0
    refused = await client.post(url, json=body, headers={"x-goog-api-key": key})
    assert refused.status_code == 429 and refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(refused.headers["retry-after"]) >= 59 and refused.headers["x-ratelimit-limit-requests"] == "1"
