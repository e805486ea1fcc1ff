"""Every relay path takes the same rate limits and feeds the same per-model metrics as the text pipeline:
images, audio, rerank (relay/media.py) and the proxy channel (relay/proxy.py) -- a token with rpm 2 gets a
429 with Retry-After on its third call, and /metrics counts each model's requests, quota and tokens."""

from __future__ import annotations

import httpx
import pytest

from tests.test_metrics import sample

from . import media_fake
from .conftest import add_channel, add_token, add_user, logs

WANTED = {"ENABLE_PROMETHEUS": "true"}


@pytest.fixture
def settings(make_settings):
    return make_settings(**WANTED)


async def test_media_calls_are_rate_limited_and_counted_per_model(runtime, gateway, media_upstream):
    channel = await add_channel(runtime, media_upstream.url, models="dall-e-2,tts-1,whisper-1,jina-reranker-v2")
    calls = {
        "/v1/images/generations": {"json": {"model": "dall-e-2", "prompt": "a fox", "size": "256x256"}},
        "/v1/audio/speech": {"json": {"model": "tts-1", "voice": "alloy", "input": "Hello there"}},
        "/v1/rerank": {"json": {"model": "jina-reranker-v2", "query": "q", "documents": ["a", "b"]}},
        "/v1/audio/transcriptions": {"data": {"model": "whisper-1"},
                                     "files": {"file": ("a.wav", media_fake.small_wav(), "audio/wav")}},
    }
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:
        for path, request in calls.items():
            key = await add_token(runtime, rpm_limit=2)
            headers = {"Authorization": f"Bearer sk-{key}"}
            codes = [(await client.post(path, headers=headers, **request)).status_code for _ in range(2)]
            assert codes == [200, 200], (path, codes)
            refused = await client.post(path, headers=headers, **request)
            assert refused.status_code == 429, (path, refused.text)
            assert int(refused.headers["retry-after"]) >= 1 and refused.headers["x-ratelimit-limit-requests"] == "2"
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert len(media_upstream.seen) == 8  # refused calls never reach the upstream
        text = (await client.get("/metrics")).text
    entries = await logs(runtime)
    for model in ("dall-e-2", "tts-1", "jina-reranker-v2", "whisper-1"):
        labels = {"model": model, "channel": str(channel)}
        assert sample(text, "oneapi_relay_requests_total", **labels, outcome="success") == 2, model
        assert sample(text, "oneapi_relay_request_duration_seconds_count", **labels) == 2, model
        charged = sum(e["quota"] for e in entries if e["model_name"] == model)
        assert sample(text, "oneapi_relay_quota_total", **labels) == charged > 0, model
    assert sample(text, "oneapi_relay_tokens_total", model="tts-1", kind="prompt") == 2 * len("Hello there")
    assert sample(text, "oneapi_relay_tokens_total", model="whisper-1", kind="completion") > 0
    assert sample(text, "oneapi_channel_attempts_total", channel=str(channel), result="ok") == 8
    assert sample(text, "oneapi_relay_reservations_in_flight") == 0


async def test_a_refused_media_call_releases_its_concurrency_slot_and_counts_a_failure(runtime, gateway,
                                                                                      media_upstream):
    await add_channel(runtime, media_upstream.url, key="fail500", models="dall-e-2")
    key = await add_token(runtime, concurrency_limit=1)
    headers = {"Authorization": f"Bearer sk-{key}"}
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:
        for _ in range(3):  # each failure gives its slot back: never a 429
            resp = await client.post("/v1/images/generations", headers=headers,
                                     json={"model": "dall-e-2", "prompt": "a fox"})
            assert resp.status_code == 500, resp.text
        text = (await client.get("/metrics")).text
    assert sample(text, "oneapi_relay_requests_total", model="dall-e-2", outcome="failure") == 3
    assert sample(text, "oneapi_channel_attempts_total", result="failed") == 3
    assert runtime.limiter.in_flight == 0


async def test_proxy_calls_are_rate_limited_and_counted(runtime, gateway, media_upstream):
    channel = await add_channel(runtime, media_upstream.url, type=43, key="k", models="proxy",
                                config='{"proxy_price": 7}')
    key = await add_token(runtime, user_id=await add_user(runtime, role=10), rpm_limit=2)
    headers = {"Authorization": f"Bearer sk-{key}"}
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:
        codes = [(await client.get(f"/v1/oneapi/proxy/{channel}/x", headers=headers)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        text = (await client.get("/metrics")).text
    labels = {"model": "proxy", "channel": str(channel)}
    assert sample(text, "oneapi_relay_requests_total", **labels, outcome="success") == 2
    assert sample(text, "oneapi_relay_quota_total", **labels) == 14


@pytest.mark.parametrize("path, body", [
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}),
    ("/v1/messages", {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}),
    ("/v1beta/models/gpt-4o-mini:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}),
])
async def test_the_pipeline_paths_are_limited_and_counted_too(runtime, gateway, upstream, path, body):
    await add_channel(runtime, upstream.url, models="text-embedding-3-small")
    await add_channel(runtime, upstream.url, type=36, models="gpt-4o-mini")  # chat only: converted
    key = await add_token(runtime, rpm_limit=2)
    headers = {"Authorization": f"Bearer sk-{key}", "x-goog-api-key": f"sk-{key}", "x-api-key": f"sk-{key}"}
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:
        codes = [(await client.post(path, headers=headers, json=body)).status_code for _ in range(3)]
        assert codes == [200, 200, 429], codes
        text = (await client.get("/metrics")).text
    model = body.get("model", "gpt-4o-mini")
    assert sample(text, "oneapi_relay_requests_total", model=model, outcome="success") == 2
