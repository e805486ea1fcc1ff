"""The Channels page in a real browser: an admin adds a channel pointing at a local fake OpenAI upstream, tests
it, disables it, renames it and deletes it; the key never reaches the page; a common user cannot open it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import FAKE_ANSWER as ANSWER
from .test_dashboard_browser import appliance, browser, fake_openai, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
KEY = "sk-browser-secret-7f3a9c1e5b"


def api_channels(page, base: str) -> list[dict]:
    r = page.request.get(base + "/api/channel/?p=0")
    assert r.status == 200 and r.json()["success"], r.text()
    assert KEY not in r.text()
    return r.json()["data"]


def test_admin_manages_a_channel(appliance, browser, fake_openai):  # noqa: F811
    upstream, seen = fake_openai
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    frames: list[str] = []  # everything the backend sends the page (Reflex state deltas)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    log_in(page, appliance)
    expect(page.locator("#sidebar")).to_contain_text("Channels")

    page.goto(appliance + "/channel")
    expect(page.get_by_role("heading", name="Channels")).to_be_visible()
    page.locator("#channel-add").click()
    expect(page.locator("#channel-base-url")).to_have_attribute("placeholder", "https://api.openai.com")
    page.locator("#channel-fill-models").click()
    expect(page.locator("#channel-models")).not_to_have_value("")
    assert "gpt-4o-mini" in page.locator("#channel-models").input_value()
    page.locator("#channel-type").select_option("1")
    page.locator("#channel-name").fill("fake-openai")
    page.locator("#channel-base-url").fill(upstream)
    page.locator("#channel-models").fill("gpt-4o-mini")
    page.locator("#channel-mapping").fill("not json")
    page.locator("#channel-key").fill(KEY)
    page.locator("#channel-submit").click()
    expect(page.locator("#channel-error")).to_contain_text("model_mapping")  # a service error, shown
    page.locator("#channel-mapping").fill("")
    page.locator("#channel-submit").click()
    expect(page.locator("#channel-editor")).to_have_count(0)
    row = page.locator(".channel-row", has_text="fake-openai")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("gpt-4o-mini")
    expect(row.locator(".channel-status")).to_contain_text("Enabled")

    created = [c for c in api_channels(page, appliance) if c["name"] == "fake-openai"]
    assert len(created) == 1 and created[0]["base_url"] == upstream and created[0]["models"] == "gpt-4o-mini"
    channel_id = created[0]["id"]

    row.locator(".channel-test").click()
    expect(page.locator("#channel-test-result")).to_contain_text(ANSWER)
    expect(page.locator("#channel-test-result")).to_contain_text("OK")
    assert seen and seen[-1]["auth"] == f"Bearer {KEY}" and seen[-1]["body"]["model"] == "gpt-4o-mini"

    row.locator(".channel-disable").click()
    expect(row.locator(".channel-status")).to_contain_text("Disabled")
    assert next(c for c in api_channels(page, appliance) if c["id"] == channel_id)["status"] == 2
    row.locator(".channel-enable").click()
    expect(row.locator(".channel-status")).to_contain_text("Enabled")
    assert next(c for c in api_channels(page, appliance) if c["id"] == channel_id)["status"] == 1

    row.locator(".channel-edit").click()
    expect(page.locator("#channel-name")).to_have_value("fake-openai")
    expect(page.locator("#channel-key")).to_have_value("")  # the stored key is never shown
    page.locator("#channel-name").fill("fake-openai-renamed")
    page.locator("#channel-submit").click()
    renamed = page.locator(".channel-row", has_text="fake-openai-renamed")
    expect(renamed).to_have_count(1)
    assert next(c for c in api_channels(page, appliance) if c["id"] == channel_id)["name"] == "fake-openai-renamed"
    renamed.locator(".channel-test").click()  # the empty key field kept the stored key
    expect(page.locator("#channel-test-result")).to_contain_text("OK")
    assert seen[-1]["auth"] == f"Bearer {KEY}"

    page.locator("#channel-search").fill("no-such-channel")
    expect(page.locator(".channel-row")).to_have_count(0)
    page.locator("#channel-search").fill("fake-openai")
    expect(renamed).to_have_count(1)

    assert KEY not in page.content()
    assert frames and not any(KEY in f for f in frames)

    renamed.locator(".channel-delete").click()
    page.locator("#channel-confirm").click()
    expect(page.locator(".channel-row", has_text="fake-openai")).to_have_count(0)
    assert not [c for c in api_channels(page, appliance) if c["id"] == channel_id]

    # Batch mode: one key per line -> one channel each; then "Delete disabled" removes the disabled ones.
    page.locator("#channel-search").fill("")
    page.locator("#channel-add").click()
    page.locator("#channel-name").fill("batch-pair")
    page.locator("#channel-base-url").fill(upstream)
    page.locator("#channel-models").fill("gpt-4o-mini")
    page.locator("#channel-key").fill(KEY + "-a\n\n" + KEY + "-b\n")
    page.locator("#channel-submit").click()
    pair = page.locator(".channel-row", has_text="batch-pair")
    expect(pair).to_have_count(2)
    pair.first.locator(".channel-disable").click()
    expect(pair.first.locator(".channel-status")).to_contain_text("Disabled")
    page.locator("#channel-delete-disabled").click()
    page.locator("#channel-confirm").click()
    expect(pair).to_have_count(1)
    assert len([c for c in api_channels(page, appliance) if c["name"] == "batch-pair"]) == 1
    assert KEY not in page.content() and not any(KEY in f for f in frames)
    context.close()


def test_common_user_cannot_open_channels(appliance, browser):  # noqa: F811
    context = browser.new_context()
    root = context.request
    assert root.post(appliance + "/api/user/login", data={"username": "root", "password": "123456"}).json()["success"]
    r = root.post(appliance + "/api/user/", data={"username": "plainuser", "password": "plainpass123",
                                                  "display_name": "Plain User"})
    assert r.json()["success"], r.text()
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, appliance, "plainuser", "plainpass123")
    expect(page.locator("#current-user")).to_have_text("Plain User")
    expect(page.locator("#sidebar")).not_to_contain_text("Channels")
    page.goto(appliance + "/channel")
    expect(page).to_have_url(appliance + "/login")
    denied = page.request.get(appliance + "/api/channel/?p=0")  # one-api: 200 with success false
    assert denied.ok and denied.json()["success"] is False
    context.close()
