"""Credentials exchanges (Baidu AK/SK -> access token, a Vertex service account -> OAuth token...): made by
the pipeline for adaptors that ask for one (``credential_request``), sent through the relay's upstream
client, cached per ``CredentialRequest.cache_key`` until it expires (minus a margin), and single-flight:
concurrent first requests for one key wait for the same exchange. A failed exchange is not cached (the
next request tries again) and fails the attempt like an upstream error (retryable when the status is).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..errors import UpstreamFailure
from .adaptors.base import CredentialRequest
from .upstream import NETWORK_ERRORS, network_failure, scrub, status_failure

if TYPE_CHECKING:
    from .upstream import Upstream

MARGIN = 60.0  # seconds before its expiry a credential is renewed
MAX_ANSWER = 1024 * 1024


class Credentials:
    def __init__(self, upstream: Upstream, clock=time.monotonic) -> None:
        self.upstream = upstream
        self.clock = clock
        self._cache: dict[str, tuple[str, float]] = {}  # cache_key -> (credential, valid until)
        self._pending: dict[str, asyncio.Task[str]] = {}

    async def get(self, request: CredentialRequest, secret: str = "") -> str:
        hit = self._cache.get(request.cache_key)
        if hit is not None and hit[1] > self.clock():
            return hit[0]
        task = self._pending.get(request.cache_key)
        if task is None:
            task = asyncio.ensure_future(self._exchange(request, secret))
            self._pending[request.cache_key] = task
            key = request.cache_key

            def done(_: asyncio.Task[str]) -> None:
                self._pending.pop(key, None)

            task.add_done_callback(done)
        # shield: a client that leaves cancels its own wait, not the exchange the others wait for
        return await asyncio.shield(task)

    async def _exchange(self, request: CredentialRequest, secret: str) -> str:
        resp = await self.upstream.send(request.request)
        try:
            body = await resp.read(MAX_ANSWER)
        except NETWORK_ERRORS as exc:
            raise network_failure(exc) from None
        if resp.status not in (200, 201):
            raise scrub(status_failure(resp.status, body), secret)
        try:
            credential, lifetime = request.parse(body)
        except UpstreamFailure as failure:
            raise scrub(failure, secret) from None
        except (ValueError, KeyError, TypeError):
            raise UpstreamFailure("the credentials exchange answered something unreadable", status=502,
                                  retryable=True, code="credential_exchange_failed", type="one_api_error") from None
        self._cache[request.cache_key] = (credential, self.clock() + max(lifetime - MARGIN, 0.0))
        return credential

    def forget(self, cache_key: str) -> None:
        """Drop a credential the upstream refused (it was revoked early)."""
        self._cache.pop(cache_key, None)
