from sqlmodel import select

from oneapi_app.models import LogType, Role, Token, UserStatus

from .conftest import ROOT, get_user, set_option


async def test_login_by_username_or_email_sets_a_safe_session_cookie(client, common):
    r = await client.post("/api/user/login", json={"username": "alice", "password": "password123"})
    body = r.json()
    assert body["success"] and body["data"] == {"id": common.id, "username": "alice", "display_name": "alice",
                                                "role": 1, "status": 1}
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    me = (await client.get("/api/user/self")).json()
    assert me["success"] and me["data"]["username"] == "alice"
    assert "password" not in me["data"] and "access_token" not in me["data"]
    client.cookies.clear()
    r = await client.post("/api/user/login", json={"username": "alice@example.com", "password": "password123"})
    assert r.json()["success"]
    # Behind an https proxy the cookie is Secure.
    r = await client.post("/api/user/login", json={"username": "alice", "password": "password123"},
                          headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"]
    await client.get("/api/user/logout")
    r = await client.get("/api/user/self")
    assert r.status_code == 401 and r.json()["message"] == "无权进行此操作，未登录且未提供 access token"


async def test_wrong_password_and_tampered_cookie_are_refused(client, common):
    r = await client.post("/api/user/login", json={"username": "alice", "password": "wrong-password"})
    assert r.status_code == 200 and not r.json()["success"]
    r = await client.post("/api/user/login", json={"username": "alice", "password": "password123"})
    value = r.cookies["session"]
    body, mac = value.split(".")
    client.cookies.clear()
    client.cookies.set("session", body + "." + ("A" if mac[0] != "A" else "B") + mac[1:])
    assert (await client.get("/api/user/self")).status_code == 401


async def test_disabled_user_is_refused_at_once_sessions_included(client, runtime, common):
    await client.post("/api/user/login", json={"username": "alice", "password": "password123"})
    assert (await client.get("/api/user/self")).json()["success"]
    cookie = client.cookies["session"]
    client.cookies.clear()  # the session wins over the Authorization header
    r = await client.post("/api/user/manage", json={"username": "alice", "action": "disable"}, headers=ROOT)
    client.cookies.set("session", cookie)
    assert r.json()["data"]["status"] == UserStatus.DISABLED
    r = await client.get("/api/user/self")
    assert r.json() == {"success": False, "message": "用户已被封禁"}
    client.cookies.clear()
    r = await client.get("/api/user/self", headers=common.headers)
    assert r.json() == {"success": False, "message": "用户已被封禁"}
    r = await client.post("/api/user/login", json={"username": "alice", "password": "password123"})
    assert not r.json()["success"]


async def test_access_token_auth_and_bearer_prefix(client, common):
    assert (await client.get("/api/user/self", headers={"Authorization": "Bearer " + common.token})).json()["success"]
    r = await client.get("/api/user/self", headers={"Authorization": "nope"})
    assert r.json() == {"success": False, "message": "无权进行此操作，access token 无效"}
    new = (await client.get("/api/user/token", headers=common.headers)).json()["data"]
    assert len(new) == 32 and new != common.token
    assert not (await client.get("/api/user/self", headers=common.headers)).json()["success"]
    assert (await client.get("/api/user/self", headers={"Authorization": new})).json()["success"]


async def test_register_with_invitation_rewards_and_default_token(client, runtime, common):
    await set_option(client, "QuotaForNewUser", "100")
    await set_option(client, "QuotaForInviter", "30")
    await set_option(client, "QuotaForInvitee", "20")
    aff = (await client.get("/api/user/aff", headers=common.headers)).json()["data"]
    assert len(aff) == 4
    r = await client.post("/api/user/register", json={"username": "bob", "password": "bobpassword",
                                                       "aff_code": aff})
    assert r.json()["success"], r.json()
    bob = await get_user(runtime, "bob")
    alice = await get_user(runtime, "alice")
    assert bob.quota == 120 and bob.inviter_id == common.id and bob.role == Role.COMMON
    assert alice.quota == 30
    async with runtime.db.session() as s:
        token = (await s.exec(select(Token).where(Token.user_id == bob.id))).one()
    assert token.name == "default" and token.unlimited_quota and token.expired_time == -1
    logs = (await client.get("/api/log/?type=4", headers=ROOT)).json()["data"]
    assert len(logs) == 3 and all(entry["type"] == LogType.SYSTEM for entry in logs)
    r = await client.post("/api/user/register", json={"username": "bob", "password": "bobpassword"})
    assert not r.json()["success"] and "用户名已被占用" in r.json()["message"]
    r = await client.post("/api/user/register", json={"username": "carol", "password": "short"})
    assert not r.json()["success"] and "8-20" in r.json()["message"]


async def test_register_gates(client):
    await set_option(client, "RegisterEnabled", "false")
    r = await client.post("/api/user/register", json={"username": "bob", "password": "bobpassword"})
    assert r.json() == {"success": False, "message": "管理员关闭了新用户注册"}
    await set_option(client, "RegisterEnabled", "true")
    await set_option(client, "PasswordRegisterEnabled", "false")
    r = await client.post("/api/user/register", json={"username": "bob", "password": "bobpassword"})
    assert not r.json()["success"] and "密码" in r.json()["message"]
    await set_option(client, "PasswordRegisterEnabled", "true")
    await set_option(client, "EmailVerificationEnabled", "true")
    r = await client.post("/api/user/register", json={"username": "bob", "password": "bobpassword"})
    assert not r.json()["success"] and "邮箱" in r.json()["message"]
    await set_option(client, "PasswordLoginEnabled", "false")
    r = await client.post("/api/user/login", json={"username": "root", "password": "123456"})
    assert r.json() == {"success": False, "message": "管理员关闭了密码登录"}


async def test_login_is_rate_limited_per_ip(client, runtime):
    headers = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(runtime.settings.critical_rate_limit):
        r = await client.post("/api/user/login", json={"username": "x", "password": "y"}, headers=headers)
        assert r.status_code == 200
    r = await client.post("/api/user/login", json={"username": "x", "password": "y"}, headers=headers)
    assert r.status_code == 429 and not r.json()["success"]
    r = await client.post("/api/user/login", json={"username": "x", "password": "y"},
                          headers={"X-Forwarded-For": "203.0.113.10"})
    assert r.status_code == 200


async def test_self_edit_and_delete(client, runtime, common):
    r = await client.put("/api/user/self", json={"display_name": "Alice A", "password": "newpassword1"},
                         headers=common.headers)
    assert r.json()["success"]
    assert (await client.post("/api/user/login", json={"username": "alice", "password": "newpassword1"})).json()["success"]
    client.cookies.clear()
    r = await client.put("/api/user/self", json={"password": "x" * 21}, headers=common.headers)
    assert not r.json()["success"]
    assert (await client.delete("/api/user/self", headers=common.headers)).json()["success"]
    assert not (await client.get("/api/user/self", headers=common.headers)).json()["success"]
    r = await client.delete("/api/user/self", headers=ROOT)
    assert not r.json()["success"]


async def test_turnstile_checked_and_remembered(client, runtime, monkeypatch):
    import httpx

    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        ok = b"response=good" in request.content
        return httpx.Response(200, json={"success": ok})

    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    await set_option(client, "TurnstileSiteKey", "site")
    await set_option(client, "TurnstileSecretKey", "secret")
    await set_option(client, "TurnstileCheckEnabled", "true")
    body = {"username": "bob", "password": "bobpassword"}
    r = await client.post("/api/user/register", json=body)
    assert not r.json()["success"] and "Turnstile" in r.json()["message"]
    r = await client.post("/api/user/register?turnstile=bad", json=body)
    assert not r.json()["success"]
    r = await client.post("/api/user/register?turnstile=good", json=body)
    assert r.json()["success"], r.json()
    r = await client.post("/api/user/register", json=body | {"username": "bob2"})
    assert r.json()["success"]  # remembered in the session
    assert len(calls) == 2 and b"secret=secret" in calls[0].content


async def test_global_api_rate_limit(make_settings):
    import httpx

    from oneapi_app.api import create_api
    from oneapi_app.runtime import Runtime

    runtime = Runtime(make_settings(GLOBAL_API_RATE_LIMIT="5"))
    async with runtime.lifespan():
        api = create_api(runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://t") as c:
            codes = [(await c.get("/api/status")).status_code for _ in range(6)]
            assert codes == [200] * 5 + [429]
            assert (await c.get("/api/status", headers={"X-Forwarded-For": "192.0.2.1"})).status_code == 200
            assert (await c.post("/v1/chat/completions", json={})).status_code != 429  # the relay has none


async def test_a_password_change_ends_the_other_sessions(client, runtime, common):
    import httpx

    from oneapi_app.api import create_api

    api = create_api(runtime)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://testserver")
    async with other:
        assert (await other.post("/api/user/login", json={"username": "alice", "password": "password123"})).json()["success"]
        assert (await client.post("/api/user/login", json={"username": "alice", "password": "password123"})).json()["success"]
        r = await client.put("/api/user/self", json={"password": "changed-pass1"})
        assert r.json()["success"]
        assert (await client.get("/api/user/self")).json()["success"]  # this session goes on
        r = await other.get("/api/user/self")
        assert r.status_code == 401  # the other one ended


async def test_forwarded_for_is_not_believed_from_a_public_peer(runtime):
    import httpx

    from oneapi_app.api import create_api

    transport = httpx.ASGITransport(create_api(runtime), client=("8.8.4.4", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        codes = []
        for i in range(runtime.settings.critical_rate_limit + 1):
            r = await c.post("/api/user/login", json={"username": "x", "password": "y"},
                             headers={"X-Forwarded-For": f"198.51.100.{i}"})  # a new address each time
            codes.append(r.status_code)
    assert codes[-1] == 429 and set(codes[:-1]) == {200}
