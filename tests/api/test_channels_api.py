import asyncio
import json

import httpx
import pytest
from sqlmodel import select

from oneapi_app.models import Ability, ChannelStatus

from .conftest import ROOT, set_option


async def create(client, **fields) -> dict:
    body = {"type": 1, "key": "sk-upstream", "name": "c", "models": "gpt-4o,gpt-4o-mini", "group": "default"} | fields
    r = await client.post("/api/channel/", json=body, headers=ROOT)
    assert r.json()["success"], r.json()
    rows = (await client.get("/api/channel/", headers=ROOT)).json()["data"]
    return rows[0]


def fake_upstream(monkeypatch, runtime, handler) -> list[httpx.Request]:
    seen = []

    def wrapped(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(wrapped)))
    return seen


async def test_crud_batch_and_no_keys(client, runtime):
    r = await client.post("/api/channel/", json={"type": 1, "key": "k1\nk2\n\nk3", "name": "batch",
                                                 "models": "gpt-4o", "group": "default"}, headers=ROOT)
    assert r.json()["success"] and len(r.json()["data"]) == 3
    rows = (await client.get("/api/channel/", headers=ROOT)).json()["data"]
    assert len(rows) == 3 and all("key" not in c for c in rows)
    one = (await client.get(f"/api/channel/{rows[0]['id']}", headers=ROOT)).json()["data"]
    assert "key" not in one and one["name"] == "batch"
    found = (await client.get("/api/channel/search?keyword=bat", headers=ROOT)).json()["data"]
    assert len(found) == 3 and all("key" not in c for c in found)
    r = await client.put("/api/channel/", json={"id": one["id"], "key": "", "models": "o1,o3-mini", "priority": 5},
                         headers=ROOT)
    assert r.json()["success"] and r.json()["data"]["models"] == "o1,o3-mini" and "key" not in r.json()["data"]
    async with runtime.db.session() as s:
        from oneapi_app.models import Channel

        abilities = (await s.exec(select(Ability).where(Ability.channel_id == one["id"]))).all()
        assert {(a.model, a.priority) for a in abilities} == {("o1", 5), ("o3-mini", 5)}
        assert (await s.get(Channel, one["id"])).key in ("k1", "k2", "k3")
    models = (await client.get("/api/channel/models", headers=ROOT)).json()
    by_id = {m["id"]: m for m in models["data"]}
    assert models["object"] == "list" and {"gpt-4o", "o1", "o3-mini", "gpt-3.5-turbo"} <= set(by_id)
    assert by_id["gpt-4o"]["owned_by"] == "openai"
    r = await client.put("/api/channel/", json={"id": one["id"], "model_mapping": "{bad"}, headers=ROOT)
    assert not r.json()["success"] and "model_mapping" in r.json()["message"]
    assert not (await client.put("/api/channel/", json={"id": 999999, "name": "x"}, headers=ROOT)).json()["success"]


async def test_status_toggle_and_delete_disabled_leaves_no_orphans(client, runtime):
    a = await create(client, name="a")
    b = await create(client, name="b")
    r = await client.put("/api/channel/", json={"id": a["id"], "status": 2}, headers=ROOT)
    assert r.json()["data"]["status"] == ChannelStatus.MANUALLY_DISABLED
    async with runtime.db.session() as s:
        rows = (await s.exec(select(Ability).where(Ability.channel_id == a["id"]))).all()
        assert rows and not any(x.enabled for x in rows)
    r = await client.delete("/api/channel/disabled", headers=ROOT)
    assert r.json() == {"success": True, "message": "", "data": 1}
    async with runtime.db.session() as s:
        assert (await s.exec(select(Ability).where(Ability.channel_id == a["id"]))).all() == []
        assert len((await s.exec(select(Ability).where(Ability.channel_id == b["id"]))).all()) == 2
    assert (await client.delete(f"/api/channel/{b['id']}", headers=ROOT)).json()["success"]
    async with runtime.db.session() as s:
        assert (await s.exec(select(Ability))).all() == []
    assert not (await client.delete(f"/api/channel/{b['id']}", headers=ROOT)).json()["success"]


async def test_test_one_channel(client, runtime, monkeypatch):
    channel = await create(client, base_url="https://upstream.test", models="gpt-4o,gpt-4o-mini",
                           model_mapping=json.dumps({"gpt-4o-mini": "mini-upstream"}))

    def handler(request):
        body = json.loads(request.content)
        assert request.headers["authorization"] == "Bearer sk-upstream"
        assert body["messages"] == [{"role": "user", "content": runtime.settings.test_prompt}]
        assert "max_tokens" not in body
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": body["model"]}}],
                                         "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})

    seen = fake_upstream(monkeypatch, runtime, handler)
    r = await client.get(f"/api/channel/test/{channel['id']}?model=gpt-4o-mini", headers=ROOT)
    body = r.json()
    assert body["success"] and body["message"] == "mini-upstream" and body["modelName"] == "gpt-4o-mini"
    # seconds, printed as Go prints a float64: a sub-millisecond test is a bare 0
    assert isinstance(body["time"], int | float) and not isinstance(body["time"], bool) and body["time"] >= 0
    assert str(seen[0].url) == "https://upstream.test/v1/chat/completions"
    r = await client.get(f"/api/channel/test/{channel['id']}", headers=ROOT)
    assert r.json()["message"] == "gpt-4o"  # first model of the channel
    row = (await client.get(f"/api/channel/{channel['id']}", headers=ROOT)).json()["data"]
    assert row["test_time"] > 0
    logs = (await client.get("/api/log/?type=5", headers=ROOT)).json()["data"]
    assert len(logs) == 2 and logs[0]["channel"] == channel["id"]
    assert not (await client.get("/api/channel/test/999999", headers=ROOT)).json()["success"]


async def test_test_all_in_background_with_progress_and_auto_disable(client, runtime, monkeypatch):
    good = await create(client, name="good", base_url="https://good.test")
    bad = await create(client, name="bad", base_url="https://bad.test")
    manual = await create(client, name="manual", base_url="https://good.test")
    await client.put("/api/channel/", json={"id": manual["id"], "status": 2}, headers=ROOT)
    release = asyncio.Event()

    async def slow_handler(request):
        await release.wait()
        if request.url.host == "bad.test":
            return httpx.Response(401, json={"error": {"message": "Incorrect API key", "type": "invalid_request_error",
                                                       "code": "invalid_api_key"}})
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}], "usage": {"total_tokens": 1}})

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(slow_handler)))
    await set_option(client, "AutomaticDisableChannelEnabled", "true")
    await set_option(client, "AutomaticEnableChannelEnabled", "true")
    r = await client.get("/api/channel/test", headers=ROOT)
    assert r.json()["success"] and r.json()["data"]["running"]
    r = await client.get("/api/channel/test?scope=all", headers=ROOT)
    assert r.json() == {"success": False, "message": "测试已在运行中"}
    progress = (await client.get("/api/channel/test/progress", headers=ROOT)).json()["data"]
    assert progress["running"] and progress["done"] == 0
    release.set()
    for _ in range(3000):  # bounded, generous for a loaded machine
        progress = (await client.get("/api/channel/test/progress", headers=ROOT)).json()["data"]
        if not progress["running"]:
            break
        await asyncio.sleep(0.01)
    assert progress["total"] == 3 and progress["done"] == 3 and progress["succeeded"] == 2
    assert progress["disabled"] == [bad["id"]] and progress["enabled"] == []
    statuses = {c["name"]: c["status"] for c in (await client.get("/api/channel/", headers=ROOT)).json()["data"]}
    assert statuses == {"good": 1, "bad": ChannelStatus.AUTO_DISABLED, "manual": ChannelStatus.MANUALLY_DISABLED}
    # Auto-enable revives the auto-disabled one once it answers, never the manually disabled one.
    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}], "usage": {}}))))
    r = await client.get("/api/channel/test?scope=disabled", headers=ROOT)
    assert r.json()["success"]
    for _ in range(500):
        progress = (await client.get("/api/channel/test/progress", headers=ROOT)).json()["data"]
        if not progress["running"]:
            break
        await asyncio.sleep(0.01)
    assert progress["total"] == 2 and progress["enabled"] == [bad["id"]]
    statuses = {c["name"]: c["status"] for c in (await client.get("/api/channel/", headers=ROOT)).json()["data"]}
    assert statuses == {"good": 1, "bad": 1, "manual": ChannelStatus.MANUALLY_DISABLED} and good["id"] != bad["id"]


BALANCE_CASES = [
    (4, "https://api.closeai-proxy.xyz/dashboard/billing/credit_grants", {"total_available": 12.5}, 12.5),
    (5, "https://api.openai-sb.com/sb-api/user/status?api_key=sk-upstream", {"data": {"credit": "3.25"}}, 3.25),
    (10, "https://aiproxy.io/api/report/getUserOverview", {"success": True, "data": {"totalPoints": 7}}, 7.0),
    (12, "https://api.api2gpt.com/dashboard/billing/credit_grants", {"total_remaining": 4}, 4.0),
    (13, "https://api.aigc2d.com/dashboard/billing/credit_grants", {"total_available": 5}, 5.0),
    (44, "https://api.siliconflow.cn/v1/user/info", {"data": {"totalBalance": "9.5"}}, 9.5),
    (36, "https://api.deepseek.com/user/balance",
     {"balance_infos": [{"currency": "CNY", "total_balance": "110.00"}]}, 110.0),
    (20, "https://openrouter.ai/api/v1/credits", {"data": {"total_credits": 10, "total_usage": 2.5}}, 7.5),
]


@pytest.mark.parametrize(("type_id", "url", "answer", "expected"), BALANCE_CASES)
async def test_balance_per_type(client, runtime, monkeypatch, type_id, url, answer, expected):
    channel = await create(client, type=type_id, base_url="")
    seen = fake_upstream(monkeypatch, runtime, lambda request: httpx.Response(200, json=answer))
    r = await client.get(f"/api/channel/update_balance/{channel['id']}", headers=ROOT)
    assert r.json() == {"success": True, "message": "", "balance": expected}
    assert str(seen[0].url) == url
    row = (await client.get(f"/api/channel/{channel['id']}", headers=ROOT)).json()["data"]
    assert row["balance"] == expected and row["balance_updated_time"] > 0


async def test_balance_openai_subscription_minus_usage(client, runtime, monkeypatch):
    channel = await create(client, type=1, base_url="https://oa.test")

    def handler(request):
        if request.url.path == "/v1/dashboard/billing/subscription":
            return httpx.Response(200, json={"hard_limit_usd": 100, "has_payment_method": True})
        assert request.url.params["start_date"].endswith("-01")
        return httpx.Response(200, json={"total_usage": 2500})

    fake_upstream(monkeypatch, runtime, handler)
    r = await client.get(f"/api/channel/update_balance/{channel['id']}", headers=ROOT)
    assert r.json()["balance"] == 75.0
    fake_upstream(monkeypatch, runtime, lambda request: httpx.Response(500, text="oops"))
    r = await client.get(f"/api/channel/update_balance/{channel['id']}", headers=ROOT)
    assert r.status_code == 200 and not r.json()["success"] and "500" in r.json()["message"]
    other = await create(client, type=14, name="anthropic")
    r = await client.get(f"/api/channel/update_balance/{other['id']}", headers=ROOT)
    assert not r.json()["success"] and "尚未实现" in r.json()["message"]
    assert (await client.get("/api/channel/update_balance", headers=ROOT)).json()["success"]


async def test_channel_types_and_default_models_come_from_the_relay_registry(client, common):
    from oneapi_app.catalog.channel_types import CHANNEL_TYPES

    r = await client.get("/api/channel/types", headers=ROOT)
    rows = r.json()["data"]
    assert len(rows) == len(CHANNEL_TYPES) and [row["id"] for row in rows] == sorted(CHANNEL_TYPES)
    anthropic = next(row for row in rows if row["id"] == 14)
    assert anthropic["name"] == "Anthropic" and anthropic["default_base_url"] == "https://api.anthropic.com"
    aws = next(row for row in rows if row["id"] == 33)
    assert [f["key"] for f in aws["fields"]] == ["region", "ak", "sk", "session_token"] and aws["key_hint"]
    assert [f["secret"] for f in aws["fields"]] == [False, False, True, True]
    r = await client.get("/api/models", headers=common.headers)
    models = r.json()["data"]
    assert "gpt-4o-mini" in models["1"] and "gpt-4o-mini" in models["3"]
    assert "claude-3-5-sonnet-latest" in models["14"] and "gemini-1.5-pro" in models["24"]
    assert "glm-4" in models["16"] and "qwen-max" in models["17"] and "deepseek-chat" in models["36"]
    assert not any(m.startswith("gpt-") for m in models["14"])


async def test_channel_changes_are_announced(client, runtime):
    seen = []
    runtime.changes.subscribe("channels", seen.append)
    c = await create(client)
    await client.put("/api/channel/", json={"id": c["id"], "status": 2}, headers=ROOT)
    await client.delete(f"/api/channel/{c['id']}", headers=ROOT)
    assert len(seen) == 3


async def test_a_key_that_cannot_form_a_request_is_a_failed_test_not_a_500(client):
    channel = await create(client, key="clé-non-ascii", base_url="https://upstream.test")
    r = await client.get(f"/api/channel/test/{channel['id']}", headers=ROOT)
    assert r.status_code == 200 and r.json()["success"] is False and "request failed" in r.json()["message"]
    bad_url = await create(client, base_url="ht!tp://bad url", name="u")
    r = await client.get(f"/api/channel/update_balance/{bad_url['id']}", headers=ROOT)
    assert r.status_code == 200 and r.json()["success"] is False


async def test_test_urls_follow_the_relay_rules(client, runtime, monkeypatch):
    ok = {"choices": [{"message": {"content": "ok"}}], "usage": {"total_tokens": 1}}
    seen = fake_upstream(monkeypatch, runtime, lambda request: httpx.Response(200, json=ok))
    doubao = await create(client, type=40, base_url="https://ark.test", name="d")
    novita = await create(client, type=41, base_url="https://novita.test/v3/openai", name="n")
    azure = await create(client, type=3, base_url="https://az.test", name="a", models="gpt-4.1",
                         config='{"api_version": "2024-10-21"}')
    for channel in (doubao, novita, azure):
        r = await client.get(f"/api/channel/test/{channel['id']}", headers=ROOT)
        assert r.json()["success"], r.json()
    assert [str(r.url) for r in seen] == [
        "https://ark.test/api/v3/chat/completions", "https://novita.test/v3/openai/chat/completions",
        "https://az.test/openai/deployments/gpt-41/chat/completions?api-version=2024-10-21"]
    assert seen[2].headers["api-key"] == "sk-upstream" and "authorization" not in seen[2].headers
    from oneapi_app.relay import probe

    monkeypatch.setattr(probe, "adaptor_for", lambda type_id: None)  # every type has an adaptor now
    xunfei = await create(client, type=18, name="spark", models="spark-lite")
    r = await client.get(f"/api/channel/test/{xunfei['id']}", headers=ROOT)
    assert r.json()["success"] is False and "adaptor" in r.json()["message"] and len(seen) == 3


async def test_test_an_anthropic_channel_through_its_adaptor(client, runtime, monkeypatch):
    def handler(request):
        body = json.loads(request.content)
        assert str(request.url) == "https://claude.test/v1/messages"
        assert request.headers["x-api-key"] == "sk-upstream" and "authorization" not in request.headers
        assert body["messages"] == [{"role": "user", "content": runtime.settings.test_prompt}]
        if body["model"] == "claude-dead":
            return httpx.Response(401, json={"type": "error", "error": {"type": "authentication_error",
                                                                       "message": "invalid x-api-key"}})
        return httpx.Response(200, json={"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                         "content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
                                         "usage": {"input_tokens": 5, "output_tokens": 1}})

    fake_upstream(monkeypatch, runtime, handler)
    channel = await create(client, type=14, name="claude", base_url="https://claude.test",
                           models="claude-3-haiku,claude-dead")
    r = await client.get(f"/api/channel/test/{channel['id']}", headers=ROOT)
    assert r.json()["success"] is True and r.json()["message"] == "pong", r.json()
    r = await client.get(f"/api/channel/test/{channel['id']}?model=claude-dead", headers=ROOT)
    assert r.json()["success"] is False and r.json()["message"] == "invalid x-api-key"


async def test_gemini_channel_test_goes_through_its_adaptor(client, runtime, monkeypatch):
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "pong"}]}, "finishReason": "STOP"}],
              "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}}
    dead = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                      "status": "INVALID_ARGUMENT"}}
    seen = fake_upstream(monkeypatch, runtime, lambda request: httpx.Response(200, json=answer)
                         if request.headers["x-goog-api-key"] == "good" else httpx.Response(400, json=dead))
    good = await create(client, type=24, key="good", name="g", models="gemini-2.0-flash",
                        config='{"api_version": "v1"}')
    r = await client.get(f"/api/channel/test/{good['id']}", headers=ROOT)
    assert r.json()["success"], r.json()
    assert str(seen[-1].url) == "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:generateContent"
    bad = await create(client, type=24, key="bad", name="b", models="gemini-2.0-flash")
    r = await client.get(f"/api/channel/test/{bad['id']}", headers=ROOT)
    assert r.json()["success"] is False and "API key not valid" in r.json()["message"]


async def test_config_credentials_are_never_shown_and_survive_edits(client, runtime):
    config = '{"region": "us-east-1", "ak": "AKIA1", "sk": "very-secret", "session_token": "temp-session-token"}'
    channel = await create(client, type=33, name="aws", config=config)
    shown = (await client.get(f"/api/channel/{channel['id']}", headers=ROOT)).json()["data"]
    assert "very-secret" not in str(shown) and '"region": "us-east-1"' in shown["config"]
    assert "temp-session-token" not in str(shown) and json.loads(shown["config"])["session_token"] == ""
    listed = str((await client.get("/api/channel/", headers=ROOT)).json())
    assert "very-secret" not in listed and "temp-session-token" not in listed
    r = await client.put("/api/channel/", json={"id": channel["id"], "config": shown["config"].replace("us-east-1",
                                                                                                      "eu-west-1")},
                         headers=ROOT)
    assert r.json()["success"] and "very-secret" not in str(r.json()) and "temp-session-token" not in str(r.json())
    async with runtime.db.session() as s:
        from oneapi_app.models import Channel

        stored = json.loads((await s.get(Channel, channel["id"])).config)
    assert stored == {"region": "eu-west-1", "ak": "AKIA1", "sk": "very-secret", "session_token": "temp-session-token"}


async def test_available_models_follow_enabled_abilities_of_the_users_group(client, common):
    await create(client, name="d", models="gpt-4o,o1", group="default")
    vip = await create(client, name="v", models="claude-3-haiku", group="vip")
    off = await create(client, name="off", models="zzz-model", group="default")
    await client.put("/api/channel/", json={"id": off["id"], "status": 2}, headers=ROOT)
    r = await client.get("/api/user/available_models", headers=common.headers)
    assert r.json()["data"] == ["gpt-4o", "o1"]
    await client.put("/api/user/", json={"id": common.id, "group": "vip"}, headers=ROOT)
    r = await client.get("/api/user/available_models", headers=common.headers)
    assert r.json()["data"] == ["claude-3-haiku"] and vip["group"] == "vip"


async def test_channel_test_frequency_runs_test_all_periodically(make_settings, monkeypatch):
    from oneapi_app.runtime import Runtime
    from oneapi_app.services import channel_checks

    runtime = Runtime(make_settings(CHANNEL_TEST_FREQUENCY="5"))
    async with runtime.lifespan():
        names = {task.get_name() for task in runtime.background._tasks}
        assert "channel-test-all" in names
        await channel_checks.periodic_test_all(runtime)
        assert channel_checks.progress(runtime).running or channel_checks.progress(runtime).finished_at
        for _ in range(3000):
            if not channel_checks.progress(runtime).running:
                break
            await asyncio.sleep(0.01)
        assert channel_checks.progress(runtime).total == 0 and not channel_checks.progress(runtime).running


async def test_testing_a_misconfigured_channel_explains_it(client):
    channel = await create(client, type=37, name="cf", models="@cf/meta/llama-3.1-8b-instruct")  # no account id
    r = await client.get(f"/api/channel/test/{channel['id']}", headers=ROOT)
    assert r.status_code == 200 and r.json()["success"] is False and "账户 ID" in r.json()["message"]


async def test_a_channel_needs_a_name_and_aws_builds_its_key_from_the_config(client):
    for name in ("", "   "):
        r = await client.post("/api/channel/", json={"type": 1, "key": "sk-x", "name": name, "models": "m"},
                              headers=ROOT)
        message = r.json()["message"]
        assert r.status_code == 200 and r.json()["success"] is False and ("name" in message or "名称" in message)
    config = '{"region": "us-west-2", "ak": "AKIAEXAMPLE", "sk": "secret-sk"}'
    r = await client.post("/api/channel/", json={"type": 33, "key": "", "name": "aws", "models": "claude-3-haiku-20240307",
                                                 "config": config}, headers=ROOT)
    assert r.json()["success"], r.text
    r = await client.get("/api/channel/search?keyword=aws", headers=ROOT)
    [shown] = [c for c in r.json()["data"] if c["name"] == "aws"]
    assert "secret-sk" not in r.text and '"region": "us-west-2"' in shown["config"]
