"""AWS Bedrock end to end: the official openai SDK -> the gateway (real server) -> a fake Bedrock Runtime that
recomputes every request's SigV4 signature with the test keys and answers in Bedrock's wire formats (Claude
invoke JSON, Converse JSON, binary event streams cut into 37-byte network chunks). Billing is exact."""

from __future__ import annotations

import asyncio
import json

import openai
import orjson
import pytest
from pydantic import BaseModel
from sqlalchemy import text

from oneapi_app.models import Channel
from tests.fakes_cloud import (
    REPLY,
    TEST_AK,
    TEST_REGION,
    TEST_SESSION_TOKEN,
    TEST_SK,
    TEST_TEMP_AK,
    TEST_TEMP_SK,
    fake_bedrock,
)

from .conftest import add_channel, add_token, add_user, logs, row

START = 5_000_000
CLAUDE, NOVA, BROKEN = "claude-3-5-sonnet-20240620", "amazon.nova-pro-v1:0", "amazon.nova-midbreak-v1:0"
TOOLS = [{"type": "function", "function": {"name": "top_song", "description": "The top song of a station",
                                           "parameters": {"type": "object", "properties": {"sign": {"type": "string"}},
                                                          "required": ["sign"]}}}]


def _config(sk: str = TEST_SK) -> str:
    return orjson.dumps({"region": TEST_REGION, "ak": TEST_AK, "sk": sk}).decode()


async def test_bedrock_channel_end_to_end(runtime, gateway):
    async with fake_bedrock() as bedrock:
        channel_id = await add_channel(runtime, bedrock.url, type=33, key=f"{TEST_AK}|{TEST_SK}|{TEST_REGION}",
                                       models=f"{CLAUDE},{NOVA},{BROKEN}", config=_config())
        user_id = await add_user(runtime, quota=50_000_000)
        token = await add_token(runtime, user_id=user_id, unlimited=False, remain_quota=START)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        hi = [{"role": "user", "content": "hi"}]

        # Claude through /invoke
        answer = await client.chat.completions.create(model=CLAUDE, messages=hi, max_tokens=50)
        assert answer.choices[0].message.content == "".join(REPLY) and answer.choices[0].finish_reason == "stop"
        assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (40, 6)
        seen = bedrock.seen[-1]
        assert seen["path"] == "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke"
        assert seen["json"]["anthropic_version"] == "bedrock-2023-05-31" and "model" not in seen["json"]

        # Claude through /invoke-with-response-stream (binary event stream of base64 Anthropic events)
        stream = await client.chat.completions.create(model=CLAUDE, messages=hi, stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(REPLY)
        assert chunks[-1].usage is not None
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (30, len(REPLY))
        assert bedrock.seen[-1]["action"] == "invoke-with-response-stream"

        # Converse: a tool call, whole and streamed (its JSON split across events and network chunks)
        answer = await client.chat.completions.create(model=NOVA, messages=hi, tools=TOOLS)  # type: ignore[arg-type]
        call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert (call.function.name, json.loads(call.function.arguments)) == ("top_song", {"sign": "WZPZ"})  # type: ignore[union-attr]
        assert answer.choices[0].finish_reason == "tool_calls"
        assert bedrock.seen[-1]["path"] == "/model/amazon.nova-pro-v1:0/converse"
        assert bedrock.seen[-1]["json"]["toolConfig"]["tools"][0]["toolSpec"]["name"] == "top_song"

        stream = await client.chat.completions.create(model=NOVA, messages=hi, tools=TOOLS, stream=True,  # type: ignore[arg-type]
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        arguments = "".join(t.function.arguments or "" for c in chunks if c.choices
                            for t in c.choices[0].delta.tool_calls or () if t.function)
        assert text == "".join(REPLY) and json.loads(arguments) == {"sign": "WZPZ"}
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (40, 9)  # type: ignore[union-attr]

        # a stream the model breaks: the client gets what came, then an error; what came is billed
        stream = await client.chat.completions.create(model=BROKEN, messages=hi, stream=True)
        received = []
        with pytest.raises(openai.APIError) as info:
            async for c in stream:
                received += [c.choices[0].delta.content or ""] if c.choices else []
        assert "The model stream broke." in str(info.value) and "".join(received) == "".join(REPLY[:2])

        assert bedrock.rejected == [] and len(bedrock.seen) == 5  # every request carried a valid signature
        assert all(TEST_SK not in str(s["headers"]) for s in bedrock.seen)

        # the dashboard's channel test signs its request the same way (it is not billed)
        async with runtime.db.session() as session:
            channel = await session.get(Channel, channel_id)
        result, _ = await runtime.probe_channel(channel, NOVA)
        assert result.success and result.message == "".join(REPLY) and bedrock.rejected == []

    entries = [e for e in await logs(runtime) if e["channel_id"] == channel_id]
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries[:4]] == [(40, 6), (30, 5), (40, 7), (40, 9)]
    assert "estimated" in entries[4]["content"]
    tokens = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE user_id = :i", i=user_id)
    assert tokens["used_quota"] > 0 and tokens["remain_quota"] + tokens["used_quota"] == START
    assert sum(e["quota"] for e in entries) == tokens["used_quota"]


async def test_bedrock_wrong_secret_is_refused_and_disables_the_channel(runtime, gateway):
    runtime.options.AutomaticDisableChannelEnabled = True
    async with fake_bedrock() as bedrock:
        wrong = "not/the/right/secret/key/at/all/000000"
        channel_id = await add_channel(runtime, bedrock.url, type=33, key=f"{TEST_AK}|{wrong}|{TEST_REGION}",
                                       models=CLAUDE, config=_config(wrong))
        token = await add_token(runtime)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        with pytest.raises(openai.PermissionDeniedError) as info:
            await client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}])
        assert "signature" in str(info.value) and wrong not in str(info.value)
        assert bedrock.rejected == ["signature mismatch"]
        async with asyncio.timeout(30):
            while (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=channel_id))["status"] != 3:
                await asyncio.sleep(0.02)  # auto-disabled in the background


async def test_bedrock_temporary_credentials_end_to_end(runtime, gateway):
    """STS / SSO credentials: the session token from the config (the key left empty is built as
    AK|SK|region|token, as the dashboard's editor does) or from the key's 4th part is sent as
    X-Amz-Security-Token, which the fake wants present, right and signed; an upstream echoing it never gets
    it to the client or the logs."""
    echo, lite = "amazon.nova-echotoken-v1:0", "amazon.nova-lite-v1:0"
    async with fake_bedrock() as bedrock:
        config = orjson.dumps({"region": TEST_REGION, "ak": TEST_TEMP_AK, "sk": TEST_TEMP_SK,
                               "session_token": TEST_SESSION_TOKEN}).decode()
        from_config = await add_channel(runtime, bedrock.url, type=33, key="", models=f"{CLAUDE},{NOVA},{echo}",
                                        config=config)
        stored = await row(runtime, "SELECT key FROM channels WHERE id = :i", i=from_config)
        assert stored["key"] == f"{TEST_TEMP_AK}|{TEST_TEMP_SK}|{TEST_REGION}|{TEST_SESSION_TOKEN}"
        await add_channel(runtime, bedrock.url, type=33, models=lite,
                          key=f"{TEST_TEMP_AK}|{TEST_TEMP_SK}|{TEST_REGION}|{TEST_SESSION_TOKEN}")
        token = await add_token(runtime)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        hi = [{"role": "user", "content": "hi"}]

        answer = await client.chat.completions.create(model=NOVA, messages=hi)
        assert answer.choices[0].message.content == "".join(REPLY)
        stream = await client.chat.completions.create(model=CLAUDE, messages=hi, stream=True)
        assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "".join(REPLY)
        answer = await client.chat.completions.create(model=lite, messages=hi)  # the key's 4th part
        assert answer.choices[0].message.content == "".join(REPLY)
        assert bedrock.rejected == [] and len(bedrock.seen) == 3
        assert all(s["headers"]["X-Amz-Security-Token"] == TEST_SESSION_TOKEN for s in bedrock.seen)
        assert all("x-amz-security-token" in s["headers"]["Authorization"] for s in bedrock.seen)

        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(model=echo, messages=hi)
        assert "is not accepted here" in str(info.value) and TEST_SESSION_TOKEN not in str(info.value)
        assert TEST_SESSION_TOKEN in str(bedrock.seen[-1]["headers"])  # it was echoed, and scrubbed

        async with runtime.db.session() as session:
            channel = await session.get(Channel, from_config)
        result, _ = await runtime.probe_channel(channel, NOVA)
        assert result.success and bedrock.rejected == []

    await runtime.ledger.flush()
    async with runtime.db.log_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT content FROM logs"))).scalars().all()
    assert rows and all(TEST_SESSION_TOKEN not in (r or "") for r in rows)


async def test_bedrock_wrong_session_token_is_refused_and_not_shown(runtime, gateway):
    async with fake_bedrock() as bedrock:
        wrong = "IQoJb3JpZ2luX2VjWRONGtokenWRONGtokenWRONGtoken0000=="
        await add_channel(runtime, bedrock.url, type=33, models=NOVA,
                          key=f"{TEST_TEMP_AK}|{TEST_TEMP_SK}|{TEST_REGION}|{wrong}")
        token = await add_token(runtime)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        with pytest.raises(openai.PermissionDeniedError) as info:
            await client.chat.completions.create(model=NOVA, messages=[{"role": "user", "content": "hi"}])
        assert "security token" in str(info.value) and wrong not in str(info.value)
        assert bedrock.rejected == ["wrong session token"]


class Weather(BaseModel):
    city: str
    temperature_c: float


async def test_bedrock_converse_response_format_end_to_end(runtime, gateway):
    """response_format through the openai SDK: json_schema (the SDK's own ``parse`` with a pydantic model,
    whole and streamed) comes back as the message's JSON content through a forced tool; json_object adds the
    instruction; the client's own tools stay callable beside the schema. Billing as usual."""
    async with fake_bedrock() as bedrock:
        channel_id = await add_channel(runtime, bedrock.url, type=33, key=f"{TEST_AK}|{TEST_SK}|{TEST_REGION}",
                                       models=NOVA)
        token = await add_token(runtime)
        client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
        ask = [{"role": "user", "content": "Weather in Paris?"}]

        parsed = await client.chat.completions.parse(model=NOVA, messages=ask, response_format=Weather)  # type: ignore[arg-type]
        choice = parsed.choices[0]
        assert choice.message.parsed == Weather(city="Paris", temperature_c=21.5)
        assert not choice.message.tool_calls and choice.finish_reason == "stop"
        assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens) == (50, 11)  # type: ignore[union-attr]
        sent = bedrock.seen[-1]["json"]["toolConfig"]
        assert sent["toolChoice"] == {"tool": {"name": "Weather"}} and len(sent["tools"]) == 1
        assert sent["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == ["city", "temperature_c"]

        async with client.chat.completions.stream(model=NOVA, messages=ask, response_format=Weather,  # type: ignore[arg-type]
                                                  stream_options={"include_usage": True}) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_completion()
        assert final.choices[0].message.parsed == Weather(city="Paris", temperature_c=21.5)
        assert final.choices[0].finish_reason == "stop" and not final.choices[0].message.tool_calls
        assert bedrock.seen[-1]["action"] == "converse-stream"

        answer = await client.chat.completions.create(model=NOVA, messages=ask,
                                                      response_format={"type": "json_object"})
        assert bedrock.seen[-1]["json"]["system"][-1]["text"].startswith("Respond with a single valid JSON object")
        assert answer.choices[0].message.content == "".join(REPLY)  # the fake model's words, passed as they are

        # the client's own tools beside the schema: the model may call them (here it does)
        answer = await client.chat.completions.create(model=NOVA, messages=ask, tools=TOOLS,  # type: ignore[arg-type]
                                                      response_format={"type": "json_schema", "json_schema": {
                                                          "name": "weather", "schema": Weather.model_json_schema()}})
        assert answer.choices[0].message.tool_calls[0].function.name == "top_song"  # type: ignore[index,union-attr]
        assert answer.choices[0].finish_reason == "tool_calls"
        sent = bedrock.seen[-1]["json"]["toolConfig"]
        assert [t["toolSpec"]["name"] for t in sent["tools"]] == ["top_song", "weather"]
        assert sent["toolChoice"] == {"any": {}}

        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(model=NOVA, messages=ask, response_format={"type": "xml"})  # type: ignore[arg-type,typeddict-item]
        assert "json_schema" in str(info.value)
        assert bedrock.rejected == [] and len(bedrock.seen) == 4  # the malformed one never left the gateway

    entries = [e for e in await logs(runtime) if e["channel_id"] == channel_id]
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries] == [(50, 11), (50, 11), (40, 7), (40, 7)]
