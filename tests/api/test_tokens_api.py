from oneapi_app.models import TokenStatus

from .conftest import ROOT


async def test_token_crud_search_and_isolation(client, common, admin):
    h = common.headers
    r = await client.post("/api/token/", json={"name": "ci", "remain_quota": 1000, "expired_time": -1,
                                               "models": "gpt-4o, o1", "subnet": "10.0.0.0/8"}, headers=h)
    token = r.json()["data"]
    assert r.json()["success"] and len(token["key"]) == 48 and token["models"] == "gpt-4o,o1"
    r = await client.post("/api/token/", json={"name": "bad", "subnet": "10.0.0.0/99"}, headers=h)
    assert not r.json()["success"] and "网段" in r.json()["message"]
    r = await client.post("/api/token/", json={"name": "neg", "remain_quota": -1}, headers=h)
    assert not r.json()["success"]
    rows = (await client.get("/api/token/", headers=h)).json()["data"]
    assert [t["name"] for t in rows] == ["ci", "default"]
    assert [t["name"] for t in (await client.get("/api/token/search?keyword=c", headers=h)).json()["data"]] == ["ci"]
    # Other users cannot see or touch it.
    assert not (await client.get(f"/api/token/{token['id']}", headers=admin.headers)).json()["success"]
    assert not (await client.delete(f"/api/token/{token['id']}", headers=ROOT)).json()["success"]
    r = await client.put("/api/token/", json={"id": token["id"], "name": "renamed", "unlimited_quota": True},
                         headers=h)
    assert r.json()["data"]["name"] == "renamed" and r.json()["data"]["unlimited_quota"]
    assert (await client.delete(f"/api/token/{token['id']}", headers=h)).json()["success"]
    assert not (await client.get(f"/api/token/{token['id']}", headers=h)).json()["success"]


async def test_status_toggle_refuses_expired_or_exhausted(client, common):
    h = common.headers
    t = (await client.post("/api/token/", json={"name": "t", "remain_quota": 0}, headers=h)).json()["data"]
    r = await client.put("/api/token/?status_only=1", json={"id": t["id"], "status": 2}, headers=h)
    assert r.json()["data"]["status"] == TokenStatus.DISABLED
    r = await client.put("/api/token/?status_only=1", json={"id": t["id"], "status": 1}, headers=h)
    assert not r.json()["success"] and "额度" in r.json()["message"]
    await client.put("/api/token/", json={"id": t["id"], "remain_quota": 10, "expired_time": 1000}, headers=h)
    r = await client.put("/api/token/?status_only=1", json={"id": t["id"], "status": 1}, headers=h)
    assert not r.json()["success"] and "过期" in r.json()["message"]
    await client.put("/api/token/", json={"id": t["id"], "expired_time": -1}, headers=h)
    r = await client.put("/api/token/?status_only=1", json={"id": t["id"], "status": 1}, headers=h)
    assert r.json()["data"]["status"] == TokenStatus.ENABLED
    # status_only ignores other fields.
    r = await client.put("/api/token/?status_only=1", json={"id": t["id"], "status": 2, "name": "zzz"}, headers=h)
    assert r.json()["data"]["name"] == "t"


async def test_token_changes_are_announced(client, runtime, common):
    seen = []
    runtime.changes.subscribe("token", seen.append)
    t = (await client.post("/api/token/", json={"name": "t", "unlimited_quota": True}, headers=common.headers)).json()
    await client.put("/api/token/?status_only=1", json={"id": t["data"]["id"], "status": 2}, headers=common.headers)
    assert seen == [t["data"]["key"]]
