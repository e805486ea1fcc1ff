"""Rate limits shared by the workers of one machine without Redis (limitd.py): the master process keeps them.

In process: two worker links on one LimitServer (served by a thread standing in for the master's loop) count
one limit, a link that closes frees its slots, a master that does not answer or goes away leaves the worker
counting alone (logged once). With real processes (``oneapi serve --api-only --workers 2``, no Redis, fresh
connections so SO_REUSEPORT spreads the requests over both workers): a token's RPM and concurrency and the
per-IP GLOBAL_API_RATE_LIMIT hold across the workers, a stopped master costs no 500, a killed worker's slots
are freed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import selectors
import signal
import threading
import time
from typing import Self

import aiohttp
import pytest

from oneapi_app.limitd import LimitLink, LimitServer
from oneapi_app.relay.limits_local import Scope

from . import nodes
from .servers import running_server
from .test_workers import _workers


# -- in process ------------------------------------------------------------------------------------------------
class Master:
    """A LimitServer served by a thread, as the master's selector loop does; ``paused`` stops answering."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.server = LimitServer(self.selector)
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if not self.paused.is_set():
                    for key, events in self.selector.select(timeout=0.02):
                        self.server.ready(key.data, events)
                    continue
            time.sleep(0.01)

    def pause(self) -> None:
        with self._lock:  # not in the middle of answering
            self.paused.set()

    async def link(self, **kwargs: float) -> LimitLink:
        with self._lock:
            conn, theirs = self.server.attach()
        link = await LimitLink.open(theirs, **kwargs)
        link.conn = conn  # type: ignore[attr-defined]  # for the tests below
        return link

    def drop(self, link: LimitLink) -> None:
        with self._lock:
            self.server.drop(link.conn)  # type: ignore[attr-defined]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in list(self.server.conns):
            self.server.drop(conn)
        self.selector.close()


async def settle(master: Master, check, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_two_links_count_one_limit_and_releases_free_the_slots():
    token = [Scope("t:1", 3, 0, 0)]
    pair = [Scope("t:2", 0, 100, 2), Scope("u:1", 0, 0, 0)]
    with Master() as master:
        a, b = await master.link(), await master.link()
        answers = [await link.check(token) for link in (a, b, a, b)]
        assert [refused is None for _seq, refused in answers] == [True, True, True, False]
        index, kind, _wait, numbers = answers[3][1]
        assert (index, kind, numbers[0], numbers[1]) == (0, 1, 3, 0)  # the token's RPM, none left
        first, second = await a.check(pair), await b.check(pair)
        assert first[1] is None and second[1] is None
        third = await a.check(pair)
        assert third[1] is not None and third[1][1] == 3  # two in flight across both links: concurrency
        b.release(second[0], 150)  # frees a slot, charges 150 tokens: the bucket goes below zero
        await settle(master, lambda: master.server.buckets.inflight.get("t:2") == 1)
        refused = await a.check(pair)
        assert refused[1] is not None and refused[1][1] == 2  # tokens per minute now
        assert await a.window("GA1.2.3.4", 2, 60) is True
        assert await b.window("GA1.2.3.4", 2, 60) is True
        assert await a.window("GA1.2.3.4", 2, 60) is False
        assert await b.window("GA5.6.7.8", 2, 60) is True
        a.close()  # a worker's link closes (the worker died): the slot it held is freed
        await settle(master, lambda: "t:2" not in master.server.buckets.inflight)
        assert len(master.server.conns) == 1
        b.close()


async def test_a_master_that_does_not_answer_or_goes_away_leaves_the_worker_counting_alone(caplog):
    caplog.set_level(logging.WARNING, "oneapi_app.limitd")
    scopes = [Scope("t:1", 0, 0, 1)]
    with Master() as master:
        link = await master.link(timeout=1.0, retry=0.3)  # a second for the answer below, however loaded the box
        master.pause()
        assert await link.check(scopes) is None  # no answer within the timeout
        assert await link.check(scopes) is None  # counting alone: not even asked
        assert sum("did not answer" in r.getMessage() for r in caplog.records) == 1
        master.paused.clear()  # the late answer admitted the first question: the link gives it back
        await settle(master, lambda: "t:1" not in master.server.buckets.inflight and not master.server.conns[0].held)
        await asyncio.sleep(0.3)
        seq, refused = await link.check(scopes)  # asked again after ``retry``
        assert refused is None and seq > 0
        assert any("answers again" in r.getMessage() for r in caplog.records)
        master.drop(link)  # the master's end closes
        await settle(master, lambda: link.closed)
        assert await link.check(scopes) is None and await link.window("k", 1, 1) is None
        link.release(seq, 0)  # nothing to send to
        assert sum("closed" in r.getMessage() for r in caplog.records) == 1


async def test_a_worker_runtime_uses_the_link_and_falls_back_to_memory(runtime, monkeypatch):
    """The Limiter and the per-IP windows ask the master when there is a link, count in memory without."""
    from oneapi_app.auth.ratelimit import per_ip_limiter
    from oneapi_app.services.cache import TokenInfo, UserInfo

    class Ctx:
        def __init__(self, n: int) -> None:
            self.token = TokenInfo(1, 1, "k", "t", 1, -1, 0, True, None, "", rpm_limit=2, concurrency_limit=5)
            self.user = UserInfo(1, "u", 1, 1, "default", 0, 0)
            self.request_id, self.limit = f"r{n}", None

    with Master() as master:
        runtime.limit_link = runtime.limiter.link = await master.link()
        ctxs = [Ctx(i) for i in range(2)]
        for ctx in ctxs:
            await runtime.limiter.check(ctx)
            assert ctx.limit.shared > 0
        assert master.server.buckets.inflight == {"t:1": 2}
        for ctx in ctxs:
            runtime.relay_done(ctx, 10, 20, 0, True)
        await settle(master, lambda: not master.server.buckets.inflight)
        window = per_ip_limiter(runtime, "api", 1, 60)
        assert await window.allow("GA", "9.9.9.9") and not await window.allow("GA", "9.9.9.9")
        assert "GA9.9.9.9" in next(iter(master.server.windows.hits))
        master.drop(runtime.limit_link)
        await settle(master, lambda: runtime.limit_link.closed)
        ctx = Ctx(3)
        await runtime.limiter.check(ctx)  # the memory backend: a fresh bucket in this process
        assert ctx.limit.shared == 0 and runtime.limiter._memory.inflight == {"t:1": 1}
        runtime.limiter.release(ctx, 0)
        runtime.limit_link = runtime.limiter.link = None


# -- real processes ------------------------------------------------------------------------------------------
RPM, CONCURRENCY, API_LIMIT = 5, 2, 8
STREAM = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("limits-workers") / "data"
    env = {"DATA_DIR": str(data), "INITIAL_ROOT_ACCESS_TOKEN": nodes.ROOT_ACCESS, "REDIS_CONN_STRING": "",
           "SQL_DSN": "", "GLOBAL_API_RATE_LIMIT": str(API_LIMIT), "TRUSTED_PROXIES": "127.0.0.1"}
    # streams last ~8 s: the concurrency test's held streams stay in flight while it asks, however loaded the box
    with nodes.mock_upstream("--chunks", "80", "--chunk-delay-ms", "100") as mock:
        keys = nodes.prepare(env, mock, ["rpm", "conc", "roomy"])
        nodes.sql(env, "UPDATE tokens SET rpm_limit = :r WHERE name = 'rpm'", r=RPM)
        nodes.sql(env, "UPDATE tokens SET concurrency_limit = :c WHERE name = 'conc'", c=CONCURRENCY)
        nodes.sql(env, "UPDATE tokens SET rpm_limit = 100000, concurrency_limit = 1000 WHERE name = 'roomy'")
        with running_server(data, "--api-only", "--workers", "2", env=env) as (proc, base, log):
            yield {"env": env, "base": base, "keys": keys, "log": log, "proc": proc}


async def _statuses(url: str, count: int, headers: dict[str, str], json: dict | None = None) -> list[int]:
    """``count`` requests at once, each on a fresh connection."""
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as client:
        async def one() -> int:
            method = client.post(url, json=json, headers=headers) if json else client.get(url, headers=headers)
            async with method as resp:
                await resp.read()
                return resp.status

        return list(await asyncio.gather(*(one() for _ in range(count))))


def statuses(url: str, count: int, headers: dict[str, str], json: dict | None = None) -> list[int]:
    return asyncio.run(_statuses(url, count, headers, json))


def test_a_tokens_requests_per_minute_hold_across_the_workers(gateway):
    assert len(_workers(gateway["proc"])) == 2
    started = time.monotonic()
    codes = nodes.chats([gateway["base"]], gateway["keys"]["rpm"], 20, concurrency=20)
    refill = int((time.monotonic() - started) * RPM / 60)  # one more request per 12 s of test
    assert set(codes) <= {200, 429}, codes
    assert RPM <= codes.count(200) <= RPM + refill, codes  # each worker alone would admit RPM


def test_the_per_ip_api_limit_holds_across_the_workers(gateway):
    codes = statuses(f"{gateway['base']}/api/status", 20, {"X-Forwarded-For": "203.0.113.7"})
    assert sorted(codes) == [200] * API_LIMIT + [429] * (20 - API_LIMIT), codes
    assert statuses(f"{gateway['base']}/api/status", 2, {"X-Forwarded-For": "203.0.113.8"}) == [200, 200]


async def _hold_streams(base: str, key: str, count: int):
    """``count`` streams on fresh connections, each read up to its first bytes (admitted, in flight)."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0),
                                    timeout=aiohttp.ClientTimeout(total=60))
    responses = []
    for _ in range(count):
        resp = await session.post(f"{base}/v1/chat/completions", json=STREAM,
                                  headers={"Authorization": f"Bearer sk-{key}"})
        assert resp.status == 200, await resp.text()
        await resp.content.readany()
        responses.append(resp)
    return session, responses


def test_concurrency_holds_across_the_workers(gateway):
    base, key = gateway["base"], gateway["keys"]["conc"]

    url, headers = f"{base}/v1/chat/completions", {"Authorization": f"Bearer sk-{key}"}
    plain = {**STREAM, "stream": False}

    async def scenario() -> list[int]:
        session, held = await _hold_streams(base, key, CONCURRENCY)
        try:  # both slots taken (on one worker or both): every other request is refused, whichever worker
            return await _statuses(url, 10, headers, plain)
        finally:
            for resp in held:
                await resp.read()
                resp.release()
            await session.close()

    during = asyncio.run(scenario())
    assert during == [429] * 10, during
    # the streams ended: their slots come back (released by their workers just after their last bytes)
    assert nodes.wait_for(lambda: statuses(url, 2, headers, plain) == [200, 200], timeout=10)


def test_a_stopped_master_costs_no_error_and_sharing_resumes(gateway):
    """SIGSTOP the master: questions go unanswered, the workers count alone after a second; no 500."""
    base, key, proc = gateway["base"], gateway["keys"]["roomy"], gateway["proc"]
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        codes = nodes.chats([base], key, 10)
        api = statuses(f"{base}/api/status", 4, {"X-Forwarded-For": "203.0.113.9"})
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert codes == [200] * 10 and api == [200] * 4
    log = gateway["log"]
    assert nodes.wait_for(lambda: "did not answer a rate-limit question" in log.read_text(errors="replace"))
    time.sleep(1.1)  # the workers ask the master again
    assert nodes.wait_for(lambda: set(nodes.chats([base], key, 6)) == {200}, timeout=10)
    assert nodes.wait_for(lambda: "answers again" in log.read_text(errors="replace"), timeout=10)


def test_the_slots_of_a_killed_worker_are_freed(gateway):
    base, key, proc = gateway["base"], gateway["keys"]["conc"], gateway["proc"]

    async def hold_then_kill() -> None:
        session, held = await _hold_streams(base, key, CONCURRENCY)
        for pid in _workers(proc):  # the workers holding the slots die with their requests
            os.kill(pid, signal.SIGKILL)
        for resp in held:
            resp.close()
        await session.close()

    before = set(_workers(proc))
    asyncio.run(hold_then_kill())
    assert nodes.wait_for(lambda: len(_workers(proc)) == 2 and not set(_workers(proc)) & before, timeout=60)
    # nothing would ever release those slots (their worker is gone, the master's slots do not expire): the
    # master freed them when the workers' links closed
    assert nodes.wait_for(lambda: nodes.chats([base], key, 1) == [200], timeout=60)
    assert "freed" in gateway["log"].read_text(errors="replace")
