"""The addresses the dashboard shows (Home's API base URL, Account's invitation link): the address the browser
used, here http://nas.local:<port> through Chromium's host-resolver rule, until an admin sets ServerAddress."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
PUBLIC = "https://gateway.example.com"


def _set_server_address(appliance: str, value: str) -> None:  # noqa: F811
    with httpx.Client(base_url=appliance, timeout=20) as root:
        assert root.post("/api/user/login", json={"username": "root", "password": "123456"}).json()["success"]
        r = root.put("/api/option/", json={"key": "ServerAddress", "value": value}).json()
        assert r["success"], r


def _log_in_as_root(page, base: str) -> None:
    """The login form (the shared log_in helper checks through Playwright's own HTTP client, which does not know
    the browser's nas.local rule)."""
    page.goto(base + "/login")
    page.locator("#username").fill("root")
    page.locator("#password").fill("123456")
    page.locator("#login-submit").click()
    expect(page.locator("#current-user")).to_be_visible()
    expect(page).to_have_url(base + "/")
    page.wait_for_load_state()


def test_links_follow_the_browser_then_server_address(appliance, browser):  # noqa: F811
    nas = appliance.replace("127.0.0.1", "nas.local")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)

    # ServerAddress left at one-api's default (http://localhost:3000): the address in the browser's bar
    page.goto(nas + "/")
    expect(page.locator("#status-base-url")).to_have_text(nas + "/v1")
    _log_in_as_root(page, nas)
    page.goto(nas + "/account")
    expect(page.locator("#account-aff-link")).to_have_value(re.compile(re.escape(nas) + r"/register\?aff=\w+$"))

    # the same appliance through 127.0.0.1: that address
    other = context.new_page()
    other.goto(appliance + "/")
    expect(other.locator("#status-base-url")).to_have_text(appliance + "/v1")
    other.close()

    # an admin sets ServerAddress (e.g. the reverse proxy's public name): both links use it
    _set_server_address(appliance, PUBLIC + "/")
    try:
        page.goto(nas + "/")
        expect(page.locator("#status-base-url")).to_have_text(PUBLIC + "/v1")
        page.goto(nas + "/account")
        expect(page.locator("#account-aff-link")).to_have_value(re.compile(re.escape(PUBLIC) + r"/register\?aff=\w+$"))
    finally:
        _set_server_address(appliance, "http://localhost:3000")
    context.close()
