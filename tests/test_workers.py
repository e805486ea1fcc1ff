"""``oneapi serve --api-only --workers 2`` on SQLite: two processes on one port behave as one gateway.

Every request below opens a fresh connection, so SO_REUSEPORT spreads them over both workers: a token
disabled through one worker is refused by the other on its next request (the change link through the
master, no Redis), an option saved through one applies on the other, concurrent spending on a small quota
never overspends, and the log holds no "database is locked". One server for the module.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import orjson
import pytest

from oneapi_app.changes import Changes
from oneapi_app.workers import worker_count

from . import nodes
from .servers import running_server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("workers") / "data"
    env = {"DATA_DIR": str(data), "INITIAL_ROOT_ACCESS_TOKEN": nodes.ROOT_ACCESS, "REDIS_CONN_STRING": "",
           "SQL_DSN": ""}
    with nodes.mock_upstream() as mock:
        keys = nodes.prepare(env, mock, ["warm", "calibrate", "small"])
        with running_server(data, "--api-only", "--workers", "2", env=env) as (proc, base, log):
            yield {"env": env, "base": base, "keys": keys, "log": log, "proc": proc}


def _workers(proc) -> list[int]:
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        return [int(pid) for pid in children.read_text().split()]
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == proc.pid]


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


async def test_notices_cross_the_worker_link_and_options_reload_only_for_others():
    mine, master = socket.socketpair()
    changes, heard = Changes(), []
    changes.subscribe("token", lambda key: heard.append(("token", key)))
    changes.subscribe("options", lambda key: heard.append(("options, from elsewhere", key)), remote_only=True)
    stopping = asyncio.Event()
    link = asyncio.create_task(changes.relay_from_peers(mine, stopping))
    await asyncio.sleep(0.05)
    await changes.publish("token", "k1")
    await changes.publish("options")  # saved here: this process already holds the new options
    master.settimeout(2)
    sent = b""
    while sent.count(b"\n") < 2:
        sent += await asyncio.to_thread(master.recv, 4096)
    assert [orjson.loads(line)["kind"] for line in sent.splitlines()] == ["token", "options"]
    assert heard == [("token", "k1")]
    master.sendall(orjson.dumps({"node": "another worker", "kind": "options", "key": None}) + b"\n")
    master.sendall(sent)  # this process's own notices coming back are ignored
    deadline = time.monotonic() + 10
    while len(heard) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # time for a wrong third (this process's own notices coming back) to show
    assert heard == [("token", "k1"), ("options, from elsewhere", None)]
    stopping.set()
    await link
    master.close()


def test_worker_count_defaults_to_the_cores_up_to_four():
    assert worker_count(3) == 3
    assert 1 <= worker_count(0) <= 4


def test_two_processes_serve_one_port(gateway):
    assert len(_workers(gateway["proc"])) == 2
    statuses = nodes.chats([gateway["base"]], gateway["keys"]["warm"], 20)
    assert statuses == [200] * 20


def test_a_token_disabled_through_one_worker_is_refused_by_the_other(gateway):
    base, key, env = gateway["base"], gateway["keys"]["warm"], gateway["env"]
    # 30 requests on fresh connections: both workers now hold the token in their caches
    assert nodes.chats([base], key, 30) == [200] * 30
    tid = nodes.token_id(env, "warm")
    nodes.set_token_status(base, tid, 2)  # disabled, through whichever worker took this connection
    # the notice crosses the master to the other worker: every request sent a second after the disable is refused
    assert nodes.within_a_second(lambda: set(nodes.chats([base], key, 10)) == {401}) == []
    refused = nodes.chats([base], key, 30)
    assert set(refused) == {401}, refused
    nodes.set_token_status(base, tid, 1)
    assert nodes.wait_for(lambda: set(nodes.chats([base], key, 10)) == {200}, timeout=10)


def test_an_option_saved_through_one_worker_applies_on_the_other(gateway):
    base = gateway["base"]
    nodes.set_option(base, "SystemName", "Workers Gateway")
    # each status request is a fresh connection: both workers answer, within a second, with the new name
    assert nodes.within_a_second(lambda: all(nodes.system_name(base) == "Workers Gateway" for _ in range(10))) == []


def test_concurrent_spending_across_workers_never_overspends(gateway):
    race = nodes.spend_race(gateway["env"], [gateway["base"]], gateway["keys"])
    ok = race["statuses"].count(200)
    assert ok >= 1 and ok < 40, race
    assert set(race["statuses"]) <= {200, 403}, race
    assert race["remain"] >= 0, race
    assert race["remain"] + race["used"] == race["quota"], race
    assert race["used"] == race["charged"] and race["rows"] == ok, race


def test_a_worker_that_dies_is_replaced_and_no_database_lock_was_seen(gateway):
    victim = _workers(gateway["proc"])[0]
    os.kill(victim, signal.SIGKILL)
    assert nodes.wait_for(lambda: len(_workers(gateway["proc"])) == 2 and victim not in _workers(gateway["proc"]),
                          timeout=10)
    # connections the kernel gave to the dead worker's socket wait in its backlog for the new worker
    for _ in range(10):
        assert httpx.get(f"{gateway['base']}/api/status", timeout=60).status_code == 200
    assert nodes.wait_for(lambda: set(nodes.chats([gateway["base"]], gateway["keys"]["warm"], 10)) == {200},
                          timeout=30)
    log = gateway["log"].read_text(errors="replace")
    assert "database is locked" not in log
