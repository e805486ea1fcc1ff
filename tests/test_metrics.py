"""Observability: /metrics (ENABLE_PROMETHEUS; the library imported only then), /api/health readiness (200, and
503 with Redis unreachable), and the access log line per request (text, and JSON with LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid

import httpx
import pytest
from redis.asyncio import Redis

import tests.test_channel_health as health
from tests.test_channel_health import BODY, add_channel, add_token, free_port

fake = health.fake  # the fake upstream fixture


@pytest.fixture
def settings(make_settings, request):
    return make_settings(**getattr(request, "param", {}))


@pytest.fixture
async def client(runtime):
    from oneapi_app.api import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(runtime)), base_url="http://t") as c:
        yield c


def sample(text: str, metric: str, **labels: str) -> float | None:
    """The value of one sample of the exposition text."""
    for line in text.splitlines():
        if not line.startswith(metric + "{") and not line.startswith(metric + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


@pytest.mark.parametrize("settings", [{"ENABLE_PROMETHEUS": "true", "ENABLE_METRIC": "true"}], indirect=True)
async def test_metrics_after_some_requests(runtime, client, fake):
    fake.plans["flaky"] = [200, 500]
    await add_channel(runtime, fake.url, "flaky")
    key = await add_token(runtime)
    codes = [(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": key})).status_code
             for _ in range(4)]
    assert sorted(codes) == [200, 200, 500, 500]
    await runtime.ledger.flush()
    resp = await client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    model = {"model": "gpt-4o-mini", "channel": "1"}
    assert sample(text, "oneapi_relay_requests_total", **model, outcome="success") == 2
    assert sample(text, "oneapi_relay_requests_total", **model, outcome="failure") == 2
    assert sample(text, "oneapi_relay_tokens_total", **model, kind="prompt") == 20
    assert sample(text, "oneapi_relay_tokens_total", **model, kind="completion") == 40
    assert sample(text, "oneapi_relay_quota_total", **model) > 0
    assert sample(text, "oneapi_relay_request_duration_seconds_count", **model) == 4
    assert sample(text, "oneapi_http_requests_total", route="relay", status="200") == 2
    assert sample(text, "oneapi_http_requests_total", route="relay", status="500") == 2
    assert sample(text, "oneapi_channel_attempts_total", channel="1", result="failed") == 2
    assert sample(text, "oneapi_channel_status", channel="1", name="ch-flaky") == 1
    assert sample(text, "oneapi_channel_success_rate", channel="1") == 0.5
    assert sample(text, "oneapi_ledger_settlement_queue") == 0
    assert sample(text, "oneapi_relay_reservations_in_flight") == 0


async def test_metrics_are_off_by_default(client):
    assert (await client.get("/metrics")).status_code == 404


def test_prometheus_client_is_imported_only_when_enabled(tmp_path):
    code = ("import sys; from oneapi_app.runtime import Runtime; from oneapi_app.api import create_app; "
            "from oneapi_app.settings import load_settings; "
            f"create_app(Runtime(load_settings({{'DATA_DIR': {str(tmp_path)!r}}}))); "
            "assert 'prometheus_client' not in sys.modules, 'imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


async def test_health_is_ready_with_the_database(client):
    resp = await client.get("/api/health")
    assert resp.status_code == 200 and resp.json() == {"success": True, "message": "", "data": {"database": "ok"}}


@pytest.mark.parametrize("settings", [{"REDIS_CONN_STRING": "redis://127.0.0.1:6379/0",
                                       "REDIS_KEY_PREFIX": f"t-{uuid.uuid4().hex[:8]}:"}], indirect=True)
async def test_health_is_503_when_redis_is_unreachable(runtime, client):
    resp = await client.get("/api/health")
    assert resp.status_code == 200 and resp.json()["data"] == {"database": "ok", "redis": "ok"}
    working, runtime.redis = runtime.redis, Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    try:
        resp = await client.get("/api/health")
        assert resp.status_code == 503
        body = resp.json()
        assert body["success"] is False and body["data"]["database"] == "ok" and "ConnectionError" in body["data"]["redis"]
    finally:
        await runtime.redis.aclose()
        runtime.redis = working


async def test_one_access_log_line_per_request_with_its_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="oneapi_app.access"):
        resp = await client.get("/api/status?secret=1")
        relay = await client.post("/v1/chat/completions", json=BODY)  # 401: no key (the relay's fast lane)
    lines = [r.getMessage() for r in caplog.records if r.name == "oneapi_app.access"]
    assert lines[0].startswith("GET /api/status 200 ") and "secret" not in lines[0]
    assert lines[0].endswith(f"id={resp.headers['x-oneapi-request-id']} ip=127.0.0.1")
    assert lines[1].startswith("POST /v1/chat/completions 401 ")
    assert f"id={relay.headers['x-oneapi-request-id']}" in lines[1] and len(lines) == 2


@pytest.mark.parametrize("settings", [{"LOG_FORMAT": "json"}], indirect=True)
async def test_access_log_fields_for_json_lines(client, caplog):
    from oneapi_app.logjson import JsonFormatter

    with caplog.at_level(logging.INFO, logger="oneapi_app.access"):
        resp = await client.get("/api/status")
    [record] = [r for r in caplog.records if r.name == "oneapi_app.access"]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == resp.headers["x-oneapi-request-id"] and entry["status"] == 200
    assert entry["method"] == "GET" and entry["path"] == "/api/status" and entry["client_ip"] == "127.0.0.1"


def test_json_log_lines():
    from oneapi_app.logjson import JsonFormatter

    record = logging.LogRecord("oneapi_app.access", logging.INFO, __file__, 1, "%s %s", ("GET", "/x"), None)
    record.request_id, record.status, record.duration_ms = "2026", 200, 1.5
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /x" and entry["request_id"] == "2026" and entry["status"] == 200
    assert entry["level"] == "INFO" and entry["logger"] == "oneapi_app.access"


def test_workers_values_merge_in_the_shared_directory(tmp_path):
    """Two workers' files (metrics.SharedFiles) merged by prometheus-client's MultiProcessCollector: counters and
    histogram buckets summed, in-flight summed over live workers, success rate the lowest; a dead worker's live
    gauges dropped, its counts kept."""
    import os
    import time
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from oneapi_app.metrics import Metrics

    def worker(pid: int, in_flight: int, rates: dict[int, float], durations: list[float]) -> Metrics:
        metrics = Metrics(str(tmp_path))
        assert metrics.shared is not None
        metrics.shared.pid = pid
        for seconds in durations:
            metrics.relay_done(SimpleNamespace(model="m", channel=SimpleNamespace(id=1),
                                               started=time.perf_counter() - seconds), 10, 5, 7, True)
        runtime = SimpleNamespace(health=SimpleNamespace(success_rates=lambda: rates),
                                  ledger=SimpleNamespace(settlements=SimpleNamespace(backlog=1)),
                                  limiter=SimpleNamespace(in_flight=in_flight))
        metrics.export(runtime)
        return metrics

    def merged() -> str:
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(tmp_path))
        return generate_latest(registry).decode()

    worker(os.getpid(), 2, {1: 0.9}, [0.003, 0.2])
    worker(os.getppid(), 3, {1: 0.4}, [0.2, 7])
    text = merged()
    labels = {"model": "m", "channel": "1"}
    assert sample(text, "oneapi_relay_requests_total", **labels, outcome="success") == 4
    assert sample(text, "oneapi_relay_tokens_total", **labels, kind="prompt") == 40
    assert sample(text, "oneapi_relay_quota_total", **labels) == 28
    duration = "oneapi_relay_request_duration_seconds"
    assert sample(text, f"{duration}_bucket", **labels, le="0.005") == 1
    assert sample(text, f"{duration}_bucket", **labels, le="0.25") == 3
    assert sample(text, f"{duration}_bucket", **labels, le="10.0") == 4
    assert sample(text, f"{duration}_count", **labels) == 4
    assert 7.4 < sample(text, f"{duration}_sum", **labels) < 7.5
    assert sample(text, "oneapi_relay_reservations_in_flight") == 5
    assert sample(text, "oneapi_ledger_settlement_queue") == 2
    assert sample(text, "oneapi_channel_success_rate", channel="1") == 0.4

    worker(2**22 + 12345, 50, {1: 0.1}, [1.0])  # a worker that died since (no such process)
    assert sample(merged(), "oneapi_relay_reservations_in_flight") == 55
    Metrics(str(tmp_path)).shared.forget_dead()  # type: ignore[union-attr]  # (at a scrape)
    text = merged()
    assert sample(text, "oneapi_relay_reservations_in_flight") == 5  # its live gauges went
    assert sample(text, "oneapi_channel_success_rate", channel="1") == 0.4
    assert sample(text, "oneapi_relay_requests_total", **labels, outcome="success") == 5  # its counts stay
