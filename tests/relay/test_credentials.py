"""Credentials exchanges (relay/credentials.py): cached until expiry minus the margin, single-flight under
concurrency, failures not cached, a waiter leaving does not cancel the exchange for the others."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.base import CredentialRequest
from oneapi_app.relay.credentials import MARGIN, Credentials
from oneapi_app.relay.upstream import UpstreamRequest


class FakeResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    async def read(self, limit: int) -> bytes:
        return self.body


class FakeUpstream:
    def __init__(self) -> None:
        self.sent = 0
        self.status = 200
        self.gate = asyncio.Event()

    async def send(self, request: UpstreamRequest) -> FakeResponse:
        self.sent += 1
        await self.gate.wait()
        if self.status != 200:
            return FakeResponse(self.status, b'{"error": {"message": "bad key sk-secret"}}')
        return FakeResponse(200, orjson.dumps({"token": f"tok{self.sent}", "expires_in": 3600}))


def _request(key: str = "channel-1") -> CredentialRequest:
    def parse(body: bytes) -> tuple[str, float]:
        data = orjson.loads(body)
        return data["token"], float(data["expires_in"])

    return CredentialRequest(key, UpstreamRequest("POST", "http://exchange.invalid/token", {}, b""), parse)


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_exchange_for_a_hundred_concurrent_first_requests_then_cached_until_expiry():
    upstream, clock = FakeUpstream(), Clock()
    credentials = Credentials(upstream, clock)  # type: ignore[arg-type]
    waiters = [asyncio.ensure_future(credentials.get(_request())) for _ in range(100)]
    await asyncio.sleep(0.01)
    upstream.gate.set()
    assert set(await asyncio.gather(*waiters)) == {"tok1"} and upstream.sent == 1
    clock.now += 3600 - MARGIN - 1
    assert await credentials.get(_request()) == "tok1" and upstream.sent == 1
    clock.now += 2  # inside the margin: renewed
    assert await credentials.get(_request()) == "tok2" and upstream.sent == 2
    assert await credentials.get(_request("channel-2")) == "tok3"  # one credential per cache key


async def test_a_failed_exchange_is_not_cached_and_hides_the_secret():
    upstream = FakeUpstream()
    upstream.gate.set()
    upstream.status = 401
    credentials = Credentials(upstream)  # type: ignore[arg-type]
    with pytest.raises(UpstreamFailure) as caught:
        await credentials.get(_request(), "sk-secret")
    assert caught.value.status == 401 and "sk-secret" not in caught.value.message
    upstream.status = 200
    assert await credentials.get(_request()) == "tok2"


async def test_a_waiter_that_leaves_does_not_cancel_the_exchange():
    upstream = FakeUpstream()
    credentials = Credentials(upstream)  # type: ignore[arg-type]
    first = asyncio.ensure_future(credentials.get(_request()))
    second = asyncio.ensure_future(credentials.get(_request()))
    await asyncio.sleep(0.01)
    first.cancel()
    upstream.gate.set()
    assert await second == "tok1" and upstream.sent == 1
