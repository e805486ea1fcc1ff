from oneapi_app.models import LogType, Role, UserStatus

from .conftest import ROOT, get_user, make_account

SECRET_KEYS = {"password", "access_token"}


async def test_list_search_and_sort_never_leak_secrets(client, runtime, common, admin):
    async with runtime.db.session() as s:
        from oneapi_app.services.users import add_quota

        await add_quota(s, common.id, 999)
        await s.commit()
    rows = (await client.get("/api/user/?p=0", headers=ROOT)).json()["data"]
    assert [r["username"] for r in rows] == ["adam", "alice", "root"]
    assert all(not (SECRET_KEYS & set(r)) for r in rows)
    rows = (await client.get("/api/user/?order=quota", headers=ROOT)).json()["data"]
    assert rows[0]["username"] == "root" and rows[1]["username"] == "alice"
    assert (await client.get("/api/user/?p=1", headers=ROOT)).json()["data"] == []
    found = (await client.get("/api/user/search?keyword=ali", headers=ROOT)).json()["data"]
    assert [r["username"] for r in found] == ["alice"]
    found = (await client.get(f"/api/user/search?keyword={common.id}", headers=ROOT)).json()["data"]
    assert [r["id"] for r in found] == [common.id]
    found = (await client.get("/api/user/search?keyword=%25", headers=ROOT)).json()["data"]
    assert found == []  # LIKE wildcards are escaped
    one = (await client.get(f"/api/user/{common.id}", headers=admin.headers)).json()
    assert one["success"] and not (SECRET_KEYS & set(one["data"]))


async def test_role_rules(client, runtime, common, admin):
    other_admin = await make_account(runtime, "adam2", Role.ADMIN)
    # An admin cannot read, edit, manage or delete an equal or higher role.
    r = await client.get(f"/api/user/{other_admin.id}", headers=admin.headers)
    assert r.json() == {"success": False, "message": "无权获取同级或更高等级用户的信息"}
    r = await client.put("/api/user/", json={"id": other_admin.id, "display_name": "x"}, headers=admin.headers)
    assert not r.json()["success"]
    r = await client.put("/api/user/", json={"id": common.id, "role": 10}, headers=admin.headers)
    assert r.json() == {"success": False, "message": "无权将其他用户权限等级提升到大于等于自己的权限等级"}
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "promote"}, headers=admin.headers)
    assert r.json() == {"success": False, "message": "普通管理员用户无法提升其他用户为管理员"}
    r = await client.post("/api/user/manage", json={"username": "root", "action": "disable"}, headers=admin.headers)
    assert not r.json()["success"]
    r = await client.post("/api/user/manage", json={"username": "root", "action": "disable"}, headers=ROOT)
    assert r.json() == {"success": False, "message": "无法禁用超级管理员用户"}
    r = await client.post("/api/user/manage", json={"username": "root", "action": "delete"}, headers=ROOT)
    assert r.json() == {"success": False, "message": "无法删除超级管理员用户"}
    r = await client.delete(f"/api/user/{other_admin.id}", headers=admin.headers)
    assert not r.json()["success"]
    # Root promotes and demotes.
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "promote"}, headers=ROOT)
    assert r.json()["data"] == {"role": Role.ADMIN, "status": UserStatus.ENABLED}
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "promote"}, headers=ROOT)
    assert r.json() == {"success": False, "message": "该用户已经是管理员"}
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "demote"}, headers=ROOT)
    assert r.json()["data"]["role"] == Role.COMMON
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "fly"}, headers=ROOT)
    assert not r.json()["success"]
    # Admin edits a common user: quota (also to 0), group; a manage log is written.
    r = await client.put("/api/user/", json={"id": common.id, "quota": 5000, "group": "vip"}, headers=admin.headers)
    assert r.json()["success"] and r.json()["data"]["quota"] == 5000 and r.json()["data"]["group"] == "vip"
    r = await client.put("/api/user/", json={"id": common.id, "quota": 0}, headers=admin.headers)
    assert r.json()["data"]["quota"] == 0
    logs = (await client.get("/api/log/?type=3", headers=ROOT)).json()["data"]
    assert len(logs) == 2 and logs[0]["user_id"] == common.id


async def test_create_delete_and_username_reuse(client, runtime):
    r = await client.post("/api/user/", json={"username": "newbie", "password": "password123",
                                              "display_name": "N"}, headers=ROOT)
    assert r.json()["success"]
    newbie = await get_user(runtime, "newbie")
    assert newbie.role == Role.COMMON
    r = await client.delete(f"/api/user/{newbie.id}", headers=ROOT)
    assert r.json()["success"]
    assert not (await client.get(f"/api/user/{newbie.id}", headers=ROOT)).json()["success"]
    # Soft delete frees the username.
    r = await client.post("/api/user/", json={"username": "newbie", "password": "password123"}, headers=ROOT)
    assert r.json()["success"]
    assert not (await client.get("/api/user/999999", headers=ROOT)).json()["success"]


async def test_topup_for_payment_systems(client, runtime, common, admin):
    r = await client.post("/api/topup", json={"user_id": common.id, "quota": 700, "remark": "order 42"},
                          headers=admin.headers)
    assert r.json()["success"]
    assert (await get_user(runtime, "alice")).quota == 700
    r = await client.post("/api/topup", json={"user_id": common.id, "quota": -5}, headers=admin.headers)
    assert not r.json()["success"]
    r = await client.post("/api/topup", json={"user_id": 999999, "quota": 5}, headers=admin.headers)
    assert not r.json()["success"]
    logs = (await client.get("/api/log/self?type=1", headers=common.headers)).json()["data"]
    assert logs[0]["content"] == "order 42" and logs[0]["quota"] == 700
    r = await client.post("/api/topup", json={"user_id": common.id, "quota": 5}, headers=admin.headers)
    logs = (await client.get("/api/log/self?type=1", headers=common.headers)).json()["data"]
    assert logs[0]["content"].startswith("通过 API 充值")
    assert [e["type"] for e in logs] == [LogType.TOPUP, LogType.TOPUP]


async def test_groups_and_self_views(client, common):
    assert (await client.get("/api/group/", headers=ROOT)).json()["data"] == ["default", "vip", "svip"]
    me = (await client.get("/api/user/self", headers=common.headers)).json()["data"]
    assert me["username"] == "alice" and me["quota"] == 0
    assert (await client.get("/api/user/available_models", headers=common.headers)).json()["data"] == []
    assert (await client.get("/api/user/dashboard", headers=common.headers)).json()["data"] == []


async def test_admin_quota_edit_keeps_concurrent_spending(runtime, common):
    from oneapi_app.models import User
    from oneapi_app.services import users

    async with runtime.db.session() as admin_session, runtime.db.session() as relay_session:
        root = await admin_session.get(User, 1)
        stale = await admin_session.get(User, common.id)  # the admin's view: quota 0
        await users.add_quota(relay_session, common.id, -300)  # the relay spends meanwhile
        await relay_session.commit()
        assert stale.quota == 0
        await users.update_user_by_admin(runtime.db, admin_session, root, runtime.options, common.id,
                                         {"quota": 1000}, bus=runtime.changes)
    assert (await get_user(runtime, "alice")).quota == 700  # +1000 as asked, the 300 spent still counted
