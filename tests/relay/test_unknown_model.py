"""Unknown models answer OpenAI's 404 (the SDK gives up at once); a known model whose channels are all down
stays a 503 (the SDK may retry). Seen through the real openai SDK with its default retries, counting the
requests it sends."""

from __future__ import annotations

import httpx
import openai
import pytest

from oneapi_app.models import ChannelStatus
from oneapi_app.services.channels import set_channel_status

from .conftest import add_channel, add_token

MESSAGES = [{"role": "user", "content": "hi"}]


class Counted:
    """The SDK with its own retry policy, and the number of HTTP requests it sent."""

    def __init__(self, gateway: str, key: str, max_retries: int = 2) -> None:
        self.requests = 0

        async def count(_request: httpx.Request) -> None:
            self.requests += 1

        self.http = httpx.AsyncClient(event_hooks={"request": [count]})
        self.sdk = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=f"sk-{key}", http_client=self.http,
                                      max_retries=max_retries)


async def _disable(runtime, channel_id: int, status: ChannelStatus) -> None:
    async with runtime.db.session() as session:
        await set_channel_status(session, channel_id, status, bus=runtime.changes)


async def test_unknown_model_is_a_404_after_one_request(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    counted = Counted(gateway, await add_token(runtime))
    with pytest.raises(openai.NotFoundError) as raised:
        await counted.sdk.chat.completions.create(model="gpt-4o-mimi", messages=MESSAGES)
    assert counted.requests == 1 and not upstream.seen
    error = raised.value.body
    assert raised.value.status_code == 404
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "model_not_found", None)
    assert "gpt-4o-mimi" in error["message"]
    with pytest.raises(openai.NotFoundError):  # embeddings too, and with no channel at all
        await counted.sdk.embeddings.create(model="text-embedding-3-small", input="hi")
    assert counted.requests == 2


async def test_a_model_only_a_manually_disabled_channel_lists_is_unknown(runtime, gateway, upstream):
    channel = await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    await _disable(runtime, channel, ChannelStatus.MANUALLY_DISABLED)
    counted = Counted(gateway, await add_token(runtime))
    with pytest.raises(openai.NotFoundError):
        await counted.sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert counted.requests == 1


async def test_other_groups_models_are_unknown(runtime, gateway, upstream):
    await add_channel(runtime, upstream.url, models="gpt-4o-mini", group="vip")
    counted = Counted(gateway, await add_token(runtime))
    with pytest.raises(openai.NotFoundError):
        await counted.sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert counted.requests == 1


async def test_known_model_with_its_channels_auto_disabled_stays_503(runtime, gateway, upstream):
    channel = await add_channel(runtime, upstream.url, models="gpt-4o-mini")
    await _disable(runtime, channel, ChannelStatus.AUTO_DISABLED)
    counted = Counted(gateway, await add_token(runtime), max_retries=1)
    with pytest.raises(openai.InternalServerError) as raised:
        await counted.sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raised.value.status_code == 503 and counted.requests == 2  # a 503 is worth a retry


async def test_token_model_list(runtime, gateway, upstream):
    """A token limited to some models: a model its group does not know is a 404 as well; a known model the
    token may not use keeps one-api's 403 (not retried either)."""
    await add_channel(runtime, upstream.url, models="gpt-4o-mini,gpt-4o")
    counted = Counted(gateway, await add_token(runtime, models="gpt-4o"))
    with pytest.raises(openai.NotFoundError):
        await counted.sdk.chat.completions.create(model="gpt-4o-typo", messages=MESSAGES)
    with pytest.raises(openai.PermissionDeniedError):
        await counted.sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert counted.requests == 2
    answer = await counted.sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content


async def test_retrieve_unknown_model_is_not_found(runtime, gateway, upstream):
    channel = await add_channel(runtime, upstream.url, models="gpt-4o-mini,my-custom-model")
    counted = Counted(gateway, await add_token(runtime))
    with pytest.raises(openai.NotFoundError) as raised:
        await counted.sdk.models.retrieve("nope")
    assert counted.requests == 1 and raised.value.body["code"] == "model_not_found"
    assert (await counted.sdk.models.retrieve("my-custom-model")).owned_by == "custom"
    with pytest.raises(openai.NotFoundError):  # in the catalog, but no channel of the group serves it
        await counted.sdk.models.retrieve("gpt-4-turbo")
    await _disable(runtime, channel, ChannelStatus.AUTO_DISABLED)
    assert (await counted.sdk.models.retrieve("gpt-4o-mini")).id == "gpt-4o-mini"  # down for now, still known
    limited = Counted(gateway, await add_token(runtime, models="gpt-4o"))
    with pytest.raises(openai.NotFoundError):  # known to the group, but not to this key
        await limited.sdk.models.retrieve("gpt-4o-mini")
