"""Every TokenAuth / Distribute check: status, one-api's message and its two-key envelope with request id."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from oneapi_app.models import ChannelStatus
from oneapi_app.services.channels import set_channel_status

from .conftest import add_channel, add_token, add_user, row

MODEL = "gpt-4o-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


async def _set_token(runtime, key: str, **values) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text(f"UPDATE tokens SET {sets} WHERE key = :key"), {**values, "key": key})
    await runtime.changes.publish("token", key)


def _check(resp, status: int, fragment: str) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type"} and error["type"] == "one_api_error"
    assert fragment in error["message"] and "(request id: " in error["message"]
    assert resp.headers["x-oneapi-request-id"] in error["message"]


async def test_missing_and_unknown_tokens(runtime, client):
    _check(await client.post("/v1/chat/completions", json=BODY), 401, "未提供令牌")
    _check(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": "Bearer sk-nope"}),
           401, "无效的令牌")
    _check(await client.get("/v1/models", headers={"Authorization": "Bearer sk-nope"}), 401, "无效的令牌")


@pytest.mark.parametrize(("values", "status", "fragment"), [
    ({"status": 2}, 401, "该令牌状态不可用"),
    ({"status": 3}, 401, "该令牌已过期"),
    ({"status": 4}, 401, "额度已用尽"),
    ({"expired_time": 1000}, 401, "该令牌已过期"),
    ({"remain_quota": 0, "unlimited_quota": False}, 401, "额度已用尽"),
    ({"subnet": "10.1.0.0/16"}, 403, "该令牌只能在指定网段使用"),
    ({"models": "gpt-4o"}, 403, "该令牌无权使用模型：gpt-4o-mini"),
])
async def test_token_checks(runtime, client, upstream, values, status, fragment):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    await _set_token(runtime, key, **values)
    _check(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"}),
           status, fragment)
    assert not upstream.seen


async def test_subnet_allows_its_network(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime, subnet="127.0.0.0/8")
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200  # the ASGI test client's peer is 127.0.0.1


async def test_disabled_user(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    user_id = await add_user(runtime, status=2)
    key = await add_token(runtime, user_id=user_id)
    _check(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"}),
           403, "用户已被封禁")


async def test_alternative_key_headers(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime)
    for header in ({"x-api-key": f"sk-{key}"}, {"api-key": key}, {"Authorization": f"bearer sk-{key}"}):
        resp = await client.post("/v1/chat/completions", json=BODY, headers=header)
        assert resp.status_code == 200, header


async def test_channel_pin(runtime, client, upstream):
    first = await add_channel(runtime, upstream.url, key="fail500", priority=10)
    await add_channel(runtime, upstream.url, key="ok")
    admin_key = await add_token(runtime)  # user 1 is root
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{admin_key}-{first}"})
    assert resp.status_code == 500  # pinned: no retry even with RetryTimes
    _check(await client.post("/v1/chat/completions", json=BODY,
                             headers={"Authorization": f"Bearer sk-{admin_key}-abc"}), 400, "无效的渠道 Id")
    _check(await client.post("/v1/chat/completions", json=BODY,
                             headers={"Authorization": f"Bearer sk-{admin_key}-999"}), 400, "无效的渠道 Id")
    user_id = await add_user(runtime)
    common_key = await add_token(runtime, user_id=user_id)
    _check(await client.post("/v1/chat/completions", json=BODY,
                             headers={"Authorization": f"Bearer sk-{common_key}-{first}"}), 403, "普通用户不支持指定渠道")


async def test_no_channel_is_503(runtime, client, upstream):
    """A model a channel of the group lists, all of whose channels are down (auto-disabled): 503. (A model no
    channel lists is a 404: tests/relay/test_unknown_model.py.)"""
    channel_id = await add_channel(runtime, upstream.url)
    async with runtime.db.session() as session:
        await set_channel_status(session, channel_id, ChannelStatus.AUTO_DISABLED, bus=runtime.changes)
    key = await add_token(runtime)
    _check(await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"}),
           503, "当前分组 default 下对于模型 gpt-4o-mini 无可用渠道")


async def test_quota_reservation_refusals(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    poor_user = await add_user(runtime, quota=1)
    key = await add_token(runtime, user_id=poor_user)
    resp = await client.post("/v1/chat/completions", json={**BODY, "max_tokens": 1000},
                             headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "insufficient_user_quota"
    small = await add_token(runtime, unlimited=False, remain_quota=5)
    resp = await client.post("/v1/chat/completions", json={**BODY, "max_tokens": 1000},
                             headers={"Authorization": f"Bearer sk-{small}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "pre_consume_token_quota_failed"
    assert not upstream.seen
    async with runtime.db.engine.connect() as conn:
        remain = (await conn.execute(text("SELECT remain_quota FROM tokens WHERE key = :k"), {"k": small})).scalar()
        quota = (await conn.execute(text("SELECT quota FROM users WHERE id = :i"), {"i": poor_user})).scalar()
    assert (remain, quota) == (5, 1)


async def test_expired_time_in_future_is_fine(runtime, client, upstream):
    await add_channel(runtime, upstream.url)
    key = await add_token(runtime, expired_time=int(time.time()) + 3600)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 200


async def test_channel_of_a_type_without_adaptor_is_a_clear_501_and_refunded(runtime, client, upstream, monkeypatch):
    from oneapi_app.relay import pipeline

    monkeypatch.setattr(pipeline, "adaptor_for", lambda type_id: None)  # every type has an adaptor now
    await add_channel(runtime, upstream.url, type=18)
    user_id = await add_user(runtime, quota=1_000_000)
    key = await add_token(runtime, user_id=user_id)
    resp = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": f"Bearer sk-{key}"})
    assert resp.status_code == 501
    error = resp.json()["error"]
    assert error["code"] == "channel_type_not_supported" and "尚未支持" in error["message"]
    await runtime.ledger.flush()
    assert (await row(runtime, "SELECT quota FROM users WHERE id = :id", id=user_id))["quota"] == 1_000_000
