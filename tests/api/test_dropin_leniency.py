"""The /api surface reads requests as One API does where its clients rely on it (Go's Atoi for numeric query
values, gin's trailing-slash redirect, encoding/json's null), answers as it does (no nulls for strings, the
ratio tables whole, Go's number formatting), and still refuses real errors with ``success: false``."""

from __future__ import annotations

import json
import typing

from fastapi.routing import APIRoute
from sqlalchemy import text

from oneapi_app.api import ROUTERS, create_api
from oneapi_app.api.gocompat import GoInt, atoi_or_zero
from oneapi_app.models.schemas import Registration, TokenCreate, TokenUpdate, UserManage
from oneapi_app.services import pricing
from oneapi_app.services.options import go_float_text

from .conftest import ROOT, set_option


# --- numeric query values ------------------------------------------------------------------------------------
def test_every_numeric_query_parameter_reads_like_atoi(runtime):
    """One shared rule, held for every route: each int query parameter of /api carries GoInt."""
    create_api(runtime)
    strict = []
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute) or not route.path.startswith("/api"):
                continue
            hints = typing.get_type_hints(route.endpoint, include_extras=True)
            for param in route.dependant.query_params:
                hint = hints.get(param.name)
                base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
                if base in (int, float) and GoInt not in typing.get_args(hint):
                    strict.append(f"{route.path} {param.name}")
    assert strict == []
    assert [atoi_or_zero(v) for v in ("", "NaN", "1.5", "12", "+3", "-2", " 4", "1_0", "٣")] == \
        [0, 0, 0, 12, 3, -2, 0, 0, 0]


async def test_empty_and_invalid_numbers_read_as_zero_but_out_of_range_is_refused(client, common):
    for url in ("/api/log/?p=&type=&channel=&start_timestamp=NaN&end_timestamp=1700000000.5",
                "/api/log/stat?channel=&start_timestamp=NaN", "/api/token/?p=undefined&order=undefined",
                "/api/user/?p=NaN", "/api/channel/?p=", "/api/redemption/?p=abc"):
        body = (await client.get(url, headers=ROOT)).json()
        assert body["success"] is True, (url, body)
    body = (await client.get("/api/log/self?p=&type=NaN&start_timestamp=", headers=common.headers)).json()
    assert body["success"] is True, body
    for url, name in (("/api/log/?p=-1", "p"), ("/api/log/?type=9", "type"), ("/api/log/?channel=-5", "channel"),
                      ("/api/log/?start_timestamp=99999999999999999999", "start_timestamp")):
        r = await client.get(url, headers=ROOT)
        assert r.status_code == 200 and r.json()["success"] is False and name in r.json()["message"], (url, r.text)


# --- trailing slashes --------------------------------------------------------------------------------------
async def test_trailing_slash_redirects_as_gin_does(client):
    token = (await client.post("/api/token/", json={"name": "t"}, headers=ROOT)).json()["data"]
    r = await client.get("/api/log/self/?p=0&type=2", headers=ROOT)
    assert r.status_code == 301 and r.headers["location"] == "/api/log/self?p=0&type=2"
    r = await client.get(f"/api/channel/update_balance/{token['id']}/", headers=ROOT)
    assert r.status_code == 301 and r.headers["location"] == f"/api/channel/update_balance/{token['id']}"
    r = await client.get("/api/token", headers=ROOT)  # the other way round: /api/token/ is the route
    assert r.status_code == 301 and r.headers["location"] == "/api/token/"
    for path in (f"/api/token/{token['id']}/", "/api/redemption/3/", "/api/channel/1/"):
        r = await client.delete(path, headers=ROOT)
        assert r.status_code == 307 and r.headers["location"] == path[:-1], path
    r = await client.put("/api/token", json={"id": token["id"], "name": "u"}, headers=ROOT)
    assert r.status_code == 307 and r.headers["location"] == "/api/token/"
    # Followed, as browsers do: the method and the body are kept.
    r = await client.delete(f"/api/token/{token['id']}/", headers=ROOT, follow_redirects=True)
    assert r.json() == {"success": True, "message": "", "data": None}
    # No route either way: still the JSON 404; a method the twin does not serve is no redirect either.
    for method, path in (("GET", "/api/nothing/"), ("GET", "/api/"), ("POST", "/api/log/self/"),
                         ("GET", "/api/token/x/y/")):
        r = await client.request(method, path, headers=ROOT)
        assert r.status_code == 404 and "error" in r.json(), (method, path, r.text)


# --- null in request bodies ----------------------------------------------------------------------------------
async def test_null_reads_as_go_reads_it(client):
    r = await client.post("/api/user/register", json={"username": "carol", "password": "password1",
                                                      "email": None, "verification_code": None, "aff_code": None})
    assert r.json()["success"], r.json()
    assert Registration.model_validate({"username": "u", "password": "p", "aff_code": None}).aff_code == ""
    token = TokenCreate.model_validate({"name": None, "expired_time": None, "remain_quota": None,
                                        "unlimited_quota": None, "models": None})
    assert (token.name, token.expired_time, token.remain_quota, token.unlimited_quota) == ("", -1, 0, False)
    # Where null means "keep", it stays null; wrong types are still refused.
    assert TokenUpdate.model_validate({"name": None}).name is None
    assert "name" in TokenUpdate.model_validate({"name": None}).model_fields_set
    r = await client.post("/api/token/", json={"name": 5, "remain_quota": "lots"}, headers=ROOT)
    assert r.json()["success"] is False and "remain_quota" in r.json()["message"]
    r = await client.post("/api/user/manage", json={"username": None, "action": None}, headers=ROOT)
    assert r.status_code == 200 and r.json()["success"] is False
    assert UserManage.model_fields["action"].is_required()
    r = await client.post("/api/topup", json={"user_id": None, "quota": None}, headers=ROOT)
    assert r.json()["success"] is False and "user_id" in r.json()["message"]


# --- no nulls in answers ---------------------------------------------------------------------------------------
async def test_null_columns_answer_empty_strings(client, runtime, common):
    """Rows written by One API (or an older release) may hold NULLs: the answers carry "" and 0 instead."""
    r = await client.post("/api/token/", json={"name": "t", "models": ""}, headers=ROOT)
    assert r.json()["data"]["models"] == "" and r.json()["data"]["subnet"] == ""
    await client.post("/api/channel/", json={"key": "k", "name": "c", "models": "m"}, headers=ROOT)
    async with runtime.db.session() as s:
        await s.exec(text("UPDATE tokens SET models = NULL, subnet = NULL"))
        await s.exec(text("UPDATE channels SET base_url = NULL, model_mapping = NULL, system_prompt = NULL, "
                          "other = NULL, weight = NULL, priority = NULL"))
        await s.exec(text("UPDATE users SET aff_code = NULL"))
        await s.exec(text("INSERT INTO redemptions (user_id, key, status, name, quota, created_time, redeemed_time)"
                          " VALUES (1, 'abc', 1, NULL, 5, 0, 0)"))
        await s.commit()
    async with runtime.db.log_session() as s:
        await s.exec(text("INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name,"
                          " quota, channel_id) VALUES (:u, 1, 2, NULL, NULL, NULL, NULL, 1, 0)"),
                     params={"u": common.id})
        await s.commit()
    token = (await client.get("/api/token/?p=0", headers=ROOT)).json()["data"][0]
    assert token["models"] == "" and token["subnet"] == ""
    channel = (await client.get("/api/channel/?p=0", headers=ROOT)).json()["data"][0]
    assert [channel[k] for k in ("base_url", "model_mapping", "system_prompt", "other", "weight", "priority")] == \
        ["", "", "", "", 0, 0]
    assert (await client.get("/api/user/self", headers=ROOT)).json()["data"]["aff_code"] == ""
    assert (await client.get("/api/redemption/?p=0", headers=ROOT)).json()["data"][0]["name"] == ""
    row = (await client.get("/api/log/self?p=0", headers=common.headers)).json()["data"][0]
    assert [row[k] for k in ("content", "username", "token_name", "model_name")] == ["", "", "", ""]
    assert "id" not in row and "channel" not in row and "user_id" not in row


# --- options: the ratio tables whole, Go's numbers --------------------------------------------------------------
async def test_ratio_tables_are_read_whole_and_saved_back_unchanged(client, runtime):
    async def options() -> dict:
        return {o["key"]: o["value"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]}

    table = json.loads((await options())["ModelRatio"])
    assert table["gpt-4o"] == 1.25 and len(table) == len(pricing.MODEL_RATIOS)
    assert json.loads((await options())["CompletionRatio"]) == pricing.COMPLETION_RATIOS
    samples = [("gpt-4o", 1), ("gpt-4o-mini", 1), ("llama3-8b-8192", 33), ("claude-3-5-sonnet-20241022", 14),
               ("no-such-model", 1)]
    before = [pricing.price_for(runtime.options, m, t, "default") for m, t in samples]
    # The admin saves the table as the UI shows it (pretty-printed), unchanged: prices stay, nothing is pinned.
    await set_option(client, "ModelRatio", json.dumps(table, indent=2))
    await set_option(client, "CompletionRatio", json.dumps(json.loads((await options())["CompletionRatio"]), indent=2))
    assert runtime.options.ModelRatio == "{}" and runtime.options.CompletionRatio == "{}"
    assert [pricing.price_for(runtime.options, m, t, "default") for m, t in samples] == before
    # One price changed and one model added: kept as overrides, shown in the whole table.
    table["gpt-4o"] = 3
    table["my-model"] = 0.5
    await set_option(client, "ModelRatio", json.dumps(table))
    assert json.loads(runtime.options.ModelRatio) == {"gpt-4o": 3, "my-model": 0.5}
    shown = json.loads((await options())["ModelRatio"])
    assert shown["gpt-4o"] == 3 and shown["my-model"] == 0.5 and shown["gpt-4o-mini"] == 0.075
    assert pricing.model_ratio(runtime.options, "gpt-4o", 1) == 3
    async with runtime.db.session() as s:
        stored = (await s.exec(text("SELECT value FROM options WHERE key = 'ModelRatio'"))).one()[0]
    assert json.loads(stored) == {"gpt-4o": 3, "my-model": 0.5}
    # GroupRatio has no built-ins beyond the default it is stored with: shown as stored.
    assert json.loads((await options())["GroupRatio"]) == {"default": 1, "vip": 1, "svip": 1}


async def test_numbers_keep_one_apis_formatting(client):
    for value in ("500000", 500000, 500000.0, "500000.0"):
        await set_option(client, "QuotaPerUnit", value)
        status = (await client.get("/api/status")).text
        assert '"quota_per_unit":500000,' in status, status
        options = {o["key"]: o["value"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]}
        assert options["QuotaPerUnit"] == "500000"
    await set_option(client, "ChannelDisableThreshold", "0.0000001")
    options = {o["key"]: o["value"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]}
    assert options["ChannelDisableThreshold"] == "0.0000001"
    assert [go_float_text(v) for v in (2.5, 5.0, 1e22, 1e-7, -0.25)] == \
        ["2.5", "5", "10000000000000000000000", "0.0000001", "-0.25"]
