"""Coze end to end: the openai SDK -> the gateway -> a fake Coze v3 (Bearer checked, SSE event stream);
whole answers folded from the stream, streams; billing exact."""

from __future__ import annotations

import openai
import pytest

from tests.fakes_cn import COMPLETION_TOKENS, GOOD, PROMPT_TOKENS, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

MODEL = "bot-7379462189365198898"


async def test_bot_chat_whole_and_streamed(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=GOOD, models=MODEL, type=34, config='{"user_id": "u-77"}')
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "".join(WORDS)
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    sent = cn_fake.last("/v3/chat").body
    assert sent["bot_id"] == "7379462189365198898" and sent["user_id"] == "u-77" and sent["stream"] is True
    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    one = expected_quota(runtime, MODEL, 34, PROMPT_TOKENS, COMPLETION_TOKENS)
    await check_billing(runtime, key, [one, one])


async def test_bad_token_and_bad_model(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key="bad", models=f"{MODEL},gpt-4o", type=34)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError):
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk(gateway, key).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "bot-<bot id>" in caught.value.message
    await check_billing(runtime, key, [])
