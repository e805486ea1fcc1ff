"""The Logs page in a real browser. Data comes through the real API as root: a channel to a local fake OpenAI
upstream, a common user with a top-up, tokens, and consume logs from /v1/chat/completions. Root sees every row,
filters by model and type (the stat follows), pages; the common user sees only their own rows; root purges."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .test_dashboard_browser import appliance, browser, fake_openai, log_in  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
USER, PASSWORD = "logger", "loggerpass1"
ROOT_CALLS, USER_CALLS = 11, 2


def _ok(response):
    assert response.status == 200 and response.json()["success"], response.text()
    return response.json()["data"]


def _token(request, base: str, name: str) -> str:
    data = _ok(request.post(base + "/api/token/", data={"name": name, "remain_quota": 0, "unlimited_quota": True,
                                                         "expired_time": -1}))
    key = data["key"]
    return key if key.startswith("sk-") else "sk-" + key


def _chat(request, base: str, key: str, model: str) -> None:
    r = request.post(base + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                     data={"model": model, "messages": [{"role": "user", "content": "hello"}]})
    assert r.status == 200, r.text()


@pytest.fixture(scope="module")
def log_data(appliance, browser, fake_openai):  # noqa: F811
    upstream, _seen = fake_openai
    """Root: a channel, a user with a top-up, 11 consume logs (gpt-4o-mini); the user: 2 (gpt-3.5-turbo)."""
    root = browser.new_context()
    rq = root.request
    _ok(rq.post(appliance + "/api/user/login", data={"username": "root", "password": "123456"}))
    _ok(rq.post(appliance + "/api/channel/", data={"type": 1, "name": "fake", "key": "sk-upstream",
                                                   "base_url": upstream, "models": "gpt-4o-mini,gpt-3.5-turbo",
                                                   "group": "default"}))
    _ok(rq.post(appliance + "/api/user/", data={"username": USER, "password": PASSWORD, "display_name": "Log User"}))
    user_id = next(u["id"] for u in _ok(rq.get(appliance + "/api/user/search", params={"keyword": USER}))
                   if u["username"] == USER)
    _ok(rq.post(appliance + "/api/topup", data={"user_id": user_id, "quota": 1_000_000, "remark": "browser top-up"}))
    root_key = _token(rq, appliance, "root-key")
    for _ in range(ROOT_CALLS):
        _chat(rq, appliance, root_key, "gpt-4o-mini")

    user = browser.new_context()
    _ok(user.request.post(appliance + "/api/user/login", data={"username": USER, "password": PASSWORD}))
    user_key = _token(user.request, appliance, "logger-key")
    for _ in range(USER_CALLS):
        _chat(user.request, appliance, user_key, "gpt-3.5-turbo")
    user.close()

    deadline = time.monotonic() + 30  # consume logs are written by the batched log writer
    while len(_ok(rq.get(appliance + "/api/log/search", params={"keyword": "2"}))) < ROOT_CALLS + USER_CALLS:
        assert time.monotonic() < deadline, "consume logs did not appear"
        time.sleep(0.1)
    yield rq
    root.close()


def _all_logs(rq, base: str, **params) -> list[dict]:
    rows, p = [], 0
    while True:
        batch = _ok(rq.get(base + "/api/log/", params={"p": p, **params}))
        rows += batch
        if len(batch) < 10:
            return rows
        p += 1


def _stat(rq, base: str, **params) -> str:
    return f"{_ok(rq.get(base + '/api/log/stat', params=params))['quota']:,}"


def _page(browser, base, username="root", password="123456"):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, base, username, password)
    page.goto(base + "/log")
    expect(page.get_by_role("heading", name="Logs")).to_be_visible()
    return context, page


def test_admin_sees_filters_and_pages_all_logs(appliance, browser, log_data):  # noqa: F811
    rq = log_data
    everything = _all_logs(rq, appliance)
    assert len(everything) > 10
    context, page = _page(browser, appliance)
    expect(page.locator("#sidebar")).to_contain_text("Logs")
    rows = page.locator(".log-row")
    expect(rows).to_have_count(10)
    expect(page.locator("#log-filter-username")).to_be_visible()
    expect(page.locator("#log-filter-channel")).to_be_visible()
    expect(rows.first.locator(".log-model")).to_have_text("gpt-3.5-turbo")  # newest first
    expect(rows.first.locator(".log-username")).to_have_text(USER)
    expect(rows.first.locator(".log-prompt")).to_have_text("5")
    expect(rows.first.locator(".log-completion")).to_have_text("6")
    expect(rows.first.locator(".log-elapsed")).to_contain_text("ms")
    total = _stat(rq, appliance)
    assert total != "0"
    expect(page.locator("#log-stat")).to_contain_text(f"Quota used in this view: {total}")
    expect(page.locator("#log-stat")).to_contain_text("($")  # DisplayInCurrencyEnabled is on by default

    # paging: the rest of the rows, including the top-up
    expect(page.locator("#log-prev")).to_be_disabled()
    page.locator("#log-next").click()
    expect(page.locator("#log-page")).to_have_text("Page 2")
    expect(rows).to_have_count(min(10, len(everything) - 10))
    if len(everything) <= 20:
        expect(page.locator(".log-row[data-log-type='1']")).to_have_count(1)
        expect(page.locator(".log-row[data-log-type='1']")).to_contain_text(USER)
        expect(page.locator("#log-next")).to_be_disabled()
    page.locator("#log-prev").click()
    expect(page.locator("#log-page")).to_have_text("Page 1")
    expect(rows).to_have_count(10)

    # by model: the stat follows the filter
    page.locator("#log-filter-model").fill("gpt-3.5-turbo")
    page.locator("#log-search").click()
    expect(rows).to_have_count(USER_CALLS)
    for i in range(USER_CALLS):
        expect(rows.nth(i).locator(".log-model")).to_have_text("gpt-3.5-turbo")
    model_stat = _stat(rq, appliance, model_name="gpt-3.5-turbo")
    assert model_stat != total
    expect(page.locator("#log-stat")).to_contain_text(f"Quota used in this view: {model_stat}")

    # by type: the top-up only (no consume quota in that view)
    page.locator("#log-filter-model").fill("")
    page.locator("#log-filter-type").select_option("1")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".log-type")).to_have_text("Top-up")
    expect(rows.first).to_contain_text("browser top-up")
    expect(rows.first.locator(".log-username")).to_have_text(USER)
    expect(page.locator("#log-stat")).to_contain_text("Quota used in this view: 0")

    page.locator("#log-filter-type").select_option("2")
    expect(rows).to_have_count(10)
    expect(page.locator("#log-stat")).to_contain_text(f"Quota used in this view: {total}")

    # by username and token name together
    page.locator("#log-filter-username").fill(USER)
    page.locator("#log-filter-token").fill("logger-key")
    page.locator("#log-search").click()
    expect(rows).to_have_count(USER_CALLS)

    # a bad filter is a visible message, not a stack trace
    page.locator("#log-filter-channel").fill("abc")
    page.locator("#log-search").click()
    expect(page.locator("#log-error")).to_contain_text("channel id must be a whole number")

    page.locator("#log-reset").click()
    expect(page.locator("#log-error")).to_have_count(0)
    expect(page.locator("#log-filter-type")).to_have_value("0")
    expect(page.locator("#log-filter-username")).to_have_value("")
    expect(rows).to_have_count(10)
    context.close()


def test_common_user_sees_only_own_logs(appliance, browser, log_data):  # noqa: F811
    context, page = _page(browser, appliance, USER, PASSWORD)
    mine = _ok(context.request.get(appliance + "/api/log/self", params={"p": 0}))
    rows = page.locator(".log-row")
    expect(rows).to_have_count(len(mine))
    assert len(mine) >= USER_CALLS + 1
    expect(page.locator("#log-filter-username")).to_have_count(0)
    expect(page.locator("#log-filter-channel")).to_have_count(0)
    expect(page.locator("#log-purge")).to_have_count(0)
    expect(page.locator(".log-username")).to_have_count(0)
    for text in page.locator(".log-token").all_inner_texts():
        assert text.strip() in ("", "logger-key")
    expect(page.locator("#log-table")).not_to_contain_text("root-key")
    expect(page.locator("#log-table")).not_to_contain_text("gpt-4o-mini")
    expect(page.locator(".log-row[data-log-type='1']")).to_have_count(1)
    stat = _ok(context.request.get(appliance + "/api/log/self/stat"))["quota"]
    expect(page.locator("#log-stat")).to_contain_text(f"Quota used in this view: {stat:,}")
    page.locator("#log-filter-type").select_option("2")
    expect(rows).to_have_count(USER_CALLS)
    context.close()


def test_admin_purges_logs(appliance, browser, log_data):  # noqa: F811
    rq = log_data
    context, page = _page(browser, appliance)
    expect(page.locator(".log-row")).to_have_count(10)
    page.locator("#log-purge-date").fill("2099-01-01")
    page.locator("#log-purge").click()
    expect(page.locator("#log-purge-dialog")).to_contain_text("2099-01-01")
    page.locator("#log-purge-cancel").click()
    expect(page.locator("#log-purge-dialog")).to_have_count(0)
    expect(page.locator(".log-row")).to_have_count(10)
    page.locator("#log-purge").click()
    page.locator("#log-purge-confirm").click()
    expect(page.locator(".log-row")).to_have_count(0)
    expect(page.locator("#log-empty")).to_be_visible()
    expect(page.get_by_text("log row(s) older than 2099-01-01")).to_be_visible()
    expect(page.locator("#log-stat")).to_contain_text("Quota used in this view: 0")
    assert _ok(rq.get(appliance + "/api/log/", params={"p": 0})) == []
    context.close()
