"""iFlytek Spark end to end over the websocket: the openai SDK -> the gateway -> a fake Spark server that
recomputes the URL signature; whole answers and streams; billing exact."""

from __future__ import annotations

import openai
import pytest

from tests.fakes_cn import COMPLETION_TOKENS, PROMPT_TOKENS, SPARK_KEY, WORDS

from .cn_helpers import START, check_billing, expected_quota
from .conftest import add_channel, add_token, sdk

MODEL = "Spark-Max"


async def test_websocket_answer_and_stream(runtime, gateway, cn_fake):
    ws_base = cn_fake.url.replace("http://", "ws://")
    await add_channel(runtime, ws_base, key=SPARK_KEY, models=MODEL, type=18)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    client = sdk(gateway, key)
    answer = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "简洁"}, {"role": "user", "content": "你好"}], max_tokens=99)
    assert answer.choices[0].message.content == "".join(WORDS) and answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    first = cn_fake.last("/v3.5/chat").body
    assert first["header"]["app_id"] == "app-1"
    assert first["parameter"]["chat"] == {"domain": "generalv3.5", "max_tokens": 99}
    assert first["payload"]["message"]["text"] == [{"role": "system", "content": "简洁"},
                                                   {"role": "user", "content": "你好"}]
    stream = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "你好"}],
                                                  stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(WORDS)
    usage = [c.usage for c in chunks if c.usage][-1]
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert cn_fake.signatures_checked == 2
    one = expected_quota(runtime, MODEL, 18, PROMPT_TOKENS, COMPLETION_TOKENS)
    await check_billing(runtime, key, [one, one])


async def test_a_bad_signature_is_refused_at_the_handshake(runtime, gateway, cn_fake):
    await add_channel(runtime, cn_fake.url.replace("http://", "ws://"), key="app-1|wrong-secret|spark-key",
                      models=MODEL, type=18)
    key = await add_token(runtime, unlimited=False, remain_quota=START)
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(gateway, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert "401" in caught.value.message
    assert cn_fake.signatures_checked == 0
    await check_billing(runtime, key, [])


async def test_the_channel_test_makes_the_websocket_call(runtime, cn_fake):
    import httpx

    from oneapi_app.models import Channel
    from oneapi_app.relay import probe

    channel = Channel(type=18, key=SPARK_KEY, base_url=cn_fake.url.replace("http://", "ws://"), models=MODEL, name="s")
    async with httpx.AsyncClient() as http:
        result, model = await probe.run_test(http, channel, "", "hi", runtime.provider_settings)
        assert result.success and result.message == "".join(WORDS) and model == MODEL
        channel.key = "app-1|wrong|spark-key"
        result, _ = await probe.run_test(http, channel, "", "hi", runtime.provider_settings)
    assert not result.success and result.should_disable() and "wrong" not in result.message
