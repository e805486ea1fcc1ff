"""Tencent Hunyuan end to end: the openai SDK -> the gateway -> a fake Hunyuan that recomputes the TC3
signature of every request; chat, stream, embeddings; billing exact."""

from __future__ import annotations

import openai
import pytest

from tests.fakes_cn import COMPLETION_TOKENS, PROMPT_TOKENS, TENCENT_KEY, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

MODEL = "hunyuan-standard"


async def test_signed_chat_stream_and_embeddings(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=TENCENT_KEY, models=f"{MODEL},hunyuan-embedding", type=23)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "你好"}],
                                                  temperature=0.3)
    assert answer.choices[0].message.content == "".join(WORDS) and answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    sent = cn_fake.last("/")
    assert sent.body == {"Model": MODEL, "Messages": [{"Role": "user", "Content": "你好"}], "Stream": False,
                         "Temperature": 0.3}
    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "你好"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    vectors = await client.embeddings.create(model="hunyuan-embedding", input="x")
    assert vectors.data[0].embedding == [0.5]
    assert cn_fake.signatures_checked == 3
    one = expected_quota(runtime, MODEL, 23, PROMPT_TOKENS, COMPLETION_TOKENS)
    await check_billing(runtime, key, [one, one, expected_quota(runtime, "hunyuan-embedding", 23, 4, 0)])


async def test_a_wrong_secret_is_an_auth_error_and_disables_the_channel(runtime, gateway, cn_fake):
    runtime.options.AutomaticDisableChannelEnabled = True
    channel = await add_channel(runtime, cn_fake.url, key="1|AKIDfake|wrong-secret", models=MODEL, type=23)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["code"] == "AuthFailure.SignatureFailure"
    await check_billing(runtime, key, [])
    import asyncio

    from .conftest import row

    for _ in range(1500):  # bounded, generous for a loaded machine
        if (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=channel))["status"] == 3:
            break
        await asyncio.sleep(0.02)
    assert (await row(runtime, "SELECT status FROM channels WHERE id = :i", i=channel))["status"] == 3
