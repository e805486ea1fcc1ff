"""Gemini's native API end to end: the official google-genai SDK through the real gateway (uvicorn) against a
local fake provider: passed through to a Gemini channel (type 24), converted for an OpenAI-family channel;
x-goog-api-key and ?key= auth, errors in Google's envelope, Gemini-shaped model lists, billing exact."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from .conftest import add_channel, add_customer, books_balance, settled

pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
START = 5_000_000
MODEL = "gemini-2.0-flash"


async def _setup(runtime, provider, *, type: int, key: str = "ok"):
    await add_channel(runtime, provider.url, type=type, key=key, models=MODEL)
    return await add_customer(runtime, START)


def _client(gateway: str, token: str) -> genai.Client:
    return genai.Client(api_key=f"sk-{token}", http_options=types.HttpOptions(base_url=gateway, api_version="v1beta"))


async def _books_balance(runtime, user_id: int) -> list[dict]:
    entries = await books_balance(runtime, user_id, START)
    assert sum(e["quota"] for e in entries) > 0
    return entries


async def test_pass_through_to_a_gemini_channel(runtime, gateway, provider):
    user_id, token = await _setup(runtime, provider, type=24)
    client = _client(gateway, token)
    answer = await client.aio.models.generate_content(
        model=MODEL, contents="Explain how AI works",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50))
    assert answer.text == "Hello from Gemini."
    assert answer.usage_metadata is not None and answer.usage_metadata.total_token_count == 17
    sent = provider.seen[-1]
    assert sent.path == f"/v1beta/models/{MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == "ok"  # the channel's key, never the client's
    assert sent.json["contents"] == [{"parts": [{"text": "Explain how AI works"}], "role": "user"}]
    texts = [chunk.text async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL, contents="Stream please")]
    assert texts == ["Hello", " from Gemini."]
    assert provider.seen[-1].path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    entries = await _books_balance(runtime, user_id)
    assert [(e["prompt_tokens"], e["completion_tokens"], e["is_stream"]) for e in entries] == [
        (11, 6, False), (11, 6, True)]


async def test_converted_for_an_openai_channel_with_function_calls(runtime, gateway, provider):
    user_id, token = await _setup(runtime, provider, type=36)
    client = _client(gateway, token)
    weather = types.FunctionDeclaration(
        name="get_weather", description="Weather of a city.",
        parameters=types.Schema(type=types.Type.OBJECT, properties={"location": types.Schema(type=types.Type.STRING)}))
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[weather])],
                                         automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    answer = await client.aio.models.generate_content(model=MODEL, contents="Weather in Paris?", config=config)
    assert answer.function_calls is not None
    assert [(c.name, c.args) for c in answer.function_calls] == [("get_weather", {"location": "Paris"})]
    sent = provider.seen[-1]
    assert sent.path == "/v1/chat/completions" and sent.json["model"] == MODEL
    assert sent.json["tools"][0]["function"]["parameters"]["type"] == "object"

    chunks = [chunk async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL, contents="Weather and time?", config=config)]
    text = "".join(c.text or "" for c in chunks if c.candidates and any(p.text and not p.thought
                                                                         for p in c.candidates[0].content.parts))
    assert text == "Hello from chat."
    calls = [call for c in chunks for call in (c.function_calls or [])]
    assert [(c.name, c.args) for c in calls] == [("get_weather", {"location": "Paris"}), ("get_time", {"tz": "UTC"})]
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.total_token_count == 34
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    entries = await _books_balance(runtime, user_id)
    assert [(e["prompt_tokens"], e["completion_tokens"]) for e in entries] == [(21, 13), (21, 13)]


async def test_auth_errors_and_model_lists_are_googles(runtime, gateway, provider):
    _user_id, token = await _setup(runtime, provider, type=24)
    with pytest.raises(genai_errors.ClientError) as refused:
        await _client(gateway, "wrong").aio.models.generate_content(model=MODEL, contents="hi")
    assert refused.value.code == 401 and refused.value.status == "UNAUTHENTICATED"
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        by_query = await http.post(f"/v1beta/models/{MODEL}:generateContent?key=sk-{token}",
                                   json={"contents": [{"parts": [{"text": "hi"}]}]})
        assert by_query.status_code == 200 and by_query.json()["candidates"][0]["content"]["parts"][0]["text"]
        assert "key=" not in provider.seen[-1].query
        v1 = await http.post(f"/v1/models/{MODEL}:generateContent", json={"contents": [{"parts": [{"text": "hi"}]}]},
                             headers={"x-goog-api-key": f"sk-{token}"})  # Gemini's v1 API version
        assert v1.status_code == 200 and v1.json()["usageMetadata"]["totalTokenCount"] == 17
        empty = await http.post(f"/v1beta/models/{MODEL}:generateContent", json={"contents": []},
                                headers={"x-goog-api-key": f"sk-{token}"})
        assert empty.status_code == 400 and set(empty.json()["error"]) == {"code", "message", "status"}
        assert empty.json()["error"]["status"] == "INVALID_ARGUMENT"
        unknown = await http.post(f"/v1beta/models/{MODEL}:embedText", json={},
                                  headers={"x-goog-api-key": f"sk-{token}"})
        assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"
        not_json = await http.post(f"/v1beta/models/{MODEL}:generateContent", content=b"{",
                                   headers={"x-goog-api-key": f"sk-{token}"})
        assert not_json.status_code == 400 and not_json.json()["error"]["status"] == "INVALID_ARGUMENT"
        listed = await http.get("/v1/models", headers={"x-goog-api-key": f"sk-{token}"})
        assert listed.json()["models"][0]["name"] == f"models/{MODEL}"
        openai_shape = await http.get("/v1/models", headers={"Authorization": f"Bearer sk-{token}"})
        assert openai_shape.json()["object"] == "list"
    counted = await _client(gateway, token).aio.models.count_tokens(model=MODEL, contents="Explain how AI works")
    assert counted.total_tokens is not None and counted.total_tokens > 3
    names = [m.name async for m in await _client(gateway, token).aio.models.list()]
    assert names == [f"models/{MODEL}"]
    model = await _client(gateway, token).aio.models.get(model=MODEL)
    assert model.name == f"models/{MODEL}"


async def test_upstream_error_mid_request_is_googles_envelope(runtime, gateway, provider):
    _user_id, token = await _setup(runtime, provider, type=24, key="fail500")
    with pytest.raises(genai_errors.ServerError) as failed:
        await _client(gateway, token).aio.models.generate_content(model=MODEL, contents="hi")
    assert failed.value.code == 500 and "upstream says 500" in str(failed.value.message)


@pytest.mark.parametrize("channel_type", [24, 36], ids=["pass-through", "converted"])
async def test_a_client_leaving_mid_stream_is_billed_exactly(runtime, gateway, provider, channel_type):
    user_id, token = await _setup(runtime, provider, type=channel_type, key="slow")
    async with httpx.AsyncClient(timeout=30) as http, http.stream(
            "POST", f"{gateway}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
            json={"contents": [{"parts": [{"text": "long"}]}]}, headers={"x-goog-api-key": f"sk-{token}"}) as resp:
        assert resp.status_code == 200
        async for _chunk in resp.aiter_bytes():
            if provider.slow_sent >= 5:
                break
    await asyncio.wait_for(provider.disconnected.wait(), 10)
    await settled(runtime, user_id)
    [entry] = await _books_balance(runtime, user_id)
    assert entry["is_stream"]
