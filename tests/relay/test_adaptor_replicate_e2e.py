"""Replicate end to end: chat and image models through the gateway against a fake predictions API
(Bearer and ``Prefer: wait`` checked); billing exact (images: 1000 tokens per image)."""

from __future__ import annotations

import openai
import pytest

from tests.fakes_cn import COMPLETION_TOKENS, GOOD, PROMPT_TOKENS, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, logs, sdk

CHAT, IMAGE = "meta/meta-llama-3-8b-instruct", "black-forest-labs/flux-schnell"


async def test_chat_and_image_models(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=GOOD, models=f"{CHAT},{IMAGE}", type=46)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "".join(WORDS)
    assert cn_fake.last("/predictions").headers["Prefer"] == "wait"
    assert cn_fake.last("/predictions").path == f"/v1/models/{CHAT}/predictions"
    stream = await client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == WORDS
    assert cn_fake.last("/predictions").body["stream"] is True and "Prefer" not in cn_fake.last("/predictions").headers
    assert cn_fake.last("/replicate-stream/").headers["Accept"] == "text/event-stream"
    streamed = [e for e in await logs(runtime) if e["is_stream"]]
    assert len(streamed) == 1 and "estimated" in streamed[0]["content"]  # the stream carries no token counts
    stream = await client.chat.completions.create(model=IMAGE, messages=[{"role": "user", "content": "a cake"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "![image](https://replicate.delivery/fake/out-0.webp)"
    assert cn_fake.last("/predictions").body == {"input": {"prompt": "a cake", "aspect_ratio": "1:1"}}
    await check_billing(runtime, key, [expected_quota(runtime, CHAT, 46, PROMPT_TOKENS, COMPLETION_TOKENS),
                                       streamed[0]["quota"], expected_quota(runtime, IMAGE, 46, 1000, 0)])


async def test_bad_token(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key="bad", models=CHAT, type=46)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert "valid authentication token" in caught.value.message
    await check_billing(runtime, key, [])
