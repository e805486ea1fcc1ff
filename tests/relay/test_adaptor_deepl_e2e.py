"""DeepL end to end: chat -> translate through the gateway against a fake DeepL (DeepL-Auth-Key checked);
usage in characters; billing exact."""

from __future__ import annotations

from tests.fakes_cn import GOOD, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

TEXT = "Hello, world!"


async def test_translation_whole_and_streamed(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url, key=GOOD, models="deepl-zh", type=38)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model="deepl-zh", messages=[{"role": "user", "content": TEXT}])
    assert answer.choices[0].message.content == "".join(WORDS)
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (len(TEXT), 0)
    assert cn_fake.last("/v2/translate").body == {"text": [TEXT], "target_lang": "ZH", "show_billed_characters": True}
    stream = await client.chat.completions.create(model="deepl-zh", messages=[{"role": "user", "content": TEXT}],
                                                  stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    one = expected_quota(runtime, "deepl-zh", 38, len(TEXT), 0)
    await check_billing(runtime, key, [one, one])
