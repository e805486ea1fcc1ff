"""Prompt-cache billing end to end: an OpenAI channel reporting cached_tokens, through the relay and the ledger."""

from __future__ import annotations

from .conftest import add_channel, add_token, logs, row, sdk
from .test_media import START


async def test_openai_cached_tokens_are_billed_at_the_cache_ratio(runtime, gateway, media_upstream):
    await add_channel(runtime, media_upstream.url, models="gpt-4o")
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "again"}])
    assert answer.usage.prompt_tokens_details.cached_tokens == 800
    [entry] = await logs(runtime)
    # gpt-4o: ratio 1.25, completion 4, cached input 0.5: (200 + 800 x 0.5 + 20 x 4) x 1.25 = 850 (1350 uncached)
    assert entry["quota"] == 850 and entry["prompt_tokens"] == 1000 and entry["completion_tokens"] == 20
    assert "cached 800" in entry["content"] and "cache ratio 0.50" in entry["content"]
    token = await row(runtime, "SELECT remain_quota, used_quota FROM tokens WHERE key = :k", k=key)
    assert token == {"remain_quota": START - 850, "used_quota": 850}
