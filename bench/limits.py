#!/usr/bin/env python3
"""CPU cost of the relay's rate limiter and of the metrics hooks, per request, in process.

  python bench/limits.py [--requests 200000] [--concurrency 16] [--redis redis://127.0.0.1:6379/0] [--workers 2]

The end-to-end numbers (bench/relay.py --limits, --env ENABLE_PROMETHEUS=true) move with everything else on
the machine; this one isolates the parts: 16 asyncio tasks each admitting and releasing requests through
``Limiter.check``/``release`` (a token with RPM, TPM and concurrency limits it never reaches, plus the group's
per-user limits), measured with the process CPU clock, against the same loop with no limit configured.
With ``--redis`` it also counts the round trips of a check (one EVALSHA) and their latency. With
``--workers N`` (2 by default; 0 = skip) it measures the limits shared by ``oneapi serve --workers N`` without
Redis (limitd.py): a master process serving N worker processes that each run the loop above through their
link; the CPU of a worker and of the master per request, beside the memory backend's. The metrics
part times the hooks one relay request runs (the HTTP counter and histogram, one upstream attempt, the
relay's counters, tokens and quota).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import selectors
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oneapi_app.relay.limits import Limiter
from oneapi_app.services.cache import ChannelInfo, TokenInfo, UserInfo
from oneapi_app.services.options import Options
from oneapi_app.settings import Settings

HUGE = {"rpm_limit": 10**9, "tpm_limit": 10**12, "concurrency_limit": 10**6}


class Ctx:
    __slots__ = ("channel", "limit", "model", "request_id", "started", "token", "user")

    def __init__(self, token: TokenInfo, user: UserInfo, n: int) -> None:
        self.token, self.user, self.request_id, self.limit = token, user, f"r{n}", None
        self.model, self.started = "gpt-4o-mini", time.perf_counter()
        self.channel = CHANNEL


CHANNEL = ChannelInfo(1, 1, "c", "k", 1, "", 0, 0, {}, "", {}, "")


class Host:
    """What the limiter reads of the runtime."""

    def __init__(self, redis=None, prefix: str = "") -> None:
        self.settings = Settings(redis_key_prefix=prefix)
        self.options = Options()
        self.redis = redis
        self.background = None


def token(limited: bool) -> TokenInfo:
    return TokenInfo(1, 1, "k", "bench", 1, -1, 0, True, None, "", **(HUGE if limited else {}))


async def run(limiter: Limiter, tok: TokenInfo, requests: int, concurrency: int) -> float:
    """CPU seconds per request of check + release over ``requests`` requests in ``concurrency`` tasks."""
    user = UserInfo(1, "u", 1, 1, "default", 0, 0)
    per_task = requests // concurrency

    async def worker(w: int) -> None:
        for i in range(per_task):
            ctx = Ctx(tok, user, w * per_task + i)
            await limiter.check(ctx)  # type: ignore[arg-type]
            await asyncio.sleep(0)  # the request's other work: let the other connections interleave
            limiter.release(ctx, 30)  # type: ignore[arg-type]

    started = time.process_time()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return (time.process_time() - started) / (per_task * concurrency)


async def access_log_cost(n: int = 50_000) -> float:
    """CPU per request of AccessLogMiddleware (its line written by a FileHandler) around a trivial app."""
    import logging
    import tempfile

    from oneapi_app.middleware import AccessLogMiddleware

    async def app(scope, receive, send) -> None:
        scope["state"]["request_id"] = "20261127180000123456789012345678"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message) -> None:
        pass

    async def receive():
        return {"type": "http.request", "body": b""}

    class Runtime:
        settings = Settings()
        metrics = None

    handler = logging.FileHandler(tempfile.mktemp(prefix="oneapi-bench-access-"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("oneapi_app.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    wrapped = AccessLogMiddleware(app, Runtime())

    def scope() -> dict:
        return {"type": "http", "method": "POST", "path": "/v1/chat/completions", "client": ("127.0.0.1", 5000),
                "headers": [(b"authorization", b"Bearer sk-x"), (b"content-type", b"application/json")]}

    async def loop(target) -> float:
        started = time.process_time()
        for _ in range(n):
            s = scope()
            s["state"] = {}
            await target(s, receive, send)
        return (time.process_time() - started) / n

    bare = await loop(app)
    logged = await loop(wrapped)
    logger.removeHandler(handler)
    handler.close()
    os.unlink(handler.baseFilename)
    return logged - bare


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--redis", default="", help="also measure the Redis path on this server")
    ap.add_argument("--workers", type=int, default=2, help="measure the limits shared by N worker processes "
                    "(0: not)")
    return ap.parse_args()


async def main(args: argparse.Namespace) -> int:

    host = Host()
    limiter = Limiter(host)
    host.options.GroupRateLimits = '{"default": {"user_rpm": 1000000000, "user_concurrency": 1000000}}'
    base = await run(Limiter(Host()), token(False), args.requests, args.concurrency)
    limited = await run(limiter, token(True), args.requests, args.concurrency)
    print(f"limiter, memory, C={args.concurrency}: no limits {base * 1e6:.2f} us/request (the loop itself), "
          f"token+user limits {limited * 1e6:.2f} us/request -> limiter adds {(limited - base) * 1e6:.2f} us "
          f"CPU per request (budget 50 us)")

    from oneapi_app.metrics import Metrics

    metrics = Metrics()
    ctx = Ctx(token(False), UserInfo(1, "u", 1, 1, "default", 0, 0), 0)
    n = 100_000
    started = time.process_time()
    for _ in range(n):
        metrics.http("/v1/chat/completions", 200, 0.004)
        metrics.attempt(1, True)
        metrics.relay_done(ctx, 10, 20, 30, True)  # type: ignore[arg-type]
    hooks = (time.process_time() - started) / n
    print(f"metrics hooks per relay request: {hooks * 1e6:.2f} us CPU")

    print(f"access log line per request (text, to a file): {await access_log_cost() * 1e6:.2f} us CPU")

    if args.redis:
        from redis.asyncio import Redis

        redis = Redis.from_url(args.redis)
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        rhost = Host(redis, prefix)
        rlimiter = Limiter(rhost)

        class Background:
            closing = False

            def spawn(self, coro, name):
                return asyncio.get_running_loop().create_task(coro, name=name)

        rhost.background = Background()
        calls = 0
        original = redis.evalsha

        async def counted(*a, **k):
            nonlocal calls
            calls += 1
            return await original(*a, **k)

        redis.evalsha = counted  # type: ignore[method-assign]
        user = UserInfo(1, "u", 1, 1, "default", 0, 0)
        m = 2000
        started_wall = time.perf_counter()
        for i in range(m):
            ctx = Ctx(token(True), user, i)
            await rlimiter.check(ctx)  # type: ignore[arg-type]
            rlimiter.release(ctx, 30)  # type: ignore[arg-type]
        await rlimiter.flush()
        wall = (time.perf_counter() - started_wall) / m
        print(f"limiter, Redis: {calls / m:.2f} round trips per check (EVALSHA), {wall * 1e3:.3f} ms per "
              f"check + release, sequential")
        async for key in redis.scan_iter(f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
    return 0


GROUPS = '{"default": {"user_rpm": 1000000000, "user_concurrency": 1000000}}'


def shared(workers: int, requests: int, concurrency: int) -> None:
    """``workers`` processes admitting and releasing ``requests`` requests each through one master process
    (limitd.py); prints the CPU per request of a worker (its whole loop, minus the loop without limits) and of
    the master."""
    from oneapi_app.limitd import LimitLink, LimitServer

    selector = selectors.DefaultSelector()
    server = LimitServer(selector)
    ends = [server.attach()[1] for _ in range(workers)]
    report_r, report_w = os.pipe()
    master = os.fork()
    if master == 0:  # the master: serves until every worker's link closed
        for end in ends:
            end.close()
        started = time.process_time()
        while server.conns:
            for key, events in selector.select(timeout=1.0):
                server.ready(key.data, events)
        os.write(report_w, f"m {time.process_time() - started}\n".encode())
        os._exit(0)
    server.close_in_child()
    pids = []
    for i, end in enumerate(ends):
        pid = os.fork()
        if pid == 0:
            for other in ends:
                if other is not end:
                    other.close()

            async def worker() -> float:
                host = Host()
                host.options.GroupRateLimits = GROUPS
                limiter = Limiter(host)
                limiter.link = await LimitLink.open(end)
                base = await run(Limiter(Host()), token(False), requests // 5, concurrency)
                cpu = await run(limiter, token(True), requests, concurrency)
                limiter.link.close()
                return cpu - base

            os.write(report_w, f"w {asyncio.run(worker())}\n".encode())
            os._exit(0)
        pids.append(pid)
        end.close()
    os.close(report_w)
    with os.fdopen(report_r) as reports:
        lines = reports.read().split()
    for pid in [*pids, master]:
        os.waitpid(pid, 0)
    worker_cpu = [float(v) for k, v in zip(lines[::2], lines[1::2], strict=True) if k == "w"]
    master_cpu = next(float(v) for k, v in zip(lines[::2], lines[1::2], strict=True) if k == "m")
    per_worker = sum(worker_cpu) / len(worker_cpu)
    per_master = master_cpu / (requests * workers)
    print(f"limiter, shared by {workers} workers through the master (no Redis), C={concurrency} each: a worker "
          f"adds {per_worker * 1e6:.2f} us CPU per request, the master {per_master * 1e6:.2f} us -> "
          f"{(per_worker + per_master) * 1e6:.2f} us per request in all")


if __name__ == "__main__":
    options = arguments()
    code = asyncio.run(main(options))
    if options.workers > 0:  # forks: outside any event loop
        shared(options.workers, options.requests // options.workers, options.concurrency)
    sys.exit(code)
