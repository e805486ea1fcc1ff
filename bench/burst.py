#!/usr/bin/env python3
"""N simultaneous stream starts, direct to the mock and through the gateway: the TTFT the gateway adds.

  python bench/burst.py --target GW_URL --token sk-... --mock MOCK_URL [--n 1000] [--model gpt-4o-mini]

Every client opens its own connection and sends its streaming request at the same moment (after all
connections are open, so the measure is the stream start, not the TCP accept queue); TTFT is the time
from sending the request to the first non-empty content delta. Prints p50/p90/p99 TTFT direct and through
the gateway, how many streams completed ([DONE] received) and errors. With ``--rounds K`` a direct and a warm
gateway burst alternate K times and the added TTFT is the median of the K rounds (one burst's p50 moves by
tens of ms from run to run on a shared machine). Run by ``bench/relay.py --burst N [--burst-rounds K]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

import aiohttp
import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import sched_ns


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def burst(base: str, token: str, model: str, n: int, warm_path: str, pids: dict[str, int]) -> dict:
    body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": "burst"}], "stream": True,
                         "stream_options": {"include_usage": True}, "max_tokens": 50})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    ttft: list[float] = []
    totals: list[float] = []
    errors: dict[str, int] = {}
    done = 0
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as s:
        # open the connections first (keep-alive): the burst measures stream starts, not the accept queue
        async def warm() -> None:
            async with s.get(warm_path, headers=headers) as resp:
                await resp.read()

        await asyncio.gather(*(warm() for _ in range(n)), return_exceptions=True)
        go = asyncio.Event()

        async def one() -> None:
            nonlocal done
            await go.wait()
            t0 = time.perf_counter()
            first = None
            try:
                async with s.post("/v1/chat/completions", data=body, headers=headers) as resp:
                    if resp.status != 200:
                        errors[str(resp.status)] = errors.get(str(resp.status), 0) + 1
                        await resp.read()
                        return
                    async for line in resp.content:
                        if first is None and line.startswith(b"data: {") and b'"content":"' in line \
                                and b'"content":""' not in line:
                            first = time.perf_counter() - t0
                        if line.startswith(b"data: [DONE]"):
                            done += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            if first is not None:
                ttft.append(first * 1000)
            totals.append((time.perf_counter() - t0) * 1000)

        tasks = [asyncio.create_task(one()) for _ in range(n)]
        await asyncio.sleep(0.2)
        before = {name: sched_ns(pid) for name, pid in pids.items()}  # (the burst only, not the warm-up)
        cpu0 = time.process_time()
        started = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
        shares = {name: tuple((b - a) / 1e6 for a, b in zip(before[name], sched_ns(pid), strict=True))
                  for name, pid in pids.items()}
        shares["loader"] = ((time.process_time() - cpu0) * 1000, 0.0)
    return {"n": n, "done": done, "errors": errors, "wall_s": wall, "ttft": ttft, "total": totals,
            "shares": shares}


def line(label: str, r: dict) -> str:
    t = r["ttft"]  # CPU time and run-queue wait of each process during the burst (from the release)
    shares = ", ".join(f"{name} cpu {run:.0f} ms" + (f" wait {wait:.0f} ms" if name != "loader" else "")
                       for name, (run, wait) in r.get("shares", {}).items())
    return (f"{label:8s} n={r['n']} completed={r['done']} errors={r['errors'] or 0} wall={r['wall_s']:.2f}s "
            f"TTFT p50 {pct(t, 50):.1f} p90 {pct(t, 90):.1f} p99 {pct(t, 99):.1f} mean "
            f"{statistics.fmean(t) if t else float('nan'):.1f} ms; total p50 {pct(r['total'], 50):.1f} ms"
            + (f"\n{'':9s}{shares}" if shares else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--mock", required=True)
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--gw-pid", type=int, help="report the gateway's CPU time and run-queue wait per burst")
    ap.add_argument("--mock-pid", type=int, help="the same for the mock upstream")
    ap.add_argument("--rounds", type=int, default=1,
                    help="warm bursts, each after a direct one: the summary is the median of the rounds")
    a = ap.parse_args()
    if a.cpu is not None:
        os.sched_setaffinity(0, {a.cpu})
    pids = {name: pid for name, pid in (("gateway", a.gw_pid), ("mock", a.mock_pid)) if pid}
    direct = asyncio.run(burst(a.mock, "sk-direct", a.model, a.n, "/health", pids))
    cold = asyncio.run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids))  # the upstream pool starts empty
    gateway = asyncio.run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids))  # then holds connections
    print(line("direct", direct))
    print(line("gw cold", cold))
    print(line("gateway", gateway))
    # Further rounds, each a direct burst then a warm gateway burst: the machine's noise (one burst's p50 moves
    # by tens of ms from run to run) shows in the spread, and the median of the rounds is the figure.
    rounds = [(direct, gateway)]
    for i in range(2, a.rounds + 1):
        pair = (asyncio.run(burst(a.mock, "sk-direct", a.model, a.n, "/health", pids)),
                asyncio.run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids)))
        print(line(f"direct {i}", pair[0]))
        print(line(f"gw {i}", pair[1]))
        rounds.append(pair)
    added = [pct(g["ttft"], 50) - pct(d["ttft"], 50) for d, g in rounds]
    added99 = [pct(g["ttft"], 99) - pct(d["ttft"], 99) for d, g in rounds]
    completed = sum(g["done"] for _, g in rounds)
    errors = sum(sum(g["errors"].values()) for _, g in rounds)
    each = ", ".join(f"{x:+.0f}" for x in added)
    print(f"SUMMARY burst {a.n} stream starts: gateway adds {statistics.median(added):+.1f} ms TTFT p50 "
          f"({statistics.median(added99):+.1f} p99), median of {len(rounds)} rounds ({each}); "
          f"completed {completed}/{a.n * len(rounds)}, errors {errors}")
    ok = all(r["done"] == a.n and not r["errors"] for r in (cold, *(g for _, g in rounds)))
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
