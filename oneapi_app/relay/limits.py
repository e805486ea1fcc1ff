"""Rate limits of the relay: requests per minute, tokens per minute and requests in flight, per token and per
user -- a pipeline step right after authentication (``runtime.limiter.check(ctx)``), released when the
request settles (``runtime.limiter.release(ctx, tokens)``, from the pipeline's settle and refund).

Limits: a token's own ``rpm_limit``/``tpm_limit``/``concurrency_limit`` (0 = its group's default, -1 = none);
otherwise the GroupRateLimits option of the user's group (``rpm``, ``tpm``, ``concurrency`` per token,
``user_rpm``, ``user_tpm``, ``user_concurrency`` for all of a user's tokens together). 0 = no limit.

Model: a token bucket per minute-limit (capacity = the limit, refilled continuously at limit/60 per second),
so a client may burst up to its limit and then goes at the limit's pace, never twice the limit across a
window boundary. A request takes one request-token; the tokens of an answer are taken when it settles (the
bucket may go below zero: the next requests wait until it refills); a request is refused while the bucket
is at or below zero. Concurrency counts requests between check and settle.

Token counting (``/v1/messages/count_tokens``, Gemini's ``:countTokens``) produces no tokens: it is checked with
``tokens=False`` (``runtime.limiter.counting(...)``): it takes a request from the per-minute request limits and
a slot for the length of the call, and is refused by those as any relay request, but the tokens-per-minute
limits neither refuse it nor are charged by it.

Where: with REDIS_CONN_STRING, in Redis, so every node enforces the same limit: ONE Lua script per request
checks and takes every bucket and slot of the token and the user atomically (one round trip); releases are
batched off the request path. Without Redis, in memory (limits_local.py's token buckets, the same arithmetic):
in a worker of ``oneapi serve --workers N``, the master process's, so the workers share one limit: one round
trip over a socket pair per check, releases batched (limitd.py; a master that does not answer within a second
leaves the worker counting alone meanwhile); otherwise this process's own (no I/O).
A refusal is a 429 in OpenAI's shape with ``Retry-After`` and the ``x-ratelimit-limit/remaining/reset-
requests`` and ``-tokens`` headers of the limit that refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from ..errors import LimitExceeded
from ..i18n import msg
from .limits_local import Buckets, Refused, Scope

__all__ = ["UNLIMITED", "Counting", "Limiter", "Scope", "Ticket", "clock_ms", "refusal"]

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..limitd import LimitLink
    from ..services.cache import TokenInfo, UserInfo

log = logging.getLogger(__name__)
SLOT_TTL_MS = 15 * 60_000  # a request slot left by a crashed node frees itself after this

# KEYS: per scope (token, user) its bucket hash and its slots sorted set.
# ARGV: per scope rpm, tpm, concurrency, then the request id and the slot ttl (ms).
# Returns {0|1, refusing scope (1-based, 0 = none), kind (1 requests, 2 tokens, 3 concurrency), wait ms,
#          rpm, remaining requests, reset requests ms, tpm, remaining tokens, reset tokens ms}.
CHECK_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS / 2
local member, slot_ttl = ARGV[3 * n + 1], tonumber(ARGV[3 * n + 2])
local levels = {}
for i = 1, n do
  local bucket, slots = KEYS[2 * i - 1], KEYS[2 * i]
  local rpm, tpm, conc = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local h = redis.call('HMGET', bucket, 'rl', 'rt', 'tl', 'tt')
  local rl, tl = rpm, tpm
  if rpm > 0 and h[1] then rl = math.min(rpm, tonumber(h[1]) + (now - tonumber(h[2])) * rpm / 60000) end
  if tpm > 0 and h[3] then tl = math.min(tpm, tonumber(h[3]) + (now - tonumber(h[4])) * tpm / 60000) end
  levels[i] = {rl, tl}
  local kind, wait = 0, 0
  if rpm > 0 and rl < 1 then kind, wait = 1, math.ceil((1 - rl) * 60000 / rpm)
  elseif tpm > 0 and tl <= 0 then kind, wait = 2, math.ceil((1 - tl) * 60000 / tpm)
  elseif conc > 0 then
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    if redis.call('ZCARD', slots) >= conc then kind, wait = 3, 1000 end
  end
  if kind > 0 then
    return {0, i, kind, wait, rpm, math.max(math.floor(rl), 0), math.ceil((rpm - rl) * 60000 / math.max(rpm, 1)),
            tpm, math.max(math.floor(tl), 0), math.ceil((tpm - tl) * 60000 / math.max(tpm, 1))}
  end
end
for i = 1, n do
  local bucket, slots = KEYS[2 * i - 1], KEYS[2 * i]
  local rpm, tpm, conc = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  if tpm > 0 then
    redis.call('HSET', bucket, 'rl', tostring(levels[i][1] - 1), 'rt', now, 'tl', tostring(levels[i][2]), 'tt', now)
  elseif rpm > 0 then  -- (a call checked without its tokens limit leaves that bucket as it is)
    redis.call('HSET', bucket, 'rl', tostring(levels[i][1] - 1), 'rt', now)
  end
  if rpm > 0 or tpm > 0 then redis.call('PEXPIRE', bucket, 120000) end
  if conc > 0 then
    redis.call('ZADD', slots, now + slot_ttl, member)
    redis.call('PEXPIRE', slots, slot_ttl)
  end
end
return {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
"""

# KEYS: per scope bucket, slots. ARGV: per scope tpm, then the request id and the tokens used.
RELEASE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS / 2
local member, used = ARGV[n + 1], tonumber(ARGV[n + 2])
for i = 1, n do
  redis.call('ZREM', KEYS[2 * i], member)
  local tpm = tonumber(ARGV[i])
  if tpm > 0 and used > 0 then
    local h = redis.call('HMGET', KEYS[2 * i - 1], 'tl', 'tt')
    local tl = tpm
    if h[1] then tl = math.min(tpm, tonumber(h[1]) + (now - tonumber(h[2])) * tpm / 60000) end
    redis.call('HSET', KEYS[2 * i - 1], 'tl', tostring(tl - used), 'tt', now)
    redis.call('PEXPIRE', KEYS[2 * i - 1], 120000)
  end
end
return 1
"""


@dataclass(slots=True)
class Ticket:
    """What a request holds from check to release."""

    scopes: list[Scope]
    member: str
    shared: int = 0  # taken in the master process of --workers N: its number there (limitd.py), else 0
    local: bool = False  # taken in this process's memory while Redis was unreachable


class Admitted(Protocol):
    """What the limiter reads and writes of a request (relay/context.py's RelayContext)."""

    token: TokenInfo
    user: UserInfo
    request_id: str
    limit: Ticket | None


UNLIMITED = Ticket([], "")  # held by requests no limit applies to


@dataclass(slots=True)
class Counting:
    """A token-counting call as the limiter sees it (``Limiter.counting``): it produces no tokens."""

    token: TokenInfo
    user: UserInfo
    request_id: str
    limit: Ticket | None = None


def clock_ms() -> float:
    """The memory backend's clock (Redis uses its own TIME, shared by every node)."""
    return time.monotonic() * 1000


def _duration(ms: float) -> str:
    """OpenAI's reset format: "20ms", "1s", "6m0s"."""
    ms = max(math.ceil(ms), 0)
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.3f}".rstrip("0").rstrip(".") + "s"


def refusal(scope: Scope, kind: int, wait_ms: float, report: tuple[float, ...]) -> LimitExceeded:
    rpm, remaining_requests, reset_requests, tpm, remaining_tokens, reset_tokens = report
    who = msg("relay.limit_who_token" if scope.name.startswith("t:") else "relay.limit_who_user")
    headers = {"Retry-After": str(max(math.ceil(wait_ms / 1000), 1))}
    if rpm > 0:
        headers.update({"x-ratelimit-limit-requests": str(int(rpm)),
                        "x-ratelimit-remaining-requests": str(int(remaining_requests)),
                        "x-ratelimit-reset-requests": _duration(reset_requests)})
    if tpm > 0:
        headers.update({"x-ratelimit-limit-tokens": str(int(tpm)),
                        "x-ratelimit-remaining-tokens": str(int(remaining_tokens)),
                        "x-ratelimit-reset-tokens": _duration(reset_tokens)})
    if kind == 1:
        return LimitExceeded(msg("relay.limit_requests", who=who, limit=scope.rpm, wait=_duration(wait_ms)),
                             "requests", headers)
    if kind == 2:
        return LimitExceeded(msg("relay.limit_tokens", who=who, limit=scope.tpm, wait=_duration(wait_ms)),
                             "tokens", headers)
    return LimitExceeded(msg("relay.limit_concurrency", who=who, limit=scope.concurrency), "requests", headers)


class Limiter:
    """The runtime's one limiter (``runtime.limiter``)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self._groups_raw: str | None = None
        self._groups: dict[str, dict[str, int]] = {}
        self._memory = Buckets()  # memory backend (limits_local.py)
        self.link: LimitLink | None = None  # the master process of --workers N, without Redis (limitd.py)
        # Redis backend: releases waiting for the drainer.
        self._releases: list[tuple[list[str], list[object]]] = []
        self._draining = False
        self._check_sha: str | None = None
        self._warned_at = -1e9
        self.in_flight = 0  # requests between check and release (the reservations in flight, for /metrics)

    # -- which limits apply ------------------------------------------------------------------------------
    def group_limits(self, group: str) -> dict[str, int]:
        raw = self.runtime.options.GroupRateLimits
        if raw != self._groups_raw:
            try:
                parsed = orjson.loads(raw or "{}")
            except orjson.JSONDecodeError:
                parsed = {}
            self._groups = parsed if isinstance(parsed, dict) else {}
            self._groups_raw = raw
        limits = self._groups.get(group)
        return limits if isinstance(limits, dict) else {}

    def scopes(self, token: TokenInfo, user: UserInfo) -> list[Scope]:
        group = self.group_limits(user.group)
        scopes = []

        def own(value: int, default: object) -> int:
            if value > 0:
                return value
            return 0 if value < 0 or not isinstance(default, int) else max(default, 0)

        rpm = own(token.rpm_limit, group.get("rpm"))
        tpm = own(token.tpm_limit, group.get("tpm"))
        concurrency = own(token.concurrency_limit, group.get("concurrency"))
        if rpm or tpm or concurrency:
            scopes.append(Scope(f"t:{token.id}", rpm, tpm, concurrency))
        if group:
            rpm, tpm = own(0, group.get("user_rpm")), own(0, group.get("user_tpm"))
            concurrency = own(0, group.get("user_concurrency"))
            if rpm or tpm or concurrency:
                scopes.append(Scope(f"u:{user.id}", rpm, tpm, concurrency))
        return scopes

    # -- the pipeline's two calls ------------------------------------------------------------------------
    async def check(self, ctx: Admitted, tokens: bool = True) -> None:
        """Take this request's share of every limit of its token and user, or raise LimitExceeded. With
        ``tokens`` False (a call that produces no tokens), the tokens-per-minute limits are left out: they
        neither refuse the call nor change (its release charges 0 tokens)."""
        token = ctx.token
        if not (token.rpm_limit or token.tpm_limit or token.concurrency_limit or self.runtime.options.GroupRateLimits
                not in ("", "{}")):
            ctx.limit = UNLIMITED  # the usual case: no limit anywhere
        else:
            scopes = self.scopes(token, ctx.user)
            if not tokens:
                scopes = [replace(scope, tpm=0) for scope in scopes if scope.rpm or scope.concurrency]
            if not scopes:
                ctx.limit = UNLIMITED
            else:
                ticket = Ticket(scopes, ctx.request_id or f"{id(ctx)}")
                if self.runtime.redis is not None:
                    ticket = await self._check_redis(ticket)
                elif self.link is None or not await self._check_shared(ticket, self.link):
                    self._check_memory(ticket)
                ctx.limit = ticket
        self.in_flight += 1

    def release(self, ctx: Admitted, tokens: int) -> None:
        """The request ended (settled with ``tokens`` used, or refunded with 0): free its slots, charge its
        tokens to the per-minute token buckets. Synchronous: Redis releases are sent in batches."""
        ticket = ctx.limit
        if ticket is None:
            return
        ctx.limit = None
        self.in_flight -= 1
        if not ticket.scopes:
            return
        if ticket.shared:
            if self.link is not None:
                self.link.release(ticket.shared, tokens)
        elif self.runtime.redis is not None and not ticket.local:
            self._release_redis(ticket, tokens)
        else:
            self._memory.give(ticket.scopes, tokens, clock_ms())

    @asynccontextmanager
    async def counting(self, token: TokenInfo, user: UserInfo, request_id: str) -> AsyncIterator[None]:
        """A token-counting call (count_tokens): checked as a request that produces no tokens (``check(...,
        tokens=False)``, or LimitExceeded), its slot held while the block runs and released after it."""
        call = Counting(token, user, request_id)
        await self.check(call, tokens=False)
        try:
            yield
        finally:
            self.release(call, 0)

    # -- memory ------------------------------------------------------------------------------------------------
    def _check_memory(self, ticket: Ticket) -> None:
        refused = self._memory.take(ticket.scopes, clock_ms())
        if refused is not None:
            _refuse(ticket, refused)

    # -- the master process of --workers N (limitd.py): the memory backend's state, shared by the workers ------
    async def _check_shared(self, ticket: Ticket, link: LimitLink) -> bool:
        """Ask the master (one round trip); False when it does not answer (the caller counts in memory)."""
        answer = await link.check(ticket.scopes)
        if answer is None:
            return False
        seq, refused = answer
        if refused is not None:
            _refuse(ticket, refused)
        ticket.shared = seq
        return True

    # -- Redis ---------------------------------------------------------------------------------------------
    def _keys(self, ticket: Ticket) -> list[str]:
        prefix = self.runtime.settings.redis_key_prefix
        keys = []
        for scope in ticket.scopes:
            keys += [f"{prefix}rl:{scope.name}", f"{prefix}rc:{scope.name}"]
        return keys

    async def _check_redis(self, ticket: Ticket) -> Ticket:
        """The ticket taken in Redis; with Redis unreachable, taken in this node's memory instead (degraded: each
        node counts alone until Redis is back; the failure is logged at most once a minute)."""
        from redis.exceptions import RedisError

        redis: Redis = self.runtime.redis
        keys = self._keys(ticket)
        args: list[Any] = []
        for scope in ticket.scopes:
            args += [scope.rpm, scope.tpm, scope.concurrency]
        args += [ticket.member, SLOT_TTL_MS]
        try:
            result = await self._eval(redis, keys, args)
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limits counted per node: Redis is unreachable (%s)", exc)
            self._check_memory(ticket)
            ticket.local = True
            return ticket
        if int(result[0]) == 1:
            return ticket
        scope = ticket.scopes[int(result[1]) - 1]
        raise refusal(scope, int(result[2]), float(result[3]), tuple(float(v) for v in result[4:10]))

    async def _eval(self, redis: Redis, keys: list[str], args: list[Any]):
        from redis.exceptions import NoScriptError

        if self._check_sha is None:
            self._check_sha = await redis.script_load(CHECK_SCRIPT)
        try:
            return await redis.evalsha(self._check_sha, len(keys), *keys, *args)  # type: ignore[misc,arg-type]
        except NoScriptError:  # Redis restarted or flushed its scripts
            self._check_sha = await redis.script_load(CHECK_SCRIPT)
            return await redis.evalsha(self._check_sha, len(keys), *keys, *args)  # type: ignore[misc,arg-type]

    def _release_redis(self, ticket: Ticket, tokens: int) -> None:
        args: list[object] = [scope.tpm for scope in ticket.scopes]
        self._releases.append((self._keys(ticket), [*args, ticket.member, max(tokens, 0)]))
        if not self._draining:
            self._draining = True
            try:
                self.runtime.background.spawn(self._drain(), name="rate-limit-releases")
            except RuntimeError:  # shutting down: the slots expire by themselves
                self._draining = False

    async def _drain(self) -> None:
        try:
            while self._releases:
                batch, self._releases = self._releases, []
                redis = self.runtime.redis
                if redis is None:
                    return
                try:
                    async with redis.pipeline(transaction=False) as pipe:
                        for keys, args in batch:
                            pipe.eval(RELEASE_SCRIPT, len(keys), *keys, *args)
                        await pipe.execute()
                except Exception:  # the slots expire by themselves (SLOT_TTL_MS); the tokens are not charged
                    log.exception("could not release %d rate-limit slots in Redis", len(batch))
                    await asyncio.sleep(0.1)
        finally:
            self._draining = False

    async def flush(self) -> None:
        """Send the pending releases now (tests; shutdown)."""
        if self._releases and not self._draining:
            self._draining = True
            await self._drain()
        while self._draining:
            await asyncio.sleep(0.005)


def _refuse(ticket: Ticket, refused: Refused) -> None:
    index, kind, wait, numbers = refused
    raise refusal(ticket.scopes[index], kind, wait, numbers)
