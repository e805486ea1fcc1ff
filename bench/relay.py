#!/usr/bin/env python3
"""Relay benchmark: direct-to-mock vs through the gateway, side by side in one run.

  python bench/relay.py [--mode api|full|both] [--duration 10] [--concs 1,16,64] [--stream-c 16]
                        [--format chat,messages] [--out bench/RESULTS.md] [--limits] [--env NAME=VALUE ...]

``--mode api`` (the default) measures ``oneapi serve --api-only``; ``--mode full`` the whole appliance,
``oneapi serve`` (Reflex + FastAPI on one port; relay paths are dispatched straight to the FastAPI app), which
builds the dashboard on its first start (``oneapi build``, needs .tools/bun); ``--mode both`` runs one after
the other, each with its own mock, data directory and gateway.

What it does (everything in a temporary data directory, nothing shared with a real install):
1. starts bench/mock_upstream.py (a fast OpenAI-compatible and Anthropic-shaped upstream) on a free port,
   pinned to CPU 1;
2. creates the database, one OpenAI channel (gpt-4o-mini) and one Anthropic channel (claude-mock) pointing at
   the mock and one limited token (through the services, as the dashboard would);
3. starts ``oneapi serve --api-only`` (or ``oneapi serve``) pinned to CPU 0;
4. runs bench/load.py compare (wrk for non-stream points when installed, its Python client for streams),
   pinned to CPU 1, which prints the table: req/s, added p50/p99 (TTFT for streams), gateway CPU ms per
   request and RSS;
5. with ``--signed`` (the default), the same comparison for an AWS Bedrock channel on the same mock (the gateway
   converts to the Converse API, signs with SigV4 and decodes the binary event stream: bench/signed.py);
6. checks the books: the token's remain + used equals its start and the consume logs add up.

``--format`` picks the client formats measured side by side in one run (``FORMAT_CASES``): ``chat`` is
/v1/chat/completions passed through to the OpenAI channel; ``messages`` is /v1/messages passed through to the
Anthropic channel (``messages``) and converted to the OpenAI channel (``msg>openai``); ``responses`` is
/v1/responses passed through to the OpenAI channel (``responses``, byte for byte) and converted to a
chat-only DeepSeek channel (``resp>chat``, type 36). A new client format
is one entry there (and one row of bench/load.py's FORMATS).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
START_QUOTA = 10**13
CLAUDE_MODEL = "claude-mock"
CHAT_ONLY_MODEL = "deepseek-mock"  # a DeepSeek channel (type 36): chat completions only, /v1/responses converted
# --format name -> load.py cases: LABEL=CLIENT_FORMAT:MODEL:DIRECT_FORMAT (the direct baseline hits the mock
# endpoint the gateway's channel uses).
FORMAT_CASES = {
    "chat": ["chat=chat:gpt-4o-mini:chat"],
    "messages": [f"messages=messages:{CLAUDE_MODEL}:messages", "msg>openai=messages:gpt-4o-mini:chat"],
    "responses": ["responses=responses:gpt-4o-mini:responses", f"resp>chat=responses:{CHAT_ONLY_MODEL}:chat"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_workers(master: int) -> None:
    """Worker i of ``oneapi serve --workers N`` (the master's children) on cpu i mod cores."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for i, pid in enumerate(sorted(int(c) for c in children)):
        os.sched_setaffinity(pid, {i % (os.cpu_count() or 1)})


def pinned(cpu: int | None, cmd: list[str]) -> list[str]:
    if cpu is not None and cpu >= 0 and shutil.which("taskset") and os.cpu_count() and os.cpu_count() > cpu:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def start_floor(args: argparse.Namespace, python: str, mock_url: str) -> tuple[str, subprocess.Popen]:
    """bench/floor_proxy.py on the gateway's server settings, worker count and cpu (``--floor``)."""
    port = free_port()
    env = {**os.environ, "MOCK_URL": mock_url, "FLOOR_CLIENT": args.floor}
    proc = subprocess.Popen(pinned(args.gateway_cpu if args.workers == 1 else None, [
        python, "-m", "uvicorn", "floor_proxy:app", "--app-dir", str(HERE), "--host", "127.0.0.1", "--port",
        str(port), "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--log-level", "warning"]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health")
    if args.workers > 1 and args.pin_workers:
        pin_workers(proc.pid)
    return url, proc


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status means the server answers
                return
            time.sleep(0.1)
    raise SystemExit(f"nothing answers at {url}")


CPU_CHECK = """
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])}) if len(sys.argv) > 1 else None
def work():
    x = 0
    for i in range(300000):
        x += i * i % 7
cpu, wall = [], []
for _ in range(5):
    c0, w0 = time.process_time(), time.perf_counter()
    work()
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - w0)
print(f"{min(cpu) * 1000:.1f} {sorted(wall)[2] * 1000:.1f}")
"""


def cpu_check(cpu: int | None) -> str:
    """A fixed pure-Python loop on ``cpu``: its best CPU time (about 11-12 ms on this machine when the other
    vCPU is idle; more when a neighbour shares the physical core or the host takes the vCPU away) and its
    median wall time (more than its CPU time: the run queue is shared with other processes). Printed
    before and after a run: a loaded machine shows here, not only in the req/s."""
    args = [sys.executable, "-c", CPU_CHECK] + ([str(cpu)] if cpu is not None else [])
    out = subprocess.run(args, capture_output=True, text=True).stdout.split()
    return f"loop {out[0]} ms cpu / {out[1]} ms wall" if len(out) == 2 else "n/a"


BENCH_LIMITS = {"rpm_limit": 10**9, "tpm_limit": 10**12, "concurrency_limit": 10**6}  # --limits: never reached


async def prepare(env: dict[str, str], mock_url: str, limits: bool = False) -> str:
    from oneapi_app.models import ChannelCreate, TokenCreate
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.channels import create_channels
    from oneapi_app.services.tokens import create_token
    from oneapi_app.settings import load_settings

    runtime = Runtime(load_settings(env))
    async with runtime.lifespan():
        async with runtime.db.session() as session:
            await create_channels(session, ChannelCreate(type=1, key="sk-mock", name="mock", base_url=mock_url,
                                                         models="gpt-4o-mini"), bus=runtime.changes)
            await create_channels(session, ChannelCreate(type=14, key="sk-mock", name="mock-claude",
                                                         base_url=mock_url, models=CLAUDE_MODEL), bus=runtime.changes)
            await create_channels(session, ChannelCreate(type=36, key="sk-mock", name="mock-chat-only",
                                                         base_url=mock_url, models=CHAT_ONLY_MODEL),
                                  bus=runtime.changes)
            limited = BENCH_LIMITS if limits else {}
            token = await create_token(session, 1, TokenCreate(name="bench", remain_quota=START_QUOTA,
                                                               unlimited_quota=False, **limited))
    return token.key


async def books(env: dict[str, str], key: str) -> str:
    from sqlalchemy import text

    from oneapi_app.runtime import Runtime
    from oneapi_app.settings import load_settings

    runtime = Runtime(load_settings(env))
    async with runtime.lifespan():
        async with runtime.db.engine.connect() as conn:
            token = (await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE name = 'bench'")))\
                .mappings().one()
            logs = (await conn.execute(text("SELECT COUNT(*) AS n, COALESCE(SUM(quota), 0) AS q FROM logs "
                                             "WHERE type = 2"))).mappings().one()
    balanced = token["remain_quota"] + token["used_quota"] == START_QUOTA and logs["q"] == token["used_quota"]
    return (f"books: {logs['n']} consume logs, sum {logs['q']} == token used {token['used_quota']}, "
            f"remain + used == start: {'yes' if balanced else 'NO'}")


class BenchDatabase:
    """A fresh database on the local PostgreSQL or MariaDB server (``--db``), or nothing for SQLite."""

    ADMIN = {"postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
             "mysql": "mysql+pymysql://root@127.0.0.1:3306/test"}

    def __init__(self, kind: str) -> None:
        self.kind, self.dsn = kind, ""
        if kind == "sqlite":
            return
        from sqlalchemy import create_engine, text

        self.name = f"oneapi_bench_{os.getpid()}"
        self.admin = create_engine(self.ADMIN[kind], isolation_level="AUTOCOMMIT")
        quoted = f'"{self.name}"' if kind == "postgres" else f"`{self.name}`"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {quoted}"))
        self.dsn = (f"postgres://postgres@127.0.0.1:5432/{self.name}?sslmode=disable" if kind == "postgres"
                    else f"root@tcp(127.0.0.1:3306)/{self.name}?charset=utf8mb4&parseTime=True&loc=Local")

    def drop(self) -> None:
        if not self.dsn:
            return
        from sqlalchemy import text

        drop = (f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)' if self.kind == "postgres"
                else f"DROP DATABASE IF EXISTS `{self.name}`")
        with self.admin.connect() as conn:
            conn.execute(text(drop))
        self.admin.dispose()


MODES = {
    "api": ("oneapi serve --api-only", ["--api-only"],
            "`oneapi serve --api-only` (uvicorn, uvloop, httptools; SQLite)"),
    "full": ("oneapi serve", [],
             "`oneapi serve`, the full appliance (Reflex + FastAPI on one port, relay paths dispatched straight "
             "to the FastAPI app; uvicorn, uvloop, httptools; SQLite)"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["api", "full", "both"], default="api",
                    help="api: oneapi serve --api-only; full: oneapi serve (the whole appliance); both")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--concs", default="1,16,64")
    ap.add_argument("--stream-c", type=int, default=16)
    ap.add_argument("--chunks", type=int, default=20, help="mock SSE content chunks")
    ap.add_argument("--chunk-delay-ms", type=float, default=10)
    ap.add_argument("--gateway-cpu", type=int, default=0)
    ap.add_argument("--load-cpu", type=int, default=1, help="the cpu of the mock and the load generator (-1: not pinned)")
    ap.add_argument("--start-timeout", type=float, default=600,
                    help="seconds to wait for the gateway (the full mode may build the dashboard first)")
    ap.add_argument("--out", help="also write the report (markdown) to this file")
    ap.add_argument("--format", default="chat",
                    help=f"client formats measured side by side, comma-separated: {', '.join(FORMAT_CASES)}")
    ap.add_argument("--db", choices=["sqlite", "postgres", "mysql"], default="sqlite",
                    help="the gateway's database: SQLite in the data dir (default) or a fresh database on the local "
                         "PostgreSQL / MariaDB server (dropped afterwards)")
    ap.add_argument("--floor", choices=["aiohttp", "raw"],
                    help="with --burst: also measure a bare proxy on the same server and worker count "
                         "(bench/floor_proxy.py: aiohttp, the gateway's client, or raw sockets) in every round")
    ap.add_argument("--pin-workers", action="store_true",
                    help="with --workers N: pin worker i to cpu i mod cores (the kernel may otherwise stack them)")
    ap.add_argument("--workers", type=int, default=1,
                    help="gateway worker processes (oneapi serve --workers N); with N > 1 the gateway is not pinned")
    ap.add_argument("--engine", choices=["auto", "wrk", "py"], default="auto",
                    help="non-stream load generator: wrk when installed (auto), or bench/load.py's Python client")
    ap.add_argument("--burst", type=int, default=0, metavar="N",
                    help="instead of the load table: N simultaneous stream starts, direct and through the gateway "
                         "(bench/burst.py: added TTFT p50/p99, every stream completed, then the books)")
    ap.add_argument("--burst-rounds", type=int, default=5, metavar="K",
                    help="with --burst: K rounds of a direct then a warm gateway burst; the median round is reported")
    ap.add_argument("--signed", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure an AWS Bedrock channel (SigV4, Converse, event stream) on the same mock")
    ap.add_argument("--limits", action="store_true",
                    help="give the bench token RPM, TPM and concurrency limits it never reaches (the limiter's cost)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="a gateway setting, repeatable (REDIS_CONN_STRING=redis://127.0.0.1:6379/0, "
                         "ENABLE_PROMETHEUS=true, LOG_FORMAT=json)")
    args = ap.parse_args()
    unknown = [f for f in args.format.split(",") if f not in FORMAT_CASES]
    if unknown:
        ap.error(f"unknown --format {', '.join(unknown)} (known: {', '.join(FORMAT_CASES)})")

    reports = []
    for mode in (["api", "full"] if args.mode == "both" else [args.mode]):
        report = run_mode(args, mode)
        if report is None:
            return 1
        reports.append(report)
    if args.out:
        Path(args.out).write_text("\n".join(reports), encoding="utf-8")
    return 0


def run_mode(args: argparse.Namespace, mode: str) -> str | None:
    label, serve_flags, description = MODES[mode]
    python = sys.executable
    workdir = Path(tempfile.mkdtemp(prefix="oneapi-bench-"))
    mock_port, gw_port = free_port(), free_port()
    mock_url, gw_url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{gw_port}"
    env = {**os.environ, "DATA_DIR": str(workdir), "PORT": str(gw_port), "SESSION_SECRET": "bench",
           "PYTHONPATH": str(ROOT)}
    env.pop("SQL_DSN", None)
    env.pop("REDIS_CONN_STRING", None)
    env.update(item.split("=", 1) for item in args.env)
    procs: list[subprocess.Popen] = []
    database = BenchDatabase(args.db)
    if database.dsn:
        env["SQL_DSN"] = database.dsn
    try:
        procs.append(subprocess.Popen(pinned(args.load_cpu, [
            python, str(HERE / "mock_upstream.py"), "--port", str(mock_port), "--chunks", str(args.chunks),
            "--chunk-delay-ms", str(args.chunk_delay_ms)]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(f"{mock_url}/health")
        key = asyncio.run(prepare(env, mock_url, args.limits))
        if args.signed:
            from signed import add_bedrock_channel, bedrock_compare

            asyncio.run(add_bedrock_channel(env, mock_url))
        check_cpu = args.gateway_cpu if args.workers == 1 else None
        speed_before = cpu_check(check_cpu)
        started = time.monotonic()
        log_path = workdir / "gateway.log"  # a file, not a pipe: a full pipe would stall the gateway
        with open(log_path, "wb") as log_file:
            gateway = subprocess.Popen(pinned(args.gateway_cpu if args.workers == 1 else None, [
                python, "-m", "oneapi_app.cli", "serve", *serve_flags, "--host", "127.0.0.1", "--port",
                str(gw_port), "--workers", str(args.workers)]), env=env, cwd=ROOT, stdout=log_file,
                stderr=subprocess.STDOUT)
        procs.append(gateway)
        try:
            wait_http(f"{gw_url}/api/status", timeout=args.start_timeout)
        except SystemExit:
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        startup = time.monotonic() - started
        if args.workers > 1 and args.pin_workers:
            pin_workers(gateway.pid)
        cmd = pinned(args.load_cpu, [
            python, str(HERE / "load.py"), "compare", "--target", gw_url, "--token", f"sk-{key}",
            "--model", "gpt-4o-mini", "--mock", mock_url, "--concs", args.concs, "--stream-c", str(args.stream_c),
            "--duration", str(args.duration), "--warmup", str(args.warmup), "--gw-pid", str(gateway.pid),
            "--mock-pid", str(procs[0].pid),
            "--label", label, *(["--cpu", str(args.load_cpu)] if args.load_cpu >= 0 else []), "--engine", args.engine])
        cases = [f"--case={case}" for fmt in args.format.split(",") for case in FORMAT_CASES[fmt]]
        if database.dsn:
            description = description.replace("SQLite", f"{args.db} server, not pinned")
        pin = f"pinned to cpu {args.gateway_cpu}" if args.workers == 1 else (
            f"{args.workers} workers, one per cpu" if args.pin_workers else f"{args.workers} workers, not pinned")
        header = (f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cpus; gateway "
                  f"{description} {pin}, ready in {startup:.1f} s; "
                  + (f"mock + load pinned to cpu {args.load_cpu}; " if args.load_cpu >= 0 else "mock + load not pinned; ")
                  + f"wrk: {'yes' if shutil.which('wrk') and args.engine != 'py' else 'no'}; "
                  f"mock stream {args.chunks} chunks x {args.chunk_delay_ms} ms")
        print(header, flush=True)
        if args.burst:  # (the format cases are for the load table)
            cmd = pinned(args.load_cpu, [python, str(HERE / "burst.py"), "--target", gw_url, "--token", f"sk-{key}",
                                         "--mock", mock_url, "--n", str(args.burst),
                                         "--gw-pid", str(gateway.pid), "--mock-pid", str(procs[0].pid),
                                         "--rounds", str(args.burst_rounds)])
            cases = []
            if args.floor:
                floor_url, floor = start_floor(args, python, mock_url)
                procs.append(floor)
                print(f"# floor: a bare {args.floor} proxy on uvicorn (uvloop, httptools), {args.workers} "
                      f"worker(s), pinned as the gateway (bench/floor_proxy.py)", flush=True)
                cases = ["--floor", floor_url, "--floor-pid", str(floor.pid)]
        result = subprocess.run(cmd + cases, capture_output=True, text=True)
        print(result.stdout, flush=True)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            return None
        if args.signed and not args.burst:
            signed = subprocess.run(bedrock_compare(cmd), capture_output=True, text=True)
            print(signed.stdout, flush=True)
            if signed.returncode != 0:
                print(signed.stderr, file=sys.stderr)
                return None
            result.stdout += "\n" + signed.stdout
        load = os.getloadavg()
        speed = (f"cpu check on the gateway's cpu (quiet machine: about 11-12 ms cpu = wall): before {speed_before}, "
                 f"after {cpu_check(check_cpu)}; load average {load[0]:.1f}")
        print(speed, flush=True)
        result.stdout += "\n" + speed
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
        ledger = asyncio.run(books(env, key))
        ledger += f"; 'database is locked' in the gateway log: {log_path.read_text(errors='replace').count('database is locked')}"
        print(ledger, flush=True)
        return f"{header}\n\n```\n{result.stdout.strip()}\n```\n\n{ledger}\n"
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
