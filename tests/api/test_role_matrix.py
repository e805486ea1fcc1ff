"""Every /api route x {anonymous, common user, admin, root}: allowed, or refused with one-api's exact answer."""

import httpx

from oneapi_app.api import create_api
from oneapi_app.api.deps import NO_PERMISSION, NOT_LOGGED_IN

from .conftest import make_account

PUBLIC, USER, ADMIN, ROOT_ONLY = 0, 1, 10, 100
ROUTES = {
    ("GET", "/api/status"): PUBLIC, ("GET", "/api/notice"): PUBLIC, ("GET", "/api/about"): PUBLIC,
    ("GET", "/api/home_page_content"): PUBLIC, ("POST", "/api/user/login"): PUBLIC, ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/user/logout"): PUBLIC, ("POST", "/api/user/register"): PUBLIC,
    ("GET", "/api/verification"): PUBLIC, ("GET", "/api/reset_password"): PUBLIC, ("POST", "/api/user/reset"): PUBLIC,
    ("GET", "/api/oauth/state"): PUBLIC, ("GET", "/api/oauth/{provider}/authorize"): PUBLIC,
    ("GET", "/api/oauth/github"): PUBLIC, ("GET", "/api/oauth/oidc"): PUBLIC, ("GET", "/api/oauth/lark"): PUBLIC,
    ("GET", "/api/oauth/wechat"): PUBLIC, ("GET", "/api/user/session"): PUBLIC,
    ("GET", "/api/user/session/end"): PUBLIC, ("GET", "/api/oauth/wechat/bind"): USER,
    ("GET", "/api/user/self"): USER, ("PUT", "/api/user/self"): USER, ("DELETE", "/api/user/self"): USER,
    ("GET", "/api/user/token"): USER, ("GET", "/api/user/aff"): USER, ("POST", "/api/user/topup"): USER,
    ("GET", "/api/user/dashboard"): USER, ("GET", "/api/user/available_models"): USER, ("GET", "/api/models"): USER,
    ("GET", "/api/oauth/email/bind"): USER,
    ("GET", "/api/token/"): USER, ("POST", "/api/token/"): USER, ("PUT", "/api/token/"): USER,
    ("GET", "/api/token/search"): USER, ("GET", "/api/token/{token_id}"): USER,
    ("DELETE", "/api/token/{token_id}"): USER,
    ("GET", "/api/log/self"): USER, ("GET", "/api/log/self/stat"): USER, ("GET", "/api/log/self/search"): USER,
    ("GET", "/api/user/"): ADMIN, ("POST", "/api/user/"): ADMIN, ("PUT", "/api/user/"): ADMIN,
    ("GET", "/api/user/search"): ADMIN, ("POST", "/api/user/manage"): ADMIN, ("GET", "/api/user/{user_id}"): ADMIN,
    ("DELETE", "/api/user/{user_id}"): ADMIN, ("POST", "/api/topup"): ADMIN, ("GET", "/api/group/"): ADMIN,
    ("GET", "/api/channel/"): ADMIN, ("POST", "/api/channel/"): ADMIN, ("PUT", "/api/channel/"): ADMIN,
    ("GET", "/api/channel/search"): ADMIN, ("GET", "/api/channel/models"): ADMIN,
    ("GET", "/api/channel/types"): ADMIN, ("GET", "/api/channel/test"): ADMIN,
    ("GET", "/api/channel/test/progress"): ADMIN, ("GET", "/api/channel/test/{channel_id}"): ADMIN,
    ("GET", "/api/channel/update_balance"): ADMIN, ("GET", "/api/channel/update_balance/{channel_id}"): ADMIN,
    ("GET", "/api/channel/{channel_id}"): ADMIN, ("DELETE", "/api/channel/disabled"): ADMIN,
    ("DELETE", "/api/channel/{channel_id}"): ADMIN,
    ("GET", "/api/redemption/"): ADMIN, ("POST", "/api/redemption/"): ADMIN, ("PUT", "/api/redemption/"): ADMIN,
    ("GET", "/api/redemption/search"): ADMIN, ("GET", "/api/redemption/{redemption_id}"): ADMIN,
    ("DELETE", "/api/redemption/{redemption_id}"): ADMIN,
    ("GET", "/api/log/"): ADMIN, ("DELETE", "/api/log/"): ADMIN, ("GET", "/api/log/stat"): ADMIN,
    ("GET", "/api/log/search"): ADMIN,
    ("GET", "/api/option/"): ROOT_ONLY, ("PUT", "/api/option/"): ROOT_ONLY,
}
AUTH_MESSAGES = {str(NOT_LOGGED_IN), str(NO_PERMISSION), "无权进行此操作，access token 无效", "用户已被封禁"}


def api_routes(api) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in api.openapi()["paths"].items() if path.startswith("/api")
            for method in ops}


def concrete(path: str) -> str:
    return (path.replace("{provider}", "github").replace("{user_id}", "999999").replace("{token_id}", "999999")
            .replace("{channel_id}", "999999").replace("{redemption_id}", "999999"))


async def test_every_api_route_is_in_the_matrix(runtime):
    assert api_routes(create_api(runtime)) == set(ROUTES)


async def test_role_matrix(runtime):
    api = create_api(runtime)
    await make_account(runtime, "common1")
    await make_account(runtime, "admin1", role=10)
    clients = {}
    for index, (name, login) in enumerate([("anonymous", None), ("common", ("common1", "password123")),
                                           ("admin", ("admin1", "password123")), ("root", ("root", "123456"))]):
        c = httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://testserver",
                              headers={"X-Forwarded-For": f"198.51.100.{index + 1}"})
        if login:
            r = await c.post("/api/user/login", json={"username": login[0], "password": login[1]})
            assert r.json()["success"], r.json()
        clients[name] = c
    levels = {"anonymous": 0, "common": USER, "admin": ADMIN, "root": ROOT_ONLY}
    # Self-destructive routes last.
    last = [("DELETE", "/api/user/self"), ("GET", "/api/user/logout"), ("GET", "/api/user/session/end")]
    order = sorted(ROUTES, key=lambda k: last.index(k) + 1 if k in last else 0)
    failures = []
    try:
        for method, path in order:
            need = ROUTES[(method, path)]
            for name, c in clients.items():
                kwargs = {"json": {}} if method in ("POST", "PUT") else {}
                r = await c.request(method, concrete(path), **kwargs)
                assert r.status_code != 500, (method, path, name, r.text)
                try:
                    body = r.json()
                except ValueError:
                    body = {}
                message = body.get("message") if isinstance(body, dict) else None
                if levels[name] >= need:
                    if message in AUTH_MESSAGES or r.status_code == 401:
                        failures.append((method, path, name, "refused", message))
                elif name == "anonymous":
                    if (r.status_code, message) != (401, str(NOT_LOGGED_IN)):
                        failures.append((method, path, name, r.status_code, message))
                elif (r.status_code, body) != (200, {"success": False, "message": str(NO_PERMISSION)}):
                    failures.append((method, path, name, r.status_code, body))
    finally:
        for c in clients.values():
            await c.aclose()
    assert failures == []
