"""Baidu ERNIE end to end: the openai SDK -> the gateway -> a fake Baidu that checks the access token; one
token exchange for 100 concurrent first requests; billing exact."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes_cn import BAIDU_KEY, COMPLETION_TOKENS, PROMPT_TOKENS, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

MODEL = "ERNIE-4.0-8K"


async def test_100_concurrent_first_requests_make_one_token_exchange(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=BAIDU_KEY, models=MODEL, type=15)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)

    async def ask(i: int):
        return await client.chat.completions.create(
            model=MODEL, messages=[{"role": "system", "content": "简洁"}, {"role": "user", "content": f"第{i}个问题"}])

    answers = await asyncio.gather(*(ask(i) for i in range(100)))
    assert cn_fake.token_exchanges == 1
    assert all(a.choices[0].message.content == "".join(WORDS) for a in answers)
    assert all((a.usage.prompt_tokens, a.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS) for a in answers)
    seen = cn_fake.last("/wenxinworkshop/chat/completions_pro")
    assert seen.query["access_token"] == "24.fake1.2592000" and seen.body["system"] == "简洁"
    one = expected_quota(runtime, MODEL, 15, PROMPT_TOKENS, COMPLETION_TOKENS)
    entries = await check_billing(runtime, key, [one] * 100)
    assert all("estimated" not in e["content"] for e in entries)


async def test_stream_and_embeddings(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=BAIDU_KEY, models=f"{MODEL},Embedding-V1", type=15)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    stream = await sdk(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = [c.usage for c in chunks if c.usage][-1]
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    vectors = await sdk(gateway, key).embeddings.create(model="Embedding-V1", input=["a", "b"])
    assert [d.embedding for d in vectors.data] == [[0.1, 0.2], [0.1, 0.2]] and vectors.usage.prompt_tokens == 6
    assert cn_fake.token_exchanges == 1
    await check_billing(runtime, key, [expected_quota(runtime, MODEL, 15, PROMPT_TOKENS, COMPLETION_TOKENS),
                                       expected_quota(runtime, "Embedding-V1", 15, 6, 0)])


async def test_a_refused_exchange_is_a_clear_error_and_a_refund(runtime, gateway, cn_fake):
    import openai

    await add_channel(runtime, cn_fake.url, key="wrong|keys", models=MODEL, type=15)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 401 and "invalid_client" in caught.value.message
    assert "keys" not in caught.value.message
    await check_billing(runtime, key, [])


async def test_the_channel_test_exchanges_the_key_first(runtime, cn_fake):
    import httpx

    from oneapi_app.models import Channel
    from oneapi_app.relay import probe

    channel = Channel(type=15, key=BAIDU_KEY, base_url=cn_fake.url, models=MODEL, name="b")
    async with httpx.AsyncClient() as http:
        result, _ = await probe.run_test(http, channel, "", "hi", runtime.provider_settings)
        assert result.success and result.message == "".join(WORDS) and cn_fake.token_exchanges == 1
        channel.key = "baidu-ak|wrong-sk"
        result, _ = await probe.run_test(http, channel, "", "hi", runtime.provider_settings)
    assert not result.success and result.status == 401 and result.should_disable()
