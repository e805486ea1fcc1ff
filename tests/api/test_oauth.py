"""GitHub OAuth and OIDC end to end against a local fake provider: authorize redirect with state, the
provider's redirect back, code exchange, user fetch, account creation or binding; state mismatch refused."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .conftest import ROOT, get_user, set_option
from .fake_oauth import CLIENT_ID, CLIENT_SECRET, FakeProvider


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(make_settings, provider):
    from .conftest import ROOT_ACCESS_TOKEN

    return make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN, GITHUB_BASE_URL=provider.base,
                         GITHUB_API_BASE_URL=provider.base + "/api")


async def enable_github(client):
    await set_option(client, "ServerAddress", "https://gw.example.com")
    await set_option(client, "GitHubClientId", CLIENT_ID)
    await set_option(client, "GitHubClientSecret", CLIENT_SECRET)
    await set_option(client, "GitHubOAuthEnabled", "true")


async def run_flow(client, name: str) -> dict:
    """Browser steps: our authorize redirect -> provider -> back to our page with code and state."""
    r = await client.get(f"/api/oauth/{name}/authorize")
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    async with httpx.AsyncClient() as browser:
        reply = await browser.get(location)
    assert reply.status_code == 302
    back = urlsplit(reply.headers["location"])
    assert back.netloc == "gw.example.com" and back.path == f"/oauth/{name}"
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    return query


async def test_github_login_creates_then_reuses_the_account(client, runtime, provider):
    await enable_github(client)
    query = await run_flow(client, "github")
    assert len(query["state"]) == 12
    r = await client.get("/api/oauth/github", params=query)
    body = r.json()
    assert body["success"], body
    assert body["data"]["username"] == "github_2" and body["data"]["display_name"] == "The Octocat"
    user = await get_user(runtime, "github_2")
    assert user.github_id == "octocat" and user.email == "octo@example.com"
    assert (await client.get("/api/user/self")).json()["data"]["username"] == "github_2"
    assert provider.token_requests[-1]["grant_type"] == "authorization_code"
    assert provider.token_requests[-1]["redirect_uri"] == "https://gw.example.com/oauth/github"
    await client.get("/api/user/logout")
    query = await run_flow(client, "github")
    r = await client.get("/api/oauth/github", params=query)
    assert r.json()["data"]["id"] == user.id  # same account, no new user


async def test_state_mismatch_is_refused(client, provider):
    await enable_github(client)
    query = await run_flow(client, "github")
    r = await client.get("/api/oauth/github", params={"code": query["code"], "state": "x" * 12})
    assert r.status_code == 403 and not r.json()["success"]
    # Without any state in the session (another browser).
    client.cookies.clear()
    r = await client.get("/api/oauth/github", params=query)
    assert r.status_code == 403


async def test_github_state_endpoint_and_bad_code(client, provider):
    await enable_github(client)
    state = (await client.get("/api/oauth/state")).json()["data"]
    assert len(state) == 12
    r = await client.get("/api/oauth/github", params={"code": "nope", "state": state})
    assert r.status_code == 200 and not r.json()["success"] and "授权码兑换失败" in r.json()["message"]


async def test_github_disabled_and_register_closed(client, provider):
    r = await client.get("/api/oauth/github/authorize")
    assert r.json() == {"success": False, "message": "管理员未开启通过 GitHub 登录以及注册"}
    r = await client.put("/api/option/", json={"key": "GitHubOAuthEnabled", "value": "true"}, headers=ROOT)
    assert not r.json()["success"] and "Client Id" in r.json()["message"]
    await enable_github(client)
    await set_option(client, "RegisterEnabled", "false")
    query = await run_flow(client, "github")
    r = await client.get("/api/oauth/github", params=query)
    assert r.json() == {"success": False, "message": "管理员关闭了新用户注册"}


async def test_github_binds_to_the_logged_in_user(client, runtime, provider, common):
    await enable_github(client)
    await client.post("/api/user/login", json={"username": "alice", "password": "password123"})
    query = await run_flow(client, "github")
    r = await client.get("/api/oauth/github", params=query)
    assert r.json()["success"] and r.json()["message"] == "bind"
    assert (await get_user(runtime, "alice")).github_id == "octocat"


async def test_oidc_login_with_well_known_discovery(client, runtime, provider):
    await set_option(client, "ServerAddress", "https://gw.example.com")
    await set_option(client, "OidcClientId", CLIENT_ID)
    await set_option(client, "OidcClientSecret", CLIENT_SECRET)
    await set_option(client, "OidcWellKnown", provider.base + "/.well-known/openid-configuration")
    await set_option(client, "OidcEnabled", "true")
    query = await run_flow(client, "oidc")
    r = await client.get("/api/oauth/oidc", params=query)
    assert r.json()["success"], r.json()
    assert r.json()["data"]["username"] == "olivia"
    user = await get_user(runtime, "olivia")
    assert user.oidc_id == "sub-42" and user.email == "olivia@example.com"
    r = await client.get("/api/oauth/oidc", params=query)
    assert r.status_code == 403  # the state is single use


def fake_http(monkeypatch, runtime, handler):
    monkeypatch.setattr(runtime, "_http", httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_lark_login(client, runtime, monkeypatch):
    await set_option(client, "ServerAddress", "https://gw.example.com")
    await set_option(client, "LarkClientId", "cli_a")
    await set_option(client, "LarkClientSecret", "lark-secret")
    seen = []

    def handler(request):
        seen.append(request)
        if request.url.host == "open.feishu.cn":
            import json

            body = json.loads(request.content)
            assert body["code"] == "lark-code" and body["client_secret"] == "lark-secret"
            assert body["redirect_uri"] == "https://gw.example.com/oauth/lark"
            return httpx.Response(200, json={"code": 0, "access_token": "u-token"})
        assert request.headers["authorization"] == "Bearer u-token"
        return httpx.Response(200, json={"open_id": "ou_1", "name": "Lark Person"})

    fake_http(monkeypatch, runtime, handler)
    r = await client.get("/api/oauth/lark/authorize")
    location = urlsplit(r.headers["location"])
    state = parse_qs(location.query)["state"][0]
    assert location.netloc == "open.feishu.cn" and parse_qs(location.query)["app_id"] == ["cli_a"]
    r = await client.get("/api/oauth/lark", params={"code": "lark-code", "state": "wrong-state1"})
    assert r.status_code == 403
    r = await client.get("/api/oauth/lark", params={"code": "lark-code", "state": state})
    assert r.json()["success"] and r.json()["data"]["username"] == "lark_2"
    assert (await get_user(runtime, "lark_2")).lark_id == "ou_1"


async def test_wechat_login_and_bind(client, runtime, monkeypatch, common):
    def handler(request):
        assert request.headers["authorization"] == "wx-token"
        code = request.url.params["code"]
        if code == "good":
            return httpx.Response(200, json={"success": True, "message": "", "data": "wx-openid-1"})
        if code == "other":
            return httpx.Response(200, json={"success": True, "message": "", "data": "wx-openid-2"})
        return httpx.Response(200, json={"success": False, "message": "验证码错误或已过期"})

    fake_http(monkeypatch, runtime, handler)
    r = await client.get("/api/oauth/wechat", params={"code": "good"})
    assert r.json() == {"success": False, "message": "管理员未开启通过微信登录以及注册"}
    await set_option(client, "WeChatServerAddress", "https://wx.test")
    await set_option(client, "WeChatServerToken", "wx-token")
    await set_option(client, "WeChatAuthEnabled", "true")
    r = await client.get("/api/oauth/wechat", params={"code": "bad"})
    assert r.json() == {"success": False, "message": "验证码错误或已过期"}
    r = await client.get("/api/oauth/wechat", params={"code": "good"})
    assert r.json()["success"] and r.json()["data"]["username"] == "wechat_3"
    client.cookies.clear()
    r = await client.get("/api/oauth/wechat/bind", params={"code": "good"}, headers=common.headers)
    assert r.json() == {"success": False, "message": "该微信账号已被绑定"}
    r = await client.get("/api/oauth/wechat/bind", params={"code": "other"}, headers=common.headers)
    assert r.json()["success"]
    assert (await get_user(runtime, "alice")).wechat_id == "wx-openid-2"
