#!/usr/bin/env python3
"""N simultaneous stream starts, direct to the mock and through the gateway: the TTFT the gateway adds.

  python bench/burst.py --target GW_URL --token sk-... --mock MOCK_URL [--n 1000] [--model gpt-4o-mini]

Every client opens its own connection and sends its streaming request at the same moment (after all
connections are open, so the measure is the stream start, not the TCP accept queue); TTFT is the time
from sending the request to the first non-empty content delta. Prints p50/p90/p99 TTFT direct and through
the gateway, how many streams completed ([DONE] received) and errors. With ``--rounds K`` a direct and a warm
gateway burst alternate K times and the added TTFT is the median of the K rounds (one burst's p50 moves by
tens of ms from run to run on a shared machine). With ``--floor URL`` every round also measures a bare proxy on
the same server (bench/floor_proxy.py): what the server and the upstream client alone add, the floor under the
gateway's figure. Run by ``bench/relay.py --burst N [--burst-rounds K] [--floor aiohttp|raw]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import sched_ns


def run(coro):  # uvloop when installed (the gateway's loop), as bench/load.py
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


class Client(asyncio.Protocol):
    """One keep-alive connection of a burst: a warm-up GET answered with a Content-Length, then one
    streaming POST read as raw bytes (no HTTP client library: a lean loader leaves the cpus to what is
    measured). TTFT is taken at the first non-empty ``"content":"`` seen; the stream completes at ``[DONE]``."""

    def __init__(self, warm: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.warm_request = warm
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.warmed = loop.create_future()
        self.finished = loop.create_future()
        self.streaming = False
        self.status_checked = False
        self.t0 = 0.0
        self.first: float | None = None
        self.total: float | None = None
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.warm_request)  # type: ignore[attr-defined]

    def send(self, request: bytes) -> None:
        self.streaming, self.buffer = True, b""
        self.t0 = time.perf_counter()
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if not self.streaming:
            self.buffer += data
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) >= head_end + 4 + length and not self.warmed.done():
                self.warmed.set_result(None)
            return
        if not self.status_checked:
            self.status_checked = True
            if not data.startswith(b"HTTP/1.1 200"):
                self._end(data[9:12].decode(errors="replace") or "bad answer")
                return
        text = self.buffer + data
        if self.first is None:
            at = text.find(b'"content":"')
            while at >= 0 and at + 11 < len(text):
                if text[at + 11:at + 12] != b'"':
                    self.first = time.perf_counter() - self.t0
                    break
                at = text.find(b'"content":"', at + 11)
        if b"data: [DONE]" in text:
            self.total = time.perf_counter() - self.t0
            self._end(None)
            return
        self.buffer = text[-40:]  # a pattern split between two reads is found in the next

    def _end(self, error: str | None) -> None:
        self.error = error
        if self.transport is not None:
            self.transport.close()
        if not self.finished.done():
            self.finished.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.warmed.done():
            self.warmed.set_result(None)
        if self.streaming and not self.finished.done():
            self.error = type(exc).__name__ if exc else "closed"
            self.finished.set_result(None)


async def burst(base: str, token: str, model: str, n: int, warm_path: str, pids: dict[str, int]) -> dict:
    body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": "burst"}], "stream": True,
                         "stream_options": {"include_usage": True}, "max_tokens": 50})
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    auth = f"Authorization: Bearer {token}\r\nHost: {host}:{port}\r\n".encode()
    warm = b"GET " + warm_path.encode() + b" HTTP/1.1\r\n" + auth + b"\r\n"
    post = (b"POST /v1/chat/completions HTTP/1.1\r\n" + auth + b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    # open the connections first (keep-alive): the burst measures stream starts, not the accept queue
    for start in range(0, n, 100):  # (in steps: not 1,000 connects in the listen backlog at once)
        opened = await asyncio.gather(*(loop.create_connection(lambda: Client(warm, loop), host, int(port))
                                        for _ in range(start, min(n, start + 100))))
        clients += [protocol for _, protocol in opened]
    await asyncio.wait_for(asyncio.gather(*(c.warmed for c in clients)), 60)
    await asyncio.sleep(0.2)
    before = {name: sched_ns(pid) for name, pid in pids.items()}  # (the burst only, not the warm-up)
    cpu0 = time.process_time()
    started = time.perf_counter()
    for client in clients:
        client.send(post)
    await asyncio.wait_for(asyncio.gather(*(c.finished for c in clients)), 120)
    wall = time.perf_counter() - started
    shares = {name: tuple((b - a) / 1e6 for a, b in zip(before[name], sched_ns(pid), strict=True))
              for name, pid in pids.items()}
    shares["loader"] = ((time.process_time() - cpu0) * 1000, 0.0)
    errors: dict[str, int] = {}
    for client in clients:
        if client.error:
            errors[client.error] = errors.get(client.error, 0) + 1
    return {"n": n, "done": sum(c.total is not None for c in clients), "errors": errors, "wall_s": wall,
            "ttft": [c.first * 1000 for c in clients if c.first is not None and c.total is not None],
            "total": [c.total * 1000 for c in clients if c.total is not None], "shares": shares}


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
    ap.add_argument("--floor", help="a bare proxy on the same server (bench/floor_proxy.py): measured in every round")
    ap.add_argument("--floor-pid", type=int, help="its CPU time per burst")
    ap.add_argument("--rounds", type=int, default=1,
                    help="warm bursts, each after a direct one: the summary is the median of the rounds")
    a = ap.parse_args()
    if a.cpu is not None:
        os.sched_setaffinity(0, {a.cpu})
    pids = {name: pid for name, pid in (("gateway", a.gw_pid), ("floor", a.floor_pid), ("mock", a.mock_pid)) if pid}
    direct = run(burst(a.mock, "sk-direct", a.model, a.n, "/health", pids))
    cold = run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids))  # the upstream pool starts empty
    gateway = run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids))  # then holds connections
    print(line("direct", direct))
    print(line("gw cold", cold))
    print(line("gateway", gateway))
    floor = None
    if a.floor:
        print(line("fl cold", run(burst(a.floor, "sk-floor", a.model, a.n, "/v1/models", pids))))
        floor = run(burst(a.floor, "sk-floor", a.model, a.n, "/v1/models", pids))
        print(line("floor", floor))
    # Further rounds, each a direct burst then a warm gateway burst (and the floor's): the machine's noise (one
    # burst's p50 moves by tens of ms from run to run) shows in the spread, and the median of the rounds is the
    # figure.
    rounds = [(direct, gateway, floor)]
    for i in range(2, a.rounds + 1):
        d = run(burst(a.mock, "sk-direct", a.model, a.n, "/health", pids))
        print(line(f"direct {i}", d))
        f = run(burst(a.floor, "sk-floor", a.model, a.n, "/v1/models", pids)) if a.floor else None
        if f is not None:
            print(line(f"floor {i}", f))
        g = run(burst(a.target, a.token, a.model, a.n, "/v1/models", pids))
        print(line(f"gw {i}", g))
        rounds.append((d, g, f))
    added = [pct(g["ttft"], 50) - pct(d["ttft"], 50) for d, g, _ in rounds]
    added99 = [pct(g["ttft"], 99) - pct(d["ttft"], 99) for d, g, _ in rounds]
    completed = sum(g["done"] for _, g, _ in rounds)
    errors = sum(sum(g["errors"].values()) for _, g, _ in rounds)
    each = ", ".join(f"{x:+.0f}" for x in added)
    print(f"SUMMARY burst {a.n} stream starts: gateway adds {statistics.median(added):+.1f} ms TTFT p50 "
          f"({statistics.median(added99):+.1f} p99), median of {len(rounds)} rounds ({each}); "
          f"completed {completed}/{a.n * len(rounds)}, errors {errors}")
    if a.floor:
        floors = [pct(f["ttft"], 50) - pct(d["ttft"], 50) for d, _, f in rounds if f is not None]
        floors99 = [pct(f["ttft"], 99) - pct(d["ttft"], 99) for d, _, f in rounds if f is not None]
        print(f"FLOOR a bare proxy on the same server adds {statistics.median(floors):+.1f} ms TTFT p50 "
              f"({statistics.median(floors99):+.1f} p99), median of {len(floors)} rounds "
              f"({', '.join(f'{x:+.0f}' for x in floors)}); the gateway over the floor: "
              f"{statistics.median(added) - statistics.median(floors):+.1f} ms p50")
    measured = [cold, *(g for _, g, _ in rounds), *(f for _, _, f in rounds if f is not None)]
    ok = all(r["done"] == a.n and not r["errors"] for r in measured)
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
