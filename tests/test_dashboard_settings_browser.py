"""The Settings page in a real browser: root changes options of every kind (text, number, toggle, a JSON ratio
table, a secret) and they are stored as PUT /api/option stores them and served at once (the Home page's notice,
the header's system name); a bad ratio table and a login method switched on before it is configured are refused
with the server's message; the secret never reaches the page; admins see where their own settings are; a common
user is sent to the login page and told why."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from .servers import free_port, running_server
from .test_dashboard_browser import browser, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
SECRET = "smtp-secret-4b7e1d9c2a"
NOTICE = "Maintenance tonight at 22:00 UTC"  # stored with " **now**" after it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("settings") / "data"
    with running_server(data) as (_proc, base, _log):
        yield base, data


def options_of(page, base: str) -> dict[str, str]:
    r = page.request.get(base + "/api/option/")
    assert r.status == 200 and r.json()["success"], r.text()
    assert SECRET not in r.text()
    return {row["key"]: row["value"] for row in r.json()["data"]}


def stored_row(data, key: str) -> str | None:
    with sqlite3.connect(data / "one-api.db") as db:
        row = db.execute("SELECT value FROM options WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def toast(page, text: str):
    return page.locator("[data-sonner-toast]", has_text=text)


@pytest.fixture
def smtp():
    """A local SMTP server: (the (recipients, subject) of each mail it received, its port)."""
    received: list[tuple[list[str], str]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)["Subject"] or ""))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()


def test_root_changes_settings(server, browser, smtp):  # noqa: F811
    base, data = server
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    log_in(page, base)
    expect(page.locator("#sidebar")).to_contain_text("Settings")
    page.goto(base + "/setting")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()

    # Operation: numbers, a toggle, the ratio tables (shown whole: built-ins merged with overrides).
    expect(page.locator("#setting-RetryTimes")).to_have_value("0")
    model_ratio = page.locator("#setting-ModelRatio")
    expect(model_ratio).not_to_have_value("")
    assert "gpt-4o-mini" in json.loads(model_ratio.input_value())
    page.locator("#setting-QuotaForNewUser").fill("1234")
    page.locator("#setting-save-quota").click()
    expect(toast(page, "Quota: saved.")).to_be_visible()
    page.locator("#setting-RetryTimes").fill("3")
    page.locator("#setting-save-general").click()
    expect(toast(page, "General: saved.")).to_be_visible()
    options = options_of(page, base)
    assert options["RetryTimes"] == "3" and options["QuotaForNewUser"] == "1234"

    page.locator("#setting-QuotaForInviter").fill("ten")  # the page's own check names the field
    page.locator("#setting-save-quota").click()
    expect(toast(page, "Reward for the inviter: expected a number")).to_be_visible()
    assert options_of(page, base)["QuotaForInviter"] == "0"

    switch = page.locator("#setting-LogConsumeEnabled")
    expect(switch).to_have_attribute("data-state", "checked")
    switch.click()
    expect(switch).to_have_attribute("data-state", "unchecked")
    expect(toast(page, "Log every request: off.")).to_be_visible()
    assert options_of(page, base)["LogConsumeEnabled"] == "false"

    table = json.loads(model_ratio.input_value())
    before = options_of(page, base)["ModelRatio"]
    model_ratio.fill(json.dumps({**table, "gpt-4o-mini": "cheap"}))
    page.locator("#setting-save-ratio").click()
    expect(toast(page, "'gpt-4o-mini' must be a number")).to_be_visible()
    assert options_of(page, base)["ModelRatio"] == before  # refused: nothing stored
    model_ratio.fill(json.dumps({**table, "gpt-4o-mini": 0.5, "my-local-model": 2}))
    page.locator("#setting-GroupRatio").fill('{"default": 1, "vip": 0.8}')
    page.locator("#setting-save-ratio").click()
    expect(toast(page, "Ratios: saved.")).to_be_visible()
    options = options_of(page, base)
    assert json.loads(options["ModelRatio"])["gpt-4o-mini"] == 0.5
    assert json.loads(options["ModelRatio"])["my-local-model"] == 2
    assert json.loads(options["GroupRatio"]) == {"default": 1, "vip": 0.8}
    assert json.loads(stored_row(data, "ModelRatio") or "{}") == {"gpt-4o-mini": 0.5, "my-local-model": 2}

    # System: the service's rule (GitHub login needs a client id first) comes back as its message.
    page.locator("#settings-tab-system").click()
    github = page.locator("#setting-GitHubOAuthEnabled")
    github.click()
    expect(toast(page, "GitHub")).to_be_visible()
    expect(github).to_have_attribute("data-state", "unchecked")
    assert options_of(page, base)["GitHubOAuthEnabled"] == "false"

    # SMTP: saved, then a test mail reaches a local SMTP server.
    inbox, smtp_port = smtp
    page.locator("#setting-test-mail-send").click()
    expect(toast(page, "Enter the address to send the test mail to.")).to_be_visible()
    page.locator("#setting-SMTPServer").fill("127.0.0.1")
    page.locator("#setting-SMTPPort").fill(str(smtp_port))
    page.locator("#setting-SMTPFrom").fill("noreply@settings.test")
    page.locator("#setting-save-smtp").click()
    expect(toast(page, "SMTP (outgoing mail): saved.")).to_be_visible()
    page.locator("#setting-test-mail-to").fill("root@settings.test")
    page.locator("#setting-test-mail-send").click()
    expect(toast(page, "Test mail sent to root@settings.test.")).to_be_visible()
    assert [to for to, _subject in inbox] == [["root@settings.test"]]
    assert "One API" in inbox[0][1]

    # A secret: write-only, saved when typed, never shown.
    status = page.locator("#setting-secret-SMTPToken-status")
    expect(status).to_have_text("Not set.")
    page.locator("#setting-SMTPToken").fill(SECRET)
    page.locator("#setting-secret-SMTPToken-save").click()
    expect(status).to_contain_text("A value is stored")
    expect(page.locator("#setting-SMTPToken")).to_have_value("")
    options = options_of(page, base)
    assert options["SMTPServer"] == "127.0.0.1" and options["SMTPPort"] == str(smtp_port)
    assert "SMTPToken" not in options and stored_row(data, "SMTPToken") == SECRET

    # Other: the Notice and the system name, seen by the Home page, the header and /api at once.
    page.locator("#settings-tab-other").click()
    page.locator("#setting-Notice").fill(NOTICE + " **now**")
    page.locator("#setting-preview-Notice-open").click()
    expect(page.locator("#setting-preview-Notice strong")).to_have_text("now")  # Markdown, rendered
    page.locator("#setting-save-notice").click()
    expect(toast(page, "Notice: saved.")).to_be_visible()
    page.locator("#setting-SystemName").fill("Gateway Lab")
    page.locator("#setting-save-branding").click()
    expect(toast(page, "System: saved.")).to_be_visible()
    assert page.request.get(base + "/api/notice").json()["data"] == NOTICE + " **now**"
    assert page.request.get(base + "/api/status").json()["data"]["system_name"] == "Gateway Lab"

    page.goto(base + "/")
    expect(page.get_by_text(NOTICE)).to_be_visible()
    expect(page.get_by_role("heading", name="Gateway Lab")).to_be_visible()

    page.goto(base + "/setting")  # a fresh load shows what is stored; the secret stays out of the page
    page.locator("#settings-tab-system").click()
    expect(page.locator("#setting-SMTPServer")).to_have_value("127.0.0.1")
    expect(page.locator("#setting-secret-SMTPToken-status")).to_contain_text("A value is stored")
    expect(page.locator("#setting-SMTPToken")).to_have_value("")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-settings-system.png"), full_page=True)
    page.locator("#settings-tab-operation").click()
    expect(page.locator("#setting-RetryTimes")).to_have_value("3")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-settings-operation.png"))
    assert SECRET not in page.content()
    assert frames and not any(SECRET in f for f in frames)
    context.close()


def test_admin_and_common_user(server, browser):  # noqa: F811
    base, _data = server
    context = browser.new_context()
    root = context.request
    assert root.post(base + "/api/user/login", data={"username": "root", "password": "123456"}).json()["success"]
    for name, role_up in (("plainuser", False), ("adminuser", True)):
        r = root.post(base + "/api/user/", data={"username": name, "password": "plainpass123", "display_name": name})
        assert r.json()["success"], r.text()
        if role_up:
            r = root.post(base + "/api/user/manage", data={"username": name, "action": "promote"})
            assert r.json()["success"], r.text()
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, base, "adminuser", "plainpass123")
    expect(page.locator("#sidebar")).to_contain_text("Settings")
    page.goto(base + "/setting")
    expect(page.locator("#settings-root-only")).to_contain_text("root user only")
    expect(page.locator("#setting-RetryTimes")).to_have_count(0)
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, base, "plainuser", "plainpass123")
    expect(page.locator("#sidebar")).not_to_contain_text("Settings")
    page.goto(base + "/setting")
    expect(page).to_have_url(base + "/login")
    expect(toast(page, "for administrators only")).to_be_visible()
    denied = page.request.get(base + "/api/option/")
    assert denied.json()["success"] is False
    context.close()


def test_group_rate_limits_editor(server, browser):  # noqa: F811
    """Settings > Operation > Rate limits: GroupRateLimits shown, checked before saving (a broken JSON or a bad
    entry is refused with a message naming it, nothing stored), saved compact, shown one entry a line."""
    base, data = server
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, base)
    page.goto(base + "/setting")
    editor = page.locator("#setting-GroupRateLimits")
    expect(editor).to_have_value("{}")
    section = page.locator("#setting-section-limits")
    expect(section).to_contain_text("a token's own limits win")
    expect(section).to_contain_text('JSON, for example: {"default": {"rpm": 60, "concurrency": 4}')

    editor.fill('{"default": {"rpm": 60')
    page.locator("#setting-save-limits").click()
    expect(toast(page, "Rate limits per group: invalid JSON")).to_be_visible()
    editor.fill('{"default": {"rpm": -1}}')
    page.locator("#setting-save-limits").click()
    expect(toast(page, "default.rpm must be a whole number >= 0, not -1")).to_be_visible()
    assert options_of(page, base)["GroupRateLimits"] == "{}"

    editor.fill('{"default": {"rpm": 60, "concurrency": 4}, "vip": {"user_tpm": 100000}}')
    page.locator("#setting-save-limits").click()
    expect(toast(page, "Rate limits: saved.")).to_be_visible()
    stored = '{"default":{"rpm":60,"concurrency":4},"vip":{"user_tpm":100000}}'
    assert options_of(page, base)["GroupRateLimits"] == stored and stored_row(data, "GroupRateLimits") == stored
    page.reload()
    expect(editor).to_have_value(json.dumps(json.loads(stored), indent=2))
    section.screenshot(path=str(Path(tempfile.gettempdir()) / "oneapi-settings-limits.png"))
    r = page.request.put(base + "/api/option/", data={"key": "GroupRateLimits", "value": "{}"})
    assert r.json()["success"], r.text()
    context.close()
