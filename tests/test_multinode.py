"""Two nodes (`oneapi serve --api-only`, each its own data dir and port) on one PostgreSQL + one Redis.

A fresh PostgreSQL database and a Redis of the test's own (``redis-server --port <free> --save ''``, so it can
be killed and started again mid-test) for the module, shared by the tests. Shown: a token disabled on node A
is refused by node B on its next request; an option saved on A applies on B within a second; concurrent
spending split over both nodes never overspends; Redis going away and coming back loses nothing (both nodes
keep serving from the database, and B forgets what it cached during the outage once Redis is back).
"""

from __future__ import annotations

import subprocess
from contextlib import ExitStack

import httpx
import pytest
import redis

from . import nodes
from .conftest import _fresh_postgres
from .servers import ROOT, free_port, running_server


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        assert nodes.wait_for(lambda: self._pings(client), timeout=10)
        client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("multinode")
    own_redis = OwnRedis()
    with ExitStack() as stack:
        dsn = stack.enter_context(_pg())
        own_redis.start()
        stack.callback(own_redis.stop)
        mock = stack.enter_context(nodes.mock_upstream())
        env = {"SQL_DSN": dsn, "REDIS_CONN_STRING": own_redis.url, "INITIAL_ROOT_ACCESS_TOKEN": nodes.ROOT_ACCESS,
               "DATA_DIR": str(root / "prep")}
        keys = nodes.prepare(env, mock, ["warm", "calibrate", "small", "outage"])
        a = stack.enter_context(running_server(root / "a", "--api-only", env={**env, "DATA_DIR": str(root / "a")}))
        b = stack.enter_context(running_server(root / "b", "--api-only", env={**env, "DATA_DIR": str(root / "b")}))
        yield {"env": env, "a": a[1], "b": b[1], "logs": (a[2], b[2]), "keys": keys, "redis": own_redis}


def _pg():
    from contextlib import contextmanager

    return contextmanager(_fresh_postgres)()


def test_a_token_disabled_on_a_is_refused_by_b(cluster):
    a, b, key = cluster["a"], cluster["b"], cluster["keys"]["warm"]
    assert nodes.chats([b], key, 5) == [200] * 5  # B holds the token in memory and in Redis now
    tid = nodes.token_id(cluster["env"], "warm")
    nodes.set_token_status(a, tid, 2)
    # the notice reaches B through Redis: every request sent to B a second after the disable is refused
    assert nodes.within_a_second(lambda: nodes.chats([b], key, 1) == [401]) == []
    assert nodes.chats([b], key, 5) == [401] * 5  # and B keeps refusing it
    nodes.set_token_status(a, tid, 1)
    assert nodes.wait_for(lambda: nodes.chats([b], key, 1) == [200], timeout=10)


def test_an_option_saved_on_a_applies_on_b_within_a_second(cluster):
    nodes.set_option(cluster["a"], "SystemName", "Node A named it")
    # "within a second": every request sent to B a second after the save gets the new name
    assert nodes.within_a_second(lambda: nodes.system_name(cluster["b"]) == "Node A named it") == []


def test_spending_split_over_both_nodes_never_overspends(cluster):
    race = nodes.spend_race(cluster["env"], [cluster["a"], cluster["b"]], cluster["keys"])
    ok = race["statuses"].count(200)
    assert 1 <= ok < 40, race
    assert set(race["statuses"]) <= {200, 403}, race
    assert race["remain"] >= 0, race
    assert race["remain"] + race["used"] == race["quota"], race
    assert race["used"] == race["charged"] and race["rows"] == ok, race


def test_the_shipped_load_balancer_spreads_the_relay_and_keeps_the_dashboard_on_the_master(cluster, tmp_path):
    """deploy/nginx.conf, as docker-compose.postgres.yml mounts it (its service names pointed at the two nodes):
    relay calls reach both nodes, a stream passes through whole, the dashboard's paths go to the master."""
    a, b = cluster["a"], cluster["b"]
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = site.replace("oneapi-slave:3000", b.removeprefix("http://")).replace("oneapi:3000", a.removeprefix("http://"))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        f"  log_format up '$request_uri $upstream_addr $status';\n  access_log {tmp_path}/access.log up;\n"
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy"))
        + f"  include {tmp_path}/site.conf;\n}}\n")
    proc = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    lb = f"http://127.0.0.1:{port}"
    try:
        assert nodes.wait_for(lambda: _answers(f"{lb}/api/status"), timeout=10), (tmp_path / "error.log").read_text()
        key = cluster["keys"]["warm"]
        assert nodes.chats([lb], key, 24, concurrency=4) == [200] * 24
        body = httpx.post(f"{lb}/v1/chat/completions", headers={"Authorization": f"Bearer sk-{key}"}, timeout=30,
                          json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        assert body.status_code == 200 and body.text.rstrip().endswith("data: [DONE]"), body.text[-200:]
        httpx.get(f"{lb}/login", timeout=10)  # the dashboard (an --api-only node answers it with its 404)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [line.split() for line in (tmp_path / "access.log").read_text().splitlines()]
    relay = {node for uri, node, _ in lines if uri == "/v1/chat/completions"}
    assert relay == {a.removeprefix("http://"), b.removeprefix("http://")}, lines
    assert [node for uri, node, _ in lines if uri == "/login"] == [a.removeprefix("http://")], lines


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def show_logs(cluster):
    """On failure, the nodes' log tails are printed (pytest shows them with the failure)."""
    yield
    for log in cluster["logs"]:
        print(f"==== {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-60:]))


def test_redis_stopped_and_started_loses_nothing(cluster, show_logs):
    a, b, env, own_redis = cluster["a"], cluster["b"], cluster["env"], cluster["redis"]
    key = cluster["keys"]["outage"]
    start = nodes.books(env, "outage")
    answered: list[int] = []

    def chats(bases: list[str], count: int) -> list[int]:
        statuses = nodes.chats(bases, key, count)
        answered.extend(statuses)
        return statuses

    assert chats([a, b], 10) == [200] * 10
    own_redis.stop()
    try:
        # both nodes keep serving from the database (the cache and the change link degrade, logged)
        assert chats([a, b], 20) == [200] * 20
        tid = nodes.token_id(env, "outage")
        nodes.set_token_status(a, tid, 2)  # B may not be told now: Redis is away
        assert chats([a], 1) == [401]
    finally:
        own_redis.start()
    # back: B's link resubscribes and resyncs (drops what it cached meanwhile): the token is refused there too
    assert nodes.wait_for(lambda: chats([b], 1) == [401], timeout=20)
    nodes.set_token_status(a, tid, 1)
    assert nodes.wait_for(lambda: chats([b], 1) == [200], timeout=10)
    assert chats([a, b], 10) == [200] * 10
    served = answered.count(200)
    assert set(answered) <= {200, 401}, answered

    def settled():
        _remain, used, rows, charged = nodes.books(env, "outage")
        return rows == start[2] + served and used == charged

    assert nodes.wait_for(settled, timeout=10), (nodes.books(env, "outage"), served)
    remain, used, _rows, charged = nodes.books(env, "outage")
    assert remain + used == start[0] + start[1] and used == charged  # every answered request billed, once
    for log in cluster["logs"]:
        text = log.read_text(errors="replace")
        assert "Redis is unreachable" in text and "Redis is reachable again" in text
        assert "Traceback" not in text
