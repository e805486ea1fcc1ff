"""POST /v1/responses end to end: the official openai SDK (``client.responses.create``, ``.stream``,
``stream=True``) through the real gateway (uvicorn) against a local fake provider, converted for a chat-only
channel and passed through for an OpenAI channel; stored responses continued with ``previous_response_id``
and refused to another user; billing exact, a client that leaves mid-stream included."""

from __future__ import annotations

import asyncio

import httpx
import openai
import orjson
import pytest

from .conftest import add_channel, add_customer, add_token, add_user, books_balance, logs, settled
from .fake_dialect_upstream import response_events

START = 5_000_000
TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather of a city.",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}},
         {"type": "function", "name": "get_time", "description": "Time in a zone.",
          "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}]


async def _setup(runtime, provider, *, type: int = 36, key: str = "ok", model: str = "gpt-4o-mini"):
    await add_channel(runtime, provider.url, type=type, key=key, models=model)
    return await add_customer(runtime, START)


def _client(gateway: str, token: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0, timeout=30)


async def _books_balance(runtime, user_id: int) -> int:
    return sum(e["quota"] for e in await books_balance(runtime, user_id, START))


async def test_converted_whole_answer_and_stored_continuation(runtime, gateway, provider):
    user_id, token = await _setup(runtime, provider)  # DeepSeek: chat completions only
    client = _client(gateway, token)
    first = await client.responses.create(model="gpt-4o-mini", instructions="Be brief.", input="Hi there")
    assert first.output_text == "Hello from chat." and first.id.startswith("resp_")
    assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (21, 13)
    assert [item.type for item in first.output] == ["reasoning", "message"]
    sent = provider.seen[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    assert sent.json["model"] == "gpt-4o-mini"

    second = await client.responses.create(model="gpt-4o-mini", input="And again?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert [m["role"] for m in provider.seen[-1].json["messages"]] == ["user", "assistant", "user"]
    assert provider.seen[-1].json["messages"][1]["content"] == "Hello from chat."
    fetched = await client.responses.retrieve(second.id)
    assert fetched.output_text == "Hello from chat."

    other_user = await add_user(runtime)
    other = _client(gateway, await add_token(runtime, user_id=other_user))
    with pytest.raises(openai.NotFoundError) as refused:
        await other.responses.create(model="gpt-4o-mini", input="steal", previous_response_id=first.id)
    assert refused.value.body["code"] == "previous_response_not_found"
    with pytest.raises(openai.NotFoundError):
        await other.responses.retrieve(first.id)
    unstored = await client.responses.create(model="gpt-4o-mini", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(unstored.id)
    await client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(first.id)
    used = await _books_balance(runtime, user_id)
    assert used > 0


async def test_converted_stream_with_function_tools_split_across_chunks(runtime, gateway, provider):
    user_id, token = await _setup(runtime, provider)
    client = _client(gateway, token)
    async with client.responses.stream(model="gpt-4o-mini", input="weather and time?", tools=TOOLS) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert kinds.count("response.function_call_arguments.delta") == 4
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, c.name, orjson.loads(c.arguments)) for c in calls] == [
        ("call_w", "get_weather", {"location": "Paris"}), ("call_t", "get_time", {"tz": "UTC"})]
    assert final.output_text == "Hello from chat."
    assert final.usage is not None and final.usage.total_tokens == 34
    sent = provider.seen[-1].json
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"]

    # stream=True on create: the raw events, then a tool result sent back as function_call_output
    events = [e async for e in await client.responses.create(
        model="gpt-4o-mini", stream=True, previous_response_id=final.id,
        input=[{"type": "function_call_output", "call_id": "call_w", "output": "22C"},
               {"type": "function_call_output", "call_id": "call_t", "output": "12:00"}])]
    assert events[-1].type == "response.completed"
    messages = provider.seen[-1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_w", "call_t"]
    await _books_balance(runtime, user_id)


async def test_pass_through_to_an_openai_channel(runtime, gateway, provider):
    user_id, token = await _setup(runtime, provider, type=1)  # OpenAI serves /v1/responses itself
    client = _client(gateway, token)
    whole = await client.responses.create(model="gpt-4o-mini", input="Hi", reasoning={"effort": "low"})
    assert whole.id.startswith("resp_upstream") and whole.output_text == "Hello from responses."
    assert provider.seen[-1].path == "/v1/responses"
    assert provider.seen[-1].json == {"model": "gpt-4o-mini", "input": "Hi", "reasoning": {"effort": "low"}}

    body = {"model": "gpt-4o-mini", "input": "Hi", "stream": True}
    async with httpx.AsyncClient(timeout=30) as http:
        raw = (await http.post(f"{gateway}/v1/responses", json=body,
                               headers={"Authorization": f"Bearer sk-{token}"})).content
    number = int(raw.split(b'"id":"resp_upstream', 1)[1].split(b'"', 1)[0])
    assert raw == b"".join(response_events(number))  # the upstream's events as they came, event: lines included
    assert provider.seen[-1].raw == orjson.dumps(body)  # the client's bytes as sent
    async with client.responses.stream(model="gpt-4o-mini", input="Hi") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "Hello from responses."
    # a stored pass-through answer continues on any channel: the history is replayed, not the upstream's id
    follow = await client.responses.create(model="gpt-4o-mini", input="More", previous_response_id=whole.id)
    assert follow.output_text == "Hello from responses."
    replayed = provider.seen[-1].json
    assert "previous_response_id" not in replayed
    assert replayed["input"][0] == {"type": "message", "role": "user", "content": "Hi"}
    assert replayed["input"][1]["role"] == "assistant" and "id" not in replayed["input"][1]
    used = await _books_balance(runtime, user_id)
    entries = [e for e in await logs(runtime) if e["user_id"] == user_id]
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries] == [(17, 5)] * 4
    assert used == sum(e["quota"] for e in entries)


async def test_errors_are_openai_shaped(runtime, gateway, provider):
    _user_id, token = await _setup(runtime, provider, key="fail500")
    client = _client(gateway, token)
    with pytest.raises(openai.BadRequestError):
        await client.responses.create(model="gpt-4o-mini", input=[])
    with pytest.raises(openai.BadRequestError, match="input_image"):
        await client.responses.create(model="gpt-4o-mini", input=[
            {"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}])
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="gpt-4o-mini", input="x")
    with pytest.raises(openai.AuthenticationError):
        await _client(gateway, "nope").responses.create(model="gpt-4o-mini", input="x")


@pytest.mark.parametrize("channel_type", [36, 1])
async def test_a_client_leaving_mid_stream_is_billed_exactly(runtime, gateway, provider, channel_type):
    user_id, token = await _setup(runtime, provider, type=channel_type, key="slow")
    async with httpx.AsyncClient(timeout=30) as http, http.stream(
            "POST", f"{gateway}/v1/responses", json={"model": "gpt-4o-mini", "input": "long", "stream": True},
            headers={"Authorization": f"Bearer sk-{token}"}) as resp:
        assert resp.status_code == 200
        received = 0
        async for chunk in resp.aiter_bytes():
            received += len(chunk)
            if provider.slow_sent >= 5:
                break
    await asyncio.wait_for(provider.disconnected.wait(), 10)
    await settled(runtime, user_id)
    used = await _books_balance(runtime, user_id)
    assert used > 0 and received > 0
