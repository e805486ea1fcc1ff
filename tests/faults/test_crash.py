"""kill -9 and SIGTERM under load with the real `oneapi serve --api-only`: after a restart the books agree.

A fake upstream (bench/mock_upstream.py, 20 ms before each answer, so many requests are in flight), 64
concurrent clients (stream and non-stream) on four limited tokens for about two seconds, then SIGKILL (or
SIGTERM: a graceful stop settles what it served and leaves nothing to release). The next start releases the
holds of the dead process; then, for every token, ``used_quota`` equals the sum of
its consume rows, ``remain + used`` equals the start, the user's and channel's counters agree, and no hold
is left. The numbers of each run are printed (``pytest -s``) and appended to ``crash-report.txt`` in the
test's directory.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from oneapi_app.db import create_sync_db_engine
from oneapi_app.settings import load_settings

from ..servers import ROOT, free_port, running_server, wait_ready

pytestmark = pytest.mark.faults

START = 10**9
TOKENS = ("crash-a", "crash-b", "crash-c", "crash-d")
CLIENTS = 64
LOAD_SECONDS = 3.0
MIN_COMPLETED = 50  # requests answered before the stop: the load really ran


async def _prepare(env: dict[str, str], mock_url: str) -> tuple[list[str], int]:
    from oneapi_app.models import ChannelCreate, TokenCreate
    from oneapi_app.runtime import Runtime
    from oneapi_app.services.channels import create_channels
    from oneapi_app.services.tokens import create_token

    runtime = Runtime(load_settings(env))
    async with runtime.lifespan():
        async with runtime.db.session() as session:
            await create_channels(session, ChannelCreate(type=1, key="sk-mock", name="mock", base_url=mock_url,
                                                         models="gpt-4o-mini"), bus=runtime.changes)
            keys = [(await create_token(session, 1, TokenCreate(name=name, remain_quota=START,
                                                                unlimited_quota=False))).key for name in TOKENS]
        async with runtime.db.engine.connect() as conn:
            root_quota = (await conn.execute(text("SELECT quota FROM users WHERE id = 1"))).scalar_one()
    return keys, root_quota


class Load:
    """CLIENTS workers sending requests in a thread of their own until stopped (or the server is gone)."""

    def __init__(self, base: str, keys: list[str]) -> None:
        self.base, self.keys = base, keys
        self.sent = self.completed = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(self.base, connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=10)) as client:
            await asyncio.gather(*(self._worker(client, i) for i in range(CLIENTS)))

    async def _worker(self, client: aiohttp.ClientSession, i: int) -> None:
        headers = {"Authorization": f"Bearer sk-{self.keys[i % len(self.keys)]}"}
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}], "max_tokens": 50,
                "stream": i % 2 == 0}
        while not self._stop.is_set():
            self.sent += 1
            try:
                async with client.post("/v1/chat/completions", json=body, headers=headers) as resp:
                    data = await resp.read()
                if resp.status == 200 and (not body["stream"] or b"[DONE]" in data):
                    self.completed += 1
                else:
                    self.failed += 1
            except (aiohttp.ClientError, TimeoutError):
                self.failed += 1
                await asyncio.sleep(0.05)


def _books(env: dict[str, str], root_quota: int) -> dict:
    settings = load_settings(env)
    engine = create_sync_db_engine(settings.database, settings)
    try:
        with engine.connect() as conn:
            tokens = {r.name: r for r in conn.execute(text(
                "SELECT name, remain_quota, used_quota FROM tokens WHERE name LIKE 'crash-%'"))}
            logged = {r.token_name: r for r in conn.execute(text(
                "SELECT token_name, COUNT(*) AS n, SUM(quota) AS q FROM logs WHERE type = 2 GROUP BY token_name"))}
            user = conn.execute(text("SELECT quota, used_quota, request_count FROM users WHERE id = 1")).one()
            channel_used = conn.execute(text("SELECT used_quota FROM channels")).scalar_one()
            holds = conn.execute(text("SELECT COUNT(*) FROM ledger_holds")).scalar_one()
            released = conn.execute(text("SELECT COUNT(*) FROM logs WHERE type = 4 AND content LIKE "
                                         "'%released after a crash%'")).scalar_one()
    finally:
        engine.dispose()
    rows = sum(logged[name].n for name in TOKENS if name in logged)
    charged = sum(logged[name].q for name in TOKENS if name in logged)
    return {
        "rows": rows, "released": released, "holds": holds,
        "token_drift": {name: tokens[name].used_quota - (logged[name].q if name in logged else 0) for name in TOKENS},
        "start_drift": {name: tokens[name].remain_quota + tokens[name].used_quota - START for name in TOKENS},
        "user_drift": (user.quota + user.used_quota - root_quota, user.used_quota - charged, user.request_count - rows),
        "channel_drift": channel_used - charged,
    }


@pytest.mark.parametrize("database,wait,stop", [("sqlite", False, "kill"), ("postgres", False, "kill"),
                                                ("sqlite", True, "kill"), ("postgres", False, "term")],
                         ids=["sqlite", "postgres", "sqlite-settlement-wait", "postgres-sigterm"])
def test_kill_9_under_load_keeps_the_books(database: str, wait: bool, stop: str, tmp_path: Path, request):
    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "SETTLEMENT_WAIT": "true" if wait else "false"}
    if database == "postgres":
        env["SQL_DSN"] = request.getfixturevalue("postgres_dsn")
    mock_port = free_port()
    mock = subprocess.Popen([sys.executable, str(ROOT / "bench" / "mock_upstream.py"), "--port", str(mock_port),
                             "--latency-ms", "20", "--chunks", "5", "--chunk-delay-ms", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{mock_port}/health", mock, timeout=30)
        keys, root_quota = asyncio.run(_prepare(env, f"http://127.0.0.1:{mock_port}"))
        with running_server(data, "--api-only", env=env) as (proc, base, _log):
            load = Load(base, keys)
            load.start()
            # LOAD_SECONDS of load, and on a loaded machine longer: until the load has really run (bounded)
            time.sleep(LOAD_SECONDS)
            deadline = time.monotonic() + 60
            while load.completed <= MIN_COMPLETED and time.monotonic() < deadline:
                time.sleep(0.1)
            if stop == "kill":
                proc.kill()  # kill -9 in the middle of the load
            else:
                proc.send_signal(signal.SIGTERM)  # a graceful stop in the middle of the load
            proc.wait(timeout=60)
            load.stop()
        with running_server(data, "--api-only", env=env) as (_proc, _base, log):
            books = _books(env, root_quota)  # the restart has recovered before it answers
    finally:
        mock.kill()
        mock.wait()
    report = (f"{'kill -9' if stop == 'kill' else 'SIGTERM'} [{request.node.callspec.id}]: {load.sent} requests sent, {load.completed} completed, "
              f"{load.failed} failed; {books['rows']} consume rows; {books['released']} holds released after "
              f"the restart; token drift {books['token_drift']}; remain+used-start {books['start_drift']}; "
              f"user drift {books['user_drift']}; channel drift {books['channel_drift']}; holds left {books['holds']}")
    print(report)
    with open(tmp_path.parent / "crash-report.txt", "a") as out:
        out.write(report + "\n")
    assert load.completed > MIN_COMPLETED, report  # the load really ran
    assert books["holds"] == 0, report
    assert set(books["token_drift"].values()) == {0}, report
    assert set(books["start_drift"].values()) == {0}, report
    assert books["user_drift"] == (0, 0, 0), report
    assert books["channel_drift"] == 0, report
    if stop == "term":  # a graceful stop settled every request it took: nothing for the restart to release
        assert books["released"] == 0 and books["rows"] >= load.completed, report
    if wait:  # every request answered was committed before its answer
        assert books["rows"] >= load.completed, report
    assert "Traceback" not in log.read_text()
