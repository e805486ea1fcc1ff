"""The Account page in a real browser: a common user sees their quota, redeems a code (once), renames
themselves, generates an access token and changes their password; each step is checked through the real /api."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
USER, PASSWORD, NEW_PASSWORD = "bob", "bob-pass-1", "bob-pass-2"


def _as_root(appliance):  # noqa: F811
    client = httpx.Client(base_url=appliance, timeout=20)
    r = client.post("/api/user/login", json={"username": "root", "password": "123456"}).json()
    assert r["success"], r
    return client


def _self(page, appliance, **kw):  # noqa: F811
    r = page.request.get(appliance + "/api/user/self", **kw)
    assert r.status == 200, r.text()
    body = r.json()
    assert body["success"], body
    return body["data"]


def test_account_page(appliance, browser):  # noqa: F811
    root = _as_root(appliance)
    try:
        r = root.post("/api/user/", json={"username": USER, "password": PASSWORD, "display_name": "Bob"}).json()
        assert r["success"], r
        r = root.post("/api/redemption/", json={"name": "gift", "quota": 5000, "count": 1}).json()
        assert r["success"], r
        [code] = r["data"]
    finally:
        root.close()

    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=appliance)
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance, USER, PASSWORD)
    expect(page.locator("#current-user")).to_have_text("Bob")

    page.locator("#sidebar").get_by_text("Account").click()
    expect(page).to_have_url(appliance + "/account")
    before = _self(page, appliance)
    expect(page.locator("#account-username")).to_have_text(USER)
    expect(page.locator("#account-role")).to_have_text("Common user")
    expect(page.locator("#account-group")).to_have_text("default")
    expect(page.locator("#account-quota")).to_contain_text(f"{before['quota']:,}")
    expect(page.locator("#account-used")).to_contain_text("0")
    expect(page.locator("#account-aff-link")).to_have_value(re.compile(r".*/register\?aff=\w+$"))
    aff = page.locator("#account-aff-link").input_value()
    page.locator("#account-aff-copy").click()
    expect(page.get_by_text("Invitation link copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == aff
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-account.png"))

    # redeem the code: 5000 credited, the quota line grows by 5000
    page.locator("#topup-code").fill(code)
    page.locator("#topup-submit").click()
    expect(page.locator("#topup-result")).to_contain_text("5,000")
    expect(page.locator("#topup-result")).to_contain_text("credited")
    after = _self(page, appliance)
    assert after["quota"] == before["quota"] + 5000
    expect(page.locator("#account-quota")).to_contain_text(f"{after['quota']:,}")
    expect(page.locator("#topup-code")).to_have_value("")

    # the same code again: a visible error, no quota
    page.locator("#topup-code").fill(code)
    page.locator("#topup-submit").click()
    expect(page.locator("#topup-error")).to_contain_text("this code has been used")
    expect(page.locator("#topup-result")).to_have_count(0)
    assert _self(page, appliance)["quota"] == after["quota"]
    # an unknown code too
    page.locator("#topup-code").fill("no-such-code")
    page.locator("#topup-submit").click()
    expect(page.locator("#topup-error")).to_contain_text("invalid redemption code")

    # display name: the header and the API see it
    expect(page.locator("#account-display-name")).to_have_value("Bob")
    page.locator("#account-display-name").fill("Bobby")
    page.locator("#account-save").click()
    expect(page.locator("#current-user")).to_have_text("Bobby")
    expect(page.locator("#account-display")).to_have_text("Bobby")
    assert _self(page, appliance)["display_name"] == "Bobby"

    # a too-short password is refused by the service, shown on the page
    page.locator("#account-password").fill("short")
    page.locator("#account-password2").fill("short")
    page.locator("#account-save").click()
    expect(page.locator("#account-profile-error")).to_contain_text("8-20")

    # access token: shown once, works as the Authorization header of the management API
    expect(page.locator("#account-token-value")).to_have_count(0)
    page.locator("#account-new-token").click()
    expect(page.locator("#account-token-value")).to_be_visible()
    token = page.locator("#account-token-value").inner_text().strip()
    assert len(token) == 32
    page.locator("#account-token-copy").click()
    expect(page.get_by_text("Access token copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    r = httpx.get(appliance + "/api/user/self", headers={"Authorization": token}, timeout=20).json()
    assert r["success"] and r["data"]["username"] == USER, r
    # a second token replaces the first
    page.locator("#account-new-token").click()
    expect(page.locator("#account-token-value")).not_to_have_text(token)
    second = page.locator("#account-token-value").inner_text().strip()
    assert not httpx.get(appliance + "/api/user/self", headers={"Authorization": token}, timeout=20).json()["success"]
    assert httpx.get(appliance + "/api/user/self", headers={"Authorization": second}, timeout=20).json()["success"]
    # gone from the page after a reload
    page.reload()
    expect(page.locator("#account-quota")).to_contain_text(f"{after['quota']:,}")
    expect(page.locator("#account-token-value")).to_have_count(0)
    assert second not in page.content()

    # password change: the old password stops working, other sessions end, this page stays logged in
    other = httpx.Client(base_url=appliance, timeout=20)
    assert other.post("/api/user/login", json={"username": USER, "password": PASSWORD}).json()["success"]
    assert other.get("/api/user/self").json()["success"]
    page.locator("#account-password").fill(NEW_PASSWORD)
    page.locator("#account-password2").fill(NEW_PASSWORD)
    with page.expect_navigation(url=re.compile(r".*/account/?$")):  # the hand-over of a fresh session cookie
        page.locator("#account-save").click()
    expect(page).to_have_url(re.compile(re.escape(appliance) + r"/account/?$"))
    expect(page.locator("#account-username")).to_have_text(USER)
    expect(page.locator("#current-user")).to_have_text("Bobby")
    old = httpx.post(appliance + "/api/user/login", json={"username": USER, "password": PASSWORD}, timeout=20).json()
    assert not old["success"], old
    new = httpx.post(appliance + "/api/user/login", json={"username": USER, "password": NEW_PASSWORD},
                     timeout=20).json()
    assert new["success"], new
    assert not other.get("/api/user/self").json()["success"]  # the other session ended
    other.close()
    for _ in range(300):  # the fresh session cookie of the hand-over
        if page.request.get(appliance + "/api/user/self").json().get("success"):
            break
        page.wait_for_timeout(100)
    assert _self(page, appliance)["username"] == USER
    page.reload()
    expect(page.locator("#account-username")).to_have_text(USER)
    context.close()
