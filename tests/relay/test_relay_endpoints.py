"""The relay end to end with the official openai SDK against a fake upstream, through a real server."""

from __future__ import annotations

import gzip

import httpx
import openai
import orjson
import pytest

from .conftest import REPLY_WORDS, add_channel, add_token, logs, row, sdk

MODEL = "gpt-4o-mini"



async def test_chat_non_stream_bills_upstream_usage(runtime, gateway, upstream):
    channel_id = await add_channel(runtime, upstream.url)
    key = await add_token(runtime, unlimited=False, remain_quota=1_000_000)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "".join(REPLY_WORDS)
    assert answer.usage.prompt_tokens == 10 and answer.usage.completion_tokens == 20
    seen = upstream.seen[-1]
    assert seen.headers["Authorization"] == "Bearer ok"
    # gpt-4o-mini: ratio 0.075, completion ratio 4 -> ceil((10 + 20*4) * 0.075) = 7
    [entry] = await logs(runtime)
    assert (entry["quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (7, 10, 20)
    assert entry["channel_id"] == channel_id and entry["model_name"] == MODEL and not entry["is_stream"]
    assert entry["request_id"] and "estimated" not in entry["content"]
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": 1_000_000 - 7, "used_quota": 7}
    user = await row(runtime, "SELECT used_quota, request_count FROM users WHERE id = 1")
    assert user == {"used_quota": 7, "request_count": 1}
    channel = await row(runtime, "SELECT used_quota FROM channels WHERE id = :id", id=channel_id)
    assert channel["used_quota"] == 7


async def test_non_stream_is_forwarded_byte_for_byte(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    raw = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x_unknown":{"keep":[1,2.50,"a"]}}'
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{gateway}/v1/chat/completions?trace=1", content=raw,
                                 headers={"Authorization": f"Bearer sk-{key}", "Content-Type": "application/json"})
    assert resp.status_code == 200
    assert resp.headers["x-upstream"] == "fake" and resp.headers["x-oneapi-request-id"]
    assert upstream.seen[-1].raw == raw  # unknown fields and number formatting untouched
    assert upstream.seen[-1].query == "trace=1"
    assert resp.json()["usage"]["total_tokens"] == 30


async def test_stream_without_include_usage_strips_usage_chunk(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    stream = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(REPLY_WORDS)
    assert all(c.usage is None for c in chunks)
    assert upstream.seen[-1].json["stream_options"] == {"include_usage": True}  # always asked upstream
    [entry] = await logs(runtime)
    assert entry["is_stream"] and entry["completion_tokens"] == len(REPLY_WORDS)
    assert "estimated" not in entry["content"]


async def test_stream_with_include_usage_passes_through(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}, "extra_field": "kept"}
    raw = orjson.dumps(body)
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", f"{gateway}/v1/chat/completions", content=raw,
                                 headers={"Authorization": f"Bearer sk-{key}"}) as resp:
            assert resp.headers["content-type"] == "text/event-stream"
            lines = [line async for line in resp.aiter_lines() if line]
    assert upstream.seen[-1].raw == raw
    assert all(line.startswith("data: ") for line in lines)  # the upstream's comment was dropped
    assert lines[-1] == "data: [DONE]"
    usage = [orjson.loads(line[6:])["usage"] for line in lines[:-1] if '"usage"' in line]
    assert usage == [{"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16}]


async def test_stream_without_upstream_usage_is_estimated(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="nousage")
    key = await add_token(runtime)
    stream = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True)
    assert len([c async for c in stream]) > 0
    [entry] = await logs(runtime)
    assert "estimated" in entry["content"] and entry["completion_tokens"] > 0 and entry["prompt_tokens"] > 0


async def test_non_stream_without_usage_counts_locally(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="nousage")
    key = await add_token(runtime)
    await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    [entry] = await logs(runtime)
    assert "estimated" in entry["content"]
    assert entry["completion_tokens"] == 6  # "Hello from the fake upstream." in o200k
    assert entry["prompt_tokens"] == 8


async def test_embeddings_and_engines_path(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="text-embedding-3-small")
    key = await add_token(runtime)
    result = await sdk(gateway, key).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2 and result.usage.prompt_tokens == 7
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{gateway}/v1/engines/text-embedding-3-small/embeddings",
                                 json={"input": "hello"}, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200
    assert upstream.seen[-1].path == "/v1/embeddings"
    assert upstream.seen[-1].json == {"input": "hello", "model": "text-embedding-3-small"}
    entries = await logs(runtime)
    assert [e["prompt_tokens"] for e in entries] == [7, 7]


async def test_completions_moderations_edits(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="gpt-3.5-turbo-instruct,text-moderation-stable,text-davinci-edit-001")
    key = await add_token(runtime)
    client = sdk(gateway, key)
    completion = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert completion.choices[0].text == "done"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer sk-{key}"}) as http:
        moderation = await http.post(f"{gateway}/v1/moderations", json={"input": "text"})
        edit = await http.post(f"{gateway}/v1/edits", json={"model": "text-davinci-edit-001", "input": "a",
                                                            "instruction": "fix"})
        missing = await http.post(f"{gateway}/v1/completions", json={"model": "gpt-3.5-turbo-instruct"})
    assert moderation.status_code == 200 and upstream.seen[-2].path == "/v1/moderations"
    assert edit.status_code == 200 and upstream.seen[-1].path == "/v1/edits"
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "prompt_missing"


async def test_models_list_and_retrieve(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini,my-custom-model")
    key = await add_token(runtime)
    client = sdk(gateway, key)
    ids = sorted([m.id async for m in client.models.list()])
    assert ids == ["gpt-4o-mini", "my-custom-model"]
    model = await client.models.retrieve("gpt-4o-mini")
    assert model.owned_by == "openai"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer sk-{key}"}) as http:
        listed = (await http.get(f"{gateway}/v1/models")).json()
        missing = await http.get(f"{gateway}/v1/models/nope")
    custom = next(m for m in listed["data"] if m["id"] == "my-custom-model")
    assert custom["owned_by"] == "custom" and "permission" not in custom
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    limited = await add_token(runtime, models="gpt-4o")
    ids = sorted([m.id async for m in sdk(gateway, limited).models.list()])
    assert ids == ["gpt-4o"]


async def test_malformed_json_is_a_clear_400(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    resp = await client.post("/v1/chat/completions", content=b'{"model": "gpt-4o-mini", "messages": [',
                             headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["message"].startswith("请求体不是合法的 JSON")
    assert "(request id: " in error["message"] and error["type"] == "one_api_error"
    resp = await client.post("/v1/chat/completions", json=[1, 2], headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 400 and "JSON 对象" in resp.json()["error"]["message"]
    resp = await client.post("/v1/chat/completions", json={"model": MODEL, "messages": []},
                             headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_text_request"
    assert not upstream.seen


async def test_ten_megabyte_body(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    big = "x " * (5 * 1024 * 1024)
    raw = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": big}]})
    assert len(raw) > 10 * 1024 * 1024
    async with httpx.AsyncClient(timeout=60) as client:
        resp = await client.post(f"{gateway}/v1/chat/completions", content=raw,
                                 headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200
    assert upstream.seen[-1].raw == raw


async def test_gzip_request_body(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    raw = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "zip"}]})
    resp = await client.post("/v1/chat/completions", content=gzip.compress(raw),
                             headers={"Authorization": f"Bearer sk-{key}", "Content-Encoding": "gzip"})
    assert resp.status_code == 200 and upstream.seen[-1].raw == raw


async def test_model_mapping_and_system_prompt(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="alias", model_mapping='{"alias": "gpt-4o"}',
                      system_prompt="Be brief.")
    key = await add_token(runtime)
    await sdk(gateway, key).chat.completions.create(
        model="alias", messages=[{"role": "system", "content": "old"}, {"role": "user", "content": "hi"}])
    sent = upstream.seen[-1].json
    assert sent["model"] == "gpt-4o"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    [entry] = await logs(runtime)
    assert entry["model_name"] == "gpt-4o" and entry["system_prompt_reset"]


async def test_upstream_error_is_forwarded_and_refunded(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, key="fail400")
    key = await add_token(runtime, unlimited=False, remain_quota=100_000)
    with pytest.raises(openai.BadRequestError) as info:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    error = info.value.body
    assert error["type"] == "test_error" and error["message"].startswith("upstream says 400 (request id: ")
    assert await logs(runtime) == []
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": 100_000, "used_quota": 0}


async def test_not_implemented_and_unknown_paths(client):
    resp = await client.post("/v1/images/variations")
    assert resp.status_code == 501
    assert resp.json() == {"error": {"message": "API not implemented", "type": "one_api_error", "param": "",
                                     "code": "api_not_implemented"}}
    resp = await client.get("/v1/nothing/here")
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == "Invalid URL (GET /v1/nothing/here)"


async def test_billing_compat_endpoints(runtime, client):
    key = await add_token(runtime, unlimited=False, remain_quota=250_000)
    headers = {"Authorization": f"Bearer sk-{key}"}
    for prefix in ("/v1", ""):
        sub = (await client.get(f"{prefix}/dashboard/billing/subscription", headers=headers)).json()
        assert sub["object"] == "billing_subscription" and sub["hard_limit_usd"] == 0.5
        usage = (await client.get(f"{prefix}/dashboard/billing/usage", headers=headers)).json()
        assert usage == {"object": "list", "total_usage": 0.0}


async def test_rewritten_body_keeps_unknown_fields(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    stream = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_body={"vendor_knob": {"depth": 3}, "top_k": 5})
    assert [c async for c in stream]
    sent = upstream.seen[-1].json
    assert sent["vendor_knob"] == {"depth": 3} and sent["top_k"] == 5
    assert sent["stream_options"] == {"include_usage": True}
