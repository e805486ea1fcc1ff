"""Malformed JSON, wrong types, over-long strings, negative quotas, unknown ids: success:false with a clear
message, never a 500 — on SQLite, PostgreSQL (which refuses NUL characters and out-of-range ints) and MariaDB."""

import httpx
import pytest

from oneapi_app.api import create_api
from oneapi_app.runtime import Runtime

from .conftest import ROOT, ROOT_ACCESS_TOKEN

CASES = [
    ("POST", "/api/token/", b"{not json", "JSON"),
    ("POST", "/api/token/", b'{"name": 5, "remain_quota": "lots"}', "remain_quota"),
    ("POST", "/api/token/", b'{"name": "' + b"x" * 31 + b'"}', "name"),
    ("POST", "/api/token/", b'{"name": "t", "remain_quota": -1}', "remain_quota"),
    ("POST", "/api/token/", b'{"name": "t", "remain_quota": 99999999999999999999999}', "remain_quota"),
    ("POST", "/api/token/", b'{"name": "a\\u0000b"}', "NUL"),
    ("PUT", "/api/token/", b'{"id": 999999, "name": "x"}', "不存在"),
    ("PUT", "/api/token/", b'{"id": -3}', "id"),
    ("POST", "/api/topup", b'{"user_id": 1, "quota": -100}', "quota"),
    ("POST", "/api/topup", b'{"user_id": "me", "quota": 1}', "user_id"),
    ("POST", "/api/redemption/", b'{"name": "r", "quota": 1, "count": 0}', "count"),
    ("POST", "/api/redemption/", b'[1, 2]', "无效的参数"),
    ("PUT", "/api/user/", b'{"id": 999999, "quota": 5}', "不存在"),
    ("PUT", "/api/user/", b'{"id": 1, "quota": -5}', "quota"),
    ("POST", "/api/user/manage", b'{"username": "nobody", "action": "disable"}', "用户不存在"),
    ("POST", "/api/channel/", b'{"key": "", "models": "a"}', "key"),
    ("POST", "/api/channel/", b'{"key": "k", "config": "[1]"}', "config"),
    ("PUT", "/api/channel/", b'{"id": 99999999999999999999}', "id"),
    ("PUT", "/api/option/", b'{"key": "", "value": "x"}', "key"),
    ("POST", "/api/user/login", b'{"username": ["a"], "password": "x"}', "username"),
    ("POST", "/api/user/register", b'{"username": "' + "名".encode() * 13 + b'", "password": "password1"}',
     "username"),
    ("POST", "/api/token/", b'{"name": "t", "subnet": "' + b",".join([b"10.0.%d.0/24" % i for i in range(30)]) + b'"}',
     "subnet"),
    ("POST", "/api/channel/", b'{"key": "k", "base_url": "https://' + b"x" * 200 + b'"}', "base_url"),
    ("POST", "/api/channel/", b'{"key": "' + b"k" * 16001 + b'"}', "key"),
    ("GET", "/api/user/99999999999999999999999", None, "user_id"),
    ("GET", "/api/token/abc", None, "token_id"),
    ("GET", "/api/channel/0", None, "channel_id"),
    ("GET", "/api/redemption/999999", None, "不存在"),
    ("GET", "/api/log/?p=-1", None, "p"),
    ("GET", "/api/log/?type=9", None, "type"),
    ("GET", "/api/user/search?keyword=a%00b", None, "NUL"),
    ("GET", "/api/log/?start_timestamp=99999999999999999999", None, "start_timestamp"),
]


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
async def any_client(request, make_settings):
    env = {"INITIAL_ROOT_ACCESS_TOKEN": ROOT_ACCESS_TOKEN}
    if request.param == "postgresql":
        env["SQL_DSN"] = request.getfixturevalue("postgres_dsn")
    elif request.param == "mysql":
        env["SQL_DSN"] = request.getfixturevalue("mysql_dsn")
    runtime = Runtime(make_settings(**env))
    async with runtime.lifespan():
        api = create_api(runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://testserver") as c:
            yield c


async def test_bad_input_is_a_clear_failure(any_client):
    problems = []
    for method, url, body, expected in CASES:
        headers = dict(ROOT, **({"Content-Type": "application/json"} if body is not None else {}))
        r = await any_client.request(method, url, content=body, headers=headers)
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 500 or data.get("success") is not False or expected not in data.get("message", ""):
            problems.append((method, url, r.status_code, data))
    assert problems == []


async def test_searches_escape_wildcards_on_every_database(any_client):
    h = ROOT
    await any_client.post("/api/token/", json={"name": "a_b"}, headers=h)
    await any_client.post("/api/token/", json={"name": "axb"}, headers=h)
    await any_client.post("/api/redemption/", json={"name": "50%off", "quota": 1, "count": 1}, headers=h)
    await any_client.post("/api/channel/", json={"key": "k", "name": "c\\d", "models": "m"}, headers=h)
    names = [t["name"] for t in (await any_client.get("/api/token/search?keyword=a_", headers=h)).json()["data"]]
    assert names == ["a_b"]
    found = (await any_client.get("/api/redemption/search?keyword=50%25", headers=h)).json()["data"]
    assert [r["name"] for r in found] == ["50%off"]
    assert (await any_client.get("/api/redemption/search?keyword=5_", headers=h)).json()["data"] == []
    found = (await any_client.get("/api/channel/search?keyword=c%5C", headers=h)).json()
    assert found["success"] and [c["name"] for c in found["data"]] == ["c\\d"]
    users = (await any_client.get("/api/user/search?keyword=ro", headers=h)).json()["data"]
    assert [u["username"] for u in users] == ["root"]
    logs = (await any_client.get("/api/log/search?keyword=%25", headers=h)).json()
    assert logs["success"] and logs["data"] == []
    assert (await any_client.get("/api/user/dashboard", headers=h)).json()["success"]
    assert (await any_client.get("/api/log/stat", headers=h)).json()["data"] == {"quota": 0}
