"""The Tokens page in a real browser: a logged-in user creates, copies, disables, edits and deletes an sk- key;
each change is checked through the real /api and the /v1 relay (which must see it at once)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser, fake_openai, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


def _login(context, appliance):  # noqa: F811
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance)
    expect(page.locator("#current-user")).to_have_text("Root User")
    return page


def _api_token(page, appliance, name):  # noqa: F811
    found = page.request.get(appliance + "/api/token/search", params={"keyword": name}).json()
    assert found["success"], found
    return next((t for t in found["data"] if t["name"] == name), None)


def _chat(page, appliance, key):  # noqa: F811
    return page.request.post(appliance + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                             data={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})


def test_tokens_page_lifecycle(appliance, browser):  # noqa: F811
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=appliance)
    page = _login(context, appliance)

    page.locator("#sidebar").get_by_text("Tokens").click()
    expect(page).to_have_url(appliance + "/token")
    expect(page.locator("#token-table")).to_be_visible()

    # create
    page.locator("#token-add").click()
    page.locator("#token-name").fill("alice-key")
    page.locator("#token-quota").fill("1000")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-token-editor.png"))
    page.locator("#token-submit").click()
    row = page.locator(".token-row", has_text="alice-key")
    expect(row).to_be_visible()
    expect(row.locator(".token-status")).to_have_text("Enabled")
    expect(row.locator(".token-remaining")).to_contain_text("1,000")
    expect(row.locator(".token-expires")).to_have_text("never")
    expect(page.locator("#token-editor")).to_have_count(0)  # the dialog closed
    api = _api_token(page, appliance, "alice-key")
    assert api is not None and api["remain_quota"] == 1000 and not api["unlimited_quota"]
    key = "sk-" + api["key"]
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-tokens.png"))

    # the key is accepted by the relay (no channel configured: the model is unknown, 404, not 401)
    r = _chat(page, appliance, key)
    assert r.status == 404 and r.json()["error"]["code"] == "model_not_found", r.text()

    # copy
    row.locator(".token-copy").click()
    expect(page.get_by_text("Key copied to the clipboard")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert api["key"] not in page.content()  # the key only went to the clipboard

    # chat links: the row's Chat menu opens NextChat (One API's default) with this address and key filled in
    page.context.route("https://app.nextchat.dev/**", lambda route: route.fulfill(body="NextChat", status=200))
    row.locator(".token-chat").click()
    with page.expect_popup() as popup:
        page.locator(".token-chat-nextchat").click()
    opened = unquote(popup.value.url)
    assert opened.startswith("https://app.nextchat.dev/#/?settings=") and f'"key":"{key}"' in opened, opened
    assert f'"url":"{appliance}"' in opened, opened
    popup.value.close()
    assert api["key"] not in page.content()  # still only inside the link it opened

    # disable: the API and the relay see it at once
    row.locator(".token-toggle").click()
    expect(row.locator(".token-status")).to_have_text("Disabled")
    assert _api_token(page, appliance, "alice-key")["status"] == 2
    assert _chat(page, appliance, key).status == 401
    row.locator(".token-toggle").click()
    expect(row.locator(".token-status")).to_have_text("Enabled")
    assert _api_token(page, appliance, "alice-key")["status"] == 1

    # edit: the form is filled with the token, the new name is saved
    row.locator(".token-edit").click()
    expect(page.locator("#token-name")).to_have_value("alice-key")
    expect(page.locator("#token-quota")).to_have_value("1000")
    page.locator("#token-name").fill("alice-key-2")
    page.locator("#token-submit").click()
    row = page.locator(".token-row", has_text="alice-key-2")
    expect(row).to_be_visible()
    assert _api_token(page, appliance, "alice-key-2")["key"] == api["key"]

    # search by name prefix
    page.locator("#token-search").fill("zzz")
    page.locator("#token-search-submit").click()
    expect(page.locator(".token-row")).to_have_count(0)
    page.locator("#token-search").fill("alice")
    page.locator("#token-search-submit").click()
    expect(page.locator(".token-row")).to_have_count(1)

    # delete, with a confirmation
    row.locator(".token-delete").click()
    expect(page.locator("#token-delete-dialog")).to_contain_text("alice-key-2")
    page.locator("#token-delete-confirm").click()
    expect(page.locator(".token-row", has_text="alice-key-2")).to_have_count(0)
    assert _api_token(page, appliance, "alice-key-2") is None
    assert _chat(page, appliance, key).status == 401
    context.close()


def test_tokens_page_shows_service_errors(appliance, browser):  # noqa: F811
    context = browser.new_context()
    page = _login(context, appliance)
    page.goto(appliance + "/token")
    expect(page.locator("#token-table")).to_be_visible()

    # an invalid subnet is refused by the service's validation, shown in the dialog
    page.locator("#token-add").click()
    page.locator("#token-name").fill("bad-subnet")
    page.locator("#token-subnet").fill("not-a-cidr")
    page.locator("#token-submit").click()
    expect(page.locator("#token-editor-error")).to_contain_text("invalid subnet")
    page.locator("#token-cancel").click()
    assert _api_token(page, appliance, "bad-subnet") is None

    # an expired token cannot be enabled again (like PUT /api/token/?status_only=1)
    created = page.request.post(appliance + "/api/token/", data={
        "name": "old-key", "remain_quota": 10, "expired_time": int(time.time()) - 60}).json()
    assert created["success"], created
    page.reload()
    row = page.locator(".token-row", has_text="old-key")
    expect(row.locator(".token-status")).to_have_text("Expired")
    row.locator(".token-toggle").click()
    expect(page.locator("#token-error")).to_contain_text("the token has expired")
    assert _api_token(page, appliance, "old-key")["status"] == 1

    # expiry preset and unlimited switch
    page.locator("#token-add").click()
    page.locator("#token-name").fill("day-key")
    page.locator("#token-unlimited").click()
    expect(page.locator("#token-quota")).to_be_disabled()
    page.locator("#token-expiry").click()
    page.locator("#token-expiry-1d").click()
    expect(page.locator("#token-expiry")).to_have_text("1 day")
    page.locator("#token-submit").click()
    row = page.locator(".token-row", has_text="day-key")
    expect(row.locator(".token-remaining")).to_have_text("unlimited")
    expect(page.locator("#token-error")).to_have_count(0)  # the old error is gone after a success
    api = _api_token(page, appliance, "day-key")
    assert api["unlimited_quota"] and abs(api["expired_time"] - (time.time() + 86400)) < 120
    context.close()


def test_token_rate_limit_set_in_the_dashboard(appliance, browser, fake_openai):  # noqa: F811
    """A key's limits are typed in the editor (checked there), shown in the table, and enforced by the relay at
    once: with 1 request per minute, a second chat completion within the minute is refused with a 429."""
    upstream, _seen = fake_openai
    context = browser.new_context()
    page = _login(context, appliance)
    rq = page.request
    r = rq.post(appliance + "/api/channel/", data={"type": 1, "name": "fake-limits", "key": "sk-upstream",
                                                   "base_url": upstream, "models": "gpt-4o-mini", "group": "default"})
    assert r.json()["success"], r.text()
    r = rq.put(appliance + "/api/option/", data={"key": "GroupRateLimits", "value": '{"default": {"tpm": 1000000}}'})
    assert r.json()["success"], r.text()
    page.goto(appliance + "/token")
    expect(page.locator("#token-table")).to_be_visible()

    page.locator("#token-add").click()
    page.locator("#token-name").fill("limited-key")
    page.locator("#token-unlimited").click()
    expect(page.locator("#token-limits")).to_contain_text("Blank or 0 = your group's default; -1 = no limit")
    expect(page.locator("#token-group-limits")).to_have_text("Your group's default: 1M tpm")
    page.locator("#token-submit").click()
    row = page.locator(".token-row", has_text="limited-key")
    expect(row.locator(".token-limits")).to_have_text("group default")
    api = _api_token(page, appliance, "limited-key")
    assert (api["rpm_limit"], api["tpm_limit"], api["concurrency_limit"]) == (0, 0, 0)
    key = "sk-" + api["key"]

    # edit: a bad value is refused by the page's own check, naming the field; nothing is saved
    row.locator(".token-edit").click()
    expect(page.locator("#token-rpm_limit")).to_have_value("")
    page.locator("#token-rpm_limit").fill("-5")
    page.locator("#token-submit").click()
    expect(page.locator("#token-editor-error")).to_contain_text("Requests per minute must be between -1 and")
    page.locator("#token-rpm_limit").fill("ten")
    page.locator("#token-submit").click()
    expect(page.locator("#token-editor-error")).to_contain_text("Requests per minute: enter a whole number")
    assert _api_token(page, appliance, "limited-key")["rpm_limit"] == 0
    page.locator("#token-rpm_limit").fill("1")
    page.locator("#token-concurrency_limit").fill("-1")
    page.locator("#token-submit").click()
    expect(page.locator("#token-editor")).to_have_count(0)
    expect(row.locator(".token-limits")).to_have_text("1 rpm · ∞ conc")
    api = _api_token(page, appliance, "limited-key")
    assert (api["rpm_limit"], api["tpm_limit"], api["concurrency_limit"]) == (1, 0, -1)
    row.locator(".token-edit").click()  # the editor shows the stored limits
    expect(page.locator("#token-rpm_limit")).to_have_value("1")
    expect(page.locator("#token-tpm_limit")).to_have_value("")
    expect(page.locator("#token-concurrency_limit")).to_have_value("-1")
    page.locator("#token-cancel").click()

    # the relay enforces it at once: the first request of the minute passes, the second is refused
    first = _chat(page, appliance, key)
    assert first.status == 200, first.text()
    second = _chat(page, appliance, key)
    assert second.status == 429, second.text()
    assert second.json()["error"]["type"] and int(second.headers["retry-after"]) >= 1
    assert second.headers["x-ratelimit-limit-requests"] == "1"
    r = rq.put(appliance + "/api/option/", data={"key": "GroupRateLimits", "value": "{}"})
    assert r.json()["success"], r.text()
    context.close()
