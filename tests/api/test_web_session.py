"""The dashboard's login hand-over: a single-use ticket turns into the same HttpOnly session cookie."""

from oneapi_app.auth.sessions import user_id_from_cookie_header
from oneapi_app.auth.tickets import issue_ticket


async def test_ticket_sets_the_session_cookie_once(client, runtime, common):
    ticket = await issue_ticket(runtime, common.id)
    r = await client.get("/api/user/session", params={"ticket": ticket, "next": "/tokens"})
    assert r.status_code == 302 and r.headers["location"] == "/tokens"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert (await client.get("/api/user/self")).json()["data"]["id"] == common.id
    # The dashboard reads the same cookie from its websocket headers.
    header = f"theme=dark; session={client.cookies['session']}"
    assert user_id_from_cookie_header(runtime.settings.session_secret, header) == common.id
    assert user_id_from_cookie_header("other-secret", header) == 0
    client.cookies.clear()
    r = await client.get("/api/user/session", params={"ticket": ticket})
    assert r.status_code == 200 and not r.json()["success"]  # single use
    r = await client.get("/api/user/session", params={"ticket": f"{common.id}.forged"})
    assert not r.json()["success"]


async def test_no_open_redirect_and_logout_clears(client, runtime, common):
    ticket = await issue_ticket(runtime, common.id)
    r = await client.get("/api/user/session", params={"ticket": ticket, "next": "//evil.example/x"})
    assert r.headers["location"] == "/"
    r = await client.get("/api/user/session/end", params={"next": "https://evil.example"})
    assert r.status_code == 302 and r.headers["location"] == "/"
    assert 'session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert (await client.get("/api/user/self")).status_code == 401
