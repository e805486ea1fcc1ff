"""/metrics of ``oneapi serve --api-only --workers 2``: whichever worker answers the scrape, it counts every
request the machine served (prometheus-client's multiprocess files, merged by MultiProcessCollector); a
killed worker's counts stay, its live gauges go; the shared directory is removed when the server stops."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx

from . import nodes
from .servers import running_server
from .test_metrics import sample
from .test_workers import _workers

SENT = 24


def _scrape(base: str) -> str:
    with httpx.Client(timeout=10) as client:  # a fresh connection: either worker may answer
        resp = client.get(base + "/metrics")
    assert resp.status_code == 200, resp.text
    return resp.text


def _relayed(text: str) -> float | None:
    return sample(text, "oneapi_relay_requests_total", model="gpt-4o-mini", outcome="success")


def test_every_worker_is_counted_whoever_answers_the_scrape(tmp_path):
    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "INITIAL_ROOT_ACCESS_TOKEN": nodes.ROOT_ACCESS, "REDIS_CONN_STRING": "",
           "SQL_DSN": "", "ENABLE_PROMETHEUS": "true"}
    with nodes.mock_upstream() as mock:
        keys = nodes.prepare(env, mock, ["m"])
        with running_server(data, "--api-only", "--workers", "2", env=env) as (proc, base, log):
            assert nodes.wait_for(lambda: len(_workers(proc)) == 2, timeout=30)
            first = _workers(proc)
            assert nodes.chats([base], keys["m"], SENT, concurrency=4) == [200] * SENT

            def totals(text: str) -> tuple:
                return (_relayed(text), sample(text, "oneapi_http_requests_total", route="relay", status="200"),
                        sample(text, "oneapi_relay_request_duration_seconds_count", model="gpt-4o-mini"),
                        sample(text, "oneapi_relay_reservations_in_flight"),
                        sample(text, "oneapi_channel_status", channel="1"))

            # a worker writes its values once a second: wait for the last request's every count (the HTTP count
            # and the in-flight gauge change just after the relay count), then every scrape must agree
            whole = (SENT, SENT, SENT, 0, 1)
            assert nodes.wait_for(lambda: totals(_scrape(base)) == whole, timeout=15), _scrape(base)[-3000:]
            for _ in range(6):  # whichever worker answers: the machine's totals
                assert totals(_scrape(base)) == whole
            [directory] = re.findall(r"metrics are merged in (\S+)", log.read_text())
            files = sorted(p.name for p in Path(directory).glob("*.db"))
            assert {f"counter_{pid}.db" for pid in first} <= set(files), files  # both workers served
            assert {f"gauge_livesum_{pid}.db" for pid in first} <= set(files), files

            victim = first[0]
            os.kill(victim, signal.SIGKILL)
            assert nodes.wait_for(lambda: len(_workers(proc)) == 2 and victim not in _workers(proc), timeout=30)
            assert nodes.wait_for(lambda: _relayed(_scrape(base)) == SENT, timeout=15)  # its counts stay
            assert not list(Path(directory).glob(f"gauge_live*_{victim}.db"))  # its live gauges went
            assert nodes.chats([base], keys["m"], 4, concurrency=2) == [200] * 4
            assert nodes.wait_for(lambda: _relayed(_scrape(base)) == SENT + 4, timeout=15)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        assert not Path(directory).exists()
