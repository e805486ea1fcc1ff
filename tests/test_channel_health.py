"""Channel health end to end: the failure-rate rule (ENABLE_METRIC), the never_auto_disable switch, automatic
re-enabling by the periodic channel test (manual disables stay), the notices (mail to a local SMTP server,
the Message Pusher webhook to a local HTTP server) and system log rows, 401/403 retried on another channel,
and the low-quota reminder mailed once per crossing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import httpx
import pytest
from aiohttp import web
from sqlalchemy import text

from oneapi_app.models import ChannelCreate, TokenCreate
from oneapi_app.services.channels import create_channels
from oneapi_app.services.tokens import create_token
from tests.local_server import free_port, serving, smtp_server  # noqa: F401 -- free_port: re-exported (test_metrics)

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Fake:
    """An OpenAI-shaped upstream whose answers follow ``plan`` (a list of statuses, cycled per key) and a
    Message Pusher endpoint collecting the notices."""

    url: str = ""
    plans: dict[str, list[int]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    pushed: list[dict] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # key "hold" answers once it is set


@pytest.fixture
async def fake():
    state = Fake()

    async def chat(request: web.Request) -> web.Response:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        n = state.calls.get(key, 0)
        state.calls[key] = n + 1
        if key == "hold":
            await state.gate.wait()
        plan = state.plans.get(key, [200])
        status = plan[n % len(plan)]
        if status != 200:
            return web.json_response({"error": {"message": f"upstream says {status}", "type": "server_error",
                                                "code": f"c{status}"}}, status=status)
        body = await request.json()
        return web.json_response({"id": "x", "object": "chat.completion", "created": 1, "model": body["model"],
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                                               "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}})

    async def push(request: web.Request) -> web.Response:
        state.pushed.append(await request.json())
        return web.json_response({"success": True, "message": ""})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/push", push)
    async with serving(app) as state.url:
        yield state


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


@pytest.fixture
def settings(make_settings, request):
    extra = getattr(request, "param", {})
    return make_settings(ENABLE_METRIC="true", METRIC_QUEUE_SIZE="10", METRIC_SUCCESS_RATE_THRESHOLD="0.5", **extra)


@pytest.fixture
async def client(runtime):
    from oneapi_app.api import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://t") as c:
        yield c


async def notices_to(runtime, fake: Fake, smtp_port: int) -> None:
    """Root has an address, SMTP and the Message Pusher point at the local servers."""
    options = runtime.options
    options.SMTPServer, options.SMTPPort, options.SMTPFrom = "127.0.0.1", smtp_port, "gw@oneapi.test"
    options.MessagePusherAddress, options.MessagePusherToken = f"{fake.url}/push", "push-token"
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET email = 'root@oneapi.test' WHERE role = 100"))


async def add_channel(runtime, base_url: str, key: str, **extra) -> int:
    async with runtime.db.session() as session:
        [channel] = await create_channels(session, ChannelCreate(
            type=1, key=key, name=f"ch-{key}", base_url=base_url, models="gpt-4o-mini", **extra), bus=runtime.changes)
    return channel.id


async def add_token(runtime, user_id: int = 1) -> str:
    async with runtime.db.session() as session:
        token = await create_token(session, user_id, TokenCreate(name="t", unlimited_quota=True))
    return f"sk-{token.key}"


async def status_of(runtime, channel_id: int) -> int:
    async with runtime.db.engine.connect() as conn:
        return (await conn.execute(text("SELECT status FROM channels WHERE id = :i"), {"i": channel_id})).scalar_one()


async def system_logs(runtime) -> list[str]:
    async with runtime.db.log_engine.connect() as conn:
        return list((await conn.execute(text("SELECT content FROM logs WHERE type = 4 ORDER BY id"))).scalars())


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_failure_rate_disables_the_channel_and_notifies_root(runtime, client, fake, smtp):
    inbox, port = smtp
    await notices_to(runtime, fake, port)
    runtime.options.AutomaticDisableChannelEnabled = True
    fake.plans["flaky"] = [500, 200, 500, 500, 500]  # 80% failures (never one of the key-is-dead errors)
    flaky = await add_channel(runtime, fake.url, "flaky")
    key = await add_token(runtime)
    statuses = [(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})).status_code
                for _ in range(10)]
    assert statuses.count(200) == 2
    await until(lambda: _is(status_of(runtime, flaky), 3))
    await until(lambda: _true(len(inbox.messages) == 1 and len(fake.pushed) == 1))
    [logged] = await system_logs(runtime)
    assert "ch-flaky" in logged and "20%" in logged
    mail = inbox.messages[0]
    assert mail["To"] == "root@oneapi.test" and "渠道状态变更提醒" in str(mail["Subject"])
    assert fake.pushed[0]["token"] == "push-token" and "ch-flaky" in fake.pushed[0]["content"]
    # Disabled: the next request finds no channel, and no second notice is sent.
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})
    assert resp.status_code == 503
    assert len(inbox.messages) == 1 and len(await system_logs(runtime)) == 1


async def test_never_auto_disable_is_respected(runtime, client, fake):
    runtime.options.AutomaticDisableChannelEnabled = True
    fake.plans["kept"] = [500, 500, 500, 500, 401]  # failure rate and a dead-key answer: both would disable
    kept = await add_channel(runtime, fake.url, "kept", config='{"never_auto_disable": true}')
    key = await add_token(runtime)
    for _ in range(10):
        await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})
    await asyncio.sleep(0.2)
    assert await status_of(runtime, kept) == 1 and await system_logs(runtime) == []


async def test_a_refused_key_is_retried_on_another_channel(runtime, client, fake):
    runtime.options.RetryTimes = 2
    fake.plans["dead401"], fake.plans["dead403"] = [401], [403]
    await add_channel(runtime, fake.url, "dead401", priority=9)
    await add_channel(runtime, fake.url, "dead403", priority=5)
    await add_channel(runtime, fake.url, "good")
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})
    assert resp.status_code == 200 and fake.calls == {"dead401": 1, "dead403": 1, "good": 1}


@pytest.mark.parametrize("settings", [{"CHANNEL_TEST_FREQUENCY": "0.005"}], indirect=True)
async def test_recovered_channels_are_enabled_again_but_manual_disables_stay(runtime, fake, smtp):
    inbox, port = smtp
    await notices_to(runtime, fake, port)
    runtime.options.AutomaticEnableChannelEnabled = True
    auto = await add_channel(runtime, fake.url, "recovered")
    manual = await add_channel(runtime, fake.url, "healthy")
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE channels SET status = 3 WHERE id = :i"), {"i": auto})
        await conn.execute(text("UPDATE channels SET status = 2 WHERE id = :i"), {"i": manual})
    await until(lambda: _is(status_of(runtime, auto), 1))  # tested every 0.3 s
    await until(lambda: _true(fake.calls.get("healthy", 0) >= 1))  # the manual one was tested too...
    assert await status_of(runtime, manual) == 2  # ...and stays disabled
    await until(lambda: _true(len(inbox.messages) >= 1))
    logged = await system_logs(runtime)
    assert len(logged) == 1 and "ch-recovered" in logged[0] and "启用" in logged[0]
    assert "ch-recovered" in fake.pushed[0]["content"]


async def test_the_periodic_test_runs_on_one_node_per_period(runtime):
    from oneapi_app.locks import Locks

    ran = []

    async def job() -> None:
        ran.append(1)

    assert runtime.locks.backend == "memory"  # SQLite, no Redis: one node
    assert await runtime.locks.once_per("job", 60, job)
    assert not await runtime.locks.once_per("job", 60, job)  # once per period
    assert await Locks().once_per("job", 60, job)  # memory leases are per process
    assert len(ran) == 2
    assert await runtime.locks.acquire("l", 60) and await runtime.locks.acquire("l", 60)  # ours: re-entrant
    other = Locks()
    other._memory = runtime.locks._memory  # another holder on the same store
    assert not await other.acquire("l", 60)
    await runtime.locks.release("l")
    assert await other.acquire("l", 60)


@pytest.mark.parametrize("backend", ["redis", "postgresql"])
async def test_leases_exclude_other_nodes(backend, make_settings, postgres_dsn):
    """Two nodes (two Runtimes on one Redis, or one PostgreSQL without Redis): one takes the period's lease."""
    import uuid

    from oneapi_app.runtime import Runtime

    env = {"SQL_DSN": postgres_dsn}
    if backend == "redis":
        env |= {"REDIS_CONN_STRING": "redis://127.0.0.1:6379/0", "REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex[:8]}:"}
    first = Runtime(make_settings(**env))
    second = Runtime(make_settings(**env, DATA_DIR=str(first.settings.data_dir) + "-2"))
    async with first.lifespan(), second.lifespan():
        assert first.locks.backend == second.locks.backend == ("redis" if backend == "redis" else "database")
        ran: list[str] = []

        async def job(name: str) -> None:
            ran.append(name)

        results = await asyncio.gather(first.locks.once_per("j", 30, lambda: job("a")),
                                       second.locks.once_per("j", 30, lambda: job("b")))
        assert sorted(results) == [False, True] and len(ran) == 1
        assert await first.locks.claim("m", 30) is True
        assert await second.locks.claim("m", 30) is False
        await second.locks.drop("m")
        assert await first.locks.claim("m", 30) is True


async def test_low_quota_mail_once_per_crossing(runtime, client, fake, smtp):
    inbox, port = smtp
    await notices_to(runtime, fake, port)
    options = runtime.options
    threshold = options.QuotaRemindThreshold = 5_000
    options.TopUpLink = "https://pay.example/top-up"
    await add_channel(runtime, fake.url, "ok")
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO users (username, password, email, quota, role, status, \"group\") "
                                "VALUES ('low', 'x', 'low@oneapi.test', 1000000, 1, 1, 'default')"))
        user_id = (await conn.execute(text("SELECT id FROM users WHERE username = 'low'"))).scalar_one()
    key = await add_token(runtime, user_id)

    async def quota() -> int:
        async with runtime.db.engine.connect() as conn:
            return (await conn.execute(text("SELECT quota FROM users WHERE id = :i"), {"i": user_id})).scalar_one()

    async def set_quota(value: int) -> None:
        async with runtime.db.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET quota = :q WHERE id = :i"), {"q": value, "i": user_id})

    async def spend(n: int) -> None:
        for _ in range(n):
            resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})
            assert resp.status_code == 200, resp.text
            await runtime.ledger.flush()
        await asyncio.sleep(0.1)  # the reminder's check runs after the flush

    def mails() -> list:
        return [m for m in inbox.messages if m["To"] == "low@oneapi.test"]

    await spend(1)
    cost = 1_000_000 - await quota()
    assert cost > 0
    await set_quota(threshold + cost + cost // 2)
    await spend(1)  # still above: nothing
    assert mails() == []
    await spend(3)  # crosses the threshold, then stays below: one mail
    await until(lambda: _true(len(mails()) >= 1))
    await asyncio.sleep(0.2)
    assert len(mails()) == 1
    body = mails()[0].get_body(("html",)).get_content()
    assert str(threshold) in body and "https://pay.example/top-up" in body
    await set_quota(threshold + cost + cost // 2)  # a top-up above the threshold...
    await spend(1)  # ...seen at the next settlement (still above: no mail)
    assert len(mails()) == 1
    await spend(1)  # the next fall below mails again
    await until(lambda: _true(len(mails()) >= 2))


async def _is(value, expected) -> bool:
    return await value == expected


async def _true(value: bool) -> bool:
    return value
