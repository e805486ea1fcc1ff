"""One session for the dashboard and /api, in a real browser: a dashboard login authenticates /api calls
(HttpOnly cookie), and an /api login is seen by the dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


def test_dashboard_login_is_the_api_session(appliance, browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(appliance + "/login")
    page.locator("#username").fill("root")
    page.locator("#password").fill("123456")
    page.locator("#login-submit").click()
    expect(page.locator("#current-user")).to_have_text("Root User")
    for _ in range(300):  # the cookie hand-over is a fetch from the page: wait for its Set-Cookie
        if page.request.get(appliance + "/api/user/self").status == 200:
            break
        page.wait_for_timeout(100)
    me = page.request.get(appliance + "/api/user/self").json()
    assert me["success"] and me["data"]["username"] == "root"
    cookie = next(c for c in context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("session=") == -1  # invisible to scripts
    page.locator("#logout").click()
    expect(page).to_have_url(appliance + "/login")
    for _ in range(300):  # the logout fetch runs in the page: wait for its Set-Cookie
        if page.request.get(appliance + "/api/user/self").status == 401:
            break
        page.wait_for_timeout(100)
    assert page.request.get(appliance + "/api/user/self").status == 401
    context.close()


def test_api_login_is_seen_by_the_dashboard(appliance, browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    r = page.request.post(appliance + "/api/user/login", data={"username": "root", "password": "123456"})
    assert r.json()["success"]
    page.goto(appliance + "/")
    expect(page.locator("#current-user")).to_have_text("Root User")
    context.close()
