"""Every upstream fault at once, under load: 200 concurrent clients, two requests each, over one token.

The fault-injecting upstream (fault_upstream.py) answers 500, 429 with Retry-After, resets the connection
before and in the middle of the body, stalls (ended by RELAY_TIMEOUT=3, set here), sends a never-ending
answer (bounded by RELAY_MAX_RESPONSE_SIZE=1), garbage SSE lines; one channel is a refused connection and one
model retries from a failing channel to a good one. Every answer must be a clean one (a complete answer, a
stream ending in ``[DONE]``, or an OpenAI error envelope; never a gateway 500 or a traceback: the gateway
fixture fails the test on any logged exception), and afterwards the books agree to the unit and no hold is
left in ``ledger_holds``. The counts are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from sqlalchemy import text

from tests.relay.conftest import add_channel, add_token, add_user

from .fault_upstream import JUNK, FaultUpstream, free_port, start

pytestmark = pytest.mark.faults

CLIENTS = 200
ROUNDS = 2
START = 50_000_000
USER_START = 100_000_000
FAULTS = ["ok", "e500", "e429", "reset_head", "reset_body", "stall", "garbage"]
# (model, stream) scenarios: each fault in both modes, plus the refused channel, the retry and the cap
SCENARIOS = [(f"fault-{f}", s) for f in FAULTS for s in (False, True)] + [
    ("fault-refused", False), ("fault-refused", True), ("fault-retry", False), ("fault-retry", True),
    ("claude-3-haiku-20240307", False)]


@pytest.fixture
def settings(make_settings):
    return make_settings(RELAY_TIMEOUT="3", RELAY_MAX_RESPONSE_SIZE="1")


@pytest.fixture
async def faulty():
    state = FaultUpstream()
    runner = await start(state)
    yield state
    await runner.cleanup()


def _check(model: str, stream: bool, status: int, headers: httpx.Headers, body: bytes) -> str:
    """What the client got, as one word; an AssertionError for anything unclean."""
    what = f"{model} stream={stream} -> {status}: {body[-300:]!r}"
    if status == 200:
        if not stream:
            assert orjson.loads(body)["choices"][0]["message"]["content"], what
            return "answered"
        lines = [line for line in body.split(b"\n") if line]
        assert lines[-1] == b"data: [DONE]", what
        for junk in JUNK.split(b"\n"):
            assert not junk or junk not in body, what
        for line in lines:
            assert line.startswith((b"data: ", b":")), what
            if line != b"data: [DONE]" and line.startswith(b"data: "):
                orjson.loads(line[6:])  # every event is valid JSON
        return "stream-error-event" if b'"error"' in body else "streamed"
    error = orjson.loads(body)["error"]
    assert isinstance(error["message"], str) and error["message"], what
    assert status != 500 or model == "fault-e500", what  # the gateway's own 500 would be a bug
    if status == 429:
        assert int(headers["retry-after"]) >= 1, what
    if status == 504:  # RELAY_TIMEOUT: a stall, or any answer slower than it on this loaded machine
        return "timeout-504"
    if model.startswith("claude"):
        assert status == 502 and error["code"] == "upstream_response_too_large", what
    return f"error-{status}"


async def test_every_fault_under_load_keeps_answers_clean_and_books_exact(runtime, gateway, faulty):
    runtime.options.RetryTimes = 1
    channels = [await add_channel(runtime, faulty.url, key=f, models=f"fault-{f}") for f in FAULTS]
    channels.append(await add_channel(runtime, f"http://127.0.0.1:{free_port()}", key="refused",
                                      models="fault-refused"))
    channels.append(await add_channel(runtime, faulty.url, key="e500", models="fault-retry", priority=10))
    channels.append(await add_channel(runtime, faulty.url, key="ok", models="fault-retry"))
    channels.append(await add_channel(runtime, faulty.url, key="endless", type=14, models="claude-3-haiku-20240307"))
    user_id = await add_user(runtime, quota=USER_START)
    key = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=START)
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as client:
        async def one_client(i: int) -> None:
            for r in range(ROUNDS):
                model, stream = SCENARIOS[(i + r * 7) % len(SCENARIOS)]
                body = {"model": model, "messages": [{"role": "user", "content": f"client {i}"}], "max_tokens": 30,
                        "stream": stream}
                if stream:
                    body["stream_options"] = {"include_usage": True}
                resp = await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer sk-{key}"})
                word = _check(model, stream, resp.status_code, resp.headers, resp.content)
                outcomes[word] = outcomes.get(word, 0) + 1

        await asyncio.gather(*(one_client(i) for i in range(CLIENTS)))
    elapsed = time.monotonic() - started
    await runtime.ledger.flush()
    async with runtime.db.engine.connect() as conn:
        token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE key = :k"),
                                    {"k": key})).one()
        user = (await conn.execute(text("SELECT quota, used_quota, request_count FROM users WHERE id = :i"),
                                   {"i": user_id})).one()
        logged = (await conn.execute(text("SELECT COUNT(*), COALESCE(SUM(quota), 0) FROM logs "
                                          "WHERE type = 2 AND user_id = :i"), {"i": user_id})).one()
        channel_used = (await conn.execute(text("SELECT COALESCE(SUM(used_quota), 0) FROM channels"))).scalar_one()
        holds = (await conn.execute(text("SELECT COUNT(*) FROM ledger_holds"))).scalar_one()
    injected = dict(faulty.injected)
    print(f"\nupstream faults: {CLIENTS * ROUNDS} requests by {CLIENTS} clients in {elapsed:.1f} s; upstream saw "
          f"{sum(injected.values())} ({injected}); connections dropped by the gateway {faulty.gone}; client "
          f"outcomes {outcomes}; {logged[0]} consume rows, {logged[1]} quota; token remain+used-start "
          f"{token.remain_quota + token.used_quota - START}; holds left {holds}")
    assert sum(outcomes.values()) == CLIENTS * ROUNDS
    for fault in ("e500", "e429", "reset_head", "reset_body", "stall", "garbage", "endless"):
        assert injected.get(fault, 0) > 0, injected
    assert outcomes.get("answered", 0) > 0 and outcomes.get("streamed", 0) > 0
    assert token.remain_quota + token.used_quota == START
    assert logged[1] == token.used_quota == user.used_quota == channel_used
    assert user.quota + user.used_quota == USER_START
    assert user.request_count == logged[0]
    assert holds == 0
    assert outcomes["answered"] + outcomes["streamed"] <= logged[0]  # every delivered answer was billed
