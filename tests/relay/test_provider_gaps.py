"""Gaps the native adaptors' authors reported: a Baidu access token revoked early (HTTP 200, error 110) is
renewed and the call made again; a refused credentials exchange shows the provider's description and
disables the channel only when the provider says the credential is invalid."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from oneapi_app.errors import UpstreamFailure
from oneapi_app.relay.adaptors.baidu import parse_token as baidu_token
from oneapi_app.relay.adaptors.base import CredentialRequest
from oneapi_app.relay.adaptors.vertex import parse_token as vertex_token
from oneapi_app.relay.credentials import Credentials, refused
from oneapi_app.relay.upstream import UpstreamRequest, should_disable_channel
from tests.fakes_cn import BAIDU_KEY, COMPLETION_TOKENS, PROMPT_TOKENS, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

MODEL = "ERNIE-4.0-8K"


async def test_a_revoked_baidu_token_is_renewed_once_and_the_call_made_again(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=BAIDU_KEY, models=MODEL, type=15)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    first = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert first.choices[0].message.content == "".join(WORDS) and cn_fake.token_exchanges == 1
    cn_fake.tokens.clear()  # Baidu revokes the cached token: it answers 200 {"error_code": 110}
    answers = await asyncio.gather(*(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"q{i}"}]) for i in range(5)))
    assert all(a.choices[0].message.content == "".join(WORDS) for a in answers)
    assert cn_fake.token_exchanges == 2  # one fresh exchange for the five requests that met the revoked token
    cn_fake.tokens.clear()  # and a stream request too
    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                  stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "".join(WORDS)
    assert cn_fake.token_exchanges == 3
    one = expected_quota(runtime, MODEL, 15, PROMPT_TOKENS, COMPLETION_TOKENS)
    entries = await check_billing(runtime, key)
    assert [e["quota"] for e in entries] == [one] * 7


class _Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    async def read(self, limit: int) -> bytes:
        return self.body


class _Upstream:
    def __init__(self, status: int, body: dict) -> None:
        self.answer = _Answer(status, orjson.dumps(body))

    async def send(self, request: UpstreamRequest) -> _Answer:
        return self.answer


def _exchange(parse) -> CredentialRequest:
    return CredentialRequest("k", UpstreamRequest("POST", "http://token.invalid", {}, b""), parse)


@pytest.mark.parametrize(("status", "body", "parse", "disables", "shown"), [
    (401, {"error": "invalid_client", "error_description": "unknown client id"}, baidu_token, True,
     "unknown client id"),
    (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, vertex_token, True,
     "Invalid JWT Signature."),
    (400, {"error": "invalid_grant", "error_description": "account not found"}, vertex_token, True, "account not found"),
    (400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes)"
           " and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}, vertex_token, False,
     "short-lived token"),
    (400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: x"}, vertex_token, False,
     "Invalid grant_type"),
    (503, {"error": "backend_error", "error_description": "try again later"}, vertex_token, False, "try again later"),
    (429, {"error": "rate_limit_exceeded", "error_description": "slow down"}, baidu_token, False, "slow down"),
])
async def test_a_refused_exchange_shows_the_provider_and_disables_only_a_dead_credential(status, body, parse, disables,
                                                                                          shown):
    credentials = Credentials(_Upstream(status, body))  # type: ignore[arg-type]
    with pytest.raises(UpstreamFailure) as caught:
        await credentials.get(_exchange(parse))
    failure = caught.value
    assert shown in failure.message and body["error"] in failure.message
    assert should_disable_channel(failure) is disables
    assert failure.retryable  # another channel of the group may serve the request
    assert failure.status == (401 if disables else status if status >= 429 else 502)
    assert failure.openai_body()["error"]["code"] == body["error"]


def test_refused_without_an_oauth_body():
    failure = refused(_exchange(baidu_token), 500, b"<html>oops</html>")
    assert failure.status == 500 and failure.retryable and not should_disable_channel(failure)
    assert refused(_exchange(baidu_token), 401, b"").status == 401  # a bare 401: the key is refused


async def test_renew_drops_only_the_credential_the_request_had():
    now = [100.0]
    sent: list[int] = []

    class Upstream:
        async def send(self, request: UpstreamRequest) -> _Answer:
            sent.append(1)
            return _Answer(200, orjson.dumps({"access_token": f"t{len(sent)}", "expires_in": 3600}))

    credentials = Credentials(Upstream(), lambda: now[0])  # type: ignore[arg-type]
    request = _exchange(baidu_token)
    assert await credentials.get(request) == "t1"
    now[0] = 200.0
    began = now[0]
    assert await credentials.get(request, renew=began) == "t2"  # t1 was made before: renewed
    now[0] = 201.0
    assert await credentials.get(request, renew=began - 1) == "t2"  # t2 is younger than that request: kept
    assert len(sent) == 2


async def test_a_kind_the_native_channel_does_not_serve_names_what_is_missing(runtime, gateway, upstream):
    import openai

    await add_channel(runtime, upstream.url, key="AK|SK|us-east-1", models="text-embedding-3-small", type=33,
                      priority=10)
    token = await add_token(runtime)
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{token}", max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        await client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert caught.value.status_code == 501
    assert "AWS Bedrock 渠道只支持 chat completions，不支持 embeddings" in caught.value.message  # default language zh
    assert upstream.seen == []
    # retryable: an OpenAI channel of the group serves it
    runtime.options.RetryTimes = 1
    await add_channel(runtime, upstream.url, models="text-embedding-3-small", type=1)
    vectors = await client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert vectors.data and len(upstream.seen) == 1


async def test_vertex_embeddings_through_predict_with_reported_tokens(runtime, gateway):
    import openai

    from oneapi_app.services import pricing
    from tests.fakes_cloud import fake_vertex, service_account

    holder: list[dict] = []
    async with fake_vertex(holder) as vertex:
        account = service_account(f"{vertex.url}/token")
        holder.append(account)
        config = {"region": "us-central1", "vertex_ai_project_id": "p1", "vertex_ai_adc": orjson.dumps(account).decode()}
        await add_channel(runtime, vertex.url, type=42, key="x", models="text-embedding-004",
                          config=orjson.dumps(config).decode())
        key = await add_token(runtime, unlimited=False, remain_quota=START)
        client = sdk(gateway, key)
        vectors = await client.embeddings.create(model="text-embedding-004", input=["one two", "three four five"],
                                                 dimensions=2)
        assert [d.embedding for d in vectors.data] == [[0.5, 7.0], [0.5, 15.0]]
        assert vectors.usage.prompt_tokens == 5 and vectors.usage.total_tokens == 5
        [seen] = vertex.seen
        assert seen["publisher"] == "google" and seen["action"] == "predict" and seen["model"] == "text-embedding-004"
        assert seen["json"] == {"instances": [{"content": "one two"}, {"content": "three four five"}],
                                "parameters": {"outputDimensionality": 2}}
        assert seen["region"] == "us-central1" and seen["project"] == "p1"
        with pytest.raises(openai.BadRequestError):  # token arrays: a clear 400
            await client.embeddings.create(model="text-embedding-004", input=[[1, 2, 3]])
    one = pricing.price_for(runtime.options, "text-embedding-004", 42, "default").quota(5, 0)
    await check_billing(runtime, key, [one])


async def test_the_channel_test_shows_the_providers_refusal(runtime, cn_fake):
    import httpx

    from oneapi_app.models import Channel
    from oneapi_app.relay import probe

    channel = Channel(type=15, key="baidu-ak|wrong-sk", base_url=cn_fake.url, models=MODEL, name="b")
    async with httpx.AsyncClient() as http:
        result, _ = await probe.run_test(http, channel, "", "hi", runtime.provider_settings)
    assert not result.success and result.status == 401 and result.should_disable()
    assert "unknown client id" in result.message and "wrong-sk" not in result.message
