"""The foundation's HTTP surface: /api/status, error envelopes for unknown and unimplemented routes,
the request id header, gzip request bodies, bootstrap of the root account."""

import gzip
import re

import httpx
from sqlmodel import select

from oneapi_app.auth.passwords import verify_password
from oneapi_app.models import Token, User


async def test_status(client, runtime):
    body = (await client.get("/api/status")).json()
    assert body["success"] is True and body["message"] == ""
    data = body["data"]
    assert data["version"] == runtime.version and data["start_time"] == runtime.started_at
    assert data["system_name"] == "One API" and data["quota_per_unit"] == 500000
    assert data["display_in_currency"] is True and data["github_oauth"] is False
    for key in ("email_verification", "github_client_id", "lark_client_id", "logo", "footer_html", "wechat_qrcode",
                "wechat_login", "server_address", "turnstile_check", "turnstile_site_key", "top_up_link", "chat_link",
                "oidc", "oidc_client_id", "oidc_well_known", "oidc_authorization_endpoint", "oidc_token_endpoint",
                "oidc_userinfo_endpoint"):
        assert key in data


async def test_public_texts(client):
    for path in ("/api/notice", "/api/about", "/api/home_page_content"):
        assert (await client.get(path)).json() == {"success": True, "message": "", "data": ""}


async def test_request_id_on_every_response(client):
    for path in ("/api/status", "/v1/unknown", "/api/unknown"):
        rid = (await client.get(path)).headers["x-oneapi-request-id"]
        assert re.fullmatch(r"\d{14}\d{9}\d{8}", rid)


async def test_unknown_paths_get_one_api_404(client):
    r = await client.post("/v1/nothing/here")
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "Invalid URL (POST /v1/nothing/here)", "type": "invalid_request_error",
                                  "param": "", "code": ""}}
    r = await client.get("/api/nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (GET /api/nope)"


async def test_unimplemented_openai_routes_501(client):
    for method, path in (("POST", "/v1/images/variations"), ("GET", "/v1/files"), ("POST", "/v1/threads/abc/runs"),
                         ("DELETE", "/v1/models/gpt-4o"), ("GET", "/v1/fine_tuning/jobs")):
        r = await client.request(method, path)
        assert r.status_code == 501, path
        assert r.json() == {"error": {"message": "API not implemented", "type": "one_api_error", "param": "",
                                      "code": "api_not_implemented"}}


async def test_gzip_request_body_is_accepted_and_bad_gzip_refused(client):
    # The body reaches the app decompressed; /v1/files answers 501 either way, so probe with a 404 path
    # that echoes nothing but must not fail on the body.
    r = await client.post("/v1/files", content=gzip.compress(b'{"a":1}'), headers={"content-encoding": "gzip"})
    assert r.status_code == 501
    r = await client.post("/v1/files", content=b"not gzip", headers={"content-encoding": "gzip"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_gzip_body"


async def test_root_bootstrap(runtime):
    async with runtime.db.session() as s:
        root = (await s.exec(select(User))).one()
        assert (root.username, root.role, root.display_name, root.quota) == ("root", 100, "Root User", 500000000000000)
        assert verify_password("123456", root.password) and not verify_password("1234567", root.password)
        assert root.access_token and len(root.access_token) == 32
        assert (await s.exec(select(Token))).all() == []


async def test_root_bootstrap_with_initial_tokens(make_settings):
    from oneapi_app.runtime import Runtime

    rt = Runtime(make_settings(INITIAL_ROOT_TOKEN="my-initial-token-123", INITIAL_ROOT_ACCESS_TOKEN="a" * 32))
    async with rt.lifespan():
        async with rt.db.session() as s:
            root = (await s.exec(select(User))).one()
            token = (await s.exec(select(Token))).one()
    assert root.access_token == "a" * 32
    assert (token.key, token.name, token.unlimited_quota, token.expired_time, token.user_id) == (
        "my-initial-token-123", "Initial Root Token", True, -1, root.id)
    # A second start on the same database creates nothing more.
    rt2 = Runtime(rt.settings)
    async with rt2.lifespan():
        async with rt2.db.session() as s:
            assert len((await s.exec(select(User))).all()) == 1


async def test_frontend_base_url_redirects_dashboard_paths_on_api_nodes(make_settings):
    from oneapi_app.api import create_api
    from oneapi_app.migrations import migrate
    from oneapi_app.runtime import Runtime

    settings = make_settings(FRONTEND_BASE_URL="https://dash.example.com/", NODE_TYPE="slave")
    migrate(settings)  # a slave does not migrate: the master did
    rt = Runtime(settings)
    api = create_api(rt, own_lifespan=True)
    async with rt.lifespan():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://node") as c:
            r = await c.get("/tokens?p=2")
            assert r.status_code == 301 and r.headers["location"] == "https://dash.example.com/tokens?p=2"
            assert (await c.get("/v1/nope")).status_code == 404


async def test_slave_on_an_empty_database_says_what_to_do(make_settings):
    import pytest

    from oneapi_app.runtime import Runtime, StartupError

    rt = Runtime(make_settings(NODE_TYPE="slave"))
    with pytest.raises(StartupError, match="start the master node first or run `oneapi migrate`"):
        async with rt.lifespan():
            pass
