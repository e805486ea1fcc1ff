"""The Users and Redemptions pages in a real browser: root adds, edits, disables, enables and deletes a user;
creates redemption codes, one is redeemed through the API and the table shows it used; a common user cannot
open either page. No password hash nor access token reaches the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
BOB_PASSWORD = "bobpass1234"
USED = re.compile(r"^\s*Used\s*$")
UNUSED = re.compile(r"^\s*Unused\s*$")
DISABLED = re.compile(r"^\s*Disabled\s*$")


def api_users(page, base: str) -> list[dict]:
    r = page.request.get(base + "/api/user/?p=0")
    assert r.status == 200 and r.json()["success"], r.text()
    return r.json()["data"]


def api_login(context, base: str, username: str, password: str) -> dict:
    return context.request.post(base + "/api/user/login", data={"username": username, "password": password}).json()


def test_root_manages_a_user(appliance, browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    log_in(page, appliance)
    expect(page.locator("#sidebar")).to_contain_text("Users")
    expect(page.locator("#sidebar")).to_contain_text("Redemptions")

    page.goto(appliance + "/user")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.locator(".user-row", has_text="root")).to_have_count(1)

    # A service error is shown (password too short), then the user is created.
    page.locator("#user-add").click()
    page.locator("#user-username").fill("bob")
    page.locator("#user-display-name").fill("Bob B")
    page.locator("#user-password").fill("short")
    page.locator("#user-submit").click()
    expect(page.locator("#user-error")).to_contain_text("8-20")
    page.locator("#user-password").fill(BOB_PASSWORD)
    page.locator("#user-submit").click()
    expect(page.locator("#user-editor")).to_have_count(0)
    row = page.locator(".user-row", has_text="Bob B")
    expect(row).to_have_count(1)
    expect(row.locator(".user-status")).to_contain_text("Enabled")
    expect(row.locator(".user-role")).to_contain_text("Common")
    bob = next(u for u in api_users(page, appliance) if u["username"] == "bob")
    bob_id = bob["id"]

    # Edit: the quota (applied as a delta, logged) and the group.
    row.locator(".user-edit").click()
    expect(page.locator("#user-username")).to_have_value("bob")
    expect(page.locator("#user-password")).to_have_value("")
    page.locator("#user-quota").fill("123456")
    page.locator("#user-group").fill("vip")
    page.locator("#user-submit").click()
    expect(page.locator("#user-editor")).to_have_count(0)
    expect(row.locator(".user-quota")).to_contain_text("123,456")
    got = page.request.get(f"{appliance}/api/user/{bob_id}").json()
    assert got["success"] and got["data"]["quota"] == 123456 and got["data"]["group"] == "vip", got

    probe = browser.new_context()
    assert api_login(probe, appliance, "bob", BOB_PASSWORD)["success"]  # the empty password kept his password

    # Disable: his API login is refused; enable: accepted again.
    row.locator(".user-toggle").click()
    expect(row.locator(".user-status")).to_contain_text("Disabled")
    assert api_login(probe, appliance, "bob", BOB_PASSWORD)["success"] is False
    row.locator(".user-toggle").click()
    expect(row.locator(".user-status")).to_contain_text("Enabled")
    assert api_login(probe, appliance, "bob", BOB_PASSWORD)["success"]
    probe.close()

    # Promote (root only) and demote.
    row.locator(".user-promote").click()
    expect(row.locator(".user-role")).to_contain_text("Admin")
    row.locator(".user-demote").click()
    expect(row.locator(".user-role")).to_contain_text("Common")

    # Root cannot be disabled: a visible message, not a crash.
    page.locator(".user-row", has_text="Root User").locator(".user-toggle").click()
    expect(page.get_by_text("the root user cannot be disabled")).to_be_visible()

    # Search.
    page.locator("#user-search").fill("bo")
    expect(page.locator(".user-row")).to_have_count(1)
    page.locator("#user-search").fill("")
    expect(page.locator(".user-row", has_text="root")).to_have_count(1)

    # Delete (confirm).
    page.locator(".user-row", has_text="Bob B").locator(".user-delete").click()
    page.locator("#user-confirm").click()
    expect(page.locator(".user-row", has_text="Bob B")).to_have_count(0)
    assert not [u for u in api_users(page, appliance) if u["id"] == bob_id]

    content = page.content()
    assert "$2b$" not in "".join(frames)  # no bcrypt hash in any state delta
    assert "access_token" not in content and not any("access_token" in f for f in frames)
    context.close()


def test_root_creates_and_sees_redeemed_codes(appliance, browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance)
    page.goto(appliance + "/redemption")
    expect(page.get_by_role("heading", name="Redemptions")).to_be_visible()

    page.locator("#redemption-add").click()
    page.locator("#redemption-name").fill("promo")
    page.locator("#redemption-quota").fill("1000")
    page.locator("#redemption-count").fill("101")
    page.locator("#redemption-submit").click()
    expect(page.locator("#redemption-error")).to_contain_text("count")
    page.locator("#redemption-count").fill("3")
    page.locator("#redemption-submit").click()
    expect(page.locator("#redemption-codes .redemption-code")).to_have_count(3)
    codes = page.locator("#redemption-codes .redemption-code").all_inner_texts()
    assert len(set(codes)) == 3 and all(len(c) == 32 for c in codes)
    page.locator("#redemption-copy").click()
    page.locator("#redemption-codes-close").click()
    expect(page.locator("#redemption-codes")).to_have_count(0)
    rows = page.locator(".redemption-row", has_text="promo")
    expect(rows).to_have_count(3)
    assert not any(code in page.content() for code in codes)  # shown once, never in the table

    # Another user redeems one through the API.
    root = browser.new_context()
    assert api_login(root, appliance, "root", "123456")["success"]
    r = root.request.post(appliance + "/api/user/", data={"username": "carol", "password": "carolpass123",
                                                          "display_name": "Carol"})
    assert r.json()["success"], r.text()
    root.close()
    carol = browser.new_context()
    assert api_login(carol, appliance, "carol", "carolpass123")["success"]
    redeemed = carol.request.post(appliance + "/api/user/topup", data={"key": codes[0]}).json()
    assert redeemed["success"] and redeemed["data"] == 1000, redeemed
    carol.close()

    page.locator("#redemption-refresh").click()
    expect(page.locator(".redemption-row", has_text="promo").locator(".redemption-status", has_text=USED))\
        .to_have_count(1)

    # Disable an unused one, edit another, delete the used one.
    unused = page.locator(".redemption-row", has_text="promo")\
        .filter(has=page.locator(".redemption-status", has_text=UNUSED))
    unused.first.locator(".redemption-toggle").click()
    expect(page.locator(".redemption-row .redemption-status", has_text=DISABLED)).to_have_count(1)
    unused.first.locator(".redemption-edit").click()
    expect(page.locator("#redemption-name")).to_have_value("promo")
    page.locator("#redemption-name").fill("promo-2")
    page.locator("#redemption-submit").click()
    expect(page.locator(".redemption-row", has_text="promo-2")).to_have_count(1)
    used = page.locator(".redemption-row").filter(has=page.locator(".redemption-status", has_text=USED))
    used.locator(".redemption-delete").click()
    page.locator("#redemption-confirm").click()
    expect(page.locator(".redemption-row", has_text="promo")).to_have_count(2)
    context.close()


def test_common_user_cannot_open_users_or_redemptions(appliance, browser):  # noqa: F811
    root = browser.new_context()
    assert api_login(root, appliance, "root", "123456")["success"]
    r = root.request.post(appliance + "/api/user/", data={"username": "dave", "password": "davepass123",
                                                          "display_name": "Dave"})
    assert r.json()["success"], r.text()
    root.close()

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance, "dave", "davepass123")
    expect(page.locator("#current-user")).to_have_text("Dave")
    expect(page.locator("#sidebar")).not_to_contain_text("Users")
    expect(page.locator("#sidebar")).not_to_contain_text("Redemptions")
    for route in ("/user", "/redemption"):
        page.goto(appliance + route)
        expect(page).to_have_url(appliance + "/login")
    context.close()
