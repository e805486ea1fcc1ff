"""Credentials exchanges (Baidu AK/SK -> access token, a Vertex service account -> OAuth token...): made by
the pipeline for adaptors that ask for one (``credential_request``), sent through the relay's upstream
client, cached per ``CredentialRequest.cache_key`` until it expires (minus a margin), and single-flight:
concurrent first requests for one key wait for the same exchange. A failed exchange is not cached (the
next request tries again) and fails the attempt like an upstream error (retryable when the status is).

A refused exchange (non-2xx) shows the provider's own description (OAuth2's ``error`` / ``error_description``,
read through the adaptor's ``parse``). It counts as a dead credential -- a 401 ``authentication_error``, which
disables the channel when automatic disabling is on -- only when the provider says so: OAuth2's
``invalid_client`` / ``unauthorized_client`` / ``invalid_grant`` / ``access_denied`` (a bad key, a deleted or
disabled service account, a revoked private key) or a bare 401. A clock-skew refusal (Google's "Invalid JWT:
Token must be a short-lived token ... iat and exp"), a malformed exchange (other 4xx) and the provider's own
trouble (429, 5xx) are retryable upstream errors that leave the channel enabled.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import orjson

from ..errors import UpstreamFailure
from .adaptors.base import CredentialRequest
from .upstream import NETWORK_ERRORS, network_failure, scrub, status_failure

if TYPE_CHECKING:
    from .upstream import Upstream

MARGIN = 60.0  # seconds before its expiry a credential is renewed
MAX_ANSWER = 1024 * 1024
INVALID_CREDENTIAL = frozenset({"invalid_client", "unauthorized_client", "invalid_grant", "access_denied"})
CLOCK_SKEW = ("short-lived token", "reasonable timeframe", "iat and exp", "clock")


def refused(request: CredentialRequest, status: int, body: bytes) -> UpstreamFailure:
    """A non-2xx answer of the exchange as the provider described it (see the module's docstring)."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    data = data if isinstance(data, dict) else {}
    error = data.get("error") if isinstance(data.get("error"), str) else ""
    generic = status_failure(status, body)
    message = generic.message
    try:
        request.parse(body)
    except UpstreamFailure as described:  # the adaptor's reading: the provider's name and description
        message = described.message
    except (ValueError, KeyError, TypeError):
        pass
    if error and error not in message:
        message = f"{message} ({error})"
    description = str(data.get("error_description") or "").lower()
    skewed = any(hint in description for hint in CLOCK_SKEW)
    if (status == 401 or (status in (400, 403) and error in INVALID_CREDENTIAL)) and not skewed:
        return UpstreamFailure(message, status=401, retryable=True, body={
            "message": message, "type": "authentication_error", "param": "", "code": error or "invalid_api_key"})
    return UpstreamFailure(message, status=status if status == 429 or status >= 500 else 502, retryable=True,
                           body={"message": message, "type": "upstream_error", "param": "",
                                 "code": error or "credential_exchange_failed"})


class Credentials:
    def __init__(self, upstream: Upstream, clock=time.monotonic) -> None:
        self.upstream = upstream
        self.clock = clock
        self._cache: dict[str, tuple[str, float, float]] = {}  # cache_key -> (credential, valid until, made at)
        self._pending: dict[str, asyncio.Task[str]] = {}

    async def get(self, request: CredentialRequest, secret: str = "", renew: float | None = None) -> str:
        """The credential (exchanged when none is cached or it expires). ``renew``: the upstream refused the
        credential the caller got at that time (``self.clock()``): a credential made before then is dropped and
        exchanged again; one made since was renewed by a concurrent request and is kept."""
        hit = self._cache.get(request.cache_key)
        now = self.clock()
        if hit is not None and renew is not None and hit[2] <= renew:
            self._cache.pop(request.cache_key, None)
            hit = None
        if hit is not None and hit[1] > now:
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
            raise scrub(refused(request, resp.status, body), secret)
        try:
            credential, lifetime = request.parse(body)
        except UpstreamFailure as failure:
            raise scrub(failure, secret) from None
        except (ValueError, KeyError, TypeError):
            raise UpstreamFailure("the credentials exchange answered something unreadable", status=502,
                                  retryable=True, code="credential_exchange_failed", type="one_api_error") from None
        now = self.clock()
        self._cache[request.cache_key] = (credential, now + max(lifetime - MARGIN, 0.0), now)
        return credential

    def forget(self, cache_key: str) -> None:
        """Drop a credential the upstream refused (it was revoked early)."""
        self._cache.pop(cache_key, None)
