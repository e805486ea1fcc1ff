"""The arithmetic of the rate limits kept in memory, written once: token buckets with slots (relay/limits.py's
per-token and per-user limits) and sliding windows (auth/ratelimit.py's per-IP limits).

Used by a process alone (no Redis, one worker) and by the master process of ``oneapi serve --workers N``,
which keeps them for all its workers (limitd.py). Pure: no I/O, the caller gives the time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

MINUTE_MS = 60_000.0
BUCKET_TTL_MS = 2 * 60_000  # a bucket idle this long is full again: forgotten
MAX_KEYS = 100_000  # past this many buckets or windows, the idle ones are dropped


@dataclass(slots=True)
class Scope:
    name: str  # "t:<token id>" or "u:<user id>"
    rpm: int
    tpm: int
    concurrency: int


# A refusal: (index of the refusing scope, kind (1 requests, 2 tokens, 3 concurrency), wait ms, report), the
# report being (rpm, remaining requests, reset requests ms, tpm, remaining tokens, reset tokens ms).
Refused = tuple[int, int, float, tuple[float, ...]]


class Buckets:
    """A token bucket per minute-limit (capacity = the limit, refilled continuously at limit/60 per second) and
    a count of requests in flight per scope. See relay/limits.py for the model."""

    __slots__ = ("inflight", "levels")

    def __init__(self) -> None:
        self.levels: dict[str, list[float]] = {}  # scope -> [request level, its time ms, token level, its time ms]
        self.inflight: dict[str, int] = {}  # scope -> requests between take and give

    def take(self, scopes: Sequence[Scope], now: float) -> Refused | None:
        """Take one request (and a slot) from every scope, or nothing and the first scope that refuses."""
        levels, inflight = self.levels, self.inflight
        found = []
        for index, scope in enumerate(scopes):
            state = levels.get(scope.name)
            rpm, tpm = scope.rpm, scope.tpm
            rl, tl = float(rpm), float(tpm)
            if state is not None:
                if rpm:
                    rl = min(rpm, state[0] + (now - state[1]) * rpm / MINUTE_MS)
                if tpm:
                    tl = min(tpm, state[2] + (now - state[3]) * tpm / MINUTE_MS)
            found.append((rl, tl))
            kind, wait = 0, 0.0
            if rpm and rl < 1:
                kind, wait = 1, (1 - rl) * MINUTE_MS / rpm
            elif tpm and tl <= 0:
                kind, wait = 2, (1 - tl) * MINUTE_MS / tpm
            elif scope.concurrency and inflight.get(scope.name, 0) >= scope.concurrency:
                kind, wait = 3, 1000.0
            if kind:
                return index, kind, wait, report(scope, rl, tl)
        for scope, (rl, tl) in zip(scopes, found, strict=True):
            if scope.tpm:
                levels[scope.name] = [rl - 1, now, tl, now]
            elif scope.rpm:  # (no tokens limit here, or a call checked without it: that level stays as it is)
                state = levels.get(scope.name)
                if state is None:
                    levels[scope.name] = [rl - 1, now, math.inf, now]  # (a token level not known yet: full)
                else:
                    state[0], state[1] = rl - 1, now
            if scope.concurrency:
                inflight[scope.name] = inflight.get(scope.name, 0) + 1
        if len(levels) > MAX_KEYS:  # bound memory: drop buckets idle long enough to be full again
            for name in [n for n, s in levels.items() if now - max(s[1], s[3]) > BUCKET_TTL_MS]:
                del levels[name]
        return None

    def give(self, scopes: Sequence[Scope], tokens: int, now: float) -> None:
        """A request taken from ``scopes`` ended having used ``tokens``: free its slots, charge its tokens."""
        for scope in scopes:
            if scope.concurrency:
                left = self.inflight.get(scope.name, 0) - 1
                if left > 0:
                    self.inflight[scope.name] = left
                else:
                    self.inflight.pop(scope.name, None)
            if scope.tpm and tokens > 0:
                state = self.levels.get(scope.name)
                if state is None:
                    state = self.levels[scope.name] = [float(scope.rpm), now, float(scope.tpm), now]
                level = min(scope.tpm, state[2] + (now - state[3]) * scope.tpm / MINUTE_MS)
                state[2], state[3] = level - tokens, now


def report(scope: Scope, rl: float, tl: float) -> tuple[float, ...]:
    rpm, tpm = scope.rpm, scope.tpm
    return (rpm, max(math.floor(rl), 0), (rpm - rl) * MINUTE_MS / max(rpm, 1),
            tpm, max(math.floor(tl), 0), (tpm - tl) * MINUTE_MS / max(tpm, 1))


class Windows:
    """Sliding windows: the times of the requests counted per key over the last ``duration`` seconds."""

    __slots__ = ("hits", "longest")

    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = {}
        self.longest = 0.0  # the longest window asked for: what may be dropped when memory is bounded

    def allow(self, key: str, limit: int, duration: float, now: float) -> bool:
        """Count a request on ``key`` at ``now`` (seconds); False, and not counted, when ``limit`` are in the
        window already."""
        hits = self.hits.get(key)
        if hits is None:
            hits = self.hits[key] = deque()
            self.longest = max(self.longest, duration)
        while hits and now - hits[0] >= duration:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        if len(self.hits) > MAX_KEYS:  # bound memory: drop idle windows
            for k in [k for k, v in self.hits.items() if not v or now - v[-1] >= self.longest]:
                del self.hits[k]
        return True
