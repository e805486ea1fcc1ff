"""AIProxy Library end to end (knowledge-base answers with their documents) and retired PaLM2 channels
(a clear non-retryable error, the request refunded)."""

from __future__ import annotations

import openai
import pytest

from tests.fakes_cn import GOOD, WORDS

from .cn_helpers import START, check_billing
from .conftest import add_channel, add_token, sdk

DOCS = "\n\n参考文档：\n1. [Doc](https://docs.example/1)\n"


async def test_library_answers_and_streams_with_documents(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=GOOD, models="gpt-3.5-turbo", type=21, config='{"library_id": "lib-1"}')
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "q?"}])
    assert answer.choices[0].message.content == "".join(WORDS) + DOCS
    assert cn_fake.last("/api/library/ask").body == {"model": "gpt-3.5-turbo", "query": "q?", "libraryId": "lib-1",
                                                  "stream": False}
    stream = await client.chat.completions.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "q?"}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS) + DOCS
    entries = await check_billing(runtime, key)
    assert len(entries) == 2 and all("estimated" in e["content"] for e in entries)  # no usage: counted locally


async def test_palm2_channels_are_retired(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=GOOD, models="chat-bison-001", type=11)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk(gateway, key).chat.completions.create(model="chat-bison-001",
                                                        messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 410 and "Gemini" in caught.value.message
    assert caught.value.body["code"] == "channel_type_retired"
    assert cn_fake.seen == []
    await check_billing(runtime, key, [])
