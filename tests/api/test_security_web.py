"""Browser-facing defences of /api: cross-site requests refused for cookie (not token) callers, security
headers on every answer, and names that impersonate root refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from oneapi_app.api.deps import CROSS_SITE
from oneapi_app.models import User
from oneapi_app.services.users import RESERVED_NAME

from .conftest import ROOT, get_user, set_option

CROSS = {"Sec-Fetch-Site": "cross-site"}
REFUSED = {"success": False, "message": str(CROSS_SITE)}


async def login(client, username: str, password: str, **headers: str) -> None:
    r = await client.post("/api/user/login", json={"username": username, "password": password}, headers=headers)
    assert r.json()["success"], r.json()


async def test_a_cross_site_link_cannot_rotate_the_access_token(client, runtime, common):
    await login(client, "alice", "password123")
    r = await client.get("/api/user/token", headers=CROSS)
    assert r.status_code == 403 and r.json() == REFUSED
    assert (await get_user(runtime, "alice")).access_token == common.token  # unchanged
    for site in ("same-origin", "same-site", "none"):  # own pages, sibling hosts, typed URLs and bookmarks
        r = await client.get("/api/user/token", headers={"Sec-Fetch-Site": site})
        assert r.json()["success"], site
    assert (await client.get("/api/user/token")).json()["success"]  # no browser headers: a script


async def test_a_cross_site_link_cannot_start_a_test_of_every_channel(client, runtime, admin):
    await login(client, "adam", "password123")
    r = await client.get("/api/channel/test", headers=CROSS)
    assert r.status_code == 403 and r.json() == REFUSED
    assert not (await client.get("/api/channel/test/progress")).json()["data"]["running"]
    assert (await client.get("/api/channel/test", headers={"Sec-Fetch-Site": "same-origin"})).json()["success"]


async def test_cookie_writes_check_the_origin(client, runtime, common):
    await set_option(client, "ServerAddress", "https://oneapi.example.com")
    await login(client, "alice", "password123")
    body = {"name": "t", "remain_quota": 10, "expired_time": -1}
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        r = await client.post("/api/token/", json=body, headers={"Origin": origin})
        assert r.status_code == 403 and r.json() == REFUSED, origin
    r = await client.post("/api/token/", json=body, headers={"Origin": "https://evil.example", **CROSS})
    assert r.status_code == 403
    r = await client.put("/api/user/self", json={"display_name": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = await client.delete("/api/user/self", headers=CROSS)
    assert r.status_code == 403 and (await get_user(runtime, "alice")).status == 1
    # own origin: the Host it was reached at, or ServerAddress (a proxy that rewrites Host)
    assert (await client.post("/api/token/", json=body, headers={"Origin": "http://testserver"})).json()["success"]
    r = await client.post("/api/token/", json=body, headers={"Origin": "https://oneapi.example.com"})
    assert r.json()["success"]
    # a trusted proxy's X-Forwarded-Host (the test client's peer is 127.0.0.1, trusted by default)
    r = await client.post("/api/token/", json=body, headers={"Origin": "https://gw.example.net",
                                                             "X-Forwarded-Host": "gw.example.net"})
    assert r.json()["success"]
    # the browser's own word wins when it gives it
    r = await client.post("/api/token/", json=body, headers={"Origin": "https://gw.example.net",
                                                             "Sec-Fetch-Site": "same-origin"})
    assert r.json()["success"]


async def test_access_tokens_work_from_anywhere(client, common):
    r = await client.get("/api/user/token", headers=common.headers | CROSS | {"Origin": "https://evil.example"})
    assert r.json()["success"]
    r = await client.post("/api/token/", json={"name": "t"}, headers=ROOT | CROSS)
    assert r.json()["success"]


async def test_login_csrf_and_public_reads(client, common):
    r = await client.post("/api/user/login", json={"username": "alice", "password": "password123"}, headers=CROSS)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = await client.get("/api/user/session?ticket=1.abc", headers=CROSS)
    assert r.status_code == 403
    await login(client, "alice", "password123")
    for path in ("/api/oauth/email/bind?email=evil@example.com&code=123456", "/api/user/logout",
                 "/api/user/aff", "/api/verification?email=alice@example.com"):
        assert (await client.get(path, headers=CROSS)).status_code == 403, path
    assert (await client.get("/api/user/self")).json()["success"]  # still logged in
    for path in ("/api/status", "/api/notice", "/api/about", "/api/home_page_content"):
        assert (await client.get(path, headers=CROSS)).status_code == 200, path


async def test_api_answers_carry_security_headers(client):
    for path, headers in (("/api/status", {}), ("/api/user/self", {}), ("/api/nope", {}),
                          ("/api/user/token", CROSS)):
        r = await client.get(path, headers=headers)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
    r = await client.get("/v1/models")
    assert "content-security-policy" not in r.headers  # the relay's answers are left as they were


@pytest.mark.parametrize("name", ["Root", "ROOT", "root", "Root User", "root_user", "ｒｏｏｔ", " r o o t "])
async def test_nobody_else_may_be_called_root(client, runtime, common, name):
    r = await client.put("/api/user/self", json={"display_name": name}, headers=common.headers)
    assert r.json() == {"success": False, "message": str(RESERVED_NAME)}
    assert (await get_user(runtime, "alice")).display_name == "alice"
    if len(name) <= 12 and " " not in name.strip():
        r = await client.put("/api/user/self", json={"username": name}, headers=common.headers)
        assert r.json() == {"success": False, "message": str(RESERVED_NAME)}
        r = await client.post("/api/user/", json={"username": name, "password": "password123"}, headers=ROOT)
        assert r.json() == {"success": False, "message": str(RESERVED_NAME)}
    r = await client.post("/api/user/", json={"username": "bob", "password": "password123", "display_name": name},
                          headers=ROOT)
    assert r.json() == {"success": False, "message": str(RESERVED_NAME)}


async def test_root_keeps_its_names_and_others_keep_ordinary_ones(client, runtime, common):
    r = await client.put("/api/user/self", json={"display_name": "Root", "username": "root"}, headers=ROOT)
    assert r.json()["success"]
    for name in ("Rooty", "groot", "Alice Root"):
        r = await client.put("/api/user/self", json={"display_name": name}, headers=common.headers)
        assert r.json()["success"], name
    await set_option(client, "PasswordRegisterEnabled", "true")
    r = await client.post("/api/user/register", json={"username": "Root", "password": "password123"})
    assert r.json() == {"success": False, "message": str(RESERVED_NAME)}
    async with runtime.db.session() as s:
        assert (await s.exec(select(User).where(User.username == "Root"))).first() is None


async def test_an_oauth_profile_named_root_gets_ordinary_names(runtime):
    """A provider's "Root" profile does not block its login: the OAuth route falls back to a numbered username
    when check_username refuses (an AppError), and create_user uses the username as the display name."""
    from oneapi_app.errors import AppError
    from oneapi_app.services import users

    with pytest.raises(AppError, match="超级管理员保留"):
        users.check_username("Root")
    async with runtime.db.session() as s:
        user = await users.create_user(runtime.db, s, runtime.options, username="github_7", password="x" * 12,
                                       display_name="Root", github_id="7")
    assert user.display_name == "github_7"
    async with runtime.db.session() as s:
        with pytest.raises(AppError, match="超级管理员保留"):  # a password signup is told, not renamed
            await users.create_user(runtime.db, s, runtime.options, username="carol", password="x" * 12,
                                    display_name="Root")
