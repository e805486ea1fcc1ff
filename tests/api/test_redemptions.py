import asyncio

import pytest

from oneapi_app.models import LogType, RedemptionStatus
from oneapi_app.runtime import Runtime
from oneapi_app.services import redemptions

from .conftest import ROOT, get_user, make_account


async def test_create_list_search_edit_disable_delete(client, runtime, common):
    r = await client.post("/api/redemption/", json={"name": "promo", "quota": 5000, "count": 3}, headers=ROOT)
    keys = r.json()["data"]
    assert r.json()["success"] and len(keys) == 3 and all(len(k) == 32 for k in keys)
    r = await client.post("/api/redemption/", json={"name": "promo", "quota": 5000, "count": 101}, headers=ROOT)
    assert not r.json()["success"]
    r = await client.post("/api/redemption/", json={"name": "x" * 21, "quota": 5000, "count": 1}, headers=ROOT)
    assert not r.json()["success"]
    r = await client.post("/api/redemption/", json={"name": "neg", "quota": -5, "count": 1}, headers=ROOT)
    assert not r.json()["success"]
    rows = (await client.get("/api/redemption/?p=0", headers=ROOT)).json()["data"]
    assert len(rows) == 3 and rows[0]["id"] > rows[-1]["id"]
    found = (await client.get("/api/redemption/search?keyword=pro", headers=ROOT)).json()["data"]
    assert len(found) == 3
    first = rows[0]
    r = await client.put("/api/redemption/?status_only=1", json={"id": first["id"], "status": 2}, headers=ROOT)
    assert r.json()["data"]["status"] == RedemptionStatus.DISABLED
    r = await client.post("/api/user/topup", json={"key": first["key"]}, headers=common.headers)
    assert r.json() == {"success": False, "message": "该兑换码已被禁用"}
    r = await client.put("/api/redemption/", json={"id": first["id"], "name": "renamed", "quota": 7}, headers=ROOT)
    assert r.json()["data"]["name"] == "renamed" and r.json()["data"]["quota"] == 7
    assert (await client.delete(f"/api/redemption/{first['id']}", headers=ROOT)).json()["success"]
    assert not (await client.get(f"/api/redemption/{first['id']}", headers=ROOT)).json()["success"]


async def test_redeem_credits_once_and_logs(client, runtime, common):
    [key] = (await client.post("/api/redemption/", json={"name": "r", "quota": 1234, "count": 1},
                               headers=ROOT)).json()["data"]
    r = await client.post("/api/user/topup", json={"key": key}, headers=common.headers)
    assert r.json() == {"success": True, "message": "", "data": 1234}
    r = await client.post("/api/user/topup", json={"key": key}, headers=common.headers)
    assert r.json() == {"success": False, "message": "该兑换码已被使用"}
    r = await client.post("/api/user/topup", json={"key": "0" * 32}, headers=common.headers)
    assert r.json() == {"success": False, "message": "无效的兑换码"}
    assert (await get_user(runtime, "alice")).quota == 1234
    logs = (await client.get("/api/log/self?type=1", headers=common.headers)).json()["data"]
    assert len(logs) == 1 and logs[0]["quota"] == 1234 and "兑换码" in logs[0]["content"]
    assert "id" not in logs[0] and "user_id" not in logs[0]
    row = (await client.get("/api/redemption/", headers=ROOT)).json()["data"][0]
    assert row["status"] == RedemptionStatus.USED and row["redeemed_time"] > 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
async def test_fifty_concurrent_redeems_credit_once(kind, make_settings, request):
    env = {}
    if kind == "postgresql":
        env["SQL_DSN"] = request.getfixturevalue("postgres_dsn")
    elif kind == "mysql":
        env["SQL_DSN"] = request.getfixturevalue("mysql_dsn")
    runtime = Runtime(make_settings(**env))
    async with runtime.lifespan():
        accounts = [await make_account(runtime, f"u{i}") for i in range(5)]
        users = [await get_user(runtime, a.username) for a in accounts]
        async with runtime.db.session() as s:
            [key] = await redemptions.create_redemptions(s, 1, "race", 777, 1)

        async def attempt(i: int):
            async with runtime.db.session() as s:
                try:
                    return await redemptions.redeem(runtime.db, s, runtime.options, users[i % 5], key,
                                                    bus=runtime.changes)
                except Exception as exc:  # noqa: BLE001 -- the refusals, whatever their class, are counted
                    return exc

        results = await asyncio.gather(*[attempt(i) for i in range(50)])
        credited = [r for r in results if r == 777]
        refused = [r for r in results if r != 777]
        assert len(credited) == 1, results
        assert all(getattr(r, "message", "") == "该兑换码已被使用" for r in refused), refused
        total = sum([(await get_user(runtime, a.username)).quota for a in accounts])
        assert total == 777
        async with runtime.db.log_session() as s:
            from sqlmodel import select

            from oneapi_app.models import Log

            rows = (await s.exec(select(Log).where(Log.type == LogType.TOPUP))).all()
        assert len(rows) == 1
