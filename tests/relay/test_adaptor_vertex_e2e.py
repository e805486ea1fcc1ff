"""Vertex AI end to end: the official openai SDK -> the gateway (real server) -> a fake Vertex AI whose token
endpoint checks the service account's JWT against its public key and counts the exchanges (100 concurrent
first requests make exactly one), and whose model endpoints accept only the tokens it issued. Gemini and
Claude publishers, whole answers and streams; billing is exact."""

from __future__ import annotations

import asyncio

import openai
import orjson

from oneapi_app.models import Channel
from tests.fakes_cloud import REPLY, fake_vertex, service_account

from .conftest import add_channel, add_token, add_user, logs, row

START = 5_000_000
GEMINI, CLAUDE = "gemini-1.5-pro-002", "claude-3-5-sonnet-v2@20241022"


async def test_vertex_channel_end_to_end(runtime, gateway):
    holder: list[dict] = []
    async with fake_vertex(holder) as vertex:
        account = service_account(f"{vertex.url}/token", project="sa-project")
        holder.append(account)
        config = {"region": "us-east5", "vertex_ai_project_id": "my-project", "vertex_ai_adc": orjson.dumps(account).decode()}
        channel_id = await add_channel(runtime, vertex.url, type=42, key="us-east5|my-project|sa-1",
                                       models=f"{GEMINI},{CLAUDE}", config=orjson.dumps(config).decode())
        user_id = await add_user(runtime, quota=50_000_000)
        token = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=START)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0, timeout=60)
        hi = [{"role": "user", "content": "hi"}]

        # 100 simultaneous first requests: one token exchange, every request served with its token
        vertex.exchange_delay = 0.3
        answers = await asyncio.gather(*(client.chat.completions.create(model=GEMINI, messages=hi)
                                         for _ in range(100)))
        assert vertex.exchanges == 1 and vertex.rejected == []
        assert {a.choices[0].message.content for a in answers} == {"".join(REPLY)}
        assert (answers[0].usage.prompt_tokens, answers[0].usage.completion_tokens) == (11, 8)  # type: ignore[union-attr]
        seen = vertex.seen[-1]
        assert (seen["publisher"], seen["model"], seen["action"]) == ("google", GEMINI, "generateContent")
        assert (seen["project"], seen["region"]) == ("my-project", "us-east5")
        assert seen["headers"]["Authorization"] == "Bearer ya29.fake-1"

        stream = await client.chat.completions.create(model=GEMINI, messages=hi, stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(REPLY)
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (9, 5)  # type: ignore[union-attr]
        assert vertex.seen[-1]["action"] == "streamGenerateContent" and vertex.seen[-1]["query"] == "alt=sse"

        # Claude: rawPredict / streamRawPredict on the anthropic publisher
        answer = await client.chat.completions.create(model=CLAUDE, messages=hi, max_tokens=64)
        assert answer.choices[0].message.content == "".join(REPLY)
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (40, 6)  # type: ignore[union-attr]
        seen = vertex.seen[-1]
        assert (seen["publisher"], seen["model"], seen["action"]) == ("anthropic", CLAUDE, "rawPredict")
        assert seen["json"]["anthropic_version"] == "vertex-2023-10-16" and "model" not in seen["json"]

        stream = await client.chat.completions.create(model=CLAUDE, messages=hi, stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(REPLY)
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (30, len(REPLY))  # type: ignore[union-attr]
        assert vertex.seen[-1]["action"] == "streamRawPredict" and vertex.seen[-1]["json"]["stream"] is True
        assert vertex.exchanges == 1 and vertex.rejected == []

        # a token revoked before its expiry: that request fails (502, retryable, the channel stays enabled),
        # the next one makes a new exchange
        runtime.options.AutomaticDisableChannelEnabled = True
        vertex.tokens.clear()
        try:
            await client.chat.completions.create(model=GEMINI, messages=hi)
        except openai.InternalServerError as exc:
            assert exc.status_code == 502 and "invalid authentication" in str(exc)
        else:
            raise AssertionError("a revoked token must fail its request")
        answer = await client.chat.completions.create(model=GEMINI, messages=hi)
        assert answer.choices[0].message.content == "".join(REPLY) and vertex.exchanges == 2
        assert (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=channel_id))["status"] == 1
        vertex.rejected.clear()

        # the dashboard's channel test makes its own exchange and reads the answer as the relay does
        async with runtime.db.session() as session:
            channel = await session.get(Channel, channel_id)
        result, tested = await runtime.probe_channel(channel, CLAUDE)
        assert result.success and result.message == "".join(REPLY) and tested == CLAUDE
        assert vertex.exchanges == 3 and vertex.rejected == []

    entries = [e for e in await logs(runtime) if e["channel_id"] == channel_id]
    assert len(entries) == 104 and all("estimated" not in e["content"] for e in entries)
    tokens = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE user_id = :i", i=user_id)
    assert tokens["used_quota"] > 0 and tokens["remain_quota"] + tokens["used_quota"] == START
    assert sum(e["quota"] for e in entries) == tokens["used_quota"]


async def test_vertex_refused_service_account_is_a_clear_error(runtime, gateway):
    holder: list[dict] = []
    async with fake_vertex(holder) as vertex:
        holder.append(service_account(f"{vertex.url}/token"))  # the fake knows another key than the channel's
        account = service_account(f"{vertex.url}/token")
        config = {"region": "us-east5", "vertex_ai_project_id": "p", "vertex_ai_adc": orjson.dumps(account).decode()}
        await add_channel(runtime, vertex.url, type=42, key="us-east5|p|x", models=GEMINI,
                          config=orjson.dumps(config).decode())
        token = await add_token(runtime)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        try:
            await client.chat.completions.create(model=GEMINI, messages=[{"role": "user", "content": "hi"}])
        except openai.APIStatusError as exc:
            assert exc.status_code == 400 and "invalid_grant" in str(exc) or "Invalid JWT" in str(exc)
            assert "PRIVATE KEY" not in str(exc)
        else:
            raise AssertionError("a refused service account must fail the request")
        assert vertex.rejected == ["bad assertion: InvalidSignature"] and vertex.seen == []
